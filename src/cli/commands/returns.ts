// `loopline returns …` — list, show and retry returns (one workflow per return; docs/returns.md).
import type { Command } from 'commander';
import { action, addOperatorActions, table, type CliContext } from '../context';
import { createOpsService, type OpsService } from '../../ops/service';
import { fromMinor } from '../../domain/money';

/** `return:asos:mkp-<id>`, or the source's return id (Mirakl, Reveni, Peoplevox) looked up among the returns. */
export async function resolveReturnId(ops: OpsService, id: string, channel?: string): Promise<string> {
  if (id.startsWith('return:')) return id;
  const rows = await ops.returns({ channel, limit: 2000 });
  const hits = rows.filter((r) => r.returnKey === id || r.returnKey.replace(/^(mkp|rvn|wh)-/, '') === id);
  const ids = [...new Set(hits.map((r) => r.workflowId))];
  if (ids.length === 0) throw new Error(`no return ${id} (give the workflow id return:<channel>:<key>, or --channel)`);
  if (ids.length > 1) throw new Error(`return ${id} matches several (${ids.join(', ')}): give the workflow id`);
  return ids[0]!;
}

export function registerReturnCommands(program: Command): void {
  const returns = program.command('returns').description('returns and their refunds (one workflow per return)');

  returns
    .command('list')
    .description('returns by channel and status, newest first (running ones unless --all)')
    .option('--channel <code>')
    .option('--status <status>', 'RETURN_AWAITING_GOODS, RETURN_REFUNDED, RETURN_CLOSED, EXCEPTION …')
    .option('--order <id>', 'the returns of one marketplace order')
    .option('--all', 'include finished returns')
    .option('--limit <n>', 'at most this many', '100')
    .action(
      action(async (ctx: CliContext, o: Record<string, string | boolean | undefined>) => {
        const ops = createOpsService(await ctx.client());
        const rows = await ops.returns({
          channel: o.channel as string | undefined,
          status: o.status as string | undefined,
          orderId: o.order as string | undefined,
          running: o.all ? undefined : true,
          limit: Number(o.limit),
          detail: true,
        });
        ctx.output(rows, (r) =>
          process.stdout.write(
            table(
              r.map((x) => ({
                channel: x.channel,
                return: x.returnKey,
                order: x.orderId,
                status: x.status,
                refunded:
                  x.refundedMinor !== undefined
                    ? `${x.currency} ${fromMinor(x.refundedMinor, x.currency ?? 'GBP')}`
                    : '',
                restocked: x.restocked ?? '',
                reason: x.reason,
                owner: x.owner,
                started: x.startedAt?.slice(0, 19),
              })),
            ),
          ),
        );
      }),
    );

  returns
    .command('show <id>')
    .description(
      'one return: lines, reasons and dispositions, the refund worked out from the marketplace order, restocks, timeline',
    )
    .option('--channel <code>')
    .action(
      action(async (ctx: CliContext, id: string, o: { channel?: string }) => {
        const ops = createOpsService(await ctx.client());
        const workflowId = await resolveReturnId(ops, id, o.channel);
        const st = await ops.state<Record<string, unknown>>(workflowId);
        ctx.output<Record<string, unknown>>({ workflowId, ...st }, (s) => {
          const out = process.stdout;
          out.write(
            `${workflowId}  ${String(s.origin)} return of order ${String(s.orderId)}  status ${String(s.status)}\n`,
          );
          const exc = s.exception as { reason: string; owner: string; message: string } | undefined;
          if (exc) out.write(`EXCEPTION ${exc.reason} (owner: ${exc.owner})\n  ${exc.message}\n`);
          const lines = (s.lines as Array<Record<string, unknown>> | undefined) ?? [];
          if (lines.length)
            out.write(
              `\nlines\n${table(lines.map((l) => ({ line: l.lineId, sku: l.offerSku, units: l.quantity, reason: l.reason, disposition: l.disposition, condition: l.condition ?? '' })))}`,
            );
          const refund = s.refund as
            { calculation: { basis: string }; refundIds: Record<string, string>; found: string[] } | undefined;
          if (refund) {
            out.write(`\nrefund  ${refund.calculation.basis}\n`);
            for (const [line, rid] of Object.entries(refund.refundIds))
              out.write(
                `  ${line}: ${rid}${refund.found.includes(line) ? ' (found at the marketplace, not repeated)' : ''}\n`,
              );
          }
          const dispute = s.dispute as
            { platform: string; theirsMinor: number; oursMinor: number; currency: string } | undefined;
          if (dispute)
            out.write(
              `\ndisputed  ${dispute.platform} ${fromMinor(dispute.theirsMinor, dispute.currency)} vs marketplace ${fromMinor(dispute.oursMinor, dispute.currency)}\n`,
            );
          const restocks = (s.restocks as Array<Record<string, unknown>> | undefined) ?? [];
          if (restocks.length)
            out.write(
              `\nrestocked\n${table(restocks.map((r) => ({ item: r.itemCode, units: r.units, kind: r.kind, channels: String(r.channels) })))}`,
            );
          out.write('\ntimeline\n');
          for (const t of (s.timeline as Array<{ at: number; step: string; detail?: string }> | undefined) ?? [])
            out.write(`  ${new Date(t.at).toISOString()}  ${t.step}${t.detail ? `  ${t.detail}` : ''}\n`);
        });
      }),
    );

  addOperatorActions(
    returns,
    {
      retry: 'run the parked step again (after fixing its cause: a reason mapped, the return corrected at its source)',
      resolve: 'mark the exception handled by hand and let the return go on (or end)',
      cancel: 'refuse or cancel the return (on the marketplace too, while it is not refunded)',
    },
    resolveReturnId,
  );
}
