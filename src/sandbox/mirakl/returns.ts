// Mirakl returns (RT01, RT04, RT11, RT12, RT21, RT25, RT26, RT27, RT29) for one simulated shop, on the wire
// format of Mirakl's seller OpenAPI (mirakl-seller-openapi.json, tag Returns), plus the control side: a
// customer opening a return on a shipped order, and the operator's moves (no reception).
//
// State machine (the OpenAPI's `state` enum; transitions as the operations' names and Mirakl's return concept
// page describe them — the page itself is not in the spec, so the exact rules are ours):
//   WAITING_ACCEPTANCE --RT21 accepted--> IN_PROGRESS --RT25--> RECEIVED --RT26 (per line)--> RT27 --> CLOSED
//   WAITING_ACCEPTANCE --RT21 refused---> REFUSED
//   WAITING_ACCEPTANCE | IN_PROGRESS --RT29--> CANCELED
//   IN_PROGRESS --control no-reception--> NO_RECEPTION --RT27--> CLOSED
// Writes answer 200 with `return_success[]` / `return_errors[]` (a return in the wrong state is an entry in
// `return_errors`, never an HTTP error); a malformed body is a 400.
import { randomUUID } from 'node:crypto';
import { MiraklError, type MiraklShop, type OpResult } from './shop';

export const RETURN_STATES = [
  'WAITING_ACCEPTANCE',
  'IN_PROGRESS',
  'REFUSED',
  'RECEIVED',
  'NO_RECEPTION',
  'CLOSED',
  'CANCELED',
] as const;
export type ReturnState = (typeof RETURN_STATES)[number];

/** RT11 `reason_code` enum (19 values). New values must be tolerated by clients; the simulator takes any. */
export const RETURN_REASONS = [
  'RETURN_BROKEN_ITEM',
  'RETURN_CHANGED_MIND',
  'RETURN_COUNTERFEIT_ITEM',
  'RETURN_DAMAGED_PACKAGING',
  'RETURN_DEFECTIVE_ITEM',
  'RETURN_DELIVERED_PRODUCT_DIFFERENT',
  'RETURN_MISSING_ITEM',
  'RETURN_OTHER',
  'RETURN_CM_DONT_WANT',
  'RETURN_CM_DONT_LIKE',
  'RETURN_CM_QUALITY',
  'RETURN_DPD_WRONG_SIZE',
  'RETURN_DPD_WRONG_COLOR',
  'RETURN_DEFECTIVE_ON_ARRIVAL',
  'RETURN_PRODUCT_DOES_NOT_FIT',
  'RETURN_PDNT_TOO_BIG',
  'RETURN_PDNT_TOO_SMALL',
  'RETURN_INACCURATE_ITEM_DESCRIPTION',
  'RETURN_WARRANTY',
] as const;
export const RETURN_METHODS = [
  'RETURN_METHOD_BY_MAIL',
  'RETURN_METHOD_DROP_OFF_POINT',
  'RETURN_METHOD_HOME_PICKUP',
  'RETURN_METHOD_IN_STORE',
  'RETURN_METHOD_RETURNLESS',
] as const;
export const REJECTION_REASONS = [
  'RETURN_REJECTION_NOT_ELIGIBLE',
  'RETURN_REJECTION_NOT_NEEDED',
  'RETURN_REJECTION_WINDOW_CLOSED',
] as const;
export const NON_COMPLIANCE_REASONS = [
  'RETURN_NON_COMPLIANT_MISSING_ITEM',
  'RETURN_NON_COMPLIANT_WRONG_PRODUCT',
  'RETURN_NON_COMPLIANT_DAMAGED_PRODUCT',
  'RETURN_NON_COMPLIANT_WINDOW_CLOSED',
  'RETURN_NON_COMPLIANT_OTHER',
] as const;

interface SimReturnLine {
  order_line_id: string;
  quantity: number;
  reason_code: string;
  compliance?: { compliant: boolean; non_compliance_reason_code?: string; non_compliance_additional_info?: string };
}

