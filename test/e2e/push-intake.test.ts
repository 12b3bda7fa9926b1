// Push intake: an operator event names orders and Loopline takes them at once, without waiting for the
// once-a-minute poll (set to an hour here, so only the push can explain a prompt acceptance). A bad token
// is refused with 401 and never processed (an unknown channel gets the same 401: the endpoint does not
// tell which channels exist); a duplicate delivery starts nothing twice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import axios, { type AxiosInstance } from 'axios';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { intakeStateQuery } from '../../workflows/intake';

const TOKEN = 'push-token-for-the-e2e-tests';
let env: TestWorkflowEnvironment;
let stack: Stack;
let http: AxiosInstance;
before(async () => {
  process.env.LOOPLINE_TEST_PUSH_TOKEN = TOKEN;
  env = await startTestEnv();
  stack = await startStack(env, {
    intake: { pushTokenEnv: 'LOOPLINE_TEST_PUSH_TOKEN', pollIntervalSeconds: 3600 },
  });
  const port = (stack.http.server.address() as AddressInfo).port;
  // Let the intake make its first poll, so the next one is a (scaled) hour away.
  const intake = env.client.workflow.getHandle(stack.recurring.intakeWorkflowIds[0]!);
  await eventually(
    async () => {
      const st = await intake.query(intakeStateQuery);
      return st.totals.polls >= 1 ? true : undefined;
    },
    20_000,
    'the first intake poll',
  );
  http = axios.create({ baseURL: `http://127.0.0.1:${port}`, validateStatus: () => true, timeout: 10_000 });
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

async function marketplaceOrder(id: string) {
  return (await stack.control.get(`/control/mirakl/asos/orders/${id}`)).data as {
    order_state: string;
    _sandbox: { acceptDecisions?: unknown[] };
  };
}

describe('push intake webhook', () => {
  test('refuses a bad token (401), a bad body (400, naming the field) and an unknown channel (401)', async () => {
    const orderId = `${stack.idPrefix}-P0-A`;
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId,
      lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }],
    });
    const url = '/webhooks/intake/asos/orders';
    const none = await http.post(url, { order_ids: [orderId] });
    assert.equal(none.status, 401);
    const wrong = await http.post(url, { order_ids: [orderId] }, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const bad = await http.post(url, { order_ids: [] }, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(bad.status, 400);
    assert.match((bad.data as { error: string }).error, /order_ids/);
    const unknown = await http.post(
      '/webhooks/intake/nowhere/orders',
      { order_ids: ['x'] },
      { headers: { authorization: `Bearer ${TOKEN}` } },
    );
    assert.equal(unknown.status, 401);
    // Nothing was processed: the order is still waiting, with no workflow.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await marketplaceOrder(orderId)).order_state, 'WAITING_ACCEPTANCE');
    await assert.rejects(env.client.workflow.getHandle(`order:asos:${orderId}`).describe());
  });

  test('a pushed order is accepted within seconds, once, even when the event is delivered twice', async () => {
    const orderId = `${stack.idPrefix}-P1-A`;
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId,
      lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }],
    });
    const mark = (await stack.control.get('/control/calls', { params: { system: 'mirakl' } })).data as {
      calls: Array<{ seq: number }>;
    };
    const sinceSeq = mark.calls.at(-1)?.seq ?? 0;
    const pushedAt = Date.now();
    const body = { event_id: `evt-${orderId}`, order_ids: [orderId] };
    const headers = { authorization: `Bearer ${TOKEN}` };
    const [a, b] = await Promise.all([
      http.post('/webhooks/intake/asos/orders', body, { headers }),
      http.post('/webhooks/intake/asos/orders', body, { headers }),
    ]);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    await eventually(
      async () => ((await marketplaceOrder(orderId)).order_state === 'SHIPPING' ? true : undefined),
      15_000,
      'acceptance after the push',
    );
    // The next poll is an hour (scaled: a minute) away; the push is what took it.
    assert.ok(Date.now() - pushedAt < 15_000);
    const runs: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = "order:asos:${orderId}"` }))
      runs.push(wf.runId);
    assert.equal(runs.length, 1, 'one order workflow');
    const or21 = (
      await stack.control.get('/control/calls', {
        params: { system: 'mirakl', endpoint: 'OR21', tenant: 'asos', sinceSeq },
      })
    ).data as { calls: unknown[] };
    assert.equal(or21.calls.length, 1, 'one acceptance call');
    const pushed = env.client.workflow.getHandle(`push:asos:${body.event_id}`);
    const result = (await pushed.result()) as { seen: number; started: number; missing: string[] };
    assert.deepEqual([result.seen, result.started, result.missing], [1, 1, []]);
    await maybeRecordHistory(pushed, 'pushed-orders-one-order');
  });
});
