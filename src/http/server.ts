// Loopline's own HTTP server: webhooks (verified, deduplicated, acknowledged fast), the ops API and
// dashboard, and the Prometheus metrics endpoint.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics, register as defaultRegistry } from 'prom-client';
import axios from 'axios';
import { registerOrderMetrics } from '../metrics/orders';
import type { Config } from '../config/schema';
import { registerWebhooks } from './webhooks';
import { registerIntakeWebhook } from './intake-webhook';
import { registerShopifyWebhooks } from './shopify-webhooks';
import { registerReturnWebhooks } from './returns-webhooks';
import { registerOps } from './ops';
import { registerCodecEndpoint } from './codec';
import { createStockEventBatcher, registerInventoryWebhooks, type StockEventBatcher } from '../inventory/intake';
import { registerInventoryMetrics } from '../inventory/metrics';

export interface HttpServerOptions {
  config: Config;
  client: Client;
  log: Logger;
  registry?: Registry;
  /**
   * Stock sync (docs/inventory.md): the Peoplevox AvailabilityChanges / GoodsReceived callbacks and the
   * loopline_stock_* metrics. On by default (a batcher is made here and flushed on close); pass a batcher
   * to share one, or false when the caller wires them itself.
   */
  inventory?: { batcher?: StockEventBatcher } | false;
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
  registerOrderMetrics(registry, opts.client);
  if (opts.inventory !== false) {
    registerInventoryMetrics(registry, opts.client, opts.config);
    const log = opts.log.child({ component: 'stock-events' });
    const batcher =
      opts.inventory?.batcher ?? createStockEventBatcher({ client: opts.client, config: opts.config, log });
    registerInventoryWebhooks(app, { batcher, client: opts.client, config: opts.config, log });
    // Whatever is still batched reaches the inventory workflows before the server goes.
    if (!opts.inventory?.batcher) app.addHook('onClose', async () => batcher.close());
  }
  const temporalMetrics = opts.config.metrics.temporalPrometheus;
  app.get('/metrics', async (_req, reply) => {
    // Ours (this registry), the connectors' API-call counters (prom-client's default registry) and,
    // when configured, the Temporal SDK runtime's own worker metrics.
    const merged = Registry.merge([registry, defaultRegistry]);
    let text = await merged.metrics();
    if (temporalMetrics) {
      try {
        const r = await axios.get<string>(`http://${temporalMetrics}/metrics`, { timeout: 2000, responseType: 'text' });
        text += `\n# Temporal SDK runtime metrics (${temporalMetrics})\n${r.data}`;
      } catch (err) {
        text += `\n# Temporal SDK runtime metrics unavailable at ${temporalMetrics}: ${(err as Error).message}\n`;
      }
    }
    reply.header('content-type', merged.contentType);
    return text;
  });
  registerWebhooks(app, opts);
  registerIntakeWebhook(app, opts);
  registerShopifyWebhooks(app, opts);
  registerReturnWebhooks(app, opts);
  registerOps(app, opts);
  // POST /codec/decode|encode for the Temporal Web UI (docs/security.md).
  registerCodecEndpoint(app, opts);
  return app;
}
