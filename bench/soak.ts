// `npm run bench:soak [-- --orders N --days D --time-scale S …]`: a backlog of open orders held for days
// (issue 15, "What it must show", first bullet). On a Temporal dev server, with the simulators (Mirakl,
// Peoplevox), the HTTP server and one process per worker role (orders, acknowledge, peoplevox) each in its own
// process (bench/lib/processes.ts, as bench/chaos.ts runs them; and inventory, which answers each order's stock check), N orders are placed on ASOS and Joules
// (bench/lib/traffic.ts: its plans, its despatching and its judge), accepted and created in Peoplevox; the
// partial-despatch third of them get their first parcel despatched (partly shipped), the rest wait. Once
// every order is in the warehouse the backlog is held for D simulated days (the whole sandbox runs at time
// scale S, so a day is 86,400 / S wall seconds) while a trickle of new orders comes in and goes through (the
// warehouse-create latency while the backlog is held); then the backlog is despatched in waves through the
// Peoplevox simulator's control API and every order must be SHIPPED on Mirakl. Judged from the simulators'
// state and call logs and from the server's visibility and histories, never from Loopline's counters.
// Writes bench/results/soak.json (see bench/README.md). Heavy: `flock /work/wt/bench.lock npm run bench:soak`.
import './lib/sdk-logging';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { temporal } from '@temporalio/proto';
import { freePorts } from '../src/devtools/cluster';
import { PROJECT_ROOT, readTemporalTools } from '../src/devtools/tools';
import { parseConfig } from '../src/config/load';
import { CallLog, type CallRecord } from '../src/sandbox/core/call-log';
import { PVX_RATE_LIMIT } from '../src/sandbox/peoplevox/simulator';
import { DESPATCH_SUMMARY_REPORT } from '../src/connectors/peoplevox/map';
import { SANDBOX_SECRETS } from '../src/sandbox/systems';
import { TEST_SECURITY_YAML, startLocalTemporal } from '../test/support/temporal';
import { runCli } from '../test/support/cli';
import { orderWorkflow } from '../workflows/order';
import { routedControl } from './lib/control';
import { ProcessFleet, buildCompiled } from './lib/processes';
import { SERVER_LIMITS, samplePayloads, snapshotByType, type TypeSnapshot } from './lib/histories';
import {
  DEFAULT_FAULTS,
  faultRules,
  percentiles,
  planOrders,
  runOrderTraffic,
  type FaultProfile,
  type OrderPlan,
  type TrafficReport,
} from './lib/traffic';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '10000' },
    days: { type: 'string', default: '3' },
    'time-scale': { type: 'string', default: '600' },
    /** New orders placed while the backlog is held (default: 5 % of the backlog, at least 30). */
    trickle: { type: 'string' },
    waves: { type: 'string', default: '4' },
    /** Simulated minutes between two despatch waves. */
    'wave-minutes': { type: 'string', default: '60' },
    /** Backlog orders placed per wall second (0: all at once, as fast as the control API takes them). */
    'open-rate': { type: 'string', default: '0' },
    /** Wall minutes to wait for the whole backlog to reach the warehouse before the hold starts anyway. */
    'open-minutes': { type: 'string' },
    'fault-probability': { type: 'string', default: '0' },
    /** temporal.maxCachedWorkflows for the orders worker (unset: the SDK's default, which grows with the heap). */
    'max-cached': { type: 'string' },
    /** NODE_OPTIONS for the orders worker, e.g. '--max-old-space-size=192 --max-semi-space-size=8' (its V8 heaps). */
    'orders-node-options': { type: 'string' },
    /** MALLOC_ARENA_MAX for every worker process (glibc's malloc arenas; unset: glibc's default, 8 per core). */
    'malloc-arena-max': { type: 'string' },
    /** Run the workers and the HTTP server from source through tsx (default: compiled, as the image runs them). */
    source: { type: 'boolean', default: false },
    /** Histories read per workflow type for the payload maxima (the largest by size). */
    'history-sample': { type: 'string', default: '3' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench', 'results', 'soak.json') },
  },
});

