// `loopline stock status` — per-channel stock sync health (sync age, pending changes, failed pushes,
// rejected SKUs, last drift found by the full read).
import type { Command } from 'commander';
import { action, table, type CliContext } from '../context';
import { createOpsService } from '../../ops/service';
import { inventoryWorkflowId } from '../../inventory/keys';
import { confirmFullReadUpdate } from '../../../workflows/inventory';

const secs = (v: unknown) => (typeof v === 'number' ? `${Math.round(v / 1000)}s` : '');

export function registerStockCommands(program: Command): void {
  const stock = program.command('stock').description('stock sync from the master to every channel');
  stock
    .command('status')
    .description('sync health per channel')
    .action(
      action(async (ctx: CliContext) => {
        const ops = createOpsService(await ctx.client());
        const rows = await ops.syncHealth();
        ctx.output(rows, (r) =>
          process.stdout.write(
            table(
              r.map((h) => ({
                channel: h.channel,
                syncAge: secs(h.syncAgeMs),
                oldestPending: secs(h.oldestPendingMs),
                pending: h.pendingCount,
                failedPushes: h.failedPushes,
                rejected: Array.isArray(h.rejected) ? h.rejected.length : '',
                lastError: h.lastPushError ?? h.error ?? '',
              })),
            ),
          ),
        );
      }),
    );
  stock
    .command('confirm-read')
    .description(
      'apply the next full stock read of a channel even though most items suddenly read 0 (after STOCK_READ_HELD)',
    )
    .argument('<channel>', 'channel code, e.g. asos')
    .action(
      action(async (ctx: CliContext, channel: string) => {
        if (!ctx.config.channels.some((c) => c.code === channel))
          throw new Error(`no channel "${channel}" in the config`);
        const client = await ctx.client();
        const held = await client.workflow
          .getHandle(inventoryWorkflowId(channel, ctx.config.temporal.idScope))
          .executeUpdate(confirmFullReadUpdate);
        ctx.output({ channel, held, confirmed: true }, () =>
          process.stdout.write(
            held
              ? `${channel}: confirmed; a full read starts now and is applied as it reads.\n`
              : `${channel}: no read was held; the next full read will be applied whatever it shows.\n`,
          ),
        );
      }),
    );
}
