// Temporal SDK logging for fault runs: with faults injected on purpose, every retried activity attempt logs
// "Activity failed" at WARN, thousands of times in a 1,000-order run. Those are counted instead of printed;
// every other warning and error still shows. Import this module before anything that installs a Runtime
// (test/support/temporal.ts keeps an already-installed one).
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { scanSdkEntry } from '../../test/support/scan-log';

let activityFailures = 0;

/** Activity attempts that failed (and were retried by Temporal) since the process started. */
export function activityFailureCount(): number {
  return activityFailures;
}

try {
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      // Into Loopline's (redacting) logger too, where the tests' log scan reads it (test/support/scan-log.ts).
      scanSdkEntry(entry);
      if (entry.message === 'Activity failed') {
        activityFailures += 1;
        return;
      }
      const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
      process.stderr.write(`${at} [${entry.level}] ${entry.message} ${JSON.stringify(entry.meta ?? {})}\n`);
    }),
  });
} catch {
  // A Runtime was installed already: keep it.
}
