// The whole of Loopline against the simulators, in one test process: simulators on a random port,
// real connectors, real workers on a real Temporal server, the HTTP servers (public webhooks, internal
// dashboard/codec/metrics) for callbacks and operators, and the intake workflows. Time is scaled (the
// default 60 turns Mirakl's once-a-minute OR11 into once a second, for the simulators' limits and our
// intake alike), so a lifecycle takes seconds.
// Loopline logs through its production logger into the scanned log (test/support/scan-log.ts); when the
// stack stops, that log and the raw history of every workflow it ran are searched for the sandbox's
// secrets and its customers' data (test/support/scan.ts), and any finding fails the test file.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import axios, { type AxiosInstance } from 'axios';
import pino from 'pino';
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { secretValues } from '../../src/config/secret-values';
import { registerSecrets } from '../../src/logging/logger';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { sandboxSystems, SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { createRuntime, createWorkers, type Runtime } from '../../workers/runtime';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { createHttpServers, type HttpServers } from '../../src/http/server';
import { subscribeWarehouseEvents } from '../../workers/subscriptions';
import { subscribeShopifyWebhooks } from '../../src/http/shopify-webhooks';
import { subscribeReturnEvents } from '../../src/returns/subscriptions';
import { ensureInventoryWorkflows, subscribeStockEvents } from '../../src/inventory/intake';
import { healthQuery } from '../../workflows/inventory';
import { ensureRecurringWork, type RecurringWork } from '../../workers/recurring';
import { subscribeSandboxMarketplacerWebhooks } from '../../src/sandbox/marketplacer/setup';
import { eventually, TEST_SECURITY_YAML, workflowBundle } from './temporal';
import { scanLog, scanLogPosition } from './scan-log';
import {
  assertClean,
  customerNeedles,
  marketplacerCustomerNeedles,
  saveReport,
  scanHistories,
  scanLogFile,
  secretNeedles,
  type ScanReport,
} from './scan';

export interface Stack {
  config: Config;
  sandbox: RunningSandbox;
  control: AxiosInstance;
  /** The public listener: webhooks only. */
  http: FastifyInstance;
  /** The internal listener: ops dashboard and API, codec endpoint, metrics. */
  internal: FastifyInstance;
  httpUrl: string;
  internalUrl: string;
  servers: HttpServers;
  workers: Worker[];
  /** The connectors and alert sink the workers use (for calling activities directly). */
  runtime: Runtime;
  /** A unique prefix for order ids, so test files sharing one Temporal server never collide. */
  idPrefix: string;
  /** Intake workflow ids and Schedule ids of this stack. */
  recurring: RecurringWork;
  stop(): Promise<void>;
}

export interface StackOptions {
  timeScale?: number;
  multiShipment?: Record<string, boolean>;
  despatchBackstopMs?: number;
  extraYaml?: string;
  /** Create the Temporal Schedules (despatch sweep) as a deployment would; off by default. */
  schedules?: boolean;
  /** Overrides of every channel's `intake` block (e.g. pushTokenEnv, overlapSeconds). */
  intake?: Record<string, unknown>;
  /** A channel's skuMap, by channel code. */
  skuMap?: Record<string, Record<string, string>>;
  /** More keys of a channel's block (e.g. additionalFields, addresses), by channel code. */
  channelExtra?: Record<string, Record<string, unknown>>;
  /** Extra keys of systems.peoplevox, as YAML flow (e.g. `gateway: { maxOrders: 10 }`). */
  peoplevoxYaml?: string;
  /** ASOS fulfilled by the Shopify simulator (docs/shopify.md) instead of Peoplevox; webhooks subscribed. */
  shopify?: boolean;
  /** The Reveni simulator as systems.reveni, with a store for ASOS (docs/sandbox/reveni.md). */
  reveni?: boolean;
  /**
   * Stock sync as a deployment runs it: the Peoplevox stock callbacks (AvailabilityChanges, GoodsReceived)
   * subscribed, and each stock channel's inventory workflow started and primed by its first full read before any
   * order (workers/main.ts starts them with the inventory worker).
   */
  stockEvents?: boolean;
  /** Skip the leak scan when stopping (a test that plants leaks on purpose). */
  noScan?: boolean;
  /** Overrides of every channel's `inventory` block (e.g. fullReadMinutes). */
  inventory?: Record<string, unknown>;
  /** Merged into the `http` block (ports are 0 unless given). */
  http?: Record<string, unknown>;
  /** Merged into systems.shopify (with `shopify`), e.g. stockLocations. */
  shopifyConfig?: Record<string, unknown>;
  /**
   * A third channel, `mkp`, on the Marketplacer simulator (Peoplevox fulfils it), its webhooks subscribed to the
   * public listener; keys merged into its block (carrierMap, additionalFields, inventory…).
   */
  marketplacer?: boolean | Record<string, unknown>;
  /**
   * Loopline's workers in processes of their own (bench:orders): the stack starts none in this process; once the
   * simulators are up, `start` gets the config file's text (the dev server's address and the time scale in it) and
   * starts them; stop() stops them. The intake workflows get the ids a worker process gives them (no suffix).
   */
  externalWorkers?: {
    temporalAddress: string;
    start(configYaml: string): Promise<{ stop(): Promise<void> }>;
  };
}

/** The Marketplacer channel of a test stack (code mkp, warehouse prefix MKP). */
export const MKP = 'mkp';

function marketplacerChannel(sandboxUrl: string, opts: StackOptions): string {
  if (!opts.marketplacer) return '';
  const extra = typeof opts.marketplacer === 'object' ? opts.marketplacer : {};
  const block: Record<string, unknown> = {
    code: MKP,
    label: 'Marketplacer demo',
    platform: 'marketplacer',
    connection: { baseUrl: `${sandboxUrl}/marketplacer/${MKP}`, apiKeyEnv: 'MARKETPLACER_MKP_API_KEY' },
    fulfilment: 'peoplevox',
    currency: 'GBP',
    returnWindowDays: 0,
    carrierMap: { 'Royal Mail': { name: 'Royal Mail' }, DPD: { name: 'DPD' } },
    ...(opts.intake ? { intake: opts.intake } : {}),
    ...extra,
    // Every channel's inventory overrides apply here too, under the channel's own.
    ...(opts.inventory || extra.inventory
      ? { inventory: { ...opts.inventory, ...(extra.inventory as Record<string, unknown> | undefined) } }
      : {}),
  };
  return `
  - ${JSON.stringify(block)}`;
}

function configYaml(sandboxUrl: string, suffix: string, opts: StackOptions): string {
  const { extraYaml: extra = '', intake, skuMap = {}, shopify = false, channelExtra = {} } = opts;
  // LOOPLINE_PEOPLEVOX_GATEWAY=on|off turns the warehouse gateway on or off for a run (the fault run, the bench)
  // whatever the default; a test that configures the gateway itself keeps its own.
  const gatewaySwitch = process.env.LOOPLINE_PEOPLEVOX_GATEWAY;
  const peoplevoxYaml =
    opts.peoplevoxYaml ??
    (gatewaySwitch === 'on' || gatewaySwitch === 'off' ? `gateway: { enabled: ${gatewaySwitch === 'on'} }` : '');
  const reveni = opts.reveni ?? false;
  // JSON is YAML flow syntax.
  const intakeLine = intake ? `\n    intake: ${JSON.stringify(intake)}` : '';
  const map = (ch: string) =>
    (skuMap[ch] ? `\n    skuMap: ${JSON.stringify(skuMap[ch])}` : '') +
    Object.entries(channelExtra[ch] ?? {})
      .map(([k, v]) => `\n    ${k}: ${JSON.stringify(v)}`)
      .join('');
  const inventory = opts.inventory ? `\n    inventory: ${JSON.stringify(opts.inventory)}` : '';
  const http = { port: 0, ...opts.http, internal: { port: 0, ...(opts.http?.internal as object | undefined) } };
  const shopifyExtra = opts.shopifyConfig ? `, ${JSON.stringify(opts.shopifyConfig).slice(1, -1)}` : '';
  const external = opts.externalWorkers;
  return `
temporal:${external ? `\n  address: "${external.temporalAddress}"` : ''}
  idScope: "${suffix}"
  taskQueues: { orders: orders-${suffix}, acknowledge: ack-${suffix}, peoplevox: pvx-${suffix}, peoplevoxBulk: pvxb-${suffix}, inventory: inv-${suffix}, shopify: shp-${suffix}, marketplacer: mkp-${suffix} }
http: ${JSON.stringify(http)}
log: { level: fatal }
sandbox: { enabled: true, demoOrdersPerMinute: 0${external ? `, timeScale: ${opts.timeScale ?? 60}` : ''} }
systems:
  peoplevox: { baseUrl: ${sandboxUrl}/peoplevox, clientId: test-client, username: api-user, passwordEnv: PEOPLEVOX_PASSWORD${peoplevoxYaml ? `, ${peoplevoxYaml}` : ''} }${
    shopify
      ? `\n  shopify: { baseUrl: ${sandboxUrl}/shopify/loopline-test, accessTokenEnv: SHOPIFY_ACCESS_TOKEN, webhookSecretEnv: SHOPIFY_WEBHOOK_SECRET, refundReasons: { damaged: '17', '*': '16' }${shopifyExtra} }`
      : ''
  }${reveni ? `\n  reveni: { baseUrl: ${sandboxUrl}/reveni, apiKeyEnv: REVENI_API_KEY, stores: { asos: asos-store-${suffix} } }` : ''}
channels:
  - code: asos
    label: ASOS Marketplace
    platform: mirakl
    connection: { baseUrl: ${sandboxUrl}/mirakl/asos, apiKeyEnv: MIRAKL_ASOS_API_KEY }
    fulfilment: ${shopify ? 'shopify' : 'peoplevox'}
    currency: GBP${channelExtra.asos?.returnWindowDays === undefined ? `\n    returnWindowDays: ${shopify ? 1 : 0}` : ''}
    carrierMap: { Royal Mail: { code: ROYALMAIL }, DPD: { code: DPD } }${intakeLine}${map('asos')}${inventory}
  - code: joules
    label: Joules Marketplace
    platform: mirakl
    connection: { baseUrl: ${sandboxUrl}/mirakl/joules, apiKeyEnv: MIRAKL_JOULES_API_KEY }
    fulfilment: peoplevox
    currency: GBP${channelExtra.joules?.returnWindowDays === undefined ? '\n    returnWindowDays: 0' : ''}
    carrierMap: { Royal Mail: { code: RM }, DPD: { code: DPD } }${intakeLine}${map('joules')}${inventory}${marketplacerChannel(sandboxUrl, opts)}
${/^security:/m.test(extra) ? '' : TEST_SECURITY_YAML}
${extra}`;
}

/**
 * Each stock channel's ledger started and primed by its first full read, as a deployment's is. Started lazily by
 * the first order's reservation instead, a ledger whose first figure of an item already has that order's
 * allocation in it keeps the reservation until it expires, and a test's stock figures would depend on whether
 * the first read came before or after the allocation.
 */
async function primeStockLedgers(env: TestWorkflowEnvironment, config: Config): Promise<void> {
  const channels = config.channels.filter((c) => c.fulfilment === 'peoplevox' && c.inventory.enabled);
  await ensureInventoryWorkflows(env.client, config);
  await eventually(
    async () => {
      for (const ch of channels) {
        const h = await env.client.workflow
          .getHandle(inventoryWorkflowId(ch.code, config.temporal.idScope))
          .query(healthQuery);
        if (h.fullReads < 1) return undefined;
      }
      return true;
    },
    60_000,
    "every channel's first full stock read",
  );
}

export async function startStack(env: TestWorkflowEnvironment, opts: StackOptions = {}): Promise<Stack> {
  const timeScale = opts.timeScale ?? 60;
  const suffix = randomUUID().slice(0, 8);
  const envVars = { ...process.env, ...SANDBOX_SECRETS };
  // Loopline's logger (redacting, scanned); the simulators play other companies' systems: their own log.
  const log = scanLog().child({ stack: suffix });
  const simLog = pino({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
  const logFrom = scanLogPosition();
  // The simulators depend only on channel codes and credentials, not on their own URL.
  const draft = parseConfig(configYaml('http://127.0.0.1:1', suffix, opts), 'test', envVars);
  const sandbox = await startSandbox(
    { log: simLog, port: 0, timeScale },
    sandboxSystems(draft, { multiShipment: opts.multiShipment, env: envVars }),
  );
  const config = parseConfig(configYaml(sandbox.url, suffix, opts), 'test', envVars);
  for (const [k, v] of Object.entries(SANDBOX_SECRETS)) process.env[k] ??= v;
  registerSecrets(secretValues(config, process.env));

  const runtime = createRuntime(config, log, { timeScale });
  const external = opts.externalWorkers
    ? await opts.externalWorkers.start(configYaml(sandbox.url, suffix, opts))
    : undefined;
  const workers = external
    ? []
    : await createWorkers({
        connection: env.nativeConnection,
        client: env.client,
        runtime,
        workflowBundle: await workflowBundle(),
        despatchBackstopMs: opts.despatchBackstopMs ?? 3_000,
        timeScale,
      });
  const running = workers.map((w) => w.run());
  const servers = await createHttpServers({ config, client: env.client, log, timeScale });
  const { publicUrl: httpUrl, internalUrl } = await servers.listen();
  await subscribeWarehouseEvents(runtime, httpUrl);
  if (runtime.shopify) await subscribeShopifyWebhooks(runtime.shopify, httpUrl);
  if (opts.marketplacer)
    await subscribeSandboxMarketplacerWebhooks({ sandboxUrl: sandbox.url, config, publicUrl: httpUrl });
  await subscribeReturnEvents(runtime, httpUrl);
  if (opts.stockEvents) {
    await subscribeStockEvents(runtime.peoplevox, httpUrl, log, config);
    await primeStockLedgers(env, config);
  }

  // Worker processes start the intake workflows, the gateway and the Schedules under their own ids (no suffix):
  // ensured here under the same ids, so stop() ends them; Schedules not asked for are deleted at once.
  const recurring = await ensureRecurringWork(env.client, config, {
    ...(external ? {} : { idSuffix: suffix }),
    timeScale,
    schedules: external ? true : (opts.schedules ?? false),
  });
  if (external && !opts.schedules) {
    for (const id of recurring.scheduleIds) await env.client.schedule.getHandle(id).delete();
    recurring.scheduleIds = [];
  }
  const control = axios.create({ baseURL: sandbox.url, timeout: 10_000 });
  return {
    config,
    sandbox,
    control,
    http: servers.public,
    internal: servers.internal,
    httpUrl,
    internalUrl,
    servers,
    workers,
    runtime,
    idPrefix: `T${suffix.toUpperCase()}`,
    recurring,
    async stop() {
      for (const id of recurring.scheduleIds)
        await env.client.schedule
          .getHandle(id)
          .delete()
          .catch(() => undefined);
      for (const id of recurring.intakeWorkflowIds)
        await env.client.workflow
          .getHandle(id)
          .terminate('test over')
          .catch(() => undefined);
      // The customers this stack's marketplaces held, read before the simulators go.
      const pii = opts.noScan
        ? []
        : [
            ...(await customerNeedles(
              control,
              config.channels.filter((c) => c.platform === 'mirakl').map((c) => c.code),
            )),
            ...(await marketplacerCustomerNeedles(
              control,
              config.channels.filter((c) => c.platform === 'marketplacer').map((c) => c.code),
            )),
          ];
      // Stop what could start more work first (webhooks, then workers and their in-flight activities, which
      // may signal-with-start an inventory workflow), then leave nothing running on this stack's queues:
      // without workers, a query to those workflows would hang other test files' dashboards and metrics.
      await servers.close();
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      await external?.stop();
      await runtime.close();
      const queues = Object.values(config.temporal.taskQueues).map((q) => `TaskQueue = "${q}"`);
      const ids = new Set(config.channels.map((c) => inventoryWorkflowId(c.code, config.temporal.idScope)));
      // The warehouse gateway runs on the coordination queue (not in the config's list).
      if (recurring.gatewayWorkflowId) ids.add(recurring.gatewayWorkflowId);
      for await (const wf of env.client.workflow.list({
        query: `ExecutionStatus = "Running" AND (${queues.join(' OR ')})`,
      }))
        ids.add(wf.workflowId);
      // By id, not run: visibility may not list a workflow started a moment ago, and the inventory ids are known.
      await Promise.all(
        [...ids].map((id) =>
          env.client.workflow
            .getHandle(id)
            .terminate('test stack stopped')
            .catch(() => undefined),
        ),
      );
      await sandbox.close();
      if (!opts.noScan) await scanStack(env, config, pii, logFrom, ids);
    },
  };
}

/** The leak scan of one stack: its log lines and the raw histories of its workflows (test/support/scan.ts). */
async function scanStack(
  env: TestWorkflowEnvironment,
  config: Config,
  pii: Awaited<ReturnType<typeof customerNeedles>>,
  logFrom: { file: string; offset: number },
  extraWorkflowIds: Iterable<string>,
): Promise<void> {
  const started = Date.now();
  const needles = [...secretNeedles(), ...pii];
  const logs = await scanLogFile(logFrom.file, logFrom.offset, needles);
  const histories = await scanHistories(
    env.connection,
    env.namespace ?? 'default',
    Object.values(config.temporal.taskQueues),
    needles,
    [...extraWorkflowIds],
  );
  const report: ScanReport = {
    name: basename(process.argv[1] ?? 'test'),
    scanMs: Date.now() - started,
    logLines: logs.lines,
    workflows: histories.workflows,
    historyEvents: histories.events,
    needles: { secrets: needles.filter((n) => n.kind === 'secret').length, pii: pii.length },
    secretsInLogs: logs.secretLines,
    piiInLogs: logs.piiLines,
    secretsInHistory: histories.secretEvents,
    piiInHistoryClear: histories.piiEvents,
    findings: [...logs.findings, ...histories.findings],
  };
  saveReport(report);
  assertClean(report);
}
