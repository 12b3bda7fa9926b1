// Who may use the ops dashboard and API: whoever holds the ops token (http.opsTokenEnv), sent as
// `Authorization: Bearer <token>` (API, CLI, scripts) or as the password of HTTP basic auth (a browser
// prompts for it; any user name). Without a configured token the ops routes stay closed.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function opsToken(config: Config): string | undefined {
  return process.env[config.http.opsTokenEnv] || undefined;
}

export function presentedToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization ?? '';
  if (h.startsWith('Bearer ')) return h.slice(7);
  if (h.startsWith('Basic ')) {
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i >= 0 ? decoded.slice(i + 1) : undefined;
  }
  return undefined;
}

/** A fastify preHandler: 503 when no token is configured, 401 (with a basic-auth challenge) when wrong. */
export function requireOps(config: Config) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const expected = opsToken(config);
    if (!expected) {
      return reply
        .code(503)
        .send({ error: `the ops dashboard is closed: set ${config.http.opsTokenEnv} to a secret token` });
    }
    const got = presentedToken(req);
    if (!got || !same(got, expected)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Basic realm="Loopline ops", charset="UTF-8"')
        .send({ error: 'the ops token is missing or wrong' });
    }
    return undefined;
  };
}
