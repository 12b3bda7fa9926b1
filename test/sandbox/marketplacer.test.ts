// The Marketplacer simulator on its own: the Seller API's auth, errors, filters, status flags, shipments, refund
// requests, stock and limits, and its webhooks (signature, sequence, retries, the disable-on-4xx rule).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { marketplacerSimulator } from '../../src/sandbox/marketplacer';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';

const KEY = 'test-marketplacer-key';
let sandbox: RunningSandbox;
let api: AxiosInstance;
let control: AxiosInstance;
let receiver: FastifyInstance;
let receiverUrl: string;
/** What the test receiver answers, by call number (default 200), and what it received. */
let answers: number[] = [];
const received: Array<{ headers: Record<string, unknown>; body: string }> = [];

before(async () => {
  sandbox = await startSandbox({ log: pino({ level: 'silent' }), port: 0, timeScale: 600 }, [
    marketplacerSimulator({
      channel: 'mkp',
      apiKey: KEY,
      catalogue: sandboxCatalogue({ stock: 10 }),
    }),
  ]);
  api = axios.create({
    baseURL: `${sandbox.url}/marketplacer/mkp`,
    headers: { 'MARKETPLACER-API-KEY': KEY },
    validateStatus: () => true,
  });
  control = axios.create({ baseURL: `${sandbox.url}/control/marketplacer/mkp` });
  receiver = Fastify();
  // The raw body, as signed (Fastify's own JSON parser would hand over an object).
  receiver.removeAllContentTypeParsers();
  receiver.addContentTypeParser('*', { parseAs: 'string' }, (_r, body, done) => done(null, body));
  receiver.post('/hook', async (req, reply) => {
    received.push({ headers: req.headers as Record<string, unknown>, body: String(req.body) });
    return reply.code(answers.shift() ?? 200).send({ ok: true });
  });
  receiverUrl = await receiver.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await receiver?.close();
  await sandbox?.close();
});

const gql = async (query: string, variables: Record<string, unknown> = {}) =>
  (await api.post('/graphql', { query, variables })).data;
const INVOICE = `id legacyId statusFlags updatedAt lineItems { id variantSku quantity status }
  shipments { id trackingNumber shippedItems { quantity lineItem { id } } }
  refundRequests { id status lineItems { status quantity dispatched } }`;

async function place(lines: Array<{ sku: string; quantity: number }>, extra: Record<string, unknown> = {}) {
  return (await control.post('/invoices', { lines, ...extra })).data as {
    invoiceId: string;
    legacyId: number;
    lineItems: Array<{ id: string }>;
  };
}
async function carrierId(name = 'DPD'): Promise<string> {
  const r = await gql('{ shipmentCarriers(first: 50) { nodes { id name } } }');
  return (r.data.shipmentCarriers.nodes as Array<{ id: string; name: string }>).find((c) => c.name === name)!.id;
}
const SHIP = `mutation($input: ShipmentCreateMutationInput!) { shipmentCreate(input: $input) { status errors { field messages } shipment { id } } }`;

