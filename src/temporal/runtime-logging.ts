// Installs the Temporal SDK runtime: routes its own logs (worker lifecycle, activity failures) into our pino logger at
// warning level and above, so sandbox output stays readable and production logs stay JSON.
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

export function installTemporalLogging(
  log: Logger,
  level: LogLevel = 'WARN',
  opts: { metricsBindAddress?: string } = {},
): void {
  const sdk = log.child({ component: 'temporal-sdk' });
  try {
    Runtime.install({
      // Worker metrics (task slots, poll latencies, completions) in Prometheus format, when asked.
      ...(opts.metricsBindAddress
        ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.metricsBindAddress } } } }
        : {}),
      logger: new DefaultLogger(level, (entry) => {
        const meta = { ...(entry.meta ?? {}) } as Record<string, unknown>;
        const err = meta.error as Error | undefined;
        if (err) meta.error = err.message;
        const fn =
          entry.level === 'ERROR'
            ? sdk.error.bind(sdk)
            : entry.level === 'WARN'
              ? sdk.warn.bind(sdk)
              : sdk.info.bind(sdk);
        fn(meta, entry.message);
      }),
    });
  } catch {
    // A Runtime was installed already (tests): keep it.
  }
}
