// The Mirakl simulator driven through the real MiraklClient: order lifecycle, errors, limits, faults, stock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import {
  miraklSimulator,
  generateDemoOrder,
  MALFORMED_KINDS,
  type MiraklSimChannel,
  type MiraklSimulator,
} from '../../src/sandbox/mirakl';
import { MiraklClient } from '../../src/connectors/mirakl/client';
import { toMarketplaceOrder } from '../../src/connectors/mirakl/map';
import { ConnectorError } from '../../src/connectors/errors';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { seededRandom } from '../../src/sandbox/core/faults';

const catalogue = sandboxCatalogue({ size: 20, stock: 10 });
const sku = (i: number) => catalogue[i]!.sku;

function channel(code: string, over: Partial<MiraklSimChannel> = {}): MiraklSimChannel {
  return {
    code,
    apiKey: `${code}-key`,
    multiShipment: true,
    partialAcceptance: false,
    hideAddressesUntilAcceptance: true,
    acceptanceWindowMs: 72 * 3_600_000,
    leadtimeToShipDays: 2,
    carriers: [
      { code: 'DPD', label: 'DPD UK', trackingUrl: 'https://track.dpd.co.uk/{trackingId}' },
      { code: 'RM', label: 'Royal Mail' },
    ],
    catalogue,
    ...over,
  };
}

let sb: RunningSandbox;
let sim: MiraklSimulator;
let asos: MiraklClient;
let joules: MiraklClient;

