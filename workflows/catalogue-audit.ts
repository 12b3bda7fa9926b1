// The catalogue audit (docs/catalogue-audit.md): started by the `catalogue-audit` Temporal Schedule
// (workers/recurring.ts) and by `loopline audit catalogue`. One activity per channel compares offers with warehouse
// item codes and writes the reports; a second opens, updates or clears the channel's merchandising exceptions
// (findingsExceptionWorkflow, one per channel and kind of finding). Only counts, bounded samples and report paths
// pass through history. The `progress` query says which channel and phase it is in; the running activity's
// heartbeat details carry the page-level progress.
import {
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
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
  /**
   * Mirakl allows one full OF52 export a day per shop. Gap kept between two of them (default a day and five
   * minutes; the sandbox's Schedule passes it scaled).
   */
  fullExportGapMs?: number;
  /** A run that comes shortly before the gap is over waits for it (default two hours); longer, it pages OF21. */
  maxExportWaitMs?: number;
  /**
   * When each shop's last full export was asked for (ISO times), on top of what the deployment's recent audits
   * say (recentFullExports): the later time counts.
   */
  lastFullExports?: Record<string, string>;
}

export interface CatalogueAuditResult {
  auditId: string;
  channels: ChannelAuditSummary[];
  failed: Array<{ channel: string; error: string }>;
  /** When each shop's last full OF52 export was asked for, this run's or an earlier one's: the next run reads it. */
  lastFullExports?: Record<string, string>;
  /** The deployment's `temporal.idScope` ('' when none): a run reads only its own deployment's audits. */
  scope?: string;
}

const DAY_MS = 86_400_000;
export const FULL_EXPORT_GAP_MS = DAY_MS + 5 * 60_000;
export const MAX_EXPORT_WAIT_MS = 2 * 3_600_000;

/** Each shop's latest time among several records of full exports. */
export function latestExports(...records: Array<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const record of records)
    for (const [channel, at] of Object.entries(record))
      if (!out[channel] || Date.parse(at) > Date.parse(out[channel])) out[channel] = at;
  return out;
}

/** When a failed attempt asked for a full export: in its failure's details, or its last heartbeat's. */
function exportRequestedAt(err: ActivityFailure): string | undefined {
  const details =
    err.cause instanceof ApplicationFailure
      ? err.cause.details?.[0]
      : err.cause instanceof TimeoutFailure
        ? (err.cause.lastHeartbeatDetails as { export?: unknown } | undefined)?.export
        : undefined;
  const at = (details as { fullExportRequestedAt?: unknown; requestedAt?: unknown } | undefined) ?? {};
  const value = at.fullExportRequestedAt ?? at.requestedAt;
  return typeof value === 'string' ? value : undefined;
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
  const exceptions = proxyActivities<Pick<CatalogueAuditActivities, 'raiseCatalogueFindings' | 'recentFullExports'>>({
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
  });
  const info = workflowInfo();
  const auditId = `${info.workflowId}/${info.runId}`;
  const progress: CatalogueAuditProgress = { status: 'RUNNING', channels: input.channels, completed: [], failed: [] };
  setHandler(catalogueAuditProgressQuery, () => progress);

  const result: CatalogueAuditResult = { auditId, channels: [], failed: [] };
  // Each shop's last full export, carried from run to run, so that a run never asks for a second one in a day
  // (Mirakl would refuse it: the bench counts that as a limit broken).
  const remember = patched('catalogue-audit-export-day');
  const lastFull: Record<string, string> = {};
  if (remember) {
    // What the deployment's recent audits say; if visibility cannot answer, a refused OF52 (429) still pages OF21.
    const recent = await exceptions.recentFullExports().catch((err: unknown) => {
      if (err instanceof ActivityFailure) return { scope: undefined, lastFullExports: {} };
      throw err;
    });
    result.scope = recent.scope;
    Object.assign(lastFull, latestExports(recent.lastFullExports, input.lastFullExports ?? {}));
    result.lastFullExports = lastFull;
  }
  const gapMs = input.fullExportGapMs ?? FULL_EXPORT_GAP_MS;
  const maxWaitMs = input.maxExportWaitMs ?? MAX_EXPORT_WAIT_MS;
  for (const channel of input.channels) {
    progress.current = channel;
    progress.step = 'audit';
    let fullExport: true | string = true;
    const last = lastFull[channel];
    if (remember && last !== undefined && Number.isFinite(Date.parse(last))) {
      const allowedAt = Date.parse(last) + gapMs;
      const waitMs = allowedAt - Date.now();
      if (waitMs > 0 && waitMs <= maxWaitMs) await sleep(waitMs);
      else if (waitMs > 0) fullExport = `the day's full OF52 export was asked for at ${last}`;
    }
    let summary: ChannelAuditSummary;
    try {
      summary = await audit.auditChannelCatalogue(remember ? { channel, auditId, fullExport } : { channel, auditId });
    } catch (err) {
      // One channel's outage must not hide the others' findings.
      if (!(err instanceof ActivityFailure)) throw err;
      // Whether attempts that failed used the day's export is unknown unless they said so: assume they did.
      if (remember && fullExport === true)
        lastFull[channel] = exportRequestedAt(err) ?? new Date(Date.now()).toISOString();
      const cause = err.cause instanceof ApplicationFailure ? err.cause.message : err.message;
      progress.failed.push({ channel, error: cause });
      result.failed.push({ channel, error: cause });
      continue;
    }
    if (input.raiseExceptions !== false) {
      progress.step = 'exceptions';
      await exceptions.raiseCatalogueFindings({ summary, auditTaskQueue: input.taskQueue });
    }
    const requested = summary.offerSource.fullExportRequestedAt;
    if (remember && requested) lastFull[channel] = requested;
    result.channels.push(summary);
    progress.completed.push({ channel, counts: summary.counts, offers: summary.offers, items: summary.items });
  }
  progress.current = undefined;
  progress.step = undefined;
  progress.status = 'DONE';
  return result;
}
