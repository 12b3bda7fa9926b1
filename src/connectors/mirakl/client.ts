// Mirakl seller (shop) API client, written against the real API: point baseUrl at a tenant
// (https://<instance>.mirakl.net) or at the sandbox (http://127.0.0.1:9090/mirakl/<channel>) and it works.
// Every failure goes through classifyHttpError, the one place that decides what retries.
//
// Idempotency: Mirakl writes carry no idempotency key. Callers look before they create: getOrders() to see
// an order's state before OR21/OR24, listShipments() to see package references before ST01.
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConnectorError, classifyHttpError } from '../errors';
import { fnv1a32 } from '../../domain/keys';
import {
  MiraklOrderSchema,
  MiraklShipmentSchema,
  OF02ResponseSchema,
  OF21ResponseSchema,
  OF24ResponseSchema,
  OF52ResponseSchema,
  OF53ResponseSchema,
  OR11ResponseSchema,
  OR28ResponseSchema,
  PC01ResponseSchema,
  RE01ResponseSchema,
  SBC11ResponseSchema,
  SeekPageSchema,
  SH21ResponseSchema,
  ST01ResponseSchema,
  STO01ResponseSchema,
  STO02ResponseSchema,
  TL02ResponseSchema,
  type MiraklOffer,
  type MiraklOrder,
  type OF24Offer,
  type OR21Request,
  type OR23Request,
  type OR28Refund,
  type SBC11Cycle,
  type ST01Shipment,
  type StockImportStatus,
  type TL02Row,
} from './schemas';
import { outcomeOf, recordApiCall } from '../../metrics/api-calls';
import {
  MiraklReturnSchema,
  ReturnBatchResponseSchema,
  RT11ResponseSchema,
  type MiraklReturn,
  type NonComplianceReason,
  type ReturnBatchResult,
  type ReturnRejectionReason,
} from './returns';

export interface MiraklClientOptions {
  /** Instance root, e.g. https://asos-marketplace.mirakl.net (the client appends /api/...). */
  baseUrl: string;
  apiKey: string;
  shopId?: number;
  timeoutMs: number;
  log?: Logger;
}

export interface ListOrdersParams {
  /** OR11 start_update_date (Mirakl subtracts its own delta: expect overlaps). */
  updatedSince?: string | Date;
  updatedUntil?: string | Date;
  createdSince?: string | Date;
  createdUntil?: string | Date;
  orderIds?: string[];
  states?: string[];
  offset?: number;
  /** Page size, at most 100. */
  max?: number;
}

export interface ShipmentResult {
  success: Array<{ id?: string; order_id?: string; status?: string; [k: string]: unknown }>;
  errors: Array<{ order_id?: string | null; message: string }>;
}

export interface ShipmentSummary {
  id: string;
  orderId: string;
  status?: string;
  lines: Array<{ lineId?: string; offerSku?: string; quantity: number; packageReference?: string }>;
  /** Distinct package_reference values on the shipment's lines (Loopline puts the despatch number there). */
  packageReferences: string[];
  trackingNumber?: string;
  carrierCode?: string;
  carrierName?: string;
  raw: z.infer<typeof MiraklShipmentSchema>;
}

export interface PlatformConfiguration {
  multiShipment: boolean;
  orderAcceptance?: string;
  /** Addresses visible before acceptance (features.order_workflows.shipping_and_billing_details_before_acceptance). */
  detailsBeforeAcceptance?: boolean;
  orderTaxMode?: string;
  raw: z.infer<typeof PC01ResponseSchema>;
}

export interface StockRow {
  offerSku: string;
  quantity: number;
  warehouseCode?: string;
  /** 'delete' removes the quantity (for that warehouse); default update. */
  updateDelete?: 'update' | 'delete';
}

export interface StockImportErrorRow {
  offerSku: string;
  quantity?: string;
  warehouseCode?: string;
  line?: number;
  message: string;
  raw: Record<string, string>;
}

const dateParam = (d: string | Date | undefined) =>
  d === undefined ? undefined : d instanceof Date ? d.toISOString() : d;

