// The warehouse's item codes, cached per worker: acknowledging an order must not wait on a Peoplevox
// round trip (15 requests per 15 s). Refreshed every few minutes, and early (at most once a minute)
// when a code is missing, so a newly added item is picked up by the next retry.
// Codes match whatever their case and surrounding spaces (an offer SKU `tee-red-m ` is item TEE-RED-M),
// and resolve to the code exactly as the warehouse spells it: that is what goes on the warehouse order,
// so its despatches (which use the warehouse's spelling) match the order lines again.
// While the warehouse cannot be read, codes already known keep resolving from the last good read (an outage
// must not hold up orders whose items are known); only a code the cache lacks needs the warehouse, and that
// read's failure goes to the caller to retry.
export interface ItemCodeDirectory {
  has(itemCode: string): Promise<boolean>;
  /**
   * The warehouse's own spelling of the item code, or undefined when the warehouse has no such item.
   * `refreshOnMiss: false` answers from the cached list (still refreshed when old) without reading again on
   * a miss: for lookups that must not use up the early refresh an operator's retry relies on.
   */
  resolve(itemCode: string, opts?: { refreshOnMiss?: boolean }): Promise<string | undefined>;
  refresh(): Promise<void>;
}

function normalise(code: string): string {
  return code.trim().toUpperCase();
}

export function createItemCodeDirectory(
  load: () => Promise<string[]>,
  opts: { maxAgeMs?: number; missRefreshMs?: number; now?: () => number } = {},
): ItemCodeDirectory {
  const maxAge = opts.maxAgeMs ?? 5 * 60_000;
  const missRefresh = opts.missRefreshMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let codes = new Map<string, string>();
  let loadedAt = -Infinity;
  let inflight: Promise<void> | undefined;

  const refresh = () => {
    inflight ??= load()
      .then((list) => {
        codes = new Map(list.map((c) => [normalise(c), c.trim()]));
        loadedAt = now();
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };

  async function resolve(itemCode: string, opts: { refreshOnMiss?: boolean } = {}): Promise<string | undefined> {
    if (now() - loadedAt > maxAge) {
      try {
        await refresh();
      } catch (err) {
        if (loadedAt === -Infinity) throw err;
        // Stale but known: keep serving hits; a miss below asks the warehouse again (and fails if it is down).
      }
    }
    const key = normalise(itemCode);
    if (key === '') return undefined;
    const hit = codes.get(key);
    if (hit !== undefined) return hit;
    if (opts.refreshOnMiss !== false && now() - loadedAt > missRefresh) {
      await refresh();
      return codes.get(key);
    }
    return undefined;
  }

  return {
    refresh,
    resolve,
    async has(itemCode: string) {
      return (await resolve(itemCode)) !== undefined;
    },
  };
}
