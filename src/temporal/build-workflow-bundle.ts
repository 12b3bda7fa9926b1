// Builds Loopline's workflow bundle into a file: `node [--import tsx] build-workflow-bundle <out file>`. Run as a
// child process by buildWorkflowBundleInChild (src/temporal/workflow-bundle.ts), so a worker never keeps webpack's
// memory.
import { renameSync, writeFileSync } from 'node:fs';
import { buildWorkflowBundle } from './workflow-bundle';

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: build-workflow-bundle <out file>');
  const bundle = await buildWorkflowBundle();
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, bundle.code);
  renameSync(tmp, out);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
