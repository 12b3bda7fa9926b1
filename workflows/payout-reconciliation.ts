// Payout reconciliation (docs/reconciliation.md): started by the `payout-reconciliation` Temporal Schedule
// (workers/recurring.ts) and by `loopline reconciliation report`. Per channel: the billing cycles not reconciled yet
// (SBC11), then per cycle one activity that reads its TL02 rows (paced), matches them to Shopify orders and writes
// the CSV/JSON reports, and one that opens, updates or clears the cycle's finance exceptions
// (findingsExceptionWorkflow, one per channel, cycle and kind of finding). Only counts, bounded samples, totals,
// journal lines and report paths pass through history. The `progress` query says which channel/cycle and step;
// the running activity's heartbeats carry page-level progress.
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ReconciliationActivities } from '../activities/reconciliation';
import type { ReconciliationSummary } from '../src/reconciliation/report';
import type { ReconciliationKind } from '../src/reconciliation/types';

export interface PayoutReconciliationInput {
  channels: string[];
  /** Reconcile exactly these cycles (reconciled or not); default: the cycles without a report. */
  cycleIds?: string[];
  /** Reconcile again cycles that already have a report. */
  force?: boolean;
  /** Open / update / clear finance exceptions (default true). */
  raiseExceptions?: boolean;
}

export interface PayoutReconciliationResult {
  runId: string;
  cycles: ReconciliationSummary[];
  skipped: Array<{ channel: string; alreadyReconciled: number; deferred: number }>;
  failed: Array<{ channel: string; cycleId?: string; error: string }>;
}

export interface PayoutReconciliationProgress {
  status: 'RUNNING' | 'DONE';
  channels: string[];
  channel?: string;
  cycleId?: string;
  step?: 'cycles' | 'reconcile' | 'exceptions';
  /** Cycles to do in the current channel, and done so far over the run. */
  cyclesInChannel: number;
  completed: Array<{ channel: string; cycleId: string; counts: Record<ReconciliationKind, number>; rows: number }>;
  failed: Array<{ channel: string; cycleId?: string; error: string }>;
}

export const payoutReconciliationProgressQuery = defineQuery<PayoutReconciliationProgress>('progress');

const failureText = (err: ActivityFailure) =>
  err.cause instanceof ApplicationFailure ? err.cause.message : err.message;

export async function payoutReconciliationWorkflow(
  input: PayoutReconciliationInput,
): Promise<PayoutReconciliationResult> {
  const acts = proxyActivities<Pick<ReconciliationActivities, 'listCyclesToReconcile' | 'reconcileBillingCycle'>>({
    // TL02 allows 60 calls an hour: a large cycle can take hours, paced by the activity itself.
    startToCloseTimeout: '6h',
    heartbeatTimeout: '2m',
    retry: { initialInterval: '30s', maximumInterval: '10m', backoffCoefficient: 2, maximumAttempts: 5 },
  });
  const exceptions = proxyActivities<Pick<ReconciliationActivities, 'raiseReconciliationFindings'>>({
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
  });
  const info = workflowInfo();
  const runId = `${info.workflowId}/${info.runId}`;
  const progress: PayoutReconciliationProgress = {
    status: 'RUNNING',
    channels: input.channels,
    cyclesInChannel: 0,
    completed: [],
    failed: [],
  };
  setHandler(payoutReconciliationProgressQuery, () => progress);
  const result: PayoutReconciliationResult = { runId, cycles: [], skipped: [], failed: [] };
  const fail = (f: { channel: string; cycleId?: string; error: string }) => {
    progress.failed.push(f);
    result.failed.push(f);
  };

  for (const channel of input.channels) {
    progress.channel = channel;
    progress.cycleId = undefined;
    progress.step = 'cycles';
    let listed: Awaited<ReturnType<ReconciliationActivities['listCyclesToReconcile']>>;
    try {
      listed = await acts.listCyclesToReconcile({ channel, cycleIds: input.cycleIds, force: input.force });
    } catch (err) {
      // One channel's outage must not hide the others' results.
      if (!(err instanceof ActivityFailure)) throw err;
      fail({ channel, error: failureText(err) });
      continue;
    }
    result.skipped.push({ channel, alreadyReconciled: listed.alreadyReconciled, deferred: listed.deferred });
    progress.cyclesInChannel = listed.cycles.length;
    for (const cycle of listed.cycles) {
      progress.cycleId = cycle.id;
      progress.step = 'reconcile';
      let summary: ReconciliationSummary;
      try {
        summary = await acts.reconcileBillingCycle({ channel, cycleId: cycle.id, runId, cycle });
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        fail({ channel, cycleId: cycle.id, error: failureText(err) });
        continue;
      }
      if (input.raiseExceptions !== false) {
        progress.step = 'exceptions';
        await exceptions.raiseReconciliationFindings({ summary });
      }
      result.cycles.push(summary);
      progress.completed.push({ channel, cycleId: cycle.id, counts: summary.counts, rows: summary.rows });
    }
  }
  progress.channel = undefined;
  progress.cycleId = undefined;
  progress.step = undefined;
  progress.status = 'DONE';
  return result;
}
