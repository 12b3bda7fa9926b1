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

  // Files named *.solo.test.ts (the 1,000-order fault run) load the server far more than the rest: they run
  // after the others, alone, on a fresh server, so they neither slow other files into timeouts nor inherit
  // the workflows other files leave behind.
  const solo = files.filter((f) => f.endsWith('.solo.test.ts'));
  const shared = files.filter((f) => !f.endsWith('.solo.test.ts'));
  let code = 0;
  if (shared.length > 0) code = await runPhase(shared, process.env.LOOPLINE_TEST_CONCURRENCY ?? '2');
  if (solo.length > 0) {
    const soloCode = await runPhase(solo, '1');
    code = code || soloCode;
  }
  return code;
}

async function runPhase(files: string[], concurrency: string): Promise<number> {
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

  // A test that hangs (a call waiting on something that will never answer) fails after 15 minutes instead of
  // holding CI until its overall limit, naming itself.
  const args = [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${process.env.LOOPLINE_TEST_TIMEOUT_MS ?? 900_000}`,
    '--test-reporter=spec',
    ...files,
  ];
  const started = Date.now();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      env: { ...process.env, LOOPLINE_TEST_TEMPORAL_ADDRESS: address, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
    });
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  process.stdout.write(
    `${files.length} test file(s), concurrency ${concurrency}: ${code === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
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
