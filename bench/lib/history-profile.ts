// Where an order's time and work go, read from the Temporal server's histories of a sample of workflows (the
// real run's orders and the engine ceiling's): events, workflow tasks, activities by type and their attempts,
// signals received and sent, search-attribute upserts, timers, markers; and the order's wall time split into
// workflow-task queueing, activity queueing (schedule → start: task-queue rate limits and worker slots), activity
// execution (start → close: the external system's answers and retries' backoff inside an attempt) and waiting
// for a signal (the time before each signal that ended a wait: the marketplace, the warehouse gateway, despatch).
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { inParallel } from './in-parallel';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const ET = temporal.api.enums.v1.EventType;

export interface HistoryProfile {
  workflows: number;
  /** Means per workflow. */
  per_workflow: {
    events: number;
    /** The history's encoded size (payloads as stored: encrypted). */
    history_bytes: number;
    workflow_tasks: number;
    activities: number;
    activity_attempts: number;
    signals_received: number;
    signals_sent: number;
    search_attribute_upserts: number;
    timers: number;
    markers: number;
    child_workflows: number;
  };
  activities_by_type: Record<string, number>;
  /**
   * What made the server schedule each workflow task, per workflow: the events that arrived since the task before
   * it (an activity's close, a signal by name, a timer, the start, a failed or timed-out task), joined with '+'
   * when several arrived together.
   */
  workflow_task_triggers: Record<string, number>;
  signals_by_name: Record<string, number>;
  timers_by_length: Record<string, number>;
  /** Means per workflow, in ms. */
  time_ms: {
    wall: number;
    workflow_task_queued: number;
    workflow_task_running: number;
    activity_queued: number;
    activity_running: number;
    /**
     * By signal name: time from the previous event to the signal while nothing was outstanding (no activity, no
     * workflow task), summed per workflow: what it waited for.
     */
    waiting_for_signal: Record<string, number>;
    /** The same for timers that fired (a retry's or a deadline's wait). */
    timers: number;
  };
  /** Per activity type: mean queued (schedule → start of the last attempt) and running (start → close) in ms. */
  activity_time_ms: Record<string, { queued: number; running: number }>;
}

const ms = (e: HistoryEvent) => tsToMs(e.eventTime);

/** Timers by length: a deadline's timer is started again with what is left, so lengths are bucketed. */
function timerBucket(ms: number): string {
  for (const [limit, name] of [
    [1_000, '≤ 1 s'],
    [10_000, '≤ 10 s'],
    [60_000, '≤ 1 min'],
    [600_000, '≤ 10 min'],
    [3_600_000, '≤ 1 h'],
  ] as const)
    if (ms <= limit) return name;
  return '> 1 h';
}

/** The event's part in scheduling the next workflow task, if any. */
function triggerOf(e: HistoryEvent): string | undefined {
  switch (e.eventType) {
    case ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
      return 'start';
    case ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
    case ET.EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      return 'activity';
    case ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      return `signal:${e.workflowExecutionSignaledEventAttributes?.signalName ?? '?'}`;
    case ET.EVENT_TYPE_TIMER_FIRED:
      return 'timer';
    case ET.EVENT_TYPE_WORKFLOW_TASK_FAILED:
      return 'task failed';
    case ET.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
      return 'task timed out';
    case ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      return 'update';
    case ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
    case ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
      return 'signal sent';
    case ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
    case ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
      return 'child';
    default:
      return undefined;
  }
}