export interface SimReturn {
  id: string;
  orderId: string;
  commercialId: string;
  state: ReturnState;
  methodCode: string;
  reasonCode?: string;
  rejectionReasonCode?: string;
  rma?: string;
  labelUrl?: string;
  description?: string;
  tracking?: Record<string, string>;
  returnAddress: Record<string, string>;
  lines: SimReturnLine[];
  createdMs: number;
  updatedMs: number;
}

/** Lines a customer asks to return (control API): by order line id or offer SKU. */
export interface CustomerReturnSpec {
  orderId: string;
  /** Fixed id (tests); otherwise a UUID. */
  id?: string;
  lines: Array<{ lineId?: string; offerSku?: string; quantity: number; reason?: string }>;
  reason?: string;
  method?: string;
  /** Default WAITING_ACCEPTANCE (the seller decides); IN_PROGRESS for operator-accepted returns. */
  state?: 'WAITING_ACCEPTANCE' | 'IN_PROGRESS';
  /** Skip the checks a real platform makes (a line that is not on the order, more units than shipped …). */
  unchecked?: boolean;
  /** Override the wire return on every read (like orders' overrides); wire-only. */
  overrides?: Record<string, unknown>;
}

const ACTIVE: ReadonlySet<ReturnState> = new Set(['WAITING_ACCEPTANCE', 'IN_PROGRESS', 'RECEIVED', 'NO_RECEPTION']);
const SHIPPED_LINE_STATES = new Set(['SHIPPED', 'TO_COLLECT', 'RECEIVED', 'CLOSED', 'REFUNDED']);
const DEFAULT_RETURN_WINDOW_DAYS = 30;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const out = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((s) => s.trim());
  return out.filter(Boolean).length ? out.filter(Boolean) : undefined;
}

function token(offset: number): string {
  return Buffer.from(`offset=${offset}`).toString('base64url');
}
function untoken(t: string): number {
  const m = /^offset=(\d+)$/.exec(Buffer.from(t, 'base64url').toString());
  if (!m) throw new MiraklError(400, 'Invalid page_token', 'VALIDATION_ERROR');
  return Number(m[1]);
}

export class MiraklReturns {
  readonly returns = new Map<string, SimReturn>();
  private overrides = new Map<string, Record<string, unknown>>();
  /** RT12 return_window (days). */
  returnWindowDays = DEFAULT_RETURN_WINDOW_DAYS;

  constructor(private readonly shop: MiraklShop) {}

  // ---- what the order allows --------------------------------------------------------------------------
  /** Units of each order line shipped to the customer (shipments when the order has them, else line state). */
  shippedPerLine(orderId: string): Map<string, { shipped: number; offerSku: string; state: string }> {
    const o = this.shop.controlOrder(orderId) as {
      order_lines: Array<{ order_line_id: string; quantity: number; order_line_state: string; offer_sku: string }>;
      _sandbox: {
        shipments: Array<{ status: string; shipment_lines: Array<{ order_line_id: string; quantity: number }> }>;
      };
    };
    const fromShipments = new Map<string, number>();
    for (const s of o._sandbox.shipments)
      if (s.status === 'SHIPPED')
        for (const l of s.shipment_lines)
          fromShipments.set(l.order_line_id, (fromShipments.get(l.order_line_id) ?? 0) + l.quantity);
    const out = new Map<string, { shipped: number; offerSku: string; state: string }>();
    for (const l of o.order_lines) {
      const shipped =
        o._sandbox.shipments.length > 0
          ? (fromShipments.get(l.order_line_id) ?? 0)
          : SHIPPED_LINE_STATES.has(l.order_line_state)
            ? l.quantity
            : 0;
      out.set(l.order_line_id, { shipped, offerSku: l.offer_sku, state: l.order_line_state });
    }
    return out;
  }

