// How each rate-limited system's documented budget is split (config), so a dashboard can put the calls actually
// made (loopline_api_calls_total) beside what each class of call may take: order-critical calls every lane the
// reads leave, reads at most their share (workflows/rate-budget.ts).
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/schema';
import { peoplevoxBudget } from '../config/budget';

export function registerBudgetMetrics(registry: Registry, config: Config): void {
  const pvx = config.systems.peoplevox;
  if (!pvx) return;
  const b = peoplevoxBudget(config);
  const gauge = new Gauge({
    name: 'loopline_budget_requests_per_second',
    help: 'Requests per second each class of call may make to a rate-limited system (the server-kept budget)',
    labelNames: ['system', 'queue', 'task_queue'] as const,
    registers: [registry],
  });
  gauge.set(
    { system: 'peoplevox', queue: 'order-critical', task_queue: config.temporal.taskQueues.peoplevox },
    b.requestsPerSecond,
  );
  gauge.set(
    { system: 'peoplevox', queue: 'bulk', task_queue: config.temporal.taskQueues.peoplevoxBulk },
    b.requestsPerSecond * (1 - b.slaShare),
  );
}
