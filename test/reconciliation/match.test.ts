// The pure matching of a billing cycle (src/reconciliation/match.ts) and the TL02 call budget.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findingLabels, journalLines, percentOf, reconcileCycle } from '../../src/reconciliation/match';
import { CallBudget } from '../../src/reconciliation/pacer';
import { toTransactionRow } from '../../src/reconciliation/mirakl';
import type { ReturnRefund, ShopifyOrderRecord, TransactionRow } from '../../src/reconciliation/types';

const terms = { ratePercent: 15, vatPercent: 20 };
const cycle = { id: 'c'.repeat(36), currency: 'GBP', transferredToSellerMinor: 0 };
let seq = 0;
const row = (type: string, amountMinor: number, orderId?: string, lineId?: string): TransactionRow => ({
  id: `r${++seq}`,
  type,
  amountMinor,
  currency: 'GBP',
  orderId,
  lineId,
});

/** The rows Mirakl bills for one line of `gross` pence with the contract commission. */
function billed(orderId: string, lineId: string, gross: number, shipping = 0, commissionDelta = 0): TransactionRow[] {
  const fee = percentOf(gross, 15);
  return [
    row('ORDER_AMOUNT', gross, orderId, lineId),
    ...(shipping ? [row('ORDER_SHIPPING_AMOUNT', shipping, orderId, lineId)] : []),
    row('COMMISSION_FEE', -(fee + commissionDelta), orderId, lineId),
    row('COMMISSION_VAT', -percentOf(fee, 20), orderId, lineId),
  ];
}

function shop(orderId: string, lines: Array<[string, number, number?]>, shipping = 0): ShopifyOrderRecord {
  return {
    miraklOrderId: orderId,
    shopifyOrderId: `gid://shopify/Order/${orderId}`,
    currency: 'GBP',
    shippingMinor: shipping,
    shippingRefundedMinor: 0,
    lines: lines.map(([lineId, amount, refunded]) => ({
      miraklLineId: lineId,
      quantity: 1,
      amountMinor: amount,
      taxMinor: Math.round(amount / 6),
      refundedMinor: refunded ?? 0,
    })),
  };
}

const run = (rows: TransactionRow[], orders: ShopifyOrderRecord[], transferred?: number) =>
  reconcileCycle({
    channel: 'asos',
    cycle: { ...cycle, transferredToSellerMinor: transferred ?? rows.reduce((n, r) => n + r.amountMinor, 0) },
    rows,
    shopify: new Map(orders.map((o) => [o.miraklOrderId, o])),
    terms,
  });

