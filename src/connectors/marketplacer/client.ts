// Marketplacer Seller GraphQL API client: axios, zod on every response, and the request budget held by design.
//   - One endpoint per marketplace instance: POST <instance>/graphql, the key in MARKETPLACER-API-KEY (behind a
//     staging site's basic auth, Basic goes in Authorization).
//   - Budget: Marketplacer allows 750 requests / 10 s per key, 600 per source address, 1,200 per operator. The
//     client paces every request through a sliding window per lane (orders, stock) sized from the channel's
//     config, so a 429 is never how a limit is found; one that comes anyway (another integration on the same key)
//     pauses the lane for Retry-After, or at least a minute when it has none.
//   - Errors: HTTP status through connectors/errors.ts (401 refused, 429/5xx retry); a GraphQL top-level error is
//     not retried ("No object found for …" is NOT_FOUND); a mutation's `errors: [{field, messages}]` under HTTP
//     200 is returned to the caller, who decides what it means.
//   - Tolerance: which of the less certain fields exist (money on invoices and lines, an address's country,
//     metadata, external ids…) is asked once by introspection, and only those are requested; a tenant without
//     introspection gets the full selection.
import axios, { type AxiosInstance } from 'axios';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConnectorError, classifyHttpError } from '../errors';
import { outcomeOf, recordApiCall } from '../../metrics/api-calls';
import {
  AdvertSchema,
  CarrierSchema,
  GraphQLEnvelope,
  InvoiceSchema,
  MutationPayload,
  RawConnection,
  RefundRequestSchema,
  ShipmentSchema,
  VariantSchema,
  type MpCarrier,
  type MpInvoice,
  type MpRefundRequest,
  type MpShipment,
  type MpValidationError,
  type MpVariant,
} from './schemas';

const SYSTEM = 'marketplacer';

export type Lane = 'orders' | 'stock';

export interface MarketplacerClientOptions {
  /** The instance root (https://<instance>); the client posts to /graphql under it. */
  baseUrl: string;
  apiKey: string;
  /** "user:password" of a staging site's basic auth. */
  basicAuth?: string;
  timeoutMs?: number;
  log: Logger;
  /** Requests per window per lane (the channel's budget split by marketplacer.stockShare). */
  lanes: Record<Lane, number>;
  /** 10 s at time scale 1. */
  windowMs?: number;
  /** Wait after a 429/503 without Retry-After (Marketplacer: at least 60 s; time-scaled in the sandbox). */
  retryAfterDefaultMs?: number;
  /** Longest a request waits for its lane before it fails as retryable. */
  maxWaitMs?: number;
}

/** A record of an invoices page: the invoice, or why it could not be read (never a failed page). */
export type InvoiceRecord =
  | { invoice: MpInvoice }
  | { unreadable: { orderId?: string; nodeId?: string; field: string; problem: string; fingerprint: string } };

export interface MutationResult<T> {
  value?: T;
  errors: MpValidationError[];
}

/** Requests within a sliding window: a request waits for a slot, so the window never holds more than `max`. */
class Pacer {
  private hits: number[] = [];
  private pausedUntil = 0;
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxWaitMs: number,
  ) {}

  async take(): Promise<void> {
    const started = Date.now();
    for (;;) {
      const now = Date.now();
      while (this.hits.length > 0 && now - this.hits[0]! >= this.windowMs) this.hits.shift();
      const waitPause = this.pausedUntil - now;
      const waitSlot = this.hits.length >= this.max ? this.windowMs - (now - this.hits[0]!) : 0;
      const wait = Math.max(waitPause, waitSlot, 0);
      if (wait === 0) {
        this.hits.push(now);
        return;
      }
      if (now - started + wait > this.maxWaitMs) {
        throw new ConnectorError(SYSTEM, 'graphql', `request budget: would wait ${wait} ms`, true, {
          retryAfterMs: wait,
        });
      }
      await new Promise((r) => setTimeout(r, Math.max(5, wait)));
    }
  }

  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }
}

