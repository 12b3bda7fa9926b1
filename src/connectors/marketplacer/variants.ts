// SKU ↔ variant for one Marketplacer channel, from a read of every variant the seller has (adverts → variants),
// cached per worker: stock goes to a variant by its Relay id, and Peoplevox knows SKUs. Read again when old, and
// early (at most every `missRefreshMs`) when a SKU has no variant yet, so a variant created today is found.
// Serves as the channel's listing too (src/inventory/listing.ts): a SKU without a variant is not listed there.
import type { ChannelListing } from '../../inventory/listing';
import type { MpVariant } from './schemas';

export interface VariantDirectory extends ChannelListing {
  /** The variant that carries this SKU (exact match, as Marketplacer stores it), if any. */
  variantFor(sku: string): Promise<MpVariant | undefined>;
  /** Every variant as last read (with and without a SKU). */
  variants(): MpVariant[];
  /** Increases with every successful read. */
  version(): number;
  /** Reads now when never read or older than the maximum age (throws when it has never been read). */
  ensure(): Promise<void>;
  /** A variant the API no longer knows: the next lookup reads again. */
  forget(variantId: string): void;
}

export function createVariantDirectory(
  load: () => Promise<MpVariant[]>,
  opts: { maxAgeMs?: number; missRefreshMs?: number; now?: () => number; onError?: (err: unknown) => void } = {},
): VariantDirectory {
  const maxAge = opts.maxAgeMs ?? 60 * 60_000;
  const missRefresh = opts.missRefreshMs ?? 10 * 60_000;
  const now = opts.now ?? Date.now;
  let all: MpVariant[] = [];
  let bySku: Map<string, MpVariant> | undefined;
  let loadedAt = -Infinity;
  let triedAt = -Infinity;
  let count = 0;
  let inflight: Promise<void> | undefined;

  const refresh = (): Promise<void> => {
    inflight ??= (async () => {
      triedAt = now();
      const list = await load();
      all = list;
      bySku = new Map(list.filter((v) => v.sku).map((v) => [v.sku!, v]));
      loadedAt = now();
      count++;
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const ensure = async () => {
    if (!bySku || now() - loadedAt > maxAge) {
      try {
        await refresh();
      } catch (err) {
        opts.onError?.(err);
        if (!bySku) throw err;
      }
    }
  };

  async function variantFor(sku: string): Promise<MpVariant | undefined> {
    await ensure();
    const hit = bySku!.get(sku);
    if (hit) return hit;
    if (now() - triedAt > missRefresh) {
      try {
        await refresh();
      } catch (err) {
        opts.onError?.(err);
      }
      return bySku!.get(sku);
    }
    return undefined;
  }

  return {
    variantFor,
    variants: () => all,
    version: () => count,
    ensure,
    refresh: async () => {
      try {
        await refresh();
      } catch (err) {
        opts.onError?.(err);
      }
    },
    size: () => bySku?.size,
    forget(variantId: string) {
      if (!bySku) return;
      for (const [sku, v] of bySku) if (v.id === variantId) bySku.delete(sku);
      triedAt = -Infinity;
    },
    async lists(sku: string) {
      try {
        return (await variantFor(sku)) !== undefined;
      } catch {
        // Unreadable: callers behave as before (push, reserve).
        return undefined;
      }
    },
  };
}
