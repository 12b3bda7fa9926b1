// Marketplacer returns through the sandbox on a real Temporal server (issue 14, part 5): an invoice placed on the
// Marketplacer simulator reaches Peoplevox and ships; the warehouse books a return in (the Peoplevox simulator's
// Return summary and Returns event); Loopline sends exactly one refundRequestCreate with dispatched: true for
// the returned units, even when the first answer is lost. Assertions are on what the simulators hold.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually, maybeRecordHistory, startTestEnv } from '../support/temporal';
import { MKP, startStack, type Stack } from '../support/stack';
import { REASONS_YAML, waitForReturn } from '../support/returns';
import { refundKey, returnWorkflowId } from '../../src/domain/keys';
import { returnKeyOf } from '../../src/domain/returns';

let env: TestWorkflowEnvironment;
let stack: Stack;
const base = `/control/marketplacer/${MKP}`;

before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, {
    extraYaml: REASONS_YAML,
    marketplacer: {
      returns: 'warehouse',
      // The order stays open for its returns (a return's refund goes through it, one at a time per order).
      returnWindowDays: 30,
      // The returned units' share of the postage goes back too (a custom line: a line item's request is goods only).
      returnPolicy: { shipping: 'proportional' },
      // Marketplacer takes words: the reason table's refund reason 17 (Damaged, Faulty) in the channel's words.
      marketplacer: { returnReasons: { '17': 'Faulty or damaged' } },
    },
  });
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

interface RefundRequest {
  id: string;
  status: string;
  notes: Array<{ note: string }>;
  externalIds: Array<{ key: string; value: string }>;
  lineItems: Array<{
    id: string;
    quantity: number;
    dispatched: boolean | null;
    reason: string | null;
    custom: string | null;
    amountCents: number;
    lineItem: { id: string } | null;
  }>;
}
interface Invoice {
  legacyId: number;
  statusFlags: string[];
  lineItems: Array<{ id: string; variantSku: string; quantity: number; unitPriceCents: number }>;
  refundRequests: RefundRequest[];
}

const invoice = async (legacyId: number): Promise<Invoice> =>
  (await stack.control.get(`${base}/invoices/${legacyId}`)).data as Invoice;

