// Peoplevox integration service client (SOAP 1.1, IntegrationServiceV4), written against the real service:
// point baseUrl at https://wms.peoplevox.net (or emea./ap./qa1.) and it works unchanged.
//   - envelopes built with XMLBuilder, responses read with XMLParser (fast-xml-parser)
//   - session: authenticates lazily, re-authenticates when the session is older than sessionTtlMinutes and
//     on "Invalid Session" (the call is retried once)
//   - every request waits for the pacer, so the ~15 requests / 15 s limit holds by construction
//   - errors become ConnectorError: transport/5xx/429 retryable (classifyHttpError), row-level
//     rejections non-retryable with the row's message (code WMS_REJECTED in the high-level helpers)
import axios, { type AxiosInstance } from 'axios';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { Logger } from 'pino';
import type { Despatch } from '../../domain/order';
import { ConnectorError, classifyHttpError, isRetryableStatus, parseRetryAfter } from '../errors';
import {
  DESPATCH_SUMMARY_REPORT,
  ITEM_INVENTORY_SUMMARY_REPORT,
  ITEM_TYPES_TEMPLATE,
  RETURN_SUMMARY_REPORT,
  SALES_ORDER_ITEMS_TEMPLATE,
  SALES_ORDERS_TEMPLATE,
  despatchesFromReport,
  formatPvxSearchDate,
  returnReceiptsFromReport,
  type ReturnReceipt,
  type PvxRow,
} from './map';
import { RequestPacer } from './pacer';
import type { CallPacer } from '../../temporal/rate-budget-client';
import { outcomeOf, recordApiCall } from '../../metrics/api-calls';

export const PVX_NS = 'http://www.peoplevox.net/';
const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const SYSTEM = 'peoplevox';

/** Zynk caps pages at 1000; larger pages risk the service's own timeouts (A4). */
export const PVX_MAX_PAGE_SIZE = 1000;
export const PVX_DEFAULT_PAGE_SIZE = 500;

/** Columns our rows cannot do without, per template: a tenant template missing one is a configuration error. */
export const REQUIRED_TEMPLATE_COLUMNS: Record<string, string[]> = {
  [SALES_ORDERS_TEMPLATE]: ['SalesOrderNumber'],
  [SALES_ORDER_ITEMS_TEMPLATE]: ['SalesOrderNumber', 'ItemCode', 'QuantityOrdered'],
  [ITEM_TYPES_TEMPLATE]: ['ItemCode'],
};

/** Detail texts on ResponseId -1 that are worth retrying (the service's wording is not documented). */
const TRANSIENT_DETAIL = /too many|rate limit|time ?out|timed out|deadlock|temporar|try again|unavailable|busy/i;
/** "System : Security - Invalid Session" / "... - Session Expired" (both seen in public clients). */
const INVALID_SESSION = /invalid session|session expired/i;

export interface PeoplevoxClientOptions {
  /** e.g. https://wms.peoplevox.net (the client appends /{clientId}/resources/integrationservicev4.asmx). */
  baseUrl: string;
  clientId: string;
  username: string;
  /** The plain password; the client sends it base64-encoded as Authenticate expects. */
  password: string;
  /** Re-authenticate when the session is older than this (default 25; sessions expire after ~30 min idle). */
  sessionTtlMinutes?: number;
  timeoutMs?: number;
  /** Client-side pace (default 1/s = the documented 15 per 15 s). */
  requestsPerSecond?: number;
  /** Requests allowed back to back before pacing starts (default 1). */
  burst?: number;
  /**
   * What each request waits on instead of the in-process pace: a workers' client shares the tenant's budget
   * with every replica through the Temporal server (src/temporal/rate-budget-client.ts).
   */
  pacer?: CallPacer;
  /** Sent as UserSessionCredentials/UserId (clients send 0). */
  userId?: number;
  /** Zone for wall-clock dates in reports and report search clauses (default UTC; see map.ts). */
  timeZone?: string;
  log?: Logger;
}

export interface PvxResult {
  responseId: number;
  totalCount: number;
  detail: string;
  statuses: PvxRowStatus[];
}

export interface PvxRowStatus {
  reference: string;
  status: 'Success' | 'Error' | string;
  lineNo?: number;
  message?: string;
}

/** What became of one row of a batch save. */
export type RowOutcome =
  { outcome: 'saved' } | { outcome: 'refused'; message: string } | { outcome: 'unknown'; hint?: string };

/** Detail that names rows ("Line 3 (…): …"): a row-level refusal a batch can attribute. */
const ROW_REFERENCE = /^\s*Line \d+/m;

export interface SaveResult {
  responseId: number;
  totalCount: number;
  statuses: PvxRowStatus[];
  detail: string;
}

export interface PvxPage {
  rows: Record<string, string>[];
  totalCount: number;
  /** The header the service returned (empty when Detail was empty). */
  columns: string[];
}

