// A real Temporal cluster on this machine, shaped like production: Debian's PostgreSQL with its own data
// directory, the `temporal` and `temporal_visibility` databases created and migrated by Temporal's own
// schema tool, and the Temporal server (frontend, history, matching and worker services) started from
// deploy/temporal/server.yaml — the same file docker-compose.yml gives the server. The binaries come from
// provision-server.mjs (pinned; built through the Go module proxy); the CLI that registers the namespace
// and the search attributes comes from provision-temporal.mjs.
//
// Used by `npm run cluster -- up|status|down|restart` (src/devtools/cluster-cli.ts) and by the cluster
// test, which gives it a temporary directory and free ports so it never meets a developer's cluster.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT, readServerTools, readTemporalTools, type ServerTools } from './tools';
import { SEARCH_ATTRIBUTE_TYPES } from '../temporal/search-attributes';
import { isListening } from '../temporal/dev-server';

export const SERVER_CONFIG = join(PROJECT_ROOT, 'deploy', 'temporal', 'server.yaml');
export const DYNAMIC_CONFIG = join(PROJECT_ROOT, 'deploy', 'temporal', 'dynamicconfig.yaml');
export const SETUP_SCHEMA = join(PROJECT_ROOT, 'deploy', 'temporal', 'setup-schema.sh');
export const SETUP_NAMESPACE = join(PROJECT_ROOT, 'deploy', 'temporal', 'setup-namespace.sh');
export const DEFAULT_CLUSTER_DIR = join(PROJECT_ROOT, '.loopline', 'cluster');
export const SERVER_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
const DB_USER = 'temporal';
const DATABASES = ['temporal', 'temporal_visibility'] as const;

/** Loopline's search attributes as setup-namespace.sh takes them: "Channel=Keyword OrderStatus=Keyword …". */
export function searchAttributeList(): string {
  return Object.entries(SEARCH_ATTRIBUTE_TYPES)
    .map(([name, type]) => `${name}=${type}`)
    .join(' ');
}

