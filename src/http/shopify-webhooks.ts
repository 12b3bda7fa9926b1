// Shopify webhooks (docs/shopify.md): POST /webhooks/shopify, one address for every topic.
//   - verified first: base64 HMAC-SHA256 of the raw body with the app's client secret, compared in
//     constant time; a bad or missing signature is answered 401 and never processed;
//   - deduplicated on X-Shopify-Event-Id (falling back to X-Shopify-Webhook-Id): a second delivery of
//     an event is answered 200 and dropped (the workflows dedupe again, by fulfillment and refund id);
//   - fulfillments/create → despatchNotified on the order workflow, with the fulfilled lines and tracking;
//   - refunds/create → refundNotified on the order workflow;
//   - inventory_levels/update → a stock event (variant SKU, available) for the inventory workflow of every
//     channel whose master is Shopify, stamped with the event's own `updated_at` (a late redelivery is
//     older than the figure it would overwrite, and the ledger ignores it), for the configured location(s)
//     only (systems.shopify.stockLocations); orders/create is logged.
// Rate-limited per source (http.rateLimits.shopify); refusals and drops are counted by reason.
import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config/schema';
import { secretFromEnv } from '../config/load';
import { ShopifyClient } from '../connectors/shopify/client';
import { createSharedShopifyBudget } from '../connectors/shopify/shared-budget';
import {
  FulfillmentWebhookSchema,
  InventoryLevelWebhookSchema,
  RefundWebhookSchema,
} from '../connectors/shopify/schemas';
import { orderWorkflowId } from '../domain/keys';
import { signalStock, stockChannels } from '../inventory/intake';
import { despatchNotifiedSignal, refundNotifiedSignal, type DespatchNotice } from '../../workflows/order/messages';
import type { RefundNotice } from '../../activities/shopify';
import { verifyShopifyHmac } from './verify';
import { sourceRateLimit } from './limits';
import { recordAccepted, recordDropped } from '../metrics/webhooks';

export { verifyShopifyHmac } from './verify';

export const SHOPIFY_WEBHOOK_PATH = '/webhooks/shopify';
export const SHOPIFY_TOPICS = ['ORDERS_CREATE', 'FULFILLMENTS_CREATE', 'REFUNDS_CREATE', 'INVENTORY_LEVELS_UPDATE'];

export interface ShopifyWebhookOptions {
  config: Config;
  client: Client;
  log: Logger;
  /** Defaults to a client built from systems.shopify, keeping to the shop's shared budget. */
  shopify?: ShopifyClient;
  /** The sandbox's clock speed-up (the budget's terms); default: the config's. */
  timeScale?: number;
  /** inventory_levels/update (default: a stockEvents signal to each Shopify-mastered channel). */
  onStock?: (e: z.infer<typeof InventoryLevelWebhookSchema>) => Promise<void>;
}

/** The event time of an inventory level update: its `updated_at`, else (absent or unreadable) arrival. */
export function stockEventTime(updatedAt: string | undefined, arrivedAt = Date.now()): number {
  const t = updatedAt === undefined ? NaN : Date.parse(updatedAt);
  // A timestamp from the future (a clock off, or forged) is clamped: it must not pin the figure.
  return Number.isFinite(t) ? Math.min(t, arrivedAt) : arrivedAt;
}

/** Subscribes Loopline's webhook address to every topic it handles (existing subscriptions are kept). */
export async function subscribeShopifyWebhooks(shopify: ShopifyClient, httpUrl: string): Promise<void> {
  for (const topic of SHOPIFY_TOPICS) await shopify.subscribe(topic, `${httpUrl}${SHOPIFY_WEBHOOK_PATH}`);
}

