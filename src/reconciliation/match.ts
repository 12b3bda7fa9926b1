// The pure matching of one billing cycle (docs/reconciliation.md): TL02 rows grouped by Mirakl order line,
// each line matched to its Shopify line by Mirakl order id and line id, then compared field by field with
// a tolerance of one minor unit. No I/O: the activity reads, this decides, the report writes.
import { ROUNDING_TOLERANCE_MINOR } from '../domain/money';
import {
  KIND_OF_FIELD,
  RECONCILIATION_KINDS,
  type BillingCycle,
  type CommissionTerms,
  type CycleReconciliation,
  type Difference,
  type DifferenceField,
  type FeeRow,
  type JournalAccount,
  type JournalLine,
  type MatchedLine,
  type ReconciliationKind,
  type RefundLine,
  type ShopifyOrderRecord,
  type TransactionRow,
  type UnmatchedMirakl,
  type UnmatchedShopify,
} from './types';

/** How each TL02 type counts. Types not listed here are fees (src/reconciliation/types.ts FeeRow). */
const CATEGORY: Record<string, LineCategory> = {
  ORDER_AMOUNT: 'gross',
  ORDER_AMOUNT_TAX: 'gross',
  ORDER_SHIPPING_AMOUNT: 'shipping',
  ORDER_SHIPPING_AMOUNT_TAX: 'shipping',
  COMMISSION_FEE: 'commission',
  COMMISSION_VAT: 'commissionVat',
  REFUND_ORDER_AMOUNT: 'refundGoods',
  REFUND_ORDER_AMOUNT_TAX: 'refundGoods',
  REFUND_ORDER_SHIPPING_AMOUNT: 'refundShipping',
  REFUND_ORDER_SHIPPING_AMOUNT_TAX: 'refundShipping',
  REFUND_COMMISSION_FEE: 'refundCommission',
  REFUND_COMMISSION_VAT: 'refundCommissionVat',
};
type LineCategory =
  | 'gross'
  | 'shipping'
  | 'commission'
  | 'commissionVat'
  | 'refundGoods'
  | 'refundShipping'
  | 'refundCommission'
  | 'refundCommissionVat';

/** Signed sums (seller side) of one order line's rows, by category. */
interface LineAgg {
  orderId: string;
  lineId: string;
  rows: number;
  net: number;
  sums: Record<LineCategory, number>;
}

const emptySums = (): Record<LineCategory, number> => ({
  gross: 0,
  shipping: 0,
  commission: 0,
  commissionVat: 0,
  refundGoods: 0,
  refundShipping: 0,
  refundCommission: 0,
  refundCommissionVat: 0,
});

export function isOrderLineRow(row: TransactionRow): boolean {
  return row.orderId !== undefined && CATEGORY[row.type] !== undefined;
}

/** The Mirakl order ids a cycle's rows bill goods, shipping, commission or refunds for. */
export function billedOrderIds(rows: readonly TransactionRow[]): string[] {
  return [...new Set(rows.filter(isOrderLineRow).map((r) => r.orderId!))].sort();
}

/** −n without −0 (reports and deepEqual stay clean). */
const neg = (n: number) => (n === 0 ? 0 : -n);

/** Rounded half away from zero, in integer arithmetic where it matters. */
export function percentOf(amountMinor: number, percent: number): number {
  const v = (amountMinor * percent) / 100;
  return Math.sign(v) * Math.round(Math.abs(v) + 1e-9);
}

export function emptyKindCounts(): Record<ReconciliationKind, number> {
  return Object.fromEntries(RECONCILIATION_KINDS.map((k) => [k, 0])) as Record<ReconciliationKind, number>;
}

const byKey = <T extends { orderId?: string; lineId?: string }>(a: T, b: T) =>
  (a.orderId ?? '').localeCompare(b.orderId ?? '') || (a.lineId ?? '').localeCompare(b.lineId ?? '');

export interface MatchInput {
  channel: string;
  cycle: BillingCycle;
  rows: readonly TransactionRow[];
  shopify: ReadonlyMap<string, ShopifyOrderRecord>;
  terms: CommissionTerms;
  /** Default one minor unit. */
  toleranceMinor?: number;
}

