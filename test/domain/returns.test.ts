// Returns, the pure part: reasons through the strict table, a return resolved against its order, the refund
// computed from the marketplace order to the minor unit, the look-before match and the dispute rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  computeRefund,
  findMatchingRefund,
  mapReason,
  refundDispute,
  resolveReturn,
  type OrderForReturn,
  type ReasonRow,
  type ReturnNotice,
} from '../../src/domain/returns';
import { ConfigSchema } from '../../src/config/schema';

const TABLE: ReasonRow[] = [
  { marketplace: 'RETURN_CHANGED_MIND', reveni: 'changed_mind', warehouse: 'Changed mind', disposition: 'restock' },
  {
    marketplace: 'RETURN_BROKEN_ITEM',
    reveni: 'defect',
    warehouse: 'Damaged',
    disposition: 'inspect',
    refundReason: '17',
  },
];

function order(over: Partial<OrderForReturn> = {}): OrderForReturn {
  return {
    orderId: 'O-1-A',
    currency: 'GBP',
    taxMode: 'TAX_INCLUDED',
    lines: [
      {
        lineId: 'O-1-A-1',
        offerSku: 'TEE-RED-M',
        quantity: 3,
        shipped: 3,
        unitPrice: 1000,
        originUnitPrice: 1200,
        price: 3000,
        shippingPrice: 100,
        taxes: [{ code: 'VAT20', amount: 500 }],
        shippingTaxes: [{ code: 'VAT20', amount: 17 }],
        refunds: [],
      },
      {
        lineId: 'O-1-A-2',
        offerSku: 'SCARF-NAVY-S',
        quantity: 1,
        shipped: 1,
        unitPrice: 2495,
        price: 2495,
        shippingPrice: 0,
        taxes: [],
        shippingTaxes: [],
        refunds: [],
      },
    ],
    ...over,
  };
}

function notice(lines: ReturnNotice['lines'], over: Partial<ReturnNotice> = {}): ReturnNotice {
  return {
    channel: 'asos',
    returnKey: 'mkp-R1',
    origin: 'marketplace',
    sourceId: 'R1',
    orderId: 'O-1-A',
    sourceState: 'WAITING_ACCEPTANCE',
    reason: 'RETURN_CHANGED_MIND',
    lines,
    updatedAt: '2026-01-01T00:00:00Z',
    ...over,
  };
}

const opts = { table: TABLE, itemCodeOf: (s: string) => s, resaleableConditions: ['NEW'] };

test('reasons map through the table trimmed and case-insensitively, and nothing else', () => {
  assert.equal(mapReason(TABLE, 'marketplace', 'RETURN_CHANGED_MIND')?.normalised, false);
  assert.equal(mapReason(TABLE, 'marketplace', ' return_changed_mind ')?.normalised, true);
  assert.equal(mapReason(TABLE, 'marketplace', 'RETURN CHANGED MIND'), undefined);
  assert.equal(mapReason(TABLE, 'reveni', 'DEFECT')?.row.disposition, 'inspect');
  assert.equal(mapReason(TABLE, 'warehouse', 'Lost in post'), undefined);
  assert.equal(mapReason(TABLE, 'marketplace', undefined), undefined);
});

test('the config refuses a catch-all reason row and a reason mapped twice', () => {
  const base = { channels: [] };
  assert.throws(() => ConfigSchema.parse({ ...base, returns: { reasons: [{ reveni: '*', disposition: 'restock' }] } }));
  assert.throws(() =>
    ConfigSchema.parse({
      ...base,
      returns: {
        reasons: [
          { marketplace: 'RETURN_OTHER', disposition: 'restock' },
          { marketplace: 'return_other', disposition: 'inspect' },
        ],
      },
    }),
  );
  assert.equal(ConfigSchema.parse({ ...base, returns: { reasons: TABLE } }).returns.reasons.length, 2);
});

