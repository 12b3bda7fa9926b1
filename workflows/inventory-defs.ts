// What the inventory workflows say to each other and to the world: signals, updates, queries and the
// shapes they carry, for the channel workflow (workflows/inventory.ts), its frozen pre-sharding body
// (workflows/inventory-v1.ts) and its shards (workflows/inventory-shard.ts). No workflow code here.
import { defineQuery, defineSignal, defineUpdate, workflowInfo } from '@temporalio/workflow';
import type {
  DriftReport,
  Ledger,
  PushPriority,
  PushRow,
  RejectedSku,
  ReservationChange,
  RestockEvent,
  StockEvent,
} from '../src/inventory/ledger';
import type { ReadBackReport, UnmappedVariantsReport } from '../src/inventory/targets';

// ---- messages -------------------------------------------------------------------------------------
/** A batch of master changes. Senders batch and coalesce, so 10,000 events a minute are a few signals. */
export const stockEventsSignal = defineSignal<[StockEvent[]]>('stockEvents');
/**
 * Order lines seen by the intake of any channel sharing this master (reserve), their warehouse order
 * sent (allocated), or cancelled/refused before allocation (release). Deduplicated by key in the ledger.
 */
export const orderStockSignal = defineSignal<[ReservationChange[]]>('orderStock');
/**
 * Returned goods back on sale (a return's restock decision), sent to every channel selling the item at once:
 * pushed ahead of ordinary changes, deduplicated by key (src/inventory/ledger.ts, "restocks from returns").
 */
export const restockSignal = defineSignal<[RestockEvent[]]>('restock');
/** Read the whole master now (an operator, or a GoodsReceived / IncrementalChanges callback). */
export const fullReadSignal = defineSignal('requestFullRead');
/** An operator fixed a rejected SKU (offer created, mapping corrected): push it again. */
export const retrySkuUpdate = defineUpdate<boolean, [string]>('retrySku');
/**
 * An operator checked a held full read (most items suddenly at 0) and the figures are real: the next read
 * is applied whatever it shows, and one starts now. Returns whether a read was being held.
 */
export const confirmFullReadUpdate = defineUpdate<boolean>('confirmFullRead');
export const healthQuery = defineQuery<InventoryHealth>('health');
/** The master's available per item code, as this workflow knows it (the order acceptance check). */
export const availableQuery = defineQuery<Record<string, number>, [string[]]>('available');
export const pendingQuery = defineQuery<Array<{ offerSku: string; quantity: number; since: number }>, [number?]>(
  'pending',
);

export interface InventoryWorkflowInput {
  channel: string;
  /** Carried across continue-as-new. */
  resume?: InventoryWorkflowState;
  /** Continue-as-new at this history length (default from settings); tests lower it. */
  maxHistoryEvents?: number;
  /** Or at this many bytes of history since the run began (default from settings); tests lower it. */
  maxHistoryBytes?: number;
}

export interface ImportInFlight {
  importId: string;
  /** The rows pushed (the ledger in the channel workflow); empty when the ledger lives in shards. */
  rows: Array<[string, number]>;
  /** Sharded: the shards whose rows the import carried, and how many rows it had. */
  shards?: number[];
  rowCount?: number;
  pushedAt: number;
  /** Next STO02 check. */
  checkAt: number;
  /** COMPLETE with an error report still to read (STO03). */
  reportDue?: boolean;
}

export interface InventoryCounters {
  createdAt: number;
  runs: number;
  signals: number;
  eventsReceived: number;
  eventsApplied: number;
  pushes: number;
  rowsPushed: number;
  rowsByPriority: Record<PushPriority, number>;
  failedPushes: number;
  lastPushError?: string;
  lastPushAt?: number;
  lastSuccessfulPushAt?: number;
  importsCompleted: number;
  importsFailed: number;
  rejectedSkus: number;
  fullReads: number;
  lastDrift?: DriftReport;
  driftUnitsTotal: number;
  /** Reservation changes received (orderStock signals' entries). */
  reservationChanges?: number;
  /** Pushes held back for an intake poll due within the hold (see intakeHoldUntil). */
  heldForIntake?: number;
  /** lastSuccessfulPushAt (or createdAt) of the incident already alerted, so one alert per incident. */
  staleAlertFor?: number;
  /** Stock events for item codes the master does not have: dropped (bounded ledger). */
  eventsUnknown?: number;
  /** A few of those codes, newest last, for the health query. */
  unknownSample?: string[];
  /** Messages dropped because too many arrived before the settings. */
  earlyDropped?: number;
  /** Offer SKUs the pushes left out because the channel does not list them. */
  unlistedSkus?: number;
  /** Shards a push from shards went on without (they did not answer in time; their rows waited for the next). */
  shardsSkipped?: number;
  /** Full reads held because most items suddenly read 0 (STOCK_READ_HELD). */
  heldReads?: number;
  /** Targets read back after a push (Marketplacer): pushes in a row whose every row read back differs. */
  readBackMisses?: number;
  /** Since when the channel looks inactive (CHANNEL_CONNECTION_INACTIVE raised), until a read-back matches. */
  connectionInactiveSince?: number;
  lastReadBack?: ReadBackReport & { at: number };
  /** Variants no master item code feeds (Marketplacer), as last reported, and the set last alerted. */
  unmappedVariants?: UnmappedVariantsReport;
  unmappedAlerted?: string;
  /** Restock events from returns received. */
  restocks?: number;
}

