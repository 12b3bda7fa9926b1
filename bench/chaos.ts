// `npm run bench:chaos [-- --orders N --time-scale S …]`: the chaos run on the production-shaped cluster.
// A real Temporal server (1.32.2) on PostgreSQL 15 (src/devtools/cluster.ts, as `npm run cluster` runs it);
// the simulators (Mirakl, Peoplevox, Shopify), the HTTP server and N replicas of every worker role, each in
// its own process started by the deployment's entry points (bench/lib/processes.ts). Orders arrive on every
// route — ASOS and Joules to Peoplevox (bench/lib/traffic.ts), a third Mirakl channel to Shopify with refunds
// (bench/lib/shopify-traffic.ts), Marketplacer invoices to Peoplevox (bench/lib/marketplacer-traffic.ts), and
// returns of a share of the shipped ASOS orders through Reveni (bench/lib/returns-traffic.ts: Mirakl customer
// returns Loopline sends on to Reveni, and Reveni-instant returns; refunds OR28, restocks STO01) — with the
// fault profile on every endpoint, while the run: kills a worker
// process of each role with SIGKILL while the simulator holds a slow response to it (an activity in flight),
// then starts it again as a supervisor would; kills and restarts the Temporal server; stops PostgreSQL in
// immediate mode and starts it again; takes Peoplevox down for 10 scaled minutes and Mirakl for 5; with returns,
// kills an acknowledge worker mid-refund (OR28) and an orders worker mid-registration of a return in Reveni.
// Judged from the simulators' state (orders, shipments, refunds, call logs) and the server's visibility and
// histories, never from Loopline's own counters. Then the engine ceiling on the same server. Writes
// bench/results/chaos.json (see bench/README.md). Heavy: run it under `flock /work/wt/bench.lock` or alone.
import './lib/sdk-logging';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { AxiosInstance } from 'axios';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCluster, freePorts } from '../src/devtools/cluster';
import { PROJECT_ROOT } from '../src/devtools/tools';
import { parseConfig } from '../src/config/load';
import type { Config } from '../src/config/schema';
import { orderWorkflowId } from '../src/domain/keys';
import { CallLog, type CallRecord } from '../src/sandbox/core/call-log';
import { shopifyBudget } from '../src/config/budget';
import { shopifyTenant } from '../src/connectors/shopify/shared-budget';
import { FaultInjector, type FaultRule, type HeldRequest } from '../src/sandbox/core/faults';
import { MIRAKL_RATE_LIMITS } from '../src/sandbox/mirakl/simulator';
import { PVX_RATE_LIMIT } from '../src/sandbox/peoplevox/simulator';
import { subscribeSandboxMarketplacerWebhooks } from '../src/sandbox/marketplacer/setup';
import { SANDBOX_SECRETS } from '../src/sandbox/systems';
import { orderWorkflow } from '../workflows/order';
import { orderStateQuery, type OrderWorkflowState } from '../workflows/order/messages';
import { TEST_SECURITY_YAML, encryptionPlugin, testDataConverter } from '../test/support/temporal';
import { REASONS_YAML } from '../test/support/returns';
import { RATE_LIMIT_DEFAULTS } from '../src/config/schema';
import { runCli } from '../test/support/cli';
import { runCeiling } from './lib/ceiling';
import { routedControl, type SimulatedSystem } from './lib/control';
import { startForwarder } from './lib/forwarder';
import { inParallel } from './lib/in-parallel';
import { ProcessFleet, childPids } from './lib/processes';
import { runMarketplacerTraffic, type MarketplacerTrafficReport } from './lib/marketplacer-traffic';
import { runReturnTraffic, type ReturnCandidate, type ReturnTrafficReport } from './lib/returns-traffic';
import { runShopifyTraffic, planShopifyOrders, type ShopifyTrafficReport } from './lib/shopify-traffic';
import {
  DEFAULT_FAULTS,
  faultRules,
  planOrders,
  runOrderTraffic,
  type FaultProfile,
  type TrafficReport,
} from './lib/traffic';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '10000' },
    'time-scale': { type: 'string', default: '10' },
    replicas: { type: 'string', default: '3' },
    'arrival-minutes': { type: 'string', default: '50' },
    'shopify-share': { type: 'string', default: '0.3' },
    'refund-share': { type: 'string', default: '0.2' },
    'marketplacer-share': { type: 'string', default: '0.1' },
    /** The share of the ASOS → Peoplevox orders that get a return through Reveni once shipped. */
    'returns-share': { type: 'string', default: '0.1' },
    'fault-probability': { type: 'string', default: String(DEFAULT_FAULTS.probability) },
    'peoplevox-outage-minutes': { type: 'string', default: '10' },
    'mirakl-outage-minutes': { type: 'string', default: '5' },
    'ceiling-orders': { type: 'string', default: '2000' },
    'ceiling-timeout-minutes': { type: 'string', default: '10' },
    /** How long after the last arrival the harnesses wait for every order before judging what they have. */
    'drain-minutes': { type: 'string', default: '45' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench', 'results', 'chaos.json') },
  },
});

