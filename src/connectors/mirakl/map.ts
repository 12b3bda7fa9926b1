// Mirakl wire format ⇄ Loopline's canonical order. Decimals become integer minor units here (toMinor) and
// nowhere else. Never throws on odd data: zero or negative quantities, missing prices, unknown states are
// carried through for validation to judge.
import type {
  AdditionalField,
  Address,
  MarketplaceOrder,
  MarketplaceOrderState,
  OrderLine,
  ShipmentConfirmation,
  Tax,
} from '../../domain/order';
import { toMinor } from '../../domain/money';
import { resolveCountry } from '../../domain/countries';
import type { MiraklAddress, MiraklOrder, OR23Request, ST01Shipment } from './schemas';

export interface MiraklChannelMapping {
  code: string;
  /** Used when the order carries no currency_iso_code. */
  currency?: string;
  /** Operator auto-refusal window, for orders that carry no deadline. */
  acceptanceWindowHours: number;
}

const STATES: ReadonlySet<string> = new Set([
  'STAGING',
  'WAITING_ACCEPTANCE',
  'WAITING_DEBIT',
  'WAITING_DEBIT_PAYMENT',
  'SHIPPING',
  'SHIPPED',
  'TO_COLLECT',
  'RECEIVED',
  'CLOSED',
  'REFUSED',
  'CANCELED',
]);

function state(s: unknown): MarketplaceOrderState {
  return typeof s === 'string' && STATES.has(s) ? (s as MarketplaceOrderState) : 'UNKNOWN';
}

