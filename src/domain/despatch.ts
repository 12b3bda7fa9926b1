// Turning warehouse despatches into marketplace shipment lines. Pure and deterministic: the order
// workflow imports it directly.
import type { Despatch, OrderLine, ShipmentLine } from './order';

export interface LineProgress {
  lineId: string;
  itemCode: string;
  ordered: number;
  shipped: number;
  cancelled: number;
}

export function remaining(l: LineProgress): number {
  return Math.max(0, l.ordered - l.cancelled - l.shipped);
}

export function initialProgress(lines: OrderLine[], itemCodeFor: (sku: string) => string): LineProgress[] {
  return lines.map((l) => ({
    lineId: l.lineId,
    itemCode: itemCodeFor(l.offerSku),
    ordered: l.quantity,
    shipped: 0,
    cancelled: l.cancelledQuantity,
  }));
}

export interface Allocation {
  lines: ShipmentLine[];
  /** Item quantities in the despatch that no open line could take. */
  excess: Array<{ itemCode: string; quantity: number }>;
}

/**
 * Allocates a despatch's item quantities to order lines, first line first (several lines can carry the
 * same item code). Does not mutate `progress`.
 */
export function allocateDespatch(despatch: Despatch, progress: readonly LineProgress[]): Allocation {
  const left = new Map(progress.map((p) => [p.lineId, remaining(p)]));
  const byLine = new Map<string, number>();
  const excess: Allocation['excess'] = [];
  for (const item of despatch.items) {
    let qty = item.quantity;
    for (const p of progress) {
      if (qty <= 0) break;
      if (p.itemCode.toUpperCase() !== item.itemCode.toUpperCase()) continue;
      const take = Math.min(qty, left.get(p.lineId) ?? 0);
      if (take <= 0) continue;
      left.set(p.lineId, (left.get(p.lineId) ?? 0) - take);
      byLine.set(p.lineId, (byLine.get(p.lineId) ?? 0) + take);
      qty -= take;
    }
    if (qty > 0) excess.push({ itemCode: item.itemCode, quantity: qty });
  }
  return { lines: [...byLine.entries()].map(([lineId, quantity]) => ({ lineId, quantity })), excess };
}

export function applyShipment(progress: LineProgress[], lines: readonly ShipmentLine[]): LineProgress[] {
  const add = new Map(lines.map((l) => [l.lineId, l.quantity]));
  return progress.map((p) => ({ ...p, shipped: p.shipped + (add.get(p.lineId) ?? 0) }));
}

export function fullyShipped(progress: readonly LineProgress[]): boolean {
  return progress.every((p) => remaining(p) === 0);
}

export function anyShipped(progress: readonly LineProgress[]): boolean {
  return progress.some((p) => p.shipped > 0);
}

/** "lines L1 (1 left), L2 (2 left) have not shipped", for deadline alerts. */
export function describeUnshipped(lines: readonly LineProgress[]): string {
  const open = lines.filter((l) => l.ordered - l.cancelled - l.shipped > 0);
  if (open.length === 0) return 'everything has shipped';
  return `lines ${open.map((l) => `${l.lineId} (${l.ordered - l.cancelled - l.shipped} left)`).join(', ')} have not shipped`;
}
