// How Loopline knows an inbound event is genuine, per system (docs/security.md, docs/contracts.md):
//   Shopify       X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the raw body with the app's client secret
//   Marketplacer  Marketplacer-Hmac-256: base64 HMAC-SHA256 of the raw body with the key configured on
//                 the webhook (hmacKey); Idempotency-Key names the event, Marketplacer-Sequence orders it
//   Peoplevox     no signature exists: a per-deployment secret in the callback path (SubscribeEvent URL)
//   Reveni        no signature is documented: a secret in the callback path, and the event is only a hint:
//                 the return is read back from Reveni's API and only what Reveni answers is used
// Every comparison is constant-time; signatures are checked over the exact bytes received, before parsing.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

function decodeSignature(header: string): Buffer[] {
  const out: Buffer[] = [];
  const h = header.trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(h)) out.push(Buffer.from(h, 'base64'));
  // Tolerated: a hex digest (some proxies and test tools re-encode the header).
  if (/^[0-9a-fA-F]{64}$/.test(h)) out.push(Buffer.from(h, 'hex'));
  return out;
}

/** HMAC-SHA256 of `raw` with `secret`, compared in constant time with a base64 (or hex) header value. */
export function verifyHmacSha256(raw: Buffer, header: unknown, secret: string | undefined): boolean {
  if (!secret || typeof header !== 'string' || header.length === 0 || header.length > 200) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  return decodeSignature(header).some((given) => given.length === expected.length && timingSafeEqual(given, expected));
}

export function verifyShopifyHmac(raw: Buffer, header: unknown, secret: string): boolean {
  return verifyHmacSha256(raw, header, secret);
}

export const MARKETPLACER_HMAC_HEADER = 'marketplacer-hmac-256';

/** A Marketplacer webhook delivery, checked: its signature, its event key and its sequence. */
export interface MarketplacerDelivery {
  /** Idempotency-Key (dedupe across redeliveries), else the event id from the body. */
  eventKey: string;
  /** Marketplacer-Sequence: a delivery older than the last one applied for the same object is stale. */
  sequence?: number;
  body: MarketplacerWebhookBody;
}

export const MarketplacerWebhookBody = z.object({
  id: z.string().min(1).max(200),
  event_name: z.enum(['create', 'update', 'destroy']),
  payload: z.object({
    data: z.object({
      node: z.object({ __typename: z.string().min(1).max(100), id: z.string().min(1).max(200) }).passthrough(),
    }),
  }),
});
export type MarketplacerWebhookBody = z.infer<typeof MarketplacerWebhookBody>;

export type Verified<T> = { ok: true; value: T } | { ok: false; reason: 'bad-signature' | 'invalid'; error: string };

/**
 * Verifies a Marketplacer delivery (for the Marketplacer routes): the HMAC over the raw body first, then
 * the body's shape, the event key and the sequence header (a whole number when present).
 */
export function verifyMarketplacerDelivery(
  raw: Buffer,
  headers: Record<string, string | string[] | undefined>,
  hmacKey: string | undefined,
): Verified<MarketplacerDelivery> {
  const header = headers[MARKETPLACER_HMAC_HEADER];
  if (!verifyHmacSha256(raw, Array.isArray(header) ? header[0] : header, hmacKey)) {
    return { ok: false, reason: 'bad-signature', error: 'Marketplacer-Hmac-256 is missing or does not match' };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid', error: 'body is not JSON' };
  }
  const parsed = MarketplacerWebhookBody.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'invalid', error: z.prettifyError(parsed.error) };
  const seqHeader = headers['marketplacer-sequence'];
  const seqText = Array.isArray(seqHeader) ? seqHeader[0] : seqHeader;
  if (seqText !== undefined && !/^\d{1,15}$/.test(seqText)) {
    return { ok: false, reason: 'invalid', error: 'Marketplacer-Sequence: must be a whole number' };
  }
  const idem = headers['idempotency-key'];
  const idemText = (Array.isArray(idem) ? idem[0] : idem)?.trim();
  return {
    ok: true,
    value: {
      eventKey: idemText && idemText.length <= 200 ? idemText : parsed.data.id,
      sequence: seqText === undefined ? undefined : Number(seqText),
      body: parsed.data,
    },
  };
}

/**
 * Keeps the highest Marketplacer-Sequence applied per object (bounded): a replayed or late delivery with a
 * lower sequence is stale and must not overwrite newer state.
 */
export function createSequenceGuard(max = 50_000) {
  const last = new Map<string, number>();
  return {
    /** True when `sequence` is newer than anything applied for `objectId` (and records it). */
    accept(objectId: string, sequence: number | undefined): boolean {
      if (sequence === undefined) return true;
      const prev = last.get(objectId);
      if (prev !== undefined && sequence <= prev) return false;
      last.delete(objectId);
      last.set(objectId, sequence);
      if (last.size > max) last.delete(last.keys().next().value!);
      return true;
    },
  };
}

// ---- Reveni ----------------------------------------------------------------------------------------

/** The webhook body Reveni sends (public Odoo addon; docs/contracts.md): only the resource id is trusted. */
export const ReveniEventBody = z.object({
  id: z.string().min(1).max(100),
  event: z.enum(['return.created', 'return.updated']),
  created: z.number().int().positive().optional(),
  data: z.object({
    resource_id: z
      .string()
      .regex(/^[0-9a-fA-F]{32}$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
        message: 'data.resource_id: must be a return id (32 hex digits or a UUID)',
      }),
    status: z.string().max(40).optional(),
  }),
});
export type ReveniEventBody = z.infer<typeof ReveniEventBody>;

export type ReveniVerification<R> =
  | { ok: true; event: ReveniEventBody; resource: R }
  | { ok: false; reason: 'invalid' | 'unknown-order' | 'stale'; error: string };

/**
 * A Reveni event is a hint, never data: its shape is checked, then the return it names is read back from
 * Reveni with Loopline's own API key (`readReturn`), and only that answer is used (a forged status is
 * ignored; a return Reveni does not know is dropped). Events older than `maxAgeMs` are stale.
 */
export async function verifyReveniEvent<R>(
  body: unknown,
  readReturn: (returnId: string) => Promise<R | undefined>,
  opts: { now?: number; maxAgeMs?: number } = {},
): Promise<ReveniVerification<R>> {
  const parsed = ReveniEventBody.safeParse(body);
  if (!parsed.success) return { ok: false, reason: 'invalid', error: z.prettifyError(parsed.error) };
  const now = opts.now ?? Date.now();
  const maxAge = opts.maxAgeMs ?? 7 * 24 * 3600_000;
  if (parsed.data.created !== undefined && now - parsed.data.created * 1000 > maxAge) {
    return { ok: false, reason: 'stale', error: 'event is older than the accepted window' };
  }
  const resource = await readReturn(parsed.data.data.resource_id);
  if (resource === undefined) return { ok: false, reason: 'unknown-order', error: 'no such return at Reveni' };
  return { ok: true, event: parsed.data, resource };
}
