// Where the reconciliation reads Shopify orders from. The matching (./match.ts) depends only on the
// ShopifyOrderSource interface (./types.ts), so the source can be:
//   - InMemoryShopifyOrderSource: a seeded test double (the reconciliation tests use it);
//   - unavailableShopifyOrderSource: what a worker without a Shopify connector gets — the activity fails
//     with a clear message instead of reporting every order as missing;
//   - an adapter over the Shopify connector or simulator once it exists (lookup by the Mirakl order id kept
//     as the order's sourceIdentifier / metafield, as issue 5's order import writes it).
import type { ShopifyOrderRecord, ShopifyOrderSource } from './types';

export class InMemoryShopifyOrderSource implements ShopifyOrderSource {
  private readonly orders = new Map<string, ShopifyOrderRecord>();
  /** Every lookup, for tests that check batching. */
  readonly lookups: string[][] = [];

  constructor(records: Iterable<ShopifyOrderRecord> = []) {
    for (const r of records) this.put(r);
  }

  put(record: ShopifyOrderRecord): void {
    this.orders.set(record.miraklOrderId, structuredClone(record));
  }

  delete(miraklOrderId: string): boolean {
    return this.orders.delete(miraklOrderId);
  }

  get(miraklOrderId: string): ShopifyOrderRecord | undefined {
    return this.orders.get(miraklOrderId);
  }

  async findOrdersByMiraklIds(ids: readonly string[]): Promise<Map<string, ShopifyOrderRecord>> {
    this.lookups.push([...ids]);
    const out = new Map<string, ShopifyOrderRecord>();
    for (const id of ids) {
      const r = this.orders.get(id);
      if (r) out.set(id, structuredClone(r));
    }
    return out;
  }
}

export class ShopifySourceUnavailableError extends Error {
  constructor(channel: string) {
    super(
      `no Shopify order source is configured for channel ${channel}: payout reconciliation needs the Shopify connector`,
    );
    this.name = 'ShopifySourceUnavailableError';
  }
}

export function unavailableShopifyOrderSource(channel: string): ShopifyOrderSource {
  return {
    findOrdersByMiraklIds() {
      return Promise.reject(new ShopifySourceUnavailableError(channel));
    },
  };
}