/** Decimal (number or string) to minor units; anything unreadable is 0 (validation compares totals). */
function minor(v: unknown, currency: string): number {
  if (typeof v !== 'number' && typeof v !== 'string') return 0;
  if (typeof v === 'number' && !Number.isFinite(v)) return 0;
  try {
    return toMinor(v, currency);
  } catch {
    return 0;
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function isoDate(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function taxes(list: unknown, currency: string): Tax[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((t): t is Record<string, unknown> => typeof t === 'object' && t !== null)
    .map((t) => {
      const out: Tax = { code: String(t.code ?? ''), amount: minor(t.amount, currency) };
      const rate = typeof t.rate === 'number' ? t.rate : typeof t.rate === 'string' ? Number(t.rate) : undefined;
      if (rate !== undefined && Number.isFinite(rate)) out.rate = rate;
      return out;
    });
}

function address(a: MiraklAddress | null | undefined): Address | null | undefined {
  if (a === null) return null;
  if (a === undefined) return undefined;
  const out: Address = {
    firstName: str(a.firstname),
    lastName: str(a.lastname),
    company: str(a.company),
    line1: str(a.street_1),
    line2: str(a.street_2),
    city: str(a.city),
    region: str(a.state),
    postcode: str(a.zip_code),
    // ISO alpha-2, whatever Mirakl sent (alpha-3 as documented, or null / two letters with the country in
    // `country`); what was sent when nothing matches, for validation to name (COUNTRY_UNKNOWN).
    countryCode: resolveCountry(a.country_iso_code, a.country)?.alpha2 ?? str(a.country_iso_code),
    country: str(a.country),
    phone: str(a.phone),
    instructions: str(a.additional_info),
  };
  for (const k of Object.keys(out) as (keyof Address)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** order_additional_fields: code + value (a list's values joined); entries without a code are skipped. */
function additionalFields(list: unknown): AdditionalField[] {
  if (!Array.isArray(list)) return [];
  const out: AdditionalField[] = [];
  for (const f of list) {
    if (typeof f !== 'object' || f === null) continue;
    const r = f as Record<string, unknown>;
    const code = str(r.code);
    if (!code) continue;
    const v = r.value;
    const value = Array.isArray(v)
      ? v.filter((x) => typeof x === 'string' || typeof x === 'number').join(', ')
      : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : '';
    out.push({ code, ...(str(r.type) ? { type: str(r.type) } : {}), value });
  }
  return out;
}

function sumQuantities(list: unknown): number {
  if (!Array.isArray(list)) return 0;
  return list.reduce<number>(
    (s, x) => s + (typeof x?.quantity === 'number' && Number.isFinite(x.quantity) ? x.quantity : 0),
    0,
  );
}

export function toMarketplaceOrder(wire: MiraklOrder, channel: MiraklChannelMapping): MarketplaceOrder {
  const currency = str(wire.currency_iso_code) ?? channel.currency ?? 'GBP';
  const createdAt = isoDate(wire.created_date) ?? isoDate(wire.last_updated_date) ?? new Date(0).toISOString();
  const updatedAt = isoDate(wire.last_updated_date) ?? createdAt;
  const explicitDeadline = isoDate(
    (wire as Record<string, unknown>).acceptance_deadline_date ?? (wire as Record<string, unknown>).acceptance_deadline,
  );
  const acceptanceDeadline =
    explicitDeadline ?? new Date(Date.parse(createdAt) + channel.acceptanceWindowHours * 3_600_000).toISOString();
  const wireLines = Array.isArray(wire.order_lines) ? wire.order_lines : [];
  const lines: OrderLine[] = wireLines.map((l, i) => {
    const quantity = typeof l.quantity === 'number' && Number.isFinite(l.quantity) ? l.quantity : 0;
    const unitPrice = minor(l.price_unit, currency);
    return {
      lineId: String(l.order_line_id ?? ''),
      index: typeof l.order_line_index === 'number' ? l.order_line_index : i + 1,
      offerSku: String(l.offer_sku ?? ''),
      productTitle: str(l.product_title),
      quantity,
      unitPrice,
      price: l.price === undefined || l.price === null ? unitPrice * quantity : minor(l.price, currency),
      shippingPrice: minor(l.shipping_price, currency),
      taxes: taxes(l.taxes, currency),
      shippingTaxes: taxes(l.shipping_taxes, currency),
      state: str(l.order_line_state) ?? 'UNKNOWN',
      cancelledQuantity: sumQuantities(l.cancelations) + sumQuantities(l.refunds),
    };
  });
  const goods =
    wire.price === undefined || wire.price === null
      ? lines.reduce((s, l) => s + l.price, 0)
      : minor(wire.price, currency);
  const shipping =
    wire.shipping_price === undefined || wire.shipping_price === null
      ? lines.reduce((s, l) => s + l.shippingPrice, 0)
      : minor(wire.shipping_price, currency);
  const total =
    wire.total_price === undefined || wire.total_price === null ? goods + shipping : minor(wire.total_price, currency);
  const c = wire.customer ?? undefined;
  const order: MarketplaceOrder = {
    channel: channel.code,
    orderId: String(wire.order_id),
    commercialId: str(wire.commercial_id),
    state: state(wire.order_state),
    createdAt,
    updatedAt,
    acceptanceDeadline,
    shippingDeadline: isoDate(wire.shipping_deadline),
    currency,
    taxMode: wire.order_tax_mode === 'TAX_EXCLUDED' ? 'TAX_EXCLUDED' : 'TAX_INCLUDED',
    shippingMethod: { code: str(wire.shipping_type_code), label: str(wire.shipping_type_label) },
    customer: c
      ? {
          id: str(c.customer_id),
          firstName: str(c.firstname),
          lastName: str(c.lastname),
          email: str(wire.customer_notification_email),
          locale: str(c.locale),
        }
      : undefined,
    shippingAddress: c ? address(c.shipping_address) : undefined,
    billingAddress: c ? address(c.billing_address) : undefined,
    lines,
    additionalFields: additionalFields((wire as Record<string, unknown>).order_additional_fields),
    totals: { goods, shipping, total },
    canCancel: typeof wire.can_cancel === 'boolean' ? wire.can_cancel : undefined,
  };
  return order;
}

function trackingUrl(template: string | undefined, trackingNumber: string | undefined): string | undefined {
  if (!template) return undefined;
  if (!trackingNumber) return template.includes('{') ? undefined : template;
  return template.replace(/\{tracking(Id|Number)?\}/g, encodeURIComponent(trackingNumber));
}

/**
 * ST01 shipment for one despatch. The despatch number goes in every line's package_reference, which is
 * what look-before-create matches on (ST11).
 */
export function toShipmentPayload(
  orderId: string,
  c: ShipmentConfirmation,
  opts: { shipped?: boolean } = {},
): ST01Shipment {
  const tracking: NonNullable<ST01Shipment['tracking']> = {};
  if (c.carrier.code) tracking.carrier_code = c.carrier.code;
  else if (c.carrier.name) tracking.carrier_name = c.carrier.name;
  if (c.trackingNumber) tracking.tracking_number = c.trackingNumber;
  const url = c.carrier.code ? undefined : trackingUrl(c.carrier.trackingUrl, c.trackingNumber);
  if (url) tracking.tracking_url = url;
  const out: ST01Shipment = {
    order_id: orderId,
    shipped: opts.shipped ?? true,
    shipment_lines: c.lines.map((l) => ({
      order_line_id: l.lineId,
      quantity: l.quantity,
      package_reference: c.despatchNumber,
    })),
  };
  if (Object.keys(tracking).length > 0) out.tracking = tracking;
  return out;
}

/** OR23 body: a registered carrier by code, otherwise name + URL. */
export function toTrackingPayload(c: ShipmentConfirmation): OR23Request {
  const out: OR23Request = {};
  if (c.carrier.code) out.carrier_code = c.carrier.code;
  else {
    if (c.carrier.name) out.carrier_name = c.carrier.name;
    const url = trackingUrl(c.carrier.trackingUrl, c.trackingNumber);
    if (url) out.carrier_url = url;
  }
  if (c.trackingNumber) out.tracking_number = c.trackingNumber;
  return out;
}
