// Regression: an order updated while a poll pages through OR11 can sit on a page already read. Its new
// last_updated_date is later than the poll's start, so the next poll must read from no later than that start.
// The watermark used to be the newest last_updated_date the poll saw: when another order was updated later
// still during the same poll, the next poll started past the first update, which was lost for good (found by
// the 1,000-order fault run: accepted orders that never learned they could ship). Also: the poll's re-reads of an
// order it handed over unchanged are not signalled again (activities/recent-hand-overs.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MockActivityEnvironment } from '@temporalio/testing';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { MiraklClient } from '../../src/connectors/mirakl/client';
import { startSandbox } from '../../src/sandbox/server';
import { miraklSimulator } from '../../src/sandbox/mirakl';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { createIntakeActivities, type PollResult } from '../../activities/intake';
import { RecentHandOvers } from '../../activities/recent-hand-overs';
import type { MarketplaceOrder } from '../../src/domain/order';
import { miraklTestChannel, miraklTestConfig } from '../support/mirakl-channel';
import { parseConfig } from '../../src/config/load';

/** One Mirakl channel in the simulator, an intake config for it, and the intake activities on a fake client. */
async function intakeSandbox(opts: { intake: string; updateDateDeltaMs?: number }) {
  const log = pino({ level: 'silent' });
  const sim = miraklSimulator({
    channels: [
      miraklTestChannel(sandboxCatalogue({ size: 5 }), {
        ...(opts.updateDateDeltaMs === undefined ? {} : { updateDateDeltaMs: opts.updateDateDeltaMs }),
      }),
    ],
  });
  const sandbox = await startSandbox({ log, port: 0, enforceRateLimits: false }, [sim]);
  const config = miraklTestConfig(sandbox.url, `    intake: ${opts.intake}`);
  const activities = (client: Client) =>
    createIntakeActivities({
      config,
      client,
      mirakl: () => new MiraklClient({ baseUrl: `${sandbox.url}/mirakl/asos`, apiKey: 'k', timeoutMs: 5_000 }),
      alerts: { raise: async () => undefined } as never,
      log,
    });
  return { sandbox, shop: sim.shops.get('asos')!, sku: sandboxCatalogue({ size: 5 })[0]!.sku, activities };
}

test('an update made during a poll to an order on a page already read is picked up by the next poll', async () => {
  // No server-side delta and no overlap of ours: the watermark alone decides what is read again.
  const { sandbox, shop, sku, activities } = await intakeSandbox({
    intake: '{ overlapSeconds: 0, pageSize: 1 }',
    updateDateDeltaMs: 0,
  });
  try {
    const ids = ['WM-1-A', 'WM-2-A', 'WM-3-A'];
    for (const orderId of ids) {
      shop.createOrder({ orderId, lines: [{ offerSku: sku, quantity: 1 }] });
      await new Promise((r) => setTimeout(r, 5));
    }
    const accept = (id: string) => shop.accept(id, { order_lines: [{ id: `${id}-1`, accepted: true }] });
    const seen: MarketplaceOrder[] = [];
    let duringPoll: (() => Promise<void>) | undefined;
    const client = {
      workflow: {
        async signalWithStart(_type: string, opts: { signalArgs: [MarketplaceOrder] }) {
          seen.push(opts.signalArgs[0]);
          const hook = duringPoll;
          duringPoll = undefined;
          await hook?.();
        },
      },
    } as unknown as Client;
    const acts = activities(client);
    const env = new MockActivityEnvironment();
    // A poll reads WM-1 (page 1), WM-2, WM-3. While it hands over WM-1, WM-1 is accepted, then WM-3 too.
    duringPoll = async () => {
      await new Promise((r) => setTimeout(r, 5));
      accept('WM-1-A');
      await new Promise((r) => setTimeout(r, 5));
      accept('WM-3-A');
    };
    const first: PollResult = await env.run(acts.pollChannelOrders, { channel: 'asos' });
    assert.equal(first.seen, 3);
    assert.ok(
      seen.some((o) => o.orderId === 'WM-3-A' && o.state === 'SHIPPING'),
      'the later update was read',
    );
    assert.ok(!seen.some((o) => o.orderId === 'WM-1-A' && o.state === 'SHIPPING'), 'page 1 was read before');

    seen.length = 0;
    await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    assert.ok(
      seen.some((o) => o.orderId === 'WM-1-A' && o.state === 'SHIPPING'),
      `the next poll reads WM-1's acceptance (watermark ${first.watermark})`,
    );
  } finally {
    await sandbox.close();
  }
});