async function control<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sb.url}/control/mirakl${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function createOrder(
  ch: string,
  lines: { offerSku: string; quantity: number }[],
  extra: Record<string, unknown> = {},
) {
  return control<{ order_id: string; order_lines: { order_line_id: string }[] }>('POST', `/${ch}/orders`, {
    lines,
    ...extra,
  });
}

async function rejects(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConnectorError, `expected ConnectorError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

before(async () => {
  sim = miraklSimulator({
    channels: [
      channel('asos'),
      channel('joules', { partialAcceptance: true, hideAddressesUntilAcceptance: false, multiShipment: false }),
    ],
  });
  sb = await startSandbox({ log: pino({ level: 'silent' }), port: 0, enforceRateLimits: false }, [sim]);
  asos = new MiraklClient({ baseUrl: `${sb.url}/mirakl/asos`, apiKey: 'asos-key', timeoutMs: 2000 });
  joules = new MiraklClient({ baseUrl: `${sb.url}/mirakl/joules`, apiKey: 'joules-key', timeoutMs: 2000 });
});

after(async () => {
  await sb.close();
});

describe('mirakl simulator', () => {
  test('auth: a wrong key is 401 and not retryable', async () => {
    const bad = new MiraklClient({ baseUrl: `${sb.url}/mirakl/asos`, apiKey: 'nope', timeoutMs: 2000 });
    const e = await rejects(bad.platformConfiguration());
    assert.equal(e.status, 401);
    assert.equal(e.retryable, false);
    assert.equal(sb.ctx.calls.list({ system: 'mirakl', endpoint: 'PC01' }).at(-1)?.status, 401);
  });

  test('OR11 offset paging, sort by creation and start_update_date', async () => {
    const shop = sim.shops.get('joules')!;
    const before = shop.orders.size;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createOrder('joules', [{ offerSku: sku(i), quantity: 1 }])).order_id);
    const seen: string[] = [];
    for await (const o of joules.listOrdersUpdatedSince(undefined, 3)) seen.push(o.order_id);
    assert.equal(seen.length, before + 7);
    assert.deepEqual(seen.slice(-7), ids, 'sorted by creation date ascending');
    const or11 = sb.ctx.calls.list({ endpoint: 'OR11', tenant: 'joules' });
    assert.ok(or11.length >= 3, 'three pages of 3');

    // Everything updated since "now" (minus Mirakl's delta) is only the order we touch next.
    await new Promise((r) => setTimeout(r, 20));
    shop.advanceClock(60_000);
    const since = new Date(shop.now()).toISOString();
    shop.advanceClock(60_000);
    await joules.acceptOrder(ids[3]!, [{ id: `${ids[3]}-1`, accepted: true }]);
    const page = await joules.listOrders({ updatedSince: since });
    assert.deepEqual(
      page.orders.map((o) => o.order_id),
      [ids[3]],
    );
    assert.equal(page.totalCount, 1);
    // The delta: a start date a little after the change still returns it.
    const justAfter = new Date(shop.now() + 2000).toISOString();
    assert.equal((await joules.listOrders({ updatedSince: justAfter })).orders.length, 1);
  });

  test('accept → SHIPPING, addresses hidden until accepted, offer stock decremented', async () => {
    const before = sim.shops.get('asos')!.offers.get(sku(1))!.quantity;
    const o = await createOrder('asos', [
      { offerSku: sku(1), quantity: 2 },
      { offerSku: sku(2), quantity: 1 },
    ]);
    assert.equal(sim.shops.get('asos')!.offers.get(sku(1))!.quantity, before - 2);
    const [w] = await asos.getOrders([o.order_id]);
    assert.equal(w!.order_state, 'WAITING_ACCEPTANCE');
    assert.equal(w!.customer?.shipping_address, null);
    assert.equal(toMarketplaceOrder(w!, { code: 'asos', acceptanceWindowHours: 72 }).shippingAddress, null);
    await asos.acceptOrder(
      o.order_id,
      o.order_lines.map((l) => ({ id: l.order_line_id, accepted: true })),
    );
    const [a] = await asos.getOrders([o.order_id]);
    assert.equal(a!.order_state, 'SHIPPING');
    assert.ok(a!.acceptance_decision_date);
    assert.equal(a!.customer?.shipping_address?.zip_code, 'BA1 1AA');
    assert.ok(Date.parse(a!.last_updated_date!) > Date.parse(w!.last_updated_date!));
    const ctl = await control<{ _sandbox: { acceptDecisions: unknown[] } }>('GET', `/asos/orders/${o.order_id}`);
    assert.equal(ctl._sandbox.acceptDecisions.length, 1);

    const again = await rejects(
      asos.acceptOrder(o.order_id, [
        { id: `${o.order_id}-1`, accepted: true },
        { id: `${o.order_id}-2`, accepted: true },
      ]),
    );
    assert.equal(again.status, 400);
    assert.equal(again.code, 'ORDER_INVALID_STATE');
    assert.equal(again.retryable, false);
  });

  test('OR21 errors: partial acceptance disabled, decision missing, unknown line; all refused ⇒ REFUSED', async () => {
    const o = await createOrder('asos', [
      { offerSku: sku(3), quantity: 1 },
      { offerSku: sku(4), quantity: 1 },
    ]);
    const [l1, l2] = o.order_lines.map((l) => l.order_line_id);
    const partial = await rejects(
      asos.acceptOrder(o.order_id, [
        { id: l1!, accepted: true },
        { id: l2!, accepted: false },
      ]),
    );
    assert.equal(partial.code, 'ORDER_PARTIAL_ACCEPTANCE_DISABLED');
    assert.match(partial.opts.detail ?? '', /ORDER_PARTIAL_ACCEPTANCE_DISABLED/);
    assert.equal(
      (await rejects(asos.acceptOrder(o.order_id, [{ id: l1!, accepted: true }]))).code,
      'ORDER_LINE_ACCEPTANCE_DECISION_MISSING',
    );
    assert.equal(
      (
        await rejects(
          asos.acceptOrder(o.order_id, [
            { id: l1!, accepted: true },
            { id: 'X-9', accepted: true },
          ]),
        )
      ).code,
      'ORDER_LINE_NOT_FOUND',
    );
    assert.equal(sim.shops.get('asos')!.orders.get(o.order_id)!.state, 'WAITING_ACCEPTANCE');
    const stock = sim.shops.get('asos')!.offers.get(sku(3))!.quantity;
    await asos.acceptOrder(o.order_id, [
      { id: l1!, accepted: false },
      { id: l2!, accepted: false },
    ]);
    assert.equal(sim.shops.get('asos')!.orders.get(o.order_id)!.state, 'REFUSED');
    assert.equal(sim.shops.get('asos')!.offers.get(sku(3))!.quantity, stock + 1, 'refused line is restocked');

    // Partial acceptance where the shop allows it.
    const j = await createOrder('joules', [
      { offerSku: sku(3), quantity: 1 },
      { offerSku: sku(4), quantity: 1 },
    ]);
    await joules.acceptOrder(j.order_id, [
      { id: `${j.order_id}-1`, accepted: true },
      { id: `${j.order_id}-2`, accepted: false },
    ]);
    const [jw] = await joules.getOrders([j.order_id]);
    assert.equal(jw!.order_state, 'SHIPPING');
    assert.deepEqual(
      jw!.order_lines!.map((l) => l.order_line_state),
      ['SHIPPING', 'REFUSED'],
    );
  });

  test('OR23 + OR24 ship the whole order; ST01 afterwards is rejected', async () => {
    const o = await createOrder('asos', [
      { offerSku: sku(5), quantity: 2 },
      { offerSku: sku(6), quantity: 1 },
    ]);
    const early = await rejects(asos.shipOrder(o.order_id));
    assert.equal(early.code, 'ORDER_INVALID_STATE');
    await asos.acceptOrder(
      o.order_id,
      o.order_lines.map((l) => ({ id: l.order_line_id, accepted: true })),
    );
    await asos.setTracking(o.order_id, { carrier_code: 'DPD', tracking_number: '15501234567890' });
    await asos.shipOrder(o.order_id);
    const [w] = await asos.getOrders([o.order_id]);
    assert.equal(w!.order_state, 'SHIPPED');
    assert.ok(w!.order_lines!.every((l) => l.order_line_state === 'SHIPPED'));
    assert.equal(w!.shipping_tracking, '15501234567890');
    assert.equal((w as Record<string, unknown>).shipping_tracking_url, 'https://track.dpd.co.uk/15501234567890');
    const again = await rejects(asos.shipOrder(o.order_id));
    assert.match(again.opts.detail ?? '', /SHIPPED/);
    const st = await asos.createShipments([
      { order_id: o.order_id, shipment_lines: [{ order_line_id: `${o.order_id}-1`, quantity: 1 }] },
    ]);
    assert.equal(st.success.length, 0);
    assert.match(st.errors[0]!.message, /SHIPPING/);
    const unknownCarrier = await rejects(asos.setTracking(o.order_id, { carrier_code: 'NOPE', tracking_number: '1' }));
    assert.equal(unknownCarrier.status, 400);
  });

  test('ST01 partial and multi-parcel shipments reach SHIPPED; over-shipping rejected; ST11 lists them', async () => {
    const o = await createOrder('asos', [
      { offerSku: sku(7), quantity: 2 },
      { offerSku: sku(8), quantity: 1 },
    ]);
    const [l1, l2] = o.order_lines.map((l) => l.order_line_id) as [string, string];
    await asos.acceptOrder(o.order_id, [
      { id: l1, accepted: true },
      { id: l2, accepted: true },
    ]);
    const first = await asos.createShipments([
      {
        order_id: o.order_id,
        shipped: true,
        shipment_lines: [{ order_line_id: l1, quantity: 1, package_reference: 'DESP-1' }],
        tracking: { carrier_code: 'RM', tracking_number: 'RM1' },
      },
    ]);
    assert.equal(first.errors.length, 0);
    assert.equal(first.success.length, 1);
    let [w] = await asos.getOrders([o.order_id]);
    assert.equal(w!.order_state, 'SHIPPING');
    assert.equal(w!.order_lines![0]!.order_line_state, 'SHIPPING');

    const over = await asos.createShipments([
      { order_id: o.order_id, shipment_lines: [{ order_line_id: l1, quantity: 2 }] },
    ]);
    assert.equal(over.success.length, 0);
    assert.match(over.errors[0]!.message, /quantity/i);
    const mixed = await rejects(asos.shipOrder(o.order_id));
    assert.equal(mixed.status, 400, 'OR24 must not be mixed with ST01');

    const second = await asos.createShipments([
      {
        order_id: o.order_id,
        // shipped defaults to false (spec): validated below with ST24
        shipment_lines: [
          { order_line_id: l1, quantity: 1, package_reference: 'DESP-2' },
          { order_line_id: l2, quantity: 1, package_reference: 'DESP-2' },
        ],
        tracking: { carrier_name: 'Local Courier', tracking_number: 'LC9', tracking_url: 'https://lc.example/LC9' },
      },
    ]);
    assert.deepEqual(second.errors, []);
    assert.equal(sim.shops.get('asos')!.orders.get(o.order_id)!.state, 'SHIPPING', 'not shipped until ST24');
    const st24 = await asos.shipShipments([String(second.success[0]!.id)]);
    assert.deepEqual(st24.errors, []);
    [w] = await asos.getOrders([o.order_id]);
    assert.equal(w!.order_state, 'SHIPPED');
    assert.ok(w!.order_lines!.every((l) => l.order_line_state === 'SHIPPED'));
    const shipments = await asos.listShipments(o.order_id);
    assert.deepEqual(
      shipments.map((s) => s.packageReferences),
      [['DESP-1'], ['DESP-2']],
    );
    assert.equal(shipments[0]!.trackingNumber, 'RM1');
    const after = await asos.createShipments([
      { order_id: o.order_id, shipment_lines: [{ order_line_id: l2, quantity: 1 }] },
    ]);
    assert.equal(after.errors.length, 1);

    // Multi-shipment disabled on joules.
    const j = await createOrder('joules', [{ offerSku: sku(7), quantity: 1 }]);
    await joules.acceptOrder(j.order_id, [{ id: `${j.order_id}-1`, accepted: true }]);
    const disabled = await rejects(
      joules.createShipments([
        { order_id: j.order_id, shipment_lines: [{ order_line_id: `${j.order_id}-1`, quantity: 1 }] },
      ]),
    );
    assert.equal(disabled.status, 400);
    assert.equal((await joules.platformConfiguration()).multiShipment, false);
    assert.equal((await asos.platformConfiguration()).multiShipment, true);
  });

  test('auto-refusal when the acceptance window passes on the shop clock', async () => {
    const o = await createOrder('asos', [{ offerSku: sku(9), quantity: 1 }]);
    await control('POST', '/asos/clock/advance', { ms: 71 * 3_600_000 });
    assert.equal((await asos.getOrders([o.order_id]))[0]!.order_state, 'WAITING_ACCEPTANCE');
    await control('POST', '/asos/clock/advance', { ms: 2 * 3_600_000 });
    const [w] = await asos.getOrders([o.order_id]);
    assert.equal(w!.order_state, 'REFUSED');
    assert.equal(w!.order_lines![0]!.order_line_state, 'REFUSED');
    const late = await rejects(asos.acceptOrder(o.order_id, [{ id: `${o.order_id}-1`, accepted: true }]));
    assert.equal(late.code, 'ORDER_INVALID_STATE');
  });

  test('OR29 cancel and control cancellation ⇒ CANCELED', async () => {
    const o = await createOrder('asos', [{ offerSku: sku(10), quantity: 1 }]);
    await asos.acceptOrder(o.order_id, [{ id: `${o.order_id}-1`, accepted: true }]);
    await asos.cancelOrder(o.order_id);
    assert.equal((await asos.getOrders([o.order_id]))[0]!.order_state, 'CANCELED');
    const p = await createOrder('asos', [{ offerSku: sku(10), quantity: 1 }]);
    const c = await control<{ order_state: string }>('POST', `/asos/orders/${p.order_id}/cancel`);
    assert.equal(c.order_state, 'CANCELED');
    assert.equal((await rejects(asos.cancelOrder(p.order_id))).status, 400);
  });

  test('OR28 refund, SH21, RE01', async () => {
    const o = await createOrder('asos', [{ offerSku: sku(11), quantity: 2, unitPrice: 10 } as never]);
    await asos.acceptOrder(o.order_id, [{ id: `${o.order_id}-1`, accepted: true }]);
    const refunds = await asos.refund([
      {
        order_line_id: `${o.order_id}-1`,
        amount: 10,
        shipping_amount: 0,
        reason_code: '15',
        quantity: 1,
        excluded_from_shipment: true,
      },
    ]);
    assert.equal(refunds.length, 1);
    const ctl = await control<{ _sandbox: { remainingToShip: Record<string, number> } }>(
      'GET',
      `/asos/orders/${o.order_id}`,
    );
    assert.equal(ctl._sandbox.remainingToShip[`${o.order_id}-1`], 1);
    const tooMuch = await rejects(
      asos.refund([{ order_line_id: `${o.order_id}-1`, amount: 11, shipping_amount: 0, reason_code: '15' }]),
    );
    assert.equal(tooMuch.status, 400);
    assert.deepEqual(
      (await asos.listCarriers()).map((c) => c.code),
      ['DPD', 'RM'],
    );
    const reasons = await asos.listReasons('REFUND');
    assert.ok(reasons.length > 0 && reasons.every((r) => r.type === 'REFUND'));
  });

  test('lostResponse on OR21: the write happens, the client gets a retryable error, the retry sees ORDER_INVALID_STATE', async () => {
    const o = await createOrder('asos', [{ offerSku: sku(12), quantity: 1 }]);
    sb.ctx.faults('mirakl').set([{ endpoint: 'OR21', kind: 'lostResponse', count: 1 }]);
    try {
      const e = await rejects(asos.acceptOrder(o.order_id, [{ id: `${o.order_id}-1`, accepted: true }]));
      assert.equal(e.retryable, true);
      assert.equal(e.status, undefined);
    } finally {
      sb.ctx.faults('mirakl').clear();
    }
    assert.equal(sim.shops.get('asos')!.orders.get(o.order_id)!.state, 'SHIPPING');
    assert.equal(sb.ctx.calls.list({ endpoint: 'OR21' }).at(-1)?.fault, 'lostResponse');
    const retry = await rejects(asos.acceptOrder(o.order_id, [{ id: `${o.order_id}-1`, accepted: true }]));
    assert.equal(retry.code, 'ORDER_INVALID_STATE');
  });

  test('injected 503 on ST11 is retryable and writes nothing', async () => {
    sb.ctx.faults('mirakl').set([{ endpoint: 'ST11', kind: 'error5xx', count: 1 }]);
    const e = await rejects(asos.listShipments('whatever'));
    assert.equal(e.status, 503);
    assert.equal(e.retryable, true);
    sb.ctx.faults('mirakl').clear();
  });

  test('a fault rule scoped to one channel fires only on that channel', async () => {
    sb.ctx.faults('mirakl').set([{ endpoint: 'ST11', tenant: 'joules', kind: 'error5xx', count: 1 }]);
    try {
      await asos.listShipments('whatever'); // asos is untouched and the counted rule is not used up
      assert.equal(sb.ctx.faults('mirakl').list()[0]?.count, 1);
      const e = await rejects(joules.listShipments('whatever'));
      assert.equal(e.status, 503);
      assert.equal(sb.ctx.calls.list({ endpoint: 'ST11', tenant: 'joules' }).at(-1)?.fault, 'error5xx');
      assert.equal(sb.ctx.calls.list({ endpoint: 'ST11', tenant: 'asos' }).at(-1)?.fault, undefined);
    } finally {
      sb.ctx.faults('mirakl').clear();
    }
  });

  test('STO01 CSV import updates quantities, records history; unknown SKU lands in STO03', async () => {
    const id = await asos.importStock([
      { offerSku: sku(13), quantity: 42 },
      { offerSku: 'NOT-AN-OFFER', quantity: 3 },
      { offerSku: sku(14), quantity: 5, warehouseCode: 'WH1' },
    ]);
    const status = await asos.stockImportStatus(id);
    assert.equal(status.status, 'COMPLETE');
    assert.equal(status.has_error_report, true);
    assert.equal(status.lines_in_success, 2);
    const shop = sim.shops.get('asos')!;
    assert.equal(shop.offers.get(sku(13))!.quantity, 42);
    assert.equal(shop.offers.get(sku(14))!.quantity, 5);
    const errors = await asos.stockImportErrors(id);
    assert.deepEqual(
      errors.map((e) => e.offerSku),
      ['NOT-AN-OFFER'],
    );
    assert.match(errors[0]!.message, /does not exist/);
    const hist = await control<{ history: { offerSku: string; quantity: number; source: string }[] }>(
      'GET',
      `/asos/stock-history?offerSku=${sku(13)}`,
    );
    assert.deepEqual(
      hist.history.map((h) => [h.quantity, h.source]),
      [[42, 'STO01']],
    );
    const offers = await asos.listOffers({ sku: sku(13) });
    assert.equal(offers.offers[0]!.quantity, 42);
  });

  test('OF24: an omitted quantity resets the offer to 0', async () => {
    const shop = sim.shops.get('asos')!;
    assert.ok(shop.offers.get(sku(15))!.quantity > 0);
    const importId = await asos.importOffers([
      { shop_sku: sku(15), price: 55, state_code: '11', update_delete: 'update' },
    ]);
    assert.equal((await asos.offerImportStatus(importId)).status, 'COMPLETE');
    assert.equal(shop.offers.get(sku(15))!.quantity, 0);
    assert.equal(shop.stockHistory.at(-1)?.source, 'OF24');
  });

  test('OF52/53/54 async offer export', async () => {
    const tracking = await asos.startOfferExport({ itemsPerChunk: 7, includeInactive: true });
    const status = await asos.offerExportStatus(tracking);
    assert.equal(status.status, 'COMPLETED');
    const rows = (await Promise.all((status.urls ?? []).map((u) => asos.offerExportChunk(u)))).flat();
    assert.equal(rows.length, sim.shops.get('asos')!.offers.size);
  });

  test('demo orders, including every malformed kind, are created and readable', async () => {
    const rnd = seededRandom(3);
    for (const kind of [undefined, ...MALFORMED_KINDS]) {
      const spec = generateDemoOrder('joules', catalogue, rnd, { malformed: kind });
      const w = await control<Record<string, unknown>>('POST', '/joules/orders', spec);
      const [read] = await joules.getOrders([String(w.order_id)]);
      assert.ok(read, `order for ${kind ?? 'normal'} is listed`);
      const mapped = toMarketplaceOrder(read, { code: 'joules', acceptanceWindowHours: 72 });
      assert.equal(mapped.orderId, w.order_id);
      if (kind === 'zero-quantity') assert.equal(mapped.lines[0]!.quantity, 0);
      if (kind === 'totals-off') assert.equal(mapped.totals.total, 1);
      if (kind === 'no-lines') assert.equal(mapped.lines.length, 0);
      if (kind === 'duplicate-line-id') assert.equal(mapped.lines[0]!.lineId, mapped.lines[1]!.lineId);
    }
    const summary = await control<{ orders: number }>('GET', '/joules/state');
    assert.ok(summary.orders > 10);
  });
});

describe('mirakl simulator rate limits', () => {
  let limited: RunningSandbox;
  before(async () => {
    limited = await startSandbox({ log: pino({ level: 'silent' }), port: 0 }, [
      miraklSimulator({ channels: [channel('asos')] }),
    ]);
  });
  after(async () => {
    await limited.close();
  });

  test('OR11 polling: a second call within the minute gets 429 + Retry-After; order_ids look-ups are not limited', async () => {
    const c = new MiraklClient({ baseUrl: `${limited.url}/mirakl/asos`, apiKey: 'asos-key', timeoutMs: 2000 });
    await c.listOrders({ updatedSince: new Date(0) });
    const e = await rejects(c.listOrders({ updatedSince: new Date(0) }));
    assert.equal(e.status, 429);
    assert.equal(e.retryable, true);
    assert.ok(
      e.retryAfterMs !== undefined && e.retryAfterMs > 50_000 && e.retryAfterMs <= 60_000,
      `retryAfterMs ${e.retryAfterMs}`,
    );
    const rec = limited.ctx.calls.list({ endpoint: 'OR11' }).at(-1)!;
    assert.equal(rec.rateLimited, true);
    assert.equal(rec.status, 429);
    await c.getOrders(['X-1']);
    await c.importStock([{ offerSku: sku(0), quantity: 1 }]);
    assert.equal((await rejects(c.importStock([{ offerSku: sku(0), quantity: 2 }]))).status, 429);
  });
});
