// The shop's cost bucket shared by every replica (src/config/budget.ts shopifyBudget, workflows/rate-budget.ts):
// three runtimes calling the Shopify simulator as fast as they can — order-critical look-ups and stock reads at
// once — make no THROTTLED and never take more points in a bucket-refill window than the bucket holds, judged
// from the simulator's own call log (one bucket per shop, whoever calls); order-critical calls keep their part
// while reads saturate. The same three runtimes on their local bucket models only are THROTTLED (what the
// shared budget prevents). A full stock read pages below the reads' part, so it finds room while other replicas
// read.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { memoryLogger } from '../alerts/receivers';
import { createRuntime, type Runtime } from '../../workers/runtime';
import { shopifyBudget } from '../../src/config/budget';
import { CallLog, type CallRecord } from '../../src/sandbox/core/call-log';

// Standard plan (2,000 points, 100 restored a second) at 30×: 3,000 points a second, the bucket refills in 0.67 s.
const TIME_SCALE = 30;

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
      // a THROTTLED call still shows in the simulator's log, which is what is judged
    }
  }
  return ok;
}

describe('Shopify budget shared by three replicas through the Temporal server', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(env, { timeScale: TIME_SCALE, shopify: true });
  });
  after(async () => {
    await stack?.stop();
  });

  /** Each replica: two order-critical loops (an order look-up, 272 points) and two stock-read loops (92 points). */
  async function burst(replicas: Runtime[], ms: number) {
    const since = stack.sandbox.ctx.calls.list().at(-1)?.seq ?? 0;
    await Promise.all(
      replicas.flatMap((r) => [
        hammer(ms, () => r.shopify!.findOrderBySource('NOT-THERE-1')),
        hammer(ms, () => r.shopify!.findOrderBySource('NOT-THERE-2')),
        hammer(ms, () => r.shopify!.inventoryForSkus(['TEE-NAVY-XS'])),
        hammer(ms, () => r.shopify!.inventoryForSkus(['TEE-NAVY-S'])),
      ]),
    );
    const calls = stack.sandbox.ctx.calls.list({ system: 'shopify', sinceSeq: since });
    const points = (cs: CallRecord[]) => cs.filter((c) => !c.rateLimited).reduce((s, c) => s + (c.cost ?? 0), 0);
    return {
      calls,
      throttled: calls.filter((c) => c.rateLimited).length,
      priorityPoints: points(calls.filter((c) => c.endpoint === 'orders')),
      readPoints: points(calls.filter((c) => c.endpoint === 'inventoryItems')),
    };
  }

  /** The stack's runtime and two more, every one on the shop's shared budget. */
  function sharingReplicas(): Runtime[] {
    const replicas = [
      stack.runtime,
      ...[1, 2].map(() => createRuntime(stack.config, memoryLogger().log, { timeScale: TIME_SCALE })),
    ];
    for (const r of replicas) r.shareBudgets(env.client);
    return replicas;
  }

  test('three replicas: no THROTTLED, never more points in a refill window than the bucket holds', async (t) => {
    const budget = shopifyBudget(stack.config, TIME_SCALE);
    const replicas = sharingReplicas();
    const ms = 10 * budget.windowMs;
    const run = await burst(replicas, ms);
    const max = CallLog.maxCostInWindow(run.calls, budget.windowMs);
    const lowest = Math.min(...run.calls.map((c) => c.bucketLeft ?? Infinity));
    const total = run.priorityPoints + run.readPoints;
    t.diagnostic(
      `${run.calls.length} calls, ${total} points in ${ms} ms (restore allows ${Math.round((budget.restorePerSecond * ms) / 1000)} + the bucket); ` +
        `most in a ${Math.round(budget.windowMs)} ms window ${max} of ${budget.maximumAvailable}; lowest bucket ${lowest}; ` +
        `order-critical ${run.priorityPoints}, reads ${run.readPoints}; THROTTLED ${run.throttled}`,
    );
    assert.equal(run.throttled, 0, 'no call THROTTLED');
    assert.ok(
      max <= budget.maximumAvailable,
      `at most the bucket (${budget.maximumAvailable}) in any window, saw ${max}`,
    );
    // The budget is used, not starved: a good part of what the restore rate gives over the run.
    assert.ok(total >= 0.4 * ((budget.restorePerSecond * ms) / 1000), `used ${total} points`);
    // Reads saturate too, yet order-critical calls keep at least their part (reads at most readShare of the lanes).
    assert.ok(run.priorityPoints >= total * (1 - budget.terms.readShare) * 0.8, 'order-critical calls keep their part');
    await Promise.all(replicas.slice(1).map((r) => r.close()));
    await new Promise((r) => setTimeout(r, 2 * budget.windowMs));
  });

  test("a full stock read pages below the reads' part of the budget, and completes while another replica reads", async (t) => {
    const budget = shopifyBudget(stack.config, TIME_SCALE);
    const replicas = sharingReplicas();
    const since = stack.sandbox.ctx.calls.list().at(-1)?.seq ?? 0;
    // Two replicas keep reads' lanes busy with small stock reads while the first reads the whole catalogue twice.
    let busy = true;
    const others = Promise.all(
      replicas.slice(1).flatMap((r) => [
        (async () => {
          while (busy) await r.shopify!.inventoryForSkus(['TEE-NAVY-XS']).catch(() => undefined);
        })(),
        (async () => {
          while (busy) await r.shopify!.inventoryForSkus(['TEE-NAVY-S']).catch(() => undefined);
        })(),
      ]),
    );
    let rows = 0;
    try {
      for (let i = 0; i < 2; i++) rows = (await stack.runtime.shopify!.inventory()).length;
    } finally {
      busy = false;
      await others;
    }
    const reads = stack.sandbox.ctx.calls
      .list({ system: 'shopify', sinceSeq: since })
      .filter((c) => c.endpoint === 'inventoryItems' && !c.rateLimited);
    const heaviest = Math.max(...reads.map((c) => c.cost ?? 0));
    const classPoints = budget.classPoints('share');
    t.diagnostic(`${rows} rows a read; heaviest stock page ${heaviest} points (reads' part ${classPoints})`);
    assert.ok(rows > 12, 'the catalogue takes several pages');
    // A whole page of 50 would cost about 900 points: every lane of the class, never free while others read.
    assert.ok(heaviest <= classPoints / 4, `pages cost at most a quarter of the reads' part, saw ${heaviest}`);
    assert.ok(heaviest > 92, 'the full read was among the calls judged');
    await Promise.all(replicas.slice(1).map((r) => r.close()));
    await new Promise((r) => setTimeout(r, 2 * budget.windowMs));
  });

  test('the same replicas on their local bucket models only are THROTTLED (what the shared budget prevents)', async (t) => {
    const budget = shopifyBudget(stack.config, TIME_SCALE);
    // Fresh runtimes never told to share: each paces itself by its own model of the bucket.
    const replicas = [1, 2, 3].map(() => createRuntime(stack.config, memoryLogger().log, { timeScale: TIME_SCALE }));
    const run = await burst(replicas, 6 * budget.windowMs);
    const max = CallLog.maxCostInWindow(run.calls, budget.windowMs);
    t.diagnostic(`${run.calls.length} calls, THROTTLED ${run.throttled}; most in a window ${max}`);
    assert.ok(run.throttled > 0, 'three replicas each modelling the bucket alone meet an empty bucket');
    await new Promise((r) => setTimeout(r, 2 * budget.windowMs));
  });
});
