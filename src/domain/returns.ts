// Returns and refunds, the part every route shares (docs/returns.md). Pure: no I/O, no clock, usable inside
// workflows. A return arrives from one of three sources (the marketplace's return, the returns platform,
// the warehouse's receipt) as a ReturnNotice; it is resolved against the marketplace order (lines, shipped
// and already-refunded units, reasons through the strict reason table) and the refund is computed from the
// marketplace order alone, in integer minor units, line by line, with its working kept for audit.
import { fromMinor } from './money';
import type { Tax } from './order';
import type { ReasonCode } from './reasons';

export type ReturnsMode = 'none' | 'reveni' | 'warehouse' | 'marketplace';
export type Disposition = 'restock' | 'inspect' | 'write-off';
/** Where Loopline first heard of the return. */
export type ReturnOrigin = 'marketplace' | 'reveni' | 'warehouse';
export type ShippingRefundPolicy = 'none' | 'proportional';

/** One row of the reason table (config `returns.reasons`). */
export interface ReasonRow {
  marketplace?: string;
  reveni?: string;
  warehouse?: string;
  disposition: Disposition;
  refundReason?: string;
}

export interface ReturnNoticeLine {
  /** The marketplace order line, when the source names it (Mirakl returns do). */
  lineId?: string;
  /** The item (offer SKU or warehouse item code), when the source names items instead (Reveni, Peoplevox). */
  sku?: string;
  /** As sent: zero, negative or fractional quantities are judged by resolveReturn, never dropped. */
  quantity: number;
  reason?: string;
  /** The warehouse's condition of the goods (Peoplevox `Return condition`). */
  condition?: string;
  /** The source's own id of the item (Reveni return item id). */
  itemId?: string;
}

/** What a source says about a return, as read from it (the latest read wins; see `updatedAt`). */
export interface ReturnNotice {
  channel: string;
  /** Loopline's key of the return: `<origin>-<source id>` (see returnKeyOf). */
  returnKey: string;
  origin: ReturnOrigin;
  /** The source system's id of the return (Mirakl return UUID, Reveni id, Peoplevox return code). */
  sourceId: string;
  /** The marketplace order id. */
  orderId: string;
  /** The return's state in its source (Mirakl state, Reveni status, BOOKED for a warehouse receipt). */
  sourceState: string;
  /** A reason given for the whole return (lines may carry their own). */
  reason?: string;
  method?: string;
  lines: ReturnNoticeLine[];
  /** The source's last update (ISO): an older notice never overrides a newer one. */
  updatedAt: string;
  /** The marketplace return this one belongs to (a Reveni return registered for a Mirakl return). */
  marketplaceReturnId?: string;
}

/** The marketplace order as a return needs it: what was sold, shipped and refunded, per line. */
export interface OrderForReturn {
  orderId: string;
  currency: string;
  taxMode: 'TAX_INCLUDED' | 'TAX_EXCLUDED';
  lines: OrderLineForReturn[];
}

export interface ExistingRefund {
  id: string;
  quantity: number;
  /** Goods, minor units. */
  amount: number;
  shippingAmount: number;
  /**
   * The caller's keys the marketplace carries on this refund (Marketplacer `externalIds`; Mirakl OR28 has none):
   * how a retry after a lost response knows its own refund whatever its amount.
   */
  keys?: string[];
}

export interface OrderLineForReturn {
  lineId: string;
  offerSku: string;
  /** The warehouse's item code (after the channel's skuMap), when known. */
  itemCode?: string;
  quantity: number;
  /** Units shipped to the customer. */
  shipped: number;
  /** Minor units: unit price as charged (after promotions), and before them when the marketplace says. */
  unitPrice: number;
  originUnitPrice?: number;
  /** Goods total of the line, as charged. */
  price: number;
  shippingPrice: number;
  taxes: Tax[];
  shippingTaxes: Tax[];
  /** Every refund already on the line at the marketplace (Loopline's, back office, cancellations). */
  refunds: ExistingRefund[];
}