/** A full read that was not applied: most items known in stock suddenly read 0. */
export interface HeldRead {
  at: number;
  inStock: number;
  droppedToZero: number;
}

export interface InventoryWorkflowState {
  channel: string;
  ledger: Ledger;
  imports: ImportInFlight[];
  counters: InventoryCounters;
  pushSeq: number;
  nextPushAt: number;
  /** Channel → when its intake last sent reservations (epoch ms, the intake's clock): its poll rhythm. */
  intakeSeenAt?: Record<string, number>;
  nextStatusAt: number;
  nextErrorsAt: number;
  nextFullReadAt: number;
  /** The last full read held for confirmation, until a read is applied. */
  heldRead?: HeldRead;
  /** An operator confirmed: apply the next full read whatever it shows. */
  confirmNextRead?: boolean;
  /**
   * Where the ledger lives: in `ledger` (absent or 'local': a catalogue of up to `inventory.shardItems`
   * items), or in shard workflows ('sharded'; `ledger` then keeps only the channel's rejected SKUs).
   */
  mode?: 'local' | 'sharded';
  shards?: ShardLayoutState;
  /** Messages for shards not yet delivered when the run continued as new, by shard index. */
  outbox?: Record<number, ShardEntry[]>;
}

export interface ShardLayoutState {
  count: number;
  /** Part of every shard's id: the channel workflow's first run (a restarted channel starts new shards). */
  gen: string;
  /** What each shard last said about itself (shardReport), by index. */
  reports: Record<number, ShardReport>;
  /**
   * Reservation key → the shard its reserve went to (under `count`), so the order's allocation or release,
   * which names only the key, goes to that shard alone instead of to every shard. Oldest dropped beyond
   * MAX_ROUTED_KEYS, cleared when the count changes; a key not found here goes to every shard, as before.
   */
  keyShards?: { count: number; keys: Record<string, number> };
}

/** Reservation keys whose shard the channel remembers (about 40 bytes each through continue-as-new). */
export const MAX_ROUTED_KEYS = 2_000;

/** Messages held before the settings arrive (one activity); beyond this, stock events are dropped. */
export const MAX_EARLY_MESSAGES = 1000;
/** Unknown item codes kept as examples in the health query. */
export const UNKNOWN_SAMPLE = 20;

export interface InventoryHealth {
  channel: string;
  /** ms since the last successful push (since the workflow started, before the first). */
  syncAgeMs: number;
  /** ms since the oldest change that has not reached the channel yet; 0 when nothing waits. */
  oldestPendingMs: number;
  pendingCount: number;
  failedPushes: number;
  lastPushError?: string;
  pushes: number;
  rowsPushed: number;
  rowsByPriority: Record<PushPriority, number>;
  importsInFlight: number;
  rejected: RejectedSku[];
  lastDrift?: DriftReport;
  driftUnitsTotal: number;
  fullReads: number;
  eventsReceived: number;
  signals: number;
  /** Order lines reserved and not yet reflected by the master (rows, units), and dedupe keys held. */
  reservations: { rows: number; units: number; keys: number; received: number };
  /** Units released, by rule (allocation, allocated-figure, cancelled, refused, operator, expired). */
  reservationsReleased: Record<string, number>;
  /** Pushes that waited for an intake poll due shortly (aligning pushes with the intake). */
  heldForIntake: number;
  /** Offer SKUs the channel does not list (never pushed), and how many pushes left out. */
  unlisted: { skus: number; leftOut: number };
  /** A full read held for confirmation (most items suddenly at 0), if any. */
  heldRead?: HeldRead;
  /** Sharded channels: shards pushes went on without, as they did not answer in time (their rows went later). */
  shardsSkipped?: number;
  /** Targets that apply at once and are read back (Marketplacer): the connection and the variant mapping. */
  target?: {
    connectionInactiveSince?: number;
    lastReadBack?: ReadBackReport & { at: number };
    unmappedVariants?: UnmappedVariantsReport;
  };
  itemsKnown: number;
  /** Stock events dropped because the master has no such item code, and a few of those codes. */
  eventsUnknown: number;
  unknownSample: string[];
  lastPushAt?: number;
  lastSuccessfulPushAt?: number;
  nextPushAt: number;
  historyLength: number;
  runs: number;
  /** Where the ledger lives, and how big the shards are (docs/inventory.md, "Scale"). */
  layout?: { mode: 'local' | 'sharded'; shards: number; largestShardItems: number; shardItems: number };
}

