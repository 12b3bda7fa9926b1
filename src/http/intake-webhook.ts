// Push intake: POST /webhooks/intake/<channel>/orders  { "event_id"?: "...", "order_ids": ["..."] }
// For operators (or middleware) that send order events instead of waiting for our poll. Authenticated
// with the channel's shared token (`Authorization: Bearer <token>`, compared in constant time), rate-limited
// per source, answered as soon as the event is durable in Temporal (a workflow started), never processed
// on a bad token. An unknown channel, a channel without push intake and a wrong token all get the same
// 401, so the endpoint does not tell which channels exist. The order ids are only hints: the workflow
// reads each order back from Mirakl (OR11) with Loopline's own key.
import type { FastifyInstance } from 'fastify';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { z } from 'zod';
import type { HttpContext } from './server';
import { fnv1a32 } from '../domain/keys';
import { sameSecret } from '../config/secrets';
import { sourceRateLimit } from './limits';
import { recordAccepted, recordDropped } from '../metrics/webhooks';
import { pushedOrdersWorkflow } from '../../workflows/pushed-orders';

const PushBody = z.object({
  event_id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'event_id: 1–100 letters, digits or ._:-')
    .optional(),
  order_ids: z
    .array(z.string().min(1, 'order_ids[]: an order id cannot be empty').max(100))
    .min(1, 'order_ids: at least one order id')
    .max(100, 'order_ids: at most 100 per event (OR11 reads 100 ids at a time)'),
});

export function pushWorkflowId(channel: string, body: { event_id?: string; order_ids: string[] }): string {
  const key = body.event_id ?? fnv1a32([...body.order_ids].sort().join(',')).toString(36);
  return `push:${channel}:${key}`;
}

export function registerIntakeWebhook(app: FastifyInstance, opts: HttpContext) {
  const options = { config: { rateLimit: sourceRateLimit(opts.config, 'intake', 'intake') } };
  app.post<{ Params: { channel: string } }>('/webhooks/intake/:channel/orders', options, async (req, reply) => {
    const retryIn = opts.failures.blocked(req.ip);
    if (retryIn !== undefined) {
      recordDropped('intake', 'rate-limited');
      return reply.code(429).header('retry-after', String(retryIn)).send({ error: 'too many failed attempts' });
    }
    const ch = opts.config.channels.find((c) => c.code === req.params.channel && c.enabled);
    const tokenEnv = ch?.intake.pushTokenEnv;
    const expected = tokenEnv ? process.env[tokenEnv] : undefined;
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    if (!ch || !sameSecret(token, expected)) {
      if (token !== undefined) opts.failures.fail(req.ip);
      recordDropped('intake', 'bad-token');
      return reply.code(401).send({ error: 'bad or missing bearer token' });
    }

    const parsed = PushBody.safeParse(req.body);
    if (!parsed.success) {
      recordDropped('intake', 'invalid');
      return reply.code(400).send({ error: z.prettifyError(parsed.error) });
    }
    const workflowId = pushWorkflowId(ch.code, parsed.data);
    recordAccepted('intake');
    // USE_EXISTING: a duplicate delivery while the first is being handled joins it. A later delivery
    // re-reads the orders, which is harmless: handing an order over is idempotent.
    await opts.client.workflow.start(pushedOrdersWorkflow, {
      workflowId,
      taskQueue: opts.config.temporal.taskQueues.orders,
      args: [{ channel: ch.code, orderIds: parsed.data.order_ids }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    return reply.code(202).send({ ok: true, workflowId, orders: parsed.data.order_ids.length });
  });
}
