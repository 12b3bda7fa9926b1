// `loopline stock status` — per-channel stock sync health (sync age, pending changes, failed pushes,
// rejected SKUs, last drift found by the full read).
import type { Command } from 'commander';
import { action, table, type CliContext } from '../context';
import { createOpsService } from '../../ops/service';

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
}