/** The fields Loopline asks for, by type; `required` ones it cannot work without, the others when they exist. */
const WANTED: Record<string, { required: string[]; optional: string[] }> = {
  Invoice: {
    required: ['id', 'legacyId', 'createdAt', 'statusFlags', 'lineItems'],
    optional: [
      'updatedAt',
      'paidAt',
      'buyerFirstName',
      'buyerSurname',
      'buyerEmailAddress',
      'buyerPhone',
      'buyerMessageToSeller',
      'shippingAddress',
      'buyerBillingAddress',
      'metadata',
      'postageCents',
      'subtotalCents',
      'totalCents',
      'shipments',
      'refundRequests',
    ],
  },
  LineItem: {
    required: ['id', 'quantity'],
    optional: [
      'legacyId',
      'variantId',
      'variantSku',
      'variantBarcode',
      'variantName',
      'status',
      'unitPriceCents',
      'totalCents',
      'taxCents',
    ],
  },
  Address: { required: [], optional: ['address', 'address2', 'city', 'state', 'postcode', 'country'] },
  Shipment: {
    required: ['id', 'shippedItems'],
    optional: ['carrier', 'postageCarrier', 'trackingNumber', 'trackingLink', 'dispatchedAt', 'note'],
  },
  RefundRequest: { required: ['id', 'lineItems'], optional: ['legacyId', 'status', 'externalIds'] },
  RefundRequestLineItem: {
    required: ['quantity'],
    optional: ['id', 'status', 'dispatched', 'reason', 'custom', 'lineItem', 'amountCents', 'amountPerItemCents'],
  },
};

/** Sub-selections of the object-typed fields, by `<Type>.<field>`. */
const SUB: Record<string, (f: (type: string) => string) => string> = {
  'Invoice.lineItems': (f) => `{ ${f('LineItem')} }`,
  'Invoice.shippingAddress': (f) => `{ ${f('Address')} }`,
  'Invoice.buyerBillingAddress': (f) => `{ ${f('Address')} }`,
  'Invoice.metadata': () => '{ key value }',
  'Invoice.shipments': (f) => `{ ${f('Shipment')} }`,
  'Invoice.refundRequests': (f) => `{ ${f('RefundRequest')} }`,
  'Address.state': () => '{ short }',
  'Address.country': () => '{ code name }',
  'Shipment.postageCarrier': () => '{ id name }',
  'Shipment.shippedItems': () => '{ quantity lineItem { id } }',
  'RefundRequest.externalIds': () => '{ key value }',
  'RefundRequest.lineItems': (f) => `{ ${f('RefundRequestLineItem')} }`,
  'RefundRequestLineItem.lineItem': () => '{ id }',
};

export class MarketplacerClient {
  private readonly http: AxiosInstance;
  private readonly log: Logger;
  private readonly pacers: Record<Lane, Pacer>;
  private readonly retryAfterDefaultMs: number;
  private fields?: Promise<Map<string, Set<string> | undefined>>;
  private carriers?: { at: number; value: Promise<MpCarrier[]> };