  /** Units of a line already in a return that is not refused or cancelled. */
  private inReturns(lineId: string, except?: string): number {
    let n = 0;
    for (const r of this.returns.values()) {
      if (r.id === except || r.state === 'REFUSED' || r.state === 'CANCELED') continue;
      for (const l of r.lines) if (l.order_line_id === lineId) n += l.quantity;
    }
    return n;
  }

  private orderByCommercialId(commercialId: string): string | undefined {
    for (const o of this.shop.orders.values())
      if (o.commercialId === commercialId || o.id === commercialId) return o.id;
    return undefined;
  }

  private checkLines(orderId: string, lines: SimReturnLine[]): string | undefined {
    const shipped = this.shippedPerLine(orderId);
    const want = new Map<string, number>();
    for (const l of lines) {
      const s = shipped.get(l.order_line_id);
      if (!s) return `Order line ${l.order_line_id} does not exist in order ${orderId}.`;
      if (!Number.isInteger(l.quantity) || l.quantity < 1) return `Return line quantity must be at least 1.`;
      want.set(l.order_line_id, (want.get(l.order_line_id) ?? 0) + l.quantity);
    }
    for (const [lineId, qty] of want) {
      const left = shipped.get(lineId)!.shipped - this.inReturns(lineId);
      if (qty > left) return `Order line ${lineId} has ${Math.max(0, left)} unit(s) left to return, ${qty} requested.`;
    }
    return undefined;
  }

  // ---- creation -----------------------------------------------------------------------------------------
  /** Control API: the customer opens a return on ASOS / Joules (a return record appears on Mirakl). */
  openCustomerReturn(spec: CustomerReturnSpec): Record<string, unknown> {
    const o = this.shop.orders.get(spec.orderId) ?? this.shop.orders.get(this.orderByCommercialId(spec.orderId) ?? '');
    if (!o) throw new MiraklError(404, `Order with id '${spec.orderId}' not found`, 'ORDER_NOT_FOUND');
    if (!Array.isArray(spec.lines) || spec.lines.length === 0)
      throw new MiraklError(400, 'lines[] is required', 'VALIDATION_ERROR');
    const shipped = this.shippedPerLine(o.id);
    const lines: SimReturnLine[] = spec.lines.map((l) => {
      let lineId = l.lineId;
      if (!lineId && l.offerSku) {
        for (const [id, s] of shipped) if (s.offerSku === l.offerSku) lineId = id;
      }
      return {
        order_line_id: lineId ?? `${o.id}-?`,
        quantity: l.quantity,
        reason_code: l.reason ?? spec.reason ?? 'RETURN_OTHER',
      };
    });
    if (!spec.unchecked) {
      const problem = this.checkLines(o.id, lines);
      if (problem) throw new MiraklError(400, problem, 'RETURN_LINE_INVALID');
    }
    const now = this.shop.now();
    const id = spec.id ?? randomUUID();
    if (this.returns.has(id)) throw new MiraklError(409, `Return ${id} already exists`);
    const r: SimReturn = {
      id,
      orderId: o.id,
      commercialId: o.commercialId,
      state: spec.state ?? 'WAITING_ACCEPTANCE',
      methodCode: spec.method ?? 'RETURN_METHOD_BY_MAIL',
      reasonCode: spec.reason,
      returnAddress: this.returnAddress(),
      lines,
      createdMs: now,
      updatedMs: now,
    };
    this.returns.set(id, r);
    if (spec.overrides) this.overrides.set(id, spec.overrides);
    return this.wire(r);
  }

  private returnAddress(): Record<string, string> {
    return { street1: 'Unit 4, Returns Way', city: 'Bath', zip_code: 'BA2 3AB', country_iso_code: 'GBR' };
  }

