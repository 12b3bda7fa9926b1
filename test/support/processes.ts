// Loopline's processes as a deployment runs them, each a child process started by its own entry point
// (workers/main.ts worker <role>, workers/main.ts http, src/sandbox/main.ts <system>), with its output in a
// log file. A process is ready when it logs its "running" line; it can be stopped or killed with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
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

export function startProcess(opts: {
  name: string;
  /** Script and arguments, run with `node --import tsx` from the project root (as `npm run …` does). */
  args: string[];
  env: NodeJS.ProcessEnv;
  logDir: string;
  /** A line of the process's own log that says it is ready. */
  readyLine: RegExp;
  timeoutMs?: number;
}): LooplineProcess {
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', ...opts.args], {
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
  const ready = new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    let gone = false;
    void exited.then(() => (gone = true));
    const check = () => {
      let text = '';
      try {
        text = readFileSync(logFile, 'utf8');
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
