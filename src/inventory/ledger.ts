// The stock ledger of one channel: what the master has, what the channel should show, what was sent and
// what still waits. Pure and deterministic, so it runs inside the inventory workflow and is carried across
// continue-as-new as plain data. The workflow body only decides *when*; this file decides *what*.
import type { StockBuffer } from '../config/schema';
import {
  availableToSell,
  decayConstantMs,
  recordSale,
  velocityAt,
  velocityBufferUnits,
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
  velocity: { enabled: boolean; halfLifeMs: number; maxUnits: number; horizonMs: number; confidence?: number };
  /** item code → offer SKUs, where a skuMap says so; other item codes are their own offer SKU. */
  offerSkusByItem: Record<string, string[]>;
}

export interface Ledger {
  master: Record<string, number>;
  /** Epoch ms of the newest event applied per item code (older events and reads are ignored). */
  masterAt: Record<string, number>;
  velocity: Record<string, Velocity>;
  /** offer SKU → last quantity the target accepted (or is applying). */
  sent: Record<string, number>;
  pending: Record<string, PendingChange>;
  rejected: Record<string, RejectedSku>;
}

export function emptyLedger(): Ledger {
  return { master: {}, masterAt: {}, velocity: {}, sent: {}, pending: {}, rejected: {} };
}

export function offerSkusFor(s: LedgerSettings, itemCode: string): string[] {
  return s.offerSkusByItem[itemCode] ?? [itemCode];
}

function itemCodeOf(s: LedgerSettings, offerSku: string): string {
  for (const [code, skus] of Object.entries(s.offerSkusByItem)) if (skus.includes(offerSku)) return code;
  return offerSku;
}

/** What the channel should show for an offer SKU now. */
export function targetQuantity(l: Ledger, s: LedgerSettings, offerSku: string, itemCode: string, now: number): number {
  const available = l.master[itemCode] ?? 0;
  const velocityUnits = s.velocity.enabled
    ? velocityBufferUnits(
        velocityAt(l.velocity[itemCode], now, decayConstantMs(s.velocity.halfLifeMs / 1000)),
        s.velocity.horizonMs,
        s.velocity.maxUnits,
        s.velocity.confidence,
      )
    : 0;
  return availableToSell({ available, buffer: s.skuBuffers[offerSku] ?? s.buffer, velocityUnits });
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
    if (!Number.isFinite(available) || (l.masterAt[code] ?? -Infinity) > at) continue;
    const before = l.master[code];
    const after = Math.max(0, Math.trunc(available));
    if (before !== undefined && after < before)
      l.velocity[code] = recordSale(l.velocity[code], before - after, at, tau);
    l.master[code] = after;
    l.masterAt[code] = at;
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
  for (const [code, v] of Object.entries(l.velocity)) {
    if (velocityAt(v, now, tau) * s.velocity.horizonMs < 0.05) {
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
    if ((l.masterAt[code] ?? -Infinity) > readStartedAt) continue;
    const known = l.master[code];
    const value = Math.max(0, Math.trunc(available));
    if (known !== value) {
      if (known !== undefined) {
        report.drifted++;
        report.units += Math.abs(value - known);
        if (report.examples.length < 10) report.examples.push({ itemCode: code, loopline: known, master: value });
      }
      l.master[code] = value;
    }
    l.masterAt[code] = readStartedAt;
    // Also catches SKUs never pushed yet (the first read of a new channel sends everything once).
    refreshItem(l, s, code, now);
  }
  return report;
}

export type PushPriority = 'sell-out' | 'restock' | 'change';

export function priorityOf(l: Ledger, sku: string, quantity: number): PushPriority {
  const sent = l.sent[sku];
  if (quantity === 0 && sent !== 0) return 'sell-out';
  if (quantity > 0 && (sent === 0 || sent === undefined)) return 'restock';
  return 'change';
}

const RANK: Record<PushPriority, number> = { 'sell-out': 0, restock: 1, change: 2 };

export interface PushRow {
  offerSku: string;
  quantity: number;
  priority: PushPriority;
  since: number;
}

/** The next push: latest value per SKU, sell-outs first, then restocks, then the oldest changes. */
export function nextBatch(l: Ledger, maxRows: number): PushRow[] {
  const rows: PushRow[] = [];
  for (const [offerSku, p] of Object.entries(l.pending)) {
    if (l.rejected[offerSku]) continue;
    rows.push({ offerSku, quantity: p.quantity, priority: priorityOf(l, offerSku, p.quantity), since: p.since });
  }
  rows.sort((a, b) => RANK[a.priority] - RANK[b.priority] || a.since - b.since || (a.offerSku < b.offerSku ? -1 : 1));
  return rows.slice(0, Math.max(0, maxRows));
}

/** The target accepted these rows: they are what the channel shows (until an import report says otherwise). */
export function markSent(l: Ledger, rows: readonly PushRow[]): void {
  for (const r of rows) {
    l.sent[r.offerSku] = r.quantity;
    if (l.pending[r.offerSku]?.quantity === r.quantity) delete l.pending[r.offerSku];
  }
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

/** An operator fixed the offer or the mapping: push the SKU again. */
export function retryRejected(l: Ledger, s: LedgerSettings, offerSku: string, now: number): boolean {
  if (!l.rejected[offerSku]) return false;
  delete l.rejected[offerSku];
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