export function profileHistories(histories: HistoryEvent[][]): HistoryProfile {
  const n = Math.max(1, histories.length);
  const sum = {
    events: 0,
    history_bytes: 0,
    workflow_tasks: 0,
    activities: 0,
    activity_attempts: 0,
    signals_received: 0,
    signals_sent: 0,
    search_attribute_upserts: 0,
    timers: 0,
    markers: 0,
    child_workflows: 0,
  };
  const t = { wall: 0, workflow_task_queued: 0, workflow_task_running: 0, activity_queued: 0, activity_running: 0 };
  const waiting: Record<string, number> = {};
  let timerMs = 0;
  const byType: Record<string, number> = {};
  const triggers: Record<string, number> = {};
  const bySignal: Record<string, number> = {};
  const byTimer: Record<string, number> = {};
  const actTime: Record<string, { queued: number; running: number; n: number }> = {};
  for (const events of histories) {
    if (events.length === 0) continue;
    sum.events += events.length;
    sum.history_bytes += temporal.api.history.v1.History.encode({ events }).finish().length;
    t.wall += ms(events[events.length - 1]!) - ms(events[0]!);
    const byId = new Map<string, HistoryEvent>();
    for (const e of events) byId.set(String(e.eventId), e);
    const scheduledOf = (id: unknown) => byId.get(String(id));
    // What the workflow has outstanding: activities scheduled and not closed, a workflow task not completed.
    let activitiesOut = 0;
    let taskOut = false;
    let since: string[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const cause = triggerOf(e);
      if (cause && !since.includes(cause)) since.push(cause);
      if (e.eventType === ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) {
        const key = since.sort().join('+') || '(none)';
        triggers[key] = (triggers[key] ?? 0) + 1;
        since = [];
      }
      const idle = i > 0 && activitiesOut === 0 && !taskOut;
      const gap = i > 0 ? ms(e) - ms(events[i - 1]!) : 0;
      switch (e.eventType) {
        case ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
          taskOut = true;
          break;
        case ET.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        case ET.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
          taskOut = false;
          break;
        default:
          break;
      }
      switch (e.eventType) {
        case ET.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
          const s = scheduledOf(e.workflowTaskStartedEventAttributes?.scheduledEventId);
          if (s) t.workflow_task_queued += ms(e) - ms(s);
          break;
        }
        case ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
          taskOut = false;
          sum.workflow_tasks += 1;
          const s = scheduledOf(e.workflowTaskCompletedEventAttributes?.startedEventId);
          if (s) t.workflow_task_running += ms(e) - ms(s);
          break;
        }
        case ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
          activitiesOut += 1;
          sum.activities += 1;
          const type = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
          byType[type] = (byType[type] ?? 0) + 1;
          break;
        }
        case ET.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
          const a = e.activityTaskStartedEventAttributes;
          sum.activity_attempts += a?.attempt ?? 1;
          const s = scheduledOf(a?.scheduledEventId);
          if (s) t.activity_queued += ms(e) - ms(s);
          break;
        }
        case ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        case ET.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        case ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
          activitiesOut = Math.max(0, activitiesOut - 1);
          const a =
            e.activityTaskCompletedEventAttributes ??
            e.activityTaskFailedEventAttributes ??
            e.activityTaskTimedOutEventAttributes;
          const s = scheduledOf(a?.scheduledEventId);
          const st = scheduledOf(a?.startedEventId);
          if (s && st) {
            t.activity_running += ms(e) - ms(st);
            const type = s.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
            const x = (actTime[type] ??= { queued: 0, running: 0, n: 0 });
            x.queued += ms(st) - ms(s);
            x.running += ms(e) - ms(st);
            x.n += 1;
          }
          break;
        }
        case ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
          sum.signals_received += 1;
          const name = e.workflowExecutionSignaledEventAttributes?.signalName ?? '?';
          bySignal[name] = (bySignal[name] ?? 0) + 1;
          // The wait this signal ended: since the last event, when the workflow had nothing else outstanding.
          if (idle) waiting[name] = (waiting[name] ?? 0) + gap;
          break;
        }
        case ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
          sum.signals_sent += 1;
          break;
        case ET.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
          sum.search_attribute_upserts += 1;
          break;
        case ET.EVENT_TYPE_TIMER_STARTED: {
          sum.timers += 1;
          const d = e.timerStartedEventAttributes?.startToFireTimeout;
          const key = d ? timerBucket(tsToMs(d as never)) : '?';
          byTimer[key] = (byTimer[key] ?? 0) + 1;
          break;
        }
        case ET.EVENT_TYPE_TIMER_FIRED:
          if (idle) timerMs += gap;
          break;
        case ET.EVENT_TYPE_MARKER_RECORDED:
          sum.markers += 1;
          break;
        case ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
          sum.child_workflows += 1;
          break;
        default:
          break;
      }
    }
  }
  const mean = (x: number) => Math.round((x / n) * 100) / 100;
  const meanMs = (x: number) => Math.round(x / n);
  return {
    workflows: histories.length,
    per_workflow: Object.fromEntries(
      Object.entries(sum).map(([k, v]) => [k, mean(v)]),
    ) as HistoryProfile['per_workflow'],
    activities_by_type: Object.fromEntries(Object.entries(byType).map(([k, v]) => [k, mean(v)])),
    workflow_task_triggers: Object.fromEntries(
      Object.entries(triggers)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, mean(v)]),
    ),
    signals_by_name: Object.fromEntries(Object.entries(bySignal).map(([k, v]) => [k, mean(v)])),
    timers_by_length: Object.fromEntries(Object.entries(byTimer).map(([k, v]) => [k, mean(v)])),
    time_ms: {
      wall: meanMs(t.wall),
      workflow_task_queued: meanMs(t.workflow_task_queued),
      workflow_task_running: meanMs(t.workflow_task_running),
      activity_queued: meanMs(t.activity_queued),
      activity_running: meanMs(t.activity_running),
      waiting_for_signal: Object.fromEntries(Object.entries(waiting).map(([k, v]) => [k, meanMs(v)])),
      timers: meanMs(timerMs),
    },
    activity_time_ms: Object.fromEntries(
      Object.entries(actTime).map(([k, v]) => [
        k,
        { queued: Math.round(v.queued / v.n), running: Math.round(v.running / v.n) },
      ]),
    ),
  };
}

