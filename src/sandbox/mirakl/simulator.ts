// The Mirakl seller API simulator: one shop per channel under /mirakl/<channel>/api/..., on the real wire
// format (mirakl-seller-openapi.json), plus its control API under /control/mirakl/<channel>/...
// Every API call goes through auth, the documented call-frequency limits, the fault injector and the call log.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxContext } from '../context';
import { withFault, type FaultKind } from '../core/faults';
import type { SandboxSystem } from '../server';
import { MiraklError, MiraklShop, type OpResult } from './shop';
import { billingOf, parseCycleSeed } from './billing';
import { returnsOf, type CustomerReturnSpec } from './returns';
import type { MiraklSimChannel, OrderSpec } from './types';

/** Documented maximum call frequencies (MS "Call Frequency"), per shop. */
export const MIRAKL_RATE_LIMITS: Record<string, { max: number; windowMs: number }> = {
  OR11: { max: 1, windowMs: 60_000 },
  OF24: { max: 1, windowMs: 60_000 },
  STO01: { max: 1, windowMs: 60_000 },
  STO02: { max: 1, windowMs: 15_000 },
  STO03: { max: 1, windowMs: 60_000 },
  ST12: { max: 1, windowMs: 300_000 },
  // RT11: "Maximum usage: Every 5 minutes".
  RT11: { max: 1, windowMs: 300_000 },
  TL02: { max: 20, windowMs: 60_000 },
  OF52: { max: 1, windowMs: 60_000 },
  // "Maximum usage: every 10 seconds".
  OF53: { max: 1, windowMs: 10_000 },
};

/** Second windows on top of MIRAKL_RATE_LIMITS: TL02 is also limited to 60 calls an hour. */
export const MIRAKL_EXTRA_RATE_LIMITS: Record<string, { max: number; windowMs: number }> = {
  TL02: { max: 60, windowMs: 3_600_000 },
};

/** OF52 without last_request_date is a full export: "Maximum usage: … Full: once per day". */
export const MIRAKL_FULL_EXPORT_LIMIT = { max: 1, windowMs: 86_400_000 };

export interface MiraklSimulator extends SandboxSystem {
  /** The simulated shops by channel code, for in-process tests. */
  shops: Map<string, MiraklShop>;
}

type Params = Record<string, string>;
type Query = Record<string, unknown>;
type Handler = (shop: MiraklShop, req: FastifyRequest) => OpResult | Promise<OpResult>;

