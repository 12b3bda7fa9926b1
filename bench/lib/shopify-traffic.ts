// Order traffic through the Shopify route (docs/shopify.md), for the benchmark (bench/orders.ts): place ASOS
// orders on Mirakl on a stack whose ASOS channel has `fulfilment: shopify` (test/support/stack.ts with
// `shopify: true`), wait for each to appear in the Shopify simulator, fulfil it there through the
// simulator's control API (whole; part then the rest once ASOS shows the part; or two fulfilments back to
// back) and wait until ASOS shows it SHIPPED. The run is judged on what the simulators hold, never on
// Loopline's word:
//   lost                     an order placed on Mirakl that is not SHIPPED there with every line confirmed
//                            for its quantity and every Shopify fulfilment confirmed
//   duplicate Shopify order  more than one Shopify order carrying the Mirakl order id (sourceIdentifier),
//                            or one carrying more line items or units than the Mirakl order
//   duplicate confirmation   a line confirmed for more than was ordered, a fulfilment confirmed in more than
//                            one ST01 shipment, or a shipment no Shopify fulfilment of the order accounts for
// Timings come from the simulators' own timestamps (Mirakl created/accepted/shipped dates, Shopify order
// and fulfillment createdAt).
//
// Faults: the shared injector (`/control/faults/<system>`) with bench/lib/traffic.ts's rules (every kind,
// every endpoint) on Mirakl and on Shopify's Admin GraphQL API. The Shopify simulator does not consult the
// shared injector for its webhook deliveries, so this harness applies the injector of system
// `shopify-webhook` (set and read through the same control API) where the deliveries arrive, in front of
// Loopline's webhook route: 5xx/429/timeout = the delivery fails and Shopify retries it later (timeout: after
// holding it), lostResponse = Loopline handles it but Shopify never hears the answer and delivers it again.
// On top, the simulator's own at-least-once policy (`webhook-delivery`): some events delivered twice, and
// some fulfillments/create events never delivered (the workflow's reconciliation poll must find them).
import type { AxiosInstance } from 'axios';
import type { Client } from '@temporalio/client';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { seededRandom, type FaultInjector, type FaultKind } from '../../src/sandbox/core/faults';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import type { Config } from '../../src/config/schema';
import { orderWorkflowId } from '../../src/domain/keys';
import { SHOPIFY_WEBHOOK_PATH } from '../../src/http/shopify-webhooks';
import {
  faultRules,
  linesNotShipped,
  percentiles,
  type AuditFinding,
  type FaultProfile,
  type Percentiles,
} from './traffic';
import { inParallel } from './in-parallel';
import type { CallRecord } from '../../src/sandbox/core/call-log';
import { orderStateQuery } from '../../workflows/order/messages';

// ---- plans ----------------------------------------------------------------------------------------------
/** whole: one fulfilment of everything; partial: some units, then (once ASOS shows them) the rest; split: two fulfilments back to back. */
export type FulfilKind = 'whole' | 'partial' | 'split';

export interface FulfilCall {
  /** Absent: everything not yet fulfilled (the control API's default). */
  lines?: Array<{ sku: string; quantity: number }>;
  company: string;
  number: string;
}

export interface ShopifyOrderPlan {
  orderId: string;
  lines: Array<{ offerSku: string; quantity: number }>;
  kind: FulfilKind;
  calls: FulfilCall[];
}

const CARRIERS = ['DPD', 'Royal Mail'] as const;

/** Deterministic ASOS order plans: 1–3 lines of 1–3 units; a third of each fulfilment kind (whole if one unit). */
export function planShopifyOrders(n: number, idPrefix: string, seed = 7): ShopifyOrderPlan[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const skus = sandboxCatalogue().map((c) => c.sku);
  const plans: ShopifyOrderPlan[] = [];
  for (let i = 0; i < n; i++) {
    const orderId = `${idPrefix}-S${String(i + 1).padStart(5, '0')}-A`;
    const lineCount = 1 + Math.floor(rnd() * 3);
    const chosen = new Set<string>();
    while (chosen.size < lineCount) chosen.add(pick(skus));
    const lines = [...chosen].map((offerSku) => ({ offerSku, quantity: 1 + Math.floor(rnd() * 3) }));
    const units = lines.flatMap((l) => Array.from({ length: l.quantity }, () => l.offerSku));
    let kind: FulfilKind = pick(['whole', 'partial', 'split'] as const);
    if (units.length < 2) kind = 'whole';
    const call = (k: number, chunk?: string[]): FulfilCall => {
      const counts = new Map<string, number>();
      for (const sku of chunk ?? []) counts.set(sku, (counts.get(sku) ?? 0) + 1);
      return {
        ...(chunk ? { lines: [...counts].map(([sku, quantity]) => ({ sku, quantity })) } : {}),
        company: pick(CARRIERS),
        number: `${orderId}-F${k}`,
      };
    };
    let calls: FulfilCall[];
    if (kind === 'whole') calls = [call(1)];
    else {
      const cut = 1 + Math.floor(rnd() * (units.length - 1));
      // partial: the rest is "everything left" (no lines); split: both fulfilments name their lines.
      calls = [call(1, units.slice(0, cut)), kind === 'partial' ? call(2) : call(2, units.slice(cut))];
    }
    plans.push({ orderId, lines, kind, calls });
  }
  return plans;
}

