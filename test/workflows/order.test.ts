// The order workflow on a real Temporal server, with activities that record what they were asked to do.
// (End-to-end runs through the simulators live in test/e2e.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, uniqueQueue, workflowBundle, eventually, maybeRecordHistory } from '../support/temporal';
import type { OrderActivities, OrderSettings } from '../../activities/order';
import type { MarketplaceOrder, Despatch } from '../../src/domain/order';
import { validateOrder } from '../../src/domain/validation';
import { decideStockAcceptance, type OutOfStockPolicy, type StockCheckLine } from '../../src/inventory/acceptance';
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

function order(overrides: Partial<MarketplaceOrder> = {}): MarketplaceOrder {
  const now = new Date();
  return {
    channel: 'asos',
    orderId: `ORD-${Math.random().toString(36).slice(2, 8).toUpperCase()}-A`,
    state: 'WAITING_ACCEPTANCE',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    acceptanceDeadline: new Date(now.getTime() + 48 * 3600_000).toISOString(),
    shippingDeadline: new Date(now.getTime() + 96 * 3600_000).toISOString(),
    currency: 'GBP',
    taxMode: 'TAX_INCLUDED',
    shippingAddress: {
      firstName: 'Ann',
      lastName: 'Lee',
      line1: '1 High St',
      city: 'Leeds',
      postcode: 'LS1 1AA',
      countryCode: 'GBR',
    },
    lines: [
      {
        lineId: 'L1',
        index: 1,
        offerSku: 'TEE-RED-M',
        quantity: 2,
        unitPrice: 1800,
        price: 3600,
        shippingPrice: 395,
        taxes: [],
        shippingTaxes: [],
        state: 'WAITING_ACCEPTANCE',
        cancelledQuantity: 0,
      },
      {
        lineId: 'L2',
        index: 2,
        offerSku: 'SCARF-NAVY-S',
        quantity: 1,
        unitPrice: 2495,
        price: 2495,
        shippingPrice: 0,
        taxes: [],
        shippingTaxes: [],
        state: 'WAITING_ACCEPTANCE',
        cancelledQuantity: 0,
      },
    ],
    totals: { goods: 6095, shipping: 395, total: 6490 },
    ...overrides,
  };
}

interface Recorder {
  calls: string[];
  known: Set<string>;
  shipments: Array<{ despatchNumber: string; lines: Array<{ lineId: string; quantity: number }>; mode: string }>;
  despatches: Despatch[];
  alerts: string[];
  /** The master's available per item code for checkOrderStock (absent: everything in stock). */
  stock?: Record<string, number>;
  /** checkOrderStock fails like a master that cannot be read (its retries used up). */
  stockUnreadable?: boolean;
  /** OR21 decisions as sent. */
  decisions?: Array<Array<{ lineId: string; accepted: boolean }>>;
  /** Orders sent to the warehouse (their line ids). */
  warehouseLines?: string[][];
}

