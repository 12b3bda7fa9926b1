// One shard of a channel's stock ledger (id <channel workflow id>/shard-<gen>-<index>): the items whose
// code hashes to it (src/inventory/shards.ts). The channel workflow (workflows/inventory.ts) stays the single
// writer of the channel's stock — it decides when to push and follows the imports — and a catalogue of
// 50,000 items is spread over shards of at most `inventory.shardItems` items, so no workflow's state (and
// no continue-as-new payload) grows with the catalogue.
//   in  (shardInbox, from the channel or an activity, in order): stock events and reservations for its
//       items, a full read's differences, what a push carried, how an import ended, a retried SKU, a split
//       and the items handed over by one
//   out (shardReport, to the channel): when rows wait to be pushed, and counts for the health query
//   queries: available (acceptance check), masterFigures (the full read compares against them),
//       pushCandidates (the next push's rows, in push order), shardHealth
// Carried across continue-as-new compacted: an item at rest costs its master figure (compactLedger).
// No I/O here: every effect is an activity or a signal.
import {
  ActivityFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { InventoryActivities, InventorySettings } from '../activities/inventory';
import {
  applyEvents,
  applyRead,
  applyReservations,
  applyRestocks,
  returnWaiting,
  compactLedger,
  emptyLedger,
  expandLedger,
  expireReservations,
  itemsKnown,
  markRejected,
  markSent,
  markUnlisted,
  masterAtOf,
  mergeLedger,
  nextBatch,
  oldestPending,
  pendingCount,
  refreshAll,
  refreshItem,
  refreshVelocity,
  relist,
  requeue,
  reservationCount,
  retryRejected,
  splitLedger,
  unlistedBefore,
  type Ledger,
  type StockEvent,
} from '../src/inventory/ledger';
import { shardOf, shardWorkflowId } from '../src/inventory/shards';
import {
  availableQuery,
  masterFiguresQuery,
  historyFull,
  pushCandidatesQuery,
  shardHealthQuery,
  shardInboxSignal,
  shardReportSignal,
  MAX_EARLY_MESSAGES,
  UNKNOWN_SAMPLE,
  type InventoryShardInput,
  type InventoryShardState,
  type ShardEntry,
  type ShardReport,
} from './inventory-defs';

const local = proxyActivities<Pick<InventoryActivities, 'inventorySettings'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 10 },
});

function listingActs(taskQueue: string) {
  return proxyActivities<Pick<InventoryActivities, 'checkListing'>>({
    taskQueue,
    startToCloseTimeout: '1m',
    retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 4 },
  });
}

