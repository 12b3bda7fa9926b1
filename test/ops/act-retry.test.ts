// An operator action (retry / resolve / cancel) that the server refuses because the workflow task carrying
// it was lost (FAILED_PRECONDITION "unexpected workflow task failure", seen once in CI under load) is sent
// again; any other refusal (the validator's, a missing workflow) is reported at once, not retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { createOpsService } from '../../src/ops/service';

function fakeClient(failures: Error[]): { client: Client; calls: () => number } {
  let calls = 0;
  const client = {
    connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
    workflow: {
      getHandle: () => ({
        async executeUpdate() {
          calls++;
          const f = failures.shift();
          if (f) throw f;
          return { status: 'ACCEPTED' };
        },
      }),
    },
  } as unknown as Client;
  return { client, calls: () => calls };
}

const lostTask = () =>
  Object.assign(new Error('Failed to update workflow'), {
    cause: Object.assign(new Error('9 FAILED_PRECONDITION: unexpected workflow task failure'), { code: 9 }),
  });

test('a lost workflow task is retried and the action goes through', async () => {
  const f = fakeClient([lostTask()]);
  const r = await createOpsService(f.client).act('order:asos:X-1', 'resolve', 'done by hand');
  assert.deepEqual(r, { workflowId: 'order:asos:X-1', ok: true, status: 'ACCEPTED', exception: undefined });
  assert.equal(f.calls(), 2);
});

test('the validator refusing is reported at once; a lost task three times running is reported too', async () => {
  const refused = fakeClient([new Error('order X-1 is not in an exception')]);
  const r = await createOpsService(refused.client).act('order:asos:X-1', 'retry');
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /not in an exception/);
  assert.equal(refused.calls(), 1);

  const lost = fakeClient([lostTask(), lostTask(), lostTask()]);
  const r3 = await createOpsService(lost.client).act('order:asos:X-1', 'cancel');
  assert.equal(r3.ok, false);
  assert.match(r3.error ?? '', /unexpected workflow task failure/);
  assert.equal(lost.calls(), 3);
});

test('a workflow that does not answer within the deadline: the action says so instead of hanging', async () => {
  // A real deadline on a call that never returns (no worker polling): the gRPC deadline fires.
  const client = {
    connection: {
      withDeadline: <T>(deadline: number, fn: () => Promise<T>) =>
        Promise.race([
          fn(),
          new Promise<T>((_, reject) =>
            setTimeout(
              () => reject(Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4 })),
              Math.max(0, deadline - Date.now()),
            ),
          ),
        ]),
    },
    workflow: { getHandle: () => ({ executeUpdate: () => new Promise(() => undefined) }) },
  } as unknown as Client;
  const started = Date.now();
  const r = await createOpsService(client).act('order:asos:X-2', 'retry', undefined, 200);
  assert.ok(Date.now() - started < 2_000);
  assert.equal(r.ok, false);
  assert.equal(r.timedOut, true);
  assert.match(r.error ?? '', /did not answer the retry within 0 s \(is a worker running\?/);
});
