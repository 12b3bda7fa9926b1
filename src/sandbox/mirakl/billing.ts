// Simulated Mirakl accounting for one shop: billing cycles (SBC11) and their transaction logs (TL02), on the
// wire format of mirakl-seller-openapi.json, generated from the shop's own orders by the control API
// (POST /control/mirakl/<channel>/billing-cycles, docs/sandbox/mirakl.md "Billing cycles"). A seed can add
// refunds, fee rows, rows for orders the shop never had, and anomalies (a row's amount moved by N minor
// units), so a reconciliation test knows exactly which differences it planted.
import { randomUUID } from 'node:crypto';
import { toDecimalNumber, toMinor } from '../../domain/money';
import { MiraklError, type MiraklShop, type OpResult } from './shop';

export interface CycleSeed {
  cycleId?: string;
  payOutState?: 'TO_PAY' | 'PAID' | 'FAILED';
  /** Orders to bill (any state). Default: the shop's debited orders no earlier cycle billed. */
  orderIds?: string[];
  /** Refunds billed in this cycle, beyond the OR28 refunds already on the orders. */
  refunds?: Array<{ lineId: string; amountMinor: number; shippingMinor?: number }>;
  /** OR28 refunds on the orders that this cycle leaves out (the operator has not billed them yet). */
  unbilledRefundIds?: string[];
  /** Anomalies: the row of `type` on `lineId` is moved by deltaMinor (seller side, signed). */
  adjustments?: Array<{ lineId: string; type: string; deltaMinor: number }>;
  /** Rows the shop's orders do not explain: fees, credits, or lines of orders the shop never had. */
  extraRows?: Array<{ type: string; amountMinor: number; orderId?: string; lineId?: string; feeCode?: string }>;
  /** amount_transferred_to_seller = Σ rows + this (a payout that does not add up). */
  transferredDeltaMinor?: number;
  /** Commission refunded with a refund, as a percentage of it (default 15, VAT 20: the shop's rates). */
  commissionRatePercent?: number;
  commissionVatPercent?: number;
}

interface SimRow {
  id: string;
  type: string;
  amountMinor: number;
  orderId?: string;
  commercialId?: string;
  lineId?: string;
  refundId?: string;
  feeCode?: string;
  createdMs: number;
}

interface SimCycle {
  id: string;
  createdMs: number;
  currency: string;
  payOutState: 'TO_PAY' | 'PAID' | 'FAILED';
  voucher: string;
  rows: SimRow[];
  transferredDeltaMinor: number;
  orderIds: string[];
}

const BILLABLE_STATES = new Set(['SHIPPING', 'SHIPPED', 'TO_COLLECT', 'RECEIVED', 'CLOSED', 'REFUNDED']);
const TL02_MAX_LIMIT = 2000;
const SBC11_MAX_LIMIT = 1000;

function csvList(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const out = (Array.isArray(v) ? v : [v])
    .flatMap((x) => String(x).split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return out.length ? out : undefined;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const pct = (minor: number, percent: number) => Math.round((minor * percent) / 100);

/** A seek page token carries the query, so "other params are then ignored" holds. */
function encodeToken(q: Record<string, unknown>, offset: number): string {
  return Buffer.from(JSON.stringify({ q, offset })).toString('base64url');
}
function decodeToken(token: string): { q: Record<string, unknown>; offset: number } {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString()) as { q: Record<string, unknown>; offset: number };
    if (!isObj(v.q) || typeof v.offset !== 'number') throw new Error('shape');
    return v;
  } catch {
    throw new MiraklError(400, 'Invalid page_token', 'VALIDATION_ERROR');
  }
}

function limitOf(q: Record<string, unknown>, def: number, max: number): number {
  if (q.limit === undefined || q.limit === '') return def;
  const n = Number(q.limit);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new MiraklError(400, `limit must be between 1 and ${max}`, 'VALIDATION_ERROR');
  return n;
}

