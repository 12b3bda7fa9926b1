// Worker roles: which task queues a process polls (workers/main.ts worker <role ...>).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseConfig } from '../../src/config/load';
import { SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { createRuntime, createWorkers, parseWorkerRoles } from '../../workers/runtime';
import { startTestEnv, workflowBundle } from '../support/temporal';

/** A one-channel Peoplevox config with the given `temporal:` section. */
const rolesConfig = (temporal: string) =>
  parseConfig(
    `
temporal: ${temporal}
systems:
  peoplevox: { baseUrl: http://127.0.0.1:1/peoplevox, clientId: c1, username: u, passwordEnv: PEOPLEVOX_PASSWORD }
channels:
  - { code: asos, label: ASOS, platform: mirakl, connection: { baseUrl: http://127.0.0.1:1/mirakl/asos, apiKeyEnv: MIRAKL_ASOS_API_KEY },
      fulfilment: peoplevox, currency: GBP, returnWindowDays: 0 }
`,
    'test',
    SANDBOX_SECRETS,
  );

const config = rolesConfig(
  '{ taskQueues: { orders: r-orders, acknowledge: r-ack, peoplevox: r-pvx, peoplevoxBulk: r-pvxb, inventory: r-inv, shopify: r-shp } }',
);

test('roles: none or "all" means every configured one; commas and words both work; shopify needs systems.shopify', () => {
  assert.deepEqual(parseWorkerRoles([], config), ['orders', 'acknowledge', 'peoplevox', 'inventory']);
  assert.deepEqual(parseWorkerRoles(['all'], config), ['orders', 'acknowledge', 'peoplevox', 'inventory']);
  assert.deepEqual(parseWorkerRoles(['orders,acknowledge', 'orders'], config), ['orders', 'acknowledge']);
  assert.throws(() => parseWorkerRoles(['order'], config), /unknown worker role\(s\) "order": use orders, acknowledge/);
  assert.throws(() => parseWorkerRoles(['shopify'], config), /needs systems\.shopify/);
});

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

test('createWorkers builds exactly the workers of the roles asked, on their task queues', async () => {
  for (const [k, v] of Object.entries(SANDBOX_SECRETS)) process.env[k] ??= v;
  const runtime = createRuntime(config, pino({ level: 'silent' }));
  const workers = await createWorkers({
    connection: env.nativeConnection,
    client: env.client,
    runtime,
    roles: ['acknowledge', 'peoplevox'],
  });
  // Run and stop them: a worker that never ran still holds the connection.
  const running = workers.map((w) => w.run());
  workers.forEach((w) => w.shutdown());
  await Promise.all(running);
  assert.deepEqual(
    workers.map((w) => w.options.taskQueue),
    // The peoplevox role polls the order-critical queue and the reads' queue.
    ['r-ack', 'r-pvx', 'r-pvxb'],
  );
});

test('the orders worker keeps at most temporal.maxCachedWorkflows workflows in memory when set (unset by default: the SDK decides)', async () => {
  assert.equal(config.temporal.maxCachedWorkflows, undefined);
  const bounded = rolesConfig('{ maxCachedWorkflows: 7, taskQueues: { orders: r2-orders, inventory: r2-inv } }');
  const runtime = createRuntime(bounded, pino({ level: 'silent' }));
  const workers = await createWorkers({
    connection: env.nativeConnection,
    client: env.client,
    runtime,
    roles: ['orders'],
    workflowBundle: await workflowBundle(),
  });
  const running = workers.map((w) => w.run());
  workers.forEach((w) => w.shutdown());
  await Promise.all(running);
  const orders = workers.find((w) => w.options.taskQueue === 'r2-orders');
  assert.equal(orders?.options.maxCachedWorkflows, 7);
});