export interface ClusterPorts {
  postgres: number;
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** Temporal's own port numbers; PostgreSQL on 55432 so a system PostgreSQL on 5432 is never touched. */
export const DEFAULT_PORTS: ClusterPorts = {
  postgres: 55432,
  frontend: 7233,
  frontendHttp: 7243,
  frontendMembership: 6933,
  history: 7234,
  historyMembership: 6934,
  matching: 7235,
  matchingMembership: 6935,
  worker: 7239,
  workerMembership: 6939,
};

/**
 * Ports nothing listens on right now (for a cluster that must not collide with another on this machine).
 * Below 32768: the server keeps membership ports in a PostgreSQL smallint, and the OS hands out ephemeral
 * ports above that range anyway.
 */
export async function freePorts(): Promise<ClusterPorts> {
  const keys = Object.keys(DEFAULT_PORTS) as Array<keyof ClusterPorts>;
  const held: Array<ReturnType<typeof createServer>> = [];
  const tryListen = (port: number) =>
    new Promise<ReturnType<typeof createServer> | undefined>((res) => {
      const s = createServer();
      s.once('error', () => res(undefined));
      s.listen(port, '127.0.0.1', () => res(s));
    });
  const ports: Partial<ClusterPorts> = {};
  for (const k of keys) {
    for (let attempt = 0; ports[k] === undefined; attempt++) {
      if (attempt > 200) throw new Error('no free port found between 20000 and 32700');
      const port = 20_000 + Math.floor(Math.random() * 12_700);
      const s = await tryListen(port);
      if (s) {
        held.push(s);
        ports[k] = port;
      }
    }
  }
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports as ClusterPorts;
}

export interface ClusterState {
  ports: ClusterPorts;
  namespace: string;
  createdAt: string;
  temporalVersion: string;
  postgresVersion: string;
}

export interface ClusterStatus {
  dir: string;
  address: string;
  postgres: { running: boolean; port: number; version: string };
  server: { running: boolean; pid?: number; version: string; healthy: boolean };
  namespace: string;
  searchAttributes: Record<string, string> | undefined;
}

export interface LocalClusterOptions {
  /** Where the cluster keeps its state, PostgreSQL data and logs (default .loopline/cluster). */
  dir?: string;
  /** Ports; default: the ones recorded in the directory's cluster.json, else DEFAULT_PORTS. */
  ports?: ClusterPorts;
  namespace?: string;
  /** Retention of closed workflows in the namespace, in days. */
  retentionDays?: number;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { what: string }): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${opts.what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${out}`);
  }
  return String(r.stdout ?? '');
}

export class LocalCluster {
  readonly dir: string;
  readonly ports: ClusterPorts;
  readonly namespace: string;
  private readonly retentionDays: number;
  private readonly log: (line: string) => void;
  private toolsCache?: ServerTools;

  constructor(opts: LocalClusterOptions = {}) {
    this.dir = resolve(opts.dir ?? DEFAULT_CLUSTER_DIR);
    const recorded = this.readState();
    this.ports = opts.ports ?? recorded?.ports ?? DEFAULT_PORTS;
    this.namespace = opts.namespace ?? recorded?.namespace ?? 'default';
    this.retentionDays = opts.retentionDays ?? 7;
    this.log = opts.log ?? (() => {});
  }

  get address(): string {
    return `127.0.0.1:${this.ports.frontend}`;
  }

  private get tools(): ServerTools {
    this.toolsCache ??= readServerTools();
    return this.toolsCache;
  }
  private get pgDir() {
    return join(this.dir, 'postgres');
  }
  private get pgData() {
    return join(this.pgDir, 'data');
  }
  private get statePath() {
    return join(this.dir, 'cluster.json');
  }
  private get passwordPath() {
    return join(this.dir, 'db-password');
  }
  private get serverPidPath() {
    return join(this.dir, 'temporal-server.pid');
  }
  get serverLogPath(): string {
    return join(this.dir, 'temporal-server.log');
  }
  get postgresLogPath(): string {
    return join(this.pgDir, 'postgres.log');
  }

  readState(): ClusterState | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'cluster.json'), 'utf8')) as ClusterState;
    } catch {
      return undefined;
    }
  }

  // ---- PostgreSQL ------------------------------------------------------------------------------------

  /** PostgreSQL refuses to run as root: as root, its commands run as Debian's `postgres` user. */
  private pg(bin: string, args: string[], what: string): string {
    const path = join(this.tools.postgres.binDir, bin);
    if (!isRoot()) return run(path, args, { what });
    return run('runuser', ['-u', 'postgres', '--', path, ...args], { what, cwd: '/' });
  }

  private postgresOwner(): { uid: number; gid: number } | undefined {
    if (!isRoot()) return undefined;
    const uid = Number(run('id', ['-u', 'postgres'], { what: 'id -u postgres' }).trim());
    const gid = Number(run('id', ['-g', 'postgres'], { what: 'id -g postgres' }).trim());
    return { uid, gid };
  }

  private dbPassword(): string {
    if (!existsSync(this.passwordPath)) {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(this.passwordPath, randomBytes(18).toString('base64url'), { mode: 0o600 });
    }
    return readFileSync(this.passwordPath, 'utf8').trim();
  }

  private initPostgres(): void {
    const owner = this.postgresOwner();
    mkdirSync(this.pgDir, { recursive: true });
    // The postgres user must be able to reach its directory (a temporary dir is 0700 by default).
    chmodSync(this.dir, 0o755);
    const pwfile = join(this.pgDir, 'pwfile');
    writeFileSync(pwfile, `${this.dbPassword()}\n`, { mode: 0o600 });
    if (owner) {
      chownSync(this.pgDir, owner.uid, owner.gid);
      chownSync(pwfile, owner.uid, owner.gid);
    }
    this.log(`initdb ${this.pgData} (${this.tools.postgres.version})`);
    try {
      this.pg(
        'initdb',
        ['-D', this.pgData, '-U', DB_USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-locale'],
        'initdb',
      );
    } finally {
      unlinkSync(pwfile);
    }
    // Settings of this cluster (appended: the last value of a key wins in postgresql.conf).
    const runDir = join(this.pgDir, 'run');
    mkdirSync(runDir, { recursive: true });
    if (owner) chownSync(runDir, owner.uid, owner.gid);
    const conf = [
      '',
      '# Loopline local cluster (src/devtools/cluster.ts)',
      "listen_addresses = '127.0.0.1'",
      `port = ${this.ports.postgres}`,
      `unix_socket_directories = '${runDir}'`,
      // Four Temporal services in one process, each with its own pools (deploy/temporal/server.yaml).
      'max_connections = 200',
    ].join('\n');
    writeFileSync(
      join(this.pgData, 'postgresql.conf'),
      `${readFileSync(join(this.pgData, 'postgresql.conf'), 'utf8')}${conf}\n`,
    );
  }

  /** The postmaster's pid (first line of postmaster.pid), while PostgreSQL runs. */
  postgresPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  async postgresRunning(): Promise<boolean> {
    return isListening('127.0.0.1', this.ports.postgres);
  }

  async startPostgres(): Promise<void> {
    if (await this.postgresRunning()) {
      if (existsSync(join(this.pgData, 'postmaster.pid'))) return;
      throw new Error(
        `port ${this.ports.postgres} is taken by another process: stop it, or use another cluster directory`,
      );
    }
    if (!existsSync(join(this.pgData, 'PG_VERSION'))) this.initPostgres();
    this.log(`starting PostgreSQL on 127.0.0.1:${this.ports.postgres}`);
    this.pg('pg_ctl', ['-D', this.pgData, '-l', this.postgresLogPath, '-w', '-t', '60', 'start'], 'pg_ctl start');
  }

  /** `fast`: clean shutdown; `immediate`: no checkpoint, as after a crash (recovery on the next start). */
  async stopPostgres(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!existsSync(join(this.pgData, 'postmaster.pid'))) return;
    this.log(`stopping PostgreSQL (${mode})`);
    this.pg('pg_ctl', ['-D', this.pgData, '-m', mode, '-w', '-t', '60', 'stop'], 'pg_ctl stop');
  }

  /**
   * Creates and migrates both databases with Temporal's schema tool, through deploy/temporal/setup-schema.sh
   * (the script docker-compose.yml's schema job runs): create-database and setup-schema once, then
   * update-schema every time (it applies only the versions not applied yet: the upgrade path).
   */
  migrate(): void {
    const out = run('sh', [SETUP_SCHEMA], {
      what: 'deploy/temporal/setup-schema.sh',
      env: {
        ...process.env,
        SQL_HOST: '127.0.0.1',
        SQL_PORT: String(this.ports.postgres),
        SQL_USER: DB_USER,
        SQL_PASSWORD: this.dbPassword(),
        SCHEMA_DIR: this.tools.temporal.schemaDir,
        TEMPORAL_SQL_TOOL: this.tools.temporal.sqlTool,
      },
    });
    for (const line of out.trim().split('\n')) if (/^database /.test(line)) this.log(line);
  }

  // ---- Temporal server --------------------------------------------------------------------------------

  serverPid(): number | undefined {
    let pid: number;
    try {
      pid = Number(readFileSync(this.serverPidPath, 'utf8').trim());
      process.kill(pid, 0);
    } catch {
      return undefined;
    }
    // An exited server whose parent has not reaped it yet (another process started it) is a zombie: gone.
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return undefined;
    } catch {
      // no /proc: signal 0 is all we can know
    }
    return pid;
  }

  /** The environment deploy/temporal/server.yaml is rendered with (compose sets the same names). */
  serverEnv(): NodeJS.ProcessEnv {
    const p = this.ports;
    return {
      ...process.env,
      TEMPORAL_DB_PASSWORD: this.dbPassword(),
      TEMPORAL_DB_HOST: '127.0.0.1',
      TEMPORAL_DB_PORT: String(p.postgres),
      TEMPORAL_DB_USER: DB_USER,
      BIND_ON_IP: '127.0.0.1',
      FRONTEND_GRPC_PORT: String(p.frontend),
      FRONTEND_HTTP_PORT: String(p.frontendHttp),
      FRONTEND_MEMBERSHIP_PORT: String(p.frontendMembership),
      HISTORY_GRPC_PORT: String(p.history),
      HISTORY_MEMBERSHIP_PORT: String(p.historyMembership),
      MATCHING_GRPC_PORT: String(p.matching),
      MATCHING_MEMBERSHIP_PORT: String(p.matchingMembership),
      WORKER_GRPC_PORT: String(p.worker),
      WORKER_MEMBERSHIP_PORT: String(p.workerMembership),
      DYNAMIC_CONFIG_FILE_PATH: DYNAMIC_CONFIG,
      TEMPORAL_LOG_LEVEL: process.env.TEMPORAL_LOG_LEVEL ?? 'warn',
    };
  }

  /** Starts the server in the background (it outlives `npm run cluster up`); its pid goes to a file. */
  async startServer(timeoutMs = 90_000): Promise<void> {
    if (this.serverPid()) return;
    // Another server on our port (a dev server, another cluster) would answer our health checks.
    if (await isListening('127.0.0.1', this.ports.frontend)) {
      throw new Error(
        `port ${this.ports.frontend} is taken by another process (a Temporal dev server?): stop it first`,
      );
    }
    mkdirSync(this.dir, { recursive: true });
    const logFd = openSync(this.serverLogPath, 'a');
    const args = ['--config-file', SERVER_CONFIG, '--allow-no-auth', 'start'];
    for (const s of SERVER_SERVICES) args.push('--service', s);
    this.log(`starting ${this.tools.temporal.reportedVersion} (${SERVER_SERVICES.join(', ')}) on ${this.address}`);
    const child = spawn(this.tools.temporal.server, args, {
      cwd: PROJECT_ROOT,
      env: this.serverEnv(),
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    if (!child.pid) throw new Error(`could not start ${this.tools.temporal.server}`);
    writeFileSync(this.serverPidPath, String(child.pid));
    let exited: number | null | undefined;
    child.once('exit', (code) => (exited = code));
    child.unref();
    const deadline = Date.now() + timeoutMs;
    while (!(await this.serverHealthy())) {
      if (exited !== undefined) {
        throw new Error(
          `the Temporal server exited at start (code ${exited}); see ${this.serverLogPath}:\n${this.logTail(3)}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`the Temporal server did not become healthy in ${timeoutMs} ms; see ${this.serverLogPath}`);
      await sleep(500);
    }
  }

  logTail(lines = 10): string {
    try {
      return readFileSync(this.serverLogPath, 'utf8')
        .trim()
        .split('\n')
        .slice(-lines)
        .map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l))
        .join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM (graceful) or SIGKILL (a crash); waits until the process is gone. */
  async stopServer(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', timeoutMs = 30_000): Promise<void> {
    const pid = this.serverPid();
    if (!pid) return;
    this.log(`stopping the Temporal server (pid ${pid}, ${signal})`);
    process.kill(pid, signal);
    const deadline = Date.now() + timeoutMs;
    while (this.serverPid()) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        await sleep(200);
        break;
      }
      await sleep(100);
    }
    // A multi-threaded process's leader can show as a zombie while its other threads still hold its sockets:
    // wait for the frontend port to be let go, so a start right after does not take it for another server's.
    const released = Date.now() + 10_000;
    while (Date.now() < released && (await isListening('127.0.0.1', this.ports.frontend))) await sleep(100);
    rmSync(this.serverPidPath, { force: true });
  }

  async serverHealthy(): Promise<boolean> {
    if (!(await isListening('127.0.0.1', this.ports.frontend))) return false;
    const r = spawnSync(readTemporalTools().cli.path, ['operator', 'cluster', 'health', '--address', this.address], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    return r.status === 0 && /SERVING/.test(r.stdout);
  }

  /**
   * The namespace (with its retention), then Loopline's search attributes, each created once and checked,
   * through deploy/temporal/setup-namespace.sh (the script docker-compose.yml's setup job runs).
   */
  async setupNamespace(): Promise<Record<string, string>> {
    const out = run('sh', [SETUP_NAMESPACE], {
      what: 'deploy/temporal/setup-namespace.sh',
      timeout: 180_000,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: this.address,
        NAMESPACE: this.namespace,
        RETENTION: `${this.retentionDays}d`,
        LOOPLINE_SEARCH_ATTRIBUTES: searchAttributeList(),
        TEMPORAL_CLI: readTemporalTools().cli.path,
      },
    });
    for (const line of out.trim().split('\n')) if (/^namespace /.test(line)) this.log(line);
    const registered = this.searchAttributes();
    if (!registered) throw new Error('the search attributes could not be read back after registration');
    return registered;
  }

  searchAttributes(): Record<string, string> | undefined {
    const r = spawnSync(
      readTemporalTools().cli.path,
      ['operator', 'search-attribute', 'list', '--namespace', this.namespace, '--address', this.address, '-o', 'json'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    if (r.status !== 0) return undefined;
    return (JSON.parse(r.stdout) as { customAttributes?: Record<string, string> }).customAttributes ?? {};
  }

  // ---- backup and restore ----------------------------------------------------------------------------

  private pgTool(bin: string, args: string[], what: string): string {
    return run(
      join(this.tools.postgres.binDir, bin),
      ['-h', '127.0.0.1', '-p', String(this.ports.postgres), '-U', DB_USER, ...args],
      {
        what,
        env: { ...process.env, PGPASSWORD: this.dbPassword() },
        timeout: 30 * 60_000,
      },
    );
  }

  /**
   * pg_dump (custom format) of both databases into `dir`. `consistent` stops the Temporal server for the
   * dump so the two databases are from the same instant (docs/deployment.md); otherwise each is a
   * consistent snapshot of itself, taken while the server runs.
   */
  async backup(dir: string, opts: { consistent?: boolean } = {}): Promise<{ dir: string; files: string[] }> {
    mkdirSync(dir, { recursive: true });
    const wasRunning = this.serverPid() !== undefined;
    if (opts.consistent && wasRunning) await this.stopServer();
    const files: string[] = [];
    try {
      for (const db of DATABASES) {
        const file = join(dir, `${db}.dump`);
        this.log(`pg_dump ${db} → ${file}`);
        this.pgTool('pg_dump', ['-d', db, '-Fc', '-f', file], `pg_dump ${db}`);
        files.push(file);
      }
      writeFileSync(
        join(dir, 'backup.json'),
        `${JSON.stringify({ takenAt: new Date().toISOString(), consistent: Boolean(opts.consistent), temporal: this.tools.temporal.version, postgres: this.tools.postgres.version }, null, 2)}\n`,
      );
    } finally {
      if (opts.consistent && wasRunning) await this.startServer();
    }
    return { dir, files };
  }

  /** Replaces both databases with a backup: server stopped, databases recreated, pg_restore, migrate, start. */
  async restore(dir: string): Promise<void> {
    for (const db of DATABASES) {
      if (!existsSync(join(dir, `${db}.dump`)))
        throw new Error(`${join(dir, `${db}.dump`)} is missing: not a cluster backup`);
    }
    await this.stopServer();
    await this.startPostgres();
    for (const db of DATABASES) {
      this.log(`restoring ${db} from ${join(dir, `${db}.dump`)}`);
      this.pgTool('dropdb', ['--if-exists', db], `dropdb ${db}`);
      this.pgTool('createdb', [db], `createdb ${db}`);
      this.pgTool('pg_restore', ['-d', db, '--no-owner', join(dir, `${db}.dump`)], `pg_restore ${db}`);
    }
    // A backup from an older server version is brought up to this one's schema before the server starts.
    this.migrate();
    await this.startServer();
  }

  // ---- the whole cluster -----------------------------------------------------------------------------

  async up(): Promise<ClusterStatus> {
    const tools = this.tools;
    mkdirSync(this.dir, { recursive: true });
    if (!this.readState()) {
      const state: ClusterState = {
        ports: this.ports,
        namespace: this.namespace,
        createdAt: new Date().toISOString(),
        temporalVersion: tools.temporal.version,
        postgresVersion: tools.postgres.version,
      };
      writeFileSync(this.statePath, `${JSON.stringify(state, null, 2)}\n`);
    }
    await this.startPostgres();
    this.migrate();
    await this.startServer();
    await this.setupNamespace();
    return this.status();
  }

  async status(): Promise<ClusterStatus> {
    const pid = this.serverPid();
    const healthy = pid ? await this.serverHealthy() : false;
    return {
      dir: this.dir,
      address: this.address,
      postgres: {
        running: await this.postgresRunning(),
        port: this.ports.postgres,
        version: this.readState()?.postgresVersion ?? this.tools.postgres.version,
      },
      server: { running: pid !== undefined, pid, version: this.tools.temporal.reportedVersion, healthy },
      namespace: this.namespace,
      searchAttributes: healthy ? this.searchAttributes() : undefined,
    };
  }

  /** Stops the server, then PostgreSQL; `purge` also deletes the data directory (every workflow). */
  async down(opts: { purge?: boolean } = {}): Promise<void> {
    await this.stopServer();
    await this.stopPostgres();
    if (opts.purge) {
      this.log(`deleting ${this.dir}`);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
