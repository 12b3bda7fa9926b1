// The catalogue comparison's rules on small, hand-made catalogues (the e2e test covers 5,000 SKUs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCatalogue, looseKey } from '../../src/audit/catalogue';

const base = { skuMap: {}, buffer: { kind: 'units' as const, units: 0 }, skuBuffers: {} };

describe('compareCatalogue', () => {
  test('loose key ignores case and every whitespace', () => {
    assert.equal(looseKey(' tee -Navy\tm '), 'TEE-NAVYM');
  });

  test('inactive with stock honours the channel buffer and ignores sold-out SKUs', () => {
    const r = compareCatalogue({
      ...base,
      buffer: { kind: 'zeroBelow', threshold: 5 },
      offers: [
        { sku: 'A', quantity: 0, active: false },
        { sku: 'B', quantity: 0, active: false },
        { sku: 'C', quantity: 0, active: false },
        { sku: 'D', quantity: 7, active: false },
      ],
      itemCodes: ['A', 'B', 'C', 'D'],
      available: new Map([
        ['A', 4], // hidden by "zero below 5": 0 is right
        ['B', 9],
        ['C', 0],
        ['D', 9],
      ]),
    });
    assert.deepEqual(
      r.findings.map((f) => [f.kind, f.offerSku]),
      [
        ['INACTIVE_OFFER_WITH_STOCK', 'B'],
        ['INACTIVE_OFFER_WITH_STOCK', 'D'],
      ],
    );
  });

  test('skuMap applies before comparing; a case variant is one finding, not two missing SKUs', () => {
    const r = compareCatalogue({
      ...base,
      skuMap: { 'ASOS-1': 'X1', 'ASOS-2': 'NOPE' },
      offers: [
        { sku: 'ASOS-1', quantity: 3, active: true },
        { sku: 'ASOS-2', quantity: 3, active: true },
        { sku: 'tee-m', quantity: 3, active: true },
      ],
      itemCodes: ['X1', 'TEE-M', 'LONELY'],
      available: new Map([['X1', 3]]),
    });
    assert.deepEqual(r.counts, {
      OFFER_WITHOUT_ITEM: 1,
      ITEM_WITHOUT_OFFER: 1,
      INACTIVE_OFFER_WITH_STOCK: 0,
      SKU_CASE_MISMATCH: 1,
    });
    assert.equal(r.findings.find((f) => f.kind === 'OFFER_WITHOUT_ITEM')?.itemCode, 'NOPE');
    assert.equal(r.findings.find((f) => f.kind === 'ITEM_WITHOUT_OFFER')?.itemCode, 'LONELY');
    assert.equal(r.matched, 1);
  });
});
