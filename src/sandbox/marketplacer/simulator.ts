// Marketplacer's Seller GraphQL API for one marketplace instance (a Loopline channel), its webhooks and a control
// API. Served at the instance's real path so a connector only changes its base URL:
//   POST /marketplacer/<channel>/graphql        MARKETPLACER-API-KEY: <key>  (or Authorization: Bearer <key>;
//                                               behind basic auth: Basic in Authorization, the key in the header)
//   /control/marketplacer/<channel>/...         docs/sandbox/marketplacer.md
// Documents are parsed, validated and executed by graphql-js against schema.ts. Business errors come back as
// HTTP 200 with the payload's `errors: [{field, messages}]` and `status`; a missing object is a top-level error
// ("No object found for …"); bad credentials are a 401 ("API Token has expired"). Rate limits per API key
// (750 / 10 s), per source address (600 / 10 s) and per operator (1,200 / 10 s) answer 429 or 503, with or
// without Retry-After (configurable: a client must cope with all four). Webhooks (INVOICE, VARIANT,
// REFUND_REQUEST) are signed with Marketplacer-Hmac-256, numbered with Marketplacer-Sequence, delivered at least
// once with retries, and can be duplicated, reordered, delayed or dropped on demand; a webhook that answers a
// 3xx or a 4xx other than 429 is disabled, as Marketplacer does.
import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildSchema, execute, parse, validate, Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { z } from 'zod';
import type { CatalogueItem } from '../catalogue';
import type { SandboxContext } from '../context';
import { withFault } from '../core/faults';
import type { SandboxSystem } from '../server';
import { SELLER_SDL } from './schema';
import {
  globalId,
  MarketplacerStore,
  MarketplacerStoreError,
  parseGlobalId,
  type PlaceInvoiceSpec,
  type SimAddress,
  type SimInvoice,
  type SimLineItem,
  type SimRefundRequest,
  type SimShipment,
  type SimVariant,
} from './store';

export type WebhookType = 'INVOICE' | 'VARIANT' | 'REFUND_REQUEST';
export const WEBHOOK_TYPES: readonly WebhookType[] = ['INVOICE', 'VARIANT', 'REFUND_REQUEST'];

export interface MarketplacerSimulatorOptions {
  /** The channel code: path segment and the Marketplacer-Vertical of its webhooks. */
  channel: string;
  apiKey: string;
  /** Staging sites: HTTP basic auth in front of the API ("user:password"). */
  basicAuth?: string;
  catalogue: readonly CatalogueItem[];
  carriers?: readonly string[];
  seller?: string;
  /** Limits per 10 s (Marketplacer support article 46912682883341); multiplied in by the sandbox time scale. */
  limits?: { perKey?: number; perAddress?: number; perOperator?: number };
}

interface SimWebhook {
  id: number;
  type: WebhookType;
  url: string;
  hmacKey?: string;
  enabled: boolean;
  /** Tries after the first (Marketplacer: 0–50, default 25). */
  retryLimit: number;
  sequence: number;
  disabledReason?: string;
}

export interface MarketplacerDeliveryRecord {
  webhookId: number;
  eventId: string;
  sequence: number;
  idempotencyKey: string;
  type: WebhookType;
  eventName: string;
  nodeId: string;
  attempt: number;
  status: number;
  outcome: 'delivered' | 'retrying' | 'failed' | 'disabled' | 'dropped' | 'not-sent';
  at: number;
}

interface DeliveryPolicy {
  duplicateProbability: number;
  duplicateNext: number;
  /** The next N events are held and then delivered newest first. */
  reorderNext: number;
  /** Each delivery waits this long first (ms, real time). */
  delayMs: number;
  /** The next N events are delivered this many ms late (after the poll has probably seen them). */
  lateNext: number;
  lateMs: number;
  /** Events of a type that are never delivered (missed), counted down per type. */
  dropNext: Partial<Record<WebhookType, number>>;
}

interface PendingEvent {
  hook: SimWebhook;
  eventId: string;
  sequence: number;
  eventName: string;
  nodeId: string;
  body: string;
}

const WINDOW_MS = 10_000;
const USER_AGENT = 'Marketplacer Client/1.0.0';

