// What the sandbox relaxes for usability, and the conditions under which it may (docs/security.md):
//   - the codec endpoint decodes for the dev server's Web UI without credentials, so an order's page shows
//     its input at once;
//   - the CLI finds the sandbox's secrets by itself.
// Both only with fake data: the config says it is the sandbox (sandbox.enabled) and every payload key is
// the published sandbox key, so what they open could be decrypted by anyone anyway. Anything else (a real
// key, sandbox.enabled false) and neither exists.
import type { Config } from '../config/schema';
import { SANDBOX_SECRETS } from './secrets';

type Part = Pick<Config, 'sandbox' | 'security'>;

/** Why the sandbox relaxations are not allowed for this config and environment, or undefined when they are. */
export function sandboxRelaxationRefusal(config: Part, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!config.sandbox.enabled) return 'sandbox.enabled is false';
  const keys = config.security.payloadEncryption.keys;
  if (!config.security.payloadEncryption.enabled || keys.length === 0) return 'payload encryption is off';
  const real = keys.filter((k) => {
    const v = env[k.keyEnv]?.trim();
    return v !== undefined && v !== SANDBOX_SECRETS.LOOPLINE_PAYLOAD_KEY_1;
  });
  if (real.length > 0)
    return `${real.map((k) => k.keyEnv).join(', ')} holds a key of your own, not the published sandbox key`;
  return undefined;
}

/** For the HTTP server: refuses to open the codec endpoint outside the sandbox. */
export function assertSandboxOpenCodec(config: Part, env: NodeJS.ProcessEnv = process.env): void {
  const why = sandboxRelaxationRefusal(config, env);
  if (why)
    throw new Error(`the codec endpoint stays closed: it opens without credentials only in the sandbox (${why})`);
}

/**
 * For the CLI: fills in the sandbox's published secrets that are not set, when the config is the sandbox's
 * and its Temporal server is on this machine. Returns the variables filled (empty outside the sandbox).
 */
export function fillSandboxSecrets(
  config: Pick<Config, 'sandbox' | 'security' | 'temporal'>,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  if (!config.sandbox.enabled) return [];
  const host = config.temporal.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) return [];
  const filled: string[] = [];
  for (const [k, v] of Object.entries(SANDBOX_SECRETS)) {
    if (env[k] === undefined || env[k] === '') {
      env[k] = v;
      filled.push(k);
    }
  }
  // Only the published key may have been filled in or found: a key of the user's own closes the door.
  if (sandboxRelaxationRefusal(config, env) !== undefined) {
    for (const k of filled) delete env[k];
    return [];
  }
  return filled;
}
