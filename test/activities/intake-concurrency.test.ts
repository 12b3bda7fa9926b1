// The intake hands a page's orders over concurrently (activities/intake.ts, handOverConcurrently): at most
// HAND_OVER_CONCURRENCY at once, the records of one order one after another in the order read, and a failure is
// thrown only once every hand-over of the page has ended (a retry never overlaps the failed attempt's work).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { MiraklClient, type OrderRecord } from '../../src/connectors/mirakl/client';
import type { MiraklOrder } from '../../src/connectors/mirakl/schemas';
import { startSandbox } from '../../src/sandbox/server';
import { miraklSimulator } from '../../src/sandbox/mirakl';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import {
  HAND_OVER_CONCURRENCY,
  createIntakeActivities,
  handOverConcurrently,
  type PollResult,
} from '../../activities/intake';
import type { MarketplaceOrder } from '../../src/domain/order';
import { miraklTestChannel, miraklTestConfig } from '../support/mirakl-channel';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rec = (id: string, n = 0): OrderRecord => ({ order: { order_id: id, n } as unknown as MiraklOrder });
const idOf = (r: OrderRecord) => ('unreadable' in r ? r.unreadable.orderId : r.order.order_id);

test('a page is handed over with bounded concurrency, one order’s records in the order read', async () => {
  const records = [
    ...Array.from({ length: 20 }, (_, i) => rec(`O-${i}`)),
    rec('O-3', 1),
    rec('O-3', 2),
    { unreadable: { orderId: 'O-5', field: 'order_lines[0].price', problem: 'bad', fingerprint: 'f' } },
  ];
  let inFlight = 0;
  let maxInFlight = 0;
  const busy = new Set<string>();
  const done: string[] = [];
  await handOverConcurrently(records, async (r) => {
    const id = idOf(r)!;
    assert.ok(!busy.has(id), `${id} handed over twice at once`);
    busy.add(id);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await tick(5);
    inFlight -= 1;
    busy.delete(id);
    done.push('unreadable' in r ? `${id}:unreadable` : `${id}:${(r.order as unknown as { n: number }).n}`);
  });
  assert.equal(done.length, records.length);
  assert.ok(maxInFlight > 1, 'handed over concurrently');
  assert.ok(maxInFlight <= HAND_OVER_CONCURRENCY, `at most ${HAND_OVER_CONCURRENCY} at once (${maxInFlight})`);
  assert.deepEqual(
    done.filter((d) => d.startsWith('O-3:')),
    ['O-3:0', 'O-3:1', 'O-3:2'],
  );
  assert.ok(done.indexOf('O-5:unreadable') > done.indexOf('O-5:0'));
});

test('a failed hand-over is thrown after every other hand-over of the page has ended', async () => {
  const records = Array.from({ length: 12 }, (_, i) => rec(`F-${i}`));
  const ended: string[] = [];
  await assert.rejects(
    handOverConcurrently(records, async (r) => {
      const id = idOf(r)!;
      await tick(id === 'F-0' ? 1 : 10);
      if (id === 'F-0') throw new Error('signal failed for F-0');
      ended.push(id);
    }),
    /F-0/,
  );
  assert.equal(ended.length, 11, 'the others ran to their end before the failure was thrown');
});

test('a poll hands its page over concurrently and heartbeats the page once it is all handed over', async () => {
  const log = pino({ level: 'silent' });
  const catalogue = sandboxCatalogue({ size: 5 });
  const sim = miraklSimulator({ channels: [miraklTestChannel(catalogue, { updateDateDeltaMs: 0 })] });
  const sandbox = await startSandbox({ log, port: 0, enforceRateLimits: false }, [sim]);
  try {
    const shop = sim.shops.get('asos')!;
    for (let i = 0; i < 30; i++)
      shop.createOrder({ orderId: `PC-${i}-A`, lines: [{ offerSku: catalogue[0]!.sku, quantity: 1 }] });
    let inFlight = 0;
    let maxInFlight = 0;
    const handed: string[] = [];
    const client = {
      workflow: {
        async signalWithStart(_type: string, opts: { signalArgs: [MarketplaceOrder] }) {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await tick(5);
          inFlight -= 1;
          handed.push(opts.signalArgs[0].orderId);
        },
      },
    } as unknown as Client;
    const acts = createIntakeActivities({
      config: miraklTestConfig(sandbox.url, '    intake: { pageSize: 20 }'),
      client,
      mirakl: () => new MiraklClient({ baseUrl: `${sandbox.url}/mirakl/asos`, apiKey: 'k', timeoutMs: 5_000 }),
      alerts: { raise: async () => undefined } as never,
      log,
    });
    const env = new MockActivityEnvironment();
    const beats: number[] = [];
    env.on('heartbeat', (d: unknown) => beats.push((d as { offset: number }).offset));
    const r: PollResult = await env.run(acts.pollChannelOrders, { channel: 'asos' });
    assert.equal(r.seen, 30);
    assert.equal(new Set(handed).size, 30);
    assert.ok(maxInFlight > 1 && maxInFlight <= HAND_OVER_CONCURRENCY, `in flight at most ${maxInFlight}`);
    assert.deepEqual(beats, [20, 30], 'one heartbeat a page, after the page');
  } finally {
    await sandbox.close();
  }
});
