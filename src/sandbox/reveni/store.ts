// One simulated Reveni store (a channel's returns): returns, their states, refunds computed Reveni's own way,
// restock decisions per item, and the webhook events each change produces. Pure logic; the HTTP routes and
// the webhook delivery live in simulator.ts.
//
// Ground truth (docs/contracts.md, Reveni): the base path, bearer key, `returns/{id}`, `partial_validate`,
// webhooks `{id, event, created, data:{resource_id, status}}` and `return.created`/`return.updated` are
// public (Reveni's Odoo addon, its JS SDK and help centre); statuses In progress → Shipped → Received →
// For review → Accepted / Partly accepted / Rejected / Cancelled and the instant / not instant modes are in
// Reveni's help centre. Everything else here is an assumption, marked [I] and listed in docs/sandbox/reveni.md:
// the create and list endpoints, the item and refund fields, the reason values, the signing (none).
import { randomUUID } from 'node:crypto';
import { toDecimalNumber, toMinor } from '../../domain/money';

export const REVENI_STATUSES = [
  'in_progress',
  'shipped',
  'received',
  'for_review',
  'accepted',
  'partly_accepted',
  'rejected',
  'cancelled',
] as const;
export type ReveniStatus = (typeof REVENI_STATUSES)[number];
const FINAL: ReadonlySet<ReveniStatus> = new Set(['accepted', 'partly_accepted', 'rejected', 'cancelled']);
const ORDER: ReveniStatus[] = ['in_progress', 'shipped', 'received', 'for_review'];

/** [I] Reveni's reject reasons: only `defect` is public (Odoo addon); the rest are ours. */
export const REVENI_REJECT_REASONS = ['defect', 'missing', 'wrong_item', 'used', 'other'] as const;

export class ReveniError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SimReveniItem {
  id: string;
  sku: string;
  quantity: number;
  return_reason: string;
  /** Unit price Reveni uses (decimal): its store catalogue's, else what the merchant sent. */
  price: number;
  status?: 'accepted' | 'rejected';
  reject_reason?: string;
  reject_reason_text?: string;
  /** Put back on sale (the merchant's restock option on acceptance, or the store's auto-restock). */
  restock?: boolean;
  exchange: null;
}

export interface SimReveniReturn {
  id: string;
  status: ReveniStatus;
  type: 'refund' | 'exchange';
  mode: 'instant' | 'not_instant';
  order: { external_id: string; currency: string };
  /** [I] The merchant's own reference for the return (Loopline: the marketplace return it came from). */
  external_reference?: string;
  return_items: SimReveniItem[];
  refund: {
    amount: number;
    currency: string;
    method: string;
    status: 'pending' | 'paid' | 'cancelled';
    paid_at?: string;
  };
  tracking?: { carrier: string; tracking_number: string };
  created_at: string;
  updated_at: string;
}

export interface ReveniEvent {
  id: string;
  event: 'return.created' | 'return.updated';
  created: number;
  data: { resource_id: string; status: ReveniStatus };
}

export interface ReveniStoreOptions {
  storeId: string;
  currency: string;
  /** Reveni's own price list (its connected shop's catalogue), SKU → minor units. */
  prices: Map<string, number>;
}

export interface CreateReturnInput {
  order: { external_id: string; currency?: string };
  external_reference?: string;
  mode?: string;
  type?: string;
  items: Array<{ sku: string; quantity: number; return_reason: string; price?: number }>;
}

export class ReveniStore {
  readonly returns = new Map<string, SimReveniReturn>();
  /** What a store can be set to do (control API). */
  readonly behaviour = {
    /** [I] A fee Reveni keeps from each refund (minor units): its figure then differs from the marketplace's. */
    returnFeeMinor: 0,
    /** Accepted items are restocked unless the decision says otherwise. */
    autoRestock: true,
    /** [I] The mode of returns the merchant registers (Reveni decides instant eligibility: CheckInstantRefund). */
    defaultMode: 'not_instant' as 'instant' | 'not_instant',
  };
  private itemSeq = 0;
  private eventSeq = 0;

  constructor(
    readonly opts: ReveniStoreOptions,
    private readonly emit: (e: ReveniEvent) => void,
  ) {}

  private now(): string {
    return new Date().toISOString();
  }