const say = (line: string) => process.stderr.write(`[bench:chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The third Mirakl channel, fulfilled by Shopify (multi-shipment, ST01). */
const SHOP_CHANNEL = 'asos-shopify';
const ROLES = ['orders', 'acknowledge', 'peoplevox', 'inventory', 'shopify', 'marketplacer'] as const;
/** The Marketplacer channel (Seller GraphQL API, signed webhooks), fulfilled by Peoplevox; warehouse prefix MKP. */
const MKP_CHANNEL = 'mkp';
/** Marketplacer's documented per-address budget (every Loopline process calls from one address here). */
const MARKETPLACER_LIMIT = { max: 600, windowMs: 10_000 };
const ID_PREFIX = 'CHAOS';
const SYSTEMS = ['mirakl', 'peoplevox', 'shopify', 'marketplacer', 'reveni'] as const;
/** ASOS's Reveni store (systems.reveni.stores.asos) on the returns route. */
const REVENI_STORE = 'chaos-asos';

interface Ports {
  mirakl: number;
  peoplevox: number;
  shopify: number;
  marketplacer: number;
  reveni: number;
  http: number;
  internal: number;
}

/** With returns (returnWindowDays > 0): ASOS's returns go through Reveni, its orders open for that many days. */
function configYaml(
  p: Ports,
  address: string,
  timeScale: number,
  marketplacer: boolean,
  returnWindowDays: number,
): string {
  const sim = (port: number) => `http://127.0.0.1:${port}`;
  // The intake overlap (wall-clock) is cut in proportion to the time scale, as bench/lib/traffic.ts does in
  // process: otherwise every scaled poll would re-read two real minutes of orders.
  const intake = `{ overlapSeconds: ${Math.max(1, Math.ceil(120 / timeScale))} }`;
  const carriers = (rm: string) => `{ Royal Mail: { code: ${rm} }, DPD: { code: DPD } }`;
  const returns = returnWindowDays > 0;
  // Reveni's webhooks per source are limited in real seconds while the sandbox runs timeScale times faster:
  // scaled like time (as bench/returns.ts does), else a busy minute would be refused and, retries scaled too, lost.
  const reveniLimit = `{ max: ${RATE_LIMIT_DEFAULTS.reveni.max * timeScale}, windowSeconds: ${RATE_LIMIT_DEFAULTS.reveni.windowSeconds} }`;
  return `# Written by bench/chaos.ts
temporal: { address: ${address}, namespace: default }
http: { host: 127.0.0.1, port: ${p.http}, internal: { host: 127.0.0.1, port: ${p.internal} }${returns ? `, rateLimits: { reveni: ${reveniLimit} }` : ''} }
log: { level: info, format: json }
sandbox: { enabled: true, timeScale: ${timeScale}, demoOrdersPerMinute: 0, multiShipmentChannels: [asos, ${SHOP_CHANNEL}] }
systems:
  peoplevox: { baseUrl: ${sim(p.peoplevox)}/peoplevox, clientId: chaos-client, username: api-user, passwordEnv: PEOPLEVOX_PASSWORD }
  shopify: { baseUrl: ${sim(p.shopify)}/shopify/loopline-chaos, accessTokenEnv: SHOPIFY_ACCESS_TOKEN, webhookSecretEnv: SHOPIFY_WEBHOOK_SECRET, refundReasons: { damaged: '17', '*': '16' } }${
    returns
      ? `
  reveni: { baseUrl: ${sim(p.reveni)}/reveni, apiKeyEnv: REVENI_API_KEY, stores: { asos: ${REVENI_STORE} } }`
      : ''
  }${returns ? REASONS_YAML : ''}
channels:
  - code: asos
    label: ASOS Marketplace
    platform: mirakl
    connection: { baseUrl: ${sim(p.mirakl)}/mirakl/asos, apiKeyEnv: MIRAKL_ASOS_API_KEY }
    fulfilment: peoplevox
    currency: GBP
    returnWindowDays: ${returnWindowDays}${
      returns
        ? `
    returns: reveni
    returnPolicy: { platformPollMinutes: 5 }`
        : ''
    }
    intake: ${intake}
    carrierMap: ${carriers('ROYALMAIL')}
  - code: joules
    label: Joules Marketplace
    platform: mirakl
    connection: { baseUrl: ${sim(p.mirakl)}/mirakl/joules, apiKeyEnv: MIRAKL_JOULES_API_KEY }
    fulfilment: peoplevox
    currency: GBP
    returnWindowDays: 0
    intake: ${intake}
    carrierMap: ${carriers('RM')}
  - code: ${SHOP_CHANNEL}
    label: ASOS Marketplace (Shopify fulfilment)
    platform: mirakl
    connection: { baseUrl: ${sim(p.mirakl)}/mirakl/${SHOP_CHANNEL}, apiKeyEnv: MIRAKL_ASOS_API_KEY }
    fulfilment: shopify
    currency: GBP
    returnWindowDays: 1
    intake: ${intake}
    carrierMap: ${carriers('ROYALMAIL')}${
      marketplacer
        ? `
  - code: ${MKP_CHANNEL}
    label: Marketplacer
    platform: marketplacer
    connection: { baseUrl: ${sim(p.marketplacer)}/marketplacer/${MKP_CHANNEL}, apiKeyEnv: MARKETPLACER_MKP_API_KEY }
    fulfilment: peoplevox
    currency: GBP
    returnWindowDays: 0
    intake: ${intake}
    carrierMap: { Royal Mail: { name: Royal Mail }, DPD: { name: DPD } }`
        : ''
    }
${TEST_SECURITY_YAML}`;
}

// ---- chaos events -------------------------------------------------------------------------------------------

interface KillEvent {
  role: string;
  process?: string;
  pid?: number;
  /** The call the simulator was holding for that process when it was killed. */
  in_flight?: { system: string; endpoint: string; tenant?: string; held_ms: number };
  at_s: number;
  replacement_ready_s?: number;
  skipped?: string;
}

interface ChaosLog {
  kills: KillEvent[];
  server_restarts: Array<{ signal: string; at_s: number; down_ms: number }>;
  database_restarts: Array<{ mode: string; at_s: number; down_ms: number }>;
  outages: Array<{ system: string; scaled_minutes: number; at_s: number; ms: number }>;
}

class Chaos {
  readonly log: ChaosLog = { kills: [], server_restarts: [], database_restarts: [], outages: [] };
  constructor(
    private readonly o: {
      control: AxiosInstance;
      fleet: ProcessFleet;
      cluster: LocalCluster;
      ports: Ports;
      rules: Record<SimulatedSystem, FaultRule[]>;
      timeScale: number;
      t0: number;
    },
  ) {}

  private at(): number {
    return round((Date.now() - this.o.t0) / 1000, 1);
  }

  /**
   * kill -9 of the `role` replica that is waiting on a slow response: the simulator holds the next `endpoint`
   * call (a `timeout` fault), the call's TCP connection names the process, and that process is killed while
   * its activity is in flight; a new process takes its place after a supervisor's pause.
   */
  async killMidActivity(role: string, system: SimulatedSystem, endpoint: string, holdMs: number, tenant?: string) {
    const { control, fleet } = this.o;
    const hold: FaultRule = { endpoint, kind: 'timeout', count: 1, delayMs: holdMs, ...(tenant ? { tenant } : {}) };
    const current = ((await control.get(`/control/faults/${system}`)).data as { rules: FaultRule[] }).rules;
    await control.put(`/control/faults/${system}`, { rules: [hold, ...current] });
    const until = Date.now() + 180_000;
    while (Date.now() < until) {
      const holding = ((await control.get(`/control/faults/${system}`)).data as { holding: HeldRequest[] }).holding;
      for (const h of holding) {
        if (h.endpoint !== endpoint || !h.remotePort || Date.now() - h.since < 300) continue;
        const member = fleet.memberOnConnection(h.remotePort, this.o.ports[system]);
        if (!member) continue;
        if (member.role !== role) {
          say(`held ${endpoint} belongs to ${member.name}, not a ${role} worker: not killed`);
          continue;
        }
        const event: KillEvent = {
          role,
          process: member.name,
          pid: member.process.child.pid,
          in_flight: { system, endpoint, ...(h.tenant ? { tenant: h.tenant } : {}), held_ms: Date.now() - h.since },
          at_s: this.at(),
        };
        say(`kill -9 ${member.name} (pid ${event.pid}) while ${system} holds its ${endpoint} call`);
        this.log.kills.push(event);
        const started = Date.now();
        await fleet.kill9(member.name, 3_000);
        event.replacement_ready_s = round((Date.now() - started) / 1000, 1);
        say(`${member.name} restarted, ready after ${event.replacement_ready_s} s`);
        return;
      }
      await sleep(200);
    }
    this.log.kills.push({ role, at_s: this.at(), skipped: `no ${endpoint} call from a ${role} worker within 180 s` });
    say(`no ${endpoint} call from a ${role} worker to hold: not killed`);
  }

