// The acceptance check's reads of an inventory workflow (src/inventory/available.ts createAvailabilityReader): a
// burst of checks for one channel shares reads (one in flight, the rest joined into the next), the ledger's layout
// is remembered for a few seconds, and a failed read forgets it. A fake client counts the queries.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { createAvailabilityReader } from '../../src/inventory/available';
import { availableQuery, layoutQuery } from '../../workflows/inventory-defs';

function fakeClient(figures: Record<string, number>, opts: { delayMs?: number; failAvailable?: () => boolean } = {}) {
  const calls = { layout: 0, available: 0, codesAsked: [] as string[][] };
  const client = {
    connection: { withDeadline: <T>(_d: number, fn: () => Promise<T>) => fn() },
    workflow: {
      getHandle: (id: string) => ({
        async query(def: { name: string }, codes?: string[]) {
          await new Promise((r) => setTimeout(r, opts.delayMs ?? 20));
          if (def.name === layoutQuery.name) {
            calls.layout++;
            return { channel: 'asos', mode: 'local', count: 1, ids: [id], resharding: false };
          }
          assert.equal(def.name, availableQuery.name);
          calls.available++;
          calls.codesAsked.push([...(codes ?? [])].sort());
          if (opts.failAvailable?.()) throw new Error('the ledger of asos is in 2 shards: ask them (inventoryLayout)');
          return Object.fromEntries((codes ?? []).filter((c) => c in figures).map((c) => [c, figures[c]!]));
        },
      }),
    },
  } as unknown as Client;
  return { client, calls };
}

const config = { temporal: { idScope: 't' } } as never;

describe('availability reader', () => {
  test('50 checks at once for one channel cost one layout query and two reads, each caller getting its figures', async () => {
    const { client, calls } = fakeClient({ A: 3, B: 0, C: 7 });
    const reader = createAvailabilityReader(client, config);
    const asks = Array.from({ length: 50 }, (_, i) => ['A', 'B', 'C'][i % 3]!);
    const answers = await Promise.all(asks.map((c) => reader.available('asos', [c])));
    answers.forEach((a, i) => assert.equal(a[asks[i]!], { A: 3, B: 0, C: 7 }[asks[i]!]));
    assert.equal(calls.layout, 1);
    // The first caller's read, then everyone who came while it was in flight, together.
    assert.equal(calls.available, 2);
    assert.deepEqual(calls.codesAsked[1], ['A', 'B', 'C']);
    assert.deepEqual(reader.stats(), { reads: 2, callers: 50 });
  });

  test('a check that arrives while a read is in flight gets a read made after it arrived', async () => {
    const figures: Record<string, number> = { A: 5 };
    const { client } = fakeClient(figures, { delayMs: 30 });
    const reader = createAvailabilityReader(client, config);
    const first = reader.available('asos', ['A']);
    await new Promise((r) => setTimeout(r, 45)); // the layout is read; the first read is in flight
    figures.A = 1; // the master moves
    const second = reader.available('asos', ['A']);
    assert.equal((await second).A, 1);
    assert.ok((await first).A === 5 || (await first).A === 1);
  });

  test('the layout is remembered for its TTL, and forgotten when a read fails', async () => {
    let fail = false;
    const { client, calls } = fakeClient({ A: 2 }, { delayMs: 1, failAvailable: () => fail });
    const reader = createAvailabilityReader(client, config, { layoutTtlMs: 60_000 });
    await reader.available('asos', ['A']);
    await reader.available('asos', ['A']);
    assert.equal(calls.layout, 1, 'remembered');
    fail = true;
    await assert.rejects(reader.available('asos', ['A']), /in 2 shards/);
    fail = false;
    assert.equal((await reader.available('asos', ['A'])).A, 2);
    assert.equal(calls.layout, 2, 'asked again after the failed read');
  });
});
