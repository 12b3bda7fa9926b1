// Order activities: thin. Each maps domain → connector call → domain and classifies the failure.
// Built by a factory that receives connectors, so tests hand in connectors pointed at the sandbox.
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Config, ChannelConfig } from '../src/config/schema';
import { channelOrderPrefix } from '../src/config/schema';
import type { Despatch, MarketplaceOrder, ShipmentLine } from '../src/domain/order';
import { validateOrder as validateDomainOrder } from '../src/domain/validation';
import type { OrderException } from '../src/domain/reasons';
import type { Owner } from '../src/domain/owners';
import { acceptKey, shipmentKey, wmsOrderKey, wmsSalesOrderNumber } from '../src/domain/keys';
import { toActivityFailure } from './errors';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import type { PeoplevoxClient } from '../src/connectors/peoplevox/client';
import { salesOrderRowOptions, toSalesOrderRow, toSalesOrderItemRows } from '../src/connectors/peoplevox/map';
import { addressRules } from '../src/domain/addresses';
import type { ItemCodeDirectory } from './item-codes';
import type { AlertSink } from '../src/alerts/alerts';
import type { ShopifyActivities } from './shopify';

export interface OrderSettings {
  /** inventory: where checkOrderStock runs (absent in histories recorded before the stock check). */
  taskQueues: { acknowledge: string; peoplevox: string; inventory?: string; fulfilment?: string };
  acceptancePolicy: ChannelConfig['acceptance']['policy'];
  outOfStock: ChannelConfig['acceptance']['outOfStock'];
  alertAtFractions: number[];
  returnWindowDays: number;
  multiShipment: boolean;
  despatchBackstopMs: number;
}

export interface AlertInput {
  key: string;
  kind: 'exception' | 'deadline' | 'sync';
  channel: string;
  orderId?: string;
  reason?: string;
  owner: Owner;
  message: string;
}

export interface ConfirmShipmentInput {
  channel: string;
  orderId: string;
  despatchNumber: string;
  lines: ShipmentLine[];
  trackingNumber?: string;
  carrier?: string;
  mode: 'ST01' | 'OR23_OR24';
}

export interface OrderActivityDeps {
  config: Config;
  mirakl(channel: string): MiraklClient;
  peoplevox: PeoplevoxClient;
  itemCodes: ItemCodeDirectory;
  alerts: AlertSink;
  log: Logger;
  /** Sandbox and benchmarks shorten the despatch backstop; production polls every 15 minutes. */
  despatchBackstopMs?: number;
  /** Channels with `fulfilment: shopify`: their fulfilment calls and item codes (docs/shopify.md). */
  shopify?: { activities: ShopifyActivities; itemCodes: ItemCodeDirectory };
}

