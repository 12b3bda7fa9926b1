// The marketplace refund port, Marketplacer's side (activities/marketplace-refund.ts has the port and the one
// activity that uses it): a return's refund is one `refundRequestCreate` with `dispatched: true` for the returned
// units of each line (docs/returns.md, "Refunds"; docs/contracts.md, Marketplacer).
//   readOrder    the invoice (by legacyId) as OrderForReturn: shipped units, returns already requested per line
//                (src/connectors/marketplacer/returns.ts)
//   sendRefunds  look before create: a request carrying this return's keys (externalIds, one per line:
//                refund:<channel>:<returnKey>:<lineId>) is this refund after a lost response, used only when it
//                holds exactly these lines and units; else one request: each line's units with dispatched: true
//                and the reason in Marketplacer's words, shipping refunded (policy proportional) as a custom
//                postage line, Loopline's computed figure in the request's note for audit.
// A line item's refund request carries no amount (Marketplacer computes it from the line); Loopline's figure is
// kept on the return (the calculation) and in the note, and Marketplacer's own (amountCents, where the
// instance serves it) is logged when it differs. Business refusals (`errors { field messages }` under HTTP 200)
// are REFUND_REJECTED; transport failures retry through the one classifier (activities/errors.ts).
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { marketplacerSettings, type ChannelConfig } from '../src/config/schema';
import type { MarketplacerClient } from '../src/connectors/marketplacer/client';
import { invoiceToOrderForReturn, refundLineId } from '../src/connectors/marketplacer/returns';
import type { MpInvoice, MpRefundRequest, MpValidationError } from '../src/connectors/marketplacer/schemas';
import { refundKey } from '../src/domain/keys';
import { money, type LineRefund } from '../src/domain/returns';
import type { MarketplaceRefundPort } from './marketplace-refund';
import { LOOPLINE_EXTERNAL_ID } from './marketplacer';

/** The custom line a return's shipping share is refunded with (a line item's request refunds goods only). */
export const POSTAGE_LINE = 'Postage';

function describeErrors(errors: readonly MpValidationError[]): string {
  return errors.map((e) => `${e.field ?? '(input)'}: ${e.messages.join(', ')}`).join('; ');
}

/** The words sent as a line's reason: the channel's text for the reason table's refund reason, else its default. */
export function marketplacerReturnReason(ch: ChannelConfig, refundReason: string): string {
  const s = marketplacerSettings(ch);
  return s.returnReasons[refundReason] ?? s.returnReason;
}

/** Units per line item of a request's returns (dispatched: true or not given). */
function returnedUnits(rr: MpRefundRequest): Map<string, number> {
  const out = new Map<string, number>();
  for (const rl of rr.lineItems)
    if (rl.lineItem?.id && rl.dispatched !== false)
      out.set(rl.lineItem.id, (out.get(rl.lineItem.id) ?? 0) + rl.quantity);
  return out;
}

