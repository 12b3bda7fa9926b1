// Wires one process's dependencies from the config: connectors → activities → workers. Shared by the
// worker entry point, the sandbox and the tests, so all three run the same code.
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { withIsolateTimeout } from '../src/temporal/worker-limits';
import type { Config } from '../src/config/schema';
import { secretFromEnv } from '../src/config/load';
import { MiraklClient } from '../src/connectors/mirakl/client';
import { PeoplevoxClient } from '../src/connectors/peoplevox/client';
import { ShopifyClient } from '../src/connectors/shopify/client';
import { createSharedShopifyBudget } from '../src/connectors/shopify/shared-budget';
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
import { createAlertActivities, createRoutedAlertSink } from '../activities/alerts';
import { createWarehouseGatewayActivities, type WarehouseGatewayActivities } from '../activities/warehouse-gateway';
import { peoplevoxBudget } from '../src/config/budget';
import { rateBudgetWorkflowId } from '../src/domain/keys';
import { RequestPacer } from '../src/connectors/peoplevox/pacer';
import { DeferredPacer, LeasedBudget } from '../src/temporal/rate-budget-client';
import { createInventoryWorker } from '../src/inventory/worker';
import { createDataConverter } from '../src/temporal/data-converter';
import {
  WORKFLOWS_PATH,
  WORKFLOW_BUNDLE_SALT,
  buildWorkflowBundle,
  buildWorkflowBundleInChild,
} from '../src/temporal/workflow-bundle';
import { cachedWorkflowBundle } from '../src/temporal/workflow-bundle-cache';
import { createChannelListing, type ChannelListing } from '../src/inventory/listing';
import { marketplacerSettings } from '../src/config/schema';
import { MarketplacerClient } from '../src/connectors/marketplacer/client';
import { createVariantDirectory, type VariantDirectory } from '../src/connectors/marketplacer/variants';
import { createMarketplacerPort } from '../activities/marketplacer';
import { ReveniClient } from '../src/connectors/reveni/client';
import { createReturnActivities } from '../activities/returns';
import { createReturnIntakeActivities } from '../activities/returns-intake';
import { createMarketplaceRefundActivities, miraklRefundPort } from '../activities/marketplace-refund';
import { marketplacerRefundPort } from '../activities/marketplacer-refund';

export interface Runtime {
  config: Config;
  mirakl(channel: string): MiraklClient;
  /** Peoplevox for order-critical calls (warehouse batches, creates, cancellations): the lanes the reads leave. */
  peoplevox: PeoplevoxClient;
  /** Peoplevox for reads (despatches, stock, item codes, the audit): at most their share of the lanes. */
  peoplevoxReads: PeoplevoxClient;
  /**
   * From now on every Peoplevox request keeps to the lanes it leases from the tenant's budget kept by the Temporal server
   * (workflows/rate-budget.ts), shared with every replica; until then (a CLI command, the go-live probe) this
   * process paces itself at the documented rate. The same for every Shopify call (lanes of cost points of the
   * shop's bucket; until then, the client's local bucket model only). Workers call it (createWorkers); calling it
   * again is harmless.
   */
  shareBudgets(client: Client): void;
  /** Gives the leased budget lanes back and stops renewing them (a process or test stack shutting down). */
  close(): Promise<void>;
  /** Present when systems.shopify is configured (channels with `fulfilment: shopify`). */
  shopify?: ShopifyClient;
  /** The process's alert sinks (delivery); activities raise through the alert router (activities/alerts.ts). */
  alerts: AlertSink;
  log: Logger;
  /** Shopify orders for the payout reconciliation (docs/reconciliation.md); unset: reconciliation fails clearly. */
  shopifyOrders?(channel: string): ShopifyOrderSource;
  /** The offer SKUs a channel lists (Mirakl OF21, Marketplacer's variants; cached per process; src/inventory/listing.ts). */
  listing(channel: string): ChannelListing;
  /** The Seller API client of a `platform: marketplacer` channel (one per channel and process: its budget). */
  marketplacer(channel: string): MarketplacerClient;
  /** A Marketplacer channel's SKU ↔ variant directory (cached per process), also its listing. */
  marketplacerVariants(channel: string): VariantDirectory;
  /** The channel's Reveni store (systems.reveni), when it has one. */
  reveni?(channel: string): ReveniClient;
}