export class MiraklBilling {
  readonly cycles = new Map<string, SimCycle>();
  private voucherSeq = 0;

  constructor(private readonly shop: MiraklShop) {}

  private money(minor: number): number {
    return toDecimalNumber(minor, this.shop.currency);
  }

  /** Control API: bills orders into a new cycle. */
  seedCycle(seed: CycleSeed): Record<string, unknown> {
    const shop = this.shop;
    const id = seed.cycleId ?? randomUUID();
    if (id.length !== 36) throw new MiraklError(400, 'cycleId must be 36 characters (a UUID)', 'VALIDATION_ERROR');
    if (this.cycles.has(id)) throw new MiraklError(409, `Billing cycle ${id} already exists`);
    const billed = new Set([...this.cycles.values()].flatMap((c) => c.orderIds));
    const orderIds =
      seed.orderIds ??
      [...shop.orders.values()].filter((o) => BILLABLE_STATES.has(o.state) && !billed.has(o.id)).map((o) => o.id);
    const rate = seed.commissionRatePercent ?? 15;
    const vat = seed.commissionVatPercent ?? 20;
    const cur = shop.currency;
    const createdMs = shop.now();
    const rows: SimRow[] = [];
    const add = (r: Omit<SimRow, 'id' | 'createdMs'>) => {
      if (r.amountMinor === 0) return;
      rows.push({ ...r, id: randomUUID(), createdMs: createdMs + rows.length });
    };
    const extraRefunds = new Map<string, Array<{ amountMinor: number; shippingMinor?: number }>>();
    for (const r of seed.refunds ?? []) extraRefunds.set(r.lineId, [...(extraRefunds.get(r.lineId) ?? []), r]);

    for (const orderId of orderIds) {
      const o = shop.orders.get(orderId);
      if (!o) throw new MiraklError(404, `Order with id '${orderId}' not found`, 'ORDER_NOT_FOUND');
      const wire = shop.wireOrder(o);
      const commercialId = String(wire.commercial_id ?? '');
      for (const line of (wire.order_lines ?? []) as Array<Record<string, unknown>>) {
        const lineId = String(line.order_line_id);
        const at = { orderId, commercialId, lineId };
        add({ ...at, type: 'ORDER_AMOUNT', amountMinor: toMinor(line.price as number, cur) });
        add({ ...at, type: 'ORDER_SHIPPING_AMOUNT', amountMinor: toMinor(line.shipping_price as number, cur) });
        add({ ...at, type: 'COMMISSION_FEE', amountMinor: -toMinor(line.commission_fee as number, cur) });
        add({ ...at, type: 'COMMISSION_VAT', amountMinor: -toMinor(line.commission_vat as number, cur) });
        const unbilled = new Set(seed.unbilledRefundIds ?? []);
        const refunds = [
          ...((line.refunds ?? []) as Array<Record<string, unknown>>)
            .filter((r) => !unbilled.has(String(r.id)))
            .map((r) => ({
              refundId: String(r.id ?? randomUUID()),
              amountMinor: toMinor((r.amount as number) ?? 0, cur),
              shippingMinor: toMinor((r.shipping_amount as number) ?? 0, cur),
            })),
          ...(extraRefunds.get(lineId) ?? []).map((r) => ({
            refundId: randomUUID(),
            amountMinor: r.amountMinor,
            shippingMinor: r.shippingMinor ?? 0,
          })),
        ];
        for (const r of refunds) {
          const fee = pct(r.amountMinor, rate);
          const ref = { ...at, refundId: r.refundId };
          add({ ...ref, type: 'REFUND_ORDER_AMOUNT', amountMinor: -r.amountMinor });
          add({ ...ref, type: 'REFUND_ORDER_SHIPPING_AMOUNT', amountMinor: -r.shippingMinor });
          add({ ...ref, type: 'REFUND_COMMISSION_FEE', amountMinor: fee });
          add({ ...ref, type: 'REFUND_COMMISSION_VAT', amountMinor: pct(fee, vat) });
        }
      }
    }
    for (const a of seed.adjustments ?? []) {
      const row = rows.find((r) => r.lineId === a.lineId && r.type === a.type);
      if (!row) throw new MiraklError(400, `No ${a.type} row for line ${a.lineId} to adjust`, 'VALIDATION_ERROR');
      row.amountMinor += a.deltaMinor;
    }
    for (const x of seed.extraRows ?? []) add({ ...x });
    const cycle: SimCycle = {
      id,
      createdMs,
      currency: cur,
      payOutState: seed.payOutState ?? 'TO_PAY',
      voucher: String(++this.voucherSeq).padStart(6, '0'),
      rows,
      transferredDeltaMinor: seed.transferredDeltaMinor ?? 0,
      orderIds,
    };
    this.cycles.set(id, cycle);
    return { ...this.wireCycle(cycle), _sandbox: { rows: rows.length, orders: orderIds.length } };
  }

