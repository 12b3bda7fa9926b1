// SBC11 and TL02 wire records → reconciliation records in integer minor units (the edge where Mirakl's
// decimals become money). `amount` is signed from the seller's side; when it disagrees with
// amount_credited − amount_debited, the credited/debited pair wins (docs/reconciliation.md, assumptions).
import { toMinor } from '../domain/money';
import type { SBC11Cycle, TL02Row } from '../connectors/mirakl/schemas';
import type { BillingCycle, TransactionRow } from './types';

export function toBillingCycle(c: SBC11Cycle): BillingCycle {
  const cur = c.currency_iso_code;
  return {
    id: c.id,
    currency: cur,
    dateCreated: c.date_created ?? undefined,
    transferredToSellerMinor: toMinor(c.amount_transferred_to_seller, cur),
    transferredToOperatorMinor:
      c.amount_transferred_to_operator === undefined || c.amount_transferred_to_operator === null
        ? undefined
        : toMinor(c.amount_transferred_to_operator, cur),
    payOutState: c.pay_out?.state ?? undefined,
    payOutReference: c.pay_out?.reference ?? undefined,
    paymentVoucherNumber: c.payment_voucher_number ?? undefined,
  };
}

export function toTransactionRow(r: TL02Row): TransactionRow {
  const cur = r.currency_iso_code;
  let amountMinor = toMinor(r.amount, cur);
  if (
    r.amount_credited !== undefined &&
    r.amount_credited !== null &&
    r.amount_debited !== undefined &&
    r.amount_debited !== null
  ) {
    const fromPair = toMinor(r.amount_credited, cur) - toMinor(r.amount_debited, cur);
    if (fromPair !== amountMinor) amountMinor = fromPair;
  }
  const e = r.entities ?? undefined;
  return {
    id: r.id,
    type: r.type,
    amountMinor,
    currency: cur,
    orderId: e?.order?.id ?? undefined,
    lineId: e?.order_line?.id ?? undefined,
    refundId: e?.refund?.id ?? undefined,
    feeCode: e?.fee?.code ?? e?.order_fee?.code ?? undefined,
    paymentState: r.payment_state ?? undefined,
    dateCreated: r.date_created ?? undefined,
  };
}
