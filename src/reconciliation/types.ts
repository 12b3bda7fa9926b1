// Payout reconciliation (docs/reconciliation.md): the records it works on, in integer minor units.
// Mirakl's side comes from SBC11 (billing cycles) and TL02 (transaction logs), mapped at the edge
// (src/reconciliation/mirakl.ts); Shopify's side comes from a ShopifyOrderSource (./shopify-source.ts).

/** One SBC11 billing cycle: the payout record. */
export interface BillingCycle {
  id: string;
  currency: string;
  dateCreated?: string;
  /** amount_transferred_to_seller: what the seller is paid for the cycle. */
  transferredToSellerMinor: number;
  transferredToOperatorMinor?: number;
  payOutState?: string;
  payOutReference?: string;
  paymentVoucherNumber?: string;
  /**
   * When the channel's billing cycle before this one was created (ISO), as SBC11 listed it; absent when it is
   * older than the look-back. Bounds the return refunds this cycle should carry (docs/reconciliation.md).
   */
  previousDateCreated?: string;
}

/** One TL02 transaction log row. `amountMinor` is signed from the seller's side (debits negative). */
export interface TransactionRow {
  id: string;
  type: string;
  amountMinor: number;
  currency: string;
  orderId?: string;
  lineId?: string;
  refundId?: string;
  feeCode?: string;
  paymentState?: string;
  dateCreated?: string;
}

/** A Shopify order as finance needs it, keyed by the Mirakl order it was imported from. */
export interface ShopifyOrderRecord {
  miraklOrderId: string;
  /** Shopify's id (gid://shopify/Order/…). */
  shopifyOrderId: string;
  /** The order name shown in the Shopify admin (#1001). */
  name?: string;
  currency: string;
  lines: ShopifyLineRecord[];
  /** Shipping lines of the order, tax included. Mirakl bills shipping per order line. */
  shippingMinor: number;
  /** Shipping refunded on the order, tax included. */
  shippingRefundedMinor: number;
}

export interface ShopifyLineRecord {
  /** The Mirakl order line id the Shopify line item was imported from. */
  miraklLineId: string;
  shopifyLineItemId?: string;
  sku?: string;
  quantity: number;
  /** Line total after discounts, tax included (Mirakl orders are TAX_INCLUDED). */
  amountMinor: number;
  taxMinor: number;
  /** Refunded on this line in Shopify, tax included. */
  refundedMinor: number;
}

/** Interface of whatever knows the Shopify orders: the Shopify connector, a simulator, or a test double. */
export interface ShopifyOrderSource {
  /** The Shopify orders imported from these Mirakl orders; ids Shopify has no order for are absent. */
  findOrdersByMiraklIds(miraklOrderIds: readonly string[]): Promise<Map<string, ShopifyOrderRecord>>;
}

/** What the commission should be: the channel's contract rates. */
export interface CommissionTerms {
  /** Commission as a percentage of the line's goods amount (tax included, shipping excluded). */
  ratePercent: number;
  /** VAT charged on the commission, as a percentage of it. */
  vatPercent: number;
}

/**
 * A refund Loopline made through a return (OR28), or found on the marketplace order and recorded by the return
 * (made in the back office, or a lost response): one per marketplace refund id. Kept on the return workflow's
 * state (`refund`), read through Temporal (src/reconciliation/returns-source.ts).
 */
export interface ReturnRefund {
  orderId: string;
  lineId: string;
  /** The marketplace's refund id (OR28's refund_id; TL02 entities.refund.id). */
  refundId: string;
  /** The return that made or recorded it (its workflow id). */
  returnWorkflowId: string;
  /** What the payout should debit: goods + shipping, taxes included (added when the order is tax-exclusive). */
  amountMinor: number;
  /** When Loopline made or recorded it (epoch ms). */
  at: number;
  how: 'sent' | 'found';
  /**
   * The refund's state on the marketplace order (OR11 `refunds[].refund_state`), read only for a refund the
   * payout lacks: one not REFUNDED yet (WAITING_REFUND…) is not expected on a payout.
   */
  marketplaceState?: string;
}

/** Whatever knows the refunds Loopline's returns made: the return workflows (Temporal), or a test double. */
export interface ReturnRefundSource {
  /** Every return refund on these marketplace orders of the channel. */
  findReturnRefunds(channel: string, orderIds: readonly string[]): Promise<ReturnRefund[]>;
}

/** One refund on the payout (TL02 rows of one refund id) against the return refund Loopline knows. */
export interface ReturnRefundLine {
  orderId: string;
  lineId: string;
  refundId?: string;
  returnWorkflowId?: string;
  /** Refunded on the payout (goods + shipping, taxes included), a magnitude; absent: not on the payout. */
  payoutMinor?: number;
  /** What the return refunded; absent: no return refund Loopline knows of. */
  returnMinor?: number;
  /** Not on the payout because the marketplace has not completed it yet (its refund_state): not a finding. */
  pendingState?: string;
}

