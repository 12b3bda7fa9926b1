// Despatch callbacks (Peoplevox TrackingNumberReceived) only bring the warehouse gateway's next despatch read
// forward, with a hint signal; the read finds every despatch since the last. One hint signal per callback was a
// signal-with-start, a history event and a workflow task of the gateway each (bench:orders: 1.7 an order). Hints
// sent close together say nothing more than one: the gateway reads at most once a minimum gap anyway.
//
// So a process's hints share sends. A callback is answered once a hint sent after it arrived has reached Temporal:
// callbacks that arrive before the next send starts share it; sends follow one another, no closer than `spacingMs`
// (at most the gateway's minimum gap, so no read comes later for it); a send that fails fails the callbacks that
// shared it (they answer 503 and Peoplevox calls again), and the next callback tries afresh.

/** A function to call per callback: resolves once a hint sent after the call has been delivered. */
export function hintCoalescer(send: () => Promise<void>, spacingMs: number): () => Promise<void> {
  /** The next send, not started yet (every hint until it starts shares it), and which one it is. */
  let waiting: Promise<void> | undefined;
  let waitingId: object | undefined;
  /** The latest send scheduled (waiting, or started; settled or not). */
  let last: Promise<void> = Promise.resolve();
  let lastStartedAt = -Infinity;
  return () => {
    if (waiting) return waiting;
    const before = last;
    const id = {};
    const done = (async () => {
      await before.catch(() => undefined);
      const wait = lastStartedAt + spacingMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // From here on a new hint needs a later send: this one may already be on its way.
      if (waitingId === id) {
        waiting = undefined;
        waitingId = undefined;
      }
      lastStartedAt = Date.now();
      await send();
    })();
    waiting = done;
    waitingId = id;
    last = done;
    return done;
  };
}