export function reconcileCycle(input: MatchInput): CycleReconciliation {
  const tolerance = input.toleranceMinor ?? ROUNDING_TOLERANCE_MINOR;
  const { cycle, terms } = input;
  const lines = new Map<string, LineAgg>();
  const fees: FeeRow[] = [];
  let rowsSum = 0;
  for (const row of input.rows) {
    rowsSum += row.amountMinor;
    const cat = CATEGORY[row.type];
    if (cat === undefined || row.orderId === undefined) {
      fees.push({
        id: row.id,
        type: row.type,
        feeCode: row.feeCode,
        orderId: row.orderId,
        amountMinor: row.amountMinor,
      });
      continue;
    }
    const lineId = row.lineId ?? '';
    const key = `${row.orderId}\u0000${lineId}`;
    let agg = lines.get(key);
    if (!agg) {
      agg = { orderId: row.orderId, lineId, rows: 0, net: 0, sums: emptySums() };
      lines.set(key, agg);
    }
    agg.rows += 1;
    agg.net += row.amountMinor;
    agg.sums[cat] += row.amountMinor;
  }

  const matched: MatchedLine[] = [];
  const refunds: RefundLine[] = [];
  const unmatchedMirakl: UnmatchedMirakl[] = [];
  const unmatchedShopify: UnmatchedShopify[] = [];
  const differences: Difference[] = [];
  const diff = (
    field: DifferenceField,
    miraklMinor: number,
    expectedMinor: number,
    where: { orderId?: string; lineId?: string; shopifyOrderId?: string },
  ) => {
    if (Math.abs(miraklMinor - expectedMinor) <= tolerance) return;
    differences.push({
      kind: KIND_OF_FIELD[field],
      field,
      ...where,
      miraklMinor,
      expectedMinor,
      differenceMinor: miraklMinor - expectedMinor,
    });
  };

  const billedByOrder = new Map<string, LineAgg[]>();
  for (const agg of lines.values()) {
    const list = billedByOrder.get(agg.orderId) ?? [];
    list.push(agg);
    billedByOrder.set(agg.orderId, list);
  }

  for (const [orderId, aggs] of [...billedByOrder.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    aggs.sort(byKey);
    const order = input.shopify.get(orderId);
    let shippingBilled = 0;
    let shippingRefunded = 0;
    for (const agg of aggs) {
      const s = agg.sums;
      const refundGoods = neg(s.refundGoods);
      const refundShipping = neg(s.refundShipping);
      shippingBilled += s.shipping;
      shippingRefunded += refundShipping;
      const shopLine = order?.lines.find((l) => l.miraklLineId === agg.lineId);
      if (refundGoods !== 0 || refundShipping !== 0 || (shopLine?.refundedMinor ?? 0) !== 0)
        refunds.push({
          orderId,
          lineId: agg.lineId,
          shopifyOrderId: order?.shopifyOrderId,
          miraklMinor: refundGoods + refundShipping,
          shopifyMinor: shopLine?.refundedMinor,
        });
      if (!order || !shopLine) {
        unmatchedMirakl.push({
          orderId,
          lineId: agg.lineId,
          why: order ? 'LINE_NOT_IN_SHOPIFY' : 'ORDER_NOT_IN_SHOPIFY',
          rows: agg.rows,
          netMinor: agg.net,
        });
        continue;
      }
      const where = { orderId, lineId: agg.lineId, shopifyOrderId: order.shopifyOrderId };
      const commission = neg(s.commission);
      const commissionVat = neg(s.commissionVat);
      const expectedCommission = percentOf(s.gross, terms.ratePercent);
      const expectedRefundCommission = percentOf(refundGoods, terms.ratePercent);
      matched.push({
        ...where,
        grossMinor: s.gross,
        shippingMinor: s.shipping,
        commissionMinor: commission,
        commissionVatMinor: commissionVat,
        refundMinor: refundGoods + refundShipping,
        refundCommissionMinor: s.refundCommission + s.refundCommissionVat,
        netMinor: agg.net,
      });
      diff('gross', s.gross, shopLine.amountMinor, where);
      // Against the contract rate; the VAT against the commission the contract gives (one anomaly, one finding).
      diff('commission', commission, expectedCommission, where);
      diff('commissionVat', commissionVat, percentOf(expectedCommission, terms.vatPercent), where);
      diff('refund', refundGoods, shopLine.refundedMinor, where);
      diff('refundCommission', s.refundCommission, expectedRefundCommission, where);
      diff('refundCommission', s.refundCommissionVat, percentOf(expectedRefundCommission, terms.vatPercent), where);
    }
    if (order) {
      const billedLineIds = new Set(aggs.map((a) => a.lineId));
      const anyLineMatched = order.lines.some((l) => billedLineIds.has(l.miraklLineId));
      for (const l of order.lines) {
        if (!billedLineIds.has(l.miraklLineId))
          unmatchedShopify.push({
            orderId,
            lineId: l.miraklLineId,
            shopifyOrderId: order.shopifyOrderId,
            amountMinor: l.amountMinor,
          });
      }
      // Shipping is per order in Shopify and per line in Mirakl: compared per order.
      if (anyLineMatched) {
        const where = { orderId, shopifyOrderId: order.shopifyOrderId };
        diff('shipping', shippingBilled, order.shippingMinor, where);
        diff('refund', shippingRefunded, order.shippingRefundedMinor, { ...where, lineId: 'shipping' });
      }
    }
  }

  diff('payout', rowsSum, cycle.transferredToSellerMinor, {});

  const sum = (f: (a: LineAgg) => number) => [...lines.values()].reduce((n, a) => n + f(a), 0);
  const gross = sum((a) => a.sums.gross);
  const shipping = sum((a) => a.sums.shipping);
  const commissionNet = sum((a) => a.sums.commission + a.sums.refundCommission);
  const commissionVatNet = sum((a) => a.sums.commissionVat + a.sums.refundCommissionVat);
  const refundsNet = sum((a) => a.sums.refundGoods + a.sums.refundShipping);
  const feesNet = fees.reduce((n, f) => n + f.amountMinor, 0);
  const journal = journalLines(cycle, {
    GROSS_SALES: gross + shipping,
    COMMISSION: commissionNet,
    COMMISSION_VAT: commissionVatNet,
    REFUNDS: refundsNet,
    FEES: feesNet,
  });

  const counts = emptyKindCounts();
  counts.PAYOUT_ORDER_NOT_IN_SHOPIFY = unmatchedMirakl.length;
  counts.PAYOUT_LINE_NOT_BILLED = unmatchedShopify.length;
  for (const d of differences) counts[d.kind] += 1;

  return {
    channel: input.channel,
    cycle,
    currency: cycle.currency,
    rows: input.rows.length,
    orders: billedByOrder.size,
    lines: lines.size,
    matched: matched.sort(byKey),
    refunds: refunds.sort(byKey),
    fees: fees.sort((a, b) => a.id.localeCompare(b.id)),
    unmatchedMirakl: unmatchedMirakl.sort(byKey),
    unmatchedShopify: unmatchedShopify.sort(byKey),
    differences: differences.sort((a, b) => byKey(a, b) || a.field.localeCompare(b.field)),
    journal,
    totals: {
      grossMinor: gross,
      shippingMinor: shipping,
      commissionMinor: neg(commissionNet),
      commissionVatMinor: neg(commissionVatNet),
      refundsMinor: neg(refundsNet),
      feesMinor: neg(feesNet),
      rowsSumMinor: rowsSum,
      transferredToSellerMinor: cycle.transferredToSellerMinor,
    },
    counts,
  };
}

const DESCRIPTIONS: Record<JournalAccount, string> = {
  GROSS_SALES: 'Marketplace sales incl. VAT and shipping',
  COMMISSION: 'Marketplace commission (net of commission refunded)',
  COMMISSION_VAT: 'VAT on marketplace commission (net of VAT refunded)',
  REFUNDS: 'Refunds to customers incl. VAT and shipping',
  FEES: 'Other marketplace fees and credits',
  NET_PAYOUT: 'Net payout receivable from the marketplace',
};

/**
 * Journal-ready lines from signed, seller-side sums: a positive sum is a credit, a negative one a debit,
 * and the net payout (their total) is the balancing debit (the receivable the payout settles).
 */
export function journalLines(
  cycle: Pick<BillingCycle, 'id'>,
  sums: Record<Exclude<JournalAccount, 'NET_PAYOUT'>, number>,
): JournalLine[] {
  const out: JournalLine[] = [];
  let net = 0;
  for (const [account, s] of Object.entries(sums) as Array<[JournalAccount, number]>) {
    net += s;
    out.push({
      account,
      description: `${DESCRIPTIONS[account]} — cycle ${cycle.id}`,
      debitMinor: s < 0 ? -s : 0,
      creditMinor: s > 0 ? s : 0,
    });
  }
  out.push({
    account: 'NET_PAYOUT',
    description: `${DESCRIPTIONS.NET_PAYOUT} — cycle ${cycle.id}`,
    debitMinor: net > 0 ? net : 0,
    creditMinor: net < 0 ? -net : 0,
  });
  return out;
}

/** A short, PII-free label of a finding for an exception sentence: order/line and the figures. */
export function findingLabels(r: CycleReconciliation, kind: ReconciliationKind, fmt: (minor: number) => string) {
  if (kind === 'PAYOUT_ORDER_NOT_IN_SHOPIFY') return r.unmatchedMirakl.map((u) => `${u.orderId}/${u.lineId}`);
  if (kind === 'PAYOUT_LINE_NOT_BILLED') return r.unmatchedShopify.map((u) => `${u.orderId}/${u.lineId}`);
  return r.differences
    .filter((d) => d.kind === kind)
    .map(
      (d) =>
        `${d.orderId ? `${d.orderId}/${d.lineId ?? ''} ` : ''}${d.field} ${fmt(d.miraklMinor)} vs ${fmt(d.expectedMinor)}`,
    );
}