test('a poll that fails part-way is resumed by the retry from the last order it handed over, not from page one', async () => {
  const { sandbox, shop, sku, activities } = await intakeSandbox({ intake: '{ pageSize: 2 }' });
  try {
    const ids = ['RS-1-A', 'RS-2-A', 'RS-3-A', 'RS-4-A', 'RS-5-A'];
    for (const orderId of ids) {
      shop.createOrder({ orderId, lines: [{ offerSku: sku, quantity: 1 }] });
      await new Promise((r) => setTimeout(r, 5));
    }
    const handed: string[] = [];
    let armed = true;
    const client = {
      workflow: {
        async signalWithStart(_type: string, opts: { signalArgs: [MarketplaceOrder] }) {
          handed.push(opts.signalArgs[0].orderId);
          // After the fourth order, the next page (offset 4) gets a 503.
          if (armed && handed.length === 4) {
            armed = false;
            sandbox.ctx.faults('mirakl').set([{ endpoint: 'OR11', kind: 'error5xx', count: 1 }]);
          }
        },
        getHandle: () => ({
          describe: async () => ({ status: { name: 'RUNNING' } }),
          signal: async () => undefined,
        }),
      },
    } as unknown as Client;
    const acts = activities(client);
    const first = new MockActivityEnvironment();
    let beat: unknown;
    first.on('heartbeat', (d: unknown) => (beat = d));
    await assert.rejects(first.run(acts.pollChannelOrders, { channel: 'asos' }), /OR11|503/);
    assert.deepEqual(handed, ids.slice(0, 4));
    assert.equal((beat as { offset: number }).offset, 4);

    // The retry (same input) gets the last heartbeat back and reads from offset 4 only.
    const calls = sandbox.ctx.calls.list({ endpoint: 'OR11' }).length;
    const retry = new MockActivityEnvironment({ heartbeatDetails: beat });
    const r: PollResult = await retry.run(acts.pollChannelOrders, { channel: 'asos' });
    assert.deepEqual(handed.slice(4), ['RS-5-A'], 'only the order after the failed page');
    assert.equal(r.seen, 1);
    assert.equal(sandbox.ctx.calls.list({ endpoint: 'OR11' }).length - calls, 1, 'one OR11 page');
    // A heartbeat from another window (a different `since`) is not resumed.
    handed.length = 0;
    const other = new MockActivityEnvironment({
      heartbeatDetails: { ...(beat as object), since: '2020-01-01T00:00:00Z' },
    });
    const again: PollResult = await other.run(acts.pollChannelOrders, { channel: 'asos' });
    assert.equal(again.seen, ids.length, 'read from page one');
    // Each was handed over unchanged moments ago: not signalled again (activities/recent-hand-overs.ts).
    assert.deepEqual(handed, []);
    assert.equal(again.unchanged, ids.length);
  } finally {
    await sandbox.close();
  }
});

