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

export const DIFFERENCE_FIELDS = [
  'gross',
  'shipping',
  'commission',
  'commissionVat',
  'refund',
  'refundCommission',
  'payout',
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
};

/** One billed order line with its Shopify counterpart. Amounts are positive magnitudes. */
export interface MatchedLine {
  orderId: string;
  lineId: string;
  shopifyOrderId: string;
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
