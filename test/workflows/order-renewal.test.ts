// Continue-as-new and deadlines on a real dev server of its own that suggests continue-as-new after 80 history
// events (the default is thousands), so an order renews itself within a test: an in-flight refund finishes
// first and is never made twice; deadline alerts are re-armed in the new run; SHIPPING_DEADLINE_PASSED is
// raised at the deadline, at once for an order that arrives late, and follows a deadline the marketplace moves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { eventually, startLocalTemporal } from '../support/temporal';
import {
  despatchNotifiedSignal,
  orderStateQuery,
  orderUpdatedSignal,
  orderWorkflow,
  refundNotifiedSignal,
} from '../../workflows/order';
import { order, recorder, withOrderWorker } from './support';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startLocalTemporal({
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=80'],
  });
});
after(async () => {
  await env?.teardown();
});

const despatch = (o: ReturnType<typeof order>) => ({
  despatchNumber: 'D1',
  despatch: {
    despatchNumber: 'D1',
    salesOrderNumber: `ASOS-${o.orderId}`,
    carrier: 'DPD',
    trackingNumber: 'T1',
    items: [
      { itemCode: 'TEE-RED-M', quantity: 2 },
      { itemCode: 'SCARF-NAVY-S', quantity: 1 },
    ],
  },
});

/** Signals that change nothing but add history, until the server suggests continue-as-new. */
async function growHistory(h: WorkflowHandle, o: ReturnType<typeof order>, n: number) {
  for (let i = 0; i < n; i++) await h.signal(orderUpdatedSignal, o);
}

describe('continue-as-new (order renewal)', () => {
  test('a refund in flight when the order renews finishes first, and is never made twice', async () => {
    const rec = recorder();
    rec.refundDelayMs = 2_000;
    await withOrderWorker(env, rec, { returnWindowDays: 30 }, async (queue) => {
      const o = order({ state: 'SHIPPING' });
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(async () => ((await h.query(orderStateQuery)).status === 'IN_WAREHOUSE' ? true : undefined));
      await h.signal(despatchNotifiedSignal, despatch(o));
      await eventually(async () => ((await h.query(orderStateQuery)).status === 'SHIPPED' ? true : undefined));
      const firstRun = (await h.describe()).runId;
      // A refund starts (2 s on the marketplace), and the history passes the renewal threshold meanwhile.
      const refund = { refundId: 'R-1', lines: [{ sku: 'TEE-RED-M', quantity: 1 }] };
      await h.signal(refundNotifiedSignal, refund);
      await growHistory(h, o, 40);
      const renewed = await eventually(
        async () => {
          const d = await env.client.workflow.getHandle(h.workflowId).describe();
          return d.runId !== firstRun ? d : undefined;
        },
        20_000,
        'continue-as-new',
      );
      assert.equal(renewed.status.name, 'RUNNING');
      // The first run waited for the refund: its history holds the refund activity completed, then the renewal.
      const events = (await env.client.workflow.getHandle(h.workflowId, firstRun).fetchHistory()).events ?? [];
      const refundAt = events.findIndex(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'refundFromShopify',
      );
      const refundId = events[refundAt]?.eventId;
      const doneAt = events.findIndex(
        (e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') === String(refundId),
      );
      assert.ok(refundAt >= 0 && doneAt > refundAt, 'the refund ran to completion in the first run');
      assert.ok(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes, 'then the run continued as new');
      const signalsAfterRefund = events
        .slice(refundAt, doneAt)
        .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'orderUpdated').length;
      assert.ok(signalsAfterRefund > 0, 'the history grew while the refund was in flight');
      const next = env.client.workflow.getHandle(h.workflowId);
      const st = await next.query(orderStateQuery);
      assert.deepEqual(
        st.refunds?.map((r) => [r.refundId, r.outcome]),
        [['R-1', 'refunded']],
        'the refund finished before the renewal and travelled with the state',
      );
      // The same refund notified again (a webhook redelivery) to the new run: nothing is refunded twice.
      await next.signal(refundNotifiedSignal, refund);
      await new Promise((r) => setTimeout(r, 1_000));
      assert.deepEqual(rec.refunds, ['R-1']);
      assert.equal((await next.query(orderStateQuery)).refunds?.length, 1);
      await next.terminate('test done');
    });
  });

  test('shipping deadline alerts are armed again in the renewed run, and SHIPPING_DEADLINE_PASSED comes at the deadline', async () => {
    const rec = recorder();
    await withOrderWorker(env, rec, { alertAtFractions: [0.8] }, async (queue) => {
      const now = Date.now();
      const o = order({
        state: 'SHIPPING',
        createdAt: new Date(now).toISOString(),
        shippingDeadline: new Date(now + 8_000).toISOString(),
      });
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(async () => ((await h.query(orderStateQuery)).status === 'IN_WAREHOUSE' ? true : undefined));
      const firstRun = (await h.describe()).runId;
      await growHistory(h, o, 40);
      await eventually(
        async () =>
          (await env.client.workflow.getHandle(h.workflowId).describe()).runId !== firstRun ? true : undefined,
        10_000,
        'continue-as-new',
      );
      const passed = await eventually(
        () => rec.alertInputs?.find((a) => a.reason === 'SHIPPING_DEADLINE_PASSED'),
        15_000,
        'SHIPPING_DEADLINE_PASSED from the renewed run',
      );
      assert.match(passed.message, new RegExp(`Order ${o.orderId} missed its shipping deadline`));
      assert.match(passed.message, /lines L1 \(2 left\), L2 \(1 left\) have not shipped/);
      const st = await env.client.workflow.getHandle(h.workflowId).query(orderStateQuery);
      assert.ok(st.deadlinesPassed?.includes(`shipping:${o.shippingDeadline}`));
      await env.client.workflow.getHandle(h.workflowId).terminate('test done');
    });
  });
});

