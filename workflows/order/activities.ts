// The activities the order workflow calls, with the timeouts and retry policies of each kind of call. When a
// retry policy runs out the step parks the order (SYSTEM_UNAVAILABLE) and heals by itself (run.ts).
import { proxyActivities } from '@temporalio/workflow';
import type { OrderActivities } from '../../activities/order';
import type { InventoryActivities } from '../../activities/inventory';
import type { ShopifyActivities } from '../../activities/shopify';

const SETTINGS_RETRY = { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 12 };

/** Settings, item codes and validation: on the orders queue. */
export const settingsActs = proxyActivities<
  Pick<OrderActivities, 'orderSettings' | 'resolveItemCodes' | 'validateOrder' | 'raiseAlert'>
>({
  startToCloseTimeout: '30s',
  retry: SETTINGS_RETRY,
});

/** Marketplace writes that the SLA depends on run on their own queue (see workers/runtime.ts). */
export function marketplaceActs(taskQueue: string) {
  return proxyActivities<Pick<OrderActivities, 'acknowledgeOrder' | 'confirmShipment' | 'cancelMarketplaceOrder'>>({
    taskQueue,
    startToCloseTimeout: '30s',
    retry: { initialInterval: '2s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 15 },
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

export function warehouseActs(taskQueue: string) {
  return proxyActivities<
    Pick<OrderActivities, 'createWarehouseOrder' | 'cancelWarehouseOrder' | 'listWarehouseDespatches'>
  >({
    taskQueue,
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 15 },
  });
}

export type MarketplaceActs = ReturnType<typeof marketplaceActs>;
export type WarehouseActs = ReturnType<typeof warehouseActs>;