describe('matching a billing cycle', () => {
  test('a clean cycle matches every line, with no findings', () => {
    const rows = [...billed('O1', 'O1-1', 4000, 395), ...billed('O1', 'O1-2', 1999), ...billed('O2', 'O2-1', 2500)];
    const r = run(rows, [
      shop(
        'O1',
        [
          ['O1-1', 4000],
          ['O1-2', 1999],
        ],
        395,
      ),
      shop('O2', [['O2-1', 2500]]),
    ]);
    assert.equal(r.matched.length, 3);
    assert.deepEqual(r.differences, []);
    assert.deepEqual(r.unmatchedMirakl, []);
    assert.deepEqual(r.unmatchedShopify, []);
    assert.ok(Object.values(r.counts).every((n) => n === 0));
  });

  test('a difference of one minor unit is rounding, two is a difference', () => {
    const rows = [...billed('O1', 'O1-1', 4000, 0, 1), ...billed('O2', 'O2-1', 4000, 0, -2)];
    const r = run(rows, [shop('O1', [['O1-1', 4001]]), shop('O2', [['O2-1', 3999]])]);
    assert.deepEqual(
      r.differences.map((d) => [d.orderId, d.field, d.differenceMinor]),
      [['O2', 'commission', -2]],
    );
    assert.equal(r.counts.PAYOUT_COMMISSION_DIFFERENCE, 1);
    assert.equal(r.counts.PAYOUT_AMOUNT_DIFFERENCE, 0);
  });

  test('a commission anomaly is one finding (VAT is checked against the contract commission)', () => {
    const r = run(billed('O1', 'O1-1', 10000, 0, 150), [shop('O1', [['O1-1', 10000]])]);
    assert.equal(r.differences.length, 1);
    assert.deepEqual(
      {
        field: r.differences[0]!.field,
        mirakl: r.differences[0]!.miraklMinor,
        expected: r.differences[0]!.expectedMinor,
      },
      { field: 'commission', mirakl: 1650, expected: 1500 },
    );
  });

  test('an order Shopify does not have is unmatched on the Mirakl side; a line not billed on the Shopify side', () => {
    const rows = [...billed('O1', 'O1-1', 1000), ...billed('O9', 'O9-1', 500), ...billed('O9', 'O9-2', 700)];
    const r = run(rows, [
      shop('O1', [
        ['O1-1', 1000],
        ['O1-2', 1200],
      ]),
    ]);
    assert.deepEqual(
      r.unmatchedMirakl.map((u) => [u.orderId, u.lineId, u.why]),
      [
        ['O9', 'O9-1', 'ORDER_NOT_IN_SHOPIFY'],
        ['O9', 'O9-2', 'ORDER_NOT_IN_SHOPIFY'],
      ],
    );
    assert.deepEqual(
      r.unmatchedShopify.map((u) => [u.orderId, u.lineId, u.amountMinor]),
      [['O1', 'O1-2', 1200]],
    );
    assert.equal(r.counts.PAYOUT_ORDER_NOT_IN_SHOPIFY, 2);
    assert.equal(r.counts.PAYOUT_LINE_NOT_BILLED, 1);
    assert.deepEqual(r.differences, []);
  });

  test('refunds are compared with Shopify, and the commission given back with the contract', () => {
    const refund = (orderId: string, lineId: string, amount: number, feeBack = percentOf(amount, 15)) => [
      row('REFUND_ORDER_AMOUNT', -amount, orderId, lineId),
      row('REFUND_COMMISSION_FEE', feeBack, orderId, lineId),
      row('REFUND_COMMISSION_VAT', percentOf(percentOf(amount, 15), 20), orderId, lineId),
    ];
    const rows = [
      ...billed('O1', 'O1-1', 3000),
      ...refund('O1', 'O1-1', 3000),
      ...billed('O2', 'O2-1', 3000),
      ...refund('O2', 'O2-1', 1500),
      ...billed('O3', 'O3-1', 3000),
      ...refund('O3', 'O3-1', 1000, 100),
    ];
    const r = run(rows, [
      shop('O1', [['O1-1', 3000, 3000]]),
      shop('O2', [['O2-1', 3000, 1000]]),
      shop('O3', [['O3-1', 3000, 1000]]),
    ]);
    assert.deepEqual(
      r.differences.map((d) => [d.orderId, d.field, d.miraklMinor, d.expectedMinor]),
      [
        ['O2', 'refund', 1500, 1000],
        ['O3', 'refundCommission', 100, 150],
      ],
    );
    assert.equal(r.refunds.length, 3);
    assert.equal(r.totals.refundsMinor, 5500);
  });

  test('shipping is compared per order; fees are reported, not matched; the payout total is checked', () => {
    const rows = [
      ...billed('O1', 'O1-1', 1000, 200),
      ...billed('O1', 'O1-2', 1000, 195),
      row('SUBSCRIPTION_FEE', -2500),
      row('SUBSCRIPTION_VAT', -500),
    ];
    const r = run(
      rows,
      [
        shop(
          'O1',
          [
            ['O1-1', 1000],
            ['O1-2', 1000],
          ],
          395,
        ),
      ],
      1,
    );
    assert.equal(r.fees.length, 2);
    assert.deepEqual(
      r.differences.map((d) => [d.field, d.kind]),
      [['payout', 'PAYOUT_TOTAL_MISMATCH']],
    );
    const r2 = run(rows, [
      shop(
        'O1',
        [
          ['O1-1', 1000],
          ['O1-2', 1000],
        ],
        600,
      ),
    ]);
    assert.deepEqual(
      r2.differences.map((d) => [d.orderId, d.field, d.miraklMinor, d.expectedMinor]),
      [['O1', 'shipping', 395, 600]],
    );
  });

  test('journal lines balance and name gross sales, commission, commission VAT, refunds, fees, net payout', () => {
    const rows = [
      ...billed('O1', 'O1-1', 10000, 500),
      row('REFUND_ORDER_AMOUNT', -2000, 'O1', 'O1-1'),
      row('REFUND_COMMISSION_FEE', 300, 'O1', 'O1-1'),
      row('REFUND_COMMISSION_VAT', 60, 'O1', 'O1-1'),
      row('SUBSCRIPTION_FEE', -1000),
    ];
    const r = run(rows, [shop('O1', [['O1-1', 10000, 2000]], 500)]);
    const j = Object.fromEntries(r.journal.map((l) => [l.account, l]));
    assert.equal(j.GROSS_SALES!.creditMinor, 10500);
    assert.equal(j.COMMISSION!.debitMinor, 1500 - 300);
    assert.equal(j.COMMISSION_VAT!.debitMinor, 300 - 60);
    assert.equal(j.REFUNDS!.debitMinor, 2000);
    assert.equal(j.FEES!.debitMinor, 1000);
    assert.equal(j.NET_PAYOUT!.debitMinor, r.totals.rowsSumMinor);
    const debit = r.journal.reduce((n, l) => n + l.debitMinor, 0);
    const credit = r.journal.reduce((n, l) => n + l.creditMinor, 0);
    assert.equal(debit, credit);
    assert.deepEqual(
      journalLines({ id: 'x' }, { GROSS_SALES: 0, COMMISSION: 0, COMMISSION_VAT: 0, REFUNDS: 0, FEES: 0 }).length,
      6,
    );
  });

  test('TL02 rows: decimals become minor units, credited/debited wins over a mis-signed amount', () => {
    const base = {
      id: 'a',
      type: 'COMMISSION_FEE',
      currency_iso_code: 'GBP',
      entities: { order: { id: 'O1' }, order_line: { id: 'O1-1' } },
    };
    assert.equal(
      toTransactionRow({ ...base, amount: -6.01, amount_credited: 0, amount_debited: 6.01 }).amountMinor,
      -601,
    );
    // The MS example shows REFUND_ORDER_AMOUNT as +1 credited; trust the pair.
    assert.equal(toTransactionRow({ ...base, amount: 1, amount_credited: 0, amount_debited: 1 }).amountMinor, -100);
    const r = toTransactionRow({ ...base, amount: '19.99' });
    assert.deepEqual([r.amountMinor, r.orderId, r.lineId], [1999, 'O1', 'O1-1']);
  });
});

