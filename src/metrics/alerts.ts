// Alert delivery that failed even after the sink's own retries: alerting is best-effort (it never fails or holds
// up an order), so this counter and the error log line are how ops learn that a sink is down.
import { Counter } from 'prom-client';

export const alertFailures = new Counter({
  name: 'loopline_alert_delivery_failures_total',
  help: 'Alerts that could not be delivered to every sink (after the sink retries), by alert kind',
  labelNames: ['kind'] as const,
});
