// The stock ledger of one channel: what the master has, what the channel should show, what was sent and
// what still waits. Pure and deterministic, so it runs inside the inventory workflow and is carried across
// continue-as-new as plain data. The workflow body only decides *when*; this file decides *what*.
import type { StockBuffer } from '../config/schema';
import {
  availableToSell,
  decayConstantMs,
  lastUnitsElsewhere,
  lastUnitsSplit,
  channelShare,
  shownWithLastUnits,
  recordSale,
  velocityAt,
  velocityBufferUnits,
  type LastUnitsRule,
  type Velocity,
} from './buffers';

/** One master change: [item code, available, epoch ms observed]. Tuples keep batched signals small. */
export type StockEvent = [itemCode: string, available: number, at: number];

export interface PendingChange {
  quantity: number;
  /** When the oldest change not yet pushed happened (epoch ms). */
  since: number;
}

export interface RejectedSku {
  offerSku: string;
  quantity: number;
  importId: string;
  message: string;
  at: number;
}

export interface LedgerSettings {
  buffer: StockBuffer;
  skuBuffers: Record<string, StockBuffer>;
  velocity: {
    enabled: boolean;
    halfLifeMs: number;
    maxUnits: number;
    horizonMs: number;
    confidence?: number;
    /**
     * Sales the merchant expects (velocityBuffer.expectedUnitsPerHour), units per ms of workflow time, by item code:
     * a floor under the item's own rate. Absent in histories from before it: none.
     */
    expectedPerMs?: Record<string, number>;
    /**
     * An item's sales rate is kept while the last-unit rule (its common horizon and confidence) still sees a sale to
     * come, not only the channel's own horizon: see refreshVelocity. Absent in histories from before: the own only.
     */
    keptForRule?: true;
  };
  /** item code → offer SKUs, where a skuMap says so; other item codes are their own offer SKU. */
  offerSkusByItem: Record<string, string[]>;
  /**
   * Reservations from order intake (see reservation rules below); defaults when absent. `keepReleasedKeysMs`: how
   * long the dedupe key of a reservation already released is kept (absent in histories from before: the TTL).
   */
  reservations?: { ttlMs: number; max: number; keepReleasedKeysMs?: number };
  /** The last units of a shared SKU on one channel only (absent in histories from before the rule: off). */
  lastUnits?: LastUnitsRule;
  /**
   * A fingerprint of everything an offer SKU's resting figure depends on (buffers, the last-unit rule, the
   * skuMap): a ledger compacted under the same key leaves out every `sent` figure equal to it
   * (compactLedger). Absent in histories from before compaction: nothing is left out.
   */
  restKey?: string;
}

/**
 * An order line the intake saw on a marketplace (any channel sharing this master) that the master's
 * available does not reflect yet: the marketplace has already taken those units off what it shows, but
 * the warehouse has not allocated them. [key, units still outstanding, seenAt, warehouse order sent at].
 */
export interface ReservationRow {
  /** `<channel>:<orderId>:<lineId>`: the dedupe key (a re-polled order is not reserved twice). */
  key: string;
  units: number;
  /** When the intake saw the order (epoch ms). Its allocation cannot be observed before this. */
  seenAt: number;
  /** When the warehouse order was saved: any master figure observed at or after it includes the allocation. */
  allocatedAt?: number;
}

/** What the intake (or the order path) tells the inventory workflows about an order line. */
export type ReservationChange =
  | { op: 'reserve'; key: string; itemCode: string; quantity: number; at: number }
  | { op: 'allocated'; key: string; at: number }
  | { op: 'release'; key: string; at: number; reason: 'cancelled' | 'refused' | 'operator' };

export const RESERVATION_DEFAULTS: NonNullable<LedgerSettings['reservations']> = { ttlMs: 96 * 3600_000, max: 5_000 };

export interface Ledger {
  master: Record<string, number>;
  /** Epoch ms of the newest event applied per item code (older events and reads are ignored). */
  masterAt: Record<string, number>;
  velocity: Record<string, Velocity>;
  /** offer SKU → last quantity the target accepted (or is applying). */
  sent: Record<string, number>;
  pending: Record<string, PendingChange>;
  rejected: Record<string, RejectedSku>;
  /** item code → outstanding reservations, oldest first. (Optional: ledgers from before reservations.) */
  reservations?: Record<string, ReservationRow[]>;
  /** Dedupe: reservation key → [item code, seenAt], kept for the reservation TTL (bounded). */
  reservedKeys?: Record<string, [string, number]>;
  /** Units released, by rule (for the health query and the tests). */
  released?: Record<'allocation' | 'allocated-figure' | 'cancelled' | 'refused' | 'operator' | 'expired', number>;
  /**
   * Offer SKUs the channel does not list (the push found them missing from the marketplace's offer list),
   * with when that was seen: never pushed, never reserved for, until the list shows them (relist).
   * (Optional: ledgers from before listings.)
   */
  unlisted?: Record<string, number>;
  /**
   * When the last full read applied to this ledger started (epoch ms): every item it knows was read then,
   * so `masterAt` keeps only items with a newer event (masterAtOf). Absent before reads were differences.
   */
  readAt?: number;
  /** Compacted (compactLedger): the restKey the left-out `sent` figures follow… */
  restKey?: string;
  /** …and the offer SKUs that have no sent figure at all (never pushed), which must not be filled in. */
  unsent?: string[];
  /**
   * Units returned and restocked (a return's restock decision) that the master's figure does not show yet:
   * item code → rows, oldest first (see "restocks from returns" below). (Optional: ledgers from before.)
   */
  returned?: Record<string, ReturnedRow[]>;
  /** Dedupe: restock key → when it was applied, kept for the hold (bounded). */
  returnKeys?: Record<string, number>;
  /** Offer SKUs whose pending change carries a restock from a return: pushed ahead, with the decision time. */
  returnPriority?: Record<string, number>;
  /** Items a return restocked at the master itself (warehouse receipt): the next increase is pushed ahead. */
  returnHints?: Record<string, number>;
}

