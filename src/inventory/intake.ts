// Stock events in: Peoplevox AvailabilityChanges callbacks → one batched signal per channel workflow.
// A flash sale produces thousands of callbacks a minute; one signal per callback would be one history
// event each. The batcher keeps the latest figure per item code for a short interval (coalescing) and
// sends it as one `stockEvents` signal-with-start per channel, so the inventory workflow is started on
// the first event and never sees more than a few signals a second.
//
// Nothing unauthenticated changes stock (docs/security.md): the callbacks carry the deployment's secret in
// their path (src/http/callbacks.ts), are rate-limited per source, and take whole numbers only (an empty
// `available=` is refused, never read as 0). An item code the master does not have is dropped with a
// metric before it costs a signal (random codes would otherwise grow the ledger); a genuinely new item is
// learned by the next full read, which Peoplevox's GoodsReceived callback brings forward.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ChannelConfig, Config } from '../config/schema';
import { ConfigError } from '../config/load';
import type { PeoplevoxClient } from '../connectors/peoplevox/client';
import { INVENTORY_WORKFLOW_TASK_TIMEOUT, inventoryWorkflowId } from './keys';
import type { StockEvent } from './ledger';
import { fullReadSignal, inventoryWorkflow, stockEventsSignal } from '../../workflows/inventory';
import { masterAvailable } from './available';
import { recordAccepted, recordDropped } from '../metrics/webhooks';
import { callbackSecretGuard, noControlCharacters, peoplevoxCallbackUrl, peoplevoxRoute } from '../http/callbacks';
import { sourceRateLimit } from '../http/limits';
import type { HttpContext } from '../http/server';

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
    workflowTaskTimeout: INVENTORY_WORKFLOW_TASK_TIMEOUT,
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

/** Asks a channel's inventory workflow for the full read now (GoodsReceived, or a new item code seen). */
export async function requestFullRead(client: Client, config: Config, channel: string): Promise<void> {
  await client.workflow.getHandle(inventoryWorkflowId(channel, config.temporal.idScope)).signal(fullReadSignal);
}

/**
 * Which item codes the master has, as the inventory workflow knows them (its last full read): asked with
 * the `available` query, remembered (known codes for good, unknown ones for a minute, both bounded). When
 * the workflow cannot answer (not started yet, no worker), the codes pass, and the workflow applies the
 * same rule itself (workflows/inventory.ts).
 */
export function createKnownItemFilter(opts: {
  client: Client;
  config: Config;
  master?: ChannelConfig['fulfilment'];
  unknownTtlMs?: number;
  maxCodes?: number;
  queryTimeoutMs?: number;
}) {
  const known = new Set<string>();
  const unknownUntil = new Map<string, number>();
  const ttl = opts.unknownTtlMs ?? 60_000;
  const max = opts.maxCodes ?? 200_000;
  const ask = async (codes: string[]): Promise<Record<string, number> | undefined> => {
    const channel = stockChannels(opts.config, opts.master ?? 'peoplevox')[0];
    if (!channel) return undefined;
    try {
      // From the channel's inventory workflow, or its shards when the catalogue is split (src/inventory/available.ts).
      return await masterAvailable(opts.client, opts.config, channel, codes, {
        timeoutMs: opts.queryTimeoutMs ?? 3000,
      });
    } catch {
      return undefined;
    }
  };
  return {
    async partition(codes: readonly string[], now = Date.now()): Promise<{ known: string[]; unknown: string[] }> {
      const toAsk: string[] = [];
      const unknown: string[] = [];
      for (const c of codes) {
        if (known.has(c)) continue;
        const until = unknownUntil.get(c);
        if (until !== undefined && until > now) unknown.push(c);
        else toAsk.push(c);
      }
      if (toAsk.length > 0) {
        const answer = await ask(toAsk);
        for (const c of toAsk) {
          if (!answer) continue;
          if (answer[c] !== undefined) {
            if (known.size < max) known.add(c);
            continue;
          }
          unknown.push(c);
          unknownUntil.delete(c);
          unknownUntil.set(c, now + ttl);
          if (unknownUntil.size > max) unknownUntil.delete(unknownUntil.keys().next().value!);
        }
      }
      const unknownSet = new Set(unknown);
      return { known: codes.filter((c) => !unknownSet.has(c)), unknown };
    },
    /** Codes remembered (tests and stats). */
    size: () => ({ known: known.size, unknown: unknownUntil.size }),
  };
}
export type KnownItemFilter = ReturnType<typeof createKnownItemFilter>;

