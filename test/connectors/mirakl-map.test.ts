// Mirakl wire ⇄ canonical order mapping: minor units, odd data carried through, payload helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toMarketplaceOrder, toShipmentPayload, toTrackingPayload } from '../../src/connectors/mirakl/map';
import type { MiraklOrder } from '../../src/connectors/mirakl/schemas';

const wire = {
  order_id: 'ORD1001-A',
  commercial_id: 'ORD1001',
  order_state: 'SHIPPING',
  created_date: '2026-03-02T09:15:00Z',
  last_updated_date: '2026-03-02T10:05:12.460Z',
  shipping_deadline: '2026-03-04T23:59:59.999Z',
  currency_iso_code: 'GBP',
  order_tax_mode: 'TAX_INCLUDED',
  shipping_type_code: 'STD',
  shipping_type_label: 'Standard',
  price: 70.0,
  shipping_price: 5.0,
  total_price: 75.0,
  can_cancel: false,
  customer: {
    customer_id: 'C-77',
    firstname: 'Ana',
    lastname: 'Silva',
    shipping_address: {
      firstname: 'Ana',
      lastname: 'Silva',
      street_1: 'Rua Augusta 10',
      zip_code: '1100-053',
      city: 'Lisboa',
      country_iso_code: 'PRT',
    },
    billing_address: null,
  },
  order_lines: [
    {
      order_line_id: 'ORD1001-A-1',
      order_line_index: 1,
      order_line_state: 'SHIPPING',
      offer_sku: 'TSHIRT-RED-M',
      quantity: 2,
      price_unit: 19.99,
      price: 39.98,
      shipping_price: 5,
      taxes: [{ code: 'VAT23', amount: 7.48, rate: 23 }],
      refunds: [{ quantity: 1, amount: 19.99 }],
      cancelations: [],
    },
    {
      order_line_id: 'ORD1001-A-2',
      order_line_state: 'BRAND_NEW_STATE',
      offer_sku: 'MUG',
      quantity: 0,
      price_unit: 'abc',
    },
  ],
} as unknown as MiraklOrder;

test('toMarketplaceOrder: minor units, addresses, deadline from config, odd data carried through', () => {
  const o = toMarketplaceOrder(wire, { code: 'asos', acceptanceWindowHours: 72 });
  assert.equal(o.orderId, 'ORD1001-A');
  assert.equal(o.state, 'SHIPPING');
  assert.deepEqual(o.totals, { goods: 7000, shipping: 500, total: 7500 });
  assert.equal(o.lines[0]!.unitPrice, 1999);
  assert.equal(o.lines[0]!.price, 3998);
  assert.deepEqual(o.lines[0]!.taxes, [{ code: 'VAT23', amount: 748, rate: 23 }]);
  assert.equal(o.lines[0]!.cancelledQuantity, 1);
  assert.equal(o.lines[1]!.quantity, 0);
  assert.equal(o.lines[1]!.unitPrice, 0);
  assert.equal(o.lines[1]!.state, 'BRAND_NEW_STATE');
  assert.equal(o.acceptanceDeadline, '2026-03-05T09:15:00.000Z');
  assert.equal(o.shippingAddress?.postcode, '1100-053');
  assert.equal(o.billingAddress, null);
  assert.equal(o.canCancel, false);
});

test('toMarketplaceOrder never throws on a bare order', () => {
  const o = toMarketplaceOrder({ order_id: 'X-A', order_state: 'SOMETHING' } as MiraklOrder, {
    code: 'joules',
    currency: 'GBP',
    acceptanceWindowHours: 1,
  });
  assert.equal(o.state, 'UNKNOWN');
  assert.equal(o.lines.length, 0);
  assert.equal(o.currency, 'GBP');
});

test('shipment and tracking payloads', () => {
  const c = {
    despatchNumber: 'D-9',
    lines: [{ lineId: 'A-1', quantity: 1 }],
    carrier: { name: 'Courier', trackingUrl: 'https://c.example/{tracking}' },
    trackingNumber: 'T 1',
  };
  assert.deepEqual(toShipmentPayload('A', c), {
    order_id: 'A',
    shipped: true,
    shipment_lines: [{ order_line_id: 'A-1', quantity: 1, package_reference: 'D-9' }],
    tracking: { carrier_name: 'Courier', tracking_number: 'T 1', tracking_url: 'https://c.example/T%201' },
  });
  assert.deepEqual(toTrackingPayload({ ...c, carrier: { code: 'DPD' } }), {
    carrier_code: 'DPD',
    tracking_number: 'T 1',
  });
  assert.deepEqual(toTrackingPayload(c), {
    carrier_name: 'Courier',
    carrier_url: 'https://c.example/T%201',
    tracking_number: 'T 1',
  });
});
