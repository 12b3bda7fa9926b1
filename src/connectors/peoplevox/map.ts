// Wire ⇄ domain for Peoplevox: integration-template rows from a MarketplaceOrder, Despatch records from the
// 'Despatch summary' report, and report dates. Money leaves the domain only through fromMinor.
import { fromMinor } from '../../domain/money';
import type { Address, Despatch, MarketplaceOrder } from '../../domain/order';
import { columnLength, DEFAULT_LIMITS } from '../../domain/validation';
import { resolveCountry } from '../../domain/countries';
import { checkPostcode, postcodeRule, type PostcodeOverride } from '../../domain/postcodes';
import type { ChannelConfig, Config } from '../../config/schema';

export type PvxRow = Record<string, string | number | undefined>;

export const SALES_ORDERS_TEMPLATE = 'Sales orders';
export const SALES_ORDER_ITEMS_TEMPLATE = 'Sales order items';
export const ITEM_TYPES_TEMPLATE = 'Item types';
export const DESPATCH_SUMMARY_REPORT = 'Despatch summary';
export const ITEM_INVENTORY_SUMMARY_REPORT = 'Item inventory summary';
export const RETURN_SUMMARY_REPORT = 'Return summary';

/** Peoplevox's Customer column is string(50): a display name, so it is shortened rather than rejected. */
const CUSTOMER_MAX = 50;

/** How the address country columns are written: the country's English name (the default), or an ISO code. */
export type PvxCountryFormat = 'name' | 'alpha2' | 'alpha3';

/**
 * The country column: ISO 3166 resolved from what the marketplace sent (alpha-3, alpha-2 or a name in the
 * customer's language), written in the tenant's format. Unresolvable (validation parks those orders) is
 * passed through as sent.
 */
function countryOf(a: Address | null | undefined, format: PvxCountryFormat = 'name'): string | undefined {
  if (!a) return undefined;
  const c = resolveCountry(a.countryCode, a.country);
  if (!c) return a.country?.trim() || a.countryCode?.trim() || undefined;
  return format === 'alpha2' ? c.alpha2 : format === 'alpha3' ? c.alpha3 : c.name;
}

function nameOf(a: Address | null | undefined, order: MarketplaceOrder): string | undefined {
  const fromAddress = [a?.firstName, a?.lastName].filter((s) => s && s.trim()).join(' ');
  const fromCustomer = [order.customer?.firstName, order.customer?.lastName].filter((s) => s && s.trim()).join(' ');
  const name = fromAddress || fromCustomer || a?.company;
  return name ? name.trim() : undefined;
}

/**
 * At most `max` UTF-16 code units (how the warehouse's columns count), cut between characters: never half
 * of an emoji, which would reach the warehouse as a replacement character.
 */
