// The returns simulators through the real connectors: Mirakl's return state machine and its limits, Reveni's
// API, webhooks and its own refund figure, Peoplevox's returns booked in (Return summary, Returns event,
// availability). No Temporal here: the simulators and clients alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { miraklSimulator } from '../../src/sandbox/mirakl';
import { peoplevoxSimulator } from '../../src/sandbox/peoplevox';
import { reveniSimulator } from '../../src/sandbox/reveni';
import { MiraklClient } from '../../src/connectors/mirakl/client';
import { PeoplevoxClient } from '../../src/connectors/peoplevox/client';
import { ReveniClient } from '../../src/connectors/reveni/client';
import { toReveniSnapshot } from '../../src/connectors/reveni/map';
import type { ConnectorError } from '../../src/connectors/errors';
import { miraklTestChannel } from '../support/mirakl-channel';

const catalogue = sandboxCatalogue({ size: 20, stock: 10 });
const [A, B] = catalogue.map((c) => c.sku) as [string, string];
let sb: RunningSandbox;
let receiver: FastifyInstance;
let receiverUrl: string;
const hooks: Array<{ path: string; body: Record<string, unknown> }> = [];
let failNext = 0;

before(async () => {
  receiver = Fastify();
  receiver.all('/*', async (req, reply) => {
    hooks.push({ path: req.url, body: (req.body ?? {}) as Record<string, unknown> });
    if (failNext > 0) {
      failNext--;
      return reply.code(500).send({});
    }
    return { ok: true };
  });
  receiverUrl = await receiver.listen({ host: '127.0.0.1', port: 0 });
  sb = await startSandbox({ log: pino({ level: 'silent' }), port: 0, timeScale: 60 }, [
    miraklSimulator({
      channels: [miraklTestChannel(catalogue, { carriers: [{ code: 'DPD', label: 'DPD' }] })],
    }),
    reveniSimulator({ apiKey: 'rk', stores: [{ storeId: 'store-1', currency: 'GBP' }], catalogue }),
    peoplevoxSimulator({ clientId: 'pvx1', username: 'u', password: 'p', catalogue }),
  ]);
});
after(async () => {
  await sb?.close();
  await receiver?.close();
});

