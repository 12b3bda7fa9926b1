// The Peoplevox simulator driven through the real PeoplevoxClient; assertions on simulator state go
// through the control API. Run: node --import tsx --test test/sandbox/peoplevox.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import axios from 'axios';
import pino from 'pino';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { peoplevoxSimulator } from '../../src/sandbox/peoplevox';
import { PeoplevoxClient } from '../../src/connectors/peoplevox/client';
import { toSalesOrderItemRows, toSalesOrderRow } from '../../src/connectors/peoplevox/map';
import { ConnectorError } from '../../src/connectors/errors';
import { CallLog } from '../../src/sandbox/core/call-log';
import type { MarketplaceOrder } from '../../src/domain/order';

const TIME_SCALE = 30; // 15 requests / 15 s becomes 15 requests / 500 ms
const CLIENT = 'acme1234';
const catalogue = sandboxCatalogue({ size: 20, stock: 10 });
const [A, B, C, D] = catalogue.map((c) => c.sku) as [string, string, string, string];

let sandbox: RunningSandbox;
let receiver: FastifyInstance;
let receiverUrl: string;
const received: Array<{ method: string; path: string; query: Record<string, string>; body: Record<string, string> }> =
  [];

function newClient(over: Partial<ConstructorParameters<typeof PeoplevoxClient>[0]> = {}) {
  return new PeoplevoxClient({
    baseUrl: `${sandbox.url}/peoplevox`,
    clientId: CLIENT,
    username: 'api-user',
    password: 's3cr3t',
    sessionTtlMinutes: 25,
    timeoutMs: 5_000,
    requestsPerSecond: 20,
    ...over,
  });
}

const control = (path: string) => `${sandbox.url}/control/peoplevox/${CLIENT}${path}`;

let seq = 0;
function order(
  over: Partial<MarketplaceOrder> = {},
  lines: Array<[string, number]> = [
    [A, 2],
    [B, 1],
  ],
): MarketplaceOrder {
  const id = `ORD-${Date.now().toString(36)}-${++seq}`;
  return {
    channel: 'asos',
    orderId: id,
    state: 'SHIPPING',
    createdAt: '2025-03-01T10:00:00Z',
    updatedAt: '2025-03-01T10:00:00Z',
    shippingDeadline: '2025-03-04T17:00:00Z',
    currency: 'GBP',
    taxMode: 'TAX_INCLUDED',
    shippingMethod: { code: 'STD', label: 'Standard' },
    customer: { firstName: 'Jane', lastName: 'Roe', email: 'jane+pvx@example.com' },
    shippingAddress: {
      firstName: 'Jane',
      lastName: 'Roe',
      line1: '1 High St',
      city: 'Leeds',
      postcode: 'LS1 1AA',
      countryCode: 'GB',
      instructions: 'Leave with neighbour',
    },
    lines: lines.map(([sku, qty], i) => ({
      lineId: `${id}-${i + 1}`,
      index: i + 1,
      offerSku: sku,
      quantity: qty,
      unitPrice: 1999,
      price: 1999 * qty,
      shippingPrice: 0,
      taxes: [],
      shippingTaxes: [],
      state: 'SHIPPING',
      cancelledQuantity: 0,
    })),
    totals: { goods: 1999 * 3, shipping: 399, total: 1999 * 3 + 399 },
    ...over,
  };
}

function rows(o: MarketplaceOrder) {
  const son = `ASOS-${o.orderId}`;
  return {
    son,
    orderRow: toSalesOrderRow(o, { salesOrderNumber: son, channelName: 'ASOS' }),
    itemRows: toSalesOrderItemRows(o, { salesOrderNumber: son, itemCodeFor: (s) => s }),
  };
}

async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function available(itemCode: string): Promise<number> {
  const { data } = await axios.get(control('/items'));
  return (data.items as Array<{ itemCode: string; available: number }>).find((i) => i.itemCode === itemCode)!.available;
}

