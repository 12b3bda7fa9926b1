// The returns poll (RT11, once every 5 minutes per shop) is paced from the end of the previous poll, as the order
// poll is: a poll that took longer than the interval (its first call left late: a busy worker, a retry a window
// on) must not be followed at once by the next. Paced from its start, the third 10k chaos run saw 422 RT11 polls
// refused on one shop. Real server; the intake's activities are fakes that record when each RT11 poll ran.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { maybeRecordHistory, startTestEnv, uniqueQueue, workflowBundle } from '../support/temporal';
import { intakeWorkflow, stopIntakeSignal } from '../../workflows/intake';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

test('an RT11 poll that outlasts the interval is followed by the next one a whole interval after it ended', async () => {
  const queue = uniqueQueue('intake-returns');
  const EVERY = 3_000; // the RT11 interval here
  const TAKES = 3_500; // each poll: longer than the interval
  const polls: Array<{ start: number; end: number }> = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
    activities: {
      pollChannelOrders: async () => ({ seen: 0, started: 0, signalled: 0, unreadable: 0 }),
      returnPollInterval: async () => EVERY,
      pollChannelReturns: async () => {
        const start = Date.now();
        await new Promise((r) => setTimeout(r, TAKES));
        polls.push({ start, end: Date.now() });
        return { seen: 0, handedOver: 0, standalone: 0, unreadable: 0 };
      },
      raiseIntakeAlert: async () => undefined,
    },
  });
  await worker.runUntil(async () => {
    const h = await env.client.workflow.start(intakeWorkflow, {
      workflowId: `intake:${queue}`,
      taskQueue: queue,
      args: [{ channel: 'asos', intervalMs: 200 }],
    });
    while (polls.length < 3) await new Promise((r) => setTimeout(r, 100));
    await h.signal(stopIntakeSignal);
    await h.result();
    await maybeRecordHistory(h, 'intake-returns-pace-from-end');
  });
  const gaps = polls.slice(1).map((p, i) => p.start - polls[i]!.end);
  assert.ok(Math.min(...gaps) >= EVERY, `gaps after the end of the previous poll: ${gaps.join(', ')} ms`);
});