export function createRuntime(
  config: Config,
  log: Logger,
  opts: { timeScale?: number; alerts?: AlertSink; shopifyOrders?: (channel: string) => ShopifyOrderSource } = {},
): Runtime {
  const timeScale = opts.timeScale ?? 1;
  const miraklClients = new Map<string, MiraklClient>();
  const listings = new Map<string, ChannelListing>();
  const pvx = config.systems.peoplevox;
  if (!pvx) throw new Error('systems.peoplevox is not configured');
  const ownPace = new RequestPacer(pvx.requestsPerSecond * timeScale);
  const priorityPacer = new DeferredPacer(ownPace);
  const sharePacer = new DeferredPacer(ownPace);
  const peoplevox = new PeoplevoxClient({
    pacer: priorityPacer,
    baseUrl: pvx.baseUrl,
    clientId: pvx.clientId,
    username: pvx.username,
    password: secretFromEnv(pvx.passwordEnv, 'systems.peoplevox.passwordEnv'),
    sessionTtlMinutes: pvx.sessionTtlMinutes,
    timeoutMs: pvx.timeoutMs,
    requestsPerSecond: pvx.requestsPerSecond * timeScale,
    timeZone: pvx.timeZone,
    log: log.child({ system: 'peoplevox' }),
  });
  function mirakl(channel: string): MiraklClient {
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
  }
  const marketplacerClients = new Map<string, MarketplacerClient>();
  function marketplacer(channel: string): MarketplacerClient {
    let c = marketplacerClients.get(channel);
    if (!c) {
      const ch = config.channels.find((x) => x.code === channel);
      if (!ch || ch.platform !== 'marketplacer') throw new Error(`channel ${channel} is not a marketplacer channel`);
      const mp = marketplacerSettings(ch);
      // The key's budget per 10 s (time-scaled in the sandbox), split between stock and orders.
      const budget = mp.requestsPer10Seconds;
      c = new MarketplacerClient({
        baseUrl: ch.connection.baseUrl,
        apiKey: secretFromEnv(ch.connection.apiKeyEnv, `channels[${channel}].connection.apiKeyEnv`),
        basicAuth: mp.basicAuthEnv
          ? secretFromEnv(mp.basicAuthEnv, `channels[${channel}].marketplacer.basicAuthEnv`)
          : undefined,
        timeoutMs: ch.connection.timeoutMs,
        log: log.child({ system: 'marketplacer', channel }),
        lanes: { stock: budget * mp.stockShare, orders: budget * (1 - mp.stockShare) },
        windowMs: 10_000 / timeScale,
        retryAfterDefaultMs: (mp.retryAfterDefaultSeconds * 1000) / timeScale,
        maxWaitMs: Math.max(5_000, 60_000 / timeScale),
      });
      marketplacerClients.set(channel, c);
    }
    return c;
  }
  const variantDirectories = new Map<string, VariantDirectory>();
  function marketplacerVariants(channel: string): VariantDirectory {
    let d = variantDirectories.get(channel);
    if (!d) {
      const ch = config.channels.find((x) => x.code === channel);
      if (!ch) throw new Error(`channel ${channel} is not configured`);
      const refreshMs = (ch.inventory.listingRefreshMinutes * 60_000) / timeScale;
      d = createVariantDirectory(() => marketplacer(channel).allVariants(), {
        maxAgeMs: refreshMs,
        missRefreshMs: Math.min(refreshMs, 600_000 / timeScale),
        onError: (err) => log.warn({ err: (err as Error).message, channel }, 'marketplacer variants not read'),
      });
      variantDirectories.set(channel, d);
    }
    return d;
  }
  const shop = config.systems.shopify;
  const shopBudget = shop
    ? createSharedShopifyBudget(config, timeScale, log.child({ component: 'rate-budget', system: 'shopify' }))
    : undefined;
  const shopify = shop
    ? new ShopifyClient({
        budget: shopBudget!.budget,
        baseUrl: shop.baseUrl,
        apiVersion: shop.apiVersion,
        accessToken: secretFromEnv(shop.accessTokenEnv, 'systems.shopify.accessTokenEnv'),
        timeoutMs: shop.timeoutMs,
        log: log.child({ system: 'shopify' }),
        stockLocations: shop.stockLocations,
      })
    : undefined;
  const reveniCfg = config.systems.reveni;
  const reveniClients = new Map<string, ReveniClient>();
  const reveni = reveniCfg
    ? (channel: string): ReveniClient => {
        let c = reveniClients.get(channel);
        if (!c) {
          const store = reveniCfg.stores[channel];
          if (!store) throw new Error(`systems.reveni.stores has no store for channel ${channel}`);
          c = new ReveniClient({
            baseUrl: reveniCfg.baseUrl,
            apiKey: secretFromEnv(reveniCfg.apiKeyEnv, 'systems.reveni.apiKeyEnv'),
            storeId: store,
            timeoutMs: reveniCfg.timeoutMs,
            log: log.child({ system: 'reveni', channel }),
          });
          reveniClients.set(channel, c);
        }
        return c;
      }
    : undefined;
  let sharedBudgets = false;
  const leases: LeasedBudget[] = [];
  function shareBudgets(client: Client) {
    if (sharedBudgets) return;
    sharedBudgets = true;
    const b = peoplevoxBudget(config, timeScale);
    const budgetLog = log.child({ component: 'rate-budget', system: 'peoplevox' });
    let lastWarn = 0;
    const common = {
      client,
      workflowId: rateBudgetWorkflowId('peoplevox', pvx!.clientId, budgetTaskQueue(config), config.temporal.idScope),
      taskQueue: budgetTaskQueue(config),
      terms: b.terms,
      onError: (err: unknown) => {
        if (Date.now() - lastWarn < 10_000) return;
        lastWarn = Date.now();
        budgetLog.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'Peoplevox budget lease not renewed; keeping to the lease held and asking again',
        );
      },
    };
    leases.push(
      new LeasedBudget({ ...common, laneClass: 'priority' }),
      new LeasedBudget({ ...common, laneClass: 'share' }),
    );
    priorityPacer.use(leases[0]!);
    sharePacer.use(leases[1]!);
    shopBudget?.lease(client, budgetTaskQueue(config));
  }
  return {
    config,
    log,
    peoplevox,
    peoplevoxReads: peoplevox.withPacer(sharePacer),
    shareBudgets,
    close: async () => {
      await Promise.all([...leases.map((l) => l.close()), shopBudget?.close()]);
    },
    shopify,
    reveni,
    alerts:
      opts.alerts ?? createConfiguredAlertSink(config.alerts, log.child({ component: 'alerts' }), { forRouter: true }),
    shopifyOrders: opts.shopifyOrders,
    marketplacer,
    marketplacerVariants,
    listing(channel: string) {
      let l = listings.get(channel);
      if (!l) {
        const ch = config.channels.find((x) => x.code === channel);
        if (!ch) throw new Error(`channel ${channel} is not configured`);
        // Marketplacer: the channel lists the SKUs its variants carry.
        if (ch.platform === 'marketplacer') return marketplacerVariants(channel);
        const refreshMs = (ch.inventory.listingRefreshMinutes * 60_000) / timeScale;
        l = createChannelListing(
          async () => {
            const skus: string[] = [];
            for await (const o of mirakl(channel).listAllOffers()) if (o.shop_sku) skus.push(o.shop_sku);
            return skus;
          },
          {
            maxAgeMs: refreshMs,
            missRefreshMs: Math.min(refreshMs, 600_000 / timeScale),
            onError: (err) =>
              log.warn({ err: (err as Error).message, channel }, 'offer list (OF21) not read; pushing as before'),
          },
        );
        listings.set(channel, l);
      }
      return l;
    },
    mirakl,
  };
}

