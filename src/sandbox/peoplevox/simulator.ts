// The Peoplevox integration service (SOAP 1.1, IntegrationServiceV4) for one client id, plus its control
// API. Served at the tenant's real path so a connector only changes its base URL:
//   POST /peoplevox/{clientId}/resources/integrationservicev4.asmx   (also .../Resources/...)
//   GET  same path ?wsdl
//   /control/peoplevox/{clientId}/...                                (docs/sandbox/peoplevox.md)
import axios from 'axios';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { z } from 'zod';
import type { CatalogueItem } from '../catalogue';
import type { SandboxContext } from '../context';
import { withFault, type FaultKind } from '../core/faults';
import type { SandboxSystem } from '../server';
import { SearchClauseError, compileSearchClause, parseLooseDate } from './search-clause';
import {
  child,
  parseSoapRequest,
  PVX_NS,
  PVX_OPERATIONS,
  soapFault,
  soapResponse,
  text,
  wsdl,
  type IntegrationResponse,
} from './soap';
import { PeoplevoxStore, StoreError, type SimSubscription } from './store';
import { SALES_ORDERS, SALES_ORDER_ITEMS, type PvxStatusRole } from './templates';

/** The documented limit (second-hand, A4): about 15 requests per 15 seconds per client. */
export const PVX_RATE_LIMIT = { max: 15, windowMs: 15_000 } as const;
/**
 * What the simulator answers when the limit is exceeded. The real behaviour is undocumented; we chose
 * HTTP 429 with Retry-After (seconds) and a SOAP Fault body, so a client that ignores the limit fails loudly.
 */
export const PVX_RATE_LIMIT_RESPONSE_STATUS = 429;
export const PVX_INVALID_SESSION_DETAIL = 'Invalid Session';
export const PVX_DEFAULT_SESSION_IDLE_MS = 30 * 60_000;
export const PVX_CALLBACK_TIMEOUT_MS = 5_000;

export interface PeoplevoxSimulatorOptions {
  clientId: string;
  username: string;
  password: string;
  catalogue: CatalogueItem[];
  /** Idle time after which a session is invalid (default 30 min), divided by ctx.timeScale. */
  sessionIdleMs?: number;
  /** Status names: positional [new, allocated, picking, packing, despatched, cancelled, onHold, partiallyDespatched] or by role. */
  statuses?: string[] | Partial<Record<PvxStatusRole, string>>;
  /** Per-tenant integration template columns (defaults: the contract's default columns). */
  templates?: Record<string, string[]>;
  siteReference?: string;
  /**
   * Whether SaveData answers carry Statuses (one IntegrationStatusResponse per row). The WSDL declares
   * them, but no public client reads them, so whether a live tenant fills them in is unknown; clients must
   * work from ResponseId, TotalCount and Detail alone (default true; tests turn it off).
   */
  saveStatuses?: boolean;
}

const FAULT_STATUS: Record<FaultKind, number> = { error5xx: 503, rateLimit429: 429, timeout: 504, lostResponse: 0 };

function pageOf<T>(rows: T[], pageNoRaw: string, perPageRaw: string): T[] {
  const perPage = Math.max(0, Number(perPageRaw) || 0);
  if (perPage === 0) return rows;
  const pageNo = Math.max(1, Number(pageNoRaw) || 1);
  return rows.slice((pageNo - 1) * perPage, pageNo * perPage);
}

function toCsv(columns: string[], rows: Record<string, string>[]): string {
  return stringifyCsv(rows, { header: true, columns, record_delimiter: '\r\n' });
}

/** `[A],[B]` or `A,B` → column names. */
function splitColumnList(s: string): string[] {
  const bracketed = [...s.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]!.trim());
  if (bracketed.length) return bracketed;
  return s
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
}

