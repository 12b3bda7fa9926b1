// How Loopline's workflow code is bundled for its workers: one set of options for the workers, the tests and the
// benches, so what the tests run is what production runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from './data-converter';

/** workflows/index.ts: every workflow type Loopline registers. */
export const WORKFLOWS_PATH = require.resolve('../../workflows');

/**
 * The bundle options. Loopline's failure converter goes into the bundle (failures raised in workflows are
 * encrypted too), and the workflow modules are preloaded: the SDK's reusable V8 context then evaluates them
 * once per worker and shares them, deep-frozen, between workflows, instead of evaluating all of them again for
 * every workflow it creates or replays. That is safe because no module in the bundle keeps per-workflow state
 * at module level or calls a workflow API there (only defineSignal/defineQuery/defineUpdate, which build plain
 * definitions, and proxyActivities, which schedules nothing until called); test/workflows/preload.test.ts
 * guards both. Creating or replaying a workflow then no longer evaluates Loopline's modules; the memory a cached
 * order costs (about 0.4 MB, docs/deployment.md) is mostly the SDK's own and did not move measurably.
 */
export function workflowBundleOptions(): BundleOptions {
  return {
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    preloadModules: [WORKFLOWS_PATH],
    logger: new DefaultLogger('WARN'),
  };
}

/** A key part for bundle caches: changes whenever the options that shape the bundle do. */
export const WORKFLOW_BUNDLE_SALT = `failureConverter:${FAILURE_CONVERTER_PATH};preload:workflows`;

export function buildWorkflowBundle() {
  return bundleWorkflowCode(workflowBundleOptions());
}

/**
 * The module-loader flags of this process (`--import tsx`, `--require …`, `--loader …`), for a child that must load
 * the same source: nothing else, so an `--eval`, `--test`, `--cpu-prof` or `--inspect` of the parent is not repeated.
 */
export function loaderFlags(execArgv: readonly string[]): string[] {
  const withValue = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (withValue.has(a) && i + 1 < execArgv.length) out.push(a, execArgv[++i]!);
    else if ([...withValue].some((f) => f.startsWith('--') && a.startsWith(`${f}=`))) out.push(a);
  }
  return out;
}

/** The script that builds the bundle into a file (src/temporal/build-workflow-bundle.ts, or its compiled .js). */
const BUILD_SCRIPT = require.resolve('./build-workflow-bundle');

/**
 * Builds the bundle in a child process of this Node (same loader flags, so under tsx too) and returns its code.
 * Webpack's memory goes with the child: built in the worker itself it stayed in the worker's resident set for
 * good (about 175 MB measured, more than the worker's whole workflow cache at 1,000 open orders).
 */
export async function buildWorkflowBundleInChild(): Promise<{ code: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'loopline-bundle-'));
  const out = join(dir, 'workflows.js');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [...loaderFlags(process.execArgv), BUILD_SCRIPT, out], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.on('error', reject);
      child.on('exit', (code, signal) =>
        code === 0
          ? resolve()
          : reject(new Error(`building the workflow bundle failed (exit ${code ?? signal}): ${stderr.trim()}`)),
      );
    });
    return { code: readFileSync(out, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
