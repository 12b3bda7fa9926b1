// The Temporal client's gRPC retries, with the connection's close in view.
//
// The SDK's retry interceptor (makeGrpcRetryInterceptor) waits for a failed call's next attempt on a timer that
// closing the connection does not clear; the attempt then starts on a closed channel and throws "Channel has been
// shut down" from that timer: an uncaught exception that fails a test file after all its tests passed. It happens
// when a worker's shutdown leaves an activity's client call in its backoff (CI failed on this twice in
// test/ops/dashboard.browser.test.ts and once in test/inventory/push-routed-wait.test.ts; the same mechanism is traced
// in vinceblank/agent-tempo#624). With this plugin on a connection, `settle()` stops planning new retries and waits out
// the ones already planned; a connection closed after it has no retry left to start.
import {
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ConnectionOptions,
  type ConnectionPlugin,
} from '@temporalio/client';

export interface RetriesUntilClose extends ConnectionPlugin {
  /** No retry is planned from now on; resolves once every retry already planned has started (at most `maxWaitMs`). */
  settle(maxWaitMs?: number): Promise<void>;
  /** Retries planned so far (for the test of this plugin). */
  readonly planned: number;
}

export function retriesUntilClose(): RetriesUntilClose {
  const defaults = defaultGrpcRetryOptions();
  let closing = false;
  let planned = 0;
  /** When the latest retry already planned starts. */
  let lastStartAt = 0;
  return {
    name: 'loopline-test-retries-until-close',
    get planned() {
      return planned;
    },
    configureConnection(options: ConnectionOptions): ConnectionOptions {
      return {
        ...options,
        interceptors: [
          makeGrpcRetryInterceptor({
            retryableDecider: (attempt, status) => !closing && defaults.retryableDecider(attempt, status),
            delayFunction: (attempt, status) => {
              const ms = defaults.delayFunction(attempt, status);
              planned++;
              lastStartAt = Math.max(lastStartAt, Date.now() + ms);
              return ms;
            },
          }),
        ],
      };
    },
    async settle(maxWaitMs = 15_000) {
      closing = true;
      const wait = Math.min(maxWaitMs, lastStartAt - Date.now());
      // The timer's callback runs after its due time; a little past it, the attempt has started.
      if (wait > -50) await new Promise((r) => setTimeout(r, Math.max(0, wait) + 50));
    },
  };
}
