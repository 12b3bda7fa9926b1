#!/usr/bin/env node
// Makes a real Temporal server and its database available to the project at pinned versions, without
// downloading from anywhere but the package registries (used by `npm run cluster` and the cluster test):
//
//   - the Temporal server (`go.temporal.io/server/cmd/server`) and its SQL schema tool
//     (`go.temporal.io/server/cmd/tools/sql`), built with `go install` through the Go module proxy into
//     .tools/temporal-server/bin. The server module needs a newer Go than Debian's; the go command fetches
//     the pinned toolchain itself (GOTOOLCHAIN, also from the module proxy). About 4 minutes on a fresh
//     machine, then cached (the manifest below, and Go's own build cache);
//   - the PostgreSQL schema files, copied from that module's source (schema/postgresql/v12/…/versioned)
//     into .tools/temporal-server/schema, so an upgrade applies exactly the version's migrations;
//   - PostgreSQL itself: Debian's `postgresql-15`, installed with apt-get when it is missing (as root).
//
// The result is written to .tools/temporal-server/manifest.json (where the binaries and schema are, which
// versions). Plain Node on purpose: it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PINNED_SERVER = {
  module: 'go.temporal.io/server',
  version: 'v1.32.2',
  // The server's go.mod asks for a newer Go than Debian's; the go command downloads this toolchain from the
  // module proxy (golang.org/toolchain) and checks it against the checksum database.
  goToolchain: 'go1.27.3',
  postgresMajor: 15,
};

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Real path: .tools may be a symlink shared by several work trees, and the manifest must stay valid in each.
mkdirSync(join(root, '.tools'), { recursive: true });
const serverDir = join(realpathSync(join(root, '.tools')), 'temporal-server');
const manifestPath = join(serverDir, 'manifest.json');
const quiet = process.argv.includes('--quiet');
const say = (msg) => {
  if (!quiet) process.stderr.write(`[provision-server] ${msg}\n`);
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
    if (dir && isExecutable(join(dir, name)) && !dir.includes('node_modules')) return join(dir, name);
  }
  return undefined;
}

function firstLine(bin, args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
}

function readManifest() {
  try {
    return JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return undefined;
  }
}

function upToDate(m) {
  return (
    m &&
    m.temporal?.version === PINNED_SERVER.version &&
    isExecutable(m.temporal.server) &&
    isExecutable(m.temporal.sqlTool) &&
    existsSync(join(m.temporal.schemaDir, 'temporal', 'versioned')) &&
    existsSync(join(m.temporal.schemaDir, 'visibility', 'versioned'))
  );
}