// ---- the layout: a channel's ledger in one workflow or in shards ---------------------------------
/** Where a channel's ledger lives; ask it before asking for master figures (src/inventory/available.ts). */
export interface InventoryLayout {
  channel: string;
  mode: 'local' | 'sharded';
  /** Shards (1 when local). An item's shard is shardOf(itemCode, count) (src/inventory/shards.ts). */
  count: number;
  /** Workflow ids by shard index; [the channel's own id] when local. */
  ids: string[];
  /** Items are moving between shards right now: figures may be missing for a moment. */
  resharding: boolean;
}
export const layoutQuery = defineQuery<InventoryLayout>('inventoryLayout');

/** The master figures a ledger holds (the full read compares against them), and items with newer events. */
export interface MasterFigures {
  figures: Record<string, number>;
  /** Items whose newest figure is from an event after `newerThan`: the read does not overrule them. */
  newer: string[];
}
export const masterFiguresQuery = defineQuery<MasterFigures, [{ newerThan: number }]>('masterFigures');

// ---- shards ---------------------------------------------------------------------------------------
/** A full read handed over as differences: only items whose figure differs from the ledger's. */
export interface ShardRead {
  /** When the read started (epoch ms): events newer than this keep their figure. */
  at: number;
  rows: Array<[itemCode: string, available: number]>;
  /** Items the ledger knows that the read did not have (at most a few hundred listed). */
  absent: string[];
  /** Items the read had for this ledger (whether they differed or not). */
  checked: number;
}

/** A push the channel made: the rows it carried from this shard, and those the channel does not list. */
export interface ShardPushed {
  seq: number;
  importId?: string;
  rows: Array<[offerSku: string, quantity: number]>;
  unlisted: string[];
}

/** How an import ended (STO02/STO03): its rows the marketplace rejected, or all of them back to pending. */
export interface ShardImportOutcome {
  importId: string;
  outcome: 'complete' | 'failed';
  rejected?: Array<{ offerSku: string; quantity: number; message: string }>;
}

/** One message to a shard; a signal carries several, in the order they arose. */
export type ShardEntry =
  | { events: StockEvent[] }
  | { changes: ReservationChange[] }
  | { restocks: RestockEvent[] }
  | { read: ShardRead }
  | { pushed: ShardPushed }
  | { import: ShardImportOutcome }
  | { retry: string }
  /** Split: keep the items of shardOf(code, count) === index, hand the others to their new shards. */
  | { reshard: number }
  /** Items (and their state) that now belong to this shard. */
  | { handover: Ledger };

export const shardInboxSignal = defineSignal<[ShardEntry[]]>('shardInbox');

/** What a shard tells its channel about itself: when it has rows to push, and for the health query. */
export interface ShardReport {
  index: number;
  count: number;
  pending: number;
  oldestSince?: number;
  /** A return's restock waits to be pushed (the push then does not wait for an intake poll). */
  returnWaiting?: boolean;
  itemsKnown: number;
  reservations: { rows: number; units: number; keys: number; received: number };
  released: Record<string, number>;
  unlisted: number;
  eventsUnknown: number;
  unknownSample: string[];
  runs: number;
  /** Workflow time of the report. */
  at: number;
}
export const shardReportSignal = defineSignal<[ShardReport]>('shardReport');

/** The next push's candidates from one shard: its rows in push order (velocity re-evaluated at `now`). */
export interface PushCandidates {
  rows: PushRow[];
  pending: number;
  oldestSince?: number;
}
export const pushCandidatesQuery = defineQuery<PushCandidates, [{ max: number; now: number }]>('pushCandidates');
export const shardHealthQuery = defineQuery<ShardReport>('shardHealth');

export interface InventoryShardInput {
  channel: string;
  index: number;
  count: number;
  /** The channel workflow's id (reports go there; sibling shard ids derive from it). */
  parentId: string;
  gen: string;
  /** The items this shard starts with (when a channel's ledger is first split). */
  initial?: Ledger;
  resume?: InventoryShardState;
  maxHistoryEvents?: number;
}

export interface InventoryShardState {
  channel: string;
  index: number;
  count: number;
  parentId: string;
  gen: string;
  ledger: Ledger;
  /** Offer SKUs of each import in flight that came from this shard (requeued if the import fails). */
  imports: Record<string, { skus: string[]; at: number }>;
  counters: {
    createdAt: number;
    runs: number;
    eventsApplied: number;
    eventsUnknown: number;
    unknownSample: string[];
    reservationChanges: number;
    reads: number;
  };
}

/**
 * Whether a long-lived inventory workflow should continue as new: the server suggests it, or its history passed
 * the settings' event count or (where set) size. The size counts from `baseBytes`, what the history held when the
 * run began (its input is the state carried over), so a large carried ledger cannot make a run renew at once.
 */
export function historyFull(s: { maxHistoryEvents: number; maxHistoryBytes?: number }, baseBytes: number): boolean {
  const info = workflowInfo();
  if (info.continueAsNewSuggested || info.historyLength > s.maxHistoryEvents) return true;
  return s.maxHistoryBytes !== undefined && info.historySize - baseBytes > s.maxHistoryBytes;
}