  private wireCycle(c: SimCycle): Record<string, unknown> {
    const sum = (types: string[]) =>
      c.rows.filter((r) => types.includes(r.type)).reduce((n, r) => n + r.amountMinor, 0);
    const all = c.rows.reduce((n, r) => n + r.amountMinor, 0);
    const orders = sum(['ORDER_AMOUNT', 'ORDER_SHIPPING_AMOUNT', 'ORDER_AMOUNT_TAX', 'ORDER_SHIPPING_AMOUNT_TAX']);
    const commissionsExcl = sum(['COMMISSION_FEE']);
    const commissionsIncl = sum(['COMMISSION_FEE', 'COMMISSION_VAT']);
    const refundOrders = sum(['REFUND_ORDER_AMOUNT', 'REFUND_ORDER_SHIPPING_AMOUNT']);
    const refundCommExcl = sum(['REFUND_COMMISSION_FEE']);
    const refundCommIncl = sum(['REFUND_COMMISSION_FEE', 'REFUND_COMMISSION_VAT']);
    const subscriptionExcl = sum(['SUBSCRIPTION_FEE']);
    const subscriptionIncl = sum(['SUBSCRIPTION_FEE', 'SUBSCRIPTION_VAT']);
    const paid = c.payOutState === 'PAID';
    return {
      id: c.id,
      currency_iso_code: c.currency,
      date_created: this.shop.iso(c.createdMs),
      amount_transferred_to_seller: this.money(all + c.transferredDeltaMinor),
      amount_transferred_to_operator: this.money(-(commissionsIncl + refundCommIncl + subscriptionIncl)),
      payment_voucher_number: c.voucher,
      pay_out_psp_code: 'NOT_SPECIFIED',
      pay_out: {
        state: c.payOutState,
        ...(paid ? { reference: `PAYOUT-${c.voucher}`, transaction_date: this.shop.iso(c.createdMs) } : {}),
        ...(c.payOutState === 'FAILED' ? { failure_reason: 'Bank account rejected the transfer' } : {}),
      },
      shop: { shop_id: this.shop.shopId, shop_name: this.shop.cfg.label ?? this.shop.cfg.code },
      summary: {
        total_payable_orders_excl_tax: this.money(orders),
        total_payable_orders_incl_tax: this.money(orders),
        total_commissions_excl_tax: this.money(commissionsExcl),
        total_commissions_incl_tax: this.money(commissionsIncl),
        total_refund_orders_excl_tax: this.money(refundOrders),
        total_refund_orders_incl_tax: this.money(refundOrders),
        total_refund_payable_orders_excl_tax: this.money(refundOrders),
        total_refund_payable_orders_incl_tax: this.money(refundOrders),
        total_refund_commissions_excl_tax: this.money(refundCommExcl),
        total_refund_commissions_incl_tax: this.money(refundCommIncl),
        total_subscription_excl_tax: this.money(subscriptionExcl),
        total_subscription_incl_tax: this.money(subscriptionIncl),
      },
    };
  }

