// Reservations from order intake (src/inventory/ledger.ts): an order line seen by the intake comes off
// every channel's available-to-sell at once, and is released exactly once — by the warehouse's allocation
// showing in the master's figures, by the warehouse-order-sent rule, by a cancellation/refusal, or by the
// TTL — so it is never counted twice. Pure; the inventory-sync test sends the same signal end to end.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyEvents,
  applyReservations,
  emptyLedger,
  expireReservations,
  markSent,
  markUnlisted,
  nextBatch,
  reconcile,
  relist,
  suspectFullRead,
  unlistedBefore,
  reservationCount,
  reservedUnits,
  targetQuantity,
  type Ledger,
  type LedgerSettings,
} from '../../src/inventory/ledger';
import {
  changesForChannel,
  reservationChangesFor,
  reservationKey,
  resolvedReservationChanges,
} from '../../src/inventory/reservations';
import { channelSellsItem, createChannelListing } from '../../src/inventory/listing';
import { ConfigSchema } from '../../src/config/schema';
import { intakeHoldUntil } from '../../src/inventory/targets';
import type { MarketplaceOrder } from '../../src/domain/order';

const settings = (over: Partial<LedgerSettings> = {}): LedgerSettings => ({
  buffer: { kind: 'units', units: 0 },
  skuBuffers: {},
  velocity: { enabled: false, halfLifeMs: 300_000, maxUnits: 10, horizonMs: 60_000 },
  offerSkusByItem: {},
  reservations: { ttlMs: 3_600_000, max: 100 },
  ...over,
});
const reserve = (key: string, itemCode: string, quantity: number, at: number) =>
  ({ op: 'reserve', key, itemCode, quantity, at }) as const;
const shown = (l: Ledger, s: LedgerSettings, sku: string, now = 0) => targetQuantity(l, s, sku, sku, now);

function primed(s: LedgerSettings, stock: Record<string, number>): Ledger {
  const l = emptyLedger();
  applyEvents(
    l,
    s,
    Object.entries(stock).map(([k, v]) => [k, v, 0]),
    0,
  );
  markSent(l, nextBatch(l, 1000));
  return l;
}

