// The next stock push waits one target window from the end of the last push's call, not from the moment the channel's
// workflow hears that the call ended (patch 'inventory-pace-from-call-end'). Here every push's completion reaches the
// workflow 1.5 s after its STO01 answer (a busy worker, the activity telling the shards, the server's queue): the
// pushes of a steady stream of changes must still be about one STO01 window apart, never closer than the window, as
// the Mirakl simulator judges it. Real Temporal server, the simulators' call log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually } from '../support/temporal';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { healthQuery } from '../../workflows/inventory';
import {
  setWarehouseStock,
  startChannelInventory,
  startInventoryStack,
  sto01Gaps,
  type InventoryStack,
} from './support';

const TIME_SCALE = 30;
/** Mirakl allows STO01 once a minute: 2 s here. */
const WINDOW_MS = 60_000 / TIME_SCALE;
/** How late each push's completion reaches the workflow after its call ended. */
const LATE_MS = 1_500;
const SKUS = sandboxCatalogue({ size: 20 }).map((c) => c.sku);

let env: TestWorkflowEnvironment;
let stack: InventoryStack;

before(async () => {
  env = await startTestEnv();
  stack = await startInventoryStack(env, {
    timeScale: TIME_SCALE,
    catalogueSize: 20,
    channelYaml: { asos: '    inventory: { velocityBuffer: { enabled: false } }' },
    wrapActivities: (acts) => ({
      ...acts,
      async pushStock(input) {
        const r = await acts.pushStock(input);
        await new Promise((resolve) => setTimeout(resolve, LATE_MS));
        return r;
      },
    }),
  });
  await startChannelInventory(env, stack, 'asos');
  const handle = env.client.workflow.getHandle(inventoryWorkflowId('asos', stack.config.temporal.idScope));
  await eventually(
    async () => {
      const h = await handle.query(healthQuery);
      return h.pushes > 0 && h.pendingCount === 0 ? h : undefined;
    },
    60_000,
    'the first full read pushed',
  );
});

after(async () => {
  await stack?.stop();
  await env?.teardown();
});

test('a push whose completion arrives late: the next one still goes one STO01 window after the call, not after the news', async () => {
  const from = Date.now();
  // A change every 250 ms for 14 s: something always waits to be pushed.
  for (let round = 0; round < 56; round++) {
    await setWarehouseStock(stack, [{ itemCode: SKUS[round % 10]!, available: 10 + (round % 7) }]);
    await new Promise((r) => setTimeout(r, 250));
  }
  const { gaps, median } = sto01Gaps(stack, 'asos', from + 500);
  // Never sooner than the window (the simulator's clock; a little slack for its own timing).
  assert.ok(Math.min(...gaps) >= WINDOW_MS - 50, `gaps ${gaps.join(', ')} ms`);
  // Counted from the news, each gap would be the lateness plus a window and its margin (about 3.5 s here).
  assert.ok(median < WINDOW_MS + LATE_MS / 2, `median gap ${median} ms (gaps ${gaps.join(', ')})`);
});
