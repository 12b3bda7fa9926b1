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
  type ReturnRefund,
  type ReturnRefundLine,
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
  /**
   * The Shopify orders of the billed Mirakl orders. Absent: the channel has no Shopify side (a Peoplevox
   * route): lines are checked against the contract and the returns only.
   */
  shopify?: ReadonlyMap<string, ShopifyOrderRecord>;
  /**
   * Every refund Loopline's returns made or recorded on the billed orders. Absent: the channel takes no returns,
   * and refunds are not compared with returns.
   */
  returnRefunds?: readonly ReturnRefund[];
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
    where: { orderId?: string; lineId?: string; shopifyOrderId?: string; refundId?: string },
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

  const lineOf = (agg: LineAgg, where: { orderId: string; lineId: string; shopifyOrderId?: string }) => ({
    ...where,
    grossMinor: agg.sums.gross,
    shippingMinor: agg.sums.shipping,
    commissionMinor: neg(agg.sums.commission),
    commissionVatMinor: neg(agg.sums.commissionVat),
    refundMinor: neg(agg.sums.refundGoods) + neg(agg.sums.refundShipping),
    refundCommissionMinor: agg.sums.refundCommission + agg.sums.refundCommissionVat,
    netMinor: agg.net,
  });
  // Against the contract rate; the VAT against the commission the contract gives (one anomaly, one finding).
  const contractDiffs = (agg: LineAgg, where: { orderId: string; lineId: string; shopifyOrderId?: string }) => {
    const s = agg.sums;
    const expectedCommission = percentOf(s.gross, terms.ratePercent);
    const expectedRefundCommission = percentOf(neg(s.refundGoods), terms.ratePercent);
    diff('commission', neg(s.commission), expectedCommission, where);
    diff('commissionVat', neg(s.commissionVat), percentOf(expectedCommission, terms.vatPercent), where);
    diff('refundCommission', s.refundCommission, expectedRefundCommission, where);
    diff('refundCommission', s.refundCommissionVat, percentOf(expectedRefundCommission, terms.vatPercent), where);
  };

  const billedByOrder = new Map<string, LineAgg[]>();
  for (const agg of lines.values()) {
    const list = billedByOrder.get(agg.orderId) ?? [];
    list.push(agg);
    billedByOrder.set(agg.orderId, list);
  }

  for (const [orderId, aggs] of [...billedByOrder.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    aggs.sort(byKey);
    const order = input.shopify?.get(orderId);
    let shippingBilled = 0;
    let shippingRefunded = 0;
    for (const agg of aggs) {
      const s = agg.sums;
      const refundGoods = neg(s.refundGoods);
      const refundShipping = neg(s.refundShipping);
      shippingBilled += s.shipping;
      shippingRefunded += refundShipping;
      const shopLine = order?.lines.find((l) => l.miraklLineId === agg.lineId);
      if (!input.shopify) {
        // No Shopify side: the line is checked against the contract (and its refunds against the returns).
        matched.push(lineOf(agg, { orderId, lineId: agg.lineId }));
        contractDiffs(agg, { orderId, lineId: agg.lineId });
        continue;
      }
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
      matched.push(lineOf(agg, where));
      diff('gross', s.gross, shopLine.amountMinor, where);
      contractDiffs(agg, where);
      diff('refund', refundGoods, shopLine.refundedMinor, where);
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

  const returnRefunds = input.returnRefunds
    ? matchReturnRefunds(input.rows, input.returnRefunds, cycle, new Set(billedByOrder.keys()), diff)
    : [];

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
  counts.PAYOUT_REFUND_NOT_RETURNED = returnRefunds.filter((r) => r.returnMinor === undefined).length;
  counts.PAYOUT_RETURN_REFUND_MISSING = returnRefunds.filter(isMissingReturnRefund).length;
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
    returnRefunds,
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

/** A return refund of the cycle's period the payout does not carry, and not still pending at the marketplace. */
export const isMissingReturnRefund = (x: ReturnRefundLine) => x.payoutMinor === undefined && !x.pendingState;

/**
 * The payout's refunds against the refunds Loopline's returns made (docs/reconciliation.md, "Refunds from
 * returns"). A refund on the payout is the TL02 refund rows (goods and shipping, taxes included) of one refund id;
 * it is matched to the return refund of that id, else (rows without a refund id) to a return refund on the same
 * order line not matched yet, the nearest amount first. Left over: refunds on the payout no return made
 * (PAYOUT_REFUND_NOT_RETURNED), and return refunds of the cycle's orders made inside the cycle's period — after
 * the previous cycle was created, not after this one — that the payout does not carry and the marketplace
 * shows as REFUNDED (when the activity read its state; PAYOUT_RETURN_REFUND_MISSING). Amounts differing by more than the tolerance: PAYOUT_RETURN_REFUND_DIFFERENCE.
 */
function matchReturnRefunds(
  rows: readonly TransactionRow[],
  known: readonly ReturnRefund[],
  cycle: BillingCycle,
  cycleOrders: ReadonlySet<string>,
  diff: (
    field: DifferenceField,
    miraklMinor: number,
    expectedMinor: number,
    where: { orderId?: string; lineId?: string; refundId?: string },
  ) => void,
): ReturnRefundLine[] {
  interface PayoutRefund {
    orderId: string;
    lineId: string;
    refundId?: string;
    minor: number;
  }
  const payout = new Map<string, PayoutRefund>();
  for (const row of rows) {
    const cat = CATEGORY[row.type];
    if ((cat !== 'refundGoods' && cat !== 'refundShipping') || row.orderId === undefined) continue;
    const key = row.refundId ? `id\u0000${row.refundId}` : `line\u0000${row.orderId}\u0000${row.lineId ?? ''}`;
    const p = payout.get(key) ?? { orderId: row.orderId, lineId: row.lineId ?? '', refundId: row.refundId, minor: 0 };
    p.minor -= row.amountMinor;
    payout.set(key, p);
  }
  const byId = new Map(known.map((k) => [k.refundId, k]));
  const used = new Set<ReturnRefund>();
  const out: ReturnRefundLine[] = [];
  const pair = (p: PayoutRefund, k: ReturnRefund | undefined) => {
    if (k) used.add(k);
    out.push({
      orderId: p.orderId,
      lineId: p.lineId,
      refundId: p.refundId ?? k?.refundId,
      returnWorkflowId: k?.returnWorkflowId,
      payoutMinor: p.minor,
      returnMinor: k?.amountMinor,
    });
    if (k) diff('returnRefund', p.minor, k.amountMinor, { orderId: p.orderId, lineId: p.lineId, refundId: k.refundId });
  };
  const withoutId: PayoutRefund[] = [];
  for (const p of payout.values()) {
    if (!p.refundId) withoutId.push(p);
    else pair(p, byId.get(p.refundId));
  }
  for (const p of withoutId) {
    const candidates = known
      .filter((k) => !used.has(k) && k.orderId === p.orderId && k.lineId === p.lineId)
      .sort((a, b) => Math.abs(a.amountMinor - p.minor) - Math.abs(b.amountMinor - p.minor));
    pair(p, candidates[0]);
  }
  const closes = cycle.dateCreated ? Date.parse(cycle.dateCreated) : NaN;
  const opened = cycle.previousDateCreated ? Date.parse(cycle.previousDateCreated) : NaN;
  for (const k of known) {
    if (used.has(k) || !cycleOrders.has(k.orderId)) continue;
    // Made after the cycle was created: a later cycle's; made before the previous one: an earlier cycle's.
    if (!Number.isNaN(closes) && k.at > closes) continue;
    if (!Number.isNaN(opened) && k.at <= opened) continue;
    const pending = k.marketplaceState !== undefined && k.marketplaceState !== 'REFUNDED';
    out.push({
      orderId: k.orderId,
      lineId: k.lineId,
      refundId: k.refundId,
      returnWorkflowId: k.returnWorkflowId,
      returnMinor: k.amountMinor,
      ...(pending ? { pendingState: k.marketplaceState } : {}),
    });
  }
  return out.sort((a, b) => byKey(a, b) || (a.refundId ?? '').localeCompare(b.refundId ?? ''));
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
  if (kind === 'PAYOUT_REFUND_NOT_RETURNED')
    return r.returnRefunds
      .filter((x) => x.returnMinor === undefined)
      .map((x) => `${x.orderId}/${x.lineId} refund ${x.refundId ?? '(no id)'} ${fmt(x.payoutMinor ?? 0)}`);
  if (kind === 'PAYOUT_RETURN_REFUND_MISSING')
    return r.returnRefunds
      .filter(isMissingReturnRefund)
      .map((x) => `${x.orderId}/${x.lineId} refund ${x.refundId ?? ''} ${fmt(x.returnMinor ?? 0)}`);
  return r.differences
    .filter((d) => d.kind === kind)
    .map(
      (d) =>
        `${d.orderId ? `${d.orderId}/${d.lineId ?? ''} ` : ''}${d.refundId ? `refund ${d.refundId} ` : ''}${d.field} ${fmt(d.miraklMinor)} vs ${fmt(d.expectedMinor)}`,
    );
}
