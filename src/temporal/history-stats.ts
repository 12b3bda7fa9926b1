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

/** One run's figures. */
export function statsOfHistory(
  history: temporal.api.history.v1.IHistory,
): Omit<HistoryStats, 'workflowId' | 'runs' | 'totalEvents'> {
  const events = history.events ?? [];
  let largestEventBytes = 0;
  let largestPayloadBytes = 0;
  let largestStartInputBytes = 0;
  for (const e of events) {
    largestEventBytes = Math.max(largestEventBytes, temporal.api.history.v1.HistoryEvent.encode(e).finish().length);
    largestPayloadBytes = Math.max(largestPayloadBytes, largestPayload(e));
    const input = e.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (input) for (const p of input) largestStartInputBytes = Math.max(largestStartInputBytes, payloadBytes(p));
  }
  return { maxEvents: events.length, largestEventBytes, largestPayloadBytes, largestStartInputBytes };
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
    }),
    {
      workflowId,
      runs: 0,
      maxEvents: 0,
      totalEvents: 0,
      largestEventBytes: 0,
      largestPayloadBytes: 0,
      largestStartInputBytes: 0,
    },
  );
}
