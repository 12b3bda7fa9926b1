// The catalogue audit's comparison: one channel's offers against the warehouse's item codes and stock.
// Pure (no I/O) so the rules can be read and tested on their own; the activity feeds it and writes the report.
//
// Rules (docs/catalogue-audit.md):
//  - every offer SKU is first mapped through the channel's skuMap (unlisted SKUs are their own item code);
//  - SKU_CASE_MISMATCH: two or more spellings that are equal once case and whitespace are ignored
//    (an offer's item code against a warehouse item code, or two offers / two items among themselves).
//    Such a near-match explains a missing exact match, so its SKUs are not reported again as missing;
//  - OFFER_WITHOUT_ITEM: an offer whose (mapped) item code is not in the warehouse;
//  - ITEM_WITHOUT_OFFER: a warehouse item code no offer of the channel maps to;
//  - INACTIVE_OFFER_WITH_STOCK: an offer matched exactly to an item code that is not sellable on the
//    marketplace (active false, or quantity 0) while the warehouse's available stock, after the channel's
//    static buffer for that SKU, is above 0 — the channel should be selling it and is not.
import type { StockBuffer } from '../config/schema';
import { applyBuffer } from '../inventory/buffers';

export const FINDING_KINDS = [
  'OFFER_WITHOUT_ITEM',
  'ITEM_WITHOUT_OFFER',
  'INACTIVE_OFFER_WITH_STOCK',
  'SKU_CASE_MISMATCH',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface AuditOffer {
  /** The offer SKU exactly as Mirakl has it (shop_sku). */
  sku: string;
  quantity: number;
  active: boolean;
}

export interface AuditFinding {
  kind: FindingKind;
  /** Offer SKU as on the marketplace (empty for ITEM_WITHOUT_OFFER). */
  offerSku: string;
  /** Item code the offer maps to, or the warehouse item code. */
  itemCode: string;
  offerQuantity?: number;
  offerActive?: boolean;
  warehouseAvailable?: number;
  /** Stock the channel should show after its buffer. */
  sellable?: number;
  /** Human detail: the spellings in a case/whitespace group, why an offer counts as inactive … */
  detail: string;
}

export interface CompareInput {
  offers: Iterable<AuditOffer>;
  itemCodes: Iterable<string>;
  /** Available per item code (summed over sites). Missing = 0. */
  available: ReadonlyMap<string, number>;
  skuMap: Readonly<Record<string, string>>;
  buffer: StockBuffer;
  skuBuffers: Readonly<Record<string, StockBuffer>>;
}

export interface CompareResult {
  findings: AuditFinding[];
  counts: Record<FindingKind, number>;
  offers: number;
  items: number;
  /** Offers whose item code exists exactly. */
  matched: number;
}

/** The comparison key: case and every kind of whitespace ignored. */
export function looseKey(sku: string): string {
  return sku.replace(/\s+/gu, '').toUpperCase();
}

export function emptyCounts(): Record<FindingKind, number> {
  return { OFFER_WITHOUT_ITEM: 0, ITEM_WITHOUT_OFFER: 0, INACTIVE_OFFER_WITH_STOCK: 0, SKU_CASE_MISMATCH: 0 };
}

const show = (s: string) => JSON.stringify(s);

export function compareCatalogue(input: CompareInput): CompareResult {
  const items = new Set(input.itemCodes);
  const offers: Array<AuditOffer & { code: string }> = [];
  const offerCodes = new Set<string>();
  for (const o of input.offers) {
    const code = input.skuMap[o.sku] ?? o.sku;
    offers.push({ ...o, code });
    offerCodes.add(code);
  }

  // Near-duplicates: group every spelling (offer item codes and warehouse item codes) by the loose key.
  const groups = new Map<string, { offerSkus: Set<string>; codes: Set<string>; itemCodes: Set<string> }>();
  const group = (k: string) => {
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { offerSkus: new Set(), codes: new Set(), itemCodes: new Set() }));
    return g;
  };
  for (const o of offers) {
    const g = group(looseKey(o.code));
    g.offerSkus.add(o.sku);
    g.codes.add(o.code);
  }
  for (const c of items) {
    const g = group(looseKey(c));
    g.codes.add(c);
    g.itemCodes.add(c);
  }

  const findings: AuditFinding[] = [];
  const explained = new Set<string>(); // item codes / offer codes covered by a case-mismatch finding
  for (const [key, g] of groups) {
    if (g.codes.size < 2) continue;
    const spellings = [...g.codes].sort();
    for (const c of spellings) explained.add(c);
    findings.push({
      kind: 'SKU_CASE_MISMATCH',
      offerSku: [...g.offerSkus].sort().join(' | '),
      itemCode: [...g.itemCodes].sort().join(' | '),
      detail: `${spellings.length} spellings of ${key}: ${spellings.map(show).join(', ')}`,
    });
  }

  let matched = 0;
  for (const o of offers) {
    if (items.has(o.code)) {
      matched += 1;
      if (o.active && o.quantity > 0) continue;
      const available = input.available.get(o.code) ?? 0;
      const sellable = applyBuffer(available, input.skuBuffers[o.sku] ?? input.buffer);
      if (sellable <= 0) continue;
      findings.push({
        kind: 'INACTIVE_OFFER_WITH_STOCK',
        offerSku: o.sku,
        itemCode: o.code,
        offerQuantity: o.quantity,
        offerActive: o.active,
        warehouseAvailable: available,
        sellable,
        detail:
          o.quantity <= 0
            ? `offer shows 0 while the warehouse has ${available} available (${sellable} after the buffer)`
            : `offer is inactive with quantity ${o.quantity}; the warehouse has ${available} available`,
      });
    } else if (!explained.has(o.code)) {
      findings.push({
        kind: 'OFFER_WITHOUT_ITEM',
        offerSku: o.sku,
        itemCode: o.code,
        offerQuantity: o.quantity,
        offerActive: o.active,
        detail: o.code === o.sku ? 'no such item code' : `skuMap maps it to ${show(o.code)}, which does not exist`,
      });
    }
  }
  for (const c of items) {
    if (offerCodes.has(c) || explained.has(c)) continue;
    findings.push({
      kind: 'ITEM_WITHOUT_OFFER',
      offerSku: '',
      itemCode: c,
      warehouseAvailable: input.available.get(c) ?? 0,
      detail: 'no offer of this channel maps to it',
    });
  }

  const order = new Map(FINDING_KINDS.map((k, i) => [k, i]));
  findings.sort(
    (a, b) =>
      order.get(a.kind)! - order.get(b.kind)! ||
      a.itemCode.localeCompare(b.itemCode) ||
      a.offerSku.localeCompare(b.offerSku),
  );
  const counts = emptyCounts();
  for (const f of findings) counts[f.kind] += 1;
  return { findings, counts, offers: offers.length, items: items.size, matched };
}

/** The SKU a finding is known by in exception samples. */
export function findingLabel(f: AuditFinding): string {
  if (f.kind === 'ITEM_WITHOUT_OFFER') return f.itemCode;
  if (f.kind === 'SKU_CASE_MISMATCH') return [f.offerSku, f.itemCode].filter(Boolean).join(' ≈ ');
  return f.offerSku;
}
