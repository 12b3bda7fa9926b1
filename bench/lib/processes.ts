// Loopline's processes as a deployment runs them, each a child process started by its own entry point
// (workers/main.ts worker <role>, workers/main.ts http, src/sandbox/main.ts <system>), with its output in a
// log file. Used by the cluster test (test/cluster/cluster.solo.test.ts) and the chaos bench (bench/chaos.ts),
// and meant for any bench that needs the production shape:
//   - startProcess: one process; ready when it logs its "running" line; stop, or kill -9.
//   - ProcessFleet: simulators, the HTTP server and N replicas of each worker role from one config file;
//     kill -9 a replica and start it again as a supervisor would; resident memory of every process sampled
//     from /proc/<pid>/status (VmRSS); and which of its processes holds a given TCP connection (to kill the
//     process that is waiting on a response the simulator is holding: an activity in flight).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/devtools/tools';

export interface LooplineProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves when the process has logged its ready line; rejects if it exits first or after timeoutMs. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  /** kill -9: no shutdown, no goodbye to the server (in-flight tasks are left to their timeouts). */
  kill9(): Promise<void>;
  stop(): Promise<void>;
  logTail(lines?: number): string;
}

/** The line each entry point logs once it is serving (its own pino log, JSON). */
export const READY_LINES = {
  worker: /"msg":"workers running"/,
  http: /"msg":"HTTP listening/,
  simulators: /"msg":"simulators running"/,
} as const;

/**
 * Compiles the workers into dist/ as the image's build stage does (`npm run build`), with the files the compiled
 * code reads beside itself (the dashboard's assets, the default config): for fleets with `compiled`.
 */
export function buildCompiled(): void {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  for (const f of ['src/http/dashboard', 'src/config/loopline.yaml'])
    cpSync(join(PROJECT_ROOT, f), join(PROJECT_ROOT, 'dist', f), { recursive: true });
}

export function startProcess(opts: {
  name: string;
  /**
   * Script and arguments, run with `node --import tsx` from the project root (as `npm run …` does); a script
   * under dist/ (compiled JavaScript, as the image runs it) with plain `node`.
   */
  args: string[];
  env: NodeJS.ProcessEnv;
  logDir: string;
  /** A line of the process's own log that says it is ready. */
  readyLine: RegExp;
  timeoutMs?: number;
}): LooplineProcess {
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const fd = openSync(logFile, 'a');
  const loader = opts.args[0]?.startsWith('dist/') ? [] : ['--import', 'tsx'];
  // Node flags NODE_OPTIONS refuses (--cpu-prof …), for a profile of one process: BENCH_NODE_ARGS in its env.
  const flags = opts.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...flags, ...loader, ...opts.args], {
    cwd: PROJECT_ROOT,
    env: opts.env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logTail = (lines = 15) => {
    try {
      return readFileSync(logFile, 'utf8')
        .trim()
        .split('\n')
        .slice(-lines)
        .map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l))
        .join('\n');
    } catch {
      return '';
    }
  };
  // The log file is appended to across restarts of a replica: only what this process wrote counts.
  let from = 0;
  try {
    from = readFileSync(logFile).length;
  } catch {
    // new file
  }
  const ready = new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    let gone = false;
    void exited.then(() => (gone = true));
    const check = () => {
      let text = '';
      try {
        text = readFileSync(logFile).subarray(from).toString('utf8');
      } catch {
        // not written yet
      }
      if (opts.readyLine.test(text)) return resolve();
      if (gone)
        return reject(new Error(`${opts.name} exited before it was ready (code ${child.exitCode}):\n${logTail()}`));
      if (Date.now() > deadline) return reject(new Error(`${opts.name} not ready in time:\n${logTail()}`));
      setTimeout(check, 200);
    };
    check();
  });
  ready.catch(() => undefined);
  return {
    name: opts.name,
    child,
    logFile,
    ready,
    exited,
    logTail,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resident memory of a process in MB (VmRSS of /proc/<pid>/status), or undefined where there is none. */
export function rssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time a process has used so far, in seconds (utime + stime of /proc/<pid>/stat), if it can be read. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 (state) on: utime is 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on every Linux the project runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

/** The processes whose parent is `pid` (/proc/<n>/stat), e.g. a PostgreSQL postmaster's backends. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * The inode of the TCP socket whose local port is `localPort` and whose peer is `peerPort` on 127.0.0.1
 * (/proc/net/tcp), i.e. the client side of a connection a server saw coming from `localPort`.
 */
function socketInode(localPort: number, peerPort: number): string | undefined {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (f[1]!.endsWith(`:${hex(localPort)}`) && f[2]!.endsWith(`:${hex(peerPort)}`)) return f[9];
    }
  }
  return undefined;
}