before(async () => {
  receiver = Fastify();
  receiver.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  receiver.all('/*', async (req) => {
    received.push({
      method: req.method,
      path: req.url.split('?')[0]!,
      query: { ...(req.query as Record<string, string>) },
      body: { ...((req.body ?? {}) as Record<string, string>) },
    });
    return 'ok';
  });
  receiverUrl = await receiver.listen({ port: 0, host: '127.0.0.1' });
  sandbox = await startSandbox({ log: pino({ level: 'silent' }), port: 0, timeScale: TIME_SCALE }, [
    peoplevoxSimulator({ clientId: CLIENT, username: 'api-user', password: 's3cr3t', catalogue }),
    peoplevoxSimulator({
      clientId: 'narrow1',
      username: 'api-user',
      password: 's3cr3t',
      catalogue,
      templates: {
        'Sales orders': [
          'SalesOrderNumber',
          'Customer',
          'ShippingAddressLine1',
          'ShippingAddressPostcode',
          'ShippingAddressCountry',
          'Email',
        ],
        'Sales order items': ['SalesOrderNumber', 'ItemCode', 'SalePrice'],
      },
    }),
  ]);
});

after(async () => {
  await sandbox.close();
  await receiver.close();
});

describe('peoplevox simulator + client', () => {
  test('authenticates (base64 password) and discovers templates once', async () => {
    const since = sandbox.ctx.calls.list().at(-1)?.seq ?? 0;
    const client = newClient();
    const sid = await client.authenticate();
    assert.match(sid, /^[0-9a-f-]{36}$/);
    const cols = await client.getSaveTemplate('Sales orders');
    assert.equal(cols[0], 'SalesOrderNumber');
    assert.ok(cols.includes('ChannelName'));
    await client.getSaveTemplate('Sales orders');
    const calls = sandbox.ctx.calls.list({ system: 'peoplevox', tenant: CLIENT, sinceSeq: since });
    assert.deepEqual(
      calls.map((c) => c.endpoint),
      ['Authenticate', 'GetSaveTemplate'],
    );
    const bad = newClient({ password: 'wrong' });
    await assert.rejects(
      bad.authenticate(),
      (e: unknown) => e instanceof ConnectorError && !e.retryable && e.code === 'AUTH_FAILED',
    );
  });

  test('only sends columns the tenant template has; a missing required column is a named, non-retryable error', async () => {
    const client = newClient({ clientId: 'narrow1' });
    const o = order();
    const { son, orderRow, itemRows } = rows(o);
    // ChannelName, TotalSale, … are not in this tenant's template: dropped, and the order still saves.
    const saved = await client.saveData('Sales orders', [orderRow]);
    assert.equal(saved.responseId, 0);
    assert.deepEqual(saved.statuses, [{ reference: son, status: 'Success', lineNo: 1 }]);
    await assert.rejects(
      client.createSalesOrder(orderRow, itemRows),
      (e: unknown) =>
        e instanceof ConnectorError &&
        !e.retryable &&
        e.code === 'TEMPLATE_MISSING_COLUMN' &&
        /QuantityOrdered/.test(e.message),
    );
  });

  test('creates the order and items exactly once even when the SaveData reply is lost', async () => {
    const client = newClient();
    const o = order();
    const { son, orderRow, itemRows } = rows(o);
    const beforeA = await available(A);
    sandbox.ctx.faults('peoplevox').set([{ endpoint: 'SaveData', kind: 'lostResponse', count: 1 }]);
    await assert.rejects(
      client.createSalesOrder(orderRow, itemRows),
      (e: unknown) => e instanceof ConnectorError && e.retryable,
    );
    sandbox.ctx.faults('peoplevox').clear();

    const found = await client.findSalesOrder(son);
    assert.ok(found, 'the order was saved although the reply was lost');
    assert.equal(found.status, 'New');
    assert.equal(found.itemCount, 0);

    // The activity's retry: save again (upsert), then items.
    await client.createSalesOrder(orderRow, itemRows);
    await client.createSalesOrder(orderRow, itemRows); // and once more, for good measure
    const again = await client.findSalesOrder(son);
    assert.equal(again?.itemCount, 2);
    assert.equal(again?.status, 'Allocated');

    const { data: state } = await axios.get(control('/state'));
    assert.equal(state.saveCounts[son].created, 1);
    assert.equal(state.saveCounts[son].updated, 2);
    const { data: view } = await axios.get(control(`/orders/${son}`));
    assert.deepEqual(
      view.items.map((i: { itemCode: string; quantity: number }) => [i.itemCode, i.quantity]),
      [
        [A, 2],
        [B, 1],
      ],
    );
    assert.equal(view.fields.ShippingAddressCountry, 'United Kingdom');
    assert.equal(view.fields.TotalSale, '63.96');
    assert.equal(view.fields.ServiceType, 'Standard');
    assert.equal(await available(A), beforeA - 2, 'stock allocated once');
    assert.equal((await client.findSalesOrder('ASOS-NOPE'))?.status, undefined);
  });

  test('validation errors become non-retryable WMS_REJECTED errors naming the field', async () => {
    const client = newClient();
    const cases: Array<[MarketplaceOrder, RegExp]> = [
      [
        order({ shippingAddress: { line1: '1 High St', city: 'Leeds', postcode: 'NOT A CODE', countryCode: 'GB' } }),
        /ShippingAddressPostcode/,
      ],
      [
        order({
          shippingAddress: { line1: 'x'.repeat(101), city: 'Leeds', postcode: 'LS1 1AA', country: 'United Kingdom' },
        }),
        /ShippingAddressLine1.*100/,
      ],
      [order({}, [['NO-SUCH-SKU', 1]]), /unknown ItemCode 'NO-SUCH-SKU'/],
      [order({}, [[A, 0]]), /^$/], // nothing to ship: no item rows at all
    ];
    for (const [o, re] of cases.slice(0, 3)) {
      const { orderRow, itemRows } = rows(o);
      await assert.rejects(
        client.createSalesOrder(orderRow, itemRows),
        // Peoplevox's row message is in the detail (it can quote customer data), never in the message.
        (e: unknown) =>
          e instanceof ConnectorError && !e.retryable && e.code === 'WMS_REJECTED' && re.test(e.opts.detail ?? ''),
      );
    }
    // QuantityOrdered must be a positive integer (sent raw, bypassing the mapper).
    const { son, orderRow } = rows(order());
    await client.createSalesOrder(orderRow, []);
    const r = await client.saveData('Sales order items', [
      { SalesOrderNumber: son, ItemCode: A, QuantityOrdered: 1.5 },
    ]);
    assert.equal(r.responseId, -1);
    assert.match(r.statuses[0]!.message!, /QuantityOrdered must be a positive integer/);
    assert.equal(r.statuses[0]!.reference, `${son} - ${A}`);
  });

  test('expired sessions are renewed transparently', async () => {
    const client = newClient();
    await client.getData('Item types', `ItemCode == "${A}"`);
    const since = sandbox.ctx.calls.list().at(-1)!.seq;
    const { data } = await axios.post(control('/sessions/expire'), {});
    assert.ok(data.expired >= 1);
    const page = await client.getData('Item types', `ItemCode.Equals("${A}") OR ItemCode.Equals("${B}")`);
    assert.equal(page.totalCount, 2);
    const eps = sandbox.ctx.calls.list({ tenant: CLIENT, sinceSeq: since }).map((c) => c.endpoint);
    assert.deepEqual(eps, ['GetData', 'Authenticate', 'GetData']);

    // A session older than the client's TTL is replaced before use (no Invalid Session round trip).
    const short = newClient({ sessionTtlMinutes: 0.001 });
    await short.getData('Item types', '', { itemsPerPage: 1 });
    await new Promise((r) => setTimeout(r, 80));
    const since2 = sandbox.ctx.calls.list().at(-1)!.seq;
    await short.getData('Item types', '', { itemsPerPage: 1 });
    assert.deepEqual(
      sandbox.ctx.calls.list({ tenant: CLIENT, sinceSeq: since2 }).map((c) => c.endpoint),
      ['Authenticate', 'GetData'],
    );
  });

  test('the client pacer keeps a burst of 30 calls inside the rate limit; an unpaced client is throttled', async () => {
    await new Promise((r) => setTimeout(r, 600)); // let the 500 ms window empty
    const client = newClient({ requestsPerSecond: 24 });
    await client.authenticate();
    const since = sandbox.ctx.calls.list().at(-1)!.seq;
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        client.getData('Item types', `ItemCode.StartsWith("${catalogue[i % 20]!.sku.slice(0, 4)}")`),
      ),
    );
    const calls = sandbox.ctx.calls.list({ system: 'peoplevox', tenant: CLIENT, sinceSeq: since });
    assert.equal(calls.length, 30);
    assert.equal(calls.filter((c) => c.rateLimited || c.status === 429).length, 0);
    assert.ok(CallLog.maxInWindow(calls, 15_000 / TIME_SCALE) <= 15);

    await new Promise((r) => setTimeout(r, 600));
    const unpaced = newClient({ requestsPerSecond: 1000, burst: 100 });
    await unpaced.authenticate();
    const since2 = sandbox.ctx.calls.list().at(-1)!.seq;
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => unpaced.getData('Item types', '', { itemsPerPage: 1 })),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.ok(rejected.length > 0, 'the simulator enforces the limit');
    for (const r of rejected) {
      assert.ok(
        r.reason instanceof ConnectorError &&
          r.reason.retryable &&
          r.reason.status === 429 &&
          (r.reason.retryAfterMs ?? 0) >= 1000,
      );
    }
    assert.ok(sandbox.ctx.calls.list({ tenant: CLIENT, sinceSeq: since2 }).some((c) => c.rateLimited));
    await new Promise((r) => setTimeout(r, 600));
  });

  test('partial despatch in two parcels: Despatch summary and TrackingNumberReceived callbacks', async () => {
    const client = newClient();
    const o = order({}, [
      [C, 3],
      [D, 1],
    ]);
    const { son, orderRow, itemRows } = rows(o);
    await client.createSalesOrder(orderRow, itemRows);
    // encodeParameterData: values with spaces, `/` and `+` arrive whole.
    const subId = await client.subscribeEvent(
      'TrackingNumberReceived',
      `${receiverUrl}/pvx/tracking?despatch={DespatchNumber}&tn={TrackingNumber}&carrier={Carrier.Number}&service={ServiceType.Name}&code={ServiceType.Code}&order={Picks.SalesOrder.SalesOrderNumber}&email={Picks.SalesOrder.Email}`,
      { encodeParameterData: true },
    );
    assert.ok(subId > 0);
    const startedAt = new Date(Date.now() - 60_000).toISOString();

    await axios.post(control(`/orders/${son}/pick`), {});
    const first = await axios.post(control(`/orders/${son}/despatch`), {
      parcels: [
        {
          items: [{ itemCode: C, quantity: 2 }],
          carrier: 'DPD',
          trackingNumber: 'DPD 0001/A',
          serviceType: 'Next Day',
        },
      ],
    });
    assert.equal(first.data.order.status, 'Partially despatched');
    const second = await axios.post(control(`/orders/${son}/despatch`), { parcels: [{}] }); // everything left
    assert.equal(second.data.order.status, 'Despatched');
    const secondNumber = second.data.despatches[0].despatchNumber as string;

    const despatches = await client.listDespatches({ salesOrderNumber: son });
    assert.equal(despatches.length, 2);
    // The call log names the template or report of each data call (bench:soak tells despatch detection apart).
    const logOf = (endpoint: string) => sandbox.ctx.calls.list({ system: 'peoplevox', tenant: CLIENT, endpoint });
    assert.equal(logOf('GetReportData').at(-1)?.template, 'Despatch summary');
    assert.deepEqual(
      logOf('SaveData')
        .slice(-2)
        .map((c) => c.template),
      ['Sales orders', 'Sales order items'],
    );
    const [d1, d2] = despatches;
    assert.equal(d1!.trackingNumber, 'DPD 0001/A');
    assert.equal(d1!.carrier, 'DPD');
    assert.deepEqual(d1!.items, [{ itemCode: C, quantity: 2 }]);
    assert.equal(d2!.despatchNumber, secondNumber);
    assert.equal(d2!.carrier, 'Royal Mail');
    assert.deepEqual(
      [...d2!.items].sort((x, y) => x.itemCode.localeCompare(y.itemCode)),
      [
        { itemCode: C, quantity: 1 },
        { itemCode: D, quantity: 1 },
      ].sort((x, y) => x.itemCode.localeCompare(y.itemCode)),
    );
    assert.ok(d1!.despatchedAt && Date.parse(d1!.despatchedAt) >= Date.parse(startedAt));
    const since = await client.listDespatches({ sinceIso: startedAt });
    assert.ok(since.some((d) => d.despatchNumber === secondNumber));
    assert.equal((await client.listDespatches({ sinceIso: new Date(Date.now() + 120_000).toISOString() })).length, 0);

    const cbs = await waitFor(() => {
      const hits = received.filter((r) => r.path === '/pvx/tracking' && r.query.order === son);
      return hits.length >= 2 && hits;
    });
    const byDespatch = new Map(cbs.map((c) => [c.query.despatch, c.query]));
    assert.deepEqual(byDespatch.get(d1!.despatchNumber), {
      despatch: d1!.despatchNumber,
      tn: 'DPD 0001/A',
      carrier: 'DPD',
      service: 'Next Day',
      code: 'NEXT_DAY',
      order: son,
      email: 'jane+pvx@example.com',
    });
    assert.equal(byDespatch.get(secondNumber)?.tn, d2!.trackingNumber);
    const logged = sandbox.ctx.calls.list({
      system: 'peoplevox-callback',
      endpoint: 'callback:TrackingNumberReceived',
    });
    assert.ok(logged.filter((c) => c.status === 200).length >= 2);
    assert.equal(await client.unsubscribeEvent(subId), true);
    assert.equal(await client.unsubscribeEvent(subId), false);
  });

  test('a dropped callback (fault) is still visible in the Despatch summary', async () => {
    const client = newClient();
    const { son, orderRow, itemRows } = rows(order({}, [[A, 1]]));
    await client.createSalesOrder(orderRow, itemRows);
    const subId = await client.subscribeEvent(
      'TrackingNumberReceived',
      `${receiverUrl}/pvx/dropped?order={Picks.SalesOrder.SalesOrderNumber}`,
    );
    sandbox.ctx.faults('peoplevox').set([{ endpoint: 'callback:TrackingNumberReceived', kind: 'error5xx', count: 1 }]);
    const { data } = await axios.post(control(`/orders/${son}/despatch`), {});
    await waitFor(() => sandbox.ctx.calls.list({ system: 'peoplevox-callback' }).some((c) => c.fault === 'error5xx'));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(received.filter((r) => r.path === '/pvx/dropped').length, 0, 'the callback never arrived');
    sandbox.ctx.faults('peoplevox').clear();
    const polled = await client.listDespatches({ salesOrderNumber: son });
    assert.deepEqual(
      polled.map((d) => d.despatchNumber),
      [data.despatches[0].despatchNumber],
    );
    await client.unsubscribeEvent(subId);
  });

  test('cancel is allowed while New/Allocated and refused once Picking', async () => {
    const client = newClient();
    const fresh = rows(order());
    await client.createSalesOrder(fresh.orderRow, fresh.itemRows, { action: 1 }); // do not allocate: stays New
    assert.equal((await client.findSalesOrder(fresh.son))?.status, 'New');
    assert.deepEqual(await client.cancelSalesOrder(fresh.son), { cancelled: true, status: 'Cancelled' });
    assert.deepEqual(await client.cancelSalesOrder(fresh.son), { cancelled: true, status: 'Cancelled' }); // idempotent

    const allocated = rows(order());
    await client.createSalesOrder(allocated.orderRow, allocated.itemRows);
    const beforeA = await available(A);
    assert.deepEqual(await client.cancelSalesOrder(allocated.son), { cancelled: true, status: 'Cancelled' });
    assert.equal(await available(A), beforeA + 2, 'allocation released');

    const picking = rows(order());
    await client.createSalesOrder(picking.orderRow, picking.itemRows);
    await axios.post(control(`/orders/${picking.son}/pick`), {});
    assert.deepEqual(await client.cancelSalesOrder(picking.son), { cancelled: false, status: 'Picking' });
    const { data } = await axios.get(control(`/orders/${picking.son}`));
    assert.equal(data.status, 'Picking');
    await assert.rejects(
      client.cancelSalesOrder('ASOS-DOES-NOT-EXIST'),
      (e: unknown) => e instanceof ConnectorError && e.code === 'WMS_REJECTED' && !e.retryable,
    );
  });

  test('AvailabilityChanges and SalesOrderStatusChanges are posted with substituted parameters', async () => {
    const client = newClient();
    const subId = await client.subscribePostEvent(
      'AvailabilityChanges',
      `${receiverUrl}/pvx/stock`,
      'sku={ItemCode}&available={Available}',
    );
    const statusSub = await client.subscribeEvent(
      'SalesOrderStatusChanges',
      `${receiverUrl}/pvx/status?so={SalesOrderNumber}&status={SalesOrderStatu.Name}&at={LastModificationTime}`,
    );
    await axios.put(control('/stock'), { itemCode: B, available: 37 });
    const hit = await waitFor(() =>
      received.find((r) => r.path === '/pvx/stock' && r.body.sku === B && r.body.available === '37'),
    );
    assert.equal(hit.method, 'POST');
    const inv = await client.listAvailability();
    assert.equal(inv.find((i) => i.itemCode === B)?.available, 37);

    // Allocation on order creation changes availability too, and the order moves New → Allocated.
    const { son, orderRow, itemRows } = rows(order({}, [[B, 5]]));
    await client.createSalesOrder(orderRow, itemRows);
    await waitFor(() => received.find((r) => r.path === '/pvx/stock' && r.body.sku === B && r.body.available === '32'));
    const st = await waitFor(() => received.find((r) => r.path === '/pvx/status' && r.query.so === son));
    assert.equal(st.query.status, 'Allocated');
    assert.ok(!Number.isNaN(Date.parse(st.query.at!)));
    const { data } = await axios.get(control('/subscriptions'));
    assert.ok(data.subscriptions.some((s: { id: number; method: string }) => s.id === subId && s.method === 'POST'));
    await client.unsubscribeEvent(subId);
    await client.unsubscribeEvent(statusSub);
  });

  test('GetData paging and search clauses; item codes; WSDL', async () => {
    const client = newClient();
    const codes = await client.listItemCodes();
    assert.deepEqual(
      codes,
      catalogue.map((c) => c.sku),
    );
    const paged = await client.getAllData('Item types', '', { itemsPerPage: 7 });
    assert.equal(paged.length, 20);
    const page3 = await client.getData('Item types', '', { pageNo: 3, itemsPerPage: 7 });
    assert.equal(page3.rows.length, 6);
    assert.equal(page3.totalCount, 20);
    const some = await client.getData(
      'Item types',
      `(ItemCode.StartsWith("JUMPER-NAVY") AND !ItemCode.EndsWith("-XS")) OR ItemCode == "${catalogue[10]!.sku}"`,
    );
    assert.equal(some.totalCount, 5);
    await assert.rejects(
      client.getData('Item types', 'NoSuchField == "x"'),
      (e: unknown) => e instanceof ConnectorError && /unknown field/.test(e.opts.detail ?? ''),
    );
    const report = await client.getReportData('Item inventory summary', {
      columns: ['Item code', 'Available'],
      orderBy: '[Item code] DESC',
      itemsPerPage: 2,
    });
    assert.deepEqual(Object.keys(report.rows[0]!), ['Item code', 'Available']);
    assert.equal(report.totalCount, 20);
    assert.equal(report.rows[0]!['Item code'], [...catalogue.map((c) => c.sku)].sort().reverse()[0]);
    const wsdl = await axios.get(`${sandbox.url}/peoplevox/${CLIENT}/Resources/integrationservicev4.asmx?wsdl`);
    assert.match(String(wsdl.data), /<wsdl:definitions[^>]*targetNamespace="http:\/\/www.peoplevox.net\/"/);
    assert.match(String(wsdl.data), /soapAction="http:\/\/www.peoplevox.net\/SaveData"/);
  });

  test('the inventory report answers each read with the items as they are now (its rows are kept between reads)', async () => {
    const client = newClient();
    const code = 'REPORT-ROW-1';
    const read = async () =>
      (
        await client.getReportData('Item inventory summary', {
          columns: ['Item code', 'Name', 'Barcode', 'Available'],
          searchClause: `[Item code].Equals("${code}")`,
        })
      ).rows;
    await axios.put(control('/items'), { items: [{ itemCode: code, name: 'First', barcode: 'B-1', available: 5 }] });
    assert.deepEqual(await read(), [{ 'Item code': code, Name: 'First', Barcode: 'B-1', Available: '5' }]);
    await axios.put(control('/stock'), { itemCode: code, available: 3 });
    await axios.put(control('/items'), { items: [{ itemCode: code, name: 'Renamed', barcode: 'B-2' }] });
    assert.deepEqual(await read(), [{ 'Item code': code, Name: 'Renamed', Barcode: 'B-2', Available: '3' }]);
    const { data } = await axios.get(control('/items'));
    const keep = (data as { items: Array<{ itemCode: string }> }).items.filter((i) => i.itemCode !== code);
    await axios.put(control('/items'), { replace: true, items: keep.map((i) => ({ itemCode: i.itemCode })) });
    assert.deepEqual(await read(), []);
  });
});
