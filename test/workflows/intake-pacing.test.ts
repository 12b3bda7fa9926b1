// The order poll (OR11, once a window per shop) is paced from the marketplace's answer to its last request
// ('intake-pace-from-request'): the hand-over after that answer (a page of signal-with-starts, reservations) falls
// inside the window instead of adding to it, so an order created just after a poll is read about one window later,
// not one window plus the hand-over plus a margin. And never sooner: the next request leaves at least a window after
// that answer. Real server; the poll activity is a fake that records when its OR11 answer came and hands over for a
// while after it (the rest of the window is then shorter than the server's shortest timer: the activity waits it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { maybeRecordHistory, startTestEnv, uniqueQueue, workflowBundle } from '../support/temporal';
import { intakeWorkflow, stopIntakeSignal } from '../../workflows/intake';
import { PROCESS_ID, waitForWindow } from '../../activities/intake';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

/**
 * Runs an intake workflow at this window on a queue of its own, with these activities in place of the real ones
 * (a returns poll that finds nothing and no alerts unless given), until `done`; then stops it and keeps its history
 * under `historyName` (LOOPLINE_RECORD_HISTORIES=1).
 */
async function runIntake(
  queue: string,
  windowMs: number,
  done: () => boolean,
  historyName: string,
  activities: Record<string, (...args: never[]) => Promise<unknown>>,
): Promise<void> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
    activities: {
      pollChannelReturns: async () => ({ seen: 0, handedOver: 0, standalone: 0, unreadable: 0 }),
      raiseIntakeAlert: async () => undefined,
      ...activities,
    },
  });
  await worker.runUntil(async () => {
    const h = await env.client.workflow.start(intakeWorkflow, {
      workflowId: `intake:${queue}`,
      taskQueue: queue,
      args: [{ channel: 'asos', intervalMs: windowMs }],
    });
    while (!done()) await new Promise((r) => setTimeout(r, 100));
    await h.signal(stopIntakeSignal);
    await h.result();
    await maybeRecordHistory(h, historyName);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test('the next OR11 poll leaves one window after the last answer, the hand-over inside that window', async () => {
  const queue = uniqueQueue('intake-pace');
  const WINDOW = 1_000;
  const HANDOVER = 800; // after the answer: signal-with-starts, reservations
  const polls: Array<{ start: number; answer: number; end: number }> = [];
  await runIntake(queue, WINDOW, () => polls.length >= 5, 'intake-pace-from-request', {
    pollChannelOrders: async (input: { waitFirstMs?: number }) => {
      if (input.waitFirstMs) await new Promise((r) => setTimeout(r, input.waitFirstMs));
      const start = Date.now();
      const answer = performance.now();
      const answerWall = Date.now();
      await new Promise((r) => setTimeout(r, HANDOVER));
      polls.push({ start, answer: answerWall, end: Date.now() });
      return {
        seen: 0,
        started: 0,
        signalled: 0,
        unreadable: 0,
        afterLastCallMs: Math.round(performance.now() - answer),
      };
    },
    returnPollInterval: async () => null,
  });
  // From each poll's answer to the next poll's request.
  const gaps = polls.slice(1).map((p, i) => p.start - polls[i]!.answer);
  assert.ok(Math.min(...gaps) >= WINDOW, `answer → next request: ${gaps.join(', ')} ms (at least one window)`);
  // Paced from the end of the hand-over (before), each gap was at least WINDOW + 250 + HANDOVER = 2,050 ms.
  assert.ok(
    median(gaps) < WINDOW + HANDOVER,
    `answer → next request: ${gaps.join(', ')} ms (the hand-over inside the window)`,
  );
});

// 'intake-poll-lead': the window counts from the answer as it came, not from after the returns poll (RT11) that
// followed it, and when the next poll runs in the process that had the answer it waits by that process's clock
// (the real activity's waitForWindow), so no timer, workflow task or dispatch adds to the window.
test('the next OR11 request leaves about one window after the answer, a slow returns poll between them', async () => {
  const queue = uniqueQueue('intake-lead');
  const WINDOW = 1_000;
  const HANDOVER = 300;
  const RETURNS = 400; // RT11 after every order poll, before the next one is scheduled
  const polls: Array<{ request: number; answer: number }> = [];
  await runIntake(queue, WINDOW, () => polls.length >= 6, 'intake-poll-lead', {
    pollChannelOrders: async (input: { waitFirstMs?: number; notBefore?: { process: string; at: number } }) => {
      await waitForWindow(input);
      const request = performance.now();
      const answer = performance.now();
      polls.push({ request, answer });
      await new Promise((r) => setTimeout(r, HANDOVER));
      return {
        seen: 0,
        started: 0,
        signalled: 0,
        unreadable: 0,
        afterLastCallMs: Math.round(performance.now() - answer),
        answer: { process: PROCESS_ID, at: answer },
      };
    },
    returnPollInterval: async () => 1,
    pollChannelReturns: async () => {
      await new Promise((r) => setTimeout(r, RETURNS));
      return { seen: 0, handedOver: 0, standalone: 0, unreadable: 0 };
    },
  });
  const gaps = polls.slice(1).map((p, i) => Math.round(p.request - polls[i]!.answer));
  assert.ok(Math.min(...gaps) >= WINDOW, `answer → next request: ${gaps.join(', ')} ms (at least one window)`);
  // Before: the window counted from after the returns poll, and a timer, a workflow task and a dispatch followed:
  // each gap more than WINDOW + 100 + RETURNS (1,746-1,800 ms with RETURNS 600). Now about WINDOW + 25, the rest
  // slack for a loaded machine (the next poll must be scheduled within the window: hand-over, RT11, three tasks).
  assert.ok(median(gaps) < WINDOW + 250, `answer → next request: ${gaps.join(', ')} ms (about one window)`);
});
