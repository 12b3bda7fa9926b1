// Stock sync health as Prometheus metrics: read from each channel's inventory workflow (health query)
// at scrape time, so the HTTP process needs no state of its own.
import type { Client } from '@temporalio/client';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/schema';
import { inventoryWorkflowId } from './keys';
import { stockChannels } from './intake';
import type { InventoryHealth } from '../../workflows/inventory';
import { healthQuery } from '../../workflows/inventory';

export function registerInventoryMetrics(registry: Registry, client: Client, config: Config): void {
  const labelNames = ['channel'] as const;
  const read = async () => {
    const out: InventoryHealth[] = [];
    for (const ch of stockChannels(config)) {
      try {
        out.push(await client.workflow.getHandle(inventoryWorkflowId(ch, config.temporal.idScope)).query(healthQuery));
      } catch {
        // Not running yet: no sample for this channel.
      }
    }
    return out;
  };
  let cache: { at: number; value: Promise<InventoryHealth[]> } | undefined;
  // One query per channel per scrape, shared by every gauge.
  const healths = () => {
    if (!cache || Date.now() - cache.at > 1000) cache = { at: Date.now(), value: read() };
    return cache.value;
  };
  const gauge = (name: string, help: string, pick: (h: InventoryHealth) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const h of await healths()) this.set({ channel: h.channel }, pick(h));
      },
    });
  gauge('loopline_stock_sync_age_seconds', 'Seconds since the last successful stock push', (h) => h.syncAgeMs / 1000);
  gauge(
    'loopline_stock_oldest_pending_seconds',
    'Age of the oldest stock change not yet pushed',
    (h) => h.oldestPendingMs / 1000,
  );
  gauge('loopline_stock_pending_skus', 'SKUs whose new quantity waits for the next push', (h) => h.pendingCount);
  gauge('loopline_stock_failed_pushes_total', 'Stock pushes that failed after retries', (h) => h.failedPushes);
  gauge('loopline_stock_pushes_total', 'Stock pushes accepted by the channel', (h) => h.pushes);
  gauge(
    'loopline_stock_rejected_skus',
    'SKUs the channel rejected (merchandising exceptions)',
    (h) => h.rejected.length,
  );
  gauge(
    'loopline_stock_last_drift_units',
    'Units of drift the last full read corrected',
    (h) => h.lastDrift?.units ?? 0,
  );
  gauge('loopline_stock_events_total', 'Master stock events received', (h) => h.eventsReceived);
}
