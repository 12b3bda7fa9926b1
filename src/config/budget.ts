// Rate budgets of the systems Loopline calls. Peoplevox's (about 15 requests in any 15 s) is kept by the Temporal
// server for every replica together: one budget workflow (workflows/rate-budget.ts) leases its lanes to the
// processes, order-critical calls first, reads at most their share. The task-queue rates below only stop more
// activities being handed out than the budget could serve; the lanes are what hold the limit.
import type { Config } from './schema';

/** Peoplevox's documented window: about 15 requests per 15 seconds (docs/contracts.md). */
export const PEOPLEVOX_WINDOW_MS = 15_000;

/**
 * The Peoplevox budget (requests per second, time-scaled in the sandbox) as the lease terms of its shared budget
 * (workflows/rate-budget.ts) and task-queue rates. The documented limit is `maxPerWindow` calls in any `windowMs`:
 * that many lanes; each holder keeps its calls inside a window `marginMs` longer, so the calls' travel can never
 * squeeze more than the limit into a documented window.
 */
export function peoplevoxBudget(config: Config, timeScale = 1) {
  const pvx = config.systems.peoplevox;
  const requestsPerSecond = (pvx?.requestsPerSecond ?? 1) * timeScale;
  const slaShare = pvx?.budget.slaShare ?? 0.7;
  const windowMs = PEOPLEVOX_WINDOW_MS / timeScale;
  const maxPerWindow = Math.max(1, Math.round((requestsPerSecond * windowMs) / 1000));
  const marginMs = Math.max(0.05 * windowMs, 25);
  const terms = {
    lanes: maxPerWindow,
    windowMs: windowMs + marginMs,
    readShare: 1 - slaShare,
    // Renewed every third of it; a killed process's lanes are handed on a lease and a window later.
    leaseMs: Math.max(30_000 / timeScale, 2_000),
    graceMs: 500,
  };
  const lanesPerSecond = (terms.lanes * 1000) / terms.windowMs;
  return {
    requestsPerSecond,
    slaShare,
    windowMs,
    maxPerWindow,
    terms,
    /** Activities handed out per second at most: each makes at least one call, so no more than the lanes allow. */
    slaActivitiesPerSecond: lanesPerSecond,
    bulkActivitiesPerSecond: Math.max(lanesPerSecond * (1 - slaShare), 1000 / terms.windowMs),
  };
}
