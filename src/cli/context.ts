// What every CLI command needs: the config (same file and env as the workers), a Temporal client, and
// output helpers that honour --json (machine-readable, one JSON document on stdout) or print for people.
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { secretValues } from '../config/secret-values';
import { registerSecrets } from '../logging/logger';
import { connectClient } from '../temporal/connection';
import { fillSandboxSecrets } from '../sandbox/relaxations';
import { createOpsService, type OpsService } from '../ops/service';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

export interface CliContext {
  config: Config;
  json: boolean;
  client(): Promise<Client>;
  /** Prints `data` as JSON with --json, otherwise calls `human` to print for people. */
  output<T>(data: T, human: (data: T) => void): void;
  /** Progress goes to stderr, so --json output stays clean. */
  progressStream: NodeJS.WriteStream;
  close(): Promise<void>;
}

export function createContext(cmd: Command): CliContext {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  if (opts.config) process.env.LOOPLINE_CONFIG = opts.config;
  const config = loadConfig();
  // The sandbox only (sandbox.enabled, Temporal on this machine, no key of your own): the CLI uses the
  // sandbox's published secrets, as `npm start` does, and says so on stderr. Nowhere else.
  const filled = fillSandboxSecrets(config);
  if (filled.length > 0) {
    registerSecrets(secretValues(config));
    process.stderr.write(
      `loopline: SANDBOX: using the sandbox's published secrets (${filled.length} variables, e.g. ${filled.includes('LOOPLINE_PAYLOAD_KEY_1') ? 'LOOPLINE_PAYLOAD_KEY_1' : filled[0]}); sandbox.enabled is true in ${process.env.LOOPLINE_CONFIG ?? 'src/config/loopline.yaml'}\n`,
    );
  }
  let client: Client | undefined;
  return {
    config,
    json: opts.json === true,
    progressStream: process.stderr,
    async client() {
      client ??= await connectClient(config);
      return client;
    },
    output(data, human) {
      if (opts.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      else human(data);
    },
    async close() {
      await client?.connection.close();
    },
  };
}

/** Runs a command body with a context, closing connections and turning errors into one line + exit 1. */
export function action<A extends unknown[]>(
  fn: (ctx: CliContext, ...args: A) => Promise<void>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...args) => {
    const cmd = args[args.length - 1] as Command;
    const ctx = createContext(cmd);
    try {
      await fn(ctx, ...(args.slice(0, -1) as A));
    } catch (err) {
      process.stderr.write(`loopline: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    } finally {
      await ctx.close();
    }
  };
}

/** A fixed-width table for people. */
export function table(rows: Array<Record<string, unknown>>, columns?: string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))]
    .join('\n')
    .concat('\n');
}

/**
 * `retry|resolve|cancel <id>` under a command group (orders, returns): the operator actions of the exception
 * mailbox, on the workflow `resolveId` finds for the id the operator typed, with what each verb does in `help`.
 */
export function addOperatorActions(
  group: Command,
  help: Record<'retry' | 'resolve' | 'cancel', string>,
  resolveId: (ops: OpsService, id: string, channel?: string) => Promise<string>,
): void {
  for (const verb of ['retry', 'resolve', 'cancel'] as const) {
    group
      .command(`${verb} <id>`)
      .description(help[verb])
      .option('--channel <code>')
      .option('--note <text>', 'why (kept on the timeline)')
      .action(
        action(async (ctx: CliContext, id: string, o: { channel?: string; note?: string }) => {
          const ops = createOpsService(await ctx.client());
          const workflowId = await resolveId(ops, id, o.channel);
          const r = await ops.act(workflowId, verb, o.note);
          if (!r.ok) process.exitCode = 1;
          ctx.output(r, (x) =>
            process.stdout.write(
              x.ok
                ? `${verb}: ${workflowId} is now ${x.status}${x.exception ? ` (exception ${x.exception})` : ''}\n`
                : `${verb} refused for ${workflowId}: ${x.error}\n`,
            ),
          );
        }),
      );
  }
}
