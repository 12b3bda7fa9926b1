// The activities the order workflow calls, with the timeouts and retry policies of each kind of call. When a
// retry policy runs out the step parks the order (SYSTEM_UNAVAILABLE) and heals by itself (run.ts).
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { OrderActivities, OrderSettings } from '../../activities/order';
import type { InventoryActivities } from '../../activities/inventory';
import type { ShopifyActivities } from '../../activities/shopify';

const SETTINGS_RETRY = { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 12 };

/** Settings and alerts (and, before the settings are known, lookups): on the orders queue. */
export const settingsActs = proxyActivities<
  Pick<OrderActivities, 'orderSettings' | 'resolveItemCodes' | 'validateOrder' | 'raiseAlert' | 'requestWarehouseOrder'>
>({
  startToCloseTimeout: '30s',
  retry: SETTINGS_RETRY,
});

/** Item codes and validation read the warehouse's catalogue: the channel's transport retry budget. */
export function lookupActs(retry?: TransportRetry) {
  return proxyActivities<Pick<OrderActivities, 'resolveItemCodes' | 'validateOrder'>>({
    startToCloseTimeout: '30s',
    retry: retryPolicy(retry),
  });
}

/**
 * 'order-v6': the channel's settings, its item codes and the validation as local activities. Each is answered
 * from the orders worker's own config and cached catalogue (a warehouse read only when the cache is old or lacks
 * a code), in the workflow task that asks, on the worker that runs the order: no activity task, no second
 * workflow task, no trip through the server's queues. Three of them stood between an order's start and its OR21.
 * A failure retries as before (the same policy; past a minute between attempts the SDK waits on a timer).
 */
export const localSettingsActs = proxyLocalActivities<Pick<OrderActivities, 'orderSettings'>>({
  startToCloseTimeout: '30s',
  retry: SETTINGS_RETRY,
});

export function localLookupActs(retry?: TransportRetry) {
  return proxyLocalActivities<Pick<OrderActivities, 'resolveItemCodes' | 'validateOrder'>>({
    startToCloseTimeout: '30s',
    retry: retryPolicy(retry),
  });
}

/** Retries of a marketplace or warehouse call before its step parks (OrderSettings.transportRetry). */
export type TransportRetry = NonNullable<OrderSettings['transportRetry']>;
const TRANSPORT_RETRY: TransportRetry = { initialIntervalMs: 2000, maximumIntervalMs: 120_000, maximumAttempts: 15 };

function retryPolicy(r: TransportRetry = TRANSPORT_RETRY) {
  return {
    initialInterval: r.initialIntervalMs,
    maximumInterval: r.maximumIntervalMs,
    backoffCoefficient: 2,
    maximumAttempts: r.maximumAttempts,
  };
}

/** Marketplace writes that the SLA depends on run on their own queue (see workers/runtime.ts). */
export function marketplaceActs(taskQueue: string, retry?: TransportRetry) {
  return proxyActivities<Pick<OrderActivities, 'acknowledgeOrder' | 'confirmShipment' | 'cancelMarketplaceOrder'>>({
    taskQueue,
    startToCloseTimeout: '30s',
    retry: retryPolicy(retry),
  });
}

export function refundActs(taskQueue: string) {
  return proxyActivities<Pick<ShopifyActivities, 'refundFromShopify'>>({
    taskQueue,
    startToCloseTimeout: '1m',
    retry: { initialInterval: '2s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 15 },
  });
}

/** The stock check runs where the stock lives: the inventory worker reads the channel's inventory workflow. */
export function stockActs(taskQueue: string) {
  return proxyActivities<Pick<InventoryActivities, 'checkOrderStock'>>({
    taskQueue,
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 5 },
  });
}

export function warehouseActs(taskQueue: string, retry?: TransportRetry) {
  return proxyActivities<
    Pick<OrderActivities, 'createWarehouseOrder' | 'cancelWarehouseOrder' | 'listWarehouseDespatches'>
  >({
    taskQueue,
    startToCloseTimeout: '2m',
    retry: retryPolicy(retry),
  });
}

export type MarketplaceActs = ReturnType<typeof marketplaceActs>;
export type WarehouseActs = ReturnType<typeof warehouseActs>;
export type LookupActs = ReturnType<typeof lookupActs>;
