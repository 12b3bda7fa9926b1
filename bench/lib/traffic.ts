// Order traffic through the sandbox, shared by the 1,000-order fault test (test/e2e/faults-1000.solo.test.ts) and
// the benchmark (bench/orders.ts): place orders on Mirakl (ASOS with multi-shipment, Joules without),
// despatch them in Peoplevox through its control API (whole, several parcels, partial then the rest), with
// every fault type switched on, and then judge the run on what the simulators hold, never on Loopline's word:
//   lost                    an order placed on Mirakl that is not SHIPPED there with every line confirmed
//   duplicate WMS order     a sales order created more than once in Peoplevox (save counts), or carrying
//                           more item lines or units than the marketplace order
//   duplicate confirmation  a line confirmed for more than was ordered, or a despatch (parcel) confirmed
//                           in more than one Mirakl shipment, or a shipment no despatch accounts for
// Timings come from the simulators' own timestamps (Mirakl created/accepted/shipped dates, Peoplevox order
// creation and despatch times) and their call logs.
import type { AxiosInstance } from 'axios';
import type { Client } from '@temporalio/client';
import { FAULT_KINDS, seededRandom, type FaultKind, type FaultRule } from '../../src/sandbox/core/faults';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { channelOrderPrefix, type Config } from '../../src/config/schema';
import { orderWorkflowId, wmsSalesOrderNumber } from '../../src/domain/keys';
import { inParallel } from './in-parallel';
import type { CallRecord } from '../../src/sandbox/core/call-log';
import { orderStateQuery } from '../../workflows/order/messages';

// ---- plans ----------------------------------------------------------------------------------------------
export type DespatchKind = 'whole' | 'parcels' | 'partial';

export interface Parcel {
  items: Array<{ itemCode: string; quantity: number }>;
  carrier: string;
  trackingNumber: string;
}

export interface OrderPlan {
  channel: 'asos' | 'joules';
  orderId: string;
  salesOrderNumber: string;
  lines: Array<{ offerSku: string; quantity: number }>;
  kind: DespatchKind;
  /** Despatch calls to the Peoplevox control API, in order; each call holds one or more parcels. */
  calls: Parcel[][];
}

export const CHANNELS = { asos: { multiShipment: true }, joules: { multiShipment: false } } as const;

/** Deterministic order plans: half ASOS, half Joules; 1–3 lines of 1–3 units; a third of each despatch kind. */
export function planOrders(config: Config, n: number, idPrefix: string, seed = 1): OrderPlan[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const skus = sandboxCatalogue().map((c) => c.sku);
  const prefixOf = (code: string) => {
    const ch = config.channels.find((c) => c.code === code);
    if (!ch) throw new Error(`channel ${code} is not in the config`);
    return channelOrderPrefix(ch);
  };
  const plans: OrderPlan[] = [];
  for (let i = 0; i < n; i++) {
    const channel = i % 2 === 0 ? 'asos' : 'joules';
    const orderId = `${idPrefix}-${String(i + 1).padStart(5, '0')}-A`;
    const lineCount = 1 + Math.floor(rnd() * 3);
    const chosen = new Set<string>();
    while (chosen.size < lineCount) chosen.add(pick(skus));
    const lines = [...chosen].map((offerSku) => ({ offerSku, quantity: 1 + Math.floor(rnd() * 3) }));
    const units = lines.flatMap((l) => Array.from({ length: l.quantity }, () => l.offerSku));
    let kind: DespatchKind = pick(['whole', 'parcels', 'partial'] as const);
    if (units.length < 2) kind = 'whole';
    const parcelCount =
      kind === 'whole' ? 1 : kind === 'parcels' ? Math.min(units.length, 2 + Math.floor(rnd() * 2)) : 2;
    // Cut the units into `parcelCount` non-empty runs.
    const cuts = new Set<number>();
    while (cuts.size < parcelCount - 1) cuts.add(1 + Math.floor(rnd() * (units.length - 1)));
    const bounds = [0, ...[...cuts].sort((a, b) => a - b), units.length];
    const parcels: Parcel[] = [];
    for (let p = 0; p + 1 < bounds.length; p++) {
      const counts = new Map<string, number>();
      for (const sku of units.slice(bounds[p], bounds[p + 1])) counts.set(sku, (counts.get(sku) ?? 0) + 1);
      parcels.push({
        items: [...counts].map(([itemCode, quantity]) => ({ itemCode, quantity })),
        carrier: pick(['Royal Mail', 'DPD']),
        trackingNumber: `${orderId}-P${p + 1}`,
      });
    }
    const calls = kind === 'partial' ? [parcels.slice(0, 1), parcels.slice(1)] : [parcels];
    plans.push({
      channel,
      orderId,
      salesOrderNumber: wmsSalesOrderNumber(prefixOf(channel), orderId),
      lines,
      kind,
      calls,
    });
  }
  return plans;
}

