// One simulated Mirakl shop (a channel): orders and their state machine, shipments, offers and stock imports.
// Pure logic, no HTTP: the routes in simulator.ts translate requests into calls on this class. Time comes
// from a per-shop clock the control API can move forward; deadlines are checked lazily on every call.
import { randomUUID } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { toDecimalNumber, toMinor } from '../../domain/money';
import type { MiraklSimChannel, OrderSpec, OversellEntry, StockHistoryEntry, StockSource, WireAddress } from './types';

export interface OpResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class MiraklError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
  toResult(): OpResult {
    return {
      status: this.status,
      body: { status: this.status, message: this.message, ...(this.code ? { code: this.code } : {}) },
    };
  }
}

type LineState = string;

interface SimLine {
  id: string;
  index: number;
  offerSku: string;
  offerId: number;
  productSku: string;
  title: string;
  quantity: number;
  unitPriceMinor: number;
  shippingMinor: number;
  state: LineState;
  stateReasonCode?: string;
  stateReasonLabel?: string;
  createdAt: string;
  updatedAt: string;
  shippedAt?: string;
  receivedAt?: string;
  debitedAt?: string;
  /** Quantity taken out of the remaining quantity to ship by OR28 excluded_from_shipment. */
  excludedQty: number;
  refunds: Record<string, unknown>[];
  cancelations: Record<string, unknown>[];
}

export interface SimShipment {
  id: string;
  orderId: string;
  status: 'SHIPPING' | 'SHIPPED';
  createdAt: string;
  updatedAt: string;
  shippedAt?: string;
  lines: { order_line_id: string; offer_sku: string; quantity: number; package_reference?: string }[];
  tracking?: Record<string, unknown>;
  invoiceReference?: string;
  shippingFrom?: Record<string, unknown>;
}

export interface AcceptDecisionRecord {
  at: string;
  lines: { id: string; accepted: boolean }[];
}

interface SimOrder {
  id: string;
  commercialId: string;
  state: string;
  stateReasonCode?: string;
  stateReasonLabel?: string;
  createdMs: number;
  createdAt: string;
  updatedAt: string;
  acceptanceDeadlineMs: number;
  acceptanceDecisionAt?: string;
  acceptedMs?: number;
  debitedAt?: string;
  shippingDeadline: string;
  customer: { customer_id: string; firstname: string; lastname: string; locale?: string; email?: string };
  shippingAddress: WireAddress;
  billingAddress: WireAddress;
  shippingTypeCode: string;
  lines: SimLine[];
  shipments: SimShipment[];
  decisions: AcceptDecisionRecord[];
  tracking?: { carrier_code?: string; carrier_name?: string; carrier_url?: string; tracking_number?: string };
  shipMode?: 'OR24' | 'ST01';
  overrides?: Record<string, unknown>;
  additionalFields?: OrderSpec['additionalFields'];
  seq: number;
}

export interface SimOffer {
  offerId: number;
  shopSku: string;
  productSku: string;
  productId: string;
  productIdType: string;
  title: string;
  priceMinor: number;
  quantity: number;
  warehouses: Record<string, number>;
  stateCode: string;
  leadtimeToShip?: number;
  description: string;
  minQuantityAlert?: number;
  active: boolean;
  deleted: boolean;
  createdAt: string;
  updatedAt: string;
}

interface StockImport {
  id: string;
  createdMs: number;
  createdAt: string;
  kind: 'STO01' | 'OF24';
  status: 'WAITING' | 'COMPLETE' | 'FAILED';
  rows: Record<string, string>[];
  offers?: Record<string, unknown>[];
  errors: { line: number; message: string; row: Record<string, unknown> }[];
  success: number;
  inserted: number;
  updated: number;
  deleted: number;
}

interface OfferExport {
  id: string;
  createdAt: string;
  exportType: string;
  chunks: Record<string, unknown>[][];
}

const REASONS = [
  { code: '15', label: 'Out of stock', type: 'REFUND', is_shop_right: true },
  { code: '16', label: 'Customer request', type: 'REFUND', is_shop_right: true },
  { code: '17', label: 'Item damaged', type: 'REFUND', is_shop_right: true },
  { code: '18', label: 'Returned by customer', type: 'REFUND', is_shop_right: true },
  { code: '30', label: 'Out of stock', type: 'CANCELATION', is_shop_right: true },
  { code: '31', label: 'Customer request', type: 'CANCELATION', is_shop_right: true },
  { code: '40', label: 'Item not received', type: 'INCIDENT_OPEN', is_shop_right: false },
  { code: '41', label: 'Incident resolved', type: 'INCIDENT_CLOSE', is_shop_right: true },
  { code: '50', label: 'Wrong size', type: 'RETURN', is_shop_right: false },
];

const VAT_RATE = 20;
const COMMISSION_RATE = 0.15;
const FIRST_NAMES = ['Amelia', 'Oliver', 'Isla', 'George', 'Ava', 'Noah', 'Mia', 'Arthur'];
const LAST_NAMES = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Evans', 'Patel'];

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge recursively, arrays merge by index, null and primitives replace. */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (Array.isArray(patch)) {
    const b = Array.isArray(base) ? base : [];
    const len = Math.max(b.length, patch.length);
    const out: unknown[] = [];
    for (let i = 0; i < len; i++) out.push(i < patch.length ? deepMerge(b[i], patch[i]) : b[i]);
    return out;
  }
  if (isObj(patch)) {
    const out: Record<string, unknown> = isObj(base) ? { ...base } : {};
    for (const [k, v] of Object.entries(patch)) out[k] = deepMerge(out[k], v);
    return out;
  }
  return patch;
}

function csvList(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(','));
  const out = parts.map((s) => s.trim()).filter((s) => s.length > 0);
  return out.length ? out : undefined;
}

function parseDate(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new MiraklError(400, `Invalid date: ${v}`, 'VALIDATION_ERROR');
  return t;
}

