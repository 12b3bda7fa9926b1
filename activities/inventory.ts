// Stock activities: thin. Read the master, push to a channel's target, follow the import, raise alerts,
// and the acceptance check the order workflow shares. Built by a factory that receives connectors.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { ChannelConfig, Config, StockBuffer } from '../src/config/schema';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import type { PeoplevoxClient } from '../src/connectors/peoplevox/client';
import type { ShopifyClient } from '../src/connectors/shopify/client';
import type { AlertSink, Alert } from '../src/alerts/alerts';
import { toActivityFailure } from './errors';
import {
  STOCK_PUSH_LIMITS,
  marketplacerStockLimit,
  type ReadBackReport,
  type StockPushLimit,
  type StockTargetPlatform,
  type UnmappedVariantsReport,
} from '../src/inventory/targets';
import { marketplacerSettings } from '../src/config/schema';
import type { MarketplacerStock } from './marketplacer-stock';
import { stockChannels } from '../src/inventory/intake';
import type { LastUnitsRule } from '../src/inventory/buffers';
import {
  RESERVATION_DEFAULTS,
  suspectFullRead,
  type DriftReport,
  type FullReadGuard,
  type PushPriority,
  type SuspectRead,
} from '../src/inventory/ledger';
import { mergeCandidates, shardCountFor, shardOf } from '../src/inventory/shards';
import { createAvailabilityReader, type AvailabilityReader } from '../src/inventory/available';
import type { ChannelListing } from '../src/inventory/listing';
import {
  decideStockAcceptance,
  type StockCheckLine,
  type StockLineDecision,
  type OutOfStockPolicy,
} from '../src/inventory/acceptance';
import {
  masterFiguresQuery,
  pushCandidatesQuery,
  shardInboxSignal,
  type MasterFigures,
  type ShardRead,
} from '../workflows/inventory-defs';
import { restockPropagation } from '../src/metrics/returns';

export interface InventorySettings {
  channel: string;
  enabled: boolean;
  platform: StockTargetPlatform;
  limit: StockPushLimit;
  /** Already divided by the time scale (sandbox, benchmarks): what the workflow's timers use. */
  pushIntervalMs: number;
  marginMs: number;
  timeScale: number;
  maxRowsPerPush: number;
  fullReadMs: number;
  syncAgeAlertMs: number;
  buffer: StockBuffer;
  skuBuffers: Record<string, StockBuffer>;
  velocity: {
    enabled: boolean;
    halfLifeMs: number;
    maxUnits: number;
    horizonMs: number;
    confidence: number;
    /** velocityBuffer.expectedUnitsPerHour per ms of workflow time, this shard's items only (absent: none). */
    expectedPerMs?: Record<string, number>;
    /** Set by this release on (absent in older histories): see LedgerSettings. */
    keptForRule?: true;
  };
  offerSkusByItem: Record<string, string[]>;
  /** The last units of a shared SKU on one channel only (absent in older histories: off). */
  lastUnits?: LastUnitsRule;
  /**
   * Align pushes with the intake: when the window opens at most maxMs before a channel's next poll is due
   * (by the rhythm of its reservations), wait for that poll's reservations (up to graceMs after it is due).
   * Absent in histories from before reservations (no hold).
   */
  intakeHold?: { intervalMs: Record<string, number>; maxMs: number; graceMs: number };
  /** Reservations from order intake: how long one may wait for its release, and how many are kept. */
  reservations: { ttlMs: number; max: number; keepReleasedKeysMs?: number };
  /** Unlisted SKUs are asked about again after this long (absent in older histories: never). */
  relistMs?: number;
  /** When a full read is held for confirmation (absent in older histories: never). */
  fullReadGuard?: FullReadGuard;
  taskQueues: { inventory: string; peoplevox: string };
  /** Continue-as-new at this history length even if the server has not suggested it yet. */
  maxHistoryEvents: number;
  /** Or at this history size in bytes (absent in histories from before: events only). */
  maxHistoryBytes?: number;
  /** Fingerprint of what a SKU's resting figure depends on (ledger compaction); absent in older histories. */
  restKey?: string;
  /** Most items one workflow holds before the ledger is split into shards (absent in older histories). */
  shardItems?: number;
  /** Restocked units from returns count ahead of the master for at most this long (absent in older histories). */
  restockHoldMs?: number;
}

/** Where a ledger lives, for the full read and the push: the channel workflow, or its shards by index. */
export type LedgerTarget = { workflowId: string } | { shardIds: string[] };

export interface ReadDiffInput {
  channel: string;
  target: LedgerTarget;
  /** Shards today (1 when the channel holds its ledger) and the most items one may hold. */
  shards: number;
  shardItems: number;
  /** An operator confirmed the zeros (confirmFullRead): apply whatever the read shows. */
  confirm: boolean;
  guard?: FullReadGuard;
}