// ---- faults ---------------------------------------------------------------------------------------------
export interface FaultProfile {
  /** Probability that a call (any endpoint, callbacks included) gets a fault, split evenly across the kinds. */
  probability: number;
  retryAfterSeconds: number;
  /** How long a `timeout` holds the request before the 504 (and how late a callback is delivered). */
  timeoutDelayMs: number;
  seed: number;
}

export const DEFAULT_FAULTS: FaultProfile = {
  probability: 0.08,
  retryAfterSeconds: 1,
  timeoutDelayMs: 3_000,
  seed: 4242,
};

/**
 * One rule per fault kind on every endpoint ('*'): on Mirakl that is both channels' seller API (OR11, OR21,
 * ST01, ST11, OR23, OR24, PC01); on Peoplevox every SOAP operation and the TrackingNumberReceived callbacks
 * (5xx/429 = dropped, timeout = delivered late, lostResponse = delivered).
 */
export function faultRules(p: FaultProfile, miraklChannels: readonly string[] = []): FaultRule[] {
  // OR11 is polled about once a (scaled) minute, so a run sees only a few dozen OR11 calls per channel and a
  // random fault may miss them all. The first poll of each channel therefore times out and the next gets a
  // 503, for certain; the random faults apply to everything after that.
  const intake: FaultRule[] = miraklChannels.flatMap((tenant) => [
    { endpoint: 'OR11', tenant, kind: 'timeout', count: 1, delayMs: p.timeoutDelayMs },
    { endpoint: 'OR11', tenant, kind: 'error5xx', count: 1 },
  ]);
  // Likewise Peoplevox's SaveData: the warehouse gateway creates a burst's orders in batches, about a hundred
  // SaveData calls for 1,000 orders, so a 1-in-50 lost response missed them all in one CI run in about ten. The
  // first SaveData's response is lost for certain (the write happened): exactly-once must then hold.
  const savedata: FaultRule[] = p.probability > 0 ? [{ endpoint: 'SaveData', kind: 'lostResponse', count: 1 }] : [];
  return [
    ...intake,
    ...savedata,
    ...FAULT_KINDS.map((kind) => ({
      endpoint: '*',
      kind,
      probability: p.probability / FAULT_KINDS.length,
      ...(kind === 'rateLimit429' ? { retryAfterSeconds: p.retryAfterSeconds } : {}),
      ...(kind === 'timeout' ? { delayMs: p.timeoutDelayMs } : {}),
    })),
  ];
}

// ---- sim views ------------------------------------------------------------------------------------------
interface MiraklView {
  order_id: string;
  order_state: string;
  created_date: string;
  acceptance_decision_date?: string;
  shipping_tracking?: string;
  order_lines: Array<{
    order_line_id: string;
    order_line_state: string;
    quantity: number;
    shipped_date?: string;
    refunds?: unknown[];
  }>;
  _sandbox: {
    shipMode: string | null;
    shipments: Array<{
      shipment_lines: Array<{ order_line_id: string; quantity: number; package_reference?: string }>;
      tracking?: { tracking_number?: string };
    }>;
  };
}

interface PvxView {
  salesOrderNumber: string;
  status: string;
  createdAt: string;
  items: Array<{ itemCode: string; quantity: number; despatched: number }>;
  despatches: Array<{ despatchNumber: string; despatchedAt: string; trackingNumber?: string }>;
  saveCounts?: { created: number; updated: number };
}