function encodeToken(offset: number): string {
  return Buffer.from(`offset=${offset}`).toString('base64url');
}
function decodeToken(token: string): number {
  const m = /^offset=(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw new MiraklError(400, 'Invalid page_token', 'VALIDATION_ERROR');
  return Number(m[1]);
}

export class MiraklShop {
  readonly orders = new Map<string, SimOrder>();
  readonly offers = new Map<string, SimOffer>();
  /** Bumped wherever an offer is added, replaced or deleted (what OF21's filter and order depend on). */
  private offersVersion = 0;
  private listedCache?: { key: string; list: SimOffer[] };
  readonly stockHistory: StockHistoryEntry[] = [];
  readonly oversells: OversellEntry[] = [];
  private imports = new Map<string, StockImport>();
  private exports = new Map<string, OfferExport>();
  private clockOffsetMs = 0;
  private orderSeq = 0;
  private importSeq = 0;
  private offerSeq = 2000;
  readonly shopId: number;
  readonly currency: string;

  constructor(
    readonly cfg: MiraklSimChannel,
    private readonly timeScale: number,
    shopIndex = 0,
  ) {
    this.shopId = cfg.shopId ?? 2000 + shopIndex;
    this.currency = cfg.currency ?? 'GBP';
    const at = this.iso();
    for (const item of cfg.catalogue) {
      this.offersVersion++;
      this.offers.set(item.sku, {
        offerId: ++this.offerSeq,
        shopSku: item.sku,
        productSku: `MKP-${item.barcode}`,
        productId: item.barcode,
        productIdType: 'EAN',
        title: item.name,
        priceMinor: item.priceMinor,
        quantity: item.stock,
        warehouses: {},
        stateCode: '11',
        leadtimeToShip: cfg.leadtimeToShipDays,
        description: item.name,
        // Not deactivated; with 0 quantity it still reads inactive (ZERO_QUANTITY) until stock arrives.
        active: true,
        deleted: false,
        createdAt: at,
        updatedAt: at,
      });
    }
  }

  // ---- clock ----------------------------------------------------------------------------------------
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }
  iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }
  advanceClock(ms: number): { now: string } {
    this.clockOffsetMs += Math.max(0, ms);
    this.tick();
    return { now: this.iso() };
  }
  private scaled(ms: number): number {
    return ms / this.timeScale;
  }

  /** Lazy time-driven transitions: auto-refusal, debit, delayed imports. */
  tick(): void {
    const now = this.now();
    for (const o of this.orders.values()) {
      if (o.state === 'WAITING_ACCEPTANCE' && now >= o.acceptanceDeadlineMs) {
        const at = this.iso(o.acceptanceDeadlineMs);
        o.state = 'REFUSED';
        o.stateReasonCode = 'AUTO_REFUSED';
        o.stateReasonLabel = 'Not accepted before the acceptance deadline';
        for (const l of o.lines) {
          l.state = 'REFUSED';
          l.updatedAt = at;
          this.restock(l);
        }
        this.touch(o, at);
      }
      if (o.state === 'WAITING_DEBIT_PAYMENT' && o.acceptedMs !== undefined) {
        const due = o.acceptedMs + this.scaled(this.cfg.debitDelayMs ?? 0);
        if (now >= due) this.debit(o, this.iso(Math.max(due, o.acceptedMs)));
      }
    }
    for (const imp of this.imports.values()) {
      if (imp.status === 'WAITING' && now >= imp.createdMs + this.scaled(this.cfg.importDelayMs ?? 0))
        this.runImport(imp);
    }
  }

  private touch(o: SimOrder, at = this.iso()) {
    // last_updated_date must strictly increase so OR11 update polling sees every change.
    const prev = Date.parse(o.updatedAt);
    const t = Math.max(Date.parse(at), prev + 1);
    o.updatedAt = this.iso(t);
    o.seq++;
  }

  private debit(o: SimOrder, at: string) {
    o.state = 'SHIPPING';
    o.debitedAt = at;
    for (const l of o.lines) {
      if (l.state === 'WAITING_DEBIT_PAYMENT') {
        l.state = 'SHIPPING';
        l.debitedAt = at;
        l.updatedAt = at;
      }
    }
    this.touch(o, at);
  }

  private restock(l: SimLine) {
    const offer = this.offers.get(l.offerSku);
    if (offer && l.quantity > 0) offer.quantity += l.quantity;
  }

  // ---- order creation (control API) ------------------------------------------------------------------
  createOrder(spec: OrderSpec): Record<string, unknown> {
    this.tick();
    const now = this.now();
    const at = this.iso(now);
    this.orderSeq++;
    const commercialId = spec.orderId
      ? spec.orderId.replace(/-A$/, '')
      : `${this.cfg.code.toUpperCase()}-${String(now).slice(-6)}${String(this.orderSeq).padStart(4, '0')}`;
    const id = spec.orderId ?? `${commercialId}-A`;
    if (this.orders.has(id)) throw new MiraklError(409, `Order ${id} already exists`);
    const first = FIRST_NAMES[this.orderSeq % FIRST_NAMES.length]!;
    const last = LAST_NAMES[(this.orderSeq * 3) % LAST_NAMES.length]!;
    const customer = {
      customer_id: spec.customer?.customer_id ?? `C-${100000 + this.orderSeq}`,
      firstname: spec.customer?.firstname ?? first,
      lastname: spec.customer?.lastname ?? last,
      locale: spec.customer?.locale ?? 'en_GB',
      email: spec.customer?.email,
    };
    const defaultAddress: WireAddress = {
      firstname: customer.firstname,
      lastname: customer.lastname,
      street_1: `${10 + (this.orderSeq % 80)} High Street`,
      city: 'Bath',
      zip_code: 'BA1 1AA',
      country: 'United Kingdom',
      country_iso_code: 'GBR',
      phone: '+441225000000',
    };
    const shippingAddress = spec.shippingAddress ?? defaultAddress;
    const shippingMinor = spec.shippingPrice !== undefined ? toMinor(spec.shippingPrice, this.currency) : 0;
    const lines: SimLine[] = spec.lines.map((l, i) => {
      const offer = this.offers.get(l.offerSku);
      const unitPriceMinor =
        l.unitPrice !== undefined ? toMinor(l.unitPrice, this.currency) : (offer?.priceMinor ?? 1000);
      if (offer && l.quantity > 0) {
        if (l.quantity > offer.quantity) {
          this.oversells.push({
            at,
            orderId: id,
            offerSku: l.offerSku,
            requested: l.quantity,
            available: offer.quantity,
          });
        }
        offer.quantity = Math.max(0, offer.quantity - l.quantity);
      }
      return {
        id: `${id}-${i + 1}`,
        index: i + 1,
        offerSku: l.offerSku,
        offerId: offer?.offerId ?? 0,
        productSku: offer?.productSku ?? `UNKNOWN-${l.offerSku}`,
        title: l.productTitle ?? offer?.title ?? l.offerSku,
        quantity: l.quantity,
        unitPriceMinor,
        shippingMinor: i === 0 ? shippingMinor : 0,
        state: 'WAITING_ACCEPTANCE',
        createdAt: at,
        updatedAt: at,
        excludedQty: 0,
        refunds: [],
        cancelations: [],
      };
    });
    const order: SimOrder = {
      id,
      commercialId,
      state: 'WAITING_ACCEPTANCE',
      createdMs: now,
      createdAt: at,
      updatedAt: at,
      acceptanceDeadlineMs: now + this.scaled(this.cfg.acceptanceWindowMs),
      shippingDeadline: this.iso(now + this.scaled(this.cfg.leadtimeToShipDays * 86_400_000)),
      customer,
      shippingAddress,
      billingAddress: spec.billingAddress ?? shippingAddress,
      shippingTypeCode: spec.shippingTypeCode ?? 'STD',
      lines,
      shipments: [],
      decisions: [],
      overrides: spec.overrides,
      additionalFields: spec.additionalFields,
      seq: 0,
    };
    this.orders.set(id, order);
    return this.wireOrder(order);
  }

  // ---- wire rendering --------------------------------------------------------------------------------
  private money(minor: number): number {
    return toDecimalNumber(minor, this.currency);
  }

  private taxOf(grossMinor: number): number {
    return grossMinor - Math.round((grossMinor * 100) / (100 + VAT_RATE));
  }

  private addressesVisible(o: SimOrder): boolean {
    if (!this.cfg.hideAddressesUntilAcceptance) return true;
    return (
      o.lines.some((l) => !['WAITING_ACCEPTANCE', 'REFUSED'].includes(l.state)) && o.acceptanceDecisionAt !== undefined
    );
  }

  private wireLine(o: SimOrder, l: SimLine): Record<string, unknown> {
    const price = l.unitPriceMinor * l.quantity;
    const fee = Math.round(price * COMMISSION_RATE);
    const feeVat = Math.round((fee * VAT_RATE) / 100);
    const line: Record<string, unknown> = {
      order_line_id: l.id,
      order_line_index: l.index,
      order_line_state: l.state,
      offer_id: l.offerId,
      offer_sku: l.offerSku,
      offer_state_code: '11',
      product_sku: l.productSku,
      product_shop_sku: l.offerSku,
      product_title: l.title,
      description: l.title,
      category_code: 'fashion',
      category_label: 'Fashion',
      quantity: l.quantity,
      price_unit: this.money(l.unitPriceMinor),
      origin_unit_price: this.money(l.unitPriceMinor),
      price: this.money(price),
      shipping_price: this.money(l.shippingMinor),
      total_price: this.money(price + l.shippingMinor),
      taxes: [
        {
          code: 'VAT20',
          amount: this.money(this.taxOf(price)),
          rate: VAT_RATE,
          tax_calculation_rule: 'PROPORTIONAL_TO_AMOUNT',
        },
      ],
      shipping_taxes: [
        {
          code: 'VAT20',
          amount: this.money(this.taxOf(l.shippingMinor)),
          rate: VAT_RATE,
          tax_calculation_rule: 'PROPORTIONAL_TO_AMOUNT',
        },
      ],
      commission_fee: this.money(fee),
      commission_vat: this.money(feeVat),
      commission_rate_vat: VAT_RATE,
      commission_taxes: [{ code: 'VAT20', amount: this.money(feeVat), rate: VAT_RATE }],
      total_commission: this.money(fee + feeVat),
      can_refund: ['SHIPPING', 'SHIPPED', 'RECEIVED', 'CLOSED', 'TO_COLLECT'].includes(l.state),
      refunds: l.refunds,
      cancelations: l.cancelations,
      order_line_additional_fields: [],
      product_medias: [],
      fees: [],
      created_date: l.createdAt,
      last_updated_date: l.updatedAt,
      shipping_from: { warehouse: { code: 'DEFAULT' } },
    };
    if (l.stateReasonCode) line.order_line_state_reason_code = l.stateReasonCode;
    if (l.stateReasonLabel) line.order_line_state_reason_label = l.stateReasonLabel;
    if (l.shippedAt) line.shipped_date = l.shippedAt;
    if (l.receivedAt) line.received_date = l.receivedAt;
    if (l.debitedAt) line.debited_date = l.debitedAt;
    void o;
    return line;
  }

  wireOrder(o: SimOrder): Record<string, unknown> {
    const lines = o.lines.map((l) => this.wireLine(o, l));
    const goods = o.lines.reduce((s, l) => s + l.unitPriceMinor * l.quantity, 0);
    const shipping = o.lines.reduce((s, l) => s + l.shippingMinor, 0);
    const commission = o.lines.reduce((s, l) => {
      const fee = Math.round(l.unitPriceMinor * l.quantity * COMMISSION_RATE);
      return s + fee + Math.round((fee * VAT_RATE) / 100);
    }, 0);
    const visible = this.addressesVisible(o);
    const carrier = o.tracking?.carrier_code
      ? this.cfg.carriers.find((c) => c.code === o.tracking?.carrier_code)
      : undefined;
    const wire: Record<string, unknown> = {
      order_id: o.id,
      commercial_id: o.commercialId,
      order_state: o.state,
      created_date: o.createdAt,
      last_updated_date: o.updatedAt,
      shipping_deadline: o.shippingDeadline,
      leadtime_to_ship: this.cfg.leadtimeToShipDays,
      currency_iso_code: this.currency,
      order_tax_mode: 'TAX_INCLUDED',
      payment_workflow: 'PAY_ON_ACCEPTANCE',
      payment_type: 'CARD',
      paymentType: 'CARD',
      can_cancel:
        ['WAITING_ACCEPTANCE', 'WAITING_DEBIT', 'WAITING_DEBIT_PAYMENT', 'SHIPPING'].includes(o.state) &&
        o.shipments.length === 0,
      can_shop_ship: o.state === 'SHIPPING',
      has_incident: false,
      has_customer_message: false,
      has_invoice: false,
      fully_refunded: o.lines.length > 0 && o.lines.every((l) => l.state === 'REFUNDED'),
      fulfillment: { center: { code: 'DEFAULT' } },
      channel: { code: this.cfg.code.toUpperCase(), label: this.cfg.label ?? this.cfg.code },
      references: { order_reference_for_customer: o.commercialId },
      shipping_type_code: o.shippingTypeCode,
      shipping_type_label: o.shippingTypeCode === 'EXP' ? 'Express' : 'Standard',
      shipping_zone_code: 'UK',
      shipping_zone_label: 'United Kingdom',
      price: this.money(goods),
      shipping_price: this.money(shipping),
      total_price: this.money(goods + shipping),
      total_commission: this.money(commission),
      customer: {
        customer_id: o.customer.customer_id,
        firstname: o.customer.firstname,
        lastname: o.customer.lastname,
        locale: o.customer.locale,
        shipping_address: visible ? o.shippingAddress : null,
        billing_address: visible ? o.billingAddress : null,
      },
      order_additional_fields: (o.additionalFields ?? []).map((f) => ({
        code: f.code,
        type: f.type ?? (Array.isArray(f.value) ? 'MULTIPLE_VALUES_LIST' : 'STRING'),
        value: f.value,
      })),
      order_lines: lines,
    };
    if (visible && o.customer.email) wire.customer_notification_email = o.customer.email;
    if (o.stateReasonCode) wire.order_state_reason_code = o.stateReasonCode;
    if (o.stateReasonLabel) wire.order_state_reason_label = o.stateReasonLabel;
    if (o.acceptanceDecisionAt) wire.acceptance_decision_date = o.acceptanceDecisionAt;
    if (o.debitedAt) wire.customer_debited_date = o.debitedAt;
    if (o.tracking) {
      if (o.tracking.carrier_code) wire.shipping_carrier_code = o.tracking.carrier_code;
      const company = carrier?.label ?? o.tracking.carrier_name;
      if (company) wire.shipping_company = company;
      if (o.tracking.tracking_number) wire.shipping_tracking = o.tracking.tracking_number;
      const url = carrier?.trackingUrl
        ? carrier.trackingUrl.replace('{trackingId}', o.tracking.tracking_number ?? '')
        : o.tracking.carrier_url;
      if (url) wire.shipping_tracking_url = url;
    }
    return o.overrides ? (deepMerge(wire, o.overrides) as Record<string, unknown>) : wire;
  }

  private getOrder(id: string): SimOrder {
    const o = this.orders.get(id);
    if (!o) throw new MiraklError(404, `Order with id '${id}' not found`, 'ORDER_NOT_FOUND');
    return o;
  }

  // ---- OR11 -------------------------------------------------------------------------------------------
  listOrders(q: Record<string, unknown>): OpResult {
    const ids = csvList(q.order_ids);
    if (ids && ids.length > 100) throw new MiraklError(400, 'order_ids: at most 100 values', 'VALIDATION_ERROR');
    const states = csvList(q.order_state_codes);
    const delta = this.cfg.updateDateDeltaMs ?? 5000;
    const startUpd = parseDate(q.start_update_date);
    const endUpd = parseDate(q.end_update_date);
    const start = parseDate(q.start_date);
    const end = parseDate(q.end_date);
    const refsCustomer = csvList(q.order_references_for_customer);
    let list = [...this.orders.values()].filter((o) => {
      if (ids && !ids.includes(o.id)) return false;
      if (states && !states.includes(o.state)) return false;
      const upd = Date.parse(o.updatedAt);
      if (startUpd !== undefined && upd < startUpd - delta) return false;
      if (endUpd !== undefined && upd > endUpd) return false;
      if (start !== undefined && o.createdMs < start) return false;
      if (end !== undefined && o.createdMs > end) return false;
      if (refsCustomer && !refsCustomer.includes(o.commercialId)) return false;
      return true;
    });
    list.sort((a, b) => a.createdMs - b.createdMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (String(q.order ?? 'asc').toLowerCase() === 'desc') list = list.reverse();
    const total = list.length;
    const paginate = String(q.paginate ?? 'true') !== 'false';
    const offset = Math.max(0, Number(q.offset ?? 0) || 0);
    const max = Math.min(100, Math.max(1, Number(q.max ?? 10) || 10));
    const page = paginate ? list.slice(offset, offset + max) : list;
    return { status: 200, body: { orders: page.map((o) => this.wireOrder(o)), total_count: total } };
  }

  // ---- OR21 -------------------------------------------------------------------------------------------
  accept(orderId: string, body: unknown): OpResult {
    const o = this.getOrder(orderId);
    if (!isObj(body) || !Array.isArray(body.order_lines)) {
      throw new MiraklError(400, 'order_lines is required', 'VALIDATION_ERROR');
    }
    const decisions = body.order_lines as unknown[];
    if (decisions.some((d) => d === null))
      throw new MiraklError(400, 'The order lines list contains a null element', 'ORDER_LINE_NULL_ELEMENT');
    const parsed: { id: string; accepted: boolean }[] = [];
    for (const d of decisions) {
      if (!isObj(d) || typeof d.id !== 'string' || typeof d.accepted !== 'boolean') {
        throw new MiraklError(400, 'Each order line needs an id (string) and accepted (boolean)', 'VALIDATION_ERROR');
      }
      parsed.push({ id: d.id, accepted: d.accepted });
    }
    if (o.state !== 'WAITING_ACCEPTANCE') {
      throw new MiraklError(
        400,
        `The order status must be 'WAITING_ACCEPTANCE' but it is '${o.state}'.`,
        'ORDER_INVALID_STATE',
      );
    }
    const seen = new Set<string>();
    for (const d of parsed) {
      if (seen.has(d.id)) throw new MiraklError(400, `Duplicate order line id ${d.id}`, 'ORDER_LINE_DUPLICATE_ID');
      seen.add(d.id);
      if (!o.lines.some((l) => l.id === d.id)) {
        throw new MiraklError(
          400,
          `Order line ${d.id} does not exist or is not associated with order ${o.id}`,
          'ORDER_LINE_NOT_FOUND',
        );
      }
    }
    const pending = o.lines.filter((l) => l.state === 'WAITING_ACCEPTANCE');
    const missing = pending.filter((l) => !seen.has(l.id));
    if (missing.length) {
      throw new MiraklError(
        400,
        `Some order lines are missing from the acceptance decision: ${missing.map((l) => l.id).join(', ')}`,
        'ORDER_LINE_ACCEPTANCE_DECISION_MISSING',
      );
    }
    const anyAccepted = parsed.some((d) => d.accepted);
    const anyRefused = parsed.some((d) => !d.accepted);
    if (anyAccepted && anyRefused && !this.cfg.partialAcceptance) {
      throw new MiraklError(400, 'Partial acceptance is disabled for this shop', 'ORDER_PARTIAL_ACCEPTANCE_DISABLED');
    }
    const nowMs = this.now();
    const at = this.iso(nowMs);
    o.decisions.push({ at, lines: parsed });
    o.acceptanceDecisionAt = at;
    for (const d of parsed) {
      const l = o.lines.find((x) => x.id === d.id)!;
      l.updatedAt = at;
      if (d.accepted) l.state = 'WAITING_DEBIT_PAYMENT';
      else {
        l.state = 'REFUSED';
        this.restock(l);
      }
    }
    if (!anyAccepted) {
      o.state = 'REFUSED';
      this.touch(o, at);
    } else {
      o.state = 'WAITING_DEBIT_PAYMENT';
      o.acceptedMs = nowMs;
      this.touch(o, at);
      if ((this.cfg.debitDelayMs ?? 0) <= 0) this.debit(o, at);
    }
    return { status: 204 };
  }

  // ---- OR23 / OR24 ------------------------------------------------------------------------------------
  setTracking(orderId: string, body: unknown): OpResult {
    const o = this.getOrder(orderId);
    const b = isObj(body) ? body : {};
    if (!['SHIPPING', 'SHIPPED', 'TO_COLLECT'].includes(o.state)) {
      throw new MiraklError(400, `The order status must be 'SHIPPING' but it is '${o.state}'.`, 'ORDER_INVALID_STATE');
    }
    const str = (k: string) => (typeof b[k] === 'string' && b[k] !== '' ? (b[k] as string) : undefined);
    const carrierCode = str('carrier_code');
    if (carrierCode && !this.cfg.carriers.some((c) => c.code === carrierCode)) {
      throw new MiraklError(400, `Carrier with code '${carrierCode}' does not exist`, 'CARRIER_NOT_FOUND');
    }
    if (!carrierCode && !str('carrier_name') && str('tracking_number')) {
      throw new MiraklError(400, 'carrier_name is required for a carrier that is not registered', 'VALIDATION_ERROR');
    }
    o.tracking = {
      carrier_code: carrierCode,
      carrier_name: str('carrier_name'),
      carrier_url: carrierCode ? undefined : str('carrier_url'),
      tracking_number: str('tracking_number'),
    };
    this.touch(o);
    return { status: 204 };
  }

  shipOrder(orderId: string): OpResult {
    const o = this.getOrder(orderId);
    if (o.state !== 'SHIPPING') {
      throw new MiraklError(400, `The order status must be 'SHIPPING' but it is '${o.state}'.`, 'ORDER_INVALID_STATE');
    }
    if (o.shipments.length > 0) {
      throw new MiraklError(
        400,
        'The order has shipments (ST01): validate them with ST24, not OR24',
        'ORDER_HAS_SHIPMENTS',
      );
    }
    const at = this.iso();
    o.shipMode = 'OR24';
    for (const l of o.lines) {
      if (l.state === 'SHIPPING') {
        l.state = 'SHIPPED';
        l.shippedAt = at;
        l.updatedAt = at;
      }
    }
    o.state = 'SHIPPED';
    this.touch(o, at);
    return { status: 204 };
  }

  // ---- shipments --------------------------------------------------------------------------------------
  private shippedOrReserved(o: SimOrder, lineId: string): number {
    return o.shipments
      .flatMap((s) => s.lines)
      .filter((sl) => sl.order_line_id === lineId)
      .reduce((s, sl) => s + sl.quantity, 0);
  }

  private remainingToShip(o: SimOrder, l: SimLine): number {
    if (l.state !== 'SHIPPING') return 0;
    return Math.max(0, l.quantity - l.excludedQty - this.shippedOrReserved(o, l.id));
  }

  private wireShipment(s: SimShipment): Record<string, unknown> {
    const w: Record<string, unknown> = {
      id: s.id,
      order_id: s.orderId,
      status: s.status,
      status_customer_debit: 'DEBIT_OK',
      created_date: s.createdAt,
      last_updated_date: s.updatedAt,
      shipment_lines: s.lines,
      shipment_additional_information: [],
    };
    if (s.shippedAt) w.shipped_date = s.shippedAt;
    if (s.tracking) w.tracking = s.tracking;
    if (s.invoiceReference) w.invoice_reference = s.invoiceReference;
    if (s.shippingFrom) w.shipping_from = s.shippingFrom;
    return w;
  }

  private settleShipped(o: SimOrder, at: string) {
    for (const l of o.lines) {
      if (l.state !== 'SHIPPING') continue;
      const shipped = o.shipments
        .filter((s) => s.status === 'SHIPPED')
        .flatMap((s) => s.lines)
        .filter((sl) => sl.order_line_id === l.id)
        .reduce((s, sl) => s + sl.quantity, 0);
      if (shipped + l.excludedQty >= l.quantity) {
        l.state = 'SHIPPED';
        l.shippedAt = at;
        l.updatedAt = at;
      }
    }
    const live = o.lines.filter((l) => !['REFUSED', 'CANCELED', 'REFUNDED'].includes(l.state));
    if (o.state === 'SHIPPING' && live.length > 0 && live.every((l) => l.state === 'SHIPPED')) o.state = 'SHIPPED';
    this.touch(o, at);
  }

  createShipments(body: unknown): OpResult {
    if (!this.cfg.multiShipment) {
      throw new MiraklError(
        400,
        'Multiple shipments are not enabled on this platform (features.shipment.multi_shipment)',
        'FEATURE_DISABLED',
      );
    }
    if (!isObj(body) || !Array.isArray(body.shipments))
      throw new MiraklError(400, 'shipments is required', 'VALIDATION_ERROR');
    if (body.shipments.length > 1000) throw new MiraklError(400, 'At most 1000 shipments per call', 'VALIDATION_ERROR');
    const success: Record<string, unknown>[] = [];
    const errors: { order_id?: string; message: string }[] = [];
    for (const s of body.shipments as unknown[]) {
      if (!isObj(s) || typeof s.order_id !== 'string') {
        errors.push({ message: 'order_id is required.' });
        continue;
      }
      const o = this.orders.get(s.order_id);
      if (!o) {
        errors.push({ order_id: s.order_id, message: `Order with id '${s.order_id}' not found.` });
        continue;
      }
      if (o.state !== 'SHIPPING') {
        errors.push({ order_id: o.id, message: `The order status must be 'SHIPPING' but it is '${o.state}'.` });
        continue;
      }
      if (!Array.isArray(s.shipment_lines) || s.shipment_lines.length === 0) {
        errors.push({ order_id: o.id, message: 'Shipment lines are required.' });
        continue;
      }
      const want = new Map<string, number>();
      const lines: SimShipment['lines'] = [];
      let error: string | undefined;
      for (const sl of s.shipment_lines as unknown[]) {
        if (!isObj(sl)) {
          error = 'Shipment line is invalid.';
          break;
        }
        const line =
          typeof sl.order_line_id === 'string'
            ? o.lines.find((l) => l.id === sl.order_line_id)
            : typeof sl.offer_sku === 'string'
              ? o.lines.find((l) => l.offerSku === sl.offer_sku)
              : undefined;
        if (!line) {
          error = `Order line ${String(sl.order_line_id ?? sl.offer_sku)} does not exist in order ${o.id}.`;
          break;
        }
        const qty = sl.quantity;
        if (typeof qty !== 'number' || !Number.isInteger(qty) || qty <= 0) {
          error = 'Shipment quantity is invalid.';
          break;
        }
        want.set(line.id, (want.get(line.id) ?? 0) + qty);
        const out: SimShipment['lines'][number] = { order_line_id: line.id, offer_sku: line.offerSku, quantity: qty };
        if (typeof sl.package_reference === 'string') out.package_reference = sl.package_reference;
        lines.push(out);
      }
      if (!error) {
        for (const [lineId, qty] of want) {
          const line = o.lines.find((l) => l.id === lineId)!;
          const remaining = this.remainingToShip(o, line);
          if (qty > remaining) {
            error = `Shipment quantity is invalid: line ${lineId} has ${remaining} left to ship, ${qty} requested.`;
            break;
          }
        }
      }
      if (error) {
        errors.push({ order_id: o.id, message: error });
        continue;
      }
      const at = this.iso();
      // The spec's default is false: the shipment waits for ST24 unless `shipped: true`.
      const shipped = s.shipped === true;
      const shipment: SimShipment = {
        id: randomUUID(),
        orderId: o.id,
        status: shipped ? 'SHIPPED' : 'SHIPPING',
        createdAt: at,
        updatedAt: at,
        shippedAt: shipped ? at : undefined,
        lines,
        tracking: isObj(s.tracking) ? this.shipmentTracking(s.tracking) : undefined,
        invoiceReference: typeof s.invoice_reference === 'string' ? s.invoice_reference : undefined,
        shippingFrom: isObj(s.shipping_from) ? s.shipping_from : undefined,
      };
      o.shipments.push(shipment);
      o.shipMode = 'ST01';
      this.settleShipped(o, at);
      success.push(this.wireShipment(shipment));
    }
    return { status: 201, body: { shipment_success: success, shipment_errors: errors } };
  }

  private shipmentTracking(t: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of ['carrier_code', 'carrier_name', 'carrier_standard_code', 'tracking_number', 'tracking_url']) {
      if (typeof t[k] === 'string') out[k] = t[k];
    }
    const carrier =
      typeof t.carrier_code === 'string' ? this.cfg.carriers.find((c) => c.code === t.carrier_code) : undefined;
    if (carrier) {
      out.carrier_name = carrier.label;
      if (carrier.trackingUrl && typeof t.tracking_number === 'string') {
        out.tracking_url = carrier.trackingUrl.replace('{trackingId}', t.tracking_number);
      }
    }
    return out;
  }

  /** ST24: validate shipments created with shipped=false. */
  shipShipments(body: unknown): OpResult {
    if (!isObj(body) || !Array.isArray(body.shipments))
      throw new MiraklError(400, 'shipments is required', 'VALIDATION_ERROR');
    const success: { id: string }[] = [];
    const errors: { id?: string; message: string }[] = [];
    for (const s of body.shipments as unknown[]) {
      const id = isObj(s) && typeof s.id === 'string' ? s.id : undefined;
      const found = id
        ? [...this.orders.values()].flatMap((o) => o.shipments.map((x) => ({ o, x }))).find((p) => p.x.id === id)
        : undefined;
      if (!found) {
        errors.push({ id, message: 'Shipment not found.' });
        continue;
      }
      if (found.x.status !== 'SHIPPING') {
        errors.push({ id, message: `The shipment status must be 'SHIPPING' but it is '${found.x.status}'.` });
        continue;
      }
      const at = this.iso();
      found.x.status = 'SHIPPED';
      found.x.shippedAt = at;
      found.x.updatedAt = at;
      this.settleShipped(found.o, at);
      success.push({ id: found.x.id });
    }
    return { status: 200, body: { shipment_success: success, shipment_errors: errors } };
  }

  listShipments(q: Record<string, unknown>): OpResult {
    const ids = csvList(q.order_id);
    const states = csvList(q.shipment_state_code);
    const from = parseDate(q.last_updated_from);
    const to = parseDate(q.last_updated_to);
    const all = [...this.orders.values()]
      .flatMap((o) => o.shipments)
      .filter(
        (s) =>
          (!ids || ids.includes(s.orderId)) &&
          (!states || states.includes(s.status)) &&
          (from === undefined || Date.parse(s.updatedAt) >= from) &&
          (to === undefined || Date.parse(s.updatedAt) <= to),
      )
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    return {
      status: 200,
      body: this.seekPage(
        all.map((s) => this.wireShipment(s)),
        q,
      ),
    };
  }

  private seekPage<T>(
    all: T[],
    q: Record<string, unknown>,
  ): { data: T[]; next_page_token?: string; previous_page_token?: string } {
    const offset = typeof q.page_token === 'string' && q.page_token !== '' ? decodeToken(q.page_token) : 0;
    const limit = Math.min(100, Math.max(1, Number(q.limit ?? 10) || 10));
    const data = all.slice(offset, offset + limit);
    const out: { data: T[]; next_page_token?: string; previous_page_token?: string } = { data };
    if (offset + limit < all.length) out.next_page_token = encodeToken(offset + limit);
    if (offset > 0) out.previous_page_token = encodeToken(Math.max(0, offset - limit));
    return out;
  }

  itemsToShip(q: Record<string, unknown>): OpResult {
    const ids = csvList(q.order_id);
    const rows: Record<string, unknown>[] = [];
    const sorted = [...this.orders.values()].sort((a, b) => a.createdMs - b.createdMs);
    for (const o of sorted) {
      if (o.state !== 'SHIPPING' || (ids && !ids.includes(o.id))) continue;
      const lines = o.lines
        .map((l) => ({ l, remaining: this.remainingToShip(o, l) }))
        .filter((x) => x.remaining > 0)
        .map((x) => ({
          order_line_id: x.l.id,
          offer_sku: x.l.offerSku,
          product_title: x.l.title,
          quantity: x.remaining,
        }));
      if (!lines.length) continue;
      rows.push({
        order_id: o.id,
        references: { order_reference_for_customer: o.commercialId },
        fulfillment: { center: { code: 'DEFAULT' } },
        shipment_lines: lines,
        shipping_address: o.shippingAddress,
        shipping_date: o.acceptanceDecisionAt ?? o.createdAt,
        shipping_deadline: o.shippingDeadline,
        shipping_type_code: o.shippingTypeCode,
      });
    }
    return { status: 200, body: this.seekPage(rows, q) };
  }

  // ---- OR29 / OR28 ------------------------------------------------------------------------------------
  cancel(orderId: string, source: 'shop' | 'operator' = 'shop'): OpResult {
    const o = this.getOrder(orderId);
    const cancellable = ['WAITING_ACCEPTANCE', 'WAITING_DEBIT', 'WAITING_DEBIT_PAYMENT', 'SHIPPING'].includes(o.state);
    if (!cancellable || (source === 'shop' && o.shipments.length > 0)) {
      throw new MiraklError(400, `The order ${o.id} cannot be canceled in state '${o.state}'.`, 'ORDER_INVALID_STATE');
    }
    const at = this.iso();
    for (const l of o.lines) {
      if (['REFUSED', 'CANCELED'].includes(l.state)) continue;
      l.cancelations.push({
        id: randomUUID(),
        amount: this.money(l.unitPriceMinor * l.quantity),
        shipping_amount: this.money(l.shippingMinor),
        quantity: l.quantity,
        reason_code: source === 'shop' ? '31' : '30',
        created_date: at,
        commission_amount: 0,
        commission_taxes: [],
        commission_total_amount: 0,
        taxes: [],
        shipping_taxes: [],
      });
      l.state = 'CANCELED';
      l.updatedAt = at;
      this.restock(l);
    }
    o.state = 'CANCELED';
    o.stateReasonCode = source === 'shop' ? 'SHOP_CANCELED' : 'CUSTOMER_CANCELED';
    this.touch(o, at);
    return { status: 204 };
  }

  refund(body: unknown): OpResult {
    if (!isObj(body) || !Array.isArray(body.refunds) || body.refunds.length === 0) {
      throw new MiraklError(400, 'refunds is required', 'VALIDATION_ERROR');
    }
    const refundReasons = new Set(REASONS.filter((r) => r.type === 'REFUND').map((r) => r.code));
    // Validate everything first: the call is all or nothing.
    const plan: { o: SimOrder; l: SimLine; r: Record<string, unknown>; amount: number; shipping: number }[] = [];
    for (const r of body.refunds as unknown[]) {
      if (!isObj(r) || typeof r.order_line_id !== 'string')
        throw new MiraklError(400, 'order_line_id is required', 'VALIDATION_ERROR');
      const lineId = r.order_line_id;
      const o = [...this.orders.values()].find((x) => x.lines.some((l) => l.id === lineId));
      const l = o?.lines.find((x) => x.id === lineId);
      if (!o || !l) throw new MiraklError(400, `Order line ${lineId} not found`, 'ORDER_LINE_NOT_FOUND');
      if (typeof r.amount !== 'number' || typeof r.shipping_amount !== 'number') {
        throw new MiraklError(400, 'amount and shipping_amount are required', 'VALIDATION_ERROR');
      }
      if (typeof r.reason_code !== 'string' || !refundReasons.has(r.reason_code)) {
        throw new MiraklError(400, `Unknown refund reason code '${String(r.reason_code)}'`, 'VALIDATION_ERROR');
      }
      if (!['SHIPPING', 'SHIPPED', 'TO_COLLECT', 'RECEIVED', 'CLOSED'].includes(l.state)) {
        throw new MiraklError(
          400,
          `Order line ${lineId} cannot be refunded in state '${l.state}'`,
          'ORDER_LINE_INVALID_STATE',
        );
      }
      const amount = toMinor(r.amount, this.currency);
      const shipping = toMinor(r.shipping_amount, this.currency);
      const refunded = l.refunds.reduce((s, x) => s + toMinor(x.amount as number, this.currency), 0);
      const pending = plan.filter((p) => p.l === l).reduce((s, p) => s + p.amount, 0);
      if (amount < 0 || refunded + pending + amount > l.unitPriceMinor * l.quantity) {
        throw new MiraklError(
          400,
          `Refund amount for line ${lineId} exceeds the amount left to refund`,
          'REFUND_AMOUNT_INVALID',
        );
      }
      plan.push({ o, l, r, amount, shipping });
    }
    const at = this.iso();
    const out: Record<string, unknown>[] = [];
    const orderRefundIds = new Map<SimOrder, string>();
    for (const { o, l, r, amount, shipping } of plan) {
      const orderRefundId = orderRefundIds.get(o) ?? randomUUID();
      orderRefundIds.set(o, orderRefundId);
      const id = randomUUID();
      const qty = typeof r.quantity === 'number' ? r.quantity : 0;
      l.refunds.push({
        id,
        order_refund_id: orderRefundId,
        amount: this.money(amount),
        shipping_amount: this.money(shipping),
        quantity: qty,
        reason_code: r.reason_code,
        refund_state: 'REFUNDED',
        state: 'REFUNDED',
        created_date: at,
        commission_amount: 0,
        commission_tax_amount: 0,
        commission_taxes: [],
        commission_total_amount: 0,
        taxes: Array.isArray(r.taxes) ? r.taxes : [],
        shipping_taxes: Array.isArray(r.shipping_taxes) ? r.shipping_taxes : [],
      });
      if (r.excluded_from_shipment === true && qty > 0) {
        l.excludedQty = Math.min(l.quantity, l.excludedQty + qty);
        this.settleShipped(o, at);
      }
      const refundedTotal = l.refunds.reduce((s, x) => s + toMinor(x.amount as number, this.currency), 0);
      if (refundedTotal >= l.unitPriceMinor * l.quantity && l.state !== 'SHIPPING') l.state = 'REFUNDED';
      l.updatedAt = at;
      this.touch(o, at);
      out.push({
        order_line_id: l.id,
        refund_id: id,
        order_refund_id: orderRefundId,
        amount: this.money(amount),
        shipping_amount: this.money(shipping),
        quantity: qty,
        reason_code: r.reason_code,
        currency_iso_code: this.currency,
        excluded_from_shipment: r.excluded_from_shipment === true,
        taxes: Array.isArray(r.taxes) ? r.taxes : [],
        shipping_taxes: Array.isArray(r.shipping_taxes) ? r.shipping_taxes : [],
        fees: [],
      });
    }
    return { status: 200, body: { order_tax_mode: 'TAX_INCLUDED', refunds: out } };
  }

  /** Control: SHIPPED → RECEIVED → CLOSED. */
  advanceState(orderId: string, to: 'RECEIVED' | 'CLOSED'): Record<string, unknown> {
    const o = this.getOrder(orderId);
    const ok = to === 'RECEIVED' ? o.state === 'SHIPPED' : ['SHIPPED', 'RECEIVED'].includes(o.state);
    if (!ok) throw new MiraklError(400, `Cannot move order from ${o.state} to ${to}`, 'ORDER_INVALID_STATE');
    const at = this.iso();
    o.state = to;
    for (const l of o.lines) {
      if (['SHIPPED', 'RECEIVED'].includes(l.state)) {
        l.state = to;
        l.updatedAt = at;
        if (to === 'RECEIVED') l.receivedAt = at;
      }
    }
    this.touch(o, at);
    return this.wireOrder(o);
  }

  // ---- reference data ---------------------------------------------------------------------------------
  carriers(): OpResult {
    return {
      status: 200,
      body: {
        carriers: this.cfg.carriers.map((c) => ({
          code: c.code,
          label: c.label,
          ...(c.trackingUrl ? { tracking_url: c.trackingUrl } : {}),
        })),
      },
    };
  }

  reasons(): OpResult {
    return { status: 200, body: { reasons: REASONS, total_count: REASONS.length } };
  }

  platformConfiguration(): OpResult {
    return {
      status: 200,
      body: {
        platform_name: this.cfg.label ?? `${this.cfg.code} marketplace`,
        tenant_name: `${this.cfg.code}-sandbox`,
        timezone: 'Europe/London',
        features: {
          catalog: {
            allow_shop_contribution_to_all_channels: false,
            exclude_invalid_products: false,
            list_of_multiple_values_separator: '|',
            product_acceptance_by_channel: false,
            product_data_validation_by_channel: false,
            product_import_only_on_leaf: true,
          },
          circular_economy_data_collection: false,
          competitive_pricing_tool: false,
          direct_payment_customer_store: { activated: false, refund_cancel_authorized: false },
          disable_seller_alternative_carrier: false,
          dropship: { retail_pricing_enabled: false },
          kyc_status_per_seller: false,
          lead_time_to_ship_by_sellers_enabled: 'ENABLED',
          multi_currency: false,
          multi_payout_psp_per_seller: false,
          no_reply_needed: false,
          offer_prices_decimals: '2',
          operator_csv_delimiter: 'SEMICOLON',
          order_conditions: {
            lead_time_to_ship: true,
            maximum_order_quantity: false,
            minimum_order_quantity: false,
            package_order_quantity: false,
          },
          order_tax_mode: 'TAX_INCLUDED',
          order_workflows: {
            no_customer_payment_confirmation: false,
            order_acceptance: 'NOT_AUTOMATIC',
            pause_debit_workflow: false,
            pay_on_due_date: false,
            pay_on_shipment: false,
            sellers_edit_shipping_origin: false,
            shipping_and_billing_details_before_acceptance: !this.cfg.hideAddressesUntilAcceptance,
          },
          payment_confirmation: false,
          pricing: {
            channel_pricing: 'DISABLED',
            discount_period_required: false,
            discount_price_creation_in_the_past_blocked: false,
            scheduled_pricing: false,
            volume_discount: false,
            volume_pricing: false,
          },
          product_data_validation_by_channel: false,
          promotion: { cart_promotion_campaign: false, discount_campaign: false, seller_promotion: false },
          returns: { marketplace: false, drop_ship: false, one_creditor: false },
          shipment: { multi_part_item_shipment: false, multi_shipment: this.cfg.multiShipment },
          shop_tax_options: { tax_identification_number: { mandatory: false } },
          tax_collection: {
            activated: 'DISABLED',
            product_tax_code_mandatory: false,
            tax_collection_by_operator: false,
          },
          tax_id_number: { mandatory: false },
          warehouses: { geolocation: false, restricted_countries: [] },
        },
        modules: {
          mirakl_catalog_integrator: false,
          mirakl_catalog_manager: false,
          mirakl_catalog_transformer: false,
          mirakl_platform_services: false,
          offer_management: true,
          order_management: true,
          promotions: false,
          quotes: false,
          tax_manager: { activated: false, tax_provider: { avalara: false, vertex: false } },
        },
        platform_configuration: {
          customer_model: { b2b: false, b2c: true },
          enhanced_seller_invoicing: { enabled: false },
          platform_model: { drop_ship: false, marketplace: true, one_creditor: false },
        },
        // Not in the 2026 schema, kept for older clients: the partial-acceptance switch.
        partial_acceptance: this.cfg.partialAcceptance,
      },
    };
  }

  // ---- offers -----------------------------------------------------------------------------------------
  private wireOffer(o: SimOffer): Record<string, unknown> {
    const price = this.money(o.priceMinor);
    const pricing = { price, unit_origin_price: price, volume_prices: [] };
    return {
      offer_id: o.offerId,
      shop_sku: o.shopSku,
      product_sku: o.productSku,
      product_title: o.title,
      product_references: [{ reference: o.productId, reference_type: o.productIdType }],
      quantity: o.quantity,
      price,
      total_price: price,
      all_prices: [pricing],
      applicable_pricing: pricing,
      active: o.active && o.quantity > 0,
      inactivity_reasons: o.quantity > 0 ? [] : ['ZERO_QUANTITY'],
      state_code: o.stateCode,
      leadtime_to_ship: o.leadtimeToShip ?? this.cfg.leadtimeToShipDays,
      description: o.description,
      category_code: 'fashion',
      category_label: 'Fashion',
      channels: [],
      currency_iso_code: this.currency,
      fulfillment: { center: { code: 'DEFAULT' } },
      logistic_class: { code: 'STD', label: 'Standard' },
      max_order_quantity: 0,
      min_order_quantity: 0,
      min_quantity_alert: o.minQuantityAlert ?? 0,
      min_shipping_price: 0,
      min_shipping_price_additional: 0,
      min_shipping_type: 'STD',
      min_shipping_zone: 'UK',
      package_quantity: 1,
      shipping_deadline: this.iso(
        this.now() + this.scaled((o.leadtimeToShip ?? this.cfg.leadtimeToShipDays) * 86_400_000),
      ),
      warehouses: Object.entries(o.warehouses).map(([code, quantity]) => ({ code, quantity })),
      offer_additional_fields: [],
    };
  }

  listOffers(q: Record<string, unknown>): OpResult {
    const skus = csvList(q.sku);
    const states = csvList(q.offer_state_codes);
    const key = `${this.offersVersion}|${skus?.join(',') ?? ''}|${states?.join(',') ?? ''}`;
    // Sorted once per version of the offer list, not for every page (500 pages of 100 for 50,000 offers).
    // Quantities live on the offers themselves, so a cached order still answers today's stock.
    const list =
      this.listedCache?.key === key
        ? this.listedCache.list
        : [...this.offers.values()]
            .filter(
              (o) => !o.deleted && (!skus || skus.includes(o.shopSku)) && (!states || states.includes(o.stateCode)),
            )
            .sort((a, b) => a.priceMinor - b.priceMinor || a.offerId - b.offerId);
    this.listedCache = { key, list };
    const offset = Math.max(0, Number(q.offset ?? 0) || 0);
    const max = Math.min(100, Math.max(1, Number(q.max ?? 10) || 10));
    const paginate = String(q.paginate ?? 'true') !== 'false';
    const page = paginate ? list.slice(offset, offset + max) : list;
    return { status: 200, body: { offers: page.map((o) => this.wireOffer(o)), total_count: list.length } };
  }

  private recordStock(
    offer: SimOffer,
    quantity: number,
    source: StockSource,
    importId?: string,
    warehouseCode?: string,
  ) {
    this.stockHistory.push({ at: this.iso(), offerSku: offer.shopSku, quantity, source, importId, warehouseCode });
  }

  /** Control: set quantities directly (recorded as source 'control'). */
  setQuantities(items: { offerSku: string; quantity: number }[]): { updated: number; unknown: string[] } {
    const unknown: string[] = [];
    let updated = 0;
    for (const it of items) {
      const offer = this.offers.get(it.offerSku);
      if (!offer) {
        unknown.push(it.offerSku);
        continue;
      }
      offer.quantity = Math.max(0, Math.trunc(it.quantity));
      offer.updatedAt = this.iso();
      this.recordStock(offer, offer.quantity, 'control');
      updated++;
    }
    return { updated, unknown };
  }

  private newImport(kind: StockImport['kind']): StockImport {
    const now = this.now();
    const imp: StockImport = {
      id: String(++this.importSeq + (kind === 'OF24' ? 5000 : 0)),
      createdMs: now,
      createdAt: this.iso(now),
      kind,
      status: 'WAITING',
      rows: [],
      errors: [],
      success: 0,
      inserted: 0,
      updated: 0,
      deleted: 0,
    };
    this.imports.set(imp.id, imp);
    return imp;
  }

  stockImport(csv: string): OpResult {
    let rows: Record<string, string>[];
    try {
      rows = parseCsv(csv, { delimiter: ';', columns: true, bom: true, skip_empty_lines: true, trim: true });
    } catch (e) {
      throw new MiraklError(400, `The file is not a valid CSV: ${(e as Error).message}`, 'VALIDATION_ERROR');
    }
    if (rows.length > 0 && !('offer-sku' in rows[0]! && 'quantity' in rows[0]!)) {
      throw new MiraklError(400, 'The file must have the columns "offer-sku" and "quantity"', 'VALIDATION_ERROR');
    }
    const imp = this.newImport('STO01');
    imp.rows = rows;
    this.tick();
    return { status: 201, body: { import_id: imp.id } };
  }

  offerImport(body: unknown): OpResult {
    if (!isObj(body) || !Array.isArray(body.offers))
      throw new MiraklError(400, 'offers is required', 'VALIDATION_ERROR');
    const imp = this.newImport('OF24');
    imp.offers = body.offers as Record<string, unknown>[];
    this.tick();
    return { status: 201, body: { import_id: Number(imp.id) }, headers: { Location: `/api/offers/imports/${imp.id}` } };
  }

  private runImport(imp: StockImport) {
    if (imp.kind === 'STO01') {
      imp.rows.forEach((row, i) => {
        const sku = row['offer-sku'] ?? '';
        const offer = this.offers.get(sku);
        const qtyStr = row.quantity ?? '';
        const warehouse = row['warehouse-code'] || undefined;
        const mode = (row['update-delete'] ?? '').toLowerCase();
        if (!offer || offer.deleted)
          return imp.errors.push({ line: i + 2, message: `The offer with SKU '${sku}' does not exist`, row });
        if (mode === 'delete') {
          if (warehouse) delete offer.warehouses[warehouse];
          offer.quantity = warehouse ? Object.values(offer.warehouses).reduce((s, n) => s + n, 0) : 0;
        } else {
          if (!/^\d+$/.test(qtyStr))
            return imp.errors.push({ line: i + 2, message: `Invalid quantity '${qtyStr}'`, row });
          const qty = Number(qtyStr);
          if (warehouse) {
            offer.warehouses[warehouse] = qty;
            offer.quantity = Object.values(offer.warehouses).reduce((s, n) => s + n, 0);
          } else offer.quantity = qty;
        }
        offer.updatedAt = this.iso();
        this.recordStock(offer, offer.quantity, 'STO01', imp.id, warehouse);
        imp.success++;
        imp.updated++;
      });
    } else {
      (imp.offers ?? []).forEach((raw, i) => {
        const o = isObj(raw) ? raw : {};
        const sku = typeof o.shop_sku === 'string' ? o.shop_sku : '';
        const mode = typeof o.update_delete === 'string' ? o.update_delete.toLowerCase() : '';
        const existing = this.offers.get(sku);
        if (!sku) return imp.errors.push({ line: i + 1, message: 'shop_sku is required', row: o });
        if (mode === 'delete') {
          if (!existing || existing.deleted)
            return imp.errors.push({ line: i + 1, message: `The offer '${sku}' does not exist`, row: o });
          this.offersVersion++;
          existing.deleted = true;
          existing.quantity = 0;
          imp.deleted++;
          imp.success++;
          return;
        }
        if (typeof o.price !== 'number' || typeof o.state_code !== 'string') {
          return imp.errors.push({ line: i + 1, message: 'price and state_code are required', row: o });
        }
        if (
          (!existing || existing.deleted) &&
          (typeof o.product_id !== 'string' || typeof o.product_id_type !== 'string')
        ) {
          return imp.errors.push({
            line: i + 1,
            message: 'product_id and product_id_type are required to create an offer',
            row: o,
          });
        }
        const at = this.iso();
        // OF24 semantics: every field not sent goes back to its default. Quantity becomes 0.
        const quantity = typeof o.quantity === 'number' && o.quantity >= 0 ? Math.trunc(o.quantity) : 0;
        const offer: SimOffer = {
          offerId: existing?.offerId ?? ++this.offerSeq,
          shopSku: sku,
          productSku: existing?.productSku ?? `MKP-${String(o.product_id)}`,
          productId: typeof o.product_id === 'string' ? o.product_id : (existing?.productId ?? ''),
          productIdType: typeof o.product_id_type === 'string' ? o.product_id_type : (existing?.productIdType ?? 'SKU'),
          title: existing?.title ?? sku,
          priceMinor: toMinor(o.price, this.currency),
          quantity,
          warehouses: {},
          stateCode: o.state_code,
          leadtimeToShip: typeof o.leadtime_to_ship === 'number' ? o.leadtime_to_ship : undefined,
          description: typeof o.description === 'string' ? o.description : '',
          minQuantityAlert: typeof o.min_quantity_alert === 'number' ? o.min_quantity_alert : undefined,
          active: true,
          deleted: false,
          createdAt: existing?.createdAt ?? at,
          updatedAt: at,
        };
        this.offersVersion++;
        this.offers.set(sku, offer);
        this.recordStock(offer, quantity, 'OF24', imp.id);
        if (existing && !existing.deleted) imp.updated++;
        else imp.inserted++;
        imp.success++;
      });
    }
    imp.status = 'COMPLETE';
  }

  stockImportStatus(id: string): OpResult {
    const imp = this.imports.get(id);
    if (!imp || imp.kind !== 'STO01') throw new MiraklError(404, `Import ${id} not found`);
    return {
      status: 200,
      body: {
        import_id: imp.id,
        shop_id: this.shopId,
        status: imp.status,
        date_created: imp.createdAt,
        has_error_report: imp.errors.length > 0,
        lines_in_error: imp.errors.length,
        lines_in_success: imp.success,
      },
    };
  }

  stockImportErrorReport(id: string): OpResult {
    const imp = this.imports.get(id);
    if (!imp || imp.kind !== 'STO01') throw new MiraklError(404, `Import ${id} not found`);
    if (imp.status !== 'COMPLETE' || imp.errors.length === 0)
      throw new MiraklError(404, `Import ${id} has no error report`);
    const csv = stringifyCsv(
      imp.errors.map((e) => [
        String(e.row['offer-sku'] ?? ''),
        String(e.row.quantity ?? ''),
        String(e.row['warehouse-code'] ?? ''),
        String(e.row['update-delete'] ?? ''),
        String(e.line),
        e.message,
      ]),
      {
        delimiter: ';',
        header: true,
        quoted: true,
        columns: ['offer-sku', 'quantity', 'warehouse-code', 'update-delete', 'error-line', 'error-message'],
      },
    );
    return { status: 200, body: csv, headers: { 'content-type': 'text/csv; charset=utf-8' } };
  }

  offerImportStatus(id: string): OpResult {
    const imp = this.imports.get(id);
    if (!imp || imp.kind !== 'OF24') throw new MiraklError(404, `Import ${id} not found`);
    return {
      status: 200,
      body: {
        import_id: Number(imp.id),
        status: imp.status,
        date_created: imp.createdAt,
        has_error_report: imp.errors.length > 0,
        lines_read: imp.offers?.length ?? 0,
        lines_in_success: imp.success,
        lines_in_error: imp.errors.length,
        lines_in_pending: imp.status === 'COMPLETE' ? 0 : (imp.offers?.length ?? 0),
        offer_inserted: imp.inserted,
        offer_updated: imp.updated,
        offer_deleted: imp.deleted,
        mode: 'NORMAL',
        shop_id: this.shopId,
      },
    };
  }

  offerImportErrors(id: string): OpResult {
    const imp = this.imports.get(id);
    if (!imp || imp.kind !== 'OF24') throw new MiraklError(404, `Import ${id} not found`);
    const csv = stringifyCsv(
      imp.errors.map((e) => [String(e.row.shop_sku ?? ''), String(e.line), e.message]),
      { delimiter: ';', header: true, quoted: true, columns: ['shop-sku', 'error-line', 'error-message'] },
    );
    return { status: 200, body: csv, headers: { 'content-type': 'text/csv; charset=utf-8' } };
  }

  /**
   * Control: replace the shop's whole offer catalogue (the catalogue audit's 5,000-SKU scenarios). Offers not
   * listed are deleted (kept as deleted, like Mirakl: a differential OF52 export reports them); `active:false`
   * is an offer deactivated on the platform (it stays inactive whatever its quantity).
   */
  replaceOffers(
    list: Array<{ offerSku: string; quantity: number; active?: boolean; priceMinor?: number; title?: string }>,
  ) {
    const at = this.iso();
    const keep = new Set(list.map((o) => o.offerSku));
    for (const o of this.offers.values()) {
      if (!keep.has(o.shopSku) && !o.deleted) {
        this.offersVersion++;
        o.deleted = true;
        o.updatedAt = at;
      }
    }
    for (const it of list) {
      const existing = this.offers.get(it.offerSku);
      const quantity = Math.max(0, Math.trunc(it.quantity));
      if (existing) {
        this.offersVersion++;
        Object.assign(existing, {
          quantity,
          active: it.active ?? true,
          deleted: false,
          priceMinor: it.priceMinor ?? existing.priceMinor,
          title: it.title ?? existing.title,
          updatedAt: at,
        });
      } else {
        const n = ++this.offerSeq;
        this.offersVersion++;
        this.offers.set(it.offerSku, {
          offerId: n,
          shopSku: it.offerSku,
          productSku: `MKP-${n}`,
          productId: String(5_100_000_000_000 + n),
          productIdType: 'EAN',
          title: it.title ?? it.offerSku,
          priceMinor: it.priceMinor ?? 1000,
          quantity,
          warehouses: {},
          stateCode: '11',
          description: '',
          active: it.active ?? true,
          deleted: false,
          createdAt: at,
          updatedAt: at,
        });
      }
    }
    return { offers: [...this.offers.values()].filter((o) => !o.deleted).length };
  }

  // ---- OF52/53/54 -------------------------------------------------------------------------------------
  startOfferExport(body: unknown): OpResult {
    const b = isObj(body) ? body : {};
    const exportType = typeof b.export_type === 'string' ? b.export_type : 'application/json';
    if (!['application/json', 'text/csv'].includes(exportType)) {
      throw new MiraklError(400, `Unsupported export_type '${exportType}'`, 'VALIDATION_ERROR');
    }
    const since = parseDate(b.last_request_date);
    const includeInactive = b.include_inactive_offers === true || since !== undefined;
    const perChunk = Math.max(1, Math.min(100_000, Number(b.items_per_chunk ?? 10_000) || 10_000));
    const rows = [...this.offers.values()]
      .filter(
        (o) =>
          (since === undefined || Date.parse(o.updatedAt) >= since) &&
          (includeInactive || (!o.deleted && o.active && o.quantity > 0)),
      )
      .map((o) => ({
        offer_id: o.offerId,
        shop_sku: o.shopSku,
        product_sku: o.productSku,
        shop_id: this.shopId,
        quantity: o.quantity,
        // Like OF21: an offer is active when it is not deleted, not deactivated, and has stock.
        active: !o.deleted && o.active && o.quantity > 0,
        deleted: o.deleted,
        state_code: o.stateCode,
        currency_iso_code: this.currency,
        leadtime_to_ship: o.leadtimeToShip ?? this.cfg.leadtimeToShipDays,
        description: o.description,
        prices: [{ origin_price: this.money(o.priceMinor) }],
        warehouses: Object.keys(o.warehouses).map((code) => ({ code })),
        date_created: o.createdAt,
        last_updated: o.updatedAt,
      }));
    const chunks: Record<string, unknown>[][] = [];
    for (let i = 0; i < rows.length; i += perChunk) chunks.push(rows.slice(i, i + perChunk));
    if (chunks.length === 0) chunks.push([]);
    const exp: OfferExport = { id: randomUUID(), createdAt: this.iso(), exportType, chunks };
    this.exports.set(exp.id, exp);
    return { status: 200, body: { tracking_id: exp.id } };
  }

  offerExportStatus(trackingId: string, baseUrl: string): OpResult {
    const exp = this.exports.get(trackingId);
    if (!exp) throw new MiraklError(404, `Export ${trackingId} not found`);
    return {
      status: 200,
      body: {
        status: 'COMPLETED',
        last_updated: exp.createdAt,
        urls: exp.chunks.map((_, i) => `${baseUrl}/api/offers/export/async/file/${exp.id}/${i}`),
      },
    };
  }

  offerExportChunk(trackingId: string, chunk: number): OpResult {
    const exp = this.exports.get(trackingId);
    const rows = exp?.chunks[chunk];
    if (!exp || !rows) throw new MiraklError(404, 'Export file not found');
    if (exp.exportType === 'text/csv') {
      const csv = stringifyCsv(
        rows.map((r) =>
          [r.offer_id, r.shop_sku, r.product_sku, r.quantity, r.active, r.deleted, r.state_code, r.last_updated].map(
            String,
          ),
        ),
        {
          delimiter: ';',
          header: true,
          columns: [
            'offer-id',
            'shop-sku',
            'product-sku',
            'quantity',
            'active',
            'deleted',
            'state-code',
            'last-updated',
          ],
        },
      );
      return { status: 200, body: csv, headers: { 'content-type': 'text/csv; charset=utf-8' } };
    }
    return { status: 200, body: rows };
  }

  // ---- control views ----------------------------------------------------------------------------------
  controlOrder(id: string): Record<string, unknown> {
    const o = this.getOrder(id);
    return {
      ...this.wireOrder(o),
      _sandbox: {
        shipments: o.shipments.map((s) => this.wireShipment(s)),
        acceptDecisions: o.decisions,
        tracking: o.tracking ?? null,
        shipMode: o.shipMode ?? null,
        acceptanceDeadline: this.iso(o.acceptanceDeadlineMs),
        shippingAddress: o.shippingAddress,
        remainingToShip: Object.fromEntries(o.lines.map((l) => [l.id, this.remainingToShip(o, l)])),
      },
    };
  }

  summary(): Record<string, unknown> {
    const byState: Record<string, number> = {};
    for (const o of this.orders.values()) byState[o.state] = (byState[o.state] ?? 0) + 1;
    return {
      channel: this.cfg.code,
      shopId: this.shopId,
      now: this.iso(),
      clockOffsetMs: this.clockOffsetMs,
      orders: this.orders.size,
      ordersByState: byState,
      shipments: [...this.orders.values()].reduce((s, o) => s + o.shipments.length, 0),
      offers: [...this.offers.values()].filter((o) => !o.deleted).length,
      stockUpdates: this.stockHistory.length,
      oversells: this.oversells.length,
      imports: [...this.imports.values()].map((i) => ({
        id: i.id,
        kind: i.kind,
        status: i.status,
        errors: i.errors.length,
      })),
    };
  }
}
