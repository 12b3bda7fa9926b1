// The last units of a SKU at rest (inventory.lastUnits.atRest: everyChannel) and the sales a merchant expects of a
// sale's lines (inventory.velocityBuffer.expectedUnitsPerHour), through the stack: Peoplevox's figures and callbacks,
// the inventory workflows on a real Temporal server, and what the Mirakl simulators show.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { shownQuantity } from './support';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { lastUnitsChannel } from '../../src/inventory/buffers';

let env: TestWorkflowEnvironment;
let stack: Stack;

// Items whose last units go to Joules when the rule applies: ASOS then shows 0.
const [AT_REST, SALE_LINE] = sandboxCatalogue({ size: 250 })
  .map((c) => c.sku)
  .filter((c) => c.startsWith('TEE') && lastUnitsChannel(c, ['asos', 'joules']) === 'joules');

const shown = (channel: string, offerSku: string): Promise<number> => shownQuantity(stack, channel, offerSku);

async function shows(
  figures: Record<'asos' | 'joules', number>,
  offerSku: string,
  what: string,
  ms = 30_000,
): Promise<void> {
  await eventually(
    async () => {
      const now = { asos: await shown('asos', offerSku), joules: await shown('joules', offerSku) };
      return now.asos === figures.asos && now.joules === figures.joules ? now : undefined;
    },
    ms,
    `${what} (${offerSku}: ASOS ${figures.asos}, Joules ${figures.joules})`,
  );
}

describe('the last units of a SKU at rest on every channel; a sale line and a selling SKU on one', () => {
  before(async () => {
    env = await startTestEnv();
    stack = await startStack(env, {
      stockEvents: true,
      inventory: {
        // A full read every 2 simulated minutes (2 s here) re-judges every item as its sales rate decays.
        fullReadMinutes: 2,
        lastUnits: { atRest: 'everyChannel' },
        // Sales stop counting faster (a 2-minute half-life, 2 s here): setting a test's figure takes units off, which
        // counts as sales (up to 44 units: at rest again after about 23 simulated minutes), and one sale leaves the
        // SKU selling for about 12 simulated minutes (12 s here, time enough to see it under load), not 24.
        velocityBuffer: { halfLifeSeconds: 120, expectedUnitsPerHour: { [SALE_LINE!]: 20 } },
      },
    });
  });
  after(async () => {
    await stack?.stop();
    await env?.teardown();
  });

  test('2 units of a SKU nobody is buying show on both channels; 2 of a sale line on its one channel', async () => {
    // Down from the catalogue's figure: the units taken off count as sales until they have decayed (up to 23 s).
    await stack.control.put('/control/peoplevox/test-client/stock', {
      items: [
        { itemCode: AT_REST, available: 2 },
        { itemCode: SALE_LINE, available: 2 },
      ],
    });
    await shows({ asos: 2, joules: 2 }, AT_REST!, 'the SKU at rest on every channel', 60_000);
    await shows({ asos: 0, joules: 2 }, SALE_LINE!, 'the sale line on its last-units channel only');
    // Its own figure's drop has decayed too by now (within about 6 s of the other's, whatever the two drops were), so
    // only the expected sales keep it on one channel: still so after 9 s more, with full reads every 2 s between.
    await new Promise((r) => setTimeout(r, 9_000));
    assert.deepEqual(
      { asos: await shown('asos', SALE_LINE!), joules: await shown('joules', SALE_LINE!) },
      { asos: 0, joules: 2 },
      'the sale line stays on one channel',
    );
  });

  test('a sale leaves the last unit to one channel; once the sales have stopped for a while, it shows on both again', async () => {
    await shows({ asos: 2, joules: 2 }, AT_REST!, 'the SKU at rest');
    // One sold at the warehouse: the decrease is a sale, and another may follow before every channel can reflect it.
    await stack.control.put('/control/peoplevox/test-client/stock', { items: [{ itemCode: AT_REST, available: 1 }] });
    await shows({ asos: 0, joules: 1 }, AT_REST!, 'the last unit on one channel while the SKU sells');
    // One sale decays below a 1 % chance of another within the two-minute horizon after about 12 simulated minutes.
    await shows({ asos: 1, joules: 1 }, AT_REST!, 'the last unit on both channels again', 60_000);
  });
});
