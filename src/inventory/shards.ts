// Shards: a channel's ledger split by item code once the catalogue outgrows one workflow
// (docs/inventory.md, "Scale"). Pure and deterministic: the workflows, the activities and the callers that
// ask for master figures all place an item with the same function.
//   - An item's shard is a stable hash of its code modulo the shard count, a power of two: when the count
//     doubles, shard k keeps its items or hands them to shard k + count, never to any other.
//   - The count follows the catalogue: the smallest power of two that keeps every shard at or under
//     `inventory.shardItems` items; it only grows.
import { comparePushRows, type PushRow } from './ledger';

/** Far beyond any catalogue (256 × the default shardItems is about a million items). */
export const MAX_SHARDS = 256;

/** FNV-1a (32-bit) of the code, mixed (murmur3's finaliser) so the low bits spread well. */
function hash(itemCode: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < itemCode.length; i++) {
    h ^= itemCode.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** The shard (0 … count−1) that holds an item. */
export function shardOf(itemCode: string, count: number): number {
  return count <= 1 ? 0 : hash(itemCode) % count;
}

/** The shard count a catalogue of `items` needs, never fewer than `current` (a power of two). */
export function shardCountFor(items: number, perShard: number, current = 1): number {
  let count = Math.max(1, current);
  while (count < MAX_SHARDS && items > count * Math.max(1, perShard)) count *= 2;
  return count;
}

/** A shard's workflow id: under its channel's, with the channel's generation (its first run). */
export function shardWorkflowId(channelWorkflowId: string, gen: string, index: number): string {
  return `${channelWorkflowId}/shard-${gen}-${index}`;
}

export function shardWorkflowIds(channelWorkflowId: string, gen: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => shardWorkflowId(channelWorkflowId, gen, i));
}

/** Groups values by the shard of their item code. */
export function byShard<T>(values: readonly T[], itemCode: (v: T) => string, count: number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const v of values) {
    const k = shardOf(itemCode(v), count);
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

/**
 * The next push across shards: each shard's candidates are already in push order, so the first `max` of
 * their union in that order (sell-outs, restocks, oldest changes) are the rows one ledger would have sent.
 */
export function mergeCandidates(
  lists: ReadonlyArray<readonly PushRow[]>,
  max: number,
): Array<PushRow & { shard: number }> {
  const all: Array<PushRow & { shard: number }> = [];
  lists.forEach((rows, shard) => {
    for (const r of rows) all.push({ ...r, shard });
  });
  all.sort(comparePushRows);
  return all.slice(0, Math.max(0, max));
}
