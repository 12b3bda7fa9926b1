// Custom search attributes: what ops filter orders by in the Web UI, the CLI and the dashboard.
// No personal data ever goes here (visibility is not encrypted by the payload codec).
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributePair,
  type SearchAttributeUpdatePair,
} from '@temporalio/common';

export const SA = {
  Channel: defineSearchAttributeKey('Channel', SearchAttributeType.KEYWORD),
  OrderStatus: defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD),
  ExceptionReason: defineSearchAttributeKey('ExceptionReason', SearchAttributeType.KEYWORD),
  Owner: defineSearchAttributeKey('Owner', SearchAttributeType.KEYWORD),
  MarketplaceOrderId: defineSearchAttributeKey('MarketplaceOrderId', SearchAttributeType.KEYWORD),
  WmsOrderNumber: defineSearchAttributeKey('WmsOrderNumber', SearchAttributeType.KEYWORD),
  AcceptanceDeadline: defineSearchAttributeKey('AcceptanceDeadline', SearchAttributeType.DATETIME),
  ShippingDeadline: defineSearchAttributeKey('ShippingDeadline', SearchAttributeType.DATETIME),
} as const;

/** name → CLI type, for `temporal server start-dev --search-attribute` and operator registration. */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword' | 'Datetime' | 'Int' | 'Text'> = {
  Channel: 'Keyword',
  OrderStatus: 'Keyword',
  ExceptionReason: 'Keyword',
  Owner: 'Keyword',
  MarketplaceOrderId: 'Keyword',
  WmsOrderNumber: 'Keyword',
  AcceptanceDeadline: 'Datetime',
  ShippingDeadline: 'Datetime',
};

/** Loopline's search attributes by name, with the value type each takes; null removes one (upserts only). */
export interface LooplineSearchAttributes {
  Channel: string;
  OrderStatus: string;
  ExceptionReason: string;
  Owner: string;
  MarketplaceOrderId: string;
  WmsOrderNumber: string;
  AcceptanceDeadline: Date;
  ShippingDeadline: Date;
}

type Update = { [K in keyof LooplineSearchAttributes]?: LooplineSearchAttributes[K] | null };
type Initial = { [K in keyof LooplineSearchAttributes]?: LooplineSearchAttributes[K] };

function pair<K extends keyof LooplineSearchAttributes>(
  name: K,
  value: LooplineSearchAttributes[K] | null,
): SearchAttributeUpdatePair {
  const key = SA[name];
  // Each SA key's type matches LooplineSearchAttributes (KEYWORD ↔ string, DATETIME ↔ Date): checked here once.
  return { key, value } as SearchAttributeUpdatePair;
}

/**
 * Typed search-attribute updates for upsertSearchAttributes (workflow code): undefined leaves an attribute as
 * it is, null removes it. The one way Loopline writes search attributes, so no call site needs a cast.
 */
export function searchAttributeUpdates(values: Update): SearchAttributeUpdatePair[] {
  const out: SearchAttributeUpdatePair[] = [];
  for (const name of Object.keys(SA) as Array<keyof LooplineSearchAttributes>) {
    const v = values[name];
    if (v !== undefined) out.push(pair(name, v));
  }
  return out;
}

/** Typed search attributes for starting a workflow (client code). */
export function initialSearchAttributes(values: Initial): SearchAttributePair[] {
  return searchAttributeUpdates(values) as SearchAttributePair[];
}
