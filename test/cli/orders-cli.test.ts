// The `loopline` CLI as an operator runs it (a child process reading a config file and TEMPORAL_ADDRESS),
// against a real stack: exceptions by owner, an order's detail, a refused action, and a bulk retry after
// the cause is fixed, with its progress bar on stderr and --json on stdout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { runCli, writeCliConfig } from '../support/cli';
import { orderStateQuery } from '../../workflows/order/messages';

let env: TestWorkflowEnvironment;
let stack: Stack;
let configFile: string;
before(async () => {
  env = await startTestEnv();
  stack = await startStack(env);
  configFile = writeCliConfig(stack.config);
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

const cli = (...args: string[]) => runCli({ configFile, temporalAddress: env.address }, ...args);

describe('loopline CLI', () => {
  test('exceptions by owner, order detail, a refused action, and retry-all after the fix', async () => {
    const sku = `CAP-${stack.idPrefix}`;
    const ids = [`${stack.idPrefix}-C1-A`, `${stack.idPrefix}-C2-A`];
    for (const orderId of ids)
      await stack.control.post('/control/mirakl/asos/orders', { orderId, lines: [{ offerSku: sku, quantity: 1 }] });
    // Both parked, and visible in visibility (eventually consistent).
    await eventually(
      async () => {
        let n = 0;
        for await (const _ of env.client.workflow.list({
          query: `ExceptionReason = "SKU_UNMAPPED" AND MarketplaceOrderId IN ("${ids[0]}", "${ids[1]}")`,
        }))
          n += 1;
        return n === 2 ? true : undefined;
      },
      30_000,
      'two parked orders in visibility',
    );

    const exc = await cli('--json', 'exceptions', '--owner', 'merchandising', '--channel', 'asos');
    assert.equal(exc.code, 0, exc.stderr);
    const parsed = JSON.parse(exc.stdout) as {
      byOwner: Record<string, Record<string, { count: number }>>;
      exceptions: Array<{ orderId?: string; reason?: string; owner?: string; message?: string }>;
    };
    const mine = parsed.exceptions.filter((e) => ids.includes(e.orderId ?? ''));
    assert.equal(mine.length, 2);
    for (const e of mine) {
      assert.equal(e.reason, 'SKU_UNMAPPED');
      assert.equal(e.owner, 'merchandising');
      assert.match(e.message ?? '', new RegExp(sku));
    }
    assert.ok((parsed.byOwner.merchandising?.SKU_UNMAPPED?.count ?? 0) >= 2);

    // People output: the owner heading, the reason and its fix.
    const human = await cli('exceptions', '--owner', 'merchandising');
    assert.match(human.stdout, /== merchandising \(\d+\) ==/);
    assert.match(human.stdout, /SKU_UNMAPPED: \d+, oldest/);
    assert.match(human.stdout, /fix: Add the item in Peoplevox/);

    const show = await cli('--json', 'orders', 'show', ids[0]!, '--channel', 'asos');
    assert.equal(show.code, 0, show.stderr);
    const detail = JSON.parse(show.stdout) as { workflowId: string; status: string; timeline: unknown[] };
    assert.equal(detail.workflowId, `order:asos:${ids[0]}`);
    assert.equal(detail.status, 'AWAITING_ACCEPTANCE');
    assert.ok(detail.timeline.length >= 2);
    // Looked up by order id alone (MarketplaceOrderId), too.
    const byId = await cli('--json', 'orders', 'show', ids[0]!);
    assert.equal((JSON.parse(byId.stdout) as { workflowId: string }).workflowId, `order:asos:${ids[0]}`);

    // Resolve is refused on an order with no open exception (a running, healthy one).
    const healthy = `${stack.idPrefix}-C3-A`;
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId: healthy,
      lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }],
    });
    await eventually(
      async () =>
        (await env.client.workflow.getHandle(`order:asos:${healthy}`).query(orderStateQuery)).status ===
          'IN_WAREHOUSE' || undefined,
      25_000,
      'healthy order in the warehouse',
    );
    const refused = await cli('orders', 'resolve', healthy, '--channel', 'asos');
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /resolve refused .* has no open exception/);

    // Fix the cause once, retry every order parked for it.
    await stack.control.put('/control/peoplevox/test-client/items', { items: [{ itemCode: sku, available: 5 }] });
    // (--order-prefix keeps this test's bulk retry to its own orders: other test files share the server.)
    const bulk = await cli(
      '--json',
      'orders',
      'retry-all',
      '--reason',
      'SKU_UNMAPPED',
      '--channel',
      'asos',
      '--order-prefix',
      stack.idPrefix,
    );
    assert.equal(bulk.code, 0, bulk.stderr);
    const r = JSON.parse(bulk.stdout) as {
      total: number;
      cleared: number;
      results: Array<{ workflowId: string; ok: boolean }>;
    };
    for (const id of ids)
      assert.ok(
        r.results.some((x) => x.workflowId === `order:asos:${id}` && x.ok),
        id,
      );
    assert.equal(r.total, 2, JSON.stringify(r));
    assert.equal(r.cleared, 2, JSON.stringify(r));
    assert.match(bulk.stderr, /retrying .* \d+\/\d+/);
    for (const id of ids)
      await eventually(
        async () =>
          ((await stack.control.get(`/control/mirakl/asos/orders/${id}`)).data as { order_state: string })
            .order_state === 'SHIPPING' || undefined,
        25_000,
        `${id} accepted after the bulk retry`,
      );
  });
});
