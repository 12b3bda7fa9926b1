// The credentials of Loopline's own HTTP surface, read from the environment and checked at start-up
// (docs/security.md): each role's token and the callback path secret must be long enough, distinct from
// each other, and, outside the sandbox, none of them may be a published sandbox value. A process that
// fails the check stops with one line per problem, naming the variable (never its value).
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from './load';
import type { Config } from './schema';
import { SANDBOX_SECRETS, isPublishedSandboxSecret } from '../sandbox/secrets';

export type Role = 'viewer' | 'operator' | 'decryptor';

export interface HttpSecrets {
  /** Role → its token; a role whose variable is unset is closed. */
  tokens: Partial<Record<Role, string>>;
  /** The secret in registered callback paths (Peoplevox, Reveni); unset: those callbacks are closed. */
  webhookSecret?: string;
  /** Marketplacer's webhook HMAC key; unset: Marketplacer webhooks are closed. */
  marketplacerHmacKey?: string;
}

/** Callback path secrets travel in URLs: letters, digits and -._~ only, so no encoding can change them. */
const PATH_SAFE = /^[A-Za-z0-9._~-]+$/;

type HttpPart = Pick<Config, 'http' | 'sandbox' | 'security'> & Partial<Pick<Config, 'channels'>>;

export function roleVariables(config: Pick<Config, 'http'>): Record<Role, string> {
  return {
    viewer: config.http.viewerTokenEnv,
    operator: config.http.opsTokenEnv,
    decryptor: config.http.decryptorTokenEnv,
  };
}

/** Reads and checks every HTTP credential; throws a ConfigError listing all problems at once. */
export function loadHttpSecrets(config: HttpPart, env: NodeJS.ProcessEnv = process.env): HttpSecrets {
  const min = config.http.minTokenLength;
  const problems: string[] = [];
  const read = (name: string) => env[name]?.trim() || undefined;
  const tokens: HttpSecrets['tokens'] = {};
  const seen = new Map<string, string>();
  const checked = new Set<string>();
  const check = (variable: string, what: string, value: string | undefined, pathSafe = false) => {
    if (value === undefined || checked.has(variable)) return;
    checked.add(variable);
    if (value.length < min) {
      problems.push(
        `${variable} (${what}) is ${value.length} characters; at least ${min} are needed (http.minTokenLength): generate one with openssl rand -hex 24`,
      );
    }
    if (pathSafe && !PATH_SAFE.test(value)) {
      problems.push(`${variable} (${what}) may hold only letters, digits and -._~ (it is part of callback URLs)`);
    }
    const other = seen.get(value);
    if (other) problems.push(`${variable} (${what}) has the same value as ${other}: every credential must differ`);
    seen.set(value, variable);
    if (!config.sandbox.enabled && isPublishedSandboxSecret(value)) {
      problems.push(
        `${variable} (${what}) is the published sandbox value; outside the sandbox (sandbox.enabled: false) use a secret of your own`,
      );
    }
  };
  for (const [role, variable] of Object.entries(roleVariables(config)) as Array<[Role, string]>) {
    const value = read(variable);
    check(variable, `${role} token`, value);
    if (value !== undefined) tokens[role] = value;
  }
  const webhookSecret = read(config.http.webhookSecretEnv);
  check(config.http.webhookSecretEnv, 'callback path secret', webhookSecret, true);
  const marketplacerHmacKey = read(config.http.marketplacerHmacKeyEnv);
  check(config.http.marketplacerHmacKeyEnv, 'Marketplacer webhook HMAC key', marketplacerHmacKey);
  for (const ch of config.channels ?? []) {
    const variable = ch.enabled ? ch.intake.pushTokenEnv : undefined;
    if (variable) check(variable, `push intake token of channel ${ch.code}`, read(variable));
  }
  if (!config.sandbox.enabled) {
    for (const k of config.security.payloadEncryption.keys) {
      if (read(k.keyEnv) === SANDBOX_SECRETS.LOOPLINE_PAYLOAD_KEY_1) {
        problems.push(
          `${k.keyEnv} (payload key "${k.id}") is the published sandbox key; outside the sandbox generate your own (openssl rand -base64 32)`,
        );
      }
    }
  }
  if (problems.length > 0) throw new ConfigError('environment', problems);
  return { tokens, webhookSecret, marketplacerHmacKey };
}

/**
 * Compares a presented secret with the expected one in constant time, whatever their lengths: both are
 * hashed first, so neither the content nor the length of the expected value leaks through timing.
 */
export function sameSecret(presented: string | undefined, expected: string | undefined): boolean {
  if (presented === undefined || expected === undefined || expected.length === 0) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
