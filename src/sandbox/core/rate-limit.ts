// Documented call-frequency limits, enforced by the simulators so that a client that exceeds them is
// caught by tests rather than by a real marketplace. `timeScale` shrinks windows for fast test runs
// (a scale of 60 turns "once a minute" into "once a second").
export class SlidingWindowLimit {
  private hits: number[] = [];
  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Records the call if allowed; returns the seconds to wait when not. */
  take(now = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    while (this.hits.length > 0 && now - this.hits[0]! >= this.windowMs) this.hits.shift();
    if (this.hits.length >= this.max) {
      const waitMs = this.windowMs - (now - this.hits[0]!);
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    this.hits.push(now);
    return { ok: true };
  }

  /** Gives back the call recorded at `at` (a call refused after all: it never counted). */
  release(at: number): void {
    const i = this.hits.lastIndexOf(at);
    if (i >= 0) this.hits.splice(i, 1);
  }
}

export class RateLimits {
  private limits = new Map<string, SlidingWindowLimit>();
  constructor(private readonly timeScale = 1) {}

  /** key is e.g. `asos:OR11`; the limit is created on first use. */
  take(key: string, max: number, windowMs: number, now = Date.now()) {
    let l = this.limits.get(key);
    if (!l) {
      l = new SlidingWindowLimit(max, Math.max(1, Math.round(windowMs / this.timeScale)));
      this.limits.set(key, l);
    }
    return l.take(now);
  }

  /** Gives back a call `take` recorded at `at` under `key`. */
  release(key: string, at: number): void {
    this.limits.get(key)?.release(at);
  }

  reset(): void {
    this.limits.clear();
  }
}
