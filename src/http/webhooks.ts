// Webhook receivers. Each answers fast and hands the event to a workflow as a signal; the workflow
// dedupes (a despatch number is confirmed once, an order update older than the last one is ignored).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpServerOptions } from './server';
import { workflowIdForSalesOrder } from '../temporal/order-lookup';
import { despatchNotifiedSignal } from '../../workflows/order/messages';

/** Peoplevox TrackingNumberReceived callback (SubscribeEvent GET with substituted placeholders). */
const TrackingCallback = z.object({
  despatch: z.string().min(1, 'despatch (DespatchNumber) is required'),
  order: z.string().min(1, 'order (SalesOrderNumber) is required'),
  tn: z.string().optional(),
  carrier: z.string().optional(),
});

export function registerWebhooks(app: FastifyInstance, opts: HttpServerOptions) {
  const handleTracking = async (params: unknown) => {
    const parsed = TrackingCallback.safeParse(params);
    if (!parsed.success) {
      return { status: 400, body: { error: z.prettifyError(parsed.error) } };
    }
    const { despatch, order, tn, carrier } = parsed.data;
    const workflowId = await workflowIdForSalesOrder(opts.config, opts.client, order);
    if (!workflowId) {
      opts.log.warn({ despatch, salesOrderNumber: order }, 'despatch for a sales order with no workflow');
      // 2xx anyway: the despatch backstop raises the exception; a 4xx would only make Peoplevox retry.
      return { status: 202, body: { ok: false, reason: 'no workflow for this sales order' } };
    }
    try {
      await opts.client.workflow
        .getHandle(workflowId)
        .signal(despatchNotifiedSignal, { despatchNumber: despatch, trackingNumber: tn, carrier });
    } catch (err) {
      opts.log.warn({ err: (err as Error).message, workflowId }, 'could not signal the order workflow');
      return { status: 202, body: { ok: false, reason: 'workflow not running' } };
    }
    return { status: 200, body: { ok: true } };
  };
  app.get('/webhooks/peoplevox/tracking', async (req, reply) => {
    const r = await handleTracking(req.query);
    return reply.code(r.status).send(r.body);
  });
  app.post('/webhooks/peoplevox/tracking', async (req, reply) => {
    const r = await handleTracking(req.body);
    return reply.code(r.status).send(r.body);
  });
}
