// Payload encryption: every payload Loopline hands to Temporal (workflow and activity arguments and
// results, signals, updates, queries, memos) is sealed with AES-256-GCM before it leaves the process, so
// customer names, addresses and emails never sit in plain text in Temporal's history or database.
//
// Encoded payload:
//   metadata  encoding = "binary/encrypted", encryption-key-id = <key id>, encryption-cipher = "AES-256-GCM"
//   data      12-byte IV ‖ ciphertext ‖ 16-byte GCM tag, where the plaintext is the whole original Payload
//             in its protobuf wire form (so its own metadata, e.g. "json/plain", is hidden too)
// The key id is also bound as additional authenticated data: a payload relabelled with another key id
// fails authentication instead of decrypting under the wrong key.
//
// Rotation: encode always uses the current key; decode accepts any configured key, so histories written
// under an older key stay readable for as long as that key stays configured. Payloads without the
// encrypted encoding (histories recorded before encryption was turned on) pass through unchanged.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import protobuf from 'protobufjs/minimal';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
export const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export interface PayloadKey {
  id: string;
  /** 32 bytes of key material. */
  key: Buffer;
}

export class PayloadDecryptionError extends Error {
  constructor(
    message: string,
    readonly keyId: string | undefined,
  ) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Payload → protobuf bytes (temporal.api.common.v1.Payload: map<string, bytes> metadata = 1; bytes data = 2). */
export function serializePayload(payload: Payload): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [k, v] of Object.entries(payload.metadata ?? {})) {
    w.uint32(10).fork().uint32(10).string(k).uint32(18).bytes(v).ldelim();
  }
  if (payload.data && payload.data.length > 0) w.uint32(18).bytes(payload.data);
  return w.finish();
}

export function deserializePayload(bytes: Uint8Array): Payload {
  const r = protobuf.Reader.create(bytes);
  const metadata: Record<string, Uint8Array> = {};
  let data: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) {
      const end = r.uint32() + r.pos;
      let key = '';
      let value: Uint8Array = new Uint8Array(0);
      while (r.pos < end) {
        const t = r.uint32();
        if (t >>> 3 === 1) key = r.string();
        else if (t >>> 3 === 2) value = new Uint8Array(r.bytes());
        else r.skipType(t & 7);
      }
      metadata[key] = value;
    } else if (tag >>> 3 === 2) {
      data = new Uint8Array(r.bytes());
    } else {
      r.skipType(tag & 7);
    }
  }
  return { metadata, data };
}

function metadataText(payload: Payload, key: string): string | undefined {
  const v = payload.metadata?.[key];
  return v ? fromUtf8.decode(v) : undefined;
}

export function isEncrypted(payload: Payload): boolean {
  return metadataText(payload, 'encoding') === ENCRYPTED_ENCODING;
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: PayloadKey;

  constructor(opts: { currentKeyId: string; keys: PayloadKey[] }) {
    const keys = new Map<string, Buffer>();
    for (const k of opts.keys) {
      if (k.key.length !== KEY_BYTES) {
        throw new Error(`payload key "${k.id}" is ${k.key.length} bytes; AES-256 needs exactly ${KEY_BYTES}`);
      }
      if (keys.has(k.id)) throw new Error(`payload key id "${k.id}" is configured twice`);
      keys.set(k.id, k.key);
    }
    const current = keys.get(opts.currentKeyId);
    if (!current) {
      throw new Error(
        `current payload key id "${opts.currentKeyId}" is not among the configured keys (${[...keys.keys()].join(', ') || 'none'})`,
      );
    }
    this.keys = keys;
    this.current = { id: opts.currentKeyId, key: current };
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) ? this.decrypt(p) : p));
  }

  private encrypt(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(utf8.encode(this.current.id));
    const sealed = Buffer.concat([iv, cipher.update(serializePayload(payload)), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: utf8.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: utf8.encode(this.current.id),
        [CIPHER_METADATA]: utf8.encode(CIPHER),
      },
      data: new Uint8Array(sealed),
    };
  }

  private decrypt(payload: Payload): Payload {
    const keyId = metadataText(payload, KEY_ID_METADATA);
    if (!keyId) {
      throw new PayloadDecryptionError(`encrypted payload has no ${KEY_ID_METADATA} metadata`, undefined);
    }
    const key = this.keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `payload was encrypted with key id "${keyId}", which is not configured ` +
          `(security.payloadEncryption.keys has: ${[...this.keys.keys()].join(', ')}); ` +
          'add that key back to decode it',
        keyId,
      );
    }
    const cipherName = metadataText(payload, CIPHER_METADATA) ?? CIPHER;
    if (cipherName !== CIPHER) {
      throw new PayloadDecryptionError(`payload with key id "${keyId}" uses unsupported cipher ${cipherName}`, keyId);
    }
    const data = payload.data ?? new Uint8Array(0);
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(`encrypted payload with key id "${keyId}" is truncated`, keyId);
    }
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const body = data.subarray(IV_BYTES, data.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(utf8.encode(keyId));
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(body), decipher.final()]);
      return deserializePayload(plain);
    } catch {
      throw new PayloadDecryptionError(
        `payload with key id "${keyId}" failed authentication: it was altered, or key "${keyId}" holds different key material than the one that encrypted it`,
        keyId,
      );
    }
  }
}
