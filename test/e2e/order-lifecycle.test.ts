// No order is ever lost (issue 10), through the whole sandbox on a real Temporal server: a warehouse outage
// longer than the retry budget parks every order and heals without a person; one unreadable order never blocks
// its page; a terminated run is shown and restarted from the CLI; cancel is honest in the warehouse and after
// despatch; a state error on OR24 for a cancelled order is an exception; a stale intake is alerted.
// Assertions are on what the simulators hold and what Temporal shows, not on Loopline's own counters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { runCli, writeCliConfig } from '../support/cli';
import { createOpsService } from '../../src/ops/service';
import { orderUnreadableWorkflowId, orderWorkflowId } from '../../src/domain/keys';
import { orderStateQuery, type OrderWorkflowState } from '../../workflows/order';
import { orderUnreadableOperator } from '../../workflows/order-unreadable';
import { intakeStateQuery, stopIntakeSignal } from '../../workflows/intake';
import { SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { ensureRecurringWork } from '../../workers/recurring';

let env: TestWorkflowEnvironment;
let stack: Stack;
before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, {
    multiShipment: { asos: true, joules: false },
    // A short retry budget (four tries, about a second scaled) so an outage outlasts it in seconds; automatic
    // retries of a parked step every 1–2 s (60–120 s scaled).
    extraYaml: `
orders:
  transportRetry: { maximumAttempts: 4, maximumIntervalSeconds: 30 }
  outageRetry: { initialSeconds: 60, maxSeconds: 120 }
`,
    intake: { staleAfterPolls: 3 },
  });
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

interface PvxOrder {
  salesOrderNumber: string;
  status: string;
  items: Array<{ itemCode: string; quantity: number }>;
  saveCounts?: { created?: number };
}
interface WireOrder {
  order_state: string;
}

const warehouseOrders = async (): Promise<PvxOrder[]> =>
  ((await stack.control.get('/control/peoplevox/test-client/orders')).data as { orders: PvxOrder[] }).orders;
const warehouseOrder = async (son: string) => (await warehouseOrders()).find((o) => o.salesOrderNumber === son);
const marketplaceOrder = async (channel: string, id: string) =>
  (await stack.control.get(`/control/mirakl/${channel}/orders/${id}`)).data as WireOrder;
const calls = async (system: string, tenant: string, endpoint: string) =>
  (
    (await stack.control.get(`/control/calls?system=${system}&tenant=${tenant}&endpoint=${endpoint}`)).data as {
      calls: unknown[];
    }
  ).calls.length;
const order = (channel: string, id: string) => env.client.workflow.getHandle(orderWorkflowId(channel, id));
const state = async (channel: string, id: string): Promise<OrderWorkflowState> =>
  order(channel, id).query(orderStateQuery);

async function place(channel: string, orderId: string, offerSku: string, extra: Record<string, unknown> = {}) {
  await stack.control.post(`/control/mirakl/${channel}/orders`, {
    orderId,
    lines: [{ offerSku, quantity: 1 }],
    ...extra,
  });
}

async function inWarehouse(son: string, what = son): Promise<PvxOrder> {
  return eventually(
    async () => {
      const o = await warehouseOrder(son);
      return o && o.items.length > 0 ? o : undefined;
    },
    30_000,
    what,
  );
}

