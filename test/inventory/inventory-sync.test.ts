// Stock sync end to end through the simulators: Peoplevox changes → AvailabilityChanges callbacks →
// the per-channel inventory workflow (real Temporal server) → STO01 on the Mirakl simulators.
// Assertions are on what the simulators hold and log, not on Loopline's own word.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import {
  startChannelInventory,
  startInventoryStack,
  stockHistory,
  shownQuantity,
  setWarehouseStock,
  type InventoryStack,
} from './support';
import { CallLog, type CallRecord } from '../../src/sandbox/core/call-log';
import { MIRAKL_RATE_LIMITS } from '../../src/sandbox/mirakl/simulator';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { lastUnitsChannel } from '../../src/inventory/buffers';
import {
  confirmFullReadUpdate,
  fullReadSignal,
  healthQuery,
  retrySkuUpdate,
  type InventoryHealth,
} from '../../workflows/inventory';
import { createInventoryActivities } from '../../activities/inventory';
import {
  reservationChangesFor,
  resolvedReservationChanges,
  signalReservations,
} from '../../src/inventory/reservations';
import { createItemCodeDirectory } from '../../activities/item-codes';
import type { MarketplaceOrder } from '../../src/domain/order';

let env: TestWorkflowEnvironment;
let stack: InventoryStack;
const SKUS = sandboxCatalogue({ size: 40 }).map((c) => c.sku);
/** Items Joules has no offer for (the warehouse holds them; ASOS sells them). */
const NOT_ON_JOULES = [SKUS[36]!, SKUS[37]!];

before(async () => {
  env = await startTestEnv();
  stack = await startInventoryStack(env, {
    catalogueSize: 40,
    channelYaml: {
      asos: `    inventory:
      buffer: { kind: units, units: 1 }
      skuBuffers: { ${SKUS[5]}: { kind: zeroBelow, threshold: 5 } }
      velocityBuffer: { enabled: false }
      fullReadMinutes: 5
      syncAgeAlertMinutes: 2`,
      joules: `    skuMap: { GHOST-OFFER: ${SKUS[39]} }
    acceptance: { outOfStock: refuse-line }
    inventory:
      maxRowsPerPush: 10
      velocityBuffer: { enabled: false }
      fullReadMinutes: 5
      syncAgeAlertMinutes: 2`,
    },
  });
  // Joules does not list every warehouse item, as real marketplaces do not.
  const { data: joulesOffers } = await stack.control.get('/control/mirakl/joules/offers');
  await stack.control.put('/control/mirakl/joules/catalogue', {
    offers: (joulesOffers as { offers: Array<{ offerSku: string; quantity: number }> }).offers
      .filter((o) => !NOT_ON_JOULES.includes(o.offerSku))
      .map((o) => ({ offerSku: o.offerSku, quantity: o.quantity })),
  });
  // ASOS's workflow continues-as-new every few hundred history events, so every test below also runs
  // across continue-as-new.
  await startChannelInventory(env, stack, 'asos', { maxHistoryEvents: 300 });
  // Joules renews by the size of its history (a few tens of kilobytes here; a megabyte by default).
  await startChannelInventory(env, stack, 'joules', { maxHistoryBytes: 60_000 });
  // The first full read sends every SKU once (Joules: 10 a push, so four windows).
  for (const ch of ['asos', 'joules']) {
    await eventually(
      async () => (await health(ch)).pushes > 0 && (await health(ch)).pendingCount === 0,
      30_000,
      `${ch} initial sync`,
    );
  }
});
after(async () => {
  for (const ch of ['asos', 'joules']) {
    const h = env.client.workflow.getHandle(inventoryWorkflowId(ch, stack.config.temporal.idScope));
    await maybeRecordHistory(h, `inventoryWorkflow-v3-${ch}`).catch(() => undefined);
    await h.terminate('test over').catch(() => undefined);
  }
  await stack?.stop();
  await env?.teardown();
});

function health(channel: string): Promise<InventoryHealth> {
  return env.client.workflow.getHandle(inventoryWorkflowId(channel, stack.config.temporal.idScope)).query(healthQuery);
}

