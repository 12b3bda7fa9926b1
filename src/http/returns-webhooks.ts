// Returns webhooks. Each answers fast and hands the event to a workflow:
//   POST /webhooks/reveni/<channel>        Reveni `return.created` / `return.updated`: {id, event, created,
//        data:{resource_id, status}}. Verified by reading the return back from Reveni (its webhooks carry no
//        documented signature), deduplicated by event id, and the read-back (never the body) goes to the return.
//   GET|POST /webhooks/peoplevox/returns   Peoplevox `Returns` event: no documented placeholders, so it only
//        starts a read of the Return summary now (the receipt sweep; the Schedule runs it as a backstop too).
import { WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { secretFromEnv } from '../config/load';
import { ReveniClient } from '../connectors/reveni/client';
import { reveniNotice, toReveniSnapshot } from '../connectors/reveni/map';
import { ReveniWebhookSchema } from '../connectors/reveni/schemas';
import { ConnectorError } from '../connectors/errors';
import { returnWorkflowId } from '../domain/keys';
import { returnKeyOf } from '../domain/returns';
import { handOverReturn } from '../returns/handover';
import { returnEvents } from '../metrics/returns';
import { reveniUpdatedSignal } from '../../workflows/returns/messages';
import { returnReceiptsSweepWorkflow, type ReturnReceiptsSweepInput } from '../../workflows/return-receipts-sweep';
import type { HttpServerOptions } from './server';

/** Event ids remembered for dedupe (a redelivery after a lost answer is common; the workflows dedupe too). */
const SEEN_MAX = 20_000;

export function returnReceiptsRunId(scope: string | undefined, suffix: string): string {
  return `return-receipts-run${scope ? `:${scope}` : ''}:${suffix}`;
}

export function registerReturnWebhooks(app: FastifyInstance, opts: HttpServerOptions): void {
  const { config, client, log } = opts;
  const seen = new Map<string, number>();
  const clients = new Map<string, ReveniClient>();
  const reveni = (channel: string): ReveniClient | undefined => {
    const cfg = config.systems.reveni;
    const store = cfg?.stores[channel];
    if (!cfg || !store) return undefined;
    let c = clients.get(channel);
    if (!c) {
      c = new ReveniClient({
        baseUrl: cfg.baseUrl,
        apiKey: secretFromEnv(cfg.apiKeyEnv, 'systems.reveni.apiKeyEnv'),
        storeId: store,
        timeoutMs: cfg.timeoutMs,
        log: log.child({ system: 'reveni', channel }),
      });
      clients.set(channel, c);
    }
    return c;
  };

  app.post<{ Params: { channel: string } }>('/webhooks/reveni/:channel', async (req, reply) => {
    const channel = req.params.channel;
    const ch = config.channels.find((c) => c.code === channel);
    const api = reveni(channel);
    if (!ch || !api) return reply.code(404).send({ error: `no Reveni store for channel ${channel}` });
    const body = ReveniWebhookSchema.safeParse(req.body);
    if (!body.success) return reply.code(400).send({ error: z.prettifyError(body.error) });
    const e = body.data;
    if (seen.has(e.id)) {
      returnEvents.inc({ source: 'reveni', outcome: 'duplicate' });
      return reply.code(200).send({ ok: true, duplicate: true });
    }
    // Verify: the return as Reveni has it now (statuses, items, refund). A webhook for a return Reveni does
    // not have is acknowledged and dropped; Reveni being down asks for a redelivery.
    let snap;
    try {
      const r = await api.getReturn(e.data.resource_id);
      if (!r) {
        log.warn(
          { channel, event: e.id, returnId: e.data.resource_id },
          'Reveni webhook for a return Reveni does not have',
        );
        return reply.code(200).send({ ok: false, reason: 'no such return in Reveni' });
      }
      snap = toReveniSnapshot(r, ch.currency);
    } catch (err) {
      const retry = !(err instanceof ConnectorError) || err.retryable;
      log.warn({ channel, event: e.id, err: (err as Error).message }, 'Reveni return not read back');
      return reply.code(retry ? 503 : 200).send({ ok: false, reason: 'could not read the return back from Reveni' });
    }
    seen.set(e.id, Date.now());
    if (seen.size > SEEN_MAX) seen.delete(seen.keys().next().value!);
    // A return Loopline sent to Reveni carries the marketplace return as its reference; one the customer
    // started in Reveni is its own.
    const workflowId = returnWorkflowId(
      channel,
      snap.externalReference ? returnKeyOf('marketplace', snap.externalReference) : returnKeyOf('reveni', snap.id),
    );
    try {
      await client.workflow.getHandle(workflowId).signal(reveniUpdatedSignal, snap);
      returnEvents.inc({ source: 'reveni', outcome: 'signalled' });
      return reply.code(200).send({ ok: true });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) {
        seen.delete(e.id);
        return reply.code(503).send({ ok: false, reason: 'workflow not reachable' });
      }
    }
    if (snap.externalReference) {
      // Its return has finished: nothing changes it any more.
      returnEvents.inc({ source: 'reveni', outcome: 'finished' });
      return reply.code(200).send({ ok: true, reason: 'return finished' });
    }
    try {
      const outcome = await handOverReturn(client, config, reveniNotice(channel, snap));
      return reply.code(200).send({ ok: true, outcome });
    } catch (err) {
      seen.delete(e.id);
      log.warn({ channel, event: e.id, err: (err as Error).message }, 'Reveni return not handed over');
      return reply.code(503).send({ ok: false, reason: 'not handed over' });
    }
  });

  // Peoplevox Returns event: read the Return summary now (at most one run every 2 s).
  const receipts = async () => {
    const pvx = config.systems.peoplevox;
    if (!pvx) return { status: 404, body: { error: 'systems.peoplevox is not configured' } };
    const input: ReturnReceiptsSweepInput = {
      lookbackMinutes: config.returns.receiptLookbackMinutes,
      taskQueue: config.temporal.taskQueues.peoplevox,
    };
    try {
      await client.workflow.start(returnReceiptsSweepWorkflow, {
        workflowId: returnReceiptsRunId(config.temporal.idScope, `event-${Math.floor(Date.now() / 2000)}`),
        taskQueue: config.temporal.taskQueues.orders,
        args: [input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'return receipts read not started');
      return { status: 503, body: { ok: false } };
    }
    return { status: 200, body: { ok: true } };
  };
  app.get('/webhooks/peoplevox/returns', async (_req, reply) => {
    const r = await receipts();
    return reply.code(r.status).send(r.body);
  });
  app.post('/webhooks/peoplevox/returns', async (_req, reply) => {
    const r = await receipts();
    return reply.code(r.status).send(r.body);
  });
}