/** A call as the control API lists it (`/control/calls`). */
type CallView = CallRecord;

async function miraklOrders(control: AxiosInstance, channel: string, state?: string): Promise<MiraklView[]> {
  const { data } = await control.get(`/control/mirakl/${channel}/orders`, { params: state ? { state } : {} });
  return (data as { orders: MiraklView[] }).orders;
}

async function pvxOrders(control: AxiosInstance, clientId: string, status?: string): Promise<PvxView[]> {
  const { data } = await control.get(`/control/peoplevox/${clientId}/orders`, { params: status ? { status } : {} });
  return (data as { orders: PvxView[] }).orders;
}

/** Peoplevox statuses of an order waiting for (the rest of) its despatch; stock is topped up, so a complete order is Allocated. */
const AWAITING_DESPATCH = ['New', 'Allocated', 'Partially despatched'];

// ---- the run --------------------------------------------------------------------------------------------
export interface TrafficOptions {
  control: AxiosInstance;
  client: Client;
  config: Config;
  idPrefix: string;
  orders: number;
  seed?: number;
  /** Orders placed per second; 0 (default) places them all at once, as fast as the control API takes them. */
  arrivalPerSecond?: number;
  /** Time between the two despatch calls of a partial despatch (default 1.5 s). */
  partialDelayMs?: number;
  faults?: FaultProfile | null;
  /**
   * Whether this harness sets the fault rules on the simulators (and clears them when it judges); false when
   * the caller owns them (the chaos bench runs two routes and outages over the same simulators).
   */
  installFaults?: boolean;
  /** How often the warehouse is read for orders to despatch (default 500 ms). */
  despatchPollMs?: number;
  /**
   * Whether an order's next despatch call (0: the first) may be made now; asked each time the warehouse holds
   * the order (with all its items) and that call is due. Default: always. The soak bench (bench/soak.ts) holds
   * its backlog with it and releases it in waves; being asked also tells it the order is in the warehouse.
   */
  despatchGate?: (plan: OrderPlan, nextCall: number) => boolean;
  /** How often Mirakl is read for SHIPPED orders (default 2 s; each read lists every shipped order). */
  shippedPollMs?: number;
  /** Give up waiting (and judge what is there) after this long. */
  deadlineMs: number;
  /**
   * Channels whose orders stay open for their return window (returnWindowDays > 0): a running order workflow
   * there counts as done once its state is SHIPPED with no exception (its return, if any, is judged apart).
   */
  openForReturns?: readonly string[];
  log?: (line: string) => void;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface AuditFinding {
  orderId: string;
  problem: string;
}

export interface TrafficReport {
  orders: number;
  byChannel: Record<string, number>;
  byKind: Record<DespatchKind, number>;
  parcels: number;
  /** First order created on Mirakl → last order SHIPPED on Mirakl (sim timestamps). */
  seconds: number;
  /** When the last order became SHIPPED on Mirakl (epoch ms; 0 when none did). */
  lastShippedAt: number;
  ordersPerSec: number;
  ackLatencyMs: Percentiles;
  /** Each order's creation on Mirakl (epoch ms, simulator clock) by order id: for breakdowns of the ack latency. */
  createdAtByOrder: Map<string, number>;
  wmsLatencyMs: Percentiles;
  /** Last Peoplevox despatch of an order → the order SHIPPED on Mirakl. */
  confirmLatencyMs: Percentiles;
  lost: AuditFinding[];
  duplicateWms: AuditFinding[];
  duplicateConfirmations: AuditFinding[];
  /** Confirmed, but with the wrong tracking number or ship mode. */
  wrongConfirmations: AuditFinding[];
  /** Orders on either simulator with this run's prefix that no plan placed. */
  strays: AuditFinding[];
  /** Workflows still running (or not completed) when the run was judged, with their status. */
  workflowsNotCompleted: Array<{ workflowId: string; status: string; detail?: string }>;
  faultsFired: Record<string, Partial<Record<FaultKind, number>>>;
  /** Calls that got an injected fault, per system and endpoint. */
  faultsByEndpoint: Record<string, Record<string, number>>;
  /** Calls refused by a simulator's documented rate limit (not injected). */
  rateLimited: Record<string, number>;
  calls: Record<string, number>;
  /** Calls per system and endpoint (callbacks the simulators made are counted under their own names). */
  callsByEndpoint: Record<string, Record<string, number>>;
  harnessErrors: string[];
  timedOut: boolean;
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1]! };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Shortens each channel's intake overlap in proportion to the time scale. The overlap (default 120 s) is
 * wall-clock and not scaled, so at scale 60 every once-a-second poll would re-read and re-signal two
 * minutes of history (two hours in scaled time): with 1,000 orders in flight that is every order, every
 * second. The intake activities read the channel config on every poll, so this takes effect at once.
 */
