// The catalogue audit (docs/catalogue-audit.md): started by the `catalogue-audit` Temporal Schedule
// (workers/recurring.ts) and by `loopline audit catalogue`. One activity per channel compares offers with warehouse
// item codes and writes the reports; a second opens, updates or clears the channel's merchandising exceptions
// (findingsExceptionWorkflow, one per channel and kind of finding). Only counts, bounded samples and report paths
// pass through history. The `progress` query says which channel and phase it is in; the running activity's
// heartbeat details carry the page-level progress.
import {
  defineQuery,
  proxyActivities,
  setHandler,
  workflowInfo,
  ActivityFailure,
  ApplicationFailure,
} from '@temporalio/workflow';
import type { CatalogueAuditActivities } from '../activities/catalogue-audit';
import type { FindingKind } from '../src/audit/catalogue';
import type { ChannelAuditSummary } from '../src/audit/report';

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
