// The data converter every Loopline client and worker uses, built from `security.payloadEncryption`.
// Keys come only from the environment (base64 of 32 bytes); a missing or malformed key stops the process
// with a message naming the key id, the variable and what is wrong with it.
import type { DataConverter } from '@temporalio/common';
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import { EncryptionCodec, KEY_BYTES, type PayloadKey } from './codec';

type SecurityPart = Pick<Config, 'security'>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Reads every configured key from the environment; reports all problems at once. */
export function loadPayloadKeys(cfg: SecurityPart, env: NodeJS.ProcessEnv = process.env): PayloadKey[] {
  const problems: string[] = [];
  const keys: PayloadKey[] = [];
  cfg.security.payloadEncryption.keys.forEach((k, i) => {
    const where = `security.payloadEncryption.keys[${i}] (id "${k.id}")`;
    const raw = env[k.keyEnv]?.trim();
    if (!raw) {
      problems.push(
        `${where}: environment variable ${k.keyEnv} is not set; generate a key with: openssl rand -base64 32`,
      );
      return;
    }
    if (!BASE64.test(raw)) {
      problems.push(`${where}: ${k.keyEnv} is not base64; generate a key with: openssl rand -base64 32`);
      return;
    }
    const key = Buffer.from(raw, 'base64');
    if (key.length !== KEY_BYTES) {
      problems.push(
        `${where}: ${k.keyEnv} decodes to ${key.length} bytes; an AES-256 key must be exactly ${KEY_BYTES} bytes (openssl rand -base64 32)`,
      );
      return;
    }
    keys.push({ id: k.id, key });
  });
  if (problems.length > 0) throw new ConfigError('environment', problems);
  return keys;
}

/** The encryption codec, or undefined when payload encryption is off. */
export function createPayloadCodec(
  cfg: SecurityPart,
  env: NodeJS.ProcessEnv = process.env,
): EncryptionCodec | undefined {
  const pe = cfg.security.payloadEncryption;
  if (!pe.enabled) return undefined;
  // The schema guarantees currentKeyId names a configured key when encryption is enabled.
  return new EncryptionCodec({ currentKeyId: pe.currentKeyId ?? '', keys: loadPayloadKeys(cfg, env) });
}

/**
 * For Client and Worker options. Codecs run outside the workflow sandbox, so the workflow bundle is the
 * same with or without encryption. With encryption off this is the SDK default (an empty converter).
 */
export function createDataConverter(cfg: SecurityPart, env: NodeJS.ProcessEnv = process.env): DataConverter {
  const codec = createPayloadCodec(cfg, env);
  return codec ? { payloadCodecs: [codec] } : {};
}