/** Restocked units waiting for the master to show them: [key, units still held, decided at]. */
export interface ReturnedRow {
  key: string;
  units: number;
  at: number;
}

/**
 * A return's restock decision, for every channel selling the item:
 *   delta  — the goods are sellable again (the returns platform restocked them) before the master shows
 *            them: the units are added on top of the master's figure until its own increase covers them;
 *   master — the master itself was increased (the warehouse booked the goods in): its figure arrives by the
 *            usual callback; only the push is brought forward.
 */
export interface RestockEvent {
  key: string;
  itemCode: string;
  units: number;
  at: number;
  kind: 'delta' | 'master';
}

export function emptyLedger(): Ledger {
  return {
    master: {},
    masterAt: {},
    velocity: {},
    sent: {},
    pending: {},
    rejected: {},
    reservations: {},
    reservedKeys: {},
    released: emptyReleased(),
  };
}

function emptyReleased(): NonNullable<Ledger['released']> {
  return { allocation: 0, 'allocated-figure': 0, cancelled: 0, refused: 0, operator: 0, expired: 0 };
}

/** When the item's newest figure was observed: its last event, or the last full read, whichever is later. */
export function masterAtOf(l: Ledger, itemCode: string): number {
  const at = l.masterAt[itemCode] ?? -Infinity;
  if (l.readAt === undefined || l.master[itemCode] === undefined) return at;
  return Math.max(at, l.readAt);
}

export function offerSkusFor(s: LedgerSettings, itemCode: string): string[] {
  return s.offerSkusByItem[itemCode] ?? [itemCode];
}

/** Whether the channel sells an item as far as this ledger knows: one of its offer SKUs is not unlisted. */
export function sellsItem(l: Ledger, s: LedgerSettings, itemCode: string): boolean {
  if (!l.unlisted) return true;
  return offerSkusFor(s, itemCode).some((sku) => l.unlisted![sku] === undefined);
}

function itemCodeOf(s: LedgerSettings, offerSku: string): string {
  for (const [code, skus] of Object.entries(s.offerSkusByItem)) if (skus.includes(offerSku)) return code;
  return offerSku;
}

/** What the channel should show for an offer SKU now. */
export function targetQuantity(l: Ledger, s: LedgerSettings, offerSku: string, itemCode: string, now: number): number {
  // Units sold on a marketplace but not yet allocated by the warehouse are not available to any channel.
  const available = Math.max(0, (l.master[itemCode] ?? 0) - reservedUnits(l, itemCode) + returnedUnits(l, itemCode));
  const afterBuffers = s.lastUnits?.afterBuffers === true && !lastUnitsSplit(s.lastUnits, available);
  if (!afterBuffers && lastUnitsElsewhere(s.lastUnits, itemCode, available)) return 0;
  // Split between the channels, no channel can sell another's units: no velocity buffer on top.
  if (lastUnitsSplit(s.lastUnits, available))
    return channelShare(
      s.lastUnits,
      itemCode,
      availableToSell({ available, buffer: s.skuBuffers[offerSku] ?? s.buffer, velocityUnits: 0 }),
    );
  const rate = s.velocity.enabled
    ? Math.max(
        velocityAt(l.velocity[itemCode], now, decayConstantMs(s.velocity.halfLifeMs / 1000)),
        s.velocity.expectedPerMs?.[itemCode] ?? 0,
      )
    : 0;
  const held = (horizonMs: number, confidence = s.velocity.confidence) =>
    s.velocity.enabled ? velocityBufferUnits(rate, horizonMs, s.velocity.maxUnits, confidence) : 0;
  const velocityUnits = held(s.velocity.horizonMs);
  const buffer = s.skuBuffers[offerSku] ?? s.buffer;
  if (afterBuffers) {
    const rule = s.lastUnits!;
    const ruleUnits =
      rule.horizonMs === undefined && rule.confidence === undefined
        ? velocityUnits
        : held(rule.horizonMs ?? s.velocity.horizonMs, rule.confidence);
    return shownWithLastUnits(rule, itemCode, available, buffer, velocityUnits, ruleUnits);
  }
  return availableToSell({ available, buffer, velocityUnits });
}

/** Re-evaluates the offer SKUs of one item: pending when the target differs from what was sent. */
export function refreshItem(
  l: Ledger,
  s: LedgerSettings,
  itemCode: string,
  now: number,
  opts: { reassertZero?: boolean } = {},
): void {
  for (const sku of offerSkusFor(s, itemCode)) {
    // A SKU the channel does not list is never pushed to it.
    if (l.unlisted?.[sku] !== undefined) {
      delete l.pending[sku];
      continue;
    }
    const q = targetQuantity(l, s, sku, itemCode, now);
    // A sell-out at the master is confirmed to the channel even when we last sent 0: setting 0 again is
    // always safe, and it corrects a marketplace that restocked on its own (a refused or cancelled order).
    if (l.sent[sku] === q && !(q === 0 && (opts.reassertZero || l.pending[sku]?.quantity === 0))) {
      // Coalesced back to what the marketplace already has: nothing to push.
      delete l.pending[sku];
    } else {
      const prev = l.pending[sku];
      l.pending[sku] = { quantity: q, since: prev?.since ?? now };
    }
  }
  // A return's restock at the master (warehouse receipt): the increase it announced goes ahead of the queue.
  const hint = l.returnHints?.[itemCode];
  if (hint !== undefined) {
    for (const sku of offerSkusFor(s, itemCode)) {
      const p = l.pending[sku];
      if (p && p.quantity > (l.sent[sku] ?? 0)) {
        (l.returnPriority ??= {})[sku] = Math.min(l.returnPriority[sku] ?? hint, hint);
        delete l.returnHints![itemCode];
      }
    }
  }
  // A priority mark lasts while an increase waits; once it is sent (or coalesced away) it goes.
  for (const sku of offerSkusFor(s, itemCode)) {
    if (l.returnPriority?.[sku] === undefined) continue;
    const p = l.pending[sku];
    if (!p || p.quantity <= (l.sent[sku] ?? 0)) delete l.returnPriority[sku];
  }
}

