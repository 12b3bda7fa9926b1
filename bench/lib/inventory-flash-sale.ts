// One simulated flash sale, run against the simulators with a given stock sync: hundreds of SKUs with
// little stock, orders arriving faster than once a minute on two Mirakl channels (ASOS, Joules) and a
// Marketplacer one (mkp) that share one Peoplevox stock. Customers only buy what the marketplace shows them;
// the marketplace decrements what it shows on each order; orders reach the warehouse when the channel's intake
// polls (OR11, once a simulated minute per Mirakl channel; Marketplacer's webhooks, within 5 simulated seconds),
// where the shared acceptance check decides each line. Marketplacer has no per-minute limit, only the key's
// budget (750 requests / 10 s), so its channel pushes every simulated second.
// Everything is measured from outside: the simulators' stock history and call log.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import axios from 'axios';
import pino from 'pino';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { sandboxSystems, SANDBOX_SECRETS } from '../../src/sandbox/systems';
import type { MiraklSimulator } from '../../src/sandbox/mirakl/simulator';
import type { marketplacerSimulator } from '../../src/sandbox/marketplacer';
import { MIRAKL_RATE_LIMITS } from '../../src/sandbox/mirakl/simulator';
import { PVX_RATE_LIMIT } from '../../src/sandbox/peoplevox/simulator';
import { CallLog } from '../../src/sandbox/core/call-log';
import { seededRandom } from '../../src/sandbox/core/faults';
import { createBudgetWorker, createRuntime } from '../../workers/runtime';
import { createHttpServers } from '../../src/http/server';
import { createInventoryWorker } from '../../src/inventory/worker';
import { createStockEventBatcher, ensureInventoryWorkflows, subscribeStockEvents } from '../../src/inventory/intake';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { reservationKey, signalReservations } from '../../src/inventory/reservations';
import type { ReservationChange } from '../../src/inventory/ledger';
import { decideStockAcceptance, type OutOfStockPolicy } from '../../src/inventory/acceptance';
import type { InventoryHealth } from '../../workflows/inventory';
import { inventoryBundle } from './inventory-bundle';
import { healthQuery } from '../../workflows/inventory';
import { inventoryLayout } from '../../src/inventory/available';
import { combineStats, historyStats, SERVER_LIMITS, type HistoryStats } from '../../src/temporal/history-stats';
import { externalWorkerProcesses, type WorkerProcessesReport } from './worker-processes';

export const CHANNELS = ['asos', 'joules', 'mkp'] as const;
type Channel = (typeof CHANNELS)[number];
const POLICY: Record<Channel, OutOfStockPolicy> = {
  asos: 'accept-and-backorder',
  joules: 'refuse-line',
  // Marketplacer has no acceptance step: a line is never refused.
  mkp: 'accept-and-backorder',
};
/** The Marketplacer channel's stock settings in every run (no per-minute limit: a push every simulated second). */
export const MKP_INVENTORY = '{ pushIntervalSeconds: 1 }';
/** Marketplacer's documented per-key budget. */
const MARKETPLACER_KEY_LIMIT = { max: 750, windowMs: 10_000 };

export interface SaleParams {
  timeScale: number;
  simulatedMinutes: number;
  skus: number;
  /** Starting stock per SKU is drawn from [minStock, maxStock]. */
  minStock: number;
  maxStock: number;
  /** Customer visits per simulated minute, per channel. */
  ordersPerMinutePerChannel: number;
  /** Goods-in every N simulated minutes: `restockSkus` SKUs get `restockUnits` each. */
  restockEveryMinutes: number;
  restockSkus: number;
  restockUnits: number;
  seed: number;
  /**
   * A sale on part of a large catalogue: this share of the customers' picks go to the first `hotSkus` SKUs
   * (the sale's lines), the rest anywhere in the catalogue. Absent: every pick anywhere (the 300-SKU sale).
   */
  hot?: { skus: number; share: number };
}

interface Propagation {
  wall: { p50: number; p95: number; p99: number; max: number };
  simulated: { p50: number; p95: number; p99: number; max: number };
  samples: number;
}

export const PROPAGATION_DEFINITION =
  'propagation_ms (the target measure): per channel, for each master change that alters what the channel should show — ' +
  'a decrease that leaves the marketplace showing more than the master now has (exposure: shown > new available), or an ' +
  'increase while the marketplace shows less than the new available — the time from the change at the master to the first ' +
  'STO01 applied for that SKU that reflects it: for a decrease, a quantity no higher than the highest master figure since ' +
  'the change; for an increase, a quantity above what the marketplace showed at the change. not_reflected counts relevant ' +
  'changes never reflected by the end of the run (e.g. a restock held back entirely by the velocity buffer); not_needed ' +
  'counts changes that did not alter what the channel should show (e.g. the marketplace had already decremented for its ' +
  "own order, or the velocity buffer absorbed it). propagation_until_next_push_ms: every master change to the SKU's next " +
  'STO01, the pessimistic figure, for reference.';