export interface ReadDiffResult {
  /** When the read started (epoch ms): figures newer than this are the events'. */
  startedAt: number;
  items: number;
  /** The catalogue needs this many shards: nothing was compared or handed over (split, then read again). */
  needsShards?: number;
  /** Most items known in stock suddenly read 0: nothing was handed over (STOCK_READ_HELD). */
  suspect?: SuspectRead;
  drift?: DriftReport;
  /** To the channel workflow (local): the differences to apply. Shards were signalled theirs instead. */
  read?: ShardRead;
  /** Items whose figure differed from the ledger's (new items included). */
  differences: number;
}

export interface ShardPushInput {
  channel: string;
  key: string;
  seq: number;
  shardIds: string[];
  maxRows: number;
}

export interface ShardPushResult {
  rows: number;
  byPriority: Record<PushPriority, number>;
  importId?: string;
  acceptedAt: number;
  unlisted: number;
  /** Shards whose rows the push carried. */
  shards: number[];
  /** What each shard still has waiting after this push, by index; null for a shard that did not answer in time. */
  pending: Array<{ pending: number; oldestSince?: number } | null>;
  /** Shards (by index) that did not answer in time: their rows wait for the next push. */
  skipped?: number[];
  /** Targets that apply at once (Marketplacer): rows not sent for a transient failure (still pending in their shards). */
  failed?: number;
  /** Rows the target refused at once: the channel parks them (and tells their shards) as an import's rejected rows. */
  rejected?: Array<{ offerSku: string; quantity: number; message: string }>;
  readBack?: ReadBackReport;
  unmappedVariants?: UnmappedVariantsReport;
}

export interface PushStockInput {
  channel: string;
  key: string;
  rows: Array<[offerSku: string, quantity: number]>;
  /** Rows carrying a return's restock, with when it was decided (the restock propagation metric). */
  returnRestocks?: Array<{ offerSku: string; decidedAt: number }>;
}

export interface PushStockResult {
  /** Present when the target applies asynchronously (Mirakl import id). */
  importId?: string;
  acceptedAt: number;
  /** Offer SKUs left out because the channel does not list them (never sent). */
  unlisted?: string[];
  /** Rows not sent for a transient failure (targets that apply at once): pending again. */
  failed?: string[];
  /** Rows the target refused at once, in its words: parked like an import's rejected rows. */
  rejected?: Array<{ offerSku: string; quantity: number; message: string }>;
  /** Read back right after the push (Marketplacer): did the marketplace show what was sent? */
  readBack?: ReadBackReport;
  /** Variants on the channel no master item code feeds (Marketplacer): they would never get stock. */
  unmappedVariants?: UnmappedVariantsReport;
}

export interface ImportCheckResult {
  status: 'PENDING' | 'COMPLETE' | 'FAILED';
  hasErrorReport: boolean;
  detail?: string;
}

export interface InventoryActivityDeps {
  config: Config;
  client?: Client;
  mirakl(channel: string): MiraklClient;
  peoplevox: PeoplevoxClient;
  /** The stock master of channels with `fulfilment: shopify` (docs/shopify.md). */
  shopify?: ShopifyClient;
  alerts: AlertSink;
  log: Logger;
  /** Sandbox and benchmarks shrink minutes; the simulators shrink their limits by the same factor. */
  timeScale?: number;
  /** The offer SKUs each channel lists (src/inventory/listing.ts); absent: every row is pushed. */
  listing?(channel: string): ChannelListing | undefined;
  /** Channels with `platform: marketplacer`: variantUpdate, the variant mapping and the read-back. */
  marketplacerStock?: MarketplacerStock;
  /** How long a push from shards waits for every shard's rows before going on with those that answered (wall ms). */
  shardAnswerMs?: number;
}

/**
 * A push from shards waits this long for every shard, then goes on without the late ones. A shard's query takes
 * 5-350 ms, and up to about 0.5 s when the worker's workflow thread is saturated (the 50,000-SKU sale).
 */
export const SHARD_ANSWER_MS = 3_000;

interface MasterRead {
  startedAt: number;
  totals: Map<string, number>;
}