export interface StockEventBatcher {
  add(itemCode: string, available: number, at?: number): void;
  /** Sends what is buffered now. */
  flush(): Promise<void>;
  stats(): { received: number; signals: number; flushes: number; errors: number; unknown: number };
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
  /** Item codes the master has (default: asked of the inventory workflow); false sends every code. */
  knownItems?: KnownItemFilter | false;
  /** Most item codes held between two flushes; a new code beyond it is dropped (with a metric). */
  maxBuffered?: number;
  now?: () => number;
}): StockEventBatcher {
  const flushMs = opts.flushMs ?? 100;
  const maxPerSignal = opts.maxPerSignal ?? 2000;
  const maxBuffered = opts.maxBuffered ?? 50_000;
  const now = opts.now ?? Date.now;
  const knownItems =
    opts.knownItems === false
      ? undefined
      : (opts.knownItems ?? createKnownItemFilter({ client: opts.client, config: opts.config }));
  let buffer = new Map<string, StockEvent>();
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  const stats = { received: 0, signals: 0, flushes: 0, errors: 0, unknown: 0 };

  const dropUnknown = async (events: StockEvent[]): Promise<StockEvent[]> => {
    if (!knownItems) return events;
    const { unknown } = await knownItems.partition(events.map((e) => e[0]));
    if (unknown.length === 0) return events;
    // A new item is learned by the next full read (a GoodsReceived callback brings it forward): nothing
    // here costs Peoplevox a call, whatever a caller sends.
    stats.unknown += unknown.length;
    recordDropped('peoplevox-availability', 'unknown-item', unknown.length);
    const drop = new Set(unknown);
    return events.filter((e) => !drop.has(e[0]));
  };

  const send = async (received: StockEvent[]) => {
    const events = await dropUnknown(received);
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
      if (buffer.size >= maxBuffered && !buffer.has(itemCode)) {
        recordDropped('peoplevox-availability', 'too-large');
        return;
      }
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

/**
 * A whole number as Peoplevox writes it: digits (optionally negative: over-allocated stock, which means
 * none available), possibly with zero decimals ("4.000"). Anything else, the empty string first of all, is
 * refused: an empty `available=` is not 0.
 */
const WHOLE = /^-?\d{1,9}(\.0+)?$/;

/** AvailabilityChanges callback: GET (placeholders substituted into the query) or POST JSON. */
export const AvailabilityCallback = z.object({
  // Peoplevox's ItemCode is at most 50 characters.
  item: z
    .string({ error: 'item (ItemCode) is required' })
    .min(1, 'item (ItemCode) is required')
    .max(50, 'item (ItemCode): at most 50 characters')
    .refine(noControlCharacters, 'item (ItemCode): control characters are not allowed'),
  available: z
    .union([z.string(), z.number()], { error: 'available (Available) is required' })
    .refine((v) => (typeof v === 'number' ? Number.isInteger(v) && Math.abs(v) < 1e9 : WHOLE.test(v)), {
      message: 'available (Available): must be a whole number written in digits (got something else, or nothing)',
    })
    .transform((v) => Math.max(0, Math.trunc(Number(v)))),
});

export function registerInventoryWebhooks(
  app: FastifyInstance,
  opts: Pick<HttpContext, 'client' | 'config' | 'secrets' | 'failures'> & { batcher: StockEventBatcher; log: Logger },
) {
  const availability = (params: unknown) => {
    const parsed = AvailabilityCallback.safeParse(params);
    if (!parsed.success) {
      recordDropped('peoplevox-availability', 'invalid');
      return { status: 400, body: { error: z.prettifyError(parsed.error) } };
    }
    opts.batcher.add(parsed.data.item, parsed.data.available);
    recordAccepted('peoplevox-availability');
    return { status: 200, body: { ok: true } };
  };
  const route = (source: 'peoplevox-availability' | 'peoplevox-stock-hint') => ({
    preHandler: callbackSecretGuard(opts, source),
    config: { rateLimit: sourceRateLimit(opts.config, 'peoplevox', source) },
  });
  app.get(peoplevoxRoute('availability'), route('peoplevox-availability'), async (req, reply) => {
    const r = availability(req.query);
    return reply.code(r.status).send(r.body);
  });
  app.post(peoplevoxRoute('availability'), route('peoplevox-availability'), async (req, reply) => {
    const r = availability(req.body);
    return reply.code(r.status).send(r.body);
  });
  // GoodsReceived / IncrementalChanges carry no availability figure: ask each channel for a full read,
  // at most once a minute.
  let lastHint = -Infinity;
  const hint = async () => {
    if (Date.now() - lastHint < 60_000) {
      recordDropped('peoplevox-stock-hint', 'duplicate');
      return { status: 200, body: { ok: true } };
    }
    lastHint = Date.now();
    for (const ch of stockChannels(opts.config, 'peoplevox')) {
      await requestFullRead(opts.client, opts.config, ch).catch((err: unknown) =>
        opts.log.warn({ err: (err as Error).message, channel: ch }, 'full read not requested'),
      );
    }
    recordAccepted('peoplevox-stock-hint');
    return { status: 200, body: { ok: true } };
  };
  app.get(peoplevoxRoute('stock-hint'), route('peoplevox-stock-hint'), async (_req, reply) => {
    const r = await hint();
    return reply.code(r.status).send(r.body);
  });
  app.post(peoplevoxRoute('stock-hint'), route('peoplevox-stock-hint'), async (_req, reply) => {
    const r = await hint();
    return reply.code(r.status).send(r.body);
  });
}

/** The callback path secret (http.webhookSecretEnv), or a ConfigError naming the variable. */
export function callbackSecret(config: Pick<Config, 'http'>, env: NodeJS.ProcessEnv = process.env): string {
  const v = env[config.http.webhookSecretEnv]?.trim();
  if (!v) {
    throw new ConfigError('environment', [
      `${config.http.webhookSecretEnv} is not set: Peoplevox callbacks carry it in their path (generate one with openssl rand -hex 24)`,
    ]);
  }
  return v;
}

/**
 * Registers the stock callbacks with Peoplevox for this public URL: the secret in the path, and
 * encodeParameterData so Peoplevox URL-encodes the values it substitutes (an item code with `&` or `+`
 * would otherwise update another item).
 */
export async function subscribeStockEvents(
  peoplevox: PeoplevoxClient,
  publicUrl: string,
  log: Logger,
  config: Pick<Config, 'http'>,
) {
  const ids: number[] = [];
  try {
    const secret = callbackSecret(config);
    ids.push(
      await peoplevox.subscribeEvent(
        'AvailabilityChanges',
        peoplevoxCallbackUrl(publicUrl, secret, 'availability', 'item={ItemCode}&available={Available}'),
        { encodeParameterData: true },
      ),
    );
    ids.push(
      await peoplevox.subscribeEvent('GoodsReceived', peoplevoxCallbackUrl(publicUrl, secret, 'stock-hint'), {
        encodeParameterData: true,
      }),
    );
    log.info({ subscriptions: ids }, 'subscribed to Peoplevox stock events');
  } catch (err) {
    // The scheduled full read still keeps every channel right, only slower: say so rather than stop.
    log.warn({ err: (err as Error).message }, 'could not subscribe to Peoplevox stock events; relying on full reads');
  }
  return ids;
}
