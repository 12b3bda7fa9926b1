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
