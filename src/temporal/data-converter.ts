// The data converter every Loopline client and worker uses, built from `security.payloadEncryption`.
// Keys come only from the environment (base64 of 32 bytes); a missing or malformed key stops the process
// with a message naming the key id, the variable and what is wrong with it.
import type { DataConverter } from '@temporalio/common';
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import { EncryptionCodec, KEY_BYTES, type PayloadKey } from './codec';

type SecurityPart = Pick<Config, 'security'> & Partial<Pick<Config, 'sandbox'>>;

/**
 * The module exporting Loopline's failure converter (encodeCommonAttributes: failure messages and stack
 * traces are encoded as a payload, so the codec encrypts them). Workers load it and bundle it into the
 * workflow code (bundleWorkflowCode's failureConverterPath), so failures raised inside workflows are
 * encrypted as well.
 */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** Require-encrypted mode: as configured, else on everywhere but the sandbox. */
export function requiresEncryption(cfg: SecurityPart): boolean {
  return cfg.security.payloadEncryption.requireEncrypted ?? !(cfg.sandbox?.enabled ?? false);
}

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
  return new EncryptionCodec({
    currentKeyId: pe.currentKeyId ?? '',
    keys: loadPayloadKeys(cfg, env),
    requireEncrypted: requiresEncryption(cfg),
  });
}

/**
 * For Client and Worker options. Codecs run outside the workflow sandbox, so the workflow bundle is the
 * same with or without encryption (it always carries the failure converter). With encryption off this is
 * the SDK default converter with Loopline's failure converter.
 */
export function createDataConverter(cfg: SecurityPart, env: NodeJS.ProcessEnv = process.env): DataConverter {
  const codec = createPayloadCodec(cfg, env);
  return {
    failureConverterPath: FAILURE_CONVERTER_PATH,
    ...(codec ? { payloadCodecs: [codec] } : {}),
  };
}