function buildTemporal() {
  const go = onPath('go');
  if (!go) {
    throw new Error(
      `Building the Temporal server needs the go command (any Go 1.21 or newer: it fetches ${PINNED_SERVER.goToolchain} itself); install Debian's golang-go or Go from the module proxy's toolchain.`,
    );
  }
  const binDir = join(serverDir, 'bin');
  // Per process: two provisionings at once (two test runs sharing .tools) never mix their outputs.
  const buildDir = join(serverDir, `build.${process.pid}.tmp`);
  rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(buildDir, { recursive: true });
  const env = { ...process.env, GOBIN: buildDir, GOTOOLCHAIN: PINNED_SERVER.goToolchain, GOFLAGS: '-mod=mod' };
  const pkgs = [`${PINNED_SERVER.module}/cmd/server`, `${PINNED_SERVER.module}/cmd/tools/sql`].map(
    (p) => `${p}@${PINNED_SERVER.version}`,
  );
  say(`go install ${pkgs.join(' ')} with GOTOOLCHAIN=${PINNED_SERVER.goToolchain} (about 4 minutes once, then cached)`);
  const started = Date.now();
  const r = spawnSync(go, ['install', ...pkgs], { stdio: quiet ? 'ignore' : 'inherit', env });
  if (r.status !== 0)
    throw new Error(`go install of the Temporal server ${PINNED_SERVER.version} failed (exit ${r.status}).`);
  say(`built in ${Math.round((Date.now() - started) / 1000)} s`);

  // The module's source (in Go's module cache) carries the SQL schema migrations of exactly this version.
  const dl = spawnSync(go, ['mod', 'download', '-json', `${PINNED_SERVER.module}@${PINNED_SERVER.version}`], {
    encoding: 'utf8',
    env,
  });
  if (dl.status !== 0)
    throw new Error(`go mod download ${PINNED_SERVER.module}@${PINNED_SERVER.version} failed: ${dl.stderr}`);
  const moduleDir = JSON.parse(dl.stdout).Dir;
  const schemaSrc = join(moduleDir, 'schema', 'postgresql', 'v12');
  if (!existsSync(schemaSrc)) throw new Error(`no PostgreSQL schema in ${moduleDir} (expected schema/postgresql/v12)`);

  mkdirSync(binDir, { recursive: true });
  // go install names binaries after their package folder: server, sql.
  renameSync(join(buildDir, 'server'), join(binDir, 'temporal-server'));
  renameSync(join(buildDir, 'sql'), join(binDir, 'temporal-sql-tool'));
  rmSync(buildDir, { recursive: true, force: true });
  const schemaDir = join(serverDir, 'schema', 'postgresql', 'v12');
  rmSync(schemaDir, { recursive: true, force: true });
  mkdirSync(dirname(schemaDir), { recursive: true });
  // The module cache is read-only: copy, then make the copy writable so a later provisioning can replace it.
  cpSync(schemaSrc, schemaDir, { recursive: true });
  spawnSync('chmod', ['-R', 'u+w', join(serverDir, 'schema')]);
  return {
    version: PINNED_SERVER.version,
    goToolchain: PINNED_SERVER.goToolchain,
    server: join(binDir, 'temporal-server'),
    sqlTool: join(binDir, 'temporal-sql-tool'),
    schemaDir,
    source: `go install ${pkgs.join(' ')}`,
  };
}

function findPostgresBin() {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base)
    ? readdirSync(base)
        .map(Number)
        .filter((n) => Number.isInteger(n) && n >= 12)
        .sort((a, b) => b - a)
    : [];
  // The pinned major first, then any other supported one already installed.
  for (const major of [PINNED_SERVER.postgresMajor, ...majors]) {
    const dir = join(base, String(major), 'bin');
    if (isExecutable(join(dir, 'postgres')) && isExecutable(join(dir, 'initdb'))) return dir;
  }
  const initdb = onPath('initdb');
  if (initdb && isExecutable(join(dirname(initdb), 'postgres'))) return dirname(initdb);
  return undefined;
}

function installPostgres() {
  const pkg = `postgresql-${PINNED_SERVER.postgresMajor}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error(`PostgreSQL is missing: install Debian's ${pkg} (sudo apt-get install -y ${pkg}).`);
  }
  say(`installing Debian's ${pkg} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const stdio = quiet ? 'ignore' : 'inherit';
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio, env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio, env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio, env });
  }
  if (r.status !== 0) throw new Error(`apt-get could not install ${pkg}.`);
}

function resolvePostgres() {
  let bin = findPostgresBin();
  if (!bin) {
    installPostgres();
    bin = findPostgresBin();
  }
  if (!bin) throw new Error('PostgreSQL was installed but its binaries (postgres, initdb) were not found.');
  const version = firstLine(join(bin, 'postgres'), ['--version']);
  return { binDir: bin, version: version ?? 'unknown' };
}

export function provisionServer() {
  const previous = readManifest();
  const temporal = upToDate(previous) ? previous.temporal : buildTemporal();
  const serverVersion = firstLine(temporal.server, ['--version']);
  if (!serverVersion)
    throw new Error(`${temporal.server} does not run (--version failed); delete ${serverDir} and provision again.`);
  const postgres = resolvePostgres();
  const manifest = { temporal: { ...temporal, reportedVersion: serverVersion }, postgres };
  mkdirSync(serverDir, { recursive: true });
  // Write-then-rename: a reader never sees a half-written manifest.
  const tmp = `${manifestPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, manifestPath);
  return manifest;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const m = provisionServer();
    process.stdout.write(`Temporal server: ${m.temporal.reportedVersion} (${m.temporal.server})\n`);
    process.stdout.write(`PostgreSQL: ${m.postgres.version} (${m.postgres.binDir})\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
export { manifestPath };
