// Peoplevox callbacks carry no signature: Peoplevox calls the URL registered with SubscribeEvent, with
// its placeholders substituted. So the URL itself is the credential: every callback path holds the
// deployment's secret (http.webhookSecretEnv), /webhooks/peoplevox/<secret>/<event>, compared in constant
// time. A wrong or missing secret gets exactly the answer an unknown path gets (404), and counts as a
// failed sign-in for its source (past the limit: 429). Values are URL-encoded by Peoplevox
// (encodeParameterData), so an item code holding `&` or `+` arrives whole.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret } from '../config/secrets';
import { recordDropped, type WebhookSource } from '../metrics/webhooks';
import type { HttpContext } from './server';

export const PEOPLEVOX_CALLBACK_PREFIX = '/webhooks/peoplevox';
export type PeoplevoxCallback = 'tracking' | 'availability' | 'stock-hint' | 'returns';

/** The route pattern of a Peoplevox callback. */
export function peoplevoxRoute(event: PeoplevoxCallback): string {
  return `${PEOPLEVOX_CALLBACK_PREFIX}/:secret/${event}`;
}

/** The URL registered with Peoplevox for an event, with the secret in its path. */
export function peoplevoxCallbackUrl(publicUrl: string, secret: string, event: PeoplevoxCallback, query = ''): string {
  return `${publicUrl.replace(/\/+$/, '')}${PEOPLEVOX_CALLBACK_PREFIX}/${secret}/${event}${query ? `?${query}` : ''}`;
}

/** A preHandler admitting only requests whose path carries the callback secret. */
export function callbackSecretGuard(ctx: Pick<HttpContext, 'secrets' | 'failures'>, source: WebhookSource) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const retryIn = ctx.failures.blocked(req.ip);
    if (retryIn !== undefined) {
      recordDropped(source, 'rate-limited');
      return reply.code(429).header('retry-after', String(retryIn)).send({ error: 'too many requests' });
    }
    const given = (req.params as { secret?: string }).secret;
    if (!sameSecret(given, ctx.secrets.webhookSecret)) {
      ctx.failures.fail(req.ip);
      recordDropped(source, 'bad-secret');
      // The same answer as a path that does not exist: the route's existence is not confirmed.
      return reply.callNotFound();
    }
    return undefined;
  };
}

/** True when `s` holds no control character (what Peoplevox substitutes into a URL is printable text). */
export function noControlCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}
