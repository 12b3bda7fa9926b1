// Regression: the RT11 poll read its pages one call after another, and a following page refused for the call
// rate failed the whole poll without moving the watermark, so the next poll read page one again: a backlog of
// more returns than one page (the 500-return bench: 300 Mirakl returns, 100 a page) never got past the first
// page. The poll now keeps what it read and goes on from the refused page's token at the next poll, and a
// retried attempt resumes from its last heartbeated page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { MiraklClient } from '../../src/connectors/mirakl/client';
import { startSandbox } from '../../src/sandbox/server';
import { miraklSimulator } from '../../src/sandbox/mirakl';
import { returnsOf } from '../../src/sandbox/mirakl/returns';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import {
  createReturnIntakeActivities,
  RT11_MIN_INTERVAL_MS,
  type ReturnPollResult,
} from '../../activities/returns-intake';
import { ApplicationFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { ReturnHandover } from '../../workflows/returns';
import { miraklTestChannel, miraklTestConfig } from '../support/mirakl-channel';

async function returnsSandbox(enforceRateLimits: boolean) {
  const log = pino({ level: 'silent' });
  const catalogue = sandboxCatalogue({ size: 3 });
  const sim = miraklSimulator({
    channels: [miraklTestChannel(catalogue)],
  });
  const sandbox = await startSandbox({ log, port: 0, enforceRateLimits }, [sim]);
  const config = miraklTestConfig(
    sandbox.url,
    '    returns: marketplace\n    intake: { overlapSeconds: 0, pageSize: 2 }',
  );
  const shop = sim.shops.get('asos')!;
  const returnIds: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const orderId = `RP-${i}-A`;
    shop.createOrder({ orderId, lines: [{ offerSku: catalogue[0]!.sku, quantity: 1 }] });
    const r = returnsOf(shop).openCustomerReturn({
      orderId,
      id: `RET-${i}`,
      lines: [{ lineId: `${orderId}-1`, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
      unchecked: true,
    });
    returnIds.push(String(r.id));
  }
  // The order workflows, as far as the poll sees them: each notice is a signal to a running order.
  const handedOver: string[] = [];
  let onSignal: (() => Promise<void>) | undefined;
  const client = {
    workflow: {
      getHandle: () => ({
        signal: async (_def: unknown, h: ReturnHandover) => {
          handedOver.push(h.notice.sourceId);
          await onSignal?.();
        },
      }),
    },
  } as unknown as Client;
  const activities = createReturnIntakeActivities({
    config,
    client,
    mirakl: () => new MiraklClient({ baseUrl: `${sandbox.url}/mirakl/asos`, apiKey: 'k', timeoutMs: 5_000 }),
    peoplevox: undefined as never,
    log,
  });
  const faults = (body: unknown) =>
    fetch(`${sandbox.url}/control/faults/mirakl`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  return {
    sandbox,
    activities,
    handedOver,
    returnIds,
    faults,
    setOnSignal: (f: () => Promise<void>) => (onSignal = f),
  };
}

test('RT11: five returns two to a page are all read in one poll, within the 5-minute limit', async () => {
  const { sandbox, activities, handedOver, returnIds } = await returnsSandbox(true);
  try {
    const env = new MockActivityEnvironment();
    const r = (await env.run(activities.pollChannelReturns, { channel: 'asos' })) as ReturnPollResult;
    assert.deepEqual([...handedOver].sort(), returnIds);
    assert.equal(r.seen, 5);
    assert.equal(r.resume, undefined);
    assert.ok(r.watermark, 'the watermark moved');
  } finally {
    await sandbox.close();
  }
});

test('RT11: a following page refused with 429 ends the poll early; the next poll goes on from that page', async () => {
  const { sandbox, activities, handedOver, returnIds, faults, setOnSignal } = await returnsSandbox(false);
  try {
    // Page one is read; while its returns are handed over, the next RT11 call is armed to be refused.
    let armed = false;
    setOnSignal(async () => {
      if (armed) return;
      armed = true;
      await faults({ seed: 1, rules: [{ endpoint: 'RT11', kind: 'rateLimit429', count: 1, retryAfterSeconds: 1 }] });
    });
    const first = (await new MockActivityEnvironment().run(activities.pollChannelReturns, {
      channel: 'asos',
    })) as ReturnPollResult;
    assert.deepEqual(handedOver, returnIds.slice(0, 2), 'page one handed over');
    assert.equal(first.watermark, undefined, 'the watermark does not move before every page is read');
    assert.ok(first.resume?.token, 'where to go on');

    const second = (await new MockActivityEnvironment().run(activities.pollChannelReturns, {
      channel: 'asos',
      since: first.watermark,
      resume: first.resume,
    })) as ReturnPollResult;
    assert.deepEqual(handedOver, returnIds, 'pages two and three read, page one not again');
    assert.equal(second.resume, undefined);
    assert.ok(second.watermark, 'the watermark moved once every page was read');
  } finally {
    await sandbox.close();
  }
});

test('RT11: a retried attempt resumes from the page its last heartbeat named', async () => {
  const { sandbox, activities, handedOver, returnIds } = await returnsSandbox(false);
  try {
    // What the first attempt heartbeated after page one (its token for page two).
    const beats: unknown[] = [];
    const one = new MockActivityEnvironment();
    one.on('heartbeat', (d: unknown) => beats.push(d));
    await one.run(activities.pollChannelReturns, { channel: 'asos' });
    const afterPageOne = beats[0];
    assert.ok(afterPageOne, 'a heartbeat after page one');
    handedOver.length = 0;

    const retry = new MockActivityEnvironment({ heartbeatDetails: afterPageOne, attempt: 2 });
    const r = (await retry.run(activities.pollChannelReturns, { channel: 'asos' })) as ReturnPollResult;
    assert.deepEqual(handedOver, returnIds.slice(2), 'pages two and three only');
    assert.equal(r.seen, 3);
  } finally {
    await sandbox.close();
  }
});

test('RT11: a failed first call (a 5xx) has used the 5-minute window, so its retry comes a window later, never sooner', async () => {
  const { sandbox, activities, faults } = await returnsSandbox(true);
  try {
    await faults({ seed: 1, rules: [{ endpoint: 'RT11', kind: 'error5xx', count: 1 }] });
    const err = await new MockActivityEnvironment().run(activities.pollChannelReturns, { channel: 'asos' }).then(
      () => undefined,
      (e: unknown) => e as ApplicationFailure,
    );
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.nonRetryable, false);
    assert.ok(
      err.nextRetryDelay !== undefined && msToNumber(err.nextRetryDelay) >= RT11_MIN_INTERVAL_MS,
      `retry after ${String(err.nextRetryDelay)}`,
    );
  } finally {
    await sandbox.close();
  }
});
