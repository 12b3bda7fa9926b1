// No Docker engine runs here: check docker-compose.yml by reading it, against our own config schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load';
import { SEARCH_ATTRIBUTE_TYPES } from '../../src/temporal/search-attributes';
import { PROJECT_ROOT } from '../../src/devtools/tools';

type Service = {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  command?: string[] | string;
  ports?: string[];
};
const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};

test('the stack has PostgreSQL, Temporal (auto-setup), its Web UI, and Loopline worker + HTTP built from the Dockerfile', () => {
  const s = compose.services;
  assert.match(s.postgresql?.image ?? '', /^postgres:/);
  assert.match(s.temporal?.image ?? '', /^temporalio\/auto-setup:/);
  assert.equal(s.temporal?.environment?.DB, 'postgres12');
  assert.match(s['temporal-ui']?.image ?? '', /^temporalio\/ui:/);
  assert.ok(s['loopline-worker']?.build, 'worker is built from the Dockerfile');
  assert.ok(s['loopline-http']?.build, 'http server is built from the Dockerfile');
  assert.deepEqual(s['loopline-worker']?.command, ['worker']);
  assert.deepEqual(s['loopline-http']?.command, ['http']);
});

test('Loopline services are configured through the same environment variables, and they pass the config schema', () => {
  const env = compose.services['loopline-worker']!.environment!;
  assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
  const envForSchema: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  const cfg = parseConfig(
    readFileSync(join(PROJECT_ROOT, 'src/config/loopline.yaml'), 'utf8'),
    'compose',
    envForSchema,
  );
  assert.equal(cfg.temporal.address, 'temporal:7233');
  assert.equal(cfg.http.host, '0.0.0.0');
  // Every secret the config names is provided by the compose environment.
  const needed = [
    cfg.systems.peoplevox!.passwordEnv,
    cfg.http.opsTokenEnv,
    ...cfg.channels.map((c) => c.connection.apiKeyEnv),
  ];
  for (const name of needed) assert.ok(name in env, `${name} missing from the compose environment`);
  assert.deepEqual(compose.services['loopline-http']!.environment, env);
});

test('the compose stack registers every search attribute Loopline uses', () => {
  const cmd = JSON.stringify(compose.services['temporal-admin-tools']!.command);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) {
    assert.ok(cmd.includes(`--name ${name} --type ${type}`), `${name} (${type}) not registered`);
  }
});

test('the Dockerfile builds on Node 20 and starts the compiled entry point', () => {
  const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /^FROM node:20/m);
  assert.match(dockerfile, /npm ci/);
  assert.match(dockerfile, /ENTRYPOINT \["node", "dist\/workers\/main\.js"\]/);
});