describe('Marketplacer simulator: Seller API', () => {
  test('a missing or wrong key is 401 "API Token has expired"; Authorization: Bearer works too', async () => {
    const bad = await axios.post(
      `${sandbox.url}/marketplacer/mkp/graphql`,
      { query: '{ __typename }' },
      { validateStatus: () => true },
    );
    assert.equal(bad.status, 401);
    assert.equal(bad.data.errors[0].message, 'API Token has expired');
    const bearer = await axios.post(
      `${sandbox.url}/marketplacer/mkp/graphql`,
      { query: '{ __typename }' },
      { headers: { Authorization: `Bearer ${KEY}` } },
    );
    assert.equal(bearer.data.data.__typename, 'Query');
  });

  test('invoices: filters (updatedSince, notDispatched, legacyId), Relay paging with totalCount, flags that accumulate over split shipments', async () => {
    const since = new Date().toISOString();
    const a = await place([
      { sku: 'JUMPER-NAVY-XS', quantity: 2 },
      { sku: 'JUMPER-NAVY-S', quantity: 1 },
    ]);
    const b = await place([{ sku: 'JUMPER-NAVY-M', quantity: 1 }]);
    const page1 = await gql(
      `query($f: InvoiceFilters) { invoices(first: 1, filters: $f) { totalCount pageInfo { hasNextPage endCursor } nodes { legacyId } } }`,
      { f: { updatedSince: since } },
    );
    assert.equal(page1.data.invoices.totalCount, 2);
    assert.equal(page1.data.invoices.pageInfo.hasNextPage, true);
    const page2 = await gql(
      `query($f: InvoiceFilters, $a: String) { invoices(first: 1, after: $a, filters: $f) { pageInfo { hasNextPage } nodes { legacyId } } }`,
      { f: { updatedSince: since }, a: page1.data.invoices.pageInfo.endCursor },
    );
    assert.deepEqual(
      [page1.data.invoices.nodes[0].legacyId, page2.data.invoices.nodes[0].legacyId],
      [a.legacyId, b.legacyId],
    );
    const carrier = await carrierId();
    const first = await gql(SHIP, {
      input: {
        invoiceId: a.invoiceId,
        postageCarrierId: carrier,
        dispatchedAt: new Date().toISOString(),
        trackingNumber: 'T-1',
        shippedItems: [{ lineItemId: a.lineItems[0]!.id, quantity: 1 }],
      },
    });
    assert.equal(first.data.shipmentCreate.status, 200);
    const one = await gql(`query($f: InvoiceFilters) { invoices(filters: $f) { nodes { ${INVOICE} } } }`, {
      f: { legacyId: a.legacyId },
    });
    assert.deepEqual(one.data.invoices.nodes[0].statusFlags, ['PAID', 'PARTIALLY_SENT']);
    await gql(SHIP, {
      input: {
        invoiceId: a.invoiceId,
        postageCarrierId: carrier,
        dispatchedAt: new Date().toISOString().slice(0, 10),
        trackingNumber: 'T-2',
        shippedItems: [
          { lineItemId: a.lineItems[0]!.id, quantity: 1 },
          { lineItemId: a.lineItems[1]!.id, quantity: 1 },
        ],
      },
    });
    const open = await gql(`query($f: InvoiceFilters) { invoices(filters: $f) { nodes { legacyId statusFlags } } }`, {
      f: { notDispatched: true, updatedSince: since },
    });
    assert.deepEqual(
      open.data.invoices.nodes.map((n: { legacyId: number }) => n.legacyId),
      [b.legacyId],
      'a fully shipped invoice is no longer "not dispatched"',
    );
    const done = await gql(`query($id: ID!) { node(id: $id) { ... on Invoice { statusFlags } } }`, { id: a.invoiceId });
    assert.deepEqual(done.data.node.statusFlags, ['PAID', 'SENT']);
  });

  test('shipmentCreate refusals come as errors { field messages } under HTTP 200; an unknown invoice is a top-level "No object found"', async () => {
    const inv = await place([{ sku: 'TEE-NAVY-XS', quantity: 1 }]);
    const carrier = await carrierId('Royal Mail');
    const ship = (over: Record<string, unknown>) =>
      api.post('/graphql', {
        query: SHIP,
        variables: {
          input: {
            invoiceId: inv.invoiceId,
            postageCarrierId: carrier,
            dispatchedAt: new Date().toISOString(),
            trackingNumber: 'RM-1',
            shippedItems: [{ lineItemId: inv.lineItems[0]!.id, quantity: 1 }],
            ...over,
          },
        },
      });
    const early = await ship({ dispatchedAt: '2001-01-01T00:00:00Z' });
    assert.equal(early.status, 200);
    assert.deepEqual(early.data.data.shipmentCreate.errors, [
      { field: 'dispatchedAt', messages: ['Dispatched at is before shipped items were ordered'] },
    ]);
    const tooMany = await ship({ shippedItems: [{ lineItemId: inv.lineItems[0]!.id, quantity: 2 }] });
    assert.equal(tooMany.data.data.shipmentCreate.errors[0].field, 'shippedItems');
    const unknown = await ship({ invoiceId: Buffer.from('Invoice-1').toString('base64') });
    assert.equal(unknown.status, 200);
    assert.match(unknown.data.errors[0].message, /^No object found for invoiceId/);
    assert.equal(unknown.data.data.shipmentCreate, null);
  });

  test('refund requests: cancellations only of units not shipped, returns only of units shipped; the operator refunding every unit cancels the invoice', async () => {
    const inv = await place([{ sku: 'SCARF-RED-S', quantity: 2 }]);
    const RR = `mutation($input: RefundRequestCreateMutationInput!) { refundRequestCreate(input: $input) {
      status errors { field messages } refundRequest { id status lineItems { status dispatched quantity } } } }`;
    const line = inv.lineItems[0]!.id;
    const asReturn = await gql(RR, {
      input: {
        invoiceId: inv.invoiceId,
        notes: [],
        lineItems: [{ lineItemId: line, reason: 'x', quantity: 1, dispatched: true }],
      },
    });
    assert.equal(asReturn.data.refundRequestCreate.errors[0].field, 'lineItems', 'nothing shipped, nothing to return');
    const cancel = await gql(RR, {
      input: {
        invoiceId: inv.invoiceId,
        notes: [{ note: 'n' }],
        lineItems: [{ lineItemId: line, reason: 'x', quantity: 2, dispatched: false }],
      },
    });
    const rr = cancel.data.refundRequestCreate.refundRequest;
    assert.equal(rr.status, 'AWAITING');
    assert.deepEqual(rr.lineItems, [{ status: 'PENDING_APPROVAL', dispatched: false, quantity: 2 }]);
    const again = await gql(RR, {
      input: {
        invoiceId: inv.invoiceId,
        notes: [],
        lineItems: [{ lineItemId: line, reason: 'x', quantity: 1, dispatched: false }],
      },
    });
    assert.equal(
      again.data.refundRequestCreate.errors.length,
      1,
      'units already in a cancellation cannot be cancelled twice',
    );
    await control.post(`/refund-requests/${rr.id}/refund`, {});
    const after = (await control.get(`/invoices/${inv.legacyId}`)).data as { statusFlags: string[] };
    assert.ok(after.statusFlags.includes('CANCELLED') && after.statusFlags.includes('REFUNDED'));
  });

  test('variantUpdate is absolute; while the connection is inactive it is accepted but the marketplace keeps showing the old count', async () => {
    const v = (
      (await control.get('/variants', { params: { sku: 'TEE-RED-S' } })).data as { variants: Array<{ id: string }> }
    ).variants[0]!;
    const UPD = `mutation($input: VariantUpdateMutationInput!) { variantUpdate(input: $input) { status errors { field messages } variant { countOnHand } } }`;
    const READ = `query($id: ID!) { node(id: $id) { ... on Variant { countOnHand } } }`;
    await gql(UPD, { input: { variantId: v.id, attributes: { countOnHand: 4 } } });
    assert.equal((await gql(READ, { id: v.id })).data.node.countOnHand, 4);
    await control.put('/connection', { active: false });
    const accepted = await gql(UPD, { input: { variantId: v.id, attributes: { countOnHand: 9 } } });
    assert.equal(accepted.data.variantUpdate.status, 200);
    assert.equal(accepted.data.variantUpdate.variant.countOnHand, 9, 'the answer says accepted');
    assert.equal((await gql(READ, { id: v.id })).data.node.countOnHand, 4, 'the marketplace still shows 4');
    await control.put('/connection', { active: true });
    const negative = await gql(UPD, { input: { variantId: v.id, attributes: { countOnHand: -1 } } });
    assert.equal(negative.data.variantUpdate.errors[0].field, 'countOnHand');
    const history = (await control.get('/stock-history', { params: { sku: 'TEE-RED-S' } })).data as {
      changes: Array<{ countOnHand: number; dropped?: boolean }>;
    };
    assert.deepEqual(
      history.changes.map((c) => [c.countOnHand, c.dropped ?? false]),
      [
        [4, false],
        [9, true],
      ],
    );
  });

  test('over the per-key limit: 429 with Retry-After, or 503 without, as configured', async () => {
    // Its own instance at real time: a 10 s window that a burst cannot outrun.
    const limited = await startSandbox({ log: pino({ level: 'silent' }), port: 0, timeScale: 1 }, [
      marketplacerSimulator({
        channel: 'lim',
        apiKey: KEY,
        catalogue: sandboxCatalogue({ size: 5 }),
        limits: { perKey: 40 },
      }),
    ]);
    try {
      await axios.put(`${limited.url}/control/marketplacer/lim/limits`, {
        replies: [
          { status: 429, retryAfter: true },
          { status: 503, retryAfter: false },
        ],
      });
      const burst = await Promise.all(
        Array.from({ length: 60 }, () =>
          axios.post(
            `${limited.url}/marketplacer/lim/graphql`,
            { query: '{ __typename }' },
            { headers: { 'MARKETPLACER-API-KEY': KEY }, validateStatus: () => true },
          ),
        ),
      );
      assert.equal(burst.filter((r) => r.status === 200).length, 40, 'exactly the key budget answered');
      const statuses = burst
        .filter((r) => r.status !== 200)
        .map((r) => [r.status, r.headers['retry-after'] as string | undefined] as [number, string | undefined]);
      assert.equal(statuses[0]![0], 429);
      assert.ok(Number(statuses[0]![1]) >= 1);
      assert.deepEqual(statuses[1], [503, undefined]);
    } finally {
      await limited.close();
    }
  });
});

