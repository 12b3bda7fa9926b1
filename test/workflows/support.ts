// The order workflow on a real Temporal server with activities that record what they were asked to do: the
// order, the recording fakes and a worker, shared by the workflow tests.
import { Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { uniqueQueue, workflowBundle } from '../support/temporal';
import type { OrderActivities, OrderSettings } from '../../activities/order';
import type { MarketplaceOrder, Despatch } from '../../src/domain/order';
import { validateOrder } from '../../src/domain/validation';
import { decideStockAcceptance, type OutOfStockPolicy, type StockCheckLine } from '../../src/inventory/acceptance';

export function order(overrides: Partial<MarketplaceOrder> = {}): MarketplaceOrder {
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

export interface Recorder {
  calls: string[];
  known: Set<string>;
  shipments: Array<{ despatchNumber: string; lines: Array<{ lineId: string; quantity: number }>; mode: string }>;
  despatches: Despatch[];
  alerts: string[];
  /** Every alert raised, whole (reason, key, kind). */
  alertInputs?: Array<{ key: string; kind: string; reason?: string; message: string }>;
  /** Refunds sent to the marketplace (refundFromShopify calls), and how long each takes. */
  refunds?: string[];
  refundDelayMs?: number;
  /** The master's available per item code for checkOrderStock (absent: everything in stock). */
  stock?: Record<string, number>;
  /** checkOrderStock fails like a master that cannot be read (its retries used up). */
  stockUnreadable?: boolean;
  /** OR21 decisions as sent. */
  decisions?: Array<Array<{ lineId: string; accepted: boolean }>>;
  /** Orders sent to the warehouse (their line ids). */
  warehouseLines?: string[][];
}

export function fakeActivities(queue: string, rec: Recorder, settings: Partial<OrderSettings> = {}): OrderActivities {
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
    async raiseAlert(a: { key: string; kind: string; reason?: string; message: string }) {
      rec.alerts.push(a.message);
      (rec.alertInputs ??= []).push(a);
    },
    async refundFromShopify(input: { notice: { refundId: string; lines: Array<{ sku: string; quantity: number }> } }) {
      (rec.refunds ??= []).push(input.notice.refundId);
      await new Promise((r) => setTimeout(r, rec.refundDelayMs ?? 0));
      return {
        refundId: input.notice.refundId,
        reasonCode: '16',
        lines: [],
        unmatched: [],
        outcome: 'refunded' as const,
      };
    },
  };
  return acts as unknown as OrderActivities;
}

export function recorder(known = ['TEE-RED-M', 'SCARF-NAVY-S']): Recorder {
  return { calls: [], known: new Set(known), shipments: [], despatches: [], alerts: [] };
}

/** A worker on its own queue running the order workflow with the recording fakes. */
export async function withOrderWorker<T>(
  env: TestWorkflowEnvironment,
  rec: Recorder,
  settings: Partial<OrderSettings>,
  fn: (queue: string) => Promise<T>,
  /** Activities replaced for this test (e.g. a warehouse that rejects). */
  overrides: Record<string, (...args: never[]) => Promise<unknown>> = {},
): Promise<T> {
  const queue = uniqueQueue('order');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
    activities: { ...fakeActivities(queue, rec, settings), ...overrides },
  });
  return worker.runUntil(fn(queue));
}