export function marketplacerSimulator(
  opts: MarketplacerSimulatorOptions,
): SandboxSystem & { store: MarketplacerStore; deliveries: MarketplacerDeliveryRecord[] } {
  const store = new MarketplacerStore(opts.catalogue, opts.carriers);
  const schema = buildSchema(SELLER_SDL);
  const sellerId = store.next();
  const webhooks: SimWebhook[] = [];
  const deliveries: MarketplacerDeliveryRecord[] = [];
  const policy: DeliveryPolicy = {
    duplicateProbability: 0,
    duplicateNext: 0,
    reorderNext: 0,
    delayMs: 0,
    lateNext: 0,
    lateMs: 0,
    dropNext: {},
  };
  let held: PendingEvent[] = [];
  let heldTimer: NodeJS.Timeout | undefined;
  let limitReplies: Array<{ status: 429 | 503; retryAfter: boolean }> = [{ status: 429, retryAfter: true }];
  let limitTurn = 0;
  let eventSeq = 0;
  let ctxRef: SandboxContext | undefined;
  let closed = false;
  const pending = new Set<Promise<void>>();
  const base = `/control/marketplacer/${opts.channel}`;
  const record = (r: MarketplacerDeliveryRecord) => {
    deliveries.push(r);
    if (deliveries.length > 100_000) deliveries.splice(0, deliveries.length - 100_000);
  };

  // ---- views (what resolvers return) -------------------------------------------------------------------
  const page = <T>(items: T[], first = 50, after?: string | null) => {
    const start = after ? Number(Buffer.from(after, 'base64').toString()) || 0 : 0;
    const size = Math.max(0, Math.min(first, 500));
    const slice = items.slice(start, start + size);
    const end = start + slice.length;
    return {
      nodes: slice,
      edges: slice.map((node, i) => ({ cursor: Buffer.from(String(start + i + 1)).toString('base64'), node })),
      totalCount: items.length,
      pageInfo: {
        hasNextPage: end < items.length,
        hasPreviousPage: start > 0,
        startCursor: slice.length ? Buffer.from(String(start)).toString('base64') : null,
        endCursor: slice.length ? Buffer.from(String(end)).toString('base64') : null,
      },
    };
  };
  const addressView = (a: SimAddress | undefined) =>
    a
      ? {
          address: a.address ?? null,
          address2: a.address2 ?? null,
          city: a.city ?? null,
          state: a.stateShort ? { short: a.stateShort, name: a.stateShort } : null,
          postcode: a.postcode ?? null,
          country: a.countryCode || a.countryName ? { code: a.countryCode ?? null, name: a.countryName ?? null } : null,
        }
      : null;
  const lineStatus = (l: SimLineItem) =>
    l.cancelled >= l.quantity
      ? 'CANCELLED'
      : l.shipped > 0 && l.shipped >= l.quantity - l.cancelled
        ? 'SENT'
        : l.shipped > 0
          ? 'PARTIALLY_SENT'
          : 'PAID';
  const lineView = (l: SimLineItem): Record<string, unknown> => ({
    __typename: 'LineItem',
    id: globalId('LineItem', l.legacyId),
    legacyId: l.legacyId,
    variantId: l.variantLegacyId !== undefined ? globalId('Variant', l.variantLegacyId) : null,
    variantSku: l.sku,
    variantBarcode: l.barcode ?? null,
    variantName: l.name,
    quantity: l.quantity,
    status: lineStatus(l),
    unitPriceCents: l.unitPriceCents,
    totalCents: l.unitPriceCents * l.quantity,
    taxCents: l.taxCents,
  });
  const carrierView = (legacyId: number) => {
    const c = store.carriers.find((x) => x.legacyId === legacyId);
    return c
      ? { __typename: 'ShipmentCarrier', id: globalId('ShipmentCarrier', c.legacyId), legacyId, name: c.name }
      : null;
  };
  const shipmentView = (inv: SimInvoice, s: SimShipment): Record<string, unknown> => {
    const carrier = carrierView(s.carrierLegacyId);
    return {
      __typename: 'Shipment',
      id: globalId('Shipment', s.legacyId),
      legacyId: s.legacyId,
      carrier: carrier?.name ?? null,
      postageCarrier: carrier,
      trackingNumber: s.trackingNumber,
      // Marketplacer builds the link itself from the carrier.
      trackingLink: `https://track.example/${encodeURIComponent(carrier?.name ?? 'carrier')}/${encodeURIComponent(s.trackingNumber)}`,
      dispatchedAt: s.dispatchedAt,
      note: s.note ?? null,
      shippedItems: s.items.map((i) => ({
        __typename: 'ShippedItem',
        id: globalId('ShippedItem', i.legacyId),
        quantity: i.quantity,
        lineItem: lineView(inv.lines.find((l) => l.legacyId === i.lineItemLegacyId)!),
      })),
    };
  };
  const refundRequestView = (rr: SimRefundRequest): Record<string, unknown> => {
    const inv = store.invoices.get(rr.invoiceLegacyId)!;
    return {
      __typename: 'RefundRequest',
      id: globalId('RefundRequest', rr.legacyId),
      legacyId: rr.legacyId,
      status: rr.status,
      createdAt: rr.createdAt,
      updatedAt: rr.updatedAt,
      invoice: () => invoiceView(inv),
      notes: rr.notes.map((note) => ({ note })),
      externalIds: rr.externalIds,
      lineItems: rr.lines.map((l) => {
        const line = inv.lines.find((x) => x.legacyId === l.lineItemLegacyId);
        return {
          __typename: 'RefundRequestLineItem',
          id: globalId('RefundRequestLineItem', l.legacyId),
          legacyId: l.legacyId,
          status: l.status,
          quantity: l.quantity,
          reason: l.reason ?? null,
          custom: l.custom ?? null,
          dispatched: l.dispatched ?? null,
          lineItem: line ? lineView(line) : null,
          amountCents: l.amountPerItemCents * l.quantity,
          amountPerItemCents: l.amountPerItemCents,
        };
      }),
    };
  };
  const invoiceView = (inv: SimInvoice): Record<string, unknown> => {
    const subtotal = inv.lines.reduce((s, l) => s + l.unitPriceCents * l.quantity, 0);
    return {
      __typename: 'Invoice',
      id: globalId('Invoice', inv.legacyId),
      legacyId: inv.legacyId,
      createdAt: inv.createdAt,
      updatedAt: inv.updatedAt,
      paidAt: inv.paidAt ?? null,
      statusFlags: [...inv.flags],
      buyerFirstName: inv.buyer.firstName ?? null,
      buyerSurname: inv.buyer.surname ?? null,
      buyerEmailAddress: inv.buyer.email ?? null,
      buyerPhone: inv.buyer.phone ?? null,
      buyerMessageToSeller: inv.messageToSeller ?? null,
      shippingAddress: addressView(inv.shippingAddress),
      buyerBillingAddress: addressView(inv.billingAddress),
      seller: {
        __typename: 'Seller',
        id: globalId('Seller', sellerId),
        legacyId: sellerId,
        businessName: opts.seller ?? 'Loopline Demo Ltd',
      },
      lineItems: () => inv.lines.map(lineView),
      shipments: () => inv.shipments.map((s) => shipmentView(inv, s)),
      refundRequests: () => inv.refundRequestIds.map((id) => refundRequestView(store.refundRequests.get(id)!)),
      metadata: inv.metadata.map((m) => ({ key: m.key, value: m.value })),
      postageCents: inv.postageCents,
      subtotalCents: subtotal,
      totalCents: subtotal + inv.postageCents,
    };
  };
  const variantView = (v: SimVariant): Record<string, unknown> => ({
    __typename: 'Variant',
    id: globalId('Variant', v.legacyId),
    legacyId: v.legacyId,
    sku: v.sku,
    barcode: v.barcode ?? null,
    countOnHand: v.countOnHand,
    infiniteQuantity: false,
    advert: () => advertView(v.advertLegacyId),
  });
  const advertView = (legacyId: number): Record<string, unknown> | null => {
    const a = store.adverts.get(legacyId);
    if (!a) return null;
    return {
      __typename: 'Advert',
      id: globalId('Advert', a.legacyId),
      legacyId: a.legacyId,
      title: a.title,
      variants: ({ first, after }: { first?: number; after?: string }) =>
        page(
          a.variantIds.map((id) => variantView(store.variants.get(id)!)),
          first ?? 50,
          after,
        ),
    };
  };
  const nodeView = (id: string): Record<string, unknown> | null => {
    const g = parseGlobalId(id);
    if (!g) return null;
    switch (g.type) {
      case 'Invoice': {
        const inv = store.invoices.get(g.legacyId);
        return inv ? invoiceView(inv) : null;
      }
      case 'Variant': {
        const v = store.variants.get(g.legacyId);
        return v ? variantView(v) : null;
      }
      case 'Advert':
        return advertView(g.legacyId);
      case 'RefundRequest': {
        const rr = store.refundRequests.get(g.legacyId);
        return rr ? refundRequestView(rr) : null;
      }
      case 'ShipmentCarrier':
        return carrierView(g.legacyId);
      default:
        return null;
    }
  };

  // ---- webhooks ---------------------------------------------------------------------------------------
  /** What an event's body carries: the node as a webhook's default query shapes it (id and a few fields). */
  const eventNode = (type: WebhookType, nodeId: string): Record<string, unknown> => {
    const g = parseGlobalId(nodeId);
    if (type === 'INVOICE') {
      const inv = g ? store.invoices.get(g.legacyId) : undefined;
      return {
        __typename: 'Invoice',
        id: nodeId,
        ...(inv ? { legacyId: inv.legacyId, statusFlags: inv.flags, updatedAt: inv.updatedAt } : {}),
      };
    }
    if (type === 'VARIANT') {
      const v = g ? store.variants.get(g.legacyId) : undefined;
      return {
        __typename: 'Variant',
        id: nodeId,
        ...(v ? { legacyId: v.legacyId, sku: v.sku, countOnHand: v.countOnHand } : {}),
      };
    }
    const rr = g ? store.refundRequests.get(g.legacyId) : undefined;
    return {
      __typename: 'RefundRequest',
      id: nodeId,
      ...(rr
        ? { legacyId: rr.legacyId, status: rr.status, invoice: { id: globalId('Invoice', rr.invoiceLegacyId) } }
        : {}),
    };
  };

  function emit(type: WebhookType, eventName: 'create' | 'update' | 'destroy', nodeId: string): void {
    for (const hook of webhooks.filter((w) => w.type === type)) {
      eventSeq += 1;
      hook.sequence += 1;
      const eventId = globalId('WebhookEvent', eventSeq);
      const body = JSON.stringify({
        id: eventId,
        event_name: eventName,
        payload: { data: { node: eventNode(type, nodeId) } },
      });
      const ev: PendingEvent = { hook, eventId, sequence: hook.sequence, eventName, nodeId, body };
      if (!hook.enabled) {
        record({ ...recordOf(ev), attempt: 0, status: 0, outcome: 'not-sent', at: Date.now() });
        continue;
      }
      if ((policy.dropNext[type] ?? 0) > 0) {
        policy.dropNext[type]! -= 1;
        record({ ...recordOf(ev), attempt: 0, status: 0, outcome: 'dropped', at: Date.now() });
        continue;
      }
      if (policy.reorderNext > 0) {
        policy.reorderNext -= 1;
        held.push(ev);
        const flush = () => {
          clearTimeout(heldTimer);
          heldTimer = undefined;
          const batch = held.reverse();
          held = [];
          // Newest first, a moment apart, as a real backlog drains.
          batch.forEach((e, i) => schedule(e, i * 150));
        };
        if (policy.reorderNext === 0) flush();
        else heldTimer ??= setTimeout(flush, 2_000);
        continue;
      }
      let extra = 0;
      if (policy.lateNext > 0) {
        policy.lateNext -= 1;
        extra = policy.lateMs;
      }
      schedule(ev, extra);
    }
  }

  const recordOf = (ev: PendingEvent) => ({
    webhookId: ev.hook.id,
    eventId: ev.eventId,
    sequence: ev.sequence,
    idempotencyKey: `${opts.channel}:${ev.sequence}`,
    type: ev.hook.type,
    eventName: ev.eventName,
    nodeId: ev.nodeId,
  });

  function schedule(ev: PendingEvent, extraDelayMs: number): void {
    let copies = 1;
    if (policy.duplicateNext > 0) {
      policy.duplicateNext -= 1;
      copies = 2;
    } else if (policy.duplicateProbability > 0 && Math.random() < policy.duplicateProbability) copies = 2;
    for (let c = 0; c < copies; c++) {
      const p = deliver(ev, extraDelayMs + c * 40).finally(() => pending.delete(p));
      pending.add(p);
    }
  }

  async function deliver(ev: PendingEvent, extraDelayMs: number): Promise<void> {
    const scale = ctxRef?.timeScale ?? 1;
    const wait = policy.delayMs + extraDelayMs;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const hook = ev.hook;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'User-Agent': USER_AGENT,
      'Marketplacer-Sequence': String(ev.sequence),
      'Marketplacer-Vertical': opts.channel,
      'Idempotency-Key': `${opts.channel}:${ev.sequence}`,
    };
    if (hook.hmacKey)
      headers['Marketplacer-Hmac-256'] = createHmac('sha256', hook.hmacKey).update(ev.body, 'utf8').digest('base64');
    // 25 tries over about 30 days by default: a minute at first, doubling (time-scaled here).
    for (let attempt = 1; attempt <= hook.retryLimit + 1 && !closed; attempt++) {
      if (!hook.enabled) {
        record({ ...recordOf(ev), attempt, status: 0, outcome: 'not-sent', at: Date.now() });
        return;
      }
      let status: number;
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          body: ev.body,
          headers,
          redirect: 'manual',
          signal: AbortSignal.timeout(Math.max(2_000, 30_000 / scale)),
        });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = 0;
      }
      ctxRef?.calls.add({ system: 'marketplacer-webhook', endpoint: hook.type, tenant: opts.channel, status });
      if (status >= 200 && status < 300) {
        record({ ...recordOf(ev), attempt, status, outcome: 'delivered', at: Date.now() });
        return;
      }
      if (status >= 300 && status < 500 && status !== 429) {
        // A redirect, or a client error other than 429: the delivery failed and the webhook is disabled.
        hook.enabled = false;
        hook.disabledReason = `HTTP ${status} to event ${ev.eventId}`;
        record({ ...recordOf(ev), attempt, status, outcome: 'disabled', at: Date.now() });
        return;
      }
      const last = attempt > hook.retryLimit;
      record({ ...recordOf(ev), attempt, status, outcome: last ? 'failed' : 'retrying', at: Date.now() });
      if (last) return;
      await new Promise((r) => setTimeout(r, Math.max(20, (60_000 * 2 ** (attempt - 1)) / scale)));
    }
  }

  // ---- resolvers ----------------------------------------------------------------------------------------
  type Payload = { errors: Array<{ field: string | null; messages: string[] }> | null; status: number };
  /** A business error as Marketplacer answers it: HTTP 200, `errors` on the payload; a missing object is top-level. */
  const refuse = (err: unknown): Payload => {
    if (err instanceof MarketplacerStoreError && err.field !== undefined) {
      return { errors: [{ field: err.field, messages: [err.message] }], status: 422 };
    }
    throw err;
  };
  const idOf = (id: string | null | undefined, type: string, what: string): number => {
    const g = id ? parseGlobalId(id) : undefined;
    if (!g || g.type !== type) throw new MarketplacerStoreError(`No object found for ${what}: ${id ?? '(none)'}`);
    return g.legacyId;
  };

  interface InvoiceFilters {
    createdSince?: string;
    createdUntil?: string;
    updatedSince?: string;
    updatedUntil?: string;
    paidSince?: string;
    paidUntil?: string;
    statuses?: string[];
    buyerEmailAddress?: string;
    legacyId?: number;
    notDispatched?: boolean;
  }
  const t = (s: string | undefined) => (s === undefined ? undefined : Date.parse(s));
  const matches = (inv: SimInvoice, f: InvoiceFilters | undefined): boolean => {
    if (!f) return true;
    const created = Date.parse(inv.createdAt);
    const updated = Date.parse(inv.updatedAt);
    const paid = inv.paidAt ? Date.parse(inv.paidAt) : undefined;
    const within = (v: number | undefined, since?: string, until?: string) =>
      (since === undefined || (v !== undefined && v >= t(since)!)) &&
      (until === undefined || (v !== undefined && v <= t(until)!));
    if (!within(created, f.createdSince, f.createdUntil)) return false;
    if (!within(updated, f.updatedSince, f.updatedUntil)) return false;
    if ((f.paidSince || f.paidUntil) && !within(paid, f.paidSince, f.paidUntil)) return false;
    if (f.legacyId !== undefined && inv.legacyId !== f.legacyId) return false;
    if (f.buyerEmailAddress !== undefined && inv.buyer.email !== f.buyerEmailAddress) return false;
    if (f.statuses?.length && !inv.flags.some((x) => f.statuses!.includes(x))) return false;
    if (f.notDispatched && !inv.lines.some((l) => store.remaining(inv, l) > 0)) return false;
    return true;
  };

  const rootValue = {
    invoices: (args: {
      first?: number;
      after?: string;
      filters?: InvoiceFilters;
      sort?: { fields?: string[]; ordering?: string };
    }) => {
      const field = args.sort?.fields?.[0] === 'PAID_AT' ? 'paidAt' : 'createdAt';
      const desc = args.sort?.ordering === 'DESCENDING';
      const list = [...store.invoices.values()]
        .filter((inv) => matches(inv, args.filters))
        .sort((a, b) => {
          const d =
            Date.parse(a[field] ?? a.createdAt) - Date.parse(b[field] ?? b.createdAt) || a.legacyId - b.legacyId;
          return desc ? -d : d;
        });
      return page(list.map(invoiceView), args.first ?? 50, args.after);
    },
    node: ({ id }: { id: string }) => nodeView(id),
    nodes: ({ ids }: { ids: string[] }) => ids.map(nodeView),
    shipmentCarriers: ({ first, after }: { first?: number; after?: string }) =>
      page(
        store.carriers.map((c) => carrierView(c.legacyId)!),
        first ?? 50,
        after,
      ),
    refundRequests: ({
      first,
      after,
      filters,
    }: {
      first?: number;
      after?: string;
      filters?: { statuses?: string[] };
    }) =>
      page(
        [...store.refundRequests.values()]
          .filter((r) => !filters?.statuses?.length || filters.statuses.includes(r.status))
          .map(refundRequestView),
        first ?? 50,
        after,
      ),
    adverts: ({ first, after }: { first?: number; after?: string }) =>
      page(
        [...store.adverts.keys()].map((id) => advertView(id)!),
        first ?? 50,
        after,
      ),

    shipmentCreate: ({
      input,
    }: {
      input: {
        clientMutationId?: string;
        invoiceId: string;
        shippedItems: Array<{ lineItemId: string; quantity: number }>;
        postageCarrierId: string;
        dispatchedAt: string;
        trackingNumber: string;
        note?: string;
      };
    }) => {
      const invoiceLegacyId = idOf(input.invoiceId, 'Invoice', 'invoiceId');
      try {
        const carrier = parseGlobalId(input.postageCarrierId);
        if (!carrier || carrier.type !== 'ShipmentCarrier')
          throw new MarketplacerStoreError('Postage carrier could not be found', 'postageCarrierId');
        const items = input.shippedItems.map((i) => {
          const g = parseGlobalId(i.lineItemId);
          if (!g || g.type !== 'LineItem')
            throw new MarketplacerStoreError('Line item could not be found', 'shippedItems');
          return { lineItemLegacyId: g.legacyId, quantity: i.quantity };
        });
        const s = store.createShipment({
          invoiceLegacyId,
          carrierLegacyId: carrier.legacyId,
          trackingNumber: input.trackingNumber,
          dispatchedAt: input.dispatchedAt,
          note: input.note,
          items,
        });
        const inv = store.invoice(invoiceLegacyId);
        emit('INVOICE', 'update', globalId('Invoice', inv.legacyId));
        return {
          clientMutationId: input.clientMutationId ?? null,
          errors: null,
          status: 200,
          shipment: shipmentView(inv, s),
        };
      } catch (err) {
        return { clientMutationId: input.clientMutationId ?? null, shipment: null, ...refuse(err) };
      }
    },

    variantUpdate: ({
      input,
    }: {
      input: { clientMutationId?: string; variantId?: string; attributes: { countOnHand?: number | null } };
    }) => {
      const legacyId = idOf(input.variantId, 'Variant', 'variantId');
      try {
        const v = store.variants.get(legacyId);
        if (!v) throw new MarketplacerStoreError(`No object found for variantId: ${input.variantId}`);
        let shown = v.countOnHand;
        if (input.attributes.countOnHand !== undefined && input.attributes.countOnHand !== null) {
          const r = store.updateCount(legacyId, input.attributes.countOnHand);
          shown = r.shown;
          if (r.applied) emit('VARIANT', 'update', globalId('Variant', legacyId));
        }
        // Accepted: the answer shows the count asked for, whether or not it reached the marketplace.
        return {
          clientMutationId: input.clientMutationId ?? null,
          errors: null,
          status: 200,
          variant: { ...variantView(v), countOnHand: shown },
        };
      } catch (err) {
        return { clientMutationId: input.clientMutationId ?? null, variant: null, ...refuse(err) };
      }
    },

    refundRequestCreate: ({
      input,
    }: {
      input: {
        clientMutationId?: string;
        invoiceId: string;
        lineItems: Array<{
          lineItemId?: string | null;
          custom?: string | null;
          amountPerItemCents?: number | null;
          reason?: string | null;
          quantity: number;
          dispatched?: boolean | null;
        }>;
        notes: Array<{ note: string }>;
        initiator?: string;
        externalIds?: Array<{ key: string; value: string }>;
      };
    }) => {
      const invoiceLegacyId = idOf(input.invoiceId, 'Invoice', 'invoiceId');
      try {
        const lines = input.lineItems.map((l) => {
          let lineItemLegacyId: number | undefined;
          if (l.lineItemId) {
            const g = parseGlobalId(l.lineItemId);
            if (!g || g.type !== 'LineItem')
              throw new MarketplacerStoreError('Line item could not be found', 'lineItems');
            lineItemLegacyId = g.legacyId;
          }
          return {
            lineItemLegacyId,
            custom: l.custom ?? undefined,
            amountPerItemCents: l.amountPerItemCents ?? undefined,
            reason: l.reason ?? undefined,
            quantity: l.quantity,
            dispatched: l.dispatched ?? undefined,
          };
        });
        const rr = store.createRefundRequest({
          invoiceLegacyId,
          initiator: input.initiator,
          notes: input.notes.map((n) => n.note),
          externalIds: input.externalIds,
          lines,
        });
        emit('REFUND_REQUEST', 'create', globalId('RefundRequest', rr.legacyId));
        emit('INVOICE', 'update', globalId('Invoice', invoiceLegacyId));
        return {
          clientMutationId: input.clientMutationId ?? null,
          errors: null,
          status: 200,
          refundRequest: refundRequestView(rr),
        };
      } catch (err) {
        return { clientMutationId: input.clientMutationId ?? null, refundRequest: null, ...refuse(err) };
      }
    },
  };

  // ---- HTTP ---------------------------------------------------------------------------------------------
  const apiKeyOf = (req: FastifyRequest): string | undefined => {
    const header = req.headers['marketplacer-api-key'];
    if (typeof header === 'string' && header.length > 0) return header;
    const auth = req.headers.authorization;
    if (!opts.basicAuth && typeof auth === 'string' && /^Bearer /i.test(auth)) return auth.slice(7).trim();
    return undefined;
  };

  return {
    name: `marketplacer:${opts.channel}`,
    store,
    deliveries,
    register(app: FastifyInstance, ctx: SandboxContext) {
      ctxRef = ctx;
      app.addHook('onClose', async () => {
        closed = true;
        clearTimeout(heldTimer);
        await Promise.allSettled([...pending]);
      });
      // Windows shrink by the sandbox time scale (ctx.rateLimits), as every simulator's limits do.
      const limits = {
        perKey: opts.limits?.perKey ?? 750,
        perAddress: opts.limits?.perAddress ?? 600,
        perOperator: opts.limits?.perOperator ?? 1200,
      };

      app.post(`/marketplacer/${opts.channel}/graphql`, async (req, reply) => {
        const log = (endpoint: string, status: number, extra: { fault?: string; rateLimited?: boolean } = {}) =>
          ctx.calls.add({ system: 'marketplacer', endpoint, tenant: opts.channel, status, ...extra });
        if (opts.basicAuth) {
          const expected = `Basic ${Buffer.from(opts.basicAuth).toString('base64')}`;
          if (req.headers.authorization !== expected) {
            log('graphql', 401);
            return reply.code(401).send({ errors: [{ message: 'Unauthorized' }] });
          }
        }
        const key = apiKeyOf(req);
        if (key !== opts.apiKey) {
          log('graphql', 401);
          return reply.code(401).send({ errors: [{ message: 'API Token has expired' }] });
        }
        if (ctx.enforceRateLimits) {
          const over = [
            ctx.rateLimits.take(`marketplacer:${opts.channel}:key:${key}`, limits.perKey, WINDOW_MS),
            ctx.rateLimits.take(`marketplacer:${opts.channel}:ip:${req.ip}`, limits.perAddress, WINDOW_MS),
            ctx.rateLimits.take(`marketplacer:${opts.channel}:operator`, limits.perOperator, WINDOW_MS),
          ].find((r) => !r.ok);
          if (over && !over.ok) {
            const how = limitReplies[limitTurn++ % limitReplies.length]!;
            log('graphql', how.status, { rateLimited: true });
            if (how.retryAfter) reply.header('Retry-After', String(over.retryAfterSeconds));
            return reply.code(how.status).send({ errors: [{ message: 'Too Many Requests' }] });
          }
        }
        const body = req.body as { query?: unknown; variables?: unknown; operationName?: unknown } | undefined;
        if (!body || typeof body.query !== 'string') {
          log('graphql', 400);
          return reply.code(400).send({ errors: [{ message: 'No query string was present' }] });
        }
        let doc: DocumentNode;
        try {
          doc = parse(body.query);
        } catch (err) {
          log('graphql', 200);
          return { errors: [{ message: (err as Error).message }] };
        }
        const problems = validate(schema, doc);
        if (problems.length > 0) {
          log('graphql', 200);
          return { errors: problems.map((e) => ({ message: e.message, locations: e.locations })) };
        }
        const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
        const op =
          typeof body.operationName === 'string' ? ops.find((o) => o.name?.value === body.operationName) : ops[0];
        if (!op) return { errors: [{ message: 'No operation' }] };
        const first = op.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
        const endpoint = first && first.kind === Kind.FIELD ? first.name.value : 'graphql';
        const vars = (body.variables && typeof body.variables === 'object' ? body.variables : {}) as Record<
          string,
          unknown
        >;
        const fault = await withFault(
          ctx.faults('marketplacer'),
          endpoint,
          reply,
          async () => {
            const result = await execute({
              schema,
              document: doc,
              rootValue,
              variableValues: vars,
              operationName: op.name?.value,
            });
            const errors = result.errors?.map((e) => ({ message: e.message, path: e.path, locations: e.locations }));
            return {
              status: 200,
              body: { ...(result.data ? { data: result.data } : {}), ...(errors?.length ? { errors } : {}) },
            };
          },
          opts.channel,
        );
        log(endpoint, fault ? 0 : 200, fault ? { fault } : {});
        return reply;
      });

      // ---- control API ----------------------------------------------------------------------------------
      const sendError = (reply: FastifyReply, err: unknown) => {
        if (err instanceof MarketplacerStoreError || err instanceof z.ZodError) {
          return reply.code(400).send({ message: err instanceof z.ZodError ? z.prettifyError(err) : err.message });
        }
        throw err;
      };
      const invoiceByRef = (ref: string): SimInvoice | undefined => {
        if (/^\d+$/.test(ref)) return store.invoices.get(Number(ref));
        const g = parseGlobalId(ref);
        return g?.type === 'Invoice' ? store.invoices.get(g.legacyId) : undefined;
      };
      const dump = (inv: SimInvoice) => ({
        ...(invoiceView(inv) as object),
        lineItems: inv.lines.map((l) => ({ ...lineView(l), shipped: l.shipped, cancelled: l.cancelled })),
        shipments: inv.shipments.map((s) => ({ ...shipmentView(inv, s), createdAt: s.createdAt })),
        refundRequests: inv.refundRequestIds.map((id) => {
          const rr = store.refundRequests.get(id)!;
          return { ...refundRequestView(rr), invoice: undefined, initiator: rr.initiator };
        }),
      });
      const Address = z
        .object({
          address: z.string().optional(),
          address2: z.string().optional(),
          city: z.string().optional(),
          stateShort: z.string().optional(),
          postcode: z.string().optional(),
          countryCode: z.string().optional(),
          countryName: z.string().optional(),
        })
        .strict();
      const PlaceBody = z
        .object({
          legacyId: z.number().int().positive().optional(),
          createdAt: z.string().optional(),
          underReview: z.boolean().optional(),
          lines: z
            .array(
              z
                .object({
                  sku: z.string().min(1),
                  quantity: z.number().int(),
                  unitPriceCents: z.number().int().optional(),
                  taxCents: z.number().int().optional(),
                  name: z.string().optional(),
                })
                .strict(),
            )
            .min(1),
          buyer: z
            .object({
              firstName: z.string().optional(),
              surname: z.string().optional(),
              email: z.string().optional(),
              phone: z.string().optional(),
            })
            .strict()
            .optional(),
          messageToSeller: z.string().optional(),
          shippingAddress: Address.optional(),
          billingAddress: Address.optional(),
          metadata: z.array(z.object({ key: z.string().min(1), value: z.string() }).strict()).optional(),
          postageCents: z.number().int().optional(),
          ignoreStock: z.boolean().optional(),
        })
        .strict();

      app.post(`${base}/invoices`, async (req, reply) => {
        try {
          const spec = PlaceBody.parse(req.body ?? {}) as PlaceInvoiceSpec;
          const inv = store.placeInvoice(spec);
          emit('INVOICE', 'create', globalId('Invoice', inv.legacyId));
          for (const l of inv.lines)
            if (l.variantLegacyId !== undefined) emit('VARIANT', 'update', globalId('Variant', l.variantLegacyId));
          return {
            invoiceId: globalId('Invoice', inv.legacyId),
            legacyId: inv.legacyId,
            lineItems: inv.lines.map((l) => ({
              id: globalId('LineItem', l.legacyId),
              sku: l.sku,
              quantity: l.quantity,
            })),
          };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.get(`${base}/invoices`, async () => ({ invoices: [...store.invoices.values()].map(dump) }));
      app.get(`${base}/invoices/:ref`, async (req, reply) => {
        const inv = invoiceByRef((req.params as { ref: string }).ref);
        return inv ? dump(inv) : reply.code(404).send({ message: 'no such invoice' });
      });
      app.post(`${base}/invoices/:ref/paid`, async (req, reply) => {
        const inv = invoiceByRef((req.params as { ref: string }).ref);
        if (!inv) return reply.code(404).send({ message: 'no such invoice' });
        store.markPaid(inv.legacyId);
        emit('INVOICE', 'update', globalId('Invoice', inv.legacyId));
        return dump(inv);
      });
      app.post(`${base}/invoices/:ref/cancel`, async (req, reply) => {
        const inv = invoiceByRef((req.params as { ref: string }).ref);
        if (!inv) return reply.code(404).send({ message: 'no such invoice' });
        try {
          const b = z
            .object({
              lines: z
                .array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() }).strict())
                .optional(),
            })
            .strict()
            .parse(req.body ?? {});
          const lines = b.lines?.map((l) => {
            const line = inv.lines.find((x) => x.sku === l.sku);
            if (!line) throw new MarketplacerStoreError(`No line item with SKU ${l.sku}`, 'lines');
            return { lineItemLegacyId: line.legacyId, quantity: l.quantity };
          });
          const rr = store.cancelLines(inv.legacyId, lines);
          emit('REFUND_REQUEST', 'create', globalId('RefundRequest', rr.legacyId));
          emit('INVOICE', 'update', globalId('Invoice', inv.legacyId));
          return dump(inv);
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.get(`${base}/refund-requests`, async () => ({
        refundRequests: [...store.refundRequests.values()].map((rr) => ({
          ...rr,
          id: globalId('RefundRequest', rr.legacyId),
        })),
      }));
      app.post(`${base}/refund-requests/:ref/refund`, async (req, reply) => {
        const ref = (req.params as { ref: string }).ref;
        const g = /^\d+$/.test(ref) ? { type: 'RefundRequest', legacyId: Number(ref) } : parseGlobalId(ref);
        try {
          if (!g || g.type !== 'RefundRequest') throw new MarketplacerStoreError('no such refund request', 'ref');
          const rr = store.refundRequest(g.legacyId);
          emit('REFUND_REQUEST', 'update', globalId('RefundRequest', rr.legacyId));
          emit('INVOICE', 'update', globalId('Invoice', rr.invoiceLegacyId));
          return { ...rr, id: globalId('RefundRequest', rr.legacyId) };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.get(`${base}/variants`, async (req) => {
        const q = req.query as { sku?: string };
        return {
          variants: [...store.variants.values()]
            .filter((v) => q.sku === undefined || v.sku === q.sku)
            .map((v) => ({ ...v, id: globalId('Variant', v.legacyId) })),
        };
      });
      app.post(`${base}/variants`, async (req, reply) => {
        try {
          const b = z
            .object({
              sku: z.string().min(1).nullable(),
              countOnHand: z.number().int().min(0).default(0),
              priceCents: z.number().int().min(0).optional(),
              name: z.string().optional(),
            })
            .strict()
            .parse(req.body ?? {});
          const v = store.addVariant(undefined, b.sku, b.countOnHand, b.priceCents, b.name);
          return { ...v, id: globalId('Variant', v.legacyId) };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.get(`${base}/stock-history`, async (req) => {
        const q = req.query as { sku?: string; since?: string };
        const since = q.since ? Number(q.since) : 0;
        return {
          connectionActive: store.connectionActive,
          sales: store.sales,
          changes: store.stockHistory.filter((c) => (q.sku === undefined || c.sku === q.sku) && c.at >= since),
        };
      });
      app.put(`${base}/connection`, async (req, reply) => {
        try {
          const b = z
            .object({ active: z.boolean() })
            .strict()
            .parse(req.body ?? {});
          store.connectionActive = b.active;
          return { active: store.connectionActive };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.get(`${base}/carriers`, async () => ({
        carriers: store.carriers.map((c) => ({ id: globalId('ShipmentCarrier', c.legacyId), name: c.name })),
      }));
      app.put(`${base}/limits`, async (req, reply) => {
        try {
          const b = z
            .object({
              replies: z
                .array(
                  z.object({ status: z.union([z.literal(429), z.literal(503)]), retryAfter: z.boolean() }).strict(),
                )
                .min(1),
            })
            .strict()
            .parse(req.body ?? {});
          limitReplies = b.replies;
          limitTurn = 0;
          return { replies: limitReplies };
        } catch (err) {
          return sendError(reply, err);
        }
      });

      // Webhooks: what an operator (or seller) sets up in the portal, and how deliveries behave.
      app.get(`${base}/webhooks`, async () => ({ webhooks, deliveries, policy }));
      app.post(`${base}/webhooks`, async (req, reply) => {
        try {
          const b = z
            .object({
              type: z.enum(WEBHOOK_TYPES as unknown as [WebhookType, ...WebhookType[]]),
              url: z.url(),
              hmacKey: z.string().min(1).optional(),
              retryLimit: z.number().int().min(0).max(50).default(25),
            })
            .strict()
            .parse(req.body ?? {});
          const hook: SimWebhook = { id: store.next(), ...b, enabled: true, sequence: 0 };
          webhooks.push(hook);
          return hook;
        } catch (err) {
          return sendError(reply, err);
        }
      });
      app.put(`${base}/webhooks/:id`, async (req, reply) => {
        const hook = webhooks.find((w) => w.id === Number((req.params as { id: string }).id));
        if (!hook) return reply.code(404).send({ message: 'no such webhook' });
        try {
          const b = z
            .object({ enabled: z.boolean() })
            .strict()
            .parse(req.body ?? {});
          hook.enabled = b.enabled;
          if (b.enabled) hook.disabledReason = undefined;
          return hook;
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
              reorderNext: z.number().int().min(0).optional(),
              delayMs: z.number().int().min(0).optional(),
              lateNext: z.number().int().min(0).optional(),
              lateMs: z.number().int().min(0).optional(),
              dropNext: z.record(z.string(), z.number().int().min(0)).optional(),
            })
            .strict()
            .parse(req.body ?? {});
          Object.assign(policy, Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)));
          return { ...policy };
        } catch (err) {
          return sendError(reply, err);
        }
      });
      /** An event about any node id (one Loopline never saw, another seller's…), as Marketplacer might send it. */
      app.post(`${base}/webhooks/emit`, async (req, reply) => {
        try {
          const b = z
            .object({
              type: z.enum(WEBHOOK_TYPES as unknown as [WebhookType, ...WebhookType[]]),
              nodeId: z.string().min(1),
              eventName: z.enum(['create', 'update', 'destroy']).default('update'),
            })
            .strict()
            .parse(req.body ?? {});
          emit(b.type, b.eventName, b.nodeId);
          return { ok: true };
        } catch (err) {
          return sendError(reply, err);
        }
      });
    },
  };
}
