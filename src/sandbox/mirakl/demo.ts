// Realistic demo orders for a channel, plus the malformed and awkward variants a go-live must survive.
// Returns an OrderSpec for MiraklShop.createOrder / POST /control/mirakl/:channel/orders.
import type { CatalogueItem } from '../catalogue';
import type { OrderSpec, WireAddress } from './types';

export type MalformedKind =
  | 'unknown-sku'
  | 'missing-postcode'
  | 'long-address'
  | 'emoji-rtl'
  | 'totals-off'
  | 'zero-quantity'
  | 'negative-quantity'
  | 'duplicate-line-id'
  | 'no-lines';

export const MALFORMED_KINDS: readonly MalformedKind[] = [
  'unknown-sku',
  'missing-postcode',
  'long-address',
  'emoji-rtl',
  'totals-off',
  'zero-quantity',
  'negative-quantity',
  'duplicate-line-id',
  'no-lines',
];

export interface DemoOrderOptions {
  /** true picks a malformed kind at random; a kind picks that one. */
  malformed?: boolean | MalformedKind;
  maxLines?: number;
  maxQuantity?: number;
  orderId?: string;
}

const FIRST = [
  'Amelia',
  'Oliver',
  'Isla',
  'George',
  'Ava',
  'Noah',
  'Freya',
  'Leo',
  'Sophie',
  'Harry',
  'Zoë',
  'Siobhán',
];
const LAST = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', "O'Neill", 'Evans', 'Patel', 'Nguyen', 'Davies'];
const STREETS = ['High Street', 'Station Road', 'Church Lane', 'Victoria Road', 'Mill Lane', 'The Green'];
const TOWNS: [string, string][] = [
  ['Bath', 'BA1 1AA'],
  ['Leeds', 'LS1 4DY'],
  ['Bristol', 'BS1 5TR'],
  ['Manchester', 'M1 1AE'],
  ['Edinburgh', 'EH1 1YZ'],
  ['Market Harborough', 'LE16 7AA'],
];

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!;
}

export function generateDemoOrder(
  channel: string,
  catalogue: CatalogueItem[],
  rnd: () => number,
  opts: DemoOrderOptions = {},
): OrderSpec {
  const kind: MalformedKind | undefined =
    opts.malformed === true ? pick(rnd, MALFORMED_KINDS) : opts.malformed ? opts.malformed : undefined;
  const nLines = 1 + Math.floor(rnd() * (opts.maxLines ?? 3));
  const used = new Set<string>();
  const lines: OrderSpec['lines'] = [];
  for (let i = 0; i < nLines && catalogue.length > 0; i++) {
    const item = pick(rnd, catalogue);
    if (used.has(item.sku)) continue;
    used.add(item.sku);
    lines.push({ offerSku: item.sku, quantity: 1 + Math.floor(rnd() * (opts.maxQuantity ?? 2)) });
  }
  const firstname = pick(rnd, FIRST);
  const lastname = pick(rnd, LAST);
  const [city, zip] = pick(rnd, TOWNS);
  const address: WireAddress = {
    firstname,
    lastname,
    street_1: `${1 + Math.floor(rnd() * 200)} ${pick(rnd, STREETS)}`,
    city,
    zip_code: zip,
    country: 'United Kingdom',
    country_iso_code: 'GBR',
    phone: `+4477009${String(Math.floor(rnd() * 100000)).padStart(5, '0')}`,
  };
  if (rnd() < 0.2) address.street_2 = `Flat ${1 + Math.floor(rnd() * 20)}`;
  if (rnd() < 0.1) address.additional_info = 'Leave with neighbour';
  const spec: OrderSpec = {
    orderId: opts.orderId,
    lines,
    shippingPrice: rnd() < 0.5 ? 0 : 3.95,
    customer: { firstname, lastname, locale: 'en_GB', email: `${firstname.toLowerCase()}.${channel}@example.invalid` },
    shippingAddress: address,
    shippingTypeCode: rnd() < 0.2 ? 'EXP' : 'STD',
  };
  // About one order in five carries a gift message (decided without drawing, so seeded streams are unchanged).
  if ((firstname.length + lastname.length) % 5 === 0) {
    spec.additionalFields = [{ code: 'gift-message', type: 'TEXTAREA', value: `Happy birthday, ${firstname}!` }];
  }
  switch (kind) {
    case 'unknown-sku':
      spec.lines.push({
        offerSku: `NOPE-${Math.floor(rnd() * 1e6)}`,
        quantity: 1,
        unitPrice: 9.99,
        productTitle: 'Discontinued item',
      });
      break;
    case 'missing-postcode':
      delete address.zip_code;
      break;
    case 'long-address':
      address.street_1 = `${'Flat 3, The Old Rectory, Long Lane, '.repeat(9)}`.slice(0, 300);
      break;
    case 'emoji-rtl':
      address.street_1 = '12 شارع الملك فهد 🏠';
      address.firstname = 'Zoë 🎉';
      address.lastname = 'אברהם';
      break;
    case 'totals-off':
      spec.overrides = { total_price: 0.01, price: 999.99 };
      break;
    case 'zero-quantity':
      spec.lines[0] = { ...spec.lines[0]!, quantity: 0 };
      break;
    case 'negative-quantity':
      spec.lines[0] = { ...spec.lines[0]!, quantity: -1 };
      break;
    case 'duplicate-line-id':
      if (spec.lines.length < 2 && catalogue.length > 1) {
        const other = catalogue.find((c) => c.sku !== spec.lines[0]?.offerSku);
        if (other) spec.lines.push({ offerSku: other.sku, quantity: 1 });
      }
      spec.orderId ??= `${channel.toUpperCase()}-D${String(Math.floor(rnd() * 1e9)).padStart(9, '0')}-A`;
      spec.overrides = { order_lines: [{}, { order_line_id: `${spec.orderId}-1` }] };
      break;
    case 'no-lines':
      spec.lines = [];
      break;
  }
  return spec;
}
