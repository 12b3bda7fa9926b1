// One return's run: its state, the settings, the activities bound to the channel's queues, and `step`, which
// runs an effect and parks the return in the exception mailbox when it fails (an outage heals by itself with
// a capped backoff; a business failure waits for a person). The lifecycle is index.ts.
import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ReturnActivities, ReturnSettings } from '../../activities/returns';
import type { MarketplaceRefundActivities } from '../../activities/marketplace-refund';
import type { OrderActivities } from '../../activities/order';
import { makeException, type OrderException, type ReasonCode } from '../../src/domain/reasons';
import type { ReturnProblem } from '../../src/domain/returns';
import { reveniRank } from '../../src/connectors/reveni/map';
import { searchAttributeUpdates } from '../../src/temporal/search-attributes';
import { exceptionMailbox, type ExceptionMailbox, type OperatorAction } from '../exception-mailbox';
import { isOutage, outageRetryDelayMs, toException } from '../order/failures';
import {
  receiptForwardedSignal,
  refundResultSignal,
  returnSettledSignal,
  returnStateQuery,
  returnUpdatedSignal,
  reveniUpdatedSignal,
  type ReceiptForward,
  type ReturnRefundAnswer,
  type ReturnStatus,
  type ReturnWorkflowInput,
  type ReturnWorkflowState,
} from './messages';

const TIMELINE_MAX = 120;
const FINAL: readonly ReturnStatus[] = ['CLOSED', 'REFUSED', 'CANCELLED', 'RESOLVED'];

/** Thrown to leave the normal flow: the return is refused or cancelled (at the source, or by an operator). */
export class ReturnCancelled extends Error {
  constructor(
    message: string,
    /** Cancelled at the source already: nothing to cancel at the marketplace. */
    readonly atSource = false,
  ) {
    super(message);
  }
}

/** Thrown by an operator's resolve of a step after which nothing is left to do: the return ends RESOLVED. */
export class ReturnResolved extends Error {}

const settingsActs = proxyActivities<Pick<ReturnActivities, 'returnSettings'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 12 },
});
const alertActs = proxyActivities<Pick<OrderActivities, 'raiseAlert'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 5 },
});

function retryPolicy(r: ReturnSettings['transportRetry']) {
  return {
    initialInterval: r.initialIntervalMs,
    maximumInterval: r.maximumIntervalMs,
    backoffCoefficient: 2,
    maximumAttempts: r.maximumAttempts,
  };
}

function bindActivities(s: ReturnSettings) {
  const retry = retryPolicy(s.transportRetry);
  return {
    reads: proxyActivities<
      Pick<
        ReturnActivities,
        'readOrderForReturn' | 'readMarketplaceReturn' | 'readReveniReturn' | 'orderWorkflowStatus' | 'restockReturned'
      >
    >({ taskQueue: s.taskQueues.orders, startToCloseTimeout: '1m', retry }),
    platform: proxyActivities<Pick<ReturnActivities, 'registerWithReveni'>>({
      taskQueue: s.taskQueues.orders,
      startToCloseTimeout: '1m',
      retry,
    }),
    marketplace: proxyActivities<Pick<ReturnActivities, 'marketplaceReturnAction'>>({
      taskQueue: s.taskQueues.marketplace,
      startToCloseTimeout: '1m',
      retry,
    }),
    refunds: proxyActivities<MarketplaceRefundActivities>({
      taskQueue: s.taskQueues.marketplace,
      startToCloseTimeout: '2m',
      retry,
    }),
  };
}
export type ReturnActs = ReturnType<typeof bindActivities>;

export interface StepOptions {
  /** False when "resolve" leaves nothing to go on with (settings, the order): retry or cancel only. */
  resolvable?: boolean;
  /** The step belongs to the cancellation: an operator's cancel means "stop trying". */
  cancelling?: boolean;
}

export class ReturnRun {
  readonly state: ReturnWorkflowState;
  settings!: ReturnSettings;
  acts!: ReturnActs;
  readonly mailbox: ExceptionMailbox;
  /** Newer news to look at (a notice, a Reveni read-back, a forwarded receipt). */
  news = 0;
  answers = new Map<string, ReturnRefundAnswer>();
  private parkedResolvable = true;
  /** An operator action is being carried out: its update returns when finishAction() is called. */
  private inFlight = false;

