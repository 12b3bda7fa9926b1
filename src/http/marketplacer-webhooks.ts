// Marketplacer webhooks: POST /webhooks/marketplacer/<channel>, on the public listener (docs/security.md).
// Marketplacer disables a webhook that answers a 3xx or a 4xx other than 429, and retries everything else for
// about 30 days. So:
//   - a delivery without a valid Marketplacer-Hmac-256 (HMAC-SHA256 of the raw body, the webhook's key) is not
//     Marketplacer's: 401, never processed; a source that keeps failing is cut off with 429;
//   - every delivery that IS Marketplacer's is answered 2xx, even one Loopline will never handle (an unknown
//     channel, an invoice of another seller, a destroy, a variant): logged and counted, never a 4xx that would
//     switch the webhook off;
//   - answered fast: the event goes into the channel's marketplace-events workflow (a durable signal) and the
//     work happens there (workflows/marketplace-events.ts: deduped by event key, ordered by sequence, batched,
//     invoices read back from the API); only when Temporal cannot take it is the answer 503, and Marketplacer
//     delivers again later;
//   - duplicates and stale deliveries are dropped here first (bounded in-process memory), then again, durably,
//     in the workflow.
// The body is a hint: only the node id is used; what an invoice holds is read back with Loopline's own key.
import type { FastifyInstance } from 'fastify';
import { verifyMarketplacerDelivery } from './verify';
import { sourceRateLimit } from './limits';
import type { HttpContext } from './server';
import { recordAccepted, recordDropped } from '../metrics/webhooks';
import { marketplaceEventsWorkflowId } from '../domain/keys';
import {
  marketplaceEventsSignal,
  marketplaceEventsWorkflow,
  type MarketplaceEvent,
} from '../../workflows/marketplace-events';

export const MARKETPLACER_WEBHOOK_PREFIX = '/webhooks/marketplacer';

/** The address to give Marketplacer for a channel's webhooks (INVOICE and REFUND_REQUEST). */
export function marketplacerWebhookUrl(publicUrl: string, channel: string): string {
  return `${publicUrl.replace(/\/$/, '')}${MARKETPLACER_WEBHOOK_PREFIX}/${encodeURIComponent(channel)}`;
}

/** Keys recently taken (bounded), so a replay is answered without another signal. */
function recentKeys(max = 50_000) {
  const seen = new Set<string>();
  return {
    has: (k: string) => seen.has(k),
    add(k: string) {
      seen.add(k);
      if (seen.size > max) seen.delete(seen.values().next().value!);
    },
    delete: (k: string) => seen.delete(k),
  };
}

/**
 * The highest sequence claimed per object (bounded). Claimed when an event is let through, before its signal;
 * released (back to what it was) when the signal fails, so the redelivery is not taken for stale.
 */
function sequenceMemory(max = 50_000) {
  const last = new Map<string, number>();
  return {
    stale: (id: string, seq: number) => (last.get(id) ?? -1) >= seq,
    /** Records `seq` for `id`; returns the sequence it replaced. */
    claim(id: string, seq: number): number | undefined {
      const prev = last.get(id);
      last.delete(id);
      last.set(id, seq);
      if (last.size > max) last.delete(last.keys().next().value!);
      return prev;
    },
    release(id: string, seq: number, prev: number | undefined) {
      if (last.get(id) !== seq) return;
      if (prev === undefined) last.delete(id);
      else last.set(id, prev);
    },
  };
}