/**
 * Applies a batch of master changes (callbacks, allocations, restocks). Only the newest value per item
 * counts; a decrease feeds the SKU's sales velocity. Returns how many events were applied.
 */
export function applyEvents(l: Ledger, s: LedgerSettings, events: readonly StockEvent[], now: number): number {
  let applied = 0;
  const touched = new Set<string>();
  const tau = decayConstantMs(s.velocity.halfLifeMs / 1000);
  for (const [code, available, at] of events) {
    if (!Number.isFinite(available) || masterAtOf(l, code) > at) continue;
    const before = l.master[code];
    const after = Math.max(0, Math.trunc(available));
    if (before !== undefined && after < before) {
      // The decrease is (first) the warehouse allocating orders the intake already reserved: those units
      // were counted as sales when reserved, so only the rest feeds the velocity.
      const consumed = consumeReservations(l, code, before - after, at);
      if (before - after - consumed > 0)
        l.velocity[code] = recordSale(l.velocity[code], before - after - consumed, at, tau);
    }
    // An increase is (first) the master catching up with units a return restocked ahead of it.
    if (before !== undefined && after > before) consumeReturned(l, code, after - before, at);
    l.master[code] = after;
    l.masterAt[code] = at;
    releaseAllocatedFigures(l, code);
    touched.add(code);
    applied++;
  }
  for (const code of touched) refreshItem(l, s, code, now, { reassertZero: l.master[code] === 0 });
  return applied;
}

/** Items whose velocity buffer is still holding units back: re-evaluated before each push as it decays. */
export function refreshVelocity(l: Ledger, s: LedgerSettings, now: number): void {
  if (!s.velocity.enabled) return;
  const tau = decayConstantMs(s.velocity.halfLifeMs / 1000);
  // The rate is kept until the last-unit rule, over its common horizon and confidence, sees no sale to come too: a
  // channel with a short horizon of its own (Marketplacer: a push a second) dropped it after one sale, and then
  // judged alone that a SKU the others had left to one channel was not down to its last units (or, with
  // lastUnits.atRest everyChannel, at rest), and showed it beside the chosen channel.
  const rule = s.lastUnits?.afterBuffers === true && s.velocity.keptForRule ? s.lastUnits : undefined;
  const ruleHorizonMs = Math.max(s.velocity.horizonMs, rule?.horizonMs ?? 0);
  for (const [code, v] of Object.entries(l.velocity)) {
    const rate = velocityAt(v, now, tau);
    if (
      rate * s.velocity.horizonMs < 0.05 &&
      (!rule ||
        velocityBufferUnits(rate, ruleHorizonMs, s.velocity.maxUnits, rule.confidence ?? s.velocity.confidence) === 0)
    ) {
      delete l.velocity[code];
    }
    refreshItem(l, s, code, now);
  }
}

export interface DriftReport {
  at: number;
  checked: number;
  /** Item codes whose master figure differed from Loopline's. */
  drifted: number;
  /** Sum of |difference| over those items. */
  units: number;
  /** A few examples, for the operator. */
  examples: Array<{ itemCode: string; loopline: number | null; master: number }>;
}

/**
 * A full read of the master: every item whose figure differs from the ledger is drift (a missed or lost
 * callback, a manual correction). Items with an event newer than the read's start keep the event's value.
 */
export function reconcile(
  l: Ledger,
  s: LedgerSettings,
  rows: ReadonlyArray<[string, number]>,
  readStartedAt: number,
  now: number,
): DriftReport {
  const report: DriftReport = { at: now, checked: 0, drifted: 0, units: 0, examples: [] };
  for (const [code, available] of rows) {
    report.checked++;
    if (masterAtOf(l, code) > readStartedAt) continue;
    const known = l.master[code];
    const value = Math.max(0, Math.trunc(available));
    if (known !== value) {
      // A lost allocation callback: the read's decrease consumes reservations like the callback would have.
      if (known !== undefined && value < known) consumeReservations(l, code, known - value, readStartedAt);
      if (known !== undefined && value > known) consumeReturned(l, code, value - known, readStartedAt);
      if (known !== undefined) {
        report.drifted++;
        report.units += Math.abs(value - known);
        if (report.examples.length < 10) report.examples.push({ itemCode: code, loopline: known, master: value });
      }
      l.master[code] = value;
    }
    l.masterAt[code] = readStartedAt;
    releaseAllocatedFigures(l, code);
    // Also catches SKUs never pushed yet (the first read of a new channel sends everything once).
    refreshItem(l, s, code, now);
  }
  return report;
}

export type PushPriority = 'sell-out' | 'return' | 'restock' | 'change';

export function priorityOf(l: Ledger, sku: string, quantity: number): PushPriority {
  const sent = l.sent[sku];
  if (quantity === 0 && sent !== 0) return 'sell-out';
  // Returned goods back on sale: ahead of everything but sell-outs (seed 003, "restock priority").
  if (l.returnPriority?.[sku] !== undefined && quantity > (sent ?? 0)) return 'return';
  if (quantity > 0 && (sent === 0 || sent === undefined)) return 'restock';
  return 'change';
}

