export { shopifySimulator, SHOPIFY_VERSIONS, WEBHOOK_TOPICS } from './simulator';
export type { ShopifySimulatorOptions, DeliveryRecord } from './simulator';
export { ShopifyStore } from './store';