  /** RT01: the seller creates returns (≤ 200), e.g. for a return agreed with the customer outside the marketplace. */
  createReturns(body: unknown): OpResult {
    if (!isObj(body) || !Array.isArray(body.returns) || body.returns.length === 0)
      throw new MiraklError(400, 'returns is required', 'VALIDATION_ERROR');
    if (body.returns.length > 200) throw new MiraklError(400, 'At most 200 returns per call', 'VALIDATION_ERROR');
    const success: Record<string, unknown>[] = [];
    const errors: Array<{ order_commercial_id?: string; message: string }> = [];
    for (const x of body.returns as unknown[]) {
      if (!isObj(x) || typeof x.order_commercial_id !== 'string') {
        errors.push({ message: 'order_commercial_id is required.' });
        continue;
      }
      const orderId = this.orderByCommercialId(x.order_commercial_id);
      if (!orderId) {
        errors.push({ order_commercial_id: x.order_commercial_id, message: 'Order not found.' });
        continue;
      }
      if (typeof x.method_code !== 'string' || !(RETURN_METHODS as readonly string[]).includes(x.method_code)) {
        errors.push({ order_commercial_id: x.order_commercial_id, message: 'method_code is invalid.' });
        continue;
      }
      if (!Array.isArray(x.return_lines) || x.return_lines.length === 0) {
        errors.push({ order_commercial_id: x.order_commercial_id, message: 'return_lines is required.' });
        continue;
      }
      const lines: SimReturnLine[] = [];
      let bad: string | undefined;
      for (const l of x.return_lines as unknown[]) {
        if (
          !isObj(l) ||
          typeof l.order_line_id !== 'string' ||
          typeof l.quantity !== 'number' ||
          typeof l.reason_code !== 'string'
        ) {
          bad = 'Each return line needs order_line_id, quantity and reason_code.';
          break;
        }
        lines.push({ order_line_id: l.order_line_id, quantity: l.quantity, reason_code: l.reason_code });
      }
      bad ??= this.checkLines(orderId, lines);
      if (bad) {
        errors.push({ order_commercial_id: x.order_commercial_id, message: bad });
        continue;
      }
      const o = this.shop.orders.get(orderId)!;
      const now = this.shop.now();
      const r: SimReturn = {
        id: randomUUID(),
        orderId,
        commercialId: o.commercialId,
        state: x.accepted === false ? 'WAITING_ACCEPTANCE' : 'IN_PROGRESS',
        methodCode: x.method_code,
        reasonCode: typeof x.reason_code === 'string' ? x.reason_code : undefined,
        rma: typeof x.rma === 'string' ? x.rma : undefined,
        labelUrl: typeof x.label_url === 'string' ? x.label_url : undefined,
        description: typeof x.description === 'string' ? x.description : undefined,
        returnAddress: this.returnAddress(),
        lines,
        createdMs: now,
        updatedMs: now,
      };
      this.returns.set(r.id, r);
      success.push(this.wire(r));
    }
    return { status: 200, body: { return_success: success, return_errors: errors } };
  }

  // ---- reads ------------------------------------------------------------------------------------------------
  wire(r: SimReturn): Record<string, unknown> {
    const w: Record<string, unknown> = {
      id: r.id,
      order_id: r.orderId,
      order_commercial_id: r.commercialId,
      state: r.state,
      method_code: r.methodCode,
      return_address: r.returnAddress,
      return_lines: r.lines.map((l) => ({
        order_line_id: l.order_line_id,
        quantity: l.quantity,
        reason_code: l.reason_code,
        ...(l.compliance ? { compliance: [l.compliance] } : {}),
      })),
      documents: [],
      date_created: this.shop.iso(r.createdMs),
      last_updated: this.shop.iso(r.updatedMs),
    };
    if (r.reasonCode !== undefined) w.reason_code = r.reasonCode;
    if (r.rejectionReasonCode) w.rejection_reason_code = r.rejectionReasonCode;
    if (r.rma) w.rma = r.rma;
    if (r.labelUrl) w.label_url = r.labelUrl;
    if (r.description) w.description = r.description;
    if (r.tracking) w.tracking = r.tracking;
    const o = this.overrides.get(r.id);
    return o ? deepAssign(w, o) : w;
  }

