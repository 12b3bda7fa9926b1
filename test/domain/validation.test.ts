// Order validation with the real address rules: postcode regimes per country, unknown countries named,
// negative shipping named, required marketplace fields. Pure: no server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateOrder, type ValidationContext } from '../../src/domain/validation';
import { addressRules } from '../../src/domain/addresses';
import type { Address, MarketplaceOrder } from '../../src/domain/order';

function order(address: Address | null, patch: Partial<MarketplaceOrder> = {}): MarketplaceOrder {
  return {
    channel: 'asos',
    orderId: 'O-1',
    state: 'SHIPPING',
    createdAt: '2026-03-01T00:00:00.000Z',
    updatedAt: '2026-03-01T00:00:00.000Z',
    currency: 'GBP',
    taxMode: 'TAX_INCLUDED',
    shippingAddress: address,
    lines: [
      {
        lineId: 'O-1-1',
        index: 1,
        offerSku: 'TEE',
        quantity: 2,
        unitPrice: 1000,
        price: 2000,
        shippingPrice: 395,
        taxes: [],
        shippingTaxes: [],
        state: 'SHIPPING',
        cancelledQuantity: 0,
      },
    ],
    totals: { goods: 2000, shipping: 395, total: 2395 },
    ...patch,
  };
}

const ctx = (patch: Partial<ValidationContext> = {}): ValidationContext => ({
  channel: 'asos',
  currency: 'GBP',
  itemCodeFor: (s) => s,
  requireAddress: true,
  address: addressRules(),
  now: 0,
  ...patch,
});

const at = (countryCode: string | undefined, postcode?: string, country?: string): Address => ({
  firstName: 'A',
  lastName: 'B',
  line1: '1 Street',
  city: 'Town',
  ...(postcode !== undefined ? { postcode } : {}),
  ...(countryCode !== undefined ? { countryCode } : {}),
  ...(country !== undefined ? { country } : {}),
});

const reasons = (o: MarketplaceOrder, c = ctx()) => validateOrder(o, c).map((p) => `${p.reason}@${p.field}`);

test('postcodes follow the destination: none (HK) ships without, optional (IE) may be empty, UK stays strict', () => {
  assert.deepEqual(reasons(order(at('HK'))), []);
  assert.deepEqual(reasons(order(at('AE', ''))), []);
  assert.deepEqual(reasons(order(at('IE'))), []);
  assert.deepEqual(reasons(order(at('IE', 'D02 X285'))), []);
  assert.deepEqual(reasons(order(at('GB', 'SW1A 1AA'))), []);
  assert.deepEqual(reasons(order(at('GB', 'SW1A 1A'))), ['POSTCODE_INVALID@customer.shipping_address.zip_code']);
  assert.deepEqual(reasons(order(at('GB'))), ['ADDRESS_MISSING@customer.shipping_address.zip_code']);
  assert.deepEqual(reasons(order(at('DE', '1234'))), ['POSTCODE_INVALID@customer.shipping_address.zip_code']);
  assert.deepEqual(reasons(order(at('DE', '10115'))), []);
  // A channel that wants Eircodes.
  const strictIe = ctx({ address: addressRules({ IE: { regime: 'required' } }) });
  assert.deepEqual(reasons(order(at('IE')), strictIe), ['ADDRESS_MISSING@customer.shipping_address.zip_code']);
});

test('a country nobody can read is COUNTRY_UNKNOWN, owned by customer service, naming what was sent', () => {
  const problems = validateOrder(order(at('XXX', '123', 'Atlantis')), ctx());
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.reason, 'COUNTRY_UNKNOWN');
  assert.equal(problems[0]!.owner, 'customer-service');
  assert.equal(problems[0]!.field, 'customer.shipping_address.country_iso_code');
  assert.match(problems[0]!.message, /"XXX".*"Atlantis"/);
});

test('a negative shipping price is named first as PRICE_INVALID on shipping_price', () => {
  const o = order(at('GB', 'LS1 4DY'), {
    lines: [{ ...order(null).lines[0]!, shippingPrice: -500 }],
    totals: { goods: 2000, shipping: -500, total: 1500 },
  });
  const problems = validateOrder(o, ctx());
  assert.equal(problems[0]!.reason, 'PRICE_INVALID');
  assert.equal(problems[0]!.field, 'order_lines[0].shipping_price');
  assert.match(problems[0]!.message, /shipping_price -5\.00/);
  assert.ok(!problems.some((p) => p.reason === 'TOTALS_MISMATCH'), 'not reported as a totals mismatch');
});

test('a required marketplace field that is missing or blank parks the order', () => {
  const c = ctx({ requiredAdditionalFields: ['po-number'] });
  assert.deepEqual(reasons(order(at('GB', 'LS1 4DY')), c), [
    'ADDITIONAL_FIELD_MISSING@order_additional_fields[po-number]',
  ]);
  const blank = order(at('GB', 'LS1 4DY'), { additionalFields: [{ code: 'po-number', value: '  ' }] });
  assert.equal(reasons(blank, c).length, 1);
  const given = order(at('GB', 'LS1 4DY'), { additionalFields: [{ code: 'po-number', value: 'PO-77' }] });
  assert.deepEqual(reasons(given, c), []);
});
