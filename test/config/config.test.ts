import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig, loadConfig, ConfigError, DEFAULT_CONFIG_PATH, secretFromEnv } from '../../src/config/load';

const minimal = `
systems:
  peoplevox: { baseUrl: http://127.0.0.1:9090/peoplevox, clientId: c1, username: u, passwordEnv: PVX_PASSWORD }
channels:
  - code: asos
    label: ASOS
    platform: mirakl
    connection: { baseUrl: http://127.0.0.1:9090/mirakl/asos, apiKeyEnv: ASOS_KEY }
    fulfilment: peoplevox
    currency: GBP
`;

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, 'test.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected the config to be rejected');
}

test('the shipped default config is valid and runs the sandbox', () => {
  const cfg = loadConfig(DEFAULT_CONFIG_PATH, {});
  assert.equal(cfg.sandbox.enabled, true);
  assert.deepEqual(
    cfg.channels.map((c) => c.code),
    ['asos', 'joules', 'mkp'],
  );
  assert.equal(cfg.channels[0]!.intake.pollIntervalSeconds, 60);
  // No secret values in the file: only the names of environment variables.
  assert.doesNotMatch(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), /password:\s|apiKey:\s/i);
});

test('defaults fill everything the file leaves out', () => {
  const cfg = parseConfig(minimal, 'test.yaml', {});
  assert.equal(cfg.temporal.namespace, 'default');
  assert.equal(cfg.channels[0]!.acceptance.policy, 'accept-when-mapped');
  assert.deepEqual(cfg.channels[0]!.deadlines.alertAtFractions, [0.5, 0.8]);
});

test('an error names the key, the value it got and what is allowed', () => {
  const problems = problemsOf(minimal.replace('currency: GBP', 'currency: pounds'));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^channels\[0\]\.currency: got "pounds"; must be an ISO 4217 code/);
});

test('polling Mirakl faster than once a minute is refused with the reason', () => {
  const problems = problemsOf(
    minimal.replace('currency: GBP', 'currency: GBP\n    intake: { pollIntervalSeconds: 10 }'),
  );
  assert.match(
    problems[0]!,
    /channels\[0\]\.intake\.pollIntervalSeconds: got 10; Mirakl allows OR11 at most once a minute/,
  );
});

test('an unknown key is named, not silently ignored', () => {
  const problems = problemsOf(minimal.replace('currency: GBP', 'currency: GBP\n    curency: GBP'));
  assert.match(problems[0]!, /channels\[0\]: unknown key\(s\) "curency"/);
});

test('an enum error lists what is allowed', () => {
  const problems = problemsOf(minimal.replace('fulfilment: peoplevox', 'fulfilment: netsuite'));
  assert.match(problems[0]!, /channels\[0\]\.fulfilment: got "netsuite"; .*"peoplevox".*"shopify"/);
});

test('secrets are names of environment variables, and a missing one is reported by name', () => {
  const problems = problemsOf(minimal.replace('apiKeyEnv: ASOS_KEY', 'apiKeyEnv: sk_live_123'));
  assert.match(problems[0]!, /apiKeyEnv: got "sk_live_123"; must be the NAME of an environment variable/);
  assert.throws(() => secretFromEnv('ASOS_KEY', 'channels[asos].connection.apiKeyEnv', {}), /ASOS_KEY is not set/);
});

test('TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and an API key come from the environment', () => {
  const cfg = parseConfig(minimal, 'test.yaml', {
    TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233',
    TEMPORAL_NAMESPACE: 'acme.a1b2c',
    TEMPORAL_API_KEY: 'secret',
  });
  assert.equal(cfg.temporal.address, 'acme.a1b2c.tmprl.cloud:7233');
  assert.equal(cfg.temporal.namespace, 'acme.a1b2c');
  assert.equal(cfg.temporal.tls, true);
});

test('two channels with the same warehouse order prefix are refused', () => {
  const twice =
    minimal +
    minimal
      .split('channels:\n')[1]!
      .replace('code: asos', 'code: asos2')
      .replace('label: ASOS', 'label: ASOS 2\n    orderNumberPrefix: ASOS');
  const problems = problemsOf(twice);
  assert.ok(
    problems.some((p) =>
      /orderNumberPrefix: got "ASOS"; order number prefix "ASOS" is already used by channel asos/.test(p),
    ),
    problems.join('\n'),
  );
});

test('broken YAML is reported as such', () => {
  const problems = problemsOf('channels: [\n');
  assert.match(problems[0]!, /YAML syntax/);
});