export class MiraklClient {
  /** The underlying axios instance (exposed for tests and request logging). */
  readonly http: AxiosInstance;
  private readonly log?: Logger;

  constructor(private readonly opts: MiraklClientOptions) {
    this.log = opts.log;
    this.http = axios.create({
      baseURL: opts.baseUrl.replace(/\/+$/, ''),
      timeout: opts.timeoutMs,
      headers: { Authorization: opts.apiKey, Accept: 'application/json' },
      // We classify statuses ourselves.
      validateStatus: (s) => s >= 200 && s < 300,
    });
  }

  private async call<T>(op: string, config: AxiosRequestConfig, schema?: z.ZodType<T>): Promise<T> {
    const params = { ...(config.params as Record<string, unknown> | undefined) };
    if (this.opts.shopId !== undefined) params.shop_id = this.opts.shopId;
    for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
    const started = Date.now();
    let data: unknown;
    try {
      const res = await this.http.request({ ...config, params });
      data = res.data;
      recordApiCall('mirakl', op, 'ok', Date.now() - started);
      this.log?.debug({ op, status: res.status, ms: Date.now() - started }, 'mirakl call');
    } catch (err) {
      const e = this.classify(op, err);
      recordApiCall('mirakl', op, outcomeOf(e), Date.now() - started);
      this.log?.warn(
        { op, status: e.status, retryable: e.retryable, code: e.code, ms: Date.now() - started },
        e.message,
      );
      throw e;
    }
    if (!schema) return data as T;
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new ConnectorError('mirakl', op, 'unexpected response shape', false, {
        code: 'BAD_RESPONSE',
        detail: parsed.error.message,
      });
    }
    return parsed.data;
  }

  /** classifyHttpError, plus Mirakl's error code (body `code` or `errors[0].code`) in `code` and `detail`. */
  private classify(op: string, err: unknown): ConnectorError {
    const e = classifyHttpError('mirakl', op, err);
    const body = axios.isAxiosError(err) ? (err.response?.data as unknown) : undefined;
    let code: string | undefined;
    if (body && typeof body === 'object') {
      const b = body as { code?: unknown; errors?: Array<{ code?: unknown }> };
      if (typeof b.code === 'string') code = b.code;
      else if (Array.isArray(b.errors) && typeof b.errors[0]?.code === 'string') code = b.errors[0].code;
    }
    if (!code) return e;
    const detail = e.opts.detail?.includes(code) ? e.opts.detail : `${code}: ${e.opts.detail ?? ''}`;
    // Mirakl's error code is a machine word (safe in the message); its text stays in the detail.
    const safeCode = /^[A-Za-z0-9_.-]{1,40}$/.test(code) ? ` (${code})` : '';
    return new ConnectorError('mirakl', op, `HTTP ${e.status}${safeCode}`, e.retryable, { ...e.opts, code, detail });
  }

  // ---- orders ---------------------------------------------------------------------------------------
  /**
   * OR11, one page. Each order is validated on its own: the readable ones come back as `orders`, the others as
   * `unreadable`, naming the order id and the first failing field (never the value: it may be personal data).
   */
  async listOrders(p: ListOrdersParams = {}): Promise<{
    orders: MiraklOrder[];
    unreadable: UnreadableOrder[];
    /** Both, in the page's order (a record's position is its offset). */
    records: OrderRecord[];
    totalCount: number;
  }> {
    if (p.orderIds && p.orderIds.length > 100) throw new RangeError('OR11 takes at most 100 order_ids');
    const res = await this.call(
      'OR11',
      {
        method: 'GET',
        url: '/api/orders',
        params: {
          order_ids: p.orderIds?.join(','),
          order_state_codes: p.states?.join(','),
          start_update_date: dateParam(p.updatedSince),
          end_update_date: dateParam(p.updatedUntil),
          start_date: dateParam(p.createdSince),
          end_date: dateParam(p.createdUntil),
          offset: p.offset ?? 0,
          max: Math.min(100, p.max ?? 100),
          paginate: true,
        },
      },
      OR11ResponseSchema,
    );
    const records = res.orders.map(readOrder);
    return {
      records,
      orders: records.flatMap((r) => ('order' in r ? [r.order] : [])),
      unreadable: records.flatMap((r) => ('unreadable' in r ? [r.unreadable] : [])),
      totalCount: res.total_count ?? res.orders.length,
    };
  }

  /**
   * Every order updated since `since`, oldest first, page by page, each as a record: the order, or why it could
   * not be read. Only the first page counts towards Mirakl's once-a-minute polling limit. `startOffset` resumes
   * a read that failed part-way (orders only ever join the result set, so resuming can re-read an order, never
   * skip one).
   */
  async *listOrderRecordsUpdatedSince(
    since: string | Date | undefined,
    pageSize = 100,
    startOffset = 0,
  ): AsyncGenerator<OrderRecord> {
    const max = Math.max(1, Math.min(100, pageSize));
    let offset = Math.max(0, Math.trunc(startOffset));
    for (;;) {
      const page = await this.listOrders({ updatedSince: since, offset, max });
      for (const r of page.records) yield r;
      offset += page.records.length;
      if (page.records.length === 0 || offset >= page.totalCount) return;
    }
  }

  /** The readable orders of listOrderRecordsUpdatedSince (tools and tests that only want orders). */
  async *listOrdersUpdatedSince(
    since: string | Date | undefined,
    pageSize = 100,
    startOffset = 0,
  ): AsyncGenerator<MiraklOrder> {
    for await (const r of this.listOrderRecordsUpdatedSince(since, pageSize, startOffset))
      if ('order' in r) yield r.order;
  }

  /** OR11 by order ids, 100 at a time: the orders read, and those that could not be read. */
  async getOrderRecords(orderIds: string[]): Promise<{ orders: MiraklOrder[]; unreadable: UnreadableOrder[] }> {
    const orders: MiraklOrder[] = [];
    const unreadable: UnreadableOrder[] = [];
    const unique = [...new Set(orderIds)];
    for (let i = 0; i < unique.length; i += 100) {
      const page = await this.listOrders({ orderIds: unique.slice(i, i + 100), max: 100 });
      orders.push(...page.orders);
      unreadable.push(...page.unreadable);
    }
    return { orders, unreadable };
  }

  /** OR11 by order ids; an order that cannot be read is a non-retryable error naming it and the field. */
  async getOrders(orderIds: string[]): Promise<MiraklOrder[]> {
    const { orders, unreadable } = await this.getOrderRecords(orderIds);
    const bad = unreadable[0];
    if (bad) {
      throw new ConnectorError(
        'mirakl',
        'OR11',
        `order ${bad.orderId ?? '(no order_id)'} is unreadable: ${bad.field}: ${bad.problem}`,
        false,
        {
          code: 'BAD_RESPONSE',
          detail: `${bad.field}: ${bad.problem}`,
        },
      );
    }
    return orders;
  }

  /** OR21: a decision for every line (accepted true/false). */
  async acceptOrder(orderId: string, decisions: Array<{ id: string; accepted: boolean }>): Promise<void> {
    const body: OR21Request = { order_lines: decisions.map((d) => ({ id: d.id, accepted: d.accepted })) };
    await this.call('OR21', { method: 'PUT', url: `/api/orders/${encodeURIComponent(orderId)}/accept`, data: body });
  }

  /** OR23: tracking for the whole order. */
  async setTracking(orderId: string, tracking: OR23Request): Promise<void> {
    const body: OR23Request = {};
    for (const [k, v] of Object.entries(tracking) as [keyof OR23Request, string | undefined][]) {
      if (v !== undefined && v !== '') body[k] = v;
    }
    await this.call('OR23', { method: 'PUT', url: `/api/orders/${encodeURIComponent(orderId)}/tracking`, data: body });
  }

  /** OR24: ships every line of an order in SHIPPING. Do not mix with ST01 on the same order. */
  async shipOrder(orderId: string): Promise<void> {
    await this.call('OR24', { method: 'PUT', url: `/api/orders/${encodeURIComponent(orderId)}/ship` });
  }

  /** OR29: cancels the whole order (check can_cancel first). */
  async cancelOrder(orderId: string): Promise<void> {
    await this.call('OR29', { method: 'PUT', url: `/api/orders/${encodeURIComponent(orderId)}/cancel` });
  }

  /** OR28: refunds on one or more orders. */
  async refund(refunds: OR28Refund[], orderTaxMode?: 'TAX_INCLUDED' | 'TAX_EXCLUDED') {
    const res = await this.call(
      'OR28',
      {
        method: 'PUT',
        url: '/api/orders/refund',
        data: { ...(orderTaxMode ? { order_tax_mode: orderTaxMode } : {}), refunds },
      },
      OR28ResponseSchema,
    );
    return res.refunds;
  }

  // ---- returns (RT*) ----------------------------------------------------------------------------------
  /**
   * RT11, one page (seek). Each return is validated on its own: one the connector cannot read is skipped with
   * its id (never the whole page). `since` filters on return_last_updated_from.
   */
  async listReturns(p: {
    since?: string | Date;
    returnIds?: string[];
    orderCommercialIds?: string[];
    states?: string[];
    limit?: number;
    pageToken?: string;
  }): Promise<{ returns: MiraklReturn[]; unreadable: Array<{ id?: string; problem: string }>; next?: string }> {
    const params = new URLSearchParams();
    if (p.pageToken) params.set('page_token', p.pageToken);
    else {
      const since = dateParam(p.since);
      if (since) params.set('return_last_updated_from', since);
      for (const id of p.returnIds ?? []) params.append('return_id', id);
      for (const id of p.orderCommercialIds ?? []) params.append('order_commercial_id', id);
      for (const st of p.states ?? []) params.append('return_state', st);
      params.set('limit', String(Math.min(100, p.limit ?? 100)));
      params.set('sort', 'date_created,ASC');
    }
    const res = await this.call(
      'RT11',
      { method: 'GET', url: `/api/returns?${params.toString()}` },
      RT11ResponseSchema,
    );
    const returns: MiraklReturn[] = [];
    const unreadable: Array<{ id?: string; problem: string }> = [];
    for (const raw of res.data) {
      const parsed = MiraklReturnSchema.safeParse(raw);
      if (parsed.success) returns.push(parsed.data);
      else {
        const id = raw && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
        unreadable.push({
          id: typeof id === 'string' ? id : undefined,
          problem: parsed.error.issues[0]?.message ?? 'unreadable',
        });
      }
    }
    return { returns, unreadable, next: res.next_page_token ?? undefined };
  }

  /** RT11 by return id (a read-back after a write: not the 5-minute poll). */
  async getReturn(returnId: string): Promise<MiraklReturn | undefined> {
    const r = await this.listReturns({ returnIds: [returnId], limit: 1 });
    return r.returns.find((x) => x.id === returnId);
  }

  private async returnBatch(
    op: string,
    method: 'PUT' | 'POST',
    path: string,
    returns: unknown[],
  ): Promise<ReturnBatchResult> {
    if (returns.length > (op === 'RT01' ? 200 : 100))
      throw new RangeError(`${op} takes at most ${op === 'RT01' ? 200 : 100} returns`);
    const res = await this.call(op, { method, url: path, data: { returns } }, ReturnBatchResponseSchema);
    return {
      success: res.return_success.map((x) => x.id ?? '').filter(Boolean),
      errors: res.return_errors.map((e) => ({
        id: e.id ?? e.order_commercial_id ?? undefined,
        message: e.message ?? 'error',
      })),
    };
  }

  /** RT21: accept (or refuse, with a rejection reason) return requests. */
  acceptReturns(items: Array<{ id: string; accepted: boolean; rejection_reason_code?: ReturnRejectionReason }>) {
    return this.returnBatch('RT21', 'PUT', '/api/returns/accept', items);
  }
  /** RT25: the goods arrived. */
  receiveReturns(ids: string[]) {
    return this.returnBatch(
      'RT25',
      'PUT',
      '/api/returns/receive',
      ids.map((id) => ({ id })),
    );
  }
  /** RT26: per line, compliant or not. */
  returnCompliance(
    items: Array<{
      id: string;
      return_lines: Array<{
        order_line_id: string;
        compliant: boolean;
        non_compliance_reason_code?: NonComplianceReason;
        non_compliance_additional_info?: string;
      }>;
    }>,
  ) {
    return this.returnBatch('RT26', 'PUT', '/api/returns/compliance', items);
  }
  /** RT27: close received returns. */
  closeReturns(ids: string[]) {
    return this.returnBatch(
      'RT27',
      'PUT',
      '/api/returns/close',
      ids.map((id) => ({ id })),
    );
  }
  /** RT29: cancel returns not received. */
  cancelReturns(ids: string[]) {
    return this.returnBatch(
      'RT29',
      'PUT',
      '/api/returns/cancel',
      ids.map((id) => ({ id })),
    );
  }
  /** RT04: label, tracking, RMA, method, return address. */
  updateReturns(items: Array<{ id: string; [field: string]: unknown }>) {
    return this.returnBatch('RT04', 'PUT', '/api/returns', items);
  }
  /** RT01: returns created by the seller (≤ 200). */
  createReturns(
    items: Array<{
      order_commercial_id: string;
      method_code: string;
      return_lines: Array<{ order_line_id: string; quantity: number; reason_code: string }>;
      [field: string]: unknown;
    }>,
  ) {
    return this.returnBatch('RT01', 'POST', '/api/returns', items);
  }
  /** RT12: per shipped line, the units that can still be returned. */
  async itemsToReturn(
    orderCommercialId: string,
  ): Promise<Array<{ lineId: string; returnable: number; windowDays?: number }>> {
    const out: Array<{ lineId: string; returnable: number; windowDays?: number }> = [];
    let token: string | undefined;
    do {
      const params = new URLSearchParams();
      if (token) params.set('page_token', token);
      else {
        params.set('order_commercial_id', orderCommercialId);
        params.set('limit', '100');
      }
      const res = await this.call(
        'RT12',
        { method: 'GET', url: `/api/returns/items_to_return?${params.toString()}` },
        SeekPageSchema(
          z.looseObject({
            order_line_id: z.string(),
            returnable_quantity: z.number(),
            return_window: z.number().optional().nullable(),
          }),
        ),
      );
      for (const r of res.data)
        out.push({
          lineId: r.order_line_id,
          returnable: r.returnable_quantity,
          windowDays: r.return_window ?? undefined,
        });
      token = res.next_page_token ?? undefined;
    } while (token);
    return out;
  }

  // ---- shipments ------------------------------------------------------------------------------------
  /** ST01 (≤ 1000 per call). A 201 can still carry per-shipment errors: check `errors`. */
  async createShipments(shipments: ST01Shipment[]): Promise<ShipmentResult> {
    if (shipments.length > 1000) throw new RangeError('ST01 takes at most 1000 shipments');
    const res = await this.call(
      'ST01',
      { method: 'POST', url: '/api/shipments', data: { shipments } },
      ST01ResponseSchema,
    );
    return {
      success: res.shipment_success,
      errors: res.shipment_errors.map((e) => ({ order_id: e.order_id, message: e.message ?? '(no message)' })),
    };
  }

  /** ST24: marks shipments created with `shipped: false` as shipped. */
  async shipShipments(shipmentIds: string[]): Promise<ShipmentResult> {
    const res = await this.call(
      'ST24',
      { method: 'PUT', url: '/api/shipments/ship', data: { shipments: shipmentIds.map((id) => ({ id })) } },
      ST01ResponseSchema,
    );
    return {
      success: res.shipment_success,
      errors: res.shipment_errors.map((e) => ({ order_id: e.order_id, message: e.message ?? '(no message)' })),
    };
  }

  /** ST11 for one order, following next_page_token. */
  async listShipments(orderId: string): Promise<ShipmentSummary[]> {
    const out: ShipmentSummary[] = [];
    let token: string | undefined;
    const schema = SeekPageSchema(MiraklShipmentSchema);
    do {
      const page = await this.call(
        'ST11',
        {
          method: 'GET',
          url: '/api/shipments',
          params: token ? { page_token: token } : { order_id: orderId, limit: 100 },
        },
        schema,
      );
      for (const s of page.data) {
        const lines = (s.shipment_lines ?? []).map((l) => ({
          lineId: l.order_line_id ?? undefined,
          offerSku: l.offer_sku ?? undefined,
          quantity: l.quantity,
          packageReference: l.package_reference ?? undefined,
        }));
        out.push({
          id: s.id,
          orderId: s.order_id,
          status: s.status ?? undefined,
          lines,
          packageReferences: [...new Set(lines.map((l) => l.packageReference).filter((r): r is string => !!r))],
          trackingNumber: s.tracking?.tracking_number ?? undefined,
          carrierCode: s.tracking?.carrier_code ?? undefined,
          carrierName: s.tracking?.carrier_name ?? undefined,
          raw: s,
        });
      }
      token = page.next_page_token ?? undefined;
    } while (token);
    return out;
  }

  /** ST12: what is left to ship (at most every 5 minutes per shop). */
  async itemsToShip(orderId?: string): Promise<unknown[]> {
    const out: unknown[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(
        'ST12',
        {
          method: 'GET',
          url: '/api/shipments/items_to_ship',
          params: token ? { page_token: token } : { order_id: orderId, limit: 100 },
        },
        SeekPageSchema(z.unknown()),
      );
      out.push(...page.data);
      token = page.next_page_token ?? undefined;
    } while (token);
    return out;
  }

  // ---- reference data -------------------------------------------------------------------------------
  /** SH21. */
  async listCarriers() {
    return (await this.call('SH21', { method: 'GET', url: '/api/shipping/carriers' }, SH21ResponseSchema)).carriers;
  }

  /** RE01, optionally filtered by type (REFUND, CANCELATION, …) client-side. */
  async listReasons(type?: string) {
    const res = await this.call('RE01', { method: 'GET', url: '/api/reasons' }, RE01ResponseSchema);
    return type ? res.reasons.filter((r) => r.type === type) : res.reasons;
  }

  /** PC01. */
  async platformConfiguration(): Promise<PlatformConfiguration> {
    const raw = await this.call('PC01', { method: 'GET', url: '/api/platform/configuration' }, PC01ResponseSchema);
    return {
      multiShipment: raw.features?.shipment?.multi_shipment === true,
      orderAcceptance: raw.features?.order_workflows?.order_acceptance,
      detailsBeforeAcceptance: raw.features?.order_workflows?.shipping_and_billing_details_before_acceptance,
      orderTaxMode: raw.features?.order_tax_mode,
      raw,
    };
  }

  // ---- offers and stock -----------------------------------------------------------------------------
  /** OF21, one page. */
  async listOffers(
    p: { offset?: number; max?: number; sku?: string; stateCodes?: string[] } = {},
  ): Promise<{ offers: MiraklOffer[]; totalCount: number }> {
    const res = await this.call(
      'OF21',
      {
        method: 'GET',
        url: '/api/offers',
        params: {
          offset: p.offset ?? 0,
          max: Math.min(100, p.max ?? 100),
          sku: p.sku,
          offer_state_codes: p.stateCodes?.join(','),
        },
      },
      OF21ResponseSchema,
    );
    return { offers: res.offers, totalCount: res.total_count ?? res.offers.length };
  }

  /** OF21, every page. For full audits prefer the async export (exportOffers). */
  async *listAllOffers(pageSize = 100): AsyncGenerator<MiraklOffer> {
    let offset = 0;
    for (;;) {
      const page = await this.listOffers({ offset, max: pageSize });
      for (const o of page.offers) yield o;
      offset += page.offers.length;
      if (page.offers.length === 0 || offset >= page.totalCount) return;
    }
  }

  /**
   * STO01: stock-only import (no other offer field changes). CSV with `;` and a quoted header
   * "offer-sku";"quantity";"warehouse-code";"update-delete". Returns the import id for STO02/STO03.
   */
  async importStock(rows: StockRow[]): Promise<string> {
    const csv = stringifyCsv(
      rows.map((r) => [
        r.offerSku,
        r.updateDelete === 'delete' ? '' : String(Math.max(0, Math.trunc(r.quantity))),
        r.warehouseCode ?? '',
        r.updateDelete ?? '',
      ]),
      {
        delimiter: ';',
        header: true,
        quoted: true,
        columns: ['offer-sku', 'quantity', 'warehouse-code', 'update-delete'],
      },
    );
    const form = new globalThis.FormData();
    form.append('file', new globalThis.Blob([csv], { type: 'text/csv' }), 'stock.csv');
    const res = await this.call(
      'STO01',
      { method: 'POST', url: '/api/offers/stock/imports', data: form },
      STO01ResponseSchema,
    );
    return String(res.import_id);
  }

  /** STO02. Status WAITING | RUNNING | COMPLETE | FAILED (new values possible). */
  async stockImportStatus(importId: string): Promise<StockImportStatus> {
    return this.call(
      'STO02',
      { method: 'GET', url: `/api/offers/stock/imports/${encodeURIComponent(importId)}/status` },
      STO02ResponseSchema,
    );
  }

  /** STO03 error report, parsed. */
  async stockImportErrors(importId: string): Promise<StockImportErrorRow[]> {
    const csv = await this.call<string>('STO03', {
      method: 'GET',
      url: `/api/offers/stock/imports/${encodeURIComponent(importId)}/error_report`,
      responseType: 'text',
      headers: { Accept: 'text/csv' },
    });
    const rows: Record<string, string>[] = parseCsv(String(csv), {
      delimiter: ';',
      columns: true,
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
    });
    return rows.map((r) => ({
      offerSku: r['offer-sku'] ?? '',
      quantity: r.quantity,
      warehouseCode: r['warehouse-code'] || undefined,
      line: r['error-line'] ? Number(r['error-line']) : undefined,
      message: r['error-message'] ?? r['error-reason'] ?? r.error ?? Object.values(r).pop() ?? '',
      raw: r,
    }));
  }

  /**
   * OF24: full offer upsert. Mirakl resets every field not sent (quantity to 0), so send whole offers;
   * for stock-only changes use importStock (STO01).
   */
  async importOffers(offers: OF24Offer[]): Promise<number> {
    const res = await this.call('OF24', { method: 'POST', url: '/api/offers', data: { offers } }, OF24ResponseSchema);
    return Number(res.import_id);
  }

  /** OF02. */
  async offerImportStatus(importId: number) {
    return this.call('OF02', { method: 'GET', url: `/api/offers/imports/${importId}` }, OF02ResponseSchema);
  }

  /** OF52: starts an asynchronous offer export; returns the tracking id. */
  async startOfferExport(
    p: { lastRequestDate?: string | Date; includeInactive?: boolean; itemsPerChunk?: number } = {},
  ): Promise<string> {
    const body: Record<string, unknown> = { export_type: 'application/json' };
    if (p.lastRequestDate) body.last_request_date = dateParam(p.lastRequestDate);
    if (p.includeInactive !== undefined) body.include_inactive_offers = p.includeInactive;
    if (p.itemsPerChunk !== undefined) body.items_per_chunk = p.itemsPerChunk;
    return (
      await this.call('OF52', { method: 'POST', url: '/api/offers/export/async', data: body }, OF52ResponseSchema)
    ).tracking_id;
  }

  /** OF53. */
  async offerExportStatus(trackingId: string) {
    return this.call(
      'OF53',
      { method: 'GET', url: `/api/offers/export/async/status/${encodeURIComponent(trackingId)}` },
      OF53ResponseSchema,
    );
  }

  /** OF54: one chunk (JSON export). The URL is absolute and pre-signed: no API key is sent. */
  async offerExportChunk(url: string): Promise<Record<string, unknown>[]> {
    try {
      const res = await axios.get(url, { timeout: this.opts.timeoutMs, responseType: 'json' });
      return Array.isArray(res.data) ? (res.data as Record<string, unknown>[]) : [];
    } catch (err) {
      throw this.classify('OF54', err);
    }
  }

  // ---- accounting -----------------------------------------------------------------------------------
  /**
   * SBC11, one page (seek). Mirakl's guidance is once a day. With `pageToken` the other filters are
   * ignored (the token carries them).
   */
  async listBillingCycles(
    p: {
      ids?: string[];
      payOutStates?: string[];
      startDate?: string | Date;
      endDate?: string | Date;
      limit?: number;
      pageToken?: string;
    } = {},
  ): Promise<{ cycles: SBC11Cycle[]; nextPageToken?: string }> {
    if (p.ids && p.ids.length > 100) throw new RangeError('SBC11 takes at most 100 ids');
    const params = p.pageToken
      ? { page_token: p.pageToken }
      : {
          id: p.ids,
          pay_out_state: p.payOutStates,
          start_date: dateParam(p.startDate),
          end_date: dateParam(p.endDate),
          limit: Math.min(1000, Math.max(1, p.limit ?? 100)),
        };
    const res = await this.call(
      'SBC11',
      // Repeated keys (id=a&id=b), as the OpenAPI's explode: true form style says.
      { method: 'GET', url: '/api/seller-billing-cycles', params, paramsSerializer: { indexes: null } },
      SBC11ResponseSchema,
    );
    return { cycles: res.data, nextPageToken: res.next_page_token ?? undefined };
  }

  /**
   * TL02, one page (seek, `limit` ≤ 2000). Mirakl allows at most 20 calls a minute and 60 an hour per
   * shop, every page counting: callers pace themselves (src/reconciliation/pacer.ts).
   */
  async listTransactionLogs(
    p: { billingCycleId?: string; orderIds?: string[]; types?: string[]; limit?: number; pageToken?: string } = {},
  ): Promise<{ rows: TL02Row[]; nextPageToken?: string }> {
    const params = p.pageToken
      ? { page_token: p.pageToken }
      : {
          seller_billing_cycle_id: p.billingCycleId,
          order_id: p.orderIds,
          transaction_type: p.types,
          limit: Math.min(2000, Math.max(1, p.limit ?? 1000)),
          sort: 'dateCreated,ASC',
        };
    const res = await this.call(
      'TL02',
      {
        method: 'GET',
        url: '/api/sellerpayment/transactions_logs',
        params,
        paramsSerializer: { indexes: null },
      },
      TL02ResponseSchema,
    );
    return { rows: res.data, nextPageToken: res.next_page_token ?? undefined };
  }
}