test('a return resolves by line id or by SKU, with the reason row and its disposition', () => {
  const r = resolveReturn(notice([{ lineId: 'O-1-A-1', quantity: 2 }]), order(), opts);
  assert.ok('lines' in r);
  assert.deepEqual(
    r.lines.map((l) => [l.lineId, l.quantity, l.disposition]),
    [['O-1-A-1', 2, 'restock']],
  );
  const bySku = resolveReturn(
    notice([{ sku: 'scarf-navy-s', quantity: 1, reason: 'Damaged', condition: 'NEW' }], { origin: 'warehouse' }),
    order(),
    opts,
  );
  assert.ok('lines' in bySku);
  assert.equal(bySku.lines[0]!.lineId, 'O-1-A-2');
  assert.equal(bySku.lines[0]!.disposition, 'inspect');
});

test('goods in a condition that is not resaleable are inspected whatever the reason says', () => {
  const r = resolveReturn(
    notice([{ sku: 'TEE-RED-M', quantity: 1, reason: 'Changed mind', condition: 'DAMAGED' }], { origin: 'warehouse' }),
    order(),
    opts,
  );
  assert.ok('lines' in r);
  assert.equal(r.lines[0]!.disposition, 'inspect');
});

test('each malformed return is named: unknown line, zero or fractional units, more than shipped, unmapped reason', () => {
  const reasonOf = (lines: ReturnNotice['lines'], over: Partial<ReturnNotice> = {}, o = order()) => {
    const r = resolveReturn(notice(lines, over), o, opts);
    return 'problem' in r ? r.problem.reason : 'ok';
  };
  assert.equal(reasonOf([{ lineId: 'NOPE', quantity: 1 }]), 'RETURN_LINE_UNKNOWN');
  assert.equal(reasonOf([{ sku: 'NOPE', quantity: 1 }]), 'RETURN_LINE_UNKNOWN');
  assert.equal(reasonOf([{ lineId: 'O-1-A-1', quantity: 0 }]), 'RETURN_QUANTITY_INVALID');
  assert.equal(reasonOf([{ lineId: 'O-1-A-1', quantity: 1.5 }]), 'RETURN_QUANTITY_INVALID');
  assert.equal(reasonOf([{ lineId: 'O-1-A-1', quantity: -1 }]), 'RETURN_QUANTITY_INVALID');
  assert.equal(reasonOf([{ lineId: 'O-1-A-1', quantity: 4 }]), 'RETURN_QUANTITY_EXCEEDS_SHIPPED');
  assert.equal(reasonOf([{ lineId: 'O-1-A-1', quantity: 1 }], { reason: 'RETURN_WARRANTY' }), 'RETURN_REASON_UNMAPPED');
  assert.equal(reasonOf([], {}), 'RETURN_LINE_UNKNOWN');
  // Units already refunded (another return, the back office) are not returnable again.
  const refunded = order();
  refunded.lines[0]!.refunds = [{ id: 'x', quantity: 2, amount: 2000, shippingAmount: 0 }];
  assert.equal(reasonOf([{ lineId: 'O-1-A-1', quantity: 2 }], {}, refunded), 'RETURN_QUANTITY_EXCEEDS_SHIPPED');
  // Only what shipped can come back.
  const partly = order();
  partly.lines[0]!.shipped = 1;
  assert.equal(reasonOf([{ lineId: 'O-1-A-1', quantity: 2 }], {}, partly), 'RETURN_QUANTITY_EXCEEDS_SHIPPED');
});

