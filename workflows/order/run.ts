// One order's run: its state, the order as last read, the settings, and the mechanics every phase shares —
// timeline, search attributes, alerts, operator actions, and `step`, which runs an effect and parks the order
// in the exception mailbox when it fails. Phases (acceptance.ts, validation.ts, …) are functions over an OrderRun.
//
// Outages park and heal: a step whose retries ran out on a transport failure parks as SYSTEM_UNAVAILABLE
// (naming the system and the step) and tries again by itself, with a capped backoff, until the system answers;
// only business failures wait for a person. Operator actions are honest: cancel is refused once anything
// shipped and is honoured at every wait; retry returns once the step has run again, with its outcome.
import { condition, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AlertInput, OrderSettings } from '../../activities/order';
import type { MarketplaceOrder } from '../../src/domain/order';
import type { OrderException } from '../../src/domain/reasons';
import { anyShipped } from '../../src/domain/despatch';
import { searchAttributeUpdates } from '../../src/temporal/search-attributes';
import { exceptionMailbox, type ExceptionMailbox, type OperatorAction } from '../exception-mailbox';
import {
  localLookupActs,
  localSettingsActs,
  lookupActs,
  marketplaceActs,
  settingsActs,
  warehouseActs,
  type LookupActs,
  type MarketplaceActs,
  type WarehouseActs,
} from './activities';
import { OrderCancelled, isOutage, outageRetryDelayMs, toException } from './failures';
import type { DespatchNotice, OrderStatus, OrderWorkflowInput, OrderWorkflowState, WarehouseResult } from './messages';

const MAX_TIMELINE = 200;
/** Despatch notices held at once (a flood of forged callbacks cannot grow the workflow without bound). */
export const MAX_PENDING_NOTICES = 100;
/** Automatic retries of a step parked by an outage, when the settings could not be read yet. */
const DEFAULT_OUTAGE_RETRY = { initialMs: 60_000, maxMs: 30 * 60_000 };
const FINAL: readonly OrderStatus[] = ['CANCELLED', 'REFUSED', 'CLOSED'];

export interface StepOptions {
  /** The step belongs to the cancellation: an operator's cancel means "stop trying" here. */
  cancelling?: boolean;
  /**
   * False when an operator's "resolve" would leave nothing sensible to carry on with (the channel's settings,
   * the item codes): the step can then only be retried, or the order cancelled. Default true.
   */
  resolvable?: boolean;
}

export class OrderRun {
  readonly state: OrderWorkflowState;
  /** The order as the marketplace last showed it. */
  order: MarketplaceOrder;
  readonly resumed: boolean;
  /**
   * Histories recorded before issue 10's lifecycle (outage healing, honest operator actions, deadline alerts at
   * the deadline, warehouse-first cancellation) replay the old command order; new runs carry this marker.
   */
  readonly v2: boolean;
  /**
   * New runs take every change the order workflow made behind a patch so far as one patch, 'order-v5': one marker
   * and one search-attribute upsert (the SDK upserts TemporalChangeVersion with each patch it records) instead of
   * six of each, 10 of an order's ~100 history events. Runs recorded before it replay through the separate
   * patches, each still asked where it always was (`has`).
   */
  readonly current: boolean;
  /**
   * 'order-v6' (new runs): settings, item codes and validation as local activities (activities.ts). Asked before
   * 'order-v5', which a v6 run then never asks: still one marker a run. Runs from before replay without it.
   */
  readonly v6: boolean;
  /** 'deadline-timers-chained' (workflows/order/deadlines.ts): asked at the first deadline armed, then kept. */
  chainedDeadlineTimers: boolean | undefined;
  settings!: OrderSettings;
  marketplace!: MarketplaceActs;
  warehouse!: WarehouseActs;
  /** Reads of the fulfilment system (an order's own despatches), on its bulk share of the budget. */
  warehouseReads!: WarehouseActs;
  lookups!: LookupActs;
  /** The warehouse gateway's answer to this order's request (warehouse.ts), when it has come. */
  warehouseResult?: WarehouseResult;
  /** Despatch notices not handled yet. */
  readonly notices: DespatchNotice[] = [];
  readonly mailbox: ExceptionMailbox;
  /** The operator action being carried out (its update returns when it is done). */
  private inFlight?: OperatorAction;
  /** The parked step can be resolved by hand. */
  private parkedResolvable = true;
  /** The cancellation path is running. */
  cancelling = false;

