// The inventory's state is bounded whatever the catalogue (issue 15, part 2; docs/inventory.md, "Scale"):
// 3,000 items with `shardItems: 1000` put the ledger in four shard workflows; every workflow continues as
// new (a low history bound) with a payload far below the server's 2 MB limit, read from the server's own
// histories, and the pushes still carry the right figures — judged from the Mirakl simulator's offers
// against the Peoplevox simulator's stock, not from Loopline's counters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { startChannelInventory, startInventoryStack, setWarehouseStock, type InventoryStack } from './support';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { historyStats, SERVER_LIMITS } from '../../src/temporal/history-stats';
import { shardOf } from '../../src/inventory/shards';
import { shardHealthQuery } from '../../workflows/inventory-defs';
import {
  fullReadSignal,
  healthQuery,
  layoutQuery,
  orderStockSignal,
  type InventoryHealth,
  type InventoryLayout,
} from '../../workflows/inventory';

const ITEMS = 3_000;
const SKUS = sandboxCatalogue({ size: ITEMS }).map((c) => c.sku);
let env: TestWorkflowEnvironment;
let stack: InventoryStack;
let id: string;

before(async () => {
  env = await startTestEnv();
  stack = await startInventoryStack(env, {
    catalogueSize: ITEMS,
    channelYaml: {
      asos: `    inventory:
      velocityBuffer: { enabled: false }
      fullReadMinutes: 1440
      shardItems: 1000`,
      joules: `    inventory:
      enabled: false`,
    },
  });
  // ASOS shows nothing yet: every figure it shows at the end was pushed.
  await stack.control.put('/control/mirakl/asos/catalogue', {
    offers: SKUS.map((offerSku) => ({ offerSku, quantity: 0 })),
  });
  // Low, so the channel and every shard continue as new during the test.
  id = await startChannelInventory(env, stack, 'asos', { maxHistoryEvents: 60 });
});

after(async () => {
  const layout = await layout_().catch(() => undefined);
  const h = env.client.workflow.getHandle(id);
  await maybeRecordHistory(h, 'inventoryWorkflow-sharded-v2-asos').catch(() => undefined);
  if (layout?.mode === 'sharded') {
    await maybeRecordHistory(env.client.workflow.getHandle(layout.ids[0]!), 'inventoryShardWorkflow-asos').catch(
      () => undefined,
    );
    for (const sid of layout.ids)
      await env.client.workflow
        .getHandle(sid)
        .terminate('test over')
        .catch(() => undefined);
  }
  await h.terminate('test over').catch(() => undefined);
  await stack?.stop();
  await env?.teardown();
});

const health = (): Promise<InventoryHealth> => env.client.workflow.getHandle(id).query(healthQuery);
const layout_ = (): Promise<InventoryLayout> => env.client.workflow.getHandle(id).query(layoutQuery);

/** Offer SKU → what ASOS shows, and item code → what Peoplevox has available. */
async function shown(): Promise<Map<string, number>> {
  const { data } = await stack.control.get('/control/mirakl/asos/offers');
  return new Map(
    (data as { offers: Array<{ offerSku: string; quantity: number }> }).offers.map((o) => [o.offerSku, o.quantity]),
  );
}
async function warehouse(): Promise<Map<string, number>> {
  const { data } = await stack.control.get('/control/peoplevox/test-client/items');
  return new Map(
    (data as { items: Array<{ itemCode: string; available: number }> }).items.map((i) => [i.itemCode, i.available]),
  );
}
/** SKUs whose shown figure is not the warehouse's (no buffer; every item has at least 2, so no last-unit rule). */
async function mismatches(): Promise<string[]> {
  const [s, w] = await Promise.all([shown(), warehouse()]);
  return SKUS.filter((sku) => s.get(sku) !== w.get(sku));
}

