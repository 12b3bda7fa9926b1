// Intake: read the marketplace's changed orders and hand each to its order workflow.
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import { toMarketplaceOrder } from '../src/connectors/mirakl/map';
import { orderWorkflowId } from '../src/domain/keys';
import { TERMINAL_MARKETPLACE_STATES, type MarketplaceOrder } from '../src/domain/order';
import { SA } from '../src/temporal/search-attributes';
import type { AlertSink } from '../src/alerts/alerts';
import { toActivityFailure } from './errors';

export interface PollResult {
  watermark?: string;
  seen: number;
  /** Orders handed to their workflow by signal-with-start (new or already running). */
  started: number;
  /** Finished orders whose running workflow was told. */
  signalled: number;
  unreadable: number;
}

export interface IntakeActivityDeps {
  config: Config;
  client: Client;
  mirakl(channel: string): MiraklClient;
  alerts: AlertSink;
  log: Logger;
}

export function createIntakeActivities(deps: IntakeActivityDeps) {
  const { config, log } = deps;

  /**
   * Starts the order's workflow, or signals it when it runs already (signal-with-start: one atomic call,
   * so two pollers or a poll and a webhook can never start it twice).
   */
  async function handOver(order: MarketplaceOrder): Promise<'started' | 'signalled' | 'ignored'> {
    const workflowId = orderWorkflowId(order.channel, order.orderId);
    if (TERMINAL_MARKETPLACE_STATES.has(order.state)) {
      // Never start a workflow for an order that is already over; tell a running one.
      try {
        await deps.client.workflow.getHandle(workflowId).signal('orderUpdated', order);
        return 'signalled';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'ignored';
        throw err;
      }
    }
    try {
      await deps.client.workflow.signalWithStart('orderWorkflow', {
        workflowId,
        taskQueue: config.temporal.taskQueues.orders,
        args: [{ channel: order.channel, orderId: order.orderId, order }],
        signal: 'orderUpdated',
        signalArgs: [order],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: SA.Channel, value: order.channel },
          { key: SA.MarketplaceOrderId, value: order.orderId },
          { key: SA.OrderStatus, value: 'RECEIVED' },
        ] as never,
      });
      return 'started';
    } catch (err) {
      // The order's workflow finished earlier (closed after its return window): nothing to do.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'ignored';
      throw err;
    }
  }

  return {
    async pollChannelOrders(input: { channel: string; since?: string }): Promise<PollResult> {
      const ch = config.channels.find((c) => c.code === input.channel);
      if (!ch) throw new Error(`channel ${input.channel} is not configured`);
      const client = deps.mirakl(input.channel);
      const since = input.since
        ? new Date(new Date(input.since).getTime() - ch.intake.overlapSeconds * 1000).toISOString()
        : undefined;
      const result: PollResult = { watermark: input.since, seen: 0, started: 0, signalled: 0, unreadable: 0 };
      try {
        for await (const wire of client.listOrdersUpdatedSince(since, ch.intake.pageSize)) {
          Context.current().heartbeat(result.seen);
          result.seen += 1;
          let order: MarketplaceOrder;
          try {
            order = toMarketplaceOrder(wire, {
              code: ch.code,
              currency: ch.currency,
              acceptanceWindowHours: ch.deadlines.acceptanceWindowHours,
            });
          } catch (err) {
            result.unreadable += 1;
            const id = (wire as { order_id?: string }).order_id ?? '(no order_id)';
            await deps.alerts.raise({
              key: `intake-unreadable:${ch.code}:${id}`,
              kind: 'exception',
              channel: ch.code,
              orderId: id,
              reason: 'UNEXPECTED_ERROR',
              owner: 'ops',
              message: `Order ${id} on ${ch.label} could not be read: ${(err as Error).message}`,
            });
            continue;
          }
          const outcome = await handOver(order);
          if (outcome === 'started') result.started += 1;
          if (outcome === 'signalled') result.signalled += 1;
          if (!result.watermark || order.updatedAt > result.watermark) result.watermark = order.updatedAt;
        }
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', 'OR11', 'UNEXPECTED_ERROR');
      }
      log.debug({ channel: ch.code, ...result }, 'intake poll');
      return result;
    },
  };
}

export type IntakeActivities = ReturnType<typeof createIntakeActivities>;