export function registerShopifyWebhooks(app: FastifyInstance, opts: ShopifyWebhookOptions): void {
  const cfg = opts.config.systems.shopify;
  if (!cfg) return;
  const secret = secretFromEnv(cfg.webhookSecretEnv, 'systems.shopify.webhookSecretEnv');
  // A client of its own keeps to the shop's budget shared with every worker replica (on the budgets' queue, served by
  // the workers: workers/runtime.ts budgetTaskQueue), with the workers' time scale so the terms are the same.
  const ownBudget = opts.shopify
    ? undefined
    : createSharedShopifyBudget(
        opts.config,
        opts.timeScale ?? (opts.config.sandbox.enabled ? opts.config.sandbox.timeScale : 1),
        opts.log.child({ component: 'rate-budget', system: 'shopify' }),
      );
  if (ownBudget) {
    ownBudget.lease(opts.client, `${opts.config.temporal.taskQueues.orders}-budgets`);
    app.addHook('onClose', async () => ownBudget.close());
  }
  const shopify =
    opts.shopify ??
    new ShopifyClient({
      budget: ownBudget?.budget,
      baseUrl: cfg.baseUrl,
      apiVersion: cfg.apiVersion,
      accessToken: secretFromEnv(cfg.accessTokenEnv, 'systems.shopify.accessTokenEnv'),
      timeoutMs: cfg.timeoutMs,
      log: opts.log.child({ system: 'shopify' }),
      stockLocations: cfg.stockLocations,
    });
  const log = opts.log.child({ component: 'shopify-webhooks' });
  const shopifyChannels = opts.config.channels.filter((c) => c.fulfilment === 'shopify');
  // Event ids seen by this process (bounded); the workflows dedupe again across processes.
  const seen = new Map<string, number>();
  const remember = (id: string) => {
    seen.set(id, Date.now());
    if (seen.size > 50_000) seen.delete(seen.keys().next().value!);
  };
  // Shopify order id → the marketplace order it carries (read once per order).
  const owners = new Map<number, { channel: string; orderId: string } | null>();
  const ownerOf = async (shopifyOrderId: number) => {
    if (owners.has(shopifyOrderId)) return owners.get(shopifyOrderId) ?? undefined;
    const o = await shopify.order(`gid://shopify/Order/${shopifyOrderId}`);
    const ch = o && shopifyChannels.find((c) => o.tags.includes(cfg.orderTag.replace('{channel}', c.code)));
    const orderId = o?.sourceIdentifier ?? o?.metafield?.value;
    const owner = ch && orderId ? { channel: ch.code, orderId } : null;
    owners.set(shopifyOrderId, owner);
    return owner ?? undefined;
  };

  // inventory_levels/update carries the inventory item id only: its SKU comes from the full stock read
  // (re-read when an unknown item shows up, at most once a minute).
  const itemSkus = new Map<number, string>();
  // Every location the shop's items have stock at, as the full read saw them.
  const shopLocations = new Set<number>();
  let itemsReadAt = 0;
  const skuOfItem = async (inventoryItemId: number) => {
    if (!itemSkus.has(inventoryItemId) && Date.now() - itemsReadAt > 60_000) {
      itemsReadAt = Date.now();
      for (const r of await shopify.inventory()) {
        itemSkus.set(Number(r.inventoryItemId.split('/').pop()), r.sku);
        for (const l of r.locations ?? []) shopLocations.add(l);
      }
    }
    return itemSkus.get(inventoryItemId);
  };
  const locations = cfg.stockLocations;
  const onStock =
    opts.onStock ??
    (async (e: z.infer<typeof InventoryLevelWebhookSchema>) => {
      const sku = await skuOfItem(e.inventory_item_id);
      if (!sku) {
        recordDropped('shopify', 'unknown-item');
        return;
      }
      if (locations && !locations.includes(e.location_id)) {
        recordDropped('shopify', 'unknown-location');
        return;
      }
      let figure: [number, number] | undefined;
      const oneLocation = locations ? locations.length === 1 : shopLocations.size <= 1;
      if (oneLocation) {
        // The one location the channels sell: the event's figure is the figure, as of its updated_at.
        if (e.available !== null) figure = [e.available, stockEventTime(e.updated_at)];
      } else {
        // The channels sell the sum over several locations, and the event carries one: read the item's
        // levels back (summed as the full read sums them), as of the moment of reading.
        const readAt = Date.now();
        const row = (await shopify.inventoryForSkus([sku])).find((r) => r.sku === sku);
        if (row) figure = [row.available, readAt];
      }
      if (!figure) return;
      // Shopify is the stock master of its channels: the figure goes to their inventory workflows.
      for (const ch of stockChannels(opts.config, 'shopify')) {
        await signalStock(opts.client, opts.config, ch, [[sku, figure[0], figure[1]]]);
      }
    });

  const handle = async (topic: string, body: unknown): Promise<{ status: number; body: unknown }> => {
    if (topic === 'fulfillments/create') {
      const f = FulfillmentWebhookSchema.parse(body);
      const owner = await ownerOf(f.order_id);
      if (!owner) return { status: 200, body: { ok: true, ignored: 'not a marketplace order' } };
      const despatchNumber = `gid://shopify/Fulfillment/${f.id}`;
      const notice: DespatchNotice = {
        despatchNumber,
        trackingNumber: f.tracking_number ?? undefined,
        carrier: f.tracking_company ?? undefined,
        despatch: {
          despatchNumber,
          salesOrderNumber: `gid://shopify/Order/${f.order_id}`,
          trackingNumber: f.tracking_number ?? undefined,
          carrier: f.tracking_company ?? undefined,
          items: f.line_items.filter((l) => l.sku).map((l) => ({ itemCode: l.sku!, quantity: l.quantity })),
        },
      };
      await opts.client.workflow
        .getHandle(orderWorkflowId(owner.channel, owner.orderId))
        .signal(despatchNotifiedSignal, notice);
      return { status: 200, body: { ok: true } };
    }
    if (topic === 'refunds/create') {
      const r = RefundWebhookSchema.parse(body);
      const owner = await ownerOf(r.order_id);
      if (!owner) return { status: 200, body: { ok: true, ignored: 'not a marketplace order' } };
      const notice: RefundNotice = {
        refundId: `gid://shopify/Refund/${r.id}`,
        note: r.note ?? undefined,
        lines: r.refund_line_items
          .filter((l) => l.line_item.sku)
          .map((l) => ({ sku: l.line_item.sku!, quantity: l.quantity })),
      };
      await opts.client.workflow
        .getHandle(orderWorkflowId(owner.channel, owner.orderId))
        .signal(refundNotifiedSignal, notice);
      return { status: 200, body: { ok: true } };
    }
    if (topic === 'inventory_levels/update') {
      const e = InventoryLevelWebhookSchema.parse(body);
      await onStock(e);
      return { status: 200, body: { ok: true } };
    }
    log.debug({ topic }, 'shopify webhook acknowledged');
    return { status: 200, body: { ok: true } };
  };

  void app.register(async (scope) => {
    // The signature is over the raw bytes: keep them, parse after verifying.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const options = { config: { rateLimit: sourceRateLimit(opts.config, 'shopify', 'shopify') } };
    scope.post(SHOPIFY_WEBHOOK_PATH, options, async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (!verifyShopifyHmac(raw, req.headers['x-shopify-hmac-sha256'], secret)) {
        recordDropped('shopify', 'bad-signature');
        log.warn(
          { topic: String(req.headers['x-shopify-topic'] ?? '').slice(0, 60) },
          'shopify webhook with a bad signature refused',
        );
        return reply.code(401).send({ error: 'invalid signature' });
      }
      const topic = String(req.headers['x-shopify-topic'] ?? '');
      const eventId = String(req.headers['x-shopify-event-id'] ?? req.headers['x-shopify-webhook-id'] ?? '');
      if (eventId && seen.has(eventId)) {
        recordDropped('shopify', 'duplicate');
        return reply.code(200).send({ ok: true, duplicate: true });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        recordDropped('shopify', 'invalid');
        return reply.code(400).send({ error: 'body is not JSON' });
      }
      try {
        const r = await handle(topic, body);
        if (eventId) remember(eventId);
        recordAccepted('shopify');
        return reply.code(r.status).send(r.body);
      } catch (err) {
        if (err instanceof z.ZodError) {
          recordDropped('shopify', 'invalid');
          return reply.code(400).send({ error: z.prettifyError(err) });
        }
        if (err instanceof WorkflowNotFoundError) {
          // The order's workflow has closed (after its return window): a retry cannot help. Ops see it here.
          log.warn({ topic, workflowId: err.workflowId }, 'shopify event for a closed order workflow; not handled');
          if (eventId) remember(eventId);
          return reply.code(202).send({ ok: false, reason: 'order workflow closed' });
        }
        // Not remembered: Shopify retries the delivery, and the next try may find the workflow.
        log.warn({ topic, err: (err as Error).message }, 'shopify webhook not handled; Shopify will retry');
        return reply.code(503).send({ error: 'not handled, retry' });
      }
    });
  });
}
