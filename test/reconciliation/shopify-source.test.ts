// The ShopifyOrderSource over the real Shopify connector, against the Shopify and Mirakl simulators: orders
// found by sourceIdentifier, line items paired with Mirakl lines by SKU (through skuMap), amounts, taxes,
// shipping and refunds in minor units; then one billing cycle matched through it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { miraklSimulator } from '../../src/sandbox/mirakl';
import { shopifySimulator } from '../../src/sandbox/shopify';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { MiraklClient } from '../../src/connectors/mirakl/client';
import { ShopifyClient } from '../../src/connectors/shopify/client';
import { shopifyConnectorOrderSource } from '../../src/reconciliation/shopify-connector-source';
import { reconcileCycle } from '../../src/reconciliation/match';
import { toBillingCycle, toTransactionRow } from '../../src/reconciliation/mirakl';

const log = pino({ level: 'silent' });
const catalogue = sandboxCatalogue({ size: 10, stock: 100 });
const [A, B, C] = [catalogue[0]!, catalogue[1]!, catalogue[2]!];
const CYCLE = '5d1f7c3a-2b4e-4f60-8a9b-0c1d2e3f4a5b';
let sb: RunningSandbox;
let mirakl: MiraklClient;
let shopify: ShopifyClient;

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${sb.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
  return res.json() as Promise<Record<string, unknown>>;
};
const money = (minor: number) => ({ shopMoney: { amount: (minor / 100).toFixed(2), currencyCode: 'GBP' } });

before(async () => {
  sb = await startSandbox({ log, port: 0 }, [
    miraklSimulator({
      channels: [
        {
          code: 'asos',
          apiKey: 'k',
          multiShipment: true,
          partialAcceptance: true,
          hideAddressesUntilAcceptance: true,
          acceptanceWindowMs: 3_600_000,
          leadtimeToShipDays: 2,
          carriers: [],
          catalogue,
        },
      ],
    }),
    shopifySimulator({ shop: 'brand', accessToken: 'tok', webhookSecret: 'sec', currency: 'GBP', catalogue }),
  ]);
  mirakl = new MiraklClient({ baseUrl: `${sb.url}/mirakl/asos`, apiKey: 'k', timeoutMs: 5000 });
  shopify = new ShopifyClient({ baseUrl: `${sb.url}/shopify/brand`, apiVersion: '2026-04', accessToken: 'tok', log });
  await post('/control/mirakl/asos/orders', {
    orderId: 'SRC-1-A',
    lines: [
      { offerSku: A.sku, quantity: 2 },
      { offerSku: `OLD-${B.sku}`, quantity: 1, unitPrice: B.priceMinor / 100 },
    ],
    shippingPrice: 3.95,
  });
  await post('/control/mirakl/asos/orders', { orderId: 'SRC-2-A', lines: [{ offerSku: C.sku, quantity: 1 }] });
  // Only SRC-1-A was imported into Shopify (as the order import writes it), with an extra line added there.
  await shopify.orderCreate(
    {
      currency: 'GBP',
      sourceIdentifier: 'SRC-1-A',
      taxesIncluded: true,
      lineItems: [
        {
          sku: A.sku,
          quantity: 2,
          priceSet: money(A.priceMinor),
          taxLines: [{ title: 'VAT', rate: 0.2, priceSet: money(100) }],
        },
        { sku: B.sku, quantity: 1, priceSet: money(B.priceMinor), taxLines: [] },
        { sku: C.sku, quantity: 1, priceSet: money(700), taxLines: [] },
      ],
      shippingLines: [{ title: 'Standard', priceSet: money(395), taxLines: [] }],
    },
    'BYPASS',
  );
  await post('/control/shopify/brand/orders/SRC-1-A/refund', { lines: [{ sku: A.sku, quantity: 1 }] });
});

after(async () => {
  await sb?.close();
});

test('finds Shopify orders by Mirakl order id and pairs lines by SKU through skuMap', async () => {
  const source = shopifyConnectorOrderSource({ shopify, mirakl, skuMap: { [`OLD-${B.sku}`]: B.sku } });
  const found = await source.findOrdersByMiraklIds(['SRC-1-A', 'SRC-2-A']);
  assert.deepEqual([...found.keys()], ['SRC-1-A']);
  const o = found.get('SRC-1-A')!;
  assert.match(o.shopifyOrderId, /^gid:\/\/shopify\/Order\//);
  assert.equal(o.shippingMinor, 395);
  const byId = Object.fromEntries(
    o.lines.map((l) => [l.miraklLineId.startsWith('shopify:') ? 'extra' : l.miraklLineId, l]),
  );
  assert.deepEqual(Object.keys(byId).sort(), ['SRC-1-A-1', 'SRC-1-A-2', 'extra']);
  assert.equal(byId['SRC-1-A-1']!.amountMinor, 2 * A.priceMinor);
  assert.equal(byId['SRC-1-A-1']!.taxMinor, 100);
  assert.equal(byId['SRC-1-A-1']!.refundedMinor, A.priceMinor);
  assert.equal(byId['SRC-1-A-2']!.amountMinor, B.priceMinor);
  assert.equal(byId.extra!.sku, C.sku);
});

test('a billing cycle matched through the connector source', async () => {
  await post('/control/mirakl/asos/billing-cycles', { cycleId: CYCLE, orderIds: ['SRC-1-A', 'SRC-2-A'] });
  const cycle = toBillingCycle((await mirakl.listBillingCycles({ ids: [CYCLE] })).cycles[0]!);
  const rows = (await mirakl.listTransactionLogs({ billingCycleId: CYCLE, limit: 2000 })).rows.map(toTransactionRow);
  const source = shopifyConnectorOrderSource({ shopify, mirakl, skuMap: { [`OLD-${B.sku}`]: B.sku } });
  const shopifyOrders = await source.findOrdersByMiraklIds(['SRC-1-A', 'SRC-2-A']);
  const r = reconcileCycle({
    channel: 'asos',
    cycle,
    rows,
    shopify: shopifyOrders,
    terms: { ratePercent: 15, vatPercent: 20 },
  });
  assert.deepEqual(
    r.unmatchedMirakl.map((u) => [u.orderId, u.why]),
    [['SRC-2-A', 'ORDER_NOT_IN_SHOPIFY']],
  );
  assert.equal(r.unmatchedShopify.length, 1);
  // Refunded in Shopify, not (yet) on the marketplace: a refund difference on that line, nothing else.
  assert.deepEqual(
    r.differences.map((d) => [d.lineId, d.field, d.miraklMinor, d.expectedMinor]),
    [['SRC-1-A-1', 'refund', 0, A.priceMinor]],
  );
  assert.equal(r.matched.length, 2);
});
