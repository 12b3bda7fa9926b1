// Reveni's return ⇄ Loopline: the snapshot the return workflow keeps (no personal data: ids, statuses,
// items, the refund figure in minor units), and the notice of a return that started in Reveni.
import { toMinor } from '../../domain/money';
import type { ReturnNotice } from '../../domain/returns';
import { returnKeyOf } from '../../domain/returns';
import type { ReveniReturn } from './schemas';

/** Reveni's statuses, lower snake case ([C] `in_progress`; the rest from its help centre's state names). */
export type ReveniStatus =
  | 'in_progress'
  | 'shipped'
  | 'received'
  | 'for_review'
  | 'accepted'
  | 'partly_accepted'
  | 'rejected'
  | 'cancelled'
  | 'expired'
  | 'unknown';

const RANK: Record<ReveniStatus, number> = {
  unknown: -1,
  in_progress: 0,
  shipped: 1,
  received: 2,
  for_review: 3,
  accepted: 4,
  partly_accepted: 4,
  rejected: 4,
  cancelled: 4,
  expired: 4,
};

export const REVENI_DECIDED: ReadonlySet<ReveniStatus> = new Set(['accepted', 'partly_accepted', 'rejected']);
export const REVENI_ENDED: ReadonlySet<ReveniStatus> = new Set([
  'accepted',
  'partly_accepted',
  'rejected',
  'cancelled',
  'expired',
]);

/** Tolerant: case, spaces and hyphens ignored; Reveni's dashboard words ("Partly Accepted") and synonyms read. */
export function reveniStatus(raw: string | null | undefined): ReveniStatus {
  const s = String(raw ?? '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  if (s === 'partially_accepted') return 'partly_accepted';
  if (s === 'canceled') return 'cancelled';
  return (s in RANK ? s : 'unknown') as ReveniStatus;
}

/** Statuses only move forward; a late webhook or read of an earlier one never takes a return back. */
export function reveniRank(s: ReveniStatus): number {
  return RANK[s];
}

export interface ReveniSnapshot {
  id: string;
  status: ReveniStatus;
  rawStatus: string;
  mode: 'instant' | 'not_instant' | 'unknown';
  orderExternalId?: string;
  externalReference?: string;
  items: Array<{
    itemId?: string;
    sku?: string;
    quantity: number;
    reason?: string;
    status?: 'accepted' | 'rejected';
    restock?: boolean;
  }>;
  /** Reveni's refund figure, minor units (NaN when unreadable); its currency. */
  refundMinor?: number;
  refundCurrency?: string;
  updatedAt?: string;
}

export function toReveniSnapshot(r: ReveniReturn, fallbackCurrency: string): ReveniSnapshot {
  const currency = r.refund?.currency ?? r.order?.currency ?? fallbackCurrency;
  let refundMinor: number | undefined;
  if (r.refund?.amount !== undefined && r.refund.amount !== null) {
    try {
      refundMinor = toMinor(r.refund.amount, currency);
    } catch {
      refundMinor = Number.NaN;
    }
  }
  const mode = String(r.mode ?? '')
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  return {
    id: r.id,
    status: reveniStatus(r.status),
    rawStatus: String(r.status ?? ''),
    mode: mode === 'instant' ? 'instant' : mode === 'not_instant' ? 'not_instant' : 'unknown',
    ...(r.order?.external_id ? { orderExternalId: r.order.external_id } : {}),
    ...(r.external_reference ? { externalReference: r.external_reference } : {}),
    items: (r.return_items ?? []).map((i) => ({
      ...(i.id ? { itemId: i.id } : {}),
      ...(i.sku ? { sku: i.sku } : {}),
      quantity: typeof i.quantity === 'number' ? i.quantity : Number.NaN,
      ...(i.return_reason ? { reason: i.return_reason } : {}),
      ...(i.status === 'accepted' || i.status === 'rejected' ? { status: i.status } : {}),
      ...(typeof i.restock === 'boolean' ? { restock: i.restock } : {}),
    })),
    ...(refundMinor !== undefined ? { refundMinor } : {}),
    refundCurrency: currency,
    ...(r.updated_at ? { updatedAt: r.updated_at } : {}),
  };
}

/** A return that started in Reveni (its portal), for the order Reveni names. */
export function reveniNotice(channel: string, s: ReveniSnapshot): ReturnNotice {
  return {
    channel,
    returnKey: returnKeyOf('reveni', s.id),
    origin: 'reveni',
    sourceId: s.id,
    orderId: s.orderExternalId ?? '',
    sourceState: s.status,
    lines: s.items.map((i) => ({
      ...(i.sku ? { sku: i.sku } : {}),
      quantity: i.quantity,
      ...(i.reason ? { reason: i.reason } : {}),
      ...(i.itemId ? { itemId: i.itemId } : {}),
    })),
    updatedAt: s.updatedAt ?? new Date(0).toISOString(),
  };
}
