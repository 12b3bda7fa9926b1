// A sharded channel pushes while stock events keep streaming in: before asking the shards for their rows it waits
// only for what was routed to them before the push began, not until nothing at all is queued or in flight to any
// shard (patch 'inventory-wait-for-routed'). A steady stream never leaves every shard's queue empty at once, so the
// old wait ran out (5 s) before every push: at 50,000 SKUs the channel's pushes were 5-15 s apart. Here 4 shards
// (400 items, shardItems 100) get a stream of changes to items of every shard for 15 s; the STO01s must stay about
// one window apart (1 s at x60), as the Mirakl simulator's call log shows. Real Temporal server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually } from '../support/temporal';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { shardOf } from '../../src/inventory/shards';
import { healthQuery, layoutQuery, stockEventsSignal } from '../../workflows/inventory';
import { startChannelInventory, startInventoryStack, sto01Gaps, type InventoryStack } from './support';

const TIME_SCALE = 60;
/** Mirakl allows STO01 once a minute: 1 s here. */
const WINDOW_MS = 60_000 / TIME_SCALE;
const ITEMS = 400;
const SKUS = sandboxCatalogue({ size: ITEMS }).map((c) => c.sku);

let env: TestWorkflowEnvironment;
let stack: InventoryStack;
let id: string;

before(async () => {
  env = await startTestEnv();
  stack = await startInventoryStack(env, {
    timeScale: TIME_SCALE,
    catalogueSize: ITEMS,
    channelYaml: {
      asos: `    inventory:
      velocityBuffer: { enabled: false }
      fullReadMinutes: 1440
      shardItems: 100`,
      joules: `    inventory:
      enabled: false`,
    },
  });
  id = await startChannelInventory(env, stack, 'asos');
  const handle = env.client.workflow.getHandle(id);
  await eventually(
    async () => {
      const [h, layout] = await Promise.all([handle.query(healthQuery), handle.query(layoutQuery)]);
      return layout.mode === 'sharded' && h.pushes > 0 && h.pendingCount === 0 ? h : undefined;
    },
    90_000,
    'split into shards by the first full read, and everything pushed',
  );
});

after(async () => {
  const layout = await env.client.workflow
    .getHandle(id)
    .query(layoutQuery)
    .catch(() => undefined);
  if (layout?.mode === 'sharded')
    for (const sid of layout.ids)
      await env.client.workflow
        .getHandle(sid)
        .terminate('test over')
        .catch(() => undefined);
  await env.client.workflow
    .getHandle(id)
    .terminate('test over')
    .catch(() => undefined);
  await stack?.stop();
  await env?.teardown();
});

test('a stream of stock events through every shard: the pushes stay about one STO01 window apart', async (t) => {
  const handle = env.client.workflow.getHandle(id);
  const layout = await handle.query(layoutQuery);
  assert.equal(layout.mode, 'sharded');
  const count = layout.ids.length;
  // Two items of each shard per message, a new figure each time: something always waits, in every shard.
  const byShard = Array.from({ length: count }, (_, k) => SKUS.filter((s) => shardOf(s, count) === k));
  const from = Date.now();
  let round = 0;
  while (Date.now() - from < 15_000) {
    const at = Date.now();
    const events = byShard.flatMap((skus) =>
      [0, 1].map((j) => [skus[(2 * round + j) % skus.length]!, 5 + (round % 7), at] as [string, number, number]),
    );
    await handle.signal(stockEventsSignal, events);
    round++;
    await new Promise((r) => setTimeout(r, 20));
  }
  const { calls, gaps, median } = sto01Gaps(stack, 'asos', from + 2_000);
  t.diagnostic(`${round} messages, ${calls} STO01s, gaps ${gaps.join(', ')} ms`);
  // Waiting until nothing at all was in flight, each push waited out the 5 s bound.
  assert.ok(median < 3.5 * WINDOW_MS, `median gap ${median} ms over ${round} messages (gaps ${gaps.join(', ')})`);
});
