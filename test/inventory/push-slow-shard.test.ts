// A push from shards goes on without a shard that does not answer in time (activities/inventory.ts askShards). In
// the 50,000-SKU sale a shard replaying its whole run after a refused renewal took 18 s to answer the push's query,
// and the channel's push (and its loop: no push, no renewal) waited for it: Marketplacer's channel went 30 s without
// a push. Here the activity runs in the mock activity environment against a client whose shards answer as each test
// says (the activity's code is what is under test; the shards' own behaviour is tested on a real server elsewhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import { createInventoryActivities, type ShardPushResult } from '../../activities/inventory';
import { parseConfig } from '../../src/config/load';
import { createAlertSink } from '../../src/alerts/alerts';
import { SANDBOX_SECRETS } from '../../src/sandbox/systems';
import type { PushCandidates } from '../../workflows/inventory-defs';
import type { MiraklClient } from '../../src/connectors/mirakl/client';
import type { PeoplevoxClient } from '../../src/connectors/peoplevox/client';

const ANSWER_MS = 300;
const SHARDS = ['shard-0', 'shard-1', 'shard-2', 'shard-3'];

const config = parseConfig(
  `
temporal: { idScope: "t" }
systems:
  peoplevox: { baseUrl: http://127.0.0.1:1/peoplevox, clientId: c, username: u, passwordEnv: PEOPLEVOX_PASSWORD }
channels:
  - code: asos
    label: ASOS Marketplace
    platform: mirakl
    connection: { baseUrl: http://127.0.0.1:1/mirakl/asos, apiKeyEnv: MIRAKL_ASOS_API_KEY }
    fulfilment: peoplevox
    currency: GBP
`,
  'test',
  { ...process.env, ...SANDBOX_SECRETS },
);

/** Shards that answer after `delays[k]` ms (an Error: the query fails), each with one row of its own. */
function harness(delays: Array<number | Error>) {
  const imported: string[][] = [];
  const told: string[] = [];
  const asked: number[] = delays.map(() => 0);
  const client = {
    connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
    workflow: {
      getHandle: (id: string) => ({
        async query(): Promise<PushCandidates> {
          const k = SHARDS.indexOf(id);
          asked[k]!++;
          const d = delays[k]!;
          if (d instanceof Error) throw d;
          await new Promise((r) => setTimeout(r, d));
          return { rows: [{ offerSku: `SKU-${k}`, quantity: k, priority: 'change', since: 1 }], pending: 1 };
        },
        async signal(): Promise<void> {
          told.push(id);
        },
      }),
    },
  } as unknown as Client;
  const mirakl = {
    async importStock(rows: Array<{ offerSku: string }>): Promise<string> {
      imported.push(rows.map((r) => r.offerSku));
      return `import-${imported.length}`;
    },
  } as unknown as MiraklClient;
  const log = pino({ level: 'silent' });
  const acts = createInventoryActivities({
    config,
    client,
    mirakl: () => mirakl,
    peoplevox: {} as PeoplevoxClient,
    alerts: createAlertSink(log),
    log,
    shardAnswerMs: ANSWER_MS,
  });
  let seq = 0;
  const push = async () => {
    const started = Date.now();
    seq++;
    const r = (await new MockActivityEnvironment().run(() =>
      acts.pushFromShards({ channel: 'asos', key: `k-${seq}`, seq, shardIds: SHARDS, maxRows: 100 }),
    )) as ShardPushResult;
    return { r, ms: Date.now() - started };
  };
  return { push, imported, told, asked };
}

test('a shard that does not answer in time is left for the next push; the others go now', async () => {
  const h = harness([20, 20, 5_000, 20]);
  const { r, ms } = await h.push();
  assert.ok(ms < ANSWER_MS + 1_000, `the push took ${ms} ms`);
  assert.deepEqual(h.imported, [['SKU-0', 'SKU-1', 'SKU-3']]);
  assert.deepEqual(r.skipped, [2]);
  assert.equal(r.pending[2], null, 'nothing is said of the silent shard');
  assert.deepEqual(r.shards, [0, 1, 3]);
  assert.deepEqual(h.told.sort(), ['shard-0', 'shard-1', 'shard-3'], 'the silent shard is told nothing');
});

test('a shard slower than the wait every time: each push in a row that left it out doubles the wait', async () => {
  // 2.5 times the wait: left out of the first push (waits 1x), and of the second (2x); the third waits 4x.
  const h = harness([10, 2.5 * ANSWER_MS, 10, 10]);
  const first = await h.push();
  const second = await h.push();
  const third = await h.push();
  assert.deepEqual(first.r.skipped, [1]);
  assert.deepEqual(second.r.skipped, [1]);
  assert.equal(third.r.skipped, undefined);
  assert.deepEqual(h.imported[2], ['SKU-0', 'SKU-1', 'SKU-2', 'SKU-3']);
  assert.ok(second.ms >= 2 * ANSWER_MS - 20 && third.ms >= 2.5 * ANSWER_MS - 20, `${second.ms}, ${third.ms} ms`);
});

test('no shard answers in time: the push waits for the first answer; none at all fails it as before', async () => {
  const slow = harness([3 * ANSWER_MS, 5_000, 5_000, 4 * ANSWER_MS]);
  const { r, ms } = await slow.push();
  assert.ok(ms >= 3 * ANSWER_MS - 20, `${ms} ms`);
  assert.deepEqual(slow.imported, [['SKU-0']]);
  assert.deepEqual(r.skipped, [1, 2, 3]);

  const broken = harness(SHARDS.map(() => new Error('query failed: shard gone')));
  await assert.rejects(broken.push(), /shard gone/);
  assert.deepEqual(broken.imported, []);
});
