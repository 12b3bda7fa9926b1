// Phase 5, returns: the order stays open while its return window or any of its returns is open, and every
// return is a child workflow of the order (its history shows each one). Beside the main flow:
//   - a return notice (marketplace return, Reveni, warehouse receipt) starts the return's child workflow, or
//     is forwarded to the child already running (deduplicated by the return's key);
//   - return refunds are sent one at a time per order, from here, with every refund id Loopline claimed on
//     the order: a refund whose response was lost is found as this one, never as another return's;
//   - a warehouse receipt is forwarded to a marketplace return of the order waiting for its goods.
// New runs carry the patch marker `order-returns-v1`; older histories keep the plain return window.
import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import type { MarketplaceRefundActivities } from '../../activities/marketplace-refund';
import { returnWorkflowId } from '../../src/domain/keys';
import { initialSearchAttributes } from '../../src/temporal/search-attributes';
import {
  receiptForwardedSignal,
  refundResultSignal,
  returnNotifiedSignal,
  returnRefundRequestSignal,
  returnSettledSignal,
  returnUpdatedSignal,
  returnWorkflow,
  type OrderReturnEntry,
  type ReceiptForward,
  type ReturnHandover,
  type ReturnRefundAnswer,
  type ReturnRefundRequest,
} from '../returns';
import { renew } from './despatch';
import type { OrderRun } from './run';
import type { orderWorkflow } from './index';

/** Refund answers kept for repeated requests (newest last). */
const MAX_ANSWERS = 50;
/** Return entries kept on the order (open ones always). */
const MAX_RETURNS = 100;

export class OrderReturns {
  /** New runs: the order stays open for its returns (the patch marker). */
  readonly enabled: boolean;
  private chain: Promise<void> = Promise.resolve();
  private busy = 0;

  constructor(private readonly run: OrderRun) {
    this.enabled = run.has('order-returns-v1');
    const { state } = run;
    setHandler(returnNotifiedSignal, (h) => this.serial(() => this.take(h)));
    setHandler(returnRefundRequestSignal, (req) => this.serial(() => this.refund(req)));
    setHandler(returnSettledSignal, (s) => {
      const e = state.returns?.find((r) => r.returnKey === s.returnKey);
      if (!e) return;
      e.open = false;
      e.status = s.status;
      if (s.refundedMinor !== undefined) e.refundedMinor = s.refundedMinor;
      if (s.refundIds) e.refundIds = s.refundIds;
      run.note('return settled', `${s.returnKey}: ${s.status}`);
      if (s.receipt) {
        e.receipt = s.receipt;
        void this.serial(() => this.forwardReceipt(s.receipt!));
      }
    });
  }

  /** One handler's work at a time (children started, refunds sent, receipts forwarded). */
  private async serial(fn: () => Promise<void>): Promise<void> {
    this.busy++;
    const next = this.chain.then(fn);
    this.chain = next.catch(() => undefined);
    try {
      await next;
    } finally {
      this.busy--;
    }
  }

  private entries(): OrderReturnEntry[] {
    return (this.run.state.returns ??= []);
  }

  /** When the return window ends (epoch ms), once the order has shipped. */
  windowEndsAt(): number | undefined {
    const s = this.run.state;
    if (s.shippedAt === undefined || !this.run.settings) return undefined;
    return s.shippedAt + this.run.settings.returnWindowDays * 86_400_000;
  }

