// The order workflow on a real Temporal server, with activities that record what they were asked to do.
// (End-to-end runs through the simulators live in test/e2e.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { order, recorder, withOrderWorker } from './support';
import {
  orderWorkflow,
  despatchNotifiedSignal,
  orderUpdatedSignal,
  orderRetryUpdate,
  orderStateQuery,
} from '../../workflows/order';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

describe('order workflow (real Temporal server)', () => {
  test('the order is acknowledged before the warehouse order is created', async () => {
    const rec = recorder();
    await withOrderWorker(env, rec, {}, async (queue) => {
      const o = order();
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'ACCEPTED' || undefined,
        10_000,
        'acceptance',
      );
      // The marketplace moves the order to SHIPPING (debit done, address visible): the intake signals it.
      await h.signal(orderUpdatedSignal, {
        ...o,
        state: 'SHIPPING',
        updatedAt: new Date(Date.now() + 1000).toISOString(),
      });
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'IN_WAREHOUSE' || undefined,
        10_000,
        'warehouse order',
      );
      assert.deepEqual(rec.calls.slice(0, 4), [
        'stock-check:accept-and-backorder',
        'acknowledge',
        'validate',
        'create-wms',
      ]);
      await h.terminate('test done');
    });
  });

  test('a partial despatch confirms only the despatched line, then the rest ships in a second parcel', async () => {
    const rec = recorder();
    await withOrderWorker(env, rec, {}, async (queue) => {
      const o = order({ state: 'SHIPPING' });
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'IN_WAREHOUSE' || undefined,
        10_000,
        'warehouse order',
      );
      const son = `ASOS-${o.orderId}`;
      await h.signal(despatchNotifiedSignal, {
        despatchNumber: 'D1',
        despatch: {
          despatchNumber: 'D1',
          salesOrderNumber: son,
          carrier: 'DPD',
          trackingNumber: 'T1',
          items: [{ itemCode: 'TEE-RED-M', quantity: 1 }],
        },
      });
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'PARTIALLY_SHIPPED' || undefined,
        10_000,
        'partial shipment',
      );
      assert.deepEqual(rec.shipments, [{ despatchNumber: 'D1', lines: [{ lineId: 'L1', quantity: 1 }], mode: 'ST01' }]);
      await h.signal(despatchNotifiedSignal, {
        despatchNumber: 'D2',
        despatch: {
          despatchNumber: 'D2',
          salesOrderNumber: son,
          carrier: 'DPD',
          trackingNumber: 'T2',
          items: [
            { itemCode: 'TEE-RED-M', quantity: 1 },
            { itemCode: 'SCARF-NAVY-S', quantity: 1 },
          ],
        },
      });
      // The same despatch notified twice is confirmed once.
      await h.signal(despatchNotifiedSignal, { despatchNumber: 'D2' });
      const final = await h.result();
      assert.equal(final.status, 'CLOSED');
      await maybeRecordHistory(h, 'order-v2-partial-despatch-two-parcels');
      assert.deepEqual(
        rec.shipments.map((s) => [s.despatchNumber, s.lines]),
        [
          ['D1', [{ lineId: 'L1', quantity: 1 }]],
          [
            'D2',
            [
              { lineId: 'L1', quantity: 1 },
              { lineId: 'L2', quantity: 1 },
            ],
          ],
        ],
      );
    });
  });

  test('an unmapped offer SKU parks the order with merchandising; retry after the mapping is added completes it', async () => {
    const rec = recorder(['TEE-RED-M']);
    await withOrderWorker(env, rec, {}, async (queue) => {
      const o = order();
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      const parked = await eventually(async () => (await h.query(orderStateQuery)).exception, 10_000, 'exception');
      assert.equal(parked.reason, 'SKU_UNMAPPED');
      assert.equal(parked.owner, 'merchandising');
      assert.match(parked.message, /SCARF-NAVY-S/);
      assert.ok(!rec.calls.includes('acknowledge'), 'must not accept an order it cannot fulfil');
      rec.known.add('SCARF-NAVY-S');
      const afterRetry = await h.executeUpdate(orderRetryUpdate);
      assert.equal(afterRetry.exception, undefined);
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'ACCEPTED' || undefined,
        10_000,
        'accepted after retry',
      );
      assert.ok(rec.alerts.some((m) => m.includes('SCARF-NAVY-S')));
      await h.signal(orderUpdatedSignal, {
        ...o,
        state: 'CANCELED',
        updatedAt: new Date(Date.now() + 1000).toISOString(),
      });
      const cancelled = await h.result();
      assert.equal(cancelled.status, 'CANCELLED');
      await maybeRecordHistory(h, 'order-v2-sku-unmapped-retry-then-cancelled');
    });
  });

  test('whole-order platforms (no multi-shipment) wait for every line, then confirm once with OR23 + OR24', async () => {
    const rec = recorder();
    await withOrderWorker(env, rec, { multiShipment: false }, async (queue) => {
      const o = order({ state: 'SHIPPING' });
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'IN_WAREHOUSE' || undefined,
        10_000,
        'warehouse order',
      );
      const son = `ASOS-${o.orderId}`;
      await h.signal(despatchNotifiedSignal, {
        despatchNumber: 'D1',
        despatch: {
          despatchNumber: 'D1',
          salesOrderNumber: son,
          carrier: 'DPD',
          trackingNumber: 'T1',
          items: [{ itemCode: 'TEE-RED-M', quantity: 2 }],
        },
      });
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'PARTIALLY_SHIPPED' || undefined,
        10_000,
        'held',
      );
      assert.equal(rec.shipments.length, 0);
      await h.signal(despatchNotifiedSignal, {
        despatchNumber: 'D2',
        despatch: {
          despatchNumber: 'D2',
          salesOrderNumber: son,
          carrier: 'DPD',
          trackingNumber: 'T2',
          items: [{ itemCode: 'SCARF-NAVY-S', quantity: 1 }],
        },
      });
      await h.result();
      await maybeRecordHistory(h, 'order-v2-whole-order-or23-or24');
      assert.equal(rec.shipments.length, 1);
      assert.equal(rec.shipments[0]!.mode, 'OR23_OR24');
      assert.deepEqual(rec.shipments[0]!.lines, [
        { lineId: 'L1', quantity: 2 },
        { lineId: 'L2', quantity: 1 },
      ]);
    });
  });

  test('a warehouse rejection parks the order for ops with the warehouse message', async () => {
    const rec = recorder();
    const rejecting = async () => {
      throw ApplicationFailure.create({
        message: 'Row 1: ShippingAddressPostcode "XX" is not a valid UK postcode',
        type: 'WMS_REJECTED',
        nonRetryable: true,
      });
    };
    await withOrderWorker(
      env,
      rec,
      {},
      async (queue) => {
        const o = order({ state: 'SHIPPING' });
        const h = await env.client.workflow.start(orderWorkflow, {
          taskQueue: queue,
          workflowId: `order:asos:${o.orderId}`,
          args: [{ channel: 'asos', orderId: o.orderId, order: o }],
        });
        const exc = await eventually(async () => (await h.query(orderStateQuery)).exception, 10_000, 'exception');
        assert.equal(exc.reason, 'WMS_REJECTED');
        assert.equal(exc.owner, 'ops');
        assert.match(exc.message, /postcode/);
        await h.terminate('test done');
      },
      { createWarehouseOrder: rejecting },
    );
  });
});

