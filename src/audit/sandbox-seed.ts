// A sandbox catalogue for the catalogue audit: N SKUs (5,000 by default) on one Mirakl channel and in the
// Peoplevox warehouse, with a known, deterministic set of mismatches of every kind, plus look-alikes that
// must NOT be reported (SKUs mapped through skuMap, offers at 0 with nothing in the warehouse).
//
//   const scenario = catalogueAuditScenario({ channel: 'asos', size: 5000 });
//   // scenario.skuMap goes into the channel's config (channels[].skuMap)
//   await seedCatalogueAudit('http://127.0.0.1:9090', 'loopline-demo', scenario);
//   // … run the audit; it must report exactly scenario.expected
//
// Seeding replaces the channel's offers (PUT /control/mirakl/<ch>/catalogue) and the warehouse's item
// types (PUT /control/peoplevox/<client>/items with replace) — see docs/sandbox/*.md.
import axios from 'axios';
import { sandboxCatalogue } from '../sandbox/catalogue';
import { seededRandom } from '../sandbox/core/faults';
import type { AuditFinding, FindingKind } from './catalogue';

export interface ScenarioOffer {
  offerSku: string;
  quantity: number;
  active?: boolean;
  priceMinor?: number;
  title?: string;
}
export interface ScenarioItem {
  itemCode: string;
  name: string;
  barcode: string;
  salePrice: string;
  available: number;
}

/** What the audit must find: kind, offer SKU and item code, exactly as in the report. */
export type ExpectedFinding = Pick<AuditFinding, 'kind' | 'offerSku' | 'itemCode'>;

export interface CatalogueAuditScenario {
  channel: string;
  offers: ScenarioOffer[];
  items: ScenarioItem[];
  skuMap: Record<string, string>;
  expected: ExpectedFinding[];
  counts: Record<FindingKind, number>;
}

export interface ScenarioOptions {
  channel: string;
  size?: number;
  seed?: number;
  /** How many of each mismatch to plant (defaults below). */
  plant?: Partial<{
    offerWithoutItem: number;
    mappedToMissingItem: number;
    itemWithoutOffer: number;
    zeroOfferWithStock: number;
    deactivatedOfferWithStock: number;
    caseVariants: number;
    duplicateItemCodes: number;
    mapped: number;
    zeroOfferNoStock: number;
  }>;
}

const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Case and whitespace variants of a SKU, cycling through the ways they really happen. */
function variant(sku: string, i: number): string {
  switch (i % 4) {
    case 0:
      return sku.toLowerCase();
    case 1:
      return `${sku} `;
    case 2:
      return sku.replace('-', ' -');
    default:
      return ` ${sku.charAt(0).toLowerCase()}${sku.slice(1)}`;
  }
}