  private async take(h: ReturnHandover): Promise<void> {
    const { state } = this.run;
    const n = h.notice;
    const existing = this.entries().find((r) => r.returnKey === n.returnKey);
    const workflowId = returnWorkflowId(state.channel, n.returnKey);
    if (existing) {
      // The same return read again (a poll, a redelivered webhook): the child judges whether it is newer.
      if (existing.open) await this.tell(workflowId, n);
      return;
    }
    // On a warehouse route the goods of a marketplace return may have been booked in already.
    const receipt =
      h.mode === 'warehouse' && n.origin === 'marketplace'
        ? this.entries().find((r) => r.origin === 'warehouse' && r.receipt && !this.receiptUsed(r.receipt))?.receipt
        : undefined;
    const entry: OrderReturnEntry = {
      returnKey: n.returnKey,
      workflowId,
      origin: n.origin,
      open: true,
      startedAt: Date.now(),
      ...(receipt ? { receiptForwarded: true, receipt } : {}),
    };
    this.entries().push(entry);
    this.trim();
    try {
      await startChild(returnWorkflow, {
        workflowId,
        args: [
          {
            channel: state.channel,
            returnKey: n.returnKey,
            notice: n,
            mode: h.mode,
            orderWorkflowId: workflowInfo().workflowId,
            windowEndsAt: this.windowEndsAt(),
            ...(receipt ? { receipt } : {}),
          },
        ],
        // The return outlives a continue-as-new of the order; it tells the order when it is over.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: initialSearchAttributes({
          Channel: state.channel,
          MarketplaceOrderId: state.orderId,
          OrderStatus: 'RETURN_REQUESTED',
        }),
      });
      this.run.note('return', `${n.origin} return ${n.sourceId} (${n.lines.length} line(s)) → ${workflowId}`);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // Started on its own before (the order was not reachable then): it goes on there.
      entry.open = false;
      this.run.note('return already followed', workflowId);
      await this.tell(workflowId, n);
    }
  }

  private receiptUsed(r: ReceiptForward): boolean {
    return this.entries().some((e) => e.origin === 'marketplace' && e.receipt?.returnCode === r.returnCode);
  }

  private async tell(workflowId: string, n: ReturnHandover['notice']): Promise<void> {
    try {
      await getExternalWorkflowHandle(workflowId).signal(returnUpdatedSignal, n);
    } catch {
      // The return has finished: nothing more to tell it.
    }
  }

  /** A receipt's goods, to the first marketplace return of the order still waiting for goods. */
  private async forwardReceipt(r: ReceiptForward): Promise<void> {
    const waiting = this.entries().find((e) => e.origin === 'marketplace' && e.open && !e.receiptForwarded);
    if (!waiting) return;
    waiting.receiptForwarded = true;
    waiting.receipt = r;
    try {
      await getExternalWorkflowHandle(waiting.workflowId).signal(receiptForwardedSignal, r);
      this.run.note('receipt forwarded', `${r.returnCode} → ${waiting.returnKey}`);
    } catch {
      waiting.receiptForwarded = false;
    }
  }

  /** Sends one return's refund (the answer goes back to the return); repeated requests get the same answer. */
  private async refund(req: ReturnRefundRequest): Promise<void> {
    const { state } = this.run;
    const answers = (state.returnAnswers ??= []);
    let answer = answers.find((a) => a.requestId === req.requestId);
    if (!answer) {
      await condition(() => this.run.settings !== undefined);
      const claimed = [...(state.returnRefundIds ?? []), ...this.entries().flatMap((e) => e.refundIds ?? [])];
      const acts = proxyActivities<MarketplaceRefundActivities>({
        taskQueue: this.run.settings.taskQueues.acknowledge,
        startToCloseTimeout: '2m',
        retry: {
          initialInterval: this.run.settings.transportRetry?.initialIntervalMs ?? 2000,
          maximumInterval: this.run.settings.transportRetry?.maximumIntervalMs ?? 120_000,
          backoffCoefficient: 2,
          maximumAttempts: this.run.settings.transportRetry?.maximumAttempts ?? 15,
        },
      });
      try {
        const r = await acts.refundReturnLines({
          channel: state.channel,
          orderId: state.orderId,
          returnKey: req.returnKey,
          returnId: req.returnId,
          lines: req.lines,
          ownRefundIds: req.ownRefundIds,
          claimedRefundIds: [...new Set(claimed)],
          triggerAt: req.triggerAt,
        });
        state.returnRefundIds = [...new Set([...(state.returnRefundIds ?? []), ...Object.values(r.refundIds)])].slice(
          -500,
        );
        answer = { requestId: req.requestId, ok: true, record: r };
        this.run.note(
          'return refund',
          `${req.returnKey}: ${r.sent.length} line(s) refunded${r.found.length ? `, ${r.found.length} found already refunded` : ''} (${r.calculation.totalMinor} minor units)`,
        );
      } catch (err) {
        const f = err instanceof ActivityFailure ? err.cause : err;
        const app = f instanceof ApplicationFailure ? f : undefined;
        answer = {
          requestId: req.requestId,
          ok: false,
          failure: {
            reason: app?.type ?? 'UNEXPECTED_ERROR',
            message: app?.message ?? String(f),
            details: (app?.details?.[0] ?? {}) as Record<string, string | number | undefined>,
          },
        };
        this.run.note('return refund failed', `${req.returnKey}: ${answer.failure.message}`);
      }
      answers.push(answer);
      if (answers.length > MAX_ANSWERS) answers.splice(0, answers.length - MAX_ANSWERS);
    }
    try {
      await getExternalWorkflowHandle(req.returnWorkflowId).signal(refundResultSignal, answer as ReturnRefundAnswer);
    } catch {
      this.run.note('refund answer not delivered', req.returnKey);
    }
  }

  private trim(): void {
    const list = this.entries();
    if (list.length <= MAX_RETURNS) return;
    const closed = list.filter((e) => !e.open);
    for (const e of closed.slice(0, list.length - MAX_RETURNS)) list.splice(list.indexOf(e), 1);
  }

  open(): boolean {
    return this.busy > 0 || this.entries().some((e) => e.open);
  }

  /**
   * After shipment: open until the return window has passed (or the marketplace closed the order) and no
   * return is open; continues-as-new when the history grows (returns carry on, and report to the new run).
   */
  async awaitReturns(input: Parameters<typeof orderWorkflow>[0]): Promise<void> {
    const { run } = this;
    const until = this.windowEndsAt() ?? Date.now();
    const windowOver = () => Date.now() >= until || run.order.state === 'CLOSED';
    for (;;) {
      const done = () => windowOver() && !this.open();
      const wake = () => done() || workflowInfo().continueAsNewSuggested;
      const left = until - Date.now();
      if (left > 0 && !windowOver()) await condition(wake, left);
      else await condition(wake);
      if (done()) return;
      if (workflowInfo().continueAsNewSuggested) {
        await renew(run);
        await continueAsNew<typeof orderWorkflow>({ ...input, order: run.order, resume: run.state });
      }
    }
  }
}
