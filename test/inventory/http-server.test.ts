// Deployments (`npm run http`, workers/main.ts) get stock sync's HTTP side from createHttpServers itself:
// the Peoplevox AvailabilityChanges / GoodsReceived callbacks on the public listener (behind the callback
// path secret), and the loopline_stock_* metrics on the internal one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Client } from '@temporalio/client';
import { createHttpServers } from '../../src/http/server';
import { parseConfig } from '../../src/config/load';
import type { StockEventBatcher } from '../../src/inventory/intake';
import { SANDBOX_SECRETS } from '../../src/sandbox/secrets';

const config = parseConfig(
  `
sandbox: { enabled: true }
systems:
  peoplevox: { baseUrl: http://127.0.0.1:1/peoplevox, clientId: c, username: u, passwordEnv: PEOPLEVOX_PASSWORD }
channels:
  - code: asos
    label: ASOS
    platform: mirakl
    connection: { baseUrl: http://127.0.0.1:1/mirakl/asos, apiKeyEnv: MIRAKL_ASOS_API_KEY }
    fulfilment: peoplevox
    currency: GBP
`,
  'test',
  { PEOPLEVOX_PASSWORD: 'x', MIRAKL_ASOS_API_KEY: 'y' },
);
const secrets = { tokens: {}, webhookSecret: SANDBOX_SECRETS.LOOPLINE_WEBHOOK_SECRET };
const path = (rest: string) => `/webhooks/peoplevox/${secrets.webhookSecret}/${rest}`;

test('createHttpServers registers the stock callbacks (secret in the path) and the stock metrics by default', async () => {
  const added: Array<[string, number]> = [];
  const batcher: StockEventBatcher = {
    add: (item, available) => void added.push([item, available]),
    flush: async () => undefined,
    stats: () => ({ received: 0, signals: 0, flushes: 0, errors: 0, unknown: 0 }),
    close: async () => undefined,
  };
  // No Temporal server: metric collection fails soft (no samples), and the callback only reaches the batcher.
  const client = {
    workflow: { getHandle: () => ({ query: () => Promise.reject(new Error('down')) }) },
  } as unknown as Client;
  const servers = await createHttpServers({
    config,
    client,
    log: pino({ level: 'silent' }),
    inventory: { batcher },
    secrets,
  });
  try {
    const ok = await servers.public.inject({ method: 'GET', url: path('availability?item=SKU-1&available=4') });
    assert.equal(ok.statusCode, 200);
    // An item code with & and + arrives whole, URL-encoded (encodeParameterData).
    const odd = await servers.public.inject({
      method: 'GET',
      url: path(`availability?item=${encodeURIComponent('A&B+C')}&available=2`),
    });
    assert.equal(odd.statusCode, 200);
    assert.deepEqual(added, [
      ['SKU-1', 4],
      ['A&B+C', 2],
    ]);
    for (const bad of ['available=', 'available=abc', 'available=1.5', 'available=1e3', 'available= 4']) {
      const r = await servers.public.inject({ method: 'GET', url: path(`availability?item=SKU-1&${bad}`) });
      assert.equal(r.statusCode, 400, bad);
      assert.match(r.json().error, /available \(Available\)/);
    }
    const noSecret = await servers.public.inject({
      method: 'GET',
      url: '/webhooks/peoplevox/availability?item=A&available=1',
    });
    assert.equal(noSecret.statusCode, 404);
    assert.equal(added.length, 2, 'nothing reached the batcher without the secret or with a bad value');
    const metrics = await servers.internal.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /loopline_stock_sync_age_seconds/);
    assert.match(metrics.body, /loopline_stock_pending_skus/);
    assert.equal((await servers.public.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
  } finally {
    await servers.close();
  }
  const off = await createHttpServers({ config, client, log: pino({ level: 'silent' }), inventory: false, secrets });
  try {
    const r = await off.public.inject({ method: 'GET', url: path('availability?item=A&available=1') });
    assert.equal(r.statusCode, 404, 'a caller that wires stock itself can turn it off');
  } finally {
    await off.close();
  }
});