export async function inventoryShardWorkflow(input: InventoryShardInput): Promise<void> {
  const startedAt = Date.now();
  const baseBytes = workflowInfo().historySize;
  const state: InventoryShardState = input.resume ?? {
    channel: input.channel,
    index: input.index,
    count: input.count,
    parentId: input.parentId,
    gen: input.gen,
    ledger: input.initial ?? emptyLedger(),
    imports: {},
    counters: {
      createdAt: startedAt,
      runs: 0,
      eventsApplied: 0,
      eventsUnknown: 0,
      unknownSample: [],
      reservationChanges: 0,
      reads: 0,
    },
  };
  state.counters.runs++;
  const l: Ledger = state.ledger;
  let settings: InventorySettings | undefined;
  const early: ShardEntry[] = [];
  let reshardTo: number | undefined;
  let relistDue = false;
  /** Something the channel should hear now (rows appeared, a push or a read was applied, a split done). */
  let urgent = true;
  /** Counts changed: tell the channel at the next report. */
  let changed = true;

  function holdEarly(entries: ShardEntry[]) {
    for (const e of entries) {
      if (early.length >= MAX_EARLY_MESSAGES) {
        // Stock figures can go (a full read follows); everything else is kept.
        const i = early.findIndex((x) => 'events' in x);
        if ('events' in e) continue;
        if (i >= 0) early.splice(i, 1);
      }
      early.push(e);
    }
  }

  function knownOnly(events: StockEvent[]): StockEvent[] {
    const known = events.filter((e) => l.master[e[0]] !== undefined);
    if (known.length === events.length) return known;
    const c = state.counters;
    c.eventsUnknown += events.length - known.length;
    for (const e of events) {
      if (l.master[e[0]] === undefined && !c.unknownSample.includes(e[0]))
        c.unknownSample.push(String(e[0]).slice(0, 60));
    }
    if (c.unknownSample.length > UNKNOWN_SAMPLE) c.unknownSample.splice(0, c.unknownSample.length - UNKNOWN_SAMPLE);
    return known;
  }

  /** Offer SKUs this shard holds (the import records are per shard). */
  function mine(offerSku: string): boolean {
    return (
      l.sent[offerSku] !== undefined ||
      l.pending[offerSku] !== undefined ||
      l.rejected[offerSku] !== undefined ||
      l.master[offerSku] !== undefined
    );
  }

  function apply(s: InventorySettings, e: ShardEntry): void {
    const now = Date.now();
    const before = pendingCount(l);
    changed = true;
    if ('events' in e) {
      state.counters.eventsApplied += applyEvents(l, s, knownOnly(e.events), now);
    } else if ('restocks' in e) {
      applyRestocks(l, s, e.restocks, now, s.restockHoldMs);
      if (returnWaiting(l)) urgent = true;
    } else if ('changes' in e) {
      state.counters.reservationChanges += e.changes.length;
      applyReservations(l, s, e.changes, now);
    } else if ('read' in e) {
      applyRead(l, s, e.read, now);
      state.counters.reads++;
      relistDue = true;
      urgent = true;
    } else if ('pushed' in e) {
      const p = e.pushed;
      markSent(
        l,
        p.rows.map(([offerSku, quantity]) => ({ offerSku, quantity, priority: 'change' as const, since: now })),
      );
      // A return's restock that went is no longer ahead of the queue.
      for (const [sku] of p.rows) if (l.returnPriority?.[sku] !== undefined) delete l.returnPriority[sku];
      if (p.unlisted.length > 0) markUnlisted(l, p.unlisted, now);
      if (p.importId && p.rows.length > 0) state.imports[p.importId] = { skus: p.rows.map(([sku]) => sku), at: now };
      // What the push re-evaluated (a velocity buffer relaxing) is what this ledger holds now.
      refreshVelocity(l, s, now);
      // The push's result told the channel what this shard had left; it hears again only if rows wait now
      // (runs recorded before reported after every push).
      if (!quietReports || pendingCount(l) > 0) urgent = true;
    } else if ('import' in e) {
      const { importId, outcome, rejected } = e.import;
      const rec = state.imports[importId];
      delete state.imports[importId];
      if (outcome === 'failed') {
        if (rec) requeue(l, s, rec.skus.filter(mine), now);
      } else if (rejected?.length) {
        const ours = rec ? new Set(rec.skus) : undefined;
        markRejected(
          l,
          rejected.filter((r) => (ours ? ours.has(r.offerSku) : mine(r.offerSku))),
          importId,
          now,
        );
      }
    } else if ('retry' in e) {
      retryRejected(l, s, e.retry, now);
    } else if ('reshard' in e) {
      if (e.reshard > state.count) reshardTo = e.reshard;
    } else if ('handover' in e) {
      const part = e.handover;
      const settingsChanged = expandLedger(part, s);
      mergeLedger(l, part);
      for (const code of Object.keys(part.master)) refreshItem(l, s, code, now);
      if (settingsChanged) refreshAll(l, s, now);
      urgent = true;
    }
    if (before === 0 && pendingCount(l) > 0) urgent = true;
  }

  function report(): ShardReport {
    const c = state.counters;
    return {
      index: state.index,
      count: state.count,
      pending: pendingCount(l),
      ...(oldestPending(l) !== undefined ? { oldestSince: oldestPending(l) } : {}),
      ...(returnWaiting(l) ? { returnWaiting: true } : {}),
      itemsKnown: itemsKnown(l),
      reservations: { ...reservationCount(l), received: c.reservationChanges },
      released: { ...(l.released ?? {}) },
      unlisted: Object.keys(l.unlisted ?? {}).length,
      eventsUnknown: c.eventsUnknown,
      unknownSample: [...c.unknownSample],
      runs: c.runs,
      at: Date.now(),
    };
  }

  let quietReports = false;
  // Handlers first, before any await.
  setHandler(shardInboxSignal, (entries) => {
    if (!settings) {
      holdEarly(entries);
      return;
    }
    for (const e of entries) apply(settings, e);
  });
  setHandler(availableQuery, (codes) => {
    const out: Record<string, number> = {};
    for (const c of codes) if (l.master[c] !== undefined) out[c] = l.master[c];
    return out;
  });
  setHandler(masterFiguresQuery, ({ newerThan }) => ({
    figures: l.master,
    newer: Object.keys(l.masterAt).filter((c) => masterAtOf(l, c) > newerThan),
  }));
  setHandler(pushCandidatesQuery, ({ max, now }) => {
    if (!settings) return { rows: [], pending: 0 };
    // What the push would send now, the velocity buffer re-evaluated at `now`, on a copy: a query never
    // changes the ledger (the push's rows come back in a `pushed` entry).
    const view: Ledger = { ...l, pending: { ...l.pending }, velocity: { ...l.velocity } };
    refreshVelocity(view, settings, now);
    const oldest = oldestPending(view);
    return {
      rows: nextBatch(view, max),
      pending: pendingCount(view),
      ...(oldest !== undefined ? { oldestSince: oldest } : {}),
    };
  });
  setHandler(shardHealthQuery, () => report());

  quietReports = patched('inventory-shard-quiet-reports');
  let s = await loadSettings();
  if (expandLedger(l, s)) refreshAll(l, s, Date.now());
  settings = s;
  for (const e of early.splice(0)) apply(s, e);
  // Counts that changed without anything for the channel to do (a reservation, a pending count moving while
  // rows already wait) are reported once a push window (at least 250 ms), not four times: every report is a
  // signal and a workflow task on each side, 16 shards to a channel (patch inventory-shard-quiet-reports).
  const reportEveryMs = quietReports ? Math.max(250, s.pushIntervalMs) : Math.max(50, s.pushIntervalMs / 4);
  let lastReportAt = -Infinity;
  let nextExpiryAt = Date.now() + s.pushIntervalMs;

  for (;;) {
    const reportAt = changed ? lastReportAt + reportEveryMs : Infinity;
    const expiryAt = Object.keys(l.reservations ?? {}).length > 0 ? nextExpiryAt : Infinity;
    await condition(
      () => urgent || reshardTo !== undefined || relistDue || renew(),
      Math.max(1, Math.min(reportAt, expiryAt, Date.now() + s.pushIntervalMs * 60) - Date.now()),
    );
    if (renew()) {
      return await continueAsNew<typeof inventoryShardWorkflow>({
        channel: state.channel,
        index: state.index,
        count: state.count,
        parentId: state.parentId,
        gen: state.gen,
        ...(input.maxHistoryEvents ? { maxHistoryEvents: input.maxHistoryEvents } : {}),
        resume: { ...state, ledger: compactLedger(l, s) },
      });
    }
    if (reshardTo !== undefined) await split(reshardTo);
    if (Date.now() >= nextExpiryAt) {
      nextExpiryAt = Date.now() + s.pushIntervalMs;
      const expired = expireReservations(l, s, Date.now());
      for (const code of expired) refreshItem(l, s, code, Date.now());
      if (expired.length > 0) changed = true;
      if (expired.length > 0 && pendingCount(l) > 0) urgent = true;
    }
    if (relistDue) await relistUnlisted();
    if (urgent || (changed && Date.now() >= lastReportAt + reportEveryMs)) {
      urgent = false;
      changed = false;
      lastReportAt = Date.now();
      await getExternalWorkflowHandle(state.parentId)
        .signal(shardReportSignal, report())
        .catch(() => undefined); // the channel is gone or renewing: it asks every shard at its next push anyway
    }
  }

  function renew(): boolean {
    return historyFull(s, baseBytes);
  }

  async function loadSettings(): Promise<InventorySettings> {
    const got = await local.inventorySettings(state.channel, { shard: { index: state.index, count: state.count } });
    return input.maxHistoryEvents ? { ...got, maxHistoryEvents: input.maxHistoryEvents } : got;
  }

  /** The catalogue outgrew the shards: keep this shard's items under the new count, hand the rest over. */
  async function split(to: number): Promise<void> {
    reshardTo = undefined;
    const from = state.count;
    for (let j = 1; j < to / from; j++) {
      const target = state.index + j * from;
      const part = splitLedger(l, s, (code) => shardOf(code, to) === target);
      for (const [id, rec] of Object.entries(state.imports)) {
        // Imports are drained before a split; a record left over follows its SKUs.
        rec.skus = rec.skus.filter((sku) => !(part.sent[sku] !== undefined || part.pending[sku] !== undefined));
        if (rec.skus.length === 0) delete state.imports[id];
      }
      const handover = compactLedger(part, s);
      let sent = false;
      for (let attempt = 1; attempt <= 5 && !sent; attempt++) {
        try {
          await getExternalWorkflowHandle(shardWorkflowId(state.parentId, state.gen, target)).signal(shardInboxSignal, [
            { handover },
          ]);
          sent = true;
        } catch {
          await sleep(Math.min(60_000, 1_000 * 2 ** attempt) / Math.max(1, s.timeScale));
        }
      }
      if (!sent) {
        // The new shard cannot be reached: keep the items (the next full read gives them to it as new ones).
        expandLedger(handover, s);
        mergeLedger(l, handover);
      }
    }
    state.count = to;
    s = await loadSettings();
    settings = s;
    changed = true;
    urgent = true;
  }

  /** Unlisted SKUs marked long enough ago: ask the channel's list again (after each read, as the channel did). */
  async function relistUnlisted(): Promise<void> {
    relistDue = false;
    if (!s.relistMs || !l.unlisted) return;
    const asked = unlistedBefore(l, Date.now() - s.relistMs, 5_000);
    if (asked.length === 0) return;
    try {
      const { listed } = await listingActs(s.taskQueues.inventory).checkListing({
        channel: state.channel,
        offerSkus: asked,
      });
      relist(l, s, asked, listed, Date.now());
      changed = true;
      if (listed.length > 0) urgent = true;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
    }
  }
}