export interface ReportRequest {
  searchClause?: string;
  filterClause?: string;
  /** Report column names, without brackets. */
  columns?: string[];
  /** e.g. '[Despatch number]' or '[Despatch date] DESC'. */
  orderBy?: string;
  pageNo?: number;
  itemsPerPage?: number;
}

/** Report columns each read cannot do without (any one of a list of spellings). */
const RETURN_SUMMARY_NEEDS = [
  ['Return code'],
  ['Sales order number', 'Salesorder number'],
  ['Item barcode'],
  ['Quantity'],
];
const DESPATCH_SUMMARY_NEEDS = [['Despatch number'], ['Salesorder number', 'Sales order number'], ['Item code']];
const AVAILABILITY_NEEDS = [['Item code'], ['Available']];

/**
 * Refuses a report page that lacks a column the read needs: the tenant's report was changed, or the
 * service ignored the Columns request. Rows without the column would otherwise read as empty or zero.
 */
export function requireReportColumns(report: string, page: PvxPage, needs: string[][]): void {
  if (page.columns.length === 0) return; // nothing returned at all: no rows to misread
  const missing = needs.filter((names) => !names.some((n) => findColumn(page.columns, n))).map((n) => n[0]!);
  if (missing.length > 0) {
    throw new ConnectorError(
      SYSTEM,
      'GetReportData',
      `report '${report}' has no ${missing.map((m) => `'${m}'`).join(', ')} column (it returned: ${page.columns.join(', ')})`,
      false,
      { code: 'REPORT_MISSING_COLUMN', detail: missing.join(', ') },
    );
  }
}

/**
 * Item availability rows from an 'Item inventory summary' page: the columns must be there, and a row whose
 * Available is not a whole number is left out (and logged) rather than read as 0.
 */
export function availabilityRows(
  page: PvxPage,
  log?: Logger,
): Array<{ itemCode: string; available: number; siteReference?: string }> {
  requireReportColumns(ITEM_INVENTORY_SUMMARY_REPORT, page, AVAILABILITY_NEEDS);
  const code = findColumn(page.columns, 'Item code') ?? 'Item code';
  const avail = findColumn(page.columns, 'Available') ?? 'Available';
  const site = findColumn(page.columns, 'Site reference');
  const out: Array<{ itemCode: string; available: number; siteReference?: string }> = [];
  let unreadable = 0;
  for (const r of page.rows) {
    const itemCode = r[code]?.trim();
    if (!itemCode) continue;
    const raw = (r[avail] ?? '').trim();
    if (!/^-?\d+(\.\d+)?$/.test(raw)) {
      unreadable++;
      continue;
    }
    out.push({
      itemCode,
      available: Math.max(0, Math.trunc(Number(raw))),
      ...(site && r[site] ? { siteReference: r[site] } : {}),
    });
  }
  if (unreadable > 0) log?.warn({ unreadable }, 'availability rows without a readable Available figure were left out');
  return out;
}

export interface WmsSalesOrder {
  salesOrderNumber: string;
  status: string;
  itemCount: number;
  row: Record<string, string>;
}

/** A string literal for a SearchClause ("" doubles a quote, as Dynamic LINQ reads it). */
export function clauseString(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => name === 'IntegrationStatusResponse',
});
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true });

function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') {
    const t = (v as Record<string, unknown>)['#text'];
    return t === undefined ? '' : String(t);
  }
  return String(v);
}

/** A CSV Detail: its header (the columns the service actually returned) and rows keyed by it. */
function parseCsvDetail(detail: string): { columns: string[]; rows: Record<string, string>[] } {
  if (!detail || detail.trim() === '') return { columns: [], rows: [] };
  const records = parseCsv(detail, { skip_empty_lines: true, relax_column_count: true, bom: true }) as string[][];
  const columns = (records[0] ?? []).map((c) => c.trim());
  const rows = records.slice(1).map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? ''])));
  return { columns, rows };
}

/** A column of a report or template, matched without regard to case (names vary in case between tenants). */
function findColumn(columns: readonly string[], name: string): string | undefined {
  const lc = name.toLowerCase();
  return columns.find((c) => c.toLowerCase() === lc);
}

export class PeoplevoxClient {
  readonly endpoint: string;
  private readonly http: AxiosInstance;
  private readonly pacer: CallPacer;
  private readonly ttlMs: number;
  private readonly timeZone: string;
  // One session and one template cache for this client and every view of it (withPacer).
  private readonly state: {
    session: { id: string; at: number } | undefined;
    authenticating: Promise<string> | undefined;
    templates: Map<string, Promise<string[]>>;
  };

  constructor(
    private readonly opts: PeoplevoxClientOptions,
    shared?: PeoplevoxClient,
  ) {
    this.state = shared?.state ?? { session: undefined, authenticating: undefined, templates: new Map() };
    this.endpoint = `${opts.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(opts.clientId)}/resources/integrationservicev4.asmx`;
    this.http = axios.create({
      timeout: opts.timeoutMs ?? 30_000,
      responseType: 'text',
      transformResponse: (d: unknown) => d,
    });
    this.pacer = opts.pacer ?? new RequestPacer(opts.requestsPerSecond ?? 1, opts.burst ?? 1);
    this.ttlMs = (opts.sessionTtlMinutes ?? 25) * 60_000;
    this.timeZone = opts.timeZone ?? 'UTC';
  }

