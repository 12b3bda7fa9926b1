// Alert activities. Raising goes through the alert router workflow (one per deployment, workflows/alerts.ts):
// the routed sink signals it, so dedupe and bursts hold across worker processes. Delivery is the router's
// activity: the process's sinks (Slack, webhook, email) with their rate limits; a failed round throws so Temporal
// retries it, and the retry sends only to the sinks still owed. The last round never throws: it logs and counts.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Alert, AlertSink } from '../src/alerts/alerts';
import type { Config } from '../src/config/schema';
import { alertRouterWorkflowId } from '../src/domain/keys';
import { alertFailures } from '../src/metrics/alerts';
import { alertRaisedSignal, alertRouterWorkflow, type AlertRouterInput } from '../workflows/alerts';

export function alertRouterInput(config: Config): AlertRouterInput {
  return {
    routing: {
      dedupeMs: config.alerts.dedupeWindowMinutes * 60_000,
      burst: { threshold: config.alerts.burst.threshold, windowMs: config.alerts.burst.windowMinutes * 60_000 },
    },
    deliveryRetries: config.alerts.delivery.activityRetries,
  };
}

/** An AlertSink for activities: every raise goes to the deployment's alert router (signal-with-start). */
export function createRoutedAlertSink(client: Client, config: Config): AlertSink {
  return {
    async raise(alert: Alert) {
      await client.workflow.signalWithStart(alertRouterWorkflow, {
        workflowId: alertRouterWorkflowId(config.temporal.idScope),
        taskQueue: config.temporal.taskQueues.orders,
        args: [alertRouterInput(config)],
        signal: alertRaisedSignal,
        signalArgs: [alert],
      });
      return true;
    },
    recent: () => [],
  };
}

export function createAlertActivities(deps: { sinks: AlertSink; log: Logger }) {
  return {
    /** Sends one routed alert to the sinks (those still owed, on a retry). */
    async deliverAlert(input: { alert: Alert; final: boolean }): Promise<{ delivered: boolean }> {
      const info = Context.current().info;
      const last = info.attempt >= (info.retryPolicy?.maximumAttempts ?? Infinity);
      try {
        await deps.sinks.raise(input.alert);
        return { delivered: true };
      } catch (err) {
        if (!last) throw err;
        alertFailures.inc({ kind: input.alert.kind });
        deps.log.error({ alertKey: input.alert.key, error: (err as Error).message }, 'alert not delivered; giving up');
        return { delivered: false };
      }
    },
  };
}

export type AlertActivities = ReturnType<typeof createAlertActivities>;
