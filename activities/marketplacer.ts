// The marketplace port, Marketplacer's side: what the order workflow asks of "the marketplace", in Marketplacer's
// calls. activities/order.ts dispatches to these on `platform: marketplacer` (as it dispatches the fulfilment side
// to Shopify), keeping the activity names the workflow calls, so the workflow never knows which system answers.
//   capabilities     split shipments, no acceptance step (an invoice is a paid order)
//   acknowledge      nothing to send: Marketplacer has no acceptance
//   confirmShipment  shipmentCreate per despatch: its lines and quantities, the carrier as a postageCarrierId from
//                    shipmentCarriers (an unmapped carrier is CARRIER_UNMAPPED), look before create
//   cancelOrder      refundRequestCreate with dispatched: false for the units not shipped, look before create
// Every write is idempotent in outcome: after a lost response the invoice is read again and what is already
// there (a shipment noting this despatch, a refund request carrying this cancellation's key) is not sent twice.
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { ChannelConfig, Config } from '../src/config/schema';
import { marketplacerSettings } from '../src/config/schema';
import type { MarketplacerClient } from '../src/connectors/marketplacer/client';
import { cancelledUnits, invoiceState, shippedUnits } from '../src/connectors/marketplacer/map';
import type { MpInvoice, MpValidationError } from '../src/connectors/marketplacer/schemas';
import { marketplacerCancelKey, shipmentKey } from '../src/domain/keys';
import { makeException } from '../src/domain/reasons';
import { toActivityFailure } from './errors';
import type { ConfirmShipmentInput } from './order';

/** The external id key Loopline tags its refund requests with (refundRequestCreate externalIds). */
export const LOOPLINE_EXTERNAL_ID = 'loopline';

export interface MarketplacerPortDeps {
  config: Config;
  marketplacer(channel: string): MarketplacerClient;
  log: Logger;
}

/** What a marketplace offers the order workflow (OrderSettings is built from it). */
export interface MarketplaceCapabilities {
  /** A despatch is confirmed on its own (several shipments per order), not with the whole order. */
  multiShipment: boolean;
  /** Whether an order must be accepted before it can be shipped. */
  acceptance: 'required' | 'none';
}

function describeErrors(errors: readonly MpValidationError[]): string {
  return errors.map((e) => `${e.field ?? '(input)'}: ${e.messages.join(', ')}`).join('; ');
}

/** The note Loopline puts on a shipment: how a retry recognises its own shipment. */
export function shipmentNote(despatchNumber: string): string {
  return `Despatch ${despatchNumber}`;
}