export function shortenForColumn(s: string, max: number): string {
  if (columnLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out.trimEnd();
}

/**
 * Whether the warehouse would take this address in its invoice columns. The billing address is not needed
 * to ship, so one the warehouse would reject (a mistyped UK postcode, an over-long line) is left out rather
 * than block the parcel: validation judges only the shipping address.
 */
function acceptableInvoiceAddress(a: Address, postcodes: Record<string, PostcodeOverride> = {}): boolean {
  const fits = (v: string | undefined, max: number) => v === undefined || columnLength(v.trim()) <= max;
  const country = resolveCountry(a.countryCode, a.country);
  if (a.postcode && a.postcode.trim() !== '') {
    if (!country || checkPostcode(postcodeRule(country.alpha2, postcodes), a.postcode) === 'invalid') return false;
  }
  return (
    fits(a.line1, DEFAULT_LIMITS.addressLine) &&
    fits(a.line2, DEFAULT_LIMITS.addressLine) &&
    fits(a.city, DEFAULT_LIMITS.city) &&
    fits(a.region, DEFAULT_LIMITS.region) &&
    fits(a.postcode, DEFAULT_LIMITS.postcode)
  );
}

/** yyyy-MM-dd of an ISO timestamp (the date columns take a date). */
function dateOnly(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(iso);
  return m ? m[1] : undefined;
}

function addressColumns(
  prefix: 'Shipping' | 'Invoice',
  a: Address | null | undefined,
  format: PvxCountryFormat | undefined,
): PvxRow {
  if (!a) return {};
  return {
    [`${prefix}AddressLine1`]: a.line1,
    [`${prefix}AddressLine2`]: a.line2,
    [`${prefix}AddressCity`]: a.city,
    [`${prefix}AddressRegion`]: a.region,
    [`${prefix}AddressPostcode`]: a.postcode?.trim(),
    [`${prefix}AddressCountry`]: countryOf(a, format),
  };
}

export interface SalesOrderRowOptions {
  salesOrderNumber: string;
  channelName: string;
  /**
   * Template column for delivery instructions. The default template has none, so this is tenant
   * configuration; saveData drops the column when the tenant's template does not have it.
   */
  instructionsColumn?: string;
  /** ShippingAddressCountry / InvoiceAddressCountry format (systems.peoplevox.countryFormat). */
  countryFormat?: PvxCountryFormat;
  /** Marketplace custom field code → the template column it goes in (channels[].additionalFields). */
  additionalFieldColumns?: Record<string, string>;
  /** The channel's postcode overrides (an invoice address whose postcode fails them is left out). */
  postcodes?: Record<string, PostcodeOverride>;
}

/** The row options a channel's configuration gives (everything but the sales order number). */
export function salesOrderRowOptions(
  config: Config,
  ch: ChannelConfig,
): Omit<SalesOrderRowOptions, 'salesOrderNumber'> {
  const additionalFieldColumns: Record<string, string> = {};
  for (const [code, f] of Object.entries(ch.additionalFields)) {
    if (f.peoplevoxColumn) additionalFieldColumns[code] = f.peoplevoxColumn;
  }
  return {
    channelName: ch.code,
    countryFormat: config.systems.peoplevox?.countryFormat,
    additionalFieldColumns,
    postcodes: ch.addresses.postcodes,
  };
}

/** One 'Sales orders' row. Keys are template column names; undefined values are left out of the CSV. */
export function toSalesOrderRow(order: MarketplaceOrder, opts: SalesOrderRowOptions): PvxRow {
  const ship = order.shippingAddress ?? undefined;
  const billing = order.billingAddress ?? ship;
  const bill = billing && acceptableInvoiceAddress(billing, opts.postcodes) ? billing : undefined;
  const customer = nameOf(ship, order);
  const taxPaid = order.lines.reduce(
    (sum, l) => sum + l.taxes.reduce((s, t) => s + t.amount, 0) + l.shippingTaxes.reduce((s, t) => s + t.amount, 0),
    0,
  );
  const row: PvxRow = {
    SalesOrderNumber: opts.salesOrderNumber,
    Customer: customer ? shortenForColumn(customer, CUSTOMER_MAX) : undefined,
    CustomerPurchaseOrderReferenceNumber: order.commercialId ?? order.orderId,
    ...addressColumns('Shipping', ship, opts.countryFormat),
    ...addressColumns('Invoice', bill, opts.countryFormat),
    RequestedDeliveryDate: dateOnly(order.shippingDeadline),
    ShippingCost: fromMinor(order.totals.shipping, order.currency),
    Email: order.customer?.email,
    ContactName: customer,
    TotalSale: fromMinor(order.totals.total, order.currency),
    TaxPaid: taxPaid > 0 ? fromMinor(taxPaid, order.currency) : undefined,
    CreatedDate: dateOnly(order.createdAt),
    ServiceType: order.shippingMethod?.label ?? order.shippingMethod?.code,
    ChannelName: opts.channelName,
  };
  const instructions = ship?.instructions?.trim();
  if (instructions) row[opts.instructionsColumn ?? 'SalesOrderAttribute1'] = instructions;
  // Custom fields (a gift message, delivery notes) in the columns the channel maps them to. saveData sends
  // only columns the tenant's template has, so a mapping to a column it lacks is dropped and logged.
  for (const f of order.additionalFields ?? []) {
    const column = opts.additionalFieldColumns?.[f.code];
    const value = f.value.trim();
    if (column && value) row[column] = value;
  }
  return row;
}

/** 'Sales order items' rows: one per order line with a quantity still to ship. */
export function toSalesOrderItemRows(
  order: MarketplaceOrder,
  opts: { salesOrderNumber: string; itemCodeFor: (offerSku: string) => string },
): PvxRow[] {
  return order.lines
    .filter((l) => l.quantity - (l.cancelledQuantity ?? 0) > 0)
    .map((l) => ({
      SalesOrderNumber: opts.salesOrderNumber,
      ItemCode: opts.itemCodeFor(l.offerSku),
      QuantityOrdered: l.quantity - (l.cancelledQuantity ?? 0),
      RequestedDeliveryDate: dateOnly(order.shippingDeadline),
      Line: l.index,
      SalePrice: fromMinor(l.unitPrice, order.currency),
    }));
}

function offsetMinutes(timeZone: string, utcMs: number): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? '0');
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - utcMs) / 60_000);
}

/**
 * A Peoplevox date (reports: dd/MM/yyyy HH:mm[:ss]; templates: yyyy-MM-dd[ HH:mm[:ss]] or ISO) to an ISO
 * timestamp. Report dates arrive quoted inside the CSV field ('03/07/2017 06:03', as real exports and
 * clients show): the quotes are dropped. Wall-clock values are read in `timeZone` (default UTC; the real
 * service's zone is not documented — a UK tenant probably reports Europe/London). Returns undefined for
 * empty or unreadable input.
 */
