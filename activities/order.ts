// Order activities: thin. Each maps domain → connector call → domain and classifies the failure.
// Built by a factory that receives connectors, so tests hand in connectors pointed at the sandbox.
import { Context } from '@temporalio/activity';
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
import { ConnectorError } from '../src/connectors/errors';
import type { Client } from '@temporalio/client';
import { askWarehouseGateway, type WarehouseAsk } from './warehouse-gateway';
import type { WarehouseAskRef } from '../workflows/warehouse-gateway';
import { alertFailures } from '../src/metrics/alerts';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import type { PeoplevoxClient } from '../src/connectors/peoplevox/client';
import { salesOrderRowOptions, toSalesOrderRow, toSalesOrderItemRows } from '../src/connectors/peoplevox/map';
import { addressRules } from '../src/domain/addresses';
import type { ItemCodeDirectory } from './item-codes';
import type { AlertSink } from '../src/alerts/alerts';
import type { ShopifyActivities } from './shopify';
import type { MarketplacerPort } from './marketplacer';
import { allocationChangesFor, signalReservations } from '../src/inventory/reservations';

export interface OrderSettings {
  /** inventory: where checkOrderStock runs (absent in histories recorded before the stock check). */
  taskQueues: {
    acknowledge: string;
    peoplevox: string;
    inventory?: string;
    fulfilment?: string;
    /** Where the fulfilment system's reads run (absent in histories from before: `fulfilment`). */
    fulfilmentReads?: string;
  };
  acceptancePolicy: ChannelConfig['acceptance']['policy'];
  outOfStock: ChannelConfig['acceptance']['outOfStock'];
  alertAtFractions: number[];
  returnWindowDays: number;
  multiShipment: boolean;
  despatchBackstopMs: number;
  /** Automatic retries of a step parked by an outage (absent in histories from before). */
  outageRetry?: { initialMs: number; maxMs: number };
  /** Retry policy of marketplace and warehouse calls before their step parks (absent in histories from before). */
  transportRetry?: { initialIntervalMs: number; maximumIntervalMs: number; maximumAttempts: number };
  /**
   * The channel's prefix for warehouse order numbers (Peoplevox routes): the workflow decides the number once,
   * before the first create, and keeps it (absent in histories from before, and on Shopify routes).
   */
  warehouseOrderPrefix?: string;
  /**
   * Present when the channel's warehouse is reached through the warehouse gateway (batched creates, shared
   * despatch reads): how long the order waits for its batch's answer before it asks again.
   */
  warehouseGateway?: { resultTimeoutMs: number };
  /** Whether the marketplace has an acceptance step (absent in histories from before: required). */
  acceptance?: 'required' | 'none';
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
  /** Sandbox and benchmarks run time faster (the outage retry backoff divides by it). */
  timeScale?: number;
  /** For the warehouse gateway (requestWarehouseOrder signals it). */
  client?: Client;
  /** Channels with `fulfilment: shopify`: their fulfilment calls and item codes (docs/shopify.md). */
  shopify?: { activities: ShopifyActivities; itemCodes: ItemCodeDirectory };
  /** Channels with `platform: marketplacer`: the marketplace port's Marketplacer side (activities/marketplacer.ts). */
  marketplacer?: MarketplacerPort;
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

  /** This activity's attempt (1 outside an activity: unit tests call these functions directly). */
  function activityAttempt(): number {
    try {
      return Context.current().info.attempt;
    } catch {
      return 1;
    }
  }

  /** The order is in the warehouse (allocated there): its stock reservations go with the item's next figure. */
  async function allocated(order: MarketplaceOrder): Promise<void> {
    if (deps.client)
      await signalReservations(deps.client, config, allocationChangesFor(config, [order], Date.now()), log);
  }

