// The warehouse gateway's despatch read forwards despatches it has not forwarded before: each is signalled to its
// order straight away, without a describe and a query first (in bench:orders those were a describe and a query task
// on the orders worker for every despatch). Only when a signal finds no running run is the run asked about, and a
// despatch for an order that closed becomes its exception, as before. Fake client; the activity's own code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MockActivityEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { createDespatchSweepActivities } from '../../activities/despatch-sweep';
import { miraklTestConfig } from '../support/mirakl-channel';
import { channelOrderPrefix } from '../../src/config/schema';
import { orderWorkflowId } from '../../src/domain/keys';
import type { Despatch } from '../../src/domain/order';

test('fresh despatches are signalled without asking; an order that closed is asked about and gets its exception', async () => {
  const config = miraklTestConfig('http://127.0.0.1:1');
  const ch = config.channels[0]!;
  const son = (orderId: string) => `${channelOrderPrefix(ch)}-${orderId}`;
  const despatch = (n: string, orderId: string): Despatch => ({
    despatchNumber: n,
    salesOrderNumber: son(orderId),
    trackingNumber: `T${n}`,
    despatchedAt: new Date().toISOString(),
    items: [{ itemCode: 'SKU-1', quantity: 1 }],
  });
  const open = orderWorkflowId(ch.code, 'OPEN-1');
  const closed = orderWorkflowId(ch.code, 'CLOSED-1');
  const calls: string[] = [];
  const client = {
    workflow: {
      getHandle: (id: string) => ({
        signal: async (_s: unknown, n: { despatchNumber: string }) => {
          calls.push(`signal ${id} ${n.despatchNumber}`);
          if (id === closed) throw new WorkflowNotFoundError('workflow execution already completed', id, undefined);
        },
        describe: async () => {
          calls.push(`describe ${id}`);
          return { status: { name: id === closed ? 'COMPLETED' : 'RUNNING' } };
        },
        query: async () => {
          calls.push(`query ${id}`);
          return { despatches: [], status: 'CLOSED', channel: ch.code, orderId: 'CLOSED-1' };
        },
      }),
      start: async (_w: unknown, opts: { workflowId: string }) => {
        calls.push(`exception ${opts.workflowId}`);
      },
    },
  } as unknown as Client;
  const acts = createDespatchSweepActivities({
    config,
    client,
    peoplevox: {
      listDespatches: async () => [despatch('D1', 'OPEN-1'), despatch('D2', 'OPEN-1'), despatch('D3', 'CLOSED-1')],
    } as never,
    log: pino({ level: 'silent' }),
  });
  const r: Awaited<ReturnType<typeof acts.forwardDespatchesSince>> = await new MockActivityEnvironment().run(
    acts.forwardDespatchesSince,
    {
      sinceIso: new Date(Date.now() - 60_000).toISOString(),
    },
  );
  assert.deepEqual(
    calls.filter((c) => c.includes(open)),
    [`signal ${open} D1`, `signal ${open} D2`],
    'the running order: two signals, nothing asked',
  );
  const aboutClosed = calls.filter((c) => !c.includes(open));
  assert.deepEqual(aboutClosed.slice(0, 3), [`signal ${closed} D3`, `describe ${closed}`, `query ${closed}`]);
  assert.ok(aboutClosed[3]?.startsWith('exception '), `the closed order's despatch becomes an exception: ${calls}`);
  assert.deepEqual(r.forwardedNumbers.sort(), ['D1', 'D2', 'D3']);
  assert.equal(r.read, 3);
});
