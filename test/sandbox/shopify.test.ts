// The Shopify simulator and connector together: auth, the real 2026-04 schema (enums, nullability) and its
// error shapes (captured responses: INVALID_VARIABLE, BAD_REQUEST, INVALID_FIELD_ARGUMENTS, userError codes),
// the cost bucket (the client paces by design; an unpaced burst is THROTTLED) and signed webhooks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import axios from 'axios';
import pino from 'pino';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { shopifySimulator } from '../../src/sandbox/shopify';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { ShopifyClient } from '../../src/connectors/shopify/client';
import { verifyShopifyHmac } from '../../src/http/shopify-webhooks';

const log = pino({ level: 'silent' });
const SECRET = 'test-client-secret';
let sandbox: RunningSandbox;
let client: ShopifyClient;
const gql = (url: string, query: string, variables: Record<string, unknown> = {}, token = 'tok', version = '2026-04') =>
  axios.post(
    `${url}/shopify/shop1/admin/api/${version}/graphql.json`,
    { query, variables },
    { headers: { 'X-Shopify-Access-Token': token }, validateStatus: () => true },
  );

before(async () => {
  sandbox = await startSandbox({ log, port: 0, timeScale: 1 }, [
    shopifySimulator({
      shop: 'shop1',
      accessToken: 'tok',
      webhookSecret: SECRET,
      currency: 'GBP',
      catalogue: sandboxCatalogue({ size: 20 }),
      bucket: { maximumAvailable: 2000, restoreRate: 100 },
    }),
  ]);
  client = new ShopifyClient({
    baseUrl: `${sandbox.url}/shopify/shop1`,
    apiVersion: '2026-04',
    accessToken: 'tok',
    log,
  });
});
after(async () => {
  await sandbox?.close();
});

const CREATE = `mutation C($order: OrderCreateOrderInput!) {
  orderCreate(order: $order) { order { id } userErrors { field message code } } }`;
const order = (sku: string, patch: Record<string, unknown> = {}) => ({
  currency: 'GBP',
  sourceIdentifier: `SRC-${sku}`,
  lineItems: [{ sku, quantity: 1, priceSet: { shopMoney: { amount: '10.00', currencyCode: 'GBP' } } }],
  ...patch,
});

