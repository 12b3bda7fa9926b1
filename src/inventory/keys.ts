// Ids for stock sync, built in one place.
/**
 * One inventory workflow per channel. `scope` (config `temporal.idScope`) separates deployments, or test
 * stacks, that share one Temporal namespace and the same channel codes.
 */
export function inventoryWorkflowId(channel: string, scope?: string): string {
  return scope ? `inventory:${channel}:${scope}` : `inventory:${channel}`;
}

/** Logged with each push: one key per channel and push sequence number, stable across activity retries. */
export function stockPushKey(channel: string, runId: string, seq: number): string {
  return `stock:${channel}:${runId.slice(0, 8)}:${seq}`;
}

/**
 * The workflow task timeout of the inventory workflows (the server's default is 10 s). A worker that picks one up
 * without it in its cache (the worker that had it was killed, or evicted it) replays its history in one task;
 * under load a long history took longer than 10 s, the task timed out, and the next worker started over (the
 * 10k chaos run). Histories are kept well below that (continue-as-new by size); this is the margin.
 */
export const INVENTORY_WORKFLOW_TASK_TIMEOUT = '30s';
