// `npm start`: the whole of Loopline on one machine against simulated marketplaces and warehouse.
//   Temporal dev server (SQLite file, Web UI :8233) → simulators (:9090) → workers → HTTP server (:8080)
//   → intake workflows per channel → a stream of demo orders and a demo warehouse that despatches them.
// Ctrl-C stops everything cleanly; running it again resumes in-flight workflows from the same SQLite file.
import { resolve } from 'node:path';
import { loadConfig } from '../config/load';
import { createLogger } from '../logging/logger';
import { readTemporalTools, PROJECT_ROOT } from '../devtools/tools';
import { startDevServer } from '../temporal/dev-server';
import { installTemporalLogging } from '../temporal/runtime-logging';
import { connectClient, connectWorker } from '../temporal/connection';
import { startSandbox } from './server';
import { sandboxSystems, SANDBOX_SECRETS } from './systems';
import { createRuntime, createWorkers } from '../../workers/runtime';
import { createHttpServer } from '../http/server';
import { startDemoTraffic } from './demo';
import { subscribeWarehouseEvents } from '../../workers/subscriptions';
import { subscribeShopifyWebhooks } from '../http/shopify-webhooks';
import { ensureRecurringWork } from '../../workers/recurring';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createStockEventBatcher, ensureInventoryWorkflows, subscribeStockEvents } from '../inventory/intake';
import { subscribeReturnEvents } from '../returns/subscriptions';

async function main() {
  // Sandbox credentials: the simulators accept these; a real tenant's come from the environment.
  for (const [k, v] of Object.entries(SANDBOX_SECRETS)) process.env[k] ??= v;
  const config = loadConfig();
  const log = createLogger({ level: config.log.level, format: config.log.format, name: 'loopline' });
  installTemporalLogging(log, 'WARN', { metricsBindAddress: config.metrics.temporalPrometheus });
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping (in-flight workflows resume on the next start)`);
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'error while stopping');
      }
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const tools = readTemporalTools();
  const [host, portStr] = config.temporal.address.split(':');
  const dbFilename = resolve(PROJECT_ROOT, config.sandbox.dataDir, 'temporal.db');
  const server = await startDevServer({
    cliPath: tools.cli.path,
    ip: host,
    port: Number(portStr ?? 7233),
    uiPort: 8233,
    dbFilename,
    // The Web UI decodes encrypted payloads through our HTTP server (ops token; docs/security.md).
    codecEndpoint: config.security.payloadEncryption.enabled ? `http://localhost:${config.http.port}/codec` : undefined,
    onLog: (line) => log.debug({ component: 'temporal' }, line),
  });
  stops.push(server.stop);
  log.info(
    `Temporal ${server.reused ? 'server reused' : 'dev server started'} at ${server.address} (${tools.cli.version})`,
  );

  const sandbox = await startSandbox(
    { host: config.sandbox.host, port: config.sandbox.port, log: log.child({ component: 'sandbox' }) },
    sandboxSystems(config),
  );
  stops.push(() => sandbox.close());

  const client = await connectClient(config);
  const connection = await connectWorker(config);
  const runtime = createRuntime(config, log);
  const workers = await createWorkers({ connection, client, runtime, despatchBackstopMs: 2 * 60_000 });
  const running = workers.map((w) => w.run());
  stops.push(async () => {
    for (const w of workers) w.shutdown();
    await Promise.allSettled(running);
    await connection.close();
  });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'loopline_' });
  // Stock: Peoplevox AvailabilityChanges callbacks, batched into one signal per channel workflow, and the
  // stock metrics — registered by createHttpServer (as for `npm run http`).
  const stockBatcher = createStockEventBatcher({ client, config, log: log.child({ component: 'stock-events' }) });
  const http = await createHttpServer({
    config,
    client,
    log: log.child({ component: 'http' }),
    registry,
    inventory: { batcher: stockBatcher },
  });
  stops.push(() => stockBatcher.close());
  await http.listen({ host: config.http.host, port: config.http.port });
  stops.push(() => http.close());
  const httpUrl = `http://${config.http.host}:${config.http.port}`;

  await subscribeWarehouseEvents(runtime, httpUrl);
  await subscribeStockEvents(runtime.peoplevox, httpUrl, log.child({ component: 'stock-events' }));
  // Shopify-fulfilled channels: orders, fulfillments, refunds and stock come back as signed webhooks.
  if (runtime.shopify) await subscribeShopifyWebhooks(runtime.shopify, httpUrl);
  // Returns: Peoplevox Returns events (warehouse-driven channels) and Reveni webhooks (docs/returns.md).
  await subscribeReturnEvents({ ...runtime, log: log.child({ component: 'returns' }) }, httpUrl);
  // One inventory workflow per channel (inventory:<code>): reads the master at once, then pushes changes.
  await ensureInventoryWorkflows(client, config);

  const recurring = await ensureRecurringWork(client, config, { log: log.child({ component: 'recurring' }) });

  if (config.sandbox.demoOrdersPerMinute > 0) {
    const demo = startDemoTraffic({ config, sandboxUrl: sandbox.url, log: log.child({ component: 'demo' }) });
    stops.push(demo.stop);
  }

  const lines = [
    '',
    'Loopline sandbox is running:',
    `  Temporal Web UI       ${server.uiUrl ?? '(headless)'}`,
    `  Temporal gRPC         ${server.address}`,
    `  Loopline HTTP         ${httpUrl}  (/healthz, /metrics, /webhooks/...)`,
    `  Simulators            ${sandbox.url}  (control API: ${sandbox.url}/control/..., docs/sandbox/)`,
    ...config.channels.map((c) => `    ${c.label.padEnd(20)}${sandbox.url}/mirakl/${c.code}/api`),
    `  Schedules             ${recurring.scheduleIds.join(', ') || '(none)'}`,
    `  Workflow history      ${dbFilename}`,
    'Press Ctrl-C to stop; start again to resume in-flight workflows.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
