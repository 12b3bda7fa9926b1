// The warehouse's item codes, cached per worker: acknowledging an order must not wait on a Peoplevox
// round trip (15 requests per 15 s). Refreshed every few minutes, and early (at most once a minute)
// when a code is missing, so a newly added item is picked up by the next retry.
export interface ItemCodeDirectory {
  has(itemCode: string): Promise<boolean>;
  refresh(): Promise<void>;
}

export function createItemCodeDirectory(
  load: () => Promise<string[]>,
  opts: { maxAgeMs?: number; missRefreshMs?: number; now?: () => number } = {},
): ItemCodeDirectory {
  const maxAge = opts.maxAgeMs ?? 5 * 60_000;
  const missRefresh = opts.missRefreshMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let codes = new Set<string>();
  let loadedAt = -Infinity;
  let inflight: Promise<void> | undefined;

  const refresh = () => {
    inflight ??= load()
      .then((list) => {
        codes = new Set(list.map((c) => c.toUpperCase()));
        loadedAt = now();
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };

  return {
    refresh,
    async has(itemCode: string) {
      if (now() - loadedAt > maxAge) await refresh();
      if (codes.has(itemCode.toUpperCase())) return true;
      if (now() - loadedAt > missRefresh) {
        await refresh();
        return codes.has(itemCode.toUpperCase());
      }
      return false;
    },
  };
}
