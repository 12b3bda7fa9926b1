// From a warehouse sales order number back to the order workflow that owns it. Used by the tracking
// webhook and the scheduled despatch sweep, so both resolve orders the same way.
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema';
import { channelOrderPrefix } from '../config/schema';
import { orderWorkflowId } from '../domain/keys';
import { SA } from './search-attributes';

/**
 * `<PREFIX>-<orderId>` maps straight to its workflow id. Numbers shortened with a hash (`~`) cannot be
 * reversed, and numbers with no channel prefix may still have been recorded by a workflow, so both are
 * looked up through the WmsOrderNumber search attribute.
 */
export async function workflowIdForSalesOrder(
  config: Pick<Config, 'channels'>,
  client: Client,
  salesOrderNumber: string,
): Promise<string | undefined> {
  if (!salesOrderNumber.includes('~')) {
    for (const ch of config.channels) {
      const prefix = `${channelOrderPrefix(ch)}-`;
      if (salesOrderNumber.startsWith(prefix)) return orderWorkflowId(ch.code, salesOrderNumber.slice(prefix.length));
    }
  }
  // Only order workflows: despatch exceptions carry the same attribute.
  const query = `WorkflowType = "orderWorkflow" AND ${SA.WmsOrderNumber.name} = "${salesOrderNumber.replace(/["\\]/g, '')}"`;
  for await (const wf of client.workflow.list({ query })) return wf.workflowId;
  return undefined;
}
