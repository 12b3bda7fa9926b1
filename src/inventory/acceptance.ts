// The acceptance check: what to do with an order line whose stock is gone by the time the order arrives.
// Shared by the order workflow (through the checkOrderStock activity) and the flash-sale benchmark.
//   accept-and-backorder: accept the line; the warehouse ships it when stock returns (a backorder);
//   refuse-line:          refuse just that line on the marketplace (OR21 accepted=false), accept the rest.
// Stock is consumed line by line in order, so two lines of one SKU cannot both take the last unit.
export type OutOfStockPolicy = 'accept-and-backorder' | 'refuse-line';

export interface StockCheckLine {
  lineId: string;
  itemCode: string;
  quantity: number;
}

export interface StockLineDecision {
  lineId: string;
  accepted: boolean;
  /** Accepted although the warehouse cannot cover it now. */
  backorder: boolean;
  /** Units the warehouse cannot cover now (0 when in stock). */
  shortBy: number;
}

export function decideStockAcceptance(
  policy: OutOfStockPolicy,
  lines: readonly StockCheckLine[],
  available: Readonly<Record<string, number | undefined>>,
): StockLineDecision[] {
  const left = new Map<string, number>();
  return lines.map((l) => {
    const have = left.get(l.itemCode) ?? Math.max(0, available[l.itemCode] ?? 0);
    const shortBy = Math.max(0, l.quantity - have);
    if (shortBy === 0) {
      left.set(l.itemCode, have - l.quantity);
      return { lineId: l.lineId, accepted: true, backorder: false, shortBy: 0 };
    }
    if (policy === 'refuse-line') {
      left.set(l.itemCode, have);
      return { lineId: l.lineId, accepted: false, backorder: false, shortBy };
    }
    left.set(l.itemCode, 0);
    return { lineId: l.lineId, accepted: true, backorder: true, shortBy };
  });
}