describe('no order is lost (issue 10)', () => {
  test('Peoplevox down longer than the retry budget: every order parks SYSTEM_UNAVAILABLE, none fails, all reach the warehouse once after recovery without a person', async () => {
    const ids = [1, 2, 3].map((n) => `${stack.idPrefix}-OUT${n}-A`);
    const joules = `${stack.idPrefix}-OUT4-J`;
    await stack.control.put('/control/faults/peoplevox', {
      rules: [{ endpoint: '*', kind: 'error5xx', probability: 1 }],
    });
    try {
      for (const id of ids) await place('asos', id, 'TEE-RED-M');
      await place('joules', joules, 'JUMPER-GREEN-L');
      const all: Array<[string, string]> = [...ids.map((id) => ['asos', id] as [string, string]), ['joules', joules]];
      // Every order parks, naming Peoplevox and the step; none fails.
      for (const [ch, id] of all) {
        const exc = await eventually(
          async () => {
            const s = await state(ch, id);
            return s.exception?.reason === 'SYSTEM_UNAVAILABLE' ? s.exception : undefined;
          },
          40_000,
          `${id} parked SYSTEM_UNAVAILABLE`,
        );
        assert.equal(exc.owner, 'ops');
        assert.match(
          exc.message,
          /Peoplevox did not answer after repeated retries during "(create warehouse order|read item codes)"/,
        );
      }
      // The outage goes on past several automatic retries: still parked, still running.
      await new Promise((r) => setTimeout(r, 4_000));
      for (const [ch, id] of all) {
        assert.equal((await order(ch, id).describe()).status.name, 'RUNNING');
        const s = await state(ch, id);
        assert.equal(s.exception?.reason, 'SYSTEM_UNAVAILABLE');
        assert.ok(
          s.timeline.some((t) => t.step === 'automatic retry'),
          `${id} retried by itself`,
        );
      }
    } finally {
      await stack.control.delete('/control/faults/peoplevox');
    }
    // Recovery: every order reaches the warehouse exactly once, and heals without an operator.
    for (const [ch, id, son] of [
      ...ids.map((id) => ['asos', id, `ASOS-${id}`]),
      ['joules', joules, `JOULES-${joules}`],
    ] as Array<[string, string, string]>) {
      const wms = await inWarehouse(son, `${son} after the outage`);
      const s = await eventually(async () => {
        const x = await state(ch, id);
        return x.status === 'IN_WAREHOUSE' && !x.exception ? x : undefined;
      });
      assert.ok((s.outagesHealed ?? 0) >= 1, `${id} healed by itself`);
      assert.ok(!s.timeline.some((t) => t.step === 'retry'), 'no operator retry was needed');
      assert.equal(s.pastExceptions.at(-1)?.reason, 'SYSTEM_UNAVAILABLE');
      assert.equal(wms.saveCounts?.created, 1, `${son} created exactly once`);
      assert.equal((await warehouseOrders()).filter((o) => o.salesOrderNumber === son).length, 1);
    }
    await maybeRecordHistory(order('asos', ids[0]!), 'order-v2-outage-parked-and-healed');
  });

  test('an OR11 page with one unreadable order: the others go ahead, one ORDER_UNREADABLE names the order and the field', async () => {
    const good = [`${stack.idPrefix}-UR1-A`, `${stack.idPrefix}-UR3-A`];
    const bad = `${stack.idPrefix}-UR2-A`;
    await place('asos', good[0]!, 'SCARF-NAVY-S');
    await place('asos', bad, 'SCARF-NAVY-S', { overrides: { order_lines: [{ quantity: 'two' }] } });
    await place('asos', good[1]!, 'SCARF-NAVY-S');
    for (const id of good) await inWarehouse(`ASOS-${id}`);
    const h = env.client.workflow.getHandle(orderUnreadableWorkflowId('asos', bad));
    const st = await eventually(
      async () => (await h.query(orderUnreadableOperator.state)).exception,
      15_000,
      'ORDER_UNREADABLE',
    );
    assert.equal(st.reason, 'ORDER_UNREADABLE');
    assert.equal(st.owner, 'ops');
    assert.equal(st.field, 'order_lines[0].quantity');
    assert.match(st.message, new RegExp(`Order ${bad} on asos could not be read: field order_lines\\[0\\]\\.quantity`));
    // In the exception queue like any parked order; the intake never failed a poll over it.
    const rows = await createOpsService(env.client).exceptions({ reason: 'ORDER_UNREADABLE', channel: 'asos' });
    assert.ok(rows.some((r) => r.workflowId === orderUnreadableWorkflowId('asos', bad)));
    const intake = await env.client.workflow.getHandle(stack.recurring.intakeWorkflowIds[0]!).query(intakeStateQuery);
    assert.ok(intake.totals.unreadable >= 1);
    assert.equal(intake.totals.lastError, undefined);
    const resolved = await h.executeUpdate(orderUnreadableOperator.resolve, { args: ['handled in the back office'] });
    assert.equal(resolved.status, 'RESOLVED');
    await h.result();
    await maybeRecordHistory(h, 'order-unreadable-resolved');
  });

  test('a terminated run is restarted by the intake when it sees the order again, or shown with its reason and restarted from the CLI; nothing twice', async () => {
    const ops = createOpsService(env.client);
    // The intake reads an order again while it is inside the poll overlap: a run that ended without completing is
    // started again by the poll itself (reuse policy: failed only), from the marketplace's current state.
    const seen = `${stack.idPrefix}-RST0-A`;
    await place('asos', seen, 'COAT-BLACK-M');
    await inWarehouse(`ASOS-${seen}`);
    const firstRun = (await order('asos', seen).describe()).runId;
    await order('asos', seen).terminate('terminated by mistake in the Web UI');
    const again = await eventually(
      async () => {
        const d = await order('asos', seen).describe();
        return d.runId !== firstRun && d.status.name === 'RUNNING' ? d : undefined;
      },
      20_000,
      'the intake starting the order again',
    );
    assert.ok(again);
    await eventually(async () => ((await state('asos', seen)).status === 'IN_WAREHOUSE' ? true : undefined));
    assert.equal((await warehouseOrder(`ASOS-${seen}`))?.saveCounts?.created, 1, 'not created twice');

    // An order the intake will not read again (its intake stopped here): shown as failed until someone restarts it.
    const id = `${stack.idPrefix}-RST1-J`;
    const son = `JOULES-${id}`;
    await place('joules', id, 'WELLY-CREAM-M');
    await inWarehouse(son);
    await eventually(async () => ((await state('joules', id)).status === 'IN_WAREHOUSE' ? true : undefined));
    const intake = env.client.workflow.getHandle(stack.recurring.intakeWorkflowIds.find((w) => w.includes('joules'))!);
    await intake.signal(stopIntakeSignal);
    await intake.result();
    await order('joules', id).terminate('terminated by mistake in the Web UI');
    const shown = await eventually(
      async () =>
        (await ops.failedRuns({ channel: 'joules' })).find((r) => r.workflowId === orderWorkflowId('joules', id)),
      15_000,
      'the terminated run in the failed list',
    );
    assert.equal(shown.closeStatus, 'TERMINATED');
    assert.match(shown.failure ?? '', /terminated by mistake/);
    // The dashboard's API shows it too.
    const page = await stack.internal.inject({
      method: 'GET',
      url: '/ops/api/failed?channel=joules',
      headers: { authorization: `Bearer ${SANDBOX_SECRETS.LOOPLINE_OPS_TOKEN}` },
    });
    assert.ok(
      (page.json() as { runs: Array<{ workflowId: string }> }).runs.some(
        (r) => r.workflowId === orderWorkflowId('joules', id),
      ),
    );

    const cli = { configFile: writeCliConfig(stack.config), temporalAddress: env.address };
    const restarted = await runCli(cli, 'orders', 'restart', id, '--channel', 'joules');
    assert.equal(restarted.code, 0, restarted.stderr + restarted.stdout);
    assert.match(restarted.stdout, /restarted order:joules:.*read again from the marketplace/);
    const s = await eventually(async () => {
      const x = await state('joules', id);
      return x.status === 'IN_WAREHOUSE' ? x : undefined;
    });
    assert.equal(s.salesOrderNumber, son);
    assert.equal((await warehouseOrder(son))?.saveCounts?.created, 1, 'look before create found it: not created twice');
    assert.ok(
      !(await ops.failedRuns({ channel: 'joules' })).some((r) => r.workflowId === orderWorkflowId('joules', id)),
    );
    // A completed workflow is never restarted.
    await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, {
      parcels: [{ carrier: 'DPD', trackingNumber: 'DPD-RST1' }],
    });
    await eventually(
      async () => ((await marketplaceOrder('joules', id)).order_state === 'SHIPPED' ? true : undefined),
      30_000,
      'SHIPPED',
    );
    await order('joules', id).result();
    const twice = await runCli(cli, 'orders', 'restart', id, '--channel', 'joules');
    assert.notEqual(twice.code, 0);
    assert.match(twice.stdout + twice.stderr, /completed; it is never started again/);
    // The joules intake polls again for the tests that follow.
    await ensureRecurringWork(env.client, stack.config, {
      idSuffix: stack.config.temporal.idScope,
      timeScale: 60,
      schedules: false,
    });
  });

  test('cancel in the warehouse cancels it there and on the marketplace; after despatch it is refused, and no OR29 follows', async () => {
    const ops = createOpsService(env.client);
    const free = `${stack.idPrefix}-CAN1-A`;
    const gone = `${stack.idPrefix}-CAN2-A`;
    await place('asos', free, 'SKIRT-RED-S');
    await place('asos', gone, 'SKIRT-RED-S');
    await inWarehouse(`ASOS-${free}`);
    await inWarehouse(`ASOS-${gone}`);
    await eventually(async () => ((await state('asos', free)).status === 'IN_WAREHOUSE' ? true : undefined));

    const r = await ops.act(orderWorkflowId('asos', free), 'cancel', 'customer changed their mind');
    assert.equal(r.ok, true, r.error);
    assert.equal(r.status, 'CANCELLED', 'the update answers once the cancellation is done');
    assert.equal((await warehouseOrder(`ASOS-${free}`))?.status, 'Cancelled');
    assert.equal((await marketplaceOrder('asos', free)).order_state, 'CANCELED');
    await maybeRecordHistory(order('asos', free), 'order-v2-cancelled-in-warehouse-by-operator');

    await stack.control.post(`/control/peoplevox/test-client/orders/ASOS-${gone}/despatch`, {
      parcels: [{ carrier: 'DPD', trackingNumber: 'DPD-CAN2' }],
    });
    await eventually(
      async () => ((await state('asos', gone)).despatches.length > 0 ? true : undefined),
      20_000,
      'the despatch seen',
    );
    const or29Before = await calls('mirakl', 'asos', 'OR29');
    const refused = await ops.act(orderWorkflowId('asos', gone), 'cancel', 'too late');
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? '', /cannot be cancelled: despatch .* has left the warehouse/);
    await eventually(
      async () => ((await marketplaceOrder('asos', gone)).order_state === 'SHIPPED' ? true : undefined),
      30_000,
      'SHIPPED',
    );
    await order('asos', gone).result();
    // Once the order has closed, the same cancel gets the same reason (not "no such workflow").
    const late = await ops.act(orderWorkflowId('asos', gone), 'cancel', 'still too late');
    assert.equal(late.ok, false);
    assert.match(
      late.error ?? '',
      /has closed \(COMPLETED, CLOSED\): it cannot be cancelled: despatch .* has left the warehouse/,
    );
    const nothing = await ops.act(orderWorkflowId('asos', gone), 'retry');
    assert.match(nothing.error ?? '', /has closed \(COMPLETED, CLOSED\): nothing to retry/);
    assert.equal(await calls('mirakl', 'asos', 'OR29'), or29Before, 'no OR29 on the shipped order, ever');
    await maybeRecordHistory(order('asos', gone), 'order-v2-cancel-refused-after-despatch');
  });

  test('a state error on OR24 for an order cancelled on the marketplace is an exception, not SHIPPED', async () => {
    const id = `${stack.idPrefix}-ST24-J`;
    const son = `JOULES-${id}`;
    await place('joules', id, 'WELLY-CREAM-M');
    await inWarehouse(son);
    await eventually(async () => ((await state('joules', id)).status === 'IN_WAREHOUSE' ? true : undefined));
    // The intake stops hearing from Joules (so the workflow does not learn of the cancellation), the customer
    // cancels, and the warehouse despatches anyway.
    const intake = env.client.workflow.getHandle(stack.recurring.intakeWorkflowIds.find((w) => w.includes('joules'))!);
    await intake.signal(stopIntakeSignal);
    await intake.result();
    await stack.control.post(`/control/mirakl/joules/orders/${id}/cancel`, {});
    await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, {
      parcels: [{ carrier: 'DPD', trackingNumber: 'DPD-ST24' }],
    });
    const exc = await eventually(
      async () => {
        const s = await state('joules', id);
        return s.exception?.reason === 'SHIPMENT_REJECTED' ? s.exception : undefined;
      },
      30_000,
      'SHIPMENT_REJECTED',
    );
    assert.match(exc.message, /the marketplace has the order as CANCELED/);
    const s = await state('joules', id);
    assert.notEqual(s.status, 'SHIPPED');
    assert.equal((await marketplaceOrder('joules', id)).order_state, 'CANCELED');
    await order('joules', id).terminate('test done');
  });

  test('an intake that cannot complete a poll goes stale: alerted once, shown, and recovered', async () => {
    const asosIntake = env.client.workflow.getHandle(
      stack.recurring.intakeWorkflowIds.find((w) => w.includes('asos'))!,
    );
    await stack.control.put('/control/faults/mirakl', {
      rules: [{ endpoint: 'OR11', tenant: 'asos', kind: 'error5xx', probability: 1 }],
    });
    try {
      const st = await eventually(
        async () => {
          const s = await asosIntake.query(intakeStateQuery);
          return s.totals.staleSince !== undefined ? s : undefined;
        },
        60_000,
        'the intake stale',
      );
      assert.ok((st.totals.failedInARow ?? 0) >= 1);
      const health = await createOpsService(env.client).intakeHealth();
      assert.ok(
        health.some(
          (h) =>
            h.workflowId === asosIntake.workflowId && (h as { totals?: { staleSince?: number } }).totals?.staleSince,
        ),
      );
      await eventually(
        () => stack.runtime.alerts.recent().find((a) => a.reason === 'INTAKE_STALE' && a.channel === 'asos'),
        20_000,
        'the INTAKE_STALE alert',
      );
    } finally {
      await stack.control.delete('/control/faults/mirakl');
    }
    await eventually(
      async () => ((await asosIntake.query(intakeStateQuery)).totals.staleSince === undefined ? true : undefined),
      30_000,
      'the intake recovered',
    );
    assert.equal(
      stack.runtime.alerts.recent().filter((a) => a.reason === 'INTAKE_STALE' && a.channel === 'asos').length,
      1,
    );
  });
});