function sortRows(rows: Record<string, string>[], orderBy: string, columns: string[]): Record<string, string>[] {
  const keys = orderBy
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^\[?([^\]]+?)\]?(?:\s+(ASC|DESC))?$/i.exec(part);
      if (!m) throw new StoreError(`Invalid OrderBy '${orderBy}'`);
      const col = columns.find((c) => c.toLowerCase() === m[1]!.trim().toLowerCase());
      if (!col) throw new StoreError(`Invalid OrderBy: unknown column '${m[1]}'`);
      return { col, dir: m[2]?.toUpperCase() === 'DESC' ? -1 : 1 };
    });
  // Each value is read once (a date, a number, or text), not at every comparison: a report of 50,000 items
  // is sorted for every page that is asked for.
  type Key = { text: string; date: number | undefined; num: number | undefined };
  const keyOf = (v: string): Key => {
    const n = Number(v);
    return { text: v, date: parseLooseDate(v), num: v !== '' && !Number.isNaN(n) ? n : undefined };
  };
  const cmp = (a: Key, b: Key) => {
    if (a.date !== undefined && b.date !== undefined) return a.date - b.date;
    if (a.num !== undefined && b.num !== undefined) return a.num - b.num;
    // Code-unit order: a stable total order, cheap enough for 50,000 rows on every page.
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  };
  const decorated = rows.map((row) => ({ row, keys: keys.map((k) => keyOf(row[k.col] ?? '')) }));
  decorated.sort((x, y) => {
    for (let i = 0; i < keys.length; i++) {
      const c = cmp(x.keys[i]!, y.keys[i]!);
      if (c !== 0) return c * keys[i]!.dir;
    }
    return 0;
  });
  return decorated.map((d) => d.row);
}

/** An order keyed in Peoplevox by hand or from another channel (D2C, phone): Loopline never saw it. */
const ManualOrderBody = z.object({
  salesOrderNumber: z.string().min(1).max(30),
  customer: z.string().min(1).default('Manual order'),
  items: z.array(z.object({ itemCode: z.string().min(1), quantity: z.number().int().positive() })).min(1),
});

const DespatchBody = z.object({
  parcels: z
    .array(
      z.object({
        items: z.array(z.object({ itemCode: z.string().min(1), quantity: z.number().int().positive() })).optional(),
        carrier: z.string().min(1).optional(),
        trackingNumber: z.string().min(1).optional(),
        serviceType: z.string().min(1).optional(),
        serviceTypeCode: z.string().min(1).optional(),
      }),
    )
    .default([{}]),
});
const ReturnBody = z.object({
  salesOrderNumber: z.string().min(1),
  items: z
    .array(
      z.object({
        itemCode: z.string().min(1),
        quantity: z.number().int(),
        condition: z.string().optional(),
        reason: z.string().optional(),
      }),
    )
    .min(1),
  comments: z.string().optional(),
  unchecked: z.boolean().optional(),
});
const StockEntry = z.object({ itemCode: z.string().min(1), available: z.number().int().min(0) });
const StockBody = z.union([StockEntry, z.object({ items: z.array(StockEntry) })]);
const ItemsBody = z.object({
  replace: z.boolean().default(false),
  items: z.array(
    z.object({
      itemCode: z.string().min(1),
      name: z.string().optional(),
      barcode: z.string().optional(),
      retailPrice: z.string().optional(),
      available: z.number().int().min(0).optional(),
    }),
  ),
});

