// One long-lived intake workflow per channel: polls the marketplace for new and changed orders no more
// often than the platform allows (Mirakl OR11: once a minute per shop), keeps the watermark, and hands
// each order to its own order workflow (started or signalled by the activity, with an id derived from
// channel and order id so a duplicate start is impossible). Continues-as-new when the server suggests.
import {
  ActivityFailure,
  condition,
  patched,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { IntakeActivities, PollResult } from '../activities/intake';
import type { ReturnIntakeActivities, ReturnPollResume } from '../activities/returns-intake';

export interface IntakeInput {
  channel: string;
  /** Time between the starts of two polls. */
  intervalMs: number;
  /** Polls in a row that may fail before the intake is stale (an alert, and red on the dashboard). Default 5. */
  staleAfterPolls?: number;
  /** Where the poll runs (Marketplacer: its own rate-limited queue); default the workflow's own queue. */
  taskQueue?: string;
  watermark?: string;
  totals?: IntakeTotals;
  /**
   * Set by the run that continued as new: not before this (workflow time) does the first poll go, so the interval
   * holds across continue-as-new (a poll at once would fall inside OR11's window, which the last poll used).
   */
  nextPollAt?: number;
  /** History length past which the run continues as new (default 2,000; tests set less). */
  maxHistoryEvents?: number;
  /** The marketplace's returns (RT11): watermark and when they were last read (carried across continue-as-new). */
  returns?: {
    watermark?: string;
    lastPollAt?: number;
    polls?: number;
    seen?: number;
    lastError?: string;
    /** The RT11 interval for this channel (none: returns not followed), read from the config every 60 polls. */
    everyMs?: number | null;
    checkedAt?: number;
    /** A poll that stopped between pages (a following page refused for the call rate): where the next goes on. */
    resume?: ReturnPollResume;
  };
}

export interface IntakeTotals {
  polls: number;
  ordersSeen: number;
  started: number;
  signalled: number;
  unreadable: number;
  lastPollAt?: number;
  lastError?: string;
  /** Polls in a row that failed (0 after a completed poll). */
  failedInARow?: number;
  /** Since when no poll has completed, once that passed `staleAfterPolls` windows. */
  staleSince?: number;
}

export const intakeStateQuery = defineQuery<IntakeInput & { totals: IntakeTotals }>('intakeState');
export const stopIntakeSignal = defineSignal('stop');

/**
 * A poll that fails is tried once more in the next window (resuming from its heartbeat: a long read is not started
 * over), never sooner: OR11 is limited to once a minute per shop, so a retry inside the window would be refused
 * (429) — the limit holds by construction. Then the poll counts as failed and the loop's next window tries again,
 * so a channel that cannot be read shows up as failed polls (stale) instead of one poll retrying out of sight.
 */
function pollActs(intervalMs: number, taskQueue?: string) {
  return proxyActivities<Pick<IntakeActivities, 'pollChannelOrders'>>({
    ...(taskQueue ? { taskQueue } : {}),
    startToCloseTimeout: '5m',
    heartbeatTimeout: '1m',
    retry: {
      initialInterval: Math.ceil(intervalMs * 1.05),
      maximumInterval: Math.ceil(intervalMs * 1.05),
      backoffCoefficient: 1,
      maximumAttempts: 2,
    },
  });
}
/** The returns poll (RT11): a few attempts; a window that fails is tried again at the next one. */
const returnActs = proxyActivities<Pick<ReturnIntakeActivities, 'pollChannelReturns' | 'returnPollInterval'>>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '2s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 3 },
});
const alerts = proxyActivities<Pick<IntakeActivities, 'raiseIntakeAlert'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 3 },
});

/** Added to the interval between two polls: absorbs the delay between a timer and the HTTP call. */
function pollMargin(intervalMs: number): number {
  return Math.max(250, intervalMs * 0.02);
}

/**
 * Added to the interval when it counts from the last OR11 answer ('intake-pace-from-request'). That answer came
 * after the request reached the marketplace, and the next request leaves later still (the activity's end, a
 * workflow task, the timer, an activity task), so the interval holds at the marketplace without a margin; this
 * one only absorbs the clocks' difference between the worker (which measures the hand-over) and the server (whose
 * time the workflow reads).
 */
const PACE_FROM_ANSWER_MARGIN_MS = 100;

/**
 * The server fires no timer sooner than about a second after it was started (measured on the dev server: timers
 * of 100 to 900 ms fired after 911 to 994 ms; from a second up, on time). A shorter wait before the next poll is
 * therefore left to the poll activity, which waits it out by its own clock before its first request: the activity
 * starts after the workflow decided, so the request still leaves no sooner than planned.
 */