  /** Every endpoint of `system` answers 503 for a scaled `minutes`, on top of the fault profile. */
  async outage(system: SimulatedSystem, minutes: number) {
    const { control, rules, timeScale } = this.o;
    const ms = (minutes * 60_000) / timeScale;
    const at_s = this.at();
    say(`${system} down for ${minutes} scaled minutes (${ms / 1000} s)`);
    const started = Date.now();
    await control.put(`/control/faults/${system}`, {
      rules: [{ endpoint: '*', kind: 'error5xx', probability: 1 }, ...rules[system]],
    });
    await sleep(ms);
    await control.put(`/control/faults/${system}`, { rules: rules[system] });
    this.log.outages.push({ system, scaled_minutes: minutes, at_s, ms: Date.now() - started });
    say(`${system} back`);
  }

  /** SIGKILL of the Temporal server, as in a crash; started again at once. */
  async serverRestart() {
    const at_s = this.at();
    const started = Date.now();
    say('Temporal server: SIGKILL');
    await this.o.cluster.stopServer('SIGKILL');
    await this.o.cluster.startServer(180_000);
    const down_ms = Date.now() - started;
    this.log.server_restarts.push({ signal: 'SIGKILL', at_s, down_ms });
    say(`Temporal server serving again after ${down_ms} ms`);
  }

  /** PostgreSQL stopped in immediate mode (no checkpoint: crash recovery at the next start), then started. */
  async databaseRestart(downMs: number) {
    const at_s = this.at();
    const started = Date.now();
    say('PostgreSQL: immediate stop');
    await this.o.cluster.stopPostgres('immediate');
    await sleep(downMs);
    await this.o.cluster.startPostgres();
    const down_ms = Date.now() - started;
    this.log.database_restarts.push({ mode: 'immediate', at_s, down_ms });
    say(`PostgreSQL back after ${down_ms} ms`);
  }
}

// ---- judging from the server -------------------------------------------------------------------------------

async function countByStatus(client: Client): Promise<Record<string, number>> {
  const statuses = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'ContinuedAsNew', 'TimedOut'];
  const out: Record<string, number> = {};
  for (const st of statuses) out[st] = (await client.workflow.count(`ExecutionStatus = "${st}"`)).count;
  return out;
}

interface OrderOutcomes {
  checked: number;
  parked: number;
  parkedThenHealed: number;
  stillParked: string[];
  unreadable: string[];
}

/**
 * Each order's own record on the server: the result (closed workflows) or state (open ones, the Shopify route
 * keeps them for the return window) says whether it parked as SYSTEM_UNAVAILABLE and healed by itself.
 */
async function orderOutcomes(client: Client, ids: string[]): Promise<OrderOutcomes> {
  const out: OrderOutcomes = { checked: 0, parked: 0, parkedThenHealed: 0, stillParked: [], unreadable: [] };
  await inParallel(ids, 32, async (id) => {
    const h = client.workflow.getHandle(id);
    let st: OrderWorkflowState;
    try {
      const d = await h.describe();
      st = d.status.name === 'RUNNING' ? await h.query(orderStateQuery) : ((await h.result()) as OrderWorkflowState);
    } catch (err) {
      out.unreadable.push(`${id}: ${(err as Error).message}`);
      return;
    }
    out.checked += 1;
    const parked = st.pastExceptions.some((e) => e.reason === 'SYSTEM_UNAVAILABLE') || st.exception !== undefined;
    if (parked) out.parked += 1;
    if ((st.outagesHealed ?? 0) > 0) out.parkedThenHealed += 1;
    if (st.exception) out.stillParked.push(`${id}: ${st.exception.reason}`);
  });
  return out;
}

// ---- limits, from the simulators' call logs ----------------------------------------------------------------

interface WindowFigure {
  system: string;
  tenant: string;
  endpoint: string;
  documented_limit: string;
  limit: number;
  window_ms_scaled: number;
  calls: number;
  /** `points` when the limit is a cost bucket (Shopify): max_calls_per_window is then points charged. */
  unit?: 'points';
  max_calls_per_window: number;
  refused_by_limit: number;
  /** For up to 10 refused calls: the calls before it that still counted, ms before the refusal (diagnosis). */
  refusals?: { at: number; before: { ms: number; status: number; fault?: string }[] }[];
  within_limits: boolean;
}

/** What came just before each refused call (up to 10): was it a failed call, a success, how long before. */
function refusalContext(mine: CallRecord[], windowMs: number): NonNullable<WindowFigure['refusals']> {
  const sorted = [...mine].sort((a, b) => a.at - b.at);
  const out: NonNullable<WindowFigure['refusals']> = [];
  for (const [i, c] of sorted.entries()) {
    if (!c.rateLimited || out.length >= 10) continue;
    const before = sorted
      .slice(Math.max(0, i - 5), i)
      .filter((p) => c.at - p.at < 2 * windowMs)
      .map((p) => ({ ms: c.at - p.at, status: p.status, ...(p.fault ? { fault: p.fault } : {}) }));
    out.push({ at: c.at, before });
  }
  return out;
}

function windowFigures(calls: CallRecord[], config: Config, timeScale: number) {
  const figures: WindowFigure[] = [];
  const figure = (
    system: string,
    tenant: string,
    endpoint: string,
    limit: { max: number; windowMs: number },
    mine: CallRecord[],
  ) => {
    const windowMs = Math.max(1, Math.round(limit.windowMs / timeScale));
    const max = CallLog.maxInWindow(mine, windowMs);
    const refused = mine.filter((c) => c.rateLimited).length;
    figures.push({
      system,
      tenant,
      endpoint,
      documented_limit: `${limit.max} per ${limit.windowMs / 1000} s`,
      limit: limit.max,
      window_ms_scaled: windowMs,
      calls: mine.length,
      max_calls_per_window: max,
      refused_by_limit: refused,
      ...(refused > 0 ? { refusals: refusalContext(mine, windowMs) } : {}),
      within_limits: max <= limit.max && refused === 0,
    });
  };
  // Peoplevox: every SOAP request of the tenant (its callbacks to us are the simulator's own calls).
  const pvx = config.systems.peoplevox!.clientId;
  figure(
    'peoplevox',
    pvx,
    '* (every SOAP request)',
    PVX_RATE_LIMIT,
    calls.filter((c) => c.system === 'peoplevox' && c.tenant === pvx),
  );
  // Mirakl: each operation with a documented frequency, per shop; calls the limit does not count are left out.
  for (const ch of config.channels.filter((c) => c.platform === 'mirakl')) {
    for (const [op, limit] of Object.entries(MIRAKL_RATE_LIMITS)) {
      const mine = calls.filter((c) => c.system === 'mirakl' && c.tenant === ch.code && c.endpoint === op && !c.exempt);
      if (mine.length > 0 || op === 'OR11') figure('mirakl', ch.code, op, limit, mine);
    }
  }
  // Marketplacer: every Seller API request of the channel against the per-address budget.
  for (const ch of config.channels.filter((c) => c.platform === 'marketplacer')) {
    const mine = calls.filter((c) => c.system === 'marketplacer' && c.tenant === ch.code);
    figure('marketplacer', ch.code, '* (every GraphQL request)', MARKETPLACER_LIMIT, mine);
  }
  // Shopify: the shop's cost bucket, in points: the most points charged in any window the bucket takes to refill
  // from empty (maximumAvailable / restoreRate, time-scaled) against the bucket; a THROTTLED answer means the
  // bucket was short of a query's requested cost.
  const shop = calls.filter((c) => c.system === 'shopify');
  const sb = shopifyBudget(config, timeScale);
  const refillMs = Math.max(1, Math.round(sb.windowMs));
  const throttled = shop.filter((c) => c.rateLimited).length;
  const maxPoints = CallLog.maxCostInWindow(shop, refillMs);
  const bucket = config.systems.shopify!.bucket;
  figures.push({
    system: 'shopify',
    tenant: shopifyTenant(config.systems.shopify!.baseUrl),
    endpoint: '* (cost points of every GraphQL request)',
    documented_limit: `${bucket.maximumAvailable} points, ${bucket.restoreRate} restored per s (refills in ${bucket.maximumAvailable / bucket.restoreRate} s)`,
    unit: 'points',
    limit: bucket.maximumAvailable,
    window_ms_scaled: refillMs,
    calls: shop.length,
    max_calls_per_window: maxPoints,
    refused_by_limit: throttled,
    within_limits: maxPoints <= bucket.maximumAvailable && throttled === 0,
  });
  const left = shop.flatMap((c) => (c.bucketLeft === undefined ? [] : [c.bucketLeft]));
  const shopify = {
    calls: shop.length,
    throttled,
    points_charged: shop.filter((c) => !c.rateLimited).reduce((a, c) => a + (c.cost ?? 0), 0),
    max_points_per_refill_window: maxPoints,
    lowest_bucket_left: left.length > 0 ? left.reduce((a, b) => Math.min(a, b)) : null,
    documented_limit: 'cost bucket (restore rate per second, maximum available), one per app and shop',
    within_limits: throttled === 0 && maxPoints <= bucket.maximumAvailable,
  };
  return { figures, shopify, within_limits: figures.every((f) => f.within_limits) && shopify.within_limits };
}

