// Loopline's workers in child processes of their own, started by the real entry point (workers/main.ts worker
// <role>) against the Temporal server the bench started, one process per role as a deployment runs them
// (docs/deployment.md), with every process's resident memory (VmRSS) and CPU time sampled (ProcessFleet). The
// bench process keeps the simulators, the HTTP listeners and the harness, so what is measured here is the
// workers' own memory. Used by bench:orders through test/support/stack.ts's `externalWorkers`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { ProcessFleet, startProcess, type LooplineProcess, type UsageSeries } from './processes';

export interface WorkerProcessesReport {
  /** Per process: role, peak and last VmRSS in MB, CPU seconds used while sampled. */
  processes: Array<{ name: string; role: string; peak_rss_mb: number; last_rss_mb: number; cpu_seconds: number }>;
  /** The largest VmRSS any one worker process reached. */
  peak_rss_mb: number;
  /** The largest sum of the processes' VmRSS at one sample. */
  peak_total_rss_mb: number;
  /** Activity attempts that failed and were retried ("Activity failed" in the processes' logs). */
  activity_failures: number;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

export function usageReport(series: UsageSeries[], activityFailures = 0): WorkerProcessesReport {
  const totals = new Map<number, number>();
  for (const s of series) for (const [t, mb] of s.samples) totals.set(t, (totals.get(t) ?? 0) + mb);
  return {
    processes: series.map((s) => ({
      name: s.name,
      role: s.role,
      peak_rss_mb: s.peakMb ?? 0,
      last_rss_mb: s.lastMb ?? 0,
      cpu_seconds: round(s.cpuSeconds),
    })),
    peak_rss_mb: Math.max(0, ...series.map((s) => s.peakMb ?? 0)),
    peak_total_rss_mb: Math.max(0, ...totals.values()),
    activity_failures: activityFailures,
  };
}

/**
 * A factory for test/support/stack.ts's `externalWorkers`: each stack started with it writes its config to
 * `dir/<n>/loopline.yaml` and runs one worker process per role; `reports` collects each stack's memory figures
 * when it stops.
 */
export function externalWorkerProcesses(opts: {
  temporalAddress: string;
  dir: string;
  roles: (configYaml: string) => string[];
  log?: (line: string) => void;
  sampleEveryMs?: number;
  /** Run the workers compiled (dist/, built first by buildCompiled()) as the image runs them; default from source. */
  compiled?: boolean;
  /** Environment added for the workers of a role (ProcessFleet's roleEnv), e.g. NODE_OPTIONS for a profile. */
  roleEnv?: Record<string, NodeJS.ProcessEnv>;
}) {
  let n = 0;
  const reports: WorkerProcessesReport[] = [];
  let current: ProcessFleet | undefined;
  return {
    reports,
    /** The processes of the stack running now (for samples taken mid-run). */
    current: () => current,
    externalWorkers: {
      temporalAddress: opts.temporalAddress,
      async start(configYaml: string) {
        n += 1;
        const dir = join(opts.dir, String(n));
        mkdirSync(dir, { recursive: true });
        const configFile = join(dir, 'loopline.yaml');
        writeFileSync(configFile, configYaml);
        const roles = opts.roles(configYaml);
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          ...SANDBOX_SECRETS,
          TEMPORAL_ADDRESS: opts.temporalAddress,
          // The ready line ("workers running") is logged at info.
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
        };
        delete env.LOOPLINE_TEST_TEMPORAL_ADDRESS;
        const fleet = new ProcessFleet({
          configFile,
          env,
          logDir: dir,
          workers: Object.fromEntries(roles.map((r) => [r, 1])),
          readyTimeoutMs: 600_000,
          ...(opts.compiled ? { compiled: true } : {}),
          ...(opts.roleEnv ? { roleEnv: opts.roleEnv } : {}),
        });
        const t0 = Date.now();
        try {
          await fleet.start();
        } catch (err) {
          await fleet.stop().catch(() => undefined);
          throw err;
        }
        opts.log?.(`worker processes ${roles.join(', ')} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${dir})`);
        fleet.sampleUsage(opts.sampleEveryMs ?? 1_000);
        current = fleet;
        return {
          async stop() {
            fleet.stopSampling();
            current = undefined;
            await fleet.stop();
            let failures = 0;
            for (const m of fleet.members.values()) {
              try {
                failures += readFileSync(m.process.logFile, 'utf8').match(/"msg":"Activity failed"/g)?.length ?? 0;
              } catch {
                // no log
              }
            }
            reports.push(usageReport(fleet.usageSeries(), failures));
          },
        };
      },
    },
  };
}

/**
 * One child process running given workers (the engine ceiling's), by `script` (a module that creates its workers
 * from argv and logs `{"msg":"workers running"}` when polling), with its VmRSS sampled like the fleet's.
 */
export function startWorkerScript(opts: {
  name: string;
  script: string;
  args: string[];
  temporalAddress: string;
  logDir: string;
}): LooplineProcess {
  mkdirSync(opts.logDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, ...SANDBOX_SECRETS, TEMPORAL_ADDRESS: opts.temporalAddress };
  delete env.LOOPLINE_TEST_TEMPORAL_ADDRESS;
  return startProcess({
    name: opts.name,
    args: [opts.script, ...opts.args],
    env,
    logDir: opts.logDir,
    readyLine: /"msg":"workers running"/,
    timeoutMs: 600_000,
  });
}