test('an order the poll reads again unchanged is not signalled again while its run goes on; a changed one, or one whose run ended, is', async () => {
  const { sandbox, shop, sku, activities } = await intakeSandbox({ intake: '{ overlapSeconds: 60 }' });
  try {
    for (const orderId of ['RR-1-A', 'RR-2-A']) shop.createOrder({ orderId, lines: [{ offerSku: sku, quantity: 1 }] });
    const handed: string[] = [];
    // What the server says of each order's run (the skip asks: a run that ended is started again).
    const status = new Map<string, string>();
    const client = {
      workflow: {
        async signalWithStart(_type: string, opts: { workflowId: string; signalArgs: [MarketplaceOrder] }) {
          handed.push(`${opts.signalArgs[0].orderId}:${opts.signalArgs[0].state}`);
          status.set(opts.workflowId, 'RUNNING');
        },
        getHandle: (workflowId: string) => ({
          describe: async () => ({ status: { name: status.get(workflowId) ?? 'NOT_FOUND' } }),
        }),
      },
    } as unknown as Client;
    const acts = activities(client);
    const env = new MockActivityEnvironment();
    const first: PollResult = await env.run(acts.pollChannelOrders, { channel: 'asos' });
    assert.deepEqual(handed.sort(), ['RR-1-A:WAITING_ACCEPTANCE', 'RR-2-A:WAITING_ACCEPTANCE']);
    handed.length = 0;
    // The overlap reads both again: nothing new, nothing signalled.
    const second: PollResult = await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    assert.equal(second.seen, 2);
    assert.equal(second.unchanged, 2);
    assert.deepEqual(handed, []);
    // One changes: only it is handed over.
    shop.accept('RR-1-A', { order_lines: [{ id: 'RR-1-A-1', accepted: true }] });
    await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    assert.deepEqual(handed, ['RR-1-A:SHIPPING']);
    handed.length = 0;
    // A run that ended without completing (terminated by mistake): the next re-read starts it again.
    for (const id of status.keys()) if (id.includes('RR-2-A')) status.set(id, 'TERMINATED');
    const fourth: PollResult = await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    assert.deepEqual(handed, ['RR-2-A:WAITING_ACCEPTANCE']);
    assert.equal(fourth.unchanged, 1);
  } finally {
    await sandbox.close();
  }
});

test('an order whose run completed is not asked about again by re-reads, whatever they carry', async () => {
  const { sandbox, shop, sku, activities } = await intakeSandbox({ intake: '{ overlapSeconds: 60 }' });
  try {
    shop.createOrder({ orderId: 'RC-1-A', lines: [{ offerSku: sku, quantity: 1 }] });
    const calls: string[] = [];
    const client = {
      workflow: {
        async signalWithStart(_type: string, opts: { workflowId: string }) {
          calls.push(`signalWithStart ${opts.workflowId}`);
          // The run completed earlier: the server refuses to start it again (ALLOW_DUPLICATE_FAILED_ONLY).
          throw new WorkflowExecutionAlreadyStartedError('completed', opts.workflowId, 'orderWorkflow');
        },
        getHandle: (workflowId: string) => ({
          describe: async () => {
            calls.push(`describe ${workflowId}`);
            return { status: { name: 'COMPLETED' } };
          },
        }),
      },
    } as unknown as Client;
    const acts = activities(client);
    const env = new MockActivityEnvironment();
    const first: PollResult = await env.run(acts.pollChannelOrders, { channel: 'asos' });
    assert.equal(first.ignored, 1);
    assert.equal(calls.length, 1, calls.join('; '));
    calls.length = 0;
    // Read again unchanged, then changed: no describe, no signal-with-start; still counted as not handled.
    const second: PollResult = await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    shop.accept('RC-1-A', { order_lines: [{ id: 'RC-1-A-1', accepted: true }] });
    const third: PollResult = await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    assert.deepEqual(calls, []);
    assert.equal(second.ignored, 1);
    assert.equal(third.ignored, 1);
    assert.ok(third.watermark! >= second.watermark!, 'the watermark still moves');
  } finally {
    await sandbox.close();
  }
});

