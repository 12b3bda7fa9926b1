// The sandbox product catalogue, shared by every simulator so a demo order's offer SKUs exist as
// Peoplevox item codes (and Shopify variants later). Deterministic: the same seed gives the same list.
import { seededRandom } from './core/faults';

export interface CatalogueItem {
  /** The seller SKU: Mirakl offer SKU = Peoplevox ItemCode (unless a channel maps it). */
  sku: string;
  name: string;
  barcode: string;
  /** Tax-inclusive unit price, minor units. */
  priceMinor: number;
  /** Starting available stock in the warehouse. */
  stock: number;
}

const PRODUCTS = [
  ['JUMPER', 'Cable-knit jumper', 5500],
  ['TEE', 'Organic cotton T-shirt', 1800],
  ['DRESS', 'Floral midi dress', 6900],
  ['COAT', 'Quilted coat', 12900],
  ['JEANS', 'Straight-leg jeans', 5900],
  ['WELLY', 'Printed wellington boots', 4495],
  ['SCARF', 'Wool scarf', 2495],
  ['SHIRT', 'Oxford shirt', 3999],
  ['SKIRT', 'Pleated skirt', 4250],
  ['HOODIE', 'Loopback hoodie', 4999],
] as const;
const COLOURS = ['NAVY', 'RED', 'GREEN', 'CREAM', 'BLACK'] as const;
const SIZES = ['XS', 'S', 'M', 'L', 'XL'] as const;

export function sandboxCatalogue(opts: { size?: number; seed?: number; stock?: number } = {}): CatalogueItem[] {
  const rnd = seededRandom(opts.seed ?? 7);
  const out: CatalogueItem[] = [];
  let n = 0;
  outer: for (let round = 0; ; round++) {
    for (const [code, name, price] of PRODUCTS) {
      for (const colour of COLOURS) {
        for (const size of SIZES) {
          if (out.length >= (opts.size ?? 250)) break outer;
          const sku = round === 0 ? `${code}-${colour}-${size}` : `${code}${round}-${colour}-${size}`;
          n++;
          out.push({
            sku,
            name: `${name}, ${colour.toLowerCase()}, ${size}`,
            barcode: String(5_000_000_000_000 + n * 7919).slice(0, 13),
            priceMinor: price,
            stock: opts.stock ?? Math.floor(rnd() * 40) + 5,
          });
        }
      }
    }
  }
  return out;
}