// Deadlines: windows of a few seconds on the real server, so the fractions fire inside the test. The
// workflow computes alert times from the order's own timestamps, so a 72-hour window behaves the same.
describe('deadline alerts', () => {
  test('acceptance: alerts at 50% and 80% name the order and what is missing, then the marketplace refuses', async () => {
    const rec = recorder();
    await withOrderWorker(env, rec, { acceptancePolicy: 'manual' }, async (queue) => {
      const now = Date.now();
      const o = order({
        createdAt: new Date(now).toISOString(),
        acceptanceDeadline: new Date(now + 4_000).toISOString(),
      });
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(async () => (rec.alerts.length >= 3 ? true : undefined), 10_000, 'two deadline alerts');
      const deadline = rec.alerts.filter((a) => a.includes('of the acceptance window'));
      assert.equal(deadline.length, 2, rec.alerts.join('\n'));
      assert.match(
        deadline[0]!,
        new RegExp(`Order ${o.orderId} \\(asos\\): 50% of the acceptance window .* not accepted yet`),
      );
      assert.match(deadline[1]!, /80% of the acceptance window/);
      // The window closes; Mirakl auto-refuses and the intake reports it.
      await h.signal(orderUpdatedSignal, { ...o, state: 'REFUSED', updatedAt: new Date(Date.now()).toISOString() });
      const final = await h.result();
      assert.equal(final.status, 'REFUSED');
      assert.equal(final.pastExceptions.at(-1)?.reason, 'ACCEPTANCE_DEADLINE_PASSED');
      assert.ok(!rec.calls.includes('create-wms'));
      await maybeRecordHistory(h, 'order-v4-acceptance-alerts-then-refused');
    });
  });

  test('no acceptance alert once accepted; shipping alerts name only the lines still unshipped', async () => {
    const rec = recorder();
    await withOrderWorker(env, rec, {}, async (queue) => {
      const now = Date.now();
      const o = order({
        state: 'SHIPPING',
        createdAt: new Date(now).toISOString(),
        acceptanceDeadline: new Date(now + 3_000).toISOString(),
        shippingDeadline: new Date(now + 5_000).toISOString(),
      });
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'IN_WAREHOUSE' || undefined,
        10_000,
        'warehouse order',
      );
      await h.signal(despatchNotifiedSignal, {
        despatchNumber: 'D1',
        despatch: {
          despatchNumber: 'D1',
          salesOrderNumber: `ASOS-${o.orderId}`,
          carrier: 'DPD',
          trackingNumber: 'T1',
          items: [{ itemCode: 'TEE-RED-M', quantity: 2 }],
        },
      });
      await eventually(async () => (rec.alerts.length >= 2 ? true : undefined), 10_000, 'two shipping alerts');
      assert.ok(!rec.alerts.some((a) => a.includes('acceptance window')), rec.alerts.join('\n'));
      assert.match(rec.alerts[0]!, new RegExp(`Order ${o.orderId} \\(asos\\): 50% of the shipping window`));
      for (const a of rec.alerts) {
        assert.match(a, /lines L2 \(1 left\) have not shipped/);
        assert.doesNotMatch(a, /L1/);
      }
      const st = await h.query(orderStateQuery);
      // Keyed by the deadline: a deadline the marketplace moves is alerted afresh.
      assert.deepEqual(st.alertsSent.slice(0, 2), [
        `shipping:${o.shippingDeadline}:50`,
        `shipping:${o.shippingDeadline}:80`,
      ]);
      await h.terminate('test done');
    });
  });
});

