// Loopline's own HTTP server: webhooks (verified, deduplicated, acknowledged fast), the ops API and
// dashboard, and the Prometheus metrics endpoint.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/schema';
import { registerWebhooks } from './webhooks';
import { registerIntakeWebhook } from './intake-webhook';
import { registerOps } from './ops';

export interface HttpServerOptions {
  config: Config;
  client: Client;
  log: Logger;
  registry?: Registry;
}

export async function createHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  const registry = opts.registry ?? new Registry();
  if (!opts.registry) collectDefaultMetrics({ register: registry, prefix: 'loopline_' });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await (opts.client.connection as Connection).healthService.check({});
      return { ok: true, temporal: opts.config.temporal.address };
    } catch (err) {
      return reply.code(503).send({ ok: false, temporal: opts.config.temporal.address, error: (err as Error).message });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  registerWebhooks(app, opts);
  registerIntakeWebhook(app, opts);
  registerOps(app, opts);
  return app;
}