const post = async (path: string, body: unknown = {}) => {
  const res = await fetch(`${sb.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, data: (await res.json()) as Record<string, unknown> };
};
const eventually = async <T>(fn: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** An ASOS order accepted and shipped whole (ST01), ready to be returned. */
async function shippedOrder(id: string, qty = 2) {
  const mirakl = new MiraklClient({ baseUrl: `${sb.url}/mirakl/asos`, apiKey: 'k', timeoutMs: 5000 });
  await post('/control/mirakl/asos/orders', { orderId: id, lines: [{ offerSku: A, quantity: qty }] });
  await mirakl.acceptOrder(id, [{ id: `${id}-1`, accepted: true }]);
  await mirakl.createShipments([
    { order_id: id, shipped: true, shipment_lines: [{ order_line_id: `${id}-1`, quantity: qty }] },
  ]);
  return mirakl;
}

describe('Mirakl returns', () => {
  test('the state machine: accept, receive, compliance, close; a wrong-state write is a return_errors entry', async () => {
    const mirakl = await shippedOrder('M-1-A');
    const { data } = await post('/control/mirakl/asos/returns', {
      orderId: 'M-1-A',
      lines: [{ lineId: 'M-1-A-1', quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
    });
    const id = data.id as string;
    assert.equal(data.state, 'WAITING_ACCEPTANCE');
    assert.deepEqual((await mirakl.receiveReturns([id])).errors.length, 1, 'not received before it is accepted');
    assert.deepEqual((await mirakl.acceptReturns([{ id, accepted: true }])).success, [id]);
    assert.equal((await mirakl.receiveReturns([id])).errors.length, 0);
    const bad = await mirakl.returnCompliance([{ id, return_lines: [{ order_line_id: 'M-1-A-1', compliant: false }] }]);
    assert.match(bad.errors[0]!.message, /non_compliance_reason_code/);
    await mirakl.returnCompliance([
      {
        id,
        return_lines: [
          {
            order_line_id: 'M-1-A-1',
            compliant: false,
            non_compliance_reason_code: 'RETURN_NON_COMPLIANT_DAMAGED_PRODUCT',
          },
        ],
      },
    ]);
    assert.equal((await mirakl.closeReturns([id])).errors.length, 0);
    const r = await mirakl.getReturn(id);
    assert.equal(r?.state, 'CLOSED');
    assert.equal(
      r?.return_lines?.[0]?.compliance?.[0]?.non_compliance_reason_code,
      'RETURN_NON_COMPLIANT_DAMAGED_PRODUCT',
    );
    assert.equal((await mirakl.cancelReturns([id])).errors.length, 1, 'a closed return cannot be cancelled');
  });

  test('refusing needs a rejection reason from the enum; RT12 shows what can still be returned', async () => {
    const mirakl = await shippedOrder('M-2-A', 3);
    const { data } = await post('/control/mirakl/asos/returns', {
      orderId: 'M-2-A',
      lines: [{ lineId: 'M-2-A-1', quantity: 2, reason: 'RETURN_OTHER' }],
    });
    assert.deepEqual(await mirakl.itemsToReturn('M-2'), [{ lineId: 'M-2-A-1', returnable: 1, windowDays: 30 }]);
    assert.equal((await mirakl.acceptReturns([{ id: data.id as string, accepted: false }])).errors.length, 1);
    await mirakl.acceptReturns([
      { id: data.id as string, accepted: false, rejection_reason_code: 'RETURN_REJECTION_WINDOW_CLOSED' },
    ]);
    assert.deepEqual(await mirakl.itemsToReturn('M-2'), [{ lineId: 'M-2-A-1', returnable: 3, windowDays: 30 }]);
    // A customer cannot return more than shipped (the control API checks like a real platform).
    const over = await post('/control/mirakl/asos/returns', {
      orderId: 'M-2-A',
      lines: [{ lineId: 'M-2-A-1', quantity: 4 }],
    });
    assert.equal(over.status, 400);
  });

  test('RT11 polls are limited to once every 5 minutes (scaled); a read by return id is not a poll', async () => {
    const mirakl = new MiraklClient({ baseUrl: `${sb.url}/mirakl/asos`, apiKey: 'k', timeoutMs: 5000 });
    await mirakl.listReturns({ since: new Date(0) });
    await assert.rejects(
      mirakl.listReturns({ since: new Date(0) }),
      (e: ConnectorError) => e.status === 429 && e.retryable,
    );
    await mirakl.getReturn('no-such-return');
  });
});

describe('Reveni', () => {
  const api = (key = 'rk') =>
    new ReveniClient({ baseUrl: `${sb.url}/reveni`, apiKey: key, storeId: 'store-1', timeoutMs: 5000 });

  test('bearer key, returns/{id}, its own refund figure (catalogue price, no promotion, less its fee), webhooks', async () => {
    await assert.rejects(api('wrong').getReturn('x'), (e: ConnectorError) => e.status === 401 && !e.retryable);
    assert.equal(await api().getReturn('nope'), undefined);
    await api().subscribe(`${receiverUrl}/reveni`, ['return.created', 'return.updated']);
    // Loopline sends the promoted price (5.00); Reveni refunds its catalogue price, less a 1.00 fee.
    await fetch(`${sb.url}/control/reveni/store-1/behaviour`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ returnFeeMinor: 100 }),
    });
    const r = await api().createReturn({
      order: { external_id: 'O-9-A', currency: 'GBP' },
      external_reference: 'mirakl-return-1',
      type: 'refund',
      items: [{ sku: A, quantity: 2, return_reason: 'changed_mind', price: 5 }],
    });
    const listed = catalogue[0]!.priceMinor;
    assert.equal(toReveniSnapshot(r, 'GBP').refundMinor, listed * 2 - 100);
    assert.deepEqual(
      (await api().findByReference('mirakl-return-1')).map((x) => x.id),
      [r.id],
    );
    const created = await eventually(() => hooks.find((h) => h.body.event === 'return.created'));
    assert.deepEqual(Object.keys(created.body).sort(), ['created', 'data', 'event', 'id']);
    assert.deepEqual(created.body.data, { resource_id: r.id, status: 'in_progress' });
    // The merchant's decision per item: rejected with a reason, nothing refunded, not restocked.
    const decided = await api().partialValidate(r.id, [
      { item_id: r.return_items![0]!.id!, quantity: 2, status: 'rejected', reject_reason: 'defect' },
    ]);
    const snap = toReveniSnapshot(decided, 'GBP');
    assert.equal(snap.status, 'rejected');
    assert.deepEqual(
      snap.items.map((i) => [i.status, i.restock]),
      [['rejected', false]],
    );
    await fetch(`${sb.url}/control/reveni/store-1/behaviour`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ returnFeeMinor: 0 }),
    });
  });

  test('instant returns are paid at creation; a failed delivery is sent again (at least once)', async () => {
    failNext = 1;
    const before = hooks.length;
    const { data } = await post('/control/reveni/store-1/returns', {
      orderExternalId: 'O-10-A',
      mode: 'instant',
      items: [{ sku: B, quantity: 1, reason: 'changed_mind' }],
    });
    assert.equal((data.refund as { status: string }).status, 'paid');
    const ids = await eventually(() => {
      const mine = hooks
        .slice(before)
        .filter((h) => (h.body.data as { resource_id?: string })?.resource_id === data.id);
      return mine.length >= 2 ? mine.map((h) => h.body.id) : undefined;
    }, 10_000);
    assert.equal(ids[0], ids[1], 'the same event redelivered after a 500');
  });
});

describe('Peoplevox returns', () => {
  test('a return booked in: Return summary rows (barcode, condition), the Returns event, stock only for resaleable goods', async () => {
    const pvx = new PeoplevoxClient({
      baseUrl: `${sb.url}/peoplevox`,
      clientId: 'pvx1',
      username: 'u',
      password: 'p',
      timeoutMs: 5000,
      requestsPerSecond: 50,
    });
    await pvx.subscribeEvent('Returns', `${receiverUrl}/pvx-returns?code={ReturnCode}&order={SalesOrderNumber}`);
    await post('/control/peoplevox/pvx1/orders', {
      salesOrderNumber: 'SO-1',
      items: [
        { itemCode: A, quantity: 2 },
        { itemCode: B, quantity: 1 },
      ],
    });
    await post('/control/peoplevox/pvx1/orders/SO-1/despatch', {});
    const stock = async (code: string) =>
      (
        (await (await fetch(`${sb.url}/control/peoplevox/pvx1/items`)).json()) as {
          items: Array<{ itemCode: string; available: number }>;
        }
      ).items.find((i) => i.itemCode === code)!.available;
    const [a0, b0] = [await stock(A), await stock(B)];
    const booked = await post('/control/peoplevox/pvx1/returns', {
      salesOrderNumber: 'SO-1',
      items: [
        { itemCode: A, quantity: 2, condition: 'NEW', reason: 'Changed mind' },
        { itemCode: B, quantity: 1, condition: 'DAMAGED', reason: 'Damaged' },
      ],
    });
    assert.equal(booked.status, 201);
    assert.equal(await stock(A), a0 + 2);
    assert.equal(await stock(B), b0, 'damaged goods do not go back into available stock');
    const event = await eventually(() => hooks.find((h) => h.path.startsWith('/pvx-returns')));
    assert.match(event.path, new RegExp(`code=${booked.data.returnCode as string}&order=SO-1`));
    const receipts = await pvx.listReturnReceipts({ sinceIso: new Date(Date.now() - 3600_000).toISOString() });
    const mine = receipts.find((r) => r.returnCode === booked.data.returnCode)!;
    const barcodes = await pvx.itemCodesByBarcode();
    assert.deepEqual(
      mine.items.map((i) => [barcodes.get(i.barcode), i.quantity, i.condition, i.reason]),
      [
        [A, 2, 'NEW', 'Changed mind'],
        [B, 1, 'DAMAGED', 'Damaged'],
      ],
    );
    // More than was despatched is refused (unless the control API is told to book it unchecked).
    assert.equal(
      (
        await post('/control/peoplevox/pvx1/returns', {
          salesOrderNumber: 'SO-1',
          items: [{ itemCode: A, quantity: 1 }],
        })
      ).status,
      400,
    );
  });
});