describe('reservations from order intake', () => {
  test('a reserved line comes off the available-to-sell at once and makes the SKU pending', () => {
    const s = settings();
    const l = primed(s, { A: 5 });
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 100)], 100);
    assert.equal(shown(l, s, 'A'), 3);
    assert.deepEqual(
      nextBatch(l, 10).map((r) => [r.offerSku, r.quantity]),
      [['A', 3]],
    );
  });

  test('a re-polled order is not reserved twice, even after its reservation was released', () => {
    const s = settings();
    const l = primed(s, { A: 5 });
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 100)], 100);
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 150)], 150);
    assert.equal(reservedUnits(l, 'A'), 2);
    applyEvents(l, s, [['A', 3, 200]], 200); // allocated
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 250)], 250);
    assert.equal(reservedUnits(l, 'A'), 0);
    assert.equal(shown(l, s, 'A'), 3);
  });

  test("the warehouse's allocation (the master's decrease) releases it, so the units are not counted twice", () => {
    const s = settings();
    const l = primed(s, { A: 5 });
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 100), reserve('joules:O2:1', 'A', 1, 110)], 110);
    assert.equal(shown(l, s, 'A'), 2);
    // Peoplevox allocates O1 at SaveData: available 5 → 3. O1's 2 units are consumed; O2's unit stays.
    applyEvents(l, s, [['A', 3, 200]], 200);
    assert.equal(reservedUnits(l, 'A'), 1);
    assert.equal(shown(l, s, 'A'), 2);
    applyEvents(l, s, [['A', 2, 300]], 300);
    assert.equal(reservedUnits(l, 'A'), 0);
    assert.equal(shown(l, s, 'A'), 2);
    assert.equal(l.released?.allocation, 3);
  });

  test('a decrease observed before the order was seen is not its allocation', () => {
    const s = settings();
    const l = primed(s, { A: 5 });
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 500)], 500);
    // An older callback (observed at 400, before the intake saw O1) arrives late: another sale.
    applyEvents(l, s, [['A', 4, 400]], 510);
    assert.equal(reservedUnits(l, 'A'), 2);
    assert.equal(shown(l, s, 'A'), 2);
  });

  test('a restock does not release a reservation; the reservation still holds its units', () => {
    const s = settings();
    const l = primed(s, { A: 1 });
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 1, 100)], 100);
    assert.equal(shown(l, s, 'A'), 0);
    applyEvents(l, s, [['A', 4, 200]], 200);
    assert.equal(reservedUnits(l, 'A'), 1);
    assert.equal(shown(l, s, 'A'), 3);
  });

  test('a short allocation (backorder): the first figure after the warehouse order was sent releases the rest', () => {
    const s = settings();
    const l = primed(s, { A: 1 });
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 3, 100)], 100);
    applyReservations(l, s, [{ op: 'allocated', key: 'asos:O1:1', at: 150 }], 150);
    assert.equal(reservedUnits(l, 'A'), 3, 'the figure the ledger holds (at 0) is older than the warehouse order');
    // Peoplevox allocated 3 of 1: available floors at 0, the shortfall is inside Peoplevox's figure.
    applyEvents(l, s, [['A', 0, 160]], 160);
    assert.equal(reservedUnits(l, 'A'), 0);
    // Goods-in of 5: Peoplevox shows what is left after the backorder (3); nothing is held back twice.
    applyEvents(l, s, [['A', 3, 300]], 300);
    assert.equal(shown(l, s, 'A'), 3);
    assert.equal(l.released?.allocation, 1);
    assert.equal(l.released?.['allocated-figure'], 2);
  });

  test('a full read after the warehouse order releases it too; a lost allocation callback is consumed by the read', () => {
    const s = settings();
    const l = primed(s, { A: 5, B: 5 });
    applyReservations(
      l,
      s,
      [
        reserve('asos:O1:1', 'A', 2, 100),
        reserve('asos:O1:2', 'B', 2, 100),
        { op: 'allocated', key: 'asos:O1:1', at: 120 },
      ],
      120,
    );
    // The read started at 130 sees both allocations (A 5→3, B 5→3); their callbacks were lost.
    reconcile(
      l,
      s,
      [
        ['A', 3],
        ['B', 3],
      ],
      130,
      140,
    );
    assert.equal(reservedUnits(l, 'A'), 0);
    assert.equal(reservedUnits(l, 'B'), 0);
    assert.equal(shown(l, s, 'B'), 3);
  });

  test('cancelled or refused before allocation: released, and the units show again', () => {
    const s = settings();
    const l = primed(s, { A: 5 });
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 100), reserve('joules:O2:1', 'A', 1, 100)], 100);
    applyReservations(l, s, [{ op: 'release', key: 'asos:O1:1', at: 200, reason: 'cancelled' }], 200);
    applyReservations(l, s, [{ op: 'release', key: 'joules:O2:1', at: 200, reason: 'refused' }], 200);
    applyReservations(l, s, [{ op: 'release', key: 'joules:UNKNOWN:1', at: 200, reason: 'refused' }], 200);
    assert.equal(shown(l, s, 'A'), 5);
    assert.deepEqual([l.released?.cancelled, l.released?.refused], [2, 1]);
  });

  test('bounded: past the TTL a reservation expires, and beyond the cap the oldest go first', () => {
    const s = settings({ reservations: { ttlMs: 1000, max: 3 } });
    const l = primed(s, { A: 50 });
    applyReservations(
      l,
      s,
      Array.from({ length: 5 }, (_, i) => reserve(`asos:O${i}:1`, 'A', 1, 100 + i)),
      105,
    );
    assert.equal(reservationCount(l).rows, 3);
    assert.equal(reservedUnits(l, 'A'), 3);
    expireReservations(l, s, 2000);
    assert.equal(reservationCount(l).rows, 0);
    assert.equal(reservationCount(l).keys, 0);
    assert.equal(l.released?.expired, 5);
  });

  test("a released reservation's key is kept for the intake's re-reads only; an outstanding one's for the TTL", () => {
    const s = settings({ reservations: { ttlMs: 3_600_000, max: 100, keepReleasedKeysMs: 60_000 } });
    const l = primed(s, { A: 10, B: 10 });
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 100), reserve('asos:O2:1', 'B', 1, 100)], 100);
    applyReservations(l, s, [{ op: 'release', key: 'asos:O1:1', at: 200, reason: 'cancelled' }], 200);
    // Within the window the released key still dedupes a re-read.
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 30_000)], 30_000);
    assert.equal(reservedUnits(l, 'A'), 0);
    assert.equal(reservationCount(l).keys, 2);
    // Past it the released key goes; the outstanding reservation and its key stay.
    expireReservations(l, s, 61_000);
    assert.equal(reservationCount(l).keys, 1);
    assert.equal(reservedUnits(l, 'B'), 1);
    expireReservations(l, s, 3_000_000);
    assert.equal(reservedUnits(l, 'B'), 1, 'still within the TTL');
    // A ledger from settings without the field keeps released keys for the whole TTL, as it did.
    const old = settings();
    const l2 = primed(old, { A: 10 });
    applyReservations(l2, old, [reserve('asos:O1:1', 'A', 2, 100)], 100);
    applyReservations(l2, old, [{ op: 'release', key: 'asos:O1:1', at: 200, reason: 'cancelled' }], 200);
    expireReservations(l2, old, 61_000);
    assert.equal(reservationCount(l2).keys, 1);
  });

  test('the ledger with reservations is plain data (continue-as-new carries it)', () => {
    const s = settings();
    const l = primed(s, { A: 5 });
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 2, 100)], 100);
    const copy = JSON.parse(JSON.stringify(l)) as Ledger;
    applyReservations(copy, s, [reserve('asos:O1:1', 'A', 2, 150)], 150);
    assert.equal(reservedUnits(copy, 'A'), 2);
    applyEvents(copy, s, [['A', 3, 200]], 200);
    assert.equal(reservedUnits(copy, 'A'), 0);
  });

  test('a ledger from before reservations (no reservation fields) still works', () => {
    const s = settings();
    const l = primed(s, { A: 5 });
    delete l.reservations;
    delete l.reservedKeys;
    delete l.released;
    applyEvents(l, s, [['A', 4, 100]], 100);
    applyReservations(l, s, [reserve('asos:O1:1', 'A', 1, 200)], 200);
    assert.equal(shown(l, s, 'A'), 3);
  });
});

