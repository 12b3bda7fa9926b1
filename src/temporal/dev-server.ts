// Starts (or reuses) a Temporal CLI dev server: SQLite file in WAL mode, Web UI, our search attributes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createConnection } from 'node:net';
import { SEARCH_ATTRIBUTE_TYPES } from './search-attributes';

export interface DevServerOptions {
  cliPath: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  /** Omit for an in-memory server (tests). */
  dbFilename?: string;
  headless?: boolean;
  codecEndpoint?: string;
  onLog?: (line: string) => void;
}

export interface DevServerHandle {
  address: string;
  uiUrl?: string;
  reused: boolean;
  stop(): Promise<void>;
}

export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export function devServerArgs(opts: DevServerOptions): string[] {
  const port = opts.port ?? 7233;
  const args = ['server', 'start-dev', '--ip', opts.ip ?? '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort ?? port + 1000), '--ui-disable-news-fetch');
  if (opts.codecEndpoint) args.push('--ui-codec-endpoint', opts.codecEndpoint);
  if (opts.dbFilename) {
    args.push('--db-filename', opts.dbFilename);
    // WAL keeps the UI and the workers from blocking each other on the one SQLite file.
    args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) args.push('--search-attribute', `${name}=${type}`);
  return args;
}

async function waitUntil(pred: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Registers our search attributes on a server we did not start (idempotent: "already exists" is fine). */
export async function registerSearchAttributes(cliPath: string, address: string, namespace = 'default'): Promise<void> {
  const args = ['operator', 'search-attribute', 'create', '--address', address, '--namespace', namespace];
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) args.push('--name', name, '--type', type);
  await new Promise<void>((resolve) => {
    const p = spawn(cliPath, args, { stdio: 'ignore' });
    p.once('exit', () => resolve());
    p.once('error', () => resolve());
  });
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServerHandle> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const address = `${ip}:${port}`;
  const uiUrl = opts.headless ? undefined : `http://localhost:${opts.uiPort ?? port + 1000}`;
  if (await isListening(ip, port)) {
    await registerSearchAttributes(opts.cliPath, address);
    return { address, uiUrl, reused: true, stop: async () => {} };
  }
  if (opts.dbFilename) mkdirSync(dirname(opts.dbFilename), { recursive: true });
  const child: ChildProcess = spawn(opts.cliPath, devServerArgs(opts), { stdio: ['ignore', 'pipe', 'pipe'] });
  const forward = (buf: Buffer) => {
    for (const line of buf.toString().split('\n')) if (line.trim()) opts.onLog?.(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitUntil(
    async () => {
      if (exited) throw new Error(`temporal server start-dev exited early (code ${child.exitCode})`);
      return isListening(ip, port);
    },
    60_000,
    `the Temporal dev server on ${address}`,
  );
  return {
    address,
    uiUrl,
    reused: false,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => {
          if (!exited) child.kill('SIGKILL');
        }, 10_000).unref();
      }),
  };
}
