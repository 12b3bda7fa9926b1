// Stock sync against the simulators, in one test process: Mirakl (ASOS, Joules) and Peoplevox on a random
// port with a small catalogue, the inventory worker on a real Temporal server, and Loopline's HTTP server
// receiving Peoplevox's AvailabilityChanges callbacks. Time is scaled (60: Mirakl's once-a-minute STO01
// becomes once a second, in the simulator's limits and in Loopline's timers alike).
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import axios, { type AxiosInstance } from 'axios';
import pino from 'pino';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { sandboxSystems, SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { createBudgetWorker, createRuntime, type Runtime } from '../../workers/runtime';
import { createHttpServers } from '../../src/http/server';
import { createAlertSink, type AlertSink } from '../../src/alerts/alerts';
import { createInventoryWorker } from '../../src/inventory/worker';
import { createAlertActivities } from '../../activities/alerts';
import { createStockEventBatcher, subscribeStockEvents, type StockEventBatcher } from '../../src/inventory/intake';
import { workflowBundle } from '../support/temporal';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { inventoryWorkflow, type InventoryWorkflowInput } from '../../workflows/inventory';

export interface InventoryStack {
  config: Config;
  runtime: Runtime;
  sandbox: RunningSandbox;
  control: AxiosInstance;
  http: FastifyInstance;
  httpUrl: string;
  worker: Worker;
  batcher: StockEventBatcher;
  alerts: AlertSink;
  timeScale: number;
  stop(): Promise<void>;
}

export interface InventoryStackOptions {
  timeScale?: number;
  catalogueSize?: number;
  /** YAML lines appended to each channel (indented 4 spaces), by channel code. */
  channelYaml?: Record<string, string>;
  /** The inventory worker's activities, wrapped (createInventoryWorker's wrapActivities). */
  wrapActivities?: Parameters<typeof createInventoryWorker>[0]['wrapActivities'];
}

function configYaml(url: string, suffix: string, extra: Record<string, string> = {}): string {
  return `
temporal:
  idScope: "${suffix}"
  taskQueues: { orders: orders-${suffix}, acknowledge: ack-${suffix}, peoplevox: pvx-${suffix}, peoplevoxBulk: pvxb-${suffix}, inventory: inv-${suffix} }
http: { port: 0, internal: { port: 0 } }
log: { level: fatal }
sandbox: { enabled: true, demoOrdersPerMinute: 0 }
systems:
  peoplevox: { baseUrl: ${url}/peoplevox, clientId: test-client, username: api-user, passwordEnv: PEOPLEVOX_PASSWORD, requestsPerSecond: 1 }
channels:
  - code: asos
    label: ASOS Marketplace
    platform: mirakl
    connection: { baseUrl: ${url}/mirakl/asos, apiKeyEnv: MIRAKL_ASOS_API_KEY }
    fulfilment: peoplevox
    currency: GBP
${extra.asos ?? ''}
  - code: joules
    label: Joules Marketplace
    platform: mirakl
    connection: { baseUrl: ${url}/mirakl/joules, apiKeyEnv: MIRAKL_JOULES_API_KEY }
    fulfilment: peoplevox
    currency: GBP
${extra.joules ?? ''}
`;
}

export async function startInventoryStack(
  env: TestWorkflowEnvironment,
  opts: InventoryStackOptions = {},
): Promise<InventoryStack> {
  const timeScale = opts.timeScale ?? 60;
  const suffix = randomUUID().slice(0, 8);
  const envVars = { ...process.env, ...SANDBOX_SECRETS };
  for (const [k, v] of Object.entries(SANDBOX_SECRETS)) process.env[k] ??= v;
  const log = pino({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
  const draft = parseConfig(configYaml('http://127.0.0.1:1', suffix, opts.channelYaml), 'test', envVars);
  const sandbox = await startSandbox(
    { log, port: 0, timeScale },
    sandboxSystems(draft, { env: envVars, catalogueSize: opts.catalogueSize ?? 40 }),
  );
  const config = parseConfig(configYaml(sandbox.url, suffix, opts.channelYaml), 'test', envVars);
  const alerts = createAlertSink(log);
  const runtime = createRuntime(config, log, { timeScale, alerts });
  const worker = await createInventoryWorker({
    connection: env.nativeConnection,
    client: env.client,
    runtime,
    workflowBundle: await workflowBundle(),
    timeScale,
    ...(opts.wrapActivities ? { wrapActivities: opts.wrapActivities } : {}),
  });
  // The alert router (workflows/alerts.ts) runs on the orders queue: its workflow and delivery activity.
  const alertWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: config.temporal.taskQueues.orders,
    workflowBundle: await workflowBundle(),
    activities: createAlertActivities({ sinks: alerts, log }),
  });
  // The Peoplevox budget the stock reads keep to (workflows/rate-budget.ts) on its own queue.
  const budgetWorker = await createBudgetWorker({
    connection: env.nativeConnection,
    config,
    workflowBundle: await workflowBundle(),
  });
  const running = Promise.all([worker.run(), alertWorker.run(), budgetWorker.run()]);
  const batcher = createStockEventBatcher({ client: env.client, config, log, flushMs: 50 });
  const servers = await createHttpServers({ config, client: env.client, log, inventory: { batcher } });
  const { publicUrl: httpUrl } = await servers.listen();
  const http = servers.public;
  await subscribeStockEvents(runtime.peoplevox, httpUrl, log, config);
  return {
    config,
    runtime,
    sandbox,
    control: axios.create({ baseURL: sandbox.url, timeout: 10_000 }),
    http,
    httpUrl,
    worker,
    batcher,
    alerts,
    timeScale,
    async stop() {
      await batcher.close();
      worker.shutdown();
      alertWorker.shutdown();
      budgetWorker.shutdown();
      await running.catch(() => undefined);
      await servers.close();
      await sandbox.close();
    },
  };
}

export interface HistoryEntry {
  at: string;
  offerSku: string;
  quantity: number;
  source: string;
  importId?: string;
}

export async function stockHistory(stack: InventoryStack, channel: string, offerSku?: string): Promise<HistoryEntry[]> {
  const q = offerSku ? `?offerSku=${encodeURIComponent(offerSku)}` : '';
  const { data } = await stack.control.get(`/control/mirakl/${channel}/stock-history${q}`);
  return (data as { history: HistoryEntry[] }).history;
}

/** What a Mirakl simulator's offer shows (any stack: only its control client is used). */
export async function shownQuantity(
  stack: Pick<InventoryStack, 'control'>,
  channel: string,
  offerSku: string,
): Promise<number> {
  const { data } = await stack.control.get(`/control/mirakl/${channel}/offers`);
  const o = (data as { offers: Array<{ offerSku: string; quantity: number }> }).offers.find(
    (x) => x.offerSku === offerSku,
  );
  if (!o) throw new Error(`no offer ${offerSku} on ${channel}`);
  return o.quantity;
}

export async function setWarehouseStock(stack: InventoryStack, items: Array<{ itemCode: string; available: number }>) {
  await stack.control.put('/control/peoplevox/test-client/stock', { items });
}

/**
 * The STO01 calls a channel's Mirakl simulator took since `since` (its own call log), asserting none was refused by
 * the documented limit, and the gaps between them (ms) with their median.
 */
export function sto01Gaps(
  stack: InventoryStack,
  channel: string,
  since: number,
): { calls: number; gaps: number[]; median: number } {
  const calls = stack.sandbox.ctx.calls
    .list({ system: 'mirakl', tenant: channel, endpoint: 'STO01' })
    .filter((c) => c.at >= since);
  assert.ok(
    calls.every((c) => !c.rateLimited),
    'no STO01 refused by the documented limit',
  );
  const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
  assert.ok(gaps.length >= 3, `pushes: ${calls.length} (gaps ${gaps.join(', ')} ms)`);
  const sorted = [...gaps].sort((a, b) => a - b);
  return { calls: calls.length, gaps, median: sorted[Math.floor(sorted.length / 2)]! };
}

/** Starts a channel's inventory workflow on the stack's inventory queue, with this input beside the channel; its id. */
export async function startChannelInventory(
  env: TestWorkflowEnvironment,
  stack: InventoryStack,
  channel: string,
  input: Omit<InventoryWorkflowInput, 'channel'> = {},
): Promise<string> {
  const workflowId = inventoryWorkflowId(channel, stack.config.temporal.idScope);
  await env.client.workflow.start(inventoryWorkflow, {
    workflowId,
    taskQueue: stack.config.temporal.taskQueues.inventory,
    args: [{ channel, ...input }],
  });
  return workflowId;
}
