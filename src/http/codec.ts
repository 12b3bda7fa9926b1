// Codec endpoint for the Temporal Web UI (`temporal server start-dev --ui-codec-endpoint
// http://<host>:8080/codec`, or TEMPORAL_CODEC_ENDPOINT): POST /codec/decode and /codec/encode with the
// Web UI's JSON form of payloads, {"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}.
//
// Decoding shows customer data, so it is for an authenticated operator only: the ops token
// (http.opsTokenEnv) as `Authorization: Bearer <token>` (or basic auth, below); anything else is a 401
// and nothing is decoded.
// The UI calls from another origin (its own port), so the allowed origins get CORS headers and the
// preflight (which browsers send without credentials) is answered without a token.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import type { HttpServerOptions } from './server';
import { createPayloadCodec } from '../temporal/data-converter';
import { PayloadDecryptionError, type EncryptionCodec } from '../temporal/codec';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

const CodecBody = z.object({
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), base64).nullish(),
        data: base64.nullish(),
      }),
    )
    .max(10_000),
});
type WirePayload = z.infer<typeof CodecBody>['payloads'][number];

function fromWire(p: WirePayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
    ),
    data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
  };
}

function toWire(p: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array(0)).toString('base64'),
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The ops token as `Bearer <token>` (the UI passing a token, scripts), or as the password of HTTP basic
 * auth: a browser that signed in to the ops dashboard sends those credentials along when the UI's
 * "Include cross-origin credentials" is on. (No WWW-Authenticate challenge here: a decode request from
 * the UI must never pop up a password prompt.)
 */
function presentedToken(header: string): string {
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i >= 0 ? decoded.slice(i + 1) : '';
  }
  return '';
}

// The headers the Web UI sends: JSON, the namespace it is showing, and an Authorization header.
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';

export function registerCodecEndpoint(app: FastifyInstance, opts: HttpServerOptions): void {
  const codec: EncryptionCodec | undefined = createPayloadCodec(opts.config);
  if (!codec) return; // Encryption off: there is nothing to decode.
  const origins = new Set(opts.config.security.codecEndpoint.corsOrigins.map((o) => new URL(o).origin));
  const tokenEnv = opts.config.http.opsTokenEnv;

  const cors = (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    reply.header('Vary', 'Origin');
    if (origin && origins.has(origin)) {
      reply.header('Access-Control-Allow-Origin', origin);
      reply.header('Access-Control-Allow-Credentials', 'true');
    }
  };

  const authorized = (req: FastifyRequest): boolean => {
    const expected = process.env[tokenEnv];
    return !!expected && sameSecret(presentedToken(req.headers.authorization ?? ''), expected);
  };

  // A browser page for operators of a UI without sign-in: the browser asks for the ops token (basic
  // auth) once, then sends it with the UI's decode requests under /codec/ when the UI's "Include
  // cross-origin credentials" is on. The decode routes themselves never challenge.
  app.get('/codec/login', async (req, reply) => {
    if (!authorized(req)) {
      reply.header('WWW-Authenticate', 'Basic realm="Loopline codec (password: the ops token)", charset="UTF-8"');
      return reply.code(401).send({ error: 'sign in with the ops token as password' });
    }
    reply.type('text/html; charset=utf-8');
    return '<!doctype html><title>Loopline codec</title><p>Signed in. The Temporal Web UI can now decode payloads (turn on “Include cross-origin credentials” in its codec settings). You can close this tab.</p>';
  });

  for (const op of ['decode', 'encode'] as const) {
    const url = `/codec/${op}`;
    app.options(url, async (req, reply) => {
      cors(req, reply);
      reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
      reply.header('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      reply.header('Access-Control-Max-Age', '600');
      return reply.code(204).send();
    });
    app.post(url, async (req, reply) => {
      cors(req, reply);
      if (!process.env[tokenEnv]) {
        return reply.code(401).send({ error: `the codec endpoint needs the ops token, and ${tokenEnv} is not set` });
      }
      if (!authorized(req)) return reply.code(401).send({ error: 'bad or missing bearer token (the ops token)' });
      const parsed = CodecBody.safeParse(req.body);
      if (!parsed.success) return reply.code(400).send({ error: z.prettifyError(parsed.error) });
      const payloads = parsed.data.payloads.map(fromWire);
      try {
        const out = op === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
        opts.log.info(
          { op, payloads: payloads.length, namespace: req.headers['x-namespace'] },
          'codec endpoint used by an operator',
        );
        return reply.send({ payloads: out.map(toWire) });
      } catch (err) {
        if (err instanceof PayloadDecryptionError) return reply.code(422).send({ error: err.message });
        throw err;
      }
    });
  }
}
