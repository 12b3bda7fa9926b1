// A Marketplacer invoice as a return needs it (src/domain/returns.ts OrderForReturn): lines with their prices
// in minor units ("cents"), units shipped, and the refunds already on each line. Sellers see invoices, not
// orders, so the order id is the invoice's legacyId (as everywhere on this route).
//   shipped   units in the invoice's shipments
//   refunds   every return on the line: refund request lines with `dispatched: true` (and, tolerantly, lines
//             whose `dispatched` is not given: requests made before the flag was required), unless denied.
//             Cancellations (`dispatched: false`) are units never shipped: they are not refunds of shipped
//             goods and do not count against what a return may refund.
//   amount    Marketplacer's own figure for the line where the instance still serves it (`amountCents`, else
//             `amountPerItemCents` × units); else the units' share of the line price. A refund request takes no
//             amount for a line item: Marketplacer computes it from the line (docs/contracts.md).
//   custom    a custom line (Loopline's postage line, a back-office goodwill line) is money refunded on the
//             invoice's postage: a refund of no units on the first line (where the postage is carried), so the
//             shipping share of a later return never takes the postage refunds past what was paid
//   keys      the `externalIds` values of the request with Loopline's key: how a retry finds its own request.
import { proportional, type ExistingRefund, type OrderForReturn } from '../../domain/returns';
import { shippedUnits } from './map';
import type { MpInvoice, MpLineItem } from './schemas';

/** Statuses of a refund request (or of one of its lines) that refund nothing. */
const DENIED = new Set(['REFUND_DENIED', 'DENIED']);

function linePrice(l: MpLineItem): { unit: number; total: number } {
  const unit =
    typeof l.unitPriceCents === 'number'
      ? l.unitPriceCents
      : typeof l.totalCents === 'number' && l.quantity > 0
        ? Math.round(l.totalCents / l.quantity)
        : 0;
  return { unit, total: typeof l.totalCents === 'number' ? l.totalCents : unit * l.quantity };
}

/** The id a refund request line is known by (its own id; else the request's and the line item's). */
export function refundLineId(requestId: string, line: { id?: string | null }, lineItemId: string): string {
  return line.id ?? `${requestId}:${lineItemId}`;
}

export function invoiceToOrderForReturn(
  invoice: MpInvoice,
  opts: { currency: string; itemCodeOf: (sku: string) => string; externalIdKey: string },
): OrderForReturn {
  const shipped = shippedUnits(invoice);
  const postage = invoice.postageCents ?? 0;
  const refunds = new Map<string, ExistingRefund[]>();
  for (const rr of invoice.refundRequests ?? []) {
    if (rr.status && DENIED.has(rr.status)) continue;
    const keys = (rr.externalIds ?? []).filter((e) => e.key === opts.externalIdKey).map((e) => e.value);
    for (const rl of rr.lineItems) {
      if (!rl.lineItem?.id && rl.custom && !(rl.status && DENIED.has(rl.status)) && invoice.lineItems[0]) {
        // A custom line (Loopline's postage line, or the back office's): money refunded on the invoice's postage,
        // which the order mapping carries on the first line. No units: never taken for a return's own refund.
        const first = invoice.lineItems[0].id;
        const list = refunds.get(first) ?? [];
        list.push({
          id: refundLineId(rr.id, rl, `custom-${rr.lineItems.indexOf(rl)}`),
          quantity: 0,
          amount: 0,
          shippingAmount:
            typeof rl.amountCents === 'number' ? rl.amountCents : (rl.amountPerItemCents ?? 0) * rl.quantity,
        });
        refunds.set(first, list);
        continue;
      }
      const lineItemId = rl.lineItem?.id;
      if (!lineItemId || rl.dispatched === false || (rl.status && DENIED.has(rl.status))) continue;
      const line = invoice.lineItems.find((l) => l.id === lineItemId);
      const before = (refunds.get(lineItemId) ?? []).reduce((s, r) => s + r.quantity, 0);
      const amount =
        typeof rl.amountCents === 'number'
          ? rl.amountCents
          : typeof rl.amountPerItemCents === 'number'
            ? rl.amountPerItemCents * rl.quantity
            : line
              ? proportional(linePrice(line).total, line.quantity, before, rl.quantity)
              : 0;
      const list = refunds.get(lineItemId) ?? [];
      list.push({
        id: refundLineId(rr.id, rl, lineItemId),
        quantity: rl.quantity,
        amount,
        shippingAmount: 0,
        ...(keys.length > 0 ? { keys } : {}),
      });
      refunds.set(lineItemId, list);
    }
  }
  return {
    orderId: String(invoice.legacyId),
    currency: opts.currency,
    // Marketplacer prices are what the shopper paid, tax included.
    taxMode: 'TAX_INCLUDED',
    lines: invoice.lineItems.map((l, i) => {
      const { unit, total } = linePrice(l);
      const offerSku = l.variantSku ?? '';
      return {
        lineId: l.id,
        offerSku,
        itemCode: opts.itemCodeOf(offerSku),
        quantity: l.quantity,
        shipped: shipped.get(l.id) ?? 0,
        unitPrice: unit,
        price: total,
        // Postage is charged per invoice: carried on the first line, as the order mapping does.
        shippingPrice: i === 0 ? postage : 0,
        taxes: typeof l.taxCents === 'number' && l.taxCents > 0 ? [{ code: 'TAX', amount: l.taxCents }] : [],
        shippingTaxes: [],
        refunds: refunds.get(l.id) ?? [],
      };
    }),
  };
}
