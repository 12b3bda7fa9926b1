// Idempotency keys and workflow ids, built in one place so every write can be traced to its key.
// Keys derive from marketplace ids only, so a retry, a replay or a second worker computes the same key.

export function orderWorkflowId(channel: string, orderId: string): string {
  return `order:${channel}:${orderId}`;
}

/** One exception workflow per warehouse despatch that no running order workflow could take. */
export function despatchExceptionWorkflowId(salesOrderNumber: string, despatchNumber: string): string {
  return `despatch-exception:${salesOrderNumber}:${despatchNumber}`;
}

export function wmsOrderKey(channel: string, orderId: string): string {
  return `wms-order:${channel}:${orderId}`;
}

export function shipmentKey(channel: string, orderId: string, despatchNumber: string): string {
  return `ship:${channel}:${orderId}:${despatchNumber}`;
}

export function acceptKey(channel: string, orderId: string): string {
  return `accept:${channel}:${orderId}`;
}

/** A cancellation sent to Marketplacer as a refund request (its external id, so a retry can find it). */
export function marketplacerCancelKey(channel: string, orderId: string): string {
  return `cancel:${channel}:${orderId}`;
}

/** The one workflow per channel that takes Marketplacer's webhook events (workflows/marketplace-events.ts). */
export function marketplaceEventsWorkflowId(channel: string, scope?: string): string {
  return scope ? `marketplace-events:${channel}:${scope}` : `marketplace-events:${channel}`;
}

/** Peoplevox SalesOrderNumber is a string(30). */
export const WMS_ORDER_NUMBER_MAX = 30;

/**
 * The warehouse sales order number for a marketplace order: `<PREFIX>-<orderId>`, so two Mirakl
 * instances (ASOS, Joules) whose order ids could coincide never collide in one warehouse. When that is
 * longer than Peoplevox's 30 characters, the tail is replaced by a short stable hash, so the number stays
 * unique and the same on every retry.
 */
export function wmsSalesOrderNumber(prefix: string, orderId: string): string {
  const full = `${prefix}-${orderId}`;
  if (full.length <= WMS_ORDER_NUMBER_MAX) return full;
  const hash = fnv1a32(full).toString(36).toUpperCase().padStart(7, '0');
  return `${full.slice(0, WMS_ORDER_NUMBER_MAX - hash.length - 1)}~${hash}`;
}

/** FNV-1a, 32 bit: deterministic, dependency-free (usable inside workflows too). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The one alert router of a deployment (workflows/alerts.ts); `scope` is config `temporal.idScope`. */
export function alertRouterWorkflowId(scope?: string): string {
  return scope ? `alerts:${scope}` : 'alerts';
}

/**
 * The shared call budget of one tenant of a rate-limited system (workflows/rate-budget.ts); `scope` as above. The
 * task queue its workers poll is part of the id: a budget left running on a queue nobody polls any more (a renamed
 * queue, a deployment gone) could never answer, so a deployment on another queue starts its own.
 */
export function rateBudgetWorkflowId(system: string, tenant: string, taskQueue: string, scope?: string): string {
  return `rate-budget:${system}:${tenant}${scope ? `:${scope}` : ''}@${taskQueue}`;
}

/** One standalone ORDER_UNREADABLE exception per channel and order (or record, when it has no order id). */
export function orderUnreadableWorkflowId(channel: string, orderIdOrFingerprint: string): string {
  return `order-unreadable:${channel}:${orderIdOrFingerprint}`;
}

/** One return workflow per return (key: origin + the source's id, src/domain/returns.ts returnKeyOf). */
export function returnWorkflowId(channel: string, returnKey: string): string {
  return `return:${channel}:${returnKey}`;
}

/** The refund of one line of one return: logged with the OR28 that sends it. */
export function refundKey(channel: string, returnKey: string, lineId: string): string {
  return `refund:${channel}:${returnKey}:${lineId}`;
}

/** A restock decision of one return for one item: its stock event's dedupe key in every inventory workflow. */
export function restockKey(channel: string, returnKey: string, itemCode: string): string {
  return `restock:${channel}:${returnKey}:${itemCode}`;
}