  constructor(readonly opts: MarketplacerClientOptions) {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'MARKETPLACER-API-KEY': opts.apiKey };
    if (opts.basicAuth) headers.Authorization = `Basic ${Buffer.from(opts.basicAuth).toString('base64')}`;
    this.http = axios.create({
      baseURL: opts.baseUrl.replace(/\/$/, ''),
      timeout: opts.timeoutMs ?? 15_000,
      headers,
    });
    this.log = opts.log;
    const windowMs = opts.windowMs ?? 10_000;
    const maxWait = opts.maxWaitMs ?? 60_000;
    this.pacers = {
      orders: new Pacer(Math.max(1, Math.floor(opts.lanes.orders)), windowMs, maxWait),
      stock: new Pacer(Math.max(1, Math.floor(opts.lanes.stock)), windowMs, maxWait),
    };
    this.retryAfterDefaultMs = opts.retryAfterDefaultMs ?? 60_000;
  }

  /** One GraphQL request on a lane; `data` checks the `data` object. */
  async request<T>(
    operation: string,
    query: string,
    variables: Record<string, unknown>,
    data: z.ZodType<T>,
    lane: Lane = 'orders',
  ): Promise<T> {
    await this.pacers[lane].take();
    const started = Date.now();
    let body: unknown;
    try {
      body = (await this.http.post('/graphql', { query, variables })).data;
    } catch (err) {
      const ce = classifyHttpError(SYSTEM, operation, err);
      if (ce.status === 429 || ce.status === 503) {
        // Over a limit after all (another integration on this key): the lane waits, and so does the retry.
        const wait = ce.retryAfterMs ?? this.retryAfterDefaultMs;
        this.pacers[lane].pause(wait);
        this.log.warn({ operation, status: ce.status, waitMs: wait }, 'marketplacer limit reached; pausing the lane');
        recordApiCall(SYSTEM, operation, ce.status === 429 ? 'rate_limited' : 'error', Date.now() - started);
        throw new ConnectorError(SYSTEM, operation, `HTTP ${ce.status}`, true, {
          status: ce.status,
          retryAfterMs: wait,
          detail: ce.opts.detail,
        });
      }
      recordApiCall(SYSTEM, operation, outcomeOf(ce), Date.now() - started);
      throw ce;
    }
    const env = GraphQLEnvelope.safeParse(body);
    if (!env.success) {
      recordApiCall(SYSTEM, operation, 'transport', Date.now() - started);
      throw new ConnectorError(SYSTEM, operation, 'unexpected response envelope', true, {
        detail: z.prettifyError(env.error),
      });
    }
    const errors = env.data.errors ?? [];
    const values = Object.values(env.data.data ?? {});
    if (errors[0] && values.every((v) => v === null || v === undefined)) {
      recordApiCall(SYSTEM, operation, 'error', Date.now() - started);
      const detail = errors.map((e) => e.message).join('; ');
      const notFound = errors.some((e) => /No object found/i.test(e.message));
      throw new ConnectorError(SYSTEM, operation, notFound ? 'NOT_FOUND' : 'GraphQL error', false, {
        code: notFound ? 'NOT_FOUND' : (errors[0]!.extensions?.code ?? 'GRAPHQL_ERROR'),
        detail,
      });
    }
    const parsed = data.safeParse(env.data.data);
    if (!parsed.success) {
      recordApiCall(SYSTEM, operation, 'error', Date.now() - started);
      throw new ConnectorError(SYSTEM, operation, 'unexpected data', false, { detail: z.prettifyError(parsed.error) });
    }
    recordApiCall(SYSTEM, operation, 'ok', Date.now() - started);
    return parsed.data;
  }

  // ---- field discovery ------------------------------------------------------------------------------

  /** The fields each type has, read once by introspection (undefined per type when it cannot be read). */
  private available(): Promise<Map<string, Set<string> | undefined>> {
    this.fields ??= (async () => {
      const types = Object.keys(WANTED);
      const q = `query Fields { ${types.map((t) => `${t}: __type(name: "${t}") { fields { name } }`).join(' ')} }`;
      const out = new Map<string, Set<string> | undefined>();
      try {
        const res = await this.request(
          '__type',
          q,
          {},
          z.record(z.string(), z.object({ fields: z.array(z.object({ name: z.string() })).nullish() }).nullish()),
        );
        for (const t of types) {
          const f = res[t]?.fields;
          out.set(t, f ? new Set(f.map((x) => x.name)) : undefined);
        }
        const missing = types.flatMap((t) =>
          WANTED[t]!.optional.filter((n) => out.get(t) && !out.get(t)!.has(n)).map((n) => `${t}.${n}`),
        );
        if (missing.length > 0)
          this.log.info({ missing }, 'marketplacer: fields this tenant does not have are not asked for');
      } catch (err) {
        this.log.warn(
          { err: (err as Error).message },
          'marketplacer: introspection unavailable; asking for every field',
        );
        this.fields = undefined;
        for (const t of types) out.set(t, undefined);
      }
      return out;
    })();
    return this.fields;
  }

  /** The selection of a type: its required fields, and the optional ones the tenant has. */
  private async selection(type: string): Promise<string> {
    const avail = await this.available();
    const build = (t: string): string => {
      const w = WANTED[t]!;
      const have = avail.get(t);
      const names = [...w.required, ...w.optional.filter((n) => !have || have.has(n))];
      return names.map((n) => (SUB[`${t}.${n}`] ? `${n} ${SUB[`${t}.${n}`]!(build)}` : n)).join(' ');
    };
    return build(type);
  }

  // ---- invoices -------------------------------------------------------------------------------------

  private static record(node: unknown): InvoiceRecord | undefined {
    if (node === null || node === undefined) return undefined;
    const parsed = InvoiceSchema.safeParse(node);
    if (parsed.success) return { invoice: parsed.data };
    const raw = node as { id?: unknown; legacyId?: unknown };
    const issue = parsed.error.issues[0];
    return {
      unreadable: {
        orderId: typeof raw.legacyId === 'number' ? String(raw.legacyId) : undefined,
        nodeId: typeof raw.id === 'string' ? raw.id : undefined,
        field: issue?.path.join('.') || '(invoice)',
        problem: issue?.message ?? 'unreadable',
        fingerprint: typeof raw.id === 'string' ? raw.id : JSON.stringify(node).slice(0, 80),
      },
    };
  }

  /**
   * One page of invoices (`filters`: updatedSince, notDispatched, legacyId…), oldest first. Each invoice is
   * checked on its own; one that cannot be read is returned as such.
   */
  async invoicesPage(
    filters: Record<string, unknown>,
    first: number,
    after?: string,
  ): Promise<{ records: InvoiceRecord[]; hasNextPage: boolean; endCursor?: string; totalCount?: number }> {
    const q = `query Invoices($first: Int, $after: String, $filters: InvoiceFilters, $sort: InvoiceSort) {
      invoices(first: $first, after: $after, filters: $filters, sort: $sort) {
        totalCount pageInfo { hasNextPage endCursor } nodes { ${await this.selection('Invoice')} } } }`;
    const res = await this.request(
      'invoices',
      q,
      { first, after: after ?? null, filters, sort: { fields: ['CREATED_AT'], ordering: 'ASCENDING' } },
      z.object({ invoices: RawConnection }),
    );
    const c = res.invoices;
    return {
      records: c.nodes.map((n) => MarketplacerClient.record(n)).filter((r): r is InvoiceRecord => r !== undefined),
      hasNextPage: c.pageInfo.hasNextPage,
      endCursor: c.pageInfo.endCursor ?? undefined,
      totalCount: c.totalCount ?? undefined,
    };
  }

  /** Invoices by Relay id (`nodes`): found, unreadable, and the ids Marketplacer returned nothing for. */
  async invoicesByIds(ids: string[]): Promise<{ records: InvoiceRecord[]; missing: string[] }> {
    if (ids.length === 0) return { records: [], missing: [] };
    const q = `query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Invoice { ${await this.selection('Invoice')} } } }`;
    const res = await this.request('nodes', q, { ids }, z.object({ nodes: z.array(z.unknown()) }));
    const records: InvoiceRecord[] = [];
    const missing: string[] = [];
    ids.forEach((id, i) => {
      const n = res.nodes[i] as { __typename?: string } | null | undefined;
      const r = n && n.__typename === 'Invoice' ? MarketplacerClient.record(n) : undefined;
      if (r) records.push(r);
      else missing.push(id);
    });
    return { records, missing };
  }

  /** The invoice with this legacy id (the invoice number Loopline uses as the order id), if any. */
  async invoiceByLegacyId(legacyId: string): Promise<MpInvoice | undefined> {
    if (!/^\d{1,12}$/.test(legacyId)) return undefined;
    const page = await this.invoicesPage({ legacyId: Number(legacyId) }, 1);
    const r = page.records[0];
    if (!r) return undefined;
    if ('unreadable' in r) {
      throw new ConnectorError(SYSTEM, 'invoices', 'invoice unreadable', false, {
        code: 'UNREADABLE',
        detail: `${r.unreadable.field}: ${r.unreadable.problem}`,
      });
    }
    return r.invoice;
  }

  // ---- shipments -------------------------------------------------------------------------------------

  /** Every shipment carrier of the instance (cached for ten minutes: the list rarely changes). */
  shipmentCarriers(): Promise<MpCarrier[]> {
    if (this.carriers && Date.now() - this.carriers.at < 10 * 60_000) return this.carriers.value;
    const value = (async () => {
      const out: MpCarrier[] = [];
      let after: string | undefined;
      do {
        const q = `query Carriers($after: String) { shipmentCarriers(first: 100, after: $after) { nodes { id name } pageInfo { hasNextPage endCursor } } }`;
        const res = await this.request(
          'shipmentCarriers',
          q,
          { after: after ?? null },
          z.object({
            shipmentCarriers: z.object({
              nodes: z.array(CarrierSchema),
              pageInfo: z.looseObject({ hasNextPage: z.boolean(), endCursor: z.string().nullish() }),
            }),
          }),
        );
        out.push(...res.shipmentCarriers.nodes);
        after = res.shipmentCarriers.pageInfo.hasNextPage
          ? (res.shipmentCarriers.pageInfo.endCursor ?? undefined)
          : undefined;
      } while (after);
      return out;
    })();
    this.carriers = { at: Date.now(), value };
    value.catch(() => {
      this.carriers = undefined;
    });
    return value;
  }

  async shipmentCreate(input: {
    invoiceId: string;
    shippedItems: Array<{ lineItemId: string; quantity: number }>;
    postageCarrierId: string;
    dispatchedAt: string;
    trackingNumber: string;
    note?: string;
  }): Promise<MutationResult<MpShipment>> {
    const q = `mutation Ship($input: ShipmentCreateMutationInput!) {
      shipmentCreate(input: $input) { status errors { field messages } shipment { ${await this.selection('Shipment')} } } }`;
    const res = await this.request(
      'shipmentCreate',
      q,
      { input },
      z.object({ shipmentCreate: MutationPayload.extend({ shipment: ShipmentSchema.nullish() }).nullable() }),
    );
    const p = res.shipmentCreate;
    if (!p) throw new ConnectorError(SYSTEM, 'shipmentCreate', 'no payload', false);
    return { value: p.shipment ?? undefined, errors: p.errors ?? [] };
  }

  // ---- refund requests --------------------------------------------------------------------------------

  /**
   * A refund request: cancellations (`dispatched: false`, units not shipped) or returns (`dispatched: true`,
   * units shipped). `externalIds` carries Loopline's key so a retry after a lost response can find it.
   */
  async refundRequestCreate(input: {
    invoiceId: string;
    /** A line item's units (with a reason and the dispatched flag), or a custom line with its amount per item. */
    lineItems: Array<
      | { lineItemId: string; quantity: number; reason: string; dispatched: boolean }
      | { custom: string; amountPerItemCents: number; quantity: number }
    >;
    notes: Array<{ note: string }>;
    externalIds?: Array<{ key: string; value: string }>;
  }): Promise<MutationResult<MpRefundRequest>> {
    const q = `mutation Refund($input: RefundRequestCreateMutationInput!) {
      refundRequestCreate(input: $input) { status errors { field messages } refundRequest { ${await this.selection('RefundRequest')} } } }`;
    const res = await this.request(
      'refundRequestCreate',
      q,
      { input },
      z.object({
        refundRequestCreate: MutationPayload.extend({ refundRequest: RefundRequestSchema.nullish() }).nullable(),
      }),
    );
    const p = res.refundRequestCreate;
    if (!p) throw new ConnectorError(SYSTEM, 'refundRequestCreate', 'no payload', false);
    return { value: p.refundRequest ?? undefined, errors: p.errors ?? [] };
  }

  // ---- stock ---------------------------------------------------------------------------------------------

  /** variantUpdate with an absolute countOnHand (idempotent in outcome: the same figure again is harmless). */
  async variantUpdate(variantId: string, countOnHand: number): Promise<MutationResult<MpVariant>> {
    const q = `mutation Stock($input: VariantUpdateMutationInput!) {
      variantUpdate(input: $input) { status errors { field messages } variant { id sku countOnHand } } }`;
    const res = await this.request(
      'variantUpdate',
      q,
      { input: { variantId, attributes: { countOnHand } } },
      z.object({ variantUpdate: MutationPayload.extend({ variant: VariantSchema.nullish() }).nullable() }),
      'stock',
    );
    const p = res.variantUpdate;
    if (!p) throw new ConnectorError(SYSTEM, 'variantUpdate', 'no payload', false);
    return { value: p.variant ?? undefined, errors: p.errors ?? [] };
  }

  /** Variants by Relay id, as the marketplace shows them now (the read-back after a push). */
  async variantsByIds(ids: string[]): Promise<MpVariant[]> {
    if (ids.length === 0) return [];
    const q = `query Read($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Variant { id sku countOnHand } } }`;
    const res = await this.request('nodes', q, { ids }, z.object({ nodes: z.array(z.unknown()) }), 'stock');
    return res.nodes.flatMap((n) => {
      const v = VariantSchema.safeParse(n);
      return v.success ? [v.data] : [];
    });
  }

  /** Every variant the seller has (adverts, then each advert's variants), for the SKU ↔ variant mapping. */
  async allVariants(): Promise<MpVariant[]> {
    const out: MpVariant[] = [];
    let after: string | undefined;
    do {
      const q = `query Adverts($after: String) { adverts(first: 50, after: $after) {
        nodes { id variants(first: 100) { nodes { id legacyId sku barcode countOnHand } pageInfo { hasNextPage endCursor } } }
        pageInfo { hasNextPage endCursor } } }`;
      const res = await this.request(
        'adverts',
        q,
        { after: after ?? null },
        z.object({ adverts: RawConnection }),
        'stock',
      );
      for (const raw of res.adverts.nodes) {
        const ad = AdvertSchema.safeParse(raw);
        if (!ad.success) continue;
        out.push(...ad.data.variants.nodes);
        let vAfter = ad.data.variants.pageInfo.hasNextPage
          ? (ad.data.variants.pageInfo.endCursor ?? undefined)
          : undefined;
        while (vAfter) {
          const vq = `query More($id: ID!, $after: String) { node(id: $id) { ... on Advert { variants(first: 100, after: $after) {
            nodes { id legacyId sku barcode countOnHand } pageInfo { hasNextPage endCursor } } } } }`;
          const more = await this.request(
            'node',
            vq,
            { id: ad.data.id, after: vAfter },
            z.object({ node: z.object({ variants: AdvertSchema.shape.variants }).nullable() }),
            'stock',
          );
          if (!more.node) break;
          out.push(...more.node.variants.nodes);
          vAfter = more.node.variants.pageInfo.hasNextPage
            ? (more.node.variants.pageInfo.endCursor ?? undefined)
            : undefined;
        }
      }
      after = res.adverts.pageInfo.hasNextPage ? (res.adverts.pageInfo.endCursor ?? undefined) : undefined;
    } while (after);
    return out;
  }
}