/** Whether process `pid` has the socket `inode` open (/proc/<pid>/fd). */
function holdsSocket(pid: number, inode: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  const want = `socket:[${inode}]`;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

// ---- a fleet: simulators, HTTP server and worker replicas ---------------------------------------------------

export type FleetKind = 'worker' | 'http' | 'simulators';

export interface FleetMember {
  /** e.g. `worker-orders-2`, `http-1`, `sim-mirakl` */
  name: string;
  kind: FleetKind;
  /** Worker role, or the systems a simulator process plays. */
  role: string;
  replica: number;
  args: string[];
  process: LooplineProcess;
  /** How many times this member was started (1 + restarts). */
  starts: number;
}

export interface UsageSeries {
  name: string;
  kind: FleetKind | 'external';
  role: string;
  /** Resident memory (VmRSS): peak and last, in MB (absent for a process group such as PostgreSQL). */
  peakMb?: number;
  lastMb?: number;
  /** [seconds since sampling started, MB] */
  samples: Array<[number, number]>;
  /** CPU time used while sampled, in seconds, over every process this member has been (restarts included). */
  cpuSeconds: number;
}

export interface FleetOptions {
  /** The Loopline config file every process reads (LOOPLINE_CONFIG). */
  configFile: string;
  /** The environment of every process (secrets, TEMPORAL_ADDRESS …); LOOPLINE_CONFIG is added. */
  env: NodeJS.ProcessEnv;
  /** Where each process's log goes (`<name>.log`, appended across restarts). */
  logDir: string;
  /** Simulator processes, each the systems it plays (e.g. [['mirakl'], ['peoplevox'], ['shopify']]). */
  simulators?: string[][];
  /** Replicas of the HTTP server (0: none). */
  http?: number;
  /** Replicas per worker role (e.g. { orders: 3, acknowledge: 3 }). */
  workers?: Record<string, number>;
  /** Environment added for the workers of a role (e.g. { orders: { NODE_OPTIONS: '--max-old-space-size=400' } }). */
  roleEnv?: Record<string, NodeJS.ProcessEnv>;
  /**
   * Workers and HTTP servers run compiled (dist/workers/main.js, built by buildCompiled()) as the image runs them,
   * without the TypeScript loader a source run keeps in every process. Simulators always run from source.
   */
  compiled?: boolean;
  readyTimeoutMs?: number;
  /**
   * Restart a process that exits by itself (a crash), after this long, as a supervisor (compose's `restart:`,
   * systemd) would; every such exit is recorded (crashes()). Unset: a crashed process stays down.
   */
  restartCrashedAfterMs?: number;
}

/** A process that exited without being told to (not kill9, not stop). */
export interface FleetCrash {
  name: string;
  role: string;
  /** When it exited, in ms since the epoch. */
  at: number;
  code: number | null;
  signal: string | null;
  /** The end of its log: why it went. */
  logTail: string;
  restarted: boolean;
}

export class ProcessFleet {
  readonly members = new Map<string, FleetMember>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly usage = new Map<string, UsageSeries>();
  /** CPU seconds each pid had at its last sample. */
  private readonly cpuSeen = new Map<number, number>();
  private sampler?: NodeJS.Timeout;
  private sampleStart = 0;
  private external: Array<{ name: string; pids: () => number[]; rss: boolean }> = [];
  /** Processes told to go (kill9, stop): their exit is no crash. */
  private readonly told = new WeakSet<LooplineProcess>();
  private readonly crashLog: FleetCrash[] = [];
  private stopping = false;

  constructor(private readonly opts: FleetOptions) {
    this.env = { ...opts.env, LOOPLINE_CONFIG: opts.configFile };
  }

  private launch(m: Omit<FleetMember, 'process' | 'starts'>, starts: number): FleetMember {
    const readyLine =
      m.kind === 'worker' ? READY_LINES.worker : m.kind === 'http' ? READY_LINES.http : READY_LINES.simulators;
    const process = startProcess({
      name: m.name,
      args: m.args,
      env: m.kind === 'worker' ? { ...this.env, ...this.opts.roleEnv?.[m.role] } : this.env,
      logDir: this.opts.logDir,
      readyLine,
      timeoutMs: this.opts.readyTimeoutMs ?? 180_000,
    });
    const member = { ...m, process, starts };
    this.members.set(m.name, member);
    void process.exited.then(() => this.exitedByItself(member));
    return member;
  }

  /** A member's process exited: if nobody told it to, record a crash and (when supervising) start it again. */
  private exitedByItself(member: FleetMember): void {
    if (this.stopping || this.told.has(member.process) || this.members.get(member.name) !== member) return;
    const restart = this.opts.restartCrashedAfterMs;
    this.crashLog.push({
      name: member.name,
      role: member.role,
      at: Date.now(),
      code: member.process.child.exitCode,
      signal: member.process.child.signalCode,
      logTail: member.process.logTail(8),
      restarted: restart !== undefined,
    });
    if (restart === undefined) return;
    setTimeout(() => {
      if (this.stopping || this.members.get(member.name) !== member) return;
      if (this.sampler) this.sample();
      this.launch(member, member.starts + 1).process.ready.catch(() => undefined);
    }, restart).unref();
  }

  /** Processes that exited by themselves so far (crashes), oldest first. */
  crashes(): FleetCrash[] {
    return [...this.crashLog];
  }

  /** Simulators first (the workers read offers and settings at start), then the HTTP server and the workers. */
  async start(): Promise<void> {
    const sims = (this.opts.simulators ?? []).map((systems) =>
      this.launch(
        {
          name: `sim-${systems.join('+')}`,
          kind: 'simulators',
          role: systems.join('+'),
          replica: 1,
          args: ['src/sandbox/main.ts', ...systems],
        },
        1,
      ),
    );
    await this.ready(sims);
    const rest: FleetMember[] = [];
    for (let i = 1; i <= (this.opts.http ?? 0); i++) {
      rest.push(
        this.launch({ name: `http-${i}`, kind: 'http', role: 'http', replica: i, args: [this.main(), 'http'] }, 1),
      );
    }
    for (const [role, n] of Object.entries(this.opts.workers ?? {})) {
      for (let i = 1; i <= n; i++) {
        rest.push(
          this.launch(
            {
              name: `worker-${role}-${i}`,
              kind: 'worker',
              role,
              replica: i,
              args: [this.main(), 'worker', role],
            },
            1,
          ),
        );
      }
    }
    await this.ready(rest);
  }

  /** The workers' entry point: compiled or source. */
  private main(): string {
    return this.opts.compiled ? 'dist/workers/main.js' : 'workers/main.ts';
  }

  private async ready(members: FleetMember[]): Promise<void> {
    const results = await Promise.allSettled(members.map((m) => m.process.ready));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (failed.length > 0) throw new Error(`processes did not start:\n${failed.join('\n')}`);
  }

  get(name: string): FleetMember {
    const m = this.members.get(name);
    if (!m) throw new Error(`no process ${name} in the fleet`);
    return m;
  }

  byRole(role: string): FleetMember[] {
    return [...this.members.values()].filter((m) => m.role === role);
  }

  /** kill -9 of one member; with `restartAfterMs`, a new process takes its place (as a supervisor would). */
  async kill9(name: string, restartAfterMs?: number): Promise<FleetMember> {
    const m = this.get(name);
    if (this.sampler) this.sample(); // its CPU time up to the kill
    this.told.add(m.process);
    await m.process.kill9();
    if (restartAfterMs === undefined) return m;
    await new Promise((r) => setTimeout(r, restartAfterMs));
    const next = this.launch(m, m.starts + 1);
    await next.process.ready;
    return next;
  }

  /** The member whose process holds the client side of a connection from `clientPort` to `serverPort`. */
  memberOnConnection(clientPort: number, serverPort: number): FleetMember | undefined {
    const inode = socketInode(clientPort, serverPort);
    if (!inode) return undefined;
    for (const m of this.members.values()) {
      const pid = m.process.child.pid;
      if (pid && m.process.child.exitCode === null && holdsSocket(pid, inode)) return m;
    }
    return undefined;
  }

  /**
   * Processes outside the fleet to sample too: the Temporal server, or a group such as PostgreSQL's postmaster
   * and its backends (`rss: false`: shared memory would be counted once per backend).
   */
  alsoSample(name: string, pids: () => number[], opts: { rss?: boolean } = {}): void {
    this.external.push({ name, pids, rss: opts.rss ?? true });
  }

  private sample(): void {
    const t = Math.round((Date.now() - this.sampleStart) / 1000);
    const note = (name: string, kind: UsageSeries['kind'], role: string, pids: number[], rss: boolean) => {
      let s = this.usage.get(name);
      if (!s) this.usage.set(name, (s = { name, kind, role, samples: [], cpuSeconds: 0 }));
      let mb = 0;
      for (const pid of pids) {
        const cpu = cpuSeconds(pid);
        if (cpu !== undefined) {
          s.cpuSeconds += cpu - (this.cpuSeen.get(pid) ?? 0);
          this.cpuSeen.set(pid, cpu);
        }
        mb += rss ? (rssMb(pid) ?? 0) : 0;
      }
      if (!rss || mb === 0) return;
      s.peakMb = Math.max(s.peakMb ?? 0, mb);
      s.lastMb = mb;
      s.samples.push([t, mb]);
    };
    for (const m of this.members.values()) {
      const pid = m.process.child.pid;
      if (pid && m.process.child.exitCode === null && m.process.child.signalCode === null)
        note(m.name, m.kind, m.role, [pid], true);
    }
    for (const e of this.external) note(e.name, 'external', e.name, e.pids(), e.rss);
  }

  /**
   * Samples every process's resident memory and CPU time every `everyMs` until stop() or stopSampling(). CPU
   * counts from the first sample: a process's time before it is sampled (its start-up) is not included.
   */
  sampleUsage(everyMs = 5_000): void {
    this.sampleStart = Date.now();
    this.sample();
    // The first sample is the baseline: CPU time from here on.
    for (const s of this.usage.values()) s.cpuSeconds = 0;
    this.sampler = setInterval(() => this.sample(), everyMs);
    this.sampler.unref();
  }

  stopSampling(): void {
    if (this.sampler) {
      clearInterval(this.sampler);
      this.sample();
    }
    this.sampler = undefined;
  }

  /** Memory and CPU per process (a replica's restarts continue its series). */
  usageSeries(): UsageSeries[] {
    return [...this.usage.values()];
  }

  describe(lines = 5): string {
    return [...this.members.values()].map((m) => `--- ${m.name}\n${m.process.logTail(lines)}`).join('\n');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopSampling();
    // Workers and HTTP first, the simulators last (workers still talk to them while they drain).
    const all = [...this.members.values()];
    await Promise.all(all.filter((m) => m.kind !== 'simulators').map((m) => m.process.stop()));
    await Promise.all(all.filter((m) => m.kind === 'simulators').map((m) => m.process.stop()));
  }
}
