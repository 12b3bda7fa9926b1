// The return workflow's contract (one durable workflow per return, a child of its order's workflow), and the
// messages between a return and its order. Callers (the intake, the Reveni webhook, the receipt sweep, ops,
// the CLI, tests) import these definitions; nothing names a message by string.
import { defineSignal } from '@temporalio/workflow';
import type {
  ResolvedReturnLine,
  RefundCalculation,
  ReturnNotice,
  ReturnOrigin,
  ReturnsMode,
} from '../../src/domain/returns';
import type { ReveniSnapshot } from '../../src/connectors/reveni/map';
import type { OrderException } from '../../src/domain/reasons';
import { operatorMessages, type TimelineEntry } from '../exception-mailbox';

export type ReturnStatus =
  | 'REQUESTED'
  | 'ACCEPTED'
  | 'AWAITING_GOODS'
  | 'RECEIVED'
  | 'REFUNDED'
  | 'CLOSED'
  | 'REFUSED'
  | 'CANCELLED'
  | 'RESOLVED';

/** How a return reaches its order workflow: the notice and the channel's returns mode. */
export interface ReturnHandover {
  notice: ReturnNotice;
  mode: ReturnsMode;
}

/** A warehouse receipt forwarded to a marketplace return waiting for its goods (returns: warehouse). */
export interface ReceiptForward {
  /** The return that refunded the receipt (the receipt's own return workflow). */
  byReturnKey: string;
  returnCode: string;
  lines: Array<{ lineId: string; quantity: number }>;
}

export interface ReturnWorkflowInput {
  channel: string;
  returnKey: string;
  notice: ReturnNotice;
  mode: ReturnsMode;
  /** The order workflow that started this return (absent: it had finished, or never existed). */
  orderWorkflowId?: string;
  /** When the order's return window ends (epoch ms), as the order workflow knows it. */
  windowEndsAt?: number;
  /** No order workflow to run under: it had finished (with its final status), or Loopline never saw the order. */
  orphan?: { kind: 'order-closed' | 'order-unknown'; orderStatus?: string; closedAt?: number };
  /** A receipt another return already refunded (a marketplace return that arrived after its goods). */
  receipt?: ReceiptForward;
}

export interface ReturnRefundRecord {
  calculation: RefundCalculation;
  refundIds: Record<string, string>;
  found: string[];
  sent: string[];
  at: number;
  /** From the trigger (decision, receipt, received) to the marketplace accepting the refund. */
  latencyMs?: number;
}

export interface ReturnWorkflowState {
  kind: 'return';
  channel: string;
  returnKey: string;
  orderId: string;
  origin: ReturnOrigin;
  mode: ReturnsMode;
  status: ReturnStatus;
  /** The return in its source, as last read (state, reason, lines as sent). */
  source: ReturnNotice;
  /** The Mirakl return this one is (or goes with): its id and last state. */
  marketplaceReturn?: { id: string; state: string };
  /** The Reveni return, as last read back (no personal data). */
  reveni?: ReveniSnapshot;
  /** The warehouse receipt (returns: warehouse). */
  receipt?: ReceiptForward & { receivedAt: number };
  /** The return's lines once resolved against the order: order line, units, reason row, disposition. */
  lines: ResolvedReturnLine[];
  /** Lines accepted by the decision (units per line); absent until decided. */
  accepted?: Array<{ lineId: string; quantity: number }>;
  refund?: ReturnRefundRecord;
  restocks: Array<{ itemCode: string; units: number; decidedAt: number; kind: 'delta' | 'master'; channels: string[] }>;
  /** Reveni's figure against the marketplace's, when they differ (REFUND_AMOUNT_DISPUTED). */
  dispute?: { platform: string; theirsMinor: number; oursMinor: number; differenceMinor: number; currency: string };
  requestedAt: number;
  triggerAt?: number;
  closedAt?: number;
  exception?: OrderException;
  pastExceptions: OrderException[];
  timeline: TimelineEntry[];
  /** Notices taken (the newest per source wins). */
  notices: number;
  outagesHealed?: number;
}

/** A newer read of the return at its source (the marketplace's return, or the return itself). */
export const returnUpdatedSignal = defineSignal<[ReturnNotice]>('returnUpdated');
/** A Reveni webhook for this return: the return as read back from Reveni (never the webhook body alone). */
export const reveniUpdatedSignal = defineSignal<[ReveniSnapshot]>('reveniUpdated');
/** The goods of this marketplace return were booked in by another return (returns: warehouse). */
export const receiptForwardedSignal = defineSignal<[ReceiptForward]>('receiptForwarded');
/** The order workflow sent this return's refund (its answer to returnRefundRequestSignal). */
export const refundResultSignal = defineSignal<[ReturnRefundAnswer]>('refundResult');

export const returnOperator = operatorMessages<ReturnWorkflowState>();
export const returnRetryUpdate = returnOperator.retry;
export const returnResolveUpdate = returnOperator.resolve;
export const returnCancelUpdate = returnOperator.cancel;
export const returnStateQuery = returnOperator.state;

// ---- between a return and its order workflow ---------------------------------------------------------------

/** A return for this order (intake, webhook, sweep): the order workflow starts its child, or forwards it. */
export const returnNotifiedSignal = defineSignal<[ReturnHandover]>('returnNotified');

export interface ReturnRefundRequest {
  /** Unique per request: an answer is given once per id (a repeated request gets the same answer). */
  requestId: string;
  returnKey: string;
  returnWorkflowId: string;
  returnId: string;
  lines: Array<{ lineId: string; quantity: number; refundReason?: string }>;
  ownRefundIds: Record<string, string>;
  triggerAt?: number;
}

export type ReturnRefundAnswer =
  | { requestId: string; ok: true; record: ReturnRefundRecord }
  | {
      requestId: string;
      ok: false;
      failure: { reason: string; message: string; details: Record<string, string | number | undefined> };
    };

/** A return asks its order to send its refund: the order sends them one at a time (exactly once per line). */
export const returnRefundRequestSignal = defineSignal<[ReturnRefundRequest]>('returnRefundRequest');

export interface ReturnSettled {
  returnKey: string;
  status: ReturnStatus;
  refundedMinor?: number;
  refundIds?: string[];
  /** Lines received (a warehouse receipt): forwarded to a marketplace return of the order still waiting. */
  receipt?: ReceiptForward;
}
/** The return is over (or parked for good): the order workflow stops waiting for it. */
export const returnSettledSignal = defineSignal<[ReturnSettled]>('returnSettled');

/** What the order workflow keeps about each of its returns. */
export interface OrderReturnEntry {
  returnKey: string;
  workflowId: string;
  origin: ReturnOrigin;
  open: boolean;
  startedAt: number;
  status?: ReturnStatus;
  refundedMinor?: number;
  refundIds?: string[];
  /** A marketplace return on a warehouse route whose goods were forwarded to it. */
  receiptForwarded?: boolean;
  receipt?: ReceiptForward;
}