/** A return line once it is known what it is: which order line, how many units, which reason row. */
export interface ResolvedReturnLine {
  lineId: string;
  offerSku: string;
  itemCode?: string;
  quantity: number;
  /** The reason as the source sent it, and the table row it maps to. */
  reason: string;
  reasonSource: ReturnOrigin;
  marketplaceReason?: string;
  reveniReason?: string;
  disposition: Disposition;
  refundReason?: string;
  condition?: string;
  itemId?: string;
  /** The reason matched only after trimming or a change of case (noted on the timeline). */
  normalisedReason?: boolean;
}

export interface ReturnProblem {
  reason: ReasonCode;
  details: Record<string, string | number | undefined>;
  /** Record and field, e.g. "return_lines[1].quantity". */
  field?: string;
}

export const REASON_COLUMN: Record<ReturnOrigin, 'marketplace' | 'reveni' | 'warehouse'> = {
  marketplace: 'marketplace',
  reveni: 'reveni',
  warehouse: 'warehouse',
};

/** Reasons compare trimmed and case-insensitively; nothing else is forgiven (spaces for underscores are not). */
export function reasonKey(raw: string): string {
  return raw.trim().toLowerCase();
}

/** The table row for a reason as `origin` spells it, or undefined (RETURN_REASON_UNMAPPED: no catch-all). */
export function mapReason(
  table: readonly ReasonRow[],
  origin: ReturnOrigin,
  raw: string | undefined,
): { row: ReasonRow; normalised: boolean } | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const col = REASON_COLUMN[origin];
  const key = reasonKey(raw);
  const row = table.find((r) => r[col] !== undefined && reasonKey(r[col]!) === key);
  if (!row) return undefined;
  return { row, normalised: row[col] !== raw };
}

export interface ResolveOptions {
  table: readonly ReasonRow[];
  /** The warehouse's item code of an offer SKU (skuMap, then itself). */
  itemCodeOf(offerSku: string): string;
  /** Conditions that go back on sale (any other forces `inspect`). */
  resaleableConditions: readonly string[];
  /** Refund ids this return already claimed (its own refunds do not count against it). */
  claimedRefundIds?: readonly string[];
}

const isWhole = (n: number) => Number.isInteger(n) && n > 0;

/**
 * Resolves a return against its marketplace order: every line found (by line id, else by SKU / item code,
 * filling lines in order), quantities whole and within what was shipped and not already refunded, every
 * reason in the table. The first problem found is returned (its reason code names the exception).
 */
