// Who may use the internal listener (docs/security.md). Three roles, each with its own credential:
//   viewer     read the ops dashboard and its read API;
//   operator   everything a viewer can, and act: retry, resolve, cancel (the operator token);
//   decryptor  decode (and encode) payloads through the codec endpoint for the Temporal Web UI.
// A token is sent as `Authorization: Bearer <token>` (API, CLI, scripts, an SSO proxy) or as the
// password of HTTP basic auth (a browser prompts for it; the user name is only recorded in the audit
// log). A role whose variable is unset is closed. Wrong credentials are counted per source address:
// past the limit (http.rateLimits.authFailures) the source is refused until its window ends.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema';
import { roleVariables, sameSecret, type HttpSecrets, type Role } from '../config/secrets';
import { recordDropped, type WebhookSource } from '../metrics/webhooks';

export interface Presented {
  token?: string;
  /** The basic-auth user name, or "bearer": who the caller says they are (audit only). */
  subject?: string;
}

export function presented(req: FastifyRequest): Presented {
  const h = req.headers.authorization ?? '';
  if (/^Bearer /i.test(h)) return { token: h.slice(7).trim(), subject: 'bearer' };
  if (/^Basic /i.test(h)) {
    const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return {};
    return { token: decoded.slice(i + 1), subject: decoded.slice(0, i).slice(0, 64) || 'basic' };
  }
  return {};
}

/** The roles a token grants. The operator token also reads (viewer); the decryptor token only decodes. */
export function rolesOf(token: string | undefined, secrets: HttpSecrets): Set<Role> {
  const roles = new Set<Role>();
  if (token === undefined) return roles;
  // Every configured token is compared, whatever matches first, so timing does not tell which role it is.
  const matches = {
    viewer: sameSecret(token, secrets.tokens.viewer),
    operator: sameSecret(token, secrets.tokens.operator),
    decryptor: sameSecret(token, secrets.tokens.decryptor),
  };
  if (matches.operator) roles.add('operator').add('viewer');
  if (matches.viewer) roles.add('viewer');
  if (matches.decryptor) roles.add('decryptor');
  return roles;
}

/** Failed sign-ins per source address within a window (bounded memory). */
export function createFailureLimiter(limit: { max: number; windowSeconds: number }, maxSources = 10_000) {
  const bySource = new Map<string, { count: number; resetAt: number }>();
  const entry = (source: string, now: number) => {
    let e = bySource.get(source);
    if (!e || e.resetAt <= now) {
      e = { count: 0, resetAt: now + limit.windowSeconds * 1000 };
      bySource.delete(source);
      bySource.set(source, e);
      if (bySource.size > maxSources) bySource.delete(bySource.keys().next().value!);
    }
    return e;
  };
  return {
    blocked(source: string, now = Date.now()): number | undefined {
      const e = bySource.get(source);
      return e && e.resetAt > now && e.count >= limit.max ? Math.ceil((e.resetAt - now) / 1000) : undefined;
    },
    fail(source: string, now = Date.now()): void {
      entry(source, now).count++;
    },
  };
}
export type FailureLimiter = ReturnType<typeof createFailureLimiter>;

export interface AuthOptions {
  config: Pick<Config, 'http'>;
  secrets: HttpSecrets;
  failures: FailureLimiter;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireRole: the roles the caller's credential grants, and who they say they are. */
    auth?: { roles: Set<Role>; subject?: string };
  }
}

const ROLE_WORDS: Record<Role, string> = {
  viewer: 'the viewer (or operator) token',
  operator: 'the operator token',
  decryptor: 'the decryptor token',
};

/**
 * A fastify preHandler admitting callers whose credential grants `role`. `challenge` sends a basic-auth
 * challenge on 401 (the dashboard's pages; never the codec, whose requests come from another page).
 */
export function requireRole(role: Role, opts: AuthOptions & { challenge?: boolean; source?: WebhookSource }) {
  const source = opts.source ?? 'internal';
  const variables = roleVariables(opts.config);
  const configured =
    role === 'viewer' ? !!(opts.secrets.tokens.viewer ?? opts.secrets.tokens.operator) : !!opts.secrets.tokens[role];
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!configured) {
      recordDropped(source, 'bad-token');
      return reply.code(503).send({ error: `closed: set ${variables[role]} to a secret token to open it` });
    }
    const retryIn = opts.failures.blocked(req.ip);
    if (retryIn !== undefined) {
      recordDropped(source, 'rate-limited');
      return reply
        .code(429)
        .header('retry-after', String(retryIn))
        .send({ error: `too many failed sign-ins from this address; try again in ${retryIn} s` });
    }
    const p = presented(req);
    const roles = rolesOf(p.token, opts.secrets);
    if (roles.size === 0) {
      if (p.token !== undefined) opts.failures.fail(req.ip);
      recordDropped(source, 'bad-token');
      if (opts.challenge) reply.header('www-authenticate', 'Basic realm="Loopline", charset="UTF-8"');
      return reply.code(401).send({ error: `${ROLE_WORDS[role]} is missing or wrong` });
    }
    if (!roles.has(role)) {
      recordDropped(source, 'wrong-role');
      return reply.code(403).send({ error: `this credential cannot do that: it needs ${ROLE_WORDS[role]}` });
    }
    req.auth = { roles, subject: p.subject };
    return undefined;
  };
}
