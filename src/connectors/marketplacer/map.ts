// Wire ⇄ domain for Marketplacer: a seller's invoice becomes one MarketplaceOrder (the seller's view of a
// marketplace order; sellers cannot read the Order itself). Money is already in minor units ("cents").
//   order id       the invoice's legacyId: the invoice number people see, short and free of the `=`, `/` and `+`
//                  a base64 Relay id can hold (it goes into the warehouse order number, <PREFIX>-<legacyId>)
//   line id        the line item's Relay id (opaque; what shipmentCreate and refundRequestCreate take)
//   state          from the accumulated status flags (docs/contracts.md): a paid invoice is ready to ship,
//                  with no acceptance step (Marketplacer has none)
//   custom fields  the buyer's message to the seller and every metadata entry, by key, as additionalFields:
//                  the channel maps the ones it needs (a gift message, delivery instructions, a priority flag)
//                  to Peoplevox columns and marks which are required (channels[].additionalFields)
import type { AdditionalField, Address, MarketplaceOrder, MarketplaceOrderState, OrderLine } from '../../domain/order';
import { resolveCountry } from '../../domain/countries';
import type { MpAddress, MpInvoice, MpLineItem } from './schemas';

/** The additional field that carries Invoice.buyerMessageToSeller. */
export const MESSAGE_TO_SELLER_FIELD = 'buyerMessageToSeller';

/** The domain state an invoice is in, from its (accumulated) status flags. */
export function invoiceState(flags: readonly string[]): MarketplaceOrderState {
  const has = (f: string) => flags.includes(f);
  if (has('CANCELLED')) return 'CANCELED';
  if (has('SENT')) return 'SHIPPED';
  // Click and collect: the store hands the goods over; nothing for a warehouse to ship.
  if (has('READY') || has('COLLECTED')) return 'TO_COLLECT';
  if (has('PAID')) return 'SHIPPING';
  if (has('PAYMENT_UNDER_REVIEW')) return 'WAITING_DEBIT_PAYMENT';
  return 'STAGING';
}

/** Units of each line cancelled before despatch: a CANCELLED line, or refunded cancellation requests. */
export function cancelledUnits(invoice: MpInvoice): Map<string, number> {
  const out = new Map<string, number>();
  for (const rr of invoice.refundRequests ?? [])
    for (const rl of rr.lineItems)
      if (rl.lineItem?.id && rl.dispatched === false && rl.status === 'REFUNDED')
        out.set(rl.lineItem.id, (out.get(rl.lineItem.id) ?? 0) + rl.quantity);
  for (const l of invoice.lineItems) {
    if (l.status === 'CANCELLED') out.set(l.id, l.quantity);
    else if (out.has(l.id)) out.set(l.id, Math.min(l.quantity, out.get(l.id)!));
  }
  return out;
}

/** Units of each line in shipments already made. */
export function shippedUnits(invoice: MpInvoice): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of invoice.shipments ?? [])
    for (const i of s.shippedItems) out.set(i.lineItem.id, (out.get(i.lineItem.id) ?? 0) + i.quantity);
  return out;
}

const text = (v: string | null | undefined) =>
  v === null || v === undefined || v.trim() === '' ? undefined : v.trim();

function address(a: MpAddress | null | undefined, invoice: MpInvoice): Address | null {
  if (!a) return null;
  const code = text(a.country?.code);
  const name = text(a.country?.name);
  const country = resolveCountry(code, name);
  return {
    firstName: text(invoice.buyerFirstName),
    lastName: text(invoice.buyerSurname),
    line1: text(a.address),
    line2: text(a.address2),
    city: text(a.city),
    region: text(a.state?.short) ?? text(a.state?.name),
    postcode: text(a.postcode),
    countryCode: country?.alpha2 ?? code,
    country: name ?? country?.name,
    phone: text(invoice.buyerPhone),
  };
}

function unitPrice(l: MpLineItem): number {
  if (typeof l.unitPriceCents === 'number') return l.unitPriceCents;
  if (typeof l.totalCents === 'number' && l.quantity > 0) return Math.round(l.totalCents / l.quantity);
  return 0;
}

export interface InvoiceMapOptions {
  code: string;
  currency: string;
}

export function toMarketplaceOrder(invoice: MpInvoice, ch: InvoiceMapOptions): MarketplaceOrder {
  const cancelled = cancelledUnits(invoice);
  const postage = invoice.postageCents ?? 0;
  const lines: OrderLine[] = invoice.lineItems.map((l, i) => {
    const unit = unitPrice(l);
    const price = typeof l.totalCents === 'number' ? l.totalCents : unit * l.quantity;
    return {
      lineId: l.id,
      index: i + 1,
      offerSku: l.variantSku ?? '',
      productTitle: text(l.variantName),
      quantity: l.quantity,
      unitPrice: unit,
      price,
      // Marketplacer charges postage per invoice: carried on the first line, so line sums equal the totals.
      shippingPrice: i === 0 ? postage : 0,
      taxes: typeof l.taxCents === 'number' && l.taxCents > 0 ? [{ code: 'TAX', amount: l.taxCents }] : [],
      shippingTaxes: [],
      state: l.status ?? 'UNKNOWN',
      cancelledQuantity: cancelled.get(l.id) ?? 0,
    };
  });
  const additional: AdditionalField[] = [];
  const message = text(invoice.buyerMessageToSeller);
  if (message) additional.push({ code: MESSAGE_TO_SELLER_FIELD, value: message });
  for (const m of invoice.metadata ?? []) {
    const v = text(m.value);
    if (v !== undefined) additional.push({ code: m.key, value: v });
  }
  const ship = address(invoice.shippingAddress, invoice);
  const goods = lines.reduce((s, l) => s + l.price, 0);
  return {
    channel: ch.code,
    orderId: String(invoice.legacyId),
    commercialId: String(invoice.legacyId),
    state: invoiceState(invoice.statusFlags),
    createdAt: invoice.createdAt,
    updatedAt: invoice.updatedAt ?? invoice.createdAt,
    currency: ch.currency,
    taxMode: 'TAX_INCLUDED',
    customer: {
      firstName: text(invoice.buyerFirstName),
      lastName: text(invoice.buyerSurname),
      email: text(invoice.buyerEmailAddress),
    },
    shippingAddress: ship,
    billingAddress: address(invoice.buyerBillingAddress, invoice),
    lines,
    additionalFields: additional,
    totals: { goods, shipping: postage, total: goods + postage },
  };
}