const RANK: Record<PushPriority, number> = { 'sell-out': 0, return: 1, restock: 2, change: 3 };

/** Push order: sell-outs, then restocks, then the oldest changes (then by SKU, so it is total). */
export function comparePushRows(a: PushRow, b: PushRow): number {
  return RANK[a.priority] - RANK[b.priority] || a.since - b.since || (a.offerSku < b.offerSku ? -1 : 1);
}

export interface PushRow {
  offerSku: string;
  quantity: number;
  priority: PushPriority;
  since: number;
  /** A return's restock decision this row carries (the restock propagation metric's start). */
  returnDecidedAt?: number;
}

/** The next push: latest value per SKU, sell-outs first, then restocks, then the oldest changes. */
export function nextBatch(l: Ledger, maxRows: number): PushRow[] {
  const rows: PushRow[] = [];
  for (const [offerSku, p] of Object.entries(l.pending)) {
    if (l.rejected[offerSku]) continue;
    const priority = priorityOf(l, offerSku, p.quantity);
    rows.push({
      offerSku,
      quantity: p.quantity,
      priority,
      since: p.since,
      ...(priority === 'return' ? { returnDecidedAt: l.returnPriority![offerSku] } : {}),
    });
  }
  rows.sort(comparePushRows);
  return rows.slice(0, Math.max(0, maxRows));
}

/** The target accepted these rows: they are what the channel shows (until an import report says otherwise). */
export function markSent(l: Ledger, rows: readonly PushRow[]): void {
  for (const r of rows) {
    l.sent[r.offerSku] = r.quantity;
    if (l.pending[r.offerSku]?.quantity === r.quantity) delete l.pending[r.offerSku];
    if (r.priority === 'return' && l.returnPriority) delete l.returnPriority[r.offerSku];
  }
}

/** Whether a return's restock waits to be pushed (the push then does not wait for an intake poll). */
export function returnWaiting(l: Ledger): boolean {
  for (const sku of Object.keys(l.returnPriority ?? {})) if (l.pending[sku] && !l.rejected[sku]) return true;
  return false;
}

/** The import report rejected these SKUs: park them for merchandising, forget what we think was sent. */
export function markRejected(
  l: Ledger,
  rejected: ReadonlyArray<{ offerSku: string; quantity: number; message: string }>,
  importId: string,
  now: number,
): RejectedSku[] {
  const out: RejectedSku[] = [];
  for (const r of rejected) {
    delete l.sent[r.offerSku];
    if (l.rejected[r.offerSku]) continue;
    const rec: RejectedSku = { offerSku: r.offerSku, quantity: r.quantity, importId, message: r.message, at: now };
    l.rejected[r.offerSku] = rec;
    out.push(rec);
  }
  return out;
}

/** A whole import failed: what it carried goes back to pending at today's target. */
export function requeue(l: Ledger, s: LedgerSettings, offerSkus: readonly string[], now: number): void {
  for (const sku of offerSkus) {
    delete l.sent[sku];
    refreshItem(l, s, itemCodeOf(s, sku), now);
  }
}

/**
 * The channel does not list these offer SKUs (the push left them out): they leave the queue and are not
 * pushed or reserved for again until relisted.
 */
export function markUnlisted(l: Ledger, offerSkus: readonly string[], now: number): void {
  if (offerSkus.length === 0) return;
  l.unlisted ??= {};
  for (const sku of offerSkus) {
    l.unlisted[sku] = now;
    delete l.pending[sku];
    delete l.sent[sku];
  }
}

/** Unlisted SKUs whose mark is older than `before` (to ask the channel's list about again), oldest first. */
export function unlistedBefore(l: Ledger, before: number, max: number): string[] {
  return Object.entries(l.unlisted ?? {})
    .filter(([, at]) => at < before)
    .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, Math.max(0, max))
    .map(([sku]) => sku);
}

/**
 * The channel's list was read again: SKUs it now lists go back to the queue at today's target; the others
 * keep their mark, renewed to `now` (asked about again after another interval).
 */
export function relist(
  l: Ledger,
  s: LedgerSettings,
  asked: readonly string[],
  listed: readonly string[],
  now: number,
): void {
  if (!l.unlisted) return;
  const back = new Set(listed);
  for (const sku of asked) {
    if (l.unlisted[sku] === undefined) continue;
    if (!back.has(sku)) {
      l.unlisted[sku] = now;
      continue;
    }
    delete l.unlisted[sku];
    refreshItem(l, s, itemCodeOf(s, sku), now);
  }
}

/** What makes a full read of the master look wrong (config: inventory.fullReadGuard). */
export interface FullReadGuard {
  /** Hold the read when at least this share of the items known in stock suddenly read 0… */
  zeroFraction: number;
  /** …and at least this many items were known in stock (a small catalogue's swings are real). */
  minItems: number;
}

export interface SuspectRead {
  /** Items the ledger knew with stock that the read has. */
  inStock: number;
  /** Of those, the ones the read says are at 0. */
  droppedToZero: number;
}

/**
 * A full read where most of the figures Loopline knew to be in stock suddenly read 0 (no callback said so)
 * is far more likely a broken report, a wrong site or an emptied export than a warehouse selling out in
 * one go; applied, it would push a sell-out of the catalogue to every channel. Returns what was found when
 * the read should be held for a person to confirm, else undefined.
 */
export function suspectFullRead(
  l: Pick<Ledger, 'master'>,
  rows: ReadonlyArray<[string, number]>,
  guard: FullReadGuard | undefined,
): SuspectRead | undefined {
  if (!guard) return undefined;
  let inStock = 0;
  let droppedToZero = 0;
  for (const [code, available] of rows) {
    if (!((l.master[code] ?? 0) > 0)) continue;
    inStock++;
    if (Math.trunc(available) <= 0) droppedToZero++;
  }
  if (inStock < guard.minItems || droppedToZero < inStock * guard.zeroFraction) return undefined;
  return { inStock, droppedToZero };
}