  /** itemCodeOf, with a failure to read the catalogue classified like any call to the fulfilment system. */
  async function catalogueLookup(ch: ChannelConfig, offerSku: string): Promise<string | undefined> {
    try {
      return await itemCodeOf(ch, offerSku);
    } catch (err) {
      const system = ch.fulfilment === 'shopify' ? 'shopify' : 'peoplevox';
      throw toActivityFailure(err, system, 'item codes', 'UNEXPECTED_ERROR');
    }
  }

  /** The fulfilment system of a channel, when it is not Peoplevox (the activity names stay for replay). */
  function shopifyFor(channel: string | undefined): ShopifyActivities | undefined {
    if (!channel || channelConfig(channel).fulfilment !== 'shopify') return undefined;
    if (!deps.shopify) throw ApplicationFailure.nonRetryable('systems.shopify is not wired', 'UNEXPECTED_ERROR');
    return deps.shopify.activities;
  }

  /** The marketplace behind a channel, when it is not Mirakl (the activity names stay for replay). */
  function marketplacerFor(channel: string | undefined): MarketplacerPort | undefined {
    if (!channel || channelConfig(channel).platform !== 'marketplacer') return undefined;
    if (!deps.marketplacer) throw ApplicationFailure.nonRetryable('marketplacer is not wired', 'UNEXPECTED_ERROR');
    return deps.marketplacer;
  }

  function salesOrderNumberFor(channel: string, orderId: string): string {
    return wmsSalesOrderNumber(channelOrderPrefix(channelConfig(channel)), orderId);
  }

