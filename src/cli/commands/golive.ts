// `loopline golive probe`: the read-only checks to run on a first real tenant before going live
// (docs/contracts.md), against the systems in the config with their real credentials. Nothing is written.
// Prints one line per check (pass / warn / fail) and exits 1 when any check fails.
import type { Command } from 'commander';
import pino from 'pino';
import { action, table, type CliContext } from '../context';
import { createRuntime } from '../../../workers/runtime';
import { runGoLiveProbe, type ProbeResult } from '../../golive/probe';

export function registerGoLiveCommands(program: Command): void {
  const golive = program.command('golive').description('checks before the first real tenant goes live');
  golive
    .command('probe')
    .description(
      'read-only checks against the configured Mirakl, Peoplevox and Shopify tenants: credentials, templates, report columns and dates, carriers, offers, webhooks (docs/contracts.md)',
    )
    .option('--channel <code...>', 'only these channels (default: every enabled channel)')
    .action(
      action(async (ctx: CliContext, opts: { channel?: string[] }) => {
        for (const c of opts.channel ?? []) {
          if (!ctx.config.channels.some((x) => x.code === c)) throw new Error(`no channel "${c}" in the config`);
        }
        // Connector warnings go to stderr; the table (or JSON) is the output.
        const runtime = createRuntime(ctx.config, pino({ level: 'error' }, pino.destination(2)));
        const results = await runGoLiveProbe(
          { config: ctx.config, mirakl: runtime.mirakl, peoplevox: runtime.peoplevox, shopify: runtime.shopify },
          { channels: opts.channel },
        );
        const failed = results.filter((r) => r.status === 'fail').length;
        ctx.output(results, (rows: ProbeResult[]) => {
          process.stdout.write(table(rows.map((r) => ({ ...r, status: r.status.toUpperCase() }))));
          const warned = rows.filter((r) => r.status === 'warn').length;
          process.stdout.write(
            `\n${rows.length} checks: ${rows.length - failed - warned} pass, ${warned} warn, ${failed} fail\n`,
          );
        });
        if (failed > 0) process.exitCode = 1;
      }),
    );
}
