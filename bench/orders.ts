// `npm run bench:orders [-- --orders N]`: the order lifecycle benchmark. Starts its own Temporal dev server
// from the provisioned CLI (as `npm test` does), runs the whole stack in this process against the
// simulators (test/support/stack.ts), places N orders across ASOS and Joules with every fault type on,
// despatches them in Peoplevox and judges the run on the simulators' state (bench/lib/traffic.ts, the
// harness the 1,000-order test uses). Then the same orders go through a workflow of the same shape whose
// activities do nothing (the engine ceiling). Then, on a second stack on the same Temporal server whose ASOS
// channel is fulfilled by the Shopify simulator, N ASOS orders go through the Shopify route with faults on
// Mirakl, Shopify and its webhook deliveries (bench/lib/shopify-traffic.ts): `shopify_route` in the JSON. Then, on
// a third stack with a Marketplacer channel, invoices go through the Marketplacer route with faults on its API, on
// Peoplevox and on its webhooks (bench/lib/marketplacer-traffic.ts): `marketplacer_route`.
// Writes bench/results/orders.json (see bench/README.md).
import './lib/sdk-logging';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, readTemporalTools } from '../src/devtools/tools';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Client } from '@temporalio/client';
import { startStack } from '../test/support/stack';
import { startLocalTemporal } from '../test/support/temporal';
import { runCeiling } from './lib/ceiling';
import { requestsPerOrder, serverRequests, type RequestCounts } from './lib/server-metrics';
import { freePort } from '../src/devtools/ports';
import { childPids, cpuSeconds } from './lib/processes';
import { readFileSync } from 'node:fs';
import { externalWorkerProcesses, type WorkerProcessesReport } from './lib/worker-processes';
import {
  otherWorkflowsWork,
  profileAcknowledgement,
  profileIntake,
  profileWorkflows,
  type HistoryProfile,
} from './lib/history-profile';
import { parseConfig } from '../src/config/load';
import { configuredRoles } from '../workers/runtime';
import { orderWorkflowId } from '../src/domain/keys';
import { SANDBOX_SECRETS } from '../src/sandbox/systems';
import type { Config } from '../src/config/schema';
import { activityFailureCount } from './lib/sdk-logging';
import { runShopifyTraffic, shopControlPath, type ShopifyTrafficReport } from './lib/shopify-traffic';
import { runMarketplacerTraffic } from './lib/marketplacer-traffic';
import { MKP } from '../test/support/stack';
import {
  DEFAULT_FAULTS,
  faultRules,
  planOrders,
  runOrderTraffic,
  scaleIntakeOverlap,
  type FaultProfile,
  type TrafficReport,
} from './lib/traffic';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '1000' },
    'time-scale': { type: 'string', default: '60' },
    'fault-probability': { type: 'string', default: String(DEFAULT_FAULTS.probability) },
    'arrival-rate': { type: 'string', default: '0' },
    'no-ceiling': { type: 'boolean', default: false },
    'no-upfront-ceiling': { type: 'boolean', default: false },
    'shopify-orders': { type: 'string', default: '200' },
    'marketplacer-orders': { type: 'string', default: '500' },
    'steady-minutes': { type: 'string', default: '10' },
    'steady-min-orders': { type: 'string', default: '200' },
    // The steady state's arrival rate in orders/s; by default half the burst's measured throughput.
    'steady-rate': { type: 'string', default: '0' },
    // Loopline's workers (and the ceiling's) in this process, as before 2026-12: worker RSS is then the bench's.
    'in-process-workers': { type: 'boolean', default: false },
    'history-sample': { type: 'string', default: '60' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench', 'results', 'orders.json') },
  },
});

