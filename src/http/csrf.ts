// CSRF defence of the internal listener (docs/security.md). A browser that holds an operator's basic-auth
// credentials sends them with any request to this origin, including one a hostile page triggers (a form
// POST, an <img>, a fetch in no-cors mode). So every state-changing request (anything but GET, HEAD,
// OPTIONS) must:
//   1. come from an allowed origin: no `Origin` header (curl, the CLI, server-to-server), or the
//      listener's own origin, or one configured (http.internal.allowedOrigins; the Web UI's origins for the
//      codec endpoint). `Origin: null` (sandboxed frames, file: pages) is refused;
//   2. not be a cross-site or same-site fetch from an origin that is not allowed (`Sec-Fetch-Site`, sent by
//      every current browser, cannot be set by page script);
//   3. carry `Content-Type: application/json` or the header `X-Loopline-Request` (neither can be sent
//      cross-origin without a CORS preflight, which only allowed origins pass).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordDropped } from '../metrics/webhooks';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-loopline-request';

export interface CsrfOptions {
  /** Origins allowed on every route (besides the listener's own). */
  allowedOrigins: readonly string[];
  /** Extra origins for some routes (the codec endpoint: the Web UI). */
  extraOrigins?: (url: string) => readonly string[];
}

function ownOrigin(req: FastifyRequest): string | undefined {
  const host = req.headers.host;
  return host ? `${req.protocol}://${host}` : undefined;
}

export function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Why a request is refused as cross-site, or undefined when it may proceed. */
export function csrfRefusal(req: FastifyRequest, opts: CsrfOptions): string | undefined {
  if (SAFE_METHODS.has(req.method)) return undefined;
  const allowed = new Set([...opts.allowedOrigins, ...(opts.extraOrigins?.(req.url) ?? [])]);
  const own = ownOrigin(req);
  const origin = req.headers.origin;
  const originOk = origin !== undefined && origin !== 'null' && (origin === own || allowed.has(origin));
  if (origin !== undefined && !originOk) return `requests from origin ${origin} are not accepted here`;
  const site = String(req.headers['sec-fetch-site'] ?? '').toLowerCase();
  if ((site === 'cross-site' || site === 'same-site') && !originOk) {
    return `a ${site} request without an allowed Origin is not accepted here`;
  }
  if (!isJson(req.headers['content-type']) && req.headers[CSRF_HEADER] === undefined) {
    return `a state-changing request needs Content-Type: application/json (or the ${CSRF_HEADER} header)`;
  }
  return undefined;
}

/** An onRequest hook refusing cross-site state changes with 403 (before any body is read). */
export function csrfGuard(opts: CsrfOptions) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const why = csrfRefusal(req, opts);
    if (why === undefined) return undefined;
    recordDropped('internal', 'csrf');
    return reply.code(403).send({ error: `refused (cross-site request protection): ${why}` });
  };
}
