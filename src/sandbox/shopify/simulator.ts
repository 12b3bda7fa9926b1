// The Shopify Admin GraphQL API for one shop, its webhooks and its control API. Served at the shop's
// real path so a connector only changes its base URL:
//   POST /shopify/<shop>/admin/api/<version>/graphql.json     (X-Shopify-Access-Token)
//   /control/shopify/...                                       (docs/sandbox/shopify.md)
// Documents are parsed, validated and executed by graphql-js against schema.ts. Every request is priced
// (calculated query cost) against a leaky bucket and answered with extensions.cost.throttleStatus.
import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  buildSchema,
  coerceInputValue,
  execute,
  isEnumType,
  isNonNullType,
  Kind,
  parse,
  typeFromAST,
  validate,
  type DocumentNode,
  type FieldNode,
  type GraphQLError,
  type GraphQLInputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { z } from 'zod';
import type { CatalogueItem } from '../catalogue';
import type { SandboxContext } from '../context';
import { withFault } from '../core/faults';
import type { SandboxSystem } from '../server';
import { ADMIN_SDL } from './admin-schema.generated';
import { requestedCost } from '../../connectors/shopify/cost';
import {
  fromMinor,
  gid,
  hashInput,
  LOCATION_ID,
  parseGid,
  ShopifyStore,
  ShopifyStoreError,
  toMinor,
  type SimFulfillment,
  type SimLevel,
  type SimLineItem,
  type SimOrder,
  type SimRefund,
  type SimTaxLine,
  type SimVariant,
} from './store';

export interface ShopifySimulatorOptions {
  /** Path segment and X-Shopify-Shop-Domain: <shop>.myshopify.com. */
  shop: string;
  accessToken: string;
  /** The app's client secret: webhooks are signed with it. */
  webhookSecret: string;
  currency: string;
  catalogue: CatalogueItem[];
  /** Leaky bucket (Standard plan: 2000 points, 100 restored per second; the restore is multiplied by timeScale). */
  bucket?: { maximumAvailable?: number; restoreRate?: number };
}

/**
 * Versions served (one schema: Shopify's real 2026-04 types, src/sandbox/shopify/admin-schema.generated.ts).
 * From 2026-04, the mutations whose description documents idempotency need @idempotent, and inventory
 * writes need changeFromQuantity. orderCreate documents no idempotency: a key sent there is ignored.
 */
export const SHOPIFY_VERSIONS = ['2025-10', '2026-01', '2026-04'] as const;
const IDEMPOTENT_FROM = '2026-04';
/** Mutations served here whose 2026-04 description says the @idempotent key is supported (and required). */
const IDEMPOTENT_MUTATIONS = new Set(['inventorySetQuantities']);
export const WEBHOOK_TOPICS = {
  ORDERS_CREATE: 'orders/create',
  FULFILLMENTS_CREATE: 'fulfillments/create',
  REFUNDS_CREATE: 'refunds/create',
  INVENTORY_LEVELS_UPDATE: 'inventory_levels/update',
} as const;

/** WebhookSubscriptionTopic enum value → REST topic (ORDERS_CREATE → orders/create). */
export function topicOf(topicEnum: string): string {
  const known = (WEBHOOK_TOPICS as Record<string, string>)[topicEnum];
  if (known) return known;
  const i = topicEnum.lastIndexOf('_');
  return i < 0
    ? topicEnum.toLowerCase()
    : `${topicEnum.slice(0, i).toLowerCase()}/${topicEnum.slice(i + 1).toLowerCase()}`;
}

/** REST topic → WebhookSubscriptionTopic enum value. */
function topicEnumOf(topic: string): string {
  return topic.replace('/', '_').toUpperCase();
}

interface DeliveryPolicy {
  /** Each event is delivered twice with this probability (a second delivery id, the same event id). */
  duplicateProbability: number;
  /** The next N events are delivered twice. */
  duplicateNext: number;
  /** Each delivery waits this long first (ms, real time). */
  delayMs: number;
  /** Events of these topics are not delivered at all (a missed webhook), counted down per topic. */
  dropNext: Record<string, number>;
}

export interface DeliveryRecord {
  eventId: string;
  webhookId: string;
  topic: string;
  status: number;
  attempt: number;
  at: number;
}

const ms = (m: number) => fromMinor(m);

interface VariableProblem {
  path: Array<string | number>;
  explanation: string;
}

/** graphql-js's coercion message, said the way Shopify says it (captured 2026-04 INVALID_VARIABLE errors). */
function explain(schema: GraphQLSchema, error: GraphQLError, path: Array<string | number>): VariableProblem {
  const m = error.message;
  let r = /^Value "(.*)" does not exist in "(\w+)" enum/.exec(m);
  if (r) {
    const t = schema.getType(r[2]!);
    const values = t && isEnumType(t) ? t.getValues() : [];
    return { path, explanation: `Expected "${r[1]}" to be one of: ${values.map((v) => v.name).join(', ')}` };
  }
  r = /^Field "(\w+)" is not defined by type "(\w+)"/.exec(m);
  if (r) return { path: [...path, r[1]!], explanation: `Field is not defined on ${r[2]}` };
  r = /^Field "(\w+)" of required type "(.+)" was not provided/.exec(m);
  if (r) return { path: [...path, r[1]!], explanation: 'Expected value to not be null' };
  if (/^Expected non-nullable type/.test(m)) return { path, explanation: 'Expected value to not be null' };
  return { path, explanation: m.replace(/\.$/, '') };
}

/**
 * Variables checked against their declared types before anything runs, answered as Shopify answers:
 * `Variable $x of type T was provided invalid value for a.b (Expected "XX" to be one of: …)`, code
 * INVALID_VARIABLE, with the value and each problem's path. An enum (CountryCode, CurrencyCode, …) takes
 * only its real values.
 */
