// Shopify Admin GraphQL client: axios, every response checked with zod, and the calculated-cost leaky
// bucket respected by design. Every replica's calls keep to the shop's budget kept by the Temporal server
// (`budget`: lanes of cost points leased from workflows/rate-budget.ts, src/config/budget.ts shopifyBudget),
// order-critical calls and reads in their own classes; each response's extensions.cost.throttleStatus also
// updates a local model of the bucket, and a request waits until the model says its cost fits. THROTTLED is
// a safety net only (retried), never how the limit is found.
import axios, { type AxiosInstance } from 'axios';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConnectorError, classifyHttpError } from '../errors';
import type { CallPacer } from '../../temporal/rate-budget-client';
import { costOf } from './cost';
import {
  FulfillmentsSchema,
  GraphQLEnvelope,
  InventoryItemsSchema,
  OrderCreateSchema,
  OrdersSchema,
  RefundsSchema,
  ShopSchema,
  VariantsSchema,
  WebhookSubscriptionCreateSchema,
  WebhookSubscriptionsSchema,
  type ShopifyOrderSummary,
  type ThrottleStatus,
} from './schemas';

/**
 * Which part of the shared budget a call keeps to: `priority` for order-critical calls (imports, fulfilment and
 * refund reads, order look-ups), `share` for reads (stock, SKU lists, the probe), which hold at most their part.
 */
export type ShopifyCallClass = 'priority' | 'share';

/** The shop's shared budget as this process sees it: a pacer per class, and a cost's weight in lanes. */
export interface ShopifyBudget {
  priority: CallPacer;
  share: CallPacer;
  lanesFor(cost: number): number;
  /** The most points a holder of the class can ever be lent in a window (paged reads stay well below it). */
  classPoints?(callClass: ShopifyCallClass): number;
}

export interface ShopifyClientOptions {
  baseUrl: string;
  apiVersion: string;
  accessToken: string;
  timeoutMs?: number;
  log: Logger;
  /** Longest a request waits for the bucket before failing as retryable. */
  maxWaitMs?: number;
  /**
   * Requests in flight at once (default 4). The cost bucket is the limit and every request books its cost
   * before it is sent; a few in flight keep one slow answer (a timeout) from holding up every other call.
   */
  maxConcurrent?: number;
  /**
   * Location ids whose stock counts (systems.shopify.stockLocations): stock reads sum these only. Unset:
   * every location.
   */
  stockLocations?: readonly number[];
  /** The budget shared with every replica (workers/runtime.ts); unset: the local bucket model only. */
  budget?: ShopifyBudget;
}

export interface OrderCreateInput {
  [k: string]: unknown;
}

export interface ShopifyDespatchLine {
  sku: string;
  quantity: number;
}

export interface ShopifyFulfillment {
  id: string;
  createdAt: string;
  company?: string;
  number?: string;
  url?: string;
  lines: ShopifyDespatchLine[];
}

export interface ShopifyRefund {
  id: string;
  note?: string;
  createdAt: string;
  lines: Array<{ sku: string; quantity: number; lineItemId: string }>;
}

const INVENTORY_ITEM_FIELDS = `{ id sku inventoryLevels(first: 5) { nodes { location { id } quantities(names: ["available"]) { name quantity } } } }`;

/**
 * Inventory items to rows: available summed over the item's locations (only `locations`, when given);
 * items without a SKU are skipped.
 */
function inventoryRows(
  nodes: ReadonlyArray<{
    id: string;
    sku?: string | null;
    inventoryLevels: {
      nodes: ReadonlyArray<{
        location?: { id: string };
        quantities: ReadonlyArray<{ name: string; quantity: number }>;
      }>;
    };
  }>,
  locations?: readonly number[],
): ShopifyInventoryRow[] {
  const counts = (l: { location?: { id: string } }) =>
    !locations || (l.location !== undefined && locations.includes(Number(l.location.id.split('/').pop())));
  return nodes.flatMap((n) =>
    n.sku
      ? [
          {
            sku: n.sku,
            inventoryItemId: n.id,
            available: n.inventoryLevels.nodes
              .filter(counts)
              .reduce((s, l) => s + (l.quantities.find((x) => x.name === 'available')?.quantity ?? 0), 0),
            locations: n.inventoryLevels.nodes.flatMap((l) =>
              l.location ? [Number(l.location.id.split('/').pop())] : [],
            ),
          },
        ]
      : [],
  );
}

