// Stock events in: Peoplevox AvailabilityChanges callbacks → one batched signal per channel workflow.
// A flash sale produces thousands of callbacks a minute; one signal per callback would be one history
// event each. The batcher keeps the latest figure per item code for a short interval (coalescing) and
// sends it as one `stockEvents` signal-with-start per channel, so the inventory workflow is started on
// the first event and never sees more than a few signals a second.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ChannelConfig, Config } from '../config/schema';
import type { PeoplevoxClient } from '../connectors/peoplevox/client';
import { inventoryWorkflowId } from './keys';
import type { StockEvent } from './ledger';
import { fullReadSignal, inventoryWorkflow, stockEventsSignal } from '../../workflows/inventory';

/**
 * Channels whose stock sync is on, optionally only those whose stock master is `master` (the channel's
 * fulfilment system: Peoplevox, or Shopify on the Shopify route, docs/shopify.md).
 */
export function stockChannels(config: Config, master?: ChannelConfig['fulfilment']): string[] {
  return config.channels
    .filter((c) => c.enabled && c.inventory.enabled && (master === undefined || c.fulfilment === master))
    .map((c) => c.code);
}

/** Starts the inventory workflow of a channel, or signals the running one (one atomic call). */
export async function signalStock(client: Client, config: Config, channel: string, events: StockEvent[]) {
  await client.workflow.signalWithStart(inventoryWorkflow, {
    workflowId: inventoryWorkflowId(channel, config.temporal.idScope),
    taskQueue: config.temporal.taskQueues.inventory,
    args: [{ channel }],
    signal: stockEventsSignal,
    signalArgs: [events],
  });
}

/** Makes sure each channel's inventory workflow runs (it reads the master at once and sends every SKU). */
export async function ensureInventoryWorkflows(client: Client, config: Config): Promise<string[]> {
  const ids: string[] = [];
  for (const ch of stockChannels(config)) {
    await signalStock(client, config, ch, []);
    ids.push(inventoryWorkflowId(ch, config.temporal.idScope));
  }
  return ids;
}

export interface StockEventBatcher {
  add(itemCode: string, available: number, at?: number): void;
  /** Sends what is buffered now. */
  flush(): Promise<void>;
  stats(): { received: number; signals: number; flushes: number; errors: number };
  close(): Promise<void>;
}

export function createStockEventBatcher(opts: {
  client: Client;
  config: Config;
  log: Logger;
  /** How long events wait to be coalesced (default 100 ms). */
  flushMs?: number;
  /** Events per signal (default 2,000: about 60 KB of payload). */
  maxPerSignal?: number;
  now?: () => number;
}): StockEventBatcher {
  const flushMs = opts.flushMs ?? 100;
  const maxPerSignal = opts.maxPerSignal ?? 2000;
  const now = opts.now ?? Date.now;
  let buffer = new Map<string, StockEvent>();
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  const stats = { received: 0, signals: 0, flushes: 0, errors: 0 };

  const send = async (events: StockEvent[]) => {
    const channels = stockChannels(opts.config, 'peoplevox');
    for (let i = 0; i < events.length; i += maxPerSignal) {
      const chunk = events.slice(i, i + maxPerSignal);
      await Promise.all(
        channels.map(async (ch) => {
          for (let attempt = 1; ; attempt++) {
            try {
              await signalStock(opts.client, opts.config, ch, chunk);
              stats.signals++;
              return;
            } catch (err) {
              stats.errors++;
              // The scheduled full read corrects anything lost here; retry a few times first.
              if (attempt >= 5) {
                opts.log.warn({ err: (err as Error).message, channel: ch }, 'stock events not delivered');
                return;
              }
              await new Promise((r) => setTimeout(r, 200 * attempt));
            }
          }
        }),
      );
    }
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (buffer.size === 0) return sending;
    const events = [...buffer.values()];
    buffer = new Map();
    stats.flushes++;
    // Strictly one flush after another, so a newer figure never overtakes an older one.
    sending = sending.then(() => send(events));
    return sending;
  };

  return {
    add(itemCode, available, at = now()) {
      stats.received++;
      buffer.set(itemCode, [itemCode, available, at]);
      timer ??= setTimeout(() => void flush(), flushMs);
    },
    flush,
    stats: () => ({ ...stats }),
    async close() {
      await flush();
    },
  };
}

/** AvailabilityChanges callback: GET (placeholders substituted into the query) or POST form. */
const AvailabilityCallback = z.object({
  item: z.string().min(1, 'item (ItemCode) is required'),
  available: z.coerce.number().int().min(0, 'available must be a whole number ≥ 0'),
});

export function registerInventoryWebhooks(
  app: FastifyInstance,
  opts: { batcher: StockEventBatcher; client: Client; config: Config; log: Logger },
) {
  const availability = (params: unknown) => {
    const parsed = AvailabilityCallback.safeParse(params);
    if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
    opts.batcher.add(parsed.data.item, parsed.data.available);
    return { status: 200, body: { ok: true } };
  };
  app.get('/webhooks/peoplevox/availability', async (req, reply) => {
    const r = availability(req.query);
    return reply.code(r.status).send(r.body);
  });
  app.post('/webhooks/peoplevox/availability', async (req, reply) => {
    const r = availability(req.body);
    return reply.code(r.status).send(r.body);
  });
  // GoodsReceived / IncrementalChanges carry no availability figure: ask each channel for a full read,
  // at most once a minute.
  let lastHint = 0;
  const hint = async () => {
    if (Date.now() - lastHint < 60_000) return { status: 200, body: { ok: true, deduped: true } };
    lastHint = Date.now();
    for (const ch of stockChannels(opts.config, 'peoplevox')) {
      await opts.client.workflow
        .getHandle(inventoryWorkflowId(ch, opts.config.temporal.idScope))
        .signal(fullReadSignal)
        .catch((err: unknown) =>
          opts.log.warn({ err: (err as Error).message, channel: ch }, 'full read not requested'),
        );
    }
    return { status: 200, body: { ok: true } };
  };
  app.get('/webhooks/peoplevox/stock-hint', async (_req, reply) => {
    const r = await hint();
    return reply.code(r.status).send(r.body);
  });
  app.post('/webhooks/peoplevox/stock-hint', async (_req, reply) => {
    const r = await hint();
    return reply.code(r.status).send(r.body);
  });
}

/** Registers the stock callbacks with Peoplevox for this public URL. */
export async function subscribeStockEvents(peoplevox: PeoplevoxClient, publicUrl: string, log: Logger) {
  const ids: number[] = [];
  try {
    ids.push(
      await peoplevox.subscribeEvent(
        'AvailabilityChanges',
        `${publicUrl}/webhooks/peoplevox/availability?item={ItemCode}&available={Available}`,
      ),
    );
    ids.push(await peoplevox.subscribeEvent('GoodsReceived', `${publicUrl}/webhooks/peoplevox/stock-hint`));
    log.info({ subscriptions: ids }, 'subscribed to Peoplevox stock events');
  } catch (err) {
    // The scheduled full read still keeps every channel right, only slower: say so rather than stop.
    log.warn({ err: (err as Error).message }, 'could not subscribe to Peoplevox stock events; relying on full reads');
  }
  return ids;
}