export function peoplevoxSimulator(opts: PeoplevoxSimulatorOptions): SandboxSystem {
  const { clientId } = opts;
  return {
    name: `peoplevox:${clientId}`,
    async register(app: FastifyInstance, ctx: SandboxContext) {
      const idleMs = Math.max(1, Math.round((opts.sessionIdleMs ?? PVX_DEFAULT_SESSION_IDLE_MS) / ctx.timeScale));
      const faults = () => ctx.faults('peoplevox');
      const behaviour = { saveStatuses: opts.saveStatuses ?? true };
      const pending = new Set<Promise<void>>();
      let closed = false;

      const deliver = async (sub: SimSubscription, values: Record<string, string>) => {
        const endpoint = `callback:${sub.eventType}`;
        const fault = faults().decide(endpoint, clientId);
        if (fault?.kind === 'error5xx' || fault?.kind === 'rateLimit429') {
          // Dropped: Peoplevox never delivers this one (no retries are documented).
          ctx.calls.add({ system: 'peoplevox-callback', endpoint, tenant: clientId, status: 0, fault: fault.kind });
          return;
        }
        if (fault?.kind === 'timeout')
          await new Promise((r) => setTimeout(r, Math.min(fault.delayMs ?? 30_000, 60_000)));
        if (closed) return;
        const sub1 = (tpl: string) =>
          tpl.replace(/\{([^}]+)\}/g, (_m, key: string) => {
            const v = values[key] ?? '';
            return sub.encode ? encodeURIComponent(v) : v;
          });
        let status = 0;
        try {
          const res =
            sub.method === 'GET'
              ? await axios.get(sub1(sub.url), { timeout: PVX_CALLBACK_TIMEOUT_MS, validateStatus: () => true })
              : await axios.post(sub1(sub.url), sub1(sub.postParams ?? ''), {
                  timeout: PVX_CALLBACK_TIMEOUT_MS,
                  validateStatus: () => true,
                  headers: { 'content-type': 'application/x-www-form-urlencoded' },
                });
          status = res.status;
        } catch (e) {
          ctx.log.debug({ err: e, endpoint }, 'peoplevox callback failed');
        }
        ctx.calls.add({ system: 'peoplevox-callback', endpoint, tenant: clientId, status, fault: fault?.kind });
      };

      const store = new PeoplevoxStore(
        clientId,
        opts.catalogue,
        opts,
        (eventType, values) => {
          for (const sub of store.subscriptions.values()) {
            if (sub.eventType !== eventType) continue;
            const p: Promise<void> = new Promise<void>((r) => setImmediate(r))
              .then(() => (closed ? undefined : deliver(sub, values)))
              .catch((e: unknown) => ctx.log.warn({ err: e }, 'peoplevox callback delivery crashed'))
              .finally(() => pending.delete(p));
            pending.add(p);
          }
        },
        opts.siteReference,
      );

      const checkSession = (header: Record<string, unknown>): boolean => {
        const cred = child(header, 'UserSessionCredentials');
        const sid = text(cred, 'SessionId').trim();
        const cid = text(cred, 'ClientId').trim();
        if (!sid || (cid && cid !== clientId)) return false;
        return store.useSession(sid, idleMs);
      };

      const ok = (detail: string, totalCount = 0): IntegrationResponse => ({
        ResponseId: 0,
        TotalCount: totalCount,
        Detail: detail,
      });
      const err = (detail: string): IntegrationResponse => ({ ResponseId: -1, TotalCount: 0, Detail: detail });

      const perform = (op: string, body: Record<string, unknown>): IntegrationResponse => {
        switch (op) {
          case 'Authenticate': {
            const cid = text(body, 'clientId').trim();
            const user = text(body, 'username').trim();
            const pw = Buffer.from(text(body, 'password').trim(), 'base64').toString('utf8');
            if (cid !== clientId || user !== opts.username || pw !== opts.password) {
              return err('Authentication failed: invalid client id, username or password');
            }
            return ok(`${clientId},${store.createSession()}`);
          }
          case 'GetSaveTemplate': {
            const name = text(body, 'templateName').trim();
            const cols = store.templates[name];
            return cols ? ok(cols.join(','), cols.length) : err(`Template '${name}' not found`);
          }
          case 'SaveData': {
            const req = child(body, 'saveRequest');
            const name = text(req, 'TemplateName').trim();
            const columns = store.templates[name];
            if (!columns) return err(`Template '${name}' not found`);
            const action = Number(text(req, 'Action') || '0');
            let rows: Record<string, string>[];
            try {
              const records = parseCsv(text(req, 'CsvData'), {
                skip_empty_lines: true,
                relax_column_count: false,
              }) as string[][];
              const header = (records[0] ?? []).map((h) => h.trim());
              if (header.length === 0) return err('CsvData is empty');
              for (const h of header) {
                if (!columns.some((c) => c === h)) return err(`Column '${h}' is not in the '${name}' template`);
              }
              rows = records.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
            } catch (e) {
              return err(`CsvData could not be parsed: ${e instanceof Error ? e.message : String(e)}`);
            }
            const statuses = store.saveRows(name, rows, action);
            const errors = statuses.filter((s) => s.Status === 'Error');
            return {
              ResponseId: errors.length ? -1 : 0,
              TotalCount: statuses.length,
              Detail: errors.map((s) => `Line ${s.LineNo} (${s.Reference}): ${s.Message}`).join('\n'),
              ...(behaviour.saveStatuses ? { Statuses: statuses } : {}),
            };
          }
          case 'GetData': {
            const req = child(body, 'getRequest');
            const { columns, rows } = store.templateRows(text(req, 'TemplateName').trim());
            const match = compileSearchClause(text(req, 'SearchClause'), columns);
            const hits = rows.filter(match);
            return ok(toCsv(columns, pageOf(hits, text(req, 'PageNo'), text(req, 'ItemsPerPage'))), hits.length);
          }
          case 'GetReportData': {
            const req = child(body, 'getReportRequest');
            const report = store.reportRows(text(req, 'TemplateName').trim());
            const match = compileSearchClause(text(req, 'SearchClause'), report.columns);
            let hits = report.rows.filter(match);
            const orderBy = text(req, 'OrderBy').trim();
            if (orderBy) hits = sortRows(hits, orderBy, report.columns);
            let columns = report.columns;
            const wanted = text(req, 'Columns').trim();
            if (wanted) {
              columns = splitColumnList(wanted).map((c) => {
                const found = report.columns.find((rc) => rc.toLowerCase() === c.toLowerCase());
                if (!found) throw new StoreError(`Invalid column '${c}'`);
                return found;
              });
            }
            return ok(toCsv(columns, pageOf(hits, text(req, 'PageNo'), text(req, 'ItemsPerPage'))), hits.length);
          }
          case 'SubscribeEvent':
          case 'SubscribePostEvent': {
            const post = op === 'SubscribePostEvent';
            const id = store.subscribe({
              eventType: text(body, 'eventType').trim(),
              filter: text(body, 'filter'),
              method: post ? 'POST' : 'GET',
              url: text(body, post ? 'postUrl' : 'callbackUrl').trim(),
              postParams: post ? text(body, 'postParams') : undefined,
              // A .NET (ASMX) bool left out of the request is false: values are substituted raw unless the
              // subscriber asks for encoding (docs/contracts.md, inference).
              encode: text(body, 'encodeParameterData').trim().toLowerCase() === 'true',
            });
            return ok(String(id));
          }
          case 'UnsubscribeEvent': {
            const id = Number(text(body, 'subscriptionId'));
            return store.unsubscribe(id) ? ok('True') : err(`Subscription ${id} not found`);
          }
          default:
            throw new StoreError(`unknown operation ${op}`);
        }
      };

      const sendXml = (reply: FastifyReply, status: number, xml: string, headers: Record<string, string> = {}) => {
        for (const [k, v] of Object.entries(headers)) reply.header(k, v);
        return reply.code(status).header('content-type', 'text/xml; charset=utf-8').send(xml);
      };

      await app.register(async (scope) => {
        scope.addContentTypeParser(
          ['text/xml', 'application/soap+xml', 'application/xml'],
          { parseAs: 'string' },
          (_req, body, done) => done(null, body),
        );
        // Control calls sent as forms (curl -d) or with an empty body are accepted too.
        scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
          done(null, Object.fromEntries(new URLSearchParams(String(body)))),
        );

        for (const seg of ['resources', 'Resources']) {
          const path = `/peoplevox/${clientId}/${seg}/integrationservicev4.asmx`;
          scope.get(path, async (req, reply) => {
            const q = req.query as Record<string, unknown>;
            if (!Object.keys(q).some((k) => k.toLowerCase() === 'wsdl'))
              return reply.code(404).send({ message: 'GET ?wsdl only' });
            const location = `${req.protocol}://${req.host}${path}`;
            return sendXml(reply, 200, wsdl(location));
          });
          scope.post(path, async (req, reply) => {
            const raw = typeof req.body === 'string' ? req.body : '';
            let parsed;
            try {
              parsed = parseSoapRequest(raw);
            } catch (e) {
              ctx.calls.add({ system: 'peoplevox', endpoint: 'invalid', tenant: clientId, status: 500 });
              return sendXml(
                reply,
                500,
                soapFault('soap:Client', `Server was unable to read request. ${e instanceof Error ? e.message : ''}`),
              );
            }
            const op = parsed.operation;
            // The template or report a data call names (for the call log: which reads cost what).
            const request = (
              { GetData: 'getRequest', GetReportData: 'getReportRequest', SaveData: 'saveRequest' } as const
            )[op as 'GetData'];
            const template = request
              ? text(child(parsed.body, request), 'TemplateName').trim() || undefined
              : undefined;
            const action = String(req.headers.soapaction ?? '').replace(/^"|"$/g, '');
            if (!(PVX_OPERATIONS as readonly string[]).includes(op) || (action && action !== `${PVX_NS}${op}`)) {
              ctx.calls.add({ system: 'peoplevox', endpoint: op, tenant: clientId, status: 500 });
              return sendXml(
                reply,
                500,
                soapFault('soap:Client', `Server did not recognize the value of HTTP Header SOAPAction: ${action}.`),
              );
            }
            // Logged at admission, the moment the rate limit counts, not when a (possibly held) reply left.
            const admittedAt = Date.now();
            if (ctx.enforceRateLimits) {
              const rl = ctx.rateLimits.take(
                `peoplevox:${clientId}`,
                PVX_RATE_LIMIT.max,
                PVX_RATE_LIMIT.windowMs,
                admittedAt,
              );
              if (!rl.ok) {
                ctx.calls.add({
                  system: 'peoplevox',
                  endpoint: op,
                  tenant: clientId,
                  ...(template ? { template } : {}),
                  status: PVX_RATE_LIMIT_RESPONSE_STATUS,
                  rateLimited: true,
                });
                return sendXml(reply, PVX_RATE_LIMIT_RESPONSE_STATUS, soapFault('soap:Server', 'Too many requests'), {
                  'retry-after': String(rl.retryAfterSeconds),
                });
              }
            }
            const fault = await withFault(
              faults(),
              op,
              reply,
              () => {
                let result: IntegrationResponse;
                if (op !== 'Authenticate' && !checkSession(parsed.header)) {
                  result = err(PVX_INVALID_SESSION_DETAIL);
                } else {
                  try {
                    result = perform(op, parsed.body);
                  } catch (e) {
                    if (e instanceof StoreError) result = err(e.message);
                    else if (e instanceof SearchClauseError) result = err(`Invalid search clause: ${e.message}`);
                    else throw e;
                  }
                }
                return {
                  status: 200,
                  body: soapResponse(op, result),
                  headers: { 'content-type': 'text/xml; charset=utf-8' },
                };
              },
              clientId,
            );
            ctx.calls.add({
              system: 'peoplevox',
              endpoint: op,
              tenant: clientId,
              ...(template ? { template } : {}),
              status: fault ? FAULT_STATUS[fault] : 200,
              fault,
              at: admittedAt,
            });
            return reply;
          });
        }

        // ---------------- control API ----------------
        const base = `/control/peoplevox/${clientId}`;
        const handle = async <T>(reply: FastifyReply, fn: () => T) => {
          try {
            return await fn();
          } catch (e) {
            if (e instanceof StoreError) return reply.code(e.httpStatus).send({ message: e.message });
            throw e;
          }
        };
        const bad = (reply: FastifyReply, error: z.ZodError) =>
          reply.code(400).send({ message: z.prettifyError(error) });

        scope.get(`${base}/orders`, async (req) => {
          const q = req.query as Record<string, string | undefined>;
          const orders = [...store.orders.values()].filter((o) => !q.status || o.status === q.status);
          return { orders: orders.map((o) => store.orderView(o)) };
        });
        scope.get(`${base}/orders/:son`, async (req, reply) => {
          const o = store.orders.get((req.params as { son: string }).son);
          return o ? store.orderView(o) : reply.code(404).send({ message: 'sales order not found' });
        });
        for (const [verb, role] of [
          ['pick', 'picking'],
          ['pack', 'packing'],
          ['hold', 'onHold'],
        ] as const) {
          scope.post(`${base}/orders/:son/${verb}`, async (req, reply) =>
            handle(reply, () => {
              const son = (req.params as { son: string }).son;
              store.setOrderStatus(son, role);
              return store.orderView(store.orders.get(son)!);
            }),
          );
        }
        scope.post(`${base}/orders`, async (req, reply) => {
          const parsed = ManualOrderBody.safeParse(req.body ?? {});
          if (!parsed.success) return bad(reply, parsed.error);
          const b = parsed.data;
          if (store.orders.has(b.salesOrderNumber))
            return reply.code(409).send({ message: `sales order ${b.salesOrderNumber} exists` });
          const statuses = [
            ...store.saveRows(
              SALES_ORDERS,
              [
                {
                  SalesOrderNumber: b.salesOrderNumber,
                  Customer: b.customer,
                  ShippingAddressLine1: '1 Warehouse Lane',
                  ShippingAddressCountry: 'GB',
                },
              ],
              0,
            ),
            ...store.saveRows(
              SALES_ORDER_ITEMS,
              b.items.map((i) => ({
                SalesOrderNumber: b.salesOrderNumber,
                ItemCode: i.itemCode,
                QuantityOrdered: String(i.quantity),
              })),
              0,
            ),
          ];
          const failed = statuses.filter((r) => r.Status !== 'Success');
          if (failed.length > 0) return reply.code(400).send({ message: failed.map((f) => f.Message).join('; ') });
          return reply.code(201).send(store.orderView(store.orders.get(b.salesOrderNumber)!));
        });
        scope.post(`${base}/orders/:son/cancel`, async (req, reply) =>
          handle(reply, () => {
            const son = (req.params as { son: string }).son;
            store.cancelOrder(son);
            return store.orderView(store.orders.get(son)!);
          }),
        );
        scope.post(`${base}/orders/:son/despatch`, async (req, reply) => {
          const parsed = DespatchBody.safeParse(req.body ?? {});
          if (!parsed.success) return bad(reply, parsed.error);
          return handle(reply, () => {
            const son = (req.params as { son: string }).son;
            const despatches = store.despatch(son, parsed.data.parcels);
            return {
              despatches: despatches.map((d) => ({ ...d, despatchedAt: new Date(d.despatchedAt).toISOString() })),
              order: store.orderView(store.orders.get(son)!),
            };
          });
        });
        // The warehouse books a customer return in (goods-in scans the parcel): Return summary row, Returns event.
        scope.post(`${base}/returns`, async (req, reply) => {
          const parsed = ReturnBody.safeParse(req.body ?? {});
          if (!parsed.success) return bad(reply, parsed.error);
          return handle(reply, () => {
            const rows = store.bookReturn(parsed.data);
            return reply.code(201).send({
              returnCode: rows[0]!.returnCode,
              receipts: rows.map((r) => ({ ...r, bookedAt: new Date(r.bookedAt).toISOString() })),
            });
          });
        });
        scope.get(`${base}/returns`, async () => ({
          receipts: store.returnReceipts.map((r) => ({ ...r, bookedAt: new Date(r.bookedAt).toISOString() })),
        }));
        scope.put(`${base}/stock`, async (req, reply) => {
          const parsed = StockBody.safeParse(req.body);
          if (!parsed.success) return bad(reply, parsed.error);
          const entries = 'items' in parsed.data ? parsed.data.items : [parsed.data];
          return handle(reply, () => {
            for (const e of entries)
              if (!store.items.has(e.itemCode)) throw new StoreError(`unknown item code '${e.itemCode}'`, 404);
            for (const e of entries) store.setAvailable(e.itemCode, e.available);
            return { ok: true, updated: entries.length };
          });
        });
        scope.get(`${base}/items`, async () => ({
          items: [...store.items.values()].map((i) => ({ ...i, available: PeoplevoxStore.available(i) })),
        }));
        scope.put(`${base}/items`, async (req, reply) => {
          const parsed = ItemsBody.safeParse(req.body);
          if (!parsed.success) return bad(reply, parsed.error);
          if (parsed.data.replace) {
            const keep = new Set(parsed.data.items.map((i) => i.itemCode));
            for (const code of [...store.items.keys()]) if (!keep.has(code)) store.items.delete(code);
          }
          for (const i of parsed.data.items) store.upsertItemType(i);
          return { ok: true, count: store.items.size };
        });
        scope.get(`${base}/subscriptions`, async () => ({ subscriptions: [...store.subscriptions.values()] }));
        scope.put(`${base}/behaviour`, async (req, reply) => {
          const parsed = z
            .object({ saveStatuses: z.boolean().optional() })
            .strict()
            .safeParse(req.body ?? {});
          if (!parsed.success) return bad(reply, parsed.error);
          if (parsed.data.saveStatuses !== undefined) behaviour.saveStatuses = parsed.data.saveStatuses;
          return { ...behaviour };
        });
        scope.post(`${base}/sessions/expire`, async () => ({ expired: store.expireSessions() }));
        scope.get(`${base}/state`, async () => {
          const orders = [...store.orders.values()];
          const byStatus: Record<string, number> = {};
          for (const o of orders) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
          return {
            clientId,
            orders: orders.length,
            ordersByStatus: byStatus,
            orderLines: orders.reduce((n, o) => n + o.lines.length, 0),
            despatches: orders.reduce((n, o) => n + o.despatches.length, 0),
            items: store.items.size,
            sessions: store.sessions.size,
            subscriptions: store.subscriptions.size,
            pendingCallbacks: pending.size,
            saveCounts: store.saveCounts,
            statuses: store.statuses,
          };
        });
      });

      app.addHook('onClose', async () => {
        closed = true;
        await Promise.allSettled([...pending]);
      });
    },
  };
}
