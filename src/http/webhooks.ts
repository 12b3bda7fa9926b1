// Peoplevox TrackingNumberReceived callback: GET (or POST form) /webhooks/peoplevox/<secret>/tracking
// with the placeholders substituted (workers/subscriptions.ts). Authenticated by the path secret
// (./callbacks.ts), rate-limited per source, values checked strictly. It answers fast and hands the
// despatch to the order workflow as a signal (the workflow dedupes: a despatch number is confirmed once), or,
// with the warehouse gateway, hints the gateway to read despatches sooner.
//
// What an attacker cannot learn or cause: the answer is the same 200 whether the sales order exists, has
// a workflow, or is closed (an unknown order number is dropped with a metric), so the endpoint is no
// oracle for order ids; and the same despatch notice is signalled once per window, so a replayed callback
// does not wake an order (and its Despatch summary read) again and again.
import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import type { HttpContext } from './server';
import { sourceRateLimit } from './limits';
import { workflowIdForSalesOrder } from '../temporal/order-lookup';
import { despatchNotifiedSignal } from '../../workflows/order/messages';
import { recordAccepted, recordDropped } from '../metrics/webhooks';
import { callbackSecretGuard, noControlCharacters, peoplevoxRoute } from './callbacks';
import { signalWarehouseGateway, warehouseGatewayStart } from '../../activities/warehouse-gateway';
import { hintCoalescer } from './hint-coalescer';

const text = (field: string, max: number) =>
  z
    .string({ error: `${field} is required` })
    .min(1, `${field} is required`)
    .max(max, `${field}: at most ${max} characters`)
    .refine(noControlCharacters, `${field}: control characters are not allowed`);

/** Peoplevox TrackingNumberReceived callback (SubscribeEvent GET with substituted placeholders). */
export const TrackingCallback = z.object({
  despatch: text('despatch (DespatchNumber)', 50),
  // Peoplevox's SalesOrderNumber is at most 30 characters.
  order: text('order (SalesOrderNumber)', 30),
  // A despatch without tracking (a collection) substitutes nothing: no tracking number, not "".
  tn: z
    .string()
    .max(100, 'tn: at most 100 characters')
    .refine(noControlCharacters, 'tn: control characters are not allowed')
    .optional()
    .transform((v) => (v ? v : undefined)),
  carrier: z
    .string()
    .max(100, 'carrier: at most 100 characters')
    .refine(noControlCharacters, 'carrier: control characters are not allowed')
    .optional()
    .transform((v) => (v ? v : undefined)),
});

/** Recently signalled notices (bounded): a replay within the window is answered but not signalled again. */
function recentNotices(max = 20_000, windowMs = 10 * 60_000) {
  const seen = new Map<string, number>();
  return {
    seenRecently(key: string, now = Date.now()): boolean {
      const at = seen.get(key);
      return at !== undefined && now - at < windowMs;
    },
    remember(key: string, now = Date.now()): void {
      seen.delete(key);
      seen.set(key, now);
      if (seen.size > max) seen.delete(seen.keys().next().value!);
    },
  };
}

export function registerWebhooks(app: FastifyInstance, ctx: HttpContext) {
  const recent = recentNotices();
  const gateway = warehouseGatewayStart(ctx.config, ctx.timeScale ?? 1);
  // The gateway reads at most once a minimum gap: hints closer together than that (and than a second) share a send.
  const hintGateway = hintCoalescer(
    async () => {
      await signalWarehouseGateway(ctx.client, ctx.config, ctx.timeScale ?? 1, { kind: 'hint' });
    },
    Math.min(gateway?.input.despatch.minGapMs ?? 0, 1_000),
  );
  const ANSWER = { ok: true };
  const handleTracking = async (params: unknown) => {
    const parsed = TrackingCallback.safeParse(params);
    if (!parsed.success) {
      recordDropped('peoplevox-tracking', 'invalid');
      return { status: 400, body: { error: z.prettifyError(parsed.error) } };
    }
    const { despatch, order, tn, carrier } = parsed.data;
    const key = `${order}\u0000${despatch}\u0000${tn ?? ''}`;
    if (recent.seenRecently(key)) {
      recordDropped('peoplevox-tracking', 'duplicate');
      return { status: 200, body: ANSWER };
    }
    // Through the warehouse gateway, a callback only brings its next despatch read forward (at most one read per
    // minimum gap, on the bulk share of the budget): the read finds the despatch with its items for the order.
    if (gateway) {
      try {
        await hintGateway();
      } catch (err) {
        ctx.log.warn({ err: (err as Error).message }, 'could not hint the warehouse gateway');
        return { status: 503, body: { error: 'not handled, try again' } };
      }
      recent.remember(key);
      recordAccepted('peoplevox-tracking');
      return { status: 200, body: ANSWER };
    }
    const workflowId = await workflowIdForSalesOrder(ctx.config, ctx.client, order);
    if (!workflowId) {
      // The despatch backstop raises DESPATCH_WITHOUT_ORDER for a real one; a 4xx would only tell a caller
      // which order numbers exist.
      recordDropped('peoplevox-tracking', 'unknown-order');
      return { status: 200, body: ANSWER };
    }
    try {
      await ctx.client.workflow
        .getHandle(workflowId)
        .signal(despatchNotifiedSignal, { despatchNumber: despatch, trackingNumber: tn, carrier });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        recordDropped('peoplevox-tracking', 'unknown-order');
        return { status: 200, body: ANSWER };
      }
      // Temporal itself is unavailable: that says nothing about the order, and a retry may help.
      ctx.log.warn({ err: (err as Error).message }, 'could not signal the order workflow');
      return { status: 503, body: { error: 'not handled, try again' } };
    }
    recent.remember(key);
    recordAccepted('peoplevox-tracking');
    return { status: 200, body: ANSWER };
  };
  const routeOptions = {
    preHandler: callbackSecretGuard(ctx, 'peoplevox-tracking'),
    config: { rateLimit: sourceRateLimit(ctx.config, 'peoplevox', 'peoplevox-tracking') },
  };
  app.get(peoplevoxRoute('tracking'), routeOptions, async (req, reply) => {
    const r = await handleTracking(req.query);
    return reply.code(r.status).send(r.body);
  });
  app.post(peoplevoxRoute('tracking'), routeOptions, async (req, reply) => {
    const r = await handleTracking(req.body);
    return reply.code(r.status).send(r.body);
  });
}
