// A corpus of malformed and awkward Mirakl orders, each driven through the whole stack (Mirakl and Peoplevox
// simulators, real connectors, real workers on a real Temporal server) and each asserted to end where a
// senior integration engineer would expect: parked with the right reason, owner and field, never in the
// warehouse; or, when the order is awkward but valid, through its happy path to SHIPPED with its data intact.
// Every case runs concurrently; the assertions are on the workflow's `state` query and on what the
// simulators hold, never on Loopline's logs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError } from '@temporalio/client';
import { startTestEnv, eventually } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { wmsSalesOrderNumber } from '../../src/domain/keys';
import type { ReasonCode } from '../../src/domain/reasons';
import type { Owner } from '../../src/domain/owners';
import type { OrderWorkflowState, OrderStatus } from '../../workflows/order';
import { orderStateQuery } from '../../workflows/order/messages';
import { intakeStateQuery } from '../../workflows/intake';

type Channel = 'asos' | 'joules';

/** The control API's compact order spec (docs/sandbox/mirakl.md). */
interface OrderBody {
  orderId?: string;
  additionalFields?: Array<{ code: string; type?: string; value: string | string[] }>;
  lines: Array<{ offerSku: string; quantity: number; unitPrice?: number; productTitle?: string }>;
  shippingPrice?: number;
  customer?: { firstname?: string; lastname?: string; email?: string; locale?: string };
  shippingAddress?: Record<string, unknown>;
  billingAddress?: Record<string, unknown>;
  shippingTypeCode?: string;
  overrides?: Record<string, unknown>;
}

interface Parcel {
  items?: Array<{ itemCode: string; quantity: number }>;
  carrier?: string;
  trackingNumber?: string;
}

/** Parked in an exception: the order waits for a person and never reaches (or never leaves) the warehouse. */
interface Parked {
  end: 'parked';
  reason: ReasonCode;
  owner: Owner;
  /** The workflow's status while parked. */
  status: OrderStatus;
  /** The record and field the exception names (OrderException.field). */
  field?: string;
  /** Text the message must contain besides the order id (which it always names). */
  mentions?: (orderId: string) => Array<string | RegExp>;
  /** Mirakl's order state while parked. */
  marketplace: 'WAITING_ACCEPTANCE' | 'SHIPPING';
  /** The order was valid and is in the warehouse; the despatch (these parcels) is what parks it. */
  despatch?: Parcel[];
}

/** Awkward but valid: accepted, created once in Peoplevox, despatched and confirmed back to Mirakl. */
interface Ships {
  end: 'ships';
  /** Item code and quantity per warehouse line (default: the order's lines as sent). */
  items?: Array<[string, number]>;
  /** Parcels to despatch (default: one DPD parcel with everything). */
  parcels?: Parcel[];
  /** Checks on the Peoplevox sales order (fields as the warehouse stored them). */
  warehouse?: (o: PvxOrder, orderId: string) => void;
  /** The warehouse order number when it is not the default `<CHANNEL>-<orderId>`. */
  salesOrderNumber?: (orderId: string) => string;
}

/** Already over when Loopline first sees it: no workflow, no acceptance, nothing in the warehouse. */
interface Ignored {
  end: 'ignored';
}

interface Case {
  name: string;
  channel?: Channel;
  /** A Mirakl order id other than the default one (e.g. a very long one). */
  orderId?: (defaultId: string) => string;
  order(orderId: string): OrderBody;
  expect: Parked | Ships | Ignored;
}

interface PvxOrder {
  salesOrderNumber: string;
  status: string;
  fields: Record<string, string>;
  items: Array<{ itemCode: string; quantity: number; despatched: number }>;
  despatches: Array<{ despatchNumber: string; carrier: string; trackingNumber: string }>;
  saveCounts?: { created?: number; updated?: number };
}

interface WireOrder {
  order_id: string;
  order_state: string;
  last_updated_date: string;
  order_lines: Array<{ order_line_id: string; quantity: number }>;
  _sandbox: {
    shipments: Array<{
      shipment_lines: Array<{ order_line_id: string; quantity: number }>;
      tracking?: { carrier_code?: string; tracking_number?: string };
    }>;
    acceptDecisions: unknown[];
    tracking?: { carrier_code?: string; tracking_number?: string } | null;
    shipMode?: string | null;
  };
}

