// Returns on every route, end to end through the sandbox on a real Temporal server: ASOS → Reveni (seed 003),
// Joules → warehouse receipts (seeds 000, 004). Assertions are on what Mirakl, Reveni and Peoplevox end up
// holding (returns, refunds, stock pushes), and on the return workflows' state for what only they know.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually, maybeRecordHistory, startTestEnv } from '../support/temporal';
import type { Stack } from '../support/stack';
import {
  lastStock,
  miraklReturn,
  openMiraklReturn,
  placeShippedOrder,
  refundsOf,
  reveniAdvance,
  reveniDecide,
  reveniReturnFor,
  reveniStore,
  startReturnsStack,
  waitForReturn,
  type SimReveniReturn,
} from '../support/returns';
import { createOpsService } from '../../src/ops/service';
import { orderWorkflowId, returnWorkflowId } from '../../src/domain/keys';
import { returnKeyOf } from '../../src/domain/returns';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { healthQuery } from '../../workflows/inventory';
import { orderStateQuery } from '../../workflows/order/messages';
import { returnStateQuery } from '../../workflows/returns/messages';
import { SANDBOX_SECRETS } from '../../src/sandbox/secrets';

let env: TestWorkflowEnvironment;
let stack: Stack;
const NO_BUFFERS = { velocityBuffer: { enabled: false }, lastUnits: { oneChannelBelow: 0 } };
before(async () => {
  env = await startTestEnv();
  stack = await startReturnsStack(env, {
    // Twice the usual speed: RT11 every 2.5 s, one STO01 window 0.5 s.
    timeScale: 120,
    channelExtra: { asos: { inventory: NO_BUFFERS }, joules: { inventory: NO_BUFFERS } },
  });
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

const ops = () => createOpsService(env.client);
const pvxAvailable = async (itemCode: string): Promise<number> => {
  const { data } = await stack.control.get('/control/peoplevox/test-client/items');
  return (data as { items: Array<{ itemCode: string; available: number }> }).items.find((i) => i.itemCode === itemCode)!
    .available;
};
const reveniBehaviour = (b: Record<string, unknown>) =>
  stack.control.put(`/control/reveni/${reveniStore(stack)}/behaviour`, b);
const parked = (reason: string) => (s: { exception?: { reason: string } }) => s.exception?.reason === reason;

describe('ASOS → Reveni (seed 003)', () => {
  test('a return goes from request to refund and restock: RT21, Reveni, RT25/RT26, OR28 from the Mirakl order, stock to every channel, RT27', async () => {
    const o = await placeShippedOrder(stack, 'asos', 'R1', [
      { offerSku: 'DRESS-NAVY-M', quantity: 2 },
      { offerSku: 'SCARF-NAVY-S', quantity: 1 },
    ]);
    const line = o.lines[0]!;
    const r = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [{ lineId: line.lineId, quantity: 1, reason: 'RETURN_PDNT_TOO_SMALL' }],
    });
    // Sent to Reveni with the original order, its line's SKU and Reveni's reason.
    const rv = await reveniReturnFor(stack, r.id);
    assert.equal(rv.external_reference, r.id);
    assert.deepEqual(
      rv.return_items.map((i) => [i.sku, i.quantity]),
      [['DRESS-NAVY-M', 1]],
    );
    assert.equal((await miraklReturn(stack, 'asos', r.id)).state, 'IN_PROGRESS');
    // Nothing is refunded before Reveni decides (not instant).
    await reveniAdvance(stack, rv.id, 'shipped', 'received');
    await waitForReturn(
      env,
      r.workflowId,
      (s) => s.marketplaceReturn?.state === 'RECEIVED',
      'RT25 after Reveni received',
    );
    assert.deepEqual((await refundsOf(stack, 'asos', o.orderId))[line.lineId], []);
    const available = await pvxAvailable('DRESS-NAVY-M');
    await reveniDecide(stack, rv.id);
    const s = await waitForReturn(env, r.workflowId, (x) => x.status === 'CLOSED', 'the return closed');
    // Mirakl: received, compliant, closed; one refund of the unit from the Mirakl order (price and tax).
    const mr = await miraklReturn(stack, 'asos', r.id);
    assert.equal(mr.state, 'CLOSED');
    assert.equal(mr.return_lines[0]!.compliance?.[0]?.compliant, true);
    const refunds = (await refundsOf(stack, 'asos', o.orderId))[line.lineId]!;
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0]!.quantity, 1);
    assert.equal(Math.round(refunds[0]!.amount * 100), line.price / 2);
    assert.equal(refunds[0]!.reason_code, '18');
    assert.equal(s.refund?.calculation.totalMinor, line.price / 2);
    assert.match(s.refund!.calculation.basis, /units 1–1 of 2/);
    // Restocked on both channels sharing the stock, ahead of ordinary changes.
    assert.deepEqual(
      s.restocks.map((x) => [x.itemCode, x.units, x.channels.sort().join()]),
      [['DRESS-NAVY-M', 1, 'asos,joules']],
    );
    for (const ch of ['asos', 'joules']) {
      await eventually(
        async () => ((await lastStock(stack, ch, 'DRESS-NAVY-M'))?.quantity === available + 1 ? true : undefined),
        30_000,
        `the restock on ${ch}`,
      );
      const h = await env.client.workflow
        .getHandle(inventoryWorkflowId(ch, stack.config.temporal.idScope))
        .query(healthQuery);
      assert.ok(h.rowsByPriority.return >= 1, `${ch} pushed a return restock with priority`);
    }
    // The order's history shows the return as its child; the order closes once the marketplace closes it.
    // (The return tells its order it settled just after it closes: a signal, so wait for it.)
    const order = await eventually(async () => {
      const st = await env.client.workflow.getHandle(orderWorkflowId('asos', o.orderId)).query(orderStateQuery);
      return st.returns?.some((e) => !e.open) ? st : undefined;
    }, 15_000);
    assert.deepEqual(
      order.returns?.map((e) => [e.workflowId, e.open, e.status]),
      [[r.workflowId, false, 'CLOSED']],
    );
    await maybeRecordHistory(env.client.workflow.getHandle(r.workflowId), 'return-reveni-not-instant-restock-first');
    await stack.control.post(`/control/mirakl/asos/orders/${o.orderId}/close`);
    const handle = env.client.workflow.getHandle(orderWorkflowId('asos', o.orderId));
    await handle.result();
    const history = await handle.fetchHistory();
    assert.ok(
      history.events?.some(
        (e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId === r.workflowId,
      ),
      'the order history shows the return',
    );
    await maybeRecordHistory(handle, 'order-with-return-reveni');
  });

  test('instant: Reveni pays at once, so the marketplace refund goes before the goods come back; restock only once accepted', async () => {
    await reveniBehaviour({ defaultMode: 'instant' });
    try {
      const o = await placeShippedOrder(stack, 'asos', 'R2', [{ offerSku: 'JEANS-BLACK-L', quantity: 1 }]);
      const r = await openMiraklReturn(stack, 'asos', {
        orderId: o.orderId,
        lines: [{ lineId: o.lines[0]!.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
      });
      const rv = await reveniReturnFor(stack, r.id);
      assert.equal(rv.mode, 'instant');
      const refunded = await waitForReturn(env, r.workflowId, (s) => s.refund !== undefined, 'the instant refund');
      assert.equal(refunded.status, 'REFUNDED');
      assert.equal(refunded.restocks.length, 0, 'not restocked before the goods are accepted');
      assert.equal((await refundsOf(stack, 'asos', o.orderId))[o.lines[0]!.lineId]!.length, 1);
      await reveniAdvance(stack, rv.id, 'received');
      await reveniDecide(stack, rv.id);
      const s = await waitForReturn(env, r.workflowId, (x) => x.status === 'CLOSED', 'closed');
      assert.equal(s.restocks.length, 1);
      assert.equal((await refundsOf(stack, 'asos', o.orderId))[o.lines[0]!.lineId]!.length, 1, 'refunded once');
      await maybeRecordHistory(env.client.workflow.getHandle(r.workflowId), 'return-reveni-instant-restock-first');
    } finally {
      await reveniBehaviour({ defaultMode: 'not_instant' });
    }
  });

  test('a partial return over two separate returns of one order refunds each unit once and the line exactly', async () => {
    const o = await placeShippedOrder(stack, 'asos', 'R3', [
      { offerSku: 'COAT-GREEN-S', quantity: 3, unitPrice: 33.33 },
      { offerSku: 'TEE-RED-M', quantity: 1 },
    ]);
    const [coat, tee] = o.lines as [(typeof o.lines)[0], (typeof o.lines)[0]];
    const first = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [{ lineId: coat.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
    });
    const second = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [
        { lineId: coat.lineId, quantity: 2, reason: 'RETURN_CHANGED_MIND' },
        { lineId: tee.lineId, quantity: 1, reason: 'RETURN_DPD_WRONG_SIZE' },
      ],
    });
    const [a, b] = await Promise.all([reveniReturnFor(stack, first.id), reveniReturnFor(stack, second.id)]);
    // Decided together: the order sends the refunds one at a time.
    await Promise.all([reveniDecide(stack, a.id), reveniDecide(stack, b.id)]);
    await waitForReturn(env, first.workflowId, (x) => x.status === 'CLOSED', 'first closed');
    await waitForReturn(env, second.workflowId, (x) => x.status === 'CLOSED', 'second closed');
    const refunds = await refundsOf(stack, 'asos', o.orderId);
    const coatRefunds = refunds[coat.lineId]!;
    assert.deepEqual(coatRefunds.map((x) => x.quantity).sort(), [1, 2]);
    // 99.99 over three units: 33.33 then 66.66, exactly the line.
    assert.equal(Math.round(coatRefunds.reduce((sum, x) => sum + x.amount, 0) * 100), coat.price);
    assert.equal(refunds[tee.lineId]!.length, 1);
    // A third return for the same units is refused: nothing is left to return.
    const third = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [{ lineId: coat.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
      unchecked: true,
    });
    await waitForReturn(env, third.workflowId, parked('RETURN_QUANTITY_EXCEEDS_SHIPPED'), 'the third return parked');
  });

  test('an unmapped reason halts the return (nothing sent, refunded or restocked) until the mapping is added and it is retried', async () => {
    const o = await placeShippedOrder(stack, 'asos', 'R4', [{ offerSku: 'SHIRT-CREAM-M', quantity: 1 }]);
    const r = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [{ lineId: o.lines[0]!.lineId, quantity: 1, reason: 'RETURN_WARRANTY' }],
    });
    const s = await waitForReturn(env, r.workflowId, parked('RETURN_REASON_UNMAPPED'), 'parked on the reason');
    assert.equal(s.exception!.owner, 'customer-service');
    assert.match(s.exception!.message, /RETURN_WARRANTY/);
    const { data } = await stack.control.get(`/control/reveni/${reveniStore(stack)}/returns`);
    assert.ok(!(data as { returns: SimReveniReturn[] }).returns.some((x) => x.external_reference === r.id));
    assert.equal((await miraklReturn(stack, 'asos', r.id)).state, 'WAITING_ACCEPTANCE');
    // A retry without the mapping parks again; with it (config changed, workers restarted), it goes on.
    const again = await ops().act(r.workflowId, 'retry');
    assert.equal(again.exception, 'RETURN_REASON_UNMAPPED');
    stack.config.returns.reasons.push({ marketplace: 'RETURN_WARRANTY', reveni: 'warranty', disposition: 'inspect' });
    try {
      const done = await ops().act(r.workflowId, 'retry');
      assert.equal(done.ok, true);
      const rv = await reveniReturnFor(stack, r.id);
      await reveniDecide(stack, rv.id);
      const end = await waitForReturn(env, r.workflowId, (x) => x.status === 'CLOSED', 'closed after the retry');
      assert.ok(end.refund);
      assert.equal(end.restocks.length, 0, 'inspect: never back on sale');
      assert.deepEqual([...new Set(end.pastExceptions.map((e) => e.reason))], ['RETURN_REASON_UNMAPPED']);
    } finally {
      stack.config.returns.reasons.pop();
    }
  });

  test("Reveni's own refund figure differs: the customer gets the marketplace figure and finance a REFUND_AMOUNT_DISPUTED with both", async () => {
    await reveniBehaviour({ returnFeeMinor: 250 });
    try {
      const o = await placeShippedOrder(stack, 'asos', 'R5', [{ offerSku: 'HOODIE-BLACK-L', quantity: 1 }]);
      const r = await openMiraklReturn(stack, 'asos', {
        orderId: o.orderId,
        lines: [{ lineId: o.lines[0]!.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
      });
      const rv = await reveniReturnFor(stack, r.id);
      await reveniDecide(stack, rv.id);
      const s = await waitForReturn(env, r.workflowId, parked('REFUND_AMOUNT_DISPUTED'), 'the dispute');
      assert.equal(s.exception!.owner, 'finance');
      assert.deepEqual(s.dispute, {
        platform: 'Reveni',
        theirsMinor: o.lines[0]!.price - 250,
        oursMinor: o.lines[0]!.price,
        differenceMinor: -250,
        currency: 'GBP',
      });
      const refunds = (await refundsOf(stack, 'asos', o.orderId))[o.lines[0]!.lineId]!;
      assert.equal(Math.round(refunds[0]!.amount * 100), o.lines[0]!.price, 'the marketplace figure');
      assert.equal((await miraklReturn(stack, 'asos', r.id)).state, 'CLOSED');
      const resolved = await ops().act(r.workflowId, 'resolve', 'fee agreed with Reveni');
      assert.equal(resolved.ok, true);
      await env.client.workflow.getHandle(r.workflowId).result();
    } finally {
      await reveniBehaviour({ returnFeeMinor: 0 });
    }
  });

  test('a lost OR28 response: the refund is found on the retry by quantity and amount, and made once', async () => {
    const o = await placeShippedOrder(stack, 'asos', 'R6', [{ offerSku: 'SKIRT-RED-S', quantity: 2 }]);
    const r = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [{ lineId: o.lines[0]!.lineId, quantity: 2, reason: 'RETURN_CHANGED_MIND' }],
    });
    const rv = await reveniReturnFor(stack, r.id);
    await stack.control.put('/control/faults/mirakl', {
      rules: [{ endpoint: 'OR28', tenant: 'asos', kind: 'lostResponse', count: 1 }],
    });
    try {
      await reveniDecide(stack, rv.id);
      const s = await waitForReturn(env, r.workflowId, (x) => x.status === 'CLOSED', 'closed');
      assert.deepEqual(s.refund!.found, [o.lines[0]!.lineId]);
      const refunds = (await refundsOf(stack, 'asos', o.orderId))[o.lines[0]!.lineId]!;
      assert.equal(refunds.length, 1);
      assert.equal(refunds[0]!.id, s.refund!.refundIds[o.lines[0]!.lineId]);
      const { data } = await stack.control.get('/control/faults/mirakl');
      assert.equal((data as { fired: Record<string, number> }).fired.lostResponse, 1);
    } finally {
      await stack.control.delete('/control/faults/mirakl');
    }
  });

  test('a refund already made in the marketplace back office is read back and recorded, never repeated', async () => {
    const o = await placeShippedOrder(stack, 'asos', 'R7', [{ offerSku: 'WELLY-GREEN-M', quantity: 1 }]);
    const line = o.lines[0]!;
    const r = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [{ lineId: line.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
    });
    const rv = await reveniReturnFor(stack, r.id);
    // Customer service refunded the unit by hand in Mirakl, with the same quantity and amount.
    await stack.runtime
      .mirakl('asos')
      .refund([
        { order_line_id: line.lineId, amount: line.price / 100, shipping_amount: 0, quantity: 1, reason_code: '16' },
      ]);
    await reveniDecide(stack, rv.id);
    const s = await waitForReturn(env, r.workflowId, (x) => x.status === 'CLOSED', 'closed');
    assert.deepEqual(s.refund!.found, [line.lineId]);
    assert.equal((await refundsOf(stack, 'asos', o.orderId))[line.lineId]!.length, 1);
  });

  test('a damaged item (reason with an inspect disposition) is refunded and never restocked', async () => {
    const o = await placeShippedOrder(stack, 'asos', 'R8', [{ offerSku: 'JUMPER-CREAM-S', quantity: 1 }]);
    const r = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [{ lineId: o.lines[0]!.lineId, quantity: 1, reason: 'RETURN_BROKEN_ITEM' }],
    });
    const rv = await reveniReturnFor(stack, r.id);
    await reveniDecide(stack, rv.id, [{ sku: 'JUMPER-CREAM-S', accepted: true, restock: true }]);
    const s = await waitForReturn(env, r.workflowId, (x) => x.status === 'CLOSED', 'closed');
    assert.ok(s.refund);
    assert.equal(s.refund.calculation.lines[0]!.refundReason, '17', "the reason row's refund reason");
    assert.equal(s.restocks.length, 0);
  });

  test('a return for an order Loopline never saw parks for ops; nothing is refunded', async () => {
    const { data } = await stack.control.post(`/control/reveni/${reveniStore(stack)}/returns`, {
      orderExternalId: `${stack.idPrefix}-NEVER-SEEN-A`,
      items: [{ sku: 'TEE-RED-M', quantity: 1, reason: 'changed_mind' }],
    });
    const workflowId = returnWorkflowId('asos', returnKeyOf('reveni', (data as { id: string }).id));
    const s = await waitForReturn(env, workflowId, parked('RETURN_ORDER_UNKNOWN'), 'parked: order unknown');
    assert.equal(s.exception!.owner, 'ops');
    assert.equal(s.refund, undefined);
    const r = await ops().act(workflowId, 'resolve', 'refunded by hand in the back office');
    assert.equal(r.status, 'RESOLVED');
  });

  test('duplicate and out-of-order webhooks: one refund, and a late update never takes the return back', async () => {
    await reveniBehaviour({ duplicateProbability: 1, reorderMaxDelayMs: 1500 });
    try {
      const o = await placeShippedOrder(stack, 'asos', 'R9', [{ offerSku: 'TEE-GREEN-S', quantity: 1 }]);
      const r = await openMiraklReturn(stack, 'asos', {
        orderId: o.orderId,
        lines: [{ lineId: o.lines[0]!.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
      });
      const rv = await reveniReturnFor(stack, r.id);
      await reveniAdvance(stack, rv.id, 'shipped', 'received', 'for_review');
      await reveniDecide(stack, rv.id);
      const s = await waitForReturn(env, r.workflowId, (x) => x.status === 'CLOSED', 'closed');
      assert.equal(s.reveni?.status, 'accepted');
      await eventually(async () => {
        const { data } = await stack.control.get(`/control/reveni/${reveniStore(stack)}/deliveries`);
        return (data as { pending: number }).pending === 0 ? true : undefined;
      }, 30_000);
      const { data } = await stack.control.get(`/control/reveni/${reveniStore(stack)}/deliveries`);
      const mine = (data as { deliveries: Array<{ duplicate?: boolean; status: number }> }).deliveries;
      assert.ok(
        mine.some((d) => d.duplicate),
        'Reveni delivered duplicates',
      );
      assert.equal((await refundsOf(stack, 'asos', o.orderId))[o.lines[0]!.lineId]!.length, 1);
      // The same event again, and an out-of-date one: acknowledged, changing nothing.
      const post = (body: unknown) =>
        stack.http.inject({
          method: 'POST',
          url: `/webhooks/reveni/${SANDBOX_SECRETS.LOOPLINE_WEBHOOK_SECRET}/asos`,
          payload: body as object,
        });
      const event = {
        id: `evt-late-${stack.idPrefix}`,
        event: 'return.updated',
        created: Math.floor(Date.now() / 1000) - 60,
        data: { resource_id: rv.id, status: 'in_progress' },
      };
      assert.equal((await post(event)).statusCode, 200);
      assert.equal((await post(event)).statusCode, 200);
      const after = await env.client.workflow.getHandle(r.workflowId).query(returnStateQuery);
      assert.equal(after.status, 'CLOSED', "the event's claim changes nothing: Reveni's read-back is used");
      assert.equal((await post({ nope: true })).statusCode, 400, 'a body that is not a Reveni event is refused');
    } finally {
      await reveniBehaviour({ duplicateProbability: 0, reorderMaxDelayMs: 0 });
    }
  });

  test('a return after the return window parks for customer service; cancelling refuses it on Mirakl (window closed)', async () => {
    const o = await placeShippedOrder(stack, 'asos', 'R10', [{ offerSku: 'DRESS-RED-L', quantity: 1 }]);
    // The marketplace closes the order: its return window is over, and Loopline's order workflow ends.
    await stack.control.post(`/control/mirakl/asos/orders/${o.orderId}/close`);
    await env.client.workflow.getHandle(orderWorkflowId('asos', o.orderId)).result();
    const r = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [{ lineId: o.lines[0]!.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
    });
    const s = await waitForReturn(env, r.workflowId, parked('RETURN_AFTER_WINDOW'), 'parked after the window');
    assert.equal(s.exception!.owner, 'customer-service');
    const done = await ops().act(r.workflowId, 'cancel', 'outside the 30 days');
    assert.equal(done.ok, true);
    assert.equal((await env.client.workflow.getHandle(r.workflowId).result()).status, 'REFUSED');
    const mr = (await stack.control.get(`/control/mirakl/asos/returns/${r.id}`)).data as {
      state: string;
      rejection_reason_code?: string;
    };
    assert.deepEqual([mr.state, mr.rejection_reason_code], ['REFUSED', 'RETURN_REJECTION_WINDOW_CLOSED']);
    assert.deepEqual((await refundsOf(stack, 'asos', o.orderId))[o.lines[0]!.lineId], []);
  });
});