export function variableErrors(
  schema: GraphQLSchema,
  op: OperationDefinitionNode,
  vars: Record<string, unknown>,
): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const def of op.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    const type = typeFromAST(schema, def.type as never) as GraphQLInputType | undefined;
    if (!type) continue;
    const value = vars[name];
    const problems: VariableProblem[] = [];
    if (value === undefined || value === null) {
      if (isNonNullType(type) && def.defaultValue === undefined)
        problems.push({ path: [], explanation: 'Expected value to not be null' });
    } else {
      coerceInputValue(value, type, (path, _invalid, error) => problems.push(explain(schema, error, [...path])));
    }
    if (problems.length === 0) continue;
    const where = problems
      .map((p) => (p.path.length ? `for ${p.path.join('.')} (${p.explanation})` : `(${p.explanation})`))
      .join(', ');
    out.push({
      message: `Variable $${name} of type ${String(type)} was provided invalid value ${where}`,
      locations: def.loc ? [{ line: def.loc.startToken.line, column: def.loc.startToken.column }] : [],
      extensions: { code: 'INVALID_VARIABLE', value: value ?? null, problems },
    });
  }
  return out;
}

/** A validation error as Shopify words the common ones (unknown field: `undefinedField`). */
function validationError(e: GraphQLError): Record<string, unknown> {
  const r = /^Cannot query field "(\w+)" on type "(\w+)"/.exec(e.message);
  if (r) {
    return {
      message: `Field '${r[1]}' doesn't exist on type '${r[2]}'`,
      locations: e.locations,
      extensions: { code: 'undefinedField', typeName: r[2], fieldName: r[1] },
    };
  }
  return { message: e.message, locations: e.locations };
}

/** The most points one query may ask (shopify.dev "API rate limits": a single query costs at most 1,000). */
const MAX_QUERY_COST = 1000;

class LeakyBucket {
  private available: number;
  private at = Date.now();
  constructor(
    readonly maximumAvailable: number,
    readonly restoreRate: number,
    private readonly timeScale: number,
  ) {
    this.available = maximumAvailable;
  }
  private refill(now = Date.now()) {
    this.available = Math.min(
      this.maximumAvailable,
      this.available + ((now - this.at) / 1000) * this.restoreRate * this.timeScale,
    );
    this.at = now;
  }
  take(cost: number): boolean {
    this.refill();
    if (cost > this.available) return false;
    this.available -= cost;
    return true;
  }
  status() {
    this.refill();
    return {
      maximumAvailable: this.maximumAvailable,
      currentlyAvailable: Math.floor(this.available),
      restoreRate: this.restoreRate * this.timeScale,
    };
  }
  drain(to: number) {
    this.refill();
    this.available = Math.max(0, Math.min(this.available, to));
  }
}

