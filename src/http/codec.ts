// Codec endpoint for the Temporal Web UI (`temporal server start-dev --ui-codec-endpoint
// http://<host>:8081/codec`, or TEMPORAL_CODEC_ENDPOINT): POST /codec/decode and /codec/encode with the
// Web UI's JSON form of payloads, {"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}.
// It lives on the internal listener only (docs/security.md).
//
// Decoding shows customer data, so it is for the decryptor role only (src/http/auth.ts): the decryptor
// token as `Authorization: Bearer <token>` (an SSO proxy in front of it, or a script), or as the password of
// basic auth (a browser signed in at /codec/login, with the UI's "Include cross-origin credentials" on).
// The operator and viewer tokens are refused (403): operating and decrypting are separate credentials.
// Requests are bounded (security.codecEndpoint.maxPayloads, maxBodyBytes; per-source rate limit) and each
// one is audited with the workflow ids whose payloads it decoded (sealed into each payload's metadata by
// src/temporal/codec.ts), the namespace, and who asked; never with the content.
//
// The sandbox only (`npm start` with the published key, src/sandbox/relaxations.ts): the endpoint
// decodes without credentials, so the dev server's Web UI shows orders at once. Said in the start banner.
//
// The UI calls from another origin (its own port), so the allowed origins get CORS headers and the
// preflight (which browsers send without credentials) is answered without a token.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import type { HttpContext } from './server';
import { createPayloadCodec } from '../temporal/data-converter';
import { PayloadDecryptionError, sealedWorkflowId, type EncryptionCodec } from '../temporal/codec';
import { requireRole } from './auth';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

function codecBody(maxPayloads: number) {
  return z.object({
    payloads: z
      .array(
        z.object({
          metadata: z.record(z.string().max(200), base64).nullish(),
          data: base64.nullish(),
        }),
      )
      .max(maxPayloads, `payloads: at most ${maxPayloads} in one request (security.codecEndpoint.maxPayloads)`),
  });
}
type WirePayload = { metadata?: Record<string, string> | null; data?: string | null };

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

// The headers the Web UI sends: JSON, the namespace it is showing, and an Authorization header.
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';

/** Up to `max` distinct workflow ids the payloads were sealed for, and how many there were. */
export function workflowsOf(payloads: readonly Payload[], max = 20): { ids: string[]; count: number; unknown: number } {
  const ids = new Set<string>();
  let unknown = 0;
  for (const p of payloads) {
    const id = sealedWorkflowId(p);
    if (id === undefined) unknown++;
    else ids.add(id);
  }
  return { ids: [...ids].slice(0, max), count: ids.size, unknown };
}

export function registerCodecEndpoint(app: FastifyInstance, opts: HttpContext): void {
  const codec: EncryptionCodec | undefined = createPayloadCodec(opts.config);
  if (!codec) return; // Encryption off: there is nothing to decode.
  const { corsOrigins, maxPayloads, maxBodyBytes } = opts.config.security.codecEndpoint;
  const origins = new Set(corsOrigins.map((o) => new URL(o).origin));
  const CodecBody = codecBody(maxPayloads);
  const open = opts.sandboxOpenCodec === true;
  const decryptor = requireRole('decryptor', opts);
  const log = opts.log.child({ component: 'codec' });

  const cors = (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    reply.header('Vary', 'Origin');
    if (origin && origins.has(origin)) {
      reply.header('Access-Control-Allow-Origin', origin);
      reply.header('Access-Control-Allow-Credentials', 'true');
    }
  };

  // A browser page for decryptors of a UI without sign-in: the browser asks for the decryptor token
  // (basic auth) once, then sends it with the UI's decode requests under /codec/ when the UI's "Include
  // cross-origin credentials" is on. The decode routes themselves never challenge.
  app.get(
    '/codec/login',
    { preHandler: requireRole('decryptor', { ...opts, challenge: true }) },
    async (_req, reply) => {
      reply.type('text/html; charset=utf-8');
      return '<!doctype html><title>Loopline codec</title><p>Signed in as a decryptor. The Temporal Web UI can now decode payloads (turn on “Include cross-origin credentials” in its codec settings). You can close this tab.</p>';
    },
  );

  for (const op of ['decode', 'encode'] as const) {
    const url = `/codec/${op}`;
    app.options(url, async (req, reply) => {
      cors(req, reply);
      reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
      reply.header('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      reply.header('Access-Control-Max-Age', '600');
      return reply.code(204).send();
    });
    app.post(
      url,
      {
        bodyLimit: maxBodyBytes,
        onRequest: async (req, reply) => cors(req, reply),
        // The sandbox's open codec skips the role check; nothing else does.
        preHandler: open ? [] : [decryptor],
      },
      async (req, reply) => {
        const parsed = CodecBody.safeParse(req.body);
        if (!parsed.success) return reply.code(400).send({ error: z.prettifyError(parsed.error) });
        const payloads = parsed.data.payloads.map(fromWire);
        try {
          const out = op === 'decode' ? await codec.decodeForDisplay(payloads) : await codec.encode(payloads);
          const workflows = workflowsOf(payloads);
          log.info(
            {
              op,
              payloads: payloads.length,
              workflows: workflows.ids,
              workflowCount: workflows.count,
              withoutWorkflowId: workflows.unknown,
              namespace: String(req.headers['x-namespace'] ?? '').slice(0, 100) || undefined,
              by: open && !req.auth ? 'sandbox (no credentials)' : req.auth?.subject,
              from: req.ip,
            },
            `codec ${op}`,
          );
          return reply.send({ payloads: out.map(toWire) });
        } catch (err) {
          if (err instanceof PayloadDecryptionError) return reply.code(422).send({ error: err.message });
          throw err;
        }
      },
    );
  }
}