describe('inventory over a catalogue larger than one workflow holds', () => {
  test('3,000 items: split into 4 shards by the first full read, every SKU pushed with the master figure', async () => {
    const h = await eventually(
      async () => {
        const x = await health();
        // itemsKnown adds up the shards' reports, which may follow the pushes by a moment.
        return x.layout?.mode === 'sharded' &&
          x.pushes > 0 &&
          x.pendingCount === 0 &&
          x.itemsKnown === ITEMS &&
          (await mismatches()).length === 0
          ? x
          : undefined;
      },
      90_000,
      'the first full read split the ledger and every SKU shows the warehouse figure',
    );
    assert.equal(h.layout!.shards, 4);
    assert.equal(h.itemsKnown, ITEMS);
    assert.ok(h.layout!.largestShardItems <= 1000, `largest shard ${h.layout!.largestShardItems} items`);
  });

  test('changes reach the channel through the shards; a drift only a full read sees is pushed as a difference', async () => {
    // 40 changes spread over the catalogue (and so over the shards), one callback each.
    const changed = Array.from({ length: 40 }, (_, i) => SKUS[i * 73]!);
    for (const [i, itemCode] of changed.entries()) await setWarehouseStock(stack, [{ itemCode, available: 50 + i }]);
    await eventually(async () => (await mismatches()).length === 0, 180_000, 'every change shows on ASOS');
    const s = await shown();
    for (const [i, sku] of changed.entries()) assert.equal(s.get(sku), 50 + i, sku);

    // A lost callback: only the full read can notice; it hands over that one difference.
    const sku = SKUS[2_999]!;
    const was = (await warehouse()).get(sku)!;
    stack.sandbox.ctx
      .faults('peoplevox')
      .set([{ endpoint: 'callback:AvailabilityChanges', kind: 'error5xx', count: 1 }] as never);
    await setWarehouseStock(stack, [{ itemCode: sku, available: 3 }]);
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual((await shown()).get(sku), 3, 'nothing told ASOS yet');
    const before = await health();
    await env.client.workflow.getHandle(id).signal(fullReadSignal);
    const h = await eventually(
      async () => {
        const x = await health();
        return x.fullReads > before.fullReads && (await shown()).get(sku) === 3 ? x : undefined;
      },
      180_000,
      'the full read found the drift and pushed it',
    );
    stack.sandbox.ctx.faults('peoplevox').clear();
    // Read on a grid (every 24 min at x60), another read may have followed: the total says what was found.
    assert.equal(h.driftUnitsTotal - before.driftUnitsTotal, Math.abs(was - 3), 'the read found that one difference');
    if (h.fullReads === before.fullReads + 1) {
      assert.equal(h.lastDrift!.drifted, 1, 'one item differed');
      assert.equal(h.lastDrift!.examples[0]!.itemCode, sku);
      assert.equal(h.lastDrift!.examples[0]!.master, 3);
    }
    assert.equal((await mismatches()).length, 0);
  });

  test('a change is pushed while a full read is still under way (the read runs beside the pushes)', async () => {
    // The master report hangs for 60 s: a full read of a large catalogue takes that long in pages.
    const faults = stack.sandbox.ctx.faults('peoplevox');
    faults.set([{ endpoint: 'GetReportData', kind: 'timeout', delayMs: 60_000, count: 1 }]);
    // Past the last test's read, which channels reading together share for 2 s (a minute at x60).
    await new Promise((r) => setTimeout(r, 2_500));
    await env.client.workflow.getHandle(id).signal(fullReadSignal);
    const readHeld = () => [...faults.holding].some((r) => r.endpoint === 'GetReportData');
    const before = await health();
    await eventually(async () => readHeld(), 30_000, 'the full read is under way');
    const sku = SKUS[1_500]!;
    await setWarehouseStock(stack, [{ itemCode: sku, available: 7 }]);
    // The client gives up on the page after 30 s and reads it again: the read ends after that, not before.
    await eventually(async () => (await shown()).get(sku) === 7, 20_000, 'the change shows while the read hangs');
    assert.equal((await health()).fullReads, before.fullReads, 'pushed before the full read ended');
    faults.clear();
  });

  test("an order's allocation goes to its item's shard alone, not to every shard (the key's shard remembered)", async () => {
    const layout = await layout_();
    assert.equal(layout.mode, 'sharded');
    const received = async () =>
      Promise.all(
        layout.ids.map(
          async (sid) => (await env.client.workflow.getHandle(sid).query(shardHealthQuery)).reservations.received,
        ),
      );
    const sku = SKUS[2_222]!;
    const owner = shardOf(sku, layout.ids.length);
    const key = 'asos:SCALE-1:1';
    const before = await received();
    const h = env.client.workflow.getHandle(id);
    await h.signal(orderStockSignal, [{ op: 'reserve', key, itemCode: sku, quantity: 1, at: Date.now() }]);
    await eventually(
      async () => (await received())[owner] === before[owner]! + 1,
      20_000,
      'the reserve reached its shard',
    );
    await h.signal(orderStockSignal, [{ op: 'allocated', key, at: Date.now() }]);
    await eventually(
      async () => (await received())[owner] === before[owner]! + 2,
      20_000,
      'the allocation reached the shard that holds the reservation',
    );
    // A key the channel never routed a reserve for still goes to every shard (one that holds it may exist).
    await h.signal(orderStockSignal, [{ op: 'release', key: 'asos:UNKNOWN-1:1', at: Date.now(), reason: 'refused' }]);
    await eventually(
      async () => (await received()).every((n, k) => n === before[k]! + (k === owner ? 3 : 1)),
      20_000,
      'an unknown key reached every shard, and the allocation no other',
    );
  });

  test('every workflow continued as new with a payload far below the server limit (read from its history)', async () => {
    const layout = await layout_();
    assert.equal(layout.mode, 'sharded');
    const stats = await Promise.all([id, ...layout.ids].map((wid) => historyStats(env.client, wid)));
    const channel = stats[0]!;
    const shards = stats.slice(1);
    assert.ok(channel.runs >= 2, `the channel continued as new (runs ${channel.runs})`);
    assert.ok(
      shards.some((s) => s.runs >= 2),
      `a shard continued as new (runs ${shards.map((s) => s.runs).join(', ')})`,
    );
    for (const s of stats) {
      // Measured: a shard's compacted ledger of ~750 items is 15-31 KB, the channel's state under 3 KB.
      assert.ok(s.largestPayloadBytes < 128 * 1024, `${s.workflowId}: largest payload ${s.largestPayloadBytes} B`);
      assert.ok(s.largestPayloadBytes < SERVER_LIMITS.payloadBytes / 16);
      assert.ok(s.maxEvents < 1_000, `${s.workflowId}: ${s.maxEvents} events in a run`);
    }
  });
});