describe('the stock check at acceptance (checkOrderStock)', () => {
  test('refuse-line: OR21 refuses the line the stock cannot cover, accepts the rest; the warehouse never sees it', async () => {
    const rec = recorder();
    // Two tees wanted, one left; the scarf is in stock.
    rec.stock = { 'TEE-RED-M': 1, 'SCARF-NAVY-S': 4 };
    await withOrderWorker(env, rec, { outOfStock: 'refuse-line' }, async (queue) => {
      const o = order();
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(async () => (await h.query(orderStateQuery)).status === 'ACCEPTED' || undefined, 10_000, 'OR21');
      assert.deepEqual(rec.decisions, [
        [
          { lineId: 'L1', accepted: false },
          { lineId: 'L2', accepted: true },
        ],
      ]);
      const st = await h.query(orderStateQuery);
      assert.ok(
        st.timeline.some((t) => t.step === 'stock' && /line L1 refused: out of stock, short by 1/.test(t.detail ?? '')),
        JSON.stringify(st.timeline),
      );
      await h.signal(orderUpdatedSignal, {
        ...o,
        state: 'SHIPPING',
        updatedAt: new Date(Date.now() + 1000).toISOString(),
      });
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'IN_WAREHOUSE' || undefined,
        10_000,
        'WMS',
      );
      assert.deepEqual(rec.warehouseLines, [['L2']]);
      assert.deepEqual(
        (await h.query(orderStateQuery)).lines.map((l) => l.lineId),
        ['L2'],
      );
      await maybeRecordHistory(h, 'order-v2-stock-refuse-line');
      await h.terminate('test done');
    });
  });

  test('a stock master that cannot be read does not fail the order: every line accepted, ops alerted', async () => {
    const rec = recorder();
    rec.stockUnreadable = true;
    await withOrderWorker(env, rec, { outOfStock: 'refuse-line' }, async (queue) => {
      const o = order();
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(async () => (await h.query(orderStateQuery)).status === 'ACCEPTED' || undefined, 10_000, 'OR21');
      assert.deepEqual(rec.decisions, [
        [
          { lineId: 'L1', accepted: true },
          { lineId: 'L2', accepted: true },
        ],
      ]);
      const st = await h.query(orderStateQuery);
      assert.equal(st.exception, undefined);
      assert.ok(
        st.timeline.some((t) => t.step === 'stock' && /stock check unavailable/.test(t.detail ?? '')),
        JSON.stringify(st.timeline),
      );
      assert.ok(
        rec.alerts.some((a) => a.includes(`Order ${o.orderId} (asos) was accepted without a stock check`)),
        JSON.stringify(rec.alerts),
      );
      await h.terminate('test done');
    });
  });

  test('refuse-line with nothing in stock refuses every line: the order ends REFUSED, nothing reaches the warehouse', async () => {
    const rec = recorder();
    rec.stock = {};
    await withOrderWorker(env, rec, { outOfStock: 'refuse-line' }, async (queue) => {
      const o = order();
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      const st = await h.result();
      assert.equal(st.status, 'REFUSED');
      assert.deepEqual(rec.decisions, [
        [
          { lineId: 'L1', accepted: false },
          { lineId: 'L2', accepted: false },
        ],
      ]);
      assert.ok(!rec.calls.includes('create-wms'));
    });
  });

  test('accept-and-backorder: every line accepted; the short line is noted on the timeline as a backorder', async () => {
    const rec = recorder();
    rec.stock = { 'TEE-RED-M': 1, 'SCARF-NAVY-S': 4 };
    await withOrderWorker(env, rec, { outOfStock: 'accept-and-backorder' }, async (queue) => {
      const o = order();
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      await eventually(async () => (await h.query(orderStateQuery)).status === 'ACCEPTED' || undefined, 10_000, 'OR21');
      assert.deepEqual(rec.decisions, [
        [
          { lineId: 'L1', accepted: true },
          { lineId: 'L2', accepted: true },
        ],
      ]);
      const st = await h.query(orderStateQuery);
      assert.ok(
        st.timeline.some(
          (t) => t.step === 'stock' && /line L1 accepted as a backorder: short by 1/.test(t.detail ?? ''),
        ),
        JSON.stringify(st.timeline),
      );
      await h.signal(orderUpdatedSignal, {
        ...o,
        state: 'SHIPPING',
        updatedAt: new Date(Date.now() + 1000).toISOString(),
      });
      await eventually(
        async () => (await h.query(orderStateQuery)).status === 'IN_WAREHOUSE' || undefined,
        10_000,
        'WMS',
      );
      assert.deepEqual(rec.warehouseLines, [['L1', 'L2']]);
      await h.terminate('test done');
    });
  });
});
