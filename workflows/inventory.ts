// One long-lived stock workflow per channel (id inventory:<channel>): the single writer of that channel's
// stock, so coalescing and the once-a-minute limit hold by construction.
//   absorb master changes (batched signals from the Peoplevox callbacks) → available-to-sell per offer SKU
//   → push when the target's window is open (latest value per SKU; sell-outs, then restocks, first)
//   → follow the import (STO02) and its error report (STO03): a rejected SKU is parked for merchandising
//   → a full read of the master on a timer corrects drift and reports how much it found
//   → health (sync age, oldest pending change, pending count, failed pushes) as a query; alert when stale
//   → continue-as-new when the server suggests it.
// Bounded whatever the catalogue (docs/inventory.md, "Scale"):
//   - a full read is handed over as differences: the activity reads the master page by page and compares
//     it with the figures the ledger holds (a query), so only items that differ enter history;
//   - up to `inventory.shardItems` items the ledger lives here ('local'); beyond, in shard workflows
//     (workflows/inventory-shard.ts, a power of two of them, split as the catalogue grows): this workflow
//     routes stock events and reservations to them, and each push asks them for their rows (an activity
//     that queries them and tells them what went), so neither the rows nor the ledger pass through here;
//   - carried across continue-as-new compacted: an item at rest costs its master figure.
// Bounded whatever arrives (docs/security.md): a stock event for an item code the master does not have is
// counted and dropped, never added to the ledger (a new item is learned by the next full read); messages
// that arrive before the settings are held up to a cap.
// Histories from before shards (patch 'inventory-shards') replay the frozen workflows/inventory-v1.ts,
// whose state this workflow takes over at its next continue-as-new.
// No I/O here: every effect is an activity.
import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { InventoryActivities, InventorySettings } from '../activities/inventory';
import { SA } from '../src/temporal/search-attributes';
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
  type PushPriority,
  type ReservationChange,
  type RestockEvent,
  type StockEvent,
} from '../src/inventory/ledger';
import {
  intakeHoldUntil,
  nextPushDelayMs,
  rowsPerPush,
  type ReadBackReport,
  type UnmappedVariantsReport,
} from '../src/inventory/targets';
import { describeInventory, INVENTORY_REASONS } from '../src/inventory/reasons';
import { INVENTORY_WORKFLOW_TASK_TIMEOUT, stockPushKey } from '../src/inventory/keys';
import { shardCountFor, shardOf, shardWorkflowId } from '../src/inventory/shards';
import { inventoryWorkflowV1 } from './inventory-v1';
import { inventoryShardWorkflow } from './inventory-shard';
import {
  availableQuery,
  historyFull,
  confirmFullReadUpdate,
  fullReadSignal,
  healthQuery,
  layoutQuery,
  masterFiguresQuery,
  orderStockSignal,
  pendingQuery,
  restockSignal,
  retrySkuUpdate,
  shardInboxSignal,
  shardReportSignal,
  stockEventsSignal,
  MAX_EARLY_MESSAGES,
  MAX_ROUTED_KEYS,
  UNKNOWN_SAMPLE,
  type ImportInFlight,
  type InventoryHealth,
  type InventoryWorkflowInput,
  type InventoryWorkflowState,
  type ShardEntry,
  type ShardImportOutcome,
  type ShardReport,
} from './inventory-defs';

export * from './inventory-defs';

// ---- activities -----------------------------------------------------------------------------------
const local = proxyActivities<Pick<InventoryActivities, 'inventorySettings' | 'raiseInventoryAlert'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 10 },
});

function targetActs(taskQueue: string) {
  return proxyActivities<
    Pick<
      InventoryActivities,
      'pushStock' | 'pushFromShards' | 'checkStockImport' | 'stockImportRejections' | 'checkListing'
    >
  >({
    taskQueue,
    startToCloseTimeout: '1m',
    // A few attempts only: the rows stay pending and the next window tries again with fresher figures.
    retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 4 },
  });
}

/**
 * The target's calls with a documented frequency (STO01, STO02, STO03): one attempt each. A failed attempt may
 * have reached the marketplace (a lost response, a 5xx after the import was taken) and so used the window; a
 * retry a second later would be refused (429), as the chaos bench saw on Mirakl. The rows stay pending (or the
 * import stays followed) and the next call waits for the window, counted from the end of the failed one.
 */
function limitedTargetActs(taskQueue: string) {
  return proxyActivities<
    Pick<InventoryActivities, 'pushStock' | 'pushFromShards' | 'checkStockImport' | 'stockImportRejections'>
  >({
    taskQueue,
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 1 },
  });
}

/** A push gathered from the shards: one attempt as above, but the first pushes of 50,000 items take a while. */
function shardPushActs(taskQueue: string) {
  return proxyActivities<Pick<InventoryActivities, 'pushFromShards'>>({
    taskQueue,
    startToCloseTimeout: '10m',
    heartbeatTimeout: '1m',
    retry: { maximumAttempts: 1 },
  });
}