export const DIFFERENCE_FIELDS = [
  'gross',
  'shipping',
  'commission',
  'commissionVat',
  'refund',
  'refundCommission',
  'payout',
  'returnRefund',
] as const;
export type DifferenceField = (typeof DIFFERENCE_FIELDS)[number];

/** The finding kinds: one finance exception per billing cycle and kind (src/domain/reasons.ts). */
export const RECONCILIATION_KINDS = [
  'PAYOUT_ORDER_NOT_IN_SHOPIFY',
  'PAYOUT_LINE_NOT_BILLED',
  'PAYOUT_AMOUNT_DIFFERENCE',
  'PAYOUT_COMMISSION_DIFFERENCE',
  'PAYOUT_REFUND_DIFFERENCE',
  'PAYOUT_TOTAL_MISMATCH',
  'PAYOUT_REFUND_NOT_RETURNED',
  'PAYOUT_RETURN_REFUND_MISSING',
  'PAYOUT_RETURN_REFUND_DIFFERENCE',
] as const;
export type ReconciliationKind = (typeof RECONCILIATION_KINDS)[number];

export const KIND_OF_FIELD: Record<DifferenceField, ReconciliationKind> = {
  gross: 'PAYOUT_AMOUNT_DIFFERENCE',
  shipping: 'PAYOUT_AMOUNT_DIFFERENCE',
  commission: 'PAYOUT_COMMISSION_DIFFERENCE',
  commissionVat: 'PAYOUT_COMMISSION_DIFFERENCE',
  refundCommission: 'PAYOUT_COMMISSION_DIFFERENCE',
  refund: 'PAYOUT_REFUND_DIFFERENCE',
  payout: 'PAYOUT_TOTAL_MISMATCH',
  returnRefund: 'PAYOUT_RETURN_REFUND_DIFFERENCE',
};

/** One billed order line with its Shopify counterpart (none on routes without Shopify). Positive magnitudes. */
export interface MatchedLine {
  orderId: string;
  lineId: string;
  shopifyOrderId?: string;
  grossMinor: number;
  shippingMinor: number;
  commissionMinor: number;
  commissionVatMinor: number;
  refundMinor: number;
  refundCommissionMinor: number;
  /** Σ of the line's TL02 rows (seller side). */
  netMinor: number;
}

export interface UnmatchedMirakl {
  orderId: string;
  lineId: string;
  /** Why: no Shopify order for the Mirakl order, or the Shopify order has no such line. */
  why: 'ORDER_NOT_IN_SHOPIFY' | 'LINE_NOT_IN_SHOPIFY';
  rows: number;
  netMinor: number;
}

export interface UnmatchedShopify {
  orderId: string;
  lineId: string;
  shopifyOrderId: string;
  amountMinor: number;
}

export interface Difference {
  kind: ReconciliationKind;
  field: DifferenceField;
  orderId?: string;
  lineId?: string;
  shopifyOrderId?: string;
  /** The marketplace refund a returnRefund difference is about. */
  refundId?: string;
  /** What Mirakl billed (magnitude). */
  miraklMinor: number;
  /** What Shopify says, or what the contract rate gives. */
  expectedMinor: number;
  /** miraklMinor − expectedMinor. */
  differenceMinor: number;
}

/** A row that belongs to no order line: subscription fees, manual credits, reserve movements … */
export interface FeeRow {
  id: string;
  type: string;
  feeCode?: string;
  orderId?: string;
  amountMinor: number;
}

export interface RefundLine {
  orderId: string;
  lineId: string;
  shopifyOrderId?: string;
  miraklMinor: number;
  shopifyMinor?: number;
}

export const JOURNAL_ACCOUNTS = [
  'GROSS_SALES',
  'COMMISSION',
  'COMMISSION_VAT',
  'REFUNDS',
  'FEES',
  'NET_PAYOUT',
] as const;
export type JournalAccount = (typeof JOURNAL_ACCOUNTS)[number];

/** A journal-ready line: debits and credits balance over a cycle. */
export interface JournalLine {
  account: JournalAccount;
  description: string;
  debitMinor: number;
  creditMinor: number;
}

export interface CycleReconciliation {
  channel: string;
  cycle: BillingCycle;
  currency: string;
  rows: number;
  orders: number;
  lines: number;
  matched: MatchedLine[];
  refunds: RefundLine[];
  /** Refunds on the payout against the returns' refunds (channels with returns; empty otherwise). */
  returnRefunds: ReturnRefundLine[];
  fees: FeeRow[];
  unmatchedMirakl: UnmatchedMirakl[];
  unmatchedShopify: UnmatchedShopify[];
  differences: Difference[];
  journal: JournalLine[];
  totals: {
    grossMinor: number;
    shippingMinor: number;
    commissionMinor: number;
    commissionVatMinor: number;
    refundsMinor: number;
    feesMinor: number;
    /** Σ of every TL02 row of the cycle. */
    rowsSumMinor: number;
    transferredToSellerMinor: number;
  };
  counts: Record<ReconciliationKind, number>;
}