  return {
    async orderSettings(channel: string): Promise<OrderSettings> {
      const ch = channelConfig(channel);
      const mp = marketplacerFor(channel);
      let multi = mp ? mp.capabilities().multiShipment : multiShipmentCache.get(channel);
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
          // Marketplace writes; Marketplacer's on their own queue, rate-limited to the key's order share.
          acknowledge: mp ? config.temporal.taskQueues.marketplacer : config.temporal.taskQueues.acknowledge,
          peoplevox: config.temporal.taskQueues.peoplevox,
          inventory: config.temporal.taskQueues.inventory,
          // The channel's fulfilment calls (absent in histories recorded before: they used `peoplevox`).
          fulfilment:
            ch.fulfilment === 'shopify' ? config.temporal.taskQueues.shopify : config.temporal.taskQueues.peoplevox,
          // Reads of the fulfilment system (an order's own despatches): Peoplevox's bulk share of the budget.
          fulfilmentReads:
            ch.fulfilment === 'shopify' ? config.temporal.taskQueues.shopify : config.temporal.taskQueues.peoplevoxBulk,
        },
        acceptancePolicy: ch.acceptance.policy,
        ...(mp ? { acceptance: mp.capabilities().acceptance } : {}),
        outOfStock: ch.acceptance.outOfStock,
        alertAtFractions: ch.deadlines.alertAtFractions,
        returnWindowDays: ch.returnWindowDays,
        multiShipment: multi,
        despatchBackstopMs: deps.despatchBackstopMs ?? 15 * 60_000,
        outageRetry: {
          initialMs: (config.orders.outageRetry.initialSeconds * 1000) / (deps.timeScale ?? 1),
          maxMs: (config.orders.outageRetry.maxSeconds * 1000) / (deps.timeScale ?? 1),
        },
        transportRetry: {
          initialIntervalMs: Math.max(100, 2000 / (deps.timeScale ?? 1)),
          maximumIntervalMs: (config.orders.transportRetry.maximumIntervalSeconds * 1000) / (deps.timeScale ?? 1),
          maximumAttempts: config.orders.transportRetry.maximumAttempts,
        },
        ...(ch.fulfilment === 'peoplevox' ? { warehouseOrderPrefix: channelOrderPrefix(ch) } : {}),
        ...(ch.fulfilment === 'peoplevox' && config.systems.peoplevox?.gateway.enabled
          ? {
              warehouseGateway: {
                // A batch window, the batch's calls at the queue's pace, and room for retries; at least 20 s
                // of real time however fast the sandbox runs (a shorter wait, under load, only asked again).
                resultTimeoutMs: Math.max(
                  (config.systems.peoplevox.gateway.windowSeconds * 1000 + 120_000) / (deps.timeScale ?? 1),
                  20_000,
                ),
              },
            }
          : {}),
      };
    },

    /** offer SKU → item code as the warehouse spells it, or null where the warehouse has no such item. */
    async resolveItemCodes(input: { channel: string; offerSkus: string[] }): Promise<Record<string, string | null>> {
      const ch = channelConfig(input.channel);
      const out: Record<string, string | null> = {};
      for (const sku of input.offerSkus) out[sku] = (await catalogueLookup(ch, sku)) ?? null;
      return out;
    },

    async validateOrder(input: { channel: string; order: MarketplaceOrder }): Promise<OrderException[]> {
      const ch = channelConfig(input.channel);
      const codes: Record<string, string | undefined> = {};
      for (const l of input.order.lines) codes[l.offerSku] = await catalogueLookup(ch, l.offerSku);
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
    }): Promise<'accepted' | 'already-decided' | 'refused' | 'cancelled'> {
      const mp = marketplacerFor(input.channel);
      if (mp) return mp.acknowledge(input);
      const key = acceptKey(input.channel, input.orderId);
      const client = deps.mirakl(input.channel);
      try {
        await client.acceptOrder(
          input.orderId,
          input.decisions.map((d) => ({ id: d.lineId, accepted: d.accepted })),
        );
        log.info({ key }, 'order accepted on the marketplace');
        return 'accepted';
      } catch (err) {
        if (!isStateError(err)) {
          throw toActivityFailure(err, 'mirakl', 'OR21', 'ACCEPTANCE_REJECTED', { orderId: input.orderId });
        }
        // The order is no longer WAITING_ACCEPTANCE. After a lost response that is our own earlier acceptance;
        // but the marketplace may also have refused or cancelled it meanwhile: read it to know which.
        const state = await orderState(client, input.orderId, 'OR21');
        if (state === 'REFUSED' || state === 'CANCELED') {
          log.info({ key, state }, 'order refused or cancelled on the marketplace before our acceptance');
          return state === 'REFUSED' ? 'refused' : 'cancelled';
        }
        if (state === 'WAITING_ACCEPTANCE') {
          // Not decided after all: a transient refusal; Temporal retries.
          throw toActivityFailure(
            new ConnectorError('mirakl', 'OR21', 'order still WAITING_ACCEPTANCE after a state error', true),
            'mirakl',
            'OR21',
            'ACCEPTANCE_REJECTED',
          );
        }
        log.info({ key, state }, 'order already decided on the marketplace (earlier attempt went through)');
        return 'already-decided';
      }
    },

    async createWarehouseOrder(input: {
      channel: string;
      order: MarketplaceOrder;
      /** Decided by the workflow before the first attempt (absent in histories from before: computed here). */
      salesOrderNumber?: string;
    }): Promise<{
      salesOrderNumber: string;
      created: boolean;
    }> {
      const shopify = shopifyFor(input.channel);
      if (shopify) return shopify.createShopifyOrder(input);
      const ch = channelConfig(input.channel);
      const salesOrderNumber = input.salesOrderNumber ?? salesOrderNumberFor(input.channel, input.order.orderId);
      const key = wmsOrderKey(input.channel, input.order.orderId);
      const reference = warehouseReference(input.order);
      try {
        // Look before create: after a lost response the order may already be there.
        const existing = await deps.peoplevox.findSalesOrder(salesOrderNumber);
        if (existing) {
          // Only ours counts: a hashed long id can collide, and a person can key a number by hand.
          const found = String(existing.row.CustomerPurchaseOrderReferenceNumber ?? '').trim();
          if (found !== reference) {
            throw ApplicationFailure.create({
              message: `Order ${input.order.orderId}: warehouse order ${salesOrderNumber} already exists for another order (reference "${found || '(none)'}"), so it was not created.`,
              type: 'WMS_ORDER_NUMBER_TAKEN',
              nonRetryable: true,
              details: [{ salesOrderNumber, reference: found || '(none)' }],
            });
          }
          log.info({ key, salesOrderNumber }, 'warehouse order already exists; not creating again');
          // Items are saved by a second call: make sure they landed too (SaveData upserts by line).
          if (existing.itemCount >= input.order.lines.length) {
            // Saved by an earlier attempt whose answer was lost: this attempt tells the stock channels. Found on a
            // first attempt, it was saved by an earlier run of the order (restarted), which told them then.
            if (activityAttempt() > 1) await allocated(input.order);
            return { salesOrderNumber, created: false };
          }
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
        await allocated(input.order);
        return { salesOrderNumber, created: true };
      } catch (err) {
        throw toActivityFailure(err, 'peoplevox', 'SaveData', 'WMS_REJECTED', { orderId: input.order.orderId });
      }
    },

    async cancelWarehouseOrder(input: {
      salesOrderNumber: string;
      channel?: string;
      /** The create never answered: cancel only if the order is there (saving a status would create it). */
      onlyIfExists?: boolean;
    }): Promise<{ cancelled: boolean; status: string }> {
      // Shopify orders are cancelled in Shopify by the people who run it (CANCELLED_AFTER_PICK names it).
      if (shopifyFor(input.channel)) return { cancelled: false, status: 'open in Shopify' };
      try {
        if (input.onlyIfExists && !(await deps.peoplevox.findSalesOrder(input.salesOrderNumber))) {
          return { cancelled: true, status: 'never created' };
        }
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
      const mp = marketplacerFor(input.channel);
      if (mp) return mp.confirmShipment(input);
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
            const detail = res.errors.map((e) => e.message).join('; ');
            // A state error: only lines already in a shipment count as confirmed (read back); otherwise the
            // order moved on without us (cancelled, refunded) and a person must look.
            if (res.errors.some((e) => STATE_ERROR.test(e.message))) {
              const shipped = await client.listShipments(input.orderId);
              const inShipments = new Map<string, number>();
              for (const sh of shipped)
                for (const l of sh.lines)
                  if (l.lineId) inShipments.set(l.lineId, (inShipments.get(l.lineId) ?? 0) + l.quantity);
              if (input.lines.every((l) => (inShipments.get(l.lineId) ?? 0) >= l.quantity)) {
                log.info({ key }, 'lines already in a shipment on the marketplace; not sending again');
                return 'already-confirmed';
              }
              const state = await orderState(client, input.orderId, 'ST01');
              throw shipmentRefused(input, `${detail} (the marketplace has the order as ${state})`);
            }
            throw shipmentRefused(input, detail);
          }
          log.info({ key }, 'shipment confirmed (ST01)');
          return 'confirmed';
        }
        // Whole order at once: OR23 then OR24. Both are safe to repeat until the order is SHIPPED. A state error
        // means the order is not SHIPPING any more: an earlier try went through (SHIPPED) — or the order was
        // cancelled meanwhile, which must not read as confirmed. So read the order and decide.
        try {
          await client.setTracking(input.orderId, {
            ...(carrier.code
              ? { carrier_code: carrier.code }
              : { carrier_name: carrier.name, carrier_url: trackingUrl }),
            ...(input.trackingNumber ? { tracking_number: input.trackingNumber } : {}),
          });
          await client.shipOrder(input.orderId);
        } catch (err) {
          if (!isStateError(err)) throw err;
          const state = await orderState(client, input.orderId, 'OR24');
          if (SHIPPED_STATES.has(state)) {
            log.info({ key, state }, 'order already shipped on the marketplace; not sending again');
            return 'already-confirmed';
          }
          throw shipmentRefused(input, `the marketplace has the order as ${state}`);
        }
        log.info({ key }, 'order shipped (OR23 + OR24)');
        return 'confirmed';
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', input.mode === 'ST01' ? 'ST01' : 'OR24', 'SHIPMENT_REJECTED', {
          despatchNumber: input.despatchNumber,
        });
      }
    },

    /** Asks the warehouse gateway for this order's warehouse order; the answer comes back by signal. */
    async requestWarehouseOrder(input: WarehouseAskRef & { check?: boolean }): Promise<WarehouseAsk> {
      if (!deps.client)
        throw ApplicationFailure.nonRetryable('no Temporal client for the warehouse gateway', 'UNEXPECTED_ERROR');
      const { check, ...ref } = input;
      return askWarehouseGateway(deps.client, config, deps.timeScale ?? 1, ref, check === true);
    },

    async cancelMarketplaceOrder(input: { channel: string; orderId: string }): Promise<void> {
      const mp = marketplacerFor(input.channel);
      if (mp) return mp.cancelOrder(input);
      const client = deps.mirakl(input.channel);
      try {
        await client.cancelOrder(input.orderId);
      } catch (err) {
        if (!isStateError(err) && !/CANCELED/.test(errorDetail(err))) {
          throw toActivityFailure(err, 'mirakl', 'OR29', 'ACCEPTANCE_REJECTED', { orderId: input.orderId });
        }
        // Already cancelled (an earlier try went through) is done; any other state is not a cancellation.
        const state = await orderState(client, input.orderId, 'OR29');
        if (state === 'CANCELED' || state === 'REFUSED') return;
        throw ApplicationFailure.create({
          message: `Order ${input.orderId}: the marketplace would not cancel the order: it has it as ${state}.`,
          type: 'ACCEPTANCE_REJECTED',
          nonRetryable: true,
          details: [{ detail: `the marketplace has the order as ${state}` }],
        });
      }
    },

    /**
     * Best-effort: delivery is retried inside the sink and deduplicated; a sink that still refuses is a log line
     * and a metric, never a failed activity (an alert must not hold up or fail an order).
     */
    async raiseAlert(input: AlertInput): Promise<void> {
      try {
        await deps.alerts.raise(input);
      } catch (err) {
        alertFailures.inc({ kind: input.kind });
        log.error({ alertKey: input.key, error: (err as Error).message }, 'alert not delivered; carrying on');
      }
    },
  };
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;

