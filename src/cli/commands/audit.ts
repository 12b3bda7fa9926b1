// `loopline audit catalogue [--channel <code>] [--json]` — runs the catalogue audit now, as the same
// Temporal workflow the `catalogue-audit` Schedule starts (so the workers do the work, with their rate
// limits and retries), and waits for it. A progress bar on stderr follows the workflow's `progress` query
// and the audit activity's heartbeats; with --json, stdout carries only the result document.
import type { Command } from 'commander';
import { action, table, type CliContext } from '../context';
import { followWithProgress } from '../progress';
import { FINDING_KINDS } from '../../audit/catalogue';
import { describeProgress, readAuditProgress } from '../../audit/progress';
import {
  catalogueAuditWorkflow,
  type CatalogueAuditInput,
  type CatalogueAuditResult,
} from '../../../workflows/catalogue-audit';

const POLL_MS = 250;

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('audits of marketplace data against the warehouse');
  audit
    .command('catalogue')
    .description('compare each channel’s offers with the warehouse item codes and stock (reports + exceptions)')
    .option('--channel <code>', 'one channel (default: every enabled Mirakl channel)')
    .action(
      action(async (ctx: CliContext, opts: { channel?: string }) => {
        const result = await runCatalogueAudit(ctx, opts.channel);
        const rows = result.channels.map((c) => ({
          channel: c.channel,
          source: c.offerSource.api,
          offers: c.offers,
          items: c.items,
          matched: c.matched,
          ...c.counts,
          reportCsv: c.reportCsv,
          reportJson: c.reportJson,
        }));
        ctx.output({ auditId: result.auditId, channels: rows, failed: result.failed }, (d) => {
          process.stdout.write(
            table(d.channels, ['channel', 'source', 'offers', 'items', 'matched', ...FINDING_KINDS]),
          );
          for (const r of d.channels) process.stdout.write(`${r.channel}: ${r.reportCsv}\n`);
          for (const f of d.failed) process.stdout.write(`${f.channel}: FAILED ${f.error}\n`);
        });
        if (result.failed.length > 0) process.exitCode = 1;
      }),
    );
}

export async function runCatalogueAudit(ctx: CliContext, channel?: string): Promise<CatalogueAuditResult> {
  const { config } = ctx;
  const channels = config.channels.filter((c) => c.enabled && c.platform === 'mirakl').map((c) => c.code);
  if (channel && !config.channels.some((c) => c.code === channel))
    throw new Error(`unknown channel "${channel}" (configured: ${config.channels.map((c) => c.code).join(', ')})`);
  const input: CatalogueAuditInput = {
    channels: channel ? [channel] : channels,
    taskQueue: config.temporal.taskQueues.peoplevoxBulk,
  };
  const client = await ctx.client();
  const workflowId = `catalogue-audit-cli:${input.channels.join('+')}:${new Date().toISOString()}`;
  const handle = await client.workflow.start(catalogueAuditWorkflow, {
    workflowId,
    taskQueue: config.temporal.taskQueues.orders,
    args: [input],
  });
  ctx.progressStream.write(`catalogue audit ${workflowId} (${input.channels.join(', ')})\n`);

  return followWithProgress({
    stream: ctx.progressStream,
    title: 'catalogue audit',
    result: handle.result() as Promise<CatalogueAuditResult>,
    read: async () => {
      const view = await readAuditProgress(client, workflowId);
      return { label: describeProgress(view), activity: view.activity };
    },
    // Page counts end the label: a new phase is a new label without them.
    phaseOf: (label) => label.replace(/\d+\/?\d*$/, ''),
    final: (result) => ({
      total: result.channels.reduce((n, c) => n + c.offers, 0),
      label: `done: ${result.channels.map((c) => c.channel).join(', ')}`,
    }),
    pollMs: POLL_MS,
  });
}
