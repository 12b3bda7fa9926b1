// The Shopify shop's state: variants with inventory items and levels (one location), orders with
// their fulfillment order, fulfillments and refunds, webhook subscriptions and idempotency keys.
// Money is held in minor units (the shop currency has two decimals); the GraphQL layer formats it.
import { createHash } from 'node:crypto';
import type { CatalogueItem } from '../catalogue';

export interface SimTaxLine {
  title: string;
  rate: number;
  amountMinor: number;
}

export interface SimVariant {
  id: number;
  sku: string;
  title: string;
  priceMinor: number;
  inventoryItemId: number;
}

export interface SimLevel {
  inventoryItemId: number;
  locationId: number;
  available: number;
  onHand: number;
  updatedAt: string;
}

export interface SimLineItem {
  id: number;
  variantId?: number;
  sku?: string;
  title: string;
  quantity: number;
  unitPriceMinor: number;
  taxLines: SimTaxLine[];
  fulfilled: number;
  refunded: number;
}

export interface SimShippingLine {
  title: string;
  code?: string;
  priceMinor: number;
  taxLines: SimTaxLine[];
}

export interface SimFulfillment {
  id: number;
  createdAt: string;
  status: 'SUCCESS';
  tracking: { company?: string; number?: string; url?: string };
  lines: Array<{ id: number; lineItemId: number; quantity: number }>;
}

export interface SimRefund {
  id: number;
  createdAt: string;
  note?: string;
  lines: Array<{ id: number; lineItemId: number; quantity: number; restockType: string }>;
}

export interface SimOrder {
  id: number;
  name: string;
  createdAt: string;
  cancelledAt?: string;
  currency: string;
  taxesIncluded: boolean;
  email?: string;
  /** The order note (orderCreate `note`). */
  note?: string;
  /** Custom attributes (orderCreate `customAttributes`: key/value). */
  customAttributes?: Array<{ key: string; value: string }>;
  sourceIdentifier?: string;
  sourceName?: string;
  tags: string[];
  metafields: Array<{ namespace: string; key: string; type: string; value: string }>;
  lineItems: SimLineItem[];
  shippingLines: SimShippingLine[];
  shippingAddress?: Record<string, unknown>;
  inventoryBehaviour: string;
  fulfillmentOrderId: number;
  fulfillments: SimFulfillment[];
  refunds: SimRefund[];
}

export interface SimSubscription {
  id: number;
  /** REST topic, e.g. orders/create. */
  topic: string;
  /** The GraphQL enum value, e.g. ORDERS_CREATE. */
  topicEnum?: string;
  /** Where deliveries go (given as `uri`, or the deprecated `callbackUrl`). */
  callbackUrl: string;
  format?: string;
  createdAt?: string;
}

export class ShopifyStoreError extends Error {
  constructor(
    message: string,
    readonly field: string[] = [],
    readonly code?: string,
  ) {
    super(message);
  }
}

export const LOCATION_ID = 71_000_001;

export class ShopifyStore {
  variants = new Map<number, SimVariant>();
  levels = new Map<number, SimLevel>();
  orders = new Map<number, SimOrder>();
  subscriptions: SimSubscription[] = [];
  /** @idempotent key → hash of the mutation input and the response given the first time. */
  idempotency = new Map<string, { inputHash: string; response: unknown }>();
  private nextId = 1000;
  private orderNumber = 1000;

  constructor(
    catalogue: CatalogueItem[],
    readonly currency: string,
  ) {
    for (const c of catalogue) this.addVariant(c.sku, c.priceMinor, c.stock, c.name);
  }

  id(): number {
    return ++this.nextId;
  }

  addVariant(sku: string, priceMinor: number, stock: number, title = sku): SimVariant {
    const existing = this.variantBySku(sku);
    if (existing) {
      existing.priceMinor = priceMinor;
      this.setAvailable(existing.inventoryItemId, stock);
      return existing;
    }
    const v: SimVariant = { id: this.id(), sku, title, priceMinor, inventoryItemId: this.id() };
    this.variants.set(v.id, v);
    this.levels.set(v.inventoryItemId, {
      inventoryItemId: v.inventoryItemId,
      locationId: LOCATION_ID,
      available: stock,
      onHand: stock,
      updatedAt: new Date().toISOString(),
    });
    return v;
  }

  variantBySku(sku: string): SimVariant | undefined {
    for (const v of this.variants.values()) if (v.sku === sku) return v;
    return undefined;
  }

  variantByItem(inventoryItemId: number): SimVariant | undefined {
    for (const v of this.variants.values()) if (v.inventoryItemId === inventoryItemId) return v;
    return undefined;
  }