async function warehouseAvailable(itemCode: string): Promise<number> {
  const { data } = await stack.control.get('/control/peoplevox/test-client/items');
  return (data as { items: Array<{ itemCode: string; available: number }> }).items.find((i) => i.itemCode === itemCode)!
    .available;
}

async function shows(channel: string, sku: string, quantity: number, what = `${channel} shows ${quantity} of ${sku}`) {
  await eventually(async () => (await shownQuantity(stack, channel, sku)) === quantity, 15_000, what);
}

function miraklCalls(tenant: string, endpoint?: string): CallRecord[] {
  return stack.sandbox.ctx.calls.list({ system: 'mirakl', tenant, endpoint });
}

describe('available-to-sell per channel', () => {
  test('a fixed buffer of 1 on ASOS and none on Joules: 7 in the warehouse shows 6 and 7', async () => {
    await setWarehouseStock(stack, [{ itemCode: SKUS[1]!, available: 7 }]);
    await shows('asos', SKUS[1]!, 6);
    await shows('joules', SKUS[1]!, 7);
    await setWarehouseStock(stack, [{ itemCode: SKUS[1]!, available: 1 }]);
    await shows('asos', SKUS[1]!, 0, 'the buffer floors ASOS at 0');
    await shows('joules', SKUS[1]!, 1);
  });

  test('a per-SKU "show 0 below 5" override hides the last 4 units on ASOS only', async () => {
    await setWarehouseStock(stack, [{ itemCode: SKUS[5]!, available: 4 }]);
    await shows('asos', SKUS[5]!, 0);
    await shows('joules', SKUS[5]!, 4);
    await setWarehouseStock(stack, [{ itemCode: SKUS[5]!, available: 9 }]);
    await shows('asos', SKUS[5]!, 9);
  });
});

describe('the last units of a shared SKU on one channel', () => {
  test('at 2 units only the channel chosen for the SKU shows it, all of its units; at 3 both do again', async () => {
    // SKUS[34]'s last units belong to ASOS, SKUS[35]'s to Joules (FNV-1a of the item code, pinned in ledger.test.ts).
    // The default rule: fewer than 3 units a channel could show (after its buffer; no velocity buffer in this file).
    const [toAsos, toJoules] = [SKUS[34]!, SKUS[35]!];
    assert.equal(lastUnitsChannel(toAsos, ['asos', 'joules']), 'asos');
    assert.equal(lastUnitsChannel(toJoules, ['asos', 'joules']), 'joules');
    await setWarehouseStock(stack, [
      { itemCode: toAsos, available: 2 },
      { itemCode: toJoules, available: 2 },
    ]);
    await shows('joules', toJoules, 2);
    await shows('joules', toAsos, 0, 'Joules hides the last units that ASOS holds');
    // ASOS holds them, less its fixed buffer of 1: the rule never shows a unit on two channels.
    await shows('asos', toAsos, 1);
    await shows('asos', toJoules, 0);
    // 3: Joules shows them all again; ASOS (2 after its buffer, still its last units) keeps showing what it may.
    await setWarehouseStock(stack, [{ itemCode: toAsos, available: 3 }]);
    await shows('joules', toAsos, 3);
    await shows('asos', toAsos, 2);
  });
});