describe('Marketplacer simulator: webhooks', () => {
  test('signed with Marketplacer-Hmac-256, numbered by Marketplacer-Sequence, retried after a 500, and disabled by a 404', async () => {
    const hook = (await control.post('/webhooks', { type: 'INVOICE', url: `${receiverUrl}/hook`, hmacKey: 'k1' }))
      .data as {
      id: number;
    };
    answers = [500, 200];
    received.length = 0;
    const inv = await place([{ sku: 'COAT-NAVY-S', quantity: 1 }]);
    await waitFor(() => received.length >= 2, 'a retry after the 500');
    const [firstTry, retry] = received;
    assert.equal(firstTry!.body, retry!.body, 'the same event again');
    assert.equal(
      retry!.headers['marketplacer-hmac-256'],
      createHmac('sha256', 'k1').update(retry!.body).digest('base64'),
    );
    const body = JSON.parse(retry!.body);
    assert.equal(body.event_name, 'create');
    assert.equal(body.payload.data.node.id, inv.invoiceId);
    const seq = Number(retry!.headers['marketplacer-sequence']);
    assert.equal(retry!.headers['idempotency-key'], `mkp:${seq}`);

    answers = [404];
    await control.post(`/invoices/${inv.legacyId}/paid`, {});
    await waitFor(async () => {
      const w = (await control.get('/webhooks')).data as { webhooks: Array<{ id: number; enabled: boolean }> };
      return w.webhooks.find((x) => x.id === hook.id)?.enabled === false;
    }, 'the webhook disabled by a 404');
    await control.post(`/invoices/${inv.legacyId}/cancel`, {});
    const d = (await control.get('/webhooks')).data as { deliveries: Array<{ outcome: string; sequence: number }> };
    assert.ok(d.deliveries.some((x) => x.outcome === 'disabled'));
    assert.ok(
      d.deliveries.some((x) => x.outcome === 'not-sent' && x.sequence > seq),
      'later events are not sent',
    );
    await control.put(`/webhooks/${hook.id}`, { enabled: false });
  });
});

async function waitFor(fn: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