  private event(r: SimReveniReturn, kind: ReveniEvent['event']): void {
    this.emit({
      id: `evt_${this.opts.storeId}_${++this.eventSeq}`,
      event: kind,
      created: Math.floor(Date.now() / 1000),
      data: { resource_id: r.id, status: r.status },
    });
  }

  private touch(r: SimReveniReturn): void {
    const prev = Date.parse(r.updated_at);
    r.updated_at = new Date(Math.max(Date.now(), prev + 1)).toISOString();
    this.event(r, 'return.updated');
  }

  /**
   * Reveni's own refund figure: its catalogue price (not the order's, so promotions are missed) × units of
   * the items refunded, no shipping, less the store's return fee.
   */
  private computeRefund(r: SimReveniReturn, items: SimReveniItem[]): number {
    const cur = r.refund.currency;
    const gross = items.reduce((s, i) => s + toMinor(i.price, cur) * i.quantity, 0);
    // Not clamped: a fee above the goods gives a negative figure, which the integration must refuse.
    return toDecimalNumber(gross - this.behaviour.returnFeeMinor, cur);
  }

  create(input: CreateReturnInput): SimReveniReturn {
    if (!input?.order || typeof input.order.external_id !== 'string' || input.order.external_id === '')
      throw new ReveniError(422, 'order.external_id is required');
    if (!Array.isArray(input.items) || input.items.length === 0) throw new ReveniError(422, 'items is required');
    const currency = input.order.currency ?? this.opts.currency;
    const at = this.now();
    const items: SimReveniItem[] = input.items.map((i) => {
      if (typeof i?.sku !== 'string' || typeof i.quantity !== 'number')
        throw new ReveniError(422, 'each item needs sku and quantity');
      const listed = this.opts.prices.get(i.sku);
      return {
        id: `it_${++this.itemSeq}`,
        sku: i.sku,
        quantity: i.quantity,
        return_reason: String(i.return_reason ?? ''),
        price: listed !== undefined ? toDecimalNumber(listed, currency) : Number(i.price ?? 0),
        exchange: null,
      };
    });
    const mode = input.mode === 'instant' || input.mode === 'not_instant' ? input.mode : this.behaviour.defaultMode;
    const r: SimReveniReturn = {
      id: randomUUID().replace(/-/g, ''),
      status: 'in_progress',
      type: input.type === 'exchange' ? 'exchange' : 'refund',
      mode,
      order: { external_id: input.order.external_id, currency },
      ...(input.external_reference ? { external_reference: input.external_reference } : {}),
      return_items: items,
      refund: {
        amount: 0,
        currency,
        method: mode === 'instant' ? 'bank_transfer' : 'original_payment_method',
        status: 'pending',
      },
      created_at: at,
      updated_at: at,
    };
    // Instant: Reveni pays the customer at once (and carries the risk), for every item asked.
    if (mode === 'instant') {
      r.refund.amount = this.computeRefund(r, items);
      r.refund.status = 'paid';
      r.refund.paid_at = at;
    } else r.refund.amount = this.computeRefund(r, items);
    this.returns.set(r.id, r);
    this.event(r, 'return.created');
    return r;
  }

  get(id: string): SimReveniReturn {
    const r = this.returns.get(id);
    if (!r) throw new ReveniError(404, `Return ${id} not found`);
    return r;
  }

  list(q: Record<string, unknown>): { data: SimReveniReturn[]; next_page: number | null } {
    const ref = typeof q.external_reference === 'string' ? q.external_reference : undefined;
    const order = typeof q.order_external_id === 'string' ? q.order_external_id : undefined;
    const status = typeof q.status === 'string' ? q.status.split(',') : undefined;
    const from = typeof q.updated_from === 'string' ? Date.parse(q.updated_from) : undefined;
    const all = [...this.returns.values()]
      .filter(
        (r) =>
          (!ref || r.external_reference === ref) &&
          (!order || r.order.external_id === order) &&
          (!status || status.includes(r.status)) &&
          (from === undefined || Number.isNaN(from) || Date.parse(r.updated_at) >= from),
      )
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
    const perPage = Math.min(100, Math.max(1, Number(q.per_page ?? 50) || 50));
    const page = Math.max(1, Number(q.page ?? 1) || 1);
    const data = all.slice((page - 1) * perPage, page * perPage);
    return { data, next_page: page * perPage < all.length ? page + 1 : null };
  }