const config = ConfigSchema.parse({
  systems: { peoplevox: { baseUrl: 'http://pvx', clientId: 'c', username: 'u', passwordEnv: 'P' } },
  channels: [
    {
      code: 'asos',
      label: 'ASOS',
      platform: 'mirakl',
      connection: { baseUrl: 'http://m', apiKeyEnv: 'K' },
      fulfilment: 'peoplevox',
      currency: 'GBP',
      skuMap: { 'ASOS-A': 'A' },
    },
  ],
});

describe('what the intake sends', () => {
  const order = (state: string, lines: Array<{ lineId: string; offerSku: string; quantity: number; state?: string }>) =>
    ({
      channel: 'asos',
      orderId: 'O1',
      state,
      lines: lines.map((x) => ({ ...x, state: x.state ?? state })),
    }) as unknown as MarketplaceOrder;

  test('lines waiting for acceptance or the debit are reserved under their item code; later states are not', () => {
    const o = order('WAITING_ACCEPTANCE', [
      { lineId: '1', offerSku: 'ASOS-A', quantity: 2 },
      { lineId: '2', offerSku: 'B', quantity: 1 },
    ]);
    assert.deepEqual(reservationChangesFor(config, o, 7), [
      { op: 'reserve', key: reservationKey('asos', 'O1', '1'), itemCode: 'A', quantity: 2, at: 7 },
      { op: 'reserve', key: 'asos:O1:2', itemCode: 'B', quantity: 1, at: 7 },
    ]);
    assert.equal(
      reservationChangesFor(config, order('WAITING_DEBIT', [{ lineId: '1', offerSku: 'B', quantity: 1 }]), 7).length,
      1,
    );
    assert.deepEqual(
      reservationChangesFor(config, order('SHIPPING', [{ lineId: '1', offerSku: 'B', quantity: 1 }]), 7),
      [],
    );
  });

  test('a refused or cancelled order, or line, releases', () => {
    assert.deepEqual(
      reservationChangesFor(config, order('CANCELED', [{ lineId: '1', offerSku: 'B', quantity: 1 }]), 9),
      [{ op: 'release', key: 'asos:O1:1', at: 9, reason: 'cancelled' }],
    );
    const partly = order('WAITING_DEBIT', [
      { lineId: '1', offerSku: 'B', quantity: 1, state: 'REFUSED' },
      { lineId: '2', offerSku: 'C', quantity: 1 },
    ]);
    assert.deepEqual(
      reservationChangesFor(config, partly, 9).map((c) => [c.op, c.key]),
      [
        ['release', 'asos:O1:1'],
        ['reserve', 'asos:O1:2'],
      ],
    );
  });
});

