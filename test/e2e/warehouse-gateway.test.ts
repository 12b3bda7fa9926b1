// The warehouse gateway (issue 15) through the sandbox: orders reach Peoplevox in batches of two SaveData calls,
// exactly once even when a batch's answer is lost, one refused order parks alone, and despatches reach their
// orders from one shared read per window. Judged on the Peoplevox simulator's call log and orders.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { orderWorkflowId } from '../../src/domain/keys';
import { orderStateQuery } from '../../workflows/order';
import {
  gatewayStateQuery,
  warehouseCreateRequestedSignal,
  warehouseRequestStatusQuery,
} from '../../workflows/warehouse-gateway';

let env: TestWorkflowEnvironment;
let stack: Stack;
before(async () => {
  env = await startTestEnv();
  // Batches of up to 10 orders, closed 1 s (60 s scaled) after the first request.
  stack = await startStack(env, {
    extraYaml: '',
    peoplevoxYaml: 'gateway: { enabled: true, maxOrders: 10, windowSeconds: 60 }',
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
  saveCounts?: { created?: number };
}
const warehouseOrders = async (): Promise<PvxOrder[]> =>
  ((await stack.control.get('/control/peoplevox/test-client/orders')).data as { orders: PvxOrder[] }).orders;
const saveDataCalls = async () =>
  ((await stack.control.get('/control/calls?system=peoplevox&endpoint=SaveData')).data as { calls: unknown[] }).calls
    .length;
const gateway = () => env.client.workflow.getHandle(stack.recurring.gatewayWorkflowId!);

async function placeAll(prefix: string, n: number, extra: (i: number) => Record<string, unknown> = () => ({})) {
  const ids = Array.from({ length: n }, (_, i) => `${stack.idPrefix}-${prefix}${String(i).padStart(2, '0')}-A`);
  await Promise.all(
    ids.map((orderId, i) =>
      stack.control.post('/control/mirakl/asos/orders', {
        orderId,
        lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }],
        ...extra(i),
      }),
    ),
  );
  return ids;
}

async function allInWarehouse(ids: string[]): Promise<PvxOrder[]> {
  return eventually(
    async () => {
      const all = await warehouseOrders();
      const mine = ids.map((id) => all.find((o) => o.salesOrderNumber === `ASOS-${id}`));
      return mine.every((o) => o && o.items.length === 1) ? (mine as PvxOrder[]) : undefined;
    },
    40_000,
    `${ids.length} orders in Peoplevox`,
  );
}

describe('the warehouse gateway', () => {
  test('orders placed together reach Peoplevox in batches: two SaveData calls a batch, each order created once', async () => {
    const before = await saveDataCalls();
    const ids = await placeAll('B', 20);
    const wms = await allInWarehouse(ids);
    for (const o of wms) assert.equal(o.saveCounts?.created, 1, `${o.salesOrderNumber} created once`);
    const calls = (await saveDataCalls()) - before;
    // 20 orders in batches of at most 10: at least 2 batches, 2 calls each; one order at a time would be 40.
    assert.ok(calls <= 2 * 6, `${calls} SaveData calls for 20 orders`);
    // The last batch's answer can reach the gateway a moment after its orders show in Peoplevox (inFlight until then).
    let st = await gateway().query(gatewayStateQuery);
    await eventually(
      async () => {
        st = await gateway().query(gatewayStateQuery);
        return st.inFlight === 0 && st.ordersInBatches >= 20 ? true : undefined;
      },
      20_000,
      'the gateway to record every batch',
    ).catch(() => undefined);
    assert.ok(st.batches >= 2 && st.ordersInBatches >= 20, JSON.stringify(st));
    for (const id of ids.slice(0, 3)) {
      const s = await env.client.workflow.getHandle(orderWorkflowId('asos', id)).query(orderStateQuery);
      assert.equal(s.status, 'IN_WAREHOUSE');
      assert.equal(s.salesOrderNumber, `ASOS-${id}`);
    }
  });

  test('a late repeat of a created order is answered from memory: no Peoplevox call, no new batch', async () => {
    const ids = await placeAll('Q', 2);
    await allInWarehouse(ids);
    const son = `ASOS-${ids[0]}`;
    // Read once the batch's answer has reached the gateway (the orders can show in Peoplevox a moment before).
    await eventually(
      async () => ((await gateway().query(gatewayStateQuery)).inFlight === 0 ? true : undefined),
      20_000,
      'the gateway to record the batch',
    ).catch(() => undefined);
    const before = await gateway().query(gatewayStateQuery);
    const calls = await saveDataCalls();
    assert.equal((await gateway().query(warehouseRequestStatusQuery, son)).state, 'unknown');
    // The order's answer crossed its re-ask: the repeat reaches the gateway after the order was created.
    await gateway().signal(warehouseCreateRequestedSignal, {
      workflowId: orderWorkflowId('asos', ids[0]!),
      channel: 'asos',
      orderId: ids[0]!,
      salesOrderNumber: son,
    });
    const after = await eventually(
      async () => {
        const st = await gateway().query(gatewayStateQuery);
        return (st.answeredAgain ?? 0) > (before.answeredAgain ?? 0) ? st : undefined;
      },
      20_000,
      'the repeat answered',
    );
    assert.equal(after.batches, before.batches, 'no batch for the repeat');
    assert.equal(await saveDataCalls(), calls, 'no SaveData for the repeat');
    const s = await env.client.workflow.getHandle(orderWorkflowId('asos', ids[0]!)).query(orderStateQuery);
    assert.equal(s.status, 'IN_WAREHOUSE');
  });

  test('a lost SaveData answer: the batch looks before saving again, and every order is created once', async () => {
    await stack.control.put('/control/faults/peoplevox', {
      rules: [{ endpoint: 'SaveData', kind: 'lostResponse', count: 1 }],
    });
    try {
      const ids = await placeAll('L', 6);
      const wms = await allInWarehouse(ids);
      for (const o of wms) assert.equal(o.saveCounts?.created, 1, `${o.salesOrderNumber} created once`);
      const fired = (await stack.control.get('/control/faults/peoplevox')).data as { fired: Record<string, number> };
      assert.ok((fired.fired.lostResponse ?? 0) >= 1, 'the answer really was lost');
      assert.equal(
        (await warehouseOrders()).filter((o) => ids.some((id) => o.salesOrderNumber === `ASOS-${id}`)).length,
        6,
      );
    } finally {
      await stack.control.delete('/control/faults/peoplevox');
    }
  });

  test('one order Peoplevox refuses parks alone (WMS_REJECTED); the rest of its batch goes ahead', async () => {
    const longEmail = `${'x'.repeat(110)}@example.com`;
    const ids = await placeAll('R', 4, (i) => (i === 2 ? { customer: { email: longEmail } } : {}));
    const good = ids.filter((_, i) => i !== 2);
    await allInWarehouse(good);
    const refused = env.client.workflow.getHandle(orderWorkflowId('asos', ids[2]!));
    const exc = await eventually(async () => (await refused.query(orderStateQuery)).exception, 30_000, 'the refusal');
    assert.equal(exc.reason, 'WMS_REJECTED');
    assert.match(exc.message, /Email is longer than 100/);
    assert.ok(!(await warehouseOrders()).some((o) => o.salesOrderNumber === `ASOS-${ids[2]}`));
    await refused.terminate('test done');
  });

  test('despatches reach their orders from the shared read (no read of its own), confirmed once on ASOS', async () => {
    const [id] = await placeAll('D', 1);
    const son = `ASOS-${id}`;
    await allInWarehouse([id!]);
    const readsBefore = (await gateway().query(gatewayStateQuery)).despatchReads;
    // The tracking callback is dropped: only the gateway's read can find the despatch.
    await stack.control.put('/control/faults/peoplevox', {
      rules: [{ endpoint: 'callback:TrackingNumberReceived', kind: 'error5xx', count: 10 }],
    });
    try {
      await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, {
        parcels: [{ carrier: 'DPD', trackingNumber: 'DPD-GW1' }],
      });
      const shipped = await eventually(
        async () => {
          const o = (await stack.control.get(`/control/mirakl/asos/orders/${id}`)).data as {
            order_state: string;
            _sandbox: { shipments: Array<{ tracking?: { tracking_number?: string } }> };
          };
          return o.order_state === 'SHIPPED' ? o : undefined;
        },
        30_000,
        'SHIPPED on ASOS',
      );
      assert.equal(shipped._sandbox.shipments.length, 1);
      assert.equal(shipped._sandbox.shipments[0]!.tracking?.tracking_number, 'DPD-GW1');
      assert.ok((await gateway().query(gatewayStateQuery)).despatchReads > readsBefore);
      const order = env.client.workflow.getHandle(orderWorkflowId('asos', id!));
      await order.result();
      await maybeRecordHistory(order, 'order-v3-gateway-request-carries-order');
      await maybeRecordHistory(gateway(), 'warehouse-gateway-v2-parallel-coalesced');
    } finally {
      await stack.control.delete('/control/faults/peoplevox');
    }
  });
});