const say = (line: string) => process.stderr.write(`[bench:soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROLES = ['orders', 'acknowledge', 'peoplevox', 'inventory'] as const;
const ID_PREFIX = 'SOAK';
const DAY_MS = 86_400_000;

interface Ports {
  mirakl: number;
  peoplevox: number;
  http: number;
  internal: number;
}

function configYaml(p: Ports, address: string, timeScale: number, maxCached?: number): string {
  const sim = (port: number) => `http://127.0.0.1:${port}`;
  // As bench/chaos.ts: the intake overlap is wall-clock, cut in proportion to the time scale. The acceptance
  // window is the longest the schema allows (14 days, 34 wall minutes at scale 600): the backlog is placed
  // faster than the machine accepts it, and the default 72 hours would be 7 wall minutes. Stock sync runs as
  // in production (its full reads share the Peoplevox budget; each order's stock check asks its workflow).
  const intake = `{ overlapSeconds: ${Math.max(1, Math.ceil(120 / timeScale))} }`;
  const channel = (code: string, label: string, rm: string) => `  - code: ${code}
    label: ${label}
    platform: mirakl
    connection: { baseUrl: ${sim(p.mirakl)}/mirakl/${code}, apiKeyEnv: MIRAKL_${code.toUpperCase()}_API_KEY }
    fulfilment: peoplevox
    currency: GBP
    returnWindowDays: 0
    deadlines: { acceptanceWindowHours: 336 }
    intake: ${intake}
    carrierMap: { Royal Mail: { code: ${rm} }, DPD: { code: DPD } }`;
  return `# Written by bench/soak.ts
temporal: { address: ${address}, namespace: default${maxCached !== undefined ? `, maxCachedWorkflows: ${maxCached}` : ''} }
http: { host: 127.0.0.1, port: ${p.http}, internal: { host: 127.0.0.1, port: ${p.internal} } }
log: { level: info, format: json }
sandbox: { enabled: true, timeScale: ${timeScale}, demoOrdersPerMinute: 0, multiShipmentChannels: [asos] }
systems:
  peoplevox: { baseUrl: ${sim(p.peoplevox)}/peoplevox, clientId: soak-client, username: api-user, passwordEnv: PEOPLEVOX_PASSWORD }
channels:
${channel('asos', 'ASOS Marketplace', 'ROYALMAIL')}
${channel('joules', 'Joules Marketplace', 'RM')}
${TEST_SECURITY_YAML}`;
}

// ---- Peoplevox calls per simulated minute -------------------------------------------------------------------

interface Phase {
  name: string;
  from: number;
  to: number;
}

function peoplevoxFigures(calls: CallRecord[], phases: Phase[], timeScale: number) {
  const minuteMs = 60_000 / timeScale;
  const documentedPerMinute = (PVX_RATE_LIMIT.max * 60_000) / PVX_RATE_LIMIT.windowMs;
  const isDetection = (c: CallRecord) => c.endpoint === 'GetReportData' && c.template === DESPATCH_SUMMARY_REPORT;
  const byPhase = phases.map((ph) => {
    const mine = calls.filter((c) => c.at >= ph.from && c.at < ph.to);
    const minutes = Math.max(1, Math.ceil((ph.to - ph.from) / minuteMs));
    const perMinute = new Array<number>(minutes).fill(0);
    const detectionPerMinute = new Array<number>(minutes).fill(0);
    for (const c of mine) {
      const i = Math.min(minutes - 1, Math.floor((c.at - ph.from) / minuteMs));
      perMinute[i]! += 1;
      if (isDetection(c)) detectionPerMinute[i]! += 1;
    }
    const detection = mine.filter(isDetection).length;
    const byOperation: Record<string, number> = {};
    for (const c of mine) {
      const key = c.template ? `${c.endpoint} ${c.template}` : c.endpoint;
      byOperation[key] = (byOperation[key] ?? 0) + 1;
    }
    const simulatedMinutes = (ph.to - ph.from) / minuteMs;
    return {
      phase: ph.name,
      simulated_minutes: round(simulatedMinutes, 1),
      wall_seconds: round((ph.to - ph.from) / 1000, 1),
      calls: mine.length,
      peoplevox_calls_per_min: {
        max: Math.max(0, ...perMinute),
        mean: round(mine.length / Math.max(simulatedMinutes, 1e-9), 2),
      },
      max_in_any_15s_window: CallLog.maxInWindow(mine, Math.max(1, Math.round(PVX_RATE_LIMIT.windowMs / timeScale))),
      refused_by_limit: mine.filter((c) => c.rateLimited).length,
      despatch_detection: {
        calls: detection,
        calls_per_min_max: Math.max(0, ...detectionPerMinute),
        calls_per_min_mean: round(detection / Math.max(simulatedMinutes, 1e-9), 3),
        share_of_calls: mine.length ? round(detection / mine.length, 3) : 0,
        share_of_budget: round(detection / Math.max(simulatedMinutes, 1e-9) / documentedPerMinute, 4),
      },
      by_operation: byOperation,
    };
  });
  return {
    documented_limit: `${PVX_RATE_LIMIT.max} requests per ${PVX_RATE_LIMIT.windowMs / 1000} s per tenant (${documentedPerMinute} a minute)`,
    documented_per_minute: documentedPerMinute,
    note: 'calls per simulated minute (a wall interval of 60 / time scale seconds), from the Peoplevox simulator call log (admission times), the tenant only (its callbacks to us are not requests to it); despatch detection = GetReportData of the Despatch summary report',
    phases: byPhase,
  };
}