export function parsePvxDate(value: string | undefined, timeZone = 'UTC'): string | undefined {
  const v = value
    ?.trim()
    .replace(/^'(.*)'$/, '$1')
    .trim();
  if (!v) return undefined;
  let m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(v);
  let wall: number | undefined;
  if (m) wall = Date.UTC(+m[3]!, +m[2]! - 1, +m[1]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  else {
    m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(v);
    if (!m) return undefined;
    if (m[8]) {
      const t = Date.parse(v.replace(' ', 'T'));
      return Number.isNaN(t) ? undefined : new Date(t).toISOString();
    }
    wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  }
  if (Number.isNaN(wall)) return undefined;
  if (timeZone === 'UTC') return new Date(wall).toISOString();
  // Two passes settle the offset around DST changes.
  let utc = wall - offsetMinutes(timeZone, wall) * 60_000;
  utc = wall - offsetMinutes(timeZone, utc) * 60_000;
  return new Date(utc).toISOString();
}

/**
 * An ISO instant as a SearchClause date: DateTime(yyyy,MM,dd,HH,mm,ss) in `timeZone` (default UTC), the
 * form public clients filter report dates with (e.g. `([Despatch date] >= DateTime(2024,01,31,00,00,00))`).
 */
export function formatPvxSearchDate(iso: string, timeZone = 'UTC'): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`not an ISO timestamp: ${iso}`);
  const local = new Date(t + (timeZone === 'UTC' ? 0 : offsetMinutes(timeZone, t) * 60_000)).toISOString();
  const [y, mo, d, h, mi, sec] = [
    local.slice(0, 4),
    local.slice(5, 7),
    local.slice(8, 10),
    local.slice(11, 13),
    local.slice(14, 16),
    local.slice(17, 19),
  ];
  return `DateTime(${y},${mo},${d},${h},${mi},${sec})`;
}

function col(row: Record<string, string>, name: string): string | undefined {
  if (name in row) return row[name];
  const lc = name.toLowerCase();
  const key = Object.keys(row).find((k) => k.toLowerCase() === lc);
  return key === undefined ? undefined : row[key];
}

/**
 * 'Despatch summary' rows (one per despatched item) grouped into Despatch records by Despatch number.
 * `No of items` is sometimes missing on real tenants (P6): a row then counts as one item.
 */
export function despatchesFromReport(rows: Record<string, string>[], timeZone = 'UTC'): Despatch[] {
  const byNumber = new Map<string, Despatch>();
  for (const row of rows) {
    const despatchNumber = col(row, 'Despatch number')?.trim();
    const salesOrderNumber = col(row, 'Salesorder number')?.trim() ?? col(row, 'Sales order number')?.trim();
    if (!despatchNumber || !salesOrderNumber) continue;
    let d = byNumber.get(despatchNumber);
    if (!d) {
      d = {
        despatchNumber,
        salesOrderNumber,
        trackingNumber: col(row, 'Tracking number')?.trim() || undefined,
        carrier: col(row, 'Carrier')?.trim() || col(row, 'Carrier reference')?.trim() || undefined,
        despatchedAt: parsePvxDate(col(row, 'Despatch date'), timeZone),
        items: [],
      };
      byNumber.set(despatchNumber, d);
    }
    const itemCode = col(row, 'Item code')?.trim();
    if (!itemCode) continue;
    const rawQty = col(row, 'No of items')?.trim();
    const quantity = rawQty && /^\d+$/.test(rawQty) ? Number(rawQty) : 1;
    const existing = d.items.find((i) => i.itemCode === itemCode);
    if (existing) existing.quantity += quantity;
    else d.items.push({ itemCode, quantity });
  }
  return [...byNumber.values()];
}

/** A return booked in at the warehouse: one return code, its items as the 'Return summary' names them. */
export interface ReturnReceipt {
  returnCode: string;
  salesOrderNumber: string;
  returnedAt?: string;
  items: Array<{
    /** The report names items by barcode (and name); the item code comes from the Item types template. */
    barcode: string;
    itemName?: string;
    /** As the report says it (a non-number stays NaN, for the return workflow to name). */
    quantity: number;
    reason?: string;
    condition?: string;
    comments?: string;
  }>;
}

/** 'Return summary' rows (one per returned item) grouped per return code. */
export function returnReceiptsFromReport(rows: Record<string, string>[], timeZone = 'UTC'): ReturnReceipt[] {
  const byCode = new Map<string, ReturnReceipt>();
  for (const row of rows) {
    const returnCode = col(row, 'Return code')?.trim();
    const salesOrderNumber = col(row, 'Sales order number')?.trim() ?? col(row, 'Salesorder number')?.trim();
    if (!returnCode || !salesOrderNumber) continue;
    let r = byCode.get(returnCode);
    if (!r) {
      r = { returnCode, salesOrderNumber, returnedAt: parsePvxDate(col(row, 'Return date'), timeZone), items: [] };
      byCode.set(returnCode, r);
    }
    const rawQty = col(row, 'Quantity')?.trim() ?? '';
    const opt = (name: string) => {
      const v = col(row, name)?.trim();
      return v ? v : undefined;
    };
    r.items.push({
      barcode: col(row, 'Item barcode')?.trim() ?? '',
      ...(opt('Item name') ? { itemName: opt('Item name') } : {}),
      quantity: /^-?\d+(\.\d+)?$/.test(rawQty) ? Number(rawQty) : Number.NaN,
      ...(opt('Return reason') ? { reason: opt('Return reason') } : {}),
      ...(opt('Return condition') ? { condition: opt('Return condition') } : {}),
      ...(opt('Return comments') ? { comments: opt('Return comments') } : {}),
    });
  }
  return [...byCode.values()];
}
