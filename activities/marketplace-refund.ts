// The marketplace refund, once, for every route (docs/returns.md, "Refunds"): a port per marketplace platform
// (Mirakl OR28; Marketplacer refundRequestCreate with dispatched: true, activities/marketplacer-refund.ts), and
// the one activity that uses it:
//   read the order at the marketplace → look for this refund already there (a lost response: a refund carrying
//   this return's key where the platform keeps keys; or the same refund made in the back office: a refund no
//   Loopline return has claimed, with the line's quantity AND amount) → compute what is left from the marketplace order (src/domain/returns.ts computeRefund) → send.
// Exactly once per return and line: the order workflow sends a return's refunds one at a time per order and
// hands every refund id Loopline has claimed on the order to the next, so only a refund nobody claimed can
// be matched; a retry of this activity after a lost response finds its own refund that way.
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { ChannelConfig, Config } from '../src/config/schema';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import { toOrderForReturn } from '../src/connectors/mirakl/returns';
import { toDecimalNumber } from '../src/domain/money';
import { refundKey } from '../src/domain/keys';
import { describe } from '../src/domain/reasons';
import {
  computeRefund,
  findMatchingRefund,
  type LineRefund,
  type OrderForReturn,
  type RefundCalculation,
  type ReturnProblem,
  type ShippingRefundPolicy,
} from '../src/domain/returns';
import { refundLatency } from '../src/metrics/returns';
import { toActivityFailure } from './errors';

/**
 * What a marketplace must offer for refunds of returned units. Implementations translate to the platform's
 * own calls and say nothing about returns themselves (that stays in the return workflow).
 */
export interface MarketplaceRefundPort {
  readonly platform: string;
  /**
   * The order as a return needs it: lines with prices (after promotions), taxes, units shipped, and every
   * refund already on each line (ids, quantities, amounts in minor units). Undefined: no such order.
   */
  readOrder(ch: ChannelConfig, orderId: string): Promise<OrderForReturn | undefined>;
  /**
   * Refunds these lines in one call; returns the platform's refund id per line id where it answers one.
   * Throws a ConnectorError (retryable for transport failures, not for business rejections).
   */
  sendRefunds(
    ch: ChannelConfig,
    order: OrderForReturn,
    lines: LineRefund[],
    ctx: RefundContext,
  ): Promise<Record<string, string>>;
}

/** Which return a refund is for: where a platform carries the caller's key (Marketplacer externalIds). */
export interface RefundContext {
  returnKey: string;
  returnId: string;
}

/** Mirakl: OR11 (by order id) + ST11 for what shipped, OR28 to refund. */
export function miraklRefundPort(mirakl: (channel: string) => MiraklClient): MarketplaceRefundPort {
  const major = (minor: number, currency: string) => toDecimalNumber(minor, currency);
  return {
    platform: 'mirakl',
    async readOrder(ch, orderId) {
      const client = mirakl(ch.code);
      const [order] = await client.getOrders([orderId]);
      if (!order) return undefined;
      const shipments = await client.listShipments(orderId);
      return toOrderForReturn(order, shipments, ch.currency, (sku) => ch.skuMap[sku] ?? sku);
    },
    async sendRefunds(ch, order, lines) {
      const res = await mirakl(ch.code).refund(
        lines.map((l) => ({
          order_line_id: l.lineId,
          quantity: l.quantity,
          amount: major(l.amount, order.currency),
          shipping_amount: major(l.shippingAmount, order.currency),
          reason_code: l.refundReason,
          taxes: l.taxes.map((t) => ({ code: t.code, amount: major(t.amount, order.currency) })),
          shipping_taxes: l.shippingTaxes.map((t) => ({ code: t.code, amount: major(t.amount, order.currency) })),
          currency_iso_code: order.currency,
        })),
        order.taxMode,
      );
      return Object.fromEntries(res.map((r) => [r.order_line_id, r.refund_id]));
    },
  };
}

export interface RefundReturnInput {
  channel: string;
  orderId: string;
  /** The return (idempotency keys are refund:<channel>:<returnKey>:<lineId>). */
  returnKey: string;
  returnId: string;
  lines: Array<{ lineId: string; quantity: number; refundReason?: string }>;
  /** Refund ids this return recorded already (a line done earlier is not refunded again). */
  ownRefundIds: Record<string, string>;
  /** Every refund id any Loopline refund claimed on this order: never matched as this one. */
  claimedRefundIds: string[];
  /** When the refund was triggered (the latency metric's start). */
  triggerAt?: number;
}

export interface RefundReturnResult {
  calculation: RefundCalculation;
  /** Refund id per line: sent now, found at the marketplace, or recorded before. */
  refundIds: Record<string, string>;
  /** Lines found already refunded at the marketplace (lost response or back office): recorded, not repeated. */
  found: string[];
  /** Lines refunded by this call. */
  sent: string[];
  at: number;
}

export function problemFailure(p: ReturnProblem): ApplicationFailure {
  return ApplicationFailure.create({
    message: describe(p.reason, p.details),
    type: p.reason,
    nonRetryable: true,
    details: [{ ...p.details, ...(p.field ? { field: p.field } : {}) }],
  });
}