export interface ShopifyInventoryRow {
  sku: string;
  inventoryItemId: string;
  available: number;
  /** The locations the item has levels at (all of them, counted or not). */
  locations?: number[];
}

const ORDER_FIELDS = `id name sourceIdentifier tags cancelledAt metafield(namespace: "loopline", key: "mirakl_order_id") { value }
  lineItems(first: 50) { nodes { id sku quantity } }`;

export class ShopifyClient {
  private readonly http: AxiosInstance;
  private readonly log: Logger;
  private readonly maxWaitMs: number;
  /** Local model of the bucket: what was available at `at`, and how fast it refills. */
  private bucket: { available: number; max: number; restoreRate: number; at: number } | undefined;
  private readonly maxConcurrent: number;
  private inFlight = 0;
  /** Cost booked by requests sent and not answered yet. */
  private inFlightCost = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly opts: ShopifyClientOptions) {
    this.http = axios.create({
      baseURL: `${opts.baseUrl.replace(/\/$/, '')}/admin/api/${opts.apiVersion}`,
      timeout: opts.timeoutMs ?? 15_000,
      headers: { 'X-Shopify-Access-Token': opts.accessToken, 'content-type': 'application/json' },
    });
    this.log = opts.log;
    this.maxWaitMs = opts.maxWaitMs ?? 60_000;
    this.maxConcurrent = Math.max(1, opts.maxConcurrent ?? 4);
  }

  /** How long one request may take before it is abandoned (axios's timeout). */
  get requestTimeoutMs(): number {
    return this.opts.timeoutMs ?? 15_000;
  }

  /** The cost bucket as the client last saw it (for tests and metrics). */
  throttleStatus() {
    return this.bucket ? { ...this.bucket, available: this.estimate() } : undefined;
  }

  private estimate(now = Date.now()): number {
    if (!this.bucket) return Infinity;
    const b = this.bucket;
    return Math.min(b.max, b.available + ((now - b.at) / 1000) * b.restoreRate);
  }

  /**
   * Takes the bucket from an answer. The answer may not count the other requests still in flight (sent
   * after it, or not yet arrived), which the model had booked: they are taken off again. If some had in
   * fact been counted, the model is a little cautious until it refills.
   */
  private learn(t: ThrottleStatus | undefined, othersInFlightCost: number) {
    if (!t) return;
    this.bucket = {
      available: t.currentlyAvailable - othersInFlightCost,
      max: t.maximumAvailable,
      restoreRate: t.restoreRate,
      at: Date.now(),
    };
  }

  /** Waits until the bucket model has room for `cost`, then books it (no await between check and booking). */
  private async pace(cost: number): Promise<void> {
    const started = Date.now();
    for (;;) {
      const available = this.estimate();
      // A query dearer than the whole bucket cannot wait its way in: send it and let the API say so.
      if (available >= cost || !this.bucket || cost > this.bucket.max) break;
      const waitMs = Math.ceil(((cost - available) / this.bucket.restoreRate) * 1000);
      if (Date.now() - started + waitMs > this.maxWaitMs) {
        throw new ConnectorError('shopify', 'graphql', `cost ${cost} would wait ${waitMs} ms for the bucket`, true, {
          retryAfterMs: waitMs,
        });
      }
      await new Promise((r) => setTimeout(r, Math.max(5, waitMs)));
    }
    if (this.bucket) {
      this.bucket.available = this.estimate() - cost;
      this.bucket.at = Date.now();
    }
  }

  /**
   * Nodes per page of a paged read: `max`, or fewer so that a page costs at most a quarter of what one holder of
   * the class can ever be lent from the shared budget. A page heavier than that (a full stock page is about 900
   * points, every lane of the reads' class) could find no room while another replica holds some of the class and
   * fail for want of a lane; smaller pages cost the same points in all and always fit. Without a shared budget the
   * local bucket model lets `max` through.
   */
  pageSize(max: number, query: (first: number) => string, callClass: ShopifyCallClass): number {
    const points = this.opts.budget?.classPoints?.(callClass);
    if (points === undefined) return max;
    // Cost is linear in `first` (2 + first × per node): two points give the line.
    const one = costOf(query(1), {});
    const perNode = costOf(query(2), {}) - one;
    const fit = Math.floor((points / 4 - (one - perNode)) / Math.max(1, perNode));
    return Math.max(1, Math.min(max, fit));
  }

  /**
   * One GraphQL request. `cost` is the caller's estimate of the requested cost (the same rules the API
   * uses); the bucket model holds the request until it fits.
   */
  async request<T>(
    operation: string,
    query: string,
    variables: Record<string, unknown>,
    data: z.ZodType<T>,
    callClass: ShopifyCallClass = 'priority',
    opts: { sendBy?: number } = {},
  ): Promise<T> {
    const cost = costOf(query, variables);
    const budget = this.opts.budget;
    const run = async (): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        // The shared budget first (lanes of points in the window, with every replica), then the local model.
        let done: ((actualWeight?: number) => void) | void;
        try {
          done = await budget?.[callClass].take(budget.lanesFor(cost));
        } catch (err) {
          throw new ConnectorError('shopify', operation, 'no lane from the shared rate budget', true, {
            code: 'RATE_BUDGET_UNAVAILABLE',
            detail: err instanceof Error ? err.message : String(err),
          });
        }
        // What Shopify says it charged (requested less the refund); unknown after a transport failure.
        let charged: number | undefined;
        try {
          await this.pace(cost);
          if (opts.sendBy !== undefined && Date.now() > opts.sendBy) {
            // The lanes, the bucket or the requests in flight held this call past the moment its caller can
            // still hear the answer (an activity attempt's deadline): a write sent now could land after the
            // caller's retry has looked for it and found nothing, so it is not sent at all.
            charged = 0;
            throw new ConnectorError(
              'shopify',
              operation,
              'not sent: waited for the rate budget past its deadline',
              true,
              {
                code: 'SEND_DEADLINE_PASSED',
                detail: `${Date.now() - opts.sendBy} ms late`,
              },
            );
          }
          let body: unknown;
          this.inFlightCost += cost;
          try {
            body = (await this.http.post('/graphql.json', { query, variables })).data;
          } catch (err) {
            throw classifyHttpError('shopify', operation, err);
          } finally {
            this.inFlightCost -= cost;
          }
          const env = GraphQLEnvelope.safeParse(body);
          if (!env.success) {
            throw new ConnectorError('shopify', operation, 'unexpected response envelope', true, {
              detail: z.prettifyError(env.error),
            });
          }
          const costExt = env.data.extensions?.cost;
          if (costExt && costExt.actualQueryCost !== undefined) charged = costExt.actualQueryCost ?? 0;
          this.learn(costExt?.throttleStatus, this.inFlightCost);
          const errors = env.data.errors ?? [];
          if (errors.some((e) => e.extensions?.code === 'THROTTLED')) {
            // A safety net: the shared budget keeps every replica inside the bucket, but another app or a call made
            // outside the budget (a CLI command) can take from it. Wait for the bucket (the model) and try again.
            if (attempt >= 3) throw new ConnectorError('shopify', operation, 'THROTTLED', true, { code: 'THROTTLED' });
            this.log.warn({ operation }, 'shopify throttled despite the shared budget (calls outside it?)');
            continue;
          }
          if (errors.length > 0) {
            const detail = errors.map((e) => e.message).join('; ');
            const code = errors[0]?.extensions?.code;
            throw new ConnectorError('shopify', operation, `GraphQL error${code ? ` ${code}` : ''}`, false, {
              code,
              detail,
            });
          }
          const parsed = data.safeParse(env.data.data);
          if (!parsed.success) {
            throw new ConnectorError('shopify', operation, 'unexpected data', false, {
              detail: z.prettifyError(parsed.error),
            });
          }
          return parsed.data;
        } finally {
          done?.(charged === undefined || !budget ? undefined : charged === 0 ? 0 : budget.lanesFor(charged));
        }
      }
    };
    while (this.inFlight >= this.maxConcurrent) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
    try {
      return await run();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  /**
   * Look before create: the order imported for this source id (Mirakl order id), if any. Every import sets
   * sourceIdentifier, so one search finds it, whatever has happened to the order's tags since. (A second
   * search by the channel tag used to follow a miss: it returned the channel's first five orders only, so
   * it could not find an order once there were more, and it cost a call on every create.)
   */
  async findOrderBySource(sourceIdentifier: string): Promise<ShopifyOrderSummary | undefined> {
    const q = `query FindOrder($q: String!) { orders(first: 5, query: $q) { nodes { ${ORDER_FIELDS} } } }`;
    const res = await this.request('orders', q, { q: `source_identifier:'${sourceIdentifier}'` }, OrdersSchema);
    return res.orders.nodes.find((o) => o.sourceIdentifier === sourceIdentifier);
  }

  /**
   * orderCreate. No @idempotent key: Shopify documents idempotency only on the mutations whose description
   * says so, and orderCreate's does not. Exactly-once comes from the caller looking for the order's
   * sourceIdentifier first (findOrderBySource), after any lost response too.
   */
  async orderCreate(
    order: OrderCreateInput,
    inventoryBehaviour: string,
    opts: { sendBy?: number } = {},
  ): Promise<ShopifyOrderSummary> {
    const q = `mutation Create($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
      orderCreate(order: $order, options: $options) {
        order { ${ORDER_FIELDS} }
        userErrors { field message code }
      }
    }`;
    const res = await this.request(
      'orderCreate',
      q,
      { order, options: { inventoryBehaviour, sendReceipt: false, sendFulfillmentReceipt: false } },
      OrderCreateSchema,
      'priority',
      opts,
    );
    const { order: created, userErrors } = res.orderCreate ?? { order: null, userErrors: [] };
    if (userErrors.length > 0 || !created) {
      const detail =
        userErrors
          .map(
            (e) => `${(e.field ?? []).join('.')}: ${e.message ?? e.code ?? 'invalid'}${e.code ? ` (${e.code})` : ''}`,
          )
          .join('; ') || 'no order returned';
      const fields = [...new Set(userErrors.map((e) => (e.field ?? []).join('.')).filter(Boolean))].join(', ');
      const codes = [...new Set(userErrors.map((e) => e.code).filter(Boolean))].join(', ');
      // The message names fields and codes only; Shopify's words (which may quote personal data) go in the
      // details, which are encrypted with the failure (docs/security.md).
      const message = userErrors.length
        ? `user errors on ${fields || 'the order'}${codes ? ` (${codes})` : ''}`
        : 'no order returned';
      throw new ConnectorError('shopify', 'orderCreate', message, false, {
        code: userErrors[0]?.code ?? 'USER_ERROR',
        detail,
      });
    }
    return created;
  }

  async order(id: string): Promise<ShopifyOrderSummary | undefined> {
    const q = `query One($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;
    const res = await this.request(
      'order',
      q,
      { id },
      z.object({ order: OrdersSchema.shape.orders.shape.nodes.element.nullable() }),
    );
    return res.order ?? undefined;
  }

  async variantsBySku(skus: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const sku of skus) {
      const q = `query V($q: String!) { productVariants(first: 5, query: $q) { nodes { id sku } } }`;
      const res = await this.request('productVariants', q, { q: `sku:'${sku}'` }, VariantsSchema);
      const v = res.productVariants.nodes.find((n) => n.sku === sku);
      if (v) out.set(sku, v.id);
    }
    return out;
  }

  /** Every variant SKU in the shop (paged, up to 250 a page: pageSize). */
  async listSkus(): Promise<string[]> {
    const out: string[] = [];
    let after: string | null | undefined;
    const query = (first: number) =>
      `query All($after: String) { productVariants(first: ${first}, after: $after) { nodes { id sku } pageInfo { hasNextPage endCursor } } }`;
    const q = query(this.pageSize(250, query, 'share'));
    do {
      const res = await this.request('productVariants', q, { after }, VariantsSchema, 'share');
      for (const n of res.productVariants.nodes) if (n.sku) out.push(n.sku);
      after = res.productVariants.pageInfo?.hasNextPage ? res.productVariants.pageInfo.endCursor : undefined;
    } while (after);
    return out;
  }

  async fulfillments(orderId: string): Promise<ShopifyFulfillment[]> {
    const q = `query F($id: ID!) { order(id: $id) { id fulfillments(first: 10) { id createdAt status
      trackingInfo(first: 5) { company number url }
      fulfillmentLineItems(first: 20) { nodes { quantity lineItem { sku } } } } } }`;
    const res = await this.request('order', q, { id: orderId }, FulfillmentsSchema);
    return (res.order?.fulfillments ?? [])
      .filter((f) => f.status === 'SUCCESS')
      .map((f) => ({
        id: f.id,
        createdAt: f.createdAt,
        company: f.trackingInfo[0]?.company ?? undefined,
        number: f.trackingInfo[0]?.number ?? undefined,
        url: f.trackingInfo[0]?.url ?? undefined,
        // A line without a quantity (nullable in the schema) ships nothing we can confirm.
        lines: f.fulfillmentLineItems.nodes.flatMap((n) =>
          n.quantity === null ? [] : [{ sku: n.lineItem.sku ?? '', quantity: n.quantity }],
        ),
      }));
  }

  async refunds(orderId: string): Promise<ShopifyRefund[]> {
    const q = `query R($id: ID!) { order(id: $id) { id refunds(first: 10) { id note createdAt processedAt
      refundLineItems(first: 20) { nodes { quantity lineItem { id sku } } } } } }`;
    const res = await this.request('order', q, { id: orderId }, RefundsSchema);
    return (res.order?.refunds ?? []).map((r) => ({
      id: r.id,
      note: r.note ?? undefined,
      createdAt: r.createdAt ?? r.processedAt,
      lines: r.refundLineItems.nodes.map((n) => ({
        sku: n.lineItem.sku ?? '',
        quantity: n.quantity,
        lineItemId: n.lineItem.id,
      })),
    }));
  }

  /** The full stock read: available per SKU at the shop's location(s), summed (paged, up to 50 a page: pageSize). */
  async inventory(): Promise<ShopifyInventoryRow[]> {
    const out: ShopifyInventoryRow[] = [];
    let after: string | null | undefined;
    const query = (first: number) => `query Inv($after: String) { inventoryItems(first: ${first}, after: $after) {
        nodes ${INVENTORY_ITEM_FIELDS} pageInfo { hasNextPage endCursor } } }`;
    const q = query(this.pageSize(50, query, 'share'));
    do {
      const res = await this.request('inventoryItems', q, { after }, InventoryItemsSchema, 'share');
      out.push(...inventoryRows(res.inventoryItems.nodes, this.opts.stockLocations));
      after = res.inventoryItems.pageInfo.hasNextPage ? res.inventoryItems.pageInfo.endCursor : undefined;
    } while (after);
    return out;
  }

  /**
   * Available for a few SKUs (one `inventoryItems(query: "sku:…")` each): what an order's stock check needs,
   * a handful of cheap calls instead of the whole catalogue. A SKU Shopify does not know is absent.
   */
  async inventoryForSkus(skus: readonly string[]): Promise<ShopifyInventoryRow[]> {
    const out: ShopifyInventoryRow[] = [];
    for (const sku of new Set(skus)) {
      const q = `query InvSku($q: String!) { inventoryItems(first: 5, query: $q) { nodes ${INVENTORY_ITEM_FIELDS}
        pageInfo { hasNextPage endCursor } } }`;
      const res = await this.request('inventoryItems', q, { q: `sku:'${sku}'` }, InventoryItemsSchema, 'share');
      out.push(...inventoryRows(res.inventoryItems.nodes, this.opts.stockLocations).filter((r) => r.sku === sku));
    }
    return out;
  }

  /**
   * Subscribes `uri` to a topic (ORDERS_CREATE, …); an existing subscription is fine. `uri` replaces the
   * deprecated `callbackUrl` in WebhookSubscriptionInput.
   */
  async subscribe(topic: string, uri: string): Promise<void> {
    const q = `mutation S($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { webhookSubscription { id } userErrors { field message } } }`;
    const res = await this.request(
      'webhookSubscriptionCreate',
      q,
      { topic, sub: { uri, format: 'JSON' } },
      WebhookSubscriptionCreateSchema,
    );
    const errs = res.webhookSubscriptionCreate?.userErrors ?? [];
    if (errs.length > 0 && !errs.some((e) => /already been taken/.test(e.message))) {
      throw new ConnectorError('shopify', 'webhookSubscriptionCreate', errs.map((e) => e.message).join('; '), false);
    }
  }

  /** The shop: name, domain and currency (read-only; the go-live probe). */
  async shop(): Promise<{ name: string; myshopifyDomain: string; currencyCode: string }> {
    const q = `query Shop { shop { name myshopifyDomain currencyCode } }`;
    return (await this.request('shop', q, {}, ShopSchema, 'share')).shop;
  }

  /** The app's webhook subscriptions (read-only; the go-live probe). */
  async webhookSubscriptions(): Promise<Array<{ id: string; topic: string; uri: string }>> {
    const out: Array<{ id: string; topic: string; uri: string }> = [];
    let after: string | null | undefined;
    do {
      const q = `query Subs($after: String) { webhookSubscriptions(first: 100, after: $after) { nodes { id topic uri }
        pageInfo { hasNextPage endCursor } } }`;
      const res = await this.request('webhookSubscriptions', q, { after }, WebhookSubscriptionsSchema, 'share');
      out.push(...res.webhookSubscriptions.nodes);
      after = res.webhookSubscriptions.pageInfo.hasNextPage ? res.webhookSubscriptions.pageInfo.endCursor : undefined;
    } while (after);
    return out;
  }
}