/** An order OR11 returned that does not have the shape Loopline needs (ORDER_UNREADABLE). */
export interface UnreadableOrder {
  /** The order's id when even that could not be read: undefined. */
  orderId?: string;
  /** The first failing field, e.g. order_lines[2].price. */
  field: string;
  /** What is wrong with it (the schema's words; never the value, which may be personal data). */
  problem: string;
  /** A stable hash of the record, naming it when it has no readable order id. */
  fingerprint: string;
}

export type OrderRecord = { order: MiraklOrder } | { unreadable: UnreadableOrder };

/** One OR11 order, validated on its own. */
export function readOrder(raw: unknown): OrderRecord {
  const parsed = MiraklOrderSchema.safeParse(raw);
  if (parsed.success) return { order: parsed.data };
  const issue = parsed.error.issues[0];
  const id = raw && typeof raw === 'object' ? (raw as { order_id?: unknown }).order_id : undefined;
  return {
    unreadable: {
      orderId: typeof id === 'string' && id.trim() !== '' ? id : undefined,
      field: issue ? fieldPath(issue.path) : '(order)',
      problem: issue?.message ?? 'not an order',
      fingerprint: fnv1a32(JSON.stringify(raw) ?? 'undefined').toString(36),
    },
  };
}

/** ['order_lines', 2, 'price'] → order_lines[2].price */
function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(order)';
  return path.reduce<string>(
    (out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)),
    '',
  );
}
