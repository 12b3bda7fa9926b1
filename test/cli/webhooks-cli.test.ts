// `loopline webhooks subscribe` as a deployment runs it: a child process with a config file, registering a
// public address with Peoplevox and Shopify. Asserted on what the simulators recorded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { SANDBOX_SECRETS } from '../../src/sandbox/systems';

let env: TestWorkflowEnvironment;
let stack: Stack;
let configFile: string;
const PUBLIC = 'https://loopline.example.com';

before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, { shopify: true });
  configFile = join(mkdtempSync(join(tmpdir(), 'loopline-cli-')), 'loopline.json');
  writeFileSync(configFile, JSON.stringify(stack.config)); // JSON is YAML
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, ...SANDBOX_SECRETS, LOOPLINE_CONFIG: configFile, TEMPORAL_ADDRESS: env.address },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

describe('loopline webhooks subscribe', () => {
  test('registers the public address for Peoplevox despatch and stock events and every Shopify topic', async () => {
    const { code, stdout, stderr } = await cli('webhooks', 'subscribe', '--url', `${PUBLIC}/`, '--json');
    assert.equal(code, 0, stderr);
    const rows = JSON.parse(stdout) as Array<{ system: string; events: string; status: string }>;
    assert.deepEqual(
      rows.map((r) => [r.system, r.status]),
      [
        ['peoplevox', 'subscribed'],
        ['peoplevox', 'subscribed'],
        ['shopify', 'subscribed'],
      ],
    );
    const pvx = (await stack.control.get('/control/peoplevox/test-client/subscriptions')).data as {
      subscriptions: Array<{ eventType: string; url: string }>;
    };
    const ours = pvx.subscriptions.filter((s) => s.url.startsWith(`${PUBLIC}/webhooks/peoplevox/`));
    assert.deepEqual(ours.map((s) => s.eventType).sort(), [
      'AvailabilityChanges',
      'GoodsReceived',
      'TrackingNumberReceived',
    ]);
    assert.ok(ours.some((s) => s.url.includes('/tracking?despatch={DespatchNumber}')));
    const shop = (await stack.control.get('/control/shopify/loopline-test/webhooks')).data as {
      subscriptions: Array<{ topic: string; callbackUrl: string }>;
    };
    assert.deepEqual(
      shop.subscriptions
        .filter((s) => s.callbackUrl === `${PUBLIC}/webhooks/shopify`)
        .map((s) => s.topic)
        .sort(),
      ['fulfillments/create', 'inventory_levels/update', 'orders/create', 'refunds/create'],
    );
  });

  test('an address that is not an http(s) URL is refused by name, and nothing is registered', async () => {
    const before = (await stack.control.get('/control/peoplevox/test-client/subscriptions')).data.subscriptions
      .length as number;
    const { code, stderr } = await cli('webhooks', 'subscribe', '--url', 'loopline.example.com');
    assert.equal(code, 1);
    assert.match(stderr, /--url loopline\.example\.com: must be an http\(s\) URL/);
    const after = (await stack.control.get('/control/peoplevox/test-client/subscriptions')).data.subscriptions.length;
    assert.equal(after, before);
  });
});
