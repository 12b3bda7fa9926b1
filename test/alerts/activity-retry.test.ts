// One alert per incident across worker processes, through the alert router workflow (workflows/alerts.ts) on a
// real Temporal server: two processes raise the same incident, a webhook refuses once (Temporal retries the
// delivery activity, which sends only to the sink still owed), an operator retry that parks the order again is
// the same incident; and with every sink failing, orders still complete and the failure is a metric.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { register } from 'prom-client';
import { startTestEnv, uniqueQueue, workflowBundle, eventually, maybeRecordHistory } from '../support/temporal';
import { createOrderActivities, type OrderActivities, type OrderSettings } from '../../activities/order';
import { createAlertActivities, createRoutedAlertSink } from '../../activities/alerts';
import { AlertsSchema } from '../../src/config/alerts';
import { ConfigSchema, type Config } from '../../src/config/schema';
import { createConfiguredAlertSink } from '../../src/alerts/sinks';
import type { MarketplaceOrder } from '../../src/domain/order';
import { alertRouterWorkflowId } from '../../src/domain/keys';
import { validateOrder } from '../../src/domain/validation';
import { alertRouterStateQuery } from '../../workflows/alerts';
import { orderWorkflow, orderRetryUpdate, orderStateQuery } from '../../workflows/order';
import { memoryLogger, startHttpReceiver, type HttpReceiver } from './receivers';
import { order as baseOrder } from '../workflows/support';

let env: TestWorkflowEnvironment;
let slack: HttpReceiver;
let hook: HttpReceiver;
before(async () => {
  [env, slack, hook] = await Promise.all([startTestEnv(), startHttpReceiver(), startHttpReceiver()]);
});
after(async () => {
  await Promise.all([env?.teardown(), slack?.close(), hook?.close()]);
});

/** One line of the given offer SKU (the shared test order, trimmed to its first line). */
function order(offerSku: string): MarketplaceOrder {
  const o = baseOrder();
  const line = { ...o.lines[0]!, offerSku, quantity: 1, price: 1800 };
  return { ...o, orderId: `ALR-${o.orderId}`, lines: [line], totals: { goods: 1800, shipping: 395, total: 2195 } };
}

/** A worker set on its own queue: the order workflow with fakes for the marketplace and warehouse, the real
 *  raiseAlert (through the router) and the router's real delivery activity with real HTTP sinks. */
async function withAlertWorker(
  sinksYaml: unknown[],
  fn: (ctx: {
    queue: string;
    scope: string;
    config: Config;
    alertsLog: ReturnType<typeof memoryLogger>;
  }) => Promise<void>,
) {
  const queue = uniqueQueue('alerts');
  const scope = queue.slice(-8);
  // Three delivery rounds in all (retries after 2 s and 4 s), then the router gives up.
  const alertsYaml = { delivery: { attempts: 1, timeoutMs: 2000, activityRetries: 2 }, sinks: sinksYaml };
  const config = ConfigSchema.parse({
    temporal: { idScope: scope, taskQueues: { orders: queue } },
    alerts: alertsYaml,
  });
  const alertsLog = memoryLogger();
  const sinks = createConfiguredAlertSink(AlertsSchema.parse(alertsYaml), alertsLog.log, {
    env: { TEST_SLACK_URL: slack.url },
    forRouter: true,
  });
  const { raiseAlert } = createOrderActivities({
    config,
    alerts: createRoutedAlertSink(env.client, config),
    log: alertsLog.log,
    mirakl: () => {
      throw new Error('no marketplace in this test');
    },
    peoplevox: undefined as never,
    itemCodes: undefined as never,
  });
  const activities = {
    async orderSettings(): Promise<OrderSettings> {
      return {
        taskQueues: { acknowledge: queue, peoplevox: queue },
        acceptancePolicy: 'accept-when-mapped',
        outOfStock: 'accept-and-backorder',
        alertAtFractions: [0.5, 0.8],
        returnWindowDays: 0,
        multiShipment: true,
        despatchBackstopMs: 60_000,
      };
    },
    async resolveItemCodes(input: { offerSkus: string[] }) {
      return Object.fromEntries(input.offerSkus.map((s) => [s, s.startsWith('KNOWN') ? s : null]));
    },
    async validateOrder(input: { channel: string; order: MarketplaceOrder }) {
      return validateOrder(input.order, {
        channel: input.channel,
        currency: 'GBP',
        itemCodeFor: (s) => (s.startsWith('KNOWN') ? s : undefined),
        requireAddress: true,
        now: Date.now(),
      });
    },
    async checkOrderStock(input: { lines: Array<{ lineId: string }> }) {
      return input.lines.map((l) => ({ lineId: l.lineId, accepted: true, shortBy: 0 }));
    },
    async acknowledgeOrder() {
      return 'accepted';
    },
    async createWarehouseOrder(input: { order: MarketplaceOrder }) {
      return { salesOrderNumber: `ASOS-${input.order.orderId}`, created: true };
    },
    raiseAlert,
    ...createAlertActivities({ sinks, log: alertsLog.log }),
  } as unknown as OrderActivities;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  await worker.runUntil(() => fn({ queue, scope, config, alertsLog }));
}

