// Rate budgets of the systems Loopline calls. Peoplevox's (about 15 requests in any 15 s) is kept by the Temporal
// server for every replica together: every request takes a slot from one budget workflow (workflows/rate-budget.ts),
// order-critical calls first, reads at most their share. The task-queue rates below only stop more activities
// being handed out than the budget could serve; the slots are what hold the limit.
import type { Config } from './schema';

/** Peoplevox's documented window: about 15 requests per 15 seconds (docs/contracts.md). */
export const PEOPLEVOX_WINDOW_MS = 15_000;

/**
 * The Peoplevox budget (requests per second, time-scaled in the sandbox) as slot terms and task-queue rates.
 * `maxPerWindow` is the documented limit the slots keep in any window; the slot interval is window / (max − 1)
 * so a slot used a little late still keeps it (src/temporal/rate-budget-client.ts).
 */
export function peoplevoxBudget(config: Config, timeScale = 1) {
  const pvx = config.systems.peoplevox;
  const requestsPerSecond = (pvx?.requestsPerSecond ?? 1) * timeScale;
  const slaShare = pvx?.budget.slaShare ?? 0.7;
  const windowMs = PEOPLEVOX_WINDOW_MS / timeScale;
  const maxPerWindow = Math.max(2, Math.round((requestsPerSecond * windowMs) / 1000));
  const intervalMs = windowMs / (maxPerWindow - 1);
  const slotsPerSecond = 1000 / intervalMs;
  return {
    requestsPerSecond,
    slaShare,
    windowMs,
    maxPerWindow,
    /** Slot terms: reads (the share class) hold at most 1 − slaShare of the slots. */
    terms: { intervalMs, shareOfBudget: 1 - slaShare },
    slaActivitiesPerSecond: slotsPerSecond,
    bulkActivitiesPerSecond: slotsPerSecond * (1 - slaShare),
  };
}