  constructor(readonly input: ReturnWorkflowInput) {
    const n = input.notice;
    this.state = {
      kind: 'return',
      channel: input.channel,
      returnKey: input.returnKey,
      orderId: n.orderId,
      origin: n.origin,
      mode: input.mode,
      status: 'REQUESTED',
      source: n,
      ...(n.origin === 'marketplace' ? { marketplaceReturn: { id: n.sourceId, state: n.sourceState } } : {}),
      lines: [],
      restocks: [],
      requestedAt: Date.now(),
      pastExceptions: [],
      timeline: [],
      notices: 1,
    };
    if (input.receipt) this.state.receipt = { ...input.receipt, receivedAt: Date.now() };
    this.mailbox = exceptionMailbox(this.state, {
      describe: `return ${input.returnKey} (order ${n.orderId})`,
      timelineMax: TIMELINE_MAX,
      publish: () => this.publish(),
      canCancel: () => this.canCancel(),
      canResolve: () => {
        if (!this.parkedResolvable)
          throw new Error(`return ${input.returnKey}: this step cannot be marked handled by hand; retry it or cancel`);
      },
    });
    const s = this.state;
    setHandler(returnStateQuery, () => s);
    setHandler(returnUpdatedSignal, (notice) => {
      if (notice.returnKey !== s.returnKey && notice.sourceId !== s.marketplaceReturn?.id) return;
      if (notice.updatedAt < s.source.updatedAt) return;
      s.notices++;
      if (notice.origin === s.origin) s.source = notice;
      if (notice.origin === 'marketplace' && s.marketplaceReturn) s.marketplaceReturn.state = notice.sourceState;
      this.news++;
    });
    setHandler(reveniUpdatedSignal, (snap) => {
      // Statuses only move forward: a late or repeated webhook never takes the return back.
      if (s.reveni && s.reveni.id !== snap.id) return;
      if (s.reveni && reveniRank(snap.status) < reveniRank(s.reveni.status)) return;
      if (s.reveni && (snap.updatedAt ?? '') < (s.reveni.updatedAt ?? '')) return;
      s.reveni = snap;
      s.notices++;
      this.news++;
    });
    setHandler(receiptForwardedSignal, (r: ReceiptForward) => {
      if (s.receipt) return;
      s.receipt = { ...r, receivedAt: Date.now() };
      this.news++;
    });
    setHandler(refundResultSignal, (a) => {
      this.answers.set(a.requestId, a);
    });
  }

  async loadSettings(): Promise<void> {
    const r = await this.step('read return settings', () => settingsActs.returnSettings(this.state.channel), {
      resolvable: false,
    });
    this.settings = r as ReturnSettings;
    this.acts = bindActivities(this.settings);
  }

  note(step: string, detail?: string): void {
    this.mailbox.log(step, detail);
  }

  publish(): void {
    const s = this.state;
    upsertSearchAttributes(
      searchAttributeUpdates({
        Channel: s.channel,
        MarketplaceOrderId: s.orderId || undefined,
        OrderStatus: s.exception ? 'EXCEPTION' : `RETURN_${s.status}`,
        ExceptionReason: s.exception?.reason ?? null,
        Owner: s.exception?.owner ?? null,
      }),
    );
  }

  setStatus(status: ReturnStatus, detail?: string): void {
    this.state.status = status;
    this.note(status, detail);
    this.publish();
  }

  /** An exception from a problem found by the domain (named reason, details, field). */
  problem(p: ReturnProblem): OrderException {
    return makeException(p.reason, { orderId: this.state.orderId, ...p.details }, Date.now(), p.field);
  }

  exception(reason: ReasonCode, details: Record<string, string | number | undefined>): OrderException {
    return makeException(reason, { returnId: this.returnId(), orderId: this.state.orderId, ...details }, Date.now());
  }

  /** The id people know the return by: the source's. */
  returnId(): string {
    return this.state.source.sourceId;
  }

  async alert(e: OrderException): Promise<void> {
    try {
      await alertActs.raiseAlert({
        key: `return-exception:${this.state.channel}:${this.state.returnKey}:${e.reason}`,
        kind: 'exception',
        channel: this.state.channel,
        orderId: this.state.orderId,
        reason: e.reason,
        owner: e.owner,
        message: e.message,
      });
    } catch {
      this.note('alert not delivered', e.reason);
    }
  }

  private canCancel(): void {
    const s = this.state;
    const who = `return ${s.returnKey}`;
    if (FINAL.includes(s.status)) throw new Error(`${who} is already ${s.status}`);
    if (s.refund) throw new Error(`${who} cannot be cancelled: it has been refunded`);
    if (this.mailbox.pending()) throw new Error(`${who}: another operator action is in progress`);
  }

  /** An operator asked to cancel (refuse) the return and nothing took it yet. */
  cancelRequested(): boolean {
    return this.mailbox.pending()?.kind === 'cancel';
  }

  honourCancel(): void {
    if (!this.cancelRequested()) return;
    const a = this.take()!;
    throw new ReturnCancelled(a.note ?? 'cancelled by an operator');
  }

  private take(): OperatorAction | undefined {
    const a = this.mailbox.take();
    if (a) this.inFlight = true;
    return a;
  }

