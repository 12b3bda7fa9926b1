// The latest moment an activity attempt may still send a write whose answer it must hear. Temporal retries an
// attempt that outlives its start-to-close timeout; the retry looks for what the first attempt wrote before it
// writes again. A first attempt that waited (for a rate-budget lane, the cost bucket, a free connection) until
// after its retry had looked, and only then sent its write, would make a second copy: the look-before-write
// holds only if no attempt sends after its own deadline, less the time the request itself may take.
import { Context } from '@temporalio/activity';

/** Room left for the answer and for the worker to report it, beyond the request's own timeout. */
const MARGIN_MS = 2_000;

/**
 * The time after which this attempt must not send a request that may take up to `requestTimeoutMs`, or
 * undefined outside an activity (a CLI call, a test calling the function directly) or without a timeout.
 * Measured from when the attempt was scheduled, which is no later than when it started: never too late.
 */
export function attemptSendBy(requestTimeoutMs: number): number | undefined {
  let info: Context['info'];
  try {
    info = Context.current().info;
  } catch {
    return undefined;
  }
  const limit = info.startToCloseTimeoutMs || info.scheduleToCloseTimeoutMs;
  if (!(limit > 0)) return undefined;
  return info.currentAttemptScheduledTimestampMs + limit - requestTimeoutMs - MARGIN_MS;
}
