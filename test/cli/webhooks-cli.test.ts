// `loopline webhooks subscribe` as a deployment runs it: a child process with a config file, registering a
// public address with Peoplevox and Shopify. Asserted on what the simulators recorded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { runCli, writeCliConfig } from '../support/cli';

let env: TestWorkflowEnvironment;
let stack: Stack;
let configFile: string;
const PUBLIC = 'https://loopline.example.com';

before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, { shopify: true });
  configFile = writeCliConfig(stack.config);
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

const cli = (...args: string[]) => runCli({ configFile, temporalAddress: env.address }, ...args);

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