export function resolveReturn(
  notice: ReturnNotice,
  order: OrderForReturn,
  opts: ResolveOptions,
): { lines: ResolvedReturnLine[] } | { problem: ReturnProblem } {
  const base = { returnId: notice.sourceId, orderId: order.orderId };
  if (notice.lines.length === 0)
    return {
      problem: { reason: 'RETURN_LINE_UNKNOWN', details: { ...base, what: 'the return', line: '(no lines)' } },
    };
  const claimed = new Set(opts.claimedRefundIds ?? []);
  // Units of each line taken by earlier lines of this return (a SKU returned on two lines of the notice).
  const taken = new Map<string, number>();
  const left = (l: OrderLineForReturn) => l.shipped - refundedQuantity(l, claimed) - (taken.get(l.lineId) ?? 0);
  const out: ResolvedReturnLine[] = [];
  for (const [i, nl] of notice.lines.entries()) {
    const field = `return_lines[${i}]`;
    if (typeof nl.quantity !== 'number' || !isWhole(nl.quantity)) {
      return {
        problem: {
          reason: 'RETURN_QUANTITY_INVALID',
          details: { ...base, lineId: nl.lineId ?? nl.sku ?? `#${i + 1}`, quantity: String(nl.quantity) },
          field: `${field}.quantity`,
        },
      };
    }
    const rawReason = nl.reason ?? notice.reason;
    const mapped = mapReason(opts.table, notice.origin, rawReason);
    if (!mapped) {
      return {
        problem: {
          reason: 'RETURN_REASON_UNMAPPED',
          details: { ...base, source: notice.origin, reasonCode: rawReason ?? '(none)' },
          field: `${field}.reason_code`,
        },
      };
    }
    // Which order lines this return line can be: the named line, or the lines selling that SKU / item.
    let candidates: OrderLineForReturn[];
    if (nl.lineId !== undefined) {
      candidates = order.lines.filter((l) => l.lineId === nl.lineId);
      if (candidates.length === 0)
        return {
          problem: {
            reason: 'RETURN_LINE_UNKNOWN',
            details: { ...base, what: 'order line', line: nl.lineId },
            field: `${field}.order_line_id`,
          },
        };
    } else {
      const sku = (nl.sku ?? '').trim().toUpperCase();
      candidates = order.lines.filter(
        (l) =>
          sku !== '' &&
          (l.offerSku.trim().toUpperCase() === sku ||
            (l.itemCode ?? opts.itemCodeOf(l.offerSku)).trim().toUpperCase() === sku),
      );
      if (candidates.length === 0)
        return {
          problem: {
            reason: 'RETURN_LINE_UNKNOWN',
            details: { ...base, what: 'item', line: nl.sku ?? '(none)' },
            field: `${field}.sku`,
          },
        };
    }
    let qty = nl.quantity;
    const available = candidates.reduce((s, l) => s + Math.max(0, left(l)), 0);
    if (qty > available) {
      const first = candidates[0]!;
      return {
        problem: {
          reason: 'RETURN_QUANTITY_EXCEEDS_SHIPPED',
          details: {
            ...base,
            lineId: first.lineId,
            quantity: qty,
            shipped: candidates.reduce((s, l) => s + l.shipped, 0),
            left: available,
          },
          field: `${field}.quantity`,
        },
      };
    }
    for (const l of candidates) {
      if (qty <= 0) break;
      const take = Math.min(qty, Math.max(0, left(l)));
      if (take <= 0) continue;
      taken.set(l.lineId, (taken.get(l.lineId) ?? 0) + take);
      qty -= take;
      const condition = nl.condition?.trim();
      const resaleable =
        condition === undefined ||
        condition === '' ||
        opts.resaleableConditions.some((c) => c.trim().toUpperCase() === condition.toUpperCase());
      out.push({
        lineId: l.lineId,
        offerSku: l.offerSku,
        itemCode: l.itemCode ?? opts.itemCodeOf(l.offerSku),
        quantity: take,
        reason: rawReason!,
        reasonSource: notice.origin,
        marketplaceReason: mapped.row.marketplace,
        reveniReason: mapped.row.reveni,
        // Goods not in a resaleable condition never go back on sale, whatever the reason says.
        disposition: resaleable ? mapped.row.disposition : 'inspect',
        refundReason: mapped.row.refundReason,
        ...(condition ? { condition } : {}),
        ...(nl.itemId ? { itemId: nl.itemId } : {}),
        ...(mapped.normalised ? { normalisedReason: true } : {}),
      });
    }
  }
  return { lines: merge(out) };
}

/** Lines of the same order line, reason and disposition become one. */
function merge(lines: ResolvedReturnLine[]): ResolvedReturnLine[] {
  const out: ResolvedReturnLine[] = [];
  for (const l of lines) {
    const same = out.find(
      (o) =>
        o.lineId === l.lineId &&
        o.disposition === l.disposition &&
        o.reason === l.reason &&
        o.condition === l.condition &&
        o.itemId === l.itemId,
    );
    if (same) same.quantity += l.quantity;
    else out.push({ ...l });
  }
  return out;
}

/** Units of a line refunded at the marketplace, not counting the refunds in `except` (this return's own). */
export function refundedQuantity(l: OrderLineForReturn, except: ReadonlySet<string> = new Set()): number {
  return l.refunds.filter((r) => !except.has(r.id)).reduce((s, r) => s + Math.max(0, r.quantity), 0);
}

/**
 * Share of `total` for units (before, before+qty] of `ordered`: floor-cumulative, so the parts of a line
 * refunded in several goes add up to the line total exactly, to the minor unit.
 */
export function proportional(total: number, ordered: number, before: number, qty: number): number {
  if (ordered <= 0) return 0;
  return Math.floor((total * (before + qty)) / ordered) - Math.floor((total * before) / ordered);
}

