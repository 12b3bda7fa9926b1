// Payout reconciliation (docs/reconciliation.md), two workflow types kept together:
//
// payoutReconciliationWorkflow — started by the `payout-reconciliation` Temporal Schedule (workers/
//   recurring.ts) and by `loopline reconciliation report`. Per channel: the billing cycles not reconciled yet
//   (SBC11), then per cycle one activity that reads its TL02 rows (paced), matches them to Shopify orders and
//   writes the CSV/JSON reports, and one that opens, updates or clears the cycle's finance exceptions. Only
//   counts, bounded samples, totals, journal lines and report paths pass through history. The `progress`
//   query says which channel/cycle and step; the running activity's heartbeats carry page-level progress.
//
// reconciliationExceptionWorkflow — one per channel, billing cycle and finding kind
//   (payout-exception:<channel>:<cycle>:<kind>), in the same exception queue as parked orders
//   (OrderStatus=EXCEPTION, ExceptionReason, Owner=finance, Channel) with the same `state` query and
//   retry / resolve / cancel updates. Retry reconciles the cycle again (a child workflow) after finance or
//   ops fixed the cause; a run that finds none of its kind clears it.
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ReconciliationActivities } from '../activities/reconciliation';
import type { ReconciliationSummary } from '../src/reconciliation/report';
import type { ReconciliationKind } from '../src/reconciliation/types';
import { makeException, type OrderException } from '../src/domain/reasons';
import { exceptionMailbox } from './exception-mailbox';

// ---- the reconciliation -------------------------------------------------------------------------------

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

// ---- the exception ------------------------------------------------------------------------------------

/** One run's view of one finding kind on one billing cycle. */
export interface ReconciliationFindingsUpdate {
  runId: string;
  at: string;
  count: number;
  /** Bounded (finance.reconciliation.sampleSize); the full list is in the report. */
  sample: string[];
  reportCsv: string;
  reportJson: string;
}

export interface ReconciliationExceptionInput {
  channel: string;
  cycleId: string;
  reason: ReconciliationKind;
  findings: ReconciliationFindingsUpdate;
}

export interface ReconciliationExceptionState {
  kind: 'reconciliation-exception';
  status: 'EXCEPTION' | 'CLEARED' | 'RESOLVED' | 'DISMISSED';
  channel: string;
  cycleId: string;
  reason: ReconciliationKind;
  count: number;
  sample: string[];
  reportCsv: string;
  reportJson: string;
  lastRunId: string;
  exception?: OrderException;
  pastExceptions: OrderException[];
  timeline: Array<{ at: number; step: string; detail?: string }>;
}

export const reconciliationExceptionStateQuery = defineQuery<ReconciliationExceptionState>('state');
export const reconciliationFindingsSignal = defineSignal<[ReconciliationFindingsUpdate]>('findingsUpdated');
export const retryReconciliationUpdate = defineUpdate<ReconciliationExceptionState, []>('retry');
export const resolveReconciliationUpdate = defineUpdate<ReconciliationExceptionState, [string?]>('resolve');
export const cancelReconciliationUpdate = defineUpdate<ReconciliationExceptionState, [string?]>('cancel');

const TIMELINE_MAX = 60;
const SAMPLE_IN_SENTENCE = 5;

function describeFindings(input: ReconciliationExceptionInput, f: ReconciliationFindingsUpdate): OrderException {
  const shown = f.sample.slice(0, SAMPLE_IN_SENTENCE).join('; ');
  return makeException(
    input.reason,
    {
      channel: input.channel,
      cycleId: input.cycleId,
      count: f.count,
      sample: f.count > SAMPLE_IN_SENTENCE ? `${shown}; …` : shown,
      report: f.reportCsv,
    },
    Date.parse(f.at),
  );
}

export async function reconciliationExceptionWorkflow(
  input: ReconciliationExceptionInput,
): Promise<ReconciliationExceptionState> {
  const state: ReconciliationExceptionState = {
    kind: 'reconciliation-exception',
    status: 'EXCEPTION',
    channel: input.channel,
    cycleId: input.cycleId,
    reason: input.reason,
    count: input.findings.count,
    sample: input.findings.sample,
    reportCsv: input.findings.reportCsv,
    reportJson: input.findings.reportJson,
    lastRunId: input.findings.runId,
    exception: describeFindings(input, input.findings),
    pastExceptions: [],
    timeline: [],
  };
  const mailbox = exceptionMailbox(
    state,
    { retry: retryReconciliationUpdate, resolve: resolveReconciliationUpdate, cancel: cancelReconciliationUpdate },
    {
      describe: `reconciliation exception ${input.cycleId}/${input.reason}`,
      timelineMax: TIMELINE_MAX,
    },
  );
  const { log, close } = mailbox;
  log('exception', state.exception!.message);

  setHandler(reconciliationExceptionStateQuery, () => state);
  setHandler(reconciliationFindingsSignal, (f: ReconciliationFindingsUpdate) => {
    if (state.status !== 'EXCEPTION' || f.runId === state.lastRunId) return;
    state.lastRunId = f.runId;
    state.count = f.count;
    state.sample = f.sample;
    state.reportCsv = f.reportCsv;
    state.reportJson = f.reportJson;
    if (f.count === 0) {
      close('CLEARED', 'cleared by reconciliation', f.runId);
      return;
    }
    state.exception = describeFindings(input, f);
    log('reconciled again', `${f.count} found`);
  });

  for (let a = await mailbox.next(); a; a = await mailbox.next()) {
    if (a.kind === 'retry') {
      log('retry', `reconciling cycle ${input.cycleId} again`);
      const r = await executeChild(payoutReconciliationWorkflow, {
        workflowId: `payout-reconciliation-retry:${input.channel}:${input.cycleId}:${input.reason}:${workflowInfo().runId}:${Date.now()}`,
        args: [{ channels: [input.channel], cycleIds: [input.cycleId], force: true }],
      });
      // The child's raiseReconciliationFindings signalled this workflow before the child completed.
      const mine = r.cycles.find((c) => c.cycleId === input.cycleId);
      if (!mine) log('retry failed', r.failed.map((f) => f.error).join('; ') || 'no result');
      else if (state.status === 'EXCEPTION') log('still found', `${mine.counts[input.reason]} ${input.reason}`);
    } else if (a.kind === 'resolve') close('RESOLVED', 'resolved', a.note);
    else close('DISMISSED', 'dismissed', a.note);
    mailbox.done();
  }
  // Let an update that raced the close see the final state.
  await mailbox.settle();
  return state;
}