export function marketplacerRefundPort(deps: {
  marketplacer(channel: string): MarketplacerClient;
  log: Logger;
}): MarketplaceRefundPort {
  const { log } = deps;
  const refused = (orderId: string, ctx: { returnId: string }, detail: string) =>
    ApplicationFailure.create({
      message: `Return ${ctx.returnId} of order ${orderId}: the refund request was not made on Marketplacer: ${detail}.`,
      type: 'REFUND_REJECTED',
      nonRetryable: true,
      details: [{ returnId: ctx.returnId, orderId, detail }],
    });

  /** The ids of a request's lines, by line item (what readOrder calls them). */
  const idsOf = (rr: MpRefundRequest, lines: readonly LineRefund[]): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const l of lines) {
      const rl = rr.lineItems.find((x) => x.lineItem?.id === l.lineId && x.dispatched !== false);
      out[l.lineId] = rl ? refundLineId(rr.id, rl, l.lineId) : `${rr.id}:${l.lineId}`;
    }
    return out;
  };

  return {
    platform: 'marketplacer',

    async readOrder(ch, orderId) {
      const invoice = await deps.marketplacer(ch.code).invoiceByLegacyId(orderId);
      if (!invoice) return undefined;
      return invoiceToOrderForReturn(invoice, {
        currency: ch.currency,
        itemCodeOf: (sku) => ch.skuMap[sku] ?? sku,
        externalIdKey: LOOPLINE_EXTERNAL_ID,
      });
    },

    async sendRefunds(ch, order, lines, ctx) {
      const client = deps.marketplacer(ch.code);
      const keys = lines.map((l) => refundKey(ch.code, ctx.returnKey, l.lineId));
      const invoice: MpInvoice | undefined = await client.invoiceByLegacyId(order.orderId);
      if (!invoice) throw refused(order.orderId, ctx, `no invoice ${order.orderId} for this seller`);
      // Look before create: a request carrying one of this return's keys is ours (a lost response). It stands for
      // this refund only with exactly these lines and units; anything else is for a person to look at.
      const mine = (invoice.refundRequests ?? []).find((rr) =>
        (rr.externalIds ?? []).some((e) => e.key === LOOPLINE_EXTERNAL_ID && keys.includes(e.value)),
      );
      if (mine) {
        // Ours when it holds these lines with these units, and every line it holds is this return's (carries its
        // key): a line of it found already by the activity is this return's too, a stranger's line is not.
        const units = returnedUnits(mine);
        const tagged = new Set(
          (mine.externalIds ?? []).filter((e) => e.key === LOOPLINE_EXTERNAL_ID).map((e) => e.value),
        );
        const same =
          lines.every((l) => units.get(l.lineId) === l.quantity) &&
          [...units.keys()].every((id) => tagged.has(refundKey(ch.code, ctx.returnKey, id)));
        if (!same)
          throw refused(
            order.orderId,
            ctx,
            `refund request ${mine.id} carries this return's key but holds ${
              [...units].map(([id, q]) => `${id} ×${q}`).join(', ') || 'no returned units'
            }, not ${lines.map((l) => `${l.lineId} ×${l.quantity}`).join(', ')}`,
          );
        log.info(
          { refundRequest: mine.id, keys },
          'return refund already requested on Marketplacer; not sending again',
        );
        return idsOf(mine, lines);
      }
      const shipping = lines.reduce((s, l) => s + l.shippingAmount, 0);
      const total = lines.reduce((s, l) => s + l.amount + l.shippingAmount, 0);
      const figure = `${lines.map((l) => `${l.offerSku || l.lineId} ×${l.quantity} = ${money(l.amount, order.currency)}`).join(', ')}${
        shipping ? `, shipping ${money(shipping, order.currency)}` : ''
      }; total ${money(total, order.currency)}`;
      const res = await client.refundRequestCreate({
        invoiceId: invoice.id,
        lineItems: [
          ...lines.map((l) => ({
            lineItemId: l.lineId,
            quantity: l.quantity,
            reason: marketplacerReturnReason(ch, l.refundReason),
            dispatched: true,
          })),
          ...(shipping > 0 ? [{ custom: POSTAGE_LINE, amountPerItemCents: shipping, quantity: 1 }] : []),
        ],
        notes: [{ note: `Return ${ctx.returnId} booked in (Loopline). Refund computed by Loopline: ${figure}.` }],
        externalIds: keys.map((value) => ({ key: LOOPLINE_EXTERNAL_ID, value })),
      });
      if (res.errors.length > 0) throw refused(order.orderId, ctx, describeErrors(res.errors));
      if (!res.value) {
        // Created, but the payload does not show it: the ids come from the invoice on the next read.
        log.warn({ keys }, 'refund request created on Marketplacer without the request in the answer');
        return {};
      }
      for (const l of lines) {
        const theirs = res.value.lineItems.find((x) => x.lineItem?.id === l.lineId)?.amountCents;
        if (typeof theirs === 'number' && theirs !== l.amount)
          log.warn(
            { refundRequest: res.value.id, lineId: l.lineId, oursMinor: l.amount, theirsMinor: theirs },
            'Marketplacer states another amount for the returned units than Loopline computed',
          );
      }
      log.info({ refundRequest: res.value.id, lines: lines.length, totalMinor: total }, 'return refund requested');
      return idsOf(res.value, lines);
    },
  };
}