/** An operator fixed the offer or the mapping: push the SKU again. */
export function retryRejected(l: Ledger, s: LedgerSettings, offerSku: string, now: number): boolean {
  if (!l.rejected[offerSku]) return false;
  delete l.rejected[offerSku];
  if (l.unlisted) delete l.unlisted[offerSku];
  delete l.sent[offerSku];
  refreshItem(l, s, itemCodeOf(s, offerSku), now);
  return true;
}

export function oldestPending(l: Ledger): number | undefined {
  let oldest: number | undefined;
  for (const [sku, p] of Object.entries(l.pending)) {
    if (l.rejected[sku]) continue;
    if (oldest === undefined || p.since < oldest) oldest = p.since;
  }
  return oldest;
}

export function pendingCount(l: Ledger): number {
  let n = 0;
  for (const sku of Object.keys(l.pending)) if (!l.rejected[sku]) n++;
  return n;
}

// ---- reservations from order intake ---------------------------------------------------------------
// The marketplace takes units off what it shows the moment a customer orders; the master (Peoplevox)
// only takes them off when Loopline creates the sales order (SaveData allocates), which is after
// acceptance and the debit, one or more intake polls later. Until then every channel sharing the stock
// would be shown, and pushed, units that are already sold. A reservation closes that gap:
//   reserve   the intake saw an order line in WAITING_ACCEPTANCE / WAITING_DEBIT*: its units come off the
//             available-to-sell of every channel at once (deduplicated by <channel>:<orderId>:<lineId>,
//             so a re-polled order is not reserved twice, even after its reservation was released).
//   release   — allocation: a decrease of the master's available for the item, observed at or after the
//               reservation was seen, consumes outstanding units of that item's reservations, oldest first
//               (Peoplevox allocates at SaveData, and that is the decrease; the units are not counted twice);
//             — allocated-figure: once the warehouse order was saved (op 'allocated', at = when SaveData
//               answered; sent by the warehouse gateway or createWarehouseOrder), the first master figure for
//               the item observed at or after that time includes the allocation whatever it was (also a short
//               allocation of a backorder): what is still outstanding is released;
//             — cancelled / refused: the order or the line was cancelled or refused before allocation;
//             — expired: older than the TTL (a lost release), or beyond the cap (oldest first).
// Reservations and dedupe keys live in the ledger, so they cross continue-as-new; both are bounded.

export function reservedUnits(l: Ledger, itemCode: string): number {
  let n = 0;
  for (const r of l.reservations?.[itemCode] ?? []) n += r.units;
  return n;
}

export function reservationCount(l: Ledger): { rows: number; units: number; keys: number } {
  let rows = 0;
  let units = 0;
  for (const list of Object.values(l.reservations ?? {})) {
    rows += list.length;
    for (const r of list) units += r.units;
  }
  return { rows, units, keys: Object.keys(l.reservedKeys ?? {}).length };
}

function released(l: Ledger): NonNullable<Ledger['released']> {
  return (l.released ??= emptyReleased());
}

function dropEmpty(l: Ledger, itemCode: string): void {
  const list = l.reservations?.[itemCode];
  if (!list) return;
  const kept = list.filter((r) => r.units > 0);
  if (kept.length === 0) delete l.reservations![itemCode];
  else l.reservations![itemCode] = kept;
}

/** A decrease of `units` observed at `at`: consumed by that item's reservations seen no later, oldest first. */
function consumeReservations(l: Ledger, itemCode: string, units: number, at: number): number {
  const list = l.reservations?.[itemCode];
  if (!list || units <= 0) return 0;
  let left = units;
  for (const r of list) {
    if (left <= 0) break;
    if (r.seenAt > at) continue;
    const take = Math.min(left, r.units);
    r.units -= take;
    left -= take;
  }
  dropEmpty(l, itemCode);
  const consumed = units - left;
  released(l).allocation += consumed;
  return consumed;
}

/** Reservations whose warehouse order was sent before the item's newest master figure: that figure has them. */
function releaseAllocatedFigures(l: Ledger, itemCode: string): void {
  const list = l.reservations?.[itemCode];
  const figureAt = masterAtOf(l, itemCode);
  if (!list || figureAt === -Infinity) return;
  for (const r of list) {
    if (r.allocatedAt !== undefined && r.allocatedAt <= figureAt && r.units > 0) {
      released(l)['allocated-figure'] += r.units;
      r.units = 0;
    }
  }
  dropEmpty(l, itemCode);
}

function findReservation(l: Ledger, key: string): ReservationRow | undefined {
  const seen = l.reservedKeys?.[key];
  if (!seen) return undefined;
  return l.reservations?.[seen[0]]?.find((r) => r.key === key);
}

/**
 * Applies reservation changes (see the rules above) and re-evaluates the items they touch. Returns the
 * item codes touched. Re-sent reserves of a known key, and releases of unknown keys, change nothing.
 */
