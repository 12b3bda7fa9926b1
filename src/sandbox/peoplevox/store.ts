// The simulated warehouse behind one Peoplevox client id: item types with stock, sales orders with
// lines and despatches, sessions and event subscriptions. No HTTP here; simulator.ts wires it to the wire.
import { randomUUID } from 'node:crypto';
import type { CatalogueItem } from '../catalogue';
import { parseLooseDate } from './search-clause';
import {
  DEFAULT_STATUSES,
  DEFAULT_TEMPLATES,
  DESPATCH_SUMMARY_COLUMNS,
  EVENT_TYPES,
  ITEM_INVENTORY_SUMMARY_COLUMNS,
  ITEM_TYPES,
  RETURN_SUMMARY,
  RETURN_SUMMARY_COLUMNS,
  SALES_ORDER_ITEMS,
  SALES_ORDERS,
  STATUS_ROLE_ORDER,
  formatReportDate,
  type PvxStatusRole,
} from './templates';

export interface SimItemType {
  itemCode: string;
  name: string;
  barcode: string;
  retailPrice: string;
  onHand: number;
  /** Quantity allocated to open order lines (not yet despatched). */
  allocated: number;
}

export interface SimLine {
  key: string;
  itemCode: string;
  quantity: number;
  line?: string;
  fields: Record<string, string>;
  /** Whether this line holds an allocation (SaveData Action 1 = do not allocate). */
  allocates: boolean;
  despatched: number;
}

export interface SimDespatch {
  despatchNumber: string;
  despatchedAt: number;
  trackingNumber: string;
  carrier: string;
  serviceType: string;
  serviceTypeCode: string;
  items: Array<{ itemCode: string; quantity: number }>;
}

export interface SimOrder {
  salesOrderNumber: string;
  fields: Record<string, string>;
  status: string;
  createdAt: number;
  modifiedAt: number;
  lines: SimLine[];
  despatches: SimDespatch[];
}

/** One item of a return booked in the warehouse (a 'Return summary' row). */
export interface SimReturnReceipt {
  returnCode: string;
  bookedAt: number;
  salesOrderNumber: string;
  itemCode: string;
  quantity: number;
  reason: string;
  condition: string;
  comments: string;
  /** Whether the goods went back into sellable stock (a resaleable condition). */
  restocked: boolean;
}

export interface SimSubscription {
  id: number;
  eventType: string;
  filter: string;
  method: 'GET' | 'POST';
  url: string;
  postParams?: string;
  encode: boolean;
  createdAt: string;
}

export interface RowStatus {
  Reference: string;
  Status: 'Success' | 'Error';
  LineNo: number;
  Message?: string;
}

export type EventEmitter = (eventType: string, values: Record<string, string>) => void;