  setAvailable(inventoryItemId: number, available: number): SimLevel {
    const l = this.levels.get(inventoryItemId);
    if (!l) throw new ShopifyStoreError(`The inventory item ${inventoryItemId} does not exist.`, ['inventoryItemId']);
    l.onHand += available - l.available;
    l.available = available;
    l.updatedAt = new Date().toISOString();
    return l;
  }

  createOrder(o: Omit<SimOrder, 'id' | 'name' | 'createdAt' | 'fulfillmentOrderId' | 'fulfillments' | 'refunds'>) {
    const order: SimOrder = {
      ...o,
      id: this.id(),
      name: `#${++this.orderNumber}`,
      createdAt: new Date().toISOString(),
      fulfillmentOrderId: this.id(),
      fulfillments: [],
      refunds: [],
    };
    this.orders.set(order.id, order);
    return order;
  }

  fulfil(
    orderId: number,
    lines: Array<{ lineItemId: number; quantity: number }> | undefined,
    tracking: SimFulfillment['tracking'],
  ): SimFulfillment {
    const o = this.mustOrder(orderId);
    if (o.cancelledAt) throw new ShopifyStoreError('The order is cancelled.', ['fulfillment']);
    const wanted = lines ?? o.lineItems.map((l) => ({ lineItemId: l.id, quantity: l.quantity - l.fulfilled }));
    const plan: SimFulfillment['lines'] = [];
    for (const w of wanted) {
      const li = o.lineItems.find((l) => l.id === w.lineItemId);
      if (!li) throw new ShopifyStoreError(`Line item ${w.lineItemId} is not on the order.`, ['fulfillment']);
      if (w.quantity <= 0) continue;
      if (w.quantity > li.quantity - li.fulfilled - li.refunded) {
        throw new ShopifyStoreError('Invalid fulfillment order line item quantity requested.', ['fulfillment']);
      }
      plan.push({ id: this.id(), lineItemId: li.id, quantity: w.quantity });
    }
    if (plan.length === 0) throw new ShopifyStoreError('Nothing left to fulfil.', ['fulfillment']);
    for (const p of plan) o.lineItems.find((l) => l.id === p.lineItemId)!.fulfilled += p.quantity;
    const f: SimFulfillment = {
      id: this.id(),
      createdAt: new Date().toISOString(),
      status: 'SUCCESS',
      tracking,
      lines: plan,
    };
    o.fulfillments.push(f);
    return f;
  }

  refund(
    orderId: number,
    lines: Array<{ lineItemId: number; quantity: number; restockType?: string }>,
    note?: string,
  ): SimRefund {
    const o = this.mustOrder(orderId);
    const plan: SimRefund['lines'] = [];
    for (const w of lines) {
      const li = o.lineItems.find((l) => l.id === w.lineItemId);
      if (!li) throw new ShopifyStoreError(`Line item ${w.lineItemId} is not on the order.`, ['refundLineItems']);
      if (w.quantity <= 0 || li.refunded + w.quantity > li.quantity) {
        throw new ShopifyStoreError('Quantity cannot refund more items than were purchased.', ['refundLineItems']);
      }
      plan.push({ id: this.id(), lineItemId: li.id, quantity: w.quantity, restockType: w.restockType ?? 'NO_RESTOCK' });
    }
    for (const p of plan) o.lineItems.find((l) => l.id === p.lineItemId)!.refunded += p.quantity;
    const r: SimRefund = { id: this.id(), createdAt: new Date().toISOString(), note, lines: plan };
    o.refunds.push(r);
    return r;
  }

  mustOrder(id: number): SimOrder {
    const o = this.orders.get(id);
    if (!o) throw new ShopifyStoreError('Order does not exist.', ['id']);
    return o;
  }
}

/** Stable hash of a mutation's arguments (for "same @idempotent key, different input"). */
export function hashInput(v: unknown): string {
  const canon = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(canon)
      : x && typeof x === 'object'
        ? Object.fromEntries(
            Object.entries(x as Record<string, unknown>)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, val]) => [k, canon(val)]),
          )
        : x;
  return createHash('sha256')
    .update(JSON.stringify(canon(v)))
    .digest('hex');
}

/** "19.95" → 1995; rejects more than two decimals (the shop currency's minor unit). */
export function toMinor(amount: string | number): number {
  const s = String(amount).trim();
  const m = /^(-)?(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) throw new ShopifyStoreError(`Invalid money amount "${s}".`, ['amount']);
  const v = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -v : v;
}

export function fromMinor(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const a = Math.abs(minor);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

export const gid = (type: string, id: number) => `gid://shopify/${type}/${id}`;

export function parseGid(value: unknown, type: string): number {
  const m = typeof value === 'string' ? new RegExp(`^gid://shopify/${type}/(\\d+)$`).exec(value) : null;
  if (!m) throw new ShopifyStoreError(`Invalid ${type} id "${String(value)}".`, ['id']);
  return Number(m[1]);
}