describe('reservations from order intake', () => {
  test('an ASOS order seen by the intake comes off Joules at once; the allocation releases it once', async () => {
    const sku = SKUS[7]!;
    await setWarehouseStock(stack, [{ itemCode: sku, available: 6 }]);
    await shows('asos', sku, 5);
    await shows('joules', sku, 6);
    const order = {
      channel: 'asos',
      orderId: `RES-${Date.now()}`,
      state: 'WAITING_ACCEPTANCE',
      lines: [{ lineId: '1', offerSku: sku, quantity: 2, state: 'WAITING_ACCEPTANCE' }],
    } as unknown as MarketplaceOrder;
    const seen = reservationChangesFor(stack.config, order, Date.now());
    await signalReservations(env.client, stack.config, seen);
    // Re-polled: the same order again changes nothing.
    await signalReservations(env.client, stack.config, reservationChangesFor(stack.config, order, Date.now()));
    await shows('joules', sku, 4, 'Joules stops showing the 2 units ASOS sold');
    await shows('asos', sku, 3);
    for (const ch of ['asos', 'joules']) assert.equal((await health(ch)).reservations.units, 2, ch);
    // The warehouse allocates the order (Peoplevox SaveData): available 6 → 4. Not counted twice.
    await setWarehouseStock(stack, [{ itemCode: sku, available: 4 }]);
    for (const ch of ['asos', 'joules']) {
      await eventually(async () => (await health(ch)).reservations.units === 0, 15_000, `${ch} released`);
    }
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await shownQuantity(stack, 'joules', sku), 4);
    assert.equal(await shownQuantity(stack, 'asos', sku), 3);
  });

  test('a cancelled order releases its reservation and the units show again', async () => {
    const sku = SKUS[8]!;
    // Above the last-unit rule's threshold on both channels throughout.
    await setWarehouseStock(stack, [{ itemCode: sku, available: 5 }]);
    await shows('joules', sku, 5);
    const order = {
      channel: 'joules',
      orderId: `RES-C-${Date.now()}`,
      state: 'WAITING_DEBIT',
      lines: [{ lineId: '1', offerSku: sku, quantity: 1, state: 'WAITING_DEBIT' }],
    } as unknown as MarketplaceOrder;
    await signalReservations(env.client, stack.config, reservationChangesFor(stack.config, order, Date.now()));
    await shows('joules', sku, 4);
    await shows('asos', sku, 3);
    const cancelled = {
      ...order,
      state: 'CANCELED',
      lines: [{ ...order.lines[0]!, state: 'CANCELED' }],
    } as unknown as MarketplaceOrder;
    await signalReservations(env.client, stack.config, reservationChangesFor(stack.config, cancelled, Date.now()));
    await shows('joules', sku, 5, 'the cancelled unit shows again');
    await shows('asos', sku, 4);
    assert.ok((await health('joules')).reservationsReleased.cancelled! >= 1);
  });
});

describe('reservations use the SKU the warehouse knows, only where the channel sells it', () => {
  const itemCodes = () => createItemCodeDirectory(() => stack.runtime.peoplevox.listItemCodes());
  const send = async (order: MarketplaceOrder) =>
    signalReservations(
      env.client,
      stack.config,
      await resolvedReservationChanges(stack.config, order, Date.now(), itemCodes()),
      undefined,
      { listing: (ch) => stack.runtime.listing(ch) },
    );
  const asosOrder = (id: string, offerSku: string, quantity: number) =>
    ({
      channel: 'asos',
      orderId: `${id}-${Date.now()}`,
      state: 'WAITING_ACCEPTANCE',
      lines: [{ lineId: '1', offerSku, quantity, state: 'WAITING_ACCEPTANCE' }],
    }) as unknown as MarketplaceOrder;

  test('an offer SKU sent in lower case with spaces reserves the warehouse item on both channels, pushed under its real SKU', async () => {
    const sku = SKUS[9]!;
    await setWarehouseStock(stack, [{ itemCode: sku, available: 10 }]);
    await shows('joules', sku, 10);
    await send(asosOrder('NORM', `  ${sku.toLowerCase()} `, 3));
    await shows('joules', sku, 7, 'Joules stops showing the 3 units ASOS sold');
    await shows('asos', sku, 6);
    for (const ch of ['asos', 'joules']) {
      const raw = (await stockHistory(stack, ch)).filter(
        (h) => h.offerSku !== sku && h.offerSku.toUpperCase().trim() === sku,
      );
      assert.deepEqual(raw, [], `${ch}: no STO01 row under the raw spelling`);
    }
  });

  test('a mistyped SKU no item has reserves nothing anywhere and is pushed nowhere', async () => {
    const before = { asos: (await health('asos')).reservations, joules: (await health('joules')).reservations };
    const sent = await send(asosOrder('TYPO', 'TEE-RED-MMX', 2));
    assert.equal(sent.signals, 0, 'no channel was told anything');
    await new Promise((r) => setTimeout(r, 1500));
    for (const ch of ['asos', 'joules'] as const) {
      assert.deepEqual((await health(ch)).reservations, before[ch], `${ch}: no reservation`);
      assert.deepEqual(await stockHistory(stack, ch, 'TEE-RED-MMX'), [], `${ch}: no STO01 row`);
    }
  });

  test('an ASOS order for an item Joules does not list reserves on ASOS only: no Joules row, no Joules STO01', async () => {
    const sku = NOT_ON_JOULES[1]!;
    await setWarehouseStock(stack, [{ itemCode: sku, available: 6 }]);
    await shows('asos', sku, 5);
    const joulesBefore = (await health('joules')).reservations;
    await send(asosOrder('NOJOULES', sku, 2));
    await shows('asos', sku, 3, 'ASOS shows the 2 units fewer');
    assert.equal((await health('asos')).reservations.units >= 2, true);
    const joulesAfter = (await health('joules')).reservations;
    assert.equal(joulesAfter.rows, joulesBefore.rows, 'Joules keeps no row for an item it does not sell');
    assert.equal(joulesAfter.received, joulesBefore.received, 'and was not even told');
    assert.deepEqual(await stockHistory(stack, 'joules', sku), []);
  });
});

