// The catalogue audit (docs/catalogue-audit.md), two workflow types kept together because they only make
// sense together:
//
// catalogueAuditWorkflow — started by the `catalogue-audit` Temporal Schedule (workers/recurring.ts) and by
//   `loopline audit catalogue`. One activity per channel compares offers with warehouse item codes and writes
//   the reports; a second opens, updates or clears the channel's merchandising exceptions. Only counts,
//   bounded samples and report paths pass through history. The `progress` query says which channel and
//   phase it is in; the running activity's heartbeat details carry the page-level progress.
//
// catalogueExceptionWorkflow — one per channel and finding kind (catalogue-exception:<channel>:<kind>), in
//   the same exception queue as parked orders (OrderStatus=EXCEPTION, ExceptionReason, Owner=merchandising,
//   Channel) with the same `state` query and retry / resolve / cancel updates. Each later audit updates it
//   (findingsUpdated signal); an audit that finds none of its kind clears it. Retry re-runs the audit for
//   its channel (a child workflow) after merchandising has fixed the data.
import {
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
  ActivityFailure,
  ApplicationFailure,
} from '@temporalio/workflow';
import type { CatalogueAuditActivities } from '../activities/catalogue-audit';
import type { FindingKind } from '../src/audit/catalogue';
import type { ChannelAuditSummary } from '../src/audit/report';
import { makeException, type OrderException } from '../src/domain/reasons';
import { exceptionMailbox } from './exception-mailbox';

// ---- the audit ----------------------------------------------------------------------------------------

export interface CatalogueAuditInput {
  channels: string[];
  /** Task queue of the audit activity (the Peoplevox queue: it reads the warehouse). */
  taskQueue: string;
  /** Open / update / clear merchandising exceptions (default true). */
  raiseExceptions?: boolean;
}

export interface CatalogueAuditResult {
  auditId: string;
  channels: ChannelAuditSummary[];
  failed: Array<{ channel: string; error: string }>;
}

export interface CatalogueAuditProgress {
  status: 'RUNNING' | 'DONE';
  channels: string[];
  /** The channel being audited now. */
  current?: string;
  step?: 'audit' | 'exceptions';
  completed: Array<{ channel: string; counts: Record<FindingKind, number>; offers: number; items: number }>;
  failed: Array<{ channel: string; error: string }>;
}

export const catalogueAuditProgressQuery = defineQuery<CatalogueAuditProgress>('progress');

export async function catalogueAuditWorkflow(input: CatalogueAuditInput): Promise<CatalogueAuditResult> {
  const audit = proxyActivities<Pick<CatalogueAuditActivities, 'auditChannelCatalogue'>>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '1h',
    heartbeatTimeout: '2m',
    retry: { initialInterval: '10s', maximumInterval: '5m', backoffCoefficient: 2, maximumAttempts: 5 },
  });
  const exceptions = proxyActivities<Pick<CatalogueAuditActivities, 'raiseCatalogueFindings'>>({
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
  });
  const info = workflowInfo();
  const auditId = `${info.workflowId}/${info.runId}`;
  const progress: CatalogueAuditProgress = { status: 'RUNNING', channels: input.channels, completed: [], failed: [] };
  setHandler(catalogueAuditProgressQuery, () => progress);

  const result: CatalogueAuditResult = { auditId, channels: [], failed: [] };
  for (const channel of input.channels) {
    progress.current = channel;
    progress.step = 'audit';
    let summary: ChannelAuditSummary;
    try {
      summary = await audit.auditChannelCatalogue({ channel, auditId });
    } catch (err) {
      // One channel's outage must not hide the others' findings.
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause instanceof ApplicationFailure ? err.cause.message : err.message;
      progress.failed.push({ channel, error: cause });
      result.failed.push({ channel, error: cause });
      continue;
    }
    if (input.raiseExceptions !== false) {
      progress.step = 'exceptions';
      await exceptions.raiseCatalogueFindings({ summary, auditTaskQueue: input.taskQueue });
    }
    result.channels.push(summary);
    progress.completed.push({ channel, counts: summary.counts, offers: summary.offers, items: summary.items });
  }
  progress.current = undefined;
  progress.step = undefined;
  progress.status = 'DONE';
  return result;
}

