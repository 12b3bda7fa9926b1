// Findings of a scheduled check (the catalogue audit, the payout reconciliation) as one standalone exception per
// channel, kind of finding (and billing cycle), in the same exception queue as parked orders: OrderStatus =
// EXCEPTION, ExceptionReason, Owner, Channel, the `state` query and retry / resolve / cancel. Each later run of
// the check updates it (findingsUpdated); a run that finds none of its kind clears it. Retry runs the check again
// for its channel (a child workflow) after the people who own the data have fixed it.
import { defineSignal, executeChild, setHandler, workflowInfo } from '@temporalio/workflow';
import type { FindingKind } from '../src/audit/catalogue';
import type { ReconciliationKind } from '../src/reconciliation/types';
import { makeException, type OrderException } from '../src/domain/reasons';
import {
  exceptionMailbox,
  operatorMessages,
  publishStandaloneException,
  stateQuery,
  type TimelineEntry,
} from './exception-mailbox';
import { catalogueAuditWorkflow } from './catalogue-audit';
import { payoutReconciliationWorkflow } from './payout-reconciliation';

/** Which check found it, and what that check needs to run again for this exception. */
export type FindingsSource =
  { check: 'catalogue-audit'; auditTaskQueue: string } | { check: 'payout-reconciliation'; cycleId: string };

/** One run's view of one kind of finding. */
export interface FindingsUpdate {
  /** The run that found it (`<workflowId>/<runId>` of the audit or reconciliation). */
  runId?: string;
  /** Histories from before the generic workflow name the catalogue audit's run `auditId`. */
  auditId?: string;
  at: string;
  count: number;
  /** Bounded (the check's sampleSize); the full list is in the report. */
  sample: string[];
  reportCsv: string;
  reportJson: string;
}

export interface FindingsExceptionInput {
  source: FindingsSource;
  channel: string;
  reason: FindingKind | ReconciliationKind;
  findings: FindingsUpdate;
}

export interface FindingsExceptionState {
  kind: 'catalogue-exception' | 'reconciliation-exception';
  status: 'EXCEPTION' | 'CLEARED' | 'RESOLVED' | 'DISMISSED';
  channel: string;
  cycleId?: string;
  reason: FindingKind | ReconciliationKind;
  count: number;
  sample: string[];
  reportCsv: string;
  reportJson: string;
  lastRunId: string;
  exception?: OrderException;
  pastExceptions: OrderException[];
  timeline: TimelineEntry[];
}

export const findingsUpdatedSignal = defineSignal<[FindingsUpdate]>('findingsUpdated');
/** retry / resolve / cancel and `state`, typed with this workflow's state. */
export const findingsOperator = operatorMessages<FindingsExceptionState>();

const TIMELINE_MAX = 60;
const SAMPLE_IN_SENTENCE = 5;

/** What differs between the checks: wording, and how a retry runs the check again. */
const CHECKS = {
  'catalogue-audit': {
    kind: 'catalogue-exception',
    separator: ', ',
    describe: (i: FindingsExceptionInput) => `catalogue exception ${i.channel}/${i.reason}`,
    updated: 'audit',
    cleared: 'cleared by audit',
    retrying: () => 're-running the audit for the channel',
  },
  'payout-reconciliation': {
    kind: 'reconciliation-exception',
    separator: '; ',
    describe: (i: FindingsExceptionInput) => `reconciliation exception ${cycleOf(i)}/${i.reason}`,
    updated: 'reconciled again',
    cleared: 'cleared by reconciliation',
    retrying: (i: FindingsExceptionInput) => `reconciling cycle ${cycleOf(i)} again`,
  },
} as const;

function cycleOf(i: FindingsExceptionInput): string | undefined {
  return i.source.check === 'payout-reconciliation' ? i.source.cycleId : undefined;
}

function describeFindings(input: FindingsExceptionInput, f: FindingsUpdate): OrderException {
  const sep = CHECKS[input.source.check].separator;
  const shown = f.sample.slice(0, SAMPLE_IN_SENTENCE).join(sep);
  return makeException(
    input.reason,
    {
      channel: input.channel,
      cycleId: cycleOf(input),
      count: f.count,
      sample: f.count > SAMPLE_IN_SENTENCE ? `${shown}${sep}…` : shown,
      report: f.reportCsv,
    },
    Date.parse(f.at),
  );
}

