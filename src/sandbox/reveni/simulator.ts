// The Reveni merchant API simulator: one store per channel under the real path
//   /reveni/merchants/v0/stores/{store_id}/returns[/{id}[/partial_validate]] and …/webhooks[/{id}]
// with the bearer key, webhook deliveries `{id, event, created, data:{resource_id, status}}` (at least once,
// possibly twice and out of order, as the control API sets), fault injection on every endpoint and on the
// deliveries, and the call log. Control API under /control/reveni/{store_id}/… (docs/sandbox/reveni.md).
import axios from 'axios';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CatalogueItem } from '../catalogue';
import type { SandboxContext } from '../context';
import { seededRandom, withFault, type FaultKind } from '../core/faults';
import type { SandboxSystem } from '../server';
import { REVENI_STATUSES, ReveniError, ReveniStore, type ReveniEvent } from './store';

export interface ReveniSimulatorOptions {
  apiKey: string;
  stores: Array<{ storeId: string; currency: string }>;
  catalogue: CatalogueItem[];
  seed?: number;
}

export interface ReveniSimulator extends SandboxSystem {
  stores: Map<string, ReveniStore>;
}

interface Webhook {
  id: string;
  url: string;
  event_types: string[];
}

export interface DeliveryRecord {
  at: number;
  storeId: string;
  webhookId: string;
  eventId: string;
  event: string;
  status: number;
  attempt: number;
  fault?: string;
  duplicate?: boolean;
}

const FAULT_STATUS: Record<FaultKind, number> = { error5xx: 503, rateLimit429: 429, timeout: 504, lostResponse: 0 };
/** [I] Reveni's retry policy is not public: the simulator retries a failed delivery 4 times, doubling from 1 s. */
export const REVENI_DELIVERY_ATTEMPTS = 5;

const CreateBody = z.object({
  orderExternalId: z.string().min(1),
  externalReference: z.string().min(1).optional(),
  currency: z.string().length(3).optional(),
  mode: z.enum(['instant', 'not_instant']).optional(),
  items: z
    .array(z.object({ sku: z.string(), quantity: z.number(), reason: z.string(), price: z.number().optional() }))
    .min(1),
});
const DecideBody = z.object({
  items: z
    .array(
      z.object({
        itemId: z.string().optional(),
        sku: z.string().optional(),
        accepted: z.boolean(),
        restock: z.boolean().optional(),
        rejectReason: z.string().optional(),
        rejectReasonText: z.string().optional(),
      }),
    )
    .default([]),
});
const BehaviourBody = z
  .object({
    returnFeeMinor: z.number().int().min(0).optional(),
    autoRestock: z.boolean().optional(),
    defaultMode: z.enum(['instant', 'not_instant']).optional(),
    /** Each delivery is sent a second time with this probability. */
    duplicateProbability: z.number().min(0).max(1).optional(),
    /** Each delivery waits up to this long (ms, random) first: later events can overtake earlier ones. */
    reorderMaxDelayMs: z.number().int().min(0).max(60_000).optional(),
  })
  .strict();

