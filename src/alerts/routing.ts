// Which alerts go out: one per incident (a key raised inside the dedupe window is a duplicate), and many
// exceptions of one reason on one channel become one burst alert. Pure and deterministic (time is passed in),
// so it runs both in a process's alert sink and in the alert router workflow, which applies it once for every
// worker process (workflows/alerts.ts).
import type { Alert } from './alerts';

export interface RoutingOptions {
  dedupeMs: number;
  /** `threshold` exceptions of one reason on one channel within `windowMs` → one burst alert. */
  burst?: { threshold: number; windowMs: number };
}

interface Burst {
  times: number[];
  active?: { key: string; lastAt: number; count: number };
}

/** What the routing remembers: carried across the router workflow's continue-as-new. */
export interface RoutingSnapshot {
  seen: Array<[string, number]>;
  bursts: Array<[string, Burst]>;
}

export type RouteResult =
  | { outcome: 'duplicate' }
  /** Part of a running burst: counted in it, not sent on its own. */
  | { outcome: 'absorbed'; burstKey: string; count: number }
  /** Send `alert` (the alert itself, or the burst alert it started). */
  | { outcome: 'send'; alert: Alert; startedBurst: boolean };

const BURST_HINTS: Record<string, string> = {
  SKU_UNMAPPED: 'likely a catalogue change',
  CARRIER_UNMAPPED: 'likely a new carrier in the warehouse',
  SYSTEM_UNAVAILABLE: 'likely an outage',
  WMS_REJECTED: 'likely a warehouse configuration change',
  CURRENCY_MISMATCH: 'likely a channel configuration change',
};

export function burstMessage(channel: string, reason: string, count: number, windowMs: number): string {
  const minutes = Math.round(windowMs / 60_000);
  const hint = BURST_HINTS[reason] ?? 'likely one cause: fix it once, then retry them together';
  return `${count} orders parked with ${reason} on ${channel} in the last ${minutes} minutes — ${hint}. Further ${reason} exceptions on ${channel} are held back while the burst lasts; see the exception queue.`;
}

export class AlertRouting {
  private readonly seen: Map<string, number>;
  private readonly bursts: Map<string, Burst>;
  private lastPrune = -Infinity;

  constructor(
    private readonly opts: RoutingOptions,
    snapshot?: RoutingSnapshot,
  ) {
    this.seen = new Map(snapshot?.seen ?? []);
    this.bursts = new Map(snapshot?.bursts ?? []);
  }

  /** Whether `key` was raised inside the dedupe window (a retry of the same incident). */
  known(key: string, now: number): boolean {
    const at = this.seen.get(key);
    return at !== undefined && now - at < this.opts.dedupeMs;
  }

  route(alert: Alert, now: number): RouteResult {
    this.prune(now);
    if (this.known(alert.key, now)) return { outcome: 'duplicate' };
    this.seen.set(alert.key, now);
    const cfg = this.opts.burst;
    if (!cfg || alert.kind !== 'exception' || !alert.reason) return { outcome: 'send', alert, startedBurst: false };
    const bk = `${alert.channel}:${alert.reason}`;
    const b = this.bursts.get(bk) ?? { times: [] };
    this.bursts.set(bk, b);
    b.times = b.times.filter((x) => now - x < cfg.windowMs);
    b.times.push(now);
    if (b.active && now - b.active.lastAt < cfg.windowMs) {
      b.active.lastAt = now;
      b.active.count += 1;
      return { outcome: 'absorbed', burstKey: b.active.key, count: b.active.count };
    }
    b.active = undefined;
    if (b.times.length < cfg.threshold) return { outcome: 'send', alert, startedBurst: false };
    const key = `burst:${alert.channel}:${alert.reason}:${now}`;
    b.active = { key, lastAt: now, count: b.times.length };
    this.seen.set(key, now);
    return {
      outcome: 'send',
      startedBurst: true,
      alert: {
        key,
        kind: 'burst',
        channel: alert.channel,
        reason: alert.reason,
        owner: alert.owner,
        message: burstMessage(alert.channel, alert.reason, b.times.length, cfg.windowMs),
      },
    };
  }

  /** Forgets incidents older than the dedupe window and bursts that have ended (at most once a minute). */
  prune(now: number, force = false): void {
    if (!force && now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    for (const [k, at] of this.seen) if (now - at >= this.opts.dedupeMs) this.seen.delete(k);
    const cfg = this.opts.burst;
    if (!cfg) return;
    for (const [k, b] of this.bursts) {
      b.times = b.times.filter((x) => now - x < cfg.windowMs);
      if (b.active && now - b.active.lastAt >= cfg.windowMs) b.active = undefined;
      if (b.times.length === 0 && !b.active) this.bursts.delete(k);
    }
  }

  snapshot(now: number): RoutingSnapshot {
    this.prune(now, true);
    return { seen: [...this.seen], bursts: [...this.bursts] };
  }

  size(): number {
    return this.seen.size;
  }
}
