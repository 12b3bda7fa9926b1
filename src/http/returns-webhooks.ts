// Returns webhooks, on the public listener. Each answers fast and hands the event to a workflow:
//   POST /webhooks/reveni/<secret>/<channel>   Reveni `return.created` / `return.updated`: {id, event, created,
//        data:{resource_id, status}}. Reveni signs nothing (docs/security.md): the deployment's callback secret
//        is in the path, and the event is a hint only (`verifyReveniEvent`): the return is read back from
//        Reveni with Loopline's own key, and only that read-back (never the body) goes to the return.
//        Deduplicated by event id.
//   GET|POST /webhooks/peoplevox/<secret>/returns   Peoplevox `Returns` event: no documented placeholders, so
//        it carries nothing we use; it only starts a read of the Return summary now (the receipt sweep; the
//        Schedule runs it as a backstop too).
// A wrong secret gets the answer of a path that does not exist (./callbacks.ts); each source is rate-limited.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { secretFromEnv } from '../config/load';
import { ReveniClient } from '../connectors/reveni/client';
import { reveniNotice, toReveniSnapshot } from '../connectors/reveni/map';
import type { ReveniReturn } from '../connectors/reveni/schemas';
import { ConnectorError } from '../connectors/errors';
import { returnWorkflowId } from '../domain/keys';
import { returnKeyOf } from '../domain/returns';
import { handOverReturn } from '../returns/handover';
import { returnEvents } from '../metrics/returns';
import { recordAccepted, recordDropped } from '../metrics/webhooks';
import { reveniUpdatedSignal } from '../../workflows/returns/messages';
import {
  receiptsBookedSignal,
  returnReceiptsSweepWorkflow,
  type ReturnReceiptsSweepInput,
} from '../../workflows/return-receipts-sweep';
import { callbackSecretGuard, peoplevoxRoute } from './callbacks';
import { sourceRateLimit } from './limits';
import type { HttpContext } from './server';
import { verifyReveniEvent } from './verify';

/** Event ids remembered for dedupe (a redelivery after a lost answer is common; the workflows dedupe too). */
const SEEN_MAX = 20_000;

/** The route of Reveni's webhooks: the callback secret, then the channel whose store it is. */
export const REVENI_WEBHOOK_ROUTE = '/webhooks/reveni/:secret/:channel';

/** The URL registered with Reveni for a channel's store (the secret in its path). */
export function reveniWebhookUrl(publicUrl: string, secret: string, channel: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/webhooks/reveni/${secret}/${encodeURIComponent(channel)}`;
}

export function returnReceiptsRunId(scope: string | undefined, suffix: string): string {
  return `return-receipts-run${scope ? `:${scope}` : ''}:${suffix}`;
}

export function registerReturnWebhooks(app: FastifyInstance, ctx: HttpContext): void {
  const { config, client, log } = ctx;
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

  const reveniRoute = {
    preHandler: callbackSecretGuard(ctx, 'reveni'),
    config: { rateLimit: sourceRateLimit(config, 'reveni', 'reveni') },
  };
  app.post<{ Params: { channel: string } }>(REVENI_WEBHOOK_ROUTE, reveniRoute, async (req, reply) => {
    const channel = req.params.channel;
    const ch = config.channels.find((c) => c.code === channel);
    const api = reveni(channel);
    if (!ch || !api) {
      recordDropped('reveni', 'invalid');
      return reply.code(404).send({ error: 'no Reveni store for this channel' });
    }
    const eventId = (req.body as { id?: unknown } | undefined)?.id;
    if (typeof eventId === 'string' && seen.has(eventId)) {
      recordDropped('reveni', 'duplicate');
      returnEvents.inc({ source: 'reveni', outcome: 'duplicate' });
      return reply.code(200).send({ ok: true });
    }
    // Verify: the event is only a hint; the return as Reveni has it now (statuses, items, refund), read with
    // our own key, is what counts. A return Reveni does not have is acknowledged and dropped; Reveni being
    // down asks for a redelivery.
    let verified;
    try {
      verified = await verifyReveniEvent<ReveniReturn>(req.body, (id) => api.getReturn(id));
    } catch (err) {
      const retry = !(err instanceof ConnectorError) || err.retryable;
      log.warn({ channel, err: (err as Error).message }, 'Reveni return not read back');
      return reply.code(retry ? 503 : 200).send({ ok: false, reason: 'could not read the return back from Reveni' });
    }
    if (!verified.ok) {
      recordDropped('reveni', verified.reason);
      if (verified.reason === 'invalid') return reply.code(400).send({ error: verified.error });
      // The same answer whether or not the return exists: the route is no oracle for return ids.
      return reply.code(200).send({ ok: true });
    }
    const e = verified.event;
    const snap = toReveniSnapshot(verified.resource, ch.currency);
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
      recordAccepted('reveni');
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
      recordAccepted('reveni');
      return reply.code(200).send({ ok: true });
    }
    try {
      await handOverReturn(client, config, reveniNotice(channel, snap));
      recordAccepted('reveni');
      return reply.code(200).send({ ok: true });
    } catch (err) {
      seen.delete(e.id);
      log.warn({ channel, event: e.id, err: (err as Error).message }, 'Reveni return not handed over');
      return reply.code(503).send({ ok: false, reason: 'not handed over' });
    }
  });

  // Peoplevox Returns event: read the Return summary now (one run for every event; reads at least 2 s apart).
  const receipts = async () => {
    const pvx = config.systems.peoplevox;
    if (!pvx) return { status: 404, body: { error: 'systems.peoplevox is not configured' } };
    const input: ReturnReceiptsSweepInput = {
      lookbackMinutes: config.returns.receiptLookbackMinutes,
      taskQueue: config.temporal.taskQueues.peoplevoxBulk,
    };
    try {
      // One run for the events: a run under way reads again after its read (the event may have come after the
      // report was read); none running, a new one starts.
      await client.workflow.signalWithStart(returnReceiptsSweepWorkflow, {
        workflowId: returnReceiptsRunId(config.temporal.idScope, 'events'),
        taskQueue: config.temporal.taskQueues.orders,
        args: [input],
        signal: receiptsBookedSignal,
        signalArgs: [],
      });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'return receipts read not started');
      return { status: 503, body: { ok: false } };
    }
    return { status: 200, body: { ok: true } };
  };
  const pvxRoute = {
    preHandler: callbackSecretGuard(ctx, 'peoplevox-returns'),
    config: { rateLimit: sourceRateLimit(config, 'peoplevox', 'peoplevox-returns') },
  };
  app.get(peoplevoxRoute('returns'), pvxRoute, async (_req, reply) => {
    const r = await receipts();
    if (r.status === 200) recordAccepted('peoplevox-returns');
    return reply.code(r.status).send(r.body);
  });
  app.post(peoplevoxRoute('returns'), pvxRoute, async (_req, reply) => {
    const r = await receipts();
    if (r.status === 200) recordAccepted('peoplevox-returns');
    return reply.code(r.status).send(r.body);
  });
}
