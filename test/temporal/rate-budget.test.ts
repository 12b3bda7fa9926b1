// The Peoplevox budget kept by the Temporal server (workflows/rate-budget.ts, src/temporal/rate-budget-client.ts):
// three replicas reading and writing as fast as they can stay inside the documented 15 requests per 15 s, judged
// from the Peoplevox simulator's own call log, while three replicas pacing themselves do not; order-critical
// calls get most lanes while reads saturate; a killed holder's lanes are handed on only after its lease and a
// window; the budget renews itself (continue-as-new) with its holders.
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
import { LeasedBudget, RateBudgetUnavailableError } from '../../src/temporal/rate-budget-client';
import { fairSplit, rateBudgetStateQuery, rateBudgetWorkflow, type RateBudgetTerms } from '../../workflows/rate-budget';

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

  test('three replicas together stay inside 15 requests in any 15 s; reads hold at most their share', async (t) => {
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
    // The budget is used, not starved: at least two thirds of what the lanes allow over the run.
    const allowed = ((20 * budget.windowMs) / budget.terms.windowMs) * budget.terms.lanes;
    assert.ok(run.calls.length >= allowed * 0.66, `made ${run.calls.length} of ${Math.round(allowed)} calls allowed`);
    // Reads saturate too, yet order-critical calls get most of the lanes.
    const split = `order-critical ${run.priority}, reads ${run.share}`;
    t.diagnostic(
      `max ${max} in a window; ${run.calls.length} of ${Math.round(allowed)} calls allowed (${Math.round((100 * run.calls.length) / allowed)} %); ${split}`,
    );
    assert.ok(run.share <= (run.priority + run.share) * budget.terms.readShare * 1.1 + 3, split);
    assert.ok(run.priority > run.share, split);
    await Promise.all(replicas.slice(1).map((r) => r.close()));
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

test('fair split: max-min, never more than wanted, nothing left idle while someone wants more', () => {
  assert.deepEqual(fairSplit(15, [20, 20, 20]), [5, 5, 5]);
  assert.deepEqual(fairSplit(15, [2, 20, 20]), [2, 7, 6]);
  assert.deepEqual(fairSplit(4, [1, 0, 9]), [1, 0, 3]);
  assert.deepEqual(fairSplit(3, [5, 5, 5, 5]), [1, 1, 1, 0]);
  assert.deepEqual(fairSplit(10, []), []);
});

test("leases: lanes follow demand, reads keep to their share, a killed holder's lanes wait out its lease, renewal keeps holders", async () => {
  const queue = uniqueQueue('budget');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
  });
  await worker.runUntil(async () => {
    const workflowId = `rate-budget:test:${queue}`;
    const terms: RateBudgetTerms = { lanes: 10, windowMs: 300, readShare: 0.3, leaseMs: 1500, graceMs: 100 };
    const first = await env.client.workflow.start(rateBudgetWorkflow, {
      workflowId,
      taskQueue: queue,
      args: [{ ...terms, renewAfter: 8 }],
    });
    const handle = env.client.workflow.getHandle(workflowId);
    const opts = { client: env.client, workflowId, taskQueue: queue, terms };
    const a = new LeasedBudget({ ...opts, laneClass: 'priority' });
    const reads = new LeasedBudget({ ...opts, laneClass: 'share' });
    const held = async () => (await handle.query(rateBudgetStateQuery)).held;

    // Alone and busy, a holder is given every lane (10 calls in its first window, at once).
    const call = async (b: LeasedBudget) => (await b.take())();
    await call(a);
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 9 }, () => call(a)));
    assert.ok(Date.now() - t0 < terms.windowMs + 200, 'ten lanes, ten calls without waiting for each other');
    assert.ok(
      ((await held())[a.holder]?.lanes ?? 0) >= 9,
      'lanes as wanted (the calls of the last window and those waiting)',
    );

    // Reads arrive busy too: they get their share (3 lanes) once the order-critical holder gives lanes back.
    // Each call is timed as it starts (it reaches the system at once here); a window is judged a little short of
    // the lanes' own to leave room for the event loop's delays in taking the time.
    const rec = (ts: number[]) => ts.map((at, seq) => ({ seq, at, system: 'x', endpoint: 'x', status: 200 }));
    const judged = terms.windowMs - 25;
    const busy = (b: LeasedBudget, ms: number) => {
      const times: number[] = [];
      const until = Date.now() + ms;
      const loop = async () => {
        while (Date.now() < until) {
          const done = await b.take().catch(() => undefined);
          if (!done) return; // abandoned (killed)
          times.push(Date.now());
          done();
        }
      };
      return Promise.all([loop(), loop(), loop(), loop()]).then(() => times);
    };
    // The order-critical holder is killed while busy (it holds 7 lanes): a new one gets them only after its lease
    // and a window; until then only the reads' lanes, once the reads stop, are free.
    // Sampled from 1.0 s to 2.7 s, not read once at 2.5 s: on a loaded machine (CI runs two files at once on two
    // cores) a renewal can come late and a single read can fall in that gap (a CI run saw only the reads' holder).
    const settled = (st: Awaited<ReturnType<typeof held>>) =>
      st[reads.holder]?.lanes === 3 && st[a.holder]?.lanes === 7;
    const phaseStart = Date.now();
    const midway = (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      let st = await held();
      while (!settled(st) && Date.now() - phaseStart < 2700) {
        await new Promise((r) => setTimeout(r, 100));
        st = await held();
      }
      return st;
    })();
    let killedAt = Infinity;
    let killedLeaseEnd = 0;
    setTimeout(() => {
      killedLeaseEnd = a.leaseEndsAt;
      a.abandon();
      killedAt = Date.now();
    }, 2800);
    const [aTimes, rTimes, state] = await Promise.all([busy(a, 10_000), busy(reads, 3000), midway]);
    assert.equal(state[reads.holder]?.lanes, 3, JSON.stringify(state));
    assert.equal(state[a.holder]?.lanes, 7, JSON.stringify(state));
    // Together never more than 10 calls in any window, and the lanes are used.
    const all = rec([...aTimes, ...rTimes]);
    const most = CallLog.maxInWindow(all, judged);
    assert.ok(most <= 10, `ten lanes, ten calls a window: ${most}`);
    assert.ok(all.length >= 10 * (3000 / terms.windowMs) * 0.6, `lanes used (${all.length} calls)`);

    const b = new LeasedBudget({ ...opts, laneClass: 'priority' });
    const bTimes = await busy(b, 3500);
    // The killed holder's lanes are handed on no sooner than a window after the end of the last lease it was
    // granted (the holder's own reckoning of that end is the earliest the server's can be): until then only the
    // reads' three lanes are free. Judged from that lease, not from the kill: a renewal is due every third of a
    // lease, but on a loaded machine (CI runs two files on two cores) one can come late, and the lease then ends
    // sooner after the kill (a CI run saw B use more than three lanes before the two thirds of a lease it had assumed).
    const handOn = killedAt + terms.leaseMs + terms.windowMs + terms.graceMs;
    assert.ok(killedLeaseEnd > 0, 'the holder held a lease when it was killed');
    const before = bTimes.filter((t) => t < killedLeaseEnd + terms.windowMs);
    assert.ok(CallLog.maxInWindow(rec(before), judged) <= 3, "the killed holder's lanes stay idle");
    // Then every lane is B's.
    const afterHandOn = bTimes.filter((t) => t > handOn + 200);
    assert.ok(CallLog.maxInWindow(rec(afterHandOn), terms.windowMs) >= 7, 'handed on once its lease ran out');

    // Renewed as new along the way (8 requests a run), holders carried.
    const described = await handle.describe();
    assert.notEqual(described.runId, first.firstExecutionRunId, 'continued as new');
    const after = await handle.query(rateBudgetStateQuery);
    // The request count runs on across runs: the state was carried.
    assert.ok(after.requests > 8, JSON.stringify(after));
    await Promise.all([b.close(), reads.close()]);
    assert.equal(Object.keys((await handle.query(rateBudgetStateQuery)).held).length, 0, 'given back on close');
    await maybeRecordHistory(
      env.client.workflow.getHandle(workflowId, first.firstExecutionRunId),
      'rate-budget-leases',
    );
    // Nobody holds or asks: the budget ends by itself once every lane is out of every window.
    const quietMs = terms.leaseMs + terms.windowMs + terms.graceMs;
    const ended = await Promise.race([
      handle.result().then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 3 * quietMs + 2000)),
    ]);
    assert.equal(ended, true, 'an idle budget completes');
    // A later request starts it afresh.
    const c = new LeasedBudget({ ...opts, laneClass: 'priority' });
    await call(c);
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await c.close();
    await handle.terminate('test over');
  });
});