export function catalogueAuditScenario(opts: ScenarioOptions): CatalogueAuditScenario {
  const size = opts.size ?? 5000;
  const plant = {
    offerWithoutItem: 10,
    mappedToMissingItem: 2,
    itemWithoutOffer: 9,
    zeroOfferWithStock: 4,
    deactivatedOfferWithStock: 3,
    caseVariants: 6,
    duplicateItemCodes: 1,
    mapped: 25,
    zeroOfferNoStock: 3,
    ...opts.plant,
  };
  const base = sandboxCatalogue({ size, seed: opts.seed ?? 11 });
  // A deterministic shuffle picks disjoint SKUs for each plant.
  const rnd = seededRandom(opts.seed ?? 11);
  const order = base.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let next = 0;
  const take = (n: number) => {
    const picked = order.slice(next, next + n);
    next += n;
    if (next > order.length) throw new RangeError('catalogue too small for the plants');
    return new Set(picked);
  };
  const p = {
    offerWithoutItem: take(plant.offerWithoutItem),
    mappedToMissingItem: take(plant.mappedToMissingItem),
    itemWithoutOffer: take(plant.itemWithoutOffer),
    zeroOfferWithStock: take(plant.zeroOfferWithStock),
    deactivatedOfferWithStock: take(plant.deactivatedOfferWithStock),
    caseVariants: take(plant.caseVariants),
    duplicateItemCodes: take(plant.duplicateItemCodes),
    mapped: take(plant.mapped),
    zeroOfferNoStock: take(plant.zeroOfferNoStock),
  };

  const offers: ScenarioOffer[] = [];
  const items: ScenarioItem[] = [];
  const skuMap: Record<string, string> = {};
  const expected: ExpectedFinding[] = [];
  const prefix = opts.channel.toUpperCase();
  let caseIndex = 0;

  base.forEach((c, i) => {
    const item: ScenarioItem = {
      itemCode: c.sku,
      name: c.name,
      barcode: c.barcode,
      salePrice: (c.priceMinor / 100).toFixed(2),
      available: c.stock,
    };
    const offer: ScenarioOffer = { offerSku: c.sku, quantity: c.stock, priceMinor: c.priceMinor, title: c.name };

    if (p.offerWithoutItem.has(i)) {
      offers.push(offer);
      expected.push({ kind: 'OFFER_WITHOUT_ITEM', offerSku: c.sku, itemCode: c.sku });
      return;
    }
    if (p.mappedToMissingItem.has(i)) {
      // The mapping exists but points at an item code the warehouse does not have (a typo in skuMap).
      const offerSku = `${prefix}-${c.sku}`;
      skuMap[offerSku] = `${c.sku}-OLD`;
      offers.push({ ...offer, offerSku });
      items.push(item);
      expected.push({ kind: 'OFFER_WITHOUT_ITEM', offerSku, itemCode: `${c.sku}-OLD` });
      expected.push({ kind: 'ITEM_WITHOUT_OFFER', offerSku: '', itemCode: c.sku });
      return;
    }
    if (p.itemWithoutOffer.has(i)) {
      items.push(item);
      expected.push({ kind: 'ITEM_WITHOUT_OFFER', offerSku: '', itemCode: c.sku });
      return;
    }
    if (p.zeroOfferWithStock.has(i)) {
      items.push(item);
      offers.push({ ...offer, quantity: 0 });
      expected.push({ kind: 'INACTIVE_OFFER_WITH_STOCK', offerSku: c.sku, itemCode: c.sku });
      return;
    }
    if (p.deactivatedOfferWithStock.has(i)) {
      items.push(item);
      offers.push({ ...offer, active: false });
      expected.push({ kind: 'INACTIVE_OFFER_WITH_STOCK', offerSku: c.sku, itemCode: c.sku });
      return;
    }
    if (p.caseVariants.has(i)) {
      const offerSku = variant(c.sku, caseIndex++);
      items.push(item);
      offers.push({ ...offer, offerSku });
      expected.push({ kind: 'SKU_CASE_MISMATCH', offerSku, itemCode: c.sku });
      return;
    }
    if (p.duplicateItemCodes.has(i)) {
      // The warehouse has the item twice, once in lower case; the offer matches one exactly.
      const lower = c.sku.toLowerCase();
      items.push(item, { ...item, itemCode: lower, barcode: `${c.barcode}9` });
      offers.push(offer);
      expected.push({ kind: 'SKU_CASE_MISMATCH', offerSku: c.sku, itemCode: [c.sku, lower].sort(byCode).join(' | ') });
      return;
    }
    if (p.mapped.has(i)) {
      // Channel-specific SKU mapped to the item code: a match, not a finding.
      const offerSku = `${prefix}-${c.sku}`;
      skuMap[offerSku] = c.sku;
      items.push(item);
      offers.push({ ...offer, offerSku });
      return;
    }
    if (p.zeroOfferNoStock.has(i)) {
      // Sold out everywhere: 0 on the marketplace is right.
      items.push({ ...item, available: 0 });
      offers.push({ ...offer, quantity: 0 });
      return;
    }
    items.push(item);
    offers.push(offer);
  });

  const counts: Record<FindingKind, number> = {
    OFFER_WITHOUT_ITEM: 0,
    ITEM_WITHOUT_OFFER: 0,
    INACTIVE_OFFER_WITH_STOCK: 0,
    SKU_CASE_MISMATCH: 0,
  };
  for (const e of expected) counts[e.kind] += 1;
  return { channel: opts.channel, offers, items, skuMap, expected, counts };
}

/** Loads a scenario into running simulators through their control API. */
export async function seedCatalogueAudit(
  sandboxUrl: string,
  peoplevoxClientId: string,
  scenario: CatalogueAuditScenario,
): Promise<void> {
  const http = axios.create({ baseURL: sandboxUrl, timeout: 60_000 });
  await http.put(`/control/mirakl/${scenario.channel}/catalogue`, { offers: scenario.offers });
  await http.put(`/control/peoplevox/${peoplevoxClientId}/items`, { replace: true, items: scenario.items });
}
