// Wires one process's dependencies from the config: connectors → activities → workers. Shared by the
// worker entry point, the sandbox and the tests, so all three run the same code.
import { DefaultLogger, Worker, bundleWorkflowCode, type NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema';
import { secretFromEnv } from '../src/config/load';
import { MiraklClient } from '../src/connectors/mirakl/client';
import { PeoplevoxClient } from '../src/connectors/peoplevox/client';
import { ShopifyClient } from '../src/connectors/shopify/client';
import { createShopifyActivities } from '../activities/shopify';
import { createOrderActivities } from '../activities/order';
import { createIntakeActivities } from '../activities/intake';
import { createItemCodeDirectory } from '../activities/item-codes';
import { createDespatchSweepActivities } from '../activities/despatch-sweep';
import { createCatalogueAuditActivities } from '../activities/catalogue-audit';
import { createReconciliationActivities } from '../activities/reconciliation';
import type { ShopifyOrderSource } from '../src/reconciliation/types';
import { unavailableShopifyOrderSource } from '../src/reconciliation/shopify-source';
import { shopifyConnectorOrderSource } from '../src/reconciliation/shopify-connector-source';
import type { AlertSink } from '../src/alerts/alerts';
import { createConfiguredAlertSink } from '../src/alerts/sinks';
import { createInventoryWorker } from '../src/inventory/worker';
import { FAILURE_CONVERTER_PATH, createDataConverter } from '../src/temporal/data-converter';

export interface Runtime {
  config: Config;
  mirakl(channel: string): MiraklClient;
  peoplevox: PeoplevoxClient;
  /** Present when systems.shopify is configured (channels with `fulfilment: shopify`). */
  shopify?: ShopifyClient;
  alerts: AlertSink;
  log: Logger;
  /** Shopify orders for the payout reconciliation (docs/reconciliation.md); unset: reconciliation fails clearly. */
  shopifyOrders?(channel: string): ShopifyOrderSource;
}

export function createRuntime(
  config: Config,
  log: Logger,
  opts: { timeScale?: number; alerts?: AlertSink; shopifyOrders?: (channel: string) => ShopifyOrderSource } = {},
): Runtime {
  const timeScale = opts.timeScale ?? 1;
  const miraklClients = new Map<string, MiraklClient>();
  const pvx = config.systems.peoplevox;
  if (!pvx) throw new Error('systems.peoplevox is not configured');
  const peoplevox = new PeoplevoxClient({
    baseUrl: pvx.baseUrl,
    clientId: pvx.clientId,
    username: pvx.username,
    password: secretFromEnv(pvx.passwordEnv, 'systems.peoplevox.passwordEnv'),
    sessionTtlMinutes: pvx.sessionTtlMinutes,
    timeoutMs: pvx.timeoutMs,
    requestsPerSecond: pvx.requestsPerSecond * timeScale,
    log: log.child({ system: 'peoplevox' }),
  });
  const shop = config.systems.shopify;
  const shopify = shop
    ? new ShopifyClient({
        baseUrl: shop.baseUrl,
        apiVersion: shop.apiVersion,
        accessToken: secretFromEnv(shop.accessTokenEnv, 'systems.shopify.accessTokenEnv'),
        timeoutMs: shop.timeoutMs,
        log: log.child({ system: 'shopify' }),
        stockLocations: shop.stockLocations,
      })
    : undefined;
  return {
    config,
    log,
    peoplevox,
    shopify,
    alerts: opts.alerts ?? createConfiguredAlertSink(config.alerts, log.child({ component: 'alerts' })),
    shopifyOrders: opts.shopifyOrders,
    mirakl(channel: string) {
      let c = miraklClients.get(channel);
      if (!c) {
        const ch = config.channels.find((x) => x.code === channel);
        if (!ch) throw new Error(`channel ${channel} is not configured`);
        c = new MiraklClient({
          baseUrl: ch.connection.baseUrl,
          apiKey: secretFromEnv(ch.connection.apiKeyEnv, `channels[${channel}].connection.apiKeyEnv`),
          shopId: ch.connection.shopId,
          timeoutMs: ch.connection.timeoutMs,
          log: log.child({ system: 'mirakl', channel }),
        });
        miraklClients.set(channel, c);
      }
      return c;
    },
  };
}

export interface WorkerSetOptions {
  connection: NativeConnection;
  client: Client;
  runtime: Runtime;
  /** Pre-built workflow bundle (tests share one); otherwise bundled from workflows/index.ts. */
  workflowBundle?: { code: string };
  despatchBackstopMs?: number;
  timeScale?: number;
}

export async function buildWorkflowBundle() {
  // Loopline's failure converter goes into the bundle: failures raised in workflows are encrypted too.
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
}

/**
 * One worker per task queue:
 *  - orders: every workflow, plus settings/validation/intake activities;
 *  - acknowledge: marketplace writes that the SLA hangs on (OR21, ST01, OR23/OR24, OR29), never queued
 *    behind warehouse work;
 *  - peoplevox: warehouse calls, rate-limited for the whole cluster by the task queue itself
 *    (Peoplevox allows about 15 requests per 15 s; each activity makes up to three calls).
 */
export async function createWorkers(opts: WorkerSetOptions): Promise<Worker[]> {
  const { runtime, connection } = opts;
  const { config } = runtime;
  // A missing code triggers a re-read at most once a (scaled) minute, so a retry after adding the item works.
  const itemCodes = createItemCodeDirectory(() => runtime.peoplevox.listItemCodes(), {
    missRefreshMs: 60_000 / (opts.timeScale ?? 1),
  });
  const shopifyActs = runtime.shopify
    ? createShopifyActivities({
        config,
        shopify: runtime.shopify,
        mirakl: runtime.mirakl,
        log: runtime.log.child({ component: 'shopify-activities' }),
      })
    : undefined;
  const orderActs = createOrderActivities({
    config,
    mirakl: runtime.mirakl,
    peoplevox: runtime.peoplevox,
    itemCodes,
    alerts: runtime.alerts,
    log: runtime.log.child({ component: 'order-activities' }),
    despatchBackstopMs: opts.despatchBackstopMs,
    shopify: shopifyActs && {
      activities: shopifyActs,
      itemCodes: createItemCodeDirectory(() => shopifyActs.listShopifySkus(), {
        missRefreshMs: 60_000 / (opts.timeScale ?? 1),
      }),
    },
  });
  const intakeActs = createIntakeActivities({
    config,
    client: opts.client,
    mirakl: runtime.mirakl,
    alerts: runtime.alerts,
    log: runtime.log.child({ component: 'intake' }),
  });
  const { sweepDespatches, forwardDespatch } = createDespatchSweepActivities({
    config,
    client: opts.client,
    peoplevox: runtime.peoplevox,
    log: runtime.log.child({ component: 'despatch-sweep' }),
  });
  const { auditChannelCatalogue, raiseCatalogueFindings } = createCatalogueAuditActivities({
    config,
    client: opts.client,
    mirakl: runtime.mirakl,
    peoplevox: runtime.peoplevox,
    log: runtime.log.child({ component: 'catalogue-audit' }),
    timeScale: opts.timeScale,
  });
  const reconciliationActs = createReconciliationActivities({
    config,
    client: opts.client,
    mirakl: runtime.mirakl,
    // A test's source first; else the Shopify connector when systems.shopify is configured.
    shopifyOrders: (channel) =>
      runtime.shopifyOrders?.(channel) ??
      (runtime.shopify
        ? shopifyConnectorOrderSource({
            shopify: runtime.shopify,
            mirakl: runtime.mirakl(channel),
            skuMap: config.channels.find((c) => c.code === channel)?.skuMap,
          })
        : unavailableShopifyOrderSource(channel)),
    log: runtime.log.child({ component: 'payout-reconciliation' }),
    timeScale: opts.timeScale,
  });
  const workflowBundle = opts.workflowBundle ?? (await buildWorkflowBundle());
  // Every worker decrypts what it reads and encrypts what it writes (docs/security.md).
  const dataConverter = createDataConverter(config);
  const q = config.temporal.taskQueues;
  const pvxRate = (config.systems.peoplevox?.requestsPerSecond ?? 1) * (opts.timeScale ?? 1);
  const {
    acknowledgeOrder,
    confirmShipment,
    cancelMarketplaceOrder,
    createWarehouseOrder,
    cancelWarehouseOrder,
    listWarehouseDespatches,
    ...general
  } = orderActs;
  return Promise.all([
    Worker.create({
      connection,
      namespace: config.temporal.namespace,
      dataConverter,
      taskQueue: q.orders,
      workflowBundle,
      activities: { ...general, ...intakeActs, forwardDespatch, raiseCatalogueFindings, ...reconciliationActs },
    }),
    Worker.create({
      connection,
      namespace: config.temporal.namespace,
      dataConverter,
      taskQueue: q.acknowledge,
      activities: {
        acknowledgeOrder,
        confirmShipment,
        cancelMarketplaceOrder,
        ...(shopifyActs ? { refundFromShopify: shopifyActs.refundFromShopify } : {}),
      },
    }),
    Worker.create({
      connection,
      namespace: config.temporal.namespace,
      dataConverter,
      taskQueue: q.peoplevox,
      activities: {
        createWarehouseOrder,
        cancelWarehouseOrder,
        listWarehouseDespatches,
        sweepDespatches,
        // The catalogue audit reads the warehouse (item types, stock) through the same paced client.
        auditChannelCatalogue,
      },
      // Heartbeat details reach the server at least every 2 s (the audit's progress bar reads them).
      maxHeartbeatThrottleInterval: '2s',
      // Three Peoplevox calls per activity at most: keep the cluster inside the documented budget.
      maxTaskQueueActivitiesPerSecond: pvxRate / 3,
    }),
    // Shopify fulfilment calls (docs/shopify.md): the same activities, paced by Shopify's cost bucket.
    ...(shopifyActs
      ? [
          Worker.create({
            connection,
            namespace: config.temporal.namespace,
            dataConverter,
            taskQueue: q.shopify,
            activities: { createWarehouseOrder, cancelWarehouseOrder, listWarehouseDespatches },
          }),
        ]
      : []),
    // Stock: one inventory workflow per channel and its pushes (docs/inventory.md).
    createInventoryWorker({ connection, client: opts.client, runtime, workflowBundle, timeScale: opts.timeScale }),
  ]);
}