describe('pushing within the once-a-minute limit', () => {
  test('ten changes to one SKU inside a window reach the marketplace as one STO01 row with the latest value', async () => {
    const sku = SKUS[2]!;
    const before = (await stockHistory(stack, 'joules', sku)).length;
    for (let q = 10; q >= 1; q--) await setWarehouseStock(stack, [{ itemCode: sku, available: q }]);
    await shows('joules', sku, 1);
    await new Promise((r) => setTimeout(r, 2500)); // two more windows: nothing else may arrive
    const applied = (await stockHistory(stack, 'joules', sku)).slice(before).map((h) => h.quantity);
    assert.ok(applied.length <= 2, `applied ${JSON.stringify(applied)}: at most one push in flight plus the latest`);
    assert.equal(applied.at(-1), 1);
  });

  test('a burst across 20 SKUs for three windows costs one STO01 per window per shop', async () => {
    const from = Date.now();
    const seqBefore = miraklCalls('asos', 'STO01').length;
    for (let round = 0; round < 15; round++) {
      await setWarehouseStock(
        stack,
        SKUS.slice(10, 30).map((itemCode, i) => ({ itemCode, available: 20 + ((round * 7 + i) % 13) })),
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    const last = SKUS.slice(10, 30).map((_, i) => 20 + ((14 * 7 + i) % 13));
    for (const [i, itemCode] of SKUS.slice(10, 30).entries()) await shows('joules', itemCode, last[i]!);
    const secs = (Date.now() - from) / 1000;
    const sto01 = miraklCalls('asos', 'STO01').length - seqBefore;
    // One per 1-second window (time scale 60) at most, plus the one that may open the burst.
    assert.ok(sto01 <= Math.ceil(secs) + 1, `${sto01} STO01 calls in ${secs.toFixed(1)} s`);
  });

  test('when more SKUs wait than one push carries, sell-outs and restocks go first', async () => {
    // Joules pushes at most 10 rows at once. Put a restock candidate at 0 first.
    const restock = SKUS[31]!;
    const sellOut = SKUS[32]!;
    await setWarehouseStock(stack, [{ itemCode: restock, available: 0 }]);
    await shows('joules', restock, 0);
    // Right after a push the window is closed for a second: queue 12 small changes, a sell-out, a restock.
    const pushes = (await health('joules')).pushes;
    await setWarehouseStock(stack, [{ itemCode: SKUS[33]!, available: 3 }]);
    await eventually(async () => (await health('joules')).pushes > pushes, 10_000, 'a push');
    const small = SKUS.slice(10, 22).map((itemCode) => ({ itemCode, available: 50 }));
    await setWarehouseStock(stack, [
      ...small,
      { itemCode: sellOut, available: 0 },
      { itemCode: restock, available: 6 },
    ]);
    await shows('joules', sellOut, 0);
    const history = await stockHistory(stack, 'joules');
    const soImport = history.find((h) => h.offerSku === sellOut && h.quantity === 0 && h.source === 'STO01')!.importId;
    const first = history.filter((h) => h.importId === soImport).map((h) => h.offerSku);
    assert.ok(first.includes(restock), 'the restock went in the same push as the sell-out');
    assert.ok(first.length <= 10);
    assert.equal(first[0], sellOut, 'the sell-out is the first row of the file');
    for (const s of small) await shows('joules', s.itemCode, 50);
  });
});

describe('drift, rejections and health', () => {
  test('a lost callback is corrected by the scheduled full read, which reports the drift it found', async () => {
    const sku = SKUS[3]!;
    await setWarehouseStock(stack, [{ itemCode: sku, available: 12 }]);
    await shows('joules', sku, 12);
    const readsBefore = (await health('joules')).fullReads;
    // Peoplevox drops the next callback (no retries are documented): only a full read can notice.
    stack.sandbox.ctx
      .faults('peoplevox')
      .set([{ endpoint: 'callback:AvailabilityChanges', kind: 'error5xx', count: 1 }] as never);
    await setWarehouseStock(stack, [{ itemCode: sku, available: 4 }]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await shownQuantity(stack, 'joules', sku), 12, 'nothing told Joules yet');
    const h = await eventually(
      async () => {
        const x = await health('joules');
        return x.fullReads > readsBefore && x.lastDrift && x.lastDrift.drifted > 0 ? x : undefined;
      },
      15_000,
      'a full read that finds the drift',
    );
    assert.deepEqual(
      h.lastDrift!.examples.find((e) => e.itemCode === sku),
      { itemCode: sku, loopline: 12, master: 4 },
    );
    assert.ok(h.lastDrift!.units >= 8);
    await shows('joules', sku, 4, 'the drift is pushed');
    stack.sandbox.ctx.faults('peoplevox').clear();
  });

  test('a SKU the channel does not list is never pushed to it: no STO01 row, no rejection, counted unlisted', async () => {
    // GHOST-OFFER is a skuMap entry with no offer on Joules; SKUS[36..37] are warehouse items Joules lacks.
    const h = await eventually(
      async () => {
        const x = await health('joules');
        return x.unlisted.skus >= 3 ? x : undefined;
      },
      20_000,
      'the first push found the unlisted SKUs',
    );
    assert.equal(h.rejected.length, 0, 'nothing for the marketplace to reject');
    for (const sku of ['GHOST-OFFER', ...NOT_ON_JOULES]) {
      assert.deepEqual(await stockHistory(stack, 'joules', sku), [], `no STO01 row for ${sku} on Joules`);
    }
    assert.ok(!stack.alerts.recent().some((a) => a.reason === 'STOCK_SKU_REJECTED' && a.channel === 'joules'));
    // A later change to such an item still goes to ASOS, never to Joules.
    await setWarehouseStock(stack, [{ itemCode: NOT_ON_JOULES[0]!, available: 11 }]);
    await shows('asos', NOT_ON_JOULES[0]!, 10);
    assert.deepEqual(await stockHistory(stack, 'joules', NOT_ON_JOULES[0]!), []);
  });

  test('an offer removed on the marketplace since its list was read is rejected in the import report: merchandising', async () => {
    const sku = SKUS[38]!;
    await setWarehouseStock(stack, [{ itemCode: sku, available: 9 }]);
    await shows('joules', sku, 9);
    // The list was read just now; the offer disappears right after, before the next push.
    await stack.runtime.listing('joules').refresh();
    const { data } = await stack.control.get('/control/mirakl/joules/offers');
    await stack.control.put('/control/mirakl/joules/catalogue', {
      offers: (data as { offers: Array<{ offerSku: string; quantity: number }> }).offers
        .filter((o) => o.offerSku !== sku)
        .map((o) => ({ offerSku: o.offerSku, quantity: o.quantity })),
    });
    await setWarehouseStock(stack, [{ itemCode: sku, available: 8 }]);
    const h = await eventually(
      async () => {
        const x = await health('joules');
        return x.rejected.some((r) => r.offerSku === sku) ? x : undefined;
      },
      20_000,
      'the STO03 rejection',
    );
    assert.match(h.rejected.find((r) => r.offerSku === sku)!.message, /does not exist/);
    const alert = await eventually(
      () => stack.alerts.recent().find((a) => a.reason === 'STOCK_SKU_REJECTED' && a.message.includes(sku)),
      15_000,
      'the STOCK_SKU_REJECTED alert',
    );
    assert.equal(alert.owner, 'merchandising');
    assert.equal(alert.channel, 'joules');
    // Parked: later changes to the item do not push the rejected SKU again until someone retries it.
    const sto03 = miraklCalls('joules', 'STO03').length;
    assert.ok(sto03 >= 1);
    const retried = await env.client.workflow
      .getHandle(inventoryWorkflowId('joules', stack.config.temporal.idScope))
      .executeUpdate(retrySkuUpdate, { args: [sku] });
    assert.equal(retried, true);
  });

  test('while pushes fail, health shows the failures and sync age, and an alert fires past the threshold', async () => {
    const sku = SKUS[4]!;
    stack.sandbox.ctx.faults('mirakl').set([{ endpoint: 'STO01', kind: 'error5xx', count: 1000 }] as never);
    try {
      await setWarehouseStock(stack, [{ itemCode: sku, available: 2 }]);
      const h = await eventually(
        async () => {
          const x = await health('asos');
          return x.failedPushes > 0 && x.pendingCount > 0 ? x : undefined;
        },
        30_000,
        'a failed push',
      );
      assert.ok(h.oldestPendingMs > 0);
      assert.match(h.lastPushError ?? '', /503|STO01/);
      await eventually(
        () =>
          stack.alerts
            .recent()
            .find((a) => a.kind === 'sync' && a.channel === 'asos' && a.reason === 'STOCK_SYNC_STALE'),
        30_000,
        'the sync-age alert',
      );
    } finally {
      stack.sandbox.ctx.faults('mirakl').clear();
    }
    await shows('asos', sku, 1, 'pushed once the marketplace answers again');
    const after = await eventually(async () => {
      const x = await health('asos');
      return x.pendingCount === 0 ? x : undefined;
    });
    assert.ok(after.syncAgeMs < 5_000);
  });
});

describe('volume and durability', () => {
  test('10,000 stock events in well under a minute are absorbed as a few signals, across continue-as-new', async () => {
    const before = await health('asos');
    const items = SKUS.slice(0, 30);
    await eventually(async () => (await health('joules')).pendingCount === 0, 15_000, 'Joules settled');
    await new Promise((r) => setTimeout(r, 1500)); // the last push applied
    const showing: string[] = [];
    for (const sku of items) if ((await shownQuantity(stack, 'joules', sku)) > 0) showing.push(sku);
    assert.ok(showing.length >= 20, `${showing.length} items shown in stock on Joules`);
    const final = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const code = items[i % items.length]!;
      const q = 100 + ((i * 31) % 57);
      stack.batcher.add(code, q);
      final.set(code, q);
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    await stack.batcher.flush();
    const h = await eventually(
      async () => {
        const x = await health('asos');
        return x.eventsReceived - before.eventsReceived >= final.size ? x : undefined;
      },
      20_000,
      'events absorbed',
    );
    assert.ok(h.signals - before.signals < 100, `${h.signals - before.signals} signals for 10,000 events`);
    const known = await env.client.workflow
      .getHandle(inventoryWorkflowId('asos', stack.config.temporal.idScope))
      .query<Record<string, number>, [string[]]>('available', items);
    for (const [code, q] of final) assert.equal(known[code], q, code);
    for (const code of items.slice(0, 5)) await shows('asos', code, final.get(code)! - 1);
    assert.ok(h.runs >= 2, `continued as new (${h.runs} runs)`);
    const j = await health('joules');
    assert.ok(j.runs >= 2, `Joules continued as new by history size (${j.runs} runs, ${j.historyLength} events)`);
  });

  test('the acceptance check reads the inventory workflow: Joules refuses the line it cannot cover', async () => {
    const sku = SKUS[6]!;
    await setWarehouseStock(stack, [{ itemCode: sku, available: 1 }]);
    for (const ch of ['asos', 'joules']) {
      await eventually(async () => {
        const known = await env.client.workflow
          .getHandle(inventoryWorkflowId(ch, stack.config.temporal.idScope))
          .query<Record<string, number>, [string[]]>('available', [sku]);
        return known[sku] === 1;
      });
    }
    const acts = createInventoryActivities({
      config: stack.config,
      client: env.client,
      mirakl: stack.runtime.mirakl,
      peoplevox: stack.runtime.peoplevox,
      alerts: stack.alerts,
      log: stack.runtime.log,
    });
    const lines = [
      { lineId: 'L1', itemCode: sku, quantity: 1 },
      { lineId: 'L2', itemCode: sku, quantity: 1 },
    ];
    const joules = await acts.checkOrderStock({ channel: 'joules', lines });
    assert.deepEqual(
      joules.map((d) => [d.lineId, d.accepted]),
      [
        ['L1', true],
        ['L2', false],
      ],
    );
    const asos = await acts.checkOrderStock({ channel: 'asos', lines });
    assert.deepEqual(
      asos.map((d) => [d.lineId, d.accepted, d.backorder]),
      [
        ['L1', true, false],
        ['L2', true, true],
      ],
    );
    assert.equal(await warehouseAvailable(sku), 1);
  });

  test('no call ever exceeded a documented Mirakl limit, and the simulator never had to refuse one', () => {
    for (const tenant of ['asos', 'joules']) {
      for (const [endpoint, limit] of Object.entries(MIRAKL_RATE_LIMITS)) {
        const calls = miraklCalls(tenant, endpoint).filter((c) => !c.fault);
        const windowMs = limit.windowMs / stack.timeScale;
        const most = CallLog.maxInWindow(calls, windowMs);
        assert.ok(most <= limit.max, `${tenant} ${endpoint}: ${most} calls in ${windowMs} ms (max ${limit.max})`);
      }
      const refused = miraklCalls(tenant).filter((c) => c.rateLimited);
      assert.deepEqual(refused, [], `${tenant}: calls refused for exceeding a limit`);
      assert.equal(miraklCalls(tenant, 'OF24').length, 0, 'stock never goes through OF24');
    }
  });
});

describe('a full read where most figures suddenly drop to zero (runs last: it empties the warehouse)', () => {
  test('is held and alerted, never pushed as a sell-out; once confirmed the next read is applied', async () => {
    const items = SKUS.slice(0, 30);
    await eventually(async () => (await health('joules')).pendingCount === 0, 15_000, 'Joules settled');
    await new Promise((r) => setTimeout(r, 1500)); // the last push applied
    const showing: string[] = [];
    for (const sku of items) if ((await shownQuantity(stack, 'joules', sku)) > 0) showing.push(sku);
    assert.ok(showing.length >= 20, `${showing.length} items shown in stock on Joules`);
    // The warehouse's report goes wrong: most items read 0 and no callback says so.
    stack.sandbox.ctx
      .faults('peoplevox')
      .set([{ endpoint: 'callback:AvailabilityChanges', kind: 'error5xx', count: 1000 }] as never);
    try {
      await setWarehouseStock(
        stack,
        items.map((itemCode) => ({ itemCode, available: 0 })),
      );
      await env.client.workflow
        .getHandle(inventoryWorkflowId('joules', stack.config.temporal.idScope))
        .signal(fullReadSignal);
      const held = await eventually(
        async () => {
          const x = await health('joules');
          return x.heldRead ? x : undefined;
        },
        20_000,
        'the held read',
      );
      assert.ok(held.heldRead!.droppedToZero >= 20, JSON.stringify(held.heldRead));
      const alert = await eventually(
        () => stack.alerts.recent().find((a) => a.reason === 'STOCK_READ_HELD' && a.channel === 'joules'),
        10_000,
        'the STOCK_READ_HELD alert',
      );
      assert.equal(alert.owner, 'ops');
      await new Promise((r) => setTimeout(r, 2000));
      for (const sku of showing) {
        assert.ok((await shownQuantity(stack, 'joules', sku)) > 0, `no sell-out of ${sku} was pushed`);
      }
      // A person checked: the zeros are real.
      const wasHeld = await env.client.workflow
        .getHandle(inventoryWorkflowId('joules', stack.config.temporal.idScope))
        .executeUpdate(confirmFullReadUpdate);
      assert.equal(wasHeld, true);
      await shows('joules', items[0]!, 0, 'the confirmed read is applied');
      await eventually(async () => (await health('joules')).heldRead === undefined, 10_000, 'the hold cleared');
    } finally {
      stack.sandbox.ctx.faults('peoplevox').clear();
    }
  });
});
