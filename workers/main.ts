// Process entry point for deployments (docker-compose, Kubernetes, a VM) and for the cluster test:
//   worker [role ...]  – polls the task queues of the roles given (orders, acknowledge, peoplevox, shopify,
//                        inventory; comma- or space-separated, or LOOPLINE_WORKER_ROLES); none or `all`:
//                        every configured role. Scale horizontally: run more processes of a role.
//   http               – two listeners: public webhooks (http.port) and, internally, the ops API and
//                        dashboard, the codec endpoint and metrics (http.internal.port); docs/security.md
// Both read the same config file and environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY …).
import { loadConfig } from '../src/config/load';
import type { Config } from '../src/config/schema';
import { createLogger } from '../src/logging/logger';
import { connectClient, connectWorker } from '../src/temporal/connection';
import { createRuntime, createWorkers, parseWorkerRoles } from './runtime';
import { ensureRecurringWork } from './recurring';
import { createHttpServers } from '../src/http/server';
import { installTemporalLogging } from '../src/temporal/runtime-logging';
import { ensureInventoryWorkflows } from '../src/inventory/intake';

/** The sandbox's clock speed-up; a production config (sandbox.enabled false) always runs at 1. */
function timeScaleOf(config: Config): number {
  return config.sandbox.enabled ? config.sandbox.timeScale : 1;
}

async function runWorker(args: string[]) {
  const config = loadConfig();
  const roles = parseWorkerRoles(args.length > 0 ? args : [process.env.LOOPLINE_WORKER_ROLES ?? ''], config);
  const log = createLogger({
    level: config.log.level,
    format: config.log.format,
    name: `loopline-worker:${roles.join('+')}`,
  });
  installTemporalLogging(log, 'WARN', { metricsBindAddress: config.metrics.temporalPrometheus });
  const timeScale = timeScaleOf(config);
  const client = await connectClient(config);
  const connection = await connectWorker(config);
  const runtime = createRuntime(config, log, { timeScale });
  const workers = await createWorkers({
    connection,
    client,
    runtime,
    roles,
    timeScale,
    ...(timeScale !== 1 ? { despatchBackstopMs: (15 * 60_000) / timeScale } : {}),
  });
  // Intake workflows, Schedules and the per-channel inventory workflows are singletons: ensuring them from
  // every replica of the role that runs them is a no-op.
  if (roles.includes('orders')) await ensureRecurringWork(client, config, { log, timeScale });
  if (roles.includes('inventory')) await ensureInventoryWorkflows(client, config);
  const memory = logMemoryEvery(log, Number(process.env.LOOPLINE_MEMORY_LOG_SECONDS ?? 300));
  const stop = () => {
    clearInterval(memory);
    workers.forEach((w) => w.shutdown());
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  log.info(
    { address: config.temporal.address, namespace: config.temporal.namespace, roles, timeScale },
    'workers running',
  );
  await Promise.all(workers.map((w) => w.run()));
  await runtime.close();
  await connection.close();
}

/**
 * Logs the process's memory every `seconds` (0: never): the resident set and the V8 heap in use, so ops (and the
 * soak benchmark) can tell the workflow cache's share from the heap's slack. LOOPLINE_MEMORY_LOG_SECONDS sets it.
 */
function logMemoryEvery(log: ReturnType<typeof createLogger>, seconds: number) {
  if (!(seconds > 0)) return undefined;
  const mb = (n: number) => Math.round(n / 1048576);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    log.info(
      {
        rssMb: mb(m.rss),
        heapUsedMb: mb(m.heapUsed),
        heapTotalMb: mb(m.heapTotal),
        externalMb: mb(m.external),
        arrayBuffersMb: mb(m.arrayBuffers),
      },
      'worker memory',
    );
  }, seconds * 1000);
  timer.unref();
  return timer;
}

async function runHttp() {
  const config = loadConfig();
  const log = createLogger({ level: config.log.level, format: config.log.format, name: 'loopline-http' });
  const client = await connectClient(config);
  // Checks every HTTP credential first (length, distinct, no sandbox value): a weak one stops the process.
  const servers = await createHttpServers({ config, client, log });
  const { publicUrl, internalUrl } = await servers.listen();
  log.info(
    { publicUrl, internalUrl },
    'HTTP listening: webhooks (public) and dashboard, ops API, codec, metrics (internal)',
  );
  const stop = () => void servers.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const [role = 'worker', ...rest] = process.argv.slice(2);
const run = role === 'http' ? runHttp : role === 'worker' ? () => runWorker(rest) : undefined;
if (!run) {
  process.stderr.write(`unknown process "${role}": use "worker [role ...]" or "http"\n`);
  process.exit(2);
}
run().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
