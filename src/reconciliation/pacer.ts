// A call budget over several sliding windows (TL02: 20 a minute and 60 an hour per shop). The activity asks
// how long to wait before its next call, waits, then records the call: the limits are respected by design,
// not discovered through 429s. One budget per shop per worker process; the Schedule's overlap policy (SKIP)
// keeps one reconciliation per deployment, so the process budget is the shop's budget (docs/reconciliation.md).
export interface Window {
  max: number;
  windowMs: number;
}

export class CallBudget {
  private calls: number[] = [];
  private readonly windows: Window[];

  /** `margin` widens every window a little so our clock and the server's need not agree to the millisecond. */
  constructor(windows: Window[], margin = 0.05) {
    if (windows.length === 0) throw new RangeError('at least one window');
    this.windows = windows.map((w) => ({ max: w.max, windowMs: Math.ceil(w.windowMs * (1 + margin)) }));
  }

  /** Milliseconds to wait before the next call may go (0: now). */
  waitMs(now = Date.now()): number {
    const longest = Math.max(...this.windows.map((w) => w.windowMs));
    while (this.calls.length > 0 && now - this.calls[0]! >= longest) this.calls.shift();
    let wait = 0;
    for (const w of this.windows) {
      const inWindow = this.calls.filter((t) => now - t < w.windowMs);
      if (inWindow.length >= w.max) {
        // The call that has to leave the window for one more to fit.
        const oldest = inWindow[inWindow.length - w.max]!;
        wait = Math.max(wait, oldest + w.windowMs - now);
      }
    }
    return wait;
  }

  /** A call goes now; returns its mark, for `ended`. */
  record(now = Date.now()): number {
    this.calls.push(now);
    return now;
  }

  /**
   * The call recorded at `sentAt` has ended: from now on it counts from its end. The server counted it when it
   * arrived, which a busy host or network makes any moment until then; only the end bounds that.
   */
  ended(sentAt: number, now = Date.now()): void {
    const i = this.calls.lastIndexOf(sentAt);
    if (i < 0) return;
    this.calls.splice(i, 1);
    this.calls.push(Math.max(sentAt, now));
    this.calls.sort((a, b) => a - b);
  }

  /** Calls recorded inside the last `windowMs`. */
  used(windowMs: number, now = Date.now()): number {
    return this.calls.filter((t) => now - t < windowMs).length;
  }
}

/** Mirakl's documented TL02 maximum: 20 calls a minute, 60 an hour. */
export const TL02_LIMITS = { perMinute: 20, perHour: 60 } as const;
