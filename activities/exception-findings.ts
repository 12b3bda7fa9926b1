// Audit-style findings (catalogue audit, payout reconciliation) as standalone exceptions in the ops queue:
// one long-lived exception workflow per kind of finding, opened (signal-with-start) while the latest run
// found something and told when a later run found nothing, so it closes itself as CLEARED.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Owner } from '../src/domain/owners';
import { SA } from '../src/temporal/search-attributes';

export interface FindingsException<Args, Update extends { count: number }> {
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  /** The workflow's input, used only if it is not running yet. */
  args: Args;
  /** The latest run's findings (signal `findingsUpdated`); count 0 clears the exception. */
  update: Update;
  reason: string;
  owner: Owner;
  channel: string;
}

/** Opens or updates the exception when there are findings; clears a running one when there are none. */
export async function syncFindingsException<Args, Update extends { count: number }>(
  client: Client,
  f: FindingsException<Args, Update>,
): Promise<'opened' | 'cleared' | 'none'> {
  if (f.update.count > 0) {
    await client.workflow.signalWithStart(f.workflowType, {
      workflowId: f.workflowId,
      taskQueue: f.taskQueue,
      args: [f.args],
      signal: 'findingsUpdated',
      signalArgs: [f.update],
      typedSearchAttributes: [
        { key: SA.OrderStatus, value: 'EXCEPTION' },
        { key: SA.ExceptionReason, value: f.reason },
        { key: SA.Owner, value: f.owner },
        { key: SA.Channel, value: f.channel },
      ] as never,
    });
    return 'opened';
  }
  try {
    const handle = client.workflow.getHandle(f.workflowId);
    if ((await handle.describe()).status.name !== 'RUNNING') return 'none';
    await handle.signal('findingsUpdated', f.update);
    return 'cleared';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'none';
    throw err;
  }
}