export function reveniSimulator(opts: ReveniSimulatorOptions): ReveniSimulator {
  const stores = new Map<string, ReveniStore>();
  return {
    name: 'reveni',
    stores,
    async register(app: FastifyInstance, ctx: SandboxContext) {
      const faults = () => ctx.faults('reveni');
      const webhooks = new Map<string, Webhook[]>();
      const deliveries: DeliveryRecord[] = [];
      const delivery = { duplicateProbability: 0, reorderMaxDelayMs: 0 };
      const rnd = seededRandom(opts.seed ?? 1234);
      const pending = new Set<Promise<void>>();
      let closed = false;
      let hookSeq = 0;
      const prices = new Map(opts.catalogue.map((c) => [c.sku, c.priceMinor]));

      const send = async (storeId: string, hook: Webhook, e: ReveniEvent, duplicate: boolean) => {
        for (let attempt = 1; attempt <= REVENI_DELIVERY_ATTEMPTS && !closed; attempt++) {
          const fault = faults().decide('webhook', storeId);
          let status: number;
          if (fault?.kind === 'error5xx' || fault?.kind === 'rateLimit429') status = FAULT_STATUS[fault.kind];
          else {
            if (fault?.kind === 'timeout')
              await new Promise((r) => setTimeout(r, Math.min(fault.delayMs ?? 5_000, 30_000)));
            try {
              const res = await axios.post(hook.url, e, { timeout: 10_000, validateStatus: () => true });
              // A lost response: Loopline got it, Reveni did not hear back, so it sends it again.
              status = fault?.kind === 'lostResponse' ? 0 : res.status;
            } catch {
              status = 0;
            }
          }
          deliveries.push({
            at: Date.now(),
            storeId,
            webhookId: hook.id,
            eventId: e.id,
            event: e.event,
            status,
            attempt,
            ...(fault ? { fault: fault.kind } : {}),
            ...(duplicate ? { duplicate } : {}),
          });
          ctx.calls.add({ system: 'reveni-webhook', endpoint: e.event, tenant: storeId, status, fault: fault?.kind });
          if (status >= 200 && status < 300) return;
          await new Promise((r) => setTimeout(r, (1000 * 2 ** (attempt - 1)) / ctx.timeScale));
        }
      };

      const emit = (storeId: string) => (e: ReveniEvent) => {
        for (const hook of webhooks.get(storeId) ?? []) {
          if (!hook.event_types.includes(e.event)) continue;
          const copies = rnd() < delivery.duplicateProbability ? 2 : 1;
          for (let c = 0; c < copies; c++) {
            const wait = delivery.reorderMaxDelayMs > 0 ? Math.floor(rnd() * delivery.reorderMaxDelayMs) : 0;
            const p: Promise<void> = new Promise<void>((r) => setTimeout(r, wait))
              .then(() => (closed ? undefined : send(storeId, hook, e, c > 0)))
              .catch((err: unknown) => ctx.log.warn({ err }, 'reveni webhook delivery crashed'))
              .finally(() => pending.delete(p));
            pending.add(p);
          }
        }
      };

      for (const s of opts.stores)
        stores.set(s.storeId, new ReveniStore({ storeId: s.storeId, currency: s.currency, prices }, emit(s.storeId)));

      await app.register(async (scope) => {
        const api = (
          method: 'GET' | 'POST' | 'DELETE',
          path: string,
          op: string,
          handler: (store: ReveniStore, req: FastifyRequest) => { status: number; body?: unknown },
        ) => {
          scope.route({
            method,
            url: `/reveni/merchants/v0/stores/:storeId${path}`,
            handler: async (req: FastifyRequest, reply: FastifyReply) => {
              const { storeId } = req.params as { storeId: string };
              const log = (status: number, fault?: FaultKind) =>
                ctx.calls.add({ system: 'reveni', endpoint: op, tenant: storeId, status, fault });
              if (req.headers.authorization !== `Bearer ${opts.apiKey}`) {
                log(401);
                return reply.code(401).send({ message: 'Unauthorized' });
              }
              const store = stores.get(storeId);
              if (!store) {
                log(404);
                return reply.code(404).send({ message: `Store ${storeId} not found` });
              }
              let status = 500;
              const fault = await withFault(
                faults(),
                op,
                reply,
                () => {
                  try {
                    const r = handler(store, req);
                    status = r.status;
                    return r;
                  } catch (e) {
                    if (e instanceof ReveniError) {
                      status = e.status;
                      return { status: e.status, body: { message: e.message } };
                    }
                    throw e;
                  }
                },
                storeId,
              );
              log(fault ? FAULT_STATUS[fault] : status, fault);
              return reply;
            },
          });
        };
        const p = (req: FastifyRequest) => req.params as Record<string, string>;

        // [I] create: the merchant (Loopline) registers a return for an order of its own.
        api('POST', '/returns', 'returns.create', (s, req) => ({ status: 201, body: s.create(req.body as never) }));
        // [I] list with filters, page numbers.
        api('GET', '/returns', 'returns.list', (s, req) => ({ status: 200, body: s.list(req.query as never) }));
        api('GET', '/returns/:id', 'returns.get', (s, req) => ({ status: 200, body: s.get(p(req).id!) }));
        api('POST', '/returns/:id/partial_validate', 'returns.partial_validate', (s, req) => ({
          status: 200,
          body: s.partialValidate(p(req).id!, req.body),
        }));
        api('POST', '/webhooks', 'webhooks.create', (s, req) => {
          const b = req.body as { url?: unknown; event_types?: unknown };
          if (typeof b?.url !== 'string' || !Array.isArray(b.event_types))
            throw new ReveniError(422, 'url and event_types are required');
          const hook: Webhook = {
            id: `wh_${++hookSeq}`,
            url: b.url,
            event_types: b.event_types.filter((x): x is string => typeof x === 'string'),
          };
          webhooks.set(s.opts.storeId, [...(webhooks.get(s.opts.storeId) ?? []), hook]);
          return { status: 201, body: hook };
        });
        // [I] listing webhooks (so a deployment registers once).
        api('GET', '/webhooks', 'webhooks.list', (s) => ({
          status: 200,
          body: { data: webhooks.get(s.opts.storeId) ?? [] },
        }));
        api('DELETE', '/webhooks/:id', 'webhooks.delete', (s, req) => {
          const list = webhooks.get(s.opts.storeId) ?? [];
          if (!list.some((h) => h.id === p(req).id)) throw new ReveniError(404, 'Webhook not found');
          webhooks.set(
            s.opts.storeId,
            list.filter((h) => h.id !== p(req).id),
          );
          return { status: 204 };
        });

        // ---------------- control API ----------------
        const base = '/control/reveni/:storeId';
        const control =
          (fn: (store: ReveniStore, req: FastifyRequest, reply: FastifyReply) => unknown) =>
          async (req: FastifyRequest, reply: FastifyReply) => {
            const store = stores.get((req.params as { storeId: string }).storeId);
            if (!store) return reply.code(404).send({ message: 'unknown store' });
            try {
              return await fn(store, req, reply);
            } catch (e) {
              if (e instanceof ReveniError) return reply.code(e.status).send({ message: e.message });
              throw e;
            }
          };
        const bad = (reply: FastifyReply, error: z.ZodError) =>
          reply.code(400).send({ message: z.prettifyError(error) });

        // The customer starts a return in Reveni's portal (or the merchant's site widget).
        scope.post(
          `${base}/returns`,
          control((s, req, reply) => {
            const b = CreateBody.safeParse(req.body);
            if (!b.success) return bad(reply, b.error);
            const r = s.create({
              order: { external_id: b.data.orderExternalId, currency: b.data.currency },
              external_reference: b.data.externalReference,
              mode: b.data.mode,
              items: b.data.items.map((i) => ({
                sku: i.sku,
                quantity: i.quantity,
                return_reason: i.reason,
                price: i.price,
              })),
            });
            return reply.code(201).send(r);
          }),
        );
        scope.get(
          `${base}/returns`,
          control((s) => ({ returns: [...s.returns.values()] })),
        );
        scope.get(
          `${base}/returns/:id`,
          control((s, req) => s.get((req.params as { id: string }).id)),
        );
        scope.post(
          `${base}/returns/:id/advance`,
          control((s, req, reply) => {
            const b = z
              .object({
                to: z.enum(REVENI_STATUSES),
                tracking: z.object({ carrier: z.string(), tracking_number: z.string() }).optional(),
              })
              .safeParse(req.body);
            if (!b.success) return bad(reply, b.error);
            return s.advance((req.params as { id: string }).id, b.data.to, b.data.tracking);
          }),
        );
        scope.post(
          `${base}/returns/:id/decide`,
          control((s, req, reply) => {
            const b = DecideBody.safeParse(req.body ?? {});
            if (!b.success) return bad(reply, b.error);
            return s.decide((req.params as { id: string }).id, b.data.items);
          }),
        );
        scope.post(
          `${base}/returns/:id/cancel`,
          control((s, req) => s.cancel((req.params as { id: string }).id)),
        );
        scope.put(
          `${base}/returns/:id/refund`,
          control((s, req, reply) => {
            // Any figure, negative included: Loopline must refuse what it cannot refund.
            const b = z
              .object({ amountMinor: z.number().int(), currency: z.string().length(3).optional() })
              .safeParse(req.body);
            if (!b.success) return bad(reply, b.error);
            return s.setRefund((req.params as { id: string }).id, b.data.amountMinor, b.data.currency);
          }),
        );
        scope.put(
          `${base}/behaviour`,
          control((s, req, reply) => {
            const b = BehaviourBody.safeParse(req.body ?? {});
            if (!b.success) return bad(reply, b.error);
            if (b.data.returnFeeMinor !== undefined) s.behaviour.returnFeeMinor = b.data.returnFeeMinor;
            if (b.data.autoRestock !== undefined) s.behaviour.autoRestock = b.data.autoRestock;
            if (b.data.defaultMode !== undefined) s.behaviour.defaultMode = b.data.defaultMode;
            if (b.data.duplicateProbability !== undefined) delivery.duplicateProbability = b.data.duplicateProbability;
            if (b.data.reorderMaxDelayMs !== undefined) delivery.reorderMaxDelayMs = b.data.reorderMaxDelayMs;
            return { ...s.behaviour, ...delivery };
          }),
        );
        scope.get(
          `${base}/deliveries`,
          control((s) => ({
            deliveries: deliveries.filter((d) => d.storeId === s.opts.storeId),
            pending: pending.size,
          })),
        );
        scope.get(
          `${base}/webhooks`,
          control((s) => ({ webhooks: webhooks.get(s.opts.storeId) ?? [] })),
        );
      });

      app.addHook('onClose', async () => {
        closed = true;
        await Promise.allSettled([...pending]);
      });
    },
  };
}
