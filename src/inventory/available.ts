// The master's available figures as a channel's inventory workflow knows them, wherever its ledger lives:
// in the channel workflow itself (a small catalogue), or in its shards (src/inventory/shards.ts). Used by
// the order acceptance check and by the stock callbacks' known-item filter. Queries only: nothing here
// writes to history.
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema';
import { inventoryWorkflowId } from './keys';
import { byShard } from './shards';
import { availableQuery, layoutQuery, type InventoryLayout } from '../../workflows/inventory-defs';

const QUERY_CHUNK = 2000;

async function within<T>(client: Client, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + timeoutMs, call);
}

/**
 * Where a channel's ledger lives. A workflow from before shards has no layout query: it holds the ledger
 * itself (answered as local).
 */
export async function inventoryLayout(
  client: Client,
  config: Pick<Config, 'temporal'>,
  channel: string,
  timeoutMs = 5_000,
): Promise<InventoryLayout> {
  const id = inventoryWorkflowId(channel, config.temporal.idScope);
  try {
    return await within(client, timeoutMs, () => client.workflow.getHandle(id).query(layoutQuery));
  } catch (err) {
    if (/did not register a handler|unknown query|query.*not.*(found|registered)/i.test(String(err))) {
      return { channel, mode: 'local', count: 1, ids: [id], resharding: false };
    }
    throw err;
  }
}

/**
 * The master's available figure per item code, for the codes the ledger knows (others are absent from the
 * answer). Throws when a workflow does not answer within the timeout, or while items move between shards
 * (an absent code would then be misread as unknown): callers fall back as they would without a workflow.
 */
export async function masterAvailable(
  client: Client,
  config: Pick<Config, 'temporal'>,
  channel: string,
  codes: readonly string[],
  opts: { timeoutMs?: number; layout?: InventoryLayout } = {},
): Promise<Record<string, number>> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const out: Record<string, number> = {};
  if (codes.length === 0) return out;
  const layout = opts.layout ?? (await inventoryLayout(client, config, channel, timeoutMs));
  if (layout.resharding) throw new Error(`inventory of ${channel} is being split into more shards`);
  const groups = layout.mode === 'local' ? new Map([[0, [...codes]]]) : byShard(codes, (c) => c, layout.count);
  await Promise.all(
    [...groups].map(async ([shard, list]) => {
      const handle = client.workflow.getHandle(layout.ids[shard]!);
      for (let i = 0; i < list.length; i += QUERY_CHUNK) {
        const part = await within(client, timeoutMs, () =>
          handle.query(availableQuery, list.slice(i, i + QUERY_CHUNK)),
        );
        Object.assign(out, part);
      }
    }),
  );
  return out;
}

/**
 * masterAvailable for many callers at once (the acceptance check of every order arriving): each channel has at most
 * one read in flight, and the callers that come meanwhile share the next one (the union of their codes), so a burst
 * of orders costs a few queries rather than two per order, and an answer is never older than the caller's arrival.
 * Where the ledger lives is remembered for `layoutTtlMs` (it changes only when the ledger is split); a failed read
 * forgets it. bench:orders measured the check at 965 ms an order under a burst, most of it queries queued behind
 * each other at the inventory workflow.
 */
export function createAvailabilityReader(
  client: Client,
  config: Pick<Config, 'temporal'>,
  opts: { timeoutMs?: number; layoutTtlMs?: number } = {},
) {
  const layoutTtlMs = opts.layoutTtlMs ?? 5_000;
  const layouts = new Map<string, { layout: InventoryLayout; until: number }>();
  interface Batch {
    codes: Set<string>;
    waiters: Array<{ resolve(v: Record<string, number>): void; reject(e: unknown): void }>;
  }
  const next = new Map<string, Batch>();
  const running = new Set<string>();
  const stats = { reads: 0, callers: 0 };

  async function read(channel: string, codes: string[]): Promise<Record<string, number>> {
    stats.reads++;
    const cached = layouts.get(channel);
    let layout = cached && cached.until > Date.now() ? cached.layout : undefined;
    try {
      if (!layout) {
        layout = await inventoryLayout(client, config, channel, opts.timeoutMs);
        if (!layout.resharding) layouts.set(channel, { layout, until: Date.now() + layoutTtlMs });
      }
      return await masterAvailable(client, config, channel, codes, { ...opts, layout });
    } catch (err) {
      layouts.delete(channel);
      throw err;
    }
  }

  function kick(channel: string): void {
    const batch = next.get(channel);
    if (running.has(channel) || !batch) return;
    next.delete(channel);
    running.add(channel);
    read(channel, [...batch.codes])
      .then(
        (r) => batch.waiters.forEach((w) => w.resolve(r)),
        (e: unknown) => batch.waiters.forEach((w) => w.reject(e)),
      )
      .finally(() => {
        running.delete(channel);
        kick(channel);
      });
  }

  return {
    /** The figures of (at least) these codes; throws as masterAvailable does. */
    available(channel: string, codes: readonly string[]): Promise<Record<string, number>> {
      if (codes.length === 0) return Promise.resolve({});
      stats.callers++;
      return new Promise((resolve, reject) => {
        let batch = next.get(channel);
        if (!batch) next.set(channel, (batch = { codes: new Set(), waiters: [] }));
        for (const c of codes) batch.codes.add(c);
        batch.waiters.push({ resolve, reject });
        kick(channel);
      });
    },
    /** Reads made and callers served so far (tests, metrics). */
    stats: () => ({ ...stats }),
  };
}

export type AvailabilityReader = ReturnType<typeof createAvailabilityReader>;