/**
 * What a worker process polls, one role per task queue (config temporal.taskQueues). A deployment runs each
 * role in its own processes and scales them separately (docs/deployment.md); `npm start` and the tests run
 * every role in one process.
 */
export const WORKER_ROLES = ['orders', 'acknowledge', 'peoplevox', 'shopify', 'marketplacer', 'inventory'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

const hasMarketplacer = (config: Config) => config.channels.some((c) => c.platform === 'marketplacer');

/**
 * Every role this config has work for: `shopify` only when systems.shopify is configured, `marketplacer` only
 * when a channel is on Marketplacer.
 */
export function configuredRoles(config: Config): WorkerRole[] {
  return WORKER_ROLES.filter(
    (r) =>
      (r !== 'shopify' || config.systems.shopify !== undefined) && (r !== 'marketplacer' || hasMarketplacer(config)),
  );
}

/** Parses roles given on a command line or in LOOPLINE_WORKER_ROLES ("orders,acknowledge" or separate words). */
export function parseWorkerRoles(words: readonly string[], config: Config): WorkerRole[] {
  const names = words
    .flatMap((w) => w.split(','))
    .map((w) => w.trim())
    .filter(Boolean);
  if (names.length === 0 || names.includes('all')) return configuredRoles(config);
  const unknown = names.filter((n) => !(WORKER_ROLES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown worker role(s) ${unknown.map((u) => `"${u}"`).join(', ')}: use ${WORKER_ROLES.join(', ')} or all`,
    );
  }
  if (names.includes('shopify') && !config.systems.shopify) {
    throw new Error('worker role "shopify" needs systems.shopify in the config (a channel with fulfilment: shopify)');
  }
  if (names.includes('marketplacer') && !hasMarketplacer(config)) {
    throw new Error('worker role "marketplacer" needs a channel with platform: marketplacer in the config');
  }
  return [...new Set(names)] as WorkerRole[];
}

export interface WorkerSetOptions {
  connection: NativeConnection;
  client: Client;
  runtime: Runtime;
  /** Which task queues this process polls (default: every configured role). */
  roles?: readonly WorkerRole[];
  /** Pre-built workflow bundle (tests share one); otherwise bundled from workflows/index.ts. */
  workflowBundle?: { code: string };
  despatchBackstopMs?: number;
  timeScale?: number;
}

export { buildWorkflowBundle };

/** The workflow bundle of this code from the cache every workflow worker shares, built (and cached) if absent. */
export async function sharedWorkflowBundle(log: Logger): Promise<{ code: string }> {
  const started = Date.now();
  const b = await cachedWorkflowBundle({
    workflowsPath: WORKFLOWS_PATH,
    salt: WORKFLOW_BUNDLE_SALT,
    // In a child process: webpack's memory never stays in a long-lived worker.
    build: buildWorkflowBundleInChild,
  });
  log.info({ source: b.source, key: b.key, ms: Date.now() - started }, 'workflow bundle ready');
  return { code: b.code };
}

/**
 * The task queue of the shared rate budgets (workflows/rate-budget.ts) and the warehouse gateway
 * (workflows/warehouse-gateway.ts): their own, so a lease or a batch is never queued behind order work (a
 * backlog on the orders queue would otherwise slow every Peoplevox call).
 */
export function budgetTaskQueue(config: Config): string {
  return `${config.temporal.taskQueues.orders}-budgets`;
}

/**
 * The worker that runs the rate budgets. Every process that runs workflows runs one (createWorkers adds it to the
 * orders and inventory roles), so a budget is served wherever its callers are.
 */
export function createBudgetWorker(opts: {
  connection: NativeConnection;
  config: Config;
  workflowBundle: { code: string };
  /** The warehouse gateway's own activity (it runs on this queue too): its answers to the orders. */
  activities?: Pick<WarehouseGatewayActivities, 'deliverWarehouseResults'>;
}): Promise<Worker> {
  return Worker.create(
    withIsolateTimeout({
      connection: opts.connection,
      namespace: opts.config.temporal.namespace,
      dataConverter: createDataConverter(opts.config),
      taskQueue: budgetTaskQueue(opts.config),
      workflowBundle: opts.workflowBundle,
      ...(opts.activities ? { activities: opts.activities } : {}),
      // A budget or two and a warehouse gateway per deployment, each task answered in a few milliseconds.
      maxCachedWorkflows: 20,
      maxConcurrentWorkflowTaskExecutions: 4,
    }),
  );
}

/**
 * One worker per task queue, for the roles asked (the one place that builds Loopline's workers):
 *  - orders: every workflow, plus settings/validation/intake activities;
 *  - acknowledge: marketplace writes that the SLA hangs on (OR21, ST01, OR23/OR24, OR29), never queued
 *    behind warehouse work;
 *  - peoplevox: warehouse calls, rate-limited for the whole cluster by the task queue itself
 *    (Peoplevox allows about 15 requests per 15 s; each activity makes up to three calls).
 */
export async function createWorkers(opts: WorkerSetOptions): Promise<Worker[]> {
  const { runtime, connection } = opts;
  const { config } = runtime;
  // Every Peoplevox request from here on keeps to lanes leased from the budget the server keeps for all replicas.
  runtime.shareBudgets(opts.client);
  // A missing code triggers a re-read at most once a (scaled) minute, so a retry after adding the item works.
  const itemCodes = createItemCodeDirectory(() => runtime.peoplevoxReads.listItemCodes(), {
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
  // Activities raise alerts through the deployment's alert router: one alert per incident across processes.
  const alerts = createRoutedAlertSink(opts.client, config);
  const marketplacerPort = hasMarketplacer(config)
    ? createMarketplacerPort({
        config,
        marketplacer: runtime.marketplacer,
        log: runtime.log.child({ component: 'marketplacer' }),
      })
    : undefined;
  const orderActs = createOrderActivities({
    config,
    mirakl: runtime.mirakl,
    marketplacer: marketplacerPort,
    peoplevox: runtime.peoplevox,
    itemCodes,
    alerts,
    client: opts.client,
    timeScale: opts.timeScale,
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
    marketplacer: runtime.marketplacer,
    itemCodes,
    listing: (channel) => runtime.listing(channel),
    alerts,
    log: runtime.log.child({ component: 'intake' }),
    timeScale: opts.timeScale,
  });
  const { createSalesOrderBatch, deliverWarehouseResults } = createWarehouseGatewayActivities({
    config,
    client: opts.client,
    peoplevox: runtime.peoplevox,
    itemCodes,
    log: runtime.log.child({ component: 'warehouse-gateway' }),
  });
  const { sweepDespatches, forwardDespatch, forwardDespatchesSince } = createDespatchSweepActivities({
    config,
    client: opts.client,
    peoplevox: runtime.peoplevoxReads,
    log: runtime.log.child({ component: 'despatch-sweep' }),
  });
  const { auditChannelCatalogue, raiseCatalogueFindings, recentFullExports } = createCatalogueAuditActivities({
    config,
    client: opts.client,
    mirakl: runtime.mirakl,
    peoplevox: runtime.peoplevoxReads,
    log: runtime.log.child({ component: 'catalogue-audit' }),
    timeScale: opts.timeScale,
  });
  const reconciliationActs = createReconciliationActivities({
    config,
    client: opts.client,
    mirakl: runtime.mirakl,
    // A test's source first; else, for a channel fulfilled by Shopify, the Shopify connector when systems.shopify
    // is configured. Other routes (Peoplevox) have no Shopify side: their lines are checked against the contract
    // and, with returns, their refunds against the returns' (docs/reconciliation.md).
    shopifyOrders: (channel) =>
      runtime.shopifyOrders?.(channel) ??
      (config.channels.find((c) => c.code === channel)?.fulfilment !== 'shopify'
        ? undefined
        : runtime.shopify
          ? shopifyConnectorOrderSource({
              shopify: runtime.shopify,
              mirakl: runtime.mirakl(channel),
              skuMap: config.channels.find((c) => c.code === channel)?.skuMap,
            })
          : unavailableShopifyOrderSource(channel)),
    log: runtime.log.child({ component: 'payout-reconciliation' }),
    timeScale: opts.timeScale,
  });
  // Returns (docs/returns.md): the marketplace refund (one port per platform), the return activities, intake.
  // Picked by the channel's platform (channels[].platform), never by channel.
  const refundPorts = {
    mirakl: miraklRefundPort(runtime.mirakl),
    marketplacer: marketplacerRefundPort({
      marketplacer: runtime.marketplacer,
      log: runtime.log.child({ component: 'refunds', system: 'marketplacer' }),
    }),
  };
  const { refundReturnLines } = createMarketplaceRefundActivities({
    config,
    ports: refundPorts,
    log: runtime.log.child({ component: 'refunds' }),
  });
  const { marketplaceReturnAction, ...returnActs } = createReturnActivities({
    config,
    client: opts.client,
    mirakl: runtime.mirakl,
    reveni: runtime.reveni,
    ports: refundPorts,
    log: runtime.log.child({ component: 'returns' }),
    timeScale: opts.timeScale,
  });
  const { sweepReturnReceipts, ...returnIntakeActs } = createReturnIntakeActivities({
    config,
    client: opts.client,
    mirakl: runtime.mirakl,
    // Return summary reads: the bulk share of the Peoplevox budget.
    peoplevox: runtime.peoplevoxReads,
    log: runtime.log.child({ component: 'returns-intake' }),
    timeScale: opts.timeScale,
  });
  const roles = new Set(opts.roles ?? configuredRoles(config));
  if (roles.has('shopify') && !shopifyActs)
    throw new Error('worker role "shopify" needs systems.shopify in the config');
  // Only the roles that run workflows need the bundle (seconds of CPU and tens of MB per process).
  const needsBundle = roles.has('orders') || roles.has('inventory');
  // A process whose code was bundled before (by a replica, or an earlier start) reads that bundle instead.
  const workflowBundle = needsBundle ? (opts.workflowBundle ?? (await sharedWorkflowBundle(runtime.log))) : undefined;
  // Every worker decrypts what it reads and encrypts what it writes (docs/security.md).
  const dataConverter = createDataConverter(config);
  const q = config.temporal.taskQueues;
  const budget = peoplevoxBudget(config, opts.timeScale ?? 1);
  const {
    acknowledgeOrder,
    confirmShipment,
    cancelMarketplaceOrder,
    createWarehouseOrder,
    cancelWarehouseOrder,
    listWarehouseDespatches,
    ...general
  } = orderActs;
  const build: Record<WorkerRole, () => Promise<Worker | Worker[]>> = {
    orders: () =>
      Worker.create(
        withIsolateTimeout({
          connection,
          namespace: config.temporal.namespace,
          dataConverter,
          taskQueue: q.orders,
          workflowBundle,
          // When bounded (temporal.maxCachedWorkflows), open orders beyond it are replayed when they wake.
          ...(config.temporal.maxCachedWorkflows !== undefined
            ? { maxCachedWorkflows: config.temporal.maxCachedWorkflows }
            : {}),
          activities: {
            ...general,
            ...intakeActs,
            forwardDespatch,
            deliverWarehouseResults,
            raiseCatalogueFindings,
            recentFullExports,
            ...reconciliationActs,
            ...returnActs,
            ...returnIntakeActs,
            ...createAlertActivities({ sinks: runtime.alerts, log: runtime.log.child({ component: 'alerts' }) }),
          },
        }),
      ),
    acknowledge: () =>
      Worker.create({
        connection,
        namespace: config.temporal.namespace,
        dataConverter,
        taskQueue: q.acknowledge,
        activities: {
          acknowledgeOrder,
          confirmShipment,
          cancelMarketplaceOrder,
          // Return writes to the marketplace (RT21/25/26/27/29) and the refunds (OR28): per event, like OR21.
          marketplaceReturnAction,
          refundReturnLines,
          ...(shopifyActs ? { refundFromShopify: shopifyActs.refundFromShopify } : {}),
        },
      }),
    // Peoplevox: two queues sharing the tenant's budget (systems.peoplevox.budget.slaShare), each rate-limited
    // by the Temporal server for every replica together, so adding replicas never exceeds it. At most three
    // Peoplevox calls per activity, which is what each queue's rate assumes.
    peoplevox: async () => {
      const sla = await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        dataConverter,
        taskQueue: q.peoplevox,
        // Order-critical: warehouse batches, an order's own create (gateway off) and cancellation. (Its own
        // despatch read too, for orders whose settings were read before the reads had their queue.)
        activities: { createSalesOrderBatch, createWarehouseOrder, cancelWarehouseOrder, listWarehouseDespatches },
        maxTaskQueueActivitiesPerSecond: budget.slaActivitiesPerSecond,
      });
      const bulk = await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        dataConverter,
        taskQueue: q.peoplevoxBulk,
        // Reads: despatches for everyone (gateway), one order's despatches, the scheduled sweep, the audit,
        // the return receipts.
        activities: {
          forwardDespatchesSince,
          listWarehouseDespatches,
          sweepDespatches,
          auditChannelCatalogue,
          // The warehouse's Return summary (receipts of returns), a bulk read like the despatch sweep.
          sweepReturnReceipts,
        },
        // Heartbeat details reach the server at least every 2 s (the audit's progress bar reads them).
        maxHeartbeatThrottleInterval: '2s',
        maxTaskQueueActivitiesPerSecond: budget.bulkActivitiesPerSecond,
      });
      return [sla, bulk];
    },
    // Marketplacer (docs/configuration.md, Marketplacer): every order-side call of its channels — invoices (the poll
    // backstop and the webhooks' read-back), shipments, cancellations — on one queue the Temporal server rate-limits
    // for every replica together, at the key's order share (the stock share is the inventory workflow's).
    marketplacer: () =>
      Worker.create({
        connection,
        namespace: config.temporal.namespace,
        dataConverter,
        taskQueue: q.marketplacer,
        activities: {
          acknowledgeOrder,
          confirmShipment,
          cancelMarketplaceOrder,
          // A return's refund request (dispatched: true): the order workflow and the return send it here.
          refundReturnLines,
          pollChannelOrders: intakeActs.pollChannelOrders,
          handOverOrdersById: intakeActs.handOverOrdersById,
        },
        maxTaskQueueActivitiesPerSecond: marketplacerActivitiesPerSecond(config, opts.timeScale ?? 1),
      }),
    // Shopify fulfilment calls (docs/shopify.md): the same activities, paced by Shopify's cost bucket.
    shopify: () =>
      Worker.create({
        connection,
        namespace: config.temporal.namespace,
        dataConverter,
        taskQueue: q.shopify,
        activities: { createWarehouseOrder, cancelWarehouseOrder, listWarehouseDespatches },
      }),
    // Stock: one inventory workflow per channel and its pushes (docs/inventory.md).
    inventory: () =>
      createInventoryWorker({
        connection,
        client: opts.client,
        runtime,
        workflowBundle: workflowBundle!,
        timeScale: opts.timeScale,
      }),
  };
  const workers = (await Promise.all(WORKER_ROLES.filter((r) => roles.has(r)).map((r) => build[r]()))).flat();
  if (workflowBundle)
    workers.push(
      await createBudgetWorker({ connection, config, workflowBundle, activities: { deliverWarehouseResults } }),
    );
  return workers;
}

/** Calls a Marketplacer order activity makes at most (read the invoice, the carriers when not cached, the write). */
export const MARKETPLACER_CALLS_PER_ACTIVITY = 3;

/**
 * The marketplacer queue's rate (activities per second): the smallest order share of any Marketplacer channel's
 * key budget, so no channel's key can be exceeded whichever channel the activities are for.
 */
export function marketplacerActivitiesPerSecond(config: Config, timeScale = 1): number {
  const shares = config.channels
    .filter((c) => c.platform === 'marketplacer')
    .map((c) => {
      const mp = marketplacerSettings(c);
      return (mp.requestsPer10Seconds * (1 - mp.stockShare)) / 10;
    });
  const perSecond = shares.length ? Math.min(...shares) : 1;
  return (perSecond * timeScale) / MARKETPLACER_CALLS_PER_ACTIVITY;
}
