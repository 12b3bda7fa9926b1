// The workflow-task figures of a history (src/temporal/history-stats.ts), from the events' own times: a task's run
// is started → completed (or failed), its wait scheduled → started; a task failed because a signal came in while the
// run was completing (UNHANDLED_COMMAND) is counted by cause. Built by hand, as the server writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { combineStats, statsOfHistory, type HistoryStats } from '../../src/temporal/history-stats';

type Event = temporal.api.history.v1.IHistoryEvent;
const T0 = 1_800_000_000_000;
const at = (ms: number) => ({ seconds: Math.floor((T0 + ms) / 1000), nanos: ((T0 + ms) % 1000) * 1e6 });
let id = 0;
/** An event as the server writes it (fromObject turns the numbers into the proto's Longs). */
const ev = (ms: number, e: Record<string, unknown>): Event =>
  temporal.api.history.v1.HistoryEvent.fromObject({ eventId: ++id, eventTime: at(ms), ...e });

function task(scheduledAt: number, startedAt: number, endedAt: number, failedCause?: number): Event[] {
  const scheduled = ev(scheduledAt, { workflowTaskScheduledEventAttributes: {} });
  const started = ev(startedAt, { workflowTaskStartedEventAttributes: { scheduledEventId: scheduled.eventId } });
  const ended =
    failedCause === undefined
      ? ev(endedAt, {
          workflowTaskCompletedEventAttributes: {
            scheduledEventId: scheduled.eventId,
            startedEventId: started.eventId,
          },
        })
      : ev(endedAt, {
          workflowTaskFailedEventAttributes: {
            scheduledEventId: scheduled.eventId,
            startedEventId: started.eventId,
            cause: failedCause,
          },
        });
  return [scheduled, started, ended];
}

test('workflow tasks: the longest run and wait, those over 5 s, the failed by cause', () => {
  const cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
  const events: Event[] = [
    ev(0, { workflowExecutionStartedEventAttributes: {} }),
    ...task(0, 10, 60), // ran 50 ms
    ...task(1_000, 3_000, 9_500, cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND), // waited 2 s, ran 6.5 s
    ...task(9_500, 9_600, 9_700), // the retry after it
  ];
  const s = statsOfHistory({ events });
  assert.equal(s.workflowTasks, 3);
  assert.equal(s.longestWorkflowTaskMs, 6_500);
  assert.equal(s.longestWorkflowTaskWaitMs, 2_000);
  assert.equal(s.workflowTasksOver5s, 1);
  assert.deepEqual(s.workflowTasksFailed, { UNHANDLED_COMMAND: 1 });

  const run = (x: typeof s): HistoryStats => ({ workflowId: 'w', runs: 1, totalEvents: x.maxEvents, ...x });
  const both = combineStats([run(s), run(statsOfHistory({ events: task(0, 1, 7_001) }))]);
  assert.equal(both.workflowTasks, 4);
  assert.equal(both.workflowTasksOver5s, 2);
  assert.equal(both.longestWorkflowTaskMs, 7_000);
  assert.deepEqual(both.workflowTasksFailed, { UNHANDLED_COMMAND: 1 });
});