// ---- sim views ------------------------------------------------------------------------------------------
interface MiraklView {
  order_id: string;
  order_state: string;
  created_date: string;
  acceptance_decision_date?: string;
  order_lines: Array<{
    order_line_id: string;
    offer_sku: string;
    order_line_state: string;
    quantity: number;
    shipped_date?: string;
    refunds?: Array<{ quantity?: number }>;
  }>;
  _sandbox: {
    shipMode: string | null;
    shipments: Array<{
      shipment_lines: Array<{ order_line_id: string; quantity: number; package_reference?: string }>;
      tracking?: { carrier_code?: string; tracking_number?: string };
    }>;
  };
}

interface ShopView {
  id: string;
  createdAt: string;
  sourceIdentifier?: string;
  lineItems: Array<{ id: number; sku?: string; quantity: number; fulfilled: number; refunded?: number }>;
  fulfillments: Array<{
    id: number;
    createdAt: string;
    tracking: { company?: string; number?: string };
    lines: Array<{ lineItemId: number; quantity: number }>;
  }>;
}

/** A call as the control API lists it (`/control/calls`). */
type CallView = CallRecord;

interface DeliveryView {
  eventId: string;
  topic: string;
  status: number;
  attempt: number;
}

// ---- the run --------------------------------------------------------------------------------------------
export interface ShopifyTrafficOptions {
  control: AxiosInstance;
  client: Client;
  config: Config;
  idPrefix: string;
  /** Loopline's HTTP server (the webhook deliveries arrive there); webhook faults are applied in front of it. */
  httpServer: Server;
  /** The injector of the webhook faults (the sandbox's `shopify-webhook` one, or the caller's own). */
  webhookInjector: FaultInjector;
  /** The Mirakl channel fulfilled by Shopify (default `asos`; multi-shipment, ST01). */
  channel?: string;
  orders: number;
  seed?: number;
  arrivalPerSecond?: number;
  /** Least time between the two fulfilments of a partial (default 1.5 s; the rest also waits for ASOS to show the part). */
  partialDelayMs?: number;
  faults?: FaultProfile | null;
  /**
   * Whether this harness sets the fault rules on Mirakl and Shopify (and clears them when it judges); false
   * when the caller owns them. The webhook faults and the at-least-once delivery policy are always its own.
   */
  installFaults?: boolean;
  /** Share of orders refunded in Shopify once SHIPPED (one unit of their first line; default 0). */
  refundShare?: number;
  /** How often Shopify is read for orders to fulfil (default 500 ms), and Mirakl for shipped ones (default 2 s). */
  fulfilPollMs?: number;
  shippedPollMs?: number;
  /** After every order is SHIPPED, wait this long before judging, so a late duplicate confirmation is seen. */
  settleMs: number;
  deadlineMs: number;
  log?: (line: string) => void;
}