/** Multipart bodies are parsed with the WHATWG FormData parser built into Node (undici). */
async function multipartFile(req: FastifyRequest, field: string): Promise<string> {
  const body = req.body;
  const contentType = String(req.headers['content-type'] ?? '');
  if (!Buffer.isBuffer(body) || !contentType.toLowerCase().startsWith('multipart/form-data')) {
    throw new MiraklError(400, `A multipart/form-data body with a "${field}" part is required`, 'VALIDATION_ERROR');
  }
  let form: Awaited<ReturnType<Response['formData']>>;
  try {
    form = await new globalThis.Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (e) {
    throw new MiraklError(400, `Invalid multipart body: ${(e as Error).message}`, 'VALIDATION_ERROR');
  }
  const part = form.get(field);
  if (part === null) throw new MiraklError(400, `The multipart part "${field}" is missing`, 'VALIDATION_ERROR');
  return typeof part === 'string' ? part : await part.text();
}

export function miraklSimulator(opts: { channels: MiraklSimChannel[] }): MiraklSimulator {
  const shops = new Map<string, MiraklShop>();

  const register = async (app: FastifyInstance, ctx: SandboxContext) => {
    opts.channels.forEach((ch, i) => shops.set(ch.code, new MiraklShop(ch, ctx.timeScale, i)));
    const faults = () => ctx.faults('mirakl');

    await app.register(async (scope) => {
      // Mirakl accepts PUTs with a JSON content type and no body (OR24, OR29); so does the simulator.
      scope.removeContentTypeParser('application/json');
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
        const text = String(body);
        if (text.trim() === '') return done(null, undefined);
        try {
          done(null, JSON.parse(text));
        } catch {
          done(Object.assign(new Error('Malformed JSON body'), { statusCode: 400 }), undefined);
        }
      });
      scope.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      // Body-less writes often arrive with a default content type (axios: x-www-form-urlencoded); ignore it.
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) =>
        done(null, (body as Buffer).length ? body : undefined),
      );

      const api = (
        method: 'GET' | 'POST' | 'PUT',
        path: string,
        op: string,
        handler: Handler,
        opts2: { auth?: boolean } = {},
      ) => {
        scope.route({
          method,
          url: `/mirakl/:channel/api${path}`,
          handler: async (req: FastifyRequest, reply: FastifyReply) => {
            const { channel } = req.params as Params;
            const shop = shops.get(channel!);
            // Logged at arrival, the moment the rate limits count, not when the (possibly slow) reply left.
            const arrivedAt = Date.now();
            const exempt = MIRAKL_RATE_LIMITS[op] && !countsTowardsLimit(op, req) ? true : undefined;
            const log = (status: number, fault?: FaultKind, rateLimited?: boolean, refused?: boolean) =>
              ctx.calls.add({
                system: 'mirakl',
                tenant: channel,
                endpoint: op,
                status,
                fault,
                rateLimited,
                exempt: exempt ?? (refused || undefined),
                at: arrivedAt,
              });
            // The limit slots this call took, given back if an injected 429 refuses it after all.
            const taken: string[] = [];
            if (!shop) {
              log(404);
              return reply.code(404).send({ status: 404, message: `Unknown Mirakl channel '${channel}'` });
            }
            if (opts2.auth !== false && req.headers.authorization !== shop.cfg.apiKey) {
              log(401);
              return reply.code(401).send({ status: 401, message: 'Unauthorized' });
            }
            const shopIdParam = (req.query as Query).shop_id;
            if (shopIdParam !== undefined && shopIdParam !== '' && Number(shopIdParam) !== shop.shopId) {
              log(403);
              return reply.code(403).send({ status: 403, message: `Access to shop ${String(shopIdParam)} is denied` });
            }
            const limit = isFullExport(op, req) ? MIRAKL_FULL_EXPORT_LIMIT : MIRAKL_RATE_LIMITS[op];
            if (limit && ctx.enforceRateLimits && countsTowardsLimit(op, req)) {
              const key = limit === MIRAKL_FULL_EXPORT_LIMIT ? `${channel}:${op}:full` : `${channel}:${op}`;
              const got = ctx.rateLimits.take(key, limit.max, limit.windowMs, arrivedAt);
              if (!got.ok) {
                log(429, undefined, true);
                return reply
                  .code(429)
                  .header('Retry-After', String(got.retryAfterSeconds))
                  .send({
                    status: 429,
                    message: `Too many requests: ${op} is limited to ${limit.max} call(s) per ${limit.windowMs / 1000} s`,
                  });
              }
              taken.push(key);
              const extra = MIRAKL_EXTRA_RATE_LIMITS[op];
              const takenExtra =
                extra && ctx.rateLimits.take(`${channel}:${op}:long`, extra.max, extra.windowMs, arrivedAt);
              if (takenExtra && takenExtra.ok) taken.push(`${channel}:${op}:long`);
              if (takenExtra && !takenExtra.ok) {
                log(429, undefined, true);
                return reply
                  .code(429)
                  .header('Retry-After', String(takenExtra.retryAfterSeconds))
                  .send({
                    status: 429,
                    message: `Too many requests: ${op} is limited to ${extra.max} call(s) per ${extra.windowMs / 1000} s`,
                  });
              }
            }
            let status = 500;
            const fault = await withFault(
              faults(),
              op,
              reply,
              async () => {
                let r: OpResult;
                try {
                  shop.tick();
                  r = await handler(shop, req);
                } catch (e) {
                  if (e instanceof MiraklError) r = e.toResult();
                  else {
                    ctx.log.error({ err: e, op }, 'mirakl simulator error');
                    r = { status: 500, body: { status: 500, message: (e as Error).message } };
                  }
                }
                status = r.status;
                return r;
              },
              channel,
            );
            // An injected 429 is a refusal, as the platform's own are: the call does not count towards the limit
            // (its slots are given back), so a client honouring Retry-After is not refused again. A 5xx or a
            // timeout reached the platform and keeps its slot.
            if (fault === 'rateLimit429') for (const key of taken) ctx.rateLimits.release(key, arrivedAt);
            log(
              fault === 'error5xx' ? 503 : fault === 'rateLimit429' ? 429 : fault === 'timeout' ? 504 : status,
              fault,
              undefined,
              fault === 'rateLimit429' && taken.length > 0,
            );
            return reply;
          },
        });
      };

      const q = (req: FastifyRequest) => req.query as Query;
      const p = (req: FastifyRequest) => req.params as Params;

      api('GET', '/orders', 'OR11', (s, req) => s.listOrders(q(req)));
      api('PUT', '/orders/:orderId/accept', 'OR21', (s, req) => s.accept(p(req).orderId!, req.body));
      api('PUT', '/orders/:orderId/tracking', 'OR23', (s, req) => s.setTracking(p(req).orderId!, req.body));
      api('PUT', '/orders/:orderId/ship', 'OR24', (s, req) => s.shipOrder(p(req).orderId!));
      api('PUT', '/orders/:orderId/cancel', 'OR29', (s, req) => s.cancel(p(req).orderId!, 'shop'));
      api('PUT', '/orders/refund', 'OR28', (s, req) => s.refund(req.body));
      api('POST', '/shipments', 'ST01', (s, req) => s.createShipments(req.body));
      api('GET', '/shipments', 'ST11', (s, req) => s.listShipments(q(req)));
      api('GET', '/shipments/items_to_ship', 'ST12', (s, req) => s.itemsToShip(q(req)));
      api('PUT', '/shipments/ship', 'ST24', (s, req) => s.shipShipments(req.body));
      api('GET', '/shipping/carriers', 'SH21', (s) => s.carriers());
      api('GET', '/reasons', 'RE01', (s) => s.reasons());
      api('GET', '/platform/configuration', 'PC01', (s) => s.platformConfiguration());
      api('GET', '/offers', 'OF21', (s, req) => s.listOffers(q(req)));
      api('POST', '/offers', 'OF24', (s, req) => s.offerImport(req.body));
      api('GET', '/offers/imports/:importId', 'OF02', (s, req) => s.offerImportStatus(p(req).importId!));
      api('GET', '/offers/imports/:importId/error_report', 'OF03', (s, req) => s.offerImportErrors(p(req).importId!));
      api('POST', '/offers/stock/imports', 'STO01', async (s, req) => s.stockImport(await multipartFile(req, 'file')));
      api('GET', '/offers/stock/imports/:importId/status', 'STO02', (s, req) => s.stockImportStatus(p(req).importId!));
      api('GET', '/offers/stock/imports/:importId/error_report', 'STO03', (s, req) =>
        s.stockImportErrorReport(p(req).importId!),
      );
      api('POST', '/offers/export/async', 'OF52', (s, req) => s.startOfferExport(req.body));
      api('GET', '/offers/export/async/status/:trackingId', 'OF53', (s, req) =>
        s.offerExportStatus(p(req).trackingId!, `${req.protocol}://${req.host}/mirakl/${s.cfg.code}`),
      );
      // OF54: the URLs OF53 hands out are pre-signed on a real platform, so no API key here either.
      api(
        'GET',
        '/offers/export/async/file/:trackingId/:chunk',
        'OF54',
        (s, req) => s.offerExportChunk(p(req).trackingId!, Number(p(req).chunk)),
        {
          auth: false,
        },
      );

      // Returns (RT*): the seller side of Mirakl's return flow (src/sandbox/mirakl/returns.ts).
      api('POST', '/returns', 'RT01', (s, req) => returnsOf(s).createReturns(req.body));
      api('PUT', '/returns', 'RT04', (s, req) => returnsOf(s).update(req.body));
      api('GET', '/returns', 'RT11', (s, req) => returnsOf(s).listReturns(q(req)));
      api('GET', '/returns/items_to_return', 'RT12', (s, req) => returnsOf(s).itemsToReturn(q(req)));
      api('PUT', '/returns/accept', 'RT21', (s, req) => returnsOf(s).accept(req.body));
      api('PUT', '/returns/receive', 'RT25', (s, req) => returnsOf(s).receive(req.body));
      api('PUT', '/returns/compliance', 'RT26', (s, req) => returnsOf(s).compliance(req.body));
      api('PUT', '/returns/close', 'RT27', (s, req) => returnsOf(s).close(req.body));
      api('PUT', '/returns/cancel', 'RT29', (s, req) => returnsOf(s).cancel(req.body));

      api('GET', '/seller-billing-cycles', 'SBC11', (s, req) => billingOf(s).listCycles(q(req)));
      api('GET', '/sellerpayment/transactions_logs', 'TL02', (s, req) => billingOf(s).listTransactions(q(req)));

      registerControl(scope, shops);
    });
  };

  return { name: 'mirakl', shops, register };
}

