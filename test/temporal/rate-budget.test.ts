// The Peoplevox budget kept by the Temporal server (workflows/rate-budget.ts, src/temporal/rate-budget-client.ts):
// three replicas reading and writing as fast as they can stay inside the documented 15 requests per 15 s, judged
// from the Peoplevox simulator's own call log, while three replicas pacing themselves do not; order-critical
// calls get through while reads saturate; the budget renews itself (continue-as-new) without losing its slots.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, uniqueQueue, workflowBundle, maybeRecordHistory } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { memoryLogger } from '../alerts/receivers';
import { createRuntime, type Runtime } from '../../workers/runtime';
import { peoplevoxBudget } from '../../src/config/budget';
import { CallLog } from '../../src/sandbox/core/call-log';
import { ServerRateBudget } from '../../src/temporal/rate-budget-client';
import { rateBudgetStateQuery, rateBudgetWorkflow } from '../../workflows/rate-budget';

const TIME_SCALE = 10; // 15 requests in any 1.5 s

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

/** Runs `fn` in a loop until `ms` have passed; counts the calls that succeeded. */
async function hammer(ms: number, fn: () => Promise<unknown>): Promise<number> {
  const until = Date.now() + ms;
  let ok = 0;
  while (Date.now() < until) {
    try {
      await fn();
      ok++;
    } catch {
      // a refused call (429) still counts in the simulator's log, which is what is judged
    }
  }
  return ok;
}

describe('Peoplevox budget shared by three replicas through the Temporal server', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(env, { timeScale: TIME_SCALE });
  });
  after(async () => {
    await stack?.stop();
  });

  /** Three replicas (the stack's own and two more runtimes), each with two order-critical and two read loops. */
  async function burst(replicas: Runtime[], ms: number) {
    const since = stack.sandbox.ctx.calls.list().at(-1)?.seq ?? 0;
    const counts = await Promise.all(
      replicas.flatMap((r) => [
        hammer(ms, () => r.peoplevox.findSalesOrder('NOT-THERE-1')).then((n) => ({ priority: n, share: 0 })),
        hammer(ms, () => r.peoplevox.findSalesOrder('NOT-THERE-2')).then((n) => ({ priority: n, share: 0 })),
        hammer(ms, () => r.peoplevoxReads.getData('Item types', '', { itemsPerPage: 5 })).then((n) => ({
          priority: 0,
          share: n,
        })),
        hammer(ms, () => r.peoplevoxReads.getData('Item types', '', { itemsPerPage: 5 })).then((n) => ({
          priority: 0,
          share: n,
        })),
      ]),
    );
    const calls = stack.sandbox.ctx.calls.list({ system: 'peoplevox', sinceSeq: since });
    return {
      calls,
      priority: counts.reduce((a, c) => a + c.priority, 0),
      share: counts.reduce((a, c) => a + c.share, 0),
    };
  }

  test('three replicas together stay inside 15 requests in any 15 s; reads hold at most their share', async () => {
    const budget = peoplevoxBudget(stack.config, TIME_SCALE);
    const replicas = [
      stack.runtime,
      ...[1, 2].map(() => createRuntime(stack.config, memoryLogger().log, { timeScale: TIME_SCALE })),
    ];
    for (const r of replicas) r.shareBudgets(env.client);
    const run = await burst(replicas, 20 * budget.windowMs);
    const max = CallLog.maxInWindow(run.calls, budget.windowMs);
    assert.ok(max <= 15, `at most 15 calls in any window, saw ${max}`);
    assert.equal(run.calls.filter((c) => c.rateLimited).length, 0, 'no call refused by the rate limit');
    // The budget is used, not starved: at least two thirds of its slots over the run.
    const slots = (20 * budget.windowMs) / budget.terms.intervalMs;
    assert.ok(run.calls.length >= slots * 0.66, `used ${run.calls.length} of ${Math.round(slots)} slots`);
    // Reads saturate too, yet order-critical calls get most of the slots.
    const split = `order-critical ${run.priority}, reads ${run.share}`;
    assert.ok(run.share <= (run.priority + run.share) * budget.terms.shareOfBudget * 1.1 + 3, split);
    assert.ok(run.priority > run.share, split);
    await new Promise((r) => setTimeout(r, budget.windowMs));
  });

  test('the same replicas pacing themselves exceed the limit (what the shared budget prevents)', async () => {
    const budget = peoplevoxBudget(stack.config, TIME_SCALE);
    // Fresh runtimes never told to share: each paces itself at the documented rate.
    const replicas = [1, 2, 3].map(() => createRuntime(stack.config, memoryLogger().log, { timeScale: TIME_SCALE }));
    const run = await burst(replicas, 6 * budget.windowMs);
    const max = CallLog.maxInWindow(run.calls, budget.windowMs);
    assert.ok(max > 15, `three self-paced replicas make more than 15 calls in a window (saw ${max})`);
    await new Promise((r) => setTimeout(r, 2 * budget.windowMs));
  });
});

test('a budget renews itself (continue-as-new) with its reserved slots; takes stay an interval apart', async () => {
  const queue = uniqueQueue('budget');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
  });
  await worker.runUntil(async () => {
    const workflowId = `rate-budget:test:${queue}`;
    const terms = { intervalMs: 150, shareOfBudget: 0.5 };
    const first = await env.client.workflow.start(rateBudgetWorkflow, {
      workflowId,
      taskQueue: queue,
      args: [{ ...terms, renewAfter: 5 }],
    });
    const pacer = new ServerRateBudget({
      client: env.client,
      workflowId,
      taskQueue: queue,
      slotClass: 'priority',
      terms,
    });
    const at: number[] = [];
    for (let i = 0; i < 25; i++) {
      await pacer.take();
      at.push(Date.now());
    }
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // A slot starts an interval after the last; a take may be at most a quarter interval late (plus the jitter
    // of the answers' travel, measured from the caller's clock).
    assert.ok(Math.min(...gaps) >= terms.intervalMs * 0.75 - 30, `gaps ${gaps.join(',')}`);
    const window = 14 * terms.intervalMs;
    assert.ok(
      CallLog.maxInWindow(
        at.map((t, i) => ({ seq: i, at: t, system: 'x', endpoint: 'x', status: 200 })),
        window,
      ) <= 15,
    );
    const handle = env.client.workflow.getHandle(workflowId);
    const now = await handle.describe();
    assert.notEqual(now.runId, first.firstExecutionRunId, 'continued as new');
    const state = await handle.query(rateBudgetStateQuery);
    assert.ok(state.granted.priority >= 25, `granted across runs: ${JSON.stringify(state)}`);
    await maybeRecordHistory(
      env.client.workflow.getHandle(workflowId, first.firstExecutionRunId),
      'rate-budget-renewed',
    );
    await handle.terminate('test over');
  });
});
