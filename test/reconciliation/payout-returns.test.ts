// Payout reconciliation of refunds from returns on Peoplevox routes (issue 13), end to end on a real Temporal
// server: an ASOS → Peoplevox order refunded through OR28 after a Reveni decision, and a Joules → Peoplevox
// order refunded on its warehouse receipt. Each channel's billing cycle (the Mirakl simulator's SBC11/TL02)
// carries those refunds; the Joules one also carries a refund nobody in Loopline made (a back-office refund on
// the payout), for a second Joules receipt a refund 7p larger than the return's, and leaves a third receipt's
// refund out (not billed by the operator yet). The run must match both return refunds to the penny, by the
// marketplace's refund id, with no Shopify side, and report the three planted ones as
// PAYOUT_REFUND_NOT_RETURNED, PAYOUT_RETURN_REFUND_DIFFERENCE and PAYOUT_RETURN_REFUND_MISSING — in the report
// and as finance exceptions in the queue the dashboard reads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually, startTestEnv } from '../support/temporal';
import type { Stack } from '../support/stack';
import {
  openMiraklReturn,
  placeShippedOrder,
  refundsOf,
  reveniAdvance,
  reveniDecide,
  reveniReturnFor,
  startReturnsStack,
  waitForReturn,
} from '../support/returns';
import { returnWorkflowId } from '../../src/domain/keys';
import { returnKeyOf } from '../../src/domain/returns';
import { createOpsService } from '../../src/ops/service';
import { reconciliationExceptionWorkflowId } from '../../activities/reconciliation';
import { findingsOperator } from '../../workflows/findings-exception';
import { payoutReconciliationWorkflow } from '../../workflows/payout-reconciliation';
import { RECONCILIATION_KINDS, type ReturnRefundLine } from '../../src/reconciliation/types';