  /** The operator action being carried out is done: its update returns the state as it is now. */
  finishAction(): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    this.mailbox.done();
  }

  /**
   * Parks the return on an exception (alerted once) until an operator acts; the action that led here (a retry
   * that met the problem again) returns now, showing it. The exception is cleared for the caller to carry the
   * new action out; that action returns at finishAction() (the next park, a success, or the return's end).
   */
  async park(e: OrderException, resolvable = true): Promise<OperatorAction> {
    this.parkedResolvable = resolvable;
    const again = this.inFlight && this.state.pastExceptions.at(-1)?.reason === e.reason;
    this.mailbox.open(e);
    if (!again) await this.alert(e);
    this.finishAction();
    const a = (await this.waitForOperator()) as OperatorAction;
    this.mailbox.clear();
    return a;
  }

  private async waitForOperator(timeoutMs?: number): Promise<OperatorAction | 'timeout'> {
    const wake = () => this.mailbox.pending() !== undefined;
    if (timeoutMs === undefined) await condition(wake);
    else if (!(await condition(wake, timeoutMs))) return 'timeout';
    return this.take()!;
  }

  /**
   * Runs an effect; a business failure parks the return (retry runs it again, resolve skips it when the step
   * allows, cancel refuses the return); an outage parks it and retries by itself until the system answers.
   */
  async step<T>(name: string, fn: () => Promise<T>, opts: StepOptions = {}): Promise<T | 'resolved'> {
    let outageAttempt = 0;
    // Whether an operator's action was taken while this step was parked (then it returns when the step worked);
    // an action taken earlier (a retry of an exception this step does not own) is the caller's to finish.
    let tookHere = false;
    for (;;) {
      try {
        const r = await fn();
        if (this.state.exception) {
          if (outageAttempt > 0) {
            this.state.outagesHealed = (this.state.outagesHealed ?? 0) + 1;
            this.note('healed', `${name} worked again after ${outageAttempt} automatic retries`);
          }
          this.mailbox.clear();
        }
        // A retry returns once the step has worked (or parked again: see below), with its outcome.
        if (tookHere) this.finishAction();
        return r;
      } catch (err) {
        if (err instanceof ReturnCancelled || err instanceof ReturnResolved) throw err;
        const e = retag(toException(err, name, this.state.orderId, Date.now()), this);
        const healing = isOutage(e);
        const same = healing && outageAttempt > 0 && this.state.exception?.reason === e.reason;
        this.parkedResolvable = opts.resolvable !== false;
        if (!same) {
          this.mailbox.open(e);
          await this.alert(e);
        } else this.state.exception = { ...e, at: this.state.exception!.at };
        this.finishAction();
        const action = await this.waitForOperator(
          healing
            ? outageRetryDelayMs(outageAttempt, this.settings?.outageRetry ?? { initialMs: 60_000, maxMs: 1_800_000 })
            : undefined,
        );
        if (action === 'timeout') {
          outageAttempt++;
          this.note('automatic retry', `${name} (attempt ${outageAttempt + 1})`);
          continue;
        }
        this.mailbox.clear();
        tookHere = true;
        outageAttempt = 0;
        if (action.kind === 'retry') {
          this.note('retry', name);
          continue;
        }
        if (action.kind === 'resolve' || opts.cancelling) {
          this.note(action.kind === 'resolve' ? 'resolved' : 'stopped', action.note ?? name);
          this.finishAction();
          return 'resolved';
        }
        throw new ReturnCancelled(action.note ?? 'cancelled by an operator');
      }
    }
  }

  /**
   * Waits for news (a newer notice, a Reveni read-back, a receipt), an operator's cancel, or `pollMs`.
   * Returns false when the wait timed out (the caller reads the source again: the backstop).
   */
  async waitForNews(pollMs: number): Promise<boolean> {
    const seen = this.news;
    const woke = await condition(() => this.news !== seen || this.cancelRequested(), pollMs);
    this.honourCancel();
    return woke;
  }

  /** Tells the order workflow the return is over (best-effort: it may have finished already). */
  async settle(extra: { receipt?: ReceiptForward } = {}): Promise<void> {
    const parent = this.input.orderWorkflowId;
    if (!parent) return;
    const s = this.state;
    try {
      await getExternalWorkflowHandle(parent).signal(returnSettledSignal, {
        returnKey: s.returnKey,
        status: s.status,
        ...(s.refund
          ? { refundedMinor: s.refund.calculation.totalMinor, refundIds: Object.values(s.refund.refundIds) }
          : {}),
        ...extra,
      });
    } catch {
      this.note('order workflow not told', 'it had finished');
    }
  }

  workflowId(): string {
    return workflowInfo().workflowId;
  }
}

/** SYSTEM_UNAVAILABLE and UNEXPECTED_ERROR name the order: say it is a return. */
function retag(e: OrderException, run: ReturnRun): OrderException {
  if (e.reason === 'SYSTEM_UNAVAILABLE' || e.reason === 'UNEXPECTED_ERROR')
    return { ...e, message: e.message.replace(/^Order (\S+):/, `Return ${run.returnId()} of order $1:`) };
  if (e.details.returnId === undefined) return { ...e, details: { ...e.details, returnId: run.returnId() } };
  return e;
}

/** An answer's failure as the ApplicationFailure the step turns into an exception. */
export function answerFailure(a: Extract<ReturnRefundAnswer, { ok: false }>): ApplicationFailure {
  return ApplicationFailure.create({
    message: a.failure.message,
    type: a.failure.reason,
    nonRetryable: true,
    details: [a.failure.details],
  });
}
