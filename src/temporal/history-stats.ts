// How big a workflow's history is, as the server keeps it: events, the largest event and the largest single
// payload (the server refuses a payload over 2 MB and warns at 256 KB; a history over 50 MB or 51,200 events
// is terminated). Read from the server (fetchHistory), so the figures are the server's, not the workflow's
// own estimate. Used by the inventory bound test and bench:flash-sale.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/** The server's defaults (blobSizeLimitError, historyCountLimitError). */
export const SERVER_LIMITS = { payloadBytes: 2 * 1024 * 1024, historyEvents: 51_200 } as const;

export interface HistoryStats {
  workflowId: string;
  runs: number;
  /** Most events in one run. */
  maxEvents: number;
  /** Events over every run. */
  totalEvents: number;
  /** The largest event (its protobuf encoding), and the largest single payload in any event. */
  largestEventBytes: number;
  largestPayloadBytes: number;
  /** The largest input a run started with (continue-as-new carries the state there). */
  largestStartInputBytes: number;
  /** Workflow tasks: how many, the longest from started to completed (or failed / timed out) and the longest
   *  wait from scheduled to started, how many ran over 5 s, and the failed ones by cause (UNHANDLED_COMMAND: a
   *  signal came in while the worker was completing the run, which the worker then replays from the start). */
  workflowTasks: number;
  longestWorkflowTaskMs: number;
  longestWorkflowTaskWaitMs: number;
  workflowTasksOver5s: number;
  workflowTasksFailed: Record<string, number>;
}

type Payload = temporal.api.common.v1.IPayload;

function isPayload(v: unknown): v is Payload {
  return typeof v === 'object' && v !== null && 'data' in v && (v as Payload).data instanceof Uint8Array;
}

function payloadBytes(p: Payload): number {
  let n = p.data?.length ?? 0;
  for (const [k, m] of Object.entries(p.metadata ?? {})) n += k.length + (m?.length ?? 0);
  return n;
}

/** The largest payload anywhere inside a value (an event's attributes). */
function largestPayload(v: unknown, depth = 0): number {
  if (depth > 12 || typeof v !== 'object' || v === null) return 0;
  if (isPayload(v)) return payloadBytes(v);
  if (v instanceof Uint8Array) return 0;
  let max = 0;
  for (const x of Array.isArray(v) ? v : Object.values(v)) max = Math.max(max, largestPayload(x, depth + 1));
  return max;
}

function ms(t: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

const TASK_FAILED_CAUSE = temporal.api.enums.v1.WorkflowTaskFailedCause;

/** One run's figures. */
export function statsOfHistory(
  history: temporal.api.history.v1.IHistory,
): Omit<HistoryStats, 'workflowId' | 'runs' | 'totalEvents'> {
  const events = history.events ?? [];
  let largestEventBytes = 0;
  let largestPayloadBytes = 0;
  let largestStartInputBytes = 0;
  const at = new Map<number, number>();
  let workflowTasks = 0;
  let longestWorkflowTaskMs = 0;
  let longestWorkflowTaskWaitMs = 0;
  let workflowTasksOver5s = 0;
  const workflowTasksFailed: Record<string, number> = {};
  for (const e of events) {
    const t = ms(e.eventTime);
    at.set(Number(e.eventId ?? 0), t);
    const started = e.workflowTaskStartedEventAttributes;
    if (started)
      longestWorkflowTaskWaitMs = Math.max(
        longestWorkflowTaskWaitMs,
        t - (at.get(Number(started.scheduledEventId)) ?? t),
      );
    const ended =
      e.workflowTaskCompletedEventAttributes ??
      e.workflowTaskFailedEventAttributes ??
      e.workflowTaskTimedOutEventAttributes;
    if (ended) {
      workflowTasks++;
      const took = t - (at.get(Number(ended.startedEventId)) ?? t);
      longestWorkflowTaskMs = Math.max(longestWorkflowTaskMs, took);
      if (took > 5_000) workflowTasksOver5s++;
    }
    const failed = e.workflowTaskFailedEventAttributes;
    if (failed) {
      const cause = (TASK_FAILED_CAUSE[failed.cause ?? 0] ?? String(failed.cause)).replace(
        'WORKFLOW_TASK_FAILED_CAUSE_',
        '',
      );
      workflowTasksFailed[cause] = (workflowTasksFailed[cause] ?? 0) + 1;
    }
    if (e.workflowTaskTimedOutEventAttributes) workflowTasksFailed.TIMED_OUT = (workflowTasksFailed.TIMED_OUT ?? 0) + 1;
    largestEventBytes = Math.max(largestEventBytes, temporal.api.history.v1.HistoryEvent.encode(e).finish().length);
    largestPayloadBytes = Math.max(largestPayloadBytes, largestPayload(e));
    const input = e.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (input) for (const p of input) largestStartInputBytes = Math.max(largestStartInputBytes, payloadBytes(p));
  }
  return {
    maxEvents: events.length,
    largestEventBytes,
    largestPayloadBytes,
    largestStartInputBytes,
    workflowTasks,
    longestWorkflowTaskMs,
    longestWorkflowTaskWaitMs,
    workflowTasksOver5s,
    workflowTasksFailed,
  };
}

/** Every run of a workflow id the server still has (newest first in visibility), summed up. */
export async function historyStats(client: Client, workflowId: string): Promise<HistoryStats> {
  const runIds: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId.replace(/'/g, "\\'")}'` })) {
    runIds.push(w.runId);
  }
  // Visibility may lag behind the newest run: the current run is always read.
  if (runIds.length === 0) runIds.push('');
  const runs: HistoryStats[] = [];
  for (const runId of runIds) {
    const s = statsOfHistory(await client.workflow.getHandle(workflowId, runId || undefined).fetchHistory());
    runs.push({ workflowId, runs: 1, totalEvents: s.maxEvents, ...s });
  }
  return combineStats(runs, workflowId);
}

/** The figures of several workflows in one: the largest of each, the runs and events summed. */
export function combineStats(all: readonly HistoryStats[], workflowId = 'all'): HistoryStats {
  return all.reduce<HistoryStats>(
    (a, s) => ({
      workflowId,
      runs: a.runs + s.runs,
      maxEvents: Math.max(a.maxEvents, s.maxEvents),
      totalEvents: a.totalEvents + s.totalEvents,
      largestEventBytes: Math.max(a.largestEventBytes, s.largestEventBytes),
      largestPayloadBytes: Math.max(a.largestPayloadBytes, s.largestPayloadBytes),
      largestStartInputBytes: Math.max(a.largestStartInputBytes, s.largestStartInputBytes),
      workflowTasks: a.workflowTasks + s.workflowTasks,
      longestWorkflowTaskMs: Math.max(a.longestWorkflowTaskMs, s.longestWorkflowTaskMs),
      longestWorkflowTaskWaitMs: Math.max(a.longestWorkflowTaskWaitMs, s.longestWorkflowTaskWaitMs),
      workflowTasksOver5s: a.workflowTasksOver5s + s.workflowTasksOver5s,
      workflowTasksFailed: addCounts(a.workflowTasksFailed, s.workflowTasksFailed),
    }),
    {
      workflowId,
      runs: 0,
      maxEvents: 0,
      totalEvents: 0,
      largestEventBytes: 0,
      largestPayloadBytes: 0,
      largestStartInputBytes: 0,
      workflowTasks: 0,
      longestWorkflowTaskMs: 0,
      longestWorkflowTaskWaitMs: 0,
      workflowTasksOver5s: 0,
      workflowTasksFailed: {},
    },
  );
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}