  constructor(readonly input: OrderWorkflowInput) {
    this.v6 = patched('order-v6');
    this.current = this.v6 || patched('order-v5');
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
    this.v2 = this.has('order-lifecycle-v2');
    this.mailbox = exceptionMailbox(this.state, {
      describe: `order ${input.orderId}`,
      timelineMax: MAX_TIMELINE,
      publish: () => this.publish(),
      canCancel: () => this.canCancel(),
      canResolve: () => {
        if (!this.parkedResolvable)
          throw new Error(
            `order ${input.orderId}: this step cannot be marked handled by hand; retry it once the cause is fixed, or cancel the order`,
          );
      },
    });
  }

  /** Reads the channel's settings (parking while they cannot be read) and binds the activities to its queues. */
  async loadSettings(): Promise<void> {
    const read = this.v6 ? localSettingsActs : settingsActs;
    const settings = await this.step('read channel settings', () => read.orderSettings(this.state.channel), {
      resolvable: false,
    });
    this.settings = settings as OrderSettings; // (never 'resolved': the step is not resolvable)
    const retry = this.settings.transportRetry;
    this.marketplace = marketplaceActs(this.settings.taskQueues.acknowledge, retry);
    this.lookups = this.v6 ? localLookupActs(retry) : lookupActs(retry);
    const q = this.settings.taskQueues;
    this.warehouse = warehouseActs(q.fulfilment ?? q.peoplevox, retry);
    this.warehouseReads = warehouseActs(q.fulfilmentReads ?? q.fulfilment ?? q.peoplevox, retry);
  }