// ---- the simulator ------------------------------------------------------------------------------------
export function shopifySimulator(opts: ShopifySimulatorOptions): SandboxSystem & { store: ShopifyStore } {
  const store = new ShopifyStore(opts.catalogue, opts.currency);
  const schema = buildSchema(ADMIN_SDL);
  const shopDomain = `${opts.shop}.myshopify.com`;
  const policy: DeliveryPolicy = { duplicateProbability: 0, duplicateNext: 0, delayMs: 0, dropNext: {} };
  const deliveries: DeliveryRecord[] = [];
  let ctxRef: SandboxContext | undefined;
  let closed = false;
  const pending = new Set<Promise<void>>();

  const money = (minor: number) => ({ shopMoney: { amount: ms(minor), currencyCode: store.currency } });
  const taxLines = (t: SimTaxLine[]) =>
    t.map((x) => ({ title: x.title, rate: x.rate, priceSet: money(x.amountMinor) }));
  const page = <T>(items: T[], first = 50, after?: string) => {
    const start = after ? Number(Buffer.from(after, 'base64').toString()) : 0;
    const slice = items.slice(start, start + first);
    const end = start + slice.length;
    return {
      nodes: slice,
      pageInfo: {
        hasNextPage: end < items.length,
        hasPreviousPage: start > 0,
        startCursor: slice.length ? Buffer.from(String(start)).toString('base64') : null,
        endCursor: slice.length ? Buffer.from(String(end)).toString('base64') : null,
      },
    };
  };

  const variantView = (v: SimVariant): Record<string, unknown> => ({
    id: gid('ProductVariant', v.id),
    sku: v.sku,
    title: v.title,
    price: ms(v.priceMinor),
    inventoryItem: () => itemView(v.inventoryItemId),
  });
  const levelView = (l: SimLevel): Record<string, unknown> => ({
    id: `gid://shopify/InventoryLevel/${l.locationId}?inventory_item_id=${l.inventoryItemId}`,
    location: { id: gid('Location', l.locationId), name: 'Warehouse' },
    item: () => itemView(l.inventoryItemId),
    quantities: ({ names }: { names: string[] }) =>
      names.map((n) => ({ name: n, quantity: n === 'on_hand' ? l.onHand : n === 'available' ? l.available : 0 })),

    updatedAt: l.updatedAt,
  });
  const itemView = (inventoryItemId: number): Record<string, unknown> => {
    const v = store.variantByItem(inventoryItemId);
    return {
      id: gid('InventoryItem', inventoryItemId),
      sku: v?.sku ?? null,
      tracked: true,
      variant: () => (v ? variantView(v) : null),
      inventoryLevels: ({ first }: { first?: number }) =>
        page([store.levels.get(inventoryItemId)].filter((l): l is SimLevel => !!l).map(levelView), first),
    };
  };
  const lineView = (li: SimLineItem): Record<string, unknown> => ({
    id: gid('LineItem', li.id),
    sku: li.sku ?? null,
    title: li.title,
    quantity: li.quantity,
    variant: () =>
      li.variantId && store.variants.get(li.variantId) ? variantView(store.variants.get(li.variantId)!) : null,
    originalUnitPriceSet: money(li.unitPriceMinor),
    taxLines: () => taxLines(li.taxLines),
  });
  const fulfillmentView = (o: SimOrder, f: SimFulfillment): Record<string, unknown> => ({
    id: gid('Fulfillment', f.id),
    status: f.status,
    createdAt: f.createdAt,
    trackingInfo: () => [
      { company: f.tracking.company ?? null, number: f.tracking.number ?? null, url: f.tracking.url ?? null },
    ],
    fulfillmentLineItems: ({ first }: { first?: number }) =>
      page(
        f.lines.map((l) => ({
          id: gid('FulfillmentLineItem', l.id),
          quantity: l.quantity,
          lineItem: lineView(o.lineItems.find((x) => x.id === l.lineItemId)!),
        })),
        first,
      ),
  });
  const refundView = (o: SimOrder, r: SimRefund): Record<string, unknown> => ({
    id: gid('Refund', r.id),
    note: r.note ?? null,
    createdAt: r.createdAt,
    processedAt: r.createdAt,
    refundLineItems: ({ first }: { first?: number }) =>
      page(
        r.lines.map((l) => ({
          id: gid('RefundLineItem', l.id),
          quantity: l.quantity,
          restockType: l.restockType,
          lineItem: lineView(o.lineItems.find((x) => x.id === l.lineItemId)!),
        })),
        first,
      ),
  });
  const totals = (o: SimOrder) => {
    const goods = o.lineItems.reduce((s, l) => s + l.unitPriceMinor * l.quantity, 0);
    const ship = o.shippingLines.reduce((s, l) => s + l.priceMinor, 0);
    const tax = [...o.lineItems.flatMap((l) => l.taxLines), ...o.shippingLines.flatMap((l) => l.taxLines)].reduce(
      (s, t) => s + t.amountMinor,
      0,
    );
    return { total: goods + ship + (o.taxesIncluded ? 0 : tax), tax };
  };
  const fulfillmentStatus = (o: SimOrder) => {
    const open = o.lineItems.reduce((s, l) => s + l.quantity - l.refunded, 0);
    const done = o.lineItems.reduce((s, l) => s + l.fulfilled, 0);
    return done === 0 ? 'UNFULFILLED' : done >= open ? 'FULFILLED' : 'PARTIALLY_FULFILLED';
  };
  const orderView = (o: SimOrder): Record<string, unknown> => ({
    id: gid('Order', o.id),
    name: o.name,
    createdAt: o.createdAt,
    cancelledAt: o.cancelledAt ?? null,
    sourceIdentifier: o.sourceIdentifier ?? null,
    sourceName: o.sourceName ?? null,
    tags: o.tags,
    email: o.email ?? null,
    note: o.note ?? null,
    customAttributes: (o.customAttributes ?? []).map((a) => ({ key: a.key, value: a.value })),
    shippingAddress: o.shippingAddress
      ? {
          firstName: o.shippingAddress.firstName ?? null,
          lastName: o.shippingAddress.lastName ?? null,
          company: o.shippingAddress.company ?? null,
          address1: o.shippingAddress.address1 ?? null,
          address2: o.shippingAddress.address2 ?? null,
          city: o.shippingAddress.city ?? null,
          provinceCode: o.shippingAddress.provinceCode ?? null,
          zip: o.shippingAddress.zip ?? null,
          countryCodeV2: o.shippingAddress.countryCode ?? null,
          phone: o.shippingAddress.phone ?? null,
        }
      : null,
    currencyCode: o.currency,
    taxesIncluded: o.taxesIncluded,
    displayFulfillmentStatus: fulfillmentStatus(o),
    metafield: ({ namespace, key }: { namespace: string; key: string }) =>
      o.metafields.find((m) => m.namespace === namespace && m.key === key) ?? null,
    metafields: ({ first }: { first?: number }) => page(o.metafields, first),
    lineItems: ({ first }: { first?: number }) => page(o.lineItems.map(lineView), first),
    shippingLines: ({ first }: { first?: number }) =>
      page(
        o.shippingLines.map((s) => ({
          title: s.title,
          code: s.code ?? null,
          originalPriceSet: money(s.priceMinor),
          taxLines: taxLines(s.taxLines),
        })),
        first,
      ),
    totalPriceSet: money(totals(o).total),
    totalTaxSet: money(totals(o).tax),
    fulfillments: () => o.fulfillments.map((f) => fulfillmentView(o, f)),
    fulfillmentOrders: ({ first }: { first?: number }) =>
      page(
        [
          {
            id: gid('FulfillmentOrder', o.fulfillmentOrderId),
            status: fulfillmentStatus(o) === 'FULFILLED' ? 'CLOSED' : 'OPEN',
            lineItems: ({ first: n }: { first?: number }) =>
              page(
                o.lineItems.map((l) => ({
                  id: gid('FulfillmentOrderLineItem', l.id),
                  totalQuantity: l.quantity - l.refunded,
                  remainingQuantity: Math.max(0, l.quantity - l.refunded - l.fulfilled),
                  lineItem: lineView(l),
                })),
                n,
              ),
          },
        ],
        first,
      ),
    refunds: () => o.refunds.map((r) => refundView(o, r)),
  });

  /** Shopify search syntax, the part Loopline uses: `field:value` terms (quotes allowed), ANDed. */
  const terms = (query?: string): Array<[string, string]> =>
    [...(query ?? '').matchAll(/(\w+):(?:"([^"]*)"|'([^']*)'|(\S+))/g)].map((m) => [
      m[1]!.toLowerCase(),
      m[2] ?? m[3] ?? m[4] ?? '',
    ]);

  const matchesOrder = (o: SimOrder, query?: string) =>
    terms(query).every(([k, v]) =>
      k === 'source_identifier'
        ? o.sourceIdentifier === v
        : k === 'tag'
          ? o.tags.includes(v)
          : k === 'name'
            ? o.name === v || o.name === `#${v}`
            : k === 'id'
              ? String(o.id) === v
              : true,
    );
  const matchesSku = (sku: string | undefined, query?: string) =>
    terms(query).every(([k, v]) => (k === 'sku' ? sku === v : true));

  const topicSubscribers = (topic: string) => store.subscriptions.filter((s) => s.topic === topic);

  // ---- webhooks ---------------------------------------------------------------------------------------
  function emit(topic: string, payload: Record<string, unknown>) {
    const subs = topicSubscribers(topic);
    if (subs.length === 0) return;
    const eventId = randomUUID();
    if ((policy.dropNext[topic] ?? 0) > 0) {
      policy.dropNext[topic]! -= 1;
      deliveries.push({ eventId, webhookId: '-', topic, status: 0, attempt: 0, at: Date.now() });
      return;
    }
    let copies = 1;
    if (policy.duplicateNext > 0) {
      policy.duplicateNext -= 1;
      copies = 2;
    } else if (policy.duplicateProbability > 0 && Math.random() < policy.duplicateProbability) copies = 2;
    const body = JSON.stringify(payload);
    for (const sub of subs) {
      for (let c = 0; c < copies; c++) {
        const p = deliver(sub.callbackUrl, topic, eventId, body, c * 50).finally(() => pending.delete(p));
        pending.add(p);
      }
    }
  }

  async function deliver(url: string, topic: string, eventId: string, body: string, extraDelay: number) {
    const webhookId = randomUUID();
    const hmac = createHmac('sha256', opts.webhookSecret).update(body, 'utf8').digest('base64');
    const scale = ctxRef?.timeScale ?? 1;
    if (policy.delayMs + extraDelay > 0) await new Promise((r) => setTimeout(r, policy.delayMs + extraDelay));
    // Shopify retries a failed delivery 8 times over 4 hours with the same payload (time-scaled here).
    for (let attempt = 1; attempt <= 9 && !closed; attempt++) {
      let status: number;
      try {
        const res = await fetch(url, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'X-Shopify-Topic': topic,
            'X-Shopify-Hmac-Sha256': hmac,
            'X-Shopify-Shop-Domain': shopDomain,
            'X-Shopify-API-Version': IDEMPOTENT_FROM,
            'X-Shopify-Webhook-Id': webhookId,
            'X-Shopify-Event-Id': eventId,
            'X-Shopify-Triggered-At': new Date().toISOString(),
          },
          signal: AbortSignal.timeout(5_000),
        });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = 0;
      }
      deliveries.push({ eventId, webhookId, topic, status, attempt, at: Date.now() });
      ctxRef?.calls.add({ system: 'shopify-webhook', endpoint: topic, tenant: opts.shop, status });
      if (status >= 200 && status < 300) return;
      await new Promise((r) => setTimeout(r, Math.max(10, (1000 * 2 ** attempt) / scale)));
    }
  }

  const lineItemsPayload = (o: SimOrder, lines: Array<{ lineItemId: number; quantity: number; id?: number }>) =>
    lines.map((l) => {
      const li = o.lineItems.find((x) => x.id === l.lineItemId)!;
      return { id: li.id, sku: li.sku ?? null, quantity: l.quantity, price: ms(li.unitPriceMinor), title: li.title };
    });

  const emitFulfillment = (o: SimOrder, f: SimFulfillment) =>
    emit('fulfillments/create', {
      id: f.id,
      admin_graphql_api_id: gid('Fulfillment', f.id),
      order_id: o.id,
      status: 'success',
      created_at: f.createdAt,
      tracking_company: f.tracking.company ?? null,
      tracking_number: f.tracking.number ?? null,
      tracking_numbers: f.tracking.number ? [f.tracking.number] : [],
      tracking_url: f.tracking.url ?? null,
      line_items: lineItemsPayload(o, f.lines),
    });
  const emitRefund = (o: SimOrder, r: SimRefund) =>
    emit('refunds/create', {
      id: r.id,
      admin_graphql_api_id: gid('Refund', r.id),
      order_id: o.id,
      note: r.note ?? null,
      created_at: r.createdAt,
      refund_line_items: r.lines.map((l) => {
        const li = o.lineItems.find((x) => x.id === l.lineItemId)!;
        return {
          id: l.id,
          line_item_id: l.lineItemId,
          quantity: l.quantity,
          restock_type: l.restockType.toLowerCase(),
          line_item: { id: li.id, sku: li.sku ?? null, quantity: li.quantity, price: ms(li.unitPriceMinor) },
        };
      }),
    });
  const emitLevel = (l: SimLevel) =>
    emit('inventory_levels/update', {
      inventory_item_id: l.inventoryItemId,
      location_id: l.locationId,
      available: l.available,
      updated_at: l.updatedAt,
      admin_graphql_api_id: `gid://shopify/InventoryLevel/${l.locationId}?inventory_item_id=${l.inventoryItemId}`,
    });

  // ---- resolvers ----------------------------------------------------------------------------------------
  interface Ctx {
    version: string;
  }
  const idempotencyKey = (info: GraphQLResolveInfo, vars: Record<string, unknown>): string | undefined => {
    const d = info.fieldNodes[0]?.directives?.find((x) => x.name.value === 'idempotent');
    const arg = d?.arguments?.find((a) => a.name.value === 'key')?.value;
    if (!arg) return undefined;
    if (arg.kind === Kind.STRING) return arg.value;
    if (arg.kind === Kind.VARIABLE) return String(vars[arg.name.value] ?? '');
    return undefined;
  };
  /** A top-level GraphQL error with Shopify's extensions (the field's data becomes null). */
  const topLevel = (message: string, code: string) => Object.assign(new Error(message), { extensions: { code } });
  /**
   * Idempotency as 2026-04 has it, for the mutations whose description documents it: the key is required
   * (a top-level BAD_REQUEST without it, the field's data null); the same key replays the first response;
   * the same key with other arguments is the payload's userError IDEMPOTENCY_KEY_PARAMETER_MISMATCH.
   * On a mutation that documents no idempotency (orderCreate), a key changes nothing here: what Shopify
   * does with one there is not public (docs/contracts.md).
   */
  const once = <A>(
    name: string,
    run: (args: A) => Record<string, unknown>,
    refused: (e: { field: null; message: string; code: string }) => Record<string, unknown>,
  ) => {
    return (args: A, ctx: Ctx, info: GraphQLResolveInfo) => {
      if (!IDEMPOTENT_MUTATIONS.has(name)) return run(args);
      const key = idempotencyKey(info, info.variableValues);
      if (key === undefined && ctx.version >= IDEMPOTENT_FROM) {
        throw topLevel('The @idempotent directive is required for this mutation but was not provided.', 'BAD_REQUEST');
      }
      if (key === undefined) return run(args);
      if (key.trim() === '') throw topLevel('Idempotency key is required', 'BAD_REQUEST');
      const k = `${name}:${key}`;
      const h = hashInput(args);
      const seen = store.idempotency.get(k);
      if (seen) {
        if (seen.inputHash !== h) {
          return refused({
            field: null,
            message: 'The same idempotency key cannot be used with different operation parameters.',
            code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH',
          });
        }
        return seen.response as Record<string, unknown>;
      }
      const response = run(args);
      store.idempotency.set(k, { inputHash: h, response });
      return response;
    };
  };

  interface MoneyBagIn {
    shopMoney: { amount: string; currencyCode: string };
  }
  interface TaxIn {
    title: string;
    rate: string;
    priceSet: MoneyBagIn;
  }
  const taxIn = (t: TaxIn[] | undefined | null): SimTaxLine[] =>
    (t ?? []).map((x) => ({ title: x.title, rate: Number(x.rate), amountMinor: toMinor(x.priceSet.shopMoney.amount) }));

  const subscriptionView = (sub: (typeof store.subscriptions)[number]) => ({
    id: gid('WebhookSubscription', sub.id),
    topic: sub.topicEnum ?? topicEnumOf(sub.topic),
    uri: sub.callbackUrl,
    callbackUrl: sub.callbackUrl,
    format: sub.format ?? 'JSON',
    createdAt: sub.createdAt ?? new Date(0).toISOString(),
  });

  const rootValue = {
    shop: () => ({ name: opts.shop, myshopifyDomain: shopDomain, currencyCode: store.currency }),
    webhookSubscriptions: ({ first, after }: { first?: number; after?: string }) =>
      page(store.subscriptions.map(subscriptionView), first, after),
    orders: ({ first, after, query }: { first?: number; after?: string; query?: string }) =>
      page([...store.orders.values()].filter((o) => matchesOrder(o, query)).map(orderView), first, after),
    order: ({ id }: { id: string }) => {
      const o = store.orders.get(parseGid(id, 'Order'));
      return o ? orderView(o) : null;
    },
    productVariants: ({ first, after, query }: { first?: number; after?: string; query?: string }) =>
      page([...store.variants.values()].filter((v) => matchesSku(v.sku, query)).map(variantView), first, after),
    inventoryItems: ({ first, after, query }: { first?: number; after?: string; query?: string }) =>
      page(
        [...store.variants.values()].filter((v) => matchesSku(v.sku, query)).map((v) => itemView(v.inventoryItemId)),
        first,
        after,
      ),
    // orderCreate documents no idempotency: Loopline looks for sourceIdentifier before creating instead.
    orderCreate: (args: {
      order: {
        currency?: string;
        email?: string;
        note?: string;
        customAttributes?: Array<{ key: string; value: string }>;
        lineItems?: Array<{
          variantId?: string;
          sku?: string;
          title?: string;
          quantity: number;
          priceSet?: MoneyBagIn;
          taxLines?: TaxIn[];
        }>;
        shippingLines?: Array<{ title: string; code?: string; priceSet: MoneyBagIn; taxLines?: TaxIn[] }>;
        shippingAddress?: Record<string, unknown>;
        sourceIdentifier?: string;
        sourceName?: string;
        tags?: string[];
        metafields?: Array<{ namespace?: string; key?: string; type?: string; value?: string }>;
        taxesIncluded?: boolean;
      };
      options?: { inventoryBehaviour?: string };
    }) => {
      // userErrors as 2026-04 shapes them: field path, message, and a code (INVALID for data problems).
      const errors: Array<{ field: string[]; message: string; code: string }> = [];
      const input = args.order;
      const lineItems = input.lineItems ?? [];
      if (lineItems.length === 0)
        errors.push({
          field: ['order', 'lineItems'],
          message: 'Line items must have at least one line item',
          code: 'INVALID',
        });
      if (input.currency && input.currency !== store.currency) {
        errors.push({ field: ['order', 'currency'], message: `Currency must be ${store.currency}.`, code: 'INVALID' });
      }
      (input.shippingLines ?? []).forEach((sl, i) => {
        if (Number(sl.priceSet.shopMoney.amount) < 0) {
          errors.push({
            field: ['order', 'shippingLines', String(i), 'priceSet'],
            message: 'Price must be greater than or equal to 0',
            code: 'INVALID',
          });
        }
      });
      const lines: SimLineItem[] = [];
      lineItems.forEach((l, i) => {
        let variant: SimVariant | undefined;
        if (l.variantId) {
          try {
            variant = store.variants.get(parseGid(l.variantId, 'ProductVariant'));
          } catch {
            variant = undefined;
          }
          if (!variant) {
            errors.push({
              field: ['order', 'lineItems', String(i), 'variantId'],
              message: 'Product variant does not exist.',
              code: 'INVALID',
            });
            return;
          }
        }
        if (l.quantity <= 0) {
          errors.push({
            field: ['order', 'lineItems', String(i), 'quantity'],
            message: 'Quantity must be greater than 0.',
            code: 'INVALID',
          });
          return;
        }
        lines.push({
          id: store.id(),
          variantId: variant?.id,
          sku: variant?.sku ?? l.sku,
          title: l.title ?? variant?.title ?? l.sku ?? 'Custom item',
          quantity: l.quantity,
          unitPriceMinor: l.priceSet ? toMinor(l.priceSet.shopMoney.amount) : (variant?.priceMinor ?? 0),
          taxLines: taxIn(l.taxLines),
          fulfilled: 0,
          refunded: 0,
        });
      });
      if (errors.length > 0) return { order: null, userErrors: errors };
      const behaviour = args.options?.inventoryBehaviour ?? 'BYPASS';
      const order = store.createOrder({
        currency: input.currency ?? store.currency,
        taxesIncluded: input.taxesIncluded ?? false,
        email: input.email,
        note: input.note,
        customAttributes: input.customAttributes,
        sourceIdentifier: input.sourceIdentifier,
        sourceName: input.sourceName,
        tags: input.tags ?? [],
        metafields: (input.metafields ?? []).map((m) => ({
          namespace: m.namespace ?? '',
          key: m.key ?? '',
          type: m.type ?? 'single_line_text_field',
          value: m.value ?? '',
        })),
        lineItems: lines,
        shippingLines: (input.shippingLines ?? []).map((s) => ({
          title: s.title,
          code: s.code,
          priceMinor: toMinor(s.priceSet.shopMoney.amount),
          taxLines: taxIn(s.taxLines),
        })),
        shippingAddress: input.shippingAddress,
        inventoryBehaviour: behaviour,
      });
      emit('orders/create', {
        id: order.id,
        admin_graphql_api_id: gid('Order', order.id),
        name: order.name,
        note: order.note ?? null,
        note_attributes: (order.customAttributes ?? []).map((a) => ({ name: a.key, value: a.value })),
        source_identifier: order.sourceIdentifier ?? null,
        source_name: order.sourceName ?? null,
        tags: order.tags.join(', '),
        created_at: order.createdAt,
        line_items: lineItemsPayload(
          order,
          lines.map((l) => ({ lineItemId: l.id, quantity: l.quantity })),
        ),
      });
      if (behaviour !== 'BYPASS') {
        for (const l of lines) {
          const v = l.variantId ? store.variants.get(l.variantId) : undefined;
          if (!v) continue;
          const level = store.levels.get(v.inventoryItemId)!;
          store.setAvailable(v.inventoryItemId, level.available - l.quantity);
          emitLevel(level);
        }
      }
      return { order: orderView(order), userErrors: [] };
    },
    webhookSubscriptionCreate: (args: {
      topic: string;
      webhookSubscription: { uri?: string | null; callbackUrl?: string | null; format?: string | null };
    }) => {
      const topic = topicOf(args.topic);
      // 2026-04: `uri` (callbackUrl is deprecated but still read). The userError still names callbackUrl,
      // as Shopify's does.
      const uri = args.webhookSubscription.uri ?? args.webhookSubscription.callbackUrl ?? '';
      if (uri.trim() === '') {
        return {
          webhookSubscription: null,
          userErrors: [{ field: ['webhookSubscription', 'callbackUrl'], message: "Address can't be blank" }],
        };
      }
      const existing = store.subscriptions.find((s) => s.topic === topic && s.callbackUrl === uri);
      if (existing) {
        return {
          webhookSubscription: null,
          userErrors: [
            { field: ['webhookSubscription', 'callbackUrl'], message: 'Address for this topic has already been taken' },
          ],
        };
      }
      const sub = {
        id: store.id(),
        topic,
        topicEnum: args.topic,
        callbackUrl: uri,
        format: args.webhookSubscription.format ?? 'JSON',
        createdAt: new Date().toISOString(),
      };
      store.subscriptions.push(sub);
      return { webhookSubscription: subscriptionView(sub), userErrors: [] };
    },
    inventorySetQuantities: (args: unknown, ctx: Ctx, info: GraphQLResolveInfo) =>
      once(
        'inventorySetQuantities',
        (a: {
          input: {
            name: string;
            reason: string;
            referenceDocumentUri?: string;
            quantities: Array<{
              inventoryItemId: string;
              locationId: string;
              quantity: number;
              changeFromQuantity?: number | null;
            }>;
          };
        }) => {
          // 2026-04: changeFromQuantity must be given (an explicit null opts out); missing is a top-level
          // INVALID_FIELD_ARGUMENTS error, not a userError.
          if (ctx.version >= IDEMPOTENT_FROM && a.input.quantities.some((q) => q.changeFromQuantity === undefined)) {
            throw topLevel(
              'InventoryQuantityInput must include the following argument: changeFromQuantity.',
              'INVALID_FIELD_ARGUMENTS',
            );
          }
          const errors: Array<{ field: string[]; message: string; code: string }> = [];
          const changes: Array<{ name: string; delta: number; quantityAfterChange: number }> = [];
          const plan: Array<{ level: SimLevel; quantity: number }> = [];
          a.input.quantities.forEach((q, i) => {
            const level = store.levels.get(parseGid(q.inventoryItemId, 'InventoryItem'));
            if (!level) {
              errors.push({
                field: ['input', 'quantities', String(i), 'inventoryItemId'],
                message: 'The specified inventory item could not be found.',
                code: 'INVALID_INVENTORY_ITEM',
              });
              return;
            }
            if (parseGid(q.locationId, 'Location') !== LOCATION_ID) {
              errors.push({
                field: ['input', 'quantities', String(i), 'locationId'],
                message: 'The specified location could not be found.',
                code: 'INVALID_LOCATION',
              });
              return;
            }
            const current = a.input.name === 'on_hand' ? level.onHand : level.available;
            if (
              q.changeFromQuantity !== undefined &&
              q.changeFromQuantity !== null &&
              q.changeFromQuantity !== current
            ) {
              errors.push({
                field: ['input', 'quantities', String(i), 'changeFromQuantity'],
                message: `The quantity changed from ${q.changeFromQuantity} to ${current} since it was read.`,
                code: 'CHANGE_FROM_QUANTITY_STALE',
              });
              return;
            }
            plan.push({ level, quantity: q.quantity });
          });
          if (errors.length > 0) return { inventoryAdjustmentGroup: null, userErrors: errors };
          for (const p of plan) {
            const before = a.input.name === 'on_hand' ? p.level.onHand : p.level.available;
            if (a.input.name === 'on_hand') {
              p.level.available += p.quantity - p.level.onHand;
              p.level.onHand = p.quantity;
              p.level.updatedAt = new Date().toISOString();
            } else store.setAvailable(p.level.inventoryItemId, p.quantity);
            changes.push({ name: a.input.name, delta: p.quantity - before, quantityAfterChange: p.quantity });
            emitLevel(p.level);
          }
          return {
            inventoryAdjustmentGroup: {
              id: gid('InventoryAdjustmentGroup', store.id()),
              reason: a.input.reason,
              referenceDocumentUri: a.input.referenceDocumentUri ?? null,
              changes,
            },
            userErrors: [],
          };
        },
        (e) => ({ inventoryAdjustmentGroup: null, userErrors: [e] }),
      )(args as never, ctx, info),
  };

  return {
    name: 'shopify',
    store,
    register(app: FastifyInstance, ctx: SandboxContext) {
      ctxRef = ctx;
      const bucket = new LeakyBucket(
        opts.bucket?.maximumAvailable ?? 2000,
        opts.bucket?.restoreRate ?? 100,
        ctx.timeScale,
      );
      app.addHook('onClose', async () => {
        closed = true;
        await Promise.allSettled([...pending]);
      });

      app.post(`/shopify/${opts.shop}/admin/api/:version/graphql.json`, async (req, reply) => {
        const { version } = req.params as { version: string };
        const log = (
          endpoint: string,
          status: number,
          extra: { fault?: string; rateLimited?: boolean; cost?: number; bucketLeft?: number } = {},
        ) => ctx.calls.add({ system: 'shopify', endpoint, tenant: opts.shop, status, ...extra });
        if (!(SHOPIFY_VERSIONS as readonly string[]).includes(version)) {
          log('graphql', 404);
          return reply.code(404).send({ errors: 'Not Found' });
        }
        if (req.headers['x-shopify-access-token'] !== opts.accessToken) {
          log('graphql', 401);
          return reply
            .code(401)
            .send({ errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
        }
        const body = req.body as { query?: unknown; variables?: unknown; operationName?: unknown } | undefined;
        if (!body || typeof body.query !== 'string') {
          log('graphql', 400);
          return reply.code(400).send({ errors: { query: 'Required parameter missing or invalid' } });
        }
        let doc: DocumentNode;
        try {
          doc = parse(body.query);
        } catch (err) {
          log('graphql', 200);
          return { errors: [{ message: (err as Error).message, extensions: { code: 'PARSE_ERROR' } }] };
        }
        const validation = validate(schema, doc);
        if (validation.length > 0) {
          log('graphql', 200);
          return { errors: validation.map(validationError) };
        }
        const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
        const op =
          typeof body.operationName === 'string' ? ops.find((o) => o.name?.value === body.operationName) : ops[0];
        if (!op) return { errors: [{ message: 'No operation' }] };
        const vars = (body.variables && typeof body.variables === 'object' ? body.variables : {}) as Record<
          string,
          unknown
        >;
        const firstField = op.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD);
        const endpoint = firstField?.name.value ?? 'graphql';
        const invalid = variableErrors(schema, op, vars);
        if (invalid.length > 0) {
          log(endpoint, 200);
          return { errors: invalid };
        }
        const cost = requestedCost(doc, op, vars);
        // One query may ask at most 1,000 points whatever the bucket (shopify.dev rate limits; shared contracts A2).
        const maxCost = Math.min(MAX_QUERY_COST, bucket.maximumAvailable);
        if (cost > maxCost) {
          log(endpoint, 200);
          return {
            errors: [
              {
                message: `Query cost is ${cost}, which exceeds the single query max cost limit (${maxCost}).`,
                extensions: { code: 'MAX_COST_EXCEEDED', cost, maxCost },
              },
            ],
          };
        }
        const costExt = () => ({
          cost: { requestedQueryCost: cost, actualQueryCost: cost, throttleStatus: bucket.status() },
        });
        // One bucket per shop, whoever calls (every replica, every app token of this shop's app): as Shopify's.
        if (!bucket.take(cost)) {
          log(endpoint, 200, { rateLimited: true, cost, bucketLeft: bucket.status().currentlyAvailable });
          return {
            errors: [
              {
                message: 'Throttled',
                extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
              },
            ],
            extensions: { cost: { requestedQueryCost: cost, actualQueryCost: null, throttleStatus: bucket.status() } },
          };
        }
        const bucketLeft = bucket.status().currentlyAvailable;
        const fault = await withFault(ctx.faults('shopify'), endpoint, reply, async () => {
          const result = await execute({
            schema,
            document: doc,
            rootValue,
            contextValue: { version } satisfies Ctx,
            variableValues: vars,
            operationName: op.name?.value,
          });
          const errors = result.errors?.map((e) => ({
            message: e.message,
            path: e.path,
            extensions:
              e.originalError && 'extensions' in e.originalError
                ? (e.originalError as { extensions: unknown }).extensions
                : e.extensions,
          }));
          return {
            status: 200,
            body: {
              ...(result.data ? { data: result.data } : {}),
              ...(errors?.length ? { errors } : {}),
              extensions: costExt(),
            },
          };
        });
        log(endpoint, fault ? 0 : 200, { cost, bucketLeft, ...(fault ? { fault } : {}) });
        return reply;
      });

      // ---- control API ------------------------------------------------------------------------------
      const base = `/control/shopify/${opts.shop}`;
      const sendError = (reply: { code(n: number): { send(b: unknown): unknown } }, err: unknown) => {
        if (err instanceof ShopifyStoreError || err instanceof z.ZodError) {
          return reply.code(400).send({ message: err instanceof z.ZodError ? z.prettifyError(err) : err.message });
        }
        throw err;
      };
      const orderByRef = (ref: string): SimOrder | undefined => {
        if (/^\d+$/.test(ref) && store.orders.has(Number(ref))) return store.orders.get(Number(ref));
        return [...store.orders.values()].find((o) => o.sourceIdentifier === ref || o.name === ref);
      };
      const dump = (o: SimOrder) => ({
        ...o,
        id: gid('Order', o.id),
        totals: totals(o),
        displayFulfillmentStatus: fulfillmentStatus(o),
      });

      app.get(`${base}/orders`, async (req) => {
        const q = req.query as { sourceIdentifier?: string };
        return {
          orders: [...store.orders.values()]
            .filter((o) => !q.sourceIdentifier || o.sourceIdentifier === q.sourceIdentifier)
            .map(dump),
        };
      });
      app.get(`${base}/orders/:ref`, async (req, reply) => {
        const o = orderByRef((req.params as { ref: string }).ref);
        return o ? dump(o) : reply.code(404).send({ message: 'no such order' });
      });
      const LinesBody = z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() }));
      const skuLines = (o: SimOrder, lines: Array<{ sku: string; quantity: number }>) =>
        lines.map((l) => {
          const li =
            o.lineItems.find((x) => x.sku === l.sku && x.quantity - x.refunded - x.fulfilled > 0) ??
            o.lineItems.find((x) => x.sku === l.sku);
          if (!li) throw new ShopifyStoreError(`No line item with SKU ${l.sku} on ${o.name}.`);
          return { lineItemId: li.id, quantity: l.quantity };
        });
      app.post(`${base}/orders/:ref/fulfil`, async (req, reply) => {
        const o = orderByRef((req.params as { ref: string }).ref);
        if (!o) return reply.code(404).send({ message: 'no such order' });
        try {
          const b = z
            .object({
              lines: LinesBody.optional(),
              company: z.string().optional(),
              number: z.string().optional(),
              url: z.string().optional(),
            })
            .parse(req.body ?? {});
          const f = store.fulfil(o.id, b.lines ? skuLines(o, b.lines) : undefined, {
            company: b.company,
            number: b.number,
            url: b.url,
          });
          emitFulfillment(o, f);
          return { fulfillmentId: gid('Fulfillment', f.id), lines: f.lines };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.post(`${base}/orders/:ref/refund`, async (req, reply) => {
        const o = orderByRef((req.params as { ref: string }).ref);
        if (!o) return reply.code(404).send({ message: 'no such order' });
        try {
          const b = z
            .object({
              lines: LinesBody.min(1),
              note: z.string().optional(),
              restockType: z.enum(['NO_RESTOCK', 'RETURN', 'CANCEL']).optional(),
            })
            .parse(req.body ?? {});
          const r = store.refund(
            o.id,
            skuLines(o, b.lines).map((l) => ({ ...l, restockType: b.restockType })),
            b.note,
          );
          emitRefund(o, r);
          return { refundId: gid('Refund', r.id), lines: r.lines };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.post(`${base}/variants`, async (req, reply) => {
        try {
          const b = z
            .object({
              sku: z.string().min(1),
              priceMinor: z.number().int().min(0),
              stock: z.number().int().default(0),
              title: z.string().optional(),
            })
            .parse(req.body ?? {});
          const v = store.addVariant(b.sku, b.priceMinor, b.stock, b.title);
          return { variantId: gid('ProductVariant', v.id), inventoryItemId: gid('InventoryItem', v.inventoryItemId) };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.post(`${base}/inventory`, async (req, reply) => {
        try {
          const b = z
            .object({
              sku: z.string().min(1),
              available: z.number().int().optional(),
              delta: z.number().int().optional(),
            })
            .refine((x) => (x.available === undefined) !== (x.delta === undefined), 'give available or delta')
            .parse(req.body ?? {});
          const v = store.variantBySku(b.sku);
          if (!v) return reply.code(404).send({ message: `no variant with SKU ${b.sku}` });
          const level = store.levels.get(v.inventoryItemId)!;
          store.setAvailable(v.inventoryItemId, b.available ?? level.available + b.delta!);
          emitLevel(level);
          return { sku: v.sku, available: level.available };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.put(`${base}/webhook-delivery`, async (req, reply) => {
        try {
          const b = z
            .object({
              duplicateProbability: z.number().min(0).max(1).optional(),
              duplicateNext: z.number().int().min(0).optional(),
              delayMs: z.number().int().min(0).optional(),
              dropNext: z.record(z.string(), z.number().int().min(0)).optional(),
            })
            .parse(req.body ?? {});
          Object.assign(policy, Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)));
          return { ...policy };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.get(`${base}/webhooks`, async () => ({ subscriptions: store.subscriptions, deliveries }));
      app.put(`${base}/bucket`, async (req) => {
        const b = z.object({ currentlyAvailable: z.number().min(0) }).parse(req.body ?? {});
        bucket.drain(b.currentlyAvailable);
        return bucket.status();
      });
      app.get(`${base}/bucket`, async () => bucket.status());
    },
  };
}