export class StoreError extends Error {
  constructor(
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

const UK_POSTCODE = /^(GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$/i;
const UK_COUNTRIES = new Set(['united kingdom', 'gb', 'gbr', 'uk', 'great britain']);
const DECIMAL = /^-?\d+(\.\d+)?$/;

const LIMITS: Record<string, number> = {
  SalesOrderNumber: 30,
  Customer: 50,
  CustomerPurchaseOrderReferenceNumber: 50,
  ShippingAddressLine1: 100,
  ShippingAddressLine2: 100,
  InvoiceAddressLine1: 100,
  InvoiceAddressLine2: 100,
  ShippingAddressCity: 50,
  InvoiceAddressCity: 50,
  ShippingAddressRegion: 50,
  InvoiceAddressRegion: 50,
  ShippingAddressPostcode: 20,
  InvoiceAddressPostcode: 20,
  Email: 100,
  ContactName: 100,
  ItemCode: 50,
  Barcode: 50,
};

/** Columns a new sales order must have (assumption: the real list is not public). */
const REQUIRED_ON_CREATE = ['SalesOrderNumber', 'Customer', 'ShippingAddressLine1', 'ShippingAddressCountry'];
const DECIMAL_COLUMNS = [
  'ShippingCost',
  'TotalSale',
  'Discount',
  'TaxPaid',
  'SalePrice',
  'RetailPrice',
  'BuyPrice',
  'WholesalePrice',
];
const DATE_COLUMNS = ['RequestedDeliveryDate', 'CreatedDate'];

export class PeoplevoxStore {
  readonly items = new Map<string, SimItemType>();
  /** Each item's row of the inventory report, with the figures it was made from (its name and barcode are in it). */
  private readonly inventoryRowOf = new WeakMap<
    SimItemType,
    { onHand: number; allocated: number; row: Record<string, string> }
  >();
  readonly orders = new Map<string, SimOrder>();
  readonly sessions = new Map<string, { lastUsed: number; createdAt: number }>();
  readonly subscriptions = new Map<number, SimSubscription>();
  readonly templates: Record<string, string[]>;
  readonly statuses: Record<PvxStatusRole, string>;
  readonly saveCounts: Record<string, { created: number; updated: number }> = {};
  readonly returnReceipts: SimReturnReceipt[] = [];
  /** [I] Return conditions that put goods back into sellable stock (the real list is a tenant setting). */
  resaleableConditions = ['NEW', 'GOOD', 'RESALEABLE'];
  private returnSeq = 0;
  /** Return codes differ between sandboxes (tests share one Temporal server, and a return's workflow id is its code). */
  private readonly returnPrefix = randomUUID().slice(0, 4).toUpperCase();
  private despatchSeq = 0;
  private subscriptionSeq = 0;
  private trackingSeq = 0;

  constructor(
    readonly clientId: string,
    catalogue: CatalogueItem[],
    opts: { statuses?: string[] | Partial<Record<PvxStatusRole, string>>; templates?: Record<string, string[]> },
    readonly emit: EventEmitter,
    readonly siteReference = 'MAIN',
  ) {
    this.templates = { ...DEFAULT_TEMPLATES, ...(opts.templates ?? {}) };
    const custom = Array.isArray(opts.statuses)
      ? Object.fromEntries(opts.statuses.map((s, i) => [STATUS_ROLE_ORDER[i], s]).filter(([r]) => r !== undefined))
      : (opts.statuses ?? {});
    this.statuses = { ...DEFAULT_STATUSES, ...custom };
    for (const c of catalogue)
      this.upsertItemType({
        itemCode: c.sku,
        name: c.name,
        barcode: c.barcode,
        retailPrice: (c.priceMinor / 100).toFixed(2),
        available: c.stock,
      });
  }

  // ---------- sessions ----------
  createSession(now = Date.now()): string {
    const id = randomUUID();
    this.sessions.set(id, { lastUsed: now, createdAt: now });
    return id;
  }

  /** True when the session exists and has not been idle for longer than idleMs; touches it. */
  useSession(id: string, idleMs: number, now = Date.now()): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    if (now - s.lastUsed > idleMs) {
      this.sessions.delete(id);
      return false;
    }
    s.lastUsed = now;
    return true;
  }

  expireSessions(): number {
    const n = this.sessions.size;
    this.sessions.clear();
    return n;
  }

  // ---------- stock ----------
  static available(i: SimItemType): number {
    return Math.max(0, i.onHand - i.allocated);
  }

  private withAvailabilityEvent(itemCode: string, change: () => void) {
    const item = this.items.get(itemCode);
    const before = item ? PeoplevoxStore.available(item) : undefined;
    change();
    const after = this.items.get(itemCode);
    if (after && before !== PeoplevoxStore.available(after)) {
      this.emit('AvailabilityChanges', { ItemCode: itemCode, Available: String(PeoplevoxStore.available(after)) });
    }
  }

  upsertItemType(t: { itemCode: string; name?: string; barcode?: string; retailPrice?: string; available?: number }) {
    const existing = this.items.get(t.itemCode);
    if (!existing) {
      this.items.set(t.itemCode, {
        itemCode: t.itemCode,
        name: t.name ?? t.itemCode,
        barcode: t.barcode ?? '',
        retailPrice: t.retailPrice ?? '',
        onHand: Math.max(0, t.available ?? 0),
        allocated: 0,
      });
      return;
    }
    if (t.name !== undefined) existing.name = t.name;
    if (t.barcode !== undefined) existing.barcode = t.barcode;
    if (t.retailPrice !== undefined) existing.retailPrice = t.retailPrice;
    if (t.available !== undefined) this.setAvailable(t.itemCode, t.available);
  }

  /** A stock-control change: sets on-hand so that available becomes the given figure. */
  setAvailable(itemCode: string, available: number) {
    const item = this.items.get(itemCode);
    if (!item) throw new StoreError(`unknown item code '${itemCode}'`, 404);
    if (!Number.isInteger(available) || available < 0) throw new StoreError('available must be a non-negative integer');
    this.withAvailabilityEvent(itemCode, () => {
      item.onHand = available + item.allocated;
    });
  }

  private adjustAllocation(itemCode: string, delta: number) {
    if (delta === 0) return;
    this.withAvailabilityEvent(itemCode, () => {
      const item = this.items.get(itemCode);
      if (item) item.allocated = Math.max(0, item.allocated + delta);
    });
  }

  // ---------- orders ----------
  private setStatus(order: SimOrder, status: string, now = Date.now()) {
    if (order.status === status) return;
    order.status = status;
    order.modifiedAt = now;
    this.emit('SalesOrderStatusChanges', {
      SalesOrderNumber: order.salesOrderNumber,
      'SalesOrderStatu.Name': status,
      LastModificationTime: new Date(now).toISOString(),
    });
  }

  private isOpenForChange(order: SimOrder): boolean {
    return [this.statuses.new, this.statuses.allocated, this.statuses.onHold].includes(order.status);
  }

  private releaseAllocations(order: SimOrder) {
    for (const l of order.lines) {
      if (l.allocates) this.adjustAllocation(l.itemCode, -(l.quantity - l.despatched));
      l.allocates = false;
    }
  }

  private maybeAllocated(order: SimOrder) {
    if (order.status !== this.statuses.new || order.lines.length === 0) return;
    if (!order.lines.every((l) => l.allocates)) return;
    const short = order.lines.some((l) => {
      const i = this.items.get(l.itemCode);
      return !i || i.onHand - i.allocated < 0;
    });
    if (!short) this.setStatus(order, this.statuses.allocated);
  }

  /** SaveData for one template. Rows are keyed by the CSV header (already checked against the template). */
  saveRows(templateName: string, rows: Record<string, string>[], action: number): RowStatus[] {
    const out: RowStatus[] = [];
    rows.forEach((raw, idx) => {
      const row = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, (v ?? '').trim()]));
      const lineNo = idx + 1;
      let reference = row.SalesOrderNumber ?? row.ItemCode ?? String(lineNo);
      if (templateName === SALES_ORDER_ITEMS) reference = `${row.SalesOrderNumber ?? ''} - ${row.ItemCode ?? ''}`;
      try {
        if (templateName === SALES_ORDERS) this.saveOrderRow(row);
        else if (templateName === SALES_ORDER_ITEMS) this.saveItemRow(row, action);
        else if (templateName === ITEM_TYPES) this.saveItemTypeRow(row);
        else throw new StoreError(`template '${templateName}' cannot be saved by the simulator`);
        out.push({ Reference: reference, Status: 'Success', LineNo: lineNo });
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        out.push({ Reference: reference, Status: 'Error', LineNo: lineNo, Message: e.message });
      }
    });
    return out;
  }

  private validateCommon(row: Record<string, string>) {
    for (const [col, max] of Object.entries(LIMITS)) {
      const v = row[col];
      if (v !== undefined && v.length > max)
        throw new StoreError(`${col} is longer than ${max} characters (${v.length})`);
    }
    for (const col of DECIMAL_COLUMNS) {
      const v = row[col];
      if (v !== undefined && v !== '' && !DECIMAL.test(v))
        throw new StoreError(`${col} is not a decimal number: '${v}'`);
    }
    for (const col of DATE_COLUMNS) {
      const v = row[col];
      if (v !== undefined && v !== '' && parseLooseDate(v) === undefined)
        throw new StoreError(`${col} is not a valid date: '${v}'`);
    }
    for (const prefix of ['Shipping', 'Invoice']) {
      const country = row[`${prefix}AddressCountry`];
      const pc = row[`${prefix}AddressPostcode`];
      if (
        country &&
        UK_COUNTRIES.has(country.toLowerCase()) &&
        pc !== undefined &&
        pc !== '' &&
        !UK_POSTCODE.test(pc)
      ) {
        throw new StoreError(`${prefix}AddressPostcode '${pc}' is not a valid UK postcode`);
      }
    }
  }

  private saveOrderRow(row: Record<string, string>) {
    const son = row.SalesOrderNumber ?? '';
    if (!son) throw new StoreError('SalesOrderNumber is required');
    this.validateCommon(row);
    const now = Date.now();
    const existing = this.orders.get(son);
    const statusWanted = row.Status;
    const knownStatuses = Object.values(this.statuses);
    if (statusWanted && !knownStatuses.some((s) => s.toLowerCase() === statusWanted.toLowerCase())) {
      throw new StoreError(`Status '${statusWanted}' is not a valid sales order status`);
    }
    const fields = Object.fromEntries(Object.entries(row).filter(([k, v]) => k !== 'Status' && v !== ''));
    if (!existing) {
      for (const col of REQUIRED_ON_CREATE) if (!row[col]) throw new StoreError(`${col} is required`);
      if (statusWanted && statusWanted.toLowerCase() === this.statuses.cancelled.toLowerCase()) {
        throw new StoreError(`cannot cancel: sales order ${son} does not exist`);
      }
      const order: SimOrder = {
        salesOrderNumber: son,
        fields,
        status: this.statuses.new,
        createdAt: now,
        modifiedAt: now,
        lines: [],
        despatches: [],
      };
      if (!order.fields.CreatedDate) order.fields.CreatedDate = new Date(now).toISOString().slice(0, 19);
      this.orders.set(son, order);
      this.saveCounts[son] = { created: 1, updated: 0 };
      return;
    }
    if (statusWanted) {
      const wanted = knownStatuses.find((s) => s.toLowerCase() === statusWanted.toLowerCase())!;
      if (wanted !== existing.status) {
        if (wanted === this.statuses.cancelled) {
          if (![this.statuses.new, this.statuses.allocated].includes(existing.status)) {
            throw new StoreError(`cannot cancel: order is ${existing.status}`);
          }
          this.releaseAllocations(existing);
          this.setStatus(existing, wanted, now);
        } else if (wanted === this.statuses.onHold || wanted === this.statuses.new) {
          if (!this.isOpenForChange(existing))
            throw new StoreError(`cannot change status: order is ${existing.status}`);
          this.setStatus(existing, wanted, now);
        } else {
          throw new StoreError(`Status '${wanted}' can only be set by the warehouse`);
        }
      }
    }
    Object.assign(existing.fields, fields);
    existing.modifiedAt = now;
    this.saveCounts[son] = {
      created: this.saveCounts[son]?.created ?? 0,
      updated: (this.saveCounts[son]?.updated ?? 0) + 1,
    };
  }

  private saveItemRow(row: Record<string, string>, action: number) {
    const son = row.SalesOrderNumber ?? '';
    if (!son) throw new StoreError('SalesOrderNumber is required');
    const code = row.ItemCode ?? '';
    if (!code) throw new StoreError('ItemCode is required');
    this.validateCommon(row);
    const order = this.orders.get(son);
    if (!order) throw new StoreError(`sales order ${son} does not exist`);
    if (!this.items.has(code)) throw new StoreError(`unknown ItemCode '${code}'`);
    const qtyRaw = row.QuantityOrdered ?? '';
    if (!/^\d+$/.test(qtyRaw) || Number(qtyRaw) <= 0)
      throw new StoreError(`QuantityOrdered must be a positive integer, got '${qtyRaw}'`);
    const qty = Number(qtyRaw);
    const key = row.Line ? `line:${row.Line}` : `item:${code}`;
    const existing = order.lines.find((l) => l.key === key);
    if (!this.isOpenForChange(order) && !(existing && existing.itemCode === code && existing.quantity === qty)) {
      throw new StoreError(`cannot change items: order is ${order.status}`);
    }
    const fields = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== ''));
    if (existing) {
      if (existing.itemCode !== code) {
        if (existing.allocates) this.adjustAllocation(existing.itemCode, -(existing.quantity - existing.despatched));
        existing.itemCode = code;
        existing.despatched = 0;
        if (existing.allocates) this.adjustAllocation(code, qty);
      } else if (existing.allocates) {
        this.adjustAllocation(code, qty - existing.quantity);
      }
      existing.quantity = qty;
      existing.fields = fields;
    } else {
      const allocates = action !== 1 && order.status !== this.statuses.cancelled;
      order.lines.push({ key, itemCode: code, quantity: qty, line: row.Line, fields, allocates, despatched: 0 });
      if (allocates) this.adjustAllocation(code, qty);
    }
    order.modifiedAt = Date.now();
    this.maybeAllocated(order);
  }

  private saveItemTypeRow(row: Record<string, string>) {
    const code = row.ItemCode ?? '';
    if (!code) throw new StoreError('ItemCode is required');
    if (!row.Barcode && !this.items.has(code)) throw new StoreError('Barcode is required');
    this.validateCommon(row);
    this.upsertItemType({
      itemCode: code,
      name: row.Name || undefined,
      barcode: row.Barcode || undefined,
      retailPrice: row.RetailPrice || undefined,
    });
  }

  cancelOrder(son: string) {
    const statuses = this.saveRows(SALES_ORDERS, [{ SalesOrderNumber: son, Status: this.statuses.cancelled }], 0);
    if (statuses[0]?.Status === 'Error') throw new StoreError(statuses[0].Message ?? 'cannot cancel', 409);
  }

  // ---------- warehouse actions (control API) ----------
  setOrderStatus(son: string, role: 'picking' | 'packing' | 'onHold') {
    const order = this.orders.get(son);
    if (!order) throw new StoreError(`sales order ${son} not found`, 404);
    const closed = [this.statuses.cancelled, this.statuses.despatched];
    if (closed.includes(order.status))
      throw new StoreError(`cannot move to ${this.statuses[role]}: order is ${order.status}`, 409);
    this.setStatus(order, this.statuses[role]);
  }

  despatch(
    son: string,
    parcels: Array<{
      items?: Array<{ itemCode: string; quantity: number }>;
      carrier?: string;
      trackingNumber?: string;
      serviceType?: string;
      serviceTypeCode?: string;
    }>,
  ): SimDespatch[] {
    const order = this.orders.get(son);
    if (!order) throw new StoreError(`sales order ${son} not found`, 404);
    if (order.status === this.statuses.cancelled || order.status === this.statuses.despatched) {
      throw new StoreError(`cannot despatch: order is ${order.status}`, 409);
    }
    const remaining = new Map<string, number>();
    for (const l of order.lines)
      remaining.set(l.itemCode, (remaining.get(l.itemCode) ?? 0) + l.quantity - l.despatched);
    // Validate the whole request before changing anything.
    const plan = (parcels.length ? parcels : [{}]).map((p) => {
      const items =
        p.items && p.items.length
          ? p.items
          : [...remaining.entries()].filter(([, q]) => q > 0).map(([itemCode, quantity]) => ({ itemCode, quantity }));
      for (const it of items) {
        if (!Number.isInteger(it.quantity) || it.quantity <= 0)
          throw new StoreError(`quantity for ${it.itemCode} must be a positive integer`);
        const left = remaining.get(it.itemCode) ?? 0;
        if (it.quantity > left)
          throw new StoreError(`cannot despatch ${it.quantity} × ${it.itemCode}: only ${left} left to despatch`, 409);
        remaining.set(it.itemCode, left - it.quantity);
      }
      if (items.length === 0) throw new StoreError('nothing left to despatch', 409);
      return { ...p, items };
    });
    const now = Date.now();
    const created: SimDespatch[] = [];
    for (const p of plan) {
      const despatchNumber = `DES${String(++this.despatchSeq).padStart(6, '0')}`;
      const carrier = p.carrier ?? 'Royal Mail';
      const trackingNumber =
        p.trackingNumber ??
        `${
          carrier
            .replace(/[^A-Z]/gi, '')
            .slice(0, 2)
            .toUpperCase() || 'TN'
        }${String(++this.trackingSeq).padStart(9, '0')}GB`;
      const serviceType = p.serviceType ?? order.fields.ServiceType ?? 'Standard';
      const d: SimDespatch = {
        despatchNumber,
        despatchedAt: now,
        trackingNumber,
        carrier,
        serviceType,
        serviceTypeCode: p.serviceTypeCode ?? serviceType.toUpperCase().replace(/[^A-Z0-9]+/g, '_'),
        items: p.items.map((i) => ({ ...i })),
      };
      for (const it of p.items) {
        let q = it.quantity;
        for (const l of order.lines) {
          if (l.itemCode !== it.itemCode || q <= 0) continue;
          const take = Math.min(q, l.quantity - l.despatched);
          if (take <= 0) continue;
          l.despatched += take;
          q -= take;
          this.withAvailabilityEvent(l.itemCode, () => {
            const item = this.items.get(l.itemCode);
            if (!item) return;
            item.onHand = Math.max(0, item.onHand - take);
            if (l.allocates) item.allocated = Math.max(0, item.allocated - take);
          });
        }
      }
      order.despatches.push(d);
      created.push(d);
      this.emit('TrackingNumberReceived', {
        DespatchNumber: d.despatchNumber,
        TrackingNumber: d.trackingNumber,
        'Carrier.Number': d.carrier,
        'ServiceType.Name': d.serviceType,
        'ServiceType.Code': d.serviceTypeCode,
        'Picks.SalesOrder.SalesOrderNumber': son,
        'Picks.SalesOrder.Email': order.fields.Email ?? '',
      });
    }
    const all = order.lines.every((l) => l.despatched >= l.quantity);
    this.setStatus(order, all ? this.statuses.despatched : this.statuses.partiallyDespatched, now);
    return created;
  }

  // ---------- returns ----------
  /**
   * A return booked in at the warehouse (the goods-in team scans the parcel): one return code, a row per item.
   * A resaleable condition puts the units back on hand (AvailabilityChanges); any other condition does not.
   * Then the `Returns` event fires ([I] placeholders {ReturnCode}, {SalesOrderNumber}: none are documented).
   */
  bookReturn(b: {
    salesOrderNumber: string;
    items: Array<{ itemCode: string; quantity: number; condition?: string; reason?: string }>;
    comments?: string;
    /** Book against a sales order the warehouse does not have, or for more than was despatched. */
    unchecked?: boolean;
    at?: number;
  }): SimReturnReceipt[] {
    const order = this.orders.get(b.salesOrderNumber);
    if (!b.unchecked) {
      if (!order) throw new StoreError(`sales order '${b.salesOrderNumber}' not found`, 404);
      for (const it of b.items) {
        const despatched = order.lines.filter((l) => l.itemCode === it.itemCode).reduce((s, l) => s + l.despatched, 0);
        const returned = this.returnReceipts
          .filter((r) => r.salesOrderNumber === b.salesOrderNumber && r.itemCode === it.itemCode)
          .reduce((s, r) => s + r.quantity, 0);
        if (it.quantity > despatched - returned)
          throw new StoreError(`item '${it.itemCode}': ${despatched - returned} despatched unit(s) left to return`);
      }
    }
    const returnCode = `RET${this.returnPrefix}${String(++this.returnSeq).padStart(6, '0')}`;
    const at = b.at ?? Date.now();
    const out: SimReturnReceipt[] = [];
    for (const it of b.items) {
      const condition = (it.condition ?? 'NEW').trim();
      const restocked =
        it.quantity > 0 && this.resaleableConditions.some((c) => c.toUpperCase() === condition.toUpperCase());
      if (restocked && this.items.has(it.itemCode))
        this.withAvailabilityEvent(it.itemCode, () => {
          this.items.get(it.itemCode)!.onHand += it.quantity;
        });
      const r: SimReturnReceipt = {
        returnCode,
        bookedAt: at,
        salesOrderNumber: b.salesOrderNumber,
        itemCode: it.itemCode,
        quantity: it.quantity,
        reason: it.reason ?? '',
        condition,
        comments: b.comments ?? '',
        restocked,
      };
      this.returnReceipts.push(r);
      out.push(r);
    }
    this.emit('Returns', { ReturnCode: returnCode, SalesOrderNumber: b.salesOrderNumber });
    return out;
  }

  // ---------- subscriptions ----------
  subscribe(s: Omit<SimSubscription, 'id' | 'createdAt'>): number {
    if (!(EVENT_TYPES as readonly string[]).includes(s.eventType))
      throw new StoreError(`Invalid event type '${s.eventType}'`);
    let parsed: URL;
    try {
      parsed = new URL(s.url.replace(/\{[^}]*\}/g, 'x'));
    } catch {
      throw new StoreError(`Invalid url '${s.url}'`);
    }
    if (!/^https?:$/.test(parsed.protocol)) throw new StoreError(`Invalid url '${s.url}'`);
    const id = ++this.subscriptionSeq;
    this.subscriptions.set(id, { ...s, id, createdAt: new Date().toISOString() });
    return id;
  }

  unsubscribe(id: number): boolean {
    return this.subscriptions.delete(id);
  }

  // ---------- read models ----------
  templateRows(name: string): { columns: string[]; rows: Record<string, string>[] } {
    const columns = this.templates[name];
    if (!columns) throw new StoreError(`Template '${name}' not found`);
    let rows: Record<string, string>[];
    if (name === SALES_ORDERS) {
      rows = [...this.orders.values()].map((o) => ({
        ...o.fields,
        SalesOrderNumber: o.salesOrderNumber,
        Status: o.status,
      }));
    } else if (name === SALES_ORDER_ITEMS) {
      rows = [...this.orders.values()].flatMap((o) =>
        o.lines.map((l) => ({
          ...l.fields,
          SalesOrderNumber: o.salesOrderNumber,
          ItemCode: l.itemCode,
          QuantityOrdered: String(l.quantity),
        })),
      );
    } else if (name === ITEM_TYPES) {
      rows = [...this.items.values()].map((i) => ({
        ItemCode: i.itemCode,
        Name: i.name,
        Barcode: i.barcode,
        RetailPrice: i.retailPrice,
      }));
    } else {
      throw new StoreError(`Template '${name}' is not available for GetData in the simulator`);
    }
    return { columns, rows: rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? '']))) };
  }

  reportRows(name: string): { columns: string[]; rows: Record<string, string>[] } {
    if (name === 'Despatch summary') {
      const rows: Record<string, string>[] = [];
      for (const o of this.orders.values()) {
        for (const d of o.despatches) {
          for (const it of d.items) {
            const item = this.items.get(it.itemCode);
            rows.push({
              'Salesorder number': o.salesOrderNumber,
              'Requested delivery date': o.fields.RequestedDeliveryDate ?? '',
              'Despatch number': d.despatchNumber,
              'Despatch date': formatReportDate(d.despatchedAt),
              'Tracking number': d.trackingNumber,
              Carrier: d.carrier,
              'Carrier reference': d.carrier,
              Service: d.serviceType,
              'Service type code': d.serviceTypeCode,
              'Item name': item?.name ?? '',
              'Item code': it.itemCode,
              'Item barcode': item?.barcode ?? '',
              'No of items': String(it.quantity),
              'Destination country': o.fields.ShippingAddressCountry ?? '',
              'Site reference': this.siteReference,
              'Customer order reference': o.fields.CustomerPurchaseOrderReferenceNumber ?? '',
              'Shipping cost': o.fields.ShippingCost ?? '',
              Email: o.fields.Email ?? '',
              'Contact name': o.fields.ContactName ?? '',
              'Total sale': o.fields.TotalSale ?? '',
              'Channel name': o.fields.ChannelName ?? '',
            });
          }
        }
      }
      return { columns: DESPATCH_SUMMARY_COLUMNS, rows };
    }
    if (name === 'Item inventory summary') {
      // Asked for every page (50 pages of 1,000 for 50,000 items): only the rows of items that changed since are
      // made again (an item's name and barcode can change too: upsertItemType).
      const rows: Record<string, string>[] = [];
      for (const i of this.items.values()) {
        const had = this.inventoryRowOf.get(i);
        if (
          had &&
          had.onHand === i.onHand &&
          had.allocated === i.allocated &&
          had.row.Name === i.name &&
          had.row.Barcode === i.barcode
        ) {
          rows.push(had.row);
          continue;
        }
        const row = {
          'Item code': i.itemCode,
          Name: i.name,
          Barcode: i.barcode,
          'On hand': String(i.onHand),
          Allocated: String(i.allocated),
          Available: String(PeoplevoxStore.available(i)),
          'Site reference': this.siteReference,
        };
        this.inventoryRowOf.set(i, { onHand: i.onHand, allocated: i.allocated, row });
        rows.push(row);
      }
      return { columns: ITEM_INVENTORY_SUMMARY_COLUMNS, rows };
    }
    if (name === RETURN_SUMMARY) {
      return {
        columns: RETURN_SUMMARY_COLUMNS,
        rows: this.returnReceipts.map((r) => {
          const item = this.items.get(r.itemCode);
          const order = this.orders.get(r.salesOrderNumber);
          const despatchedAt = order?.despatches.find((d) =>
            d.items.some((i) => i.itemCode === r.itemCode),
          )?.despatchedAt;
          return {
            'Return code': r.returnCode,
            'Return date': formatReportDate(r.bookedAt),
            Quantity: String(r.quantity),
            'Item name': item?.name ?? '',
            'Item barcode': item?.barcode ?? '',
            'Sales order number': r.salesOrderNumber,
            'Despatch date': despatchedAt !== undefined ? formatReportDate(despatchedAt) : '',
            'Return reason': r.reason,
            'Return condition': r.condition,
            'Return comments': r.comments,
            'Days since despatch':
              despatchedAt !== undefined ? String(Math.floor((r.bookedAt - despatchedAt) / 86_400_000)) : '',
            'Contact name': order?.fields.ContactName ?? '',
            Email: order?.fields.Email ?? '',
          };
        }),
      };
    }
    throw new StoreError(`Report '${name}' not found`);
  }

  orderView(o: SimOrder) {
    return {
      salesOrderNumber: o.salesOrderNumber,
      status: o.status,
      createdAt: new Date(o.createdAt).toISOString(),
      modifiedAt: new Date(o.modifiedAt).toISOString(),
      fields: o.fields,
      items: o.lines.map((l) => ({
        itemCode: l.itemCode,
        quantity: l.quantity,
        despatched: l.despatched,
        line: l.line,
        allocated: l.allocates,
        fields: l.fields,
      })),
      despatches: o.despatches.map((d) => ({ ...d, despatchedAt: new Date(d.despatchedAt).toISOString() })),
      saveCounts: this.saveCounts[o.salesOrderNumber],
    };
  }
}
