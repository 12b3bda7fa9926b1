// Client-side request pacing, so the Peoplevox limit (about 15 requests per 15 s) holds by construction.
// A token bucket of `burst` tokens refilled at `requestsPerSecond`; callers queue in order. Spacing is
// measured with the wall clock and re-checked after each timer, so a timer firing early never lets a
// request out early. A small safety margin keeps "1 request/s" strictly inside "15 per 15 s" even with
// network jitter.
export const PACER_SAFETY_MARGIN = 1.02;

export class RequestPacer {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();
  private readonly intervalMs: number;

  constructor(
    readonly requestsPerSecond: number,
    readonly burst = 1,
    private readonly now: () => number = Date.now,
  ) {
    if (!(requestsPerSecond > 0)) throw new RangeError('requestsPerSecond must be positive');
    if (!(burst >= 1)) throw new RangeError('burst must be at least 1');
    this.intervalMs = (1000 / requestsPerSecond) * PACER_SAFETY_MARGIN;
    this.tokens = burst;
    this.last = now();
  }

  private refill() {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (t - this.last) / this.intervalMs);
    this.last = t;
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    const turn = this.chain.then(async () => {
      for (;;) {
        this.refill();
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil((1 - this.tokens) * this.intervalMs))));
      }
    });
    this.chain = turn.catch(() => undefined);
    return turn;
  }
}