export function applyReservations(
  l: Ledger,
  s: LedgerSettings,
  changes: readonly ReservationChange[],
  now: number,
): string[] {
  l.reservations ??= {};
  l.reservedKeys ??= {};
  const touched = new Set<string>();
  const tau = decayConstantMs(s.velocity.halfLifeMs / 1000);
  for (const c of changes) {
    if (c.op === 'reserve') {
      const units = Math.trunc(c.quantity);
      if (l.reservedKeys[c.key] || !(units > 0) || !c.itemCode) continue;
      // A channel that does not sell the item keeps no row for it (the sender filters these too).
      if (!sellsItem(l, s, c.itemCode)) continue;
      l.reservedKeys[c.key] = [c.itemCode, c.at];
      (l.reservations[c.itemCode] ??= []).push({ key: c.key, units, seenAt: c.at });
      // A sale, as the velocity buffer counts them; the allocation that consumes it later is not counted again.
      l.velocity[c.itemCode] = recordSale(l.velocity[c.itemCode], units, c.at, tau);
      touched.add(c.itemCode);
      continue;
    }
    const r = findReservation(l, c.key);
    if (!r) continue;
    const itemCode = l.reservedKeys[c.key]![0];
    if (c.op === 'allocated') {
      r.allocatedAt = c.at;
      releaseAllocatedFigures(l, itemCode);
    } else {
      released(l)[c.reason] += r.units;
      r.units = 0;
      dropEmpty(l, itemCode);
    }
    touched.add(itemCode);
  }
  for (const code of expireReservations(l, s, now)) touched.add(code);
  for (const code of touched) refreshItem(l, s, code, now);
  return [...touched];
}

/**
 * Drops reservations past the TTL or beyond the cap (oldest first), and dedupe keys past the TTL or cap. The key
 * of a reservation already released (allocated, cancelled, refused, expired) is kept only `keepReleasedKeysMs`
 * after it was seen: long enough for the intake's re-reads of the order (its overlap), not for days — at 10,000
 * orders an hour, keys kept for the whole TTL were most of the ledger carried across continue-as-new. A
 * reserve of a key already dropped reserves again, and the order's allocation releases it like any other.
 */
export function expireReservations(l: Ledger, s: LedgerSettings, now: number): string[] {
  const { ttlMs, max, keepReleasedKeysMs } = s.reservations ?? RESERVATION_DEFAULTS;
  const releasedTtl = Math.min(ttlMs, keepReleasedKeysMs ?? ttlMs);
  const touched: string[] = [];
  const rows: Array<[number, string, ReservationRow]> = [];
  for (const [code, list] of Object.entries(l.reservations ?? {})) for (const r of list) rows.push([r.seenAt, code, r]);
  rows.sort((a, b) => a[0] - b[0]);
  const overCap = Math.max(0, rows.length - max);
  rows.forEach(([seenAt, code, r], i) => {
    if (i < overCap || now - seenAt > ttlMs) {
      released(l).expired += r.units;
      r.units = 0;
      touched.push(code);
    }
  });
  for (const code of new Set(touched)) dropEmpty(l, code);
  const keys = Object.entries(l.reservedKeys ?? {});
  const keyOverCap = Math.max(0, keys.length - max * 2);
  if (keyOverCap > 0) keys.sort((a, b) => a[1][1] - b[1][1]);
  keys.forEach(([key, [, seenAt]], i) => {
    if (i < keyOverCap || now - seenAt > releasedTtl) {
      if (!findReservation(l, key)) delete l.reservedKeys![key];
    }
  });
  return [...new Set(touched)];
}

// ---- a ledger that scales with the catalogue ------------------------------------------------------
// A full read is handed over as differences (applyRead): only items whose figure differs from the
// ledger's, the rest confirmed by one time stamp (readAt). Carried across continue-as-new (and handed from
// shard to shard) compacted: an item at rest — its offer SKUs showing what its figure says, nothing
// pending, no reservation — costs its master figure and nothing else (compactLedger / expandLedger).

/** What an offer SKU shows when nothing moves: the target without reservations or the velocity buffer. */
export function restingQuantity(l: Ledger, s: LedgerSettings, offerSku: string, itemCode: string): number {
  const available = Math.max(0, l.master[itemCode] ?? 0);
  const buffer = s.skuBuffers[offerSku] ?? s.buffer;
  if (s.lastUnits?.afterBuffers === true && !lastUnitsSplit(s.lastUnits, available))
    return shownWithLastUnits(s.lastUnits, itemCode, available, buffer, 0);
  if (lastUnitsElsewhere(s.lastUnits, itemCode, available)) return 0;
  const ats = availableToSell({ available, buffer, velocityUnits: 0 });
  return lastUnitsSplit(s.lastUnits, available) ? channelShare(s.lastUnits, itemCode, ats) : ats;
}

/**
 * Makes the ledger small for history (continue-as-new, a handover): event times already covered by the
 * last read go, and every `sent` figure equal to its SKU's resting figure under these settings goes (SKUs
 * never sent are listed, so they are not taken for sent). Mutates and returns the ledger: do not use it
 * afterwards except through expandLedger.
 */
export function compactLedger(l: Ledger, s: LedgerSettings): Ledger {
  if (l.readAt !== undefined) {
    for (const [code, at] of Object.entries(l.masterAt)) {
      if (at <= l.readAt && l.master[code] !== undefined) delete l.masterAt[code];
    }
  }
  if (!s.restKey || l.restKey !== undefined) return l;
  const unsent: string[] = [];
  for (const code of Object.keys(l.master)) {
    for (const sku of offerSkusFor(s, code)) {
      if (l.rejected[sku] || l.unlisted?.[sku] !== undefined) continue;
      const sent = l.sent[sku];
      if (sent === undefined) unsent.push(sku);
      else if (sent === restingQuantity(l, s, sku, code)) delete l.sent[sku];
    }
  }
  l.unsent = unsent;
  l.restKey = s.restKey;
  return l;
}

/**
 * Undoes compactLedger under today's settings. When the settings changed since (another buffer, skuMap or
 * last-unit rule), the figures left out are not known any more: they stay unknown, so every item
 * re-evaluated sends them again once. Returns whether that happened (the caller then re-evaluates all).
 */