export interface LineRefund {
  lineId: string;
  offerSku: string;
  quantity: number;
  ordered: number;
  /** Units of the line refunded before this one (the share starts after them). */
  refundedBefore: number;
  unitPrice: number;
  originUnitPrice?: number;
  /** Goods, minor units (tax-inclusive when the order is): the returned units' share of the line price. */
  amount: number;
  taxes: Tax[];
  shippingAmount: number;
  shippingTaxes: Tax[];
  refundReason: string;
}

/** The refund of a return as computed from the marketplace order: kept on the return for audit. */
export interface RefundCalculation {
  currency: string;
  taxMode: 'TAX_INCLUDED' | 'TAX_EXCLUDED';
  shippingPolicy: ShippingRefundPolicy;
  lines: LineRefund[];
  /** Goods + shipping over every line, minor units (taxes are inside when the order is tax-inclusive). */
  totalMinor: number;
  /** How it was computed, in words (for the audit trail and the dashboard). */
  basis: string;
}

/**
 * The refund of resolved return lines, from the marketplace order only: per line, the returned units' share
 * of the line's price (promotions already in it) and of each of its taxes; shipping per the channel's
 * policy. Refusals: more units than are left to refund, or more money than the line was paid.
 */
export function computeRefund(
  order: OrderForReturn,
  lines: readonly { lineId: string; quantity: number; refundReason?: string }[],
  opts: { shipping: ShippingRefundPolicy; defaultRefundReason: string; claimedRefundIds?: readonly string[] },
  ids: { returnId: string },
): { calculation: RefundCalculation } | { problem: ReturnProblem } {
  const claimed = new Set(opts.claimedRefundIds ?? []);
  const base = { returnId: ids.returnId, orderId: order.orderId };
  const out: LineRefund[] = [];
  const taken = new Map<string, number>();
  for (const want of lines) {
    const l = order.lines.find((x) => x.lineId === want.lineId);
    if (!l)
      return {
        problem: { reason: 'RETURN_LINE_UNKNOWN', details: { ...base, what: 'order line', line: want.lineId } },
      };
    for (const [what, value] of [
      ['unit price', l.unitPrice],
      ['line price', l.price],
      ['shipping price', l.shippingPrice],
    ] as const) {
      if (!Number.isInteger(value) || value < 0)
        return {
          problem: {
            reason: 'RETURN_AMOUNT_INVALID',
            details: { ...base, what: `line ${l.lineId} ${what}`, value: String(value) },
          },
        };
    }
    const before = refundedQuantity(l, claimed) + (taken.get(l.lineId) ?? 0);
    const q = want.quantity;
    if (!isWhole(q))
      return {
        problem: { reason: 'RETURN_QUANTITY_INVALID', details: { ...base, lineId: l.lineId, quantity: String(q) } },
      };
    // Never more units refunded on a line than it had (resolveReturn already held the return to what shipped).
    if (before + q > l.quantity) {
      return {
        problem: {
          reason: 'RETURN_QUANTITY_EXCEEDS_SHIPPED',
          details: {
            ...base,
            lineId: l.lineId,
            quantity: q,
            shipped: l.shipped,
            left: Math.max(0, l.quantity - before),
          },
        },
      };
    }
    taken.set(l.lineId, (taken.get(l.lineId) ?? 0) + q);
    const amount = proportional(l.price, l.quantity, before, q);
    const shippingAmount = opts.shipping === 'proportional' ? proportional(l.shippingPrice, l.quantity, before, q) : 0;
    // Money already refunded on the line (anyone's refunds but this return's own): never above what was paid.
    const refundedGoods = l.refunds.filter((r) => !claimed.has(r.id)).reduce((s, r) => s + r.amount, 0);
    const refundedShipping = l.refunds.filter((r) => !claimed.has(r.id)).reduce((s, r) => s + r.shippingAmount, 0);
    const earlierInThis = out.filter((o) => o.lineId === l.lineId);
    const goodsTotal = refundedGoods + earlierInThis.reduce((s, o) => s + o.amount, 0) + amount;
    if (goodsTotal > l.price || refundedShipping + shippingAmount > l.shippingPrice) {
      const over = goodsTotal > l.price;
      return {
        problem: {
          reason: 'REFUND_EXCEEDS_PAID',
          details: {
            ...base,
            lineId: l.lineId,
            amount: money(over ? amount : shippingAmount, order.currency),
            total: money(over ? goodsTotal : refundedShipping + shippingAmount, order.currency),
            paid: money(over ? l.price : l.shippingPrice, order.currency),
          },
        },
      };
    }
    out.push({
      lineId: l.lineId,
      offerSku: l.offerSku,
      quantity: q,
      ordered: l.quantity,
      refundedBefore: before,
      unitPrice: l.unitPrice,
      ...(l.originUnitPrice !== undefined ? { originUnitPrice: l.originUnitPrice } : {}),
      amount,
      taxes: l.taxes.map((t) => ({ code: t.code, amount: proportional(t.amount, l.quantity, before, q) })),
      shippingAmount,
      shippingTaxes:
        shippingAmount === 0
          ? []
          : l.shippingTaxes.map((t) => ({ code: t.code, amount: proportional(t.amount, l.quantity, before, q) })),
      refundReason: want.refundReason ?? opts.defaultRefundReason,
    });
  }
  const totalMinor = out.reduce((s, l) => s + l.amount + l.shippingAmount, 0);
  const basis = out
    .map(
      (l) =>
        `${l.lineId}: units ${l.refundedBefore + 1}–${l.refundedBefore + l.quantity} of ${l.ordered} at ${money(l.unitPrice, order.currency)}` +
        `${l.originUnitPrice !== undefined && l.originUnitPrice !== l.unitPrice ? ` (was ${money(l.originUnitPrice, order.currency)}; promotion kept)` : ''}` +
        ` = ${money(l.amount, order.currency)}${l.shippingAmount ? ` + shipping ${money(l.shippingAmount, order.currency)}` : ''}` +
        `${l.taxes.length ? ` (taxes ${l.taxes.map((t) => `${t.code} ${money(t.amount, order.currency)}`).join(', ')})` : ''}`,
    )
    .join('; ');
  return {
    calculation: {
      currency: order.currency,
      taxMode: order.taxMode,
      shippingPolicy: opts.shipping,
      lines: out,
      totalMinor,
      basis: `${basis}; shipping policy ${opts.shipping}; total ${money(totalMinor, order.currency)}`,
    },
  };
}