export const ORACLE_DEFINITION =
  'oracle: every channel sees the master instantly and without any rate limit — after every order (on any channel) and ' +
  'every goods-in, each marketplace shows the units the warehouse has minus the units ordered on any channel that the ' +
  'warehouse has not seen yet (its next intake poll). No buffers, no last-unit rule, no API calls: the most units this ' +
  "demand could buy without overselling. Its units sold (ordered − oversold) are the denominator of Loopline's share.";

interface WorkflowTaskFigures {
  tasks: number;
  longest_ms: number;
  longest_wait_ms: number;
  over_5s: number;
  failed: Record<string, number>;
}

export interface RunResult {
  mode: 'loopline' | 'full-sync-15min' | 'oracle';
  oversold_units: number;
  /** The same, per channel whose order found the warehouse short. */
  oversold_by_channel: Record<string, number>;
  /** propagation_ms per channel (the same definition). */
  propagation_by_channel: Record<
    string,
    Propagation & {
      changes_measured: number;
      not_reflected: number;
      by_kind: Record<string, { wall_p99: number; samples: number; not_reflected: number }>;
    }
  >;
  /** Marketplacer: the most Seller API calls in any (scaled) 10-second window against the key's 750. */
  marketplacer_key_budget: { max_in_10s: number; limit: number; within: boolean };
  /** Oversold units found at each simulated minute's intake (when the warehouse saw the orders). */
  oversold_by_minute: number[];
  refused_lines: number;
  backordered_lines: number;
  orders_placed: number;
  units_ordered: number;
  units_supplied: number;
  customers_turned_away: number;
  /**
   * The target measure: from a master change that alters what the channel should show, to the
   * marketplace applying (STO01) a quantity that reflects it. See PROPAGATION_DEFINITION.
   */
  propagation_ms: Propagation & { changes_measured: number; not_reflected: number; not_needed: number };
  /**
   * Pessimistic, for reference (not the target measure): every master change, to that SKU's next STO01
   * on the channel, whether or not the change altered what the channel should show.
   */
  propagation_until_next_push_ms: Propagation & { never_applied: number };
  api_calls: Record<string, number>;
  max_calls_per_minute: Record<string, { max: number; documented_per_minute: number | null; within: boolean }>;
  rate_limited_calls: number;
  /** Second of the simulated minute at which each STO01 arrived, per shop (intake polls: ASOS :00, Joules :30). */
  push_phase_simulated_s?: Record<string, number[]>;
  health?: Record<string, Partial<InventoryHealth>>;
  /** Loopline: the inventory workflows' histories as the server keeps them (every channel workflow and shard). */
  histories?: {
    workflows: number;
    runs: number;
    max_events_in_a_run: number;
    largest_payload_bytes: number;
    largest_event_bytes: number;
    largest_start_input_bytes: number;
    server_limits: { payload_bytes: number; history_events: number };
    /** Workflow tasks over every run (from the events' times): the longest, how many over 5 s, the failed by cause. */
    workflow_tasks: WorkflowTaskFigures;
    by_channel: Record<
      string,
      {
        shards: number;
        runs: number;
        max_events: number;
        largest_payload_bytes: number;
        /** The channel's own workflow and its shards apart. */
        workflow_tasks: { channel: WorkflowTaskFigures; shards: WorkflowTaskFigures };
      }
    >;
  };
  /** Units customers bought that the warehouse could supply: units_ordered − oversold_units. */
  units_sold: number;
  /** Wall ms from the start of the run to the sale's first visit (setup and the initial sync). */
  setup_ms: number;
  /** Loopline with its inventory worker in a process of its own: that process's memory and CPU. */
  worker_process?: WorkerProcessesReport;
}

/** Per-channel `inventory:` blocks (flow YAML) for a variant run; the default run uses none (defaults). */
export type InventoryVariant = Partial<Record<Channel, string>>;

