// Rate budgets of the systems Loopline calls, as the task-queue rates that hold them for every replica together.
import type { Config } from './schema';

/** Calls a Peoplevox activity makes at most; each queue's rate is its share of the budget divided by it. */
export const PEOPLEVOX_CALLS_PER_ACTIVITY = 3;

/**
 * The Peoplevox budget (requests per second, time-scaled in the sandbox) split between the order-critical queue
 * and the bulk-read queue, as task-queue rates (activities per second) the Temporal server enforces.
 */
export function peoplevoxBudget(config: Config, timeScale = 1) {
  const pvx = config.systems.peoplevox;
  const requestsPerSecond = (pvx?.requestsPerSecond ?? 1) * timeScale;
  const slaShare = pvx?.budget.slaShare ?? 0.7;
  return {
    requestsPerSecond,
    slaShare,
    slaActivitiesPerSecond: (requestsPerSecond * slaShare) / PEOPLEVOX_CALLS_PER_ACTIVITY,
    bulkActivitiesPerSecond: (requestsPerSecond * (1 - slaShare)) / PEOPLEVOX_CALLS_PER_ACTIVITY,
  };
}
