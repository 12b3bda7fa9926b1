// Every secret a config names (API keys, passwords, tokens, the callback path secret, payload keys),
// read from the environment: the logger replaces these values wherever they would appear in a line.
import type { Config } from './schema';

export function secretVariables(config: Config): string[] {
  const names = [
    config.temporal.apiKeyEnv,
    config.http.opsTokenEnv,
    config.http.viewerTokenEnv,
    config.http.decryptorTokenEnv,
    config.http.webhookSecretEnv,
    config.http.marketplacerHmacKeyEnv,
    ...config.channels.map((c) => c.connection.apiKeyEnv),
    ...config.channels.flatMap((c) => (c.intake.pushTokenEnv ? [c.intake.pushTokenEnv] : [])),
    ...config.security.payloadEncryption.keys.map((k) => k.keyEnv),
  ];
  if (config.systems.peoplevox) names.push(config.systems.peoplevox.passwordEnv);
  if (config.systems.shopify)
    names.push(config.systems.shopify.accessTokenEnv, config.systems.shopify.webhookSecretEnv);
  return [...new Set(names)];
}

export function secretValues(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  return secretVariables(config).flatMap((n) => {
    const v = env[n]?.trim();
    // Peoplevox sends its password base64-encoded: that form is a secret too.
    return v ? [v, Buffer.from(v, 'utf8').toString('base64')] : [];
  });
}
