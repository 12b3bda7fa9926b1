// Calls to the systems we integrate, by system, endpoint and outcome: what ops look at first when a
// marketplace or the warehouse misbehaves. Recorded by the connectors themselves (one place per
// system), in prom-client's default registry, which /metrics serves beside Loopline's other metrics.
import { Counter, Histogram } from 'prom-client';
import { ConnectorError } from '../connectors/errors';

export type CallOutcome = 'ok' | 'error' | 'rate_limited' | 'timeout' | 'transport';

const calls = new Counter({
  name: 'loopline_api_calls_total',
  help: 'Calls to external systems by system, endpoint (vendor operation name) and outcome',
  labelNames: ['system', 'endpoint', 'outcome'] as const,
});

const duration = new Histogram({
  name: 'loopline_api_call_duration_seconds',
  help: 'Duration of calls to external systems',
  labelNames: ['system', 'endpoint'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

export function outcomeOf(err: unknown): CallOutcome {
  if (err instanceof ConnectorError) {
    if (err.status === 429) return 'rate_limited';
    if (err.status === undefined) return /timeout|timed out/i.test(err.message) ? 'timeout' : 'transport';
    return 'error';
  }
  return 'error';
}

export function recordApiCall(system: string, endpoint: string, outcome: CallOutcome, ms: number): void {
  calls.inc({ system, endpoint, outcome });
  duration.observe({ system, endpoint }, ms / 1000);
}
