// Bench only: a workflow with the shape of orderWorkflow (workflows/order/) whose activities do nothing.
// Same activity calls on the same task queues (settings and item codes as local activities, as the order's since
// order-v6 → inventory's stock check → acknowledge → item codes and validation, local → the
// request to the warehouse gateway → per confirmation an acknowledge-queue write), the same start
// (signal-with-start carrying the order) and the same wake-ups by signal (the intake's update once the
// marketplace lets the order ship, the gateway's answer, one despatch notice per parcel, whose items the
// gateway's shared read carries: no per-order despatch read), with search-attribute upserts at the same steps,
// (each once the workflow waits for it: CeilingSignals), so the time it takes is Temporal's share of an order on this machine and the rest is ours. (Before
// 2026-12-06 it called createWarehouseOrder and a despatch read per notice, as the order did before the gateway.)
import {
  condition,
  defineSignal,
  proxyActivities,
  proxyLocalActivities,
  proxySinks,
  setHandler,
  upsertSearchAttributes,
  type Sinks,
} from '@temporalio/workflow';
import { SA } from '../../src/temporal/search-attributes';

export interface CeilingInput {
  channel: string;
  orderId: string;
  /** When its signals come (CeilingSignals). */
  signals: CeilingSignals;
  taskQueues: { acknowledge: string; inventory: string };
  /** Despatch notices (one per parcel) the workflow waits for. */
  parcels: number;
  /** Confirmations it sends: one per parcel with multi-shipment, one at the end without. */
  confirmations: number;
  /** Padding, so the inputs weigh what a real order weighs in history. */
  order?: unknown;
}

export interface CeilingActivities {
  orderSettings(channel: string): Promise<void>;
  resolveItemCodes(input: unknown): Promise<void>;
  validateOrder(input: unknown): Promise<void>;
  acknowledgeOrder(input: unknown): Promise<void>;
  checkOrderStock(input: unknown): Promise<void>;
  requestWarehouseOrder(input: unknown): Promise<void>;
  confirmShipment(input: unknown): Promise<void>;
}

/** No-op implementations: no I/O at all. */
export const ceilingActivities: CeilingActivities = {
  async orderSettings() {},
  async resolveItemCodes() {},
  async validateOrder() {},
  async acknowledgeOrder() {},
  async checkOrderStock() {},
  async requestWarehouseOrder() {},
  async confirmShipment() {},
};

/**
 * When the ceiling's signals come. 'in-sequence' (the default since 2026-12-07): each once the workflow waits for
 * it, as the real order's always do (a marketplace cannot let an order ship before it was acknowledged, nor a
 * warehouse answer a request before it was made): the workflow says what it waits for through a sink (no command,
 * no event; the worker calls it as the workflow task completes: ceiling-sinks.ts) and the worker signals it, so
 * each wait costs the workflow task it costs the real order. 'up-front' (the ceiling before): every signal sent by
 * the starter at the start, so every wait is over before the workflow reaches it and no signal wakes it as a task
 * of its own (10.8 workflow tasks an order against the real order's 13.2 in bench:orders on 2026-12-06, the
 * difference being those wake-ups).
 */
export type CeilingSignals = 'in-sequence' | 'up-front';

/** What the workflow waits for next: the worker end sends it (ceiling-sinks.ts). */
export type CeilingWait = 'may-ship' | 'warehouse-answer' | 'despatches';
export interface CeilingSinks extends Sinks {
  ceiling: { waiting(wait: CeilingWait, orderId: string, parcels: number): void };
}
const sinks = proxySinks<CeilingSinks>();

export const ceilingUpdatedSignal = defineSignal<[{ state: string }]>('orderUpdated');
export const ceilingDespatchSignal = defineSignal<[{ despatchNumber: string }]>('despatchNotified');
export const ceilingWarehouseResultSignal = defineSignal<[{ salesOrderNumber: string }]>('warehouseResult');

const retry = { initialInterval: '2s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 15 };

export async function ceilingOrderWorkflow(input: CeilingInput): Promise<{ status: string }> {
  let state = 'WAITING_ACCEPTANCE';
  let notices = 0;
  let inWarehouse = false;
  setHandler(ceilingWarehouseResultSignal, () => {
    inWarehouse = true;
  });
  setHandler(ceilingUpdatedSignal, (o) => {
    state = o.state;
  });
  setHandler(ceilingDespatchSignal, () => {
    notices += 1;
  });
  const general = proxyActivities<CeilingActivities>({ startToCloseTimeout: '30s', retry });
  // As the order since 'order-v6': settings, item codes and validation are local activities.
  const local = proxyLocalActivities<CeilingActivities>({ startToCloseTimeout: '30s', retry });
  const ack = proxyActivities<CeilingActivities>({
    taskQueue: input.taskQueues.acknowledge,
    startToCloseTimeout: '30s',
    retry,
  });
  const stock = proxyActivities<CeilingActivities>({
    taskQueue: input.taskQueues.inventory,
    startToCloseTimeout: '30s',
    retry,
  });
  const publish = (status: string) =>
    upsertSearchAttributes([
      { key: SA.Channel, value: input.channel },
      { key: SA.MarketplaceOrderId, value: input.orderId },
      { key: SA.OrderStatus, value: status },
      { key: SA.ExceptionReason, value: null },
      { key: SA.Owner, value: null },
    ] as never);

  await local.orderSettings(input.channel);
  publish('RECEIVED');
  publish('AWAITING_ACCEPTANCE');
  await local.resolveItemCodes(input);
  await stock.checkOrderStock(input);
  await ack.acknowledgeOrder(input);
  publish('ACCEPTED');
  const waiting = (wait: CeilingWait) => {
    if (input.signals === 'in-sequence') sinks.ceiling.waiting(wait, input.orderId, input.parcels);
  };
  waiting('may-ship');
  await condition(() => state === 'SHIPPING');
  await local.resolveItemCodes(input);
  await local.validateOrder(input);
  await local.resolveItemCodes(input);
  publish('VALIDATED');
  // The gateway's queue takes the request; its answer comes by signal (the ceiling's starter sends it).
  await general.requestWarehouseOrder(input);
  waiting('warehouse-answer');
  await condition(() => inWarehouse);
  publish('IN_WAREHOUSE');
  waiting('despatches');
  let read = 0;
  let confirmed = 0;
  while (read < input.parcels) {
    await condition(() => notices > read);
    read = notices;
    const due = read >= input.parcels ? input.confirmations : Math.min(input.confirmations - 1, read);
    while (confirmed < due) {
      await ack.confirmShipment(input);
      confirmed += 1;
      publish(confirmed < input.confirmations ? 'PARTIALLY_SHIPPED' : 'SHIPPED');
    }
  }
  publish('CLOSED');
  return { status: 'CLOSED' };
}
