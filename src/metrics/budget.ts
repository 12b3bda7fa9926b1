// How each rate-limited system's documented budget is split between task queues (config), so a dashboard can
// put the calls actually made (loopline_api_calls_total) beside what each share allows.
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/schema';
import { peoplevoxBudget } from '../config/budget';

export function registerBudgetMetrics(registry: Registry, config: Config): void {
  const pvx = config.systems.peoplevox;
  if (!pvx) return;
  const b = peoplevoxBudget(config);
  const gauge = new Gauge({
    name: 'loopline_budget_requests_per_second',
    help: 'Requests per second each task queue may make to a rate-limited system (its share of the budget)',
    labelNames: ['system', 'queue', 'task_queue'] as const,
    registers: [registry],
  });
  gauge.set(
    { system: 'peoplevox', queue: 'order-critical', task_queue: config.temporal.taskQueues.peoplevox },
    b.requestsPerSecond * b.slaShare,
  );
  gauge.set(
    { system: 'peoplevox', queue: 'bulk', task_queue: config.temporal.taskQueues.peoplevoxBulk },
    b.requestsPerSecond * (1 - b.slaShare),
  );
}