/** Reads the histories of `ids` (at most `sample`, spread evenly) and profiles them. */
export async function profileWorkflows(client: Client, ids: string[], sample = 60): Promise<HistoryProfile> {
  const step = Math.max(1, Math.floor(ids.length / sample));
  const chosen = ids.filter((_, i) => i % step === 0).slice(0, sample);
  const histories: HistoryEvent[][] = [];
  await inParallel(chosen, 8, async (id) => {
    const h = await client.workflow.getHandle(id).fetchHistory();
    histories.push(h.events ?? []);
  });
  return profileHistories(histories);
}

/**
 * The engine's work outside the order workflows: every other workflow run open at some point between `since` and
 * `until` (the intake, the warehouse gateway, the despatch sweep, stock, rate budgets, …), by workflow type, with the
 * events in their histories. Runs that started before `since` or went on after `until` count whole, so this
 * overstates somewhat.
 */
export async function otherWorkflowsWork(
  client: Client,
  since: Date,
  until: Date,
  exclude: string[],
): Promise<Record<string, { runs: number; events: number }>> {
  const byType: Record<string, { runs: number; events: number }> = {};
  const query = `StartTime <= "${until.toISOString()}" AND (CloseTime >= "${since.toISOString()}" OR ExecutionStatus = "Running")`;
  for await (const w of client.workflow.list({ query })) {
    if (exclude.includes(w.type)) continue;
    const t = (byType[w.type] ??= { runs: 0, events: 0 });
    t.runs += 1;
    t.events += w.historyLength;
  }
  return Object.fromEntries(Object.entries(byType).sort((a, b) => b[1].events - a[1].events));
}

/**
 * Where an order's acknowledgement time goes inside Temporal, from its history: workflow started → each activity
 * before OR21 (scheduled → started → closed, by type) → acknowledgeOrder closed. Percentiles over the sample, in ms;
 * the time before the workflow started (the marketplace's order → the intake's poll → signal-with-start) is the
 * ack latency less `started_to_acknowledged`.
 */
