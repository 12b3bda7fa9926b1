// `npm start`: the whole of Loopline on one machine against simulated marketplaces and warehouse.
//   Temporal dev server (SQLite file, Web UI :8233) → simulators (:9090) → workers → HTTP servers
//   (webhooks :8080, dashboard/ops API/codec/metrics :8081) → intake workflows per channel → a stream of
//   demo orders and a demo warehouse that despatches them.
// Ctrl-C stops everything cleanly; running it again resumes in-flight workflows from the same SQLite file.
//
// Sandbox usability (docs/security.md): with the published sandbox key and fake data, the Web UI decodes
// every order's payloads out of the box (the codec endpoint opens without credentials) and the CLI finds
// the sandbox's secrets by itself. The banner says so, loudly. Neither exists outside the sandbox.
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
import { createHttpServers } from '../http/server';
import { sandboxRelaxationRefusal } from './relaxations';
import { startDemoTraffic } from './demo';
import { subscribeSandboxMarketplacerWebhooks } from './marketplacer/setup';
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
  // The Web UI decodes encrypted payloads through the codec endpoint on the internal listener. In the
  // sandbox (published key, fake data) it needs no credentials; otherwise the decryptor role.
  const openCodecRefusal = sandboxRelaxationRefusal(config);
  const uiOrigin = `http://localhost:${config.sandbox.uiPort}`;
  if (!config.security.codecEndpoint.corsOrigins.includes(uiOrigin))
    config.security.codecEndpoint.corsOrigins.push(uiOrigin);
  const codecEndpoint = config.security.payloadEncryption.enabled
    ? `http://localhost:${config.http.internal.port}/codec`
    : undefined;
  const server = await startDevServer({
    cliPath: tools.cli.path,
    ip: host,
    port: Number(portStr ?? 7233),
    uiPort: config.sandbox.uiPort,
    dbFilename,
    codecEndpoint,
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
    await runtime.close();
    await connection.close();
  });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'loopline_' });
  // Stock: Peoplevox AvailabilityChanges callbacks, batched into one signal per channel workflow, and the
  // stock metrics — registered by createHttpServer (as for `npm run http`).
  const stockBatcher = createStockEventBatcher({ client, config, log: log.child({ component: 'stock-events' }) });
  const http = await createHttpServers({
    config,
    client,
    log: log.child({ component: 'http' }),
    registry,
    inventory: { batcher: stockBatcher },
    sandboxOpenCodec: openCodecRefusal === undefined,
  });
  stops.push(() => stockBatcher.close());
  await http.listen();
  stops.push(() => http.close());
  const httpUrl = `http://${config.http.host}:${config.http.port}`;
  const internalUrl = `http://${config.http.internal.host}:${config.http.internal.port}`;

  await subscribeWarehouseEvents(runtime, httpUrl);
  await subscribeStockEvents(runtime.peoplevox, httpUrl, log.child({ component: 'stock-events' }), config);
  // Shopify-fulfilled channels: orders, fulfillments, refunds and stock come back as signed webhooks.
  if (runtime.shopify) await subscribeShopifyWebhooks(runtime.shopify, httpUrl);
  // Marketplacer channels: invoices and refund requests come as signed webhooks (set up in its portal in production).
  await subscribeSandboxMarketplacerWebhooks({ sandboxUrl: sandbox.url, config, publicUrl: httpUrl });
  // Returns: Peoplevox Returns events (warehouse-driven channels) and Reveni webhooks (docs/returns.md).
  await subscribeReturnEvents({ ...runtime, log: log.child({ component: 'returns' }) }, httpUrl);
  // One inventory workflow per channel (inventory:<code>): reads the master at once, then pushes changes.
  await ensureInventoryWorkflows(client, config);

  const recurring = await ensureRecurringWork(client, config, { log: log.child({ component: 'recurring' }) });

  if (config.sandbox.demoOrdersPerMinute > 0) {
    const demo = startDemoTraffic({ config, sandboxUrl: sandbox.url, log: log.child({ component: 'demo' }) });
    stops.push(demo.stop);
  }

  const env = process.env;
  const ui = server.uiUrl ?? '(headless)';
  const lines = [
    '',
    'Loopline sandbox is running:',
    `  Temporal Web UI       ${ui}/namespaces/${config.temporal.namespace}/workflows`,
    `  Temporal gRPC         ${server.address}`,
    `  Ops dashboard         ${internalUrl}/ops   (internal listener: dashboard, ops API, codec, /metrics)`,
    `    operator            user: any   password: ${env[config.http.opsTokenEnv] ?? '(unset)'}   (${config.http.opsTokenEnv})`,
    `    viewer              user: any   password: ${env[config.http.viewerTokenEnv] ?? '(unset)'}   (${config.http.viewerTokenEnv})`,
    `    decryptor           user: any   password: ${env[config.http.decryptorTokenEnv] ?? '(unset)'}   (${config.http.decryptorTokenEnv})`,
    `  Webhooks              ${httpUrl}/webhooks/...   (public listener: webhooks only)`,
    `  Simulators            ${sandbox.url}  (control API: ${sandbox.url}/control/..., docs/sandbox/)`,
    ...config.channels.map(
      (c) =>
        `    ${c.label.padEnd(20)}${sandbox.url}/${c.platform}/${c.code}/${c.platform === 'marketplacer' ? 'graphql' : 'api'}`,
    ),
    `  Schedules             ${recurring.scheduleIds.join(', ') || '(none)'}`,
    `  Workflow history      ${dbFilename}`,
    '',
    ...(openCodecRefusal === undefined
      ? [
          '  !! SANDBOX ONLY: the Web UI decodes every payload without signing in: the codec endpoint',
          `  !! ${codecEndpoint} answers anyone who can reach ${config.http.internal.host}, because the`,
          '  !! payload key is the PUBLISHED sandbox key and the data is fake. Outside the sandbox it needs',
          `  !! the decryptor token (docs/security.md).${server.reused ? ' (This dev server was already running: set its codec endpoint in the UI.)' : ''}`,
          '  !! SANDBOX ONLY: `npm run loopline -- <command>` finds the sandbox secrets by itself.',
        ]
      : [`  The codec endpoint needs the decryptor token (${openCodecRefusal}); see docs/security.md.`]),
    '',
    'Press Ctrl-C to stop; start again to resume in-flight workflows.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
