// Returns end to end through the sandbox on a real Temporal server, part two: Joules → warehouse receipts
// (seeds 000, 004), and operating returns (CLI, dashboard API, metrics). Part one (ASOS → Reveni) is
// returns.test.ts; the two files share the stack's shape (test/support/returns.ts) and can run side by side.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually, maybeRecordHistory, startTestEnv } from '../support/temporal';
import type { Stack } from '../support/stack';
import {
  lastStock,
  miraklOrder,
  miraklReturn,
  openMiraklReturn,
  placeShippedOrder,
  refundsOf,
  startReturnsStack,
  waitForReturn,
} from '../support/returns';
import { createOpsService } from '../../src/ops/service';
import { returnWorkflowId } from '../../src/domain/keys';
import { returnKeyOf } from '../../src/domain/returns';
import { runCli, writeCliConfig } from '../support/cli';
import { SANDBOX_SECRETS } from '../../src/sandbox/secrets';

let env: TestWorkflowEnvironment;
let stack: Stack;
const NO_BUFFERS = { velocityBuffer: { enabled: false }, lastUnits: { oneChannelBelow: 0 } };
before(async () => {
  env = await startTestEnv();
  stack = await startReturnsStack(env, {
    // Twice the usual speed: RT11 every 2.5 s, one STO01 window 0.5 s.
    timeScale: 120,
    channelExtra: { asos: { inventory: NO_BUFFERS }, joules: { inventory: NO_BUFFERS } },
  });
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

const ops = () => createOpsService(env.client);
const pvxAvailable = async (itemCode: string): Promise<number> => {
  const { data } = await stack.control.get('/control/peoplevox/test-client/items');
  return (data as { items: Array<{ itemCode: string; available: number }> }).items.find((i) => i.itemCode === itemCode)!
    .available;
};
const parked = (reason: string) => (s: { exception?: { reason: string } }) => s.exception?.reason === reason;

describe('Joules → warehouse receipts (seeds 000, 004)', () => {
  test('a return booked in at the warehouse triggers the refund; the marketplace return closes with it, refunded once', async () => {
    const o = await placeShippedOrder(stack, 'joules', 'W1', [
      { offerSku: 'SCARF-GREEN-M', quantity: 2 },
      { offerSku: 'TEE-NAVY-L', quantity: 1 },
    ]);
    const [scarf] = o.lines as [(typeof o.lines)[0]];
    const mirakl = await openMiraklReturn(stack, 'joules', {
      orderId: o.orderId,
      lines: [{ lineId: scarf.lineId, quantity: 2, reason: 'RETURN_CHANGED_MIND' }],
    });
    await waitForReturn(env, mirakl.workflowId, (s) => s.status === 'AWAITING_GOODS', 'waiting for the goods');
    const before = await pvxAvailable('SCARF-GREEN-M');
    const { data } = await stack.control.post('/control/peoplevox/test-client/returns', {
      salesOrderNumber: o.salesOrderNumber,
      items: [{ itemCode: 'SCARF-GREEN-M', quantity: 2, condition: 'NEW', reason: 'Changed mind' }],
    });
    const code = (data as { returnCode: string }).returnCode;
    assert.equal(await pvxAvailable('SCARF-GREEN-M'), before + 2, 'resaleable goods back in the warehouse');
    const receiptFlow = returnWorkflowId('joules', returnKeyOf('warehouse', code));
    const s = await waitForReturn(env, receiptFlow, (x) => x.status === 'CLOSED', 'the receipt refunded');
    assert.equal(s.refund?.calculation.totalMinor, scarf.price);
    assert.deepEqual(
      s.restocks.map((x) => [x.itemCode, x.units, x.kind]),
      [['SCARF-GREEN-M', 2, 'master']],
    );
    const m = await waitForReturn(
      env,
      mirakl.workflowId,
      (x) => x.status === 'CLOSED',
      'the marketplace return closed',
    );
    assert.equal(m.refund, undefined, 'refunded by the receipt, not again');
    assert.equal((await miraklReturn(stack, 'joules', mirakl.id)).state, 'CLOSED');
    const refunds = (await refundsOf(stack, 'joules', o.orderId))[scarf.lineId]!;
    assert.deepEqual(
      refunds.map((x) => x.quantity),
      [2],
    );
    await eventually(
      async () => ((await lastStock(stack, 'joules', 'SCARF-GREEN-M'))?.quantity === before + 2 ? true : undefined),
      30_000,
      'the receipt pushed to Joules',
    );
    await maybeRecordHistory(env.client.workflow.getHandle(receiptFlow), 'return-warehouse-receipt-restock-first');
    if (process.env.LOOPLINE_RECORD_HISTORIES === '1') {
      // The Return summary read the Returns event started (a short workflow of its own).
      for await (const w of env.client.workflow.list({
        query: `WorkflowType = 'returnReceiptsSweepWorkflow' AND ExecutionStatus = 'Completed'`,
      })) {
        await maybeRecordHistory(env.client.workflow.getHandle(w.workflowId, w.runId), 'return-receipts-sweep');
        break;
      }
    }
  });

  test('receipts booked at once each start their return, refunded and closed', async () => {
    // The events share one run of the Return summary read, which reads again for events that came during a read
    // (the race itself is pinned down in test/workflows/return-receipts-sweep.test.ts).
    const orders = await Promise.all(
      ['W5', 'W6', 'W7'].map((id, i) =>
        placeShippedOrder(stack, 'joules', id, [
          { offerSku: ['TEE-RED-S', 'TEE-RED-M', 'TEE-RED-L'][i]!, quantity: 1 },
        ]),
      ),
    );
    const booked = await Promise.all(
      orders.map(async (o) => {
        const { data } = await stack.control.post('/control/peoplevox/test-client/returns', {
          salesOrderNumber: o.salesOrderNumber,
          items: [{ itemCode: o.lines[0]!.offerSku, quantity: 1, condition: 'NEW', reason: 'Changed mind' }],
        });
        return returnWorkflowId('joules', returnKeyOf('warehouse', (data as { returnCode: string }).returnCode));
      }),
    );
    for (const workflowId of booked)
      await waitForReturn(env, workflowId, (s) => s.status === 'CLOSED', `${workflowId} refunded and closed`);
  });

  test('a damaged item booked in is refunded, and neither the warehouse nor any channel gains stock', async () => {
    const o = await placeShippedOrder(stack, 'joules', 'W2', [{ offerSku: 'COAT-RED-XL', quantity: 1 }]);
    const before = await pvxAvailable('COAT-RED-XL');
    const { data } = await stack.control.post('/control/peoplevox/test-client/returns', {
      salesOrderNumber: o.salesOrderNumber,
      items: [{ itemCode: 'COAT-RED-XL', quantity: 1, condition: 'DAMAGED', reason: 'Changed mind' }],
    });
    const workflowId = returnWorkflowId(
      'joules',
      returnKeyOf('warehouse', (data as { returnCode: string }).returnCode),
    );
    const s = await waitForReturn(env, workflowId, (x) => x.status === 'CLOSED', 'refunded');
    assert.ok(s.refund);
    assert.equal(s.lines[0]!.disposition, 'inspect');
    assert.equal(s.restocks.length, 0);
    assert.equal(await pvxAvailable('COAT-RED-XL'), before);
    const order = await miraklOrder(stack, 'joules', o.orderId);
    assert.equal(order.order_lines[0]!.refunds.length, 1);
  });
});

describe('operating returns', () => {
  test('the CLI lists, shows and retries returns; the dashboard API and /metrics show them', async () => {
    const o = await placeShippedOrder(stack, 'asos', 'OPS1', [{ offerSku: 'TEE-CREAM-XS', quantity: 1 }]);
    const r = await openMiraklReturn(stack, 'asos', {
      orderId: o.orderId,
      lines: [{ lineId: o.lines[0]!.lineId, quantity: 1, reason: 'RETURN_INACCURATE_ITEM_DESCRIPTION' }],
    });
    await waitForReturn(env, r.workflowId, parked('RETURN_REASON_UNMAPPED'), 'parked');
    const configFile = writeCliConfig(stack.config);
    const cli = (...args: string[]) => runCli({ configFile, temporalAddress: env.address }, ...args);
    const list = await eventually(async () => {
      const res = await cli('--json', 'returns', 'list', '--channel', 'asos', '--order', o.orderId);
      const rows = JSON.parse(res.stdout || '[]') as Array<{ workflowId: string; status: string; reason: string }>;
      return rows.length === 1 ? rows : undefined;
    }, 30_000);
    assert.deepEqual(
      [list[0]!.workflowId, list[0]!.status, list[0]!.reason],
      [r.workflowId, 'EXCEPTION', 'RETURN_REASON_UNMAPPED'],
    );
    // By the marketplace's return id, as customer service knows it.
    const show = await cli('returns', 'show', r.id);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /EXCEPTION RETURN_REASON_UNMAPPED \(owner: customer-service\)/);
    assert.match(show.stdout, /timeline/);
    const retry = await cli('--json', 'returns', 'retry', r.id);
    assert.equal(
      JSON.parse(retry.stdout).exception,
      'RETURN_REASON_UNMAPPED',
      'still parked: the table has no row yet',
    );
    // The dashboard's API (ops token) and the metrics.
    const auth = { authorization: `Bearer ${SANDBOX_SECRETS.LOOPLINE_VIEWER_TOKEN}` };
    const api = (
      await stack.internal.inject({ method: 'GET', url: '/ops/api/returns?channel=asos', headers: auth })
    ).json() as {
      returns: Array<{ workflowId: string; message?: string }>;
    };
    assert.match(
      api.returns.find((x) => x.workflowId === r.workflowId)?.message ?? '',
      /RETURN_INACCURATE_ITEM_DESCRIPTION/,
    );
    const metrics = (await stack.internal.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /loopline_returns\{state="EXCEPTION"\} [1-9]/);
    // Refund latency and restock propagation (recorded by the activities; values once a refund or push happened).
    assert.match(metrics, /# TYPE loopline_refund_latency_seconds histogram/);
    assert.match(metrics, /# TYPE loopline_restock_propagation_seconds histogram/);
    await ops().act(r.workflowId, 'cancel', 'test over');
  });
});
