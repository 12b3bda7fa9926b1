// Reservations from order intake: every order line the intake sees before the warehouse has allocated
// it is reserved in the inventory workflow of every channel sharing the master, so no channel is shown
// (or pushed) units a marketplace has already sold. The release rules live with the ledger
// (src/inventory/ledger.ts, "reservations from order intake"); this file builds the messages and sends them.
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { MarketplaceOrder } from '../domain/order';
import { INVENTORY_WORKFLOW_TASK_TIMEOUT, inventoryWorkflowId } from './keys';
import { stockChannels } from './intake';
import type { ReservationChange } from './ledger';
import { inventoryWorkflow, orderStockSignal } from '../../workflows/inventory';
import { channelSellsItem, type ChannelListing } from './listing';

/** The warehouse's item codes as the order path resolves them (activities/item-codes.ts). */
export interface ItemCodeResolver {
  /** The warehouse's own spelling of an item code (case and spaces ignored), or undefined. */
  resolve(itemCode: string, opts?: { refreshOnMiss?: boolean }): Promise<string | undefined>;
}

/** Order states before the warehouse order exists: Loopline creates it once the marketplace says SHIPPING. */
const BEFORE_ALLOCATION: ReadonlySet<string> = new Set([
  'WAITING_ACCEPTANCE',
  'WAITING_DEBIT',
  'WAITING_DEBIT_PAYMENT',
]);
const GONE: ReadonlySet<string> = new Set(['REFUSED', 'CANCELED']);

export function reservationKey(channel: string, orderId: string, lineId: string): string {
  return `${channel}:${orderId}:${lineId}`;
}

/**
 * What the intake's view of an order means for stock: reserve each live line while the order waits for
 * acceptance or the debit; release lines (or the whole order) refused or cancelled. Orders already past
 * allocation (SHIPPING and later) reserve nothing: the master has them. Orders of channels whose stock
 * is not Peoplevox's are not this master's business.
 */
export function reservationChangesFor(
  config: Config,
  order: MarketplaceOrder,
  now: number,
  itemCodeFor?: (offerSku: string) => string | undefined,
): ReservationChange[] {
  const ch = config.channels.find((c) => c.code === order.channel);
  if (!ch || ch.fulfilment !== 'peoplevox') return [];
  const out: ReservationChange[] = [];
  for (const line of order.lines) {
    const key = reservationKey(order.channel, order.orderId, line.lineId);
    if (GONE.has(order.state) || GONE.has(String(line.state))) {
      out.push({
        op: 'release',
        key,
        at: now,
        reason: order.state === 'CANCELED' || line.state === 'CANCELED' ? 'cancelled' : 'refused',
      });
      continue;
    }
    // Units already cancelled on the line before the intake saw it are not sold.
    const quantity = line.quantity - Math.max(0, line.cancelledQuantity ?? 0);
    if (!BEFORE_ALLOCATION.has(order.state) || !(quantity > 0)) continue;
    // The item as the warehouse spells it, after the channel's skuMap and the same normalisation as the
    // order path (case, spaces). A SKU the warehouse does not know reserves nothing: there is no stock of
    // it anywhere, and its order parks as SKU_UNMAPPED.
    const itemCode = itemCodeFor ? itemCodeFor(line.offerSku) : (ch.skuMap[line.offerSku] ?? line.offerSku);
    if (!itemCode) continue;
    out.push({ op: 'reserve', key, itemCode, quantity, at: now });
  }
  return out;
}

/**
 * The warehouse order of these orders is saved (at `at`, when SaveData answered): every master figure of their
 * items observed from then on includes the allocation, so each line's reservation, if a channel still holds
 * one, is released by the first such figure (the ledger's `allocated` op). Without it a reservation is
 * released only by a decrease observed after it, and one whose allocation was already in the item's figure
 * (the first full read of a fresh deployment, or a backorder that took nothing) held its units until the TTL.
 */
export function allocationChangesFor(
  config: Config,
  orders: ReadonlyArray<Pick<MarketplaceOrder, 'channel' | 'orderId' | 'lines'>>,
  at: number,
): ReservationChange[] {
  const out: ReservationChange[] = [];
  for (const order of orders) {
    const ch = config.channels.find((c) => c.code === order.channel);
    if (!ch || ch.fulfilment !== 'peoplevox') continue;
    for (const line of order.lines)
      out.push({ op: 'allocated', key: reservationKey(order.channel, order.orderId, line.lineId), at });
  }
  return out;
}