describe('Shopify simulator + connector', () => {
  test('a wrong access token is 401; an unknown field fails validation as Shopify words it', async () => {
    assert.equal((await gql(sandbox.url, '{ orders(first: 1) { nodes { id } } }', {}, 'nope')).status, 401);
    const r = await gql(sandbox.url, '{ orders(first: 1) { nodes { id notAField } } }');
    assert.equal(r.data.errors[0].message, "Field 'notAField' doesn't exist on type 'Order'");
    assert.equal(r.data.errors[0].extensions.code, 'undefinedField');
  });

  test('orderCreate needs no @idempotent (it documents none): look-before-create by sourceIdentifier instead', async () => {
    const a = await gql(sandbox.url, CREATE, { order: order('TEE-NAVY-XS') });
    assert.deepEqual(a.data.data.orderCreate.userErrors, []);
    const found = await client.findOrderBySource('SRC-TEE-NAVY-XS');
    assert.equal(found?.id, a.data.data.orderCreate.order.id);
    // A key on orderCreate is not an idempotency guarantee: nothing replays it here.
    const keyed = `mutation K($order: OrderCreateOrderInput!) { orderCreate(order: $order) @idempotent(key: "k1") { order { id } } }`;
    const b = await gql(sandbox.url, keyed, { order: order('TEE-NAVY-S') });
    const c = await gql(sandbox.url, keyed, { order: order('TEE-NAVY-M') });
    assert.notEqual(b.data.data.orderCreate.order.id, c.data.data.orderCreate.order.id);
  });

  test('orderCreate userErrors carry codes (INVALID), field paths as Shopify gives them', async () => {
    const none = await gql(sandbox.url, CREATE, { order: order('X', { lineItems: [] }) });
    assert.deepEqual(none.data.data.orderCreate, {
      order: null,
      userErrors: [
        { field: ['order', 'lineItems'], message: 'Line items must have at least one line item', code: 'INVALID' },
      ],
    });
    const negative = await gql(sandbox.url, CREATE, {
      order: order('TEE-NAVY-L', {
        shippingLines: [{ title: 'Std', priceSet: { shopMoney: { amount: '-1.00', currencyCode: 'GBP' } } }],
      }),
    });
    assert.equal(negative.data.data.orderCreate.userErrors[0].code, 'INVALID');
  });

  test('enums are the real ones: an unknown CountryCode or CurrencyCode is INVALID_VARIABLE, naming the path', async () => {
    const bad = await gql(sandbox.url, CREATE, {
      order: order('TEE-NAVY-XL', { shippingAddress: { address1: '1 St', city: 'X', countryCode: 'XX' } }),
    });
    const e = bad.data.errors[0];
    assert.equal(bad.data.data, undefined, 'nothing ran');
    assert.equal(e.extensions.code, 'INVALID_VARIABLE');
    assert.deepEqual(e.extensions.problems[0].path, ['shippingAddress', 'countryCode']);
    assert.match(e.extensions.problems[0].explanation, /^Expected "XX" to be one of: AF, AX, AL/);
    assert.match(
      e.message,
      /^Variable \$order of type OrderCreateOrderInput! was provided invalid value for shippingAddress\.countryCode \(Expected "XX"/,
    );
    // Real codes pass: Portugal is PT (PRT cut to two letters would be PR, Puerto Rico, a different valid code).
    for (const cc of ['PT', 'AT', 'IE', 'HK']) {
      const ok = await gql(sandbox.url, CREATE, {
        order: order('TEE-RED-XS', {
          sourceIdentifier: `CC-${cc}`,
          shippingAddress: { address1: '1 St', city: 'X', countryCode: cc },
        }),
      });
      assert.deepEqual(ok.data.data.orderCreate.userErrors, [], cc);
    }
    const currency = await gql(sandbox.url, CREATE, { order: order('TEE-RED-S', { currency: 'POUNDS' }) });
    assert.deepEqual(currency.data.errors[0].extensions.problems[0].path, ['currency']);
    const orders = (await axios.get(`${sandbox.url}/control/shopify/shop1/orders?sourceIdentifier=CC-PT`)).data.orders;
    assert.equal(orders[0].shippingAddress.countryCode, 'PT');
  });

  test('2026-04 inventorySetQuantities: @idempotent required (BAD_REQUEST), changeFromQuantity required (INVALID_FIELD_ARGUMENTS), key reuse with other input is IDEMPOTENCY_KEY_PARAMETER_MISMATCH', async () => {
    const inv = await client.inventory();
    const row = inv[0]!;
    const SET = `mutation S($input: InventorySetQuantitiesInput!, $key: String!) {
      inventorySetQuantities(input: $input) @idempotent(key: $key) { inventoryAdjustmentGroup { id } userErrors { field message code } } }`;
    const q = (changeFromQuantity?: number | null, quantity = 3) => ({
      name: 'available',
      reason: 'correction',
      quantities: [
        {
          inventoryItemId: row.inventoryItemId,
          locationId: 'gid://shopify/Location/71000001',
          quantity,
          ...(changeFromQuantity !== undefined ? { changeFromQuantity } : {}),
        },
      ],
    });
    const noKey = await gql(
      sandbox.url,
      `mutation S($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }`,
      { input: q(row.available) },
    );
    assert.deepEqual(noKey.data.data, { inventorySetQuantities: null });
    assert.equal(noKey.data.errors[0].extensions.code, 'BAD_REQUEST');
    assert.equal(
      noKey.data.errors[0].message,
      'The @idempotent directive is required for this mutation but was not provided.',
    );
    assert.deepEqual(noKey.data.errors[0].path, ['inventorySetQuantities']);
    const missing = await gql(sandbox.url, SET, { input: q(), key: 's1' });
    assert.deepEqual(missing.data.data, { inventorySetQuantities: null });
    assert.equal(missing.data.errors[0].extensions.code, 'INVALID_FIELD_ARGUMENTS');
    assert.match(missing.data.errors[0].message, /must include the following argument: changeFromQuantity/);
    const legacy = await gql(sandbox.url, SET, {
      input: { ...q(row.available), ignoreCompareQuantity: true },
      key: 's0',
    });
    assert.equal(legacy.data.errors[0].extensions.code, 'INVALID_VARIABLE');
    assert.deepEqual(legacy.data.errors[0].extensions.problems, [
      { path: ['ignoreCompareQuantity'], explanation: 'Field is not defined on InventorySetQuantitiesInput' },
    ]);
    const stale = await gql(sandbox.url, SET, { input: q(row.available + 1), key: 's2' });
    assert.equal(stale.data.data.inventorySetQuantities.userErrors[0].code, 'CHANGE_FROM_QUANTITY_STALE');
    const ok = await gql(sandbox.url, SET, { input: q(row.available), key: 's3' });
    assert.deepEqual(ok.data.data.inventorySetQuantities.userErrors, []);
    const again = await gql(sandbox.url, SET, { input: q(row.available), key: 's3' });
    assert.deepEqual(again.data.data, ok.data.data, 'the same key replays the first response');
    const other = await gql(sandbox.url, SET, { input: q(3, 7), key: 's3' });
    assert.deepEqual(other.data.data.inventorySetQuantities.userErrors, [
      {
        field: null,
        message: 'The same idempotency key cannot be used with different operation parameters.',
        code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH',
      },
    ]);
    assert.equal((await client.inventory()).find((r) => r.sku === row.sku)?.available, 3);
  });

  test('webhook subscriptions take `uri`; a blank one is "Address can\'t be blank"; the list reads them back', async () => {
    await client.subscribe('REFUNDS_CREATE', 'http://127.0.0.1:1/hooks/refunds');
    await client.subscribe('REFUNDS_CREATE', 'http://127.0.0.1:1/hooks/refunds'); // already there: fine
    const subs = await client.webhookSubscriptions();
    assert.deepEqual(
      subs.filter((x) => x.topic === 'REFUNDS_CREATE').map((x) => x.uri),
      ['http://127.0.0.1:1/hooks/refunds'],
    );
    // (an unpaced call: wait for the bucket the calls before drained to refill enough for it)
    for (;;) {
      const b = (await axios.get(`${sandbox.url}/control/shopify/shop1/bucket`)).data as { currentlyAvailable: number };
      if (b.currentlyAvailable >= 50) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const blank = await gql(
      sandbox.url,
      `mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: { format: JSON }) { userErrors { field message } } }`,
    );
    assert.deepEqual(blank.data.data.webhookSubscriptionCreate.userErrors, [
      { field: ['webhookSubscription', 'callbackUrl'], message: "Address can't be blank" },
    ]);
    assert.deepEqual(await client.shop(), {
      name: 'shop1',
      myshopifyDomain: 'shop1.myshopify.com',
      currencyCode: 'GBP',
    });
  });

  test('the client paces on throttleStatus by design; an unpaced burst is THROTTLED', async () => {
    const Q = '{ productVariants(first: 20) { nodes { id sku } } }'; // cost 2 + 20 × 1 = 22
    assert.equal((await gql(sandbox.url, Q)).data.extensions.cost.requestedQueryCost, 22);
    // Unpaced: a burst drains the 2000-point bucket and gets THROTTLED.
    const burst = await Promise.all(Array.from({ length: 100 }, () => gql(sandbox.url, Q)));
    assert.ok(
      burst.some((r) => r.data.errors?.[0]?.extensions?.code === 'THROTTLED'),
      'the bucket throttles',
    );
    assert.equal(burst[0]!.data.extensions.cost.throttleStatus.maximumAvailable, 2000);
    // Paced: with the bucket empty, 30 requests of cost 7 need 2.1 s of refill at 100 points a second;
    // the client waits for it instead of being throttled.
    await client.variantsBySku(['TEE-NAVY-XS']); // learns the bucket
    await axios.put(`${sandbox.url}/control/shopify/shop1/bucket`, { currentlyAvailable: 0 });
    const since = sandbox.ctx.calls.list({ system: 'shopify' }).at(-1)?.seq ?? 0;
    const started = Date.now();
    for (let i = 0; i < 30; i++) await client.variantsBySku(['TEE-NAVY-XS']);
    const calls = sandbox.ctx.calls.list({ system: 'shopify', sinceSeq: since });
    // The drain happened behind the client's back: its first request may meet THROTTLED once; after
    // that answer's throttleStatus it paces, and no other request is throttled.
    assert.equal(calls.filter((c) => !c.rateLimited).length, 30);
    assert.ok(calls.filter((c) => c.rateLimited).length <= 1, 'at most one THROTTLED');
    assert.ok(Date.now() - started >= 1500, `paced: took ${Date.now() - started} ms`);
  });

  test('requests run a few at a time inside the bucket: one slow answer does not hold the others up', async () => {
    await axios.put(`${sandbox.url}/control/shopify/shop1/bucket`, { currentlyAvailable: 2000 });
    await client.variantsBySku(['TEE-NAVY-XS']); // learns the refilled bucket
    sandbox.ctx.faults('shopify').set([{ endpoint: 'productVariants', kind: 'timeout', count: 1, delayMs: 2_000 }]);
    try {
      const started = Date.now();
      const took: number[] = [];
      const calls = ['TEE-NAVY-XS', 'TEE-NAVY-S', 'TEE-NAVY-M', 'TEE-NAVY-L'].map((sku) =>
        client.variantsBySku([sku]).then(
          () => took.push(Date.now() - started),
          () => took.push(-(Date.now() - started)),
        ),
      );
      await Promise.all(calls);
      took.sort((a, b) => Math.abs(a) - Math.abs(b));
      // The first call hangs 2 s and fails (504); the other three are answered meanwhile.
      assert.ok(
        took.slice(0, 3).every((t) => t >= 0 && t < 1_500),
        JSON.stringify(took),
      );
      assert.ok(took[3]! < 0 && -took[3]! >= 1_900, JSON.stringify(took));
    } finally {
      sandbox.ctx.faults('shopify').clear();
    }
    // Concurrent, from an empty bucket: paced by the model (30 × cost 7 at 100 points a second), not throttled.
    await axios.put(`${sandbox.url}/control/shopify/shop1/bucket`, { currentlyAvailable: 0 });
    await client.variantsBySku(['TEE-NAVY-XS']).catch(() => undefined); // may meet THROTTLED once, and learns
    const since = sandbox.ctx.calls.list({ system: 'shopify' }).at(-1)?.seq ?? 0;
    const started = Date.now();
    await Promise.all(Array.from({ length: 30 }, () => client.variantsBySku(['TEE-NAVY-XS'])));
    const calls = sandbox.ctx.calls.list({ system: 'shopify', sinceSeq: since });
    assert.equal(calls.filter((c) => c.rateLimited).length, 0, 'none throttled');
    assert.equal(calls.length, 30);
    assert.ok(Date.now() - started >= 1_500, `paced: took ${Date.now() - started} ms`);
  });

  test('webhooks are signed with HMAC-SHA256 of the raw body and delivered twice on demand', async () => {
    const got: Array<{ body: Buffer; headers: Record<string, unknown> }> = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ body: Buffer.concat(chunks), headers: req.headers });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await client.subscribe('INVENTORY_LEVELS_UPDATE', `http://127.0.0.1:${port}/hook`);
      await axios.put(`${sandbox.url}/control/shopify/shop1/webhook-delivery`, { duplicateNext: 1 });
      await axios.post(`${sandbox.url}/control/shopify/shop1/inventory`, { sku: 'JUMPER-NAVY-XS', available: 7 });
      for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(got.length, 2);
      for (const g of got) assert.ok(verifyShopifyHmac(g.body, g.headers['x-shopify-hmac-sha256'], SECRET));
      assert.equal(verifyShopifyHmac(got[0]!.body, got[0]!.headers['x-shopify-hmac-sha256'], 'other'), false);
      assert.equal(got[0]!.headers['x-shopify-event-id'], got[1]!.headers['x-shopify-event-id']);
      assert.notEqual(got[0]!.headers['x-shopify-webhook-id'], got[1]!.headers['x-shopify-webhook-id']);
      assert.equal(JSON.parse(got[0]!.body.toString()).available, 7);
    } finally {
      server.close();
    }
  });
});