export function registerMarketplacerWebhooks(app: FastifyInstance, ctx: HttpContext): void {
  const { config, client } = ctx;
  const log = ctx.log.child({ component: 'marketplacer-webhooks' });
  const key = ctx.secrets.marketplacerHmacKey;
  const keys = recentKeys();
  const sequences = sequenceMemory();
  const OK = { ok: true };

  void app.register(async (scope) => {
    // The signature is over the raw bytes: keep them, parse after verifying.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const options = { config: { rateLimit: sourceRateLimit(config, 'marketplacer', 'marketplacer') } };
    scope.post<{ Params: { channel: string } }>(
      `${MARKETPLACER_WEBHOOK_PREFIX}/:channel`,
      options,
      async (req, reply) => {
        const retryIn = ctx.failures.blocked(req.ip);
        if (retryIn !== undefined) {
          recordDropped('marketplacer', 'rate-limited');
          return reply.code(429).header('retry-after', String(retryIn)).send({ error: 'too many failed attempts' });
        }
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const verified = verifyMarketplacerDelivery(raw, req.headers, key);
        if (!verified.ok && verified.reason === 'bad-signature') {
          ctx.failures.fail(req.ip);
          recordDropped('marketplacer', 'bad-signature');
          return reply.code(401).send({ error: 'invalid signature' });
        }
        const channelCode = String(req.params.channel).slice(0, 40);
        if (!verified.ok) {
          // Signed, so Marketplacer's own, but not a shape we read: logged, answered 2xx (a 4xx disables the webhook).
          recordDropped('marketplacer', 'invalid');
          log.warn(
            { channel: channelCode, problem: verified.error.slice(0, 300) },
            'marketplacer webhook not readable; ignored',
          );
          return reply.code(200).send({ ok: true, ignored: 'unreadable' });
        }
        const { eventKey, sequence, body } = verified.value;
        const node = body.payload.data.node;
        const ch = config.channels.find((c) => c.code === channelCode && c.enabled && c.platform === 'marketplacer');
        const ignore = (why: string) => {
          recordDropped('marketplacer', 'ignored');
          log.info(
            { channel: channelCode, type: node.__typename, event: body.event_name, why },
            'marketplacer webhook not handled',
          );
          return reply.code(200).send({ ok: true, ignored: why });
        };
        if (!ch) return ignore('no such marketplacer channel');
        if (keys.has(`${ch.code}:${eventKey}`)) {
          recordDropped('marketplacer', 'duplicate');
          return reply.code(200).send({ ok: true, duplicate: true });
        }
        // An invoice event names the invoice; a refund request's names its invoice (when the query gives it).
        let nodeId: string | undefined;
        if (node.__typename === 'Invoice') nodeId = node.id;
        else if (node.__typename === 'RefundRequest') {
          const inv = (node as { invoice?: { id?: unknown } }).invoice;
          nodeId = typeof inv?.id === 'string' && inv.id.length <= 200 ? inv.id : undefined;
          if (!nodeId) return ignore('refund request without its invoice');
        } else return ignore(`a ${node.__typename.slice(0, 40)} event`);
        if (body.event_name === 'destroy') return ignore('destroy');
        const seqKey = `${ch.code}:${node.__typename}:${node.id}`;
        if (sequence !== undefined && sequences.stale(seqKey, sequence)) {
          recordDropped('marketplacer', 'stale');
          return reply.code(200).send({ ok: true, stale: true });
        }
        // Claimed before the signal (a copy arriving meanwhile is a duplicate, an older event stale), given back
        // if Temporal does not take it, so Marketplacer's redelivery is processed.
        const taken = `${ch.code}:${eventKey}`;
        keys.add(taken);
        const previous = sequence !== undefined ? sequences.claim(seqKey, sequence) : undefined;
        const event: MarketplaceEvent = {
          key: eventKey,
          sequence,
          nodeId,
          sequenceOf: `${node.__typename}:${node.id}`,
        };
        try {
          await client.workflow.signalWithStart(marketplaceEventsWorkflow, {
            workflowId: marketplaceEventsWorkflowId(ch.code, config.temporal.idScope),
            taskQueue: config.temporal.taskQueues.orders,
            args: [
              {
                channel: ch.code,
                taskQueue: config.temporal.taskQueues.marketplacer,
                batchMs: Math.max(20, 500 / (ctx.timeScale ?? 1)),
              },
            ],
            signal: marketplaceEventsSignal,
            signalArgs: [[event]],
          });
        } catch (err) {
          keys.delete(taken);
          if (sequence !== undefined) sequences.release(seqKey, sequence, previous);
          log.warn(
            { err: (err as Error).message },
            'marketplacer event not taken (Temporal); Marketplacer will deliver again',
          );
          return reply.code(503).send({ error: 'not handled, try again' });
        }
        recordAccepted('marketplacer');
        return reply.code(200).send(OK);
      },
    );
  });
}
