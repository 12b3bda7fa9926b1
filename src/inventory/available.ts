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
  opts: { timeoutMs?: number } = {},
): Promise<Record<string, number>> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const out: Record<string, number> = {};
  if (codes.length === 0) return out;
  const layout = await inventoryLayout(client, config, channel, timeoutMs);
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