function masterActs(taskQueue: string) {
  return proxyActivities<Pick<InventoryActivities, 'readMasterDiff'>>({
    taskQueue,
    // 50,000 items are 50 pages, each waiting for a slot of the reads' share of the Peoplevox budget: a
    // few minutes at the documented rate. The activity beats while it reads.
    startToCloseTimeout: '30m',
    heartbeatTimeout: '2m',
    retry: { initialInterval: '2s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 5 },
  });
}

// ---- the workflow ---------------------------------------------------------------------------------
export async function inventoryWorkflow(input: InventoryWorkflowInput): Promise<InventoryWorkflowState> {
  // Runs recorded before shards replay as they ran; every new run (and their next continue-as-new) is here.
  if (!patched('inventory-shards')) return inventoryWorkflowV1(input);
  return inventoryChannel(input);
}

type Incoming = { events: StockEvent[] } | { changes: ReservationChange[] } | { restocks: RestockEvent[] };

async function inventoryChannel(input: InventoryWorkflowInput): Promise<InventoryWorkflowState> {
  const startedAt = Date.now();
  const baseBytes = workflowInfo().historySize;
  const state: InventoryWorkflowState = input.resume ?? {
    channel: input.channel,
    ledger: emptyLedger(),
    imports: [],
    counters: {
      createdAt: startedAt,
      runs: 0,
      signals: 0,
      eventsReceived: 0,
      eventsApplied: 0,
      pushes: 0,
      rowsPushed: 0,
      rowsByPriority: { 'sell-out': 0, return: 0, restock: 0, change: 0 },
      failedPushes: 0,
      importsCompleted: 0,
      importsFailed: 0,
      rejectedSkus: 0,
      fullReads: 0,
      driftUnitsTotal: 0,
    },
    pushSeq: 0,
    nextPushAt: startedAt,
    nextStatusAt: startedAt,
    nextErrorsAt: startedAt,
    // The first run reads the master at once: it primes the ledger and sends every SKU once.
    nextFullReadAt: startedAt,
  };
  state.counters.runs++;
  state.mode ??= 'local';
  let l: Ledger = state.ledger;
  let settings: InventorySettings | undefined;
  // Messages that arrive before the settings, in arrival order.
  const early: Incoming[] = [];
  let dirty = false;
  let fullReadRequested = false;
  /** The full read under way beside the pushes; set when it has ended (the loop looks again). */
  let reading: Promise<void> | undefined;
  let readSettled = false;
  /** A split the last read called for, done by the loop once the read has ended. */
  let reshardTo: number | undefined;
  const myId = workflowInfo().workflowId;
  const gen = state.shards?.gen ?? workflowInfo().firstExecutionRunId.slice(-8);
  // Sharded: what each shard is still to be told, in order; one forwarder per shard sends it.
  const outbox = new Map<number, ShardEntry[]>(
    Object.entries(state.outbox ?? {}).map(([k, v]) => [Number(k), v] as [number, ShardEntry[]]),
  );
  delete state.outbox;
  const forwarders = new Set<number>();
  let forwarding = 0;
  // While the ledger is split into more shards, routing waits (then goes by the new count).
  let resharding = false;
  const afterReshard: Array<() => void> = [];
  /** Most items one workflow holds (inventory.shardItems; from the settings). */
  let perShard = Infinity;

  const sharded = () => state.mode === 'sharded' && state.shards !== undefined;
  const shardId = (k: number) => shardWorkflowId(myId, gen, k);
  const shardIds = () => Array.from({ length: state.shards?.count ?? 0 }, (_, k) => shardId(k));

  /** The events whose item code the master has; the others are counted and dropped (see the top). */
  function knownOnly(events: StockEvent[]): StockEvent[] {
    const known = events.filter((e) => l.master[e[0]] !== undefined);
    const unknown = events.length - known.length;
    if (unknown === 0) return known;
    const c = state.counters;
    c.eventsUnknown = (c.eventsUnknown ?? 0) + unknown;
    const sample = (c.unknownSample ??= []);
    for (const e of events)
      if (l.master[e[0]] === undefined && !sample.includes(e[0])) sample.push(String(e[0]).slice(0, 60));
    if (sample.length > UNKNOWN_SAMPLE) sample.splice(0, sample.length - UNKNOWN_SAMPLE);
    return known;
  }

  function holdEarly(m: Incoming) {
    if (early.length >= MAX_EARLY_MESSAGES) {
      // A full read follows the settings at once: stock figures can go; reservations are kept.
      const i = early.findIndex((x) => 'events' in x);
      state.counters.earlyDropped = (state.counters.earlyDropped ?? 0) + 1;
      if ('events' in m || i < 0) return;
      early.splice(i, 1);
    }
    early.push(m);
  }

  // ---- routing to shards ----------------------------------------------------------------------------
  /** Per shard: entries routed to it so far in this run, and how many of them it has been sent (signal done). */
  const routedTo = new Map<number, number>();
  const deliveredTo = new Map<number, number>();
  // What the last run left undelivered counts as routed here.
  for (const [k, q] of outbox) if (q.length > 0) routedTo.set(k, 1);
  function enqueue(k: number, entry: ShardEntry) {
    routedTo.set(k, (routedTo.get(k) ?? 0) + 1);
    const q = outbox.get(k) ?? [];
    const last = q[q.length - 1];
    // Consecutive events (or reservation changes) travel as one entry.
    if (last && 'events' in last && 'events' in entry) last.events.push(...entry.events);
    else if (last && 'restocks' in last && 'restocks' in entry) last.restocks.push(...entry.restocks);
    else if (last && 'changes' in last && 'changes' in entry) last.changes.push(...entry.changes);
    else q.push(entry);
    outbox.set(k, q);
  }
  function whenRouting(f: () => void) {
    if (resharding) afterReshard.push(f);
    else f();
  }
  function broadcast(entry: ShardEntry) {
    whenRouting(() => {
      for (let k = 0; k < state.shards!.count; k++) enqueue(k, entry);
    });
  }
  function route(m: Incoming) {
    whenRouting(() => {
      const count = state.shards!.count;
      if ('events' in m) {
        for (const e of m.events) enqueue(shardOf(e[0], count), { events: [e] });
        return;
      }
      if ('restocks' in m) {
        for (const r of m.restocks) enqueue(shardOf(r.itemCode, count), { restocks: [r] });
        return;
      }
      for (const c of m.changes) {
        // A reserve names its item; a release or an allocation names only its key: it goes to the shard its
        // reserve went to, if remembered, else every shard hears it (one that never reserved the key ignores
        // it), unless the sender named the item.
        const code = c.op === 'reserve' ? c.itemCode : (c as { itemCode?: string }).itemCode;
        const k = code !== undefined ? shardOf(code, count) : routedKey(c.key, count);
        if (c.op === 'reserve') rememberKey(c.key, k!, count);
        if (k !== undefined) enqueue(k, { changes: [c] });
        else for (let j = 0; j < count; j++) enqueue(j, { changes: [c] });
      }
    });
  }
  /** The shard a reservation key's reserve went to, once it is settled (then forgotten), if remembered. */
  function routedKey(key: string, count: number): number | undefined {
    const memo = state.shards?.keyShards;
    if (!memo || memo.count !== count || !byKey()) return undefined;
    const k = memo.keys[key];
    delete memo.keys[key];
    return k;
  }
  function rememberKey(key: string, k: number, count: number) {
    const layout = state.shards!;
    if (layout.keyShards?.count !== count) layout.keyShards = { count, keys: {} };
    const keys = layout.keyShards.keys;
    delete keys[key]; // newest last: the oldest go first
    keys[key] = k;
    let over = Object.keys(keys).length - MAX_ROUTED_KEYS;
    for (const old in keys) {
      if (over-- <= 0) break;
      delete keys[old];
    }
  }
  /** Runs recorded before routed allocations and releases to every shard (patch inventory-route-by-key). */
  let routeByKey: boolean | undefined;
  const byKey = () => (routeByKey ??= patched('inventory-route-by-key'));
  function startForwarder(k: number) {
    if (forwarders.has(k)) return;
    forwarders.add(k);
    void (async () => {
      let failures = 0;
      for (;;) {
        await condition(() => (outbox.get(k)?.length ?? 0) > 0);
        const entries = outbox.get(k)!.splice(0);
        const upTo = routedTo.get(k) ?? 0;
        forwarding++;
        try {
          await getExternalWorkflowHandle(shardId(k)).signal(shardInboxSignal, entries);
          deliveredTo.set(k, Math.max(deliveredTo.get(k) ?? 0, upTo));
          failures = 0;
        } catch {
          // Not delivered: keep them first in line, wait, and (after a few tries) start the shard again —
          // an operator may have terminated it; the next full read gives it its items back.
          outbox.set(k, [...entries, ...(outbox.get(k) ?? [])]);
          failures++;
          if (failures >= 3 && settings) await startShard(k, state.shards!.count).catch(() => undefined);
          await sleep(Math.max(100, (settings?.pushIntervalMs ?? 60_000) / 4));
        } finally {
          forwarding--;
        }
      }
    })();
  }
  async function startShard(k: number, count: number, initial?: Ledger): Promise<void> {
    try {
      await startChild(inventoryShardWorkflow, {
        workflowId: shardId(k),
        taskQueue: settings!.taskQueues.inventory,
        workflowTaskTimeout: INVENTORY_WORKFLOW_TASK_TIMEOUT,
        // A shard outlives each run of this workflow (continue-as-new closes the run).
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [
          {
            channel: state.channel,
            index: k,
            count,
            parentId: myId,
            gen,
            ...(initial ? { initial } : {}),
            ...(input.maxHistoryEvents ? { maxHistoryEvents: input.maxHistoryEvents } : {}),
          },
        ],
      });
    } catch (err) {
      // Already running (this workflow was reset or restarted): it keeps its items.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  // ---- ledger-wide figures, wherever the ledger lives ------------------------------------------------
  const reports = (): ShardReport[] => Object.values(state.shards?.reports ?? {});
  function pending(): number {
    if (!sharded()) return pendingCount(l);
    return reports().reduce((n, r) => n + r.pending, 0);
  }
  function oldest(): number | undefined {
    if (!sharded()) return oldestPending(l);
    let o: number | undefined;
    for (const r of reports())
      if (r.oldestSince !== undefined && (o === undefined || r.oldestSince < o)) o = r.oldestSince;
    return o;
  }

  // Handlers first, before any await.
  setHandler(stockEventsSignal, (events) => {
    state.counters.signals++;
    state.counters.eventsReceived += events.length;
    if (!settings) {
      holdEarly({ events });
      return;
    }
    if (sharded()) {
      route({ events });
      return;
    }
    state.counters.eventsApplied += applyEvents(l, settings, knownOnly(events), Date.now());
    dirty = true;
  });
  setHandler(orderStockSignal, (changes) => {
    state.counters.signals++;
    state.counters.reservationChanges = (state.counters.reservationChanges ?? 0) + changes.length;
    if (!settings) {
      holdEarly({ changes });
      return;
    }
    noteIntake(changes);
    if (sharded()) {
      route({ changes });
      return;
    }
    if (applyReservations(l, settings, changes, Date.now()).length > 0) dirty = true;
  });
  let intakeBatches = 0;
  function noteIntake(changes: ReservationChange[]) {
    let any = false;
    for (const c of changes) {
      if (c.op !== 'reserve') continue;
      const ch = c.key.slice(0, c.key.indexOf(':'));
      const seen = (state.intakeSeenAt ??= {});
      if (ch && (seen[ch] ?? 0) < c.at) seen[ch] = c.at;
      any = true;
    }
    if (any) intakeBatches++;
  }
  setHandler(restockSignal, (restocks) => {
    state.counters.signals++;
    state.counters.restocks = (state.counters.restocks ?? 0) + restocks.length;
    if (!settings) {
      holdEarly({ restocks });
      return;
    }
    if (sharded()) {
      route({ restocks });
      return;
    }
    if (applyRestocks(l, settings, restocks, Date.now(), settings.restockHoldMs).length > 0) dirty = true;
  });
  setHandler(shardReportSignal, (r) => {
    if (!state.shards) return;
    state.shards.reports[r.index] = r;
    if (r.pending > 0) dirty = true;
  });
  setHandler(fullReadSignal, () => {
    fullReadRequested = true;
  });
  setHandler(retrySkuUpdate, async (offerSku) => {
    await condition(() => settings !== undefined);
    if (sharded()) {
      if (!l.rejected[offerSku]) return false;
      delete l.rejected[offerSku];
      broadcast({ retry: offerSku });
      return true;
    }
    const ok = retryRejected(l, settings!, offerSku, Date.now());
    if (ok) dirty = true;
    return ok;
  });
  setHandler(confirmFullReadUpdate, () => {
    const held = state.heldRead !== undefined;
    state.confirmNextRead = true;
    fullReadRequested = true;
    return held;
  });
  setHandler(healthQuery, () => health());
  setHandler(layoutQuery, () =>
    sharded()
      ? { channel: state.channel, mode: 'sharded', count: state.shards!.count, ids: shardIds(), resharding }
      : { channel: state.channel, mode: 'local', count: 1, ids: [myId], resharding },
  );
  setHandler(availableQuery, (codes) => {
    if (sharded()) {
      throw new Error(`the ledger of ${state.channel} is in ${state.shards!.count} shards: ask them (inventoryLayout)`);
    }
    const out: Record<string, number> = {};
    for (const c of codes) if (l.master[c] !== undefined) out[c] = l.master[c];
    return out;
  });
  setHandler(masterFiguresQuery, ({ newerThan }) => ({
    figures: l.master,
    newer: Object.keys(l.masterAt).filter((c) => masterAtOf(l, c) > newerThan),
  }));
  setHandler(pendingQuery, (max) =>
    sharded()
      ? []
      : nextBatch(l, max ?? 100).map((r) => ({ offerSku: r.offerSku, quantity: r.quantity, since: r.since })),
  );

  const wantSkuMap = !sharded();
  settings = await local.inventorySettings(state.channel, wantSkuMap ? {} : { skuMap: false });
  if (input.maxHistoryEvents) settings = { ...settings, maxHistoryEvents: input.maxHistoryEvents };
  if (input.maxHistoryBytes) settings = { ...settings, maxHistoryBytes: input.maxHistoryBytes };
  const s: InventorySettings = settings;
  if (!sharded() && expandLedger(l, s)) refreshAll(l, s, Date.now());
  if (sharded()) for (let k = 0; k < state.shards!.count; k++) startForwarder(k);
  for (const m of early.splice(0)) {
    if ('changes' in m) noteIntake(m.changes);
    if (sharded()) route(m);
    else if ('events' in m) state.counters.eventsApplied += applyEvents(l, s, knownOnly(m.events), Date.now());
    else if ('restocks' in m) applyRestocks(l, s, m.restocks, Date.now(), s.restockHoldMs);
    else applyReservations(l, s, m.changes, Date.now());
  }
  upsertSearchAttributes([{ key: SA.Channel, value: state.channel }] as never);
  if (!s.enabled) {
    // Stock sync off for this channel: keep absorbing (the acceptance check still reads the master).
    await condition(() => renewDue());
    return await renew();
  }
  const target = targetActs(s.taskQueues.inventory);
  const limitedTarget = limitedTargetActs(s.taskQueues.inventory);
  const shardPush = shardPushActs(s.taskQueues.inventory);
  // The full read runs on the inventory queue too, paced by the shared Peoplevox budget like every call.
  const master = masterActs(s.taskQueues.inventory);
  const maxRows = rowsPerPush(s.limit, s.maxRowsPerPush);
  perShard = s.shardItems ?? Infinity;
  // A ledger carried from before shards may already be too big for one workflow.
  if (!sharded() && itemsKnown(l) > perShard) await reshard(shardCountFor(itemsKnown(l), perShard, 1));

  // A full read runs beside the pushes: 50 pages of a 50,000-item master and a comparison with every shard take
  // tens of seconds, which the pushes used to wait out (exposure p99 21-26 s in the 50,000-SKU sale). Runs
  // recorded before read in line, as they did.
  const readBeside = patched('inventory-read-beside-push');
  const loopFrom = workflowInfo().historyLength;
  for (;;) {
    const now = Date.now();
    const waiting = pending() > 0;
    const wakeAt = Math.min(
      waiting ? state.nextPushAt : Infinity,
      state.imports.length > 0 ? Math.max(state.imports[0]!.checkAt, importGate(state.imports[0]!)) : Infinity,
      reading ? Infinity : state.nextFullReadAt,
      staleAlertAt(),
    );
    // Renewal waits for a read under way (its result is this run's), and the pushes go on meanwhile. Nothing
    // waited at the top, so no timer stands for the next push: a change then wakes the loop to set one (before,
    // a change that came before the push gate waited for the next signal, or the next full read).
    const due = () =>
      (dirty && (Date.now() >= state.nextPushAt || (readBeside && !waiting))) ||
      (fullReadRequested && !reading) ||
      readSettled ||
      (renewDue() && !reading);
    // Nothing timed while a read is under way and nothing waits: its end wakes the loop.
    if (Number.isFinite(wakeAt)) await condition(due, Math.max(1, wakeAt - now));
    else await condition(due);
    dirty = false;
    readSettled = false;
    if (renewDue() && !reading) return await renew();
    if (!sharded()) {
      // Reservations past their TTL (a lost release) stop holding stock back (shards see to their own).
      for (const code of expireReservations(l, s, Date.now())) refreshItem(l, s, code, Date.now());
    }
    if (reshardTo !== undefined && !reading) {
      // The read found the catalogue outgrew the shards: split (nothing else runs meanwhile), then read again.
      const to = reshardTo;
      reshardTo = undefined;
      await reshard(to);
      fullReadRequested = true;
    }
    if (!reading && (fullReadRequested || Date.now() >= state.nextFullReadAt)) {
      // A read keeps the run going until it ends (renewal waits for it): begun late in a busy run, it carried the
      // run up to 2,300 events past the bound at 50,000 SKUs, and each renewal the server refused (a signal came
      // meanwhile: UNHANDLED_COMMAND) was a replay of all of it. Past half the bound, the next run reads instead.
      if (readBeside && readLate() && patched('inventory-renew-before-read')) return await renew();
      if (readBeside) {
        reading = fullRead(true).finally(() => {
          reading = undefined;
          readSettled = true;
        });
      } else await fullRead(false);
    }
    if (pending() > 0 && Date.now() >= state.nextPushAt) {
      await holdForIntake();
      await push();
    }
    const head = state.imports[0];
    if (head && Date.now() >= Math.max(head.checkAt, importGate(head))) await followImport(head);
    await checkStaleness();
  }

  // ---- steps (hoisted) ------------------------------------------------------------------------------
  function renewDue(): boolean {
    return historyFull(settings!, baseBytes);
  }

  /**
   * This run's loop has made half the run's bound (counted from the loop's start, so a run that begins long, its bound
   * low, still reads rather than renewing again and again): a full read begun now would take it well past the bound.
   */
  function readLate(): boolean {
    return workflowInfo().historyLength - loopFrom > settings!.maxHistoryEvents / 2;
  }

  /** Continue as new: what waits for the shards goes along; a local ledger goes compacted. */
  async function renew(): Promise<InventoryWorkflowState> {
    await condition(() => forwarding === 0, 10_000);
    // A read asked for (a signal, a split) and not yet begun is the next run's first step, not forgotten.
    if (fullReadRequested) state.nextFullReadAt = Math.min(state.nextFullReadAt, Date.now());
    const left = [...outbox].filter(([, q]) => q.length > 0);
    if (left.length > 0) state.outbox = Object.fromEntries(left);
    if (!sharded()) state.ledger = compactLedger(l, settings!);
    return await continueAsNew<typeof inventoryWorkflow>({ ...input, resume: state });
  }

  /**
   * Splits the ledger into `to` shards: from here (the first time) each shard starts with its part; later,
   * each shard keeps the items of the new count and hands the rest to its new sibling. Routing waits
   * meanwhile; imports in flight are followed to their end first (their rows are recorded by shard).
   */
  async function reshard(to: number): Promise<void> {
    const drainUntil = Date.now() + 5 * s.pushIntervalMs;
    while (state.imports.length > 0 && Date.now() < drainUntil) {
      const head = state.imports[0]!;
      const at = Math.max(head.checkAt, importGate(head));
      if (at > Date.now()) await sleep(at - Date.now());
      await followImport(head);
    }
    resharding = true;
    try {
      if (!sharded()) {
        const rejected = { ...l.rejected };
        const released = l.released;
        const parts = Array.from({ length: to }, (_, k) => splitLedger(l, s, (code) => shardOf(code, to) === k));
        state.mode = 'sharded';
        state.shards = { count: to, gen, reports: {} };
        for (let k = 0; k < to; k++) await startShard(k, to, compactLedger(parts[k]!, s));
        // Here stay the channel's rejected SKUs (health, retrySku) and release counts; the rest is the shards'.
        state.ledger = l = emptyLedger();
        l.rejected = rejected;
        if (released) l.released = released;
        for (let k = 0; k < to; k++) startForwarder(k);
      } else {
        const from = state.shards!.count;
        for (let k = from; k < to; k++) await startShard(k, to);
        for (let k = 0; k < from; k++) enqueue(k, { reshard: to });
        for (let k = from; k < to; k++) startForwarder(k);
        await condition(
          () => Array.from({ length: from }, (_, k) => state.shards!.reports[k]?.count === to).every(Boolean),
          Math.max(60_000, 20 * s.pushIntervalMs),
        );
        state.shards!.count = to;
      }
    } finally {
      resharding = false;
      for (const f of afterReshard.splice(0)) f();
    }
  }

  /** `beside`: the pushes go on meanwhile, so a split the read calls for waits for the loop (`reshardTo`). */
  async function fullRead(beside: boolean): Promise<void> {
    fullReadRequested = false;
    const readStartedAt = Date.now();
    try {
      const r = await master.readMasterDiff({
        channel: state.channel,
        target: sharded() ? { shardIds: shardIds() } : { workflowId: myId },
        shards: sharded() ? state.shards!.count : 1,
        shardItems: Number.isFinite(perShard) ? perShard : Number.MAX_SAFE_INTEGER,
        confirm: state.confirmNextRead === true,
        ...(s.fullReadGuard ? { guard: s.fullReadGuard } : {}),
      });
      if (r.needsShards) {
        // The catalogue outgrew the ledger's shards: split, then read again at once (the same read, shared).
        if (beside) {
          reshardTo = r.needsShards;
          return;
        }
        await reshard(r.needsShards);
        fullReadRequested = true;
        return;
      }
      if (r.suspect) {
        // Not applied: a sell-out of most of the catalogue at once is far likelier a broken report than
        // real. Callbacks keep flowing; the next read is applied if it looks normal, or once confirmed.
        const first = state.heldRead === undefined;
        state.heldRead = { at: r.startedAt, ...r.suspect };
        state.counters.heldReads = (state.counters.heldReads ?? 0) + 1;
        if (first) {
          await alert(`stock-read-held:${state.channel}:${readStartedAt}`, 'STOCK_READ_HELD', {
            dropped: r.suspect.droppedToZero,
            inStock: r.suspect.inStock,
          });
        }
      } else {
        if (r.read) applyRead(l, s, r.read, Date.now());
        state.counters.fullReads++;
        if (r.drift) {
          state.counters.lastDrift = r.drift;
          state.counters.driftUnitsTotal += r.drift.units;
        }
        state.heldRead = undefined;
        state.confirmNextRead = undefined;
        if (!sharded()) await relistDue();
      }
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // Try again at the next interval; callbacks keep flowing meanwhile.
    }
    // On a grid (every channel of one master reads at the same moments, and shares the read).
    state.nextFullReadAt = (Math.floor(Date.now() / s.fullReadMs) + 1) * s.fullReadMs;
  }

  /** SKUs marked unlisted long enough ago: ask the channel's list again; those it lists go back to the queue. */
  async function relistDue(): Promise<void> {
    if (!s.relistMs || !l.unlisted) return;
    const asked = unlistedBefore(l, Date.now() - s.relistMs, 5_000);
    if (asked.length === 0) return;
    const { listed } = await target.checkListing({ channel: state.channel, offerSkus: asked });
    relist(l, s, asked, listed, Date.now());
    if (listed.length > 0) dirty = true;
  }

  /** An intake poll due within the hold: wait for its reservations (or the hold's end), then push. */
  async function holdForIntake(): Promise<void> {
    if (!s.intakeHold || !state.intakeSeenAt) return;
    // Returned goods back on sale do not wait for an order poll: they go in this window.
    if (sharded() ? reports().some((r) => r.returnWaiting) : returnWaiting(l)) return;
    const until = intakeHoldUntil(
      Date.now(),
      state.intakeSeenAt,
      s.intakeHold.intervalMs,
      s.intakeHold.maxMs,
      s.intakeHold.graceMs,
    );
    if (until === undefined) return;
    const batches = intakeBatches;
    state.counters.heldForIntake = (state.counters.heldForIntake ?? 0) + 1;
    await condition(
      () => intakeBatches > batches || fullReadRequested || workflowInfo().continueAsNewSuggested,
      Math.max(1, until - Date.now()),
    );
    if (sharded() && intakeBatches > batches) {
      // The poll's reservations are on their way to the shards: let them arrive before asking for rows.
      await routedDelivered(2_000);
    }
  }

  async function push(): Promise<void> {
    if (sharded()) return pushFromShards();
    // The velocity buffer relaxes as sales stop; re-evaluate before choosing what to send.
    refreshVelocity(l, s, Date.now());
    const batch = nextBatch(l, maxRows);
    if (batch.length === 0) return;
    state.pushSeq++;
    const key = stockPushKey(state.channel, workflowInfo().firstExecutionRunId, state.pushSeq);
    state.counters.lastPushAt = Date.now();
    let acceptedAt: number;
    try {
      const returned = batch.filter((b) => b.returnDecidedAt !== undefined);
      const r = await limitedTarget.pushStock({
        channel: state.channel,
        key,
        rows: batch.map((b) => [b.offerSku, b.quantity]),
        ...(returned.length
          ? { returnRestocks: returned.map((b) => ({ offerSku: b.offerSku, decidedAt: b.returnDecidedAt! })) }
          : {}),
      });
      acceptedAt = r.acceptedAt;
      markSent(l, batch);
      if (r.unlisted?.length) {
        markUnlisted(l, r.unlisted, Date.now());
        state.counters.unlistedSkus = (state.counters.unlistedSkus ?? 0) + r.unlisted.length;
      }
      // Targets that apply at once (Marketplacer): rows to send again, rows refused, the read-back, the mapping.
      if (r.failed?.length) {
        requeue(l, s, r.failed, Date.now());
        dirty = true;
      }
      if (r.rejected?.length) await handleRejections({ importId: key }, r.rejected);
      if (r.readBack) await checkReadBack(r.readBack);
      if (r.unmappedVariants) await checkUnmapped(r.unmappedVariants);
      state.counters.pushes++;
      state.counters.rowsPushed += batch.length;
      for (const b of batch)
        state.counters.rowsByPriority[b.priority] = (state.counters.rowsByPriority[b.priority] ?? 0) + 1;
      state.counters.lastSuccessfulPushAt = r.acceptedAt;
      state.counters.lastPushError = undefined;
      if (r.importId && s.limit.followImports) {
        state.imports.push({
          importId: r.importId,
          rows: batch.map((b) => [b.offerSku, b.quantity]),
          pushedAt: r.acceptedAt,
          checkAt: Date.now() + (s.limit.importStatusEveryMs ?? 15_000) / s.timeScale,
        });
      }
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      state.counters.failedPushes++;
      state.counters.lastPushError = err.cause?.message ?? err.message;
      state.nextPushAt = afterFailedPush(err, batch.length);
      return;
    }
    // The window counts from the end of the call: the target saw it no later than that.
    state.nextPushAt =
      windowFrom(acceptedAt) + nextPushDelayMs(s.limit, batch.length, s.pushIntervalMs, s.timeScale, s.marginMs);
  }

  /**
   * Where the next window counts from after a push whose call ended at `callEndedAt` (the activity's clock): that end
   * itself ('inventory-pace-from-call-end'), not the moment this workflow heard of it. The target saw the call no later
   * than its end; what came after (the activity telling the shards, its completion reaching this workflow, a busy
   * worker's queue) is no part of the target's window, and counting it spaced a 50,000-SKU channel's pushes 7–21 s
   * apart against a 6 s window. The margin (settings marginMs) covers the clocks of the worker and the server.
   */
  function windowFrom(callEndedAt: number): number {
    if (!patched('inventory-pace-from-call-end')) return Date.now();
    return Math.min(Date.now(), callEndedAt);
  }

  /**
   * When the next push may go after a failed one. A call the target refused outright (429) never counted towards
   * its limit: the next goes when its Retry-After says (plus the margin), at most two windows on. Any other failure
   * may have reached the target (a lost response, a 5xx, a timeout) and used the window, counted from the moment
   * it arrived there — anywhere between our send and the end of the call, since a busy target (or a slow network)
   * takes the request late. Only the end bounds it, so the whole window counts from the end, as after a success.
   * (Counting from the send let the third 10k chaos run have 7 STO01s refused just after a 5xx or a lost reply.)
   */
  function afterFailedPush(err: ActivityFailure, rows: number): number {
    const s = settings!;
    const window = nextPushDelayMs(s.limit, rows, s.pushIntervalMs, s.timeScale, s.marginMs);
    const cause = err.cause;
    const d = (cause instanceof ApplicationFailure ? cause.details?.[0] : undefined) as
      { status?: number; retryAfterMs?: number } | undefined;
    if (d?.status === 429 && typeof d.retryAfterMs === 'number' && d.retryAfterMs >= 0)
      return Date.now() + Math.min(d.retryAfterMs + s.marginMs, 2 * window);
    return Date.now() + window;
  }

  /**
   * Waits (at most `maxMs`) until what was routed to the shards so far has reached them. Runs recorded before
   * waited until nothing at all was queued or in flight to any shard, which a steady stream of stock events and
   * reservations never allows: at 50,000 SKUs the wait ran out (5 s) before most pushes (patch
   * inventory-wait-for-routed).
   */
  async function routedDelivered(maxMs: number): Promise<void> {
    if (!patched('inventory-wait-for-routed')) {
      await condition(() => forwarding === 0 && [...outbox.values()].every((q) => q.length === 0), maxMs);
      return;
    }
    const routed = [...routedTo];
    await condition(() => routed.every(([k, n]) => (deliveredTo.get(k) ?? 0) >= n), maxMs);
  }

  /** A push when the ledger lives in shards: the activity gathers their rows; counts come back. */
  async function pushFromShards(): Promise<void> {
    // Everything routed so far reaches the shards before they are asked for their rows.
    await routedDelivered(5_000);
    state.pushSeq++;
    const key = stockPushKey(state.channel, workflowInfo().firstExecutionRunId, state.pushSeq);
    const askedAt = Date.now();
    let rows: number;
    let acceptedAt: number;
    try {
      const r = await shardPush.pushFromShards({
        channel: state.channel,
        key,
        seq: state.pushSeq,
        shardIds: shardIds(),
        maxRows,
      });
      r.pending.forEach((p, k) => {
        // A shard that did not answer in time was left for the next push: what it reported last stands.
        if (!p) return;
        const rep = state.shards!.reports[k];
        // A report newer than the question stands; otherwise the push's own count does.
        if (rep && rep.at > askedAt) return;
        if (rep) {
          rep.pending = p.pending;
          if (p.oldestSince !== undefined) rep.oldestSince = p.oldestSince;
          else delete rep.oldestSince;
        }
      });
      if (r.skipped?.length) state.counters.shardsSkipped = (state.counters.shardsSkipped ?? 0) + r.skipped.length;
      dirty = pending() > 0;
      if (r.rows === 0) {
        // Nothing to send after all (coalesced away): the window stays open.
        state.nextPushAt = Date.now() + Math.max(1, s.pushIntervalMs / 20);
        return;
      }
      rows = r.rows;
      acceptedAt = r.acceptedAt;
      state.counters.lastPushAt = askedAt;
      if (r.unlisted > 0) state.counters.unlistedSkus = (state.counters.unlistedSkus ?? 0) + r.unlisted;
      state.counters.pushes++;
      state.counters.rowsPushed += r.rows;
      for (const p of Object.keys(r.byPriority) as PushPriority[])
        state.counters.rowsByPriority[p] = (state.counters.rowsByPriority[p] ?? 0) + r.byPriority[p];
      state.counters.lastSuccessfulPushAt = r.acceptedAt;
      state.counters.lastPushError = undefined;
      // Targets that apply at once (Marketplacer): failed rows stayed pending in their shards; refused rows are
      // parked here and in their shards; the read-back and the mapping as for a single ledger.
      if (r.failed) dirty = true;
      if (r.rejected?.length)
        await handleRejections({ importId: key, shards: shardIds().map((_, k) => k) }, r.rejected);
      if (r.readBack) await checkReadBack(r.readBack);
      if (r.unmappedVariants) await checkUnmapped(r.unmappedVariants);
      if (r.importId && s.limit.followImports) {
        state.imports.push({
          importId: r.importId,
          rows: [],
          shards: r.shards,
          rowCount: r.rows,
          pushedAt: r.acceptedAt,
          checkAt: Date.now() + (s.limit.importStatusEveryMs ?? 15_000) / s.timeScale,
        });
      }
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      state.counters.lastPushAt = askedAt;
      state.counters.failedPushes++;
      state.counters.lastPushError = err.cause?.message ?? err.message;
      state.nextPushAt = afterFailedPush(err, 1);
      return;
    }
    state.nextPushAt =
      windowFrom(acceptedAt) + nextPushDelayMs(s.limit, rows, s.pushIntervalMs, s.timeScale, s.marginMs);
  }

  /** When the next STO02 (or STO03, when the report is due) may be called, by the target's limits. */
  function importGate(imp: ImportInFlight): number {
    return imp.reportDue ? state.nextErrorsAt : state.nextStatusAt;
  }

  /** Tells the shards an import carried rows from how it ended. */
  function importOutcome(imp: Pick<ImportInFlight, 'shards'>, outcome: { import: ShardImportOutcome }) {
    whenRouting(() => {
      for (const k of imp.shards ?? []) if (k < state.shards!.count) enqueue(k, outcome);
    });
  }

  async function followImport(imp: ImportInFlight): Promise<void> {
    const statusEvery = (s.limit.importStatusEveryMs ?? 15_000) / s.timeScale + s.marginMs;
    const errorsEvery = (s.limit.importErrorsEveryMs ?? 60_000) / s.timeScale + s.marginMs;
    try {
      if (imp.reportDue) {
        const rejected = await limitedTarget.stockImportRejections({ channel: state.channel, importId: imp.importId });
        state.nextErrorsAt = Date.now() + errorsEvery;
        state.imports.shift();
        await handleRejections(imp, rejected);
        return;
      }
      const r = await limitedTarget.checkStockImport({ channel: state.channel, importId: imp.importId });
      state.nextStatusAt = Date.now() + statusEvery;
      if (r.status === 'PENDING') {
        imp.checkAt = Date.now() + statusEvery;
        return;
      }
      if (r.status === 'COMPLETE') {
        state.counters.importsCompleted++;
        if (r.hasErrorReport) imp.reportDue = true;
        else {
          state.imports.shift();
          if (imp.shards) importOutcome(imp, { import: { importId: imp.importId, outcome: 'complete' } });
        }
        return;
      }
      state.imports.shift();
      state.counters.importsFailed++;
      if (imp.shards) importOutcome(imp, { import: { importId: imp.importId, outcome: 'failed' } });
      else {
        requeue(
          l,
          s,
          imp.rows.map(([sku]) => sku),
          Date.now(),
        );
      }
      dirty = true;
      await alert(`stock-import:${state.channel}:${imp.importId}`, 'STOCK_PUSH_FAILED', {
        importId: imp.importId,
        detail: r.detail ?? 'failed',
      });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      imp.checkAt = Date.now() + statusEvery;
      state.nextStatusAt = Date.now() + statusEvery;
    }
  }

  /**
   * Two pushes in a row whose every row read back differs from what was sent: the marketplace accepts the updates
   * but does not show them (its connection is inactive). One alert per spell; a matching read-back ends it.
   */
  async function checkReadBack(rb: ReadBackReport): Promise<void> {
    const c = state.counters;
    c.lastReadBack = { ...rb, at: Date.now() };
    if (rb.checked === 0) return;
    if (rb.differing < rb.checked) {
      c.readBackMisses = 0;
      c.connectionInactiveSince = undefined;
      return;
    }
    c.readBackMisses = (c.readBackMisses ?? 0) + 1;
    if (c.readBackMisses < 2 || c.connectionInactiveSince !== undefined) return;
    c.connectionInactiveSince = Date.now();
    const e = rb.sample[0];
    await alert(`connection-inactive:${state.channel}:${c.connectionInactiveSince}`, 'CHANNEL_CONNECTION_INACTIVE', {
      differing: rb.differing,
      checked: rb.checked,
      example: e ? `${e.offerSku} sent ${e.sent}, shown ${e.shown ?? 'nothing'}` : 'none',
    });
  }

  /** Variants no item code feeds: an exception for merchandising, once per distinct set. */
  async function checkUnmapped(u: UnmappedVariantsReport): Promise<void> {
    const c = state.counters;
    c.unmappedVariants = u;
    if (u.count === 0) {
      c.unmappedAlerted = undefined;
      return;
    }
    if (c.unmappedAlerted === u.fingerprint) return;
    c.unmappedAlerted = u.fingerprint;
    await alert(`variant-unmapped:${state.channel}:${u.fingerprint}`, 'VARIANT_UNMAPPED', {
      count: u.count,
      sample: u.sample.slice(0, 10).join(', ') + (u.count > 10 ? ', …' : ''),
    });
  }

  async function handleRejections(
    imp: Pick<ImportInFlight, 'importId' | 'shards'>,
    rejected: Array<{ offerSku: string; quantity: number; message: string }>,
  ): Promise<void> {
    let parked;
    if (imp.shards) {
      // The shards park their SKUs (never pushed again until retried); the channel keeps the list for
      // health and retrySku.
      importOutcome(imp, { import: { importId: imp.importId, outcome: 'complete', rejected } });
      const fresh = rejected.filter((r) => !l.rejected[r.offerSku]);
      parked = markRejected(l, fresh, imp.importId, Date.now());
    } else {
      parked = markRejected(l, rejected, imp.importId, Date.now());
    }
    state.counters.rejectedSkus += parked.length;
    // One exception per SKU, owned by merchandising; the first few alert one by one, the rest in one line.
    for (const r of parked.slice(0, 5)) {
      await alert(`stock-rejected:${state.channel}:${r.offerSku}`, 'STOCK_SKU_REJECTED', {
        offerSku: r.offerSku,
        importId: imp.importId,
        detail: r.message,
      });
    }
    if (parked.length > 5) {
      await alert(`stock-rejected:${state.channel}:${imp.importId}:more`, 'STOCK_SKU_REJECTED', {
        offerSku: `${parked.length - 5} more SKUs`,
        importId: imp.importId,
        detail: 'see the inventory health query',
      });
    }
  }

  function staleAlertAt(): number {
    if (pending() === 0) return Infinity;
    const since = state.counters.lastSuccessfulPushAt ?? state.counters.createdAt;
    if (state.counters.staleAlertFor === since) return Infinity;
    return since + s.syncAgeAlertMs;
  }

  async function checkStaleness(): Promise<void> {
    const at = staleAlertAt();
    if (Date.now() < at) return;
    const since = state.counters.lastSuccessfulPushAt ?? state.counters.createdAt;
    state.counters.staleAlertFor = since;
    const o = oldest();
    await alert(`sync:${state.channel}:${since}`, 'STOCK_SYNC_STALE', {
      minutes: Math.round(((Date.now() - since) * s.timeScale) / 60_000),
      pending: pending(),
      oldestMinutes: o === undefined ? 0 : Math.round(((Date.now() - o) * s.timeScale) / 60_000),
    });
  }

  async function alert(
    key: string,
    reason: keyof typeof INVENTORY_REASONS,
    details: Record<string, string | number>,
  ): Promise<void> {
    await local.raiseInventoryAlert({
      key,
      kind: reason === 'STOCK_SYNC_STALE' ? 'sync' : 'exception',
      channel: state.channel,
      reason,
      owner: INVENTORY_REASONS[reason].owner,
      message: describeInventory(reason, { channel: state.channel, ...details }),
    });
  }

  function health(): InventoryHealth {
    const now = Date.now();
    const c = state.counters;
    const o = oldest();
    const rs = reports();
    const sum = (f: (r: ShardReport) => number) => rs.reduce((n, r) => n + f(r), 0);
    const released: Record<string, number> = { ...(l.released ?? {}) };
    for (const r of rs) for (const [k, v] of Object.entries(r.released)) released[k] = (released[k] ?? 0) + v;
    const own = reservationCount(l);
    const sample = [...(c.unknownSample ?? []), ...rs.flatMap((r) => r.unknownSample)].slice(-UNKNOWN_SAMPLE);
    return {
      channel: state.channel,
      syncAgeMs: now - (c.lastSuccessfulPushAt ?? c.createdAt),
      oldestPendingMs: o === undefined ? 0 : now - o,
      pendingCount: pending(),
      failedPushes: c.failedPushes,
      lastPushError: c.lastPushError,
      pushes: c.pushes,
      rowsPushed: c.rowsPushed,
      rowsByPriority: c.rowsByPriority,
      importsInFlight: state.imports.length,
      rejected: Object.values(l.rejected).slice(0, 50),
      lastDrift: c.lastDrift,
      driftUnitsTotal: c.driftUnitsTotal,
      fullReads: c.fullReads,
      eventsReceived: c.eventsReceived,
      signals: c.signals,
      reservations: {
        rows: own.rows + sum((r) => r.reservations.rows),
        units: own.units + sum((r) => r.reservations.units),
        keys: own.keys + sum((r) => r.reservations.keys),
        received: c.reservationChanges ?? 0,
      },
      reservationsReleased: released,
      heldForIntake: c.heldForIntake ?? 0,
      unlisted: { skus: Object.keys(l.unlisted ?? {}).length + sum((r) => r.unlisted), leftOut: c.unlistedSkus ?? 0 },
      ...(state.heldRead ? { heldRead: state.heldRead } : {}),
      ...(c.shardsSkipped ? { shardsSkipped: c.shardsSkipped } : {}),
      ...(c.lastReadBack || c.unmappedVariants
        ? {
            target: {
              connectionInactiveSince: c.connectionInactiveSince,
              lastReadBack: c.lastReadBack,
              unmappedVariants: c.unmappedVariants,
            },
          }
        : {}),
      itemsKnown: itemsKnown(l) + sum((r) => r.itemsKnown),
      eventsUnknown: (c.eventsUnknown ?? 0) + sum((r) => r.eventsUnknown),
      unknownSample: sample,
      lastPushAt: c.lastPushAt,
      lastSuccessfulPushAt: c.lastSuccessfulPushAt,
      nextPushAt: state.nextPushAt,
      historyLength: workflowInfo().historyLength,
      runs: c.runs,
      layout: {
        mode: sharded() ? 'sharded' : 'local',
        shards: sharded() ? state.shards!.count : 1,
        largestShardItems: sharded() ? Math.max(0, ...rs.map((r) => r.itemsKnown)) : itemsKnown(l),
        shardItems: Number.isFinite(perShard) ? perShard : 0,
      },
    };
  }
}