  private wireRow(c: SimCycle, r: SimRow, balanceMinor: number): Record<string, unknown> {
    const at = this.shop.iso(r.createdMs);
    const entities: Record<string, unknown> = {};
    if (r.orderId) entities.order = { id: r.orderId, commercial_id: r.commercialId ?? r.orderId };
    if (r.lineId) entities.order_line = { id: r.lineId };
    if (r.refundId) entities.refund = { id: r.refundId };
    if (r.feeCode) entities.fee = { code: r.feeCode };
    return {
      id: r.id,
      type: r.type,
      amount: this.money(r.amountMinor),
      amount_credited: this.money(Math.max(0, r.amountMinor)),
      amount_debited: this.money(Math.max(0, -r.amountMinor)),
      balance: this.money(balanceMinor),
      currency_iso_code: c.currency,
      date_created: at,
      last_updated: at,
      payment_state: c.payOutState === 'PAID' ? 'PAID' : 'PAYABLE',
      seller_billing_cycle_id: c.id,
      payment_voucher_number: c.voucher,
      pay_out_psp_code: 'NOT_SPECIFIED',
      ...(r.type.includes('COMMISSION') ? { accounting_document_number: `INV-${c.voucher}` } : {}),
      entities,
    };
  }

  /** SBC11. */
  listCycles(query: Record<string, unknown>): OpResult {
    const { q, offset } = query.page_token
      ? decodeToken(String(query.page_token))
      : { q: { ...query, page_token: undefined, shop_id: undefined }, offset: 0 };
    const ids = csvList(q.id);
    if (ids && ids.length > 100) throw new MiraklError(400, 'id: at most 100 values', 'VALIDATION_ERROR');
    const states = csvList(q.pay_out_state) ?? ['TO_PAY', 'FAILED', 'PAID'];
    const currencies = csvList(q.currency);
    const start = q.start_date ? Date.parse(String(q.start_date)) : undefined;
    const end = q.end_date ? Date.parse(String(q.end_date)) : undefined;
    if (Number.isNaN(start) || Number.isNaN(end)) throw new MiraklError(400, 'Invalid date', 'VALIDATION_ERROR');
    const limit = limitOf(q, 10, SBC11_MAX_LIMIT);
    const list = [...this.cycles.values()]
      .filter(
        (c) =>
          (!ids || ids.includes(c.id)) &&
          states.includes(c.payOutState) &&
          (!currencies || currencies.includes(c.currency)) &&
          (start === undefined || c.createdMs >= start) &&
          (end === undefined || c.createdMs <= end),
      )
      .sort((a, b) => b.createdMs - a.createdMs || a.id.localeCompare(b.id));
    const page = list.slice(offset, offset + limit);
    const body: Record<string, unknown> = { data: page.map((c) => this.wireCycle(c)) };
    if (offset + limit < list.length) body.next_page_token = encodeToken(q, offset + limit);
    if (offset > 0) body.previous_page_token = encodeToken(q, Math.max(0, offset - limit));
    return { status: 200, body };
  }

