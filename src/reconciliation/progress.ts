// Progress of a running payout reconciliation, for people: the workflow's `progress` query (channel, cycle,
// step, cycles done) plus the running reconcileBillingCycle activity's last heartbeat (TL02 rows read, calls,
// Shopify look-ups), decoded with the client's own data converter (works with payload encryption on).
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { ReconciliationProgress } from '../../activities/reconciliation';
import type { PayoutReconciliationProgress } from '../../workflows/payout-reconciliation';
import { payoutReconciliationProgressQuery } from '../../workflows/payout-reconciliation';

export interface ReconciliationProgressView {
  workflow: PayoutReconciliationProgress;
  activity?: ReconciliationProgress;
}

export async function readReconciliationProgress(
  client: Client,
  workflowId: string,
): Promise<ReconciliationProgressView> {
  const handle = client.workflow.getHandle(workflowId);
  const workflow = await handle.query(payoutReconciliationProgressQuery);
  const described = await handle.describe();
  const pending = (described.raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'reconcileBillingCycle');
  let activity: ReconciliationProgress | undefined;
  const payloads = pending?.heartbeatDetails?.payloads;
  if (payloads && payloads.length > 0)
    activity = await decodeFromPayloadsAtIndex<ReconciliationProgress>(client.options.loadedDataConverter, 0, payloads);
  return { workflow, activity };
}

/** One line: "asos · cycle <id> · TL02 1200 rows (8 calls)". */
export function describeReconciliationProgress(v: ReconciliationProgressView): string {
  const w = v.workflow;
  if (w.status === 'DONE') return `done: ${w.completed.length} cycle(s)`;
  if (!w.channel) return 'starting';
  if (w.step === 'cycles' || !w.cycleId) return `${w.channel} · billing cycles (SBC11)`;
  const head = `${w.channel} · cycle ${w.cycleId}`;
  if (w.step === 'exceptions') return `${head} · raising exceptions`;
  const a = v.activity;
  if (!a || a.cycleId !== w.cycleId) return `${head} · starting`;
  const wait = a.waitingMs ? `, waiting ${Math.ceil(a.waitingMs / 1000)} s for the TL02 limit` : '';
  if (a.phase === 'tl02') return `${head} · TL02 ${a.done} rows (${a.calls ?? 0} calls${wait})`;
  if (a.phase === 'shopify') return `${head} · Shopify ${a.done}/${a.total ?? '?'} orders`;
  if (a.phase === 'returns') return `${head} · returns of ${a.done}/${a.total ?? '?'} orders`;
  return `${head} · report`;
}
