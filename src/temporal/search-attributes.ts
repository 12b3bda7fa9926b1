// Custom search attributes: what ops filter orders by in the Web UI, the CLI and the dashboard.
// No personal data ever goes here (visibility is not encrypted by the payload codec).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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