describe('Marketplacer returns → refundRequestCreate (dispatched: true)', () => {
  test('a return booked in at Peoplevox gives exactly one refund request for those lines, a lost answer included', async () => {
    const { legacyId } = (
      await stack.control.post(`${base}/invoices`, {
        // Workflow ids are order:mkp:<legacyId> on a server other test files share: a number of this stack's own
        // (the simulator's sequence starts at the same number in every stack).
        legacyId: 5_000_000 + Number.parseInt(stack.idPrefix.slice(1, 6), 16),
        buyer: { firstName: 'Ines', surname: 'Abara-Lund', email: 'ines.al@example.net' },
        shippingAddress: { address: '4 Mill Lane', city: 'York', postcode: 'YO1 7HH', countryCode: 'GB' },
        lines: [
          { sku: 'TEE-RED-M', quantity: 2, unitPriceCents: 1999 },
          { sku: 'SCARF-NAVY-S', quantity: 1, unitPriceCents: 2450 },
        ],
        postageCents: 395,
      })
    ).data as { legacyId: number };
    const son = `MKP-${legacyId}`;
    await eventually(
      async () => {
        const { data } = await stack.control.get(`/control/peoplevox/test-client/orders/${son}`);
        return (data as { items: unknown[] }).items.length === 2 ? data : undefined;
      },
      30_000,
      `${son} in Peoplevox`,
    );
    await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, {
      parcels: [{ carrier: 'DPD', trackingNumber: 'DPD-MKR-1' }],
    });
    const sent = await eventually(
      async () => {
        const inv = await invoice(legacyId);
        return inv.statusFlags.includes('SENT') ? inv : undefined;
      },
      30_000,
      'SENT on Marketplacer',
    );
    const [tee, scarf] = sent.lineItems as [Invoice['lineItems'][0], Invoice['lineItems'][0]];

    // The first refundRequestCreate is made at Marketplacer, and its answer never arrives.
    await stack.control.put('/control/faults/marketplacer', {
      rules: [{ endpoint: 'refundRequestCreate', tenant: MKP, kind: 'lostResponse', count: 1 }],
    });
    const { data } = await stack.control.post('/control/peoplevox/test-client/returns', {
      salesOrderNumber: son,
      items: [
        { itemCode: 'TEE-RED-M', quantity: 1, condition: 'NEW', reason: 'Changed mind' },
        { itemCode: 'SCARF-NAVY-S', quantity: 1, condition: 'DAMAGED', reason: 'Damaged' },
      ],
    });
    const returnCode = (data as { returnCode: string }).returnCode;
    const returnKey = returnKeyOf('warehouse', returnCode);
    const workflowId = returnWorkflowId(MKP, returnKey);
    const s = await waitForReturn(env, workflowId, (x) => x.status === 'CLOSED', 'the return refunded and closed');
    const faults = (await stack.control.get('/control/faults/marketplacer')).data as {
      fired: Record<string, number>;
    };
    await stack.control.delete('/control/faults/marketplacer');
    assert.equal(faults.fired.lostResponse, 1, 'the first answer was lost');

    // Exactly one refund request, with dispatched: true for the returned units of those lines, and the postage
    // share (the tee's line carries the invoice's postage: half of 395 for one of its two units) as a custom line.
    const after = await invoice(legacyId);
    assert.equal(after.refundRequests.length, 1, 'one refund request, not two');
    const rr = after.refundRequests[0]!;
    assert.deepEqual(
      rr.lineItems.map((l) => [l.lineItem?.id ?? l.custom, l.quantity, l.dispatched, l.reason, l.amountCents]),
      [
        [tee.id, 1, true, 'Returned by customer', 1999],
        [scarf.id, 1, true, 'Faulty or damaged', 2450],
        ['Postage', 1, null, null, 197],
      ],
    );
    // Tagged with one key per returned line: how the retry after the lost answer found it.
    assert.deepEqual(
      rr.externalIds,
      [tee.id, scarf.id].map((id) => ({ key: 'loopline', value: refundKey(MKP, returnKey, id) })),
    );
    assert.ok(after.statusFlags.includes('AWAITING_RETURN'), after.statusFlags.join(','));
    const creates = (
      await stack.control.get('/control/calls', { params: { system: 'marketplacer', endpoint: 'refundRequestCreate' } })
    ).data as { calls: unknown[] };
    assert.equal(creates.calls.length, 1, 'never sent again after the lost answer');

    // The refund on the return: Loopline's figure (integer minor units, the units' share of each line and of the
    // postage), noted on the request for audit; Marketplacer states the goods alone per line (amountCents).
    assert.equal(s.refund?.calculation.totalMinor, 1999 + 197 + 2450);
    // The retry after the lost answer found the request by its keys and recorded it, sending nothing (by amount
    // alone it would not have: Marketplacer's line figure leaves the postage out).
    assert.deepEqual(s.refund?.found, [tee.id, scarf.id]);
    assert.deepEqual(s.refund?.sent, []);
    assert.deepEqual(s.refund?.refundIds, { [tee.id]: rr.lineItems[0]!.id, [scarf.id]: rr.lineItems[1]!.id });
    assert.match(
      rr.notes[0]!.note,
      /Refund computed by Loopline: TEE-RED-M ×1 = GBP 19\.99, SCARF-NAVY-S ×1 = GBP 24\.50, shipping GBP 1\.97; total GBP 46\.46/,
    );
    // The tee goes back on sale; the damaged scarf is inspected.
    assert.deepEqual(
      s.restocks.map((r) => [r.itemCode, r.units]),
      [['TEE-RED-M', 1]],
    );
    await maybeRecordHistory(env.client.workflow.getHandle(workflowId), 'return-warehouse-marketplacer-restock-first');
  });
});