  /** TL02. */
  listTransactions(query: Record<string, unknown>): OpResult {
    const { q, offset } = query.page_token
      ? decodeToken(String(query.page_token))
      : { q: { ...query, page_token: undefined, shop_id: undefined }, offset: 0 };
    const cycleIds = csvList(q.seller_billing_cycle_id);
    if (cycleIds && cycleIds.length > 100)
      throw new MiraklError(400, 'seller_billing_cycle_id: at most 100 values', 'VALIDATION_ERROR');
    const orderIds = csvList(q.order_id);
    const lineIds = csvList(q.order_line_id);
    const types = csvList(q.transaction_type);
    const states = csvList(q.payment_state);
    const limit = limitOf(q, 10, TL02_MAX_LIMIT);
    const [sortField = 'dateCreated', dir = 'DESC'] = String(q.sort ?? 'dateCreated,DESC').split(',');
    if (!['dateCreated', 'lastUpdated'].includes(sortField) || !['ASC', 'DESC'].includes(dir.toUpperCase()))
      throw new MiraklError(400, `Invalid sort '${String(q.sort)}'`, 'VALIDATION_ERROR');
    const out: Array<{ c: SimCycle; r: SimRow; balance: number }> = [];
    const cycles = [...this.cycles.values()].sort((a, b) => a.createdMs - b.createdMs);
    let balance = 0;
    for (const c of cycles) {
      for (const r of c.rows) {
        balance += r.amountMinor;
        if (cycleIds && !cycleIds.includes(c.id)) continue;
        if (orderIds && !(r.orderId && orderIds.includes(r.orderId))) continue;
        if (lineIds && !(r.lineId && lineIds.includes(r.lineId))) continue;
        if (types && !types.includes(r.type)) continue;
        if (states && !states.includes(c.payOutState === 'PAID' ? 'PAID' : 'PAYABLE')) continue;
        out.push({ c, r, balance });
      }
    }
    if (dir.toUpperCase() === 'DESC') out.reverse();
    const page = out.slice(offset, offset + limit);
    const body: Record<string, unknown> = { data: page.map((x) => this.wireRow(x.c, x.r, x.balance)) };
    if (offset + limit < out.length) body.next_page_token = encodeToken(q, offset + limit);
    if (offset > 0) body.previous_page_token = encodeToken(q, Math.max(0, offset - limit));
    return { status: 200, body };
  }

  /** Control view: cycles with their row counts. */
  controlCycles(): Array<Record<string, unknown>> {
    return [...this.cycles.values()].map((c) => ({ ...this.wireCycle(c), _sandbox: { rows: c.rows.length } }));
  }
}

const ledgers = new WeakMap<MiraklShop, MiraklBilling>();

/** The shop's accounting (created on first use). */
export function billingOf(shop: MiraklShop): MiraklBilling {
  let b = ledgers.get(shop);
  if (!b) {
    b = new MiraklBilling(shop);
    ledgers.set(shop, b);
  }
  return b;
}

/** Validates a POST /control/mirakl/<channel>/billing-cycles body. */
export function parseCycleSeed(body: unknown): CycleSeed {
  const raw: unknown = body ?? {};
  if (!isObj(raw)) throw new MiraklError(400, 'body must be an object', 'VALIDATION_ERROR');
  const seed = raw as CycleSeed;
  const ints = (xs: unknown[] | undefined, field: string, keys: string[]) => {
    for (const x of xs ?? []) {
      if (!isObj(x)) throw new MiraklError(400, `${field}: objects expected`, 'VALIDATION_ERROR');
      for (const k of keys)
        if (x[k] !== undefined && !Number.isInteger(x[k]))
          throw new MiraklError(400, `${field}.${k} must be an integer (minor units)`, 'VALIDATION_ERROR');
    }
  };
  if (seed.orderIds !== undefined && !Array.isArray(seed.orderIds))
    throw new MiraklError(400, 'orderIds must be an array', 'VALIDATION_ERROR');
  if (
    seed.unbilledRefundIds !== undefined &&
    (!Array.isArray(seed.unbilledRefundIds) || !seed.unbilledRefundIds.every((x) => typeof x === 'string'))
  )
    throw new MiraklError(400, 'unbilledRefundIds must be an array of refund ids', 'VALIDATION_ERROR');
  ints(seed.refunds, 'refunds', ['amountMinor', 'shippingMinor']);
  ints(seed.adjustments, 'adjustments', ['deltaMinor']);
  ints(seed.extraRows, 'extraRows', ['amountMinor']);
  if (seed.transferredDeltaMinor !== undefined && !Number.isInteger(seed.transferredDeltaMinor))
    throw new MiraklError(400, 'transferredDeltaMinor must be an integer', 'VALIDATION_ERROR');
  return seed;
}