describe('SKUs after normalisation, and only where the channel sells them', () => {
  const order = (lines: Array<{ lineId: string; offerSku: string; quantity: number }>) =>
    ({
      channel: 'asos',
      orderId: 'O9',
      state: 'WAITING_ACCEPTANCE',
      lines: lines.map((x) => ({ ...x, state: 'WAITING_ACCEPTANCE' })),
    }) as unknown as MarketplaceOrder;
  // The warehouse's item codes, resolved as the order path does (case and spaces ignored).
  const warehouse = ['A', 'B', 'TEE-RED-M'];
  const itemCodes = {
    resolve: async (code: string) => warehouse.find((w) => w === code.trim().toUpperCase()),
  };

  test('an offer SKU that needed trimming reserves the warehouse item; one the warehouse lacks reserves nothing', async () => {
    const changes = await resolvedReservationChanges(
      config,
      order([
        { lineId: '1', offerSku: ' tee-red-m ', quantity: 1 },
        { lineId: '2', offerSku: 'TEE-RED-MM', quantity: 2 },
        { lineId: '3', offerSku: 'ASOS-A', quantity: 1 },
      ]),
      5,
      itemCodes,
    );
    assert.deepEqual(changes, [
      { op: 'reserve', key: 'asos:O9:1', itemCode: 'TEE-RED-M', quantity: 1, at: 5 },
      { op: 'reserve', key: 'asos:O9:3', itemCode: 'A', quantity: 1, at: 5 },
    ]);
  });

  test('a channel gets a reserve only for items one of its listed offer SKUs feeds; releases go to all', async () => {
    const listing = createChannelListing(async () => ['B', 'JOULES-A']);
    // Joules sells item A as offer JOULES-A (skuMap), B as itself; it lists no offer for C.
    const joules = { ...config, channels: config.channels.map((c) => ({ ...c, skuMap: { 'JOULES-A': 'A' } })) };
    assert.equal(await channelSellsItem(listing, { 'JOULES-A': 'A' }, 'A'), true);
    assert.equal(await channelSellsItem(listing, {}, 'C'), false);
    assert.equal(await channelSellsItem(undefined, {}, 'C'), true, 'no list: as before');
    const out = await changesForChannel(
      joules,
      'asos',
      [
        reserve('asos:O1:1', 'A', 1, 1),
        reserve('asos:O1:2', 'C', 1, 1),
        { op: 'release', key: 'asos:O2:1', at: 1, reason: 'cancelled' },
      ],
      listing,
    );
    assert.deepEqual(
      out.map((c) => [c.op, c.key]),
      [
        ['reserve', 'asos:O1:1'],
        ['release', 'asos:O2:1'],
      ],
    );
  });

  test('the offer list: a slow first read or a failed one counts as unknown (push as before), without a storm of reads', async () => {
    let clock = 0;
    let reads = 0;
    let release: () => void = () => undefined;
    const slow = createChannelListing(
      () => {
        reads++;
        return new Promise<string[]>((r) => (release = () => r(['A'])));
      },
      { firstReadWaitMs: 20, missRefreshMs: 1000, now: () => clock },
    );
    assert.equal(await slow.lists('A'), undefined, 'not read in time: unknown');
    assert.equal(await slow.lists('B'), undefined);
    assert.equal(reads, 1, 'one read in flight, shared');
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(await slow.lists('A'), true);
    assert.equal(await slow.lists('B'), false);
    let failures = 0;
    const broken = createChannelListing(
      async () => {
        failures++;
        throw new Error('OF21 down');
      },
      { missRefreshMs: 1000, now: () => clock },
    );
    for (let i = 0; i < 50; i++) assert.equal(await broken.lists(`S${i}`), undefined);
    assert.equal(failures, 1, 'a failed read is not retried for every row');
    clock += 1001;
    await broken.lists('S');
    assert.equal(failures, 2, 'retried after missRefreshMs');
  });

  test('an unlisted SKU leaves the queue, is never pushed or reserved for, and returns once the channel lists it', () => {
    const s = settings();
    const l = primed(s, { A: 5, GHOST: 3 });
    markUnlisted(l, ['GHOST'], 10);
    applyEvents(l, s, [['GHOST', 9, 20]], 20);
    assert.deepEqual(nextBatch(l, 10), [], 'a change to an unlisted SKU queues nothing');
    applyReservations(l, s, [reserve('asos:O5:1', 'GHOST', 2, 30)], 30);
    assert.equal(reservationCount(l).rows, 0, 'no reservation row on a channel that does not sell it');
    assert.deepEqual(unlistedBefore(l, 11, 10), ['GHOST']);
    relist(l, s, ['GHOST'], [], 40);
    assert.deepEqual(unlistedBefore(l, 11, 10), [], 'still unlisted: asked again later');
    relist(l, s, ['GHOST'], ['GHOST'], 50);
    assert.deepEqual(
      nextBatch(l, 10).map((r) => [r.offerSku, r.quantity]),
      [['GHOST', 9]],
    );
  });
});

