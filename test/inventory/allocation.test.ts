// An order's stock reservation goes once its warehouse order is saved, even when the warehouse's figure never
// drops by the whole order: a backorder (the warehouse had 1 of the 3 units ordered) allocates 3 but takes
// only 1 off the available figure, so the decrease releases 1 unit and the other 2 were held until the
// reservation's TTL (96 hours), keeping restocked units off every channel. Through the whole stack: the Mirakl
// simulator's order, the intake's reservation, the order workflow and the warehouse gateway's SaveData, the
// Peoplevox callbacks and full reads, and what the Mirakl simulators end up showing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { shownQuantity } from './support';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { lastUnitsChannel } from '../../src/inventory/buffers';
import { healthQuery, type InventoryHealth } from '../../workflows/inventory';

let env: TestWorkflowEnvironment;
let stack: Stack;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

const health = (channel: string): Promise<InventoryHealth> =>
  env.client.workflow.getHandle(inventoryWorkflowId(channel, stack.config.temporal.idScope)).query(healthQuery);

const shown = (channel: string, offerSku: string): Promise<number> => shownQuantity(stack, channel, offerSku);

async function shows(channel: string, offerSku: string, quantity: number, what: string): Promise<void> {
  await eventually(async () => ((await shown(channel, offerSku)) === quantity ? true : undefined), 30_000, what);
}

// Both ways a warehouse order is created: in the gateway's batches (the default), and one by one (gateway off).
for (const gateway of [true, false])
  describe(`stock reservations and the warehouse order (${gateway ? "the gateway's batches" : 'one order at a time'})`, () => {
    before(async () => {
      stack = await startStack(env, {
        stockEvents: true,
        // Figures as they are (no velocity buffer on top); a full read every 2 simulated minutes (2 s here).
        inventory: { fullReadMinutes: 2, velocityBuffer: { enabled: false } },
        peoplevoxYaml: `gateway: { enabled: ${gateway} }`,
      });
    });
    after(async () => {
      await stack?.stop();
    });

    test('a backordered order: its whole reservation goes once the warehouse order is saved, and restocked units show', async () => {
      // An item whose last unit Joules shows (the last-unit rule picks one channel per item).
      const sku = sandboxCatalogue({ size: 250 })
        .map((c) => c.sku)
        .filter((c) => c.startsWith('SCARF') && lastUnitsChannel(c, ['asos', 'joules']) === 'joules')[gateway ? 0 : 1]!;
      await stack.control.put('/control/peoplevox/test-client/stock', { items: [{ itemCode: sku, available: 1 }] });
      await shows('joules', sku, 1, 'Joules shows the one unit');
      const before = await health('joules');

      const orderId = `${stack.idPrefix}-ALLOC-${gateway ? 'G' : 'S'}`;
      await stack.control.post('/control/mirakl/asos/orders', {
        orderId,
        lines: [{ offerSku: sku, quantity: 3 }],
      });
      // ASOS accepts and backorders (its default out-of-stock policy); the warehouse order allocates all 3.
      await eventually(
        async () => {
          const { data } = await stack.control.get('/control/peoplevox/test-client/orders');
          return (data as { orders: Array<{ salesOrderNumber: string }> }).orders.find(
            (o) => o.salesOrderNumber === `ASOS-${orderId}`,
          );
        },
        60_000,
        'the Peoplevox sales order',
      );
      // Every channel's reservation of the order is gone: 1 unit by the warehouse's decrease, the 2 it could not
      // cover by the first figure after the warehouse order was saved.
      for (const ch of ['asos', 'joules'])
        await eventually(
          async () => {
            const h = await health(ch);
            return h.reservations.units === 0 &&
              h.reservations.received > (ch === 'joules' ? before.reservations.received : 0)
              ? h
              : undefined;
          },
          30_000,
          `${ch}'s reservation of the order released`,
        );
      const after = await health('joules');
      assert.ok(
        (after.reservationsReleased['allocated-figure'] ?? 0) -
          (before.reservationsReleased['allocated-figure'] ?? 0) >=
          2,
        `the 2 backordered units released by a figure after the warehouse order: ${JSON.stringify(after.reservationsReleased)}`,
      );

      // Goods in: the warehouse now has 3 to sell beyond the backorder. Every unit of it shows on Joules (a
      // reservation still held would keep 2 of them back).
      await stack.control.put('/control/peoplevox/test-client/stock', { items: [{ itemCode: sku, available: 3 }] });
      await shows('joules', sku, 3, 'Joules shows all 3 restocked units');
    });
  });
