// Order-level metrics read from Temporal visibility at scrape time (cached briefly): orders by state,
// open exceptions by reason and owner, and the smallest margin to an acceptance or shipping deadline
// among running orders. The HTTP process keeps no state of its own.
import type { Client } from '@temporalio/client';
import { Gauge, type Registry } from 'prom-client';
import { createOpsService } from '../ops/service';

export function registerOrderMetrics(registry: Registry, client: Client, opts: { cacheMs?: number } = {}): void {
  const ops = createOpsService(client);
  const cacheMs = opts.cacheMs ?? 10_000;
  type Snapshot = Awaited<ReturnType<typeof read>>;
  let cache: { at: number; value: Promise<Snapshot> } | undefined;
  async function read() {
    const [counts, exceptions, risk, failed, returns] = await Promise.all([
      ops.counts(),
      ops.list({ exceptionsOnly: true, limit: 5000 }),
      ops.atRisk(14 * 24 * 3600_000, 500),
      ops.failedRuns({ limit: 500 }),
      ops.returnCounts(),
    ]);
    return { counts, exceptions, risk, failed, returns };
  }
  const snapshot = () => {
    if (!cache || Date.now() - cache.at > cacheMs) {
      const value = read();
      // A failed read (Temporal unreachable) must not stick in the cache.
      value.catch(() => (cache = undefined));
      cache = { at: Date.now(), value };
    }
    return cache.value;
  };

  new Gauge({
    name: 'loopline_orders',
    help: 'Running order workflows by OrderStatus (EXCEPTION = parked for a person)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const s = await snapshot().catch(() => undefined);
      for (const [status, n] of Object.entries(s?.counts.byStatus ?? {})) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'loopline_failed_runs',
    help: 'Workflows whose latest run ended FAILED, TERMINATED or TIMED_OUT (not restarted), by type and how it ended',
    labelNames: ['type', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const s = await snapshot().catch(() => undefined);
      const counts = new Map<string, number>();
      for (const r of s?.failed ?? []) {
        const key = `${r.type}\u0000${r.closeStatus}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, n] of counts) {
        const [type, status] = key.split('\u0000') as [string, string];
        this.set({ type, status }, n);
      }
    },
  });
  new Gauge({
    name: 'loopline_exceptions',
    help: 'Open exceptions by reason and owner',
    labelNames: ['reason', 'owner'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const s = await snapshot().catch(() => undefined);
      const counts = new Map<string, number>();
      for (const r of s?.exceptions ?? []) {
        const key = `${r.reason ?? 'UNKNOWN'}\u0000${r.owner ?? 'ops'}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, n] of counts) {
        const [reason, owner] = key.split('\u0000') as [string, string];
        this.set({ reason, owner }, n);
      }
    },
  });
  new Gauge({
    name: 'loopline_returns',
    help: 'Running return workflows by state (RETURN_REQUESTED … RETURN_REFUNDED, EXCEPTION = parked for a person)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const s = await snapshot().catch(() => undefined);
      for (const [state, n] of Object.entries(s?.returns ?? {})) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'loopline_deadline_margin_seconds',
    help: 'Smallest time left before an acceptance or shipping deadline among running orders (negative: missed)',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const s = await snapshot().catch(() => undefined);
      for (const kind of ['acceptance', 'shipping']) {
        const margins = (s?.risk ?? []).filter((r) => r.risk === kind).map((r) => r.marginMs);
        if (margins.length > 0) this.set({ kind }, Math.min(...margins) / 1000);
      }
    },
  });
}
