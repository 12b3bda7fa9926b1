// The Marketplacer refund port (activities/marketplacer-refund.ts) with the real Seller API client against the
// Marketplacer simulator: what a return may refund is read from the invoice (shipped units, returns already
// requested, cancellations not counted, postage refunds on the first line), a refund request is made once per
// return whatever is retried, and what carries this return's key but is not this refund is refused by name.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import axios, { type AxiosInstance } from 'axios';
import pino from 'pino';
import { ApplicationFailure } from '@temporalio/common';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { marketplacerSimulator } from '../../src/sandbox/marketplacer';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { MarketplacerClient } from '../../src/connectors/marketplacer/client';
import { marketplacerRefundPort } from '../../activities/marketplacer-refund';
import type { ChannelConfig } from '../../src/config/schema';
import { computeRefund, type OrderForReturn } from '../../src/domain/returns';
import { refundKey } from '../../src/domain/keys';

const KEY = 'test-marketplacer-key';
const log = pino({ level: 'silent' });
let sandbox: RunningSandbox;
let control: AxiosInstance;
let client: MarketplacerClient;
// A channel as the port reads it: code, currency, skuMap and the marketplacer block (defaults when absent).
const ch = {
  code: 'mkp',
  currency: 'GBP',
  skuMap: {},
  marketplacer: { returnReason: 'Returned by customer', returnReasons: { '17': 'Faulty or damaged' } },
} as unknown as ChannelConfig;
const port = () => marketplacerRefundPort({ marketplacer: () => client, log });

before(async () => {
  sandbox = await startSandbox({ log, port: 0, timeScale: 600 }, [
    marketplacerSimulator({ channel: 'mkp', apiKey: KEY, catalogue: sandboxCatalogue({ stock: 10 }) }),
  ]);
  control = axios.create({ baseURL: `${sandbox.url}/control/marketplacer/mkp` });
  client = new MarketplacerClient({
    baseUrl: `${sandbox.url}/marketplacer/mkp`,
    apiKey: KEY,
    log,
    lanes: { orders: 100, stock: 100 },
  });
});
after(async () => {
  await sandbox?.close();
});

interface SimInvoice {
  invoiceId: string;
  legacyId: number;
  lineItems: Array<{ id: string; variantSku: string }>;
  refundRequests: Array<{ id: string; lineItems: Array<{ quantity: number; dispatched: boolean | null }> }>;
}

/** An invoice with TEE-RED-M ×3 (2 shipped, 1 cancelled) and SCARF-NAVY-S ×1 (shipped), postage 395. */
async function shippedInvoice(): Promise<SimInvoice> {
  const inv = (
    await control.post('/invoices', {
      lines: [
        { sku: 'TEE-RED-M', quantity: 3, unitPriceCents: 1999 },
        { sku: 'SCARF-NAVY-S', quantity: 1, unitPriceCents: 2450 },
      ],
      postageCents: 395,
    })
  ).data as SimInvoice;
  const [tee, scarf] = inv.lineItems as [SimInvoice['lineItems'][0], SimInvoice['lineItems'][0]];
  const carrier = (await client.shipmentCarriers())[0]!.id;
  const shipped = await client.shipmentCreate({
    invoiceId: inv.invoiceId,
    shippedItems: [
      { lineItemId: tee.id, quantity: 2 },
      { lineItemId: scarf.id, quantity: 1 },
    ],
    postageCarrierId: carrier,
    dispatchedAt: new Date(Date.now() + 5000).toISOString(),
    trackingNumber: 'T-1',
  });
  assert.deepEqual(shipped.errors, []);
  await control.post(`/invoices/${inv.legacyId}/cancel`, { lines: [{ sku: 'TEE-RED-M', quantity: 1 }] });
  return inv;
}

const lineRefunds = (
  order: OrderForReturn,
  lines: Array<{ lineId: string; quantity: number; refundReason?: string }>,
) => {
  const r = computeRefund(order, lines, { shipping: 'proportional', defaultRefundReason: '18' }, { returnId: 'R' });
  assert.ok('calculation' in r);
  return r.calculation.lines;
};
const invoiceNow = async (legacyId: number) => (await control.get(`/invoices/${legacyId}`)).data as SimInvoice;

