// A return's restock decision reaches the inventory workflow of every channel sharing the stock master at
// once (signal-with-start, as the stock callbacks do); each pushes it ahead of ordinary changes. Channels
// that do not sell the item keep no row for it (the ledger checks its listing).
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema';
import { INVENTORY_WORKFLOW_TASK_TIMEOUT, inventoryWorkflowId } from '../inventory/keys';
import { stockChannels } from '../inventory/intake';
import type { RestockEvent } from '../inventory/ledger';
import { inventoryWorkflow, restockSignal } from '../../workflows/inventory';

export async function signalRestocks(client: Client, config: Config, events: RestockEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const channels = stockChannels(config, 'peoplevox');
  await Promise.all(
    channels.map((ch) =>
      client.workflow.signalWithStart(inventoryWorkflow, {
        workflowId: inventoryWorkflowId(ch, config.temporal.idScope),
        workflowTaskTimeout: INVENTORY_WORKFLOW_TASK_TIMEOUT,
        taskQueue: config.temporal.taskQueues.inventory,
        args: [{ channel: ch }],
        signal: restockSignal,
        signalArgs: [events],
      }),
    ),
  );
  return channels;
}