  /** The customer's parcel moves on: shipped (tracking added), received by the merchant, waiting for review. */
  advance(id: string, to: ReveniStatus, tracking?: SimReveniReturn['tracking']): SimReveniReturn {
    const r = this.get(id);
    if (FINAL.has(r.status)) throw new ReveniError(409, `Return ${id} is ${r.status}`);
    const from = ORDER.indexOf(r.status);
    const target = ORDER.indexOf(to);
    if (target < 0 || target <= from) throw new ReveniError(409, `Return ${id} cannot go from ${r.status} to ${to}`);
    r.status = to;
    if (tracking) r.tracking = tracking;
    this.touch(r);
    return r;
  }

  /**
   * The merchant's decision per item (Reveni dashboard, or `partial_validate`): accepted items are refunded
   * (not instant) and restocked unless told otherwise; the return ends accepted, partly accepted or rejected.
   */
  decide(
    id: string,
    items: Array<{
      itemId?: string;
      sku?: string;
      accepted: boolean;
      quantity?: number;
      restock?: boolean;
      rejectReason?: string;
      rejectReasonText?: string;
    }>,
  ): SimReveniReturn {
    const r = this.get(id);
    if (FINAL.has(r.status)) throw new ReveniError(409, `Return ${id} is already ${r.status}`);
    for (const d of items) {
      const item = r.return_items.find((i) =>
        d.itemId ? i.id === d.itemId : i.sku === d.sku && i.status === undefined,
      );
      if (!item) throw new ReveniError(422, `Item ${d.itemId ?? d.sku} is not in return ${id}`);
      item.status = d.accepted ? 'accepted' : 'rejected';
      if (d.accepted) item.restock = d.restock ?? this.behaviour.autoRestock;
      else {
        item.restock = false;
        item.reject_reason = d.rejectReason ?? 'other';
        if (d.rejectReasonText) item.reject_reason_text = d.rejectReasonText;
      }
    }
    // Items the decision did not name are accepted (the dashboard's "accept all").
    for (const item of r.return_items) {
      if (item.status !== undefined) continue;
      item.status = 'accepted';
      item.restock = this.behaviour.autoRestock;
    }
    const accepted = r.return_items.filter((i) => i.status === 'accepted');
    r.status =
      accepted.length === 0 ? 'rejected' : accepted.length === r.return_items.length ? 'accepted' : 'partly_accepted';
    if (r.mode === 'not_instant') {
      r.refund.amount = this.computeRefund(r, accepted);
      r.refund.status = accepted.length === 0 ? 'cancelled' : 'paid';
      if (accepted.length > 0) r.refund.paid_at = this.now();
    }
    this.touch(r);
    return r;
  }

  /** `partial_validate` body: {items:[{item_id, quantity, status: accepted|rejected, reject_reason, reject_reason_text}]}. */
  partialValidate(id: string, body: unknown): SimReveniReturn {
    const items = (body as { items?: unknown })?.items;
    if (!Array.isArray(items) || items.length === 0) throw new ReveniError(422, 'items is required');
    return this.decide(
      id,
      items.map((x: Record<string, unknown>) => {
        if (typeof x?.item_id !== 'string') throw new ReveniError(422, 'item_id is required');
        if (x.status !== 'accepted' && x.status !== 'rejected')
          throw new ReveniError(422, 'status must be accepted or rejected');
        return {
          itemId: x.item_id,
          accepted: x.status === 'accepted',
          rejectReason: typeof x.reject_reason === 'string' ? x.reject_reason : undefined,
          rejectReasonText: typeof x.reject_reason_text === 'string' ? x.reject_reason_text : undefined,
        };
      }),
    );
  }

  cancel(id: string): SimReveniReturn {
    const r = this.get(id);
    if (FINAL.has(r.status) || r.status === 'received' || r.status === 'for_review')
      throw new ReveniError(409, `Return ${id} cannot be cancelled in status ${r.status}`);
    r.status = 'cancelled';
    if (r.refund.status === 'pending') r.refund.status = 'cancelled';
    this.touch(r);
    return r;
  }

  /** Control: Reveni's figure (and currency) set by hand: its calculation, whatever it is. */
  setRefund(id: string, amountMinor: number, currency?: string): SimReveniReturn {
    const r = this.get(id);
    if (currency) r.refund.currency = currency;
    r.refund.amount = toDecimalNumber(amountMinor, r.refund.currency);
    this.touch(r);
    return r;
  }
}
