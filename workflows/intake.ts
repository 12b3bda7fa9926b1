// One long-lived intake workflow per channel: polls the marketplace for new and changed orders no more
// often than the platform allows (Mirakl OR11: once a minute per shop), keeps the watermark, and hands
// each order to its own order workflow (started or signalled by the activity, with an id derived from
// channel and order id so a duplicate start is impossible). Continues-as-new when the server suggests.
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { IntakeActivities, PollResult } from '../activities/intake';

export interface IntakeInput {
  channel: string;
  /** Time between the starts of two polls. */
  intervalMs: number;
  watermark?: string;
  totals?: IntakeTotals;
}

export interface IntakeTotals {
  polls: number;
  ordersSeen: number;
  started: number;
  signalled: number;
  unreadable: number;
  lastPollAt?: number;
  lastError?: string;
}

export const intakeStateQuery = defineQuery<IntakeInput & { totals: IntakeTotals }>('intakeState');
export const stopIntakeSignal = defineSignal('stop');

const acts = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '2m', backoffCoefficient: 2 },
});

export async function intakeWorkflow(input: IntakeInput): Promise<IntakeTotals> {
  let watermark = input.watermark;
  const totals: IntakeTotals = input.totals ?? { polls: 0, ordersSeen: 0, started: 0, signalled: 0, unreadable: 0 };
  let stopped = false;
  setHandler(intakeStateQuery, () => ({ ...input, watermark, totals }));
  setHandler(stopIntakeSignal, () => {
    stopped = true;
  });

  while (!stopped) {
    const started = Date.now();
    let result: PollResult | undefined;
    try {
      result = await acts.pollChannelOrders({ channel: input.channel, since: watermark });
    } catch (err) {
      totals.lastError = err instanceof Error ? err.message : String(err);
    }
    if (result) {
      watermark = result.watermark ?? watermark;
      totals.polls += 1;
      totals.ordersSeen += result.seen;
      totals.started += result.started;
      totals.signalled += result.signalled;
      totals.unreadable += result.unreadable;
      totals.lastPollAt = started;
      totals.lastError = undefined;
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2000) {
      await continueAsNew<typeof intakeWorkflow>({ ...input, watermark, totals });
    }
    // Never two polls inside one interval, however long the poll took. The margin absorbs the delay
    // between this timer and the HTTP call, so the platform's window is respected by construction.
    const margin = Math.max(250, input.intervalMs * 0.02);
    const wait = Math.max(0, input.intervalMs + margin - (Date.now() - started));
    if (await condition(() => stopped, wait)) break;
  }
  await sleep(0);
  return totals;
}