// ---- the exception ------------------------------------------------------------------------------------

/** One audit run's view of one finding kind on one channel. */
export interface FindingsUpdate {
  auditId: string;
  at: string;
  count: number;
  /** Bounded (audit.catalogue.sampleSize); the full list is in the report. */
  sample: string[];
  reportCsv: string;
  reportJson: string;
}

export interface CatalogueExceptionInput {
  channel: string;
  reason: FindingKind;
  findings: FindingsUpdate;
  auditTaskQueue: string;
}

export interface CatalogueExceptionState {
  kind: 'catalogue-exception';
  status: 'EXCEPTION' | 'CLEARED' | 'RESOLVED' | 'DISMISSED';
  channel: string;
  reason: FindingKind;
  count: number;
  sample: string[];
  reportCsv: string;
  reportJson: string;
  lastAuditId: string;
  exception?: OrderException;
  pastExceptions: OrderException[];
  timeline: Array<{ at: number; step: string; detail?: string }>;
}

export const catalogueExceptionStateQuery = defineQuery<CatalogueExceptionState>('state');
export const findingsUpdatedSignal = defineSignal<[FindingsUpdate]>('findingsUpdated');
export const retryCatalogueUpdate = defineUpdate<CatalogueExceptionState, []>('retry');
export const resolveCatalogueUpdate = defineUpdate<CatalogueExceptionState, [string?]>('resolve');
export const cancelCatalogueUpdate = defineUpdate<CatalogueExceptionState, [string?]>('cancel');

const TIMELINE_MAX = 60;
const SAMPLE_IN_SENTENCE = 5;

function describeFindings(channel: string, reason: FindingKind, f: FindingsUpdate): OrderException {
  const shown = f.sample.slice(0, SAMPLE_IN_SENTENCE).join(', ');
  return makeException(
    reason,
    {
      channel,
      count: f.count,
      sample: f.count > SAMPLE_IN_SENTENCE ? `${shown}, …` : shown,
      report: f.reportCsv,
    },
    Date.parse(f.at),
  );
}

export async function catalogueExceptionWorkflow(input: CatalogueExceptionInput): Promise<CatalogueExceptionState> {
  const state: CatalogueExceptionState = {
    kind: 'catalogue-exception',
    status: 'EXCEPTION',
    channel: input.channel,
    reason: input.reason,
    count: input.findings.count,
    sample: input.findings.sample,
    reportCsv: input.findings.reportCsv,
    reportJson: input.findings.reportJson,
    lastAuditId: input.findings.auditId,
    exception: describeFindings(input.channel, input.reason, input.findings),
    pastExceptions: [],
    timeline: [],
  };
  const mailbox = exceptionMailbox(
    state,
    { retry: retryCatalogueUpdate, resolve: resolveCatalogueUpdate, cancel: cancelCatalogueUpdate },
    {
      describe: `catalogue exception ${input.channel}/${input.reason}`,
      timelineMax: TIMELINE_MAX,
    },
  );
  const { log, close } = mailbox;
  log('exception', state.exception!.message);

  setHandler(catalogueExceptionStateQuery, () => state);
  setHandler(findingsUpdatedSignal, (f: FindingsUpdate) => {
    if (state.status !== 'EXCEPTION' || f.auditId === state.lastAuditId) return;
    state.lastAuditId = f.auditId;
    state.count = f.count;
    state.sample = f.sample;
    state.reportCsv = f.reportCsv;
    state.reportJson = f.reportJson;
    if (f.count === 0) {
      close('CLEARED', 'cleared by audit', f.auditId);
      return;
    }
    state.exception = describeFindings(input.channel, input.reason, f);
    log('audit', `${f.count} found`);
  });

  for (let a = await mailbox.next(); a; a = await mailbox.next()) {
    if (a.kind === 'retry') {
      log('retry', 're-running the audit for the channel');
      const r = await executeChild(catalogueAuditWorkflow, {
        workflowId: `catalogue-audit-retry:${input.channel}:${input.reason}:${workflowInfo().runId}:${Date.now()}`,
        args: [{ channels: [input.channel], taskQueue: input.auditTaskQueue }],
      });
      // The child's raiseCatalogueFindings signalled this workflow before the child completed.
      const mine = r.channels.find((c) => c.channel === input.channel);
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