/** Calls each system's simulator logged in [from, to), by endpoint (and Peoplevox template): what fires. */
function callsBetween(calls: CallRecord[], from: number, to: number) {
  const out: Record<string, Record<string, number>> = {};
  for (const c of calls) {
    if (c.at < from || c.at >= to) continue;
    const key = c.template ? `${c.endpoint} ${c.template}` : c.endpoint;
    out[c.system] ??= {};
    out[c.system]![key] = (out[c.system]![key] ?? 0) + 1;
  }
  return out;
}

/** What changed on the server between two snapshots: executions started, continued-as-new, events written. */
function serverDelta(before: Record<string, TypeSnapshot>, after: Record<string, TypeSnapshot>) {
  const out: Record<string, { executions: number; continued_as_new: number; events_written: number }> = {};
  for (const [type, a] of Object.entries(after)) {
    const b = before[type];
    out[type] = {
      executions: a.executions - (b?.executions ?? 0),
      continued_as_new: (a.byStatus.ContinuedAsNew ?? 0) - (b?.byStatus.ContinuedAsNew ?? 0),
      events_written: a.historyEvents - (b?.historyEvents ?? 0),
    };
  }
  return out;
}

// ---- the run -----------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const orders = Number(args.orders);
  const days = Number(args.days);
  const timeScale = Number(args['time-scale']);
  const trickle = args.trickle !== undefined ? Number(args.trickle) : Math.max(30, Math.round(orders * 0.05));
  const waves = Number(args.waves);
  const waveMinutes = Number(args['wave-minutes']);
  const openRate = Number(args['open-rate']);
  const openMinutes = args['open-minutes'] !== undefined ? Number(args['open-minutes']) : 20 + orders / 40;
  const faults: FaultProfile = { ...DEFAULT_FAULTS, probability: Number(args['fault-probability']) };
  if (
    !(Number.isInteger(orders) && orders >= 10) ||
    !(days > 0) ||
    !(timeScale >= 1 && timeScale <= 3600) ||
    !(Number.isInteger(trickle) && trickle >= 0) ||
    !(Number.isInteger(waves) && waves >= 1) ||
    !(waveMinutes >= 0) ||
    !(openRate >= 0) ||
    !(openMinutes > 0) ||
    !(faults.probability >= 0 && faults.probability < 1)
  ) {
    say(
      'usage: npm run bench:soak -- [--orders N] [--days D] [--time-scale S] [--trickle N] [--waves W] [--wave-minutes M] [--open-rate R] [--open-minutes M] [--fault-probability P]',
    );
    return 2;
  }
  const holdMs = (days * DAY_MS) / timeScale;
  const waveGapMs = (waveMinutes * 60_000) / timeScale;
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'loopline-soak-'));
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  say(`working directory ${dir}; starting a Temporal dev server (${readTemporalTools().cli.version})`);
  const env = await startLocalTemporal({ logLevel: 'error' });
  const client = env.client;
  const address = env.address;

  const free = await freePorts();
  const ports: Ports = {
    mirakl: free.frontend,
    peoplevox: free.history,
    http: free.worker,
    internal: free.frontendHttp,
  };
  const configFile = join(dir, 'loopline.yaml');
  const maxCached = args['max-cached'] !== undefined ? Number(args['max-cached']) : undefined;
  const yaml = configYaml(ports, address, timeScale, maxCached);
  writeFileSync(configFile, yaml);
  const procEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...SANDBOX_SECRETS,
    TEMPORAL_ADDRESS: address,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    // Each worker logs its memory (RSS and V8 heap in use) every 10 wall seconds: the log shows the heap's share.
    LOOPLINE_MEMORY_LOG_SECONDS: '10',
  };
  delete procEnv.LOOPLINE_TEST_TEMPORAL_ADDRESS;
  const config = parseConfig(yaml, configFile, procEnv);
  if (!args.source) {
    say('compiling the workers into dist/ (npm run build), as the image runs them');
    buildCompiled();
  }
  const fleet = new ProcessFleet({
    configFile,
    env: procEnv,
    logDir,
    simulators: [['mirakl'], ['peoplevox']],
    http: 1,
    workers: Object.fromEntries(ROLES.map((r) => [r, 1])),
    roleEnv: Object.fromEntries(
      ROLES.map((r) => [
        r,
        {
          ...(args['malloc-arena-max'] !== undefined
            ? { MALLOC_ARENA_MAX: String(Number(args['malloc-arena-max'])) }
            : {}),
          ...(r === 'orders' && args['orders-node-options'] ? { NODE_OPTIONS: args['orders-node-options'] } : {}),
        },
      ]),
    ),
    readyTimeoutMs: 600_000,
    compiled: !args.source,
  });
  const stopAll = async () => {
    await fleet.stop().catch(() => undefined);
    await env.teardown().catch(() => undefined);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping the fleet and the dev server`);
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const wall: Record<string, number> = {};
  const t: Record<string, number> & { start: number } = { start: Date.now() };
  try {
    await fleet.start();
    t.ready = Date.now();
    wall.start_processes_s = round((t.ready - t.start) / 1000, 1);
    say(`${fleet.members.size} processes ready in ${wall.start_processes_s} s`);
    const sub = await runCli(
      { configFile, temporalAddress: address },
      'webhooks',
      'subscribe',
      '--url',
      `http://127.0.0.1:${ports.http}`,
    );
    if (sub.code !== 0) throw new Error(`webhooks subscribe failed:\n${sub.stderr}`);
    const control = routedControl({
      mirakl: `http://127.0.0.1:${ports.mirakl}`,
      peoplevox: `http://127.0.0.1:${ports.peoplevox}`,
    });
    if (faults.probability > 0) {
      await control.put('/control/faults/mirakl', { seed: faults.seed, rules: faultRules(faults, ['asos', 'joules']) });
      await control.put('/control/faults/peoplevox', { seed: faults.seed + 1, rules: faultRules(faults) });
    }
    fleet.sampleUsage(5_000);

    // Order workflows of the backlog and of the trickle apart: what a held order writes while it waits.
    const byRole = (wf: { type: string; workflowId: string }) =>
      wf.type === orderWorkflow.name
        ? `${orderWorkflow.name} (${wf.workflowId.includes(`:${ID_PREFIX}T-`) ? 'trickle' : 'backlog'})`
        : wf.type;

    // 1. Open the backlog; the gate holds every despatch but a partial order's first parcel.
    const seen = new Map<string, number>();
    const released = new Set<string>();
    let holding = false;
    const gate = (plan: OrderPlan, nextCall: number) => {
      seen.set(plan.orderId, Math.max(seen.get(plan.orderId) ?? -1, nextCall));
      if (released.has(plan.orderId)) return true;
      return plan.kind === 'partial' && nextCall === 0 && !holding;
    };
    const plans = planOrders(config, orders, ID_PREFIX);
    const inWarehouse = () => plans.filter((p) => (seen.get(p.orderId) ?? -1) >= (p.kind === 'partial' ? 1 : 0)).length;
    const atHold = { rss: {} as Record<string, number | null> };
    const trafficDeadlineMs = openMinutes * 60_000 + holdMs + waves * waveGapMs + Math.max(20, orders / 60) * 60_000;
    say(
      `${orders} orders (${plans.filter((p) => p.kind === 'partial').length} partly shipped before the hold), held ${days} simulated days at time scale ${timeScale} (${round(holdMs / 1000, 1)} wall s); ${trickle} orders trickle in meanwhile`,
    );
    t.open = Date.now();
    const backlogRun = runOrderTraffic({
      control,
      client,
      config,
      idPrefix: ID_PREFIX,
      orders,
      arrivalPerSecond: openRate,
      faults: faults.probability > 0 ? faults : null,
      installFaults: false,
      // Each poll lists every order awaiting despatch: less often as the backlog grows (10 s at 10,000).
      despatchPollMs: Math.max(3_000, orders),
      shippedPollMs: 5_000,
      despatchGate: gate,
      deadlineMs: trafficDeadlineMs,
      log: (l) => say(`backlog: ${l}`),
    });
    backlogRun.catch(() => undefined);
    const openUntil = t.open + openMinutes * 60_000;
    let lastSay = 0;
    while (inWarehouse() < orders && Date.now() < openUntil) {
      await sleep(2_000);
      if (Date.now() - lastSay > 20_000) {
        lastSay = Date.now();
        say(`opening: ${inWarehouse()} of ${orders} in the warehouse (partial ones partly shipped)`);
      }
    }
    const openedInWarehouse = inWarehouse();
    if (openedInWarehouse < orders) say(`open phase timed out with ${openedInWarehouse} of ${orders} in the warehouse`);
    // A partial order whose first parcel was not despatched by now waits for the waves like the rest.
    holding = true;
    t.hold = Date.now();
    wall.open_s = round((t.hold - t.open) / 1000, 1);
    say(`holding ${openedInWarehouse} orders for ${days} simulated days (${round(holdMs / 1000, 1)} s)`);
    const serverAtHold = await snapshotByType(client, { group: byRole });

    // 2. Hold; new orders trickle in over the first 80 % of the hold and go straight through.
    const trickleRun: Promise<TrafficReport | undefined> =
      trickle > 0
        ? runOrderTraffic({
            control,
            client,
            config,
            idPrefix: `${ID_PREFIX}T`,
            orders: trickle,
            seed: 2,
            arrivalPerSecond: trickle / ((holdMs * 0.8) / 1000),
            faults: faults.probability > 0 ? faults : null,
            installFaults: false,
            despatchPollMs: 1_000,
            shippedPollMs: 2_000,
            deadlineMs: holdMs + Math.max(10, trickle / 30) * 60_000,
            log: (l) => say(`trickle: ${l}`),
          })
        : Promise.resolve(undefined);
    trickleRun.catch(() => undefined);
    await sleep(Math.max(0, t.hold + holdMs - Date.now()));
    t.holdEnd = Date.now();
    wall.hold_s = round((t.holdEnd - t.hold) / 1000, 1);
    const serverAtHoldEnd = await snapshotByType(client, { group: byRole });
    for (const m of fleet.members.values()) {
      if (m.kind !== 'worker') continue;
      const s = fleet.usageSeries().find((u) => u.name === m.name);
      atHold.rss[m.name] = s?.lastMb ?? null;
    }

    // 3. Despatch the backlog in waves.
    const byWave = Array.from({ length: waves }, (_, w) => plans.filter((_, i) => i % waves === w));
    for (let w = 0; w < waves; w++) {
      if (w > 0) await sleep(waveGapMs);
      for (const p of byWave[w]!) released.add(p.orderId);
      say(`wave ${w + 1} of ${waves}: ${byWave[w]!.length} orders released for despatch`);
    }
    const [backlog, trickled] = await Promise.all([backlogRun, trickleRun]);
    t.shipped = Date.now();
    wall.waves_to_all_shipped_s = round((t.shipped - t.holdEnd) / 1000, 1);
    say(`backlog judged: ${backlog.orders - backlog.lost.length} of ${backlog.orders} shipped`);

    // 4. The server's view, the call logs, the workers' memory.
    const serverAtEnd = await snapshotByType(client);
    const payloads = await samplePayloads(client, Object.keys(serverAtEnd), Number(args['history-sample']));
    for (const s of Object.values(payloads)) {
      if (s.maxEventType !== undefined) s.maxEventType = temporal.api.enums.v1.EventType[Number(s.maxEventType)];
    }
    const pvxCalls = (
      (await control.get('/control/calls', { params: { system: 'peoplevox' } })).data as { calls: CallRecord[] }
    ).calls.filter((c) => c.tenant === config.systems.peoplevox!.clientId);
    const allCalls = ((await control.get('/control/calls')).data as { calls: CallRecord[] }).calls;
    fleet.stopSampling();
    t.end = Date.now();
    wall.judge_s = round((t.end - t.shipped) / 1000, 1);
    wall.total_s = round((t.end - t.start) / 1000, 1);
    const phases: Phase[] = [
      { name: 'open', from: t.open!, to: t.hold! },
      { name: 'hold', from: t.hold!, to: t.holdEnd! },
      { name: 'waves', from: t.holdEnd!, to: t.shipped! },
    ];
    const usage = fleet.usageSeries();
    const reports = [backlog, ...(trickled ? [trickled] : [])];
    const lost = reports.reduce((n, r) => n + r.lost.length, 0);
    const duplicateWms = reports.reduce((n, r) => n + r.duplicateWms.length, 0);
    const duplicateConfirmations = reports.reduce((n, r) => n + r.duplicateConfirmations.length, 0);
    const wrongConfirmations = reports.reduce((n, r) => n + r.wrongConfirmations.length, 0);
    const failedWorkflows = Object.values(serverAtEnd).reduce(
      (n, s) => n + (s.byStatus.Failed ?? 0) + (s.byStatus.Terminated ?? 0) + (s.byStatus.TimedOut ?? 0),
      0,
    );
    const workers = usage.filter((u) => u.kind === 'worker');
    const wmsWall = trickled?.wmsLatencyMs ?? percentiles([]);
    const scaled = (p: typeof wmsWall) => ({
      p50: Math.round(p.p50 * timeScale),
      p95: Math.round(p.p95 * timeScale),
      p99: Math.round(p.p99 * timeScale),
      max: Math.round(p.max * timeScale),
    });
    const pvx = peoplevoxFigures(pvxCalls, phases, timeScale);
    const hold = pvx.phases.find((p) => p.phase === 'hold')!;
    const summary = {
      orders_held: openedInWarehouse,
      orders: orders,
      simulated_days_held: days,
      time_scale: timeScale,
      max_cached_workflows: maxCached ?? null,
      orders_worker_node_options: args['orders-node-options'] ?? null,
      workers_run: args.source ? 'from source (tsx)' : 'compiled (dist/, as the image runs them)',
      worker_malloc_arena_max: args['malloc-arena-max'] !== undefined ? Number(args['malloc-arena-max']) : null,
      open_rate_per_sec: openRate > 0 ? openRate : 'all at once',
      trickle_orders: trickled?.orders ?? 0,
      lost,
      duplicate_wms_orders: duplicateWms,
      duplicate_confirmations: duplicateConfirmations,
      wrong_confirmations: wrongConfirmations,
      failed_workflows: failedWorkflows,
      peoplevox_calls_per_min_during_hold: hold.peoplevox_calls_per_min,
      peoplevox_calls_per_min: Object.fromEntries(pvx.phases.map((p) => [p.phase, p.peoplevox_calls_per_min])),
      peoplevox_documented_per_min: pvx.documented_per_minute,
      despatch_detection_share_of_budget_during_hold: hold.despatch_detection.share_of_budget,
      wms_create_latency_ms_while_held: { wall: wmsWall, simulated: scaled(wmsWall) },
      worker_rss_mb: Object.fromEntries(
        workers.map((u) => [u.name, { peak: u.peakMb ?? null, at_hold_end: atHold.rss[u.name] ?? null }]),
      ),
      worker_rss_goal_mb: 512,
      worker_rss_goal_met: workers.every((u) => (u.peakMb ?? 0) <= 512),
      wall_seconds: wall,
    };
    const ok =
      lost === 0 &&
      duplicateWms === 0 &&
      duplicateConfirmations === 0 &&
      failedWorkflows === 0 &&
      openedInWarehouse === orders;
    const result = {
      ok,
      summary,
      ...summary,
      measured_at: new Date().toISOString(),
      peoplevox: pvx,
      what_fired_during_hold: {
        note: 'calls every simulator logged during the hold (by endpoint, and template or report for Peoplevox), and what the server recorded meanwhile per workflow type (executions started, runs continued as new, history events written)',
        calls: callsBetween(allCalls, t.hold!, t.holdEnd!),
        server: serverDelta(serverAtHold, serverAtHoldEnd),
        events_per_held_order: round(
          ((serverAtHoldEnd[`${orderWorkflow.name} (backlog)`]?.historyEvents ?? 0) -
            (serverAtHold[`${orderWorkflow.name} (backlog)`]?.historyEvents ?? 0)) /
            Math.max(1, openedInWarehouse),
          2,
        ),
      },
      histories: {
        note: 'per workflow type, from the server (visibility: every execution, continued-as-new runs included; payload sizes from the histories of the largest executions, as stored, i.e. encrypted)',
        server_limits: SERVER_LIMITS,
        by_type: Object.fromEntries(
          Object.entries(serverAtEnd).map(([type, s]) => [
            type,
            {
              executions: s.executions,
              by_status: s.byStatus,
              max_history_length: s.maxHistoryLength,
              max_history_bytes: s.maxHistoryBytes,
              longest: s.longest ?? null,
              payloads_sampled: payloads[type]?.sampled ?? 0,
              max_payload_bytes: payloads[type]?.maxPayloadBytes ?? 0,
              max_event_payload_bytes: payloads[type]?.maxEventPayloadBytes ?? 0,
              max_event_type: payloads[type]?.maxEventType ?? null,
            },
          ]),
        ),
      },
      routes: Object.fromEntries(
        [
          ['backlog', backlog],
          ['trickle', trickled],
        ]
          .filter((e): e is [string, TrafficReport] => e[1] !== undefined)
          .map(([name, r]) => [
            name,
            {
              orders: r.orders,
              by_channel: r.byChannel,
              despatch_kinds: r.byKind,
              ack_latency_ms: r.ackLatencyMs,
              wms_latency_ms: r.wmsLatencyMs,
              confirm_latency_ms: r.confirmLatencyMs,
              lost: r.lost.length,
              duplicate_wms_orders: r.duplicateWms.length,
              duplicate_confirmations: r.duplicateConfirmations.length,
              wrong_confirmations: r.wrongConfirmations.length,
              workflows_not_completed: r.workflowsNotCompleted.length,
              rate_limited: r.rateLimited,
              timed_out: r.timedOut,
            },
          ]),
      ),
      processes: usage.map((u) => ({
        name: u.name,
        kind: u.kind,
        peak_rss_mb: u.peakMb ?? null,
        last_rss_mb: u.lastMb ?? null,
        cpu_seconds: round(u.cpuSeconds, 1),
        rss_samples_mb: u.samples.filter((_, i) => i % 12 === 0),
      })),
      settings: {
        time_scale: timeScale,
        simulated_day_wall_seconds: round(DAY_MS / timeScale / 1000, 1),
        hold_simulated_days: days,
        hold_wall_seconds: round(holdMs / 1000, 1),
        waves,
        wave_gap_simulated_minutes: waveMinutes,
        open_rate_orders_per_sec: openRate || 'all at once',
        worker_processes: ROLES.map((r) => `worker ${r}`),
        temporal: 'dev server (temporal server start-dev), the bench starts it',
        fault_probability: faults.probability,
        peoplevox_gateway: config.systems.peoplevox!.gateway,
        acceptance_window_hours: 336,
        stock_sync: 'on (sandbox catalogue), as in production',
        intake_poll_interval_ms: (config.channels[0]!.intake.pollIntervalSeconds * 1000) / timeScale,
      },
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memory_gb: round(totalmem() / 2 ** 30, 1),
        load_average_before: loadBefore.map((x) => round(x)),
        load_average_after: loadavg().map((x) => round(x)),
        node: process.version,
        temporal_cli: readTemporalTools().cli.version,
      },
      findings: {
        lost: reports.flatMap((r) => r.lost).slice(0, 50),
        duplicate_wms_orders: reports.flatMap((r) => r.duplicateWms).slice(0, 50),
        duplicate_confirmations: reports.flatMap((r) => r.duplicateConfirmations).slice(0, 50),
        wrong_confirmations: reports.flatMap((r) => r.wrongConfirmations).slice(0, 50),
        workflows_not_completed: reports.flatMap((r) => r.workflowsNotCompleted).slice(0, 50),
        harness_errors: reports.flatMap((r) => r.harnessErrors).slice(0, 50),
        strays: reports.flatMap((r) => r.strays).slice(0, 50),
      },
    };
    const out = args.out!;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(`${out}.tmp`, out);
    say(`wrote ${relative(PROJECT_ROOT, out)}`);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return ok ? 0 : 1;
  } catch (err) {
    say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    say(fleet.describe(8));
    return 1;
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
