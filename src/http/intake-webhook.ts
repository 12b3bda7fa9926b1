// Push intake: POST /webhooks/intake/<channel>/orders  { "event_id"?: "...", "order_ids": ["..."] }
// For operators (or middleware) that send order events instead of waiting for our poll. Authenticated
// with the channel's shared token (`Authorization: Bearer <token>`), answered as soon as the event is
// durable in Temporal (a workflow started), never processed on a bad token.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { z } from 'zod';
import type { HttpServerOptions } from './server';
import { fnv1a32 } from '../domain/keys';
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

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function pushWorkflowId(channel: string, body: { event_id?: string; order_ids: string[] }): string {
  const key = body.event_id ?? fnv1a32([...body.order_ids].sort().join(',')).toString(36);
  return `push:${channel}:${key}`;
}

export function registerIntakeWebhook(app: FastifyInstance, opts: HttpServerOptions) {
  app.post<{ Params: { channel: string } }>('/webhooks/intake/:channel/orders', async (req, reply) => {
    const ch = opts.config.channels.find((c) => c.code === req.params.channel && c.enabled);
    if (!ch) return reply.code(404).send({ error: `no enabled channel "${req.params.channel}"` });
    const tokenEnv = ch.intake.pushTokenEnv;
    const expected = tokenEnv ? process.env[tokenEnv] : undefined;
    if (!tokenEnv || !expected) {
      return reply.code(404).send({ error: `push intake is not enabled for channel ${ch.code}` });
    }
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!sameSecret(token, expected)) return reply.code(401).send({ error: 'bad or missing bearer token' });

    const parsed = PushBody.safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: z.prettifyError(parsed.error) });
    const workflowId = pushWorkflowId(ch.code, parsed.data);
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
