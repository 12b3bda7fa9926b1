// Which offer SKUs a channel lists: the marketplace's own offer list (Mirakl OF21, every page), cached per
// worker. Stock is only ever pushed for a SKU the channel lists, and an order line reserves stock only on
// channels that sell its item: a warehouse item the marketplace has no offer for, or an offer SKU that
// needed trimming, would otherwise be pushed in STO01 to every channel and come back rejected
// (STOCK_SKU_REJECTED) from each. Matching is exact: STO01 names offers by their exact shop SKU.
// When the list cannot be read, `lists` answers undefined and callers behave as before (push, reserve).
export interface ChannelListing {
  /** true / false when the channel's list is known; undefined when it could not be read. */
  lists(offerSku: string): Promise<boolean | undefined>;
  /** Reads the list again now. */
  refresh(): Promise<void>;
  /** How many SKUs the channel lists (undefined when unknown). */
  size(): number | undefined;
}

export function createChannelListing(
  load: () => Promise<Iterable<string>>,
  opts: {
    maxAgeMs?: number;
    missRefreshMs?: number;
    /**
     * How long a caller waits for the first read (a catalogue of 100,000 offers is 1,000 OF21 pages). Past
     * it the list counts as unknown (push as before) while the read goes on in the background.
     */
    firstReadWaitMs?: number;
    now?: () => number;
    onError?: (err: unknown) => void;
  } = {},
): ChannelListing {
  const maxAge = opts.maxAgeMs ?? 60 * 60_000;
  const firstReadWait = opts.firstReadWaitMs ?? 20_000;
  const missRefresh = opts.missRefreshMs ?? 10 * 60_000;
  const now = opts.now ?? Date.now;
  let skus: Set<string> | undefined;
  let loadedAt = -Infinity;
  let triedAt = -Infinity;
  let inflight: Promise<void> | undefined;
  /** The first read's wait ends here for every caller (a push asks row by row: one wait, not one per row). */
  let waitUntil = -Infinity;

  const refresh = () => {
    inflight ??= (async () => {
      triedAt = now();
      try {
        skus = new Set(await load());
        loadedAt = now();
      } catch (err) {
        // Keep what we had (or nothing): an unreadable list must not stop stock or orders.
        opts.onError?.(err);
      }
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  return {
    refresh,
    size: () => skus?.size,
    async lists(offerSku: string) {
      if (!skus && (inflight || now() - triedAt > missRefresh)) {
        // The first read (or a retry of a failed one, at most every missRefreshMs): wait a while, no longer —
        // and only once per read: callers after the wait answer 'unknown' until the read is done.
        if (!inflight) waitUntil = now() + firstReadWait;
        const left = waitUntil - now();
        const reading = refresh();
        if (left > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            reading,
            new Promise<void>((r) => {
              timer = setTimeout(r, left);
            }),
          ]).finally(() => clearTimeout(timer));
        }
      } else if (now() - loadedAt > maxAge && now() - triedAt > missRefresh) {
        // Old but known: answer from it while a fresh read goes on (a catalogue of 50,000 offers is 500 OF21
        // pages; a push must not wait for them).
        void refresh();
      }
      if (!skus) return undefined;
      if (skus.has(offerSku)) return true;
      // A SKU not seen yet may be a new offer: read the list again, at most every missRefreshMs.
      if (now() - loadedAt > missRefresh && now() - triedAt > missRefresh) {
        await refresh();
        return skus.has(offerSku);
      }
      return false;
    },
  };
}

/**
 * The offer SKUs an item code feeds on a channel: its skuMap entries (offer SKU → item code) when it has
 * any, otherwise the item code itself (the ledger's rule, src/inventory/ledger.ts offerSkusFor).
 */
export function offerSkusOfItem(skuMap: Readonly<Record<string, string>>, itemCode: string): string[] {
  const mapped = Object.entries(skuMap)
    .filter(([, code]) => code === itemCode)
    .map(([sku]) => sku);
  return mapped.length > 0 ? mapped : [itemCode];
}

/** Whether a channel sells an item: one of its offer SKUs is listed (true when the list is unknown). */
export async function channelSellsItem(
  listing: ChannelListing | undefined,
  skuMap: Readonly<Record<string, string>>,
  itemCode: string,
): Promise<boolean> {
  if (!listing) return true;
  let unknown = false;
  for (const sku of offerSkusOfItem(skuMap, itemCode)) {
    const l = await listing.lists(sku);
    if (l === true) return true;
    if (l === undefined) unknown = true;
  }
  return unknown;
}