/** Runs the check again for this exception's channel (and cycle); its findings come back by signal. */
async function runCheckAgain(input: FindingsExceptionInput, runId: string) {
  const src = input.source;
  if (src.check === 'catalogue-audit') {
    const r = await executeChild(catalogueAuditWorkflow, {
      workflowId: `catalogue-audit-retry:${input.channel}:${input.reason}:${runId}:${Date.now()}`,
      args: [{ channels: [input.channel], taskQueue: src.auditTaskQueue }],
    });
    const mine = r.channels.find((c) => c.channel === input.channel);
    return mine
      ? { found: mine.counts[input.reason as FindingKind] }
      : { error: r.failed.map((f) => f.error).join('; ') || 'no result' };
  }
  const r = await executeChild(payoutReconciliationWorkflow, {
    workflowId: `payout-reconciliation-retry:${input.channel}:${src.cycleId}:${input.reason}:${runId}:${Date.now()}`,
    args: [{ channels: [input.channel], cycleIds: [src.cycleId], force: true }],
  });
  const mine = r.cycles.find((c) => c.cycleId === src.cycleId);
  return mine
    ? { found: mine.counts[input.reason as ReconciliationKind] }
    : { error: r.failed.map((f) => f.error).join('; ') || 'no result' };
}

export async function findingsExceptionWorkflow(input: FindingsExceptionInput): Promise<FindingsExceptionState> {
  const check = CHECKS[input.source.check];
  const runIdOf = (f: FindingsUpdate) => f.runId ?? f.auditId ?? '';
  const state: FindingsExceptionState = {
    kind: check.kind,
    status: 'EXCEPTION',
    channel: input.channel,
    ...(input.source.check === 'payout-reconciliation' ? { cycleId: input.source.cycleId } : {}),
    reason: input.reason,
    count: input.findings.count,
    sample: input.findings.sample,
    reportCsv: input.findings.reportCsv,
    reportJson: input.findings.reportJson,
    lastRunId: runIdOf(input.findings),
    // Opened by the signal-with-start that started this workflow (its search attributes came with it).
    exception: describeFindings(input, input.findings),
    pastExceptions: [],
    timeline: [],
  };
  const mailbox = exceptionMailbox(state, {
    describe: check.describe(input),
    timelineMax: TIMELINE_MAX,
    publish: () => publishStandaloneException(state),
  });
  const { log, close } = mailbox;
  log('exception', state.exception!.message);

  setHandler(stateQuery, () => state);
  setHandler(findingsUpdatedSignal, (f: FindingsUpdate) => {
    const runId = runIdOf(f);
    if (state.status !== 'EXCEPTION' || runId === state.lastRunId) return;
    state.lastRunId = runId;
    state.count = f.count;
    state.sample = f.sample;
    state.reportCsv = f.reportCsv;
    state.reportJson = f.reportJson;
    if (f.count === 0) {
      close('CLEARED', check.cleared, runId);
      return;
    }
    state.exception = describeFindings(input, f);
    log(check.updated, `${f.count} found`);
  });

  for (let a = await mailbox.next(); a; a = await mailbox.next()) {
    if (a.kind === 'retry') {
      log('retry', check.retrying(input));
      // The child's findings step signalled this workflow before the child completed.
      const r = await runCheckAgain(input, workflowInfo().runId);
      if ('error' in r) log('retry failed', r.error);
      else if (state.status === 'EXCEPTION') log('still found', `${r.found} ${input.reason}`);
    } else if (a.kind === 'resolve') close('RESOLVED', 'resolved', a.note);
    else close('DISMISSED', 'dismissed', a.note);
    mailbox.done();
  }
  // Let an update that raced the close see the final state.
  await mailbox.settle();
  return state;
}

// ---- workflow types from before findingsExceptionWorkflow ---------------------------------------------------
// Exceptions opened earlier still run under these names; they are the same workflow with their old input.

export interface CatalogueExceptionInput {
  channel: string;
  reason: FindingKind;
  findings: FindingsUpdate;
  auditTaskQueue: string;
}

/** @deprecated New catalogue findings open a findingsExceptionWorkflow. */
export function catalogueExceptionWorkflow(input: CatalogueExceptionInput): Promise<FindingsExceptionState> {
  return findingsExceptionWorkflow({
    source: { check: 'catalogue-audit', auditTaskQueue: input.auditTaskQueue },
    channel: input.channel,
    reason: input.reason,
    findings: input.findings,
  });
}

export interface ReconciliationExceptionInput {
  channel: string;
  cycleId: string;
  reason: ReconciliationKind;
  findings: FindingsUpdate;
}

/** @deprecated New payout findings open a findingsExceptionWorkflow. */
export function reconciliationExceptionWorkflow(input: ReconciliationExceptionInput): Promise<FindingsExceptionState> {
  return findingsExceptionWorkflow({
    source: { check: 'payout-reconciliation', cycleId: input.cycleId },
    channel: input.channel,
    reason: input.reason,
    findings: input.findings,
  });
}