export function createOrderActivities(deps: OrderActivityDeps) {
  const { config, log } = deps;
  const multiShipmentCache = new Map<string, boolean>();

  function channelConfig(code: string): ChannelConfig {
    const ch = config.channels.find((c) => c.code === code);
    if (!ch) {
      throw ApplicationFailure.nonRetryable(`channel "${code}" is not in the Loopline config`, 'UNEXPECTED_ERROR', {
        detail: `unknown channel ${code}`,
      });
    }
    return ch;
  }

  /** The channel's skuMap first (keyed by the offer SKU as sent), then the warehouse's own spelling. */
  function itemCodeOf(ch: ChannelConfig, offerSku: string): Promise<string | undefined> {
    const directory = ch.fulfilment === 'shopify' && deps.shopify ? deps.shopify.itemCodes : deps.itemCodes;
    return directory.resolve(ch.skuMap[offerSku] ?? offerSku);
  }

  /** The fulfilment system of a channel, when it is not Peoplevox (the activity names stay for replay). */
  function shopifyFor(channel: string | undefined): ShopifyActivities | undefined {
    if (!channel || channelConfig(channel).fulfilment !== 'shopify') return undefined;
    if (!deps.shopify) throw ApplicationFailure.nonRetryable('systems.shopify is not wired', 'UNEXPECTED_ERROR');
    return deps.shopify.activities;
  }

  function salesOrderNumberFor(channel: string, orderId: string): string {
    return wmsSalesOrderNumber(channelOrderPrefix(channelConfig(channel)), orderId);
  }

  return {
    async orderSettings(channel: string): Promise<OrderSettings> {
      const ch = channelConfig(channel);
      let multi = multiShipmentCache.get(channel);
      if (multi === undefined) {
        try {
          const pc = await deps.mirakl(channel).platformConfiguration();
          multi = pc.multiShipment;
          multiShipmentCache.set(channel, multi);
        } catch (err) {
          throw toActivityFailure(err, 'mirakl', 'PC01', 'UNEXPECTED_ERROR');
        }
      }
      return {
        taskQueues: {
          acknowledge: config.temporal.taskQueues.acknowledge,
          peoplevox: config.temporal.taskQueues.peoplevox,
          inventory: config.temporal.taskQueues.inventory,
          // The channel's fulfilment calls (absent in histories recorded before: they used `peoplevox`).
          fulfilment:
            ch.fulfilment === 'shopify' ? config.temporal.taskQueues.shopify : config.temporal.taskQueues.peoplevox,
        },
        acceptancePolicy: ch.acceptance.policy,
        outOfStock: ch.acceptance.outOfStock,
        alertAtFractions: ch.deadlines.alertAtFractions,
        returnWindowDays: ch.returnWindowDays,
        multiShipment: multi,
        despatchBackstopMs: deps.despatchBackstopMs ?? 15 * 60_000,
      };
    },

    /** offer SKU → item code as the warehouse spells it, or null where the warehouse has no such item. */
    async resolveItemCodes(input: { channel: string; offerSkus: string[] }): Promise<Record<string, string | null>> {
      const ch = channelConfig(input.channel);
      const out: Record<string, string | null> = {};
      for (const sku of input.offerSkus) out[sku] = (await itemCodeOf(ch, sku)) ?? null;
      return out;
    },

    async validateOrder(input: { channel: string; order: MarketplaceOrder }): Promise<OrderException[]> {
      const ch = channelConfig(input.channel);
      const codes: Record<string, string | undefined> = {};
      for (const l of input.order.lines) codes[l.offerSku] = await itemCodeOf(ch, l.offerSku);
      return validateDomainOrder(input.order, {
        channel: ch.code,
        currency: ch.currency,
        itemCodeFor: (sku) => codes[sku],
        requireAddress: true,
        address: addressRules(ch.addresses.postcodes),
        requiredAdditionalFields: Object.entries(ch.additionalFields)
          .filter(([, f]) => f.required)
          .map(([code]) => code),
        now: Date.now(),
      });
    },

    async acknowledgeOrder(input: {
      channel: string;
      orderId: string;
      decisions: Array<{ lineId: string; accepted: boolean }>;
    }): Promise<'accepted' | 'already-decided'> {
      const key = acceptKey(input.channel, input.orderId);
      try {
        await deps.mirakl(input.channel).acceptOrder(
          input.orderId,
          input.decisions.map((d) => ({ id: d.lineId, accepted: d.accepted })),
        );
        log.info({ key }, 'order accepted on the marketplace');
        return 'accepted';
      } catch (err) {
        // After a lost response the retry meets an order that is no longer WAITING_ACCEPTANCE: the
        // acceptance went through the first time.
        const detail = String((err as { opts?: { detail?: string } }).opts?.detail ?? (err as Error).message ?? '');
        if (/ORDER_INVALID_STATE|not in WAITING_ACCEPTANCE|invalid state/i.test(detail)) {
          log.info({ key }, 'order already decided on the marketplace (earlier attempt went through)');
          return 'already-decided';
        }
        throw toActivityFailure(err, 'mirakl', 'OR21', 'ACCEPTANCE_REJECTED', { orderId: input.orderId });
      }
    },

    async createWarehouseOrder(input: { channel: string; order: MarketplaceOrder }): Promise<{
      salesOrderNumber: string;
      created: boolean;
    }> {
      const shopify = shopifyFor(input.channel);
      if (shopify) return shopify.createShopifyOrder(input);
      const ch = channelConfig(input.channel);
      const salesOrderNumber = salesOrderNumberFor(input.channel, input.order.orderId);
      const key = wmsOrderKey(input.channel, input.order.orderId);
      try {
        // Look before create: after a lost response the order may already be there.
        const existing = await deps.peoplevox.findSalesOrder(salesOrderNumber);
        if (existing) {
          log.info({ key, salesOrderNumber }, 'warehouse order already exists; not creating again');
          // Items are saved by a second call: make sure they landed too (SaveData upserts by line).
          if (existing.itemCount >= input.order.lines.length) return { salesOrderNumber, created: false };
        }
        const orderRow = toSalesOrderRow(input.order, { salesOrderNumber, ...salesOrderRowOptions(config, ch) });
        // The warehouse's spelling of each code (validation has made sure every line has one).
        const codes = new Map<string, string>();
        for (const l of input.order.lines) {
          codes.set(l.offerSku, (await itemCodeOf(ch, l.offerSku)) ?? ch.skuMap[l.offerSku] ?? l.offerSku);
        }
        const itemRows = toSalesOrderItemRows(input.order, {
          salesOrderNumber,
          itemCodeFor: (sku: string) => codes.get(sku) ?? sku,
        });
        await deps.peoplevox.createSalesOrder(orderRow, itemRows);
        log.info({ key, salesOrderNumber }, 'warehouse order created');
        return { salesOrderNumber, created: true };
      } catch (err) {
        throw toActivityFailure(err, 'peoplevox', 'SaveData', 'WMS_REJECTED', { orderId: input.order.orderId });
      }
    },

    async cancelWarehouseOrder(input: {
      salesOrderNumber: string;
      channel?: string;
    }): Promise<{ cancelled: boolean; status: string }> {
      // Shopify orders are cancelled in Shopify by the people who run it (CANCELLED_AFTER_PICK names it).
      if (shopifyFor(input.channel)) return { cancelled: false, status: 'open in Shopify' };
      try {
        return await deps.peoplevox.cancelSalesOrder(input.salesOrderNumber);
      } catch (err) {
        throw toActivityFailure(err, 'peoplevox', 'SaveData', 'WMS_REJECTED', {
          salesOrderNumber: input.salesOrderNumber,
        });
      }
    },

    async listWarehouseDespatches(input: { salesOrderNumber: string; channel?: string }): Promise<Despatch[]> {
      const shopify = shopifyFor(input.channel);
      if (shopify) return shopify.listShopifyDespatches(input);
      try {
        return await deps.peoplevox.listDespatches({ salesOrderNumber: input.salesOrderNumber });
      } catch (err) {
        throw toActivityFailure(err, 'peoplevox', 'GetReportData', 'UNEXPECTED_ERROR');
      }
    },

    async confirmShipment(input: ConfirmShipmentInput): Promise<'confirmed' | 'already-confirmed'> {
      const ch = channelConfig(input.channel);
      const key = shipmentKey(input.channel, input.orderId, input.despatchNumber);
      const carrier = input.carrier ? ch.carrierMap[input.carrier] : undefined;
      if (!carrier) {
        throw ApplicationFailure.create({
          message: `Order ${input.orderId}: despatch ${input.despatchNumber} uses carrier "${input.carrier ?? '(none)'}", which has no marketplace mapping.`,
          type: 'CARRIER_UNMAPPED',
          nonRetryable: true,
          details: [{ despatchNumber: input.despatchNumber, carrier: input.carrier ?? '(none)' }],
        });
      }
      const client = deps.mirakl(input.channel);
      const trackingUrl =
        carrier.trackingUrl && input.trackingNumber
          ? carrier.trackingUrl.replace('{tracking}', input.trackingNumber)
          : undefined;
      try {
        if (input.mode === 'ST01') {
          // Look before create: a shipment for this despatch (package reference) may already exist.
          const existing = await client.listShipments(input.orderId);
          if (existing.some((s) => s.packageReferences.includes(input.despatchNumber))) {
            log.info({ key }, 'shipment already confirmed; not sending again');
            return 'already-confirmed';
          }
          const res = await client.createShipments([
            {
              order_id: input.orderId,
              shipped: true,
              shipment_lines: input.lines.map((l) => ({
                order_line_id: l.lineId,
                quantity: l.quantity,
                package_reference: input.despatchNumber,
              })),
              tracking: {
                ...(carrier.code ? { carrier_code: carrier.code } : { carrier_name: carrier.name }),
                ...(input.trackingNumber ? { tracking_number: input.trackingNumber } : {}),
                ...(trackingUrl && !carrier.code ? { tracking_url: trackingUrl } : {}),
              },
            },
          ]);
          if (res.errors.length > 0) {
            throw ApplicationFailure.create({
              message: `Order ${input.orderId}: the marketplace rejected shipment confirmation for despatch ${input.despatchNumber}: ${res.errors.map((e) => e.message).join('; ')}.`,
              type: 'SHIPMENT_REJECTED',
              nonRetryable: true,
              details: [{ despatchNumber: input.despatchNumber, detail: res.errors.map((e) => e.message).join('; ') }],
            });
          }
          log.info({ key }, 'shipment confirmed (ST01)');
          return 'confirmed';
        }
        // Whole order at once: OR23 then OR24. Both are safe to repeat until the order is SHIPPED; OR24 on
        // an order that already shipped answers with a state error, which means an earlier try went through.
        await client.setTracking(input.orderId, {
          ...(carrier.code ? { carrier_code: carrier.code } : { carrier_name: carrier.name, carrier_url: trackingUrl }),
          ...(input.trackingNumber ? { tracking_number: input.trackingNumber } : {}),
        });
        try {
          await client.shipOrder(input.orderId);
        } catch (err) {
          const detail = String((err as { opts?: { detail?: string } }).opts?.detail ?? '');
          if (/ORDER_INVALID_STATE|SHIPPED|invalid state/i.test(detail)) return 'already-confirmed';
          throw err;
        }
        log.info({ key }, 'order shipped (OR23 + OR24)');
        return 'confirmed';
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', input.mode === 'ST01' ? 'ST01' : 'OR24', 'SHIPMENT_REJECTED', {
          despatchNumber: input.despatchNumber,
        });
      }
    },

    async cancelMarketplaceOrder(input: { channel: string; orderId: string }): Promise<void> {
      try {
        await deps.mirakl(input.channel).cancelOrder(input.orderId);
      } catch (err) {
        const detail = String((err as { opts?: { detail?: string } }).opts?.detail ?? '');
        if (/CANCELED|invalid state/i.test(detail)) return;
        throw toActivityFailure(err, 'mirakl', 'OR29', 'ACCEPTANCE_REJECTED', { orderId: input.orderId });
      }
    },

    async raiseAlert(input: AlertInput): Promise<void> {
      await deps.alerts.raise(input);
    },
  };
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;