describe('TL02 call budget', () => {
  test('never lets more than 20 calls into a minute nor 60 into an hour', () => {
    const budget = new CallBudget(
      [
        { max: 20, windowMs: 60_000 },
        { max: 60, windowMs: 3_600_000 },
      ],
      0,
    );
    let now = 0;
    const calls: number[] = [];
    while (calls.length < 130) {
      now += budget.waitMs(now);
      budget.record(now);
      calls.push(now);
      now += 10; // each call takes 10 ms
    }
    const maxIn = (w: number) => Math.max(...calls.map((t) => calls.filter((u) => u >= t && u < t + w).length));
    assert.equal(maxIn(60_000), 20);
    assert.equal(maxIn(3_600_000), 60);
    // 130 calls take a little over two hours, and no more.
    assert.ok(calls.at(-1)! >= 2 * 3_600_000 && calls.at(-1)! < 2 * 3_600_000 + 120_000, String(calls.at(-1)));
  });

  test('a call counts from its end once it ended: the server may have taken it as late as that', () => {
    const budget = new CallBudget([{ max: 1, windowMs: 1_000 }], 0);
    const sentAt = budget.record(0);
    assert.equal(budget.waitMs(0), 1_000, 'from the send while it is in flight');
    budget.ended(sentAt, 400); // the call took 400 ms
    assert.equal(budget.waitMs(400), 1_000, 'a whole window from its end');
    assert.equal(budget.waitMs(1_399), 1);
    assert.equal(budget.waitMs(1_400), 0);
  });
});

