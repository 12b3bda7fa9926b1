// Where Loopline's log lines go in the tests: every line any test stack (workers, HTTP servers,
// connectors) and the Temporal SDK runtime writes, through the production logger (src/logging/logger.ts,
// with its redaction) at debug level, into one JSON-lines file per test process. test/support/scan.ts
// searches it for the sandbox's secrets and customer data when a stack stops, and fails the test file
// on any finding. LOOPLINE_SCAN_DIR keeps the files (bench/security.ts); otherwise they live in a
// temporary folder removed when the process exits.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createLogger, type Logger } from '../../src/logging/logger';

let state: { file: string; log: Logger; dest: pino.DestinationStream & { flushSync(): void } } | undefined;

function open() {
  if (state) return state;
  const keep = process.env.LOOPLINE_SCAN_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'loopline-scan-'));
  mkdirSync(dir, { recursive: true });
  if (!keep) process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, `logs-${process.pid}.jsonl`);
  const dest = pino.destination({ dest: file, sync: true, mkdir: true }) as pino.DestinationStream & {
    flushSync(): void;
  };
  // Shown as well when asked for (LOG_LEVEL=debug), as before.
  const streams: pino.StreamEntry[] = [{ level: 'debug', stream: dest }];
  if (process.env.LOG_LEVEL === 'debug') streams.push({ level: 'debug', stream: process.stdout });
  const log = createLogger({ level: 'debug', name: 'loopline-test', destination: pino.multistream(streams) });
  state = { file, log, dest };
  return state;
}

/** The logger test stacks hand to Loopline's code. */
export function scanLog(): Logger {
  return open().log;
}

/** The log file of this process and its current size (a stack scans from where it started). */
export function scanLogPosition(): { file: string; offset: number } {
  const s = open();
  s.dest.flushSync();
  let offset: number;
  try {
    offset = statSync(s.file).size;
  } catch {
    offset = 0;
  }
  return { file: s.file, offset };
}

/** A Temporal SDK runtime log entry, written through the same logger (as installTemporalLogging does). */
export function scanSdkEntry(entry: { level: string; message: string; meta?: Record<string, unknown> }): void {
  const log = scanLog().child({ component: 'temporal-sdk' });
  const meta = { ...(entry.meta ?? {}) };
  const err = meta.error as Error | undefined;
  if (err instanceof Error) meta.error = err.message;
  const fn = entry.level === 'ERROR' ? log.error : entry.level === 'WARN' ? log.warn : log.info;
  fn.call(log, meta, entry.message);
}
