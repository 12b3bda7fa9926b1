// The inventory workflow as it ran before sharding (patch 'inventory-shards'), frozen: histories recorded
// with it (test/replay/histories/inventoryWorkflow-*.json) and workflows still running it replay here, and
// at their next continue-as-new they move to the sharded workflow (workflows/inventory.ts), which takes
// this run's state as it is. Do not change what this file does; change workflows/inventory.ts.
// (Main's last version before sharding, restocks from returns and Marketplacer targets included.)
import {
  ActivityFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { InventoryActivities, InventorySettings } from '../activities/inventory';
import { SA } from '../src/temporal/search-attributes';
import {
  applyEvents,
  applyReservations,
  applyRestocks,
  returnWaiting,
  emptyLedger,
  expireReservations,
  refreshItem,
  relist,
  reservationCount,
  markRejected,
  markSent,
  markUnlisted,
  suspectFullRead,
  unlistedBefore,
  nextBatch,
  oldestPending,
  pendingCount,
  reconcile,
  refreshVelocity,
  requeue,
  retryRejected,
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
import { stockPushKey } from '../src/inventory/keys';
import {
  availableQuery,
  confirmFullReadUpdate,
  fullReadSignal,
  healthQuery,
  orderStockSignal,
  pendingQuery,
  restockSignal,
  retrySkuUpdate,
  stockEventsSignal,
  MAX_EARLY_MESSAGES,
  UNKNOWN_SAMPLE,
  type ImportInFlight,
  type InventoryHealth,
  type InventoryWorkflowInput,
  type InventoryWorkflowState,
} from './inventory-defs';

// ---- activities -----------------------------------------------------------------------------------
const local = proxyActivities<Pick<InventoryActivities, 'inventorySettings' | 'raiseInventoryAlert'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 10 },
});

function targetActs(taskQueue: string) {
  return proxyActivities<
    Pick<InventoryActivities, 'pushStock' | 'checkStockImport' | 'stockImportRejections' | 'checkListing'>
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
  return proxyActivities<Pick<InventoryActivities, 'pushStock' | 'checkStockImport' | 'stockImportRejections'>>({
    taskQueue,
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 1 },
  });
}

