// The isolate execution timeout reaches the SDK: it reads the option although its WorkerOptions type does not list
// it (src/temporal/worker-limits.ts). If an SDK upgrade stops taking it, this fails and the 5 s default (which
// crashed the inventory workers under load) would be back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultLogger } from '@temporalio/worker';
import { compileWorkerOptions } from '@temporalio/worker/lib/worker-options';
import { withIsolateTimeout } from '../../src/temporal/worker-limits';

test('workflow workers get a 30 s isolate execution timeout, not the SDK default of 5 s', () => {
  const logger = new DefaultLogger('ERROR');
  const base = { taskQueue: 'q', workflowBundle: { code: '' } };
  const compiled = compileWorkerOptions(withIsolateTimeout(base), logger, undefined as never);
  assert.equal(compiled.isolateExecutionTimeoutMs, 30_000);
  assert.equal(compileWorkerOptions(base, logger, undefined as never).isolateExecutionTimeoutMs, 5_000);
});
