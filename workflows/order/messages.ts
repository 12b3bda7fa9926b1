// The order workflow's contract with the rest of Loopline: every signal, update and query, its input and its
// state. Callers (intake, webhooks, despatch sweep, ops, CLI, bench, tests) import these definitions; nothing
// names a message by string.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Despatch, MarketplaceOrder } from '../../src/domain/order';
import type { OrderException } from '../../src/domain/reasons';
import type { LineProgress } from '../../src/domain/despatch';
import type { RefundCalculation, RefundNotice } from '../../activities/shopify';
import { operatorMessages, type TimelineEntry } from '../exception-mailbox';

export type { TimelineEntry } from '../exception-mailbox';
// Returns (workflows/returns/): the order starts a child per return; these are the messages between them.
export {
  returnNotifiedSignal,
  returnRefundRequestSignal,
  returnSettledSignal,
  type ReturnHandover,
  type OrderReturnEntry,
} from '../returns/messages';
import type { OrderReturnEntry, ReturnRefundAnswer } from '../returns/messages';

export type OrderStatus =
  | 'RECEIVED'
  | 'AWAITING_ACCEPTANCE'
  | 'ACCEPTED'
  | 'VALIDATED'
  | 'IN_WAREHOUSE'
  | 'PARTIALLY_SHIPPED'
  | 'SHIPPED'
  | 'CLOSED'
  | 'CANCELLED'
  | 'REFUSED';

/** The intake saw a newer version of the order on the marketplace (state, addresses, cancellations). */
export const orderUpdatedSignal = defineSignal<[MarketplaceOrder]>('orderUpdated');
/** The warehouse reported a despatch (TrackingNumberReceived callback or the despatch sweep). */
export const despatchNotifiedSignal = defineSignal<[DespatchNotice]>('despatchNotified');
/** The fulfilment system refunded lines (Shopify refunds/create): refunded on the marketplace per line. */
export const refundNotifiedSignal = defineSignal<[RefundNotice]>('refundNotified');

/** The warehouse gateway's answer to this order's request for its warehouse order (workflows/warehouse-gateway.ts). */
export const warehouseResultSignal = defineSignal<[WarehouseResult]>('warehouseResult');
/** What the gateway's batch needs to build this order's warehouse rows (read when its batch is saved). */
export const warehouseRequestQuery = defineQuery<WarehouseRequest | undefined>('warehouseRequest');

/** An order's place in a warehouse batch: who asked, for which sales order number. No order data. */
export interface WarehouseRef {
  workflowId: string;
  channel: string;
  orderId: string;
  salesOrderNumber: string;
}

export type WarehouseResult = { ref: WarehouseRef } & (
  | { outcome: 'created' | 'exists' }
  | { outcome: 'rejected'; message: string }
  | { outcome: 'taken'; reference: string }
  /** Peoplevox did not answer through the batch's retries: the order parks and heals by itself. */
  | { outcome: 'unavailable'; message: string }
  /** The batch could not read this order (its workflow did not answer): it asks again. */
  | { outcome: 'retry'; message: string }
);

export interface WarehouseRequest {
  /** The order as the warehouse gets it: the lines refused at acceptance already left out. */
  order: MarketplaceOrder;
  salesOrderNumber: string;
}

// The operator updates and the state query are the exception mailbox's (one definition for every workflow that
// parks); these are the same definitions, typed with the order's state.
const operator = operatorMessages<OrderWorkflowState>();
export const orderRetryUpdate = operator.retry;
export const orderResolveUpdate = operator.resolve;
export const orderCancelUpdate = operator.cancel;
export const orderStateQuery = operator.state;

export interface DespatchNotice {
  despatchNumber: string;
  /** Full despatch when known (sweep, Shopify webhook); a Peoplevox callback only carries number and tracking. */
  despatch?: Despatch;
  trackingNumber?: string;
  carrier?: string;
}

export interface OrderWorkflowInput {
  channel: string;
  orderId: string;
  /** The order as the intake read it. */
  order: MarketplaceOrder;
  /** Carried across continue-as-new. */
  resume?: OrderWorkflowState;
}

export interface DespatchRecord {
  despatchNumber: string;
  trackingNumber?: string;
  carrier?: string;
  lines: Array<{ lineId: string; quantity: number }>;
  confirmed: boolean;
}

export interface OrderWorkflowState {
  channel: string;
  orderId: string;
  status: OrderStatus;
  marketplaceState: string;
  /** The warehouse order's number once it exists (or, for Peoplevox, as decided before the first create). */
  salesOrderNumber?: string;
  /** Decided once, before the first create, and kept: a config change mid-create cannot move it. */
  plannedSalesOrderNumber?: string;
  exception?: OrderException;
  /** Exceptions already handled, newest last (bounded). */
  pastExceptions: OrderException[];
  lines: LineProgress[];
  despatches: DespatchRecord[];
  acceptanceDeadline?: string;
  shippingDeadline?: string;
  alertsSent: string[];
  timeline: TimelineEntry[];
  acceptedAt?: number;
  /** Lines refused at acceptance because the stock was gone (refuse-line policy): not sent to the warehouse. */
  refusedLines?: string[];
  warehouseCreatedAt?: number;
  shippedAt?: number;
  /** Refunds from the fulfilment system and what was sent to the marketplace for each (audit). */
  refunds?: Array<RefundCalculation & { at: number; error?: string }>;
  /** Refund ids taken (done or in flight), carried across continue-as-new so none is made twice. */
  refundsSeen?: string[];
  /** Times the order parked because a system was down and healed without a person (SYSTEM_UNAVAILABLE). */
  outagesHealed?: number;
  /** Deadlines that passed before the order got there (ACCEPTANCE_/SHIPPING_DEADLINE_PASSED raised). */
  deadlinesPassed?: string[];
  /** The order's returns (child workflows), open and settled (bounded). */
  returns?: OrderReturnEntry[];
  /** Every refund id Loopline's return refunds claimed on this order (never matched as another's). */
  returnRefundIds?: string[];
  /** Answers to return refund requests, for a repeated request (bounded). */
  returnAnswers?: ReturnRefundAnswer[];
}
