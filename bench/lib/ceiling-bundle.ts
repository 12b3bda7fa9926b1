// The engine ceiling's workflow bundle, bundled as Loopline's own workflows are (src/temporal/workflow-bundle.ts):
// the failure converter in, the module preloaded into the reusable V8 context. One place for both ways the
// ceiling runs (its workers in the bench process, bench/lib/ceiling.ts, or in their own, ceiling-worker.ts).
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../../src/temporal/data-converter';

export function bundleCeiling() {
  const workflowsPath = require.resolve('./ceiling-workflow');
  return bundleWorkflowCode({
    workflowsPath,
    preloadModules: [workflowsPath],
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
}
