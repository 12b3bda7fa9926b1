// The Shopify connector against real-shaped 2026-04 responses, one per operation it uses, served by a
// scripted endpoint: nullable fields present as null (FulfillmentLineItem.quantity, Refund.createdAt,
// LineItem.sku, trackingInfo.url, …), userError field paths with list indexes as numbers, codes where the
// schema has them, extensions.cost on every answer. Shapes follow captured responses (docs/contracts.md).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { ShopifyClient } from '../../src/connectors/shopify/client';
import { ConnectorError } from '../../src/connectors/errors';

const cost = (requested: number, available = 1990) => ({
  cost: {
    requestedQueryCost: requested,
    actualQueryCost: requested,
    throttleStatus: { maximumAvailable: 2000, currentlyAvailable: available, restoreRate: 100 },
  },
});

const ORDER = {
  id: 'gid://shopify/Order/6001',
  name: '#1001',
  sourceIdentifier: 'ASOS-1-A',
  tags: ['loopline-asos', 'mirakl-ASOS-1-A'],
  cancelledAt: null,
  metafield: null,
  lineItems: { nodes: [{ id: 'gid://shopify/LineItem/7001', sku: null, quantity: 2 }] },
};

let app: FastifyInstance;
let client: ShopifyClient;
let baseUrl = '';
const seen: Array<{ query: string; variables: Record<string, unknown> }> = [];
let answer: (query: string, variables: Record<string, unknown>) => unknown;

