// Pure parts of the Shopify route: the refund split (exact to the minor unit whatever the pieces) and
// the orderCreate input (money carried exactly, a line that cannot be carried refused by name).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { proportional, toOrderCreateInput } from '../../activities/shopify';
import { parseConfig } from '../../src/config/load';
import type { MarketplaceOrder } from '../../src/domain/order';

describe('Shopify route: money', () => {
  test('refund parts add up to the line exactly, in any split', () => {
    for (const total of [1001, 999, 1, 0, 12345]) {
      for (const ordered of [1, 3, 7]) {
        for (const split of [
          [ordered],
          Array.from({ length: ordered }, () => 1),
          [1, ordered - 1].filter((x) => x > 0),
        ]) {
          let before = 0;
          let sum = 0;
          for (const q of split) {
            const part = proportional(total, ordered, before, q);
            assert.ok(part >= 0);
            sum += part;
            before += q;
          }
          assert.equal(sum, total, `${total} over ${ordered} split ${split.join('+')}`);
        }
      }
    }
    assert.equal(proportional(1001, 3, 0, 1), 333);
    assert.equal(proportional(1001, 3, 1, 2), 668);
  });

  const cfg = parseConfig(
    `
systems:
  shopify: { baseUrl: https://brand.myshopify.com, accessTokenEnv: SHOP_TOKEN, webhookSecretEnv: SHOP_SECRET }
channels:
  - code: asos
    label: ASOS
    platform: mirakl
    connection: { baseUrl: https://asos.mirakl.net, apiKeyEnv: ASOS_KEY }
    fulfilment: shopify
    currency: GBP
`,
    'test',
    { SHOP_TOKEN: 't', SHOP_SECRET: 's', ASOS_KEY: 'k' },
  );
  const line = (i: number, unitPrice: number, quantity: number, price = unitPrice * quantity) => ({
    lineId: `O-1-${i}`,
    index: i,
    offerSku: `SKU-${i}`,
    quantity,
    unitPrice,
    price,
    shippingPrice: 199 + i,
    taxes: [{ code: 'VAT20', amount: Math.round(price / 6), rate: 20 }],
    shippingTaxes: [{ code: 'VAT20', amount: 33 + i, rate: 20 }],
    state: 'SHIPPING',
    cancelledQuantity: 0,
  });
  const order = (lines: ReturnType<typeof line>[]): MarketplaceOrder =>
    ({
      channel: 'asos',
      orderId: 'O-1',
      state: 'SHIPPING',
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
      currency: 'GBP',
      taxMode: 'TAX_INCLUDED',
      lines,
      totals: { goods: 0, shipping: 0, total: 0 },
    }) as MarketplaceOrder;

  test('orderCreate carries Mirakl money exactly, with source id, tag and metafield', () => {
    const ch = cfg.channels[0]!;
    const input = toOrderCreateInput(
      order([line(1, 1999, 3), line(2, 5, 1)]),
      ch,
      cfg.systems.shopify!,
      new Map([
        ['SKU-1', 'gid://shopify/ProductVariant/1'],
        ['SKU-2', 'gid://shopify/ProductVariant/2'],
      ]),
      (l) => l.offerSku,
    ) as {
      lineItems: Array<{
        priceSet: { shopMoney: { amount: string } };
        taxLines: Array<{ priceSet: { shopMoney: { amount: string } } }>;
      }>;
      shippingLines: Array<{
        priceSet: { shopMoney: { amount: string } };
        taxLines: Array<{ priceSet: { shopMoney: { amount: string } } }>;
      }>;
      sourceIdentifier: string;
      tags: string[];
      metafields: Array<{ key: string; value: string }>;
      taxesIncluded: boolean;
    };
    assert.deepEqual(
      input.lineItems.map((l) => l.priceSet.shopMoney.amount),
      ['19.99', '0.05'],
    );
    assert.equal(input.lineItems[0]!.taxLines[0]!.priceSet.shopMoney.amount, '10.00'); // round(5997 / 6) = 1000
    assert.equal(input.shippingLines[0]!.priceSet.shopMoney.amount, '4.01'); // 200 + 201
    assert.equal(input.shippingLines[0]!.taxLines[0]!.priceSet.shopMoney.amount, '0.69'); // 34 + 35
    assert.equal(input.sourceIdentifier, 'O-1');
    assert.ok(input.tags.includes('loopline-asos'));
    assert.equal(input.metafields.find((m) => m.key === 'mirakl_order_id')?.value, 'O-1');
    assert.equal(input.taxesIncluded, true);
  });

  test('a line whose price is not quantity × unit price is refused, not rounded', () => {
    assert.throws(
      () =>
        toOrderCreateInput(
          order([line(1, 333, 3, 1000)]),
          cfg.channels[0]!,
          cfg.systems.shopify!,
          new Map(),
          (l) => l.offerSku,
        ),
      /cannot be carried exactly/,
    );
  });
});