function masterActs(taskQueue: string) {
  return proxyActivities<Pick<InventoryActivities, 'readMasterAvailability'>>({
    taskQueue,
    startToCloseTimeout: '5m',
    retry: { initialInterval: '2s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 5 },
  });
}

// ---- the workflow ---------------------------------------------------------------------------------
export async function inventoryWorkflowV1(input: InventoryWorkflowInput): Promise<InventoryWorkflowState> {
  const startedAt = Date.now();
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
  const l = state.ledger;
  let settings: InventorySettings | undefined;
  // Messages that arrive before the settings, in arrival order.
  const early: Array<{ events: StockEvent[] } | { changes: ReservationChange[] } | { restocks: RestockEvent[] }> = [];
  let dirty = false;
  let fullReadRequested = false;
  // Histories recorded before the bounds replay without them.
  const bounded = patched('inventory-bounded-items');

  /** The events whose item code the master has; the others are counted and dropped (see the top). */
  function knownOnly(events: StockEvent[]): StockEvent[] {
    if (!bounded) return events;
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

  function holdEarly(m: (typeof early)[number]) {
    if (bounded && early.length >= MAX_EARLY_MESSAGES) {
      // A full read follows the settings at once: stock figures can go; reservations are kept.
      const i = early.findIndex((x) => 'events' in x);
      if ('events' in m || i < 0) {
        state.counters.earlyDropped = (state.counters.earlyDropped ?? 0) + 1;
        return;
      }
      early.splice(i, 1);
      state.counters.earlyDropped = (state.counters.earlyDropped ?? 0) + 1;
    }
    early.push(m);
  }

  // Handlers first, before any await.
  setHandler(stockEventsSignal, (events) => {
    state.counters.signals++;
    state.counters.eventsReceived += events.length;
    if (!settings) {
      holdEarly({ events });
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
    if (applyRestocks(l, settings, restocks, Date.now(), settings.restockHoldMs).length > 0) dirty = true;
  });
  setHandler(fullReadSignal, () => {
    fullReadRequested = true;
  });
  setHandler(retrySkuUpdate, async (offerSku) => {
    await condition(() => settings !== undefined);
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
  setHandler(availableQuery, (codes) => {
    const out: Record<string, number> = {};
    for (const c of codes) if (l.master[c] !== undefined) out[c] = l.master[c];
    return out;
  });
  setHandler(pendingQuery, (max) =>
    nextBatch(l, max ?? 100).map((r) => ({ offerSku: r.offerSku, quantity: r.quantity, since: r.since })),
  );

  settings = await local.inventorySettings(state.channel);
  if (input.maxHistoryEvents) settings = { ...settings, maxHistoryEvents: input.maxHistoryEvents };
  const s: InventorySettings = settings;
  for (const m of early.splice(0)) {
    if ('events' in m) state.counters.eventsApplied += applyEvents(l, s, knownOnly(m.events), Date.now());
    else if ('restocks' in m) applyRestocks(l, s, m.restocks, Date.now(), s.restockHoldMs);
    else {
      noteIntake(m.changes);
      applyReservations(l, s, m.changes, Date.now());
    }
  }
  upsertSearchAttributes([{ key: SA.Channel, value: state.channel }] as never);
  if (!s.enabled) {
    // Stock sync off for this channel: keep absorbing (the acceptance check still reads the master).
    await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > s.maxHistoryEvents);
    return await continueAsNew<typeof inventoryWorkflowV1>({ ...input, resume: state });
  }
  const target = targetActs(s.taskQueues.inventory);
  const limitedTarget = limitedTargetActs(s.taskQueues.inventory);
  // The full read runs on the inventory queue too: one or two Peoplevox calls every few minutes, paced by
  // the shared Peoplevox client like every other call from this worker.
  const master = masterActs(s.taskQueues.inventory);
  const maxRows = rowsPerPush(s.limit, s.maxRowsPerPush);

  for (;;) {
    const now = Date.now();
    const waiting = pendingCount(l) > 0;
    const wakeAt = Math.min(
      waiting ? state.nextPushAt : Infinity,
      state.imports.length > 0 ? Math.max(state.imports[0]!.checkAt, importGate(state.imports[0]!)) : Infinity,
      state.nextFullReadAt,
      staleAlertAt(),
    );
    await condition(
      () =>
        (dirty && Date.now() >= state.nextPushAt) ||
        fullReadRequested ||
        workflowInfo().continueAsNewSuggested ||
        workflowInfo().historyLength > s.maxHistoryEvents,
      Math.max(1, wakeAt - now),
    );
    dirty = false;
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > s.maxHistoryEvents) {
      return await continueAsNew<typeof inventoryWorkflowV1>({ ...input, resume: state });
    }
    // Reservations past their TTL (a lost release) stop holding stock back.
    for (const code of expireReservations(l, s, Date.now())) refreshItem(l, s, code, Date.now());
    if (fullReadRequested || Date.now() >= state.nextFullReadAt) await fullRead();
    if (pendingCount(l) > 0 && Date.now() >= state.nextPushAt) {
      await holdForIntake();
      await push();
    }
    const head = state.imports[0];
    if (head && Date.now() >= Math.max(head.checkAt, importGate(head))) await followImport(head);
    await checkStaleness();
  }

  // ---- steps (hoisted) ------------------------------------------------------------------------------
  async function fullRead(): Promise<void> {
    fullReadRequested = false;
    const readStartedAt = Date.now();
    try {
      const rows = await master.readMasterAvailability({ channel: state.channel });
      const suspect = state.confirmNextRead ? undefined : suspectFullRead(l, rows, s.fullReadGuard);
      if (suspect) {
        // Not applied: a sell-out of most of the catalogue at once is far likelier a broken report than
        // real. Callbacks keep flowing; the next read is applied if it looks normal, or once confirmed.
        const first = state.heldRead === undefined;
        state.heldRead = { at: readStartedAt, ...suspect };
        state.counters.heldReads = (state.counters.heldReads ?? 0) + 1;
        if (first) {
          await alert(`stock-read-held:${state.channel}:${readStartedAt}`, 'STOCK_READ_HELD', {
            dropped: suspect.droppedToZero,
            inStock: suspect.inStock,
          });
        }
      } else {
        const report = reconcile(l, s, rows, readStartedAt, Date.now());
        state.counters.fullReads++;
        state.counters.lastDrift = report;
        state.counters.driftUnitsTotal += report.units;
        state.heldRead = undefined;
        state.confirmNextRead = undefined;
        await relistDue();
      }
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // Try again at the next interval; callbacks keep flowing meanwhile.
    }
    state.nextFullReadAt = Date.now() + s.fullReadMs;
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
    if (returnWaiting(l)) return;
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
  }

  async function push(): Promise<void> {
    // The velocity buffer relaxes as sales stop; re-evaluate before choosing what to send.
    refreshVelocity(l, s, Date.now());
    const batch = nextBatch(l, maxRows);
    if (batch.length === 0) return;
    state.pushSeq++;
    const key = stockPushKey(state.channel, workflowInfo().firstExecutionRunId, state.pushSeq);
    state.counters.lastPushAt = Date.now();
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
    }
    // The window counts from the end of the call: the target saw it no later than that.
    state.nextPushAt = Date.now() + nextPushDelayMs(s.limit, batch.length, s.pushIntervalMs, s.timeScale, s.marginMs);
  }

  /** When the next STO02 (or STO03, when the report is due) may be called, by the target's limits. */
  function importGate(imp: ImportInFlight): number {
    return imp.reportDue ? state.nextErrorsAt : state.nextStatusAt;
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
        else state.imports.shift();
        return;
      }
      state.imports.shift();
      state.counters.importsFailed++;
      requeue(
        l,
        s,
        imp.rows.map(([sku]) => sku),
        Date.now(),
      );
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
    imp: Pick<ImportInFlight, 'importId'>,
    rejected: Array<{ offerSku: string; quantity: number; message: string }>,
  ): Promise<void> {
    const parked = markRejected(l, rejected, imp.importId, Date.now());
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
    if (pendingCount(l) === 0) return Infinity;
    const since = state.counters.lastSuccessfulPushAt ?? state.counters.createdAt;
    if (state.counters.staleAlertFor === since) return Infinity;
    return since + s.syncAgeAlertMs;
  }

  async function checkStaleness(): Promise<void> {
    const at = staleAlertAt();
    if (Date.now() < at) return;
    const since = state.counters.lastSuccessfulPushAt ?? state.counters.createdAt;
    state.counters.staleAlertFor = since;
    const oldest = oldestPending(l);
    await alert(`sync:${state.channel}:${since}`, 'STOCK_SYNC_STALE', {
      minutes: Math.round(((Date.now() - since) * s.timeScale) / 60_000),
      pending: pendingCount(l),
      oldestMinutes: oldest === undefined ? 0 : Math.round(((Date.now() - oldest) * s.timeScale) / 60_000),
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
    const oldest = oldestPending(l);
    return {
      channel: state.channel,
      syncAgeMs: now - (c.lastSuccessfulPushAt ?? c.createdAt),
      oldestPendingMs: oldest === undefined ? 0 : now - oldest,
      pendingCount: pendingCount(l),
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
      reservations: { ...reservationCount(l), received: c.reservationChanges ?? 0 },
      reservationsReleased: { ...(l.released ?? {}) },
      heldForIntake: c.heldForIntake ?? 0,
      unlisted: { skus: Object.keys(l.unlisted ?? {}).length, leftOut: c.unlistedSkus ?? 0 },
      ...(state.heldRead ? { heldRead: state.heldRead } : {}),
      ...(c.lastReadBack || c.unmappedVariants
        ? {
            target: {
              connectionInactiveSince: c.connectionInactiveSince,
              lastReadBack: c.lastReadBack,
              unmappedVariants: c.unmappedVariants,
            },
          }
        : {}),
      itemsKnown: Object.keys(l.master).length,
      eventsUnknown: c.eventsUnknown ?? 0,
      unknownSample: [...(c.unknownSample ?? [])],
      lastPushAt: c.lastPushAt,
      lastSuccessfulPushAt: c.lastSuccessfulPushAt,
      nextPushAt: state.nextPushAt,
      historyLength: workflowInfo().historyLength,
      runs: c.runs,
    };
  }
}