test('no worker serves the budget: a call fails retryably within its bound instead of waiting for ever', async () => {
  const queue = uniqueQueue('budget-nobody');
  const terms: RateBudgetTerms = { lanes: 5, windowMs: 300, readShare: 0.3, leaseMs: 1500, graceMs: 100 };
  const budget = new LeasedBudget({
    client: env.client,
    workflowId: `rate-budget:test:${queue}`,
    taskQueue: queue,
    terms,
    laneClass: 'priority',
    giveUpAfterMs: 3000,
    requestTimeoutMs: 1000,
  });
  const started = Date.now();
  await assert.rejects(budget.take(), RateBudgetUnavailableError);
  const took = Date.now() - started;
  assert.ok(took >= 3000 && took < 3000 + 2 * 1000 + 1500, `gave up after ${took} ms`);
  await env.client.workflow.getHandle(`rate-budget:test:${queue}`).terminate('test over');
});

test('a holder whose budget stops answering stops renewing once its lease has run out and nothing waits', async () => {
  const queue = uniqueQueue('budget-gone');
  const workflowId = `rate-budget:test:${queue}`;
  const terms: RateBudgetTerms = { lanes: 5, windowMs: 300, readShare: 0.3, leaseMs: 1500, graceMs: 100 };
  let failures = 0;
  const budget = new LeasedBudget({
    client: env.client,
    workflowId,
    taskQueue: queue,
    terms,
    laneClass: 'priority',
    requestTimeoutMs: 500,
    onError: () => failures++,
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
  });
  await worker.runUntil(async () => {
    const done = await budget.take();
    done();
  });
  // Nobody serves the budget now, and the call has ended: the renewals fail until the lease runs out, then stop.
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await pause(3 * terms.leaseMs);
  const settled = failures;
  assert.ok(settled >= 1, 'the renewal after the worker went failed');
  await pause(3 * terms.leaseMs);
  assert.equal(failures, settled, `requests went on failing after the lease ran out (${settled} then ${failures})`);
  // Demand again: the holder asks at once (and fails in its bound, nobody serving).
  const again = budget.take();
  await pause(600);
  assert.ok(failures > settled, 'a new call asks again');
  await budget.close();
  await assert.rejects(again);
  await env.client.workflow.getHandle(workflowId).terminate('test over');
});
