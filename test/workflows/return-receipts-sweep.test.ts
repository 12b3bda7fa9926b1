// The Return summary read the Peoplevox Returns event starts (workflows/return-receipts-sweep.ts), on a real
// server with the read held open by the test: an event that comes while a read is under way gets a read after it
// (before, such an event joined a read that had already fetched the report, and its receipt waited for the
// scheduled backstop); a burst of events during one read costs one read more, not one each; a lone event one read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, uniqueQueue, workflowBundle } from '../support/temporal';
import type { ReceiptSweepResult } from '../../activities/returns-intake';
import { receiptsBookedSignal, returnReceiptsSweepWorkflow } from '../../workflows/return-receipts-sweep';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

/** A read of the report that waits until the test lets it finish. */
function heldReads() {
  const started: number[] = [];
  const releases: Array<() => void> = [];
  return {
    started,
    release: () => releases.shift()?.(),
    activity: async (): Promise<ReceiptSweepResult> => {
      started.push(Date.now());
      await new Promise<void>((r) => releases.push(r));
      return { since: 'x', receipts: 1, handedOver: 1, known: 0, otherRoutes: 0, unowned: 0 };
    },
  };
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('events during a read of the Return summary get one more read after it; a lone event one read', async () => {
  const queue = uniqueQueue('receipts');
  const reads = heldReads();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
    activities: { sweepReturnReceipts: reads.activity },
  });
  await worker.runUntil(async () => {
    const event = (workflowId: string) =>
      env.client.workflow.signalWithStart(returnReceiptsSweepWorkflow, {
        workflowId,
        taskQueue: queue,
        args: [{ lookbackMinutes: 60, taskQueue: queue, minGapMs: 50 }],
        signal: receiptsBookedSignal,
        signalArgs: [],
      });

    // Three events while the first read is under way: one read more.
    const busy = `return-receipts-run:${queue}:events`;
    const h = await event(busy);
    await until(() => reads.started.length === 1, 'the first read');
    await event(busy);
    await event(busy);
    await event(busy);
    reads.release();
    await until(() => reads.started.length === 2, 'the read after the events');
    reads.release();
    const r = await h.result();
    assert.equal(reads.started.length, 2, 'one read more for the three events, not three');
    assert.equal(r.receipts, 2, 'both reads counted');

    // A lone event: one read, and the run ends.
    const lone = await event(`${busy}:lone`);
    await until(() => reads.started.length === 3, 'the lone read');
    reads.release();
    assert.equal((await lone.result()).receipts, 1);
    assert.equal(reads.started.length, 3);
  });
});
