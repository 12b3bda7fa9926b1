// The alert router: one workflow per deployment through which every alert passes, whichever worker process
// raised it, so "one alert per incident" and "one burst alert for many exceptions" hold across processes and
// replicas. Raising an alert is a signal (fast, never held up by a sink); delivery is an activity that retries
// only the sinks still owed; an alert that cannot be delivered is logged and counted by that activity, never an
// error for whoever raised it. Continues-as-new with what it remembers (bounded by the dedupe window).
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { AlertActivities } from '../activities/alerts';
import type { Alert } from '../src/alerts/alerts';
import { AlertRouting, type RoutingOptions, type RoutingSnapshot } from '../src/alerts/routing';

export interface AlertRouterInput {
  routing: RoutingOptions;
  /** Delivery rounds the sinks get before an alert is given up (config alerts.delivery.activityRetries). */
  deliveryRetries: number;
  carried?: { snapshot: RoutingSnapshot; totals: AlertRouterTotals };
}

export interface AlertRouterTotals {
  raised: number;
  duplicates: number;
  absorbedInBursts: number;
  sent: number;
  undelivered: number;
}

export const alertRaisedSignal = defineSignal<[Alert]>('alertRaised');
export const alertRouterStateQuery = defineQuery<AlertRouterTotals & { remembered: number; queued: number }>(
  'alertRouterState',
);

/** Alerts waiting for delivery at most (a flood is counted, not held in memory without bound). */
const MAX_QUEUE = 1000;

export async function alertRouterWorkflow(input: AlertRouterInput): Promise<void> {
  const routing = new AlertRouting(input.routing, input.carried?.snapshot);
  const totals: AlertRouterTotals = input.carried?.totals ?? {
    raised: 0,
    duplicates: 0,
    absorbedInBursts: 0,
    sent: 0,
    undelivered: 0,
  };
  const queue: Alert[] = [];
  const deliver = proxyActivities<AlertActivities>({
    startToCloseTimeout: '30s',
    retry: {
      initialInterval: '2s',
      maximumInterval: '1m',
      backoffCoefficient: 2,
      maximumAttempts: input.deliveryRetries + 1,
    },
  });

  setHandler(alertRaisedSignal, (alert) => {
    totals.raised += 1;
    const r = routing.route(alert, Date.now());
    if (r.outcome === 'duplicate') totals.duplicates += 1;
    else if (r.outcome === 'absorbed') totals.absorbedInBursts += 1;
    else if (queue.length >= MAX_QUEUE) totals.undelivered += 1;
    else queue.push(r.alert);
  });
  setHandler(alertRouterStateQuery, () => ({ ...totals, remembered: routing.size(), queued: queue.length }));

  for (;;) {
    await condition(() => queue.length > 0 || workflowInfo().continueAsNewSuggested);
    while (queue.length > 0) {
      const alert = queue.shift()!;
      try {
        const r = await deliver.deliverAlert({ alert, final: false });
        if (r.delivered) totals.sent += 1;
        else totals.undelivered += 1;
      } catch (err) {
        // Retries used up: the activity's last attempt logged it and counted it in the metric.
        if (!(err instanceof ActivityFailure)) throw err;
        totals.undelivered += 1;
      }
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (queue.length > 0) continue;
      await continueAsNew<typeof alertRouterWorkflow>({
        ...input,
        carried: { snapshot: routing.snapshot(Date.now()), totals },
      });
    }
  }
}
