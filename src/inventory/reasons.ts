// The ways stock sync needs a person: reason code, owner, sentence and way out (see docs/inventory.md).
import type { Owner } from '../domain/owners';

export const INVENTORY_REASONS = {
  STOCK_SKU_REJECTED: {
    owner: 'merchandising',
    template:
      'Channel {channel}: the marketplace rejected the stock of offer SKU "{offerSku}" (import {importId}): {detail}.',
    fix: 'Create the offer on the marketplace or fix the skuMap entry, then retry the SKU (update retrySku).',
  },
  STOCK_SYNC_STALE: {
    owner: 'ops',
    template:
      'Channel {channel}: stock has not reached the marketplace for {minutes} minutes; {pending} SKU changes wait (oldest {oldestMinutes} min).',
    fix: 'Check the marketplace status and API key, and the inventory worker; the changes push as soon as calls succeed.',
  },
  STOCK_READ_HELD: {
    owner: 'ops',
    template:
      'Channel {channel}: the full stock read says {dropped} of {inStock} items in stock are suddenly at 0; it was not applied (no sell-out pushed).',
    fix: 'Check the Item inventory summary in Peoplevox (site, report, recent stock count). If the figures are real, confirm the read (loopline stock confirm-read <channel>); otherwise fix the report and wait for the next read.',
  },
  STOCK_PUSH_FAILED: {
    owner: 'ops',
    template:
      'Channel {channel}: stock import {importId} failed on the marketplace ({detail}); the SKUs are queued again.',
    fix: 'Nothing to do if the next push succeeds; otherwise check the marketplace back office import report.',
  },
  CHANNEL_CONNECTION_INACTIVE: {
    owner: 'ops',
    template:
      'Channel {channel}: the marketplace accepts stock updates but does not show them ({differing} of {checked} variants read back differ, e.g. {example}); its connection looks inactive, so stock is not reaching it.',
    fix: "Check the marketplace's connection state with the Marketplacer operator (Connected marketplaces / seller settings) and reactivate it; Loopline keeps pushing and says when the counts show again.",
  },
  VARIANT_UNMAPPED: {
    owner: 'merchandising',
    template:
      'Channel {channel}: {count} variant(s) on the marketplace have no Peoplevox item code behind them, so their stock is never updated: {sample}.',
    fix: 'Give each variant the SKU of its Peoplevox item code (exactly, as the warehouse spells it), or add a skuMap entry for the channel; the next variant read (listingRefreshMinutes) clears it.',
  },
} as const satisfies Record<string, { owner: Owner; template: string; fix: string }>;

export type InventoryReason = keyof typeof INVENTORY_REASONS;

export function describeInventory(reason: InventoryReason, details: Record<string, string | number | undefined>) {
  return INVENTORY_REASONS[reason].template.replace(/\{(\w+)\}/g, (m, k: string) => {
    const v = details[k];
    return v === undefined ? m : String(v);
  });
}
