// `loopline exceptions` — the exception queue by owner and reason, with the sentence and the age.
import type { Command } from 'commander';
import { action, table, type CliContext } from '../context';
import { createOpsService } from '../../ops/service';
import { age } from './orders';

export function registerExceptionCommands(program: Command): void {
  program
    .command('exceptions')
    .description('open exceptions grouped by owner and reason (oldest first)')
    .option('--owner <owner>', 'ops, merchandising, customer-service, finance')
    .option('--channel <code>')
    .option('--reason <code>')
    .option('--limit <n>', 'at most this many', '500')
    .action(
      action(async (ctx: CliContext, o: { owner?: string; channel?: string; reason?: string; limit: string }) => {
        const ops = createOpsService(await ctx.client());
        const rows = await ops.exceptions({
          owner: o.owner,
          channel: o.channel,
          reason: o.reason,
          limit: Number(o.limit),
        });
        const grouped = ops.group(rows);
        ctx.output({ byOwner: grouped, exceptions: rows }, () => {
          const out = process.stdout;
          for (const [owner, reasons] of Object.entries(grouped)) {
            const mine = rows.filter((r) => (r.owner ?? 'ops') === owner);
            if (mine.length === 0) continue;
            out.write(`\n== ${owner} (${mine.length}) ==\n`);
            for (const [reason, g] of Object.entries(reasons)) {
              out.write(`${reason}: ${g.count}, oldest ${age(g.oldestMs)}${g.fix ? `\n  fix: ${g.fix}` : ''}\n`);
            }
            out.write(
              table(
                mine.map((r) => ({
                  age: age(r.ageMs),
                  channel: r.channel,
                  order: r.orderId ?? r.wmsOrderNumber ?? r.workflowId,
                  reason: r.reason,
                  message: r.message,
                })),
              ),
            );
          }
          if (rows.length === 0) out.write('No open exceptions.\n');
        });
      }),
    );
}