describe('Marketplacer refund port', () => {
  test('the invoice as a return reads it, one request per return with dispatched: true, found again instead of sent twice', async () => {
    const inv = await shippedInvoice();
    const [tee, scarf] = inv.lineItems as [SimInvoice['lineItems'][0], SimInvoice['lineItems'][0]];
    const p = port();
    const order = (await p.readOrder(ch, String(inv.legacyId)))!;
    assert.deepEqual(
      order.lines.map((l) => [l.offerSku, l.quantity, l.shipped, l.price, l.shippingPrice, l.refunds.length]),
      [
        ['TEE-RED-M', 3, 2, 5997, 395, 0],
        ['SCARF-NAVY-S', 1, 1, 2450, 0, 0],
      ],
      'shipped units from the shipments; the cancelled unit is not a refund of shipped goods',
    );
    const lines = lineRefunds(order, [
      { lineId: tee.id, quantity: 1 },
      { lineId: scarf.id, quantity: 1, refundReason: '17' },
    ]);
    const ctx = { returnKey: 'wh-RET1', returnId: 'RET1' };
    const ids = await p.sendRefunds(ch, order, lines, ctx);
    const after = await invoiceNow(inv.legacyId);
    const returns = after.refundRequests.filter((r) => r.lineItems.some((l) => l.dispatched === true));
    assert.equal(returns.length, 1);
    // Read back: each line's refund carries this return's keys and Marketplacer's own amount; the postage
    // share (a third of 395 for one of the tee line's three units) sits on the first line as money, no units.
    const again = (await p.readOrder(ch, String(inv.legacyId)))!;
    const teeRefunds = again.lines[0]!.refunds;
    assert.deepEqual(
      teeRefunds.map((r) => [r.quantity, r.amount, r.shippingAmount]),
      [
        [1, 1999, 0],
        [0, 0, 131],
      ],
    );
    assert.equal(teeRefunds[0]!.id, ids[tee.id]);
    assert.ok(teeRefunds[0]!.keys?.includes(refundKey('mkp', 'wh-RET1', tee.id)));
    assert.equal(again.lines[1]!.refunds[0]!.id, ids[scarf.id]);
    // The same refund sent again (a retry after a lost answer): found by its keys, nothing new.
    assert.deepEqual(await p.sendRefunds(ch, order, lines, ctx), ids);
    assert.equal((await invoiceNow(inv.legacyId)).refundRequests.length, after.refundRequests.length);
  });

  test("a request with this return's key but other units is REFUND_REJECTED, and so is Marketplacer's refusal; nothing is sent", async () => {
    const inv = await shippedInvoice();
    const [tee] = inv.lineItems as [SimInvoice['lineItems'][0]];
    const p = port();
    const order = (await p.readOrder(ch, String(inv.legacyId)))!;
    const ctx = { returnKey: 'wh-RET2', returnId: 'RET2' };
    await p.sendRefunds(ch, order, lineRefunds(order, [{ lineId: tee.id, quantity: 1 }]), ctx);
    const count = (await invoiceNow(inv.legacyId)).refundRequests.length;
    const rejected = async (fn: () => Promise<unknown>, pattern: RegExp) =>
      assert.rejects(fn, (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'REFUND_REJECTED');
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, pattern);
        return true;
      });
    await rejected(
      () => p.sendRefunds(ch, order, lineRefunds(order, [{ lineId: tee.id, quantity: 2 }]), ctx),
      /carries this return's key but holds .* ×1, not .* ×2/,
    );
    // Another return asking for more units than are left shipped: Marketplacer's errors { field messages }.
    await rejected(
      () =>
        p.sendRefunds(ch, order, lineRefunds(order, [{ lineId: tee.id, quantity: 2 }]), {
          returnKey: 'wh-RET3',
          returnId: 'RET3',
        }),
      /lineItems: Quantity is greater than the quantity dispatched/,
    );
    assert.equal((await invoiceNow(inv.legacyId)).refundRequests.length, count, 'nothing more sent');
  });
});