function fakeActivities(queue: string, rec: Recorder, settings: Partial<OrderSettings> = {}): OrderActivities {
  const acts = {
    async orderSettings(): Promise<OrderSettings> {
      return {
        taskQueues: { acknowledge: queue, peoplevox: queue },
        acceptancePolicy: 'accept-when-mapped',
        outOfStock: 'accept-and-backorder',
        alertAtFractions: [0.5, 0.8],
        returnWindowDays: 0,
        multiShipment: true,
        despatchBackstopMs: 60_000,
        ...settings,
      };
    },
    async resolveItemCodes(input: { offerSkus: string[] }) {
      return Object.fromEntries(input.offerSkus.map((s) => [s, rec.known.has(s) ? s : null]));
    },
    async validateOrder(input: { channel: string; order: MarketplaceOrder }) {
      rec.calls.push('validate');
      return validateOrder(input.order, {
        channel: input.channel,
        currency: 'GBP',
        itemCodeFor: (s) => (rec.known.has(s) ? s : undefined),
        requireAddress: true,
        now: Date.now(),
      });
    },
    async checkOrderStock(input: { lines: StockCheckLine[]; policy?: OutOfStockPolicy }) {
      rec.calls.push(`stock-check:${input.policy}`);
      if (rec.stockUnreadable)
        throw ApplicationFailure.nonRetryable(
          'shopify inventoryItems: HTTP 503: Service Unavailable',
          'SYSTEM_UNAVAILABLE',
        );
      const everything = Object.fromEntries(input.lines.map((l) => [l.itemCode, 1_000]));
      return decideStockAcceptance(input.policy ?? 'accept-and-backorder', input.lines, rec.stock ?? everything);
    },
    async acknowledgeOrder(input: { decisions: Array<{ lineId: string; accepted: boolean }> }) {
      (rec.decisions ??= []).push(input.decisions);
      rec.calls.push('acknowledge');
      return 'accepted' as const;
    },
    async createWarehouseOrder(input: { order: MarketplaceOrder }) {
      (rec.warehouseLines ??= []).push(input.order.lines.map((l) => l.lineId));
      rec.calls.push('create-wms');
      return { salesOrderNumber: `ASOS-${input.order.orderId}`, created: true };
    },
    async cancelWarehouseOrder() {
      rec.calls.push('cancel-wms');
      return { cancelled: true, status: 'Cancelled' };
    },
    async listWarehouseDespatches() {
      return rec.despatches;
    },
    async confirmShipment(input: {
      despatchNumber: string;
      lines: Array<{ lineId: string; quantity: number }>;
      mode: string;
    }) {
      rec.calls.push(`ship:${input.despatchNumber}`);
      rec.shipments.push({ despatchNumber: input.despatchNumber, lines: input.lines, mode: input.mode });
      return 'confirmed' as const;
    },
    async cancelMarketplaceOrder() {
      rec.calls.push('cancel-marketplace');
    },
    async raiseAlert(a: { message: string }) {
      rec.alerts.push(a.message);
    },
  };
  return acts as unknown as OrderActivities;
}

function recorder(known = ['TEE-RED-M', 'SCARF-NAVY-S']): Recorder {
  return { calls: [], known: new Set(known), shipments: [], despatches: [], alerts: [] };
}

async function withWorker<T>(
  rec: Recorder,
  settings: Partial<OrderSettings>,
  fn: (queue: string) => Promise<T>,
): Promise<T> {
  const queue = uniqueQueue('order');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
    activities: fakeActivities(queue, rec, settings),
  });
  return worker.runUntil(fn(queue));
}

describe('order workflow (real Temporal server)', () => {
  test('the order is acknowledged before the warehouse order is created', async () => {
    const rec = recorder();
    await withWorker(rec, {}, async (queue) => {
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
    await withWorker(rec, {}, async (queue) => {
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
    await withWorker(rec, {}, async (queue) => {
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
    await withWorker(rec, { multiShipment: false }, async (queue) => {
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
    const queue = uniqueQueue('order');
    const acts = fakeActivities(queue, rec);
    (acts as unknown as Record<string, unknown>).createWarehouseOrder = async () => {
      throw ApplicationFailure.create({
        message: 'Row 1: ShippingAddressPostcode "XX" is not a valid UK postcode',
        type: 'WMS_REJECTED',
        nonRetryable: true,
      });
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: queue,
      workflowBundle: await workflowBundle(),
      activities: acts,
    });
    await worker.runUntil(async () => {
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
    });
  });
});

// Deadlines: windows of a few seconds on the real server, so the fractions fire inside the test. The
// workflow computes alert times from the order's own timestamps, so a 72-hour window behaves the same.
describe('deadline alerts', () => {
  test('acceptance: alerts at 50% and 80% name the order and what is missing, then the marketplace refuses', async () => {
    const rec = recorder();
    await withWorker(rec, { acceptancePolicy: 'manual' }, async (queue) => {
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
    });
  });

  test('no acceptance alert once accepted; shipping alerts name only the lines still unshipped', async () => {
    const rec = recorder();
    await withWorker(rec, {}, async (queue) => {
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
    await withWorker(rec, { outOfStock: 'refuse-line' }, async (queue) => {
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
    await withWorker(rec, { outOfStock: 'refuse-line' }, async (queue) => {
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
    await withWorker(rec, { outOfStock: 'refuse-line' }, async (queue) => {
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
    await withWorker(rec, { outOfStock: 'accept-and-backorder' }, async (queue) => {
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