export function expandLedger(l: Ledger, s: LedgerSettings): boolean {
  if (l.restKey === undefined) return false;
  const same = l.restKey === s.restKey;
  if (same) {
    const unsent = new Set(l.unsent ?? []);
    for (const code of Object.keys(l.master)) {
      for (const sku of offerSkusFor(s, code)) {
        if (l.sent[sku] !== undefined || unsent.has(sku) || l.rejected[sku] || l.unlisted?.[sku] !== undefined)
          continue;
        l.sent[sku] = restingQuantity(l, s, sku, code);
      }
    }
  }
  delete l.restKey;
  delete l.unsent;
  return !same;
}

/** Re-evaluates every item the ledger knows (after a read, or when the settings changed). */
export function refreshAll(l: Ledger, s: LedgerSettings, now: number): void {
  for (const code of Object.keys(l.master)) refreshItem(l, s, code, now);
}

/**
 * A full read handed over as differences (the activity compared the master with this ledger's figures):
 * `rows` are the items that differ (or are new), every other item the ledger knows was read with the
 * figure it has. Same rules as reconcile — an item with an event newer than the read keeps it, a decrease
 * consumes reservations, the read's figure includes allocations sent before it — and every item is
 * re-evaluated, so a SKU not pushed yet is queued. The drift report is the activity's.
 */
export function applyRead(
  l: Ledger,
  s: LedgerSettings,
  read: { at: number; rows: ReadonlyArray<[string, number]>; absent: readonly string[] },
  now: number,
): void {
  for (const [code, available] of read.rows) {
    if (masterAtOf(l, code) > read.at) continue;
    const known = l.master[code];
    const value = Math.max(0, Math.trunc(available));
    if (!Number.isFinite(value)) continue;
    if (known !== value) {
      if (known !== undefined && value < known) consumeReservations(l, code, known - value, read.at);
      if (known !== undefined && value > known) consumeReturned(l, code, value - known, read.at);
      l.master[code] = value;
    }
    l.masterAt[code] = read.at;
  }
  // Items the read did not have keep the time of their own last figure.
  const absent = new Set(read.absent);
  for (const code of absent) {
    if (l.master[code] !== undefined && l.masterAt[code] === undefined && l.readAt !== undefined) {
      l.masterAt[code] = l.readAt;
    }
  }
  if (l.readAt === undefined || read.at > l.readAt) l.readAt = read.at;
  for (const code of Object.keys(l.reservations ?? {})) {
    if (!absent.has(code) && l.master[code] !== undefined) releaseAllocatedFigures(l, code);
  }
  refreshAll(l, s, now);
  for (const [code, at] of Object.entries(l.masterAt)) {
    if (at <= l.readAt && l.master[code] !== undefined && !absent.has(code)) delete l.masterAt[code];
  }
}

/** Items the ledger knows (its master figures). */
export function itemsKnown(l: Ledger): number {
  return Object.keys(l.master).length;
}

/**
 * Moves the items for which `moves(itemCode)` holds, with everything kept about them (figures, sales
 * velocity, what was sent and what waits for each of their offer SKUs, rejections, listings,
 * reservations and their keys), out of `l` into a new ledger. Release counters stay.
 */
export function splitLedger(l: Ledger, s: LedgerSettings, moves: (itemCode: string) => boolean): Ledger {
  const out = emptyLedger();
  out.readAt = l.readAt;
  const items = new Set<string>();
  for (const code of new Set([...Object.keys(l.master), ...Object.keys(l.reservations ?? {})])) {
    if (moves(code)) items.add(code);
  }
  const skus = new Set<string>();
  for (const code of items) for (const sku of offerSkusFor(s, code)) skus.add(sku);
  // Every offer SKU the ledger holds goes with its item (also one whose item it no longer knows).
  const itemOf = new Map<string, string>();
  for (const [code, list] of Object.entries(s.offerSkusByItem)) for (const sku of list) itemOf.set(sku, code);
  const held = new Set<string>([
    ...Object.keys(l.sent),
    ...Object.keys(l.pending),
    ...Object.keys(l.rejected),
    ...Object.keys(l.unlisted ?? {}),
  ]);
  for (const sku of held) if (!skus.has(sku) && moves(itemOf.get(sku) ?? sku)) skus.add(sku);
  const take = <T>(from: Record<string, T> | undefined, to: Record<string, T>, key: string) => {
    if (from && from[key] !== undefined) {
      to[key] = from[key]!;
      delete from[key];
    }
  };
  for (const code of items) {
    take(l.master, out.master, code);
    take(l.masterAt, out.masterAt, code);
    take(l.velocity, out.velocity, code);
    take(l.reservations, out.reservations!, code);
  }
  for (const sku of skus) {
    take(l.sent, out.sent, sku);
    take(l.pending, out.pending, sku);
    take(l.rejected, out.rejected, sku);
    if (l.unlisted?.[sku] !== undefined) {
      (out.unlisted ??= {})[sku] = l.unlisted[sku]!;
      delete l.unlisted[sku];
    }
  }
  for (const [key, seen] of Object.entries(l.reservedKeys ?? {})) {
    if (items.has(seen[0]) || moves(seen[0])) {
      out.reservedKeys![key] = seen;
      delete l.reservedKeys![key];
    }
  }
  // Restocks from returns go with their item (a dedupe key ends with its item code).
  for (const code of Object.keys(l.returned ?? {})) if (moves(code)) take(l.returned, (out.returned ??= {}), code);
  for (const code of Object.keys(l.returnHints ?? {}))
    if (moves(code)) take(l.returnHints, (out.returnHints ??= {}), code);
  for (const sku of skus)
    if (l.returnPriority?.[sku] !== undefined) take(l.returnPriority, (out.returnPriority ??= {}), sku);
  for (const key of Object.keys(l.returnKeys ?? {}))
    if (moves(key.slice(key.lastIndexOf(':') + 1))) take(l.returnKeys, (out.returnKeys ??= {}), key);
  return out;
}

