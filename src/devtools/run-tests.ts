// `npm test`: one real Temporal dev server (started through @temporalio/testing from the provisioned CLI
// binary) shared by every test file, then node's test runner over test/**/*.test.ts.
// Usage: npm test [-- <path filter>...]   e.g. npm test -- test/domain
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT, readTemporalTools } from './tools';
import { SA } from '../temporal/search-attributes';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const files = findTests(join(PROJECT_ROOT, 'test'))
    .map((f) => relative(PROJECT_ROOT, f))
    .filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt)));
  if (files.length === 0) {
    process.stderr.write(`no test files match ${filters.join(' ')}\n`);
    return 1;
  }

  let env: TestWorkflowEnvironment | undefined;
  let address = process.env.LOOPLINE_TEST_TEMPORAL_ADDRESS;
  if (!address) {
    const tools = readTemporalTools();
    const started = Date.now();
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: tools.cli.path },
        ip: '127.0.0.1',
        ui: false,
        searchAttributes: Object.values(SA),
        log: { format: 'pretty', level: 'warn' },
      },
    });
    address = env.address;
    process.stdout.write(
      `Real Temporal dev server for the tests: ${address} (${tools.cli.version}; started in ${Date.now() - started} ms)\n`,
    );
  } else {
    process.stdout.write(`Using the already-running Temporal server at ${address}\n`);
  }

  const concurrency = process.env.LOOPLINE_TEST_CONCURRENCY ?? '2';
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      env: { ...process.env, LOOPLINE_TEST_TEMPORAL_ADDRESS: address, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
    });
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  await env?.teardown();
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
