export { marketplacerSimulator, WEBHOOK_TYPES } from './simulator';
export type { MarketplacerSimulatorOptions, MarketplacerDeliveryRecord, WebhookType } from './simulator';
export { MarketplacerStore, globalId, parseGlobalId, DEFAULT_CARRIERS } from './store';
