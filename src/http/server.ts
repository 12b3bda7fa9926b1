// Loopline's own HTTP servers: two listeners, so what faces the internet can do as little as possible
// (docs/security.md):
//   public   (http.host:http.port)   webhooks only: Peoplevox callbacks (secret in the path), Shopify
//            (HMAC), push intake (bearer token); per-source rate limits; /healthz
//   internal (http.internal.*)       the ops dashboard and API (viewer / operator), the codec endpoint
//            for the Temporal Web UI (decryptor), Prometheus metrics, /healthz and /readyz; CSRF checks
//            on every state change
// Both send the usual security headers (CSP with frame-ancestors 'none', nosniff, no referrer…).
import Fastify, { type FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics, register as defaultRegistry } from 'prom-client';
import axios from 'axios';
import { registerOrderMetrics } from '../metrics/orders';
import { registerBudgetMetrics } from '../metrics/budget';
import type { Config } from '../config/schema';
import { loadHttpSecrets, type HttpSecrets } from '../config/secrets';
import { recordDropped } from '../metrics/webhooks';
import { registerWebhooks } from './webhooks';
import { registerIntakeWebhook } from './intake-webhook';
import { registerShopifyWebhooks } from './shopify-webhooks';
import { registerMarketplacerWebhooks } from './marketplacer-webhooks';
import { registerReturnWebhooks } from './returns-webhooks';
import { registerOps } from './ops';
import { registerCodecEndpoint } from './codec';
import { createFailureLimiter, type FailureLimiter } from './auth';
import { csrfGuard } from './csrf';
import { createStockEventBatcher, registerInventoryWebhooks, type StockEventBatcher } from '../inventory/intake';
import { registerInventoryMetrics } from '../inventory/metrics';
import { assertSandboxOpenCodec } from '../sandbox/relaxations';

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
  /** The sandbox's clock speed-up (the warehouse gateway's timings, if a callback has to start it). */
  timeScale?: number;
  /** The HTTP credentials; read from the environment (and checked) when not given. */
  secrets?: HttpSecrets;
  /**
   * `npm start` only: the codec endpoint decodes for the sandbox's Web UI without credentials. Refused
   * unless the config is the sandbox's and every payload key is the published sandbox key.
   */
  sandboxOpenCodec?: boolean;
}

/** What the route modules receive: the options, with the credentials and the failed-sign-in limiter. */
export interface HttpContext extends HttpServerOptions {
  secrets: HttpSecrets;
  failures: FailureLimiter;
}

export interface HttpServers {
  /** Webhooks only. */
  public: FastifyInstance;
  /** Dashboard, ops API, codec, metrics. */
  internal: FastifyInstance;
  /** Listens on http.host:port and http.internal.host:port (port 0: any free port). */
  listen(): Promise<{ publicUrl: string; internalUrl: string }>;
  close(): Promise<void>;
}

async function securityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
        // No page of ours may be framed (clickjacking an operator into pressing "cancel").
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
  });
  // Decoded payloads and order data must not stay in any cache.
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });
}

function baseServer(config: Config, bodyLimit: number): FastifyInstance {
  return Fastify({
    logger: false,
    bodyLimit,
    // Behind a load balancer, per-source limits need the caller's address, from trusted proxies only.
    trustProxy: config.http.trustProxy.length > 0 ? config.http.trustProxy : false,
  });
}

export async function createHttpServers(opts: HttpServerOptions): Promise<HttpServers> {
  const { config } = opts;
  const secrets = opts.secrets ?? loadHttpSecrets(config);
  if (opts.sandboxOpenCodec) assertSandboxOpenCodec(config);
  const ctx: HttpContext = {
    ...opts,
    secrets,
    failures: createFailureLimiter(config.http.rateLimits.authFailures),
  };

  // ---- public: webhooks only ----------------------------------------------------------------------
  const pub = baseServer(config, 1024 * 1024);
  await securityHeaders(pub);
  await pub.register(rateLimit, { global: false });
  pub.get('/healthz', async () => ({ ok: true }));
  let closeBatcher: (() => Promise<void>) | undefined;
  if (opts.inventory !== false) {
    const log = opts.log.child({ component: 'stock-events' });
    const batcher = opts.inventory?.batcher ?? createStockEventBatcher({ client: opts.client, config, log });
    registerInventoryWebhooks(pub, { ...ctx, batcher, log });
    // Whatever is still batched reaches the inventory workflows before the server goes.
    if (!opts.inventory?.batcher) closeBatcher = () => batcher.close();
  }
  registerWebhooks(pub, ctx);
  registerIntakeWebhook(pub, ctx);
  registerShopifyWebhooks(pub, ctx);
  registerMarketplacerWebhooks(pub, ctx);
  registerReturnWebhooks(pub, ctx);

  // ---- internal: people and tools -----------------------------------------------------------------
  const internal = baseServer(config, 64 * 1024);
  await securityHeaders(internal);
  const il = config.http.rateLimits.internal;
  await internal.register(rateLimit, {
    global: true,
    max: il.max,
    timeWindow: il.windowSeconds * 1000,
    onExceeded: () => recordDropped('internal', 'rate-limited'),
  });
  const codecOrigins = config.security.codecEndpoint.corsOrigins.map((o) => new URL(o).origin);
  internal.addHook(
    'onRequest',
    csrfGuard({
      allowedOrigins: config.http.internal.allowedOrigins.map((o) => new URL(o).origin),
      extraOrigins: (url: string) => (url.startsWith('/codec/') ? codecOrigins : []),
    }),
  );
  const registry = opts.registry ?? new Registry();
  if (!opts.registry) collectDefaultMetrics({ register: registry, prefix: 'loopline_' });
  internal.get('/healthz', async () => ({ ok: true }));
  internal.get('/readyz', async (_req, reply) => {
    try {
      await (opts.client.connection as Connection).healthService.check({});
      return { ok: true, temporal: config.temporal.address };
    } catch (err) {
      return reply.code(503).send({ ok: false, temporal: config.temporal.address, error: (err as Error).message });
    }
  });
  registerOrderMetrics(registry, opts.client);
  registerBudgetMetrics(registry, opts.config);
  if (opts.inventory !== false) registerInventoryMetrics(registry, opts.client, config);
  const temporalMetrics = config.metrics.temporalPrometheus;
  internal.get('/metrics', async (_req, reply) => {
    // Ours (this registry), the connectors' API-call and inbound counters (prom-client's default
    // registry) and, when configured, the Temporal SDK runtime's own worker metrics.
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
  registerOps(internal, ctx);
  // POST /codec/decode|encode for the Temporal Web UI (docs/security.md).
  registerCodecEndpoint(internal, ctx);

  let closed = false;
  return {
    public: pub,
    internal,
    async listen() {
      const publicUrl = await pub.listen({ host: config.http.host, port: config.http.port });
      const internalUrl = await internal.listen({ host: config.http.internal.host, port: config.http.internal.port });
      return { publicUrl, internalUrl };
    },
    async close() {
      if (closed) return;
      closed = true;
      await pub.close();
      await closeBatcher?.();
      await internal.close();
    },
  };
}
