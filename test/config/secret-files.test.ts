// Secrets as files (Docker / Kubernetes secrets, docs/deployment.md): <NAME>_FILE for any variable the config names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySecretFiles, parseConfig, secretEnvNames } from '../../src/config/load';

const yaml = `
http: { opsTokenEnv: OPS_TOKEN }
systems:
  peoplevox: { baseUrl: https://wms.peoplevox.net, clientId: c1, username: u, passwordEnv: PVX_PASSWORD }
channels:
  - { code: asos, label: ASOS, platform: mirakl, connection: { baseUrl: https://asos.example, apiKeyEnv: ASOS_KEY },
      fulfilment: peoplevox, currency: GBP, returnWindowDays: 0 }
security:
  payloadEncryption: { enabled: true, currentKeyId: k1, keys: [{ id: k1, keyEnv: PAYLOAD_KEY }] }
`;

test('every variable the config names for a secret is known, at any depth', () => {
  const names = secretEnvNames(parseConfig(yaml, 'test', {}));
  for (const n of ['OPS_TOKEN', 'PVX_PASSWORD', 'ASOS_KEY', 'PAYLOAD_KEY', 'TEMPORAL_API_KEY'])
    assert.ok(names.includes(n), n);
});

test('a secret comes from <NAME>_FILE when the variable is unset; a variable set directly wins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loopline-secrets-'));
  writeFileSync(join(dir, 'pvx'), 's3cret-from-file\n');
  writeFileSync(join(dir, 'asos'), 'ignored');
  const env: NodeJS.ProcessEnv = {
    PVX_PASSWORD_FILE: join(dir, 'pvx'),
    ASOS_KEY: 'direct',
    ASOS_KEY_FILE: join(dir, 'asos'),
  };
  applySecretFiles(parseConfig(yaml, 'test', env), env);
  assert.equal(env.PVX_PASSWORD, 's3cret-from-file');
  assert.equal(env.ASOS_KEY, 'direct');
});

test('an unreadable secret file stops the process, naming the variable and the path', () => {
  const env: NodeJS.ProcessEnv = { OPS_TOKEN_FILE: '/nonexistent/ops-token' };
  assert.throws(
    () => applySecretFiles(parseConfig(yaml, 'test', env), env),
    /OPS_TOKEN_FILE: cannot read \/nonexistent\/ops-token/,
  );
});
