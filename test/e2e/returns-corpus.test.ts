// A corpus of malformed or awkward returns, from every source (Mirakl RT11, Reveni webhooks, Peoplevox
// receipts), through the sandbox on a real Temporal server. Each ends in its named exception (reason and owner)
// or its documented outcome (docs/returns.md, "Awkward returns"); none fails its workflow, and nothing is
// refunded for any that parked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually, startTestEnv } from '../support/temporal';
import type { Stack } from '../support/stack';
import {
  openMiraklReturn,
  placeShippedOrder,
  refundsOf,
  reveniStore,
  startReturnsStack,
  waitForReturn,
  type ShippedOrder,
} from '../support/returns';
import { orderWorkflowId, returnWorkflowId } from '../../src/domain/keys';
import { returnKeyOf } from '../../src/domain/returns';
import { REASONS } from '../../src/domain/reasons';
import { returnStateQuery, type ReturnWorkflowState } from '../../workflows/returns/messages';
import { orderStateQuery } from '../../workflows/order/messages';

let env: TestWorkflowEnvironment;
let stack: Stack;
before(async () => {
  env = await startTestEnv();
  stack = await startReturnsStack(env);
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

interface Case {
  name: string;
  /** Opens the return at its source; returns its workflow id (or undefined when no return workflow is expected). */
  open(): Promise<string | undefined>;
  /** The named exception, or a documented outcome. */
  expect:
    | { reason: keyof typeof REASONS }
    | { outcome: string; check(s: ReturnWorkflowState): boolean }
    | { outcome: string; checkSweep: true };
}

const reveniCreate = async (body: Record<string, unknown>) => {
  const { data } = await stack.control.post(`/control/reveni/${reveniStore(stack)}/returns`, body);
  return {
    id: (data as { id: string }).id,
    workflowId: returnWorkflowId('asos', returnKeyOf('reveni', (data as { id: string }).id)),
  };
};
const book = async (son: string, items: Array<Record<string, unknown>>) => {
  const { data } = await stack.control.post('/control/peoplevox/test-client/returns', {
    salesOrderNumber: son,
    items,
    unchecked: true,
  });
  return returnWorkflowId('joules', returnKeyOf('warehouse', (data as { returnCode: string }).returnCode));
};

test('at least 20 malformed or awkward returns each end in their named exception or documented outcome', async () => {
  // Orders to return against: shipped ones, one refunded in full in the back office, one not shipped yet.
  const [a, refunded, j, jOdd] = (await Promise.all([
    placeShippedOrder(stack, 'asos', 'C1', [
      { offerSku: 'TEE-RED-M', quantity: 3 },
      { offerSku: 'SCARF-NAVY-S', quantity: 1 },
    ]),
    placeShippedOrder(stack, 'asos', 'C2', [{ offerSku: 'COAT-NAVY-M', quantity: 1 }]),
    placeShippedOrder(stack, 'joules', 'C3', [{ offerSku: 'DRESS-GREEN-S', quantity: 2 }]),
    placeShippedOrder(stack, 'joules', 'C4', [{ offerSku: 'SKIRT-NAVY-M', quantity: 1 }]),
  ])) as [ShippedOrder, ShippedOrder, ShippedOrder, ShippedOrder];
  await stack.runtime.mirakl('asos').refund([
    {
      order_line_id: refunded.lines[0]!.lineId,
      amount: refunded.lines[0]!.price / 100,
      shipping_amount: 0,
      quantity: 1,
      reason_code: '16',
    },
  ]);
  const pending = `${stack.idPrefix}-C5-A`;
  await stack.control.post('/control/mirakl/asos/orders', {
    orderId: pending,
    lines: [{ offerSku: 'JEANS-RED-S', quantity: 1 }],
  });
  await eventually(
    async () => {
      const s = await env.client.workflow.getHandle(orderWorkflowId('asos', pending)).query(orderStateQuery);
      return s.status === 'IN_WAREHOUSE' ? true : undefined;
    },
    30_000,
    'the unshipped order in the warehouse',
  );
  await stack.control.post('/control/peoplevox/test-client/orders', {
    salesOrderNumber: `MANUAL-${stack.idPrefix}`,
    items: [{ itemCode: 'TEE-RED-M', quantity: 1 }],
  });
  const [tee, scarf] = a.lines as [ShippedOrder['lines'][0], ShippedOrder['lines'][0]];
  const mirakl = async (lines: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) =>
    (await openMiraklReturn(stack, 'asos', { orderId: a.orderId, lines: lines as never, unchecked: true, ...extra }))
      .workflowId;

  const cases: Case[] = [
    // ---- Mirakl returns (RT11) ----
    {
      name: 'mirakl: more units than shipped',
      open: () => mirakl([{ lineId: tee.lineId, quantity: 4, reason: 'RETURN_CHANGED_MIND' }]),
      expect: { reason: 'RETURN_QUANTITY_EXCEEDS_SHIPPED' },
    },
    {
      name: 'mirakl: a line id not on the order',
      open: () => mirakl([{ lineId: `${a.orderId}-9`, quantity: 1, reason: 'RETURN_CHANGED_MIND' }]),
      expect: { reason: 'RETURN_LINE_UNKNOWN' },
    },
    {
      name: 'mirakl: zero units',
      open: () => mirakl([{ lineId: tee.lineId, quantity: 0, reason: 'RETURN_CHANGED_MIND' }]),
      expect: { reason: 'RETURN_QUANTITY_INVALID' },
    },
    {
      name: 'mirakl: negative units',
      open: () => mirakl([{ lineId: tee.lineId, quantity: -2, reason: 'RETURN_CHANGED_MIND' }]),
      expect: { reason: 'RETURN_QUANTITY_INVALID' },
    },
    {
      name: 'mirakl: a fractional quantity',
      open: () =>
        mirakl([{ lineId: tee.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }], {
          overrides: { return_lines: [{ quantity: 1.5 }] },
        }),
      expect: { reason: 'RETURN_QUANTITY_INVALID' },
    },
    {
      name: 'mirakl: the reason in lower case with spaces around (mapped after trimming, noted)',
      open: () => mirakl([{ lineId: scarf.lineId, quantity: 1, reason: '  return_changed_mind ' }]),
      expect: {
        outcome: 'mapped and sent on to Reveni',
        check: (s) => s.status === 'AWAITING_GOODS' && s.timeline.some((t) => t.step === 'reason read'),
      },
    },
    {
      name: 'mirakl: the reason with spaces for underscores',
      open: () => mirakl([{ lineId: tee.lineId, quantity: 1, reason: 'RETURN CHANGED MIND' }]),
      expect: { reason: 'RETURN_REASON_UNMAPPED' },
    },
    {
      name: 'mirakl: no reason at all',
      open: () =>
        mirakl([{ lineId: tee.lineId, quantity: 1 }], { overrides: { return_lines: [{ reason_code: null }] } }),
      expect: { reason: 'RETURN_REASON_UNMAPPED' },
    },
    {
      name: 'mirakl: a reason code new to the enum',
      open: () => mirakl([{ lineId: tee.lineId, quantity: 1, reason: 'RETURN_BRAND_NEW_REASON' }]),
      expect: { reason: 'RETURN_REASON_UNMAPPED' },
    },
    {
      name: 'mirakl: no return lines',
      open: () =>
        mirakl([{ lineId: tee.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }], {
          overrides: { return_lines: null },
        }),
      expect: { reason: 'RETURN_LINE_UNKNOWN' },
    },
    {
      name: 'mirakl: an order id Loopline never saw',
      open: () =>
        mirakl([{ lineId: tee.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }], {
          overrides: { order_id: `${stack.idPrefix}-GHOST-A`, order_commercial_id: `${stack.idPrefix}-GHOST` },
        }),
      expect: { reason: 'RETURN_ORDER_UNKNOWN' },
    },
    {
      name: 'mirakl: the same line twice, together more than shipped',
      open: () =>
        mirakl([
          { lineId: tee.lineId, quantity: 2, reason: 'RETURN_CHANGED_MIND' },
          { lineId: tee.lineId, quantity: 2, reason: 'RETURN_CHANGED_MIND' },
        ]),
      expect: { reason: 'RETURN_QUANTITY_EXCEEDS_SHIPPED' },
    },
    {
      name: 'mirakl: a unit already refunded in the back office',
      open: async () =>
        (
          await openMiraklReturn(stack, 'asos', {
            orderId: refunded.orderId,
            lines: [{ lineId: refunded.lines[0]!.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
            unchecked: true,
          })
        ).workflowId,
      expect: { reason: 'RETURN_QUANTITY_EXCEEDS_SHIPPED' },
    },
    {
      name: 'mirakl: a return on an order not shipped yet',
      open: async () =>
        (
          await openMiraklReturn(stack, 'asos', {
            orderId: pending,
            lines: [{ lineId: `${pending}-1`, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
            unchecked: true,
          })
        ).workflowId,
      expect: { reason: 'RETURN_QUANTITY_EXCEEDS_SHIPPED' },
    },
    {
      name: 'mirakl: the customer cancels the return straight away (cancelled, nothing refunded)',
      open: async () => {
        const r = await openMiraklReturn(stack, 'asos', {
          orderId: a.orderId,
          lines: [{ lineId: tee.lineId, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
          unchecked: true,
        });
        await stack.control.post(`/control/mirakl/asos/returns/${r.id}/cancel`);
        return r.workflowId;
      },
      expect: { outcome: 'CANCELLED, nothing refunded', check: (s) => s.status === 'CANCELLED' && !s.refund },
    },
    // ---- Reveni (a return the customer starts in Reveni's portal) ----
    {
      name: 'reveni: the refund stated in another currency',
      open: async () =>
        (
          await reveniCreate({
            orderExternalId: a.orderId,
            currency: 'EUR',
            items: [{ sku: 'TEE-RED-M', quantity: 1, reason: 'changed_mind' }],
          })
        ).workflowId,
      expect: { reason: 'RETURN_CURRENCY_MISMATCH' },
    },
    {
      name: 'reveni: a negative refund figure',
      open: async () => {
        const r = await reveniCreate({
          orderExternalId: a.orderId,
          items: [{ sku: 'TEE-RED-M', quantity: 1, reason: 'changed_mind' }],
        });
        await stack.control.put(`/control/reveni/${reveniStore(stack)}/returns/${r.id}/refund`, { amountMinor: -500 });
        return r.workflowId;
      },
      expect: { reason: 'RETURN_AMOUNT_INVALID' },
    },
    {
      name: 'reveni: a SKU that is not on the order',
      open: async () =>
        (
          await reveniCreate({
            orderExternalId: a.orderId,
            items: [{ sku: 'WELLY-RED-XL', quantity: 1, reason: 'changed_mind' }],
          })
        ).workflowId,
      expect: { reason: 'RETURN_LINE_UNKNOWN' },
    },
    {
      name: 'reveni: a reason missing from the table',
      open: async () =>
        (
          await reveniCreate({
            orderExternalId: a.orderId,
            items: [{ sku: 'TEE-RED-M', quantity: 1, reason: 'lost_interest' }],
          })
        ).workflowId,
      expect: { reason: 'RETURN_REASON_UNMAPPED' },
    },
    {
      name: 'reveni: the reason in capitals with spaces around (mapped after trimming)',
      open: async () =>
        (
          await reveniCreate({
            orderExternalId: a.orderId,
            items: [{ sku: 'SCARF-NAVY-S', quantity: 1, reason: ' CHANGED_MIND ' }],
          })
        ).workflowId,
      expect: {
        outcome: 'mapped, waiting for the goods',
        check: (s) => s.status === 'AWAITING_GOODS' && s.lines[0]?.normalisedReason === true,
      },
    },
    {
      name: 'reveni: zero units',
      open: async () =>
        (
          await reveniCreate({
            orderExternalId: a.orderId,
            items: [{ sku: 'TEE-RED-M', quantity: 0, reason: 'changed_mind' }],
          })
        ).workflowId,
      expect: { reason: 'RETURN_QUANTITY_INVALID' },
    },
    {
      name: 'reveni: an order Loopline never saw',
      open: async () =>
        (
          await reveniCreate({
            orderExternalId: `${stack.idPrefix}-NOBODY-A`,
            items: [{ sku: 'TEE-RED-M', quantity: 1, reason: 'changed_mind' }],
          })
        ).workflowId,
      expect: { reason: 'RETURN_ORDER_UNKNOWN' },
    },
    // ---- Peoplevox receipts (Return summary) ----
    {
      name: 'warehouse: more units booked than despatched',
      open: () => book(j.salesOrderNumber, [{ itemCode: 'DRESS-GREEN-S', quantity: 3, reason: 'Changed mind' }]),
      expect: { reason: 'RETURN_QUANTITY_EXCEEDS_SHIPPED' },
    },
    {
      name: 'warehouse: an item that is not on the order',
      open: () => book(j.salesOrderNumber, [{ itemCode: 'HOODIE-RED-M', quantity: 1, reason: 'Changed mind' }]),
      expect: { reason: 'RETURN_LINE_UNKNOWN' },
    },
    {
      name: 'warehouse: a reason missing from the table',
      open: () => book(j.salesOrderNumber, [{ itemCode: 'DRESS-GREEN-S', quantity: 1, reason: 'Lost in post' }]),
      expect: { reason: 'RETURN_REASON_UNMAPPED' },
    },
    {
      name: 'warehouse: zero units booked',
      open: () => book(j.salesOrderNumber, [{ itemCode: 'DRESS-GREEN-S', quantity: 0, reason: 'Changed mind' }]),
      expect: { reason: 'RETURN_QUANTITY_INVALID' },
    },
    {
      name: 'warehouse: the reason in odd case and spacing (mapped, refunded)',
      open: () =>
        book(jOdd.salesOrderNumber, [
          { itemCode: 'SKIRT-NAVY-M', quantity: 1, condition: 'new', reason: '  changed MIND ' },
        ]),
      expect: {
        outcome: 'refunded and closed',
        check: (s) => s.status === 'CLOSED' && s.refund !== undefined && s.restocks.length === 1,
      },
    },
    {
      name: 'warehouse: a receipt for a sales order no Loopline order owns (counted by the sweep, logged)',
      open: async () => {
        await stack.control.post('/control/peoplevox/test-client/returns', {
          salesOrderNumber: `MANUAL-${stack.idPrefix}`,
          items: [{ itemCode: 'TEE-RED-M', quantity: 1, reason: 'Changed mind' }],
          unchecked: true,
        });
        return undefined;
      },
      expect: { outcome: 'no return workflow; the receipt sweep counts it as unowned', checkSweep: true },
    },
  ];
  assert.ok(cases.length >= 20, `${cases.length} cases`);

  const opened = await Promise.all(cases.map(async (c) => ({ c, workflowId: await c.open() })));
  const results: string[] = [];
  for (const { c, workflowId } of opened) {
    if ('checkSweep' in c.expect) {
      await eventually(
        async () => {
          for await (const wf of env.client.workflow.list({
            query: 'WorkflowType = "returnReceiptsSweepWorkflow" AND ExecutionStatus = "Completed"',
          })) {
            const r = (await env.client.workflow.getHandle(wf.workflowId, wf.runId).result()) as { unowned: number };
            if (r.unowned > 0) return true;
          }
          return undefined;
        },
        30_000,
        c.name,
      );
      results.push(`${c.name}: ${c.expect.outcome}`);
      continue;
    }
    const expect = c.expect;
    const s = await waitForReturn(
      env,
      workflowId!,
      (x) => ('reason' in expect ? x.exception?.reason === expect.reason : expect.check(x)),
      c.name,
      45_000,
    ).catch(async (err: Error) => {
      const st = await env.client.workflow
        .getHandle(workflowId!)
        .query(returnStateQuery)
        .catch(() => undefined);
      throw new Error(`${c.name}: ${err.message}; state ${JSON.stringify(st)?.slice(0, 600)}`);
    });
    if ('reason' in expect) {
      assert.equal(s.exception!.owner, REASONS[expect.reason].owner, `${c.name}: owner`);
      assert.ok(!/\{\w+\}/.test(s.exception!.message), `${c.name}: every placeholder filled: ${s.exception!.message}`);
      assert.equal(s.refund, undefined, `${c.name}: nothing refunded`);
    }
    const d = await env.client.workflow.getHandle(workflowId!).describe();
    assert.ok(
      ['RUNNING', 'COMPLETED'].includes(d.status.name),
      `${c.name}: the workflow did not fail (${d.status.name})`,
    );
    results.push(`${c.name}: ${'reason' in expect ? expect.reason : expect.outcome}`);
  }
  // Nothing was refunded on the shipped ASOS order by any of these (the two mapped ones wait for goods).
  const refunds = await refundsOf(stack, 'asos', a.orderId);
  assert.deepEqual(Object.values(refunds).flat(), []);
  assert.equal(results.length, cases.length);
});
