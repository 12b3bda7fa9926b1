// `loopline golive probe` against the sandbox, as an operator runs it before a first real tenant goes live:
// a child process with a config file and the tenants' secrets. Read-only: the simulators' call logs show
// no write. A tenant that disagrees with the config (an unknown carrier code, a mapped template column
// the tenant lacks) fails the probe, naming what to fix.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfig } from '../../src/config/load';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { sandboxSystems, SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { runCli, writeCliConfig } from '../support/cli';
import type { ProbeResult } from '../../src/golive/probe';

const yaml = (url: string, extra = '') => `
log: { level: fatal }
systems:
  peoplevox: { baseUrl: ${url}/peoplevox, clientId: probe-client, username: api-user, passwordEnv: PEOPLEVOX_PASSWORD }
  shopify: { baseUrl: ${url}/shopify/probe-shop, accessTokenEnv: SHOPIFY_ACCESS_TOKEN, webhookSecretEnv: SHOPIFY_WEBHOOK_SECRET }
channels:
  - code: asos
    label: ASOS Marketplace
    platform: mirakl
    connection: { baseUrl: ${url}/mirakl/asos, apiKeyEnv: MIRAKL_ASOS_API_KEY }
    fulfilment: shopify
    currency: GBP
    carrierMap: { DPD: { code: DPD } }
  - code: joules
    label: Joules Marketplace
    platform: mirakl
    connection: { baseUrl: ${url}/mirakl/joules, apiKeyEnv: MIRAKL_JOULES_API_KEY }
    fulfilment: peoplevox
    currency: GBP
    carrierMap: { Royal Mail: { code: RM }${extra ? ', Yodel: { code: YODEL }' : ''} }${
      extra
        ? `
    additionalFields: { gift-message: { peoplevoxColumn: GiftMessage } }`
        : ''
    }
`;

let sandbox: RunningSandbox;
const env = { ...process.env, ...SANDBOX_SECRETS };

before(async () => {
  // The tenants as they are: the template has no GiftMessage column, the marketplace no YODEL carrier.
  sandbox = await startSandbox(
    { log: pino({ level: 'silent' }), port: 0, timeScale: 60 },
    sandboxSystems(parseConfig(yaml('http://127.0.0.1:1'), 'test', env), { env, catalogueSize: 20 }),
  );
  sandbox.ctx.calls.clear();
});
after(async () => {
  await sandbox?.close();
});

const probe = async (extra = '') => {
  const configFile = writeCliConfig(parseConfig(yaml(sandbox.url, extra), 'test', env));
  const run = await runCli({ configFile, temporalAddress: '127.0.0.1:1' }, 'golive', 'probe', '--json');
  return { ...run, results: run.stdout.trim() ? (JSON.parse(run.stdout) as ProbeResult[]) : [] };
};

describe('loopline golive probe', () => {
  test('against tenants that match the config: every check runs, none fails, nothing is written', async () => {
    const before = sandbox.ctx.calls.list({}).length;
    const { code, results, stderr } = await probe();
    assert.equal(code, 0, stderr);
    const fails = results.filter((r) => r.status === 'fail');
    assert.deepEqual(fails, []);
    const names = results.map((r) => `${r.system} ${r.check}`);
    for (const expected of [
      'mirakl:asos PC01 platform configuration',
      'mirakl:joules SH21 carriers cover carrierMap',
      'mirakl:asos RE01 refund reasons',
      'peoplevox Authenticate',
      "peoplevox GetSaveTemplate 'Sales orders'",
      "peoplevox GetReportData 'Item inventory summary'",
      "peoplevox GetReportData 'Despatch summary' (DateTime filter, dates)",
      'shopify shop (API 2026-04)',
      'shopify webhookSubscriptions',
    ]) {
      assert.ok(names.includes(expected), `missing check: ${expected} (have ${names.join('; ')})`);
    }
    // No webhooks yet: a warning that names the command to run.
    assert.match(results.find((r) => r.check === 'webhookSubscriptions')!.detail, /loopline webhooks subscribe/);
    // Read-only: no write call reached any simulator.
    const writes = sandbox.ctx.calls
      .list({})
      .slice(before)
      .filter((c) =>
        ['SaveData', 'SubscribeEvent', 'orderCreate', 'webhookSubscriptionCreate', 'STO01', 'OR21', 'OF24'].includes(
          c.endpoint,
        ),
      );
    assert.deepEqual(writes, []);
  });

  test('a carrier code the marketplace lacks and a mapped column the template lacks fail the probe, named', async () => {
    const { code, results } = await probe('mismatch');
    assert.equal(code, 1);
    const fails = results.filter((r) => r.status === 'fail');
    assert.deepEqual(
      fails.map((r) => `${r.system} ${r.check}`),
      ['mirakl:joules SH21 carriers cover carrierMap', "peoplevox GetSaveTemplate 'Sales orders'"],
    );
    assert.match(fails[0]!.detail, /Yodel → YODEL/);
    assert.match(fails[1]!.detail, /joules\.gift-message → GiftMessage/);
  });
});
