// Push intake: started by POST /webhooks/intake/<channel>/orders for operators that send order events.
// Once the webhook has started this workflow the event is durable; it reads the named orders and hands
// each to its order workflow exactly as the poll does (signal-with-start on the derived id, so a pushed
// order and a polled one can never start two workflows). The once-a-minute poll keeps running as the
// backstop for events that never arrive.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { IntakeActivities, PollResult } from '../activities/intake';

export interface PushedOrdersInput {
  channel: string;
  orderIds: string[];
  /** Wait before looking again for ids the marketplace did not return yet (eventual consistency). */
  missingRetryMs?: number;
}

const acts = proxyActivities<Pick<IntakeActivities, 'handOverOrdersById'>>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 20 },
});

export async function pushedOrdersWorkflow(input: PushedOrdersInput): Promise<PollResult & { missing: string[] }> {
  const first = await acts.handOverOrdersById({ channel: input.channel, orderIds: input.orderIds });
  if (first.missing.length === 0) return first;
  await sleep(input.missingRetryMs ?? 30_000);
  const second = await acts.handOverOrdersById({ channel: input.channel, orderIds: first.missing });
  return {
    seen: first.seen + second.seen,
    started: first.started + second.started,
    signalled: first.signalled + second.signalled,
    unreadable: first.unreadable + second.unreadable,
    // Still missing: the poll will pick them up if they ever appear; nothing is started for an unknown id.
    missing: second.missing,
  };
}
