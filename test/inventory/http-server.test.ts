// Deployments (`npm run http`, workers/main.ts) get stock sync's HTTP side from createHttpServer itself:
// the Peoplevox AvailabilityChanges / GoodsReceived callbacks and the loopline_stock_* metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Client } from '@temporalio/client';
import { createHttpServer } from '../../src/http/server';
import { parseConfig } from '../../src/config/load';
import type { StockEventBatcher } from '../../src/inventory/intake';

const config = parseConfig(
  `
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

test('createHttpServer registers the stock callbacks and the stock metrics by default', async () => {
  const added: Array<[string, number]> = [];
  const batcher: StockEventBatcher = {
    add: (item, available) => void added.push([item, available]),
    flush: async () => undefined,
    stats: () => ({ received: 0, signals: 0, flushes: 0, errors: 0 }),
    close: async () => undefined,
  };
  // No Temporal server: metric collection fails soft (no samples), and the callback only reaches the batcher.
  const client = {
    workflow: { getHandle: () => ({ query: () => Promise.reject(new Error('down')) }) },
  } as unknown as Client;
  const app = await createHttpServer({ config, client, log: pino({ level: 'silent' }), inventory: { batcher } });
  try {
    const ok = await app.inject({ method: 'GET', url: '/webhooks/peoplevox/availability?item=SKU-1&available=4' });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(added, [['SKU-1', 4]]);
    const bad = await app.inject({ method: 'GET', url: '/webhooks/peoplevox/availability?item=SKU-1&available=-1' });
    assert.equal(bad.statusCode, 400);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /loopline_stock_sync_age_seconds/);
    assert.match(metrics.body, /loopline_stock_pending_skus/);
  } finally {
    await app.close();
  }
  const off = await createHttpServer({ config, client, log: pino({ level: 'silent' }), inventory: false });
  try {
    const r = await off.inject({ method: 'GET', url: '/webhooks/peoplevox/availability?item=A&available=1' });
    assert.equal(r.statusCode, 404, 'a caller that wires stock itself can turn it off');
  } finally {
    await off.close();
  }
});