  /** RT11, seek paging; sorted by date_created (the only documented sort). */
  listReturns(q: Record<string, unknown>): OpResult {
    const ids = list(q.return_id);
    const states = list(q.return_state);
    const commercial = list(q.order_commercial_id);
    const lineIds = list(q.order_line_id);
    const rmas = list(q.return_rma);
    const date = (k: string) => {
      const v = q[k];
      if (v === undefined || v === '') return undefined;
      const t = Date.parse(String(v));
      if (Number.isNaN(t)) throw new MiraklError(400, `Invalid date: ${String(v)}`, 'VALIDATION_ERROR');
      return t;
    };
    const updFrom = date('return_last_updated_from');
    const updTo = date('return_last_updated_to');
    const crFrom = date('return_creation_date_from');
    const crTo = date('return_creation_date_to');
    let all = [...this.returns.values()].filter(
      (r) =>
        (!ids || ids.includes(r.id)) &&
        (!states || states.includes(r.state)) &&
        (!commercial || commercial.includes(r.commercialId) || commercial.includes(r.orderId)) &&
        (!lineIds || r.lines.some((l) => lineIds.includes(l.order_line_id))) &&
        (!rmas || (r.rma !== undefined && rmas.includes(r.rma))) &&
        (updFrom === undefined || r.updatedMs >= updFrom) &&
        (updTo === undefined || r.updatedMs <= updTo) &&
        (crFrom === undefined || r.createdMs >= crFrom) &&
        (crTo === undefined || r.createdMs <= crTo),
    );
    all.sort((a, b) => a.createdMs - b.createdMs || (a.id < b.id ? -1 : 1));
    if (/,DESC$/i.test(String(q.sort ?? ''))) all = all.reverse();
    return {
      status: 200,
      body: this.page(
        all.map((r) => this.wire(r)),
        q,
      ),
    };
  }

  private page<T>(all: T[], q: Record<string, unknown>) {
    const offset = typeof q.page_token === 'string' && q.page_token !== '' ? untoken(q.page_token) : 0;
    const limit = Math.min(100, Math.max(1, Number(q.limit ?? 10) || 10));
    const out: { data: T[]; next_page_token?: string; previous_page_token?: string } = {
      data: all.slice(offset, offset + limit),
    };
    if (offset + limit < all.length) out.next_page_token = token(offset + limit);
    if (offset > 0) out.previous_page_token = token(Math.max(0, offset - limit));
    return out;
  }

  /** RT12: per shipped order line, the units that can still be returned. */
  itemsToReturn(q: Record<string, unknown>): OpResult {
    const commercial = list(q.order_commercial_id);
    const lineIds = list(q.order_line_id);
    const rows: Record<string, unknown>[] = [];
    const orders = [...this.shop.orders.values()].sort((a, b) => a.createdMs - b.createdMs);
    for (const o of orders) {
      if (commercial && !commercial.includes(o.commercialId) && !commercial.includes(o.id)) continue;
      for (const [lineId, s] of this.shippedPerLine(o.id)) {
        if (lineIds && !lineIds.includes(lineId)) continue;
        const left = s.shipped - this.inReturns(lineId);
        if (s.shipped <= 0) continue;
        rows.push({
          order_commercial_id: o.commercialId,
          order_line_id: lineId,
          returnable_quantity: Math.max(0, left),
          return_window: this.returnWindowDays,
          available_return_methods: [...RETURN_METHODS],
          available_return_reasons: [...RETURN_REASONS],
        });
      }
    }
    rows.sort((a, b) => String(a.order_line_id).localeCompare(String(b.order_line_id)));
    return { status: 200, body: this.page(rows, q) };
  }

