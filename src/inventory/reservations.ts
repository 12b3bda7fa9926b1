// Reservations from order intake: every order line the intake sees before the warehouse has allocated
// it is reserved in the inventory workflow of every channel sharing the master, so no channel is shown
// (or pushed) units a marketplace has already sold. The release rules live with the ledger
// (src/inventory/ledger.ts, "reservations from order intake"); this file builds the messages and sends them.
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { MarketplaceOrder } from '../domain/order';
import { inventoryWorkflowId } from './keys';
import { stockChannels } from './intake';
import type { ReservationChange } from './ledger';
import { inventoryWorkflow, orderStockSignal } from '../../workflows/inventory';

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
export function reservationChangesFor(config: Config, order: MarketplaceOrder, now: number): ReservationChange[] {
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
    out.push({
      op: 'reserve',
      key,
      itemCode: ch.skuMap[line.offerSku] ?? line.offerSku,
      quantity,
      at: now,
    });
  }
  return out;
}

/** Sends the changes to every stock channel's inventory workflow (starting it if needed), in chunks. */
export async function signalReservations(
  client: Client,
  config: Config,
  changes: ReservationChange[],
  log?: Logger,
): Promise<{ signals: number; failed: number }> {
  const result = { signals: 0, failed: 0 };
  if (changes.length === 0) return result;
  for (let i = 0; i < changes.length; i += 1000) {
    const chunk = changes.slice(i, i + 1000);
    await Promise.all(
      stockChannels(config).map(async (channel) => {
        try {
          await client.workflow.signalWithStart(inventoryWorkflow, {
            workflowId: inventoryWorkflowId(channel, config.temporal.idScope),
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