export function scaleIntakeOverlap(config: Config, timeScale: number): number {
  let seconds = 0;
  for (const ch of config.channels) {
    ch.intake.overlapSeconds = Math.max(1, Math.ceil(ch.intake.overlapSeconds / timeScale));
    seconds = ch.intake.overlapSeconds;
  }
  return seconds;
}

/** Enough stock on both sides that allocation and offers never run dry during a long run. */
async function topUpStock(control: AxiosInstance, config: Config, clientId: string, skus: string[]) {
  await control.put(`/control/peoplevox/${clientId}/stock`, {
    items: skus.map((itemCode) => ({ itemCode, available: 100_000 })),
  });
  for (const ch of config.channels.filter((c) => c.platform === 'mirakl')) {
    await control.put(`/control/mirakl/${ch.code}/offers`, {
      offers: skus.map((offerSku) => ({ offerSku, quantity: 100_000 })),
    });
  }
}

export async function runOrderTraffic(opts: TrafficOptions): Promise<TrafficReport> {
  const { control, client, config } = opts;
  const log = opts.log ?? (() => undefined);
  const pvx = config.systems.peoplevox;
  if (!pvx) throw new Error('systems.peoplevox is not configured');
  const clientId = pvx.clientId;
  const plans = planOrders(config, opts.orders, opts.idPrefix, opts.seed ?? 1);
  const harnessErrors: string[] = [];
  const partialDelayMs = opts.partialDelayMs ?? 1_500;

  await topUpStock(
    control,
    config,
    clientId,
    sandboxCatalogue().map((c) => c.sku),
  );
  if (opts.faults && opts.installFaults !== false) {
    const rules = faultRules(opts.faults, [...new Set(plans.map((p) => p.channel))]);
    await control.put('/control/faults/mirakl', { seed: opts.faults.seed, rules });
    await control.put('/control/faults/peoplevox', { seed: opts.faults.seed + 1, rules });
  }

  // Per order: the next despatch call to make and when; whether Mirakl shows it SHIPPED.
  type Progress = { plan: OrderPlan; created: boolean; nextCall: number; dueAt?: number; shipped: boolean };
  const progress = new Map<string, Progress>(
    plans.map((p) => [p.salesOrderNumber, { plan: p, created: false, nextCall: 0, shipped: false }]),
  );
  const started = Date.now();
  const deadline = started + opts.deadlineMs;
  let stop = false;

  // 1. Place the orders on Mirakl.
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
          await control.post(`/control/mirakl/${plan.channel}/orders`, { orderId: plan.orderId, lines: plan.lines });
          progress.get(plan.salesOrderNumber)!.created = true;
          return;
        } catch (err) {
          if (attempt >= 5) {
            harnessErrors.push(`placing ${plan.orderId}: ${(err as Error).message}`);
            return;
          }
          await sleep(200);
        }
      }
    });
    log(`placed ${plans.length} orders in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  })();

  // 2. Despatch in the warehouse once Peoplevox holds the order and all its items.
  const despatching = (async () => {
    while (!stop) {
      await sleep(opts.despatchPollMs ?? 500);
      let views: PvxView[];
      try {
        views = (await Promise.all(AWAITING_DESPATCH.map((st) => pvxOrders(control, clientId, st)))).flat();
      } catch (err) {
        harnessErrors.push(`reading Peoplevox orders: ${(err as Error).message}`);
        continue;
      }
      const now = Date.now();
      const work: Array<{ p: Progress; parcels: Parcel[] }> = [];
      for (const v of views) {
        const p = progress.get(v.salesOrderNumber);
        if (!p || p.nextCall >= p.plan.calls.length) continue;
        if (p.nextCall === 0 && v.items.length < p.plan.lines.length) continue;
        if (p.dueAt !== undefined && p.dueAt > now) continue;
        if (opts.despatchGate && !opts.despatchGate(p.plan, p.nextCall)) continue;
        work.push({ p, parcels: p.plan.calls[p.nextCall]! });
      }
      await inParallel(work, 8, async ({ p, parcels }) => {
        try {
          await control.post(`/control/peoplevox/${clientId}/orders/${p.plan.salesOrderNumber}/despatch`, { parcels });
          p.nextCall += 1;
          p.dueAt = Date.now() + partialDelayMs;
        } catch (err) {
          const e = err as { response?: { data?: { message?: string } }; message: string };
          harnessErrors.push(`despatching ${p.plan.salesOrderNumber}: ${e.response?.data?.message ?? e.message}`);
          p.nextCall = p.plan.calls.length; // do not hammer; the audit reports the order
        }
      });
    }
  })();

  // 3. Wait until Mirakl shows every order SHIPPED (or the deadline passes).
  let lastReport = 0;
  let timedOut = false;
  for (;;) {
    await sleep(opts.shippedPollMs ?? 2_000);
    for (const ch of Object.keys(CHANNELS)) {
      try {
        for (const o of await miraklOrders(control, ch, 'SHIPPED')) {
          const p = progress.get(wmsSalesOrderNumber(channelPrefix(config, ch), o.order_id));
          if (p) p.shipped = true;
        }
      } catch (err) {
        harnessErrors.push(`reading Mirakl ${ch} orders: ${(err as Error).message}`);
      }
    }
    const shipped = [...progress.values()].filter((p) => p.shipped).length;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      const despatched = [...progress.values()].filter((p) => p.nextCall > 0).length;
      log(
        `${((Date.now() - started) / 1000).toFixed(0)} s: despatched ${despatched}, shipped ${shipped} of ${plans.length}`,
      );
    }
    if (shipped === plans.length) break;
    if (Date.now() > deadline) {
      timedOut = true;
      log(`deadline passed with ${plans.length - shipped} orders not shipped`);
      break;
    }
  }
  stop = true;
  await Promise.all([placing, despatching]);

  // 4. Let every order workflow finish (nothing may still be in flight when the simulators are judged).
  const openForReturns = new Set(
    plans.filter((p) => opts.openForReturns?.includes(p.channel)).map((p) => orderWorkflowId(p.channel, p.orderId)),
  );
  const workflowsNotCompleted = await awaitWorkflows(
    client,
    plans.map((p) => orderWorkflowId(p.channel, p.orderId)),
    Math.max(30_000, deadline - Date.now()),
    openForReturns,
  );
  await sleep(1_000);

  return judge(opts, plans, { harnessErrors, timedOut, workflowsNotCompleted });
}

function channelPrefix(config: Config, code: string): string {
  const ch = config.channels.find((c) => c.code === code);
  if (!ch) throw new Error(`channel ${code} is not in the config`);
  return channelOrderPrefix(ch);
}

/**
 * Polls until every workflow has closed (or, for those in `openForReturns`, is SHIPPED and waiting out its
 * return window); returns those that did not complete (or are still running).
 */
async function awaitWorkflows(
  client: Client,
  ids: string[],
  timeoutMs: number,
  openForReturns: ReadonlySet<string> = new Set(),
): Promise<TrafficReport['workflowsNotCompleted']> {
  const until = Date.now() + timeoutMs;
  let open = ids;
  const finished: TrafficReport['workflowsNotCompleted'] = [];
  while (open.length > 0) {
    const still: string[] = [];
    await inParallel(open, 16, async (id) => {
      try {
        const d = await client.workflow.getHandle(id).describe();
        if (d.status.name === 'RUNNING' && openForReturns.has(id)) {
          const s = await client.workflow.getHandle(id).query(orderStateQuery);
          if (s.status !== 'SHIPPED' || s.exception) still.push(id);
        } else if (d.status.name === 'RUNNING') still.push(id);
        else if (d.status.name !== 'COMPLETED') finished.push({ workflowId: id, status: d.status.name });
        else {
          const result = (await client.workflow.getHandle(id).result()) as { status?: string } | undefined;
          if (result?.status !== 'CLOSED') finished.push({ workflowId: id, status: `COMPLETED/${result?.status}` });
        }
      } catch (err) {
        finished.push({ workflowId: id, status: 'UNKNOWN', detail: (err as Error).message });
      }
    });
    open = still;
    if (open.length === 0 || Date.now() > until) break;
    await sleep(1_000);
  }
  for (const id of open) {
    let detail: string | undefined;
    try {
      const s = await client.workflow.getHandle(id).query(orderStateQuery);
      detail = s.exception ? `${s.status}, exception ${s.exception.reason}: ${s.exception.message}` : s.status;
    } catch (err) {
      detail = (err as Error).message;
    }
    finished.push({ workflowId: id, status: 'RUNNING', detail });
  }
  return finished;
}

async function judge(
  opts: TrafficOptions,
  plans: OrderPlan[],
  run: Pick<TrafficReport, 'harnessErrors' | 'timedOut' | 'workflowsNotCompleted'>,
): Promise<TrafficReport> {
  const { control, config } = opts;
  const clientId = config.systems.peoplevox!.clientId;
  const mirakl = new Map<string, MiraklView>();
  const miraklStrays: AuditFinding[] = [];
  const planned = new Set(plans.map((p) => `${p.channel}:${p.orderId}`));
  for (const ch of Object.keys(CHANNELS)) {
    for (const o of await miraklOrders(control, ch)) {
      if (!o.order_id.startsWith(`${opts.idPrefix}-`)) continue;
      if (!planned.has(`${ch}:${o.order_id}`))
        miraklStrays.push({ orderId: o.order_id, problem: `unplanned on ${ch}` });
      mirakl.set(`${ch}:${o.order_id}`, o);
    }
  }
  const pvxAll = await pvxOrders(control, clientId);
  const wmsCount = new Map<string, number>();
  const wms = new Map<string, PvxView>();
  for (const v of pvxAll) {
    wmsCount.set(v.salesOrderNumber, (wmsCount.get(v.salesOrderNumber) ?? 0) + 1);
    wms.set(v.salesOrderNumber, v);
  }
  const plannedSons = new Set(plans.map((p) => p.salesOrderNumber));
  const wmsStrays = pvxAll
    .filter((v) => v.salesOrderNumber.includes(opts.idPrefix) && !plannedSons.has(v.salesOrderNumber))
    .map((v) => ({ orderId: v.salesOrderNumber, problem: 'unplanned Peoplevox sales order' }));

  const lost: AuditFinding[] = [];
  const duplicateWms: AuditFinding[] = [];
  const duplicateConfirmations: AuditFinding[] = [];
  const wrongConfirmations: AuditFinding[] = [];
  const ack: number[] = [];
  const createdAtByOrder = new Map<string, number>();
  const wmsLatency: number[] = [];
  const confirm: number[] = [];
  let firstCreated = Infinity;
  let lastShipped = -Infinity;

  for (const plan of plans) {
    const id = plan.orderId;
    const m = mirakl.get(`${plan.channel}:${id}`);
    const w = wms.get(plan.salesOrderNumber);
    // Warehouse side: one order, created once, exactly the ordered items.
    if (w) {
      if ((wmsCount.get(plan.salesOrderNumber) ?? 0) > 1 || (w.saveCounts?.created ?? 1) !== 1) {
        duplicateWms.push({ orderId: id, problem: `created ${w.saveCounts?.created ?? '?'} times` });
      }
      const wanted = new Map(plan.lines.map((l) => [l.offerSku, l.quantity]));
      const got = new Map<string, number>();
      for (const it of w.items) got.set(it.itemCode, (got.get(it.itemCode) ?? 0) + it.quantity);
      if (w.items.length > plan.lines.length || [...got].some(([code, q]) => q > (wanted.get(code) ?? 0))) {
        duplicateWms.push({
          orderId: id,
          problem: `items ${JSON.stringify([...got])} for ordered ${JSON.stringify([...wanted])}`,
        });
      }
    }
    if (!m) {
      lost.push({ orderId: id, problem: 'not on Mirakl' });
      continue;
    }
    const created = Date.parse(m.created_date);
    firstCreated = Math.min(firstCreated, created);
    createdAtByOrder.set(id, created);
    if (m.acceptance_decision_date) ack.push(Date.parse(m.acceptance_decision_date) - created);
    if (w) wmsLatency.push(Date.parse(w.createdAt) - created);

    // Marketplace side: SHIPPED, every line confirmed for exactly its quantity, each parcel once.
    const problems: string[] = [];
    if (m.order_state !== 'SHIPPED') problems.push(`order ${m.order_state}`);
    const notShipped = linesNotShipped(m.order_lines);
    if (notShipped.length) problems.push(`lines ${notShipped.map((l) => `${l.order_line_id}=${l.order_line_state}`)}`);
    if (!w) problems.push('no Peoplevox sales order');
    const despatchNumbers = new Set(w?.despatches.map((d) => d.despatchNumber) ?? []);
    const trackingOf = new Map(w?.despatches.map((d) => [d.despatchNumber, d.trackingNumber]) ?? []);
    if (CHANNELS[plan.channel].multiShipment) {
      const confirmed = new Map<string, number>();
      const refCount = new Map<string, number>();
      for (const s of m._sandbox.shipments) {
        const refs = new Set<string>();
        for (const sl of s.shipment_lines) {
          confirmed.set(sl.order_line_id, (confirmed.get(sl.order_line_id) ?? 0) + sl.quantity);
          if (sl.package_reference) refs.add(sl.package_reference);
        }
        for (const r of refs) refCount.set(r, (refCount.get(r) ?? 0) + 1);
        if (refs.size !== 1 || ![...refs].every((r) => despatchNumbers.has(r))) {
          duplicateConfirmations.push({
            orderId: id,
            problem: `shipment for despatch(es) ${[...refs]} not in Peoplevox`,
          });
        } else {
          const ref = [...refs][0]!;
          if (s.tracking?.tracking_number !== trackingOf.get(ref)) {
            wrongConfirmations.push({
              orderId: id,
              problem: `despatch ${ref}: tracking ${s.tracking?.tracking_number} on Mirakl, ${trackingOf.get(ref)} in Peoplevox`,
            });
          }
        }
      }
      for (const [ref, n] of refCount) {
        if (n > 1) duplicateConfirmations.push({ orderId: id, problem: `despatch ${ref} confirmed in ${n} shipments` });
      }
      for (const d of despatchNumbers) if (!refCount.has(d)) problems.push(`despatch ${d} not confirmed`);
      for (const l of m.order_lines) {
        const c = confirmed.get(l.order_line_id) ?? 0;
        if (c > l.quantity)
          duplicateConfirmations.push({
            orderId: id,
            problem: `line ${l.order_line_id}: ${c} confirmed of ${l.quantity}`,
          });
        else if (c < l.quantity) problems.push(`line ${l.order_line_id}: ${c} confirmed of ${l.quantity}`);
      }
      if (m._sandbox.shipMode !== 'ST01' && m.order_state === 'SHIPPED') {
        wrongConfirmations.push({ orderId: id, problem: `ship mode ${m._sandbox.shipMode} on a multi-shipment shop` });
      }
    } else {
      // OR23 + OR24: the whole order at once; a second OR24 is impossible once SHIPPED, ST01 must not be mixed in.
      if (m._sandbox.shipments.length > 0) {
        duplicateConfirmations.push({
          orderId: id,
          problem: `${m._sandbox.shipments.length} ST01 shipments besides OR24`,
        });
      }
      if (m.order_state === 'SHIPPED') {
        if (m._sandbox.shipMode !== 'OR24') problems.push(`ship mode ${m._sandbox.shipMode}`);
        const tns = new Set(w?.despatches.map((d) => d.trackingNumber));
        if (!m.shipping_tracking || !tns.has(m.shipping_tracking)) {
          wrongConfirmations.push({ orderId: id, problem: `tracking ${m.shipping_tracking} is none of ${[...tns]}` });
        }
      }
    }
    if (problems.length) {
      lost.push({ orderId: id, problem: problems.join('; ') });
      continue;
    }
    const shippedAt = Math.max(...m.order_lines.map((l) => Date.parse(l.shipped_date ?? '')));
    if (Number.isFinite(shippedAt)) {
      lastShipped = Math.max(lastShipped, shippedAt);
      const lastDespatch = Math.max(...(w?.despatches.map((d) => Date.parse(d.despatchedAt)) ?? []));
      if (Number.isFinite(lastDespatch)) confirm.push(shippedAt - lastDespatch);
    }
  }

  // Faults and limits, from the simulators' own records.
  const faultsFired: TrafficReport['faultsFired'] = {};
  for (const system of ['mirakl', 'peoplevox']) {
    faultsFired[system] = (
      (await control.get(`/control/faults/${system}`)).data as { fired: Record<FaultKind, number> }
    ).fired;
    if (opts.installFaults !== false) await control.delete(`/control/faults/${system}`);
  }
  const calls = ((await control.get('/control/calls')).data as { calls: CallView[] }).calls;
  const faultsByEndpoint: TrafficReport['faultsByEndpoint'] = {};
  const rateLimited: Record<string, number> = {};
  const callCounts: Record<string, number> = {};
  const callsByEndpoint: Record<string, Record<string, number>> = {};
  for (const c of calls) {
    const sys = c.tenant && c.system === 'mirakl' ? `mirakl:${c.tenant}` : c.system;
    callCounts[sys] = (callCounts[sys] ?? 0) + 1;
    callsByEndpoint[c.system] ??= {};
    callsByEndpoint[c.system]![c.endpoint] = (callsByEndpoint[c.system]![c.endpoint] ?? 0) + 1;
    if (c.fault) {
      const key = `${c.endpoint}:${c.fault}`;
      faultsByEndpoint[sys] ??= {};
      faultsByEndpoint[sys][key] = (faultsByEndpoint[sys][key] ?? 0) + 1;
    }
    if (c.rateLimited) rateLimited[`${sys}:${c.endpoint}`] = (rateLimited[`${sys}:${c.endpoint}`] ?? 0) + 1;
  }

  const seconds =
    Number.isFinite(lastShipped) && Number.isFinite(firstCreated) ? (lastShipped - firstCreated) / 1000 : 0;
  const byChannel: Record<string, number> = {};
  const byKind: Record<DespatchKind, number> = { whole: 0, parcels: 0, partial: 0 };
  for (const p of plans) {
    byChannel[p.channel] = (byChannel[p.channel] ?? 0) + 1;
    byKind[p.kind] += 1;
  }
  const completed = plans.length - lost.length;
  return {
    orders: plans.length,
    byChannel,
    byKind,
    parcels: plans.reduce((n, p) => n + p.calls.flat().length, 0),
    seconds,
    lastShippedAt: Number.isFinite(lastShipped) ? lastShipped : 0,
    ordersPerSec: seconds > 0 ? completed / seconds : 0,
    ackLatencyMs: percentiles(ack),
    createdAtByOrder,
    wmsLatencyMs: percentiles(wmsLatency),
    confirmLatencyMs: percentiles(confirm),
    lost,
    duplicateWms,
    duplicateConfirmations,
    wrongConfirmations,
    strays: [...miraklStrays, ...wmsStrays],
    faultsFired,
    faultsByEndpoint,
    rateLimited,
    calls: callCounts,
    callsByEndpoint,
    ...run,
  };
}

/**
 * The lines of a marketplace order that are not SHIPPED. A line shipped and then wholly refunded (a refund in
 * Shopify, or a customer return, reached the marketplace as OR28) is REFUNDED with its refunds, and counts as
 * shipped: the refunds themselves are judged on their own (refunds_*, wrong_refund_amounts).
 */
export function linesNotShipped<L extends { order_line_state: string; refunds?: unknown[] }>(lines: L[]): L[] {
  return lines.filter(
    (l) => l.order_line_state !== 'SHIPPED' && !(l.order_line_state === 'REFUNDED' && (l.refunds ?? []).length > 0),
  );
}
