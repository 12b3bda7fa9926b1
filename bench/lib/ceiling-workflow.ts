// Bench only: a workflow with the shape of orderWorkflow (workflows/order.ts) whose activities do nothing.
// Same activity calls on the same task queues (orders → acknowledge → orders → peoplevox → per despatch
// notice a peoplevox read, per confirmation an acknowledge-queue write), the same search-attribute
// upserts at the same steps, the same start (signal-with-start carrying the order) and the same wake-ups by
// signal (the intake's update once the marketplace lets the order ship, one despatch notice per parcel), so
// the time it takes is Temporal's share of an order on this machine and the rest is ours.
import { condition, defineSignal, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { SA } from '../../src/temporal/search-attributes';

export interface CeilingInput {
  channel: string;
  orderId: string;
  taskQueues: { acknowledge: string; peoplevox: string };
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
  createWarehouseOrder(input: unknown): Promise<void>;
  listWarehouseDespatches(input: unknown): Promise<void>;
  confirmShipment(input: unknown): Promise<void>;
}

/** No-op implementations: no I/O at all. */
export const ceilingActivities: CeilingActivities = {
  async orderSettings() {},
  async resolveItemCodes() {},
  async validateOrder() {},
  async acknowledgeOrder() {},
  async createWarehouseOrder() {},
  async listWarehouseDespatches() {},
  async confirmShipment() {},
};

export const ceilingUpdatedSignal = defineSignal<[{ state: string }]>('orderUpdated');
export const ceilingDespatchSignal = defineSignal<[{ despatchNumber: string }]>('despatchNotified');

const retry = { initialInterval: '2s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 15 };

export async function ceilingOrderWorkflow(input: CeilingInput): Promise<{ status: string }> {
  let state = 'WAITING_ACCEPTANCE';
  let notices = 0;
  setHandler(ceilingUpdatedSignal, (o) => {
    state = o.state;
  });
  setHandler(ceilingDespatchSignal, () => {
    notices += 1;
  });
  const general = proxyActivities<CeilingActivities>({ startToCloseTimeout: '30s', retry });
  const ack = proxyActivities<CeilingActivities>({
    taskQueue: input.taskQueues.acknowledge,
    startToCloseTimeout: '30s',
    retry,
  });
  const pvx = proxyActivities<CeilingActivities>({
    taskQueue: input.taskQueues.peoplevox,
    startToCloseTimeout: '2m',
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

  await general.orderSettings(input.channel);
  publish('RECEIVED');
  publish('AWAITING_ACCEPTANCE');
  await general.resolveItemCodes(input);
  await ack.acknowledgeOrder(input);
  publish('ACCEPTED');
  await condition(() => state === 'SHIPPING');
  await general.resolveItemCodes(input);
  await general.validateOrder(input);
  await general.resolveItemCodes(input);
  publish('VALIDATED');
  await pvx.createWarehouseOrder(input);
  publish('IN_WAREHOUSE');
  let read = 0;
  let confirmed = 0;
  while (read < input.parcels) {
    await condition(() => notices > read);
    read = notices;
    await pvx.listWarehouseDespatches(input);
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
