// After a failed STO01 (real Temporal server, Mirakl simulator at time scale 10: one STO01 a shop every 6 s):
// a call the platform refused outright (429) never counted towards the limit, so the rows go again when its
// Retry-After says, not a whole window later — and that next call is not refused for exceeding the limit; a 5xx
// or a timeout may have reached the platform and used the window at any moment until its end, so the next push
// waits the whole window, counted from the end of the failed call. Judged from the simulator's call log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually } from '../support/temporal';
import {
  startChannelInventory,
  startInventoryStack,
  shownQuantity,
  setWarehouseStock,
  type InventoryStack,
} from './support';
import type { CallRecord } from '../../src/sandbox/core/call-log';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { healthQuery } from '../../workflows/inventory';

const TIME_SCALE = 10;
const WINDOW_MS = 60_000 / TIME_SCALE;
const SKUS = sandboxCatalogue({ size: 10 }).map((c) => c.sku);

let env: TestWorkflowEnvironment;
let stack: InventoryStack;

before(async () => {
  env = await startTestEnv();
  stack = await startInventoryStack(env, {
    timeScale: TIME_SCALE,
    catalogueSize: 10,
    channelYaml: {
      asos: `    inventory:
      velocityBuffer: { enabled: false }`,
    },
  });
  await startChannelInventory(env, stack, 'asos');
  await eventually(
    async () => {
      const h = await handle().query(healthQuery);
      return h.pushes > 0 && h.pendingCount === 0;
    },
    60_000,
    'initial sync',
  );
});
after(async () => {
  await handle()
    .terminate('test over')
    .catch(() => undefined);
  await stack?.stop();
  await env?.teardown();
});

function handle() {
  return env.client.workflow.getHandle(inventoryWorkflowId('asos', stack.config.temporal.idScope));
}

function sto01(): CallRecord[] {
  return stack.sandbox.ctx.calls.list({ system: 'mirakl', tenant: 'asos', endpoint: 'STO01' });
}

/** Fails the next STO01 with `fault`, changes one SKU, and returns the failed call and the one that carried it. */
async function failOnceThenCarry(
  fault:
    { kind: 'rateLimit429'; retryAfterSeconds: number } | { kind: 'error5xx' } | { kind: 'timeout'; delayMs: number },
  sku: string,
  available: number,
): Promise<{ failed: CallRecord; next: CallRecord }> {
  // Let the window open, so that the change goes at once and meets the fault.
  await new Promise((r) => setTimeout(r, WINDOW_MS + 500));
  const seen = sto01().length;
  stack.sandbox.ctx.faults('mirakl').set([{ endpoint: 'STO01', tenant: 'asos', count: 1, ...fault }]);
  try {
    await setWarehouseStock(stack, [{ itemCode: sku, available }]);
    await eventually(
      async () => ((await shownQuantity(stack, 'asos', sku)) === available ? true : undefined),
      30_000,
      `asos shows ${available} of ${sku}`,
    );
  } finally {
    stack.sandbox.ctx.faults('mirakl').clear();
  }
  const calls = sto01().slice(seen);
  const i = calls.findIndex((c) => c.fault !== undefined);
  assert.ok(i >= 0, `the injected ${fault.kind} fired: ${JSON.stringify(calls)}`);
  assert.ok(calls[i + 1], 'a STO01 after the failed one carried the change');
  return { failed: calls[i]!, next: calls[i + 1]! };
}

describe('STO01 after a failed push (one a shop every 6 s here)', () => {
  test('refused with 429 and Retry-After 1: the rows go again after about a second, and are not refused', async () => {
    const { failed, next } = await failOnceThenCarry({ kind: 'rateLimit429', retryAfterSeconds: 1 }, SKUS[1]!, 3);
    const gap = next.at - failed.at;
    assert.equal(failed.status, 429);
    assert.equal(failed.exempt, true, 'a refused call does not count towards the limit');
    assert.ok(gap >= 1_000, `not before Retry-After (${gap} ms)`);
    assert.ok(gap < WINDOW_MS / 2, `well inside the window (${WINDOW_MS} ms): ${gap} ms after the refusal`);
    assert.ok(next.status >= 200 && next.status < 300 && !next.rateLimited, `accepted: ${JSON.stringify(next)}`);
  });

  test('a 5xx may have reached the platform: the next push waits the whole window', async () => {
    const { failed, next } = await failOnceThenCarry({ kind: 'error5xx' }, SKUS[2]!, 4);
    const gap = next.at - failed.at;
    assert.equal(failed.status, 503);
    assert.ok(!failed.exempt, 'a 5xx keeps its place in the window');
    assert.ok(gap >= WINDOW_MS, `a whole window (${WINDOW_MS} ms) after the 5xx: ${gap} ms`);
    assert.ok(next.status >= 200 && next.status < 300 && !next.rateLimited);
  });

  test('a timeout: the whole window again, counted from the end of the failed call', async () => {
    const HELD_MS = 3_000;
    const { failed, next } = await failOnceThenCarry({ kind: 'timeout', delayMs: HELD_MS }, SKUS[3]!, 5);
    const gap = next.at - failed.at;
    assert.equal(failed.status, 504);
    // The platform may have taken the call as late as its end: the hold, then a whole window.
    assert.ok(gap >= HELD_MS + WINDOW_MS, `the hold (${HELD_MS} ms) plus a whole window (${WINDOW_MS} ms): ${gap} ms`);
    assert.ok(gap < HELD_MS + 2 * WINDOW_MS, `but not a second window: ${gap} ms`);
    assert.ok(next.status >= 200 && next.status < 300 && !next.rateLimited);
  });

  test('no STO01 was refused by the simulator for exceeding the limit', () => {
    assert.deepEqual(
      sto01().filter((c) => c.rateLimited),
      [],
    );
  });
});