/**
 * Takes in items handed over from another ledger (splitLedger, then compacted and expanded). When the two
 * were last read at different times, each item keeps its own read time.
 */
export function mergeLedger(into: Ledger, part: Ledger): void {
  if (part.readAt !== undefined && into.readAt !== part.readAt) {
    const pin = (l: Ledger) => {
      for (const code of Object.keys(l.master)) {
        const at = masterAtOf(l, code);
        if (Number.isFinite(at)) l.masterAt[code] = at;
      }
    };
    if (into.readAt !== undefined) pin(into);
    pin(part);
    into.readAt = into.readAt === undefined ? part.readAt : Math.min(into.readAt, part.readAt);
  }
  Object.assign(into.master, part.master);
  Object.assign(into.masterAt, part.masterAt);
  Object.assign(into.velocity, part.velocity);
  Object.assign(into.sent, part.sent);
  Object.assign(into.pending, part.pending);
  Object.assign(into.rejected, part.rejected);
  if (part.unlisted) Object.assign((into.unlisted ??= {}), part.unlisted);
  into.reservations ??= {};
  for (const [code, list] of Object.entries(part.reservations ?? {})) {
    into.reservations[code] = [...(into.reservations[code] ?? []), ...list].sort((a, b) => a.seenAt - b.seenAt);
  }
  Object.assign((into.reservedKeys ??= {}), part.reservedKeys ?? {});
  if (part.returned) Object.assign((into.returned ??= {}), part.returned);
  if (part.returnKeys) Object.assign((into.returnKeys ??= {}), part.returnKeys);
  if (part.returnPriority) Object.assign((into.returnPriority ??= {}), part.returnPriority);
  if (part.returnHints) Object.assign((into.returnHints ??= {}), part.returnHints);
}

// ---- restocks from returns ------------------------------------------------------------------------------
// A return's restock decision (src/domain/returns.ts disposition `restock`, and the returns platform or the
// warehouse saying the goods are sellable) reaches every channel selling the item at once, and its push goes
// ahead of ordinary changes (priority `return`, after sell-outs only):
//   delta   the units count on top of the master's figure until the master's own increase, observed at or
//           after the decision, covers them (consumed oldest first, like reservations the other way), or
//           until the hold ends (restockHoldMs: the warehouse never booked them in);
//   master  the warehouse's figure already has them (it booked the goods in): the item's next increase is
//           marked for priority when it arrives (or at once when it is already pending).
// Deduplicated by key (restock:<channel>:<return>:<item>), so a repeated signal restocks nothing twice.

export function returnedUnits(l: Ledger, itemCode: string): number {
  let n = 0;
  for (const r of l.returned?.[itemCode] ?? []) n += r.units;
  return n;
}

/** An increase of `units` observed at `at`: covers restocked units decided no later, oldest first. */
function consumeReturned(l: Ledger, itemCode: string, units: number, at: number): void {
  const list = l.returned?.[itemCode];
  if (!list || units <= 0) return;
  let left = units;
  for (const r of list) {
    if (left <= 0) break;
    if (r.at > at) continue;
    const take = Math.min(left, r.units);
    r.units -= take;
    left -= take;
  }
  const kept = list.filter((r) => r.units > 0);
  if (kept.length === 0) delete l.returned![itemCode];
  else l.returned![itemCode] = kept;
}

/** Applies restock events; returns the item codes touched (their offer SKUs are re-evaluated). */
export function applyRestocks(
  l: Ledger,
  s: LedgerSettings,
  events: readonly RestockEvent[],
  now: number,
  holdMs = 6 * 3600_000,
): string[] {
  l.returnKeys ??= {};
  const touched = new Set<string>();
  for (const e of events) {
    const units = Math.trunc(e.units);
    if (l.returnKeys[e.key] !== undefined || !(units > 0) || !e.itemCode) continue;
    l.returnKeys[e.key] = e.at;
    if (!sellsItem(l, s, e.itemCode)) continue;
    if (e.kind === 'delta')
      (l.returned ??= {})[e.itemCode] = [...(l.returned[e.itemCode] ?? []), { key: e.key, units, at: e.at }];
    // The push that carries this item goes ahead; `master` restocks mark its increase when it arrives.
    (l.returnHints ??= {})[e.itemCode] = Math.min(l.returnHints[e.itemCode] ?? e.at, e.at);
    touched.add(e.itemCode);
  }
  for (const code of expireReturned(l, now, holdMs)) touched.add(code);
  for (const code of touched) refreshItem(l, s, code, now);
  return [...touched];
}

/** Drops restocked units held longer than the hold, hints and dedupe keys older than it. */
export function expireReturned(l: Ledger, now: number, holdMs: number): string[] {
  const touched: string[] = [];
  for (const [code, list] of Object.entries(l.returned ?? {})) {
    const kept = list.filter((r) => now - r.at <= holdMs);
    if (kept.length === list.length) continue;
    touched.push(code);
    if (kept.length === 0) delete l.returned![code];
    else l.returned![code] = kept;
  }
  for (const [code, at] of Object.entries(l.returnHints ?? {})) if (now - at > holdMs) delete l.returnHints![code];
  const keys = Object.entries(l.returnKeys ?? {});
  for (const [key, at] of keys) if (now - at > holdMs * 4) delete l.returnKeys![key];
  if (keys.length > 20_000) {
    for (const [key] of keys.sort((a, b) => a[1] - b[1]).slice(0, keys.length - 20_000)) delete l.returnKeys![key];
  }
  return touched;
}