export interface ShopifyTrafficReport {
  orders: number;
  byKind: Record<FulfilKind, number>;
  fulfilments: number;
  /** First order created on Mirakl → last order SHIPPED on Mirakl (sim timestamps). */
  seconds: number;
  /** When the first order was created and the last SHIPPED on Mirakl (epoch ms; 0 when none). */
  firstCreatedAt: number;
  lastShippedAt: number;
  ordersPerSec: number;
  ackLatencyMs: Percentiles;
  /** Order created on Mirakl → Shopify order created. */
  storeLatencyMs: Percentiles;
  /** Last Shopify fulfilment of an order → the order SHIPPED on Mirakl. */
  confirmLatencyMs: Percentiles;
  lost: AuditFinding[];
  duplicateShopifyOrders: AuditFinding[];
  duplicateConfirmations: AuditFinding[];
  /** Confirmed with the wrong tracking number, carrier, lines or ship mode. */
  wrongConfirmations: AuditFinding[];
  strays: AuditFinding[];
  /** Refunds made in Shopify, and how they reached the marketplace (OR28), per order line. */
  refunds: { requested: number; made: number; missing: AuditFinding[]; duplicate: AuditFinding[] };
  /** Order workflows whose state (query) is not SHIPPED when judged (the route keeps them open for the return window). */
  workflowsNotShipped: Array<{ workflowId: string; status: string; detail?: string }>;
  faultsFired: Record<string, Partial<Record<FaultKind, number>>>;
  faultsByEndpoint: Record<string, Record<string, number>>;
  webhooks: {
    events: number;
    deliveries: number;
    failedAttempts: number;
    /** Events delivered (2xx) more than once. */
    deliveredTwiceOrMore: number;
    /** Events the simulator dropped on purpose (never delivered). */
    dropped: Record<string, number>;
    injectedByTopic: Record<string, Record<string, number>>;
  };
  rateLimited: Record<string, number>;
  calls: Record<string, number>;
  harnessErrors: string[];
  timedOut: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const errText = (err: unknown) => {
  const e = err as { response?: { data?: { message?: string } }; message?: string };
  return e.response?.data?.message ?? e.message ?? String(err);
};

/** The shop's control path, from systems.shopify.baseUrl (`<sandbox>/shopify/<shop>`). */
export function shopControlPath(config: Config): string {
  const shop = config.systems.shopify;
  if (!shop) throw new Error('systems.shopify is not configured');
  const name = /\/shopify\/([^/]+)\/?$/.exec(new URL(shop.baseUrl).pathname)?.[1];
  if (!name) throw new Error(`no shop name in ${shop.baseUrl}`);
  return `/control/shopify/${name}`;
}

/**
 * Applies `injector` to the Shopify webhook deliveries reaching `server` (Loopline's HTTP server), before
 * Fastify sees them. Returns a function that removes it.
 */
function injectWebhookFaults(
  server: Server,
  injector: FaultInjector,
  counts: Record<string, Record<string, number>>,
): () => void {
  type Listener = (req: IncomingMessage, res: ServerResponse) => void;
  const original = server.listeners('request') as Listener[];
  const wrapped: Listener = (req, res) => {
    if (req.method === 'POST' && (req.url ?? '').split('?')[0] === SHOPIFY_WEBHOOK_PATH) {
      const topic = String(req.headers['x-shopify-topic'] ?? '');
      const fault = injector.decide(topic);
      if (fault) {
        counts[topic] ??= {};
        counts[topic][fault.kind] = (counts[topic][fault.kind] ?? 0) + 1;
        const answer = (status: number, headers: Record<string, string> = {}) => {
          if (!res.destroyed && !res.headersSent) {
            res.writeHead(status, { 'content-type': 'application/json', ...headers });
            res.end(JSON.stringify({ message: `injected ${fault.kind}` }));
          }
        };
        if (fault.kind === 'error5xx') {
          req.resume();
          return answer(503);
        }
        if (fault.kind === 'rateLimit429') {
          req.resume();
          return answer(429, { 'Retry-After': String(fault.retryAfterSeconds ?? 1) });
        }
        if (fault.kind === 'timeout') {
          req.resume();
          setTimeout(() => answer(504), fault.delayMs ?? 30_000);
          return;
        }
        // lostResponse: Loopline handles the delivery; the answer never reaches Shopify.
        const drop = (() => {
          req.socket.destroy();
          return res;
        }) as unknown as ServerResponse['end'];
        res.end = drop;
        res.write = drop as unknown as ServerResponse['write'];
      }
    }
    for (const l of original) l.call(server, req, res);
  };
  server.removeAllListeners('request');
  server.on('request', wrapped);
  return () => {
    server.removeListener('request', wrapped);
    for (const l of original) server.on('request', l);
  };
}

export async function runShopifyTraffic(opts: ShopifyTrafficOptions): Promise<ShopifyTrafficReport> {
  const { control, config } = opts;
  const log = opts.log ?? (() => undefined);
  const shop = shopControlPath(config);
  const channel = opts.channel ?? 'asos';
  const ch = config.channels.find((c) => c.code === channel);
  if (ch?.fulfilment !== 'shopify') throw new Error(`the ${channel} channel is not fulfilled by Shopify`);
  const plans = planShopifyOrders(opts.orders, opts.idPrefix, opts.seed ?? 7);
  const harnessErrors: string[] = [];
  const partialDelayMs = opts.partialDelayMs ?? 1_500;
  const rnd = seededRandom((opts.faults?.seed ?? 0) + 3);

  // Enough stock on both sides (Shopify is ASOS's stock master on this route); variant updates emit no webhook.
  const catalogue = sandboxCatalogue();
  for (const c of catalogue) {
    await control.post(`${shop}/variants`, { sku: c.sku, priceMinor: c.priceMinor, stock: 100_000 });
  }
  await control.put(`/control/mirakl/${channel}/offers`, {
    offers: catalogue.map((c) => ({ offerSku: c.sku, quantity: 100_000 })),
  });

  const webhookFaults: Record<string, Record<string, number>> = {};
  let removeWebhookFaults = () => undefined as void;
  const dropShare = opts.faults ? opts.faults.probability / 4 : 0;
  if (opts.faults) {
    const rules = faultRules(opts.faults);
    if (opts.installFaults !== false) {
      await control.put('/control/faults/mirakl', { seed: opts.faults.seed, rules });
      await control.put('/control/faults/shopify', { seed: opts.faults.seed + 1, rules });
    }
    opts.webhookInjector.set(rules, opts.faults.seed + 2);
    removeWebhookFaults = injectWebhookFaults(opts.httpServer, opts.webhookInjector, webhookFaults);
    await control.put(`${shop}/webhook-delivery`, { duplicateProbability: opts.faults.probability / 4 });
  }

  type Progress = {
    plan: ShopifyOrderPlan;
    ref?: string;
    nextCall: number;
    dueAt?: number;
    shipments: number;
    shipped: boolean;
    /** A refund is due once SHIPPED (refundShare); made once. */
    refund?: 'due' | 'made';
  };
  const refundRnd = seededRandom((opts.seed ?? 7) + 11);
  const progress = new Map<string, Progress>(
    plans.map((p) => [
      p.orderId,
      {
        plan: p,
        nextCall: 0,
        shipments: 0,
        shipped: false,
        ...(refundRnd() < (opts.refundShare ?? 0) ? { refund: 'due' } : {}),
      },
    ]),
  );
  const started = Date.now();
  const deadline = started + opts.deadlineMs;
  let stop = false;

  try {
    // 1. Place the orders on Mirakl (ASOS).
    const placing = (async () => {
      const rate = opts.arrivalPerSecond ?? 0;
      await inParallel(plans, rate > 0 ? 4 : 12, async (plan) => {
        const i = plans.indexOf(plan);
        if (rate > 0) {
          const due = started + (i * 1000) / rate;
          if (due > Date.now()) await sleep(due - Date.now());
        }
        for (let attempt = 0; ; attempt++) {
          try {
            await control.post(`/control/mirakl/${channel}/orders`, { orderId: plan.orderId, lines: plan.lines });
            return;
          } catch (err) {
            if (attempt >= 5) {
              harnessErrors.push(`placing ${plan.orderId}: ${errText(err)}`);
              return;
            }
            await sleep(200);
          }
        }
      });
      log(`shopify: placed ${plans.length} orders in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    })();

    // 2. Fulfil in Shopify once the order is there (the rest of a partial once ASOS shows the part).
    const fulfilling = (async () => {
      while (!stop) {
        await sleep(opts.fulfilPollMs ?? 500);
        let orders: ShopView[];
        try {
          orders = ((await control.get(`${shop}/orders`)).data as { orders: ShopView[] }).orders;
        } catch (err) {
          harnessErrors.push(`reading Shopify orders: ${errText(err)}`);
          continue;
        }
        for (const o of orders) {
          const p = o.sourceIdentifier ? progress.get(o.sourceIdentifier) : undefined;
          if (p && !p.ref) p.ref = o.id.split('/').pop();
        }
        const now = Date.now();
        const work: Progress[] = [];
        for (const p of progress.values()) {
          if (!p.ref || p.nextCall >= p.plan.calls.length) continue;
          if (p.nextCall > 0 && p.plan.kind === 'partial' && (p.shipments < 1 || (p.dueAt ?? 0) > now)) continue;
          work.push(p);
        }
        await inParallel(work, 8, async (p) => {
          // split: both fulfilments at once; whole and partial: one call per pass.
          const last = p.plan.kind === 'split' ? p.plan.calls.length : p.nextCall + 1;
          while (p.nextCall < last) {
            const call = p.plan.calls[p.nextCall]!;
            try {
              // Now and then the fulfillments/create event of this fulfilment is never delivered.
              if (dropShare > 0 && rnd() < dropShare) {
                await control.put(`${shop}/webhook-delivery`, { dropNext: { 'fulfillments/create': 1 } });
              }
              await control.post(`${shop}/orders/${p.ref}/fulfil`, call);
              p.nextCall += 1;
              p.dueAt = Date.now() + partialDelayMs;
            } catch (err) {
              harnessErrors.push(`fulfilling ${p.plan.orderId} (${p.nextCall + 1}): ${errText(err)}`);
              p.nextCall = p.plan.calls.length; // do not hammer; the audit reports the order
            }
          }
        });
      }
    })();

    // 3. Wait until the marketplace shows every order SHIPPED (or the deadline passes); refund those due.
    let lastReport = 0;
    let timedOut = false;
    for (;;) {
      await sleep(opts.shippedPollMs ?? 2_000);
      try {
        const { data } = await control.get(`/control/mirakl/${channel}/orders`);
        for (const o of (data as { orders: MiraklView[] }).orders) {
          const p = progress.get(o.order_id);
          if (!p) continue;
          p.shipments = o._sandbox.shipments.length;
          p.shipped = o.order_state === 'SHIPPED';
        }
      } catch (err) {
        harnessErrors.push(`reading Mirakl orders: ${errText(err)}`);
      }
      const refunds = [...progress.values()].filter((p) => p.shipped && p.ref && p.refund === 'due');
      await inParallel(refunds, 4, async (p) => {
        try {
          await control.post(`${shop}/orders/${p.ref}/refund`, {
            lines: [{ sku: p.plan.lines[0]!.offerSku, quantity: 1 }],
            restockType: 'RETURN',
          });
          p.refund = 'made';
        } catch (err) {
          harnessErrors.push(`refunding ${p.plan.orderId}: ${errText(err)}`);
          p.refund = undefined;
        }
      });
      const shipped = [...progress.values()].filter((p) => p.shipped).length;
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        const inShop = [...progress.values()].filter((p) => p.ref).length;
        const fulfilled = [...progress.values()].filter((p) => p.nextCall > 0).length;
        log(
          `shopify: ${((Date.now() - started) / 1000).toFixed(0)} s: in Shopify ${inShop}, fulfilled ${fulfilled}, shipped ${shipped} of ${plans.length}`,
        );
      }
      if (shipped === plans.length && refunds.length === 0) break;
      if (Date.now() > deadline) {
        timedOut = true;
        log(`shopify: deadline passed with ${plans.length - shipped} orders not shipped`);
        break;
      }
    }
    stop = true;
    await Promise.all([placing, fulfilling]);
    // 4. Every refund made reaches the marketplace (OR28) through the refunds/create webhook.
    const refunded = new Set([...progress.values()].filter((p) => p.refund === 'made').map((p) => p.plan.orderId));
    while (refunded.size > 0 && Date.now() < deadline) {
      try {
        const { data } = await control.get(`/control/mirakl/${channel}/orders`);
        for (const o of (data as { orders: MiraklView[] }).orders) {
          if (o.order_lines.some((l) => (l.refunds ?? []).length > 0)) refunded.delete(o.order_id);
        }
      } catch (err) {
        harnessErrors.push(`reading Mirakl orders: ${errText(err)}`);
      }
      if (refunded.size > 0) await sleep(opts.shippedPollMs ?? 2_000);
    }
    // 5. A late duplicate (a redelivered webhook, the reconciliation poll) would land in this time.
    await sleep(opts.settleMs);
    const workflowsNotShipped = await workflowStates(opts.client, plans, channel);
    return await judge(opts, plans, shop, { harnessErrors, timedOut, workflowsNotShipped, webhookFaults });
  } finally {
    stop = true;
    removeWebhookFaults();
  }
}

/** The order workflows stay open for the return window on this route: their state must be SHIPPED. */
async function workflowStates(client: Client, plans: ShopifyOrderPlan[], channel: string) {
  const out: ShopifyTrafficReport['workflowsNotShipped'] = [];
  await inParallel(plans, 16, async (p) => {
    const workflowId = orderWorkflowId(channel, p.orderId);
    try {
      const s = await client.workflow.getHandle(workflowId).query(orderStateQuery);
      if (s.status !== 'SHIPPED' && s.status !== 'CLOSED') {
        out.push({
          workflowId,
          status: s.status,
          ...(s.exception ? { detail: `${s.exception.reason}: ${s.exception.message}` } : {}),
        });
      }
    } catch (err) {
      out.push({ workflowId, status: 'UNKNOWN', detail: (err as Error).message });
    }
  });
  return out;
}

async function judge(
  opts: ShopifyTrafficOptions,
  plans: ShopifyOrderPlan[],
  shop: string,
  run: Pick<ShopifyTrafficReport, 'harnessErrors' | 'timedOut' | 'workflowsNotShipped'> & {
    webhookFaults: Record<string, Record<string, number>>;
  },
): Promise<ShopifyTrafficReport> {
  const { control } = opts;
  const channel = opts.channel ?? 'asos';
  const planned = new Set(plans.map((p) => p.orderId));
  const strays: AuditFinding[] = [];
  const mirakl = new Map<string, MiraklView>();
  for (const o of ((await control.get(`/control/mirakl/${channel}/orders`)).data as { orders: MiraklView[] }).orders) {
    if (!o.order_id.startsWith(`${opts.idPrefix}-`)) continue;
    if (!planned.has(o.order_id)) strays.push({ orderId: o.order_id, problem: `unplanned on ${channel}` });
    mirakl.set(o.order_id, o);
  }
  const shopOrders = new Map<string, ShopView[]>();
  for (const o of ((await control.get(`${shop}/orders`)).data as { orders: ShopView[] }).orders) {
    const sid = o.sourceIdentifier ?? '';
    if (!planned.has(sid)) {
      if (sid.startsWith(`${opts.idPrefix}-`))
        strays.push({ orderId: sid, problem: `unplanned Shopify order ${o.id}` });
      continue;
    }
    shopOrders.set(sid, [...(shopOrders.get(sid) ?? []), o]);
  }

  const lost: AuditFinding[] = [];
  const duplicateShopifyOrders: AuditFinding[] = [];
  const duplicateConfirmations: AuditFinding[] = [];
  const wrongConfirmations: AuditFinding[] = [];
  const refunds: ShopifyTrafficReport['refunds'] = { requested: 0, made: 0, missing: [], duplicate: [] };
  const ack: number[] = [];
  const storeLatency: number[] = [];
  const confirm: number[] = [];
  let firstCreated = Infinity;
  let lastShipped = -Infinity;
  const carrierCode = new Map(
    Object.entries(opts.config.channels.find((c) => c.code === channel)!.carrierMap ?? {}).map(([k, v]) => [
      k,
      (v as { code?: string }).code,
    ]),
  );

  for (const plan of plans) {
    const id = plan.orderId;
    const m = mirakl.get(id);
    const copies = shopOrders.get(id) ?? [];
    // Shopify side: one order per Mirakl order, exactly the ordered units.
    if (copies.length > 1) {
      duplicateShopifyOrders.push({
        orderId: id,
        problem: `${copies.length} Shopify orders: ${copies.map((o) => o.id)}`,
      });
    }
    const s = copies[0];
    if (s) {
      const wanted = new Map(plan.lines.map((l) => [l.offerSku, l.quantity]));
      const got = new Map<string, number>();
      for (const li of s.lineItems) got.set(li.sku ?? '?', (got.get(li.sku ?? '?') ?? 0) + li.quantity);
      if (s.lineItems.length > plan.lines.length || [...got].some(([sku, q]) => q > (wanted.get(sku) ?? 0))) {
        duplicateShopifyOrders.push({
          orderId: id,
          problem: `line items ${JSON.stringify([...got])} for ordered ${JSON.stringify([...wanted])}`,
        });
      }
    }
    if (!m) {
      lost.push({ orderId: id, problem: 'not on Mirakl' });
      continue;
    }
    const created = Date.parse(m.created_date);
    firstCreated = Math.min(firstCreated, created);
    if (m.acceptance_decision_date) ack.push(Date.parse(m.acceptance_decision_date) - created);
    if (s) storeLatency.push(Date.parse(s.createdAt) - created);

    // ASOS side: SHIPPED, every line confirmed for exactly its quantity, each fulfilment in one ST01 shipment
    // with its own lines, quantities and tracking.
    const problems: string[] = [];
    if (m.order_state !== 'SHIPPED') problems.push(`order ${m.order_state}`);
    const notShipped = linesNotShipped(m.order_lines);
    if (notShipped.length) problems.push(`lines ${notShipped.map((l) => `${l.order_line_id}=${l.order_line_state}`)}`);
    if (!s) problems.push('no Shopify order');
    const skuOfLine = new Map(m.order_lines.map((l) => [l.order_line_id, l.offer_sku]));
    const skuOfItem = new Map(s?.lineItems.map((li) => [li.id, li.sku ?? '?']) ?? []);
    const fulfilments = new Map((s?.fulfillments ?? []).map((f) => [`gid://shopify/Fulfillment/${f.id}`, f]));
    const confirmed = new Map<string, number>();
    const refCount = new Map<string, number>();
    for (const sh of m._sandbox.shipments) {
      const refs = new Set<string>();
      for (const sl of sh.shipment_lines) {
        confirmed.set(sl.order_line_id, (confirmed.get(sl.order_line_id) ?? 0) + sl.quantity);
        if (sl.package_reference) refs.add(sl.package_reference);
      }
      for (const r of refs) refCount.set(r, (refCount.get(r) ?? 0) + 1);
      const ref = [...refs][0];
      const f = ref ? fulfilments.get(ref) : undefined;
      if (refs.size !== 1 || !f) {
        duplicateConfirmations.push({
          orderId: id,
          problem: `shipment for ${[...refs].join(',') || '?'}: no such fulfilment`,
        });
        continue;
      }
      const shipped = new Map<string, number>();
      for (const sl of sh.shipment_lines) {
        const sku = skuOfLine.get(sl.order_line_id) ?? '?';
        shipped.set(sku, (shipped.get(sku) ?? 0) + sl.quantity);
      }
      const fulfilled = new Map<string, number>();
      for (const fl of f.lines) {
        const sku = skuOfItem.get(fl.lineItemId) ?? '?';
        fulfilled.set(sku, (fulfilled.get(sku) ?? 0) + fl.quantity);
      }
      const norm = (x: Map<string, number>) => JSON.stringify([...x].sort());
      if (norm(shipped) !== norm(fulfilled)) {
        wrongConfirmations.push({
          orderId: id,
          problem: `fulfilment ${f.id}: shipped ${norm(shipped)} on ASOS, fulfilled ${norm(fulfilled)} in Shopify`,
        });
      }
      const wantCarrier = f.tracking.company ? carrierCode.get(f.tracking.company) : undefined;
      if (
        sh.tracking?.tracking_number !== f.tracking.number ||
        (wantCarrier && sh.tracking?.carrier_code !== wantCarrier)
      ) {
        wrongConfirmations.push({
          orderId: id,
          problem: `fulfilment ${f.id}: tracking ${sh.tracking?.carrier_code}/${sh.tracking?.tracking_number} on ASOS, ${f.tracking.company}/${f.tracking.number} in Shopify`,
        });
      }
    }
    for (const [ref, n] of refCount) {
      if (n > 1) duplicateConfirmations.push({ orderId: id, problem: `fulfilment ${ref} confirmed in ${n} shipments` });
    }
    for (const ref of fulfilments.keys()) if (!refCount.has(ref)) problems.push(`fulfilment ${ref} not confirmed`);
    for (const l of m.order_lines) {
      const c = confirmed.get(l.order_line_id) ?? 0;
      if (c > l.quantity)
        duplicateConfirmations.push({
          orderId: id,
          problem: `line ${l.order_line_id}: ${c} confirmed of ${l.quantity}`,
        });
      else if (c < l.quantity) problems.push(`line ${l.order_line_id}: ${c} confirmed of ${l.quantity}`);
    }
    if (m.order_state === 'SHIPPED' && m._sandbox.shipMode !== 'ST01') {
      wrongConfirmations.push({ orderId: id, problem: `ship mode ${m._sandbox.shipMode} on a multi-shipment shop` });
    }
    // Refunds: the units refunded in Shopify, refunded once on the marketplace (OR28), per SKU.
    const refundedInShop = new Map<string, number>();
    for (const li of s?.lineItems ?? []) {
      if (li.refunded) refundedInShop.set(li.sku ?? '?', (refundedInShop.get(li.sku ?? '?') ?? 0) + li.refunded);
    }
    const refundedOnMarketplace = new Map<string, number>();
    for (const l of m.order_lines) {
      const q = (l.refunds ?? []).reduce((n, r) => n + (r.quantity ?? 0), 0);
      if (q > 0) refundedOnMarketplace.set(l.offer_sku, (refundedOnMarketplace.get(l.offer_sku) ?? 0) + q);
    }
    if (refundedInShop.size > 0) refunds.requested += 1;
    if (refundedOnMarketplace.size > 0) refunds.made += 1;
    for (const sku of new Set([...refundedInShop.keys(), ...refundedOnMarketplace.keys()])) {
      const want = refundedInShop.get(sku) ?? 0;
      const got = refundedOnMarketplace.get(sku) ?? 0;
      if (got > want)
        refunds.duplicate.push({
          orderId: id,
          problem: `${sku}: ${got} refunded on the marketplace, ${want} in Shopify`,
        });
      else if (got < want)
        refunds.missing.push({
          orderId: id,
          problem: `${sku}: ${got} refunded on the marketplace, ${want} in Shopify`,
        });
    }
    if (problems.length) {
      lost.push({ orderId: id, problem: problems.join('; ') });
      continue;
    }
    const shippedAt = Math.max(...m.order_lines.map((l) => Date.parse(l.shipped_date ?? '')));
    if (Number.isFinite(shippedAt)) {
      lastShipped = Math.max(lastShipped, shippedAt);
      const lastFulfil = Math.max(...(s?.fulfillments.map((f) => Date.parse(f.createdAt)) ?? []));
      if (Number.isFinite(lastFulfil)) confirm.push(shippedAt - lastFulfil);
    }
  }

  // Faults and limits, from the simulators' own records.
  const faultsFired: ShopifyTrafficReport['faultsFired'] = {};
  for (const system of ['mirakl', 'shopify']) {
    faultsFired[system] = (
      (await control.get(`/control/faults/${system}`)).data as { fired: Record<FaultKind, number> }
    ).fired;
    if (opts.installFaults !== false) await control.delete(`/control/faults/${system}`);
  }
  faultsFired['shopify-webhook'] = { ...opts.webhookInjector.fired };
  opts.webhookInjector.clear();
  await control.put(`${shop}/webhook-delivery`, { duplicateProbability: 0, dropNext: {} });
  const calls = ((await control.get('/control/calls')).data as { calls: CallView[] }).calls;
  const faultsByEndpoint: ShopifyTrafficReport['faultsByEndpoint'] = {};
  const rateLimited: Record<string, number> = {};
  const callCounts: Record<string, number> = {};
  for (const c of calls) {
    const sys = c.tenant && c.system === 'mirakl' ? `mirakl:${c.tenant}` : c.system;
    callCounts[sys] = (callCounts[sys] ?? 0) + 1;
    if (c.fault) {
      const key = `${c.endpoint}:${c.fault}`;
      faultsByEndpoint[sys] ??= {};
      faultsByEndpoint[sys][key] = (faultsByEndpoint[sys][key] ?? 0) + 1;
    }
    if (c.rateLimited) rateLimited[`${sys}:${c.endpoint}`] = (rateLimited[`${sys}:${c.endpoint}`] ?? 0) + 1;
  }
  for (const [topic, kinds] of Object.entries(run.webhookFaults)) {
    for (const [kind, n] of Object.entries(kinds)) {
      faultsByEndpoint['shopify-webhook'] ??= {};
      faultsByEndpoint['shopify-webhook'][`${topic}:${kind}`] = n;
    }
  }
  const deliveries = ((await control.get(`${shop}/webhooks`)).data as { deliveries: DeliveryView[] }).deliveries;
  const ok = new Map<string, number>();
  const dropped: Record<string, number> = {};
  for (const d of deliveries) {
    if (d.attempt === 0) dropped[d.topic] = (dropped[d.topic] ?? 0) + 1;
    else if (d.status >= 200 && d.status < 300) ok.set(d.eventId, (ok.get(d.eventId) ?? 0) + 1);
  }

  const seconds =
    Number.isFinite(lastShipped) && Number.isFinite(firstCreated) ? (lastShipped - firstCreated) / 1000 : 0;
  const byKind: Record<FulfilKind, number> = { whole: 0, partial: 0, split: 0 };
  for (const p of plans) byKind[p.kind] += 1;
  const completed = plans.length - lost.length;
  const { webhookFaults, ...rest } = run;
  return {
    orders: plans.length,
    byKind,
    fulfilments: plans.reduce((n, p) => n + p.calls.length, 0),
    seconds,
    firstCreatedAt: Number.isFinite(firstCreated) ? firstCreated : 0,
    lastShippedAt: Number.isFinite(lastShipped) ? lastShipped : 0,
    ordersPerSec: seconds > 0 ? completed / seconds : 0,
    ackLatencyMs: percentiles(ack),
    storeLatencyMs: percentiles(storeLatency),
    confirmLatencyMs: percentiles(confirm),
    lost,
    duplicateShopifyOrders,
    duplicateConfirmations,
    wrongConfirmations,
    refunds,
    strays,
    faultsFired,
    faultsByEndpoint,
    webhooks: {
      events: new Set(deliveries.map((d) => d.eventId)).size,
      deliveries: deliveries.filter((d) => d.attempt > 0).length,
      failedAttempts: deliveries.filter((d) => d.attempt > 0 && !(d.status >= 200 && d.status < 300)).length,
      deliveredTwiceOrMore: [...ok.values()].filter((n) => n > 1).length,
      dropped,
      injectedByTopic: webhookFaults,
    },
    rateLimited,
    calls: callCounts,
    ...rest,
  };
}
