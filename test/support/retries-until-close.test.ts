// A connection closed while the client's gRPC retry interceptor waits to retry a call: straight away, the retry's
// timer throws "Channel has been shut down" as an uncaught exception (what failed whole test files in CI after their
// tests passed); after retriesUntilClose's settle(), nothing is thrown and the call ends as a rejection its caller
// handles. Every test environment's teardown settles first (test/support/temporal.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

function scenario(mode: 'close' | 'settle'): { planned: number; uncaught: string[]; ended: string } {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'retries-until-close.scenario.ts'), mode],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as { planned: number; uncaught: string[]; ended: string };
}

test('closed during a retry backoff: the retry throws from its timer (the SDK as it is)', () => {
  const r = scenario('close');
  assert.ok(r.planned >= 1, JSON.stringify(r));
  assert.ok(
    r.uncaught.some((m) => /Channel has been shut down/.test(m)),
    `expected the retry's uncaught exception: ${JSON.stringify(r)}`,
  );
});

test('closed after settle(): no uncaught exception, and the call is rejected to its caller', () => {
  const r = scenario('settle');
  assert.ok(r.planned >= 1, JSON.stringify(r));
  assert.deepEqual(r.uncaught, [], JSON.stringify(r));
  assert.match(r.ended, /^rejected: /);
});