const SHORTEST_TIMER_MS = 1_000;

/**
 * How much of a longer wait the poll activity waits itself ('intake-poll-lead'): the timer covers the rest. Past
 * the shortest timer, so the timer is never one the server fires late; the activity waits at most
 * SHORTEST_TIMER_MS + POLL_LEAD_MS (MAX_WAIT_FIRST_MS in activities/intake.ts).
 */
export const POLL_LEAD_MS = 1_000;

/**
 * Added to the window when the next poll runs in the process that had the last answer and waits by its clock: no
 * clocks to reconcile, and the request it answered reached the marketplace before the answer came back.
 */
const SAME_CLOCK_MARGIN_MS = 25;

export async function intakeWorkflow(input: IntakeInput): Promise<IntakeTotals> {
  let watermark = input.watermark;
  const totals: IntakeTotals = input.totals ?? { polls: 0, ordersSeen: 0, started: 0, signalled: 0, unreadable: 0 };
  let stopped = false;
  const returns = { ...(input.returns ?? {}) };
  setHandler(intakeStateQuery, () => ({ ...input, watermark, totals, returns }));
  setHandler(stopIntakeSignal, () => {
    stopped = true;
  });

  const acts = pollActs(input.intervalMs, input.taskQueue);
  // The interval since the last poll of the run before this one (continue-as-new) is kept first.
  if (input.nextPollAt !== undefined && input.nextPollAt > Date.now())
    await condition(() => stopped, input.nextPollAt - Date.now());
  const firstPollAt = Date.now();
  /** A wait shorter than the shortest timer, left to the next poll activity ('intake-pace-from-request'). */
  let waitFirstMs = 0;
  /** The moment the next request may leave, by the clock of the process that had the last answer (PollResult). */
  let notBefore: PollResult['answer'];
  while (!stopped) {
    const started = Date.now();
    let result: PollResult | undefined;
    try {
      result = await acts.pollChannelOrders({
        channel: input.channel,
        since: watermark,
        ...(waitFirstMs > 0 ? { waitFirstMs } : {}),
        ...(notBefore ? { notBefore } : {}),
      });
    } catch (err) {
      totals.lastError = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
    }
    // When the last OR11 answer came, by this workflow's clock: read now, before the returns poll below.
    const answeredAt = result?.afterLastCallMs !== undefined ? Date.now() - result.afterLastCallMs : undefined;
    notBefore = undefined;
    if (!result && patched('intake-staleness')) await watchStaleness(input, totals, started, firstPollAt);
    if (result) {
      if (totals.staleSince !== undefined) {
        await tell(
          input.channel,
          `Orders from ${input.channel} arrive again: a poll completed after ${totals.failedInARow} failed ones.`,
          'intake-recovered',
          totals.staleSince,
        );
        totals.staleSince = undefined;
      }
      totals.failedInARow = 0;
      watermark = result.watermark ?? watermark;
      totals.polls += 1;
      totals.ordersSeen += result.seen;
      totals.started += result.started;
      totals.signalled += result.signalled;
      totals.unreadable += result.unreadable;
      totals.lastPollAt = started;
      totals.lastError = undefined;
    }
    // The marketplace's returns, in the same rhythm: after an order poll, once RT11's 5 minutes have passed.
    if (result && patched('intake-returns-v1')) await pollReturns(input.channel, input.intervalMs, returns);
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (input.maxHistoryEvents ?? 2000)) {
      // The next run's first poll keeps the interval from the end of this one, as the loop below does.
      const nextPollAt = Date.now() + input.intervalMs + pollMargin(input.intervalMs);
      await continueAsNew<typeof intakeWorkflow>({ ...input, watermark, totals, returns, nextPollAt });
    }
    // Never two polls inside one interval, however long the poll took. The interval counts from the end of
    // the poll ('intake-pace-from-end'; before it, from its start): its last OR11 request (a retried attempt, or
    // one that waited for a free worker) left no later than that, while counting from the start let the next poll
    // follow a late retry within the window (a 429 in the chaos bench). The margin absorbs the delay between this
    // timer and the HTTP call.
    // Since 'intake-pace-from-request' the interval counts from the poll's last OR11 answer: the hand-over after
    // it (a page of signal-with-starts, reservations) falls inside the interval instead of adding to it, so an
    // order waits at most about one window before it is read (the ack a merchant feels).
    const fromAnswer = result?.afterLastCallMs !== undefined && patched('intake-pace-from-request');
    const margin = fromAnswer ? PACE_FROM_ANSWER_MARGIN_MS : pollMargin(input.intervalMs);
    const from = fromAnswer
      ? Date.now() - result!.afterLastCallMs!
      : patched('intake-pace-from-end')
        ? Date.now()
        : started;
    const wait = Math.max(0, input.intervalMs + margin - (Date.now() - from));
    waitFirstMs = 0;
    // Since 'intake-poll-lead' the window counts from the answer as it came (before the returns poll, which used
    // to add its length to the window), and the last part of every wait (up to POLL_LEAD_MS past the shortest
    // timer) is the next poll activity's, not a timer's: the timer's firing, the workflow task after it and the
    // activity's dispatch then pass while the window runs out instead of after it. When the next poll runs in the
    // process that had the answer, it waits by that process's clock for the answer plus the window
    // (`notBefore`); elsewhere, `waitFirstMs` from its start, which is never sooner. On the dev server under load
    // the window from one request to the next was 1.33 s (p50) for a 1 s window.
    if (fromAnswer && patched('intake-poll-lead')) {
      const pollAt = answeredAt! + input.intervalMs + PACE_FROM_ANSWER_MARGIN_MS;
      const ahead = pollAt - Date.now();
      if (ahead > SHORTEST_TIMER_MS + POLL_LEAD_MS && (await condition(() => stopped, ahead - POLL_LEAD_MS))) break;
      waitFirstMs = Math.max(0, pollAt - Date.now());
      if (result!.answer)
        notBefore = {
          process: result!.answer.process,
          at: result!.answer.at + input.intervalMs + SAME_CLOCK_MARGIN_MS,
        };
      continue;
    }
    if (fromAnswer && wait < SHORTEST_TIMER_MS) {
      waitFirstMs = wait;
      continue;
    }
    if (await condition(() => stopped, wait)) break;
  }
  await sleep(0);
  return totals;
}

