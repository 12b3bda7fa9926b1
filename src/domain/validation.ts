// Order validation: pure, no I/O. Every problem names the record and field and carries a reason code
// with its owner, so a bad order becomes an exception a person can act on, never a crash.
import { fromMinor, ROUNDING_TOLERANCE_MINOR } from './money';
import type { MarketplaceOrder } from './order';
import { makeException, type OrderException, type ReasonCode } from './reasons';

export interface ValidationContext {
  channel: string;
  /** The channel's settlement currency. */
  currency: string;
  /** offer SKU → item code; returns undefined when the SKU maps to nothing the warehouse knows. */
  itemCodeFor(offerSku: string): string | undefined;
  /** Whether the shipping address must be present (false before acceptance on platforms that hide it). */
  requireAddress: boolean;
  limits?: Partial<FieldLimits>;
  /**
   * Country and postcode rules (src/domain/addresses.ts: ISO 3166 through a library, postcode regimes per
   * country). Injected, so this file stays free of data files and can be imported by workflows. Without
   * them only UK postcodes are checked and every country needs one (the rule before countries were known).
   */
  address?: AddressRules;
  /** Marketplace additional fields the channel marks required (config: channels[].additionalFields). */
  requiredAdditionalFields?: string[];
  now: number;
}

/** What validation needs to know about countries and postcodes. */
export interface AddressRules {
  /** The ISO country of what the platform sent (code and/or name), or undefined when none matches. */
  country(code?: string, name?: string): { alpha2: string; name: string } | undefined;
  /** The postcode against the rules for the country (alpha-2). */
  checkPostcode(alpha2: string, postcode: string | undefined): 'ok' | 'missing' | 'invalid';
}

/**
 * Peoplevox column sizes (Sales orders template), counted as the warehouse counts them: see columnLength.
 * `customer` is the contact name (ContactName, string(100)); the Customer column (string(50)) is a display
 * name that the mapping shortens, so a long but real name is never a reason to park an order.
 */
export interface FieldLimits {
  addressLine: number;
  city: number;
  region: number;
  postcode: number;
  customer: number;
  maxLines: number;
}

export const DEFAULT_LIMITS: FieldLimits = {
  addressLine: 100,
  city: 50,
  region: 50,
  postcode: 20,
  customer: 100,
  maxLines: 500,
};

const UK_POSTCODE =
  /^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2})$/i;
const UK_CODES: ReadonlySet<string> = new Set(['GB', 'GBR', 'UK', 'UNITED KINGDOM']);

/** Length in user-perceived characters (an emoji counts once), the way a person reads the limit. */
export function visibleLength(s: string): number {
  return [...s].length;
}

/**
 * Length as a warehouse column counts it: UTF-16 code units (SQL Server nvarchar, which Peoplevox uses),
 * so an emoji or any character outside the Basic Multilingual Plane takes two of the column's places.
 */
export function columnLength(s: string): number {
  return s.length;
}

/** Minor units as the marketplace's decimal, or as they are when not a whole number of minor units. */
function amountText(minor: number, currency: string): string {
  return Number.isInteger(minor) ? fromMinor(minor, currency) : String(minor);
}

/** "101", or "101 (emoji count twice)" when the column count differs from what a person sees. */
function describeLength(s: string): string {
  const units = columnLength(s);
  return units === visibleLength(s) ? String(units) : `${units} (emoji and some symbols count twice)`;
}

export function isUkCountry(code?: string, name?: string): boolean {
  return UK_CODES.has((code ?? '').toUpperCase()) || UK_CODES.has((name ?? '').toUpperCase());
}

/** The rule before countries were known: UK postcodes strict, any other non-empty text accepted. */
export function validatePostcode(postcode: string, countryCode?: string, country?: string): boolean {
  if (isUkCountry(countryCode, country)) return UK_POSTCODE.test(postcode.trim());
  return postcode.trim().length > 0;
}

/**
 * What makes an acceptance decision impossible or ambiguous: OR21 takes one decision per order line id, so
 * an order without lines (an empty OR21 refuses it) or with a line id twice is held for a person before
 * anything is sent to the marketplace, rather than accepted or refused by accident.
 */
