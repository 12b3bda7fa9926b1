// Ids for stock sync, built in one place.
export function inventoryWorkflowId(channel: string): string {
  return `inventory:${channel}`;
}

/** Logged with each push: one key per channel and push sequence number, stable across activity retries. */
export function stockPushKey(channel: string, runId: string, seq: number): string {
  return `stock:${channel}:${runId.slice(0, 8)}:${seq}`;
}