// ---- building blocks ------------------------------------------------------------------------------------
const ADDRESS = {
  firstname: 'Ava',
  lastname: 'Brown',
  street_1: '1 Mill Lane',
  city: 'Leeds',
  zip_code: 'LS1 4DY',
  country: 'United Kingdom',
  country_iso_code: 'GBR',
  phone: '+447700900123',
};
const address = (patch: Record<string, unknown> = {}) => {
  const a: Record<string, unknown> = { ...ADDRESS, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete a[k];
  return a;
};
/** Two T-shirts at 18.00 and 3.95 shipping: goods 36.00, total 39.95. */
const tees = (patch: Partial<OrderBody> = {}): OrderBody => ({
  lines: [{ offerSku: 'TEE-RED-M', quantity: 2, unitPrice: 18 }],
  shippingPrice: 3.95,
  shippingAddress: address(),
  ...patch,
});
const catalogue = sandboxCatalogue();
const emoji = '\u{1F3E0}'; // 🏠: one character, two UTF-16 code units

// Orders to the world: every postcode regime (required, optional, none), the alpha-3 codes a two-letter cut
// gets wrong, a null country_iso_code with the country in two letters. Each ships, and the warehouse order
// names the right country.
const abroad = (
  name: string,
  iso3: string | null,
  country: string,
  city: string,
  zip: string | undefined,
  shipsAs: string,
): Case => ({
  name: `ships to ${name}`,
  order: () =>
    tees({
      shippingAddress: address({
        street_1: '1 Main Street',
        city,
        zip_code: zip,
        country,
        country_iso_code: iso3 ?? undefined,
        ...(iso3 === null ? { country_iso_code: null } : {}),
      }),
    }),
  expect: {
    end: 'ships',
    warehouse: (o) => {
      assert.equal(o.fields.ShippingAddressCountry, shipsAs);
      assert.equal(o.fields.ShippingAddressPostcode, zip);
    },
  },
});
const WORLD: Case[] = [
  abroad('Austria (AUT: not AU, Australia)', 'AUT', 'Österreich', 'Wien', '1010', 'Austria'),
  {
    // One order carries the marketplace's custom fields too: a gift message and delivery notes.
    ...abroad('Portugal (PRT), with a gift message', 'PRT', 'Portugal', 'Lisboa', '1100-053', 'Portugal'),
    order: () =>
      tees({
        shippingAddress: address({
          street_1: 'Rua Augusta 10',
          city: 'Lisboa',
          zip_code: '1100-053',
          country: 'Portugal',
          country_iso_code: 'PRT',
        }),
        additionalFields: [
          { code: 'gift-message', type: 'TEXTAREA', value: 'Parabéns, Ana! Um beijinho, Sam' },
          { code: 'delivery-notes', value: 'Deixar com o porteiro' },
          { code: 'loyalty-tier', value: 'gold' },
        ],
      }),
    expect: {
      end: 'ships',
      warehouse: (o) => {
        assert.equal(o.fields.ShippingAddressCountry, 'Portugal');
        assert.equal(o.fields.SalesOrderAttribute2, 'Parabéns, Ana! Um beijinho, Sam');
        assert.equal(o.fields.SalesOrderAttribute3, 'Deixar com o porteiro');
      },
    },
  },
  abroad('Poland (POL)', 'POL', 'Polska', 'Warszawa', '00-950', 'Poland'),
  abroad('Sweden (SWE)', 'SWE', 'Sverige', 'Stockholm', '111 22', 'Sweden'),
  abroad('Denmark (DNK)', 'DNK', 'Danmark', 'København', '1050', 'Denmark'),
  abroad('Estonia (EST: not ES, Spain)', 'EST', 'Eesti', 'Tallinn', '10111', 'Estonia'),
  abroad('Slovakia (SVK)', 'SVK', 'Slovensko', 'Bratislava', '811 01', 'Slovakia'),
  abroad('Malta (MLT, optional postcode given)', 'MLT', 'Malta', 'Valletta', 'VLT 1117', 'Malta'),
  abroad('Germany', 'DEU', 'Deutschland', 'Berlin', '10115', 'Germany'),
  abroad('the United States', 'USA', 'United States', 'New York', '10001', 'United States of America'),
  abroad('Spain with a null country_iso_code and "ES" in country', null, 'ES', 'Madrid', '28013', 'Spain'),
  abroad('Ireland without an Eircode (optional)', 'IRL', 'Ireland', 'Galway', undefined, 'Ireland'),
  abroad('Hong Kong (no postcodes)', 'HKG', 'Hong Kong', 'Central', undefined, 'Hong Kong'),
  abroad(
    'the United Arab Emirates (no postcodes)',
    'ARE',
    'United Arab Emirates',
    'Dubai',
    undefined,
    'United Arab Emirates',
  ),
  {
    name: 'a country nobody can read',
    order: () =>
      tees({ shippingAddress: address({ country: 'Atlantis', country_iso_code: 'ATL', zip_code: '12345' }) }),
    expect: {
      end: 'parked',
      reason: 'COUNTRY_UNKNOWN',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.country_iso_code',
      mentions: () => ['"ATL"', '"Atlantis"'],
      marketplace: 'SHIPPING',
    },
  },
];

// ---- the corpus -----------------------------------------------------------------------------------------
const CASES: Case[] = [
  ...WORLD,
  // Held before acceptance: Loopline accepts only when every line maps to a warehouse item.
  {
    name: 'unknown offer SKU on one of two lines',
    order: () => ({
      lines: [
        { offerSku: 'TEE-RED-M', quantity: 1 },
        { offerSku: 'NOPE-404', quantity: 1, unitPrice: 9.99, productTitle: 'Discontinued item' },
      ],
      shippingAddress: address(),
    }),
    expect: {
      end: 'parked',
      reason: 'SKU_UNMAPPED',
      owner: 'merchandising',
      status: 'AWAITING_ACCEPTANCE',
      field: 'order_lines[1].offer_sku',
      mentions: (id) => ['"NOPE-404"', `line ${id}-2`],
      marketplace: 'WAITING_ACCEPTANCE',
    },
  },
  {
    name: 'offer SKU with an internal space (not a known item, however close)',
    order: () => ({ lines: [{ offerSku: 'TEE RED-M', quantity: 1 }], shippingAddress: address() }),
    expect: {
      end: 'parked',
      reason: 'SKU_UNMAPPED',
      owner: 'merchandising',
      status: 'AWAITING_ACCEPTANCE',
      field: 'order_lines[0].offer_sku',
      mentions: () => ['"TEE RED-M"'],
      marketplace: 'WAITING_ACCEPTANCE',
    },
  },
  {
    name: 'duplicate order line ids',
    order: (id) => ({
      lines: [
        { offerSku: 'JEANS-NAVY-M', quantity: 1 },
        { offerSku: 'JEANS-NAVY-L', quantity: 1 },
      ],
      shippingAddress: address(),
      overrides: { order_lines: [{}, { order_line_id: `${id}-1` }] },
    }),
    expect: {
      end: 'parked',
      reason: 'DUPLICATE_LINE_ID',
      owner: 'ops',
      status: 'AWAITING_ACCEPTANCE',
      field: 'order_lines[1].order_line_id',
      mentions: (id) => [`line id ${id}-1`],
      marketplace: 'WAITING_ACCEPTANCE',
    },
  },
  {
    name: 'an order with no lines',
    order: () => ({ lines: [], shippingAddress: address() }),
    expect: {
      end: 'parked',
      reason: 'NO_LINES',
      owner: 'ops',
      status: 'AWAITING_ACCEPTANCE',
      field: 'order_lines',
      mentions: () => ['no order lines'],
      marketplace: 'WAITING_ACCEPTANCE',
    },
  },

  // Accepted (every SKU maps), then parked by validation before any warehouse work.
  {
    name: 'zero quantity',
    order: () => tees({ lines: [{ offerSku: 'TEE-RED-M', quantity: 0, unitPrice: 18 }] }),
    expect: {
      end: 'parked',
      reason: 'QUANTITY_INVALID',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'order_lines[0].quantity',
      mentions: (id) => [`line ${id}-1`, 'quantity 0'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'negative quantity',
    order: () =>
      tees({
        lines: [
          { offerSku: 'TEE-RED-M', quantity: 1, unitPrice: 18 },
          { offerSku: 'TEE-RED-L', quantity: -1, unitPrice: 18 },
        ],
      }),
    expect: {
      end: 'parked',
      reason: 'QUANTITY_INVALID',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'order_lines[1].quantity',
      mentions: (id) => [`line ${id}-2`, 'quantity -1'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'fractional quantity on the wire (1.5)',
    order: () => tees({ overrides: { order_lines: [{ quantity: 1.5 }] } }),
    expect: {
      end: 'parked',
      reason: 'QUANTITY_INVALID',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'order_lines[0].quantity',
      mentions: () => ['quantity 1.5'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'missing postcode',
    order: () => tees({ shippingAddress: address({ zip_code: undefined }) }),
    expect: {
      end: 'parked',
      reason: 'ADDRESS_MISSING',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.zip_code',
      mentions: () => ['missing zip_code'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'city that is only spaces',
    order: () => tees({ shippingAddress: address({ city: '   ' }) }),
    expect: {
      end: 'parked',
      reason: 'ADDRESS_MISSING',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.city',
      mentions: () => ['missing city'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'missing first address line',
    order: () => tees({ shippingAddress: address({ street_1: undefined, street_2: 'Flat 4' }) }),
    expect: {
      end: 'parked',
      reason: 'ADDRESS_MISSING',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.street_1',
      mentions: () => ['missing street_1'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'no country (neither name nor ISO code)',
    order: () => tees({ shippingAddress: address({ country: undefined, country_iso_code: undefined }) }),
    expect: {
      end: 'parked',
      reason: 'ADDRESS_MISSING',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.country_iso_code',
      mentions: () => ['missing country'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'shipping address still null after acceptance',
    order: () => tees({ overrides: { customer: { shipping_address: null } } }),
    expect: {
      end: 'parked',
      reason: 'ADDRESS_MISSING',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address',
      mentions: () => ['missing the whole shipping address'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'invalid UK postcode format (one letter short)',
    order: () => tees({ shippingAddress: address({ zip_code: 'LS1 4D' }) }),
    expect: {
      end: 'parked',
      reason: 'POSTCODE_INVALID',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.zip_code',
      mentions: () => ['"LS1 4D"', 'United Kingdom (GB)'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'phone number typed into the postcode field (country given by name only)',
    order: () => tees({ shippingAddress: address({ zip_code: '07700 900123', country_iso_code: undefined }) }),
    expect: {
      end: 'parked',
      reason: 'POSTCODE_INVALID',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.zip_code',
      mentions: () => ['"07700 900123"', 'United Kingdom (GB)'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: '300-character address line',
    order: () =>
      tees({
        shippingAddress: address({ street_1: `${'Flat 3, The Old Rectory, Long Lane, '.repeat(9).slice(0, 299)}X` }),
      }),
    expect: {
      end: 'parked',
      reason: 'FIELD_TOO_LONG',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.street_1',
      mentions: () => ['street_1 is 300 characters', 'at most 100'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'address line of 100 characters whose emoji takes it past the warehouse column (101 UTF-16 units)',
    order: () => tees({ shippingAddress: address({ street_1: `${'A'.repeat(99)}${emoji}` }) }),
    expect: {
      end: 'parked',
      reason: 'FIELD_TOO_LONG',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.street_1',
      mentions: () => ['street_1 is 101 (emoji and some symbols count twice)', 'at most 100'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'city longer than the warehouse city column (61 of 50)',
    order: () =>
      tees({ shippingAddress: address({ city: 'Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch-on' }) }),
    expect: {
      end: 'parked',
      reason: 'FIELD_TOO_LONG',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.city',
      mentions: () => ['city is 61 characters', 'at most 50'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'county (Mirakl `state`) longer than the warehouse region column',
    order: () =>
      tees({ shippingAddress: address({ state: 'The Royal and Ancient County Palatine of West Yorkshire' }) }),
    expect: {
      end: 'parked',
      reason: 'FIELD_TOO_LONG',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address.state',
      mentions: () => ['shipping address state is 55 characters', 'at most 50'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'customer name longer than the warehouse contact name (127 characters)',
    order: () =>
      tees({
        shippingAddress: address({
          firstname: 'Maximilian Alexander Bartholomew Fitzgerald Montgomery',
          lastname: 'Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh-Cholmondeley-Smyth',
        }),
      }),
    expect: {
      end: 'parked',
      reason: 'FIELD_TOO_LONG',
      owner: 'customer-service',
      status: 'ACCEPTED',
      field: 'customer.shipping_address',
      mentions: () => ['customer name', 'is 127 characters', 'at most 100'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'currency differs from the channel (EUR on a GBP channel)',
    order: () => tees({ overrides: { currency_iso_code: 'EUR' } }),
    expect: {
      end: 'parked',
      reason: 'CURRENCY_MISMATCH',
      owner: 'finance',
      status: 'ACCEPTED',
      field: 'currency_iso_code',
      mentions: () => ['EUR', 'GBP'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'order total off by 1.00',
    order: () => tees({ overrides: { total_price: 40.95 } }),
    expect: {
      end: 'parked',
      reason: 'TOTALS_MISMATCH',
      owner: 'finance',
      status: 'ACCEPTED',
      field: 'total_price',
      mentions: () => ['order total is 40.95', '39.95', '1.00 apart'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'order total off by 0.02 (just beyond the one-penny tolerance)',
    order: () => tees({ overrides: { total_price: 39.93 } }),
    expect: {
      end: 'parked',
      reason: 'TOTALS_MISMATCH',
      owner: 'finance',
      status: 'ACCEPTED',
      field: 'total_price',
      mentions: () => ['0.02 apart'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'line price disagrees with unit price × quantity by 0.50',
    order: () => tees({ overrides: { order_lines: [{ price: 36.5 }], price: 36.5, total_price: 40.45 } }),
    expect: {
      end: 'parked',
      reason: 'TOTALS_MISMATCH',
      owner: 'finance',
      status: 'ACCEPTED',
      field: 'order_lines[0].price',
      mentions: (id) => [`line ${id}-1 price is 36.50`, '36.00'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'shipping total disagrees with the lines’ shipping',
    order: () => tees({ overrides: { shipping_price: 4.95, total_price: 40.95 } }),
    expect: {
      end: 'parked',
      reason: 'TOTALS_MISMATCH',
      owner: 'finance',
      status: 'ACCEPTED',
      field: 'shipping_price',
      mentions: () => ['shipping total is 4.95', '3.95'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'negative unit price',
    order: () => tees({ lines: [{ offerSku: 'TEE-RED-M', quantity: 1, unitPrice: -5 }], shippingPrice: 0 }),
    expect: {
      end: 'parked',
      reason: 'PRICE_INVALID',
      owner: 'finance',
      status: 'ACCEPTED',
      field: 'order_lines[0].price_unit',
      mentions: (id) => [`line ${id}-1`, 'price_unit'],
      marketplace: 'SHIPPING',
    },
  },
  {
    name: 'several problems at once: the first is named, the rest counted',
    order: () => tees({ shippingAddress: address({ zip_code: undefined }), overrides: { total_price: 40.95 } }),
    expect: {
      end: 'parked',
      reason: 'TOTALS_MISMATCH',
      owner: 'finance',
      status: 'ACCEPTED',
      field: 'total_price',
      mentions: () => ['(+1 more: ADDRESS_MISSING)'],
      marketplace: 'SHIPPING',
    },
  },

  // Valid, in the warehouse; the despatch is what needs a person.
  {
    name: 'despatch from a carrier nobody knows (Yodel)',
    order: () => tees(),
    expect: {
      end: 'parked',
      reason: 'CARRIER_UNMAPPED',
      owner: 'ops',
      status: 'IN_WAREHOUSE',
      mentions: () => ['carrier "Yodel"', 'DES'],
      marketplace: 'SHIPPING',
      despatch: [{ carrier: 'Yodel', trackingNumber: 'YOD-123' }],
    },
  },
  {
    name: 'despatch from a carrier Mirakl knows but the channel has not mapped (Evri)',
    order: () => tees(),
    expect: {
      end: 'parked',
      reason: 'CARRIER_UNMAPPED',
      owner: 'ops',
      status: 'IN_WAREHOUSE',
      mentions: () => ['carrier "Evri"'],
      marketplace: 'SHIPPING',
      despatch: [{ carrier: 'Evri', trackingNumber: 'EV-123' }],
    },
  },

  // Awkward but valid: the whole happy path, data intact.
  {
    name: 'order total one penny over the lines (within tolerance)',
    order: () => tees({ overrides: { total_price: 39.96 } }),
    expect: { end: 'ships', warehouse: (o) => assert.equal(o.fields.TotalSale, '39.96') },
  },
  {
    name: 'order total one penny under the lines (within tolerance)',
    order: () => tees({ overrides: { total_price: 39.94 } }),
    expect: { end: 'ships', warehouse: (o) => assert.equal(o.fields.TotalSale, '39.94') },
  },
  {
    name: 'tax-inclusive rounding: 3 × 33.33 sold as 100.00',
    order: () =>
      tees({
        lines: [{ offerSku: 'DRESS-GREEN-S', quantity: 3, unitPrice: 33.33 }],
        shippingPrice: 0,
        overrides: { order_lines: [{ price: 100 }], price: 100, total_price: 100 },
      }),
    expect: { end: 'ships', warehouse: (o) => assert.equal(o.fields.TotalSale, '100.00') },
  },
  {
    name: 'emoji and right-to-left text reach the warehouse intact',
    order: () =>
      tees({
        shippingAddress: address({
          firstname: 'Zoë 🎉',
          lastname: 'אברהם',
          street_1: `12 شارع الملك فهد ${emoji}`,
          additional_info: 'اترك الطرد عند الباب 📦',
        }),
      }),
    expect: {
      end: 'ships',
      warehouse: (o) => {
        assert.equal(o.fields.ShippingAddressLine1, `12 شارع الملك فهد ${emoji}`);
        assert.equal(o.fields.Customer, 'Zoë 🎉 אברהם');
        assert.equal(o.fields.ContactName, 'Zoë 🎉 אברהם');
      },
    },
  },
  {
    name: 'accented names and places reach the warehouse intact',
    order: () =>
      tees({
        shippingAddress: address({
          firstname: 'Siobhán',
          lastname: 'Ó Briain-Müller',
          street_1: '7 Rue de l’Église',
          street_2: 'Bâtiment Ç',
          city: 'Ystradgynlais',
          zip_code: 'SA9 1JJ',
        }),
      }),
    expect: {
      end: 'ships',
      warehouse: (o) => {
        assert.equal(o.fields.Customer, 'Siobhán Ó Briain-Müller');
        assert.equal(o.fields.ShippingAddressLine1, '7 Rue de l’Église');
        assert.equal(o.fields.ShippingAddressLine2, 'Bâtiment Ç');
      },
    },
  },
  {
    name: 'CSV and XML metacharacters in the address (comma, quotes, ampersand, angle brackets, semicolon)',
    order: () =>
      tees({
        shippingAddress: address({
          lastname: 'Smith & Sons <Ltd>',
          street_1: 'Flat 2, "The Maltings"',
          street_2: 'Unit 4; rear entrance',
        }),
      }),
    expect: {
      end: 'ships',
      warehouse: (o) => {
        assert.equal(o.fields.ShippingAddressLine1, 'Flat 2, "The Maltings"');
        assert.equal(o.fields.ShippingAddressLine2, 'Unit 4; rear entrance');
        assert.equal(o.fields.Customer, 'Ava Smith & Sons <Ltd>');
      },
    },
  },
  {
    name: 'a 200-line order',
    order: () => ({
      lines: catalogue.slice(0, 200).map((c) => ({ offerSku: c.sku, quantity: 1 })),
      shippingAddress: address(),
    }),
    expect: { end: 'ships' },
  },
  {
    name: 'a line with quantity 300, despatched in three parcels',
    order: () => tees({ lines: [{ offerSku: 'SCARF-NAVY-S', quantity: 300, unitPrice: 24.95 }] }),
    expect: {
      end: 'ships',
      parcels: [1, 2, 3].map((n) => ({
        items: [{ itemCode: 'SCARF-NAVY-S', quantity: 100 }],
        carrier: 'DPD',
        trackingNumber: `DPD-BULK-${n}`,
      })),
    },
  },
  {
    name: 'offer SKU that differs from the item code only by case',
    order: () => tees({ lines: [{ offerSku: 'hoodie-black-l', quantity: 1, unitPrice: 49.99 }] }),
    expect: { end: 'ships', items: [['HOODIE-BLACK-L', 1]] },
  },
  {
    name: 'offer SKU padded with whitespace',
    order: () => tees({ lines: [{ offerSku: ' SHIRT-CREAM-M ', quantity: 1, unitPrice: 39.99 }] }),
    expect: { end: 'ships', items: [['SHIRT-CREAM-M', 1]] },
  },
  {
    name: 'customer name of 60 characters with an emoji at the Customer column’s edge',
    order: () =>
      tees({
        shippingAddress: address({
          firstname: 'Anastasia-Valentina',
          lastname: `${'Ó'.repeat(29)}${emoji}${'x'.repeat(10)}`,
        }),
      }),
    expect: {
      end: 'ships',
      warehouse: (o) => {
        const full = `Anastasia-Valentina ${'Ó'.repeat(29)}${emoji}${'x'.repeat(10)}`;
        // Customer is a string(50) display name: shortened on a character boundary, never half an emoji.
        assert.equal(o.fields.Customer, full.slice(0, 49));
        assert.equal(o.fields.ContactName, full);
      },
    },
  },
  {
    name: 'no shipping method on the order',
    order: () => tees({ overrides: { shipping_type_code: null, shipping_type_label: null } }),
    expect: { end: 'ships', warehouse: (o) => assert.equal(o.fields.ServiceType, undefined) },
  },
  {
    name: 'lower-case postcode without its space',
    order: () => tees({ shippingAddress: address({ zip_code: 'ls14dy' }) }),
    expect: { end: 'ships', warehouse: (o) => assert.match(o.fields.ShippingAddressPostcode ?? '', /^ls1 ?4dy$/i) },
  },
  {
    name: 'billing address with a mistyped UK postcode (not needed to ship: left out of the warehouse order)',
    order: () => tees({ billingAddress: address({ street_1: '9 Bank Street', zip_code: 'LS1 4D' }) }),
    expect: {
      end: 'ships',
      warehouse: (o) => {
        assert.equal(o.fields.ShippingAddressPostcode, 'LS1 4DY');
        assert.equal(o.fields.InvoiceAddressPostcode, undefined);
        assert.equal(o.fields.InvoiceAddressLine1, undefined);
      },
    },
  },
  {
    name: 'free gift line at 0.00 next to a paid line',
    order: () =>
      tees({
        lines: [
          { offerSku: 'TEE-GREEN-S', quantity: 1, unitPrice: 18 },
          { offerSku: 'SCARF-RED-S', quantity: 1, unitPrice: 0, productTitle: 'Free scarf' },
        ],
      }),
    expect: { end: 'ships' },
  },
  {
    name: 'Irish address with an Eircode',
    order: () =>
      tees({
        shippingAddress: address({
          street_1: '12 Merrion Square',
          city: 'Dublin 2',
          zip_code: 'D02 X285',
          country: 'Ireland',
          country_iso_code: 'IRL',
        }),
      }),
    expect: { end: 'ships', warehouse: (o) => assert.equal(o.fields.ShippingAddressCountry, 'Ireland') },
  },
  {
    name: 'Mirakl order id longer than the warehouse order number (40 characters)',
    orderId: (id) => `${id}-${'9'.repeat(40 - id.length - 1)}`,
    order: () => tees(),
    expect: {
      end: 'ships',
      salesOrderNumber: (id) => {
        const son = wmsSalesOrderNumber('ASOS', id);
        assert.ok(son.length <= 30 && son !== `ASOS-${id}`, son);
        return son;
      },
    },
  },
  {
    name: 'Joules (no multi-shipment): accented, one penny out, ships whole with OR23 + OR24',
    channel: 'joules',
    order: () =>
      tees({
        lines: [
          { offerSku: 'WELLY-CREAM-M', quantity: 1, unitPrice: 44.95 },
          { offerSku: 'JUMPER-GREEN-L', quantity: 1, unitPrice: 55 },
        ],
        shippingAddress: address({ firstname: 'Chloé', lastname: 'Dubois-Léger' }),
        overrides: { total_price: 103.91 },
      }),
    expect: {
      end: 'ships',
      parcels: [
        { items: [{ itemCode: 'WELLY-CREAM-M', quantity: 1 }], carrier: 'Royal Mail', trackingNumber: 'RM-J-1' },
        { items: [{ itemCode: 'JUMPER-GREEN-L', quantity: 1 }], carrier: 'Royal Mail', trackingNumber: 'RM-J-2' },
      ],
    },
  },

  // Over before Loopline ever saw it (the intake was down, or the customer cancelled within the poll
  // interval). `overrides` make OR11 show the final state from the first read; the intake must start nothing.
  {
    name: 'already CANCELED at first sight',
    order: () => tees({ overrides: { order_state: 'CANCELED', order_lines: [{ order_line_state: 'CANCELED' }] } }),
    expect: { end: 'ignored' },
  },
  {
    name: 'already REFUSED at first sight',
    order: () => tees({ overrides: { order_state: 'REFUSED', order_lines: [{ order_line_state: 'REFUSED' }] } }),
    expect: { end: 'ignored' },
  },
];

// ---- the run ----------------------------------------------------------------------------------------------
let env: TestWorkflowEnvironment;
let stack: Stack;
before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, {
    multiShipment: { asos: true, joules: false },
    // Marketplace custom fields mapped to the tenant's sales-order attribute columns.
    channelExtra: {
      asos: {
        additionalFields: {
          'gift-message': { label: 'Gift message', peoplevoxColumn: 'SalesOrderAttribute2' },
          'delivery-notes': { label: 'Delivery notes', peoplevoxColumn: 'SalesOrderAttribute3' },
        },
      },
    },
  });
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

async function marketplaceOrder(channel: Channel, id: string): Promise<WireOrder> {
  return (await stack.control.get(`/control/mirakl/${channel}/orders/${encodeURIComponent(id)}`)).data as WireOrder;
}
async function warehouseOrders(): Promise<PvxOrder[]> {
  return ((await stack.control.get('/control/peoplevox/test-client/orders')).data as { orders: PvxOrder[] }).orders;
}
async function warehouseOrder(son: string): Promise<PvxOrder | undefined> {
  return (await warehouseOrders()).find((o) => o.salesOrderNumber === son);
}
function workflowState(channel: Channel, orderId: string): Promise<OrderWorkflowState> {
  return env.client.workflow.getHandle(`order:${channel}:${orderId}`).query(orderStateQuery);
}
/** The intake workflows the stack started (ids derive from the stack's suffix; see test/support/stack.ts). */
function intakeId(channel: Channel): string {
  return `intake:${channel}:${stack.idPrefix.slice(1).toLowerCase()}`;
}

interface Placed {
  c: Case;
  channel: Channel;
  orderId: string;
  son: string;
}
const placed: Placed[] = [];

async function runCase(c: Case, index: number): Promise<void> {
  const channel = c.channel ?? 'asos';
  const defaultId = `${stack.idPrefix}-${String(index + 1).padStart(3, '0')}-A`;
  const orderId = c.orderId ? c.orderId(defaultId) : defaultId;
  const son =
    c.expect.end === 'ships' && c.expect.salesOrderNumber
      ? c.expect.salesOrderNumber(orderId)
      : `${channel.toUpperCase()}-${orderId}`;
  const body = { ...c.order(orderId), orderId };
  const created = (await stack.control.post(`/control/mirakl/${channel}/orders`, body)).data as WireOrder;
  assert.equal(created.order_id, orderId);
  placed.push({ c, channel, orderId, son });
  const e = c.expect;

  if (e.end === 'ignored') {
    // Wait until the intake has read past this order, then check it left no trace.
    await eventually(
      async () => {
        const s = await env.client.workflow.getHandle(intakeId(channel)).query(intakeStateQuery);
        return s.watermark !== undefined && s.watermark >= created.last_updated_date;
      },
      30_000,
      `the intake to read past ${orderId}`,
    );
    await assert.rejects(
      env.client.workflow.getHandle(`order:${channel}:${orderId}`).describe(),
      WorkflowNotFoundError,
      'no workflow for an order that was over before we saw it',
    );
    const mk = await marketplaceOrder(channel, orderId);
    assert.deepEqual(mk._sandbox.acceptDecisions, [], 'never accepted');
    assert.equal(await warehouseOrder(son), undefined, 'never sent to the warehouse');
    return;
  }

  if (e.end === 'parked') {
    if (e.despatch) {
      await eventually(
        async () => {
          const o = await warehouseOrder(son);
          return o && o.items.length > 0 ? o : undefined;
        },
        40_000,
        `the Peoplevox order for ${orderId}`,
      );
      await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, { parcels: e.despatch });
    }
    const exc = await eventually(
      async () => (await workflowState(channel, orderId)).exception,
      45_000,
      `an exception on ${orderId}`,
    );
    const state = await workflowState(channel, orderId);
    assert.equal(exc.reason, e.reason, exc.message);
    assert.equal(exc.owner, e.owner);
    assert.equal(state.status, e.status);
    if (e.field !== undefined) assert.equal(exc.field, e.field);
    assert.ok(exc.message.includes(orderId), `the message names the order: ${exc.message}`);
    for (const m of e.mentions?.(orderId) ?? []) {
      if (typeof m === 'string') assert.ok(exc.message.includes(m), `"${m}" in: ${exc.message}`);
      else assert.match(exc.message, m);
    }
    const mk = await marketplaceOrder(channel, orderId);
    assert.equal(mk.order_state, e.marketplace);
    if (e.marketplace === 'WAITING_ACCEPTANCE') assert.deepEqual(mk._sandbox.acceptDecisions, [], 'held, not accepted');
    assert.equal(mk._sandbox.shipments.length, 0, 'nothing confirmed to the marketplace');
    assert.equal(mk._sandbox.tracking ?? null, null, 'no tracking sent to the marketplace');
    const wms = await warehouseOrder(son);
    if (e.despatch) assert.equal(wms?.saveCounts?.created, 1, 'in the warehouse exactly once');
    else assert.equal(wms, undefined, 'a parked order never reaches the warehouse');
    return;
  }

  // Ships.
  const expectedItems = e.items ?? body.lines.map((l): [string, number] => [l.offerSku, l.quantity]);
  const wms = await eventually(
    async () => {
      const o = await warehouseOrder(son);
      return o && o.items.length === expectedItems.length ? o : undefined;
    },
    45_000,
    `the Peoplevox order and its ${expectedItems.length} items for ${orderId}`,
  );
  assert.deepEqual(
    wms.items.map((i) => [i.itemCode, i.quantity]),
    expectedItems,
  );
  e.warehouse?.(wms, orderId);
  const state = await workflowState(channel, orderId);
  assert.equal(state.exception, undefined);

  const parcels = e.parcels ?? [{ carrier: 'DPD', trackingNumber: `DPD-${orderId}` }];
  for (const p of parcels) {
    await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, { parcels: [p] });
  }
  const shipped = await eventually(
    async () => {
      const o = await marketplaceOrder(channel, orderId);
      return o.order_state === 'SHIPPED' ? o : undefined;
    },
    45_000,
    `SHIPPED on Mirakl for ${orderId}`,
  );
  const handle = env.client.workflow.getHandle(`order:${channel}:${orderId}`);
  const final = (await handle.result()) as OrderWorkflowState;
  assert.equal(final.status, 'CLOSED');
  assert.equal(final.pastExceptions.length, 0, 'never parked');
  if (channel === 'asos') {
    // ST01: one shipment per parcel, and per line exactly the ordered quantity.
    assert.equal(shipped._sandbox.shipments.length, parcels.length);
    const perLine = new Map<string, number>();
    for (const s of shipped._sandbox.shipments)
      for (const l of s.shipment_lines) perLine.set(l.order_line_id, (perLine.get(l.order_line_id) ?? 0) + l.quantity);
    assert.deepEqual(
      [...perLine.entries()].sort(),
      shipped.order_lines.map((l) => [l.order_line_id, l.quantity]).sort(),
    );
  } else {
    assert.equal(shipped._sandbox.shipMode, 'OR24');
    assert.equal(shipped._sandbox.shipments.length, 0);
    assert.ok(shipped._sandbox.tracking?.tracking_number, 'tracking sent with OR23');
  }
  const after = await warehouseOrder(son);
  assert.equal(after?.saveCounts?.created, 1, 'created exactly once in Peoplevox');
}

describe('malformed and awkward Mirakl orders, end to end', () => {
  test('the corpus has at least 30 cases, each with a distinct name', () => {
    assert.ok(CASES.length >= 30, `${CASES.length} cases`);
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
  });

  describe('each order ends in its expected state', { concurrency: true }, () => {
    CASES.forEach((c, i) => {
      test(`${c.name} → ${c.expect.end === 'parked' ? c.expect.reason : c.expect.end}`, () => runCase(c, i));
    });
  });

  test('afterwards: parked orders stay parked, and the warehouse holds exactly the orders that got there, once', async () => {
    // Two more despatch backstops and intake polls: a parked order must not be retried in a loop.
    await new Promise((r) => setTimeout(r, 7_000));
    for (const p of placed) {
      if (p.c.expect.end !== 'parked') continue;
      const s = await workflowState(p.channel, p.orderId);
      assert.equal(s.exception?.reason, p.c.expect.reason, `${p.c.name} is still parked`);
      assert.equal(s.pastExceptions.length, 0, `${p.c.name} parked once`);
    }
    const expected = placed
      .filter((p) => p.c.expect.end === 'ships' || (p.c.expect.end === 'parked' && p.c.expect.despatch))
      .map((p) => p.son)
      .sort();
    const ours = (await warehouseOrders()).filter((o) => placed.some((p) => p.son === o.salesOrderNumber));
    assert.deepEqual(ours.map((o) => o.salesOrderNumber).sort(), expected);
    for (const o of ours) assert.equal(o.saveCounts?.created, 1, `${o.salesOrderNumber} created once`);
  });
});
