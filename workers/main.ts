// Process entry point for deployments (docker-compose, Kubernetes, a VM):
//   worker – polls every Loopline task queue (scale horizontally: run more of these)
//   http   – two listeners: public webhooks (http.port) and, internally, the ops API and dashboard, the
//            codec endpoint and metrics (http.internal.port); docs/security.md
// Both read the same config file and environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY …).
import { loadConfig } from '../src/config/load';
import { createLogger } from '../src/logging/logger';
import { connectClient, connectWorker } from '../src/temporal/connection';
import { createRuntime, createWorkers } from './runtime';
import { ensureRecurringWork } from './recurring';
import { createHttpServers } from '../src/http/server';
import { installTemporalLogging } from '../src/temporal/runtime-logging';

async function runWorker() {
  const config = loadConfig();
  const log = createLogger({ level: config.log.level, format: config.log.format, name: 'loopline-worker' });
  installTemporalLogging(log, 'WARN', { metricsBindAddress: config.metrics.temporalPrometheus });
  const client = await connectClient(config);
  const connection = await connectWorker(config);
  const runtime = createRuntime(config, log);
  const workers = await createWorkers({ connection, client, runtime });
  // Intake workflows and Schedules are singletons: ensuring them from every worker is a no-op.
  await ensureRecurringWork(client, config, { log });
  const stop = () => workers.forEach((w) => w.shutdown());
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  log.info({ temporalAddress: config.temporal.address, namespace: config.temporal.namespace }, 'workers running');
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
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

const role = process.argv[2] ?? 'worker';
const run = role === 'http' ? runHttp : role === 'worker' ? runWorker : undefined;
if (!run) {
  process.stderr.write(`unknown role "${role}": use "worker" or "http"\n`);
  process.exit(2);
}
run().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
