// Rate budgets of the systems Loopline calls. Peoplevox's (about 15 requests in any 15 s) is kept by the Temporal
// server for every replica together: one budget workflow (workflows/rate-budget.ts) leases its lanes to the
// processes, order-critical calls first, reads at most their share. The task-queue rates below only stop more
// activities being handed out than the budget could serve; the lanes are what hold the limit. Shopify's cost
// bucket is kept the same way, its lanes being cost points (shopifyBudget below).
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

/**
 * The Shopify budget of the shop (systems.shopify.bucket; restore rate time-scaled in the sandbox) as the lease terms
 * of its shared budget (workflows/rate-budget.ts): lanes of cost points, not calls, because a query's cost varies
 * from 1 point (the shop) to about 900 (a page of 50 inventory items).
 *
 * The window is the time the bucket takes to refill from empty (maximumAvailable / restoreRate: 20 s on Standard).
 * If the calls arriving in any such window cost at most P ≤ maximumAvailable points together, the bucket never
 * falls below maximumAvailable − P: over any stretch since it was last full it has restored restoreRate × t and been
 * charged at most P × ⌈t / window⌉ ≤ restoreRate × t + P. So the lanes lease out `leaseShare` of the bucket per
 * window (a window `marginMs` longer, as for Peoplevox), in units of `pointsPerLane` points (at most 200 lanes), and
 * however many replicas call, together they never meet an empty bucket; the rest of the bucket absorbs calls
 * made outside the budget (a CLI command, the go-live probe). A long window lets one call use a big part of the
 * bucket (a whole page of stock), and the average rate is still the restore rate.
 */
export function shopifyBudget(config: Config, timeScale = 1) {
  const b = config.systems.shopify?.bucket ?? {
    maximumAvailable: 2000,
    restoreRate: 100,
    leaseShare: 0.9,
    readShare: 0.5,
  };
  const restorePerSecond = b.restoreRate * timeScale;
  const windowMs = (b.maximumAvailable / restorePerSecond) * 1000;
  const pointsPerWindow = Math.floor(b.maximumAvailable * b.leaseShare);
  const pointsPerLane = Math.max(1, Math.ceil(pointsPerWindow / 200));
  const marginMs = Math.max(0.05 * windowMs, 25);
  const terms = {
    lanes: Math.floor(pointsPerWindow / pointsPerLane),
    windowMs: windowMs + marginMs,
    readShare: b.readShare,
    leaseMs: Math.max(30_000 / timeScale, 2_000),
    graceMs: 500,
  };
  return {
    maximumAvailable: b.maximumAvailable,
    restorePerSecond,
    windowMs,
    pointsPerLane,
    terms,
    /** The lanes a call of `cost` points takes. */
    lanesFor: (cost: number) => Math.max(1, Math.ceil(cost / pointsPerLane)),
    /**
     * The most points one holder of a class can ever be lent in a window (rate-budget-client classLanes): reads
     * page below a part of it, so a read never needs every lane of its class while another replica holds some.
     */
    classPoints: (callClass: 'priority' | 'share') => {
      const readLanes = Math.max(1, Math.floor(terms.lanes * terms.readShare));
      return (callClass === 'share' ? readLanes : Math.max(1, terms.lanes - readLanes)) * pointsPerLane;
    },
  };
}