/**
 * Which calls count towards a documented limit. OR11's "once per minute" and RT11's "every 5 minutes" are for
 * polling; look-ups by id and the following pages of one poll are the "synchronous" use Mirakl allows.
 */
function countsTowardsLimit(op: string, req: FastifyRequest): boolean {
  const q = req.query as Query;
  // RT11 by return id (reading back one return after a write) is not the 5-minute poll either, nor are the
  // following pages of one poll (page_token): like OR11's offset pages, a guess (docs/contracts.md).
  if (op === 'RT11')
    return (q.return_id === undefined || q.return_id === '') && (q.page_token === undefined || q.page_token === '');
  if (op !== 'OR11') return true;
  if (q.order_ids !== undefined && q.order_ids !== '') return false;
  return !(Number(q.offset ?? 0) > 0);
}

function isFullExport(op: string, req: FastifyRequest): boolean {
  if (op !== 'OF52') return false;
  const body = req.body as Record<string, unknown> | undefined;
  return !body || body.last_request_date === undefined || body.last_request_date === null;
}

function registerControl(app: FastifyInstance, shops: Map<string, MiraklShop>) {
  const base = '/control/mirakl/:channel';
  const withShop =
    (fn: (shop: MiraklShop, req: FastifyRequest, reply: FastifyReply) => unknown) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const shop = shops.get((req.params as Params).channel!);
      if (!shop) return reply.code(404).send({ message: `Unknown Mirakl channel '${(req.params as Params).channel}'` });
      try {
        shop.tick();
        return await fn(shop, req, reply);
      } catch (e) {
        if (e instanceof MiraklError) return reply.code(e.status).send({ message: e.message, code: e.code });
        throw e;
      }
    };
  const id = (req: FastifyRequest) => (req.params as Params).id!;

  app.post(
    `${base}/orders`,
    withShop((shop, req, reply) => {
      const spec = req.body as OrderSpec | undefined;
      if (!spec || !Array.isArray(spec.lines)) return reply.code(400).send({ message: 'body needs lines[]' });
      for (const l of spec.lines) {
        if (typeof l?.offerSku !== 'string' || typeof l.quantity !== 'number') {
          return reply.code(400).send({ message: 'each line needs offerSku (string) and quantity (number)' });
        }
      }
      return reply.code(201).send(shop.createOrder(spec));
    }),
  );
  app.get(
    `${base}/orders`,
    withShop((shop, req) => {
      const state = (req.query as Query).state;
      const orders = [...shop.orders.keys()].map((oid) => shop.controlOrder(oid));
      return { orders: state ? orders.filter((o) => o.order_state === state) : orders };
    }),
  );
  app.get(
    `${base}/orders/:id`,
    withShop((shop, req) => shop.controlOrder(id(req))),
  );
  app.post(
    `${base}/orders/:id/cancel`,
    withShop((shop, req) => {
      shop.cancel(id(req), 'operator');
      return shop.controlOrder(id(req));
    }),
  );
  app.post(
    `${base}/orders/:id/receive`,
    withShop((shop, req) => shop.advanceState(id(req), 'RECEIVED')),
  );
  app.post(
    `${base}/orders/:id/close`,
    withShop((shop, req) => shop.advanceState(id(req), 'CLOSED')),
  );
  app.post(
    `${base}/clock/advance`,
    withShop((shop, req, reply) => {
      const ms = (req.body as { ms?: unknown } | undefined)?.ms;
      if (typeof ms !== 'number' || !(ms >= 0))
        return reply.code(400).send({ message: 'body needs { ms: number >= 0 }' });
      return shop.advanceClock(ms);
    }),
  );
  app.get(
    `${base}/offers`,
    withShop((shop) => ({
      offers: [...shop.offers.values()]
        .filter((o) => !o.deleted)
        .map((o) => ({
          offerSku: o.shopSku,
          offerId: o.offerId,
          quantity: o.quantity,
          price: o.priceMinor,
          warehouses: o.warehouses,
        })),
    })),
  );
  app.put(
    `${base}/offers`,
    withShop((shop, req, reply) => {
      const body = req.body as { offers?: { offerSku: string; quantity: number }[] } | undefined;
      if (!body || !Array.isArray(body.offers))
        return reply.code(400).send({ message: 'body needs offers[{offerSku, quantity}]' });
      return shop.setQuantities(body.offers);
    }),
  );
  // The whole offer catalogue at once (docs/sandbox/mirakl.md, "Catalogue scenarios").
  app.put(
    `${base}/catalogue`,
    withShop((shop, req, reply) => {
      const body = req.body as { offers?: unknown } | undefined;
      const offers = body?.offers;
      if (
        !Array.isArray(offers) ||
        !offers.every(
          (o: { offerSku?: unknown; quantity?: unknown; active?: unknown }) =>
            typeof o?.offerSku === 'string' &&
            o.offerSku.length > 0 &&
            typeof o.quantity === 'number' &&
            (o.active === undefined || typeof o.active === 'boolean'),
        )
      )
        return reply.code(400).send({ message: 'body needs offers[{offerSku, quantity, active?}]' });
      return shop.replaceOffers(offers as Array<{ offerSku: string; quantity: number; active?: boolean }>);
    }),
  );
  app.get(
    `${base}/stock-history`,
    withShop((shop, req) => {
      const sku = (req.query as Query).offerSku;
      return {
        history: sku ? shop.stockHistory.filter((h) => h.offerSku === sku) : shop.stockHistory,
        oversells: shop.oversells,
      };
    }),
  );
  // Billing cycles (SBC11) and their transaction logs (TL02), generated from the shop's orders.
  app.post(
    `${base}/billing-cycles`,
    withShop((shop, req, reply) => reply.code(201).send(billingOf(shop).seedCycle(parseCycleSeed(req.body)))),
  );
  app.get(
    `${base}/billing-cycles`,
    withShop((shop) => ({ cycles: billingOf(shop).controlCycles() })),
  );
  // Returns: a customer opens one on a shipped order; the operator's moves; reads.
  app.post(
    `${base}/returns`,
    withShop((shop, req, reply) => {
      const spec = req.body as CustomerReturnSpec | undefined;
      if (!spec || typeof spec.orderId !== 'string' || !Array.isArray(spec.lines))
        return reply.code(400).send({ message: 'body needs orderId and lines[{lineId|offerSku, quantity, reason?}]' });
      return reply.code(201).send(returnsOf(shop).openCustomerReturn(spec));
    }),
  );
  app.get(
    `${base}/returns`,
    withShop((shop) => ({ returns: [...returnsOf(shop).returns.values()].map((r) => returnsOf(shop).wire(r)) })),
  );
  app.get(
    `${base}/returns/:id`,
    withShop((shop, req) => returnsOf(shop).get(id(req))),
  );
  for (const [verb, to] of [
    ['no-reception', 'NO_RECEPTION'],
    ['receive', 'RECEIVED'],
    ['cancel', 'CANCELED'],
  ] as const) {
    app.post(
      `${base}/returns/:id/${verb}`,
      withShop((shop, req) => returnsOf(shop).operatorMove(id(req), to)),
    );
  }
  app.get(
    `${base}/state`,
    withShop((shop) => shop.summary()),
  );
}
