// The scheduled despatch sweep (a Temporal Schedule) through the sandbox: it catches despatches whose
// callback never arrived (the order workflow's own backstop is set far away here, so only the sweep can
// deliver them), and turns despatches no workflow owns into exceptions with an owner, once each.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import type { SweepResult } from '../../activities/despatch-sweep';
import { despatchSweepWorkflow } from '../../workflows/despatch-sweep';
import { despatchExceptionWorkflowId } from '../../src/domain/keys';
import { orderResolveUpdate, orderStateQuery } from '../../workflows/order/messages';
import { despatchExceptionOperator } from '../../workflows/despatch-exception';

let env: TestWorkflowEnvironment;
let stack: Stack;
before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, {
    multiShipment: { asos: true, joules: false },
    schedules: true,
    // Far beyond the test: the workflow's own backstop must not be what finds the despatch. The warehouse
    // gateway's shared read is off too: this file is about the scheduled sweep, the backstop behind both.
    despatchBackstopMs: 30 * 60_000,
    peoplevoxYaml: 'gateway: { enabled: false }',
  });
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

interface PvxOrder {
  salesOrderNumber: string;
  status: string;
  items: Array<{ itemCode: string; quantity: number }>;
  despatches?: Array<{ despatchNumber: string }>;
}

async function warehouseOrder(son: string): Promise<PvxOrder | undefined> {
  const r = await stack.control.get(`/control/peoplevox/test-client/orders/${son}`, { validateStatus: () => true });
  return r.status === 200 ? (r.data as PvxOrder) : undefined;
}

async function marketplaceState(channel: string, id: string): Promise<string> {
  return ((await stack.control.get(`/control/mirakl/${channel}/orders/${id}`)).data as { order_state: string })
    .order_state;
}

async function runSweep(record?: string): Promise<SweepResult> {
  const q = stack.config.temporal.taskQueues;
  const handle = await env.client.workflow.start(despatchSweepWorkflow, {
    workflowId: `sweep-now-${Math.random().toString(36).slice(2)}`,
    taskQueue: q.orders,
    args: [{ lookbackMinutes: 30, taskQueue: q.peoplevoxBulk }],
  });
  const result = await handle.result();
  if (record) await maybeRecordHistory(handle, record);
  return result;
}

async function despatchesOf(son: string): Promise<string[]> {
  const { data } = await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, {
    parcels: [{ carrier: 'DPD', trackingNumber: `TRK-${son}` }],
  });
  return (data as { despatches: Array<{ despatchNumber: string }> }).despatches.map((d) => d.despatchNumber);
}

