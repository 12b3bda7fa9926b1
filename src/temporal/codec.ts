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
// Which workflow a payload belongs to (the SDK's serialization context, when it gives one) is stored in
// the clear as metadata `encryption-workflow-id` and bound into the additional authenticated data too:
// the codec endpoint can then audit decoding per workflow id, and relabelling the payload fails.
//
// Rotation: encode always uses the current key; decode accepts any configured key, so histories written
// under an older key stay readable for as long as that key stays configured.
//
// Plaintext payloads: histories recorded before encryption was turned on hold them. With
// `requireEncrypted` (on by default outside the sandbox) decoding one fails, so data that reached
// Temporal without the key (a signal sent straight to port 7233, a forged update) is never handed to a
// workflow; without it they pass through unchanged (the migration setting).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
import protobuf from 'protobufjs/minimal';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
export const WORKFLOW_ID_METADATA = 'encryption-workflow-id';
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

/** A plaintext payload met a codec that requires encryption: refused, never decoded. */
export class PlaintextPayloadError extends PayloadDecryptionError {
  constructor(readonly workflowId: string | undefined) {
    super(
      `plaintext payload refused${workflowId ? ` for workflow ${workflowId}` : ''}: ` +
        'security.payloadEncryption.requireEncrypted is on, and only payloads sealed with a configured key are accepted ' +
        "(data sent to Temporal without Loopline's key, e.g. a signal straight to port 7233)",
      undefined,
    );
    this.name = 'PlaintextPayloadError';
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

/** The workflow id an encrypted payload was sealed for, when the SDK gave one (audit of the codec endpoint). */
export function sealedWorkflowId(payload: Payload): string | undefined {
  return isEncrypted(payload) ? metadataText(payload, WORKFLOW_ID_METADATA) : undefined;
}

function contextWorkflowId(context: SerializationContext | undefined): string | undefined {
  const id = context?.workflowId;
  return typeof id === 'string' && id.length > 0 && id.length <= 1000 ? id : undefined;
}

/** Key id, and the workflow id when present, authenticated with the ciphertext. */
function aad(keyId: string, workflowId: string | undefined): Uint8Array {
  return utf8.encode(workflowId === undefined ? keyId : `${keyId}\n${workflowId}`);
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: PayloadKey;

  private readonly requireEncrypted: boolean;

  constructor(opts: { currentKeyId: string; keys: PayloadKey[]; requireEncrypted?: boolean }) {
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
    this.requireEncrypted = opts.requireEncrypted ?? false;
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  get requiresEncryption(): boolean {
    return this.requireEncrypted;
  }

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const workflowId = contextWorkflowId(context);
    return payloads.map((p) => this.encrypt(p, workflowId));
  }

  async decode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    return payloads.map((p) => {
      if (isEncrypted(p)) return this.decrypt(p);
      if (this.requireEncrypted) throw new PlaintextPayloadError(contextWorkflowId(context));
      return p;
    });
  }

  /** Decodes for display (the codec endpoint): plaintext passes through whatever the mode. */
  async decodeForDisplay(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) ? this.decrypt(p) : p));
  }

  private encrypt(payload: Payload, workflowId: string | undefined): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.current.id, workflowId));
    const sealed = Buffer.concat([iv, cipher.update(serializePayload(payload)), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: utf8.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: utf8.encode(this.current.id),
        [CIPHER_METADATA]: utf8.encode(CIPHER),
        ...(workflowId === undefined ? {} : { [WORKFLOW_ID_METADATA]: utf8.encode(workflowId) }),
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
      decipher.setAAD(aad(keyId, metadataText(payload, WORKFLOW_ID_METADATA)));
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