  // ---- state changes ----------------------------------------------------------------------------------------
  /** RT2x answer `return_success[{id}]`; RT04 answers the whole returns (`full`), as the OpenAPI says. */
  private batch(
    body: unknown,
    apply: (r: SimReturn, item: Record<string, unknown>) => string | undefined,
    max = 100,
    full = false,
  ): OpResult {
    if (!isObj(body) || !Array.isArray(body.returns) || body.returns.length === 0)
      throw new MiraklError(400, 'returns is required', 'VALIDATION_ERROR');
    if (body.returns.length > max) throw new MiraklError(400, `At most ${max} returns per call`, 'VALIDATION_ERROR');
    const success: Array<Record<string, unknown>> = [];
    const errors: Array<{ id?: string; message: string }> = [];
    for (const item of body.returns as unknown[]) {
      const id = isObj(item) && typeof item.id === 'string' ? item.id : undefined;
      const r = id ? this.returns.get(id) : undefined;
      if (!r || !isObj(item)) {
        errors.push({ id, message: `Return ${id ?? '(no id)'} not found.` });
        continue;
      }
      const problem = apply(r, item);
      if (problem) {
        errors.push({ id, message: problem });
        continue;
      }
      r.updatedMs = Math.max(this.shop.now(), r.updatedMs + 1);
      success.push(full ? this.wire(r) : { id: r.id });
    }
    return { status: 200, body: { return_success: success, return_errors: errors } };
  }

  private wrongState(r: SimReturn, allowed: readonly ReturnState[]): string | undefined {
    return allowed.includes(r.state)
      ? undefined
      : `Return ${r.id} is in state ${r.state}; expected ${allowed.join(' or ')}.`;
  }

  /** RT21: accept or refuse a return request. */
  accept(body: unknown): OpResult {
    return this.batch(body, (r, x) => {
      if (typeof x.accepted !== 'boolean') return 'accepted is required.';
      const bad = this.wrongState(r, ['WAITING_ACCEPTANCE']);
      if (bad) return bad;
      if (x.accepted) {
        r.state = 'IN_PROGRESS';
        return undefined;
      }
      const why = x.rejection_reason_code;
      if (typeof why !== 'string' || !(REJECTION_REASONS as readonly string[]).includes(why))
        return 'A valid rejection_reason_code is required to refuse a return.';
      r.state = 'REFUSED';
      r.rejectionReasonCode = why;
      return undefined;
    });
  }

  /** RT25: validate returns as received. */
  receive(body: unknown): OpResult {
    return this.batch(body, (r) => {
      const bad = this.wrongState(r, ['IN_PROGRESS']);
      if (bad) return bad;
      r.state = 'RECEIVED';
      return undefined;
    });
  }

  /** RT26: per line, compliant or not (with a reason). */
  compliance(body: unknown): OpResult {
    return this.batch(body, (r, x) => {
      const bad = this.wrongState(r, ['RECEIVED']);
      if (bad) return bad;
      if (!Array.isArray(x.return_lines) || x.return_lines.length === 0) return 'return_lines is required.';
      const updates: Array<[SimReturnLine, NonNullable<SimReturnLine['compliance']>]> = [];
      for (const l of x.return_lines as unknown[]) {
        if (!isObj(l) || typeof l.order_line_id !== 'string' || typeof l.compliant !== 'boolean')
          return 'Each return line needs order_line_id and compliant.';
        const line = r.lines.find((rl) => rl.order_line_id === l.order_line_id);
        if (!line) return `Order line ${l.order_line_id} is not in return ${r.id}.`;
        if (!l.compliant) {
          const code = l.non_compliance_reason_code;
          if (typeof code !== 'string' || !(NON_COMPLIANCE_REASONS as readonly string[]).includes(code))
            return 'A valid non_compliance_reason_code is required for a non-compliant line.';
        }
        updates.push([
          line,
          {
            compliant: l.compliant,
            ...(typeof l.non_compliance_reason_code === 'string'
              ? { non_compliance_reason_code: l.non_compliance_reason_code }
              : {}),
            ...(typeof l.non_compliance_additional_info === 'string'
              ? { non_compliance_additional_info: l.non_compliance_additional_info }
              : {}),
          },
        ]);
      }
      for (const [line, c] of updates) line.compliance = c;
      return undefined;
    });
  }

