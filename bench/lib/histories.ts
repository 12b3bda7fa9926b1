// What the Temporal server holds, per workflow type, read from its visibility and histories (never from
// Loopline's own counters): how many executions of each type in each status, the longest and largest
// histories, and, in a sample of the largest histories of each type, the largest payload any one event
// carried (the server refuses a payload over 2 MB and warns from 512 KB; a history over 50 MB or 51,200
// events is terminated). Used by bench/soak.ts.
import type { Client } from '@temporalio/client';
import { inParallel } from './in-parallel';

/** The server's default limits (dev server and self-hosted), for the report. */
export const SERVER_LIMITS = {
  payload_bytes_error: 2 * 1024 * 1024,
  payload_bytes_warn: 512 * 1024,
  history_events_error: 51_200,
  history_bytes_error: 50 * 1024 * 1024,
} as const;

export interface TypeSnapshot {
  executions: number;
  byStatus: Record<string, number>;
  /** Sum over executions (continued-as-new runs included): events written so far. */
  historyEvents: number;
  maxHistoryLength: number;
  maxHistoryBytes: number;
  /** The execution with the longest history (workflow id and run id). */
  longest?: { workflowId: string; runId: string; historyLength: number; historyBytes: number };
}

/**
 * Every execution the server lists, grouped by workflow type (or by `group`, e.g. a type split by id prefix). Visibility gives the history length and size of
 * closed executions only (a running one lists 0): those are described one by one.
 */
export async function snapshotByType(
  client: Client,
  opts: { query?: string; group?: (wf: { type: string; workflowId: string }) => string } = {},
): Promise<Record<string, TypeSnapshot>> {
  const { query } = opts;
  const group = opts.group ?? ((wf) => wf.type);
  const out: Record<string, TypeSnapshot> = {};
  const listed: Array<{
    type: string;
    workflowId: string;
    runId: string;
    status: { name: string };
    historyLength: number;
    historySize?: number;
  }> = [];
  for await (const wf of client.workflow.list(query ? { query } : {})) listed.push(wf);
  await inParallel(
    listed.filter((wf) => wf.status.name === 'RUNNING'),
    16,
    async (wf) => {
      try {
        const d = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
        wf.historyLength = d.historyLength;
        wf.historySize = d.historySize;
      } catch {
        // closed meanwhile: the listed figures stand
      }
    },
  );
  for (const wf of listed) {
    const t = (out[group(wf)] ??= {
      executions: 0,
      byStatus: {},
      historyEvents: 0,
      maxHistoryLength: 0,
      maxHistoryBytes: 0,
    });
    t.executions += 1;
    t.byStatus[wf.status.name] = (t.byStatus[wf.status.name] ?? 0) + 1;
    t.historyEvents += wf.historyLength;
    const bytes = wf.historySize ?? 0;
    t.maxHistoryBytes = Math.max(t.maxHistoryBytes, bytes);
    if (wf.historyLength > t.maxHistoryLength) {
      t.maxHistoryLength = wf.historyLength;
      t.longest = { workflowId: wf.workflowId, runId: wf.runId, historyLength: wf.historyLength, historyBytes: bytes };
    }
  }
  return out;
}

/** Bytes of every payload under one history event (its `data`, as stored: encrypted where the codec encrypts). */
function payloadBytes(node: unknown, depth = 0): { total: number; largest: number } {
  let total = 0;
  let largest = 0;
  if (!node || typeof node !== 'object' || depth > 12) return { total, largest };
  const rec = node as Record<string, unknown>;
  if (Array.isArray(rec.payloads)) {
    for (const p of rec.payloads as Array<{ data?: Uint8Array | null }>) {
      const n = p?.data?.length ?? 0;
      total += n;
      largest = Math.max(largest, n);
    }
  }
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'payloads' || !v || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
    const inner = payloadBytes(v, depth + 1);
    total += inner.total;
    largest = Math.max(largest, inner.largest);
  }
  return { total, largest };
}

export interface PayloadSample {
  sampled: number;
  /** The largest single payload in any sampled history, and the most payload bytes one event carried. */
  maxPayloadBytes: number;
  maxEventPayloadBytes: number;
  maxEventType?: string;
  maxIn?: string;
}

/**
 * Reads the histories of the `perType` largest executions of each type (by history size, from visibility)
 * and finds the largest payloads they hold.
 */
export async function samplePayloads(
  client: Client,
  types: string[],
  perType = 3,
  query?: (type: string) => string,
): Promise<Record<string, PayloadSample>> {
  const out: Record<string, PayloadSample> = {};
  for (const type of types) {
    const all: Array<{ workflowId: string; runId: string; bytes: number }> = [];
    for await (const wf of client.workflow.list({ query: query ? query(type) : `WorkflowType = "${type}"` })) {
      all.push({ workflowId: wf.workflowId, runId: wf.runId, bytes: wf.historySize ?? wf.historyLength });
    }
    all.sort((a, b) => b.bytes - a.bytes);
    const s: PayloadSample = { sampled: 0, maxPayloadBytes: 0, maxEventPayloadBytes: 0 };
    await inParallel(all.slice(0, perType), 3, async (wf) => {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      s.sampled += 1;
      for (const ev of history.events ?? []) {
        const { total, largest } = payloadBytes(ev);
        s.maxPayloadBytes = Math.max(s.maxPayloadBytes, largest);
        if (total > s.maxEventPayloadBytes) {
          s.maxEventPayloadBytes = total;
          s.maxEventType = String(ev.eventType ?? '');
          s.maxIn = wf.workflowId;
        }
      }
    });
    out[type] = s;
  }
  return out;
}
