// Where stock is pushed, and how often each target allows it. The inventory workflow is generic over a
// target: it asks the target's documented limit how many rows it may send now and when it may send
// again; the pushStock activity hands the rows to the target's connector.
//   mirakl       STO01, one call a minute per shop, a whole CSV file per call, applied asynchronously
//                (followed with STO02, rejected rows read from STO03). OF24 is never used for stock: it
//                resets every offer field that is not sent.
//   marketplacer variantUpdate countOnHand, one variant per request, applied synchronously, then read back
//                (one `nodes` call a push): within the channel's stock share of its key's budget (config
//                marketplacer.requestsPer10Seconds × stockShare; Marketplacer allows 750 / 10 s per key and 600
//                per source address), so the limit is per channel: marketplacerStockLimit.
//   shopify      inventorySetQuantities, cost-based GraphQL throttle (not built yet).
// Whatever the target, rows go only to offer SKUs the channel lists (src/inventory/listing.ts): pushStock
// leaves the others out and the ledger stops queueing them.
export type StockTargetPlatform = 'mirakl' | 'marketplacer' | 'shopify';

export interface StockPushLimit {
  /** At most `calls` calls in any `windowMs`. */
  calls: number;
  windowMs: number;
  /** SKUs one call can carry. */
  rowsPerCall: number;
  /** The platform applies asynchronously and reports rejected rows later (import id to follow). */
  followImports: boolean;
  /** Status checks of an import: at most one per this many ms (Mirakl STO02: once every 15 s). */
  importStatusEveryMs?: number;
  /** Error reports: at most one per this many ms (Mirakl STO03: once a minute). */
  importErrorsEveryMs?: number;
  /** Calls every push makes besides its rows (Marketplacer: the read-back). */
  extraCallsPerPush?: number;
}

/** After a push to a target that applies at once: did the marketplace show what was sent? */
export interface ReadBackReport {
  checked: number;
  /** Rows whose count, read back right after the push, is not what was sent. */
  differing: number;
  sample: Array<{ offerSku: string; sent: number; shown: number | null }>;
}

/** Variants on the channel that no master item code feeds (no SKU, or a SKU the master does not have). */
export interface UnmappedVariantsReport {
  count: number;
  sample: string[];
  /** Changes when the set changes (one alert per distinct set). */
  fingerprint: string;
}

/**
 * A Marketplacer channel's stock limit: its stock share of the key's budget per 10 s, one variant per call, one
 * read-back call per push.
 */
export function marketplacerStockLimit(requestsPer10Seconds: number, stockShare: number): StockPushLimit {
  return {
    calls: Math.max(2, Math.floor(requestsPer10Seconds * stockShare)),
    windowMs: 10_000,
    rowsPerCall: 1,
    followImports: false,
    extraCallsPerPush: 1,
  };
}

export const STOCK_PUSH_LIMITS: Record<StockTargetPlatform, StockPushLimit> = {
  mirakl: {
    calls: 1,
    windowMs: 60_000,
    rowsPerCall: 10_000,
    followImports: true,
    importStatusEveryMs: 15_000,
    importErrorsEveryMs: 60_000,
  },
  marketplacer: { calls: 750, windowMs: 10_000, rowsPerCall: 1, followImports: false },
  shopify: { calls: 2, windowMs: 1_000, rowsPerCall: 250, followImports: false },
};

/** Rows one push may carry: the configured cap, and what the target's window allows at once. */
export function rowsPerPush(limit: StockPushLimit, configuredMax: number): number {
  const calls = limit.calls - (limit.extraCallsPerPush ?? 0);
  return Math.max(1, Math.min(configuredMax, calls * limit.rowsPerCall));
}

/**
 * How long after a push ends the next may start: never sooner than the configured interval, and long
 * enough that the calls this push used have left the target's window (a token bucket refilling at
 * calls/windowMs). `margin` absorbs clock and network jitter so the target never sees two calls closer
 * than its window.
 */
export function nextPushDelayMs(
  limit: StockPushLimit,
  rowsSent: number,
  configuredIntervalMs: number,
  timeScale = 1,
  marginMs = 0,
): number {
  const calls = Math.max(1, Math.ceil(rowsSent / limit.rowsPerCall)) + (limit.extraCallsPerPush ?? 0);
  const byLimit = (calls * limit.windowMs) / limit.calls / timeScale;
  return Math.max(configuredIntervalMs, byLimit) + marginMs;
}

/**
 * Aligning a push with the intake. Orders reach Loopline when a channel's intake polls (reservations,
 * then allocations), so the stock shown everywhere is most current just after a poll. When the window
 * opens shortly before a poll is due (within `holdMaxMs`), waiting for that poll costs little latency and
 * carries its orders to every channel a whole window sooner. Returns when to push at the latest (the
 * poll's expected time plus `graceMs`), or undefined to push now. A channel whose intake has not been seen
 * for three intervals is not waited for.
 */
export function intakeHoldUntil(
  now: number,
  lastIntakeAt: Readonly<Record<string, number>>,
  intervalMs: Readonly<Record<string, number>>,
  holdMaxMs: number,
  graceMs: number,
): number | undefined {
  let next = Infinity;
  for (const [channel, last] of Object.entries(lastIntakeAt)) {
    const every = intervalMs[channel];
    if (!every || every <= 0 || now - last > 3 * every) continue;
    const expected = last + Math.max(1, Math.ceil((now - last) / every)) * every;
    next = Math.min(next, expected);
  }
  if (!Number.isFinite(next) || next - now > holdMaxMs) return undefined;
  return next + graceMs;
}