describe('deadlines at the deadline', () => {
  test('an order that arrives after its shipping deadline raises SHIPPING_DEADLINE_PASSED at once', async () => {
    const rec = recorder();
    await withOrderWorker(env, rec, {}, async (queue) => {
      const now = Date.now();
      const o = order({
        state: 'SHIPPING',
        createdAt: new Date(now - 5 * 86_400_000).toISOString(),
        shippingDeadline: new Date(now - 3_600_000).toISOString(),
      });
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      const a = await eventually(
        () => rec.alertInputs?.find((x) => x.reason === 'SHIPPING_DEADLINE_PASSED'),
        10_000,
        'at once',
      );
      assert.equal(a.kind, 'deadline');
      assert.equal(
        rec.alertInputs?.filter((x) => x.kind === 'deadline').length,
        1,
        'no fraction alerts for a window long gone',
      );
      await h.terminate('test done');
    });
  });

  test('a deadline the marketplace moves: the alerts follow the new deadline, not the old one', async () => {
    const rec = recorder();
    await withOrderWorker(env, rec, { alertAtFractions: [] }, async (queue) => {
      const now = Date.now();
      const o = order({
        state: 'SHIPPING',
        createdAt: new Date(now).toISOString(),
        shippingDeadline: new Date(now + 3_000).toISOString(),
      });
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(async () => ((await h.query(orderStateQuery)).status === 'IN_WAREHOUSE' ? true : undefined));
      const moved = new Date(Date.now() + 4_000).toISOString();
      await h.signal(orderUpdatedSignal, { ...o, updatedAt: new Date().toISOString(), shippingDeadline: moved });
      const a = await eventually(
        () => rec.alertInputs?.find((x) => x.reason === 'SHIPPING_DEADLINE_PASSED'),
        10_000,
        'the moved deadline',
      );
      assert.match(a.message, new RegExp(`deadline ${moved}`));
      assert.equal(
        rec.alertInputs?.filter((x) => x.reason === 'SHIPPING_DEADLINE_PASSED').length,
        1,
        'none for the old deadline',
      );
      await h.terminate('test done');
    });
  });
});
