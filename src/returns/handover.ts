// How every source hands a return to Loopline (the RT11 poll, the Reveni webhook, the warehouse receipt
// sweep): to its order's workflow, which starts the return as its child (or forwards it to the child that
// has it); when the order's workflow has finished or never existed, the return workflow is started on its
// own (signal-with-start on its id, so two sources can never start it twice, and one that has finished is
// never started again).
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Config } from '../config/schema';
import { orderWorkflowId, returnWorkflowId } from '../domain/keys';
import type { ReturnNotice, ReturnsMode } from '../domain/returns';
import { initialSearchAttributes } from '../temporal/search-attributes';
import { returnEvents } from '../metrics/returns';
import { returnNotifiedSignal } from '../../workflows/order/messages';
import { returnUpdatedSignal, returnWorkflow, type ReturnWorkflowInput } from '../../workflows/returns';

export type HandOverOutcome = 'order' | 'standalone' | 'finished';

export async function handOverReturn(client: Client, config: Config, notice: ReturnNotice): Promise<HandOverOutcome> {
  const ch = config.channels.find((c) => c.code === notice.channel);
  if (!ch) throw new Error(`channel ${notice.channel} is not configured`);
  const mode: ReturnsMode = ch.returns;
  const order = client.workflow.getHandle(orderWorkflowId(ch.code, notice.orderId));
  try {
    await order.signal(returnNotifiedSignal, { notice, mode });
    returnEvents.inc({ source: notice.origin, outcome: 'handed over' });
    return 'order';
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  // The order's workflow is not running: finished (after its return window, or cancelled), or never was.
  let orphan: NonNullable<ReturnWorkflowInput['orphan']> = { kind: 'order-unknown' };
  if (notice.orderId) {
    try {
      const d = await order.describe();
      const attr = d.searchAttributes?.OrderStatus as unknown;
      orphan = {
        kind: 'order-closed',
        orderStatus: Array.isArray(attr) ? String(attr[0]) : undefined,
        closedAt: d.closeTime?.getTime(),
      };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  const input: ReturnWorkflowInput = { channel: ch.code, returnKey: notice.returnKey, notice, mode, orphan };
  try {
    await client.workflow.signalWithStart(returnWorkflow, {
      workflowId: returnWorkflowId(ch.code, notice.returnKey),
      taskQueue: config.temporal.taskQueues.orders,
      args: [input],
      signal: returnUpdatedSignal,
      signalArgs: [notice],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: initialSearchAttributes({
        Channel: ch.code,
        OrderStatus: 'RETURN_REQUESTED',
        ...(notice.orderId ? { MarketplaceOrderId: notice.orderId } : {}),
      }),
    });
    returnEvents.inc({ source: notice.origin, outcome: 'standalone' });
    return 'standalone';
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    returnEvents.inc({ source: notice.origin, outcome: 'finished' });
    return 'finished';
  }
}
