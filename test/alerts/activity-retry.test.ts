// One alert per incident through a real Temporal activity retry: an order workflow parks with SKU_UNMAPPED,
// its raiseAlert activity (the real one, from createOrderActivities) meets a webhook that refuses once, so
// Temporal retries the activity; the retry sends only to the sink that missed it. An operator retry that
// parks the order again with the same reason is the same incident and sends nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, uniqueQueue, workflowBundle, eventually } from '../support/temporal';
import { createOrderActivities, type OrderActivities, type OrderSettings } from '../../activities/order';
import { AlertsSchema } from '../../src/config/alerts';
import { ConfigSchema } from '../../src/config/schema';
import { createConfiguredAlertSink } from '../../src/alerts/sinks';
import type { MarketplaceOrder } from '../../src/domain/order';
import { validateOrder } from '../../src/domain/validation';
import { orderWorkflow, orderRetryUpdate, orderStateQuery } from '../../workflows/order';
import { memoryLogger, startHttpReceiver, type HttpReceiver } from './receivers';

let env: TestWorkflowEnvironment;
let slack: HttpReceiver;
let hook: HttpReceiver;
before(async () => {
  [env, slack, hook] = await Promise.all([startTestEnv(), startHttpReceiver(), startHttpReceiver()]);
});
after(async () => {
  await Promise.all([env?.teardown(), slack?.close(), hook?.close()]);
});

function unmappedOrder(): MarketplaceOrder {
  const now = new Date();
  return {
    channel: 'asos',
    orderId: `ALR-${Math.random().toString(36).slice(2, 8).toUpperCase()}-A`,
    state: 'WAITING_ACCEPTANCE',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    acceptanceDeadline: new Date(now.getTime() + 48 * 3600_000).toISOString(),
    shippingDeadline: new Date(now.getTime() + 96 * 3600_000).toISOString(),
    currency: 'GBP',
    taxMode: 'TAX_INCLUDED',
    shippingAddress: {
      firstName: 'Ann',
      lastName: 'Lee',
      line1: '1 High St',
      city: 'Leeds',
      postcode: 'LS1 1AA',
      countryCode: 'GBR',
    },
    lines: [
      {
        lineId: 'L1',
        index: 1,
        offerSku: 'NEW-SEASON-SKU',
        quantity: 1,
        unitPrice: 1800,
        price: 1800,
        shippingPrice: 0,
        taxes: [],
        shippingTaxes: [],
        state: 'WAITING_ACCEPTANCE',
        cancelledQuantity: 0,
      },
    ],
    totals: { goods: 1800, shipping: 0, total: 1800 },
  };
}

test('a raiseAlert activity retried by Temporal after a sink failure sends one alert per sink, and a re-park sends none', async () => {
  const { log } = memoryLogger();
  const alerts = createConfiguredAlertSink(
    AlertsSchema.parse({
      delivery: { attempts: 1, timeoutMs: 2000, activityRetries: 3 },
      sinks: [
        { type: 'slack', name: 'ops-slack', urlEnv: 'TEST_SLACK_URL' },
        { type: 'webhook', name: 'erp', url: hook.url },
      ],
    }),
    log,
    { env: { TEST_SLACK_URL: slack.url } },
  );
  // The real activity, as the worker registers it.
  const { raiseAlert } = createOrderActivities({
    config: ConfigSchema.parse({}),
    alerts,
    log,
    mirakl: () => {
      throw new Error('no marketplace in this test');
    },
    peoplevox: undefined as never,
    itemCodes: undefined as never,
  });
  const queue = uniqueQueue('alerts');
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
      return Object.fromEntries(input.offerSkus.map((s) => [s, null]));
    },
    async validateOrder(input: { channel: string; order: MarketplaceOrder }) {
      return validateOrder(input.order, {
        channel: input.channel,
        currency: 'GBP',
        itemCodeFor: () => undefined,
        requireAddress: true,
        now: Date.now(),
      });
    },
    raiseAlert,
  } as unknown as OrderActivities;

  hook.failNext(1, 503);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  await worker.runUntil(async () => {
    const o = unmappedOrder();
    const key = `exception:asos:${o.orderId}:SKU_UNMAPPED`;
    const h = await env.client.workflow.start(orderWorkflow, {
      taskQueue: queue,
      workflowId: `order:asos:${o.orderId}`,
      args: [{ channel: 'asos', orderId: o.orderId, order: o }],
    });
    try {
      const parked = await eventually(async () => (await h.query(orderStateQuery)).exception, 10_000, 'exception');
      assert.equal(parked.reason, 'SKU_UNMAPPED');

      // Temporal retries the activity (initial interval 1 s); the retry reaches the webhook.
      await eventually(() => (hook.delivered().length === 1 ? true : undefined), 15_000, 'webhook delivery on retry');
      assert.deepEqual(
        hook.requests.map((r) => [r.status, r.headers['x-loopline-alert-key']]),
        [
          [503, key],
          [200, key],
        ],
      );
      assert.equal(slack.requests.length, 1, 'Slack took it on the first attempt and never saw it again');
      assert.equal(slack.requests[0]!.headers['x-loopline-alert-key'], key);

      // The history proves it was one activity, completed on its second attempt.
      const raiseAttempts = async () => {
        const events = (await h.fetchHistory()).events ?? [];
        const scheduled = new Set(
          events
            .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'raiseAlert')
            .map((e) => String(e.eventId)),
        );
        const started = events
          .map((e) => e.activityTaskStartedEventAttributes)
          .filter((a) => a && scheduled.has(String(a.scheduledEventId)))
          .map((a) => a!.attempt);
        const completed = events.filter(
          (e) =>
            e.activityTaskCompletedEventAttributes &&
            scheduled.has(String(e.activityTaskCompletedEventAttributes.scheduledEventId)),
        ).length;
        return { started, completed };
      };
      assert.deepEqual(
        await eventually(async () => {
          const r = await raiseAttempts();
          return r.completed === 1 ? r : undefined;
        }),
        { started: [2], completed: 1 },
      );

      // The operator retries before the mapping exists: the order parks again with the same reason.
      await h.executeUpdate(orderRetryUpdate);
      const again = await eventually(async () => {
        const r = await raiseAttempts();
        return r.completed === 2 ? r : undefined;
      });
      assert.deepEqual(again, { started: [2, 1], completed: 2 });
      assert.equal((await h.query(orderStateQuery)).exception?.reason, 'SKU_UNMAPPED');
      assert.equal(hook.delivered().length, 1, 'the same incident is not sent again');
      assert.equal(slack.requests.length, 1);
    } finally {
      await h.terminate('test done');
    }
  });
});
