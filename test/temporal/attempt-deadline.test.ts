// attemptSendBy: the latest moment an activity attempt may send a write it must hear the answer to, from the
// attempt's own schedule time and start-to-close timeout (the mock environment plays the worker's Context).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { attemptSendBy } from '../../src/temporal/attempt-deadline';

describe('attemptSendBy', () => {
  test('scheduled time + start-to-close − the request timeout − a margin', async () => {
    const env = new MockActivityEnvironment({
      currentAttemptScheduledTimestampMs: 1_000_000,
      startToCloseTimeoutMs: 120_000,
    });
    assert.equal(await env.run(async () => attemptSendBy(15_000)), 1_000_000 + 120_000 - 15_000 - 2_000);
  });

  test('without a start-to-close timeout the schedule-to-close one bounds the attempt', async () => {
    const env = new MockActivityEnvironment({
      currentAttemptScheduledTimestampMs: 5_000,
      startToCloseTimeoutMs: 0,
      scheduleToCloseTimeoutMs: 60_000,
    });
    assert.equal(await env.run(async () => attemptSendBy(10_000)), 5_000 + 60_000 - 10_000 - 2_000);
  });

  test('outside an activity there is no deadline', () => {
    assert.equal(attemptSendBy(15_000), undefined);
  });
});