test('the refund comes from the marketplace order: the promoted price, its taxes, and shipping by policy', () => {
  const r = computeRefund(
    order(),
    [{ lineId: 'O-1-A-1', quantity: 1 }],
    { shipping: 'none', defaultRefundReason: '18' },
    { returnId: 'R1' },
  );
  assert.ok('calculation' in r);
  const l = r.calculation.lines[0]!;
  assert.equal(l.amount, 1000); // the price paid after the promotion, not 1200
  assert.deepEqual(l.taxes, [{ code: 'VAT20', amount: 166 }]);
  assert.equal(l.shippingAmount, 0);
  assert.equal(r.calculation.totalMinor, 1000);
  assert.match(r.calculation.basis, /was GBP 12\.00; promotion kept/);
  const withShipping = computeRefund(
    order(),
    [{ lineId: 'O-1-A-1', quantity: 3 }],
    { shipping: 'proportional', defaultRefundReason: '18' },
    { returnId: 'R1' },
  );
  assert.ok('calculation' in withShipping);
  assert.equal(withShipping.calculation.lines[0]!.shippingAmount, 100);
  assert.deepEqual(withShipping.calculation.lines[0]!.shippingTaxes, [{ code: 'VAT20', amount: 17 }]);
});

test('a line returned in two goes refunds exactly its total, to the minor unit', () => {
  const o = order();
  o.lines[0]!.price = 1001;
  o.lines[0]!.taxes = [{ code: 'VAT20', amount: 167 }];
  const first = computeRefund(
    o,
    [{ lineId: 'O-1-A-1', quantity: 1 }],
    { shipping: 'proportional', defaultRefundReason: '18' },
    { returnId: 'A' },
  );
  assert.ok('calculation' in first);
  const f = first.calculation.lines[0]!;
  o.lines[0]!.refunds.push({ id: 'r1', quantity: 1, amount: f.amount, shippingAmount: f.shippingAmount });
  const second = computeRefund(
    o,
    [{ lineId: 'O-1-A-1', quantity: 2 }],
    { shipping: 'proportional', defaultRefundReason: '18' },
    { returnId: 'B' },
  );
  assert.ok('calculation' in second);
  const s = second.calculation.lines[0]!;
  assert.equal(f.amount + s.amount, 1001);
  assert.equal(f.taxes[0]!.amount + s.taxes[0]!.amount, 167);
  assert.equal(f.shippingAmount + s.shippingAmount, 100);
  assert.equal(s.refundedBefore, 1);
});

test('a refund above what was paid, or of units already refunded, is refused by name', () => {
  const o = order();
  o.lines[1]!.refunds = [{ id: 'bo', quantity: 0, amount: 2000, shippingAmount: 0 }];
  const r = computeRefund(
    o,
    [{ lineId: 'O-1-A-2', quantity: 1 }],
    { shipping: 'none', defaultRefundReason: '18' },
    { returnId: 'R' },
  );
  assert.ok('problem' in r);
  assert.equal(r.problem.reason, 'REFUND_EXCEEDS_PAID');
  const bad = order();
  bad.lines[0]!.price = -5;
  const n = computeRefund(
    bad,
    [{ lineId: 'O-1-A-1', quantity: 1 }],
    { shipping: 'none', defaultRefundReason: '18' },
    { returnId: 'R' },
  );
  assert.ok('problem' in n);
  assert.equal(n.problem.reason, 'RETURN_AMOUNT_INVALID');
});

test('look before refunding: only an unclaimed refund with the same quantity AND amount is this one', () => {
  const line = order().lines[0]!;
  line.refunds = [
    { id: 'a', quantity: 1, amount: 999, shippingAmount: 0 },
    { id: 'b', quantity: 2, amount: 1000, shippingAmount: 0 },
    { id: 'c', quantity: 1, amount: 1000, shippingAmount: 0 },
  ];
  const want = { quantity: 1, amount: 1000, shippingAmount: 0 };
  assert.equal(findMatchingRefund(line, want, new Set())?.id, 'c');
  assert.equal(findMatchingRefund(line, want, new Set(['c'])), undefined);
});

test('the returns platform figure is disputed beyond one minor unit', () => {
  assert.equal(refundDispute(1000, 1001), undefined);
  assert.equal(refundDispute(1000, 999), undefined);
  assert.deepEqual(refundDispute(1000, 1002), { difference: 2 });
  assert.deepEqual(refundDispute(1000, 750), { difference: -250 });
  assert.equal(refundDispute(1000, undefined), undefined);
});
