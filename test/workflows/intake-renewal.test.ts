// The intake across continue-as-new (real Temporal server, Mirakl simulator enforcing OR11's once-a-minute per
// shop, time scale 60: once a second): the first poll of a new run keeps the interval from the last poll of the
// run before, so no OR11 is ever refused for the call rate however often the intake renews itself. (The
// 10,000-order chaos run saw 9–10 OR11 refusals per shop, one at each renewal, when a new run polled at once.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { intakeStateQuery, intakeWorkflow, stopIntakeSignal } from '../../workflows/intake';

let env: TestWorkflowEnvironment;
let stack: Stack;

before(async () => {
  env = await startTestEnv();
  stack = await startStack(env);
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

describe('intake renewal', () => {
  test('an intake renewing itself every few polls never polls OR11 inside the window the last poll used', async () => {
    const id = stack.recurring.intakeWorkflowIds.find((w) => w.includes('joules'))!;
    const running = env.client.workflow.getHandle(id);
    const { intervalMs } = await running.query(intakeStateQuery);
    await running.signal(stopIntakeSignal);
    await running.result();
    const since = stack.sandbox.ctx.calls.list().at(-1)?.seq ?? 0;
    // A history this short makes a new run every two or three polls.
    const h = await env.client.workflow.start(intakeWorkflow, {
      workflowId: id,
      taskQueue: stack.config.temporal.taskQueues.orders,
      args: [{ channel: 'joules', intervalMs, maxHistoryEvents: 25 }],
    });
    const firstRun = h.firstExecutionRunId;
    // Six renewals at least.
    await eventually(
      async () => {
        const runs: string[] = [];
        for await (const w of env.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(w.runId);
        return runs.length >= 7 ? runs : undefined;
      },
      60_000,
      'six renewals',
    );
    await env.client.workflow.getHandle(id).signal(stopIntakeSignal);
    const polls = stack.sandbox.ctx.calls
      .list({ system: 'mirakl', tenant: 'joules', endpoint: 'OR11', sinceSeq: since })
      .filter((c) => !c.exempt);
    assert.ok(polls.length >= 10, `${polls.length} polls`);
    assert.deepEqual(
      polls.filter((c) => c.rateLimited).map((c) => c.at),
      [],
      'no OR11 refused for the call rate',
    );
    // Consecutive polls at least a window apart (as the simulator counts: arrival).
    const gaps = polls.slice(1).map((c, i) => c.at - polls[i]!.at);
    assert.ok(Math.min(...gaps) >= intervalMs, `closest polls ${Math.min(...gaps)} ms apart (window ${intervalMs} ms)`);
    assert.notEqual((await env.client.workflow.getHandle(id).describe()).runId, firstRun);
  });
});