before(async () => {
  app = Fastify();
  app.post('/admin/api/2026-04/graphql.json', async (req) => {
    const body = req.body as { query: string; variables: Record<string, unknown> };
    seen.push(body);
    return answer(body.query, body.variables ?? {});
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = url;
  client = new ShopifyClient({
    baseUrl: url,
    apiVersion: '2026-04',
    accessToken: 't',
    log: pino({ level: 'silent' }),
  });
});
after(() => app.close());

describe('Shopify connector on real-shaped responses', () => {
  test('orders (look-before-create): sourceIdentifier match, null metafield and SKU', async () => {
    answer = () => ({ data: { orders: { nodes: [ORDER] } }, extensions: cost(7) });
    const found = await client.findOrderBySource('ASOS-1-A');
    assert.equal(found?.id, ORDER.id);
    assert.equal(found?.lineItems.nodes[0]!.sku, null);
    assert.match(seen.at(-1)!.variables.q as string, /source_identifier:'ASOS-1-A'/);
  });

  test('orderCreate: sent without @idempotent; created; userErrors with numeric paths and codes are named', async () => {
    answer = () => ({ data: { orderCreate: { order: ORDER, userErrors: [] } }, extensions: cost(10) });
    const created = await client.orderCreate({ sourceIdentifier: 'ASOS-1-A', lineItems: [] }, 'BYPASS');
    assert.equal(created.id, ORDER.id);
    assert.doesNotMatch(seen.at(-1)!.query, /@idempotent/);
    assert.equal(seen.at(-1)!.variables.key, undefined);
    answer = () => ({
      data: {
        orderCreate: {
          order: null,
          userErrors: [
            { field: ['order', 'lineItems', 0, 'taxLines', 0, 'rate'], code: 'TAX_LINE_RATE_MISSING' },
            { field: ['order', 'lineItems'], message: 'Line items must have at least one line item', code: 'INVALID' },
          ],
        },
      },
      extensions: cost(10),
    });
    await assert.rejects(
      client.orderCreate({ lineItems: [] }, 'BYPASS'),
      (e: unknown) =>
        e instanceof ConnectorError &&
        !e.retryable &&
        e.code === 'TAX_LINE_RATE_MISSING' &&
        /order\.lineItems\.0\.taxLines\.0\.rate/.test(e.message) &&
        /INVALID/.test(e.message) &&
        // Shopify's own words only in the (encrypted) details.
        /at least one line item \(INVALID\)/.test(e.opts.detail ?? '') &&
        !/at least one line item/.test(e.message),
    );
  });

  test('order(id): an unknown id is null', async () => {
    answer = () => ({ data: { order: null }, extensions: cost(2) });
    assert.equal(await client.order('gid://shopify/Order/404'), undefined);
  });

  test('productVariants: variants by SKU and every SKU across pages; a variant without SKU is skipped', async () => {
    answer = (_q, v) =>
      v.q
        ? {
            data: { productVariants: { nodes: [{ id: 'gid://shopify/ProductVariant/1', sku: 'TEE-RED-M' }] } },
            extensions: cost(3),
          }
        : {
            data: {
              productVariants: {
                nodes: v.after
                  ? [{ id: 'gid://shopify/ProductVariant/3', sku: 'TEE-RED-L' }]
                  : [
                      { id: 'gid://shopify/ProductVariant/1', sku: 'TEE-RED-M' },
                      { id: 'gid://shopify/ProductVariant/2', sku: null },
                    ],
                pageInfo: v.after
                  ? { hasNextPage: false, endCursor: null }
                  : { hasNextPage: true, endCursor: 'eyJsYXN0X2lkIjoyfQ==' },
              },
            },
            extensions: cost(27),
          };
    assert.deepEqual(
      [...(await client.variantsBySku(['TEE-RED-M']))],
      [['TEE-RED-M', 'gid://shopify/ProductVariant/1']],
    );
    assert.deepEqual(await client.listSkus(), ['TEE-RED-M', 'TEE-RED-L']);
  });

  test('fulfillments: a null line quantity and null tracking fields are tolerated; only SUCCESS counts', async () => {
    answer = () => ({
      data: {
        order: {
          id: ORDER.id,
          fulfillments: [
            {
              id: 'gid://shopify/Fulfillment/9001',
              createdAt: '2026-03-02T10:00:00Z',
              status: 'SUCCESS',
              trackingInfo: [{ company: null, number: '1Z999', url: null }],
              fulfillmentLineItems: {
                nodes: [
                  { quantity: null, lineItem: { sku: 'TEE-RED-M' } },
                  { quantity: 2, lineItem: { sku: 'TEE-RED-L' } },
                ],
              },
            },
            {
              id: 'gid://shopify/Fulfillment/9002',
              createdAt: '2026-03-02T11:00:00Z',
              status: 'CANCELLED',
              trackingInfo: [],
              fulfillmentLineItems: { nodes: [] },
            },
          ],
        },
      },
      extensions: cost(31),
    });
    assert.deepEqual(await client.fulfillments(ORDER.id), [
      {
        id: 'gid://shopify/Fulfillment/9001',
        createdAt: '2026-03-02T10:00:00Z',
        company: undefined,
        number: '1Z999',
        url: undefined,
        lines: [{ sku: 'TEE-RED-L', quantity: 2 }],
      },
    ]);
  });

  test('refunds: a null createdAt falls back to processedAt; a null note is no note', async () => {
    answer = () => ({
      data: {
        order: {
          id: ORDER.id,
          refunds: [
            {
              id: 'gid://shopify/Refund/8001',
              note: null,
              createdAt: null,
              processedAt: '2026-03-03T09:00:00Z',
              refundLineItems: {
                nodes: [{ quantity: 1, lineItem: { id: 'gid://shopify/LineItem/7001', sku: null } }],
              },
            },
          ],
        },
      },
      extensions: cost(22),
    });
    assert.deepEqual(await client.refunds(ORDER.id), [
      {
        id: 'gid://shopify/Refund/8001',
        note: undefined,
        createdAt: '2026-03-03T09:00:00Z',
        lines: [{ sku: '', quantity: 1, lineItemId: 'gid://shopify/LineItem/7001' }],
      },
    ]);
  });

  test('inventoryItems: available summed over locations; an item without SKU is skipped', async () => {
    const level = (n: number) => ({ quantities: [{ name: 'available', quantity: n }] });
    answer = () => ({
      data: {
        inventoryItems: {
          nodes: [
            { id: 'gid://shopify/InventoryItem/1', sku: 'TEE-RED-M', inventoryLevels: { nodes: [level(3), level(4)] } },
            { id: 'gid://shopify/InventoryItem/2', sku: null, inventoryLevels: { nodes: [level(9)] } },
          ],
          pageInfo: { hasNextPage: false, endCursor: null },
        },
      },
      extensions: cost(52),
    });
    assert.deepEqual(await client.inventory(), [
      { sku: 'TEE-RED-M', inventoryItemId: 'gid://shopify/InventoryItem/1', available: 7, locations: [] },
    ]);
    assert.deepEqual(
      (await client.inventoryForSkus(['TEE-RED-M'])).map((r) => r.available),
      [7],
    );
  });

  test('webhookSubscriptionCreate sends `uri`; an address already taken is fine, another userError is not', async () => {
    answer = () => ({
      data: {
        webhookSubscriptionCreate: {
          webhookSubscription: null,
          userErrors: [
            { field: ['webhookSubscription', 'callbackUrl'], message: 'Address for this topic has already been taken' },
          ],
        },
      },
      extensions: cost(10),
    });
    await client.subscribe('ORDERS_CREATE', 'https://hooks.example/shopify');
    const sub = seen.at(-1)!.variables.sub as Record<string, unknown>;
    assert.deepEqual(sub, { uri: 'https://hooks.example/shopify', format: 'JSON' });
    answer = () => ({
      data: {
        webhookSubscriptionCreate: {
          webhookSubscription: null,
          userErrors: [{ field: ['webhookSubscription', 'callbackUrl'], message: "Address can't be blank" }],
        },
      },
      extensions: cost(10),
    });
    await assert.rejects(client.subscribe('ORDERS_CREATE', ''), /Address can't be blank/);
  });

  test('shop and webhookSubscriptions (the go-live probe reads them)', async () => {
    answer = (q) =>
      /shop \{/.test(q)
        ? {
            data: { shop: { name: 'Brand', myshopifyDomain: 'brand.myshopify.com', currencyCode: 'GBP' } },
            extensions: cost(1),
          }
        : {
            data: {
              webhookSubscriptions: {
                nodes: [{ id: 'gid://shopify/WebhookSubscription/1', topic: 'ORDERS_CREATE', uri: 'https://h/x' }],
                pageInfo: { hasNextPage: false, endCursor: null },
              },
            },
            extensions: cost(12),
          };
    assert.equal((await client.shop()).currencyCode, 'GBP');
    assert.deepEqual(await client.webhookSubscriptions(), [
      { id: 'gid://shopify/WebhookSubscription/1', topic: 'ORDERS_CREATE', uri: 'https://h/x' },
    ]);
  });

  test("top-level errors: INVALID_VARIABLE is final with Shopify's message; THROTTLED (actualQueryCost null) is retried", async () => {
    answer = () => ({
      errors: [
        {
          message:
            'Variable $order of type OrderCreateOrderInput! was provided invalid value for shippingAddress.countryCode (Expected "PR2" to be one of: AF, AX)',
          locations: [{ line: 1, column: 16 }],
          extensions: {
            code: 'INVALID_VARIABLE',
            value: {},
            problems: [
              { path: ['shippingAddress', 'countryCode'], explanation: 'Expected "PR2" to be one of: AF, AX' },
            ],
          },
        },
      ],
    });
    await assert.rejects(
      client.orderCreate({ lineItems: [] }, 'BYPASS'),
      (e: unknown) => e instanceof ConnectorError && !e.retryable && e.code === 'INVALID_VARIABLE',
    );
    let calls = 0;
    answer = () => {
      calls++;
      if (calls === 1) {
        return {
          errors: [
            {
              message: 'Throttled',
              extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
            },
          ],
          extensions: {
            cost: {
              requestedQueryCost: 7,
              actualQueryCost: null,
              throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 2000, restoreRate: 100 },
            },
          },
        };
      }
      return { data: { orders: { nodes: [] } }, extensions: cost(7) };
    };
    assert.equal(await client.findOrderBySource('NONE'), undefined);
    assert.equal(calls, 2);
  });
});

// orderCreate has no idempotency key: exactly-once rests on the retry's look-before-create. An attempt held up for a
// lane (or the bucket) past its activity deadline must not send its create afterwards: its retry may have looked
// already and created the order (the chaos run's duplicate Shopify orders when the budget stalled).
describe('a write held past its attempt deadline is not sent', () => {
  const slowLane = (ms: number) => ({
    take: () => new Promise<() => void>((r) => setTimeout(() => r(() => undefined), ms)),
  });
  const budgeted = (waitMs: number) =>
    new ShopifyClient({
      baseUrl,
      apiVersion: '2026-04',
      accessToken: 't',
      log: pino({ level: 'silent' }),
      budget: { priority: slowLane(waitMs), share: slowLane(waitMs), lanesFor: () => 1 },
    });

  test('the lane came after sendBy: nothing is sent, and the failure is retryable', async () => {
    answer = () => ({ data: { orderCreate: { order: ORDER, userErrors: [] } }, extensions: cost(10) });
    const before = seen.length;
    const err = await budgeted(150)
      .orderCreate({ sourceIdentifier: 'ASOS-1-A', lineItems: [] }, 'BYPASS', { sendBy: Date.now() + 20 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof ConnectorError, String(err));
    assert.equal(err.retryable, true);
    assert.equal(err.code, 'SEND_DEADLINE_PASSED');
    assert.equal(seen.length, before, 'no request reached Shopify');
  });

  test('the lane came in time: the create is sent once', async () => {
    answer = () => ({ data: { orderCreate: { order: ORDER, userErrors: [] } }, extensions: cost(10) });
    const before = seen.length;
    const created = await budgeted(20).orderCreate({ sourceIdentifier: 'ASOS-1-A', lineItems: [] }, 'BYPASS', {
      sendBy: Date.now() + 5_000,
    });
    assert.equal(created.id, ORDER.id);
    assert.equal(seen.length, before + 1);
  });
});