function configYaml(url: string, suffix: string, timeScale: number, inventory: InventoryVariant = {}): string {
  const ch = (code: Channel, label: string, outOfStock: string) => `
  - code: ${code}
    label: ${label}
    platform: mirakl
    connection: { baseUrl: ${url}/mirakl/${code}, apiKeyEnv: MIRAKL_${code.toUpperCase()}_API_KEY }
    fulfilment: peoplevox
    currency: GBP
    acceptance: { outOfStock: ${outOfStock} }${inventory[code] ? `\n    inventory: ${inventory[code]}` : ''}`;
  return `
temporal:
  taskQueues: { orders: orders-${suffix}, acknowledge: ack-${suffix}, peoplevox: pvx-${suffix}, peoplevoxBulk: pvxb-${suffix}, inventory: inv-${suffix} }
# The absorption check sends its callbacks as fast as one address can: the per-source limit (default
# 3000 / 10 s, docs/security.md) is raised so the pipeline's capacity is what is measured.
http: { port: 0, internal: { port: 0 }, rateLimits: { peoplevox: { max: 1000000, windowSeconds: 10 } } }
log: { level: fatal }
sandbox: { enabled: true, demoOrdersPerMinute: 0, timeScale: ${timeScale} }
systems:
  peoplevox: { baseUrl: ${url}/peoplevox, clientId: bench-client, username: api-user, passwordEnv: PEOPLEVOX_PASSWORD }
channels:${ch('asos', 'ASOS Marketplace', POLICY.asos)}${ch('joules', 'Joules Marketplace', POLICY.joules)}
  - code: mkp
    label: Marketplacer
    platform: marketplacer
    connection: { baseUrl: ${url}/marketplacer/mkp, apiKeyEnv: MARKETPLACER_MKP_API_KEY }
    fulfilment: peoplevox
    currency: GBP
    inventory: ${inventory.mkp ?? MKP_INVENTORY}
`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function distribution(sorted: number[], simMs: (wall: number) => number): Propagation {
  const at = (p: number) => percentile(sorted, p);
  return {
    wall: { p50: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) ?? 0 },
    simulated: { p50: simMs(at(50)), p95: simMs(at(95)), p99: simMs(at(99)), max: simMs(sorted.at(-1) ?? 0) },
    samples: sorted.length,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runFlashSale(
  env: TestWorkflowEnvironment,
  mode: RunResult['mode'],
  p: SaleParams,
  log: (line: string) => void,
  opts: {
    absorb?: (ctx: {
      httpUrl: string;
      config: Config;
      env: TestWorkflowEnvironment;
      sandboxUrl: string;
    }) => Promise<unknown>;
    /** Loopline with non-default stock settings per channel (a variant run). */
    inventory?: InventoryVariant;
    /**
     * Loopline's inventory worker (its workflows, activities and the Peoplevox budget) in a process of its own, started
     * by the real entry point (workers/main.ts worker inventory, compiled: build dist/ first) against this Temporal
     * server, as a deployment runs it; the simulators, the HTTP listener and the harness stay in this process.
     * Unset: the worker runs in this process, sharing its event loop with the simulators.
     */
    workerProcess?: { temporalAddress: string; dir: string; compiled: boolean; nodeArgs?: string };
  } = {},
): Promise<RunResult & { absorption?: unknown }> {
  const setupStarted = Date.now();
  const suffix = randomUUID().slice(0, 8);
  const envVars = { ...process.env, ...SANDBOX_SECRETS };
  for (const [k, v] of Object.entries(SANDBOX_SECRETS)) process.env[k] ??= v;
  const quiet = pino({ level: 'silent' });
  const draft = parseConfig(configYaml('http://127.0.0.1:1', suffix, p.timeScale, opts.inventory), 'bench', envVars);
  const systems = sandboxSystems(draft, { env: envVars, catalogueSize: p.skus });
  const mirakl = systems.find((s) => s.name === 'mirakl') as MiraklSimulator;
  const mkp = (systems.find((s) => s.name === 'marketplacer:mkp') as ReturnType<typeof marketplacerSimulator>).store;
  /** What a channel shows for a SKU right now (read in-process). */
  const shownOn = (ch: Channel, sku: string) =>
    ch === 'mkp' ? (mkp.variantBySku(sku)?.countOnHand ?? 0) : mirakl.shops.get(ch)!.offers.get(sku)!.quantity;
  const sandbox: RunningSandbox = await startSandbox({ log: quiet, port: 0, timeScale: p.timeScale }, systems);
  const configText = configYaml(sandbox.url, suffix, p.timeScale, opts.inventory);
  const config = parseConfig(configText, 'bench', envVars);
  const control = axios.create({ baseURL: sandbox.url, timeout: 30_000 });
  const runtime = createRuntime(config, quiet, { timeScale: p.timeScale });
  const simMs = (wall: number) => wall * p.timeScale;
  const wallMs = (sim: number) => sim / p.timeScale;
  const stops: Array<() => Promise<void>> = [() => sandbox.close()];

  // ---- the same starting stock everywhere (the channels were in sync before the sale) --------------
  const rnd = seededRandom(p.seed);
  const skus = [...mirakl.shops.get('asos')!.offers.keys()];
  const warehouse = new Map<string, number>();
  for (const sku of skus) warehouse.set(sku, p.minStock + Math.floor(rnd() * (p.maxStock - p.minStock + 1)));
  const items = [...warehouse.entries()].map(([itemCode, available]) => ({ itemCode, available }));
  await control.put('/control/peoplevox/bench-client/stock', { items });
  for (const ch of ['asos', 'joules'] as const) {
    await control.put(`/control/mirakl/${ch}/offers`, {
      offers: items.map((i) => ({ offerSku: i.itemCode, quantity: i.available })),
    });
  }
  for (const i of items) {
    const v = mkp.variantBySku(i.itemCode);
    if (v) v.countOnHand = i.available;
  }
  let supplied = [...warehouse.values()].reduce((a, b) => a + b, 0);

  // ---- the stock sync under test ------------------------------------------------------------------
  let httpUrl = '';
  let workerReport: WorkerProcessesReport | undefined;
  if (mode === 'loopline') {
    let stopWorkers: () => Promise<void>;
    if (opts.workerProcess) {
      const fleet = externalWorkerProcesses({
        temporalAddress: opts.workerProcess.temporalAddress,
        dir: opts.workerProcess.dir,
        roles: () => ['inventory'],
        compiled: opts.workerProcess.compiled,
        ...(opts.workerProcess.nodeArgs
          ? { roleEnv: { inventory: { BENCH_NODE_ARGS: opts.workerProcess.nodeArgs } } }
          : {}),
        log: (line) => log(`  ${mode}: ${line}`),
      });
      const started = await fleet.externalWorkers.start(configText);
      stopWorkers = async () => {
        await started.stop();
        workerReport = fleet.reports[0];
      };
    } else {
      const worker = await createInventoryWorker({
        connection: env.nativeConnection,
        client: env.client,
        runtime,
        workflowBundle: await inventoryBundle(),
        timeScale: p.timeScale,
      });
      // The Peoplevox budget the stock reads keep to runs on its own queue (workers/runtime.ts).
      const budgetWorker = await createBudgetWorker({
        connection: env.nativeConnection,
        config,
        workflowBundle: await inventoryBundle(),
      });
      const running = Promise.all([worker.run(), budgetWorker.run()]);
      // A worker that stops on its own is a failed run, not a quiet one.
      running.catch((err: unknown) =>
        log(`  ${mode}: a worker stopped: ${err instanceof Error ? err.stack : String(err)}`),
      );
      stopWorkers = async () => {
        worker.shutdown();
        budgetWorker.shutdown();
        await running.catch(() => undefined);
      };
    }
    const batcher = createStockEventBatcher({ client: env.client, config, log: quiet, flushMs: 50 });
    const http = await createHttpServers({ config, client: env.client, log: quiet, inventory: { batcher } });
    httpUrl = (await http.listen()).publicUrl;
    await subscribeStockEvents(runtime.peoplevox, httpUrl, quiet, config);
    // A worker process ensures them itself at its start; ensuring them again is a no-op.
    await ensureInventoryWorkflows(env.client, config);
    stops.unshift(async () => {
      // Callbacks first: a stock event batched after the terminate would signal-with-start the channel's
      // workflow again on this run's task queue, and the next run would find it running with no worker.
      await http.close();
      await batcher.close();
      for (const ch of CHANNELS) {
        // Its shards too (a large catalogue), so nothing of this run keeps running without a worker.
        const layout = await inventoryLayout(env.client, config, ch).catch(() => undefined);
        const ids = [inventoryWorkflowId(ch), ...(layout?.mode === 'sharded' ? layout.ids : [])];
        for (const id of ids)
          await env.client.workflow
            .getHandle(id)
            .terminate('bench over')
            .catch(() => undefined);
      }
      // The Peoplevox budget's lanes go back while its worker still serves the budget workflow (without, this run's
      // holders renewed them, in vain, through the runs that followed).
      await runtime.close();
      await stopWorkers();
    });
    // Wait for the first full read and push of every SKU, so both runs start from the same place.
    let said = Date.now();
    for (const ch of CHANNELS) {
      for (;;) {
        const h = await env.client.workflow
          .getHandle(inventoryWorkflowId(ch))
          .query(healthQuery)
          .catch(() => undefined);
        if (h && h.pushes > 0 && h.pendingCount === 0) break;
        if (Date.now() - said > 10_000) {
          said = Date.now();
          log(
            `  initial sync of ${ch}: ${h ? `${h.pushes} pushes, ${h.rowsPushed} rows, ${h.pendingCount} pending, ${h.fullReads} reads, layout ${h.layout?.mode ?? 'local'} × ${h.layout?.shards ?? 1}, ${h.failedPushes} failed${h.lastPushError ? ` (${h.lastPushError})` : ''}` : 'no answer'}`,
          );
        }
        await sleep(100);
      }
    }
    log(`  ${mode}: initial sync done in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s`);
  }

  // ---- the sale -----------------------------------------------------------------------------------
  const t0 = Date.now();
  const masterChanges: Array<{
    sku: string;
    at: number;
    before: number;
    after: number;
    shown: Record<Channel, number>;
  }> = [];
  const lastMaster = new Map(warehouse);
  const orders: Record<Channel, Array<{ id: string; sku: string; qty: number }>> = { asos: [], joules: [], mkp: [] };
  const oversoldByChannel: Record<string, number> = { asos: 0, joules: 0, mkp: 0 };
  let orderSeq = 0;
  const result = { oversold: 0, refused: 0, backordered: 0, placed: 0, unitsOrdered: 0, turnedAway: 0 };
  const oversoldByMinute: number[] = [];

  /** Oracle: units ordered per SKU on any channel that the warehouse has not seen yet. */
  const unseen = new Map<string, number>();
  /** Oracle: every channel shows what is truly left, at once and without an API call. */
  const showTruth = (sku: string) => {
    const left = Math.max(0, (warehouse.get(sku) ?? 0) - (unseen.get(sku) ?? 0));
    for (const ch of ['asos', 'joules'] as const) {
      const offer = mirakl.shops.get(ch)!.offers.get(sku);
      if (offer) offer.quantity = left;
    }
    const v = mkp.variantBySku(sku);
    if (v) v.countOnHand = left;
  };

  const setWarehouse = async (changed: string[]) => {
    if (changed.length === 0) return;
    if (mode === 'oracle') for (const sku of changed) showTruth(sku);
    const at = Date.now();
    await control.put('/control/peoplevox/bench-client/stock', {
      items: changed.map((itemCode) => ({ itemCode, available: warehouse.get(itemCode)! })),
    });
    for (const sku of changed) {
      // What each marketplace shows at the moment of the change (read in-process, before Loopline can react).
      const shown = Object.fromEntries(CHANNELS.map((ch) => [ch, shownOn(ch, sku)])) as Record<Channel, number>;
      masterChanges.push({ sku, at, before: lastMaster.get(sku) ?? 0, after: warehouse.get(sku)!, shown });
      lastMaster.set(sku, warehouse.get(sku)!);
    }
  };

  /** The channel's intake: orders placed since the last poll reach the warehouse. */
  const poll = async (ch: Channel) => {
    const batch = orders[ch].splice(0);
    const changed = new Set<string>();
    // Oracle: the warehouse sees these orders now; they stop counting as unseen (the figure shown stays).
    if (mode === 'oracle') for (const o of batch) unseen.set(o.sku, (unseen.get(o.sku) ?? 0) - o.qty);
    const loopline = mode === 'loopline';
    // Loopline's intake (activities/intake.ts): the orders it just read are reserved in every channel
    // sharing the stock before the warehouse gets them. (The bench hands them to the warehouse at once;
    // in production the sales order is created after acceptance and the debit, a poll or more later.)
    if (loopline && batch.length > 0) {
      await signalReservations(
        env.client,
        config,
        batch.map((o) => ({
          op: 'reserve' as const,
          key: reservationKey(ch, o.id, '1'),
          itemCode: o.sku,
          quantity: o.qty,
          at: Date.now(),
        })),
      );
    }
    const followUp: ReservationChange[] = [];
    const sentAt = Date.now();
    for (const o of batch) {
      const [d] = decideStockAcceptance(POLICY[ch], [{ lineId: '1', itemCode: o.sku, quantity: o.qty }], {
        [o.sku]: warehouse.get(o.sku) ?? 0,
      });
      result.oversold += d!.shortBy;
      oversoldByChannel[ch] = (oversoldByChannel[ch] ?? 0) + d!.shortBy;
      const minute = Math.floor(simMs(Date.now() - t0) / 60_000);
      oversoldByMinute[minute] = (oversoldByMinute[minute] ?? 0) + d!.shortBy;
      // As the order path would: a refused line releases its reservation; an accepted one's warehouse
      // order is sent now (its allocation, even a short one, is in every master figure from here on).
      followUp.push(
        d!.accepted
          ? { op: 'allocated', key: reservationKey(ch, o.id, '1'), at: sentAt }
          : { op: 'release', key: reservationKey(ch, o.id, '1'), at: sentAt, reason: 'refused' },
      );
      if (!d!.accepted) result.refused++;
      if (d!.backorder) result.backordered++;
      const take = Math.min(o.qty, warehouse.get(o.sku) ?? 0);
      if (take > 0) {
        warehouse.set(o.sku, warehouse.get(o.sku)! - take);
        changed.add(o.sku);
      }
    }
    await setWarehouse([...changed]);
    if (loopline) await signalReservations(env.client, config, followUp);
  };

  const fullSync = async () => {
    const avail = await runtime.peoplevox.listAvailability();
    for (const ch of ['asos', 'joules'] as const) {
      await runtime.mirakl(ch).importStock(avail.map((a) => ({ offerSku: a.itemCode, quantity: a.available })));
    }
    // Marketplacer: every variant's absolute count, one variantUpdate each.
    const client = runtime.marketplacer('mkp');
    const bySku = new Map(avail.map((a) => [a.itemCode, a.available]));
    for (const v of await client.allVariants()) {
      const q = v.sku ? bySku.get(v.sku) : undefined;
      if (q !== undefined) await client.variantUpdate(v.id, Math.max(0, q));
    }
  };

  // Timelines in simulated ms.
  const visits: Array<{ at: number; ch: Channel; pick: number[]; qty: number }> = [];
  for (const ch of CHANNELS) {
    let t = 0;
    const rate = p.ordersPerMinutePerChannel / 60_000;
    for (;;) {
      t += -Math.log(1 - rnd()) / rate;
      if (t >= p.simulatedMinutes * 60_000) break;
      visits.push({
        at: t,
        ch,
        pick: [0, 1, 2].map(() =>
          p.hot && rnd() < p.hot.share
            ? Math.floor(rnd() * Math.min(p.hot.skus, skus.length))
            : Math.floor(rnd() * skus.length),
        ),
        qty: rnd() < 0.85 ? 1 : 2,
      });
    }
  }
  visits.sort((a, b) => a.at - b.at);
  const events: Array<{ at: number; run: () => Promise<void> }> = [];
  for (const v of visits) {
    events.push({
      at: v.at,
      run: async () => {
        for (const i of v.pick) {
          const sku = skus[i]!;
          const shown = shownOn(v.ch, sku);
          if (shown <= 0) continue;
          const qty = Math.min(v.qty, shown);
          if (v.ch === 'mkp') mkp.placeInvoice({ lines: [{ sku, quantity: qty }] });
          else mirakl.shops.get(v.ch)!.createOrder({ lines: [{ offerSku: sku, quantity: qty }] });
          orders[v.ch].push({ id: `${v.ch}-${++orderSeq}`, sku, qty });
          if (mode === 'oracle') {
            unseen.set(sku, (unseen.get(sku) ?? 0) + qty);
            showTruth(sku);
          }
          result.placed++;
          result.unitsOrdered += qty;
          return;
        }
        result.turnedAway++;
      },
    });
  }
  for (let m = 1; m <= p.simulatedMinutes + 1; m++) {
    events.push({ at: m * 60_000, run: () => poll('asos') });
    events.push({ at: m * 60_000 - 30_000, run: () => poll('joules') });
  }
  // Marketplacer's orders arrive by webhook within seconds: its intake every 5 simulated seconds.
  for (let t = 5_000; t <= (p.simulatedMinutes + 1) * 60_000; t += 5_000)
    events.push({ at: t, run: () => poll('mkp') });
  for (let m = p.restockEveryMinutes; m < p.simulatedMinutes; m += p.restockEveryMinutes) {
    events.push({
      at: m * 60_000 + 7_000,
      run: async () => {
        const chosen = new Set<string>();
        // Goods-in for the sale's lines (a large catalogue's sale), or anywhere (the 300-SKU sale).
        const pool = p.hot ? Math.min(p.hot.skus, skus.length) : skus.length;
        while (chosen.size < Math.min(p.restockSkus, pool)) chosen.add(skus[Math.floor(rnd() * pool)]!);
        for (const sku of chosen) warehouse.set(sku, warehouse.get(sku)! + p.restockUnits);
        supplied += chosen.size * p.restockUnits;
        await setWarehouse([...chosen]);
      },
    });
  }
  // The scheduled sync runs beside the sale (at 50,000 SKUs one sync is minutes of Marketplacer calls).
  const syncs: Array<Promise<void>> = [];
  if (mode === 'full-sync-15min') {
    for (let m = 15; m <= p.simulatedMinutes; m += 15)
      events.push({
        at: m * 60_000 + 1_000,
        run: async () => {
          syncs.push(fullSync().catch((err: unknown) => log(`  full sync failed: ${String(err)}`)));
        },
      });
  }
  events.sort((a, b) => a.at - b.at);
  log(`  ${mode}: ${visits.length} customer visits over ${p.simulatedMinutes} simulated minutes`);
  const setupMs = Date.now() - setupStarted;
  for (const e of events) {
    const due = t0 + wallMs(e.at);
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    await e.run();
  }
  // Let the last pushes land before reading what the marketplaces applied.
  await sleep(wallMs(2 * 60_000));
  await Promise.all(syncs);
  const endAt = Date.now();
  log(`  ${mode}: sale over in ${((endAt - t0) / 1000).toFixed(1)} s (wall)`);

  // ---- measure from outside -----------------------------------------------------------------------
  const lat: number[] = [];
  const honest: number[] = [];
  let never = 0;
  let notReflected = 0;
  let notNeeded = 0;
  // Master figures per SKU over time, for "the highest master figure since the change".
  const masterSeries = new Map<string, Array<{ at: number; value: number }>>();
  for (const c of masterChanges) {
    const list = masterSeries.get(c.sku) ?? [];
    list.push({ at: c.at, value: c.after });
    masterSeries.set(c.sku, list);
  }
  const highestSince = (sku: string, from: number, to: number) => {
    let most = -Infinity;
    for (const m of masterSeries.get(sku) ?? []) if (m.at >= from && m.at <= to) most = Math.max(most, m.value);
    return most;
  };
  const perChannel: Record<
    string,
    {
      honest: number[];
      notReflected: number;
      byKind: Record<'exposure' | 'unlock', number[]>;
      notReflectedByKind: Record<'exposure' | 'unlock', number>;
    }
  > = {};
  for (const ch of CHANNELS) {
    const bySku = new Map<string, Array<{ at: number; quantity: number }>>();
    if (ch === 'mkp') {
      // What Marketplacer applied: variantUpdate calls that reached the marketplace.
      for (const h of mkp.stockHistory) {
        if (h.source !== 'api' || h.dropped || !h.sku) continue;
        const list = bySku.get(h.sku) ?? [];
        list.push({ at: h.at, quantity: h.countOnHand });
        bySku.set(h.sku, list);
      }
    } else {
      const { data } = await control.get(`/control/mirakl/${ch}/stock-history`);
      for (const h of (data as { history: Array<{ at: string; offerSku: string; source: string; quantity: number }> })
        .history) {
        if (h.source !== 'STO01') continue;
        const list = bySku.get(h.offerSku) ?? [];
        list.push({ at: Date.parse(h.at), quantity: h.quantity });
        bySku.set(h.offerSku, list);
      }
    }
    const mine = (perChannel[ch] = {
      honest: [] as number[],
      notReflected: 0,
      byKind: { exposure: [] as number[], unlock: [] as number[] },
      notReflectedByKind: { exposure: 0, unlock: 0 },
    });
    for (const c of masterChanges) {
      const applied = (bySku.get(c.sku) ?? []).filter((a) => a.at >= c.at);
      if (applied.length === 0) never++;
      else lat.push(applied[0]!.at - c.at);
      const shown = c.shown[ch];
      const exposure = c.after < c.before && shown > c.after;
      const unlock = c.after > c.before && shown < c.after;
      if (!exposure && !unlock) {
        notNeeded++;
        continue;
      }
      const reflecting = applied.find((a) =>
        exposure ? a.quantity <= highestSince(c.sku, c.at, a.at) : a.quantity > shown,
      );
      if (reflecting) {
        honest.push(reflecting.at - c.at);
        mine.honest.push(reflecting.at - c.at);
        mine.byKind[exposure ? 'exposure' : 'unlock'].push(reflecting.at - c.at);
      } else {
        notReflected++;
        mine.notReflected++;
        mine.notReflectedByKind[exposure ? 'exposure' : 'unlock']++;
      }
    }
  }
  lat.sort((a, b) => a - b);
  honest.sort((a, b) => a - b);
  // When in the simulated minute each STO01 landed (ASOS polls at :00, Joules at :30), for diagnosis.
  const pushPhases: Record<string, number[]> = {};
  for (const c of sandbox.ctx.calls.list({ system: 'mirakl', endpoint: 'STO01' })) {
    const at = c.at;
    if (!Number.isFinite(at) || at < t0) continue;
    (pushPhases[c.tenant ?? ''] ??= []).push(Math.round((simMs(at - t0) % 60_000) / 1000));
  }
  const calls = sandbox.ctx.calls
    .list({})
    .filter((c) => c.system === 'mirakl' || c.system === 'peoplevox' || c.system === 'marketplacer');
  const mkpCalls = calls.filter((c) => c.system === 'marketplacer');
  const mkpBusiest = CallLog.maxInWindow(mkpCalls, wallMs(MARKETPLACER_KEY_LIMIT.windowMs));
  const apiCalls: Record<string, number> = {};
  const byKey = new Map<string, typeof calls>();
  for (const c of calls) {
    const key = `${c.system}:${c.tenant ?? ''}:${c.endpoint}`;
    apiCalls[key] = (apiCalls[key] ?? 0) + 1;
    byKey.set(key, [...(byKey.get(key) ?? []), c]);
  }
  const maxPerMinute: RunResult['max_calls_per_minute'] = {};
  for (const [key, list] of byKey) {
    const [system, , endpoint] = key.split(':');
    const limit =
      system === 'mirakl' ? MIRAKL_RATE_LIMITS[endpoint!] : system === 'peoplevox' ? PVX_RATE_LIMIT : undefined;
    const perMinute = limit ? Math.floor((limit.max * 60_000) / limit.windowMs) : null;
    const max = CallLog.maxInWindow(list, wallMs(60_000));
    const inDocWindow = limit ? CallLog.maxInWindow(list, wallMs(limit.windowMs)) : 0;
    maxPerMinute[key] = {
      max,
      documented_per_minute: perMinute,
      within: limit ? max <= perMinute! && inDocWindow <= limit.max : true,
    };
  }
  const health: RunResult['health'] = {};
  if (mode === 'loopline') {
    for (const ch of CHANNELS) {
      const h = await env.client.workflow.getHandle(inventoryWorkflowId(ch)).query(healthQuery);
      health[ch] = {
        pushes: h.pushes,
        rowsPushed: h.rowsPushed,
        rowsByPriority: h.rowsByPriority,
        failedPushes: h.failedPushes,
        signals: h.signals,
        eventsReceived: h.eventsReceived,
        fullReads: h.fullReads,
        driftUnitsTotal: h.driftUnitsTotal,
        historyLength: h.historyLength,
        runs: h.runs,
        reservations: h.reservations,
        reservationsReleased: h.reservationsReleased,
        heldForIntake: h.heldForIntake,
      };
    }
  }
  let histories: RunResult['histories'];
  const taskFigures = (h: HistoryStats): WorkflowTaskFigures => ({
    tasks: h.workflowTasks,
    longest_ms: h.longestWorkflowTaskMs,
    longest_wait_ms: h.longestWorkflowTaskWaitMs,
    over_5s: h.workflowTasksOver5s,
    failed: h.workflowTasksFailed,
  });
  if (mode === 'loopline') {
    // Read from the server: every run of every channel workflow and of its shards.
    const byChannel: NonNullable<RunResult['histories']>['by_channel'] = {};
    const all: HistoryStats[] = [];
    for (const ch of CHANNELS) {
      // After the sale the worker may still be busy (a channel replaying its run): give the query time, not 5 s.
      const layout = await inventoryLayout(env.client, config, ch, 60_000);
      const ids = [inventoryWorkflowId(ch), ...(layout.mode === 'sharded' ? layout.ids : [])];
      const stats = await Promise.all(ids.map((id) => historyStats(env.client, id)));
      // FLASH_SALE_HISTORIES=<dir>: the channel workflow's runs and its first shard's, as the server keeps them
      // (historyToJSON), to trace a push cycle from the events' times (which wait, for how long).
      const dumpTo = process.env.FLASH_SALE_HISTORIES;
      if (dumpTo) await dumpHistories(env.client, ids.slice(0, 2), dumpTo);
      const c = combineStats(stats, ch);
      all.push(...stats);
      byChannel[ch] = {
        shards: layout.mode === 'sharded' ? layout.count : 0,
        runs: c.runs,
        max_events: c.maxEvents,
        largest_payload_bytes: c.largestPayloadBytes,
        workflow_tasks: { channel: taskFigures(stats[0]!), shards: taskFigures(combineStats(stats.slice(1))) },
      };
    }
    const t = combineStats(all);
    histories = {
      workflows: all.length,
      runs: t.runs,
      max_events_in_a_run: t.maxEvents,
      largest_payload_bytes: t.largestPayloadBytes,
      largest_event_bytes: t.largestEventBytes,
      largest_start_input_bytes: t.largestStartInputBytes,
      server_limits: { payload_bytes: SERVER_LIMITS.payloadBytes, history_events: SERVER_LIMITS.historyEvents },
      workflow_tasks: taskFigures(t),
      by_channel: byChannel,
    };
  }
  const absorption =
    mode === 'loopline' && opts.absorb
      ? await opts.absorb({ httpUrl, config, env, sandboxUrl: sandbox.url })
      : undefined;
  for (const stop of stops) await stop().catch(() => undefined);
  return {
    mode,
    oversold_units: result.oversold,
    oversold_by_channel: oversoldByChannel,
    propagation_by_channel: Object.fromEntries(
      Object.entries(perChannel).map(([ch, m]) => [
        ch,
        {
          ...distribution(
            [...m.honest].sort((a, b) => a - b),
            simMs,
          ),
          changes_measured: m.honest.length + m.notReflected,
          not_reflected: m.notReflected,
          // Decreases the marketplace showed too much for (exposure), and increases it showed too little for.
          by_kind: Object.fromEntries(
            (['exposure', 'unlock'] as const).map((k) => [
              k,
              {
                wall_p99: distribution(
                  [...m.byKind[k]].sort((a, b) => a - b),
                  simMs,
                ).wall.p99,
                samples: m.byKind[k].length,
                not_reflected: m.notReflectedByKind[k],
              },
            ]),
          ),
        },
      ]),
    ),
    marketplacer_key_budget: {
      max_in_10s: mkpBusiest,
      limit: MARKETPLACER_KEY_LIMIT.max,
      within: mkpBusiest <= MARKETPLACER_KEY_LIMIT.max,
    },
    oversold_by_minute: Array.from(oversoldByMinute, (x) => x ?? 0),
    refused_lines: result.refused,
    backordered_lines: result.backordered,
    orders_placed: result.placed,
    units_ordered: result.unitsOrdered,
    units_sold: result.unitsOrdered - result.oversold,
    units_supplied: supplied,
    setup_ms: setupMs,
    customers_turned_away: result.turnedAway,
    propagation_ms: {
      ...distribution(honest, simMs),
      changes_measured: honest.length + notReflected,
      not_reflected: notReflected,
      not_needed: notNeeded,
    },
    propagation_until_next_push_ms: { ...distribution(lat, simMs), never_applied: never },
    api_calls: apiCalls,
    max_calls_per_minute: maxPerMinute,
    rate_limited_calls: calls.filter((c) => c.rateLimited).length,
    push_phase_simulated_s: pushPhases,
    ...(mode === 'loopline' ? { health, histories } : {}),
    ...(absorption ? { absorption } : {}),
    ...(workerReport ? { worker_process: workerReport } : {}),
  };
}

async function dumpHistories(client: TestWorkflowEnvironment['client'], ids: string[], dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const id of ids) {
    for await (const w of client.workflow.list({ query: `WorkflowId = '${id.replace(/'/g, "\\'")}'` })) {
      const history = await client.workflow.getHandle(id, w.runId).fetchHistory();
      writeFileSync(join(dir, `${id.replace(/[^\w.-]+/g, '_')}-${w.runId}.json`), historyToJSON(history as never));
    }
  }
}
