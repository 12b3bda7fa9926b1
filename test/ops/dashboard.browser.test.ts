// The ops dashboard in headless Chromium (Debian's chromium, driven by playwright-core), against the
// whole stack: an order with an unknown SKU parks for merchandising, appears on the dashboard with its
// sentence, survives the owner filter, is fixed (the item is added in Peoplevox) and retried from the
// page, and then completes on the marketplace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import axios from 'axios';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { chromiumPath } from '../support/browser';
import { orderStateQuery } from '../../workflows/order/messages';

const TOKEN = 'ops-token-for-browser-test';
/** The page's document as the predicates below use it (the tests compile without the DOM library). */
type Doc = { querySelector(selector: string): { textContent: string | null } | null };
let env: TestWorkflowEnvironment;
let stack: Stack;
let browser: Browser;
let base: string;

before(async () => {
  process.env.LOOPLINE_OPS_TOKEN = TOKEN;
  env = await startTestEnv();
  stack = await startStack(env);
  base = `http://127.0.0.1:${(stack.internal.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
  await env?.teardown();
});

async function marketplaceState(id: string): Promise<string> {
  return ((await stack.control.get(`/control/mirakl/asos/orders/${id}`)).data as { order_state: string }).order_state;
}

async function openDashboard(): Promise<Page> {
  const context = await browser.newContext({ httpCredentials: { username: 'ops', password: TOKEN } });
  const page = await context.newPage();
  await page.goto(`${base}/ops`);
  await page.waitForSelector('body[data-loaded]');
  return page;
}

describe('ops dashboard (headless Chromium)', () => {
  test('refuses a request without the ops token', async () => {
    const r = await axios.get(`${base}/ops`, { validateStatus: () => true });
    assert.equal(r.status, 401);
    const api = await axios.get(`${base}/ops/api/exceptions`, {
      validateStatus: () => true,
      headers: { authorization: 'Bearer wrong' },
    });
    assert.equal(api.status, 401);
    const ok = await axios.get(`${base}/ops/api/exceptions`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
  });

  test('an exception from the sandbox is shown, fixed, retried from the page, and the order completes', async () => {
    const orderId = `${stack.idPrefix}-UI1-A`;
    const sku = `HAT-${stack.idPrefix}`;
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId,
      lines: [
        { offerSku: 'TEE-RED-M', quantity: 1 },
        { offerSku: sku, quantity: 1 },
      ],
    });
    const workflowId = `order:asos:${orderId}`;
    await eventually(
      async () =>
        (await env.client.workflow.getHandle(workflowId).query(orderStateQuery)).exception?.reason === 'SKU_UNMAPPED' ||
        undefined,
      25_000,
      'the SKU_UNMAPPED exception',
    );

    const page = await openDashboard();
    const row = page.locator(`tr[data-order-id="${orderId}"]`);
    // Visibility is eventually consistent: refresh until the row is there.
    await eventually(
      async () => {
        if ((await row.count()) > 0) return true;
        await page.click('#refresh');
        await page.waitForTimeout(300);
        return undefined;
      },
      15_000,
      'the row on the dashboard',
    );
    const group = page.locator('.owner[data-owner="merchandising"]');
    assert.ok((await group.count()) === 1, 'grouped under merchandising');
    assert.match(await row.locator('.message').innerText(), new RegExp(`${sku}`));
    assert.ok((await group.locator('.group-head[data-reason="SKU_UNMAPPED"]').count()) === 1);

    // Filters: merchandising keeps it, finance hides it.
    await page.selectOption('#f-owner', 'finance');
    // Predicates are functions, not strings: the dashboard's CSP (script-src 'self') forbids eval.
    await page.waitForFunction(
      (id) => !(globalThis as unknown as { document: Doc }).document.querySelector(`tr[data-order-id="${id}"]`),
      orderId,
    );
    await page.selectOption('#f-owner', 'merchandising');
    await page.waitForSelector(`tr[data-order-id="${orderId}"]`);

    // Detail with the timeline.
    await row.locator('a.order').click();
    await page.waitForSelector('#detail:not([hidden])');
    assert.match(await page.locator('#detail-exception').innerText(), /SKU_UNMAPPED \(merchandising\)/);
    assert.ok((await page.locator('#timeline li').count()) >= 2);

    // Fix the cause: merchandising adds the item in Peoplevox.
    await stack.control.put('/control/peoplevox/test-client/items', {
      items: [{ itemCode: sku, name: 'Hat', available: 10 }],
    });
    // Retry from the page.
    await page.click('#detail-actions button[data-verb="retry"]');
    await page.waitForFunction(() =>
      /retry: now/.test(
        (globalThis as unknown as { document: Doc }).document.querySelector('#status')?.textContent ?? '',
      ),
    );
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: Doc }).document.querySelector('#detail-exception')?.textContent ===
        'No open exception',
      undefined,
      { timeout: 20_000 },
    );

    // The order completes: accepted, in the warehouse, despatched, shipped, closed.
    await eventually(
      async () => ((await marketplaceState(orderId)) === 'SHIPPING' ? true : undefined),
      25_000,
      'accepted',
    );
    const son = `ASOS-${orderId}`;
    await eventually(
      async () => {
        const r = await stack.control.get(`/control/peoplevox/test-client/orders/${son}`, {
          validateStatus: () => true,
        });
        return r.status === 200 && (r.data as { items: unknown[] }).items.length === 2 ? true : undefined;
      },
      25_000,
      'the warehouse order',
    );
    await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, {
      parcels: [{ carrier: 'DPD', trackingNumber: 'UI-TRK-1' }],
    });
    await eventually(
      async () => ((await marketplaceState(orderId)) === 'SHIPPED' ? true : undefined),
      30_000,
      'shipped',
    );
    const final = (await env.client.workflow.getHandle(workflowId).result()) as { status: string };
    assert.equal(final.status, 'CLOSED');

    // And the page no longer lists it.
    await page.click('#refresh');
    await page.waitForFunction(
      (id) => !(globalThis as unknown as { document: Doc }).document.querySelector(`tr[data-order-id="${id}"]`),
      orderId,
      {
        timeout: 15_000,
      },
    );
    await page.context().close();
  });
});
