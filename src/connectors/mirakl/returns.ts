// Mirakl returns on the wire (RT11 and the RT2x writes; mirakl-seller-openapi.json, tag Returns) and their
// mapping to Loopline's ReturnNotice, plus the marketplace order as a return needs it (OrderForReturn).
// Loose like the order schemas: an odd return (a line quantity of 0, a reason in odd case) must reach the
// return workflow, which names the problem, rather than fail here.
import { z } from 'zod';
import { toMinor } from '../../domain/money';
import type { OrderForReturn, ReturnNotice } from '../../domain/returns';
import { returnKeyOf } from '../../domain/returns';
import type { MiraklOrder } from './schemas';
import type { ShipmentSummary } from './client';

const str = z.string();

export const MiraklReturnLineSchema = z.looseObject({
  order_line_id: str.optional().nullable(),
  quantity: z.number().optional().nullable(),
  reason_code: str.optional().nullable(),
  compliance: z
    .array(z.looseObject({ compliant: z.boolean().optional(), non_compliance_reason_code: str.optional().nullable() }))
    .optional()
    .nullable(),
});

export const MiraklReturnSchema = z.looseObject({
  id: str,
  order_id: str.optional().nullable(),
  order_commercial_id: str.optional().nullable(),
  state: str.optional().nullable(),
  method_code: str.optional().nullable(),
  reason_code: str.optional().nullable(),
  rejection_reason_code: str.optional().nullable(),
  rma: str.optional().nullable(),
  return_lines: z.array(MiraklReturnLineSchema).optional().nullable(),
  date_created: str.optional().nullable(),
  last_updated: str.optional().nullable(),
});
export type MiraklReturn = z.infer<typeof MiraklReturnSchema>;

export const RT11ResponseSchema = z.looseObject({
  data: z.array(z.unknown()),
  next_page_token: str.optional().nullable(),
});

/** RT01/RT04/RT2x: 200 with per-return success and errors. */
export const ReturnBatchResponseSchema = z.looseObject({
  return_success: z.array(z.looseObject({ id: str.optional().nullable() })).default([]),
  return_errors: z
    .array(
      z.looseObject({
        id: str.optional().nullable(),
        order_commercial_id: str.optional().nullable(),
        message: str.optional().nullable(),
      }),
    )
    .default([]),
});

export interface ReturnBatchResult {
  success: string[];
  errors: Array<{ id?: string; message: string }>;
}

export type ReturnRejectionReason =
  'RETURN_REJECTION_NOT_ELIGIBLE' | 'RETURN_REJECTION_NOT_NEEDED' | 'RETURN_REJECTION_WINDOW_CLOSED';
export type NonComplianceReason =
  | 'RETURN_NON_COMPLIANT_MISSING_ITEM'
  | 'RETURN_NON_COMPLIANT_WRONG_PRODUCT'
  | 'RETURN_NON_COMPLIANT_DAMAGED_PRODUCT'
  | 'RETURN_NON_COMPLIANT_WINDOW_CLOSED'
  | 'RETURN_NON_COMPLIANT_OTHER';

/** A Mirakl return as Loopline reads it. Quantities and reasons are carried as sent. */
export function toReturnNotice(channel: string, r: MiraklReturn): ReturnNotice {
  return {
    channel,
    returnKey: returnKeyOf('marketplace', r.id),
    origin: 'marketplace',
    sourceId: r.id,
    orderId: r.order_id ?? r.order_commercial_id ?? '',
    sourceState: r.state ?? 'UNKNOWN',
    ...(r.reason_code ? { reason: r.reason_code } : {}),
    ...(r.method_code ? { method: r.method_code } : {}),
    lines: (r.return_lines ?? []).map((l) => ({
      ...(l.order_line_id ? { lineId: l.order_line_id } : {}),
      quantity: typeof l.quantity === 'number' ? l.quantity : Number.NaN,
      ...(l.reason_code ? { reason: l.reason_code } : {}),
    })),
    updatedAt: r.last_updated ?? r.date_created ?? new Date(0).toISOString(),
  };
}

function minor(v: unknown, currency: string): number {
  if (typeof v !== 'number' && typeof v !== 'string') return 0;
  try {
    return toMinor(v, currency);
  } catch {
    return Number.NaN;
  }
}

const SHIPPED_LINE_STATES = new Set(['SHIPPED', 'TO_COLLECT', 'RECEIVED', 'CLOSED', 'REFUNDED']);

/**
 * The order as a return needs it: per line the price (after promotions) and the price before them
 * (origin_unit_price), taxes, units shipped (the shipped shipments when the order has any; else the whole
 * line once it is SHIPPED or later) and every refund already on it. Money in minor units; an unreadable
 * amount is NaN, which the refund refuses as RETURN_AMOUNT_INVALID.
 */
export function toOrderForReturn(
  wire: MiraklOrder,
  shipments: ShipmentSummary[],
  fallbackCurrency: string,
  itemCodeOf: (offerSku: string) => string,
): OrderForReturn {
  const currency = wire.currency_iso_code ?? fallbackCurrency;
  const shipped = new Map<string, number>();
  for (const s of shipments)
    if (s.status === 'SHIPPED' || s.status === 'RECEIVED' || s.status === 'CLOSED' || s.status === 'TO_COLLECT')
      for (const l of s.lines) if (l.lineId) shipped.set(l.lineId, (shipped.get(l.lineId) ?? 0) + l.quantity);
  return {
    orderId: wire.order_id,
    currency,
    taxMode: wire.order_tax_mode === 'TAX_EXCLUDED' ? 'TAX_EXCLUDED' : 'TAX_INCLUDED',
    lines: (wire.order_lines ?? []).map((l) => {
      const quantity = typeof l.quantity === 'number' ? l.quantity : 0;
      const offerSku = l.offer_sku ?? '';
      const origin = (l as Record<string, unknown>).origin_unit_price;
      const taxes = (list: typeof l.taxes) =>
        (list ?? []).map((t) => ({ code: String(t.code ?? ''), amount: minor(t.amount, currency) }));
      return {
        lineId: l.order_line_id,
        offerSku,
        itemCode: itemCodeOf(offerSku),
        quantity,
        shipped:
          shipments.length > 0
            ? (shipped.get(l.order_line_id) ?? 0)
            : SHIPPED_LINE_STATES.has(l.order_line_state ?? '')
              ? quantity
              : 0,
        unitPrice: minor(l.price_unit, currency),
        ...(origin !== undefined && origin !== null ? { originUnitPrice: minor(origin, currency) } : {}),
        price: minor(l.price, currency),
        shippingPrice: minor(l.shipping_price, currency),
        taxes: taxes(l.taxes),
        shippingTaxes: taxes(l.shipping_taxes),
        refunds: (l.refunds ?? []).map((r, i) => ({
          id: r.id ?? `${l.order_line_id}#${i}`,
          quantity: typeof r.quantity === 'number' ? r.quantity : 0,
          amount: minor(r.amount ?? 0, currency),
          shippingAmount: minor(r.shipping_amount ?? 0, currency),
        })),
      };
    }),
  };
}