  /** RT27: close a received (or never received) return. */
  close(body: unknown): OpResult {
    return this.batch(body, (r) => {
      const bad = this.wrongState(r, ['RECEIVED', 'NO_RECEPTION']);
      if (bad) return bad;
      r.state = 'CLOSED';
      return undefined;
    });
  }

  /** RT29: cancel a return that has not been received. */
  cancel(body: unknown): OpResult {
    return this.batch(body, (r) => {
      const bad = this.wrongState(r, ['WAITING_ACCEPTANCE', 'IN_PROGRESS']);
      if (bad) return bad;
      r.state = 'CANCELED';
      return undefined;
    });
  }

  /** RT04: label, method, RMA, tracking, return address (no state change). */
  update(body: unknown): OpResult {
    return this.batch(
      body,
      (r, x) => {
        if (!ACTIVE.has(r.state)) return `Return ${r.id} is in state ${r.state} and can no longer be updated.`;
        if (typeof x.label_url === 'string') r.labelUrl = x.label_url;
        if (typeof x.rma === 'string') r.rma = x.rma;
        if (typeof x.method_code === 'string') {
          if (!(RETURN_METHODS as readonly string[]).includes(x.method_code)) return 'method_code is invalid.';
          r.methodCode = x.method_code;
        }
        if (isObj(x.tracking)) {
          const t: Record<string, string> = {};
          for (const [k, v] of Object.entries(x.tracking)) if (typeof v === 'string') t[k] = v;
          r.tracking = t;
        }
        const addr = isObj(x.return_address) && isObj(x.return_address.address) ? x.return_address.address : undefined;
        if (addr) {
          const a: Record<string, string> = {};
          for (const [k, v] of Object.entries(addr)) if (typeof v === 'string') a[k] = v;
          r.returnAddress = { ...r.returnAddress, ...a };
        }
        return undefined;
      },
      100,
      true,
    );
  }

  // ---- control: the operator's side ----------------------------------------------------------------------
  /** The customer never sent the parcel (IN_PROGRESS → NO_RECEPTION), or the operator received it (marketplace-managed returns). */
  operatorMove(id: string, to: 'NO_RECEPTION' | 'RECEIVED' | 'CANCELED'): Record<string, unknown> {
    const r = this.returns.get(id);
    if (!r) throw new MiraklError(404, `Return ${id} not found`, 'RETURN_NOT_FOUND');
    const from: Record<typeof to, ReturnState[]> = {
      NO_RECEPTION: ['IN_PROGRESS'],
      RECEIVED: ['IN_PROGRESS'],
      CANCELED: ['WAITING_ACCEPTANCE', 'IN_PROGRESS'],
    };
    if (!from[to].includes(r.state)) throw new MiraklError(400, `Cannot move return ${id} from ${r.state} to ${to}`);
    r.state = to;
    r.updatedMs = Math.max(this.shop.now(), r.updatedMs + 1);
    return this.wire(r);
  }

  get(id: string): Record<string, unknown> {
    const r = this.returns.get(id);
    if (!r) throw new MiraklError(404, `Return ${id} not found`, 'RETURN_NOT_FOUND');
    return this.wire(r);
  }
}

/** Objects merge recursively, arrays by index; like the orders' overrides. */
function deepAssign(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    if (Array.isArray(v) && Array.isArray(b)) {
      out[k] = b.map((x, i) =>
        i < v.length && isObj(x) && isObj(v[i])
          ? deepAssign(x, v[i] as Record<string, unknown>)
          : i < v.length
            ? v[i]
            : x,
      );
      for (let i = b.length; i < v.length; i++) (out[k] as unknown[]).push(v[i]);
    } else if (isObj(v) && isObj(b)) out[k] = deepAssign(b, v);
    else out[k] = v;
  }
  return out;
}

const books = new WeakMap<MiraklShop, MiraklReturns>();

/** The returns of a simulated shop (created on first use). */
export function returnsOf(shop: MiraklShop): MiraklReturns {
  let r = books.get(shop);
  if (!r) {
    r = new MiraklReturns(shop);
    books.set(shop, r);
  }
  return r;
}