export function createInventoryActivities(deps: InventoryActivityDeps) {
  /** The acceptance checks' reads of the inventory workflows, shared by every check this process runs. */
  let availability: AvailabilityReader | undefined;
  const { config, log } = deps;
  const timeScale = deps.timeScale ?? 1;
  const shardAnswerMs = deps.shardAnswerMs ?? SHARD_ANSWER_MS;

  function channelConfig(code: string): ChannelConfig {
    const ch = config.channels.find((c) => c.code === code);
    if (!ch) {
      throw ApplicationFailure.nonRetryable(`channel "${code}" is not in the Loopline config`, 'UNEXPECTED_ERROR');
    }
    return ch;
  }

  // The acceptance check's fallback read of Peoplevox's whole availability report (when the channel's
  // inventory workflow cannot answer) is shared: one read in flight, reused for a few (scaled) seconds.
  // Without this, a burst of orders each read the whole catalogue, every read queued behind the others in
  // the master's rate budget, and acceptance stalled (seen on the Shopify route in bench:orders, which now
  // searches Shopify by the order's SKUs instead).
  const fallbackReads = new Map<string, { at: number; value: Promise<Record<string, number>> }>();
  function sharedRead(key: string, read: () => Promise<Record<string, number>>): Promise<Record<string, number>> {
    const ttlMs = 30_000 / timeScale;
    const hit = fallbackReads.get(key);
    if (hit && Date.now() - hit.at < ttlMs) return hit.value;
    const value = read();
    fallbackReads.set(key, { at: Date.now(), value });
    value.catch(() => fallbackReads.delete(key));
    return value;
  }

  // The master's whole availability, read once for every channel (and ledger) that asks within a minute
  // (scaled): ASOS and Joules read the same Peoplevox report on the same grid, and a ledger that had to be
  // split first reads again at once. Each page is its own request, paced by the reads' share of the budget.
  const masterReads = new Map<string, { doneAt?: number; value: Promise<MasterRead> }>();
  function sharedMasterRead(channel: string): Promise<MasterRead> {
    const source = channelConfig(channel).fulfilment === 'shopify' ? 'shopify' : 'peoplevox';
    const ttlMs = Math.max(2_000, 60_000 / timeScale);
    const hit = masterReads.get(source);
    if (hit && (hit.doneAt === undefined || Date.now() - hit.doneAt < ttlMs)) return hit.value;
    const entry: { doneAt?: number; value: Promise<MasterRead> } = {
      value: (async (): Promise<MasterRead> => {
        const startedAt = Date.now();
        if (source === 'shopify') return { startedAt, totals: new Map(await readShopify(channel)) };
        try {
          // One figure per item and site (a row seen twice across a page boundary is not counted twice).
          const bySite = new Map<string, number>();
          const rows = await deps.peoplevox.listAvailability({
            onPage: (p) => log.debug({ channel, ...p }, 'master availability page'),
          });
          for (const r of rows) bySite.set(`${r.itemCode}\u0000${r.siteReference ?? ''}`, r.available);
          const totals = new Map<string, number>();
          for (const [key, available] of bySite) {
            const code = key.slice(0, key.indexOf('\u0000'));
            totals.set(code, (totals.get(code) ?? 0) + available);
          }
          log.info({ channel, items: totals.size, ms: Date.now() - startedAt }, 'read master availability');
          return { startedAt, totals };
        } catch (err) {
          throw toActivityFailure(err, 'peoplevox', 'GetReportData', 'SYSTEM_UNAVAILABLE');
        }
      })(),
    };
    entry.value.then(
      () => (entry.doneAt = Date.now()),
      () => masterReads.delete(source),
    );
    masterReads.set(source, entry);
    return entry.value;
  }

  const within = <T>(ms: number, call: () => Promise<T>): Promise<T> => {
    if (!deps.client) throw ApplicationFailure.nonRetryable('no Temporal client for the inventory activities');
    return deps.client.connection.withDeadline(Date.now() + ms, call);
  };
  /**
   * Asks every shard (a query each) and waits for all of them up to `shardAnswerMs`, then goes on with those that
   * answered: a shard whose workflow task is long (a replay of its whole run after a refused renewal took 18 s in the
   * 50,000-SKU sale) would otherwise hold the channel's push, and with it the channel's loop, until it answered
   * (30 s). If none has answered by then, the first answer is awaited (up to 30 s); none at all fails the call as
   * before. A shard left out keeps its rows for the next push: it is told nothing. So that a shard slower than the
   * wait every time is not left out for ever, each time in a row it was left out doubles the next push's wait.
   */
  const leftOut = new Map<string, number>();
  async function askShards<T>(ids: string[], ask: (id: string) => Promise<T>): Promise<Array<T | undefined>> {
    const answers: Array<T | undefined> = ids.map(() => undefined);
    const times = Math.max(0, ...ids.map((id) => leftOut.get(id) ?? 0));
    const waitMs = Math.min(30_000, shardAnswerMs * 2 ** times);
    let firstError: unknown;
    let answered = 0;
    let wake: () => void = () => undefined;
    const calls = ids.map((id, k) =>
      within(30_000, () => ask(id)).then(
        (v) => {
          answers[k] = v;
          answered++;
          wake();
        },
        (err: unknown) => {
          firstError ??= err;
        },
      ),
    );
    const all = Promise.all(calls);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
      if (answered === 0) await Promise.race([all, new Promise<void>((r) => (wake = r))]);
    } finally {
      clearTimeout(timer);
    }
    if (answered === 0) throw firstError ?? new Error('no shard answered');
    const got = [...answers];
    got.forEach((a, k) => {
      if (a === undefined) leftOut.set(ids[k]!, (leftOut.get(ids[k]!) ?? 0) + 1);
      else leftOut.delete(ids[k]!);
    });
    return got;
  }

  const workflow = (id: string) => {
    if (!deps.client) throw ApplicationFailure.nonRetryable('no Temporal client for the inventory activities');
    return deps.client.workflow.getHandle(id);
  };

  /** Shopify as the master: available per variant SKU (= item code), summed over locations. */
  async function readShopify(channel: string): Promise<Array<[string, number]>> {
    if (!deps.shopify) throw ApplicationFailure.nonRetryable('systems.shopify is not wired', 'UNEXPECTED_ERROR');
    try {
      const total = new Map<string, number>();
      for (const r of await deps.shopify.inventory()) total.set(r.sku, (total.get(r.sku) ?? 0) + r.available);
      log.info({ channel, items: total.size }, 'read master availability (shopify)');
      return [...total.entries()];
    } catch (err) {
      throw toActivityFailure(err, 'shopify', 'inventoryItems', 'SYSTEM_UNAVAILABLE');
    }
  }

  return {
    /**
     * A channel's stock settings. A shard asks for its part of the skuMap only; a channel whose ledger lives
     * in shards asks for none (a skuMap of 50,000 entries would otherwise be in every run's history).
     */
    async inventorySettings(
      channel: string,
      opts: { shard?: { index: number; count: number }; skuMap?: boolean } = {},
    ): Promise<InventorySettings> {
      const ch = channelConfig(channel);
      const inv = ch.inventory;
      const mp = ch.platform === 'marketplacer' ? marketplacerSettings(ch) : undefined;
      const limit = mp
        ? marketplacerStockLimit(mp.requestsPer10Seconds, mp.stockShare)
        : STOCK_PUSH_LIMITS[ch.platform];
      const pushIntervalMs = (inv.pushIntervalSeconds * 1000) / timeScale;
      // Sales a channel cannot reflect yet: those before its next push lands (one push interval) and those made
      // but not yet in the warehouse (one intake poll: Mirakl OR11 once a minute; Marketplacer's orders come by
      // webhook within seconds).
      const horizonOf = (c: ChannelConfig) =>
        ((c.inventory.pushIntervalSeconds + (c.platform === 'marketplacer' ? 5 : c.intake.pollIntervalSeconds)) *
          1000) /
        timeScale;
      const offerSkusByItem: Record<string, string[]> = {};
      // The merchant's expected sales (units an hour, over every channel) as units per ms of workflow time; like
      // the skuMap, a shard gets its own items' and a channel whose ledger lives in shards none.
      const expectedPerMs: Record<string, number> = {};
      if (opts.skuMap !== false) {
        for (const [offerSku, itemCode] of Object.entries(ch.skuMap)) {
          if (opts.shard && shardOf(itemCode, opts.shard.count) !== opts.shard.index) continue;
          (offerSkusByItem[itemCode] ??= []).push(offerSku);
        }
        for (const [itemCode, perHour] of Object.entries(inv.velocityBuffer.expectedUnitsPerHour)) {
          if (perHour <= 0 || (opts.shard && shardOf(itemCode, opts.shard.count) !== opts.shard.index)) continue;
          expectedPerMs[itemCode] = (perHour * timeScale) / 3_600_000;
        }
      }
      const sharing = stockChannels(config, ch.fulfilment);
      const lastUnits: LastUnitsRule = {
        below: inv.lastUnits.oneChannelBelow,
        channel,
        channels: sharing,
        // Only when set, so that the resting key of configs without it stays what it was.
        ...(inv.lastUnits.splitBelow > 0 ? { splitBelow: inv.lastUnits.splitBelow } : {}),
        ...(inv.lastUnits.afterBuffers
          ? {
              afterBuffers: true,
              // The slowest sharing channel's horizon: every channel judges "last units" alike.
              horizonMs: Math.max(
                ...config.channels.filter((c) => sharing.includes(c.code)).map(horizonOf),
                horizonOf(ch),
              ),
              confidence: inv.lastUnits.confidence,
              // Only when set, as splitBelow.
              ...(inv.lastUnits.atRest === 'everyChannel' ? { atRest: 'everyChannel' as const } : {}),
            }
          : {}),
      };
      // Everything a SKU's resting figure depends on: the same for every shard of the channel.
      const restKey = createHash('sha256')
        .update(JSON.stringify([inv.buffer, inv.skuBuffers, lastUnits, Object.entries(ch.skuMap).sort()]))
        .digest('base64url')
        .slice(0, 16);
      return {
        channel,
        enabled: inv.enabled,
        platform: ch.platform,
        limit,
        pushIntervalMs,
        // Never let two pushes reach the target closer than its window: jitter between the end of one
        // call and the start of the next is absorbed here.
        marginMs: Math.max(20, pushIntervalMs * 0.02),
        timeScale,
        maxRowsPerPush: inv.maxRowsPerPush,
        fullReadMs: (inv.fullReadMinutes * 60_000) / timeScale,
        syncAgeAlertMs: (inv.syncAgeAlertMinutes * 60_000) / timeScale,
        buffer: inv.buffer,
        skuBuffers: inv.skuBuffers,
        velocity: {
          enabled: inv.velocityBuffer.enabled,
          halfLifeMs: (inv.velocityBuffer.halfLifeSeconds * 1000) / timeScale,
          maxUnits: inv.velocityBuffer.maxUnits,
          confidence: inv.velocityBuffer.confidence,
          horizonMs: horizonOf(ch),
          keptForRule: true,
          ...(Object.keys(expectedPerMs).length > 0 ? { expectedPerMs } : {}),
        },
        offerSkusByItem,
        lastUnits,
        restKey,
        shardItems: inv.shardItems,
        intakeHold: {
          intervalMs: Object.fromEntries(
            config.channels
              // Polled channels only: Marketplacer's orders arrive by webhook, with no poll rhythm to wait for.
              .filter((c) => c.enabled && c.fulfilment === 'peoplevox' && c.platform === 'mirakl')
              .map((c) => [c.code, (c.intake.pollIntervalSeconds * 1000) / timeScale]),
          ),
          // A quarter of the window at most: the push it delays still lands well inside window + processing.
          maxMs: pushIntervalMs * 0.25,
          graceMs: pushIntervalMs * 0.05,
        },
        reservations: {
          // Longest an order can sit before the warehouse allocates it: the acceptance window, then a day
          // for the debit. Only a lost release waits this long (docs/inventory.md, Reservations).
          ttlMs: ((ch.deadlines.acceptanceWindowHours + 24) * 3600_000) / timeScale,
          max: RESERVATION_DEFAULTS.max,
          // A released reservation's key only has to outlive the intake's re-reads of its order.
          keepReleasedKeysMs: releasedKeyRetentionMs(config, timeScale),
        },
        relistMs: (inv.listingRefreshMinutes * 60_000) / timeScale,
        fullReadGuard: inv.fullReadGuard,
        taskQueues: {
          inventory: config.temporal.taskQueues.inventory,
          peoplevox: config.temporal.taskQueues.peoplevox,
        },
        // Renewed well before the server would suggest it: a replay of the whole history (a worker killed, the
        // cache evicted) must fit in one workflow task. Measured in the 10k chaos run: 7.3 MB replayed in 43 s and
        // took the inventory workers down; 1 MB replays in a few seconds.
        maxHistoryEvents: 2_000,
        maxHistoryBytes: 1_000_000,
        restockHoldMs: (config.returns.restockHoldMinutes * 60_000) / timeScale,
      };
    },

    /** Full read of the master's availability (Peoplevox 'Item inventory summary'), summed over sites. */
    async readMasterAvailability(input: { channel: string }): Promise<Array<[string, number]>> {
      if (channelConfig(input.channel).fulfilment === 'shopify') return readShopify(input.channel);
      try {
        const rows = await deps.peoplevox.listAvailability();
        const total = new Map<string, number>();
        for (const r of rows) total.set(r.itemCode, (total.get(r.itemCode) ?? 0) + r.available);
        log.info({ channel: input.channel, items: total.size }, 'read master availability');
        return [...total.entries()];
      } catch (err) {
        throw toActivityFailure(err, 'peoplevox', 'GetReportData', 'SYSTEM_UNAVAILABLE');
      }
    },

    /**
     * The full read handed over as differences. Reads the whole master (paged: 50 requests for 50,000 items
     * at 1,000 a page, each taking a slot from the reads' share of the budget), then asks the ledger —
     * the channel workflow, or each shard — for the figures it holds (a query: nothing enters history),
     * and hands over only the items that differ, with counts. A read where most items known in stock
     * suddenly read 0 is not handed over (the caller raises STOCK_READ_HELD); a catalogue that outgrew
     * its shards is not compared (the caller splits the ledger, then reads again from this read).
     */
    async readMasterDiff(input: ReadDiffInput): Promise<ReadDiffResult> {
      const beat = heartbeatEvery(2_000);
      try {
        const { startedAt, totals } = await sharedMasterRead(input.channel);
        const items = totals.size;
        const needs = shardCountFor(items, input.shardItems, input.shards);
        if (needs > input.shards) return { startedAt, items, needsShards: needs, differences: 0 };
        const ids = 'workflowId' in input.target ? [input.target.workflowId] : input.target.shardIds;
        const held: MasterFigures[] = await Promise.all(
          ids.map((id) => within(30_000, () => workflow(id).query(masterFiguresQuery, { newerThan: startedAt }))),
        );
        const figures: Record<string, number> = {};
        const newer = new Set<string>();
        for (const h of held) {
          Object.assign(figures, h.figures);
          for (const c of h.newer) newer.add(c);
        }
        const rows = [...totals.entries()];
        const suspect = input.confirm ? undefined : suspectFullRead({ master: figures }, rows, input.guard);
        if (suspect) return { startedAt, items, suspect, differences: 0 };
        const drift: DriftReport = { at: Date.now(), checked: items, drifted: 0, units: 0, examples: [] };
        const shardOfRow = (code: string) => ('workflowId' in input.target ? 0 : shardOf(code, ids.length));
        const reads: ShardRead[] = ids.map(() => ({ at: startedAt, rows: [], absent: [], checked: 0 }));
        let differences = 0;
        for (const [code, raw] of rows) {
          const read = reads[shardOfRow(code)]!;
          read.checked++;
          if (newer.has(code)) continue;
          const value = Math.max(0, Math.trunc(raw));
          const known = figures[code];
          if (known === value) continue;
          differences++;
          read.rows.push([code, value]);
          if (known === undefined) continue;
          drift.drifted++;
          drift.units += Math.abs(value - known);
          if (drift.examples.length < 10) drift.examples.push({ itemCode: code, loopline: known, master: value });
        }
        for (const code of Object.keys(figures)) {
          if (totals.has(code)) continue;
          const read = reads[shardOfRow(code)]!;
          if (read.absent.length < 500) read.absent.push(code);
        }
        log.info(
          { channel: input.channel, items, differences, drifted: drift.drifted, ledgers: ids.length },
          'full read compared',
        );
        if ('workflowId' in input.target) return { startedAt, items, drift, read: reads[0]!, differences };
        await Promise.all(ids.map((id, k) => workflow(id).signal(shardInboxSignal, [{ read: reads[k]! }])));
        return { startedAt, items, drift, differences };
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * One push for a channel whose ledger lives in shards: asks every shard for its next rows (a query),
     * takes the first `maxRows` of them in push order (sell-outs, restocks, oldest changes: what one ledger
     * would have sent), leaves out SKUs the channel does not list, sends one STO01, and tells each shard what
     * went (a signal). The rows never enter the channel's history; the result is counts. A retry after a
     * lost answer asks the shards again and sends the same figures (absolute quantities).
     */
    async pushFromShards(input: ShardPushInput): Promise<ShardPushResult> {
      // The first pushes of a large catalogue carry 10,000 rows gathered from every shard: it beats meanwhile.
      const beat = heartbeatEvery(2_000);
      try {
        const ch = channelConfig(input.channel);
        if (ch.platform !== 'mirakl' && ch.platform !== 'marketplacer') {
          throw ApplicationFailure.nonRetryable(`no stock connector for ${ch.platform} yet`, 'UNEXPECTED_ERROR');
        }
        if (ch.platform === 'marketplacer' && !deps.marketplacerStock)
          throw ApplicationFailure.nonRetryable('marketplacer stock is not wired', 'UNEXPECTED_ERROR');
        const now = Date.now();
        const candidates = await askShards(input.shardIds, (id) =>
          workflow(id).query(pushCandidatesQuery, { max: input.maxRows, now }),
        );
        const skipped = candidates.flatMap((c, k) => (c === undefined ? [k] : []));
        if (skipped.length > 0)
          log.warn(
            { channel: input.channel, key: input.key, skipped },
            'shards that did not answer in time left for the next push',
          );
        const batch = mergeCandidates(
          candidates.map((c) => c?.rows ?? []),
          input.maxRows,
        );
        const askedAt = Date.now();
        const byPriority: Record<PushPriority, number> = { 'sell-out': 0, return: 0, restock: 0, change: 0 };
        for (const r of batch) byPriority[r.priority]++;
        const listing = ch.platform === 'mirakl' ? deps.listing?.(input.channel) : undefined;
        let listed: typeof batch = [];
        const unlisted: typeof batch = [];
        for (const r of batch) {
          if (listing && (await listing.lists(r.offerSku)) === false) unlisted.push(r);
          else listed.push(r);
        }
        let importId: string | undefined;
        let direct: Awaited<ReturnType<MarketplacerStock['push']>> | undefined;
        if (ch.platform === 'marketplacer') {
          // Applies at once, row by row: a failed row stays pending in its shard (not reported as pushed), a
          // refused one goes back to the channel to be parked, a variant the channel lacks is unlisted.
          direct = await deps.marketplacerStock!.push(
            ch,
            listed.map((r) => [r.offerSku, r.quantity]),
            input.key,
          );
          const out = new Set([...direct.failed, ...direct.unlisted, ...direct.rejected.map((r) => r.offerSku)]);
          const gone = new Set(direct.unlisted);
          for (const r of listed) if (gone.has(r.offerSku)) unlisted.push(r);
          listed = listed.filter((r) => !out.has(r.offerSku));
          if (listed.length === 0 && direct.failed.length > 0 && direct.rejected.length === 0) {
            // Nothing got through: a failed push (the rows stay pending; the workflow counts it).
            throw ApplicationFailure.retryable(
              `no variant updated (${direct.failed.length} failed)`,
              'marketplacer:variantUpdate',
            );
          }
        } else if (listed.length > 0) {
          const sentAt = Date.now();
          try {
            importId = await deps
              .mirakl(input.channel)
              .importStock(listed.map((r) => ({ offerSku: r.offerSku, quantity: r.quantity })));
          } catch (err) {
            // How long the failed call took, for the record; the next window counts from its end (workflows/inventory.ts).
            throw toActivityFailure(err, 'mirakl', 'STO01', 'SYSTEM_UNAVAILABLE', {
              key: input.key,
              elapsedMs: Date.now() - sentAt,
            });
          }
        }
        const acceptedAt = Date.now();
        for (const r of listed)
          if (r.returnDecidedAt !== undefined)
            restockPropagation.observe({ channel: input.channel }, Math.max(0, acceptedAt - r.returnDecidedAt) / 1000);
        log.info(
          {
            channel: input.channel,
            key: input.key,
            rows: listed.length,
            unlisted: unlisted.length,
            importId,
            // Where the push's time went: asking the shards for their rows, then the call itself.
            askedShardsMs: askedAt - now,
            callMs: acceptedAt - askedAt,
          },
          'stock pushed from shards (STO01)',
        );
        const taken = new Map<number, { rows: Array<[string, number]>; unlisted: string[] }>();
        const slot = (k: number) => taken.get(k) ?? taken.set(k, { rows: [], unlisted: [] }).get(k)!;
        for (const r of listed) slot(r.shard).rows.push([r.offerSku, r.quantity]);
        for (const r of unlisted) slot(r.shard).unlisted.push(r.offerSku);
        await Promise.all(
          [...taken].map(async ([k, part]) => {
            try {
              await workflow(input.shardIds[k]!).signal(shardInboxSignal, [
                { pushed: { seq: input.seq, ...(importId ? { importId } : {}), ...part } },
              ]);
            } catch (err) {
              // The shard pushes those rows again next time (same figures): harmless.
              log.warn({ err: (err as Error).message, shard: k }, 'shard not told of a push');
            }
          }),
        );
        const pending = candidates.map((c, k) => {
          if (c === undefined) return null;
          const left = Math.max(0, c.pending - (taken.get(k)?.rows.length ?? 0) - (taken.get(k)?.unlisted.length ?? 0));
          return left > 0 ? { pending: left, oldestSince: c.oldestSince } : { pending: 0 };
        });
        return {
          rows: batch.length,
          byPriority,
          ...(importId ? { importId } : {}),
          acceptedAt,
          unlisted: unlisted.length,
          shards: [...taken.keys()].filter((k) => taken.get(k)!.rows.length > 0).sort((a, b) => a - b),
          pending,
          ...(skipped.length ? { skipped } : {}),
          ...(direct?.failed.length ? { failed: direct.failed.length } : {}),
          ...(direct?.rejected.length ? { rejected: direct.rejected } : {}),
          ...(direct?.readBack ? { readBack: direct.readBack } : {}),
          ...(direct?.unmappedVariants ? { unmappedVariants: direct.unmappedVariants } : {}),
        };
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * Pushes absolute quantities, so a retry after a lost response sets the same figures again (idempotent
     * in outcome). Mirakl: STO01 only — OF24 would reset every offer field not sent.
     */
    async pushStock(input: PushStockInput): Promise<PushStockResult> {
      const ch = channelConfig(input.channel);
      if (ch.platform === 'marketplacer') {
        if (!deps.marketplacerStock)
          throw ApplicationFailure.nonRetryable('marketplacer stock is not wired', 'UNEXPECTED_ERROR');
        const r = await deps.marketplacerStock.push(ch, input.rows, input.key);
        return {
          acceptedAt: r.acceptedAt,
          ...(r.unlisted.length ? { unlisted: r.unlisted } : {}),
          ...(r.failed.length ? { failed: r.failed } : {}),
          ...(r.rejected.length ? { rejected: r.rejected } : {}),
          ...(r.readBack ? { readBack: r.readBack } : {}),
          ...(r.unmappedVariants ? { unmappedVariants: r.unmappedVariants } : {}),
        };
      }
      // Only SKUs the channel lists are sent: a row for an offer it does not have would come back rejected.
      const listing = deps.listing?.(input.channel);
      const rows: Array<[string, number]> = [];
      const unlisted: string[] = [];
      for (const row of input.rows) {
        if (listing && (await listing.lists(row[0])) === false) unlisted.push(row[0]);
        else rows.push(row);
      }
      if (unlisted.length > 0) {
        log.info(
          { channel: input.channel, key: input.key, unlisted: unlisted.length },
          'SKUs the channel does not list left out',
        );
      }
      if (rows.length === 0) return { acceptedAt: Date.now(), unlisted };
      const sentAt = Date.now();
      try {
        const importId = await deps
          .mirakl(input.channel)
          .importStock(rows.map(([offerSku, quantity]) => ({ offerSku, quantity })));
        log.info({ channel: input.channel, key: input.key, rows: rows.length, importId }, 'stock pushed (STO01)');
        for (const r of input.returnRestocks ?? [])
          if (!unlisted.includes(r.offerSku))
            restockPropagation.observe({ channel: input.channel }, Math.max(0, Date.now() - r.decidedAt) / 1000);
        return { importId, acceptedAt: Date.now(), ...(unlisted.length ? { unlisted } : {}) };
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', 'STO01', 'SYSTEM_UNAVAILABLE', {
          key: input.key,
          elapsedMs: Date.now() - sentAt,
        });
      }
    },

    /** Which of these offer SKUs the channel lists now (its offer list read again when it is due). */
    async checkListing(input: { channel: string; offerSkus: string[] }): Promise<{ listed: string[] }> {
      const listing = deps.listing?.(input.channel);
      if (!listing) return { listed: [...input.offerSkus] };
      const listed: string[] = [];
      for (const sku of input.offerSkus) if ((await listing.lists(sku)) !== false) listed.push(sku);
      return { listed };
    },

    /** STO02: where the import is. */
    async checkStockImport(input: { channel: string; importId: string }): Promise<ImportCheckResult> {
      try {
        const s = await deps.mirakl(input.channel).stockImportStatus(input.importId);
        const status = String(s.status ?? '').toUpperCase();
        const hasErrorReport = Boolean((s as { has_error_report?: boolean }).has_error_report);
        if (status === 'COMPLETE') return { status: 'COMPLETE', hasErrorReport };
        if (status === 'FAILED' || status === 'CANCELLED')
          return { status: 'FAILED', hasErrorReport, detail: `status ${status}` };
        return { status: 'PENDING', hasErrorReport: false };
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', 'STO02', 'SYSTEM_UNAVAILABLE');
      }
    },

    /** STO03: the rows the marketplace rejected. */
    async stockImportRejections(input: {
      channel: string;
      importId: string;
    }): Promise<Array<{ offerSku: string; quantity: number; message: string }>> {
      try {
        const rows = await deps.mirakl(input.channel).stockImportErrors(input.importId);
        return rows.map((r) => ({
          offerSku: r.offerSku,
          quantity: Math.max(0, Math.trunc(Number(r.quantity ?? '0')) || 0),
          message: r.message,
        }));
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', 'STO03', 'SYSTEM_UNAVAILABLE');
      }
    },

    async raiseInventoryAlert(alert: Alert): Promise<boolean> {
      return deps.alerts.raise(alert);
    },

    /**
     * The acceptance check for an order: per line, accept, accept as a backorder, or refuse, by the
     * channel's outOfStock policy and the master's available figures as the channel's inventory
     * workflow knows them (read from Peoplevox when that workflow is not running).
     */
    async checkOrderStock(input: {
      channel: string;
      lines: StockCheckLine[];
      policy?: OutOfStockPolicy;
    }): Promise<StockLineDecision[]> {
      const ch = channelConfig(input.channel);
      const policy = input.policy ?? ch.acceptance.outOfStock;
      const codes = [...new Set(input.lines.map((l) => l.itemCode))];
      let available: Record<string, number> | undefined;
      if (deps.client) {
        try {
          // The channel's inventory workflow, or the shards holding these items (src/inventory/available.ts).
          available = await (availability ??= createAvailabilityReader(deps.client, deps.config)).available(
            input.channel,
            codes,
          );
        } catch (err) {
          log.debug({ err: (err as Error).message, channel: input.channel }, 'inventory workflow not queryable');
        }
      }
      if (!available && ch.fulfilment === 'shopify') {
        // Shopify is searched by SKU: the order's few items, not the whole catalogue.
        if (!deps.shopify) throw ApplicationFailure.nonRetryable('systems.shopify is not wired', 'UNEXPECTED_ERROR');
        try {
          available = {};
          for (const r of await deps.shopify.inventoryForSkus(codes))
            available[r.sku] = (available[r.sku] ?? 0) + r.available;
        } catch (err) {
          throw toActivityFailure(err, 'shopify', 'inventoryItems', 'SYSTEM_UNAVAILABLE');
        }
      }
      if (!available) {
        available = await sharedRead('peoplevox', async () => {
          try {
            const all: Record<string, number> = {};
            for (const r of await deps.peoplevox.listAvailability())
              all[r.itemCode] = (all[r.itemCode] ?? 0) + r.available;
            return all;
          } catch (err) {
            throw toActivityFailure(err, 'peoplevox', 'GetReportData', 'SYSTEM_UNAVAILABLE');
          }
        });
      }
      return decideStockAcceptance(policy, input.lines, available);
    },
  };
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;

/** Heartbeats every `ms` while a long step runs (clear the handle when done); outside an activity it does nothing. */
function heartbeatEvery(ms: number): ReturnType<typeof setInterval> {
  return setInterval(() => {
    try {
      Context.current().heartbeat();
    } catch {
      // not in an activity (unit use)
    }
  }, ms);
}

/**
 * How long the dedupe key of a released reservation is kept: four times the longest span over which a channel's
 * intake reads an unchanged order again (its overlap, Mirakl's few seconds of start_update_date delta, two poll
 * windows; the overlap is in wall seconds, the window time-scaled), and at least ten minutes (scaled).
 */
export function releasedKeyRetentionMs(config: Config, timeScale: number): number {
  let reRead = 0;
  for (const c of config.channels) {
    const span = c.intake.overlapSeconds * 1000 + 10_000 + (2 * c.intake.pollIntervalSeconds * 1000) / timeScale;
    reRead = Math.max(reRead, span);
  }
  return Math.max(4 * reRead, 600_000 / timeScale);
}