export async function profileAcknowledgement(
  client: Client,
  orders: Array<{ workflowId: string; createdAt?: number }>,
  sample = 100,
): Promise<Record<string, Percentile3>> {
  const step = Math.max(1, Math.floor(orders.length / sample));
  const chosen = orders.filter((_, i) => i % step === 0).slice(0, sample);
  const segments: Record<string, number[]> = {};
  const add = (k: string, v: number) => (segments[k] ??= []).push(v);
  await inParallel(chosen, 8, async ({ workflowId: id, createdAt }) => {
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const t0 = events[0] ? ms(events[0]) : 0;
    // Before the workflow: the poll window, OR11, the hand-over (simulator and server on one clock here).
    if (createdAt !== undefined && events[0]) add('created_to_workflow_started', t0 - createdAt);
    const byId = new Map(events.map((e) => [String(e.eventId), e]));
    let workflowTaskQueued = 0;
    for (const e of events) {
      if (e.eventType === ET.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        const s = byId.get(String(e.workflowTaskStartedEventAttributes?.scheduledEventId));
        if (s) workflowTaskQueued += ms(e) - ms(s);
      }
      if (e.eventType !== ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) continue;
      const a = e.activityTaskCompletedEventAttributes;
      const s = byId.get(String(a?.scheduledEventId));
      const st = byId.get(String(a?.startedEventId));
      if (!s || !st) continue;
      const type = s.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      add(`${type}.queued`, ms(st) - ms(s));
      add(`${type}.running`, ms(e) - ms(st));
      if (type === 'acknowledgeOrder') {
        add('started_to_acknowledged', ms(e) - t0);
        add('workflow_tasks_queued_before_ack', workflowTaskQueued);
        break;
      }
    }
  });
  return Object.fromEntries(Object.entries(segments).map(([k, xs]) => [k, percentile3(xs)]));
}

/**
 * The intake's rhythm from its histories: for every intake run open between `since` and `until`, the OR11 polls
 * (pollChannelOrders) that started in that time: from one poll's start to the next (the cycle an order waits at
 * most for, plus the hand-over), each poll's length (start → close, with any rest of the window it waits before
 * its request), its dispatch (scheduled → started) and the workflow's time between polls (close → next scheduled:
 * a workflow task, a timer, the returns poll), percentiles in ms.
 */
export async function profileIntake(
  client: Client,
  since: Date,
  until: Date,
): Promise<{
  polls: number;
  cycle_ms: Percentile3;
  poll_ms: Percentile3;
  dispatch_ms: Percentile3;
  between_polls_ms: Percentile3;
}> {
  const cycles: number[] = [];
  const lengths: number[] = [];
  const dispatch: number[] = [];
  const between: number[] = [];
  const query = `WorkflowType = "intakeWorkflow" AND StartTime <= "${until.toISOString()}" AND (CloseTime >= "${since.toISOString()}" OR ExecutionStatus = "Running")`;
  for await (const w of client.workflow.list({ query })) {
    const events = (await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory()).events ?? [];
    const byId = new Map(events.map((e) => [String(e.eventId), e]));
    let lastStart: number | undefined;
    let lastClose: number | undefined;
    for (const e of events) {
      if (e.eventType !== ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) continue;
      const a = e.activityTaskCompletedEventAttributes;
      const s = byId.get(String(a?.scheduledEventId));
      const st = byId.get(String(a?.startedEventId));
      if (!s || !st || s.activityTaskScheduledEventAttributes?.activityType?.name !== 'pollChannelOrders') continue;
      const start = ms(st);
      if (start < since.getTime() || start > until.getTime()) continue;
      lengths.push(ms(e) - start);
      dispatch.push(start - ms(s));
      if (lastStart !== undefined) cycles.push(start - lastStart);
      if (lastClose !== undefined) between.push(ms(s) - lastClose);
      lastStart = start;
      lastClose = ms(e);
    }
  }
  return {
    polls: lengths.length,
    cycle_ms: percentile3(cycles),
    poll_ms: percentile3(lengths),
    dispatch_ms: percentile3(dispatch),
    between_polls_ms: percentile3(between),
  };
}

type Percentile3 = { p50: number; p99: number; mean: number };
function percentile3(xs: number[]): Percentile3 {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
  return { p50: at(50), p99: at(99), mean: s.length ? Math.round(s.reduce((a, b) => a + b, 0) / s.length) : 0 };
}
