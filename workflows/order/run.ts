// One order's run: its state, the order as last read, the settings, and the mechanics every phase shares —
// timeline, search attributes, alerts, and `step`, which runs an effect and parks the order in the exception
// mailbox when it fails. Phases (acceptance.ts, validation.ts, …) are functions over an OrderRun.
import { ActivityFailure, condition, workflowInfo } from '@temporalio/workflow';
import type { AlertInput, OrderSettings } from '../../activities/order';
import type { MarketplaceOrder } from '../../src/domain/order';
import type { OrderException } from '../../src/domain/reasons';
import { searchAttributeUpdates } from '../../src/temporal/search-attributes';
import { upsertSearchAttributes } from '@temporalio/workflow';
import { exceptionMailbox, type ExceptionMailbox, type OperatorAction } from '../exception-mailbox';
import { marketplaceActs, settingsActs, warehouseActs, type MarketplaceActs, type WarehouseActs } from './activities';
import { OrderCancelled, toException } from './failures';
import type { DespatchNotice, OrderStatus, OrderWorkflowInput, OrderWorkflowState } from './messages';

const MAX_TIMELINE = 200;

export class OrderRun {
  readonly state: OrderWorkflowState;
  /** The order as the marketplace last showed it. */
  order: MarketplaceOrder;
  readonly resumed: boolean;
  settings!: OrderSettings;
  marketplace!: MarketplaceActs;
  warehouse!: WarehouseActs;
  /** Despatch notices not handled yet. */
  readonly notices: DespatchNotice[] = [];
  readonly mailbox: ExceptionMailbox;

  constructor(readonly input: OrderWorkflowInput) {
    this.resumed = input.resume !== undefined;
    this.order = input.order;
    this.state = input.resume ?? {
      channel: input.channel,
      orderId: input.orderId,
      status: 'RECEIVED',
      marketplaceState: input.order.state,
      pastExceptions: [],
      lines: [],
      despatches: [],
      acceptanceDeadline: input.order.acceptanceDeadline,
      shippingDeadline: input.order.shippingDeadline,
      alertsSent: [],
      timeline: [],
    };
    this.mailbox = exceptionMailbox(this.state, {
      describe: `order ${input.orderId}`,
      timelineMax: MAX_TIMELINE,
      publish: () => this.publish(),
      // (no validator: a cancel is taken whenever the order next waits for an operator)
      canCancel: () => undefined,
    });
  }

  /** Reads the channel's settings and binds the activities to its task queues. */
  async loadSettings(): Promise<void> {
    this.settings = await settingsActs.orderSettings(this.state.channel);
    this.marketplace = marketplaceActs(this.settings.taskQueues.acknowledge);
    this.warehouse = warehouseActs(this.settings.taskQueues.fulfilment ?? this.settings.taskQueues.peoplevox);
  }

  note(step: string, detail?: string): void {
    this.mailbox.log(step, detail);
  }

  /** Search attributes: what the exception queue, the dashboard and the Web UI filter on (no personal data). */
  publish(): void {
    const s = this.state;
    upsertSearchAttributes(
      searchAttributeUpdates({
        Channel: s.channel,
        MarketplaceOrderId: s.orderId,
        OrderStatus: s.exception ? 'EXCEPTION' : s.status,
        // null removes the attribute once the exception is cleared.
        ExceptionReason: s.exception?.reason ?? null,
        Owner: s.exception?.owner ?? null,
        WmsOrderNumber: s.salesOrderNumber,
        AcceptanceDeadline: s.acceptanceDeadline ? new Date(s.acceptanceDeadline) : undefined,
        ShippingDeadline: s.shippingDeadline ? new Date(s.shippingDeadline) : undefined,
      }),
    );
  }

  setStatus(status: OrderStatus, detail?: string): void {
    this.state.status = status;
    this.note(status, detail);
    this.publish();
  }

  async alert(input: Omit<AlertInput, 'channel' | 'orderId'>): Promise<void> {
    await settingsActs.raiseAlert({ ...input, channel: this.state.channel, orderId: this.state.orderId });
  }

  /** Runs a step; a business failure parks the order until an operator acts. */
  async step<T>(name: string, fn: () => Promise<T>, opts: { cancelling?: boolean } = {}): Promise<T | 'resolved'> {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof OrderCancelled) throw err;
        await this.park(toException(err, name, this.state.orderId, Date.now()));
        const action = await this.waitForOperator(opts.cancelling === true);
        // While the order is being cancelled, an operator's cancel means "stop trying": nothing to cancel twice.
        if (opts.cancelling && action.kind === 'cancel') {
          this.note('resolved', action.note ?? name);
          return 'resolved';
        }
        if (action.kind === 'retry') {
          this.note('retry', name);
          continue;
        }
        if (action.kind === 'resolve') {
          this.note('resolved', action.note ?? name);
          return 'resolved';
        }
        throw new OrderCancelled(action.note ?? 'cancelled by an operator');
      }
    }
  }

  async park(exception: OrderException): Promise<void> {
    this.mailbox.open(exception);
    await this.alert({
      key: `exception:${this.state.channel}:${this.state.orderId}:${exception.reason}`,
      kind: 'exception',
      reason: exception.reason,
      owner: exception.owner,
      message: exception.message,
    });
  }

  /** The next operator action; a marketplace cancellation also releases a parked order (unless it is what we handle). */
  async waitForOperator(operatorOnly = false): Promise<OperatorAction> {
    await condition(
      () =>
        this.mailbox.pending() !== undefined ||
        (!operatorOnly && (this.order.state === 'CANCELED' || this.order.state === 'REFUSED')),
    );
    const action: OperatorAction = this.mailbox.take() ?? {
      kind: 'cancel',
      note: `marketplace state ${this.order.state}`,
    };
    this.clearException();
    return action;
  }

  /** Clears the exception; an action still pending is dropped (its update returns the state as it is now). */
  clearException(): void {
    this.mailbox.take();
    this.mailbox.clear();
    this.mailbox.done();
  }

  /** The order's lines less those refused at acceptance for stock (they never reach the warehouse). */
  liveLines() {
    return this.order.lines.filter((l) => !this.state.refusedLines?.includes(l.lineId));
  }

  continueAsNewSuggested(): boolean {
    return workflowInfo().continueAsNewSuggested;
  }
}

/** The message of an activity's failure (its cause), for the timeline and alerts. */
export function failureMessage(err: unknown): string {
  return err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
}
