// Stock activities: thin. Read the master, push to a channel's target, follow the import, raise alerts,
// and the acceptance check the order workflow shares. Built by a factory that receives connectors.
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
import { inventoryWorkflowId } from '../src/inventory/keys';
import { stockChannels } from '../src/inventory/intake';
import type { LastUnitsRule } from '../src/inventory/buffers';
import { RESERVATION_DEFAULTS, type FullReadGuard } from '../src/inventory/ledger';
import type { ChannelListing } from '../src/inventory/listing';
import {
  decideStockAcceptance,
  type StockCheckLine,
  type StockLineDecision,
  type OutOfStockPolicy,
} from '../src/inventory/acceptance';
import { availableQuery } from '../workflows/inventory';
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
  velocity: { enabled: boolean; halfLifeMs: number; maxUnits: number; horizonMs: number; confidence: number };
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
  reservations: { ttlMs: number; max: number };
  /** Unlisted SKUs are asked about again after this long (absent in older histories: never). */
  relistMs?: number;
  /** When a full read is held for confirmation (absent in older histories: never). */
  fullReadGuard?: FullReadGuard;
  taskQueues: { inventory: string; peoplevox: string };
  /** Continue-as-new at this history length even if the server has not suggested it yet. */
  maxHistoryEvents: number;
  /** Restocked units from returns count ahead of the master for at most this long (absent in older histories). */
  restockHoldMs?: number;
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
}

export function createInventoryActivities(deps: InventoryActivityDeps) {
  const { config, log } = deps;
  const timeScale = deps.timeScale ?? 1;

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
    async inventorySettings(channel: string): Promise<InventorySettings> {
      const ch = channelConfig(channel);
      const inv = ch.inventory;
      const mp = ch.platform === 'marketplacer' ? marketplacerSettings(ch) : undefined;
      const limit = mp
        ? marketplacerStockLimit(mp.requestsPer10Seconds, mp.stockShare)
        : STOCK_PUSH_LIMITS[ch.platform];
      const pushIntervalMs = (inv.pushIntervalSeconds * 1000) / timeScale;
      const offerSkusByItem: Record<string, string[]> = {};
      for (const [offerSku, itemCode] of Object.entries(ch.skuMap)) (offerSkusByItem[itemCode] ??= []).push(offerSku);
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
          // Sales the channel cannot reflect yet: those before the next push lands (one push interval) and
          // those made but not yet in the warehouse (one intake poll: Mirakl OR11 once a minute; Marketplacer's
          // orders come by webhook within seconds).
          horizonMs: pushIntervalMs + ((mp ? 5 : ch.intake.pollIntervalSeconds) * 1000) / timeScale,
        },
        offerSkusByItem,
        lastUnits: {
          below: inv.lastUnits.oneChannelBelow,
          channel,
          channels: stockChannels(config, ch.fulfilment),
        },
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
        },
        relistMs: (inv.listingRefreshMinutes * 60_000) / timeScale,
        fullReadGuard: inv.fullReadGuard,
        taskQueues: {
          inventory: config.temporal.taskQueues.inventory,
          peoplevox: config.temporal.taskQueues.peoplevox,
        },
        maxHistoryEvents: 8_000,
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
        throw toActivityFailure(err, 'mirakl', 'STO01', 'SYSTEM_UNAVAILABLE', { key: input.key });
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
          available = await deps.client.workflow
            .getHandle(inventoryWorkflowId(input.channel, deps.config.temporal.idScope))
            .query(availableQuery, codes);
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