/** RT11 when its interval (from the channel's config: none when returns are not followed) has passed. */
async function pollReturns(channel: string, intervalMs: number, r: NonNullable<IntakeInput['returns']>): Promise<void> {
  try {
    if (r.everyMs === undefined || r.checkedAt === undefined || Date.now() - r.checkedAt >= 60 * intervalMs) {
      r.everyMs = (await returnActs.returnPollInterval({ channel })) ?? null;
      r.checkedAt = Date.now();
    }
    const every = r.everyMs;
    if (every === null) return;
    // The margin keeps two polls more than the documented interval apart, whatever the timers' jitter.
    if (r.lastPollAt !== undefined && Date.now() - r.lastPollAt < every + Math.max(250, every * 0.02)) return;
    r.lastPollAt = Date.now();
    let res;
    try {
      res = await returnActs.pollChannelReturns({
        channel,
        since: r.watermark,
        ...(r.resume ? { resume: r.resume } : {}),
      });
    } finally {
      // Paced from the end of the poll, as the order poll is: its counted call (the first page) left no later than
      // that, while counting from the start let the next poll follow a call that left late (a worker busy, a retry a
      // window on) inside the window: 422 refused polls in the third 10k chaos run.
      if (patched('intake-returns-pace-from-end')) r.lastPollAt = Date.now();
    }
    r.watermark = res.watermark ?? r.watermark;
    r.resume = res.resume;
    r.polls = (r.polls ?? 0) + 1;
    r.seen = (r.seen ?? 0) + res.seen;
    r.lastError = undefined;
  } catch (err) {
    r.lastError = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
  }
}

/**
 * No completed poll for `staleAfterPolls` windows: orders are not arriving from this channel (an outage, expired
 * credentials, a page the connector cannot read). Alerted once per stale spell, shown on the dashboard.
 */
async function watchStaleness(input: IntakeInput, totals: IntakeTotals, now: number, firstPollAt: number) {
  totals.failedInARow = (totals.failedInARow ?? 0) + 1;
  if (totals.staleSince !== undefined) return;
  const lastGood = totals.lastPollAt ?? firstPollAt;
  if (now - lastGood < (input.staleAfterPolls ?? 5) * input.intervalMs) return;
  totals.staleSince = lastGood;
  await tell(
    input.channel,
    `No order poll of ${input.channel} has completed since ${new Date(lastGood).toISOString()} (${totals.failedInARow} polls failed in a row): orders from this channel are not arriving. Last error: ${totals.lastError ?? 'unknown'}.`,
    'intake-stale',
    lastGood,
  );
}

/** Best-effort: the intake never stops over an alert. */
async function tell(channel: string, message: string, what: string, since: number) {
  try {
    await alerts.raiseIntakeAlert({
      channel,
      message,
      key: `${what}:${channel}:${since}`,
      stale: what === 'intake-stale',
    });
  } catch {
    // The alert router logs and counts undelivered alerts; polling goes on.
  }
}