const say = (line: string) => process.stderr.write(`[bench:orders] ${line}\n`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function main(): Promise<number> {
  const orders = Number(args.orders);
  const timeScale = Number(args['time-scale']);
  const arrivalPerSecond = Number(args['arrival-rate']);
  const shopifyOrders = Number(args['shopify-orders']);
  const marketplacerOrders = Number(args['marketplacer-orders']);
  const steadyMinutes = Number(args['steady-minutes']);
  const faults: FaultProfile = { ...DEFAULT_FAULTS, probability: Number(args['fault-probability']) };
  if (
    !(orders > 0) ||
    !(timeScale >= 1) ||
    !(faults.probability >= 0 && faults.probability < 1) ||
    !(Number.isInteger(shopifyOrders) && shopifyOrders >= 0) ||
    !(Number.isInteger(marketplacerOrders) && marketplacerOrders >= 0) ||
    !(steadyMinutes >= 0)
  ) {
    say(
      'usage: npm run bench:orders -- [--orders N] [--time-scale S] [--fault-probability P] [--arrival-rate R] [--no-ceiling] [--shopify-orders N] [--marketplacer-orders N] [--steady-minutes M] [--steady-rate R]',
    );
    return 2;
  }
  const tools = readTemporalTools();
  say(`starting a Temporal dev server (${tools.cli.version})`);
  // Payloads are encrypted as in production (the sandbox key): the bench's client and the ceiling's
  // workers must encode and decode them too, or workflow results read as "Unknown encoding".
  // The server's request counts by operation (its metrics endpoint): where the engine's work per order goes.
  const metricsPort = await freePort();
  const env = await startLocalTemporal({ logLevel: 'error', extraArgs: ['--metrics-port', String(metricsPort)] });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const requests = async () => serverRequests(metricsUrl).catch(() => ({}) as RequestCounts);
  // Loopline's workers in processes of their own (workers/main.ts worker <role>, one per role), against this dev
  // server; the simulators, HTTP listeners and harness stay here (bench/lib/worker-processes.ts).
  const inProcess = args['in-process-workers'];
  const workDir = mkdtempSync(join(tmpdir(), 'loopline-bench-orders-'));
  const external = inProcess
    ? undefined
    : externalWorkerProcesses({
        temporalAddress: env.address,
        dir: workDir,
        roles: (yaml) => configuredRoles(parseConfig(yaml, 'bench:orders', { ...process.env, ...SANDBOX_SECRETS })),
        log: say,
      });
  const stackWorkers = external ? { externalWorkers: external.externalWorkers } : {};

  const loadBefore = loadavg();
  let rssPeak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 250);
  try {
    const despatchBackstopMs = (15 * 60_000) / timeScale;
    const stack = await startStack(env, {
      timeScale,
      multiShipment: { asos: true, joules: false },
      despatchBackstopMs,
      ...stackWorkers,
    });
    const overlapSeconds = scaleIntakeOverlap(stack.config, timeScale);
    const intakeIntervalMs = (stack.config.channels[0]!.intake.pollIntervalSeconds * 1000) / timeScale;
    const failuresBefore = activityFailureCount();
    const cpuBurst = cpuMeter(() => external?.current()?.usageSeries() ?? []);
    const burstStarted = new Date();
    let burstEnded = new Date();
    const requestsBeforeBurst = await requests();
    let requestsAfterBurst: RequestCounts = {};
    say(`${orders} orders, time scale ${timeScale}, fault probability ${faults.probability}`);
    let report;
    let steady: Record<string, unknown> | null = null;
    let steadyFailures = 0;
    try {
      report = await runOrderTraffic({
        control: stack.control,
        client: env.client,
        config: stack.config,
        idPrefix: stack.idPrefix,
        orders,
        arrivalPerSecond,
        faults: faults.probability > 0 ? faults : null,
        deadlineMs: Math.max(10 * 60_000, orders * 1_000),
        log: say,
      });
      cpuBurst.stop();
      burstEnded = new Date();
      requestsAfterBurst = await requests();
      // Steady state: orders arriving at half the burst's measured throughput, for at least the given simulated
      // minutes (and at least --steady-min-orders, 200 by default, for a p99): the acknowledgement a merchant feels day to day, whose
      // floor is the OR11 poll window.
      if (steadyMinutes > 0 && report.ordersPerSec > 0) {
        const rate = Number(args['steady-rate']) > 0 ? Number(args['steady-rate']) : report.ordersPerSec / 2;
        const n = Math.max(Number(args['steady-min-orders']), Math.ceil((rate * steadyMinutes * 60) / timeScale));
        // Twice: with no faults (the day-to-day acknowledgement, judged against the target: one injected timeout
        // alone is 3 s, so no p99 under faults can meet a 2 s target) and with the burst's faults (for reference).
        const steadyRun = async (withFaults: boolean, seed: number, suffix: string) => {
          say(
            `steady state${withFaults ? ' with faults' : ''}: ${n} orders arriving at ${rate.toFixed(2)}/s (${Number(args['steady-rate']) > 0 ? '--steady-rate' : "half the burst's throughput"})`,
          );
          const steadyStarted = new Date();
          const r = await runOrderTraffic({
            control: stack.control,
            client: env.client,
            config: stack.config,
            idPrefix: `${stack.idPrefix}${suffix}`,
            orders: n,
            seed,
            arrivalPerSecond: rate,
            faults: withFaults && faults.probability > 0 ? faults : null,
            deadlineMs: Math.max(10 * 60_000, n * 1_000),
            log: say,
          });
          const steadyEnded = new Date();
          // ORDERS_HISTORIES=<dir>: the intake, inventory and order runs open in the steady state, in the server's JSON, to
          // trace its polls and stock checks.
          if (process.env.ORDERS_HISTORIES)
            await dumpHistories(env.client, process.env.ORDERS_HISTORIES, suffix, steadyStarted);
          steadyFailures += r.lost.length + r.duplicateWms.length + r.duplicateConfirmations.length;
          const inTemporal = await profileAcknowledgement(
            env.client,
            planOrders(stack.config, n, `${stack.idPrefix}${suffix}`, seed).map((p) => ({
              workflowId: orderWorkflowId(p.channel, p.orderId),
              createdAt: r.createdAtByOrder.get(p.orderId),
            })),
          );
          return {
            faults: withFaults && faults.probability > 0 ? `the burst's (probability ${faults.probability})` : 'none',
            arrival_orders_per_sec: round(rate),
            orders: r.orders,
            arrival_wall_seconds: round(n / rate, 1),
            arrival_simulated_minutes: round((n / rate / 60) * timeScale, 1),
            ack_latency_ms: r.ackLatencyMs,
            wms_latency_ms: r.wmsLatencyMs,
            confirm_latency_ms: r.confirmLatencyMs,
            target_ack_p99_ms: intakeIntervalMs + 1000,
            ack_p99_met: r.ackLatencyMs.p99 <= intakeIntervalMs + 1000,
            ack_in_temporal_ms: inTemporal,
            intake: await profileIntake(env.client, steadyStarted, steadyEnded),
            lost: r.lost.length,
            duplicate_wms_orders: r.duplicateWms.length,
            duplicate_confirmations: r.duplicateConfirmations.length,
            workflows_not_completed: r.workflowsNotCompleted.length,
            definition:
              'ack latency: order created on Mirakl → accepted (OR21), simulator clocks; target one OR11 poll window (scaled) + 1 s',
          };
        };
        steady = await steadyRun(false, 2, 'S');
        if (faults.probability > 0) steady.with_faults = await steadyRun(true, 3, 'F');
      }
    } finally {
      await stack.stop();
    }
    const pvxWorkers: WorkerProcessesReport | undefined = external?.reports[0];
    const activityRetries = pvxWorkers ? pvxWorkers.activity_failures : activityFailureCount() - failuresBefore;
    say(`run: ${report.ordersPerSec.toFixed(2)} orders/s over ${report.seconds.toFixed(1)} s`);
    if (pvxWorkers)
      say(
        `worker processes: peak VmRSS ${pvxWorkers.peak_rss_mb} MB (${pvxWorkers.processes.map((p) => `${p.role} ${p.peak_rss_mb}`).join(', ')})`,
      );
    const historySample = Number(args['history-sample']);
    const otherWork = await otherWorkflowsWork(env.client, burstStarted, burstEnded, ['orderWorkflow']);
    const realProfile = await profileWorkflows(
      env.client,
      planOrders(stack.config, orders, stack.idPrefix).map((p) => orderWorkflowId(p.channel, p.orderId)),
      historySample,
    );

    let ceiling;
    let ceilingCpu: Record<string, unknown> | undefined;
    let ceilingUpfront: Record<string, unknown> | null = null;
    let ceilingRequests: Record<string, number> | null = null;
    if (!args['no-ceiling']) {
      say('engine ceiling: the same orders through a no-op workflow of the same shape');
      const cpuCeiling = cpuMeter(() => []);
      const requestsBeforeCeiling = await requests();
      ceiling = await runCeiling({
        client: env.client,
        connection: env.nativeConnection,
        namespace: 'default',
        plans: planOrders(stack.config, orders, `C${stack.idPrefix.slice(1)}`),
        log: say,
        ...(inProcess ? {} : { workerProcesses: { temporalAddress: env.address, logDir: join(workDir, 'ceiling') } }),
      });
      say(`ceiling: ${ceiling.ordersPerSec.toFixed(2)} orders/s over ${ceiling.seconds.toFixed(1)} s`);
      cpuCeiling.stop();
      ceilingCpu = { ...cpuCeiling.figures(), workers: ceiling.workerCpuSeconds ?? null };
      ceilingRequests = requestsPerOrder(requestsBeforeCeiling, await requests(), orders);
      if (!args['no-upfront-ceiling']) {
        // For the record, the ceiling as it was before 2026-12-07: every signal sent at the start, so no wait of
        // the workflow costs a task of its own (ceiling-workflow.ts, CeilingSignals).
        say('engine ceiling with every signal up front (the ceiling before 2026-12-07), for reference');
        const upfront = await runCeiling({
          client: env.client,
          connection: env.nativeConnection,
          namespace: 'default',
          plans: planOrders(stack.config, orders, `U${stack.idPrefix.slice(1)}`),
          log: say,
          signals: 'up-front',
          ...(inProcess
            ? {}
            : { workerProcesses: { temporalAddress: env.address, logDir: join(workDir, 'ceiling-upfront') } }),
        });
        say(
          `ceiling, signals up front: ${upfront.ordersPerSec.toFixed(2)} orders/s over ${upfront.seconds.toFixed(1)} s`,
        );
        const profile = await profileWorkflows(env.client, upfront.workflowIds, historySample);
        ceilingUpfront = {
          orders_per_sec: round(upfront.ordersPerSec),
          ratio: round(report.ordersPerSec / upfront.ordersPerSec),
          workflow_tasks_per_order: profile.per_workflow.workflow_tasks,
          workflow_task_triggers: profile.workflow_task_triggers,
          note: 'the engine ceiling as measured before 2026-12-07: the same no-op workflow with every signal (the update that lets the order ship, the warehouse gateway’s answer, the despatch notices) sent by the starter at once, so every wait is over before the workflow reaches it and no signal wakes it as a task of its own; a real order cannot be answered before it asks, so engine_ceiling_orders_per_sec (signals in sequence) is the one judged',
        };
      }
    }
    const ceilingProfile = ceiling ? await profileWorkflows(env.client, ceiling.workflowIds, historySample) : undefined;
    // The Peoplevox run's figures are taken before the Shopify route runs.
    const rssPeakPvx = rssPeak;
    const loadAfterPvx = loadavg();

    // Each further route on its own stack; a route that fails still lets the Peoplevox figures be written, with
    // its failure in the JSON and the exit code.
    const route = async (
      name: string,
      n: number,
      run: typeof shopifyRoute,
    ): Promise<{ route: Record<string, unknown> | null; failures: number }> => {
      if (n <= 0) return { route: null, failures: 0 };
      rssPeak = process.memoryUsage().rss;
      try {
        return await run({
          env,
          orders: n,
          timeScale,
          despatchBackstopMs,
          arrivalPerSecond,
          faults,
          rssPeak: () => rssPeak,
          stackWorkers,
          workerReport: () => external?.reports.at(-1),
        });
      } catch (err) {
        say(`${name} route failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        return { route: { error: err instanceof Error ? err.message : String(err) }, failures: 1 };
      }
    };
    const { route: shopify, failures: shopifyFailures } = await route('shopify', shopifyOrders, shopifyRoute);
    const { route: marketplacer, failures: marketplacerFailures } = await route(
      'marketplacer',
      marketplacerOrders,
      marketplacerRoute,
    );
    clearInterval(sampler);

    const pvx = stack.config.systems.peoplevox!;
    const result = {
      orders: report.orders,
      seconds: round(report.seconds, 1),
      orders_per_sec: round(report.ordersPerSec),
      ack_latency_ms: report.ackLatencyMs,
      wms_latency_ms: report.wmsLatencyMs,
      confirm_latency_ms: report.confirmLatencyMs,
      worker_rss_mb_peak: pvxWorkers ? pvxWorkers.peak_rss_mb : round(rssPeakPvx / 2 ** 20, 0),
      worker_rss_measured_in: pvxWorkers
        ? 'the worker processes alone (workers/main.ts worker <role>, one process per role; VmRSS sampled every second): the largest of them'
        : 'the bench process (workers, simulators, HTTP listeners and harness together; --in-process-workers)',
      worker_processes: pvxWorkers ?? null,
      bench_process_rss_mb_peak: round(rssPeakPvx / 2 ** 20, 0),
      lost: report.lost.length,
      duplicate_wms_orders: report.duplicateWms.length,
      duplicate_confirmations: report.duplicateConfirmations.length,
      wrong_confirmations: report.wrongConfirmations.length,
      workflows_not_completed: report.workflowsNotCompleted.length,
      ...peoplevoxBudgetFigures(report),
      engine_ceiling_orders_per_sec: ceiling ? round(ceiling.ordersPerSec) : null,
      overhead_ratio: ceiling && report.ordersPerSec > 0 ? round(ceiling.ordersPerSec / report.ordersPerSec) : null,
      ceiling_ratio: ceiling ? round(report.ordersPerSec / ceiling.ordersPerSec) : null,
      ceiling_ratio_goal: 0.8,
      ceiling_ratio_met: ceiling ? report.ordersPerSec / ceiling.ordersPerSec >= 0.8 : null,
      engine_ceiling_signals_up_front: ceilingUpfront,
      gap_analysis: {
        ...gapAnalysis(stack.config, timeScale, realProfile, ceilingProfile),
        server_requests_per_order: {
          real_burst: requestsPerOrder(requestsBeforeBurst, requestsAfterBurst, orders),
          ceiling: ceilingRequests,
          how: 'the dev server’s own count of requests served (its Prometheus service_requests, summed over its services by operation) during the burst and during the ceiling, per order; operations under 0.05 an order left out',
        },
        other_workflows: {
          by_type: otherWork,
          events_per_order: round(Object.values(otherWork).reduce((n, t) => n + t.events, 0) / orders),
          how: 'every workflow run other than the orders’ open at some point during the burst (started before its end, closed after its start or still running), with the events in its history: the engine’s work the ceiling has no counterpart for (intake, warehouse gateway, despatch sweep, stock, rate budgets); runs that began before the burst or went on after it count whole',
        },
        cpu_seconds: {
          real_burst: cpuBurst.figures(),
          ceiling: ceilingCpu ?? null,
          how: 'CPU time (utime + stime, /proc) used while the burst ran (its orders placed → judged) and while the ceiling ran (first order started → last closed; its worker processes from the first order started): the bench process (real run: simulators, HTTP listeners and harness; ceiling: its starter and poller), the Temporal dev server, and the worker processes (by process). On 2 shared cores the run is CPU-bound: these are where the cores went',
        },
      },
      measured_at: new Date().toISOString(),
      traffic: {
        by_channel: report.byChannel,
        despatch_kinds: report.byKind,
        parcels: report.parcels,
        arrival: arrivalPerSecond > 0 ? `${arrivalPerSecond} orders/s` : 'all at once',
        partial_despatch_gap_ms: 1_500,
      },
      settings: {
        time_scale: timeScale,
        intake_poll_interval_ms: intakeIntervalMs,
        intake_overlap_seconds: overlapSeconds,
        mirakl_or11_update_delta_ms: 5_000,
        despatch_backstop_ms: despatchBackstopMs,
        peoplevox_requests_per_sec: pvx.requestsPerSecond * timeScale,
        peoplevox_task_queue_activities_per_sec: (pvx.requestsPerSecond * timeScale) / 3,
        simulator_rate_limits_enforced: true,
      },
      faults: {
        profile: faults.probability > 0 ? faults : null,
        rules: faults.probability > 0 ? faultRules(faults) : [],
        fired: report.faultsFired,
        by_endpoint: report.faultsByEndpoint,
        activity_attempts_failed_and_retried: activityRetries,
      },
      simulator_calls: report.calls,
      simulator_rate_limited: report.rateLimited,
      engine_ceiling: ceiling
        ? {
            ...ceiling,
            workflowIds: undefined,
            seconds: round(ceiling.seconds, 1),
            ordersPerSec: round(ceiling.ordersPerSec),
            note: `same orders, signal-with-start, task queues, activity calls, signals and search-attribute upserts as orderWorkflow; no-op activities (the stock check on a third queue, as the real run’s inventory process serves it); signals in sequence: the update that lets the order ship, the warehouse gateway’s answer and the despatch notices each sent by the worker once the workflow waits for it (a sink, bench/lib/ceiling-sinks.ts), so each wakes the workflow as the real order’s do; ${
              inProcess
                ? 'workers in the bench process, as the real run’s'
                : 'workers in child processes of their own, one per task queue (orders with the workflow, acknowledge, the stock check’s: bench/lib/ceiling-worker.ts), as the real run’s workers ran one process per role; the harness in the bench process, as in the real run'
            }`,
          }
        : null,
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memory_gb: round(totalmem() / 2 ** 30, 1),
        load_average_before: loadBefore.map((x) => round(x)),
        load_average_after: loadAfterPvx.map((x) => round(x)),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        temporal_cli: tools.cli.version,
        temporal_server: 'dev server (temporal server start-dev, in-memory SQLite), same machine',
      },
      findings: {
        lost: report.lost.slice(0, 50),
        duplicate_wms_orders: report.duplicateWms.slice(0, 50),
        duplicate_confirmations: report.duplicateConfirmations.slice(0, 50),
        wrong_confirmations: report.wrongConfirmations.slice(0, 50),
        workflows_not_completed: report.workflowsNotCompleted.slice(0, 50),
        strays: report.strays.slice(0, 50),
        harness_errors: report.harnessErrors.slice(0, 50),
        timed_out: report.timedOut,
      },
      steady_state: steady,
      shopify_route: shopify,
      marketplacer_route: marketplacer,
    };
    mkdirSync(dirname(args.out), { recursive: true });
    const tmp = `${args.out}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(tmp, args.out);
    say(`wrote ${relative(process.cwd(), args.out)}`);
    process.stdout.write(
      `${JSON.stringify({
        orders: result.orders,
        seconds: result.seconds,
        orders_per_sec: result.orders_per_sec,
        ack_latency_ms: result.ack_latency_ms,
        wms_latency_ms: result.wms_latency_ms,
        worker_rss_mb_peak: result.worker_rss_mb_peak,
        lost: result.lost,
        duplicate_wms_orders: result.duplicate_wms_orders,
        duplicate_confirmations: result.duplicate_confirmations,
        engine_ceiling_orders_per_sec: result.engine_ceiling_orders_per_sec,
        shopify_route: shopify
          ? {
              orders: shopify.orders,
              seconds: shopify.seconds,
              orders_per_sec: shopify.orders_per_sec,
              ack_latency_ms: shopify.ack_latency_ms,
              store_latency_ms: shopify.store_latency_ms,
              lost: shopify.lost,
              duplicate_shopify_orders: shopify.duplicate_shopify_orders,
              duplicate_confirmations: shopify.duplicate_confirmations,
            }
          : null,
        marketplacer_route: marketplacer
          ? {
              orders: marketplacer.orders,
              seconds: marketplacer.seconds,
              wms_latency_ms: marketplacer.wms_latency_ms,
              shipment_latency_ms: marketplacer.shipment_latency_ms,
              lost: marketplacer.lost,
              duplicate_wms_orders: marketplacer.duplicate_wms_orders,
              duplicate_shipments: marketplacer.duplicate_shipments,
            }
          : null,
      })}\n`,
    );
    return result.lost +
      steadyFailures +
      result.duplicate_wms_orders +
      result.duplicate_confirmations +
      shopifyFailures +
      marketplacerFailures >
      0
      ? 1
      : 0;
  } finally {
    clearInterval(sampler);
    await env.teardown();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** The Temporal dev server this bench started: the child process running `temporal server start-dev`. */
function temporalServerPid(): number | undefined {
  return childPids(process.pid).find((pid) => {
    try {
      return /server\0start-dev/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
}

/**
 * CPU seconds used from now until stop(): by this process, the Temporal dev server and the worker processes
 * (`workers()`: their usage series, whose CPU counts from when sampling began).
 */
function cpuMeter(workers: () => Array<{ name: string; cpuSeconds: number }>) {
  const server = temporalServerPid();
  const bench = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const snap = () => ({
    bench: bench(),
    server: cpuSeconds(server) ?? 0,
    workers: Object.fromEntries(workers().map((w) => [w.name, w.cpuSeconds])),
  });
  const start = snap();
  let end: ReturnType<typeof snap> | undefined;
  return {
    stop() {
      end = snap();
    },
    figures() {
      const e = end ?? snap();
      const workers = Object.fromEntries(
        Object.entries(e.workers).map(([k, v]) => [k, round(v - (start.workers[k] ?? 0), 1)]),
      );
      return {
        bench_process: round(e.bench - start.bench, 1),
        temporal_server: server ? round(e.server - start.server, 1) : null,
        ...(Object.keys(workers).length > 0 ? { worker_processes: workers } : {}),
      };
    },
  };
}

/** Peoplevox documents about 15 requests per 15 seconds per tenant (limits-and-slas.md). */
const PEOPLEVOX_DOCUMENTED_REQUESTS_PER_SECOND = 15 / 15;

/**
 * What one tenant's documented budget allows: Peoplevox calls the run made (the simulator's call log, callbacks
 * it made excluded) per order, and the orders an hour that makes at 15 requests per 15 s.
 */
function peoplevoxBudgetFigures(report: TrafficReport) {
  const byEndpoint = Object.fromEntries(
    Object.entries(report.callsByEndpoint.peoplevox ?? {}).filter(([endpoint]) => !endpoint.startsWith('callback:')),
  );
  const calls = Object.values(byEndpoint).reduce((n, c) => n + c, 0);
  const perOrder = report.orders > 0 ? calls / report.orders : 0;
  return {
    peoplevox_calls: calls,
    peoplevox_calls_per_order: round(perOrder, 3),
    orders_per_hour_at_documented_budget:
      perOrder > 0 ? Math.floor((PEOPLEVOX_DOCUMENTED_REQUESTS_PER_SECOND * 3600) / perOrder) : null,
    peoplevox_calls_by_endpoint: byEndpoint,
  };
}

/** A route's memory: the worker processes' (when they ran apart) and the bench process's. */
function routeMemory(o: ShopifyRouteOptions) {
  const w = o.stackWorkers.externalWorkers ? o.workerReport() : undefined;
  return {
    worker_rss_mb_peak: w ? w.peak_rss_mb : round(o.rssPeak() / 2 ** 20, 0),
    worker_processes: w ?? null,
    bench_process_rss_mb_peak: round(o.rssPeak() / 2 ** 20, 0),
  };
}

/**
 * Where the gap to the engine ceiling goes (issue 15, item 3): what an order costs the engine in the real run and
 * in the ceiling (histories of a sample of each, read from the server: bench/lib/history-profile.ts), and the pacing
 * waits that are Loopline's by design (the intake poll window, the warehouse gateway's batch window, Peoplevox's
 * budget on its task queues), scaled as the run ran them.
 */
function gapAnalysis(
  config: Config,
  timeScale: number,
  real: HistoryProfile,
  ceiling: HistoryProfile | undefined,
): Record<string, unknown> {
  const pvx = config.systems.peoplevox!;
  const gw = pvx.gateway;
  const ch = config.channels[0]!;
  const diff = (k: keyof HistoryProfile['per_workflow']) =>
    ceiling ? round(real.per_workflow[k] - ceiling.per_workflow[k]) : null;
  return {
    sample: { real_orders: real.workflows, ceiling_orders: ceiling?.workflows ?? 0 },
    per_order_real_minus_ceiling: {
      events: diff('events'),
      workflow_tasks: diff('workflow_tasks'),
      activities: diff('activities'),
      activity_attempts: diff('activity_attempts'),
      signals_received: diff('signals_received'),
      signals_sent: diff('signals_sent'),
      search_attribute_upserts: diff('search_attribute_upserts'),
      timers: diff('timers'),
    },
    real,
    ceiling: ceiling ?? null,
    pacing_by_design: {
      intake_poll_window_ms: (ch.intake.pollIntervalSeconds * 1000) / timeScale,
      gateway: gw?.enabled
        ? {
            batch_window_ms: (gw.windowSeconds * 1000) / timeScale,
            max_orders_per_batch: gw.maxOrders,
            max_batches_in_flight: gw.maxBatchesInFlight,
            despatch_read_every_ms: (gw.despatchEverySeconds * 1000) / timeScale,
            despatch_min_gap_ms: (gw.despatchMinGapSeconds * 1000) / timeScale,
          }
        : null,
      peoplevox_requests_per_sec_scaled: pvx.requestsPerSecond * timeScale,
      peoplevox_sla_share: pvx.budget?.slaShare ?? null,
    },
    how: 'histories of an evenly spread sample of the real run’s order workflows and of the ceiling’s, read from the dev server after each run; per order means. time_ms splits an order’s wall time (first to last history event) into workflow tasks queued and running, activities queued (scheduled → start of the attempt that finished, so earlier attempts and their backoff count here) and running, and the waits each received signal or fired timer ended (the time since the event before it while the order had no activity and no workflow task outstanding: the marketplace letting the order ship, the warehouse gateway’s answer, despatch notices)',
  };
}

interface ShopifyRouteOptions {
  env: TestWorkflowEnvironment;
  orders: number;
  timeScale: number;
  despatchBackstopMs: number;
  arrivalPerSecond: number;
  faults: FaultProfile;
  /** Peak RSS of the bench process since the route started. */
  rssPeak: () => number;
  /** Worker processes for the route's stack (none: workers in this process). */
  stackWorkers: Pick<Parameters<typeof startStack>[1] & object, 'externalWorkers'>;
  /** The memory figures of the worker processes of the stack that stopped last. */
  workerReport: () => WorkerProcessesReport | undefined;
}

/** The Shopify route on its own stack (ASOS fulfilled by the Shopify simulator): `shopify_route` in the JSON. */
async function shopifyRoute(o: ShopifyRouteOptions): Promise<{ route: Record<string, unknown>; failures: number }> {
  const { env, timeScale, despatchBackstopMs, arrivalPerSecond, faults } = o;
  const shopifyOrders = o.orders;
  const shopifyStack = await startStack(env, {
    timeScale,
    shopify: true,
    multiShipment: { asos: true, joules: false },
    despatchBackstopMs,
    ...o.stackWorkers,
  });
  const shopOverlap = scaleIntakeOverlap(shopifyStack.config, timeScale);
  const settleMs = despatchBackstopMs + 2_000;
  say(`shopify route: ${shopifyOrders} ASOS orders, fault probability ${faults.probability}`);
  let sr: ShopifyTrafficReport;
  let bucket: { maximumAvailable: number; restoreRate: number } | undefined;
  const shopLoadBefore = loadavg();
  const shopFailuresBefore = activityFailureCount();
  try {
    sr = await runShopifyTraffic({
      control: shopifyStack.control,
      client: env.client,
      config: shopifyStack.config,
      idPrefix: shopifyStack.idPrefix,
      httpServer: shopifyStack.http.server,
      webhookInjector: shopifyStack.sandbox.ctx.faults('shopify-webhook'),
      orders: shopifyOrders,
      arrivalPerSecond,
      faults: faults.probability > 0 ? faults : null,
      settleMs,
      deadlineMs: Math.max(10 * 60_000, shopifyOrders * 1_000),
      log: say,
    });
    bucket = (await shopifyStack.control.get(`${shopControlPath(shopifyStack.config)}/bucket`)).data as {
      maximumAvailable: number;
      restoreRate: number;
    };
  } finally {
    await shopifyStack.stop();
  }
  const shopCfg = shopifyStack.config.systems.shopify!;
  say(`shopify route: ${sr.ordersPerSec.toFixed(2)} orders/s over ${sr.seconds.toFixed(1)} s`);
  const failures = sr.lost.length + sr.duplicateShopifyOrders.length + sr.duplicateConfirmations.length;
  const route = {
    orders: sr.orders,
    seconds: round(sr.seconds, 1),
    orders_per_sec: round(sr.ordersPerSec),
    ack_latency_ms: sr.ackLatencyMs,
    store_latency_ms: sr.storeLatencyMs,
    confirm_latency_ms: sr.confirmLatencyMs,
    ...routeMemory(o),
    lost: sr.lost.length,
    duplicate_shopify_orders: sr.duplicateShopifyOrders.length,
    duplicate_confirmations: sr.duplicateConfirmations.length,
    wrong_confirmations: sr.wrongConfirmations.length,
    workflows_not_shipped: sr.workflowsNotShipped.length,
    traffic: {
      channel: 'asos (Mirakl, multi-shipment ST01) → Shopify',
      fulfilment_kinds: sr.byKind,
      fulfilments: sr.fulfilments,
      arrival: arrivalPerSecond > 0 ? `${arrivalPerSecond} orders/s` : 'all at once',
      partial_rest_after: 'the part shown on ASOS and at least 1500 ms',
      judged_after_settle_ms: settleMs,
    },
    settings: {
      time_scale: timeScale,
      intake_poll_interval_ms: (shopifyStack.config.channels[0]!.intake.pollIntervalSeconds * 1000) / timeScale,
      intake_overlap_seconds: shopOverlap,
      despatch_backstop_ms: despatchBackstopMs,
      shopify_api_version: shopCfg.apiVersion,
      shopify_inventory_behaviour: shopCfg.inventoryBehaviour,
      shopify_cost_bucket: { maximum_available: bucket.maximumAvailable, restore_rate_per_sec: bucket.restoreRate },
      return_window_days: shopifyStack.config.channels.find((c) => c.code === 'asos')?.returnWindowDays,
      simulator_rate_limits_enforced: true,
      load_average_before: shopLoadBefore.map((x) => round(x)),
      load_average_after: loadavg().map((x) => round(x)),
    },
    faults: {
      profile: faults.probability > 0 ? faults : null,
      rules: faults.probability > 0 ? faultRules(faults) : [],
      applied_to: [
        'mirakl: the ASOS seller API (every endpoint)',
        'shopify: every Admin GraphQL operation',
        'shopify-webhook: every delivery to /webhooks/shopify (5xx/429/timeout = failed and retried by Shopify, lostResponse = handled, then redelivered)',
      ],
      webhook_delivery:
        faults.probability > 0
          ? {
              duplicate_probability: faults.probability / 4,
              fulfillments_create_dropped_probability: faults.probability / 4,
            }
          : null,
      why: 'the Peoplevox route’s profile (--fault-probability), so both routes are judged under the same per-call fault rate: each of the four kinds on 1 call in 50 at the default 0.08; duplicated and missed webhooks each at one kind’s share',
      fired: sr.faultsFired,
      by_endpoint: sr.faultsByEndpoint,
      webhooks: sr.webhooks,
      activity_attempts_failed_and_retried:
        o.workerReport()?.activity_failures ?? activityFailureCount() - shopFailuresBefore,
    },
    simulator_calls: sr.calls,
    simulator_rate_limited: sr.rateLimited,
    findings: {
      lost: sr.lost.slice(0, 50),
      duplicate_shopify_orders: sr.duplicateShopifyOrders.slice(0, 50),
      duplicate_confirmations: sr.duplicateConfirmations.slice(0, 50),
      wrong_confirmations: sr.wrongConfirmations.slice(0, 50),
      workflows_not_shipped: sr.workflowsNotShipped.slice(0, 50),
      strays: sr.strays.slice(0, 50),
      harness_errors: sr.harnessErrors.slice(0, 50),
      timed_out: sr.timedOut,
    },
  };
  return { route, failures };
}

/** The Marketplacer route on its own stack (channel mkp on the Marketplacer simulator): `marketplacer_route`. */
async function marketplacerRoute(
  o: ShopifyRouteOptions,
): Promise<{ route: Record<string, unknown>; failures: number }> {
  const { env, timeScale, despatchBackstopMs, arrivalPerSecond, faults } = o;
  const mStack = await startStack(env, { timeScale, marketplacer: true, despatchBackstopMs, ...o.stackWorkers });
  const ch = mStack.config.channels.find((c) => c.code === MKP)!;
  const pvx = mStack.config.systems.peoplevox!;
  say(`marketplacer route: ${o.orders} invoices, fault probability ${faults.probability}`);
  const loadBefore = loadavg();
  const failuresBefore = activityFailureCount();
  let r;
  try {
    r = await runMarketplacerTraffic({
      control: mStack.control,
      channel: MKP,
      prefix: 'MKP',
      clientId: pvx.clientId,
      orders: o.orders,
      arrivalPerSecond,
      faults: faults.probability > 0 ? faults : null,
      timeScale,
      deadlineMs: Math.max(10 * 60_000, o.orders * 1_000),
      log: say,
    });
  } finally {
    await mStack.stop();
  }
  say(`marketplacer route: ${r.orders} invoices over ${r.seconds.toFixed(1)} s`);
  const failures = r.lost.length + r.duplicateWmsOrders.length + r.duplicateShipments.length;
  const route = {
    orders: r.orders,
    seconds: round(r.seconds, 1),
    orders_per_sec: round(r.orders / Math.max(0.001, r.seconds)),
    wms_latency_ms: r.wmsLatencyMs,
    shipment_latency_ms: r.shipmentLatencyMs,
    ...routeMemory(o),
    lost: r.lost.length,
    duplicate_wms_orders: r.duplicateWmsOrders.length,
    duplicate_shipments: r.duplicateShipments.length,
    wrong_shipments: r.wrongShipments.length,
    traffic: {
      channel: 'mkp (Marketplacer, signed webhooks + invoices poll) → Peoplevox (warehouse gateway)',
      parcels: r.parcels,
      invoices_in_two_parcels: r.split,
      arrival: arrivalPerSecond > 0 ? `${arrivalPerSecond} invoices/s` : 'all at once',
      latencies:
        'wms: invoice placed → Peoplevox sales order created; shipment: Peoplevox despatch → shipmentCreate accepted (simulator timestamps)',
    },
    settings: {
      time_scale: timeScale,
      intake_poll_interval_ms: (ch.intake.pollIntervalSeconds * 1000) / timeScale,
      despatch_backstop_ms: despatchBackstopMs,
      marketplacer_requests_per_10_seconds: ch.marketplacer?.requestsPer10Seconds ?? 600,
      simulator_rate_limits_enforced: true,
      load_average_before: loadBefore.map((x) => round(x)),
      load_average_after: loadavg().map((x) => round(x)),
    },
    faults: {
      profile: faults.probability > 0 ? faults : null,
      rules: faults.probability > 0 ? faultRules(faults) : [],
      applied_to: [
        'marketplacer: every Seller API operation',
        'peoplevox: every SOAP operation',
        'marketplacer-webhook: duplicates (a quarter of the fault probability), the first 6 events newest first, a quarter of the fault probability of the invoices never delivered (found by the poll)',
      ],
      fired: r.faultsFired,
      webhooks: r.webhooks,
      activity_attempts_failed_and_retried:
        o.workerReport()?.activity_failures ?? activityFailureCount() - failuresBefore,
    },
    marketplacer_calls: r.marketplacerCalls,
    marketplacer_busiest_window: r.busiestWindow,
    simulator_rate_limited: r.rateLimited,
    measured_at: new Date().toISOString(),
    findings: {
      lost: r.lost.slice(0, 50),
      duplicate_wms_orders: r.duplicateWmsOrders.slice(0, 50),
      duplicate_shipments: r.duplicateShipments.slice(0, 50),
      wrong_shipments: r.wrongShipments.slice(0, 50),
      timed_out: r.timedOut,
    },
  };
  return { route, failures };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

async function dumpHistories(client: Client, dir: string, suffix: string, since: Date): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const query = `(WorkflowType = "intakeWorkflow" OR WorkflowType = "inventoryWorkflow" OR WorkflowType = "inventoryShardWorkflow" OR WorkflowType = "orderWorkflow") AND (CloseTime >= "${since.toISOString()}" OR ExecutionStatus = "Running")`;
  for await (const w of client.workflow.list({ query })) {
    const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    const name = `${suffix}-${w.type}-${w.workflowId.replace(/[^\w.-]+/g, '_')}-${w.runId}.json`;
    writeFileSync(join(dir, name), historyToJSON(history as never));
  }
}