let env: TestWorkflowEnvironment;
let stack: Stack;
const reportsDir = mkdtempSync(join(tmpdir(), 'loopline-recon-returns-'));
before(async () => {
  env = await startTestEnv();
  stack = await startReturnsStack(env, {
    timeScale: 120,
    extraYaml: `\nfinance:\n  reconciliation:\n    reportsDir: ${JSON.stringify(reportsDir)}\n`,
  });
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

describe('payout reconciliation: refunds from returns on Peoplevox routes', () => {
  test('an OR28 return refund (ASOS, Reveni) and a warehouse-receipt refund (Joules) match; a stray, a wrong and an unbilled refund are named findings', async () => {
    // ASOS → Peoplevox: one of two dresses returned through Reveni, refunded by OR28.
    const asosFlow = async () => {
      const order = await placeShippedOrder(stack, 'asos', 'PR1', [{ offerSku: 'DRESS-NAVY-M', quantity: 2 }]);
      const r = await openMiraklReturn(stack, 'asos', {
        orderId: order.orderId,
        lines: [{ lineId: order.lines[0]!.lineId, quantity: 1, reason: 'RETURN_PDNT_TOO_SMALL' }],
      });
      const rv = await reveniReturnFor(stack, r.id);
      await reveniAdvance(stack, rv.id, 'received');
      await reveniDecide(stack, rv.id);
      const state = await waitForReturn(env, r.workflowId, (x) => x.status === 'CLOSED', 'the ASOS return');
      return { order, workflowId: r.workflowId, state };
    };
    // Joules → Peoplevox: goods booked in at the warehouse, refunded on the receipt.
    const receiptFlow = async (id: string, lines: Array<{ offerSku: string; quantity: number }>, returned: string) => {
      const order = await placeShippedOrder(stack, 'joules', id, lines);
      const { data } = await stack.control.post('/control/peoplevox/test-client/returns', {
        salesOrderNumber: order.salesOrderNumber,
        items: [{ itemCode: returned, quantity: lines[0]!.quantity, condition: 'NEW', reason: 'Changed mind' }],
      });
      const code = (data as { returnCode: string }).returnCode;
      const workflowId = returnWorkflowId('joules', returnKeyOf('warehouse', code));
      const state = await waitForReturn(env, workflowId, (x) => x.status === 'CLOSED', `${id} refunded`);
      return { order, workflowId, state };
    };
    // The Joules receipts one after another (see the report of issue 13p: receipts booked in at the same moment
    // were not all picked up); the ASOS return runs alongside.
    const joulesFlows = async () => {
      // Two scarves (of an order with a tee) …
      const pw1 = await receiptFlow(
        'PW1',
        [
          { offerSku: 'SCARF-GREEN-M', quantity: 2 },
          { offerSku: 'TEE-NAVY-L', quantity: 1 },
        ],
        'SCARF-GREEN-M',
      );
      // … a coat, whose refund the payout will debit 7p larger …
      const pw2 = await receiptFlow('PW2', [{ offerSku: 'COAT-RED-XL', quantity: 1 }], 'COAT-RED-XL');
      // … and a scarf whose refund the operator does not bill in this cycle.
      const pw3 = await receiptFlow('PW3', [{ offerSku: 'SCARF-NAVY-S', quantity: 1 }], 'SCARF-NAVY-S');
      return [pw1, pw2, pw3] as const;
    };
    const [a, [j1, j2, j3]] = await Promise.all([asosFlow(), joulesFlows()]);
    const { order: asos, workflowId: asosFlowId, state: asosReturn } = a;
    const dress = asos.lines[0]!;
    const { order: joules, workflowId: scarfFlow, state: joulesReturn } = j1;
    const [scarf, tee] = joules.lines as [(typeof joules.lines)[0], (typeof joules.lines)[0]];
    const { order: joules2, workflowId: coatFlow } = j2;
    const coat = joules2.lines[0]!;
    const joules3 = j3.order;
    const unbilledId = j3.state.refund!.refundIds[joules3.lines[0]!.lineId]!;

    const asosRefund = (await refundsOf(stack, 'asos', asos.orderId))[dress.lineId]!;
    const joulesRefund = (await refundsOf(stack, 'joules', joules.orderId))[scarf.lineId]!;
    assert.equal(asosRefund.length, 1);
    assert.equal(joulesRefund.length, 1);
    assert.equal(asosReturn.refund?.refundIds[dress.lineId], asosRefund[0]!.id);
    assert.equal(joulesReturn.refund?.refundIds[scarf.lineId], joulesRefund[0]!.id);

    // The payouts: ASOS's as the orders are; Joules' with a £2.50 refund on the tee that no return made, and the
    // coat's refund 7p larger than the return's.
    const asosCycle = randomUUID();
    const joulesCycle = randomUUID();
    await stack.control.post('/control/mirakl/asos/billing-cycles', { cycleId: asosCycle, orderIds: [asos.orderId] });
    await stack.control.post('/control/mirakl/joules/billing-cycles', {
      cycleId: joulesCycle,
      orderIds: [joules.orderId, joules2.orderId, joules3.orderId],
      refunds: [{ lineId: tee.lineId, amountMinor: 250 }],
      unbilledRefundIds: [unbilledId],
      adjustments: [{ lineId: coat.lineId, type: 'REFUND_ORDER_AMOUNT', deltaMinor: -7 }],
    });

    const result = await env.client.workflow.execute(payoutReconciliationWorkflow, {
      workflowId: `payout-reconciliation-returns-${randomUUID().slice(0, 8)}`,
      taskQueue: stack.config.temporal.taskQueues.orders,
      args: [{ channels: ['asos', 'joules'] }],
    });
    assert.deepEqual(result.failed, []);
    const summary = (id: string) => result.cycles.find((c) => c.cycleId === id)!;
    const zero = Object.fromEntries(RECONCILIATION_KINDS.map((k) => [k, 0]));
    // ASOS: the return's refund is on the payout with the return's amount; nothing else to say.
    assert.deepEqual(summary(asosCycle).counts, zero);
    assert.equal(summary(asosCycle).matchedLines, 1, 'the line is checked (contract) without a Shopify side');
    // Joules: the scarves' receipt refund matches; the stray refund, the coat's 7p and the unbilled refund
    // (REFUNDED on the Mirakl order, so due on the payout) are the three findings.
    assert.deepEqual(summary(joulesCycle).counts, {
      ...zero,
      PAYOUT_REFUND_NOT_RETURNED: 1,
      PAYOUT_RETURN_REFUND_DIFFERENCE: 1,
      PAYOUT_RETURN_REFUND_MISSING: 1,
    });
    assert.deepEqual(summary(joulesCycle).samples.PAYOUT_RETURN_REFUND_MISSING, [
      `${joules3.orderId}/${joules3.lines[0]!.lineId} refund ${unbilledId} ${(joules3.lines[0]!.price / 100).toFixed(2)}`,
    ]);
    assert.match(
      summary(joulesCycle).samples.PAYOUT_REFUND_NOT_RETURNED[0]!,
      new RegExp(`${tee.lineId} refund .* 2\\.50`),
    );

    const report = (id: string) =>
      JSON.parse(readFileSync(summary(id).reportJson, 'utf8')) as { returnRefunds: ReturnRefundLine[] };
    const refundLines = (id: string) =>
      report(id).returnRefunds.map((x) => [x.lineId, x.refundId, x.payoutMinor, x.returnMinor, x.returnWorkflowId]);
    assert.deepEqual(refundLines(asosCycle), [
      [dress.lineId, asosRefund[0]!.id, dress.price / 2, dress.price / 2, asosFlowId],
    ]);
    const joulesLines = refundLines(joulesCycle);
    assert.deepEqual(
      joulesLines.find((l) => l[0] === scarf.lineId),
      [scarf.lineId, joulesRefund[0]!.id, scarf.price, scarf.price, scarfFlow],
    );
    assert.deepEqual(joulesLines.find((l) => l[0] === tee.lineId)?.slice(2), [250, undefined, undefined]);
    assert.deepEqual(joulesLines.find((l) => l[0] === coat.lineId)?.slice(2), [coat.price + 7, coat.price, coatFlow]);
    assert.match(
      summary(joulesCycle).samples.PAYOUT_RETURN_REFUND_DIFFERENCE[0]!,
      new RegExp(
        `${coat.lineId} refund \\S+ returnRefund ${((coat.price + 7) / 100).toFixed(2)} vs ${(coat.price / 100).toFixed(2)}`,
      ),
    );
    assert.match(readFileSync(summary(joulesCycle).reportCsv, 'utf8'), /return_refund,PAYOUT_REFUND_NOT_RETURNED,/);

    // A finance exception per kind for the Joules cycle, in the queue the dashboard reads; none for the ASOS
    // cycle. (Other test files share the server: only this test's cycles are looked at.)
    const finding = await env.client.workflow
      .getHandle(reconciliationExceptionWorkflowId('joules', joulesCycle, 'PAYOUT_REFUND_NOT_RETURNED'))
      .query(findingsOperator.state);
    assert.equal(finding.status, 'EXCEPTION');
    assert.equal(finding.count, 1);
    const ofCycle = <T extends { workflowId: string }>(rows: T[], cycleId: string) =>
      rows.filter((x) => x.workflowId.includes(`:${cycleId}:`));
    const queue = await eventually(async () => {
      const rows = await createOpsService(env.client).exceptions({ owner: 'finance' });
      return ofCycle(rows, joulesCycle).length === 3 ? rows : undefined;
    }, 20_000);
    const mine = ofCycle(queue, joulesCycle);
    assert.deepEqual(mine.map((x) => x.reason).sort(), [
      'PAYOUT_REFUND_NOT_RETURNED',
      'PAYOUT_RETURN_REFUND_DIFFERENCE',
      'PAYOUT_RETURN_REFUND_MISSING',
    ]);
    assert.ok(mine.every((x) => x.channel === 'joules' && x.owner === 'finance'));
    assert.match(
      mine.find((x) => x.reason === 'PAYOUT_REFUND_NOT_RETURNED')?.message ?? '',
      /made by no return Loopline knows of/,
    );
    assert.deepEqual(ofCycle(queue, asosCycle), []);
  });
});