  /** A change behind a patch: always there in a current run; in a run from before 'order-v5', its own patch. */
  has(patchId: string): boolean {
    return this.current || patched(patchId);
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

  /**
   * Best-effort: an alert that cannot be delivered is logged and counted by the activity, and noted here; it
   * never holds up or fails the order.
   */
  async alert(input: Omit<AlertInput, 'channel' | 'orderId'>): Promise<void> {
    try {
      await settingsActs.raiseAlert({ ...input, channel: this.state.channel, orderId: this.state.orderId });
    } catch (err) {
      if (!this.v2) throw err;
      this.note('alert not delivered', input.key);
    }
  }

  // ---- operator actions ---------------------------------------------------------------------------------

  /** Validator of cancel: refused once the order is over or anything has left the warehouse. */
  private canCancel(): void {
    if (!this.v2) return; // (runs from before the validator took any cancel)
    const s = this.state;
    const who = `order ${s.orderId}`;
    if (FINAL.includes(s.status)) throw new Error(`${who} is already ${s.status}`);
    if (this.cancelling) throw new Error(`${who} is being cancelled already`);
    const gone = s.despatches.map((d) => d.despatchNumber);
    if (gone.length > 0 || anyShipped(s.lines) || s.status === 'SHIPPED')
      throw new Error(
        `${who} cannot be cancelled: despatch ${gone.join(', ') || '(reported)'} has left the warehouse; refund or return it instead`,
      );
  }

  /** A cancel sent by an operator and not taken yet. */
  cancelRequested(): boolean {
    return this.v2 && this.mailbox.pending()?.kind === 'cancel';
  }

  /** Leaves the normal flow for the cancellation path when an operator asked to cancel. */
  honourCancel(): void {
    if (!this.cancelRequested()) return;
    const action = this.takeAction()!;
    throw new OrderCancelled(action.note ?? 'cancelled by an operator');
  }

  /** Takes the pending operator action. Before v2 its update returned at once; now when it has been carried out. */
  takeAction(): OperatorAction | undefined {
    const action = this.mailbox.take();
    if (!action) return undefined;
    if (this.v2) this.inFlight = action;
    else this.mailbox.done();
    return action;
  }

  /** The action in flight (if it is of this kind) has been carried out: its update returns now. */
  finishAction(...kinds: OperatorAction['kind'][]): void {
    if (!this.inFlight || (kinds.length > 0 && !kinds.includes(this.inFlight.kind))) return;
    this.inFlight = undefined;
    this.mailbox.done();
  }

  // ---- steps ----------------------------------------------------------------------------------------------

  /**
   * Runs an effect. A business failure parks the order until an operator retries, resolves (when the step is
   * resolvable) or cancels; an outage parks it and retries by itself with a capped backoff until it heals.
   */
  async step<T>(name: string, fn: () => Promise<T>, opts: StepOptions = {}): Promise<T | 'resolved'> {
    let outageAttempt = 0;
    for (;;) {
      try {
        const result = await fn();
        if (this.state.exception && this.v2) {
          // Healed (an automatic retry after an outage, or an operator's retry that worked).
          if (outageAttempt > 0) {
            this.state.outagesHealed = (this.state.outagesHealed ?? 0) + 1;
            this.note('healed', `${name} worked again after ${outageAttempt} automatic retries`);
          }
          this.mailbox.clear();
        }
        this.finishAction('retry');
        this.settleStrayAction();
        return result;
      } catch (err) {
        if (err instanceof OrderCancelled) throw err;
        const exception = toException(err, name, this.state.orderId, Date.now());
        const healing = this.v2 && isOutage(exception);
        // An automatic retry that failed again is the same incident: no new timeline entry or alert.
        const sameOutage = healing && outageAttempt > 0 && this.state.exception?.reason === exception.reason;
        this.parkedResolvable = opts.resolvable !== false;
        if (!sameOutage) await this.park(exception);
        else this.state.exception = { ...exception, at: this.state.exception!.at };
        // The action that led here (a retry that failed again, a cancel that met a problem) returns now.
        this.finishAction();
        const delay = healing ? outageRetryDelayMs(outageAttempt, this.outageRetry()) : undefined;
        const action = await this.waitForOperator(opts.cancelling === true, delay);
        if (action === 'timeout') {
          outageAttempt++;
          this.note('automatic retry', `${name} (attempt ${outageAttempt + 1}; ${exception.details.system ?? ''})`);
          continue;
        }
        this.clearException();
        outageAttempt = 0;
        // While the order is being cancelled, an operator's cancel means "stop trying": nothing to cancel twice.
        if (opts.cancelling && action.kind === 'cancel') {
          this.note('resolved', action.note ?? name);
          this.finishAction();
          return 'resolved';
        }
        if (action.kind === 'retry') {
          this.note('retry', name);
          continue;
        }
        if (action.kind === 'resolve') {
          this.note('resolved', action.note ?? name);
          this.finishAction();
          return 'resolved';
        }
        throw new OrderCancelled(action.note ?? 'cancelled by an operator');
      }
    }
  }

  private outageRetry(): { initialMs: number; maxMs: number } {
    return this.settings?.outageRetry ?? DEFAULT_OUTAGE_RETRY;
  }

  /** A retry or resolve sent while an automatic retry was healing the step: the step worked, so it is done. */
  private settleStrayAction(): void {
    const pending = this.mailbox.pending();
    if (!this.v2 || !pending || pending.kind === 'cancel') return;
    this.takeAction();
    this.finishAction();
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

  /**
   * The next operator action; a marketplace cancellation also releases a parked order (unless it is what we
   * handle). With `timeoutMs` (an outage), 'timeout' when the time for an automatic retry has come.
   */
  async waitForOperator(operatorOnly = false, timeoutMs?: number): Promise<OperatorAction | 'timeout'> {
    const released = () => !operatorOnly && (this.order.state === 'CANCELED' || this.order.state === 'REFUSED');
    const wake = () => this.mailbox.pending() !== undefined || released();
    // (condition without a timeout resolves to undefined, with one to whether it came true)
    if (timeoutMs === undefined) await condition(wake);
    else if (!(await condition(wake, timeoutMs))) return 'timeout';
    const action: OperatorAction = this.takeAction() ?? {
      kind: 'cancel',
      note: `marketplace state ${this.order.state}`,
    };
    return action;
  }

  /** Clears the exception; an action still pending is dropped (its update returns the state as it is now). */
  clearException(): void {
    if (!this.v2) {
      this.mailbox.take();
      this.mailbox.clear();
      this.mailbox.done();
      return;
    }
    this.mailbox.clear();
  }

  /** The order's lines less those refused at acceptance for stock (they never reach the warehouse). */
  liveLines() {
    return this.order.lines.filter((l) => !this.state.refusedLines?.includes(l.lineId));
  }

  continueAsNewSuggested(): boolean {
    return workflowInfo().continueAsNewSuggested;
  }
}
