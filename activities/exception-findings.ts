// Audit-style findings (catalogue audit, payout reconciliation) as standalone exceptions in the ops queue:
// one long-lived findingsExceptionWorkflow per kind of finding, opened (signal-with-start) while the latest run
// found something and told when a later run found nothing, so it closes itself as CLEARED.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Owner } from '../src/domain/owners';
import { initialSearchAttributes } from '../src/temporal/search-attributes';
import {
  findingsExceptionWorkflow,
  findingsUpdatedSignal,
  type FindingsExceptionInput,
} from '../workflows/findings-exception';

export interface FindingsException {
  workflowId: string;
  taskQueue: string;
  /** The workflow's input, used only if it is not running yet; its findings are the latest run's. */
  input: FindingsExceptionInput;
  owner: Owner;
}

/** Opens or updates the exception when there are findings; clears a running one when there are none. */
export async function syncFindingsException(
  client: Client,
  f: FindingsException,
): Promise<'opened' | 'cleared' | 'none'> {
  const update = f.input.findings;
  if (update.count > 0) {
    await client.workflow.signalWithStart(findingsExceptionWorkflow, {
      workflowId: f.workflowId,
      taskQueue: f.taskQueue,
      args: [f.input],
      signal: findingsUpdatedSignal,
      signalArgs: [update],
      typedSearchAttributes: initialSearchAttributes({
        OrderStatus: 'EXCEPTION',
        ExceptionReason: f.input.reason,
        Owner: f.owner,
        Channel: f.input.channel,
      }),
    });
    return 'opened';
  }
  try {
    const handle = client.workflow.getHandle(f.workflowId);
    if ((await handle.describe()).status.name !== 'RUNNING') return 'none';
    await handle.signal(findingsUpdatedSignal, update);
    return 'cleared';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'none';
    throw err;
  }
}
