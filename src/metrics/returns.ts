// Returns metrics recorded where the work happens (worker processes), in prom-client's default registry which
// /metrics serves (like the API-call counters): refund latency from the trigger (the returns platform's
// decision, the warehouse receipt, the marketplace's received) to the marketplace accepting the refund, and
// restock propagation from the restock decision to the stock push that carries it. Returns by state are
// read from Temporal at scrape time (src/metrics/orders.ts).
import { Counter, Histogram } from 'prom-client';

export const refundLatency = new Histogram({
  name: 'loopline_refund_latency_seconds',
  help: 'Return refunds: from the trigger (returns platform decision, warehouse receipt, marketplace received) to the marketplace accepting the refund',
  labelNames: ['channel'] as const,
  buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
});

export const restockPropagation = new Histogram({
  name: 'loopline_restock_propagation_seconds',
  help: 'Restocks from returns: from the restock decision to the stock push (STO01) that carries the SKU',
  labelNames: ['channel'] as const,
  buckets: [0.5, 1, 2, 5, 10, 30, 60, 90, 120, 300, 900],
});

export const returnEvents = new Counter({
  name: 'loopline_return_events_total',
  help: 'Return notices received, by source (marketplace, reveni, warehouse) and outcome (handed over, started standalone, duplicate, ignored)',
  labelNames: ['source', 'outcome'] as const,
});