test('the hand-over memory forgets an entry when it expires, and its oldest entries past its bound', () => {
  const r = new RecentHandOvers(2);
  const d = RecentHandOvers.digest({ state: 'SHIPPING' });
  r.remember('a', d, 1_000, 0);
  assert.ok(r.unchanged('a', d, 999));
  assert.ok(!r.unchanged('a', d, 1_000), 'expired');
  assert.ok(!r.unchanged('a', RecentHandOvers.digest({ state: 'SHIPPED' }), 10), 'other content');
  r.remember('b', d, 1_000, 0);
  r.remember('c', d, 1_000, 0);
  assert.equal(r.size, 2);
  assert.ok(!r.unchanged('a', d, 10), 'the oldest went past the bound');
  r.remember('d', d, 5_000, 2_000);
  assert.equal(r.size, 1, 'expired entries are dropped');
});

test("a re-read of an order handed over unchanged sends its stock reservations no more: the inventory workflow's history keeps only what changed", async () => {
  const log = pino({ level: 'silent' });
  const catalogue = sandboxCatalogue({ size: 5 });
  const sim = miraklSimulator({ channels: [miraklTestChannel(catalogue)] });
  const sandbox = await startSandbox({ log, port: 0, enforceRateLimits: false }, [sim]);
  try {
    const config = parseConfig(
      `
systems:
  peoplevox: { baseUrl: http://127.0.0.1:1, clientId: c, username: u, passwordEnv: PVX_PASSWORD }
channels:
  - code: asos
    label: ASOS
    platform: mirakl
    connection: { baseUrl: ${sandbox.url}/mirakl/asos, apiKeyEnv: MIRAKL_KEY }
    fulfilment: peoplevox
    currency: GBP
    intake: { overlapSeconds: 60 }
`,
      'test',
      { MIRAKL_KEY: 'k', PVX_PASSWORD: 'p' },
    );
    const shop = sim.shops.get('asos')!;
    shop.createOrder({ orderId: 'RS-1-A', lines: [{ offerSku: catalogue[0]!.sku, quantity: 2 }] });
    shop.createOrder({ orderId: 'RS-2-A', lines: [{ offerSku: catalogue[0]!.sku, quantity: 1 }] });
    const stockSignals: string[][] = [];
    let failStock = false;
    const client = {
      workflow: {
        async signalWithStart(
          _wf: unknown,
          opts: { workflowId: string; signal: { name: string }; signalArgs: unknown[] },
        ) {
          if (opts.signal.name === 'orderStock') {
            if (failStock) throw new Error('inventory workflow unreachable');
            stockSignals.push(
              (opts.signalArgs[0] as Array<{ op: string; key: string }>).map((c) => `${c.op} ${c.key}`),
            );
          }
        },
        getHandle: () => ({
          describe: async () => ({ status: { name: 'RUNNING' } }),
          signal: async () => undefined,
        }),
      },
    } as unknown as Client;
    const acts = createIntakeActivities({
      config,
      client,
      mirakl: () => new MiraklClient({ baseUrl: `${sandbox.url}/mirakl/asos`, apiKey: 'k', timeoutMs: 5_000 }),
      alerts: { raise: async () => undefined } as never,
      log,
    });
    const env = new MockActivityEnvironment();
    const first: PollResult = await env.run(acts.pollChannelOrders, { channel: 'asos' });
    assert.deepEqual(stockSignals.flat().sort(), ['reserve asos:RS-1-A:RS-1-A-1', 'reserve asos:RS-2-A:RS-2-A-1']);
    stockSignals.length = 0;
    // The overlap reads both again unchanged: no stock signal at all.
    await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    assert.deepEqual(stockSignals, []);
    // One is refused: its release goes.
    shop.accept('RS-2-A', { order_lines: [{ id: 'RS-2-A-1', accepted: false }] });
    failStock = true;
    await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    // That signal did not get through: the next re-read sends it again (the order is handed over again).
    failStock = false;
    await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    assert.deepEqual(stockSignals.flat(), ['release asos:RS-2-A:RS-2-A-1']);
    stockSignals.length = 0;
    await env.run(acts.pollChannelOrders, { channel: 'asos', since: first.watermark });
    assert.deepEqual(stockSignals, [], 'delivered: not sent again');
  } finally {
    await sandbox.close();
  }
});