describe('refunds on the payout against the refunds returns made (every route)', () => {
  const refundRows = (orderId: string, lineId: string, refundId: string | undefined, goods: number, shipping = 0) => {
    const fee = percentOf(goods, 15);
    return [
      { ...row('REFUND_ORDER_AMOUNT', -goods, orderId, lineId), refundId },
      ...(shipping ? [{ ...row('REFUND_ORDER_SHIPPING_AMOUNT', -shipping, orderId, lineId), refundId }] : []),
      { ...row('REFUND_COMMISSION_FEE', fee, orderId, lineId), refundId },
      { ...row('REFUND_COMMISSION_VAT', percentOf(fee, 20), orderId, lineId), refundId },
    ];
  };
  const closes = Date.parse('2026-03-31T00:00:00Z');
  const opened = Date.parse('2026-03-01T00:00:00Z');
  const inCycle = closes - 86_400_000;
  const known = (orderId: string, lineId: string, refundId: string, amountMinor: number, at = inCycle) => ({
    orderId,
    lineId,
    refundId,
    returnWorkflowId: `return:asos:marketplace-${refundId}`,
    amountMinor,
    at,
    how: 'sent' as const,
  });
  const runReturns = (rows: TransactionRow[], refunds: ReturnRefund[]) =>
    reconcileCycle({
      channel: 'asos',
      cycle: {
        ...cycle,
        transferredToSellerMinor: rows.reduce((n, r) => n + r.amountMinor, 0),
        dateCreated: new Date(closes).toISOString(),
        previousDateCreated: new Date(opened).toISOString(),
      },
      rows,
      // A Peoplevox route: no Shopify side.
      returnRefunds: refunds,
      terms,
    });

  test('a Peoplevox route: refunds matched by refund id (goods + shipping), a penny of rounding accepted, no finding', () => {
    const rows = [
      ...billed('O1', 'O1-1', 4000, 395),
      ...refundRows('O1', 'O1-1', 'RF1', 2000, 395),
      ...billed('O2', 'O2-1', 2999),
      ...refundRows('O2', 'O2-1', 'RF2', 1500),
    ];
    const r = runReturns(rows, [known('O1', 'O1-1', 'RF1', 2395), known('O2', 'O2-1', 'RF2', 1499)]);
    assert.deepEqual(r.differences, []);
    assert.ok(
      Object.values(r.counts).every((n) => n === 0),
      JSON.stringify(r.counts),
    );
    assert.equal(r.matched.length, 2, 'lines checked against the contract without Shopify');
    assert.equal(r.matched[0]!.shopifyOrderId, undefined);
    assert.deepEqual(
      r.returnRefunds.map((x) => [x.refundId, x.payoutMinor, x.returnMinor]),
      [
        ['RF1', 2395, 2395],
        ['RF2', 1500, 1499],
      ],
    );
    assert.deepEqual(r.unmatchedMirakl, [], 'no Shopify side: nothing is "not in Shopify"');
  });

  test('a refund no return made, a return refund the payout lacks, and an amount two pence off are three named findings', () => {
    const rows = [
      ...billed('O1', 'O1-1', 4000),
      ...refundRows('O1', 'O1-1', 'RF-BACKOFFICE', 700),
      ...billed('O2', 'O2-1', 3000),
      ...refundRows('O2', 'O2-1', 'RF2', 1502),
      ...billed('O3', 'O3-1', 2000),
    ];
    const r = runReturns(rows, [known('O2', 'O2-1', 'RF2', 1500), known('O3', 'O3-1', 'RF3', 2000)]);
    assert.equal(r.counts.PAYOUT_REFUND_NOT_RETURNED, 1);
    assert.equal(r.counts.PAYOUT_RETURN_REFUND_MISSING, 1);
    assert.equal(r.counts.PAYOUT_RETURN_REFUND_DIFFERENCE, 1);
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.orderId, d.refundId, d.miraklMinor, d.expectedMinor, d.differenceMinor]),
      [['PAYOUT_RETURN_REFUND_DIFFERENCE', 'O2', 'RF2', 1502, 1500, 2]],
    );
    const fmt = (n: number) => (n / 100).toFixed(2);
    assert.deepEqual(findingLabels(r, 'PAYOUT_REFUND_NOT_RETURNED', fmt), ['O1/O1-1 refund RF-BACKOFFICE 7.00']);
    assert.deepEqual(findingLabels(r, 'PAYOUT_RETURN_REFUND_MISSING', fmt), ['O3/O3-1 refund RF3 20.00']);
    assert.deepEqual(findingLabels(r, 'PAYOUT_RETURN_REFUND_DIFFERENCE', fmt), [
      'O2/O2-1 refund RF2 returnRefund 15.02 vs 15.00',
    ]);
  });

  test("a return refund is expected only in its cycle's period, and only for the cycle's orders", () => {
    const rows = [...billed('O1', 'O1-1', 4000), ...billed('O2', 'O2-1', 3000)];
    const r = runReturns(rows, [
      known('O1', 'O1-1', 'RF-LATER', 1000, closes + 1), // made after the cycle: the next one's
      known('O1', 'O1-1', 'RF-EARLIER', 1000, opened), // made before the previous cycle: an earlier one's
      known('O9', 'O9-1', 'RF-OTHER', 1000), // an order this cycle does not bill
    ]);
    assert.equal(r.counts.PAYOUT_RETURN_REFUND_MISSING, 0);
    assert.deepEqual(r.returnRefunds, []);
    // Yet a refund made after the cycle that the payout does carry is matched, not a finding.
    const r2 = runReturns(
      [...rows, ...refundRows('O1', 'O1-1', 'RF-LATER', 1000)],
      [known('O1', 'O1-1', 'RF-LATER', 1000, closes + 1)],
    );
    assert.ok(
      Object.values(r2.counts).every((n) => n === 0),
      JSON.stringify(r2.counts),
    );
  });

  test('a return refund the payout lacks is no finding while the marketplace has not completed it', () => {
    const rows = [...billed('O1', 'O1-1', 4000), ...billed('O2', 'O2-1', 3000)];
    const r = runReturns(rows, [
      { ...known('O1', 'O1-1', 'RF1', 1000), marketplaceState: 'WAITING_REFUND_PAYMENT' },
      { ...known('O2', 'O2-1', 'RF2', 1000), marketplaceState: 'REFUNDED' },
    ]);
    assert.equal(r.counts.PAYOUT_RETURN_REFUND_MISSING, 1);
    assert.deepEqual(
      r.returnRefunds.map((x) => [x.refundId, x.pendingState]),
      [
        ['RF1', 'WAITING_REFUND_PAYMENT'],
        ['RF2', undefined],
      ],
    );
    assert.deepEqual(findingLabels(r, 'PAYOUT_RETURN_REFUND_MISSING', String), ['O2/O2-1 refund RF2 1000']);
  });

  test('payout refund rows without a refund id are matched to a return refund of the same line, nearest amount first', () => {
    const rows = [
      ...billed('O1', 'O1-1', 4000),
      ...refundRows('O1', 'O1-1', undefined, 1000),
      ...billed('O2', 'O2-1', 4000),
      ...refundRows('O2', 'O2-1', undefined, 999),
    ];
    const r = runReturns(rows, [known('O1', 'O1-1', 'RF1', 1000), known('O2', 'O2-1', 'RF2', 500)]);
    assert.equal(r.counts.PAYOUT_REFUND_NOT_RETURNED, 0);
    assert.equal(r.counts.PAYOUT_RETURN_REFUND_MISSING, 0);
    assert.equal(r.counts.PAYOUT_RETURN_REFUND_DIFFERENCE, 1, 'O2: 9.99 on the payout, 5.00 refunded');
    assert.deepEqual(
      r.returnRefunds.map((x) => [x.orderId, x.refundId, x.payoutMinor, x.returnMinor]),
      [
        ['O1', 'RF1', 1000, 1000],
        ['O2', 'RF2', 999, 500],
      ],
    );
  });

  test('channels without returns compare no refund with returns (the Shopify comparison stays as it was)', () => {
    const rows = [...billed('O1', 'O1-1', 4000), ...refundRows('O1', 'O1-1', 'RF1', 1000)];
    const r = run(rows, [shop('O1', [['O1-1', 4000, 1000]])]);
    assert.deepEqual(r.returnRefunds, []);
    assert.ok(
      Object.values(r.counts).every((n) => n === 0),
      JSON.stringify(r.counts),
    );
  });
});