/** Mirakl answers a call the order's state does not allow with a state error (code or wording). */
const STATE_ERROR = /ORDER_INVALID_STATE|not in (WAITING_ACCEPTANCE|SHIPPING)|invalid state|state.*not allow/i;
const SHIPPED_STATES = new Set(['SHIPPED', 'TO_COLLECT', 'RECEIVED', 'CLOSED']);

function errorDetail(err: unknown): string {
  const e = err as { opts?: { detail?: string; code?: string }; message?: string };
  return `${e?.opts?.code ?? ''} ${e?.opts?.detail ?? e?.message ?? ''}`;
}

function isStateError(err: unknown): boolean {
  return err instanceof ConnectorError && !err.retryable && STATE_ERROR.test(errorDetail(err));
}

/** The order's state on Mirakl now (OR11 by id); reading it is how a state error is judged. */
async function orderState(client: MiraklClient, orderId: string, operation: string): Promise<string> {
  try {
    const [order] = await client.getOrders([orderId]);
    return order?.order_state ?? 'NOT FOUND';
  } catch (err) {
    throw toActivityFailure(err, 'mirakl', `OR11 after ${operation}`, 'UNEXPECTED_ERROR', { orderId });
  }
}

function shipmentRefused(input: ConfirmShipmentInput, detail: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `Order ${input.orderId}: the marketplace rejected shipment confirmation for despatch ${input.despatchNumber}: ${detail}.`,
    type: 'SHIPMENT_REJECTED',
    nonRetryable: true,
    details: [{ despatchNumber: input.despatchNumber, detail }],
  });
}

/** The marketplace order's reference on the warehouse order (CustomerPurchaseOrderReferenceNumber). */
function warehouseReference(order: MarketplaceOrder): string {
  return (order.commercialId ?? order.orderId).trim();
}