test('one alert per incident across processes: a refused webhook is retried alone, a re-park sends nothing', async () => {
  await withAlertWorker(
    [
      { type: 'slack', name: 'ops-slack', urlEnv: 'TEST_SLACK_URL' },
      { type: 'webhook', name: 'erp', url: hook.url },
    ],
    async ({ queue, scope, config }) => {
      const o = order('NEW-SEASON-SKU');
      const key = `exception:asos:${o.orderId}:SKU_UNMAPPED`;
      hook.failNext(1, 503);
      const h = await env.client.workflow.start(orderWorkflow, {
        taskQueue: queue,
        workflowId: `order:asos:${o.orderId}`,
        args: [{ channel: 'asos', orderId: o.orderId, order: o }],
      });
      try {
        const parked = await eventually(async () => (await h.query(orderStateQuery)).exception, 10_000, 'exception');
        assert.equal(parked.reason, 'SKU_UNMAPPED');
        // A second worker process raising the same incident (its own client-side sink): the router drops it.
        const other = createRoutedAlertSink(env.client, config);
        await other.raise({ key, kind: 'exception', channel: 'asos', owner: 'merchandising', message: 'again' });

        // Temporal retries the delivery (initial interval 2 s); the retry reaches the webhook only.
        await eventually(() => (hook.delivered().length === 1 ? true : undefined), 20_000, 'webhook delivery on retry');
        assert.deepEqual(
          hook.requests.map((r) => [r.status, r.headers['x-loopline-alert-key']]),
          [
            [503, key],
            [200, key],
          ],
        );
        assert.equal(slack.requests.length, 1, 'Slack took it on the first attempt and never saw it again');
        assert.equal(slack.requests[0]!.headers['x-loopline-alert-key'], key);

        // The operator retries before the mapping exists: parked again with the same reason, the same incident.
        const after = await h.executeUpdate(orderRetryUpdate);
        assert.equal(
          after.exception?.reason,
          'SKU_UNMAPPED',
          'retry returns once the step ran again, with its outcome',
        );
        const router = env.client.workflow.getHandle(alertRouterWorkflowId(scope));
        const totals = await eventually(async () => {
          const t = await router.query(alertRouterStateQuery);
          return t.raised >= 3 ? t : undefined;
        });
        assert.equal(totals.sent, 1);
        assert.equal(totals.duplicates, 2, 'the second process and the re-park');
        assert.equal(hook.delivered().length, 1, 'the same incident is not sent again');
        assert.equal(slack.requests.length, 1);
        await router.terminate('test done');
        await maybeRecordHistory(router, 'alert-router-dedupe-and-retry');
      } finally {
        await h.terminate('test done').catch(() => undefined);
      }
    },
  );
});

test('with every alert sink failing, orders still complete; the undelivered alert is a metric and a log line', async () => {
  const metric = async () =>
    ((await register.getSingleMetric('loopline_alert_delivery_failures_total')?.get())?.values ?? []).reduce(
      (n, v) => n + v.value,
      0,
    );
  const before = await metric();
  await withAlertWorker(
    [{ type: 'webhook', name: 'erp', url: 'http://127.0.0.1:9/down' }],
    async ({ queue, scope, alertsLog }) => {
      // Two orders: one parks (an alert that cannot go anywhere), one goes straight to the warehouse.
      const parked = order('UNKNOWN-SKU');
      // (accepted on the marketplace already: it goes straight to validation and the warehouse)
      const fine = { ...order('KNOWN-SKU'), state: 'SHIPPING' as const };
      const start = (o: MarketplaceOrder) =>
        env.client.workflow.start(orderWorkflow, {
          taskQueue: queue,
          workflowId: `order:asos:${o.orderId}`,
          args: [{ channel: 'asos', orderId: o.orderId, order: o }],
        });
      const [hp, hf] = await Promise.all([start(parked), start(fine)]);
      try {
        await eventually(
          async () => ((await hf.query(orderStateQuery)).status === 'IN_WAREHOUSE' ? true : undefined),
          15_000,
          'the healthy order in the warehouse',
        );
        assert.equal((await hp.query(orderStateQuery)).exception?.reason, 'SKU_UNMAPPED');
        // The router gives up after its retries (2 s, 4 s) and counts it.
        const router = env.client.workflow.getHandle(alertRouterWorkflowId(scope));
        await eventually(
          async () => ((await router.query(alertRouterStateQuery)).undelivered >= 1 ? true : undefined),
          30_000,
          'undelivered alert',
        );
        assert.ok((await metric()) > before, 'loopline_alert_delivery_failures_total counts it');
        assert.ok(
          alertsLog.lines.some((l) => /giving up|abandoned/.test(l)),
          'an error log line names the undelivered alert',
        );
        await router.terminate('test done');
      } finally {
        await Promise.all([
          hp.terminate('test done').catch(() => undefined),
          hf.terminate('test done').catch(() => undefined),
        ]);
      }
    },
  );
});