export function createMarketplaceRefundActivities(deps: {
  config: Config;
  ports: Record<string, MarketplaceRefundPort>;
  log: Logger;
}) {
  const channelConfig = (code: string) => {
    const ch = deps.config.channels.find((c) => c.code === code);
    if (!ch) throw ApplicationFailure.nonRetryable(`channel "${code}" is not configured`, 'UNEXPECTED_ERROR');
    return ch;
  };

  return {
    /** The refund of a return's lines, exactly once (see the file comment). */
    async refundReturnLines(input: RefundReturnInput): Promise<RefundReturnResult> {
      const ch = channelConfig(input.channel);
      const port = deps.ports[ch.platform];
      if (!port)
        throw ApplicationFailure.nonRetryable(`no marketplace refund for platform ${ch.platform}`, 'UNEXPECTED_ERROR');
      const policy: ShippingRefundPolicy = ch.returnPolicy.shipping;
      const own = new Set(Object.values(input.ownRefundIds));
      const claimed = new Set([...input.claimedRefundIds, ...own]);
      let order: OrderForReturn | undefined;
      try {
        order = await port.readOrder(ch, input.orderId);
      } catch (err) {
        throw toActivityFailure(err, port.platform, 'read order', 'UNEXPECTED_ERROR', { orderId: input.orderId });
      }
      if (!order)
        throw problemFailure({
          reason: 'RETURN_ORDER_UNKNOWN',
          details: {
            returnId: input.returnId,
            channel: ch.code,
            orderId: input.orderId,
            detail: 'the marketplace does not have it',
          },
        });
      const todo = input.lines.filter((l) => input.ownRefundIds[l.lineId] === undefined);
      const refundIds: Record<string, string> = { ...input.ownRefundIds };
      const opts = { shipping: policy, defaultRefundReason: ch.returnPolicy.refundReason };
      // Refunds on the order no Loopline refund has claimed: the back office's, or this refund's lost response.
      const unclaimed = new Set(
        order.lines.flatMap((l) => l.refunds.filter((r) => !claimed.has(r.id)).map((r) => r.id)),
      );
      // Look first: what each line's refund would be had none of those been made, and an unclaimed refund with
      // exactly that quantity and amount is this one (recorded, never repeated).
      const ifNew = computeRefund(order, todo, { ...opts, claimedRefundIds: [...own, ...unclaimed] }, input);
      const takenNow = new Set<string>();
      const foundLines: LineRefund[] = [];
      if ('calculation' in ifNew) {
        for (const l of ifNew.calculation.lines) {
          const line = order.lines.find((x) => x.lineId === l.lineId)!;
          // A refund carrying this return's key for the line (platforms that keep the caller's keys) is ours,
          // whatever amount the marketplace states for it; else one nobody claimed with this quantity and amount.
          const key = refundKey(ch.code, input.returnKey, l.lineId);
          const match =
            line.refunds.find((r) => r.keys?.includes(key) && r.quantity === l.quantity && !takenNow.has(r.id)) ??
            findMatchingRefund(line, l, new Set([...claimed, ...takenNow]));
          if (!match) continue;
          refundIds[l.lineId] = match.id;
          takenNow.add(match.id);
          foundLines.push(l);
        }
      }
      // What is left to refund, with every other refund on the line counted (a back-office refund of another
      // amount is real money back: it counts against what the line was paid).
      const left = todo.filter((l) => !foundLines.some((f) => f.lineId === l.lineId));
      let sendLines: LineRefund[] = [];
      let restBasis = '';
      if (left.length > 0) {
        const rest = computeRefund(order, left, { ...opts, claimedRefundIds: [...own, ...takenNow] }, input);
        if ('problem' in rest) throw problemFailure(rest.problem);
        sendLines = rest.calculation.lines;
        restBasis = rest.calculation.basis;
      }
      const lines = [...foundLines, ...sendLines];
      const totalMinor = lines.reduce((sum, l) => sum + l.amount + l.shippingAmount, 0);
      const calc: RefundCalculation = {
        currency: order.currency,
        taxMode: order.taxMode,
        shippingPolicy: policy,
        lines,
        totalMinor,
        basis: [
          restBasis,
          foundLines.length > 0
            ? `already refunded at the marketplace (found, not repeated): ${foundLines
                .map((l) => `${l.lineId} ×${l.quantity} = ${l.amount}+${l.shippingAmount}`)
                .join(', ')}`
            : '',
        ]
          .filter(Boolean)
          .join('; '),
      };
      if (sendLines.length > 0) {
        for (const l of sendLines)
          deps.log.info({ key: refundKey(ch.code, input.returnKey, l.lineId), amount: l.amount }, 'refunding');
        let ids: Record<string, string>;
        try {
          ids = await port.sendRefunds(ch, order, sendLines, { returnKey: input.returnKey, returnId: input.returnId });
        } catch (err) {
          throw toActivityFailure(
            err,
            port.platform,
            ({ mirakl: 'OR28', marketplacer: 'refundRequestCreate' } as Record<string, string>)[port.platform] ??
              'refund',
            'REFUND_REJECTED',
            {
              returnId: input.returnId,
              orderId: input.orderId,
            },
          );
        }
        for (const l of sendLines) refundIds[l.lineId] = ids[l.lineId] ?? refundKey(ch.code, input.returnKey, l.lineId);
      }
      const send = sendLines;
      const found = foundLines.map((l) => l.lineId);
      if (input.triggerAt !== undefined && send.length > 0)
        refundLatency.observe({ channel: ch.code }, Math.max(0, Date.now() - input.triggerAt) / 1000);
      return { calculation: calc, refundIds, found, sent: send.map((l) => l.lineId), at: Date.now() };
    },
  };
}

export type MarketplaceRefundActivities = ReturnType<typeof createMarketplaceRefundActivities>;