export function createMarketplacerPort(deps: MarketplacerPortDeps) {
  const { config, log } = deps;
  const channel = (code: string): ChannelConfig => {
    const ch = config.channels.find((c) => c.code === code);
    if (!ch)
      throw ApplicationFailure.nonRetryable(`channel "${code}" is not in the Loopline config`, 'UNEXPECTED_ERROR');
    return ch;
  };

  async function readInvoice(client: MarketplacerClient, orderId: string, operation: string): Promise<MpInvoice> {
    const invoice = await client.invoiceByLegacyId(orderId);
    if (!invoice) {
      throw ApplicationFailure.create({
        message: `Order ${orderId}: Marketplacer has no invoice ${orderId} for this seller (${operation}).`,
        type: operation === 'shipmentCreate' ? 'SHIPMENT_REJECTED' : 'CANCELLATION_REJECTED',
        nonRetryable: true,
        details: [{ detail: `no invoice ${orderId}` }],
      });
    }
    return invoice;
  }

  return {
    capabilities(): MarketplaceCapabilities {
      return { multiShipment: true, acceptance: 'none' };
    },

    /** Marketplacer has no acceptance: an invoice is paid when it appears. Nothing is sent. */
    acknowledge(input: { channel: string; orderId: string }): 'accepted' {
      log.debug({ channel: input.channel, orderId: input.orderId }, 'marketplacer: no acceptance step');
      return 'accepted';
    },

    async confirmShipment(input: ConfirmShipmentInput): Promise<'confirmed' | 'already-confirmed'> {
      const ch = channel(input.channel);
      const key = shipmentKey(input.channel, input.orderId, input.despatchNumber);
      const target = input.carrier ? ch.carrierMap[input.carrier] : undefined;
      const client = deps.marketplacer(input.channel);
      const unmapped = (why: string) =>
        ApplicationFailure.create({
          message: `${
            makeException(
              'CARRIER_UNMAPPED',
              { orderId: input.orderId, despatchNumber: input.despatchNumber, carrier: input.carrier ?? '(none)' },
              Date.now(),
            ).message
          } ${why}`,
          type: 'CARRIER_UNMAPPED',
          nonRetryable: true,
          details: [{ despatchNumber: input.despatchNumber, carrier: input.carrier ?? '(none)' }],
        });
      if (!target) throw unmapped('Add it to the channel carrierMap (a Marketplacer carrier name or id).');
      try {
        // The carrier is an id from shipmentCarriers, never free text.
        const carriers = await client.shipmentCarriers();
        const carrier = target.code
          ? carriers.find((c) => c.id === target.code)
          : carriers.find((c) => c.name.trim().toLowerCase() === target.name!.trim().toLowerCase());
        if (!carrier)
          throw unmapped(
            `The carrierMap sends it as ${target.code ? `id ${target.code}` : `"${target.name}"`}, which is not one of this marketplace's shipment carriers.`,
          );
        const invoice = await readInvoice(client, input.orderId, 'shipmentCreate');
        const note = shipmentNote(input.despatchNumber);
        // Look before create: a shipment of ours for this despatch (a lost response) is not made twice.
        const mine = (invoice.shipments ?? []).find(
          (s) =>
            s.note?.includes(note) ||
            (input.trackingNumber !== undefined &&
              s.trackingNumber === input.trackingNumber &&
              input.lines.every((l) =>
                s.shippedItems.some((i) => i.lineItem.id === l.lineId && i.quantity === l.quantity),
              )),
        );
        if (mine) {
          log.info({ key }, 'shipment already on Marketplacer; not sending again');
          return 'already-confirmed';
        }
        // Never dated before the invoice (Marketplacer refuses "Dispatched at is before shipped items were ordered").
        const dispatchedAt = new Date(Math.max(Date.now(), Date.parse(invoice.createdAt) + 1000)).toISOString();
        const res = await client.shipmentCreate({
          invoiceId: invoice.id,
          shippedItems: input.lines.map((l) => ({ lineItemId: l.lineId, quantity: l.quantity })),
          postageCarrierId: carrier.id,
          dispatchedAt,
          // Required by the API; a collection has none.
          trackingNumber: input.trackingNumber ?? '',
          note,
        });
        if (res.errors.length > 0) {
          const detail = describeErrors(res.errors);
          // Refused for quantities: the units may have been shipped or cancelled meanwhile. Read again and say which.
          const again = await client.invoiceByLegacyId(input.orderId);
          const shipped = again ? shippedUnits(again) : new Map<string, number>();
          const state = again ? invoiceState(again.statusFlags) : 'UNKNOWN';
          throw ApplicationFailure.create({
            message: `Order ${input.orderId}: Marketplacer refused the shipment for despatch ${input.despatchNumber}.`,
            type: 'SHIPMENT_REJECTED',
            nonRetryable: true,
            details: [
              {
                despatchNumber: input.despatchNumber,
                detail: `${detail} (the invoice is ${state}; shipped so far: ${[...shipped].map(([id, q]) => `${id}×${q}`).join(', ') || 'nothing'})`,
              },
            ],
          });
        }
        log.info({ key, lines: input.lines.length }, 'shipment created on Marketplacer');
        return 'confirmed';
      } catch (err) {
        throw toActivityFailure(err, 'marketplacer', 'shipmentCreate', 'SHIPMENT_REJECTED', {
          despatchNumber: input.despatchNumber,
        });
      }
    },

    /**
     * Cancels what has not shipped: one refund request with dispatched: false for every unit still to ship,
     * tagged with Loopline's key. An invoice already cancelled, or a request of ours already there, is done.
     */
    async cancelOrder(input: { channel: string; orderId: string }): Promise<void> {
      const ch = channel(input.channel);
      const settings = marketplacerSettings(ch);
      const client = deps.marketplacer(input.channel);
      const key = marketplacerCancelKey(input.channel, input.orderId);
      try {
        const invoice = await readInvoice(client, input.orderId, 'refundRequestCreate');
        if (invoiceState(invoice.statusFlags) === 'CANCELED') return;
        const requests = invoice.refundRequests ?? [];
        if (requests.some((r) => r.externalIds?.some((e) => e.key === LOOPLINE_EXTERNAL_ID && e.value === key))) {
          log.info({ key }, 'cancellation already requested on Marketplacer; not sending again');
          return;
        }
        const shipped = shippedUnits(invoice);
        const cancelled = cancelledUnits(invoice);
        // Units already in an open cancellation (someone else's, or ours when external ids cannot be read back).
        const open = new Map<string, number>();
        for (const r of requests)
          for (const rl of r.lineItems)
            if (rl.lineItem?.id && rl.dispatched === false && rl.status !== 'REFUNDED' && rl.status !== 'REFUND_DENIED')
              open.set(rl.lineItem.id, (open.get(rl.lineItem.id) ?? 0) + rl.quantity);
        const lines = invoice.lineItems
          .map((l) => ({
            lineItemId: l.id,
            quantity: l.quantity - (shipped.get(l.id) ?? 0) - (cancelled.get(l.id) ?? 0) - (open.get(l.id) ?? 0),
          }))
          .filter((l) => l.quantity > 0);
        if (lines.length === 0) {
          log.info({ key }, 'nothing left to cancel on Marketplacer');
          return;
        }
        const res = await client.refundRequestCreate({
          invoiceId: invoice.id,
          lineItems: lines.map((l) => ({ ...l, reason: settings.cancellationReason, dispatched: false })),
          notes: [{ note: 'Cancelled by the seller before despatch (Loopline).' }],
          externalIds: [{ key: LOOPLINE_EXTERNAL_ID, value: key }],
        });
        if (res.errors.length > 0) {
          throw ApplicationFailure.create({
            message: `Order ${input.orderId}: Marketplacer refused the cancellation.`,
            type: 'CANCELLATION_REJECTED',
            nonRetryable: true,
            details: [{ detail: describeErrors(res.errors) }],
          });
        }
        log.info({ key, lines: lines.length, refundRequest: res.value?.id }, 'cancellation requested on Marketplacer');
      } catch (err) {
        throw toActivityFailure(err, 'marketplacer', 'refundRequestCreate', 'CANCELLATION_REJECTED', {
          orderId: input.orderId,
        });
      }
    },
  };
}

export type MarketplacerPort = ReturnType<typeof createMarketplacerPort>;