describe('the scheduled despatch sweep', () => {
  test('is a Temporal Schedule, and a triggered run delivers a despatch whose callback was lost', async () => {
    const scheduleId = stack.recurring.scheduleIds[0]!;
    const schedule = env.client.schedule.getHandle(scheduleId);
    const described = await schedule.describe();
    // 10 minutes scaled by 60.
    assert.equal(described.spec.intervals?.[0]?.every, 10_000);
    assert.equal(described.action.type, 'startWorkflow');
    // Paused, so only the trigger below can run it (a scheduled run would race the assertions).
    await schedule.pause('test: trigger by hand');

    await stack.control.put('/control/faults/peoplevox', {
      rules: [{ endpoint: 'callback:TrackingNumberReceived', kind: 'error5xx', count: 100 }],
    });
    try {
      const orderId = `${stack.idPrefix}-S1-A`;
      await stack.control.post('/control/mirakl/asos/orders', {
        orderId,
        lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }],
      });
      const son = `ASOS-${orderId}`;
      await eventually(async () => ((await warehouseOrder(son))?.items.length === 1 ? true : undefined), 25_000, son);
      await despatchesOf(son);
      // Callbacks are failing and the workflow's backstop is 30 minutes away: still SHIPPING.
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(await marketplaceState('asos', orderId), 'SHIPPING');

      const before = (await schedule.describe()).info.recentActions.length;
      await schedule.trigger();
      await eventually(
        async () => ((await marketplaceState('asos', orderId)) === 'SHIPPED' ? true : undefined),
        30_000,
        'SHIPPED on Mirakl after the scheduled sweep',
      );
      const info = (await schedule.describe()).info;
      assert.ok(info.recentActions.length > before, 'the schedule ran an action');
      const faults = (await stack.control.get('/control/faults/peoplevox')).data as { fired: Record<string, number> };
      assert.ok((faults.fired.error5xx ?? 0) >= 1, 'the callback really was dropped');
    } finally {
      await stack.control.delete('/control/faults/peoplevox');
      await schedule.unpause();
    }
  });

  test('a despatch for a sales order Loopline never saw becomes one DESPATCH_WITHOUT_ORDER exception for ops', async () => {
    const son = `WEB-${stack.idPrefix}`;
    await stack.control.post('/control/peoplevox/test-client/orders', {
      salesOrderNumber: son,
      items: [{ itemCode: 'TEE-RED-M', quantity: 1 }],
    });
    const [despatchNumber] = await despatchesOf(son);
    const first = await runSweep('despatch-sweep-orphan');
    assert.ok(first.orphans >= 1, JSON.stringify(first));
    const workflowId = despatchExceptionWorkflowId(son, despatchNumber!);
    const handle = env.client.workflow.getHandle(workflowId);
    const state = await eventually(
      async () => (await handle.query(despatchExceptionOperator.state)).exception,
      15_000,
      'the exception workflow',
    );
    assert.equal(state.reason, 'DESPATCH_WITHOUT_ORDER');
    assert.equal(state.owner, 'ops');
    assert.match(state.message, new RegExp(`Despatch ${despatchNumber} .* sales order ${son}`));

    // In the exception queue (visibility), by reason and owner, exactly once after a second sweep.
    await runSweep();
    const query = `ExceptionReason = "DESPATCH_WITHOUT_ORDER" AND Owner = "ops" AND WmsOrderNumber = "${son}"`;
    const listed = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const wf of env.client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids.length > 0 ? ids : undefined;
      },
      15_000,
      'the exception in visibility',
    );
    assert.deepEqual(listed, [workflowId]);

    // Retry: still no order workflow, so it stays open; resolve closes it and clears it from the queue.
    const retried = await handle.executeUpdate(despatchExceptionOperator.retry);
    assert.equal(retried.status, 'EXCEPTION');
    assert.ok(retried.timeline.some((t) => t.step === 'still no running order workflow'));
    const resolved = await handle.executeUpdate(despatchExceptionOperator.resolve, {
      args: ['D2C order shipped by hand'],
    });
    assert.equal(resolved.status, 'RESOLVED');
    await handle.result();
    await maybeRecordHistory(handle, 'despatch-exception-retry-then-resolved');
    // A third sweep does not reopen a resolved despatch.
    await runSweep();
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
  });

  test('goods despatched after the order was cancelled raise DESPATCH_FOR_CLOSED_ORDER', async () => {
    const orderId = `${stack.idPrefix}-S3-A`;
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId,
      lines: [{ offerSku: 'SKIRT-RED-S', quantity: 1 }],
    });
    const son = `ASOS-${orderId}`;
    await eventually(async () => ((await warehouseOrder(son))?.items.length === 1 ? true : undefined), 25_000, son);
    await stack.control.post(`/control/peoplevox/test-client/orders/${son}/pick`, {});
    await stack.control.post(`/control/mirakl/asos/orders/${orderId}/cancel`, {});
    const order = env.client.workflow.getHandle(`order:asos:${orderId}`);
    await eventually(
      async () => (await order.query(orderStateQuery)).exception?.reason,
      25_000,
      'CANCELLED_AFTER_PICK',
    );
    await order.executeUpdate(orderResolveUpdate, { args: ['told the warehouse to stop it'] });
    assert.equal(((await order.result()) as { status: string }).status, 'CANCELLED');
    await maybeRecordHistory(order, 'order-v2-cancelled-after-pick-resolved');

    // …but the parcel left anyway.
    const [despatchNumber] = await despatchesOf(son);
    const result = await runSweep();
    assert.ok(result.closedOrders >= 1, JSON.stringify(result));
    const exc = await eventually(
      async () =>
        (
          await env.client.workflow
            .getHandle(despatchExceptionWorkflowId(son, despatchNumber!))
            .query(despatchExceptionOperator.state)
        ).exception,
      15_000,
      'the closed-order exception',
    );
    assert.equal(exc.reason, 'DESPATCH_FOR_CLOSED_ORDER');
    assert.match(exc.message, new RegExp(`order ${orderId} was cancelled`));
  });
});