  /**
   * The same tenant, session and template cache, with requests paced by `pacer` (order-critical calls and reads
   * take their lanes from different classes of one shared budget).
   */
  withPacer(pacer: CallPacer): PeoplevoxClient {
    return new PeoplevoxClient({ ...this.opts, pacer }, this);
  }

  // ------------------------------------------------------------------ transport

  private envelope(op: string, body: Record<string, unknown>, sessionId?: string): string {
    const env: Record<string, unknown> = {
      '@_xmlns:soap': SOAP_NS,
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
    };
    if (sessionId !== undefined) {
      env['soap:Header'] = {
        UserSessionCredentials: {
          '@_xmlns': PVX_NS,
          UserId: this.opts.userId ?? 0,
          ClientId: this.opts.clientId,
          SessionId: sessionId,
        },
      };
    }
    env['soap:Body'] = { [op]: { '@_xmlns': PVX_NS, ...body } };
    return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'utf-8' }, 'soap:Envelope': env }) as string;
  }

  private soapFaultError(op: string, status: number, data: unknown, headers: unknown): ConnectorError | undefined {
    if (typeof data !== 'string' || !/Fault/.test(data)) return undefined;
    try {
      const doc = parser.parse(data) as Record<string, unknown>;
      const fault = ((doc.Envelope as Record<string, unknown> | undefined)?.Body as Record<string, unknown> | undefined)
        ?.Fault as Record<string, unknown> | undefined;
      if (!fault) return undefined;
      const code = str(fault.faultcode);
      const message = str(fault.faultstring).trim() || 'SOAP fault';
      // Client faults are our request's fault; server faults and throttling are worth another try.
      const retryable = status === 429 || (isRetryableStatus(status) && !/Client$/i.test(code));
      const retryAfter = (headers as Record<string, unknown> | undefined)?.['retry-after'];
      // The fault string is the server's text (it can quote the request): detail only.
      const safeCode = /^[A-Za-z0-9:_.-]{1,60}$/.test(code) ? ` ${code}` : '';
      return new ConnectorError(SYSTEM, op, `HTTP ${status} SOAP fault${safeCode}`, retryable, {
        status,
        retryAfterMs: parseRetryAfter(retryAfter),
        code: status === 429 ? 'RATE_LIMITED' : 'SOAP_FAULT',
        detail: message,
      });
    } catch {
      return undefined;
    }
  }

  /** One paced HTTP round trip; returns the IntegrationResponse. */
  private async invoke(op: string, body: Record<string, unknown>, sessionId?: string): Promise<PvxResult> {
    const xml = this.envelope(op, body, sessionId);
    let done: (() => void) | void;
    try {
      done = await this.pacer.take();
    } catch (err) {
      throw new ConnectorError(SYSTEM, op, 'no lane from the shared rate budget', true, {
        code: 'RATE_BUDGET_UNAVAILABLE',
        detail: err instanceof Error ? err.message : String(err),
      });
    }
    let data: string;
    const started = Date.now();
    try {
      const res = await this.http.post<string>(this.endpoint, xml, {
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${PVX_NS}${op}"` },
      });
      data = typeof res.data === 'string' ? res.data : String(res.data);
      recordApiCall(SYSTEM, op, 'ok', Date.now() - started);
    } catch (err) {
      let e: unknown = classifyHttpError(SYSTEM, op, err);
      if (axios.isAxiosError(err) && err.response) {
        e = this.soapFaultError(op, err.response.status, err.response.data, err.response.headers) ?? e;
      }
      recordApiCall(SYSTEM, op, outcomeOf(e), Date.now() - started);
      throw e;
    } finally {
      // The call is over (it reached Peoplevox, if it ever will): a shared budget counts it from now.
      done?.();
    }
    let doc: Record<string, unknown>;
    try {
      doc = parser.parse(data) as Record<string, unknown>;
    } catch (err) {
      throw new ConnectorError(SYSTEM, op, 'unreadable response (not XML)', true, {
        detail: err instanceof Error ? err.message : String(err),
      });
    }
    const bodyEl = (doc.Envelope as Record<string, unknown> | undefined)?.Body as Record<string, unknown> | undefined;
    const result = (bodyEl?.[`${op}Response`] as Record<string, unknown> | undefined)?.[`${op}Result`] as
      Record<string, unknown> | undefined;
    if (!result) {
      const fault = this.soapFaultError(op, 500, data, {});
      if (fault) throw fault;
      throw new ConnectorError(SYSTEM, op, `response has no ${op}Result`, true, { detail: data.slice(0, 500) });
    }
    // ResponseId decides success (0) or failure (-1) in every public client; a response without one is not
    // a success we can trust (a proxy's error page, a truncated body), so it is retried, never read as 0.
    const responseIdText = str(result.ResponseId).trim();
    if (!/^-?\d+$/.test(responseIdText)) {
      throw new ConnectorError(SYSTEM, op, `response has no ResponseId (got '${responseIdText}')`, true, {
        code: 'PVX_MALFORMED',
        detail: str(result.Detail).slice(0, 500),
      });
    }
    const statusesEl = result.Statuses as Record<string, unknown> | undefined;
    const statusRows = (statusesEl?.IntegrationStatusResponse as Record<string, unknown>[] | undefined) ?? [];
    return {
      responseId: Number(responseIdText),
      totalCount: Number(str(result.TotalCount).trim() || '0'),
      detail: str(result.Detail),
      statuses: statusRows.map((s) => {
        const lineNo = str(s.LineNo).trim();
        const message = str(s.Message).trim();
        return {
          reference: str(s.Reference).trim(),
          status: str(s.Status).trim(),
          ...(lineNo ? { lineNo: Number(lineNo) } : {}),
          ...(message ? { message } : {}),
        };
      }),
    };
  }

  /** Authenticates now (normally lazy). Returns the session id. */
  async authenticate(): Promise<string> {
    this.state.authenticating ??= (async () => {
      const r = await this.invoke('Authenticate', {
        clientId: this.opts.clientId,
        username: this.opts.username,
        password: Buffer.from(this.opts.password, 'utf8').toString('base64'),
      });
      if (r.responseId !== 0) {
        const transient = TRANSIENT_DETAIL.test(r.detail);
        throw new ConnectorError(SYSTEM, 'Authenticate', 'authentication failed (ResponseId -1)', transient, {
          code: transient ? 'PVX_TRANSIENT' : 'AUTH_FAILED',
          detail: r.detail,
        });
      }
      const [, sessionId] = r.detail.split(',');
      if (!sessionId?.trim())
        // Never quote this Detail: it is where the session id would be.
        throw new ConnectorError(SYSTEM, 'Authenticate', 'unexpected Detail (no session id)', false);
      this.state.session = { id: sessionId.trim(), at: Date.now() };
      this.opts.log?.debug({ clientId: this.opts.clientId }, 'peoplevox session started');
      return this.state.session.id;
    })().finally(() => {
      this.state.authenticating = undefined;
    });
    return this.state.authenticating;
  }

  private async sessionId(): Promise<string> {
    if (this.state.session && Date.now() - this.state.session.at < this.ttlMs) return this.state.session.id;
    return this.authenticate();
  }

  /** A session-bearing call: re-authenticates once on "Invalid Session"; other -1 responses are returned. */
  async call(op: string, body: Record<string, unknown>): Promise<PvxResult> {
    const sid = await this.sessionId();
    let r = await this.invoke(op, body, sid);
    if (r.responseId !== 0 && INVALID_SESSION.test(r.detail)) {
      this.opts.log?.info({ op }, 'peoplevox session invalid; re-authenticating');
      if (this.state.session?.id === sid) this.state.session = undefined;
      const fresh = await this.sessionId();
      r = await this.invoke(op, body, fresh);
      if (r.responseId !== 0 && INVALID_SESSION.test(r.detail)) {
        this.state.session = undefined;
        throw new ConnectorError(SYSTEM, op, 'Invalid Session after re-authentication', true, {
          code: 'INVALID_SESSION',
          detail: r.detail,
        });
      }
    }
    return r;
  }

  private failure(op: string, r: PvxResult): ConnectorError {
    const detail = r.detail.trim() || 'ResponseId -1 without detail';
    const transient = TRANSIENT_DETAIL.test(detail);
    const code = transient ? 'PVX_TRANSIENT' : 'PVX_ERROR';
    return new ConnectorError(SYSTEM, op, `ResponseId -1 (${code})`, transient, { code, detail });
  }

  // ------------------------------------------------------------------ operations

  /** The tenant's column list for a template (cached per client). */
  async getSaveTemplate(templateName: string): Promise<string[]> {
    let cached = this.state.templates.get(templateName);
    if (!cached) {
      cached = this.call('GetSaveTemplate', { templateName }).then((r) => {
        if (r.responseId !== 0) throw this.failure('GetSaveTemplate', r);
        return r.detail
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean);
      });
      this.state.templates.set(templateName, cached);
      cached.catch(() => this.state.templates.delete(templateName));
    }
    return cached;
  }

  /**
   * SaveData with CSV built from the tenant's template: only columns the template has are sent (others
   * are dropped and logged); a required column missing from the template is a non-retryable error.
   * Row-level errors are returned in `statuses` (ResponseId -1); a -1 without statuses throws.
   */
  async saveData(
    templateName: string,
    rows: PvxRow[],
    action = 0,
    opts: {
      required?: string[];
      /**
       * Several records at once (a batch): a refusal of some rows is returned (statuses, Detail) for the caller
       * to attribute row by row, never thrown; only a failure of the request itself throws.
       */
      partial?: boolean;
    } = {},
  ): Promise<SaveResult> {
    const template = await this.getSaveTemplate(templateName);
    const byLower = new Map(template.map((c) => [c.toLowerCase(), c]));
    for (const req of opts.required ?? REQUIRED_TEMPLATE_COLUMNS[templateName] ?? []) {
      if (!byLower.has(req.toLowerCase())) {
        throw new ConnectorError(SYSTEM, 'SaveData', `template '${templateName}' has no column '${req}'`, false, {
          code: 'TEMPLATE_MISSING_COLUMN',
          detail: req,
        });
      }
    }
    const used = new Set<string>();
    const dropped = new Set<string>();
    const mapped = rows.map((row) => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(row)) {
        if (v === undefined || v === null || v === '') continue;
        const column = byLower.get(k.toLowerCase());
        if (!column) {
          dropped.add(k);
          continue;
        }
        used.add(column);
        out[column] = typeof v === 'number' ? String(v) : v;
      }
      return out;
    });
    if (dropped.size)
      this.opts.log?.debug({ templateName, dropped: [...dropped] }, 'columns not in the tenant template were not sent');
    const columns = template.filter((c) => used.has(c));
    const csv = stringifyCsv(mapped, { header: true, columns });
    const r = await this.call('SaveData', {
      saveRequest: { TemplateName: templateName, CsvData: csv, Action: action },
    });
    // Success is decided the way public clients decide it: ResponseId 0, with TotalCount the rows saved.
    // Statuses (one row each) are read when the service sends them, but no public client relies on them.
    if (r.responseId !== 0 && r.statuses.length === 0) {
      // A template changed under us shows up as an unknown column: forget the cached list.
      if (/column/i.test(r.detail)) this.state.templates.delete(templateName);
      const failure = this.failure('SaveData', r);
      if (opts.partial && !failure.retryable && ROW_REFERENCE.test(r.detail)) return { ...r, statuses: [] };
      // A row-level refusal without Statuses: the Detail carries it (as it does with them).
      if (!failure.retryable) {
        throw new ConnectorError(SYSTEM, 'SaveData', `${templateName}: ${failure.message}`, false, {
          code: 'WMS_REJECTED',
          detail: r.detail.trim() || 'rejected',
        });
      }
      throw failure;
    }
    if (!opts.partial && r.responseId === 0 && r.statuses.length === 0 && r.totalCount < rows.length) {
      throw new ConnectorError(
        SYSTEM,
        'SaveData',
        `${templateName}: Peoplevox saved ${r.totalCount} of ${rows.length} row(s) and said nothing about the rest`,
        false,
        { code: 'WMS_REJECTED', detail: r.detail.trim() || `saved ${r.totalCount} of ${rows.length}` },
      );
    }
    const detailLines = r.detail.split(/\r?\n/).filter(Boolean);
    return {
      responseId: r.responseId,
      totalCount: r.totalCount,
      detail: r.detail,
      statuses: r.statuses.map((s) =>
        s.status === 'Error' && !s.message
          ? {
              ...s,
              message:
                detailLines.find((l) => s.reference && l.includes(s.reference)) ?? (r.detail.trim() || 'rejected'),
            }
          : s,
      ),
    };
  }

  async getData(
    templateName: string,
    searchClause = '',
    page: { pageNo?: number; itemsPerPage?: number } = {},
  ): Promise<PvxPage> {
    const r = await this.call('GetData', {
      getRequest: {
        TemplateName: templateName,
        PageNo: page.pageNo ?? 1,
        ItemsPerPage: Math.min(page.itemsPerPage ?? PVX_DEFAULT_PAGE_SIZE, PVX_MAX_PAGE_SIZE),
        SearchClause: searchClause,
      },
    });
    if (r.responseId !== 0) throw this.failure('GetData', r);
    return { ...parseCsvDetail(r.detail), totalCount: r.totalCount };
  }

  /** Every page of GetData until TotalCount rows are read. */
  async getAllData(
    templateName: string,
    searchClause = '',
    opts: { itemsPerPage?: number } = {},
  ): Promise<Record<string, string>[]> {
    return this.pageAll(
      (pageNo, itemsPerPage) => this.getData(templateName, searchClause, { pageNo, itemsPerPage }),
      opts.itemsPerPage,
    );
  }

  async getReportData(templateName: string, req: ReportRequest = {}): Promise<PvxPage> {
    const r = await this.call('GetReportData', {
      getReportRequest: {
        TemplateName: templateName,
        PageNo: req.pageNo ?? 1,
        ItemsPerPage: Math.min(req.itemsPerPage ?? PVX_DEFAULT_PAGE_SIZE, PVX_MAX_PAGE_SIZE),
        SearchClause: req.searchClause ?? '',
        FilterClause: req.filterClause ?? '',
        OrderBy: req.orderBy ?? '',
        Columns: req.columns?.length ? req.columns.map((c) => `[${c}]`).join(',') : '',
      },
    });
    if (r.responseId !== 0) throw this.failure('GetReportData', r);
    return { ...parseCsvDetail(r.detail), totalCount: r.totalCount };
  }

  async getAllReportData(
    templateName: string,
    req: Omit<ReportRequest, 'pageNo'> = {},
  ): Promise<Record<string, string>[]> {
    return (await this.getWholeReport(templateName, req)).rows;
  }

  /**
   * Every page of a report, with the columns the service returned. Each page is its own request, paced
   * like every other (a report of 50,000 items at 1,000 a page is 50 requests); `onPage` hears of each.
   */
  async getWholeReport(
    templateName: string,
    req: Omit<ReportRequest, 'pageNo'> = {},
    onPage?: (p: { pageNo: number; rows: number; totalCount: number }) => void,
  ): Promise<PvxPage> {
    return this.pages(
      (pageNo, itemsPerPage) => this.getReportData(templateName, { ...req, pageNo, itemsPerPage }),
      req.itemsPerPage,
      onPage,
    );
  }

  private async pageAll(
    fetch: (pageNo: number, itemsPerPage: number) => Promise<PvxPage>,
    itemsPerPage = PVX_DEFAULT_PAGE_SIZE,
  ): Promise<Record<string, string>[]> {
    return (await this.pages(fetch, itemsPerPage)).rows;
  }

  private async pages(
    fetch: (pageNo: number, itemsPerPage: number) => Promise<PvxPage>,
    itemsPerPage = PVX_DEFAULT_PAGE_SIZE,
    onPage?: (p: { pageNo: number; rows: number; totalCount: number }) => void,
  ): Promise<PvxPage> {
    const size = Math.max(1, Math.min(itemsPerPage, PVX_MAX_PAGE_SIZE));
    const out: PvxPage = { rows: [], columns: [], totalCount: 0 };
    for (let pageNo = 1; ; pageNo++) {
      const page = await fetch(pageNo, size);
      if (out.columns.length === 0) out.columns = page.columns;
      out.totalCount = page.totalCount;
      for (const r of page.rows) out.rows.push(r);
      onPage?.({ pageNo, rows: out.rows.length, totalCount: page.totalCount });
      if (page.rows.length === 0 || out.rows.length >= page.totalCount || page.rows.length < size) return out;
      if (pageNo > Math.ceil(page.totalCount / size) + 1) return out;
    }
  }

  async subscribeEvent(
    eventType: string,
    callbackUrl: string,
    opts: { filter?: string; encodeParameterData?: boolean } = {},
  ): Promise<number> {
    const body: Record<string, unknown> = { eventType, filter: opts.filter ?? '', callbackUrl };
    if (opts.encodeParameterData !== undefined) body.encodeParameterData = opts.encodeParameterData;
    return this.subscriptionId('SubscribeEvent', await this.call('SubscribeEvent', body));
  }

  async subscribePostEvent(
    eventType: string,
    postUrl: string,
    postParams: string,
    opts: { filter?: string; encodeParameterData?: boolean } = {},
  ): Promise<number> {
    const body: Record<string, unknown> = { eventType, filter: opts.filter ?? '', postUrl, postParams };
    if (opts.encodeParameterData !== undefined) body.encodeParameterData = opts.encodeParameterData;
    return this.subscriptionId('SubscribePostEvent', await this.call('SubscribePostEvent', body));
  }

  private subscriptionId(op: string, r: PvxResult): number {
    if (r.responseId !== 0) throw this.failure(op, r);
    const id = Number(r.detail.trim());
    if (!Number.isInteger(id))
      throw new ConnectorError(SYSTEM, op, 'unexpected subscription id', false, { detail: r.detail });
    return id;
  }

  /** True when Peoplevox removed it ("True"); false when it did not know the id. */
  async unsubscribeEvent(subscriptionId: number): Promise<boolean> {
    const r = await this.call('UnsubscribeEvent', { subscriptionId });
    if (r.responseId !== 0) {
      if (/not found|does not exist/i.test(r.detail)) return false;
      throw this.failure('UnsubscribeEvent', r);
    }
    return r.detail.trim().toLowerCase() === 'true';
  }

  // ------------------------------------------------------------------ helpers for activities

  /** The sales order and how many item lines it has, or undefined when Peoplevox does not know it. */
  async findSalesOrder(salesOrderNumber: string): Promise<WmsSalesOrder | undefined> {
    const clause = `SalesOrderNumber.Equals(${clauseString(salesOrderNumber)})`;
    const orders = await this.getData(SALES_ORDERS_TEMPLATE, clause, { pageNo: 1, itemsPerPage: 1 });
    const row = orders.rows.find((r) => r.SalesOrderNumber === salesOrderNumber) ?? orders.rows[0];
    if (!row) return undefined;
    const items = await this.getData(SALES_ORDER_ITEMS_TEMPLATE, clause, { pageNo: 1, itemsPerPage: 1 });
    return { salesOrderNumber, status: row.Status ?? '', itemCount: items.totalCount, row };
  }

  private rejectOnErrorRows(templateName: string, result: SaveResult) {
    const bad = result.statuses.filter((s) => s.status !== 'Success');
    if (bad.length === 0) return;
    const message = bad.map((s) => `${s.reference}: ${s.message ?? s.status}`).join('; ');
    // References (sales order number, item code) are ours; the row messages are Peoplevox's text.
    const refs = bad.map((s) => s.reference).filter(Boolean);
    throw new ConnectorError(
      SYSTEM,
      'SaveData',
      `${templateName} rejected ${bad.length} row(s)${refs.length ? `: ${refs.slice(0, 5).join(', ')}` : ''}`,
      false,
      { code: 'WMS_REJECTED', detail: bad[0]?.message ?? message },
    );
  }

  /**
   * Saves the order row, then its item rows, checking every status row. Saving again is safe: Peoplevox
   * upserts by SalesOrderNumber (and line), so a retry after a lost response updates rather than duplicates.
   */
  async createSalesOrder(
    orderRow: PvxRow,
    itemRows: PvxRow[],
    opts: { action?: number } = {},
  ): Promise<{ salesOrderNumber: string }> {
    const salesOrderNumber = String(orderRow.SalesOrderNumber ?? '');
    if (!salesOrderNumber)
      throw new ConnectorError(SYSTEM, 'SaveData', 'order row has no SalesOrderNumber', false, {
        code: 'WMS_REJECTED',
      });
    const order = await this.saveData(SALES_ORDERS_TEMPLATE, [orderRow], opts.action ?? 0);
    this.rejectOnErrorRows(SALES_ORDERS_TEMPLATE, order);
    if (itemRows.length) {
      const items = await this.saveData(SALES_ORDER_ITEMS_TEMPLATE, itemRows, opts.action ?? 0);
      this.rejectOnErrorRows(SALES_ORDER_ITEMS_TEMPLATE, items);
    }
    return { salesOrderNumber };
  }

  /**
   * Which of these sales orders Peoplevox has, with their reference (CustomerPurchaseOrderReferenceNumber):
   * one GetData call for up to PVX_MAX_PAGE_SIZE numbers (an OR of Equals clauses).
   */
  async findSalesOrders(salesOrderNumbers: string[]): Promise<Map<string, { status: string; reference: string }>> {
    const out = new Map<string, { status: string; reference: string }>();
    if (salesOrderNumbers.length === 0) return out;
    const clause = salesOrderNumbers.map((n) => `SalesOrderNumber.Equals(${clauseString(n)})`).join(' OR ');
    const page = await this.getData(SALES_ORDERS_TEMPLATE, clause, {
      pageNo: 1,
      itemsPerPage: salesOrderNumbers.length,
    });
    for (const row of page.rows) {
      const son = row.SalesOrderNumber ?? '';
      if (salesOrderNumbers.includes(son))
        out.set(son, { status: row.Status ?? '', reference: (row.CustomerPurchaseOrderReferenceNumber ?? '').trim() });
    }
    return out;
  }

  /**
   * Saves rows of one template in one call and tells, row by row, what became of each: saved, refused (with
   * Peoplevox's message) or unknown (the answer did not say; the caller looks before it trusts either).
   * Statuses (one per row, LineNo) are used when sent; else a refusal's Detail lines name the row
   * ("Line 3 (ASOS-1): …").
   */
  async saveRows(templateName: string, rows: PvxRow[], action = 0): Promise<RowOutcome[]> {
    if (rows.length === 0) return [];
    const r = await this.saveData(templateName, rows, action, { partial: true });
    if (r.statuses.length > 0) {
      return rows.map((_, i) => {
        const st = r.statuses.find((x) => x.lineNo === i + 1) ?? r.statuses[i];
        if (!st) return { outcome: 'unknown' as const };
        return st.status === 'Success'
          ? { outcome: 'saved' as const }
          : { outcome: 'refused' as const, message: st.message ?? st.status };
      });
    }
    if (r.responseId === 0 && r.totalCount >= rows.length) return rows.map(() => ({ outcome: 'saved' as const }));
    const lines = r.detail.split(/\r?\n/).filter(Boolean);
    return rows.map((row, i) => {
      const said = lines.find((l) => new RegExp(`^Line ${i + 1}\\b`).test(l.trim()));
      if (said) return { outcome: 'refused' as const, message: said.replace(/^Line \d+\s*(\([^)]*\))?:?\s*/, '') };
      // A refusal that names other rows saved this one only if Peoplevox saves rows independently: look.
      return { outcome: 'unknown' as const, hint: String(row.SalesOrderNumber ?? '') };
    });
  }

  /**
   * Sets Status to Cancelled. Peoplevox refuses once picking has started: that comes back as
   * { cancelled: false, status } rather than an error, so the caller can decide (e.g. refuse the
   * marketplace cancellation). Cancelling a cancelled order is a no-op success. Success is ResponseId 0
   * (Statuses are not needed); a refusal is read from the row's status when there is one, else from Detail.
   */
  async cancelSalesOrder(
    salesOrderNumber: string,
    cancelledStatus = 'Cancelled',
  ): Promise<{ cancelled: boolean; status: string }> {
    const refusal = (text: string | undefined) => /cannot cancel: order is ([^\n.;]+)/i.exec(text ?? '')?.[1]?.trim();
    let r: SaveResult;
    try {
      r = await this.saveData(
        SALES_ORDERS_TEMPLATE,
        [{ SalesOrderNumber: salesOrderNumber, Status: cancelledStatus }],
        0,
        { required: ['SalesOrderNumber', 'Status'] },
      );
    } catch (err) {
      const status = err instanceof ConnectorError ? refusal(err.opts.detail) : undefined;
      if (status) return { cancelled: false, status };
      throw err;
    }
    const row = r.statuses[0];
    if (r.responseId === 0 && (!row || row.status === 'Success')) return { cancelled: true, status: cancelledStatus };
    const status = refusal(row?.message) ?? refusal(r.detail);
    if (status) return { cancelled: false, status };
    this.rejectOnErrorRows(SALES_ORDERS_TEMPLATE, r);
    throw new ConnectorError(SYSTEM, 'SaveData', `the cancellation was not confirmed: ${r.detail.trim()}`, false, {
      code: 'WMS_REJECTED',
      detail: r.detail.trim() || 'no confirmation',
    });
  }

  /** Despatches from the 'Despatch summary' report, grouped per despatch number. */
  async listDespatches(q: { sinceIso?: string; salesOrderNumber?: string } = {}): Promise<Despatch[]> {
    const parts: string[] = [];
    if (q.salesOrderNumber) parts.push(`([Salesorder number].Equals(${clauseString(q.salesOrderNumber)}))`);
    // Report dates are compared with DateTime(y,m,d,h,mi,s), the form public clients use.
    if (q.sinceIso) parts.push(`([Despatch date] >= ${formatPvxSearchDate(q.sinceIso, this.timeZone)})`);
    const report = await this.getWholeReport(DESPATCH_SUMMARY_REPORT, {
      searchClause: parts.join(' AND '),
      orderBy: '[Despatch number]',
      itemsPerPage: PVX_MAX_PAGE_SIZE,
    });
    requireReportColumns(DESPATCH_SUMMARY_REPORT, report, DESPATCH_SUMMARY_NEEDS);
    return despatchesFromReport(report.rows, this.timeZone);
  }

  /**
   * 'Item inventory summary': available per item code (and site). A report without the Item code or
   * Available column is refused, never read as zeros (that would push a sell-out of the whole catalogue).
   */
  async listAvailability(
    opts: { onPage?: (p: { pageNo: number; rows: number; totalCount: number }) => void } = {},
  ): Promise<Array<{ itemCode: string; available: number; siteReference?: string }>> {
    const report = await this.getWholeReport(
      ITEM_INVENTORY_SUMMARY_REPORT,
      {
        columns: ['Item code', 'Available', 'Site reference'],
        // A stable order, so a page boundary never moves an item between two pages while the report is read.
        orderBy: '[Item code]',
        itemsPerPage: PVX_MAX_PAGE_SIZE,
      },
      opts.onPage,
    );
    return availabilityRows(report, this.opts.log);
  }

  /**
   * Returns booked in at the warehouse since `sinceIso` ('Return summary', the backstop of the Returns event;
   * report dates have minute precision, so callers overlap their windows and dedupe by return code).
   */
  async listReturnReceipts(q: { sinceIso?: string } = {}): Promise<ReturnReceipt[]> {
    const report = await this.getWholeReport(RETURN_SUMMARY_REPORT, {
      searchClause: q.sinceIso ? `([Return date] >= ${formatPvxSearchDate(q.sinceIso, this.timeZone)})` : '',
      orderBy: '[Return code]',
      itemsPerPage: PVX_MAX_PAGE_SIZE,
    });
    requireReportColumns(RETURN_SUMMARY_REPORT, report, RETURN_SUMMARY_NEEDS);
    return returnReceiptsFromReport(report.rows, this.timeZone);
  }

  /** Barcode → ItemCode from the 'Item types' template (the Return summary names items by barcode). */
  async itemCodesByBarcode(): Promise<Map<string, string>> {
    const rows = await this.getAllData(ITEM_TYPES_TEMPLATE, '', { itemsPerPage: PVX_MAX_PAGE_SIZE });
    const out = new Map<string, string>();
    for (const r of rows) if (r.Barcode && r.ItemCode) out.set(r.Barcode.trim(), r.ItemCode.trim());
    return out;
  }

  /** Every ItemCode from the 'Item types' template. */
  async listItemCodes(): Promise<string[]> {
    const rows = await this.getAllData(ITEM_TYPES_TEMPLATE, '', { itemsPerPage: PVX_MAX_PAGE_SIZE });
    return rows.map((r) => r.ItemCode ?? '').filter(Boolean);
  }
}
