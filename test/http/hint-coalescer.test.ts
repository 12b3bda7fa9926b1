// The despatch callbacks' hints to the warehouse gateway share sends (src/http/hint-coalescer.ts): each callback is
// answered only once a hint sent after it arrived was delivered; sends do not overlap and keep their spacing; a
// failed send fails the callbacks that shared it, and the next callback tries afresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hintCoalescer } from '../../src/http/hint-coalescer';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('hints share sends: every caller is covered by a send that started after it called, sends spaced', async () => {
  const sends: Array<{ start: number; end: number }> = [];
  const SPACING = 100;
  const hint = hintCoalescer(async () => {
    const start = Date.now();
    await sleep(30);
    sends.push({ start, end: Date.now() });
  }, SPACING);
  const calls: Array<{ at: number; p: Promise<void> }> = [];
  // 20 callbacks over about 400 ms.
  for (let i = 0; i < 20; i++) {
    calls.push({ at: Date.now(), p: hint() });
    await sleep(20);
  }
  const settled = await Promise.all(calls.map(async (c) => ({ at: c.at, done: (await c.p, Date.now()) })));
  assert.ok(sends.length >= 2 && sends.length <= 8, `${sends.length} sends for 20 hints`);
  for (let i = 1; i < sends.length; i++) {
    assert.ok(sends[i]!.start >= sends[i - 1]!.end, 'sends do not overlap');
    assert.ok(sends[i]!.start - sends[i - 1]!.start >= SPACING - 5, 'sends keep their spacing');
  }
  for (const c of settled) {
    // Some send started after the call and had ended by the time the call was answered.
    assert.ok(
      sends.some((s) => s.start >= c.at && s.end <= c.done),
      `a hint at ${c.at} answered at ${c.done} with no send in between`,
    );
  }
});

test('a failed send fails the callers that shared it; the next caller gets a send of its own', async () => {
  let fail = true;
  let sent = 0;
  const hint = hintCoalescer(async () => {
    sent += 1;
    await sleep(10);
    if (fail) throw new Error('Temporal unavailable');
  }, 0);
  const a = hint();
  const b = hint();
  await assert.rejects(a, /unavailable/);
  await assert.rejects(b, /unavailable/);
  assert.equal(sent, 1);
  fail = false;
  await hint();
  assert.equal(sent, 2);
});