/**
 * reservationChangesFor with item codes resolved the way the order path resolves them: the channel's
 * skuMap (keyed by the offer SKU as sent, then trimmed), then the warehouse's own spelling.
 */
export async function resolvedReservationChanges(
  config: Config,
  order: MarketplaceOrder,
  now: number,
  itemCodes: ItemCodeResolver | undefined,
): Promise<ReservationChange[]> {
  if (!itemCodes) return reservationChangesFor(config, order, now);
  const ch = config.channels.find((c) => c.code === order.channel);
  if (!ch || ch.fulfilment !== 'peoplevox') return [];
  const resolved = new Map<string, string | undefined>();
  try {
    for (const l of order.lines) {
      if (resolved.has(l.offerSku)) continue;
      const mapped = ch.skuMap[l.offerSku] ?? ch.skuMap[l.offerSku.trim()] ?? l.offerSku;
      // From the cached list: the intake sees every order again on each poll, and reading the warehouse on
      // each miss would use up the early refresh that an operator's retry (a new item added) relies on.
      resolved.set(l.offerSku, await itemCodes.resolve(mapped, { refreshOnMiss: false }));
    }
  } catch {
    // The warehouse's item list could not be read: reserve nothing for this order (as before reservations;
    // the velocity buffer still holds back likely sales) rather than hold up the intake. Releases still go.
    resolved.clear();
  }
  return reservationChangesFor(config, order, now, (sku) => resolved.get(sku));
}

/**
 * The changes a channel's inventory workflow should get: every release and allocation (a key it never
 * reserved changes nothing), and a reserve only where the channel sells the item (one of its offer SKUs is
 * in the channel's list), so a channel that does not sell an item never keeps a row for it.
 */
export async function changesForChannel(
  config: Config,
  channel: string,
  changes: readonly ReservationChange[],
  listing: ChannelListing | undefined,
): Promise<ReservationChange[]> {
  if (!listing) return [...changes];
  const skuMap = config.channels.find((c) => c.code === channel)?.skuMap ?? {};
  const sells = new Map<string, boolean>();
  const out: ReservationChange[] = [];
  for (const c of changes) {
    if (c.op === 'reserve') {
      if (!sells.has(c.itemCode)) sells.set(c.itemCode, await channelSellsItem(listing, skuMap, c.itemCode));
      if (!sells.get(c.itemCode)) continue;
    }
    out.push(c);
  }
  return out;
}

/** Sends the changes to every stock channel's inventory workflow (starting it if needed), in chunks. */
export async function signalReservations(
  client: Client,
  config: Config,
  changes: ReservationChange[],
  log?: Logger,
  opts: { listing?(channel: string): ChannelListing | undefined } = {},
): Promise<{ signals: number; failed: number }> {
  const result = { signals: 0, failed: 0 };
  if (changes.length === 0) return result;
  for (let i = 0; i < changes.length; i += 1000) {
    const all = changes.slice(i, i + 1000);
    await Promise.all(
      // Reservations come from Peoplevox-fulfilled orders: only channels whose stock master is Peoplevox share it.
      stockChannels(config, 'peoplevox').map(async (channel) => {
        const chunk = await changesForChannel(config, channel, all, opts.listing?.(channel)).catch(() => all);
        if (chunk.length === 0) return;
        try {
          await client.workflow.signalWithStart(inventoryWorkflow, {
            workflowId: inventoryWorkflowId(channel, config.temporal.idScope),
            workflowTaskTimeout: INVENTORY_WORKFLOW_TASK_TIMEOUT,
            taskQueue: config.temporal.taskQueues.inventory,
            args: [{ channel }],
            signal: orderStockSignal,
            signalArgs: [chunk],
          });
          result.signals++;
        } catch (err) {
          // Not fatal: without the reservation the channel is as it was before reservations (the velocity
          // buffer still holds back likely sales), and a re-poll of the order (the intake overlap) sends the reserve again.
          result.failed++;
          log?.warn({ err: (err as Error).message, channel }, 'stock reservations not delivered');
        }
      }),
    );
  }
  return result;
}
