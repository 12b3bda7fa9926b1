// `loopline orders …` — list, show, retry, resolve, cancel, and bulk retry of one reason after a fix.
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { action, addOperatorActions, table, type CliContext } from '../context';
import { createOpsService, type OpsService } from '../../ops/service';
import { orderWorkflowId } from '../../domain/keys';

/** `order:asos:123`, or `123` with --channel, or `123` looked up by its MarketplaceOrderId. */
export async function resolveWorkflowId(ops: OpsService, id: string, channel?: string): Promise<string> {
  if (id.includes(':')) return id;
  if (channel) return orderWorkflowId(channel, id);
  const rows = await ops.list({ orderId: id, limit: 5 });
  const ids = [...new Set(rows.map((r) => r.workflowId))];
  if (ids.length === 0) throw new Error(`no order ${id} (give --channel or the workflow id order:<channel>:<id>)`);
  if (ids.length > 1) throw new Error(`order ${id} exists on several channels (${ids.join(', ')}): give --channel`);
  return ids[0]!;
}

const age = (ms?: number) =>
  ms === undefined
    ? ''
    : ms < 3600_000
      ? `${Math.round(ms / 60_000)}m`
      : ms < 48 * 3600_000
        ? `${Math.round(ms / 3600_000)}h`
        : `${Math.round(ms / 86_400_000)}d`;

export function registerOrderCommands(program: Command): void {
  const orders = program.command('orders').description('marketplace orders and their workflows');

  orders
    .command('list')
    .description('orders by channel, status, owner or reason (running ones unless --all)')
    .option('--channel <code>')
    .option('--status <status>', 'RECEIVED, ACCEPTED, IN_WAREHOUSE, SHIPPED, EXCEPTION …')
    .option('--owner <owner>', 'ops, merchandising, customer-service, finance')
    .option('--reason <code>', 'exception reason, e.g. SKU_UNMAPPED')
    .option('--all', 'include finished orders')
    .option('--limit <n>', 'at most this many', '100')
    .action(
      action(async (ctx: CliContext, o: Record<string, string | boolean | undefined>) => {
        const ops = createOpsService(await ctx.client());
        const rows = await ops.list({
          channel: o.channel as string | undefined,
          status: o.status as string | undefined,
          owner: o.owner as string | undefined,
          reason: o.reason as string | undefined,
          running: o.all ? undefined : true,
          limit: Number(o.limit),
        });
        ctx.output(rows, (r) =>
          process.stdout.write(
            table(
              r.map((x) => ({
                channel: x.channel,
                order: x.orderId,
                status: x.status,
                reason: x.reason,
                owner: x.owner,
                wms: x.wmsOrderNumber,
                started: x.startedAt?.slice(0, 19),
              })),
            ),
          ),
        );
      }),
    );

  orders
    .command('show <id>')
    .description('one order: state, exception, lines, despatches and the timeline of its lifecycle')
    .option('--channel <code>')
    .action(
      action(async (ctx: CliContext, id: string, o: { channel?: string }) => {
        const ops = createOpsService(await ctx.client());
        const workflowId = await resolveWorkflowId(ops, id, o.channel);
        const st = await ops.state<Record<string, unknown>>(workflowId);
        ctx.output<Record<string, unknown>>({ workflowId, ...st }, (s) => {
          const out = process.stdout;
          out.write(`${workflowId}  status ${String(s.status)}\n`);
          const exc = s.exception as { reason: string; owner: string; message: string } | undefined;
          if (exc) out.write(`EXCEPTION ${exc.reason} (owner: ${exc.owner})\n  ${exc.message}\n`);
          const lines = (s.lines as Array<Record<string, unknown>> | undefined) ?? [];
          if (lines.length) out.write(`\nlines\n${table(lines)}`);
          const timeline = (s.timeline as Array<{ at: number; step: string; detail?: string }> | undefined) ?? [];
          out.write('\ntimeline\n');
          for (const t of timeline)
            out.write(`  ${new Date(t.at).toISOString()}  ${t.step}${t.detail ? `  ${t.detail}` : ''}\n`);
        });
      }),
    );

  addOperatorActions(
    orders,
    {
      retry: 'run the failed step again (after fixing its cause)',
      resolve: 'mark the exception handled by hand and let the order move on',
      cancel: 'cancel the order (on the marketplace and in the warehouse where still possible)',
    },
    resolveWorkflowId,
  );

  orders
    .command('failed')
    .description('workflows whose last run failed, was terminated or timed out (and was not restarted since)')
    .option('--channel <code>')
    .option('--limit <n>', 'at most this many', '100')
    .action(
      action(async (ctx: CliContext, o: { channel?: string; limit: string }) => {
        const ops = createOpsService(await ctx.client());
        const rows = await ops.failedRuns({ channel: o.channel, limit: Number(o.limit) });
        ctx.output(rows, (r) =>
          process.stdout.write(
            table(
              r.map((x) => ({
                workflow: x.workflowId,
                type: x.type,
                ended: x.closeStatus,
                at: x.closedAt?.slice(0, 19),
                failure: (x.failure ?? '').slice(0, 120),
              })),
            ),
          ),
        );
      }),
    );

  orders
    .command('restart <id>')
    .description(
      'start a failed, terminated or timed-out workflow again (an order: read again from the marketplace; exactly-once guards apply)',
    )
    .option('--channel <code>')
    .action(
      action(async (ctx: CliContext, id: string, o: { channel?: string }) => {
        const ops = createOpsService(await ctx.client());
        const workflowId = await resolveWorkflowId(ops, id, o.channel);
        const r = await ops.restart(workflowId);
        if (!r.ok) process.exitCode = 1;
        ctx.output(r, (x) =>
          process.stdout.write(
            x.ok
              ? `restarted ${x.workflowId} (run ${x.runId}): ${x.how}\n`
              : `restart refused for ${x.workflowId}: ${x.error}\n`,
          ),
        );
      }),
    );

  orders
    .command('retry-all')
    .description('retry every open exception with one reason, e.g. after adding a SKU mapping')
    .requiredOption('--reason <code>')
    .option('--channel <code>')
    .option('--order-prefix <prefix>', 'only orders whose marketplace id starts with this')
    .action(
      action(async (ctx: CliContext, o: { reason: string; channel?: string; orderPrefix?: string }) => {
        const ops = createOpsService(await ctx.client());
        const bar = new SingleBar(
          {
            stream: ctx.progressStream,
            format: 'retrying {bar} {value}/{total}',
            noTTYOutput: true,
            notTTYSchedule: 1000,
          },
          Presets.shades_classic,
        );
        let started = false;
        const r = await ops.bulkRetry(o.reason, { channel: o.channel, orderIdPrefix: o.orderPrefix }, (done, total) => {
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.update(done);
        });
        if (started) bar.stop();
        ctx.output(r, (x) =>
          process.stdout.write(
            `${x.reason}: retried ${x.total}, cleared ${x.cleared}, still parked ${x.total - x.cleared}\n`,
          ),
        );
      }),
    );
}

export { age };
