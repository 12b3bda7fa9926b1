// Progress of a running catalogue audit, for people: the workflow's `progress` query (which channel, which
// step, what finished) plus the running audit activity's last heartbeat (phase and page-level counts),
// read from the workflow's pending activities. Decoded with the client's own data converter, so it works
// with payload encryption on.
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { AuditProgress } from '../../activities/catalogue-audit';
import type { CatalogueAuditProgress } from '../../workflows/catalogue-audit';
import { catalogueAuditProgressQuery } from '../../workflows/catalogue-audit';

export interface AuditProgressView {
  workflow: CatalogueAuditProgress;
  /** The audit activity's last heartbeat, when one is running. */
  activity?: AuditProgress;
}

export async function readAuditProgress(client: Client, workflowId: string): Promise<AuditProgressView> {
  const handle = client.workflow.getHandle(workflowId);
  const workflow = await handle.query(catalogueAuditProgressQuery);
  const described = await handle.describe();
  const pending = (described.raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'auditChannelCatalogue');
  let activity: AuditProgress | undefined;
  const payloads = pending?.heartbeatDetails?.payloads;
  if (payloads && payloads.length > 0) {
    activity = await decodeFromPayloadsAtIndex<AuditProgress>(client.options.loadedDataConverter, 0, payloads);
  }
  return { workflow, activity };
}

/** One line: "asos · offers (OF21) 1200/5000". */
export function describeProgress(v: AuditProgressView): string {
  const w = v.workflow;
  if (w.status === 'DONE') return `done: ${w.completed.map((c) => c.channel).join(', ') || 'no channel'}`;
  const a = v.activity;
  if (!w.current) return 'starting';
  if (w.step === 'exceptions') return `${w.current} · raising exceptions`;
  if (!a || a.channel !== w.current) return `${w.current} · starting`;
  return `${w.current} · ${a.phase}${a.api ? ` (${a.api})` : ''} ${a.done}${a.total !== undefined ? `/${a.total}` : ''}`;
}