// ---- the run -----------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const orders = Number(args.orders);
  const timeScale = Number(args['time-scale']);
  const replicas = Number(args.replicas);
  const arrivalMinutes = Number(args['arrival-minutes']);
  const shopifyShare = Number(args['shopify-share']);
  const refundShare = Number(args['refund-share']);
  const marketplacerShare = Number(args['marketplacer-share']);
  const returnsShare = Number(args['returns-share']);
  const pvxOutageMinutes = Number(args['peoplevox-outage-minutes']);
  const miraklOutageMinutes = Number(args['mirakl-outage-minutes']);
  const ceilingOrders = Number(args['ceiling-orders']);
  const faults: FaultProfile = { ...DEFAULT_FAULTS, probability: Number(args['fault-probability']) };
  if (
    !(orders >= 20) ||
    !(timeScale >= 1) ||
    !(replicas >= 1) ||
    !(arrivalMinutes > 0) ||
    !(shopifyShare > 0 && shopifyShare < 1) ||
    !(refundShare >= 0 && refundShare <= 1) ||
    !(marketplacerShare >= 0 && shopifyShare + marketplacerShare < 1) ||
    !(returnsShare >= 0 && returnsShare <= 1) ||
    !(faults.probability >= 0 && faults.probability < 1)
  ) {
    say(
      'usage: npm run bench:chaos -- [--orders N] [--time-scale S] [--replicas R] [--arrival-minutes M] [--shopify-share F] [--refund-share F] [--marketplacer-share F] [--returns-share F] [--fault-probability P] [--ceiling-orders N] [--dir D] [--keep]',
    );
    return 2;
  }
  const shopOrders = Math.round(orders * shopifyShare);
  const mkpOrders = Math.round(orders * marketplacerShare);
  const withMarketplacer = mkpOrders > 0;
  const pvxOrders = orders - shopOrders - mkpOrders;
  const arrivalMs = arrivalMinutes * 60_000;
  const drainMs = Number(args['drain-minutes']) * 60_000;
  // A share of the ASOS orders get a return (chosen once the config is read); ASOS's orders then stay open for a
  // return window longer than the whole run at the time scale (the refund of a return goes through its order).
  const withReturns = returnsShare > 0;
  const returnWindowDays = withReturns ? Math.max(1, Math.ceil(((arrivalMs + drainMs) * timeScale) / 86_400_000)) : 0;
  const dir = args.dir ?? mkdtempSync(join(tmpdir(), 'loopline-chaos-'));
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  say(`working directory ${dir}`);

  const loadBefore = loadavg();
  const cluster = new LocalCluster({ dir: join(dir, 'cluster'), ports: await freePorts(), log: say });
  const clusterStatus = await cluster.up();
  say(`cluster up: ${clusterStatus.server.version} on ${clusterStatus.postgres.version}, ${cluster.address}`);

  const free = await freePorts();
  let more = await freePorts();
  while (Object.values(free).includes(more.frontend) || Object.values(free).includes(more.history))
    more = await freePorts();
  const ports: Ports = {
    mirakl: free.frontend,
    peoplevox: free.history,
    shopify: free.matching,
    marketplacer: more.frontend,
    reveni: more.history,
    http: free.worker,
    internal: free.frontendHttp,
  };
  const configFile = join(dir, 'loopline.yaml');
  const yaml = configYaml(ports, cluster.address, timeScale, withMarketplacer, returnWindowDays);
  writeFileSync(configFile, yaml);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...SANDBOX_SECRETS,
    TEMPORAL_ADDRESS: cluster.address,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
  };
  delete env.LOOPLINE_TEST_TEMPORAL_ADDRESS;
  const config = parseConfig(yaml, configFile, env);
  // The ASOS orders that get a return once shipped, spread evenly over the arrivals.
  const returnCandidates: ReturnCandidate[] = planOrders(config, pvxOrders, ID_PREFIX)
    .filter((p) => withReturns && p.channel === 'asos')
    .filter((_, j) => Math.floor((j + 1) * returnsShare) > Math.floor(j * returnsShare))
    .map((p) => ({ channel: p.channel, orderId: p.orderId }));

  const roles = ROLES.filter((r) => r !== 'marketplacer' || withMarketplacer);
  /** The simulated systems this run has. */
  const running = SYSTEMS.filter((s) => (s !== 'marketplacer' || withMarketplacer) && (s !== 'reveni' || withReturns));
  const workers = Object.fromEntries(roles.map((r) => [r, replicas]));
  const fleet = new ProcessFleet({
    configFile,
    env,
    logDir,
    simulators: [
      ['mirakl'],
      ['peoplevox'],
      ['shopify'],
      ...(withMarketplacer ? [['marketplacer']] : []),
      ...(withReturns ? [['reveni']] : []),
    ],
    http: 1,
    workers,
    readyTimeoutMs: 600_000,
    // A process that dies by itself is started again, as compose's `restart: unless-stopped` would, and the
    // crash is a finding of the run (the second 10k run lost all three inventory workers to a Node crash
    // and nobody restarted them).
    restartCrashedAfterMs: 5_000,
  });
  let env2: TestWorkflowEnvironment | undefined;
  let forwarder: Awaited<ReturnType<typeof startForwarder>> | undefined;
  // Stopped from outside (a deadline, ^C): every process this run started goes with it, the database too.
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping the fleet and the cluster`);
    void (async () => {
      await forwarder?.close().catch(() => undefined);
      await fleet.stop().catch(() => undefined);
      await cluster.down({ purge: !args.keep }).catch((e: unknown) => say(`cluster down: ${String(e)}`));
      process.exit(130);
    })();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const startedAt = Date.now();
    await fleet.start();
    say(`${fleet.members.size} Loopline processes ready in ${round((Date.now() - startedAt) / 1000, 1)} s`);
    // Webhooks and callbacks reach the HTTP process through a forwarder, where the webhook faults apply.
    forwarder = await startForwarder(`http://127.0.0.1:${ports.http}`);
    const sub = await runCli(
      { configFile, temporalAddress: cluster.address },
      'webhooks',
      'subscribe',
      '--url',
      forwarder.url,
    );
    if (sub.code !== 0) throw new Error(`webhooks subscribe failed:\n${sub.stderr}`);
    // Marketplacer's webhooks go straight to the HTTP process (the harness sets their delivery quirks).
    if (withMarketplacer) {
      await subscribeSandboxMarketplacerWebhooks({
        sandboxUrl: `http://127.0.0.1:${ports.marketplacer}`,
        config,
        publicUrl: `http://127.0.0.1:${ports.http}`,
        env,
      });
    }
    const dataConverter = testDataConverter();
    env2 = await TestWorkflowEnvironment.createFromExistingServer({
      address: cluster.address,
      namespace: 'default',
      client: { dataConverter },
      plugins: [encryptionPlugin(dataConverter)],
    });
    const client = env2.client;
    const control = routedControl({
      mirakl: `http://127.0.0.1:${ports.mirakl}`,
      peoplevox: `http://127.0.0.1:${ports.peoplevox}`,
      shopify: `http://127.0.0.1:${ports.shopify}`,
      ...(withMarketplacer ? { marketplacer: `http://127.0.0.1:${ports.marketplacer}` } : {}),
      ...(withReturns ? { reveni: `http://127.0.0.1:${ports.reveni}` } : {}),
    });

    // The fault profile on every endpoint of every system (the harnesses leave the rules to us).
    const rules: Record<SimulatedSystem, FaultRule[]> = {
      mirakl: faultRules(
        faults,
        config.channels.filter((c) => c.platform === 'mirakl').map((c) => c.code),
      ),
      peoplevox: faultRules(faults),
      shopify: faultRules(faults),
      marketplacer: faultRules(faults),
      reveni: faultRules(faults),
    };
    const seeds = {
      mirakl: faults.seed,
      peoplevox: faults.seed + 1,
      shopify: faults.seed + 5,
      marketplacer: faults.seed + 7,
      reveni: faults.seed + 11,
    };
    for (const system of running) {
      await control.put(`/control/faults/${system}`, { seed: seeds[system], rules: rules[system] });
    }
    // Reveni delivers some webhooks twice and out of order (as bench:returns has it).
    if (withReturns)
      await control.put(`/control/reveni/${REVENI_STORE}/behaviour`, {
        duplicateProbability: 0.1,
        reorderMaxDelayMs: 500,
      });

    fleet.alsoSample('temporal-server', () => [cluster.serverPid()].filter((p): p is number => p !== undefined));
    fleet.alsoSample(
      'postgresql',
      () => {
        const pm = cluster.postgresPid();
        return pm ? [pm, ...childPids(pm)] : [];
      },
      { rss: false },
    );
    fleet.sampleUsage(5_000);

    const despatchBackstopMs = (15 * 60_000) / timeScale;
    const deadlineMs = arrivalMs + Number(args['drain-minutes']) * 60_000;
    const t0 = Date.now();
    say(
      `${orders} orders over ${arrivalMinutes} min: ${pvxOrders} ASOS/Joules → Peoplevox, ${shopOrders} ${SHOP_CHANNEL} → Shopify (${Math.round(refundShare * 100)} % refunded); time scale ${timeScale}`,
    );
    const pvxRun = runOrderTraffic({
      control,
      client,
      config,
      idPrefix: ID_PREFIX,
      orders: pvxOrders,
      arrivalPerSecond: pvxOrders / (arrivalMs / 1000),
      faults,
      installFaults: false,
      despatchPollMs: 1_000,
      shippedPollMs: 10_000,
      deadlineMs,
      ...(withReturns ? { openForReturns: ['asos'] } : {}),
      log: (l) => say(`peoplevox route: ${l}`),
    });
    const returnsRun: Promise<ReturnTrafficReport | undefined> = withReturns
      ? runReturnTraffic({
          control,
          client,
          channel: 'asos',
          store: REVENI_STORE,
          candidates: returnCandidates,
          miraklChannels: config.channels.filter((c) => c.platform === 'mirakl').map((c) => c.code),
          deadlineMs,
          shippedPollMs: 10_000,
          log: (l) => say(`returns route: ${l}`),
        })
      : Promise.resolve(undefined);
    const shopRun = runShopifyTraffic({
      control,
      client,
      config,
      idPrefix: ID_PREFIX,
      channel: SHOP_CHANNEL,
      httpServer: forwarder.server,
      webhookInjector: new FaultInjector(),
      orders: shopOrders,
      arrivalPerSecond: shopOrders / (arrivalMs / 1000),
      faults,
      installFaults: false,
      refundShare,
      fulfilPollMs: 2_000,
      shippedPollMs: 10_000,
      settleMs: despatchBackstopMs + 2_000,
      deadlineMs,
      log: (l) => say(`shopify route: ${l}`),
    });
    const mkpRun: Promise<MarketplacerTrafficReport | undefined> = withMarketplacer
      ? runMarketplacerTraffic({
          control,
          channel: MKP_CHANNEL,
          prefix: 'MKP',
          clientId: config.systems.peoplevox!.clientId,
          orders: mkpOrders,
          arrivalPerSecond: mkpOrders / (arrivalMs / 1000),
          faults,
          installFaults: false,
          timeScale,
          deadlineMs,
          log: (l) => say(`marketplacer route: ${l}`),
        })
      : Promise.resolve(undefined);
    // Keep the harnesses' failures for the end; the chaos goes on meanwhile.
    pvxRun.catch(() => undefined);
    shopRun.catch(() => undefined);
    mkpRun.catch(() => undefined);
    returnsRun.catch(() => undefined);

    const chaos = new Chaos({ control, fleet, cluster, ports, rules, timeScale, t0 });
    const when = async (fraction: number) => {
      const due = t0 + fraction * arrivalMs;
      if (due > Date.now()) await sleep(due - Date.now());
    };
    await when(0.06);
    await chaos.killMidActivity('orders', 'mirakl', 'OR11', 12_000, 'asos');
    await when(0.12);
    await chaos.outage('peoplevox', pvxOutageMinutes);
    await when(0.3);
    await chaos.killMidActivity('peoplevox', 'peoplevox', 'SaveData', 20_000);
    await when(0.38);
    await chaos.serverRestart();
    await when(0.46);
    await chaos.killMidActivity('acknowledge', 'mirakl', 'OR21', 12_000);
    await when(0.52);
    await chaos.outage('mirakl', miraklOutageMinutes);
    await when(0.64);
    await chaos.databaseRestart(5_000);
    await when(0.72);
    await chaos.killMidActivity('shopify', 'shopify', 'orderCreate', 12_000);
    await when(0.8);
    await chaos.killMidActivity('inventory', 'mirakl', 'STO01', 12_000);
    if (withReturns) {
      // Returns in flight: a refund (OR28 on ASOS) and a Mirakl return being registered in Reveni.
      await when(0.86);
      await chaos.killMidActivity('acknowledge', 'mirakl', 'OR28', 12_000, 'asos');
      await when(0.9);
      await chaos.killMidActivity('orders', 'reveni', 'returns.create', 12_000);
    }
    say('chaos done; waiting for every order');

    const [pvx, shop, mkp, rets] = await Promise.all([pvxRun, shopRun, mkpRun, returnsRun]);
    const runSeconds = (Date.now() - t0) / 1000;
    say(`traffic judged after ${round(runSeconds, 0)} s`);

    // The server's view: every workflow by status (none may have failed), and each order's own record.
    await sleep(5_000);
    const byStatus = await countByStatus(client);
    const failed = byStatus.Failed! + byStatus.Terminated! + byStatus.TimedOut!;
    const failedList: string[] = [];
    for await (const wf of client.workflow.list({
      query: 'ExecutionStatus = "Failed" OR ExecutionStatus = "Terminated" OR ExecutionStatus = "TimedOut"',
    })) {
      failedList.push(`${wf.workflowId} (${wf.type}): ${wf.status.name}`);
      if (failedList.length >= 50) break;
    }
    const pvxIds = planOrders(config, pvxOrders, ID_PREFIX).map((p) => orderWorkflowId(p.channel, p.orderId));
    const shopIds = planShopifyOrders(shopOrders, ID_PREFIX).map((p) => orderWorkflowId(SHOP_CHANNEL, p.orderId));
    // Marketplacer's order ids are the simulator's invoice ids: the server lists that channel's orders.
    const mkpIds: string[] = [];
    if (withMarketplacer) {
      for await (const wf of client.workflow.list({
        query: `WorkflowType = "${orderWorkflow.name}" AND Channel = "${MKP_CHANNEL}"`,
      }))
        mkpIds.push(wf.workflowId);
    }
    say(`reading ${pvxIds.length + shopIds.length + mkpIds.length} order workflows' records`);
    const outcomes = await orderOutcomes(client, [...pvxIds, ...shopIds, ...mkpIds]);

    // Limits, from the simulators' call logs.
    const calls = ((await control.get('/control/calls')).data as { calls: CallRecord[] }).calls;
    const limits = windowFigures(calls, config, timeScale);
    const bucket = (await control.get('/control/shopify/loopline-chaos/bucket')).data as Record<string, unknown>;
    const fired: Record<string, unknown> = {};
    for (const system of running) {
      fired[system] = ((await control.get(`/control/faults/${system}`)).data as { fired: unknown }).fired;
    }
    fired['shopify-webhook'] = shop.faultsFired['shopify-webhook'];
    fleet.stopSampling();
    const usage = fleet.usageSeries();

    const resultWith = (ceiling: Awaited<ReturnType<typeof runCeiling>> | undefined, ceilingNote?: string) =>
      buildResult({
        orders,
        pvx,
        shop,
        mkp,
        rets,
        chaos: chaos.log,
        byStatus,
        failed,
        failedList,
        outcomes,
        limits,
        bucket,
        fired,
        usage,
        ceiling,
        ceilingNote,
        clusterStatus,
        fleet,
        runStartedAt: t0,
        settings: {
          time_scale: timeScale,
          replicas_per_role: replicas,
          arrival_minutes: arrivalMinutes,
          arrival_orders_per_sec: round(orders / (arrivalMs / 1000)),
          routes: {
            [`asos → peoplevox`]: pvx.byChannel.asos ?? 0,
            [`joules → peoplevox`]: pvx.byChannel.joules ?? 0,
            [`${SHOP_CHANNEL} → shopify`]: shop.orders,
            ...(mkp ? { [`${MKP_CHANNEL} (marketplacer) → peoplevox`]: mkp.orders } : {}),
            ...(rets ? { [`asos (mirakl) ↔ reveni returns`]: rets.returns } : {}),
          },
          refund_share: refundShare,
          returns_share: returnsShare,
          asos_return_window_days: returnWindowDays,
          fault_profile: faults,
          peoplevox_outage_scaled_minutes: pvxOutageMinutes,
          mirakl_outage_scaled_minutes: miraklOutageMinutes,
          intake_poll_interval_ms: (config.channels[0]!.intake.pollIntervalSeconds * 1000) / timeScale,
          despatch_backstop_ms: despatchBackstopMs,
          peoplevox_requests_per_sec_scaled: config.systems.peoplevox!.requestsPerSecond * timeScale,
          simulator_rate_limits_enforced: true,
        },
        machine: {
          cores: cpus().length,
          cpu: cpus()[0]?.model ?? 'unknown',
          memory_gb: round(totalmem() / 2 ** 30, 1),
          load_average_before: loadBefore.map((x) => round(x)),
          load_average_after: loadavg().map((x) => round(x)),
          node: process.version,
        },
        runSeconds,
      });
    const out = args.out!;
    const write = (result: ReturnType<typeof buildResult>) => {
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
      renameSync(`${out}.tmp`, out);
      say(`wrote ${relative(PROJECT_ROOT, out)}`);
    };
    // The run's figures are written before the ceiling, so a ceiling that cannot finish costs nothing else.
    write(resultWith(undefined, ceilingOrders > 0 ? 'not measured yet' : 'not asked for (--ceiling-orders 0)'));

    // Loopline stops; the engine ceiling runs alone on the same server, with a client without Loopline's
    // payload codec (the ceiling's workers have none).
    await fleet.stop();
    let result = resultWith(undefined, 'not asked for (--ceiling-orders 0)');
    if (ceilingOrders > 0) {
      say(`engine ceiling: ${ceilingOrders} orders through a no-op workflow of the same shape`);
      // Its own connections: the bench's carry the encryption plugin, which the ceiling's workers would
      // inherit (and then refuse the plain payloads of its client).
      const plainConnection = await Connection.connect({ address: cluster.address });
      const plainNative = await NativeConnection.connect({ address: cluster.address });
      const plainClient = new Client({ connection: plainConnection, namespace: 'default' });
      const limitMs = Number(args['ceiling-timeout-minutes']) * 60_000;
      let timer: NodeJS.Timeout | undefined;
      const ceiling = await Promise.race([
        runCeiling({
          client: plainClient,
          connection: plainNative,
          namespace: 'default',
          plans: planOrders(config, ceilingOrders, 'CEIL'),
          log: say,
        }),
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), limitMs))),
      ]);
      clearTimeout(timer);
      if (ceiling) say(`ceiling: ${ceiling.ordersPerSec.toFixed(2)} orders/s`);
      result = resultWith(
        ceiling,
        ceiling ? undefined : `did not finish within ${args['ceiling-timeout-minutes']} minutes`,
      );
      write(result);
    }
    process.stdout.write(`${JSON.stringify(result.summary)}\n`);
    return result.ok ? 0 : 1;
  } catch (err) {
    say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    say(fleet.describe(8));
    return 1;
  } finally {
    await forwarder?.close();
    await env2?.teardown().catch(() => undefined);
    await fleet.stop().catch(() => undefined);
    await cluster.down({ purge: !args.keep }).catch((e: unknown) => say(`cluster down: ${String(e)}`));
    if (!args.keep && !args.dir) rmSync(dir, { recursive: true, force: true });
    else say(`logs and data kept in ${dir}`);
  }
}