export function acceptanceBlockers(order: MarketplaceOrder, channel: string, now: number): OrderException[] {
  const base = { orderId: order.orderId, channel };
  if (order.lines.length === 0) return [makeException('NO_LINES', base, now, 'order_lines')];
  const out: OrderException[] = [];
  const seen = new Set<string>();
  order.lines.forEach((line, i) => {
    if (seen.has(line.lineId)) {
      out.push(
        makeException('DUPLICATE_LINE_ID', { ...base, lineId: line.lineId }, now, `order_lines[${i}].order_line_id`),
      );
    }
    seen.add(line.lineId);
  });
  return out;
}

export function validateOrder(order: MarketplaceOrder, ctx: ValidationContext): OrderException[] {
  const problems: OrderException[] = [];
  const limits = { ...DEFAULT_LIMITS, ...ctx.limits };
  const base = { orderId: order.orderId, channel: ctx.channel };
  const add = (reason: ReasonCode, details: Record<string, string | number | undefined>, field?: string) =>
    problems.push(makeException(reason, { ...base, ...details }, ctx.now, field));

  if (order.currency !== ctx.currency) {
    add('CURRENCY_MISMATCH', { currency: order.currency, expected: ctx.currency }, 'currency_iso_code');
  }
  if (order.lines.length === 0) add('NO_LINES', {}, 'order_lines');
  if (order.lines.length > limits.maxLines) {
    add('TOO_MANY_LINES', { count: order.lines.length, max: limits.maxLines }, 'order_lines');
  }

  const seenLineIds = new Set<string>();
  order.lines.forEach((line, i) => {
    const f = (name: string) => `order_lines[${i}].${name}`;
    if (seenLineIds.has(line.lineId)) add('DUPLICATE_LINE_ID', { lineId: line.lineId }, f('order_line_id'));
    seenLineIds.add(line.lineId);
    if (!Number.isInteger(line.quantity) || line.quantity <= 0) {
      add('QUANTITY_INVALID', { lineId: line.lineId, quantity: line.quantity }, f('quantity'));
    }
    if (!Number.isInteger(line.unitPrice) || line.unitPrice < 0) {
      add('PRICE_INVALID', { lineId: line.lineId, field: 'price_unit', value: line.unitPrice }, f('price_unit'));
    }
    if (ctx.itemCodeFor(line.offerSku) === undefined) {
      add('SKU_UNMAPPED', { lineId: line.lineId, offerSku: line.offerSku }, f('offer_sku'));
    }
    // Tax-inclusive line price must be unit price × quantity within one minor unit.
    if (Number.isInteger(line.quantity) && line.quantity > 0) {
      const expected = line.unitPrice * line.quantity;
      if (Math.abs(expected - line.price) > ROUNDING_TOLERANCE_MINOR) {
        add(
          'TOTALS_MISMATCH',
          {
            what: `line ${line.lineId} price`,
            actual: fromMinor(line.price, order.currency),
            expected: fromMinor(expected, order.currency),
            difference: fromMinor(Math.abs(expected - line.price), order.currency),
          },
          f('price'),
        );
      }
    }
  });

  // A negative shipping price is named as such: summed into the totals it would only show as a mismatch.
  order.lines.forEach((line, i) => {
    if (!Number.isInteger(line.shippingPrice) || line.shippingPrice < 0) {
      add(
        'PRICE_INVALID',
        { lineId: line.lineId, field: 'shipping_price', value: amountText(line.shippingPrice, order.currency) },
        `order_lines[${i}].shipping_price`,
      );
    }
  });
  if (order.totals.shipping < 0) {
    add(
      'PRICE_INVALID',
      { lineId: '(order)', field: 'shipping_price', value: amountText(order.totals.shipping, order.currency) },
      'shipping_price',
    );
  }

  const goods = order.lines.reduce((s, l) => s + l.price, 0);
  const shipping = order.lines.reduce((s, l) => s + l.shippingPrice, 0);
  const checks: Array<[string, number, number, string]> = [
    ['the goods total', order.totals.goods, goods, 'price'],
    ['the shipping total', order.totals.shipping, shipping, 'shipping_price'],
    ['the order total', order.totals.total, order.totals.goods + order.totals.shipping, 'total_price'],
  ];
  for (const [what, actual, expected, field] of checks) {
    if (Math.abs(actual - expected) > ROUNDING_TOLERANCE_MINOR) {
      add(
        'TOTALS_MISMATCH',
        {
          what,
          actual: fromMinor(actual, order.currency),
          expected: fromMinor(expected, order.currency),
          difference: fromMinor(Math.abs(actual - expected), order.currency),
        },
        field,
      );
    }
  }

  for (const code of ctx.requiredAdditionalFields ?? []) {
    const field = (order.additionalFields ?? []).find((f) => f.code === code);
    if (!field || field.value.trim() === '') {
      add('ADDITIONAL_FIELD_MISSING', { code }, `order_additional_fields[${code}]`);
    }
  }

  if (ctx.requireAddress) {
    const a = order.shippingAddress;
    const required: Array<[keyof NonNullable<typeof a>, string]> = [
      ['line1', 'street_1'],
      ['city', 'city'],
    ];
    if (!ctx.address) required.push(['postcode', 'zip_code']);
    if (!a) {
      add('ADDRESS_MISSING', { field: 'the whole shipping address' }, 'customer.shipping_address');
    } else {
      for (const [key, wire] of required) {
        const v = a[key];
        if (typeof v !== 'string' || v.trim() === '') {
          add('ADDRESS_MISSING', { field: wire }, `customer.shipping_address.${wire}`);
        }
      }
      if (!a.countryCode && !a.country) {
        add('ADDRESS_MISSING', { field: 'country' }, 'customer.shipping_address.country_iso_code');
      } else if (ctx.address) {
        const country = ctx.address.country(a.countryCode, a.country);
        if (!country) {
          add(
            'COUNTRY_UNKNOWN',
            { code: a.countryCode ?? '(none)', country: a.country ?? '(none)' },
            'customer.shipping_address.country_iso_code',
          );
        } else {
          const where = `${country.name} (${country.alpha2})`;
          const verdict = ctx.address.checkPostcode(country.alpha2, a.postcode);
          if (verdict === 'missing') {
            add('ADDRESS_MISSING', { field: `zip_code (required in ${where})` }, 'customer.shipping_address.zip_code');
          } else if (verdict === 'invalid') {
            add(
              'POSTCODE_INVALID',
              { postcode: a.postcode ?? '', country: where },
              'customer.shipping_address.zip_code',
            );
          }
        }
      }
      if (
        !ctx.address &&
        a.postcode &&
        a.postcode.trim() !== '' &&
        !validatePostcode(a.postcode, a.countryCode, a.country)
      ) {
        add(
          'POSTCODE_INVALID',
          { postcode: a.postcode, country: a.countryCode ?? a.country ?? 'unknown country' },
          'customer.shipping_address.zip_code',
        );
      }
      const lengths: Array<[string | undefined, number, string]> = [
        [a.line1, limits.addressLine, 'street_1'],
        [a.line2, limits.addressLine, 'street_2'],
        [a.city, limits.city, 'city'],
        [a.region, limits.region, 'state'],
        [a.postcode, limits.postcode, 'zip_code'],
      ];
      for (const [v, max, wire] of lengths) {
        // The warehouse trims what it stores, so surrounding spaces do not count.
        const value = v?.trim();
        if (value !== undefined && columnLength(value) > max) {
          add(
            'FIELD_TOO_LONG',
            { field: `shipping address ${wire}`, length: describeLength(value), max },
            `customer.shipping_address.${wire}`,
          );
        }
      }
      const contact = [a.firstName, a.lastName]
        .filter((s) => s && s.trim())
        .join(' ')
        .trim();
      if (columnLength(contact) > limits.customer) {
        add(
          'FIELD_TOO_LONG',
          {
            field: 'the customer name (shipping address firstname + lastname)',
            length: describeLength(contact),
            max: limits.customer,
          },
          'customer.shipping_address',
        );
      }
    }
  }
  return problems;
}
