// `loopline reconciliation report [--channel <code>] [--cycle <id>] [--json]` — runs the payout
// reconciliation now, as the same Temporal workflow the `payout-reconciliation` Schedule starts (the workers
// do the work, inside Mirakl's TL02 limits), and waits for it. Without --cycle it reconciles the billing
// cycles that have no report yet; with --cycle it reconciles that cycle again. Progress (TL02 rows, Shopify
// look-ups) goes to stderr; with --json, stdout carries only the result document.
import type { Command } from 'commander';
import { action, table, type CliContext } from '../context';
import { followWithProgress } from '../progress';
import { fromMinor } from '../../domain/money';
import { reconciliationChannels } from '../../reconciliation/channels';
import { describeReconciliationProgress, readReconciliationProgress } from '../../reconciliation/progress';
import { RECONCILIATION_KINDS } from '../../reconciliation/types';
import {
  payoutReconciliationWorkflow,
  type PayoutReconciliationInput,
  type PayoutReconciliationResult,
} from '../../../workflows/payout-reconciliation';

const POLL_MS = 250;
const SHORT: Record<(typeof RECONCILIATION_KINDS)[number], string> = {
  PAYOUT_ORDER_NOT_IN_SHOPIFY: 'notInShopify',
  PAYOUT_LINE_NOT_BILLED: 'notBilled',
  PAYOUT_AMOUNT_DIFFERENCE: 'amount',
  PAYOUT_COMMISSION_DIFFERENCE: 'commission',
  PAYOUT_REFUND_DIFFERENCE: 'refund',
  PAYOUT_TOTAL_MISMATCH: 'payout',
  PAYOUT_REFUND_NOT_RETURNED: 'refundNotReturned',
  PAYOUT_RETURN_REFUND_MISSING: 'returnRefundMissing',
  PAYOUT_RETURN_REFUND_DIFFERENCE: 'returnRefund',
};

export function registerReconciliationCommands(program: Command): void {
  const recon = program.command('reconciliation').description('marketplace payouts against Shopify orders and returns');
  recon
    .command('report')
    .description('reconcile billing cycles (SBC11/TL02) with Shopify orders: reports, journal lines, exceptions')
    .option('--channel <code>', 'one channel (default: the channels finance.reconciliation covers)')
    .option('--cycle <id>', 'this billing cycle, even if it was reconciled before')
    .action(
      action(async (ctx: CliContext, opts: { channel?: string; cycle?: string }) => {
        const result = await runReconciliation(ctx, opts);
        ctx.output(result, (d) => {
          const rows = d.cycles.map((c) => ({
            channel: c.channel,
            cycle: c.cycleId,
            payout: `${fromMinor(c.totals.transferredToSellerMinor, c.currency)} ${c.currency}`,
            rows: c.rows,
            orders: c.orders,
            matched: c.matchedLines,
            ...Object.fromEntries(RECONCILIATION_KINDS.map((k) => [SHORT[k], c.counts[k]])),
          }));
          process.stdout.write(
            table(rows, ['channel', 'cycle', 'payout', 'rows', 'orders', 'matched', ...Object.values(SHORT)]),
          );
          for (const c of d.cycles) {
            process.stdout.write(`\n${c.channel} ${c.cycleId}: ${c.reportCsv}\n`);
            process.stdout.write(
              table(
                c.journal.map((j) => ({
                  account: j.account,
                  debit: j.debitMinor ? fromMinor(j.debitMinor, c.currency) : '',
                  credit: j.creditMinor ? fromMinor(j.creditMinor, c.currency) : '',
                })),
              ),
            );
          }
          for (const s of d.skipped)
            if (s.alreadyReconciled || s.deferred)
              process.stdout.write(`${s.channel}: ${s.alreadyReconciled} already reconciled, ${s.deferred} deferred\n`);
          for (const f of d.failed)
            process.stdout.write(`${f.channel}${f.cycleId ? ` ${f.cycleId}` : ''}: FAILED ${f.error}\n`);
        });
        if (result.failed.length > 0) process.exitCode = 1;
      }),
    );
}

export async function runReconciliation(
  ctx: CliContext,
  opts: { channel?: string; cycle?: string },
): Promise<PayoutReconciliationResult> {
  const { config } = ctx;
  if (opts.channel && !config.channels.some((c) => c.code === opts.channel))
    throw new Error(`unknown channel "${opts.channel}" (configured: ${config.channels.map((c) => c.code).join(', ')})`);
  const channels = opts.channel ? [opts.channel] : reconciliationChannels(config);
  if (channels.length === 0)
    throw new Error('no channel to reconcile: set finance.reconciliation.channels or pass --channel');
  if (opts.cycle !== undefined && !/^[A-Za-z0-9-]{36}$/.test(opts.cycle))
    throw new Error(`"${opts.cycle}" is not a billing cycle id (36 characters)`);
  const input: PayoutReconciliationInput = opts.cycle
    ? { channels, cycleIds: [opts.cycle], force: true }
    : { channels };
  const client = await ctx.client();
  const workflowId = `payout-reconciliation-cli:${channels.join('+')}:${new Date().toISOString()}`;
  const handle = await client.workflow.start(payoutReconciliationWorkflow, {
    workflowId,
    taskQueue: config.temporal.taskQueues.orders,
    args: [input],
  });
  ctx.progressStream.write(`reconciliation ${workflowId} (${channels.join(', ')})\n`);
  return followWithProgress({
    stream: ctx.progressStream,
    title: 'reconciliation',
    result: handle.result() as Promise<PayoutReconciliationResult>,
    read: async () => {
      const view = await readReconciliationProgress(client, workflowId);
      return { label: describeReconciliationProgress(view), activity: view.activity };
    },
    phaseOf: (label) => label.replace(/\d+/g, '#'),
    final: (result) => ({ total: result.cycles.length, label: `done: ${result.cycles.length} cycle(s)` }),
    pollMs: POLL_MS,
  });
}