function buildResult(r: {
  orders: number;
  pvx: TrafficReport;
  shop: ShopifyTrafficReport;
  mkp: MarketplacerTrafficReport | undefined;
  rets: ReturnTrafficReport | undefined;
  chaos: ChaosLog;
  byStatus: Record<string, number>;
  failed: number;
  failedList: string[];
  outcomes: OrderOutcomes;
  limits: ReturnType<typeof windowFigures>;
  bucket: Record<string, unknown>;
  fired: Record<string, unknown>;
  usage: ReturnType<ProcessFleet['usageSeries']>;
  ceiling: Awaited<ReturnType<typeof runCeiling>> | undefined;
  ceilingNote?: string | undefined;
  clusterStatus: Awaited<ReturnType<LocalCluster['status']>>;
  fleet: ProcessFleet;
  /** When the traffic began (ms since the epoch): crash times are given from it, like the chaos log's. */
  runStartedAt: number;
  settings: Record<string, unknown>;
  machine: Record<string, unknown>;
  runSeconds: number;
}) {
  const { pvx, shop, mkp, rets, chaos } = r;
  // The run: from the first order created on a marketplace to the last one SHIPPED there (simulator times).
  const firsts = [pvx.lastShippedAt - pvx.seconds * 1000, shop.firstCreatedAt].filter((t) => t > 0);
  const lasts = [pvx.lastShippedAt, shop.lastShippedAt].filter((t) => t > 0);
  const seconds = firsts.length && lasts.length ? (Math.max(...lasts) - Math.min(...firsts)) / 1000 : 0;
  const lost = pvx.lost.length + shop.lost.length + (mkp?.lost.length ?? 0);
  const duplicateWms =
    pvx.duplicateWms.length + shop.duplicateShopifyOrders.length + (mkp?.duplicateWmsOrders.length ?? 0);
  // On Marketplacer a confirmation is a shipment (shipmentCreate), one per parcel.
  const duplicateConfirmations =
    pvx.duplicateConfirmations.length + shop.duplicateConfirmations.length + (mkp?.duplicateShipments.length ?? 0);
  // Refunds sent twice: Shopify refunds on the Shopify route, and OR28 refunds from returns (Reveni route).
  const duplicateRefunds = shop.refunds.duplicate.length + (rets?.duplicateRefunds.length ?? 0);
  const workers = [...r.fleet.members.values()].filter((m) => m.kind === 'worker');
  const cpuTotal = r.usage.reduce((n, u) => n + u.cpuSeconds, 0);
  const cpuPerOrder = cpuTotal / r.orders;
  const perRole = new Map<string, { cpu: number; peakMb: number; processes: number }>();
  for (const u of r.usage) {
    // A simulator and a worker role may share a name (peoplevox, shopify, marketplacer): keyed by kind too.
    const key = u.kind === 'simulators' ? `simulator ${u.role}` : u.kind === 'worker' ? `worker ${u.role}` : u.role;
    const p = perRole.get(key) ?? { cpu: 0, peakMb: 0, processes: 0 };
    p.cpu += u.cpuSeconds;
    p.peakMb = Math.max(p.peakMb, u.peakMb ?? 0);
    p.processes += 1;
    perRole.set(key, p);
  }
  const sizing = Object.fromEntries(
    [...perRole].map(([role, p]) => [
      role,
      {
        processes: p.processes,
        cpu_seconds: round(p.cpu, 1),
        cpu_ms_per_order: round((p.cpu * 1000) / r.orders, 1),
        // CPU seconds per second at 1,000 orders a minute: cores busy, at this machine's speed.
        cores_per_1000_orders_per_minute: round(((p.cpu / r.orders) * 1000) / 60, 2),
        peak_rss_mb_per_process: p.peakMb || null,
      },
    ]),
  );
  // Processes that died by themselves (not the planned kills): restarted by the fleet's supervisor, but each is
  // a defect of the run.
  const crashes = r.fleet.crashes();
  const ok =
    crashes.length === 0 &&
    lost === 0 &&
    duplicateWms === 0 &&
    duplicateConfirmations === 0 &&
    duplicateRefunds === 0 &&
    (rets ? rets.lost.length === 0 && rets.wrongRefundAmounts === 0 : true) &&
    r.failed === 0 &&
    r.limits.within_limits;
  const summary = {
    orders: r.orders,
    temporal_server: { version: r.clusterStatus.server.version, postgresql: r.clusterStatus.postgres.version },
    worker_processes: workers.length,
    worker_kills: chaos.kills.filter((k) => !k.skipped).length,
    server_restarts: chaos.server_restarts.length,
    database_restarts: chaos.database_restarts.length,
    outages: chaos.outages.map((o) => ({
      system: o.system,
      scaled_minutes: o.scaled_minutes,
      seconds: round(o.ms / 1000, 1),
    })),
    lost,
    duplicate_wms_orders: duplicateWms,
    duplicate_confirmations: duplicateConfirmations,
    duplicate_refunds: duplicateRefunds,
    ...(rets
      ? {
          returns: rets.returns,
          returns_settled: rets.settled,
          returns_lost: rets.lost.length,
          wrong_refund_amounts: rets.wrongRefundAmounts,
        }
      : {}),
    failed_workflows: r.failed,
    process_crashes: crashes.map((c) => ({
      name: c.name,
      at_s: round((c.at - r.runStartedAt) / 1000, 1),
      code: c.code,
      signal: c.signal,
      restarted: c.restarted,
      log_tail: c.logTail.split('\n').slice(-4),
    })),
    orders_parked_then_healed: r.outcomes.parkedThenHealed,
    max_calls_per_window: r.limits,
    seconds: round(seconds, 1),
    orders_per_sec: round(seconds > 0 ? (r.orders - lost) / seconds : 0),
    engine_ceiling_orders_per_sec: r.ceiling ? round(r.ceiling.ordersPerSec) : null,
  };
  return {
    ok,
    summary: { ...summary, max_calls_per_window: { within_limits: r.limits.within_limits } },
    ...summary,
    engine_ceiling: r.ceiling
      ? {
          ...r.ceiling,
          workflowIds: undefined,
          seconds: round(r.ceiling.seconds, 1),
          ordersPerSec: round(r.ceiling.ordersPerSec),
          note: 'after the run, Loopline stopped: the same plans through a no-op workflow of the same shape on the same server (bench/lib/ceiling.ts), workers in the bench process',
        }
      : { note: r.ceilingNote ?? null },
    measured_at: new Date().toISOString(),
    chaos,
    workflows_by_status: r.byStatus,
    orders_detail: {
      checked_on_server: r.outcomes.checked,
      parked_as_system_unavailable: r.outcomes.parked,
      parked_then_healed: r.outcomes.parkedThenHealed,
      still_parked: r.outcomes.stillParked.length,
      refunds: {
        requested_in_shopify: shop.refunds.requested,
        made_on_marketplace: shop.refunds.made,
        missing: shop.refunds.missing.length,
        duplicate: shop.refunds.duplicate.length,
      },
      refunds_from_returns: rets
        ? {
            expected_units: rets.refunds.expectedUnits,
            refunded_units: rets.refunds.refundedUnits,
            refunds_on_mirakl: rets.refunds.refunds,
            missing_units: rets.refunds.lostUnits,
            duplicate_units: rets.refunds.duplicateUnits,
            lines_refunded_twice: rets.duplicateRefunds.length,
            wrong_amounts: rets.wrongRefundAmounts,
          }
        : null,
      routes: {
        peoplevox: {
          orders: pvx.orders,
          by_channel: pvx.byChannel,
          despatch_kinds: pvx.byKind,
          seconds: round(pvx.seconds, 1),
          orders_per_sec: round(pvx.ordersPerSec),
          ack_latency_ms: pvx.ackLatencyMs,
          wms_latency_ms: pvx.wmsLatencyMs,
          confirm_latency_ms: pvx.confirmLatencyMs,
          lost: pvx.lost.length,
          duplicate_wms_orders: pvx.duplicateWms.length,
          duplicate_confirmations: pvx.duplicateConfirmations.length,
          wrong_confirmations: pvx.wrongConfirmations.length,
          workflows_not_completed: pvx.workflowsNotCompleted.length,
        },
        shopify: {
          orders: shop.orders,
          fulfilment_kinds: shop.byKind,
          seconds: round(shop.seconds, 1),
          orders_per_sec: round(shop.ordersPerSec),
          ack_latency_ms: shop.ackLatencyMs,
          store_latency_ms: shop.storeLatencyMs,
          confirm_latency_ms: shop.confirmLatencyMs,
          lost: shop.lost.length,
          duplicate_shopify_orders: shop.duplicateShopifyOrders.length,
          duplicate_confirmations: shop.duplicateConfirmations.length,
          wrong_confirmations: shop.wrongConfirmations.length,
          workflows_not_shipped: shop.workflowsNotShipped.length,
          webhooks: shop.webhooks,
        },
        marketplacer: mkp
          ? {
              orders: mkp.orders,
              parcels: mkp.parcels,
              invoices_in_two_parcels: mkp.split,
              seconds: round(mkp.seconds, 1),
              wms_latency_ms: mkp.wmsLatencyMs,
              shipment_latency_ms: mkp.shipmentLatencyMs,
              lost: mkp.lost.length,
              duplicate_wms_orders: mkp.duplicateWmsOrders.length,
              duplicate_shipments: mkp.duplicateShipments.length,
              wrong_shipments: mkp.wrongShipments.length,
              webhooks: mkp.webhooks,
              calls: mkp.marketplacerCalls,
              rate_limited: mkp.rateLimited,
            }
          : null,
        returns: rets
          ? {
              returns: rets.returns,
              by_kind: { mirakl_via_reveni: rets.byKind.mirakl, reveni_instant: rets.byKind.instant },
              rejected_in_reveni: rets.rejectedInReveni,
              not_opened: rets.notOpened,
              settled: rets.settled,
              lost: rets.lost.length,
              reveni_states: rets.reveniStates,
              reveni_not_as_decided: rets.reveniNotFinal.length,
              restocks: {
                decisions: rets.restocks.decisions,
                carried_by_sto01: rets.restocks.carried,
                not_carried: rets.restocks.notCarried.length,
                on_other_channels_not_judged: rets.restocks.onOtherChannels,
              },
            }
          : null,
      },
    },
    sizing: {
      note: 'CPU time each kind of process used during the run (from the first sample after start-up; a restarted replica counts its start), per order and as cores kept busy at 1,000 orders a minute on this machine',
      cpu_ms_per_order_all_processes: round(cpuPerOrder * 1000, 1),
      cores_per_1000_orders_per_minute_all_processes: round((cpuPerOrder * 1000) / 60, 2),
      by_process_kind: sizing,
    },
    processes: r.usage.map((u) => ({
      name: u.name,
      role: u.role,
      peak_rss_mb: u.peakMb ?? null,
      last_rss_mb: u.lastMb ?? null,
      cpu_seconds: round(u.cpuSeconds, 1),
      starts: r.fleet.members.get(u.name)?.starts ?? 1,
      rss_samples_mb: u.samples.filter((_, i) => i % 6 === 0),
    })),
    faults_fired: r.fired,
    shopify_cost_bucket: r.bucket,
    settings: r.settings,
    machine: { ...r.machine, run_seconds: round(r.runSeconds, 1) },
    findings: {
      lost: [...pvx.lost, ...shop.lost, ...(mkp?.lost ?? [])].slice(0, 50),
      duplicate_wms_orders: [
        ...pvx.duplicateWms,
        ...shop.duplicateShopifyOrders,
        ...(mkp?.duplicateWmsOrders ?? []),
      ].slice(0, 50),
      duplicate_confirmations: [
        ...pvx.duplicateConfirmations,
        ...shop.duplicateConfirmations,
        ...(mkp?.duplicateShipments ?? []),
      ].slice(0, 50),
      wrong_confirmations: [
        ...pvx.wrongConfirmations,
        ...shop.wrongConfirmations,
        ...(mkp?.wrongShipments ?? []),
      ].slice(0, 50),
      refunds_missing: shop.refunds.missing.slice(0, 50),
      refunds_duplicate: shop.refunds.duplicate.slice(0, 50),
      refunds_duplicate_from_returns: rets?.duplicateRefunds.slice(0, 50) ?? [],
      returns_lost: rets?.lost.slice(0, 50) ?? [],
      wrong_refund_amounts: rets?.wrongRefundDetails.slice(0, 50) ?? [],
      reveni_not_as_decided: rets?.reveniNotFinal.slice(0, 50) ?? [],
      restocks_not_carried: rets?.restocks.notCarried.slice(0, 50) ?? [],
      failed_workflows: r.failedList,
      still_parked: r.outcomes.stillParked.slice(0, 50),
      unreadable: r.outcomes.unreadable.slice(0, 50),
      workflows_not_completed: pvx.workflowsNotCompleted.slice(0, 50),
      workflows_not_shipped: shop.workflowsNotShipped.slice(0, 50),
      strays: [...pvx.strays, ...shop.strays].slice(0, 50),
      harness_errors: [...pvx.harnessErrors, ...shop.harnessErrors, ...(rets?.harnessErrors ?? [])].slice(0, 50),
      timed_out: pvx.timedOut || shop.timedOut || (mkp?.timedOut ?? false) || (rets?.timedOut ?? false),
    },
  };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