describe('a full read where most figures suddenly drop to zero', () => {
  const guard = { zeroFraction: 0.5, minItems: 4 };
  const stock = { A: 5, B: 3, C: 8, D: 2, E: 1 };
  test('is suspect when most items known in stock read 0; a normal read, a small catalogue or no guard is not', () => {
    const s = settings();
    const l = primed(s, stock);
    const zeroes: Array<[string, number]> = [
      ['A', 0],
      ['B', 0],
      ['C', 0],
      ['D', 2],
      ['E', 1],
    ];
    assert.deepEqual(suspectFullRead(l, zeroes, guard), { inStock: 5, droppedToZero: 3 });
    assert.equal(suspectFullRead(l, zeroes, undefined), undefined, 'older settings: no guard');
    assert.equal(
      suspectFullRead(
        l,
        [
          ['A', 0],
          ['B', 2],
          ['C', 8],
          ['D', 2],
          ['E', 1],
        ],
        guard,
      ),
      undefined,
    );
    assert.equal(
      suspectFullRead(
        primed(s, { A: 5, B: 1 }),
        [
          ['A', 0],
          ['B', 0],
        ],
        guard,
      ),
      undefined,
    );
    // Items already at 0 (the callbacks said so) are no sudden drop.
    const sold = primed(s, { A: 0, B: 0, C: 0, D: 4, E: 4 });
    assert.equal(suspectFullRead(sold, zeroes, guard), undefined);
  });
});

describe('aligning a push with the intake', () => {
  const every = { asos: 60_000, joules: 60_000 };
  test('a poll due within the hold: wait for it (plus grace); otherwise push now', () => {
    // ASOS polled at 0, Joules at 30 s. At 50 s the next poll (ASOS at 60 s) is 10 s away.
    assert.equal(intakeHoldUntil(50_000, { asos: 0, joules: 30_000 }, every, 15_000, 3_000), 63_000);
    // At 40 s the next (ASOS, 60 s) is 20 s away: more than the hold, push now.
    assert.equal(intakeHoldUntil(40_000, { asos: 0, joules: 30_000 }, every, 15_000, 3_000), undefined);
    // A missed poll: the rhythm continues (next expected at 120 s).
    assert.equal(intakeHoldUntil(110_000, { asos: 0 }, every, 15_000, 0), 120_000);
  });
  test('no rhythm known, or an intake silent for three intervals: no hold', () => {
    assert.equal(intakeHoldUntil(50_000, {}, every, 15_000, 0), undefined);
    assert.equal(intakeHoldUntil(250_000, { asos: 0 }, every, 15_000, 0), undefined);
    assert.equal(intakeHoldUntil(50_000, { marketplacer: 0 }, every, 15_000, 0), undefined);
  });
});