/**
 * Look before refunding again: a refund on the line that no Loopline refund has claimed, with this line's
 * quantity AND amount, is this refund (a lost response, or the same refund made in the back office). Refunds
 * of other quantities or amounts are someone else's and count against what is left (computeRefund).
 */
export function findMatchingRefund(
  line: OrderLineForReturn,
  want: { quantity: number; amount: number; shippingAmount: number },
  claimed: ReadonlySet<string>,
): ExistingRefund | undefined {
  return line.refunds.find(
    (r) =>
      !claimed.has(r.id) &&
      r.quantity === want.quantity &&
      r.amount === want.amount &&
      r.shippingAmount === want.shippingAmount,
  );
}

/** The returns platform's figure against the marketplace's: disputed beyond the tolerance (default 1 minor unit). */
export function refundDispute(
  ours: number,
  theirs: number | undefined,
  toleranceMinor = 1,
): { difference: number } | undefined {
  if (theirs === undefined || !Number.isFinite(theirs)) return undefined;
  const difference = theirs - ours;
  return Math.abs(difference) > toleranceMinor ? { difference } : undefined;
}

/** "GBP 12.50" (integer minor units in, the currency's own precision out). */
export function money(minor: number, currency: string): string {
  return `${currency} ${Number.isInteger(minor) ? fromMinor(minor, currency) : String(minor)}`;
}

/** Loopline's key of a return from its source and the source's id (workflow ids derive from it). */
export function returnKeyOf(origin: ReturnOrigin, sourceId: string): string {
  const prefix = origin === 'marketplace' ? 'mkp' : origin === 'reveni' ? 'rvn' : 'wh';
  return `${prefix}-${sourceId}`;
}
