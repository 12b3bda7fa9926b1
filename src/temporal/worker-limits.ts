// Limits every worker that runs workflows shares.
import type { WorkerOptions } from '@temporalio/worker';

/**
 * How long one workflow activation may run in the worker's isolate before the SDK calls it a deadlock (the SDK's
 * default is 5 s). The limit is wall-clock time, enforced with Node's vm timeout, and a vm timeout that fires while
 * promise jobs are running kills the whole Node process ("async hook stack has become corrupted": nodejs/node#38503,
 * temporalio/sdk-typescript#939). On a loaded host (the 10k chaos run: some thirty processes on two cores) an
 * activation that normally takes a few hundred milliseconds (an inventory workflow taking up its carried ledger)
 * went past 5 s, and all three inventory workers died that way. A real deadlock (a loop that never yields) is
 * still caught, later.
 */
export const ISOLATE_EXECUTION_TIMEOUT = '30s';

/**
 * Worker options with ISOLATE_EXECUTION_TIMEOUT. The SDK (1.24, pinned) reads `isolateExecutionTimeout` from the
 * options it is given (compileWorkerOptions spreads them over its defaults) but does not list it in WorkerOptions'
 * type yet ("not exposed at the moment"); test/temporal/worker-limits.test.ts checks that it still takes it.
 */
export function withIsolateTimeout<T extends WorkerOptions>(options: T): T {
  return { ...options, isolateExecutionTimeout: ISOLATE_EXECUTION_TIMEOUT } as T;
}
