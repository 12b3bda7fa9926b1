// The inventory worker: the per-channel inventory workflows and their activities on their own task queue
// (config temporal.taskQueues.inventory), so stock pushes never wait behind order work and vice versa.
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { withIsolateTimeout } from '../temporal/worker-limits';
import type { Runtime } from '../../workers/runtime';
import { createInventoryActivities, type InventoryActivities } from '../../activities/inventory';
import { createDataConverter } from '../temporal/data-converter';
import { createRoutedAlertSink } from '../../activities/alerts';
import { createMarketplacerStock } from '../../activities/marketplacer-stock';
import { createItemCodeDirectory } from '../../activities/item-codes';

export async function createInventoryWorker(opts: {
  connection: NativeConnection;
  client: Client;
  runtime: Runtime;
  workflowBundle: { code: string };
  timeScale?: number;
  /** Tests: the activities as the worker runs them, wrapped (e.g. a completion that reaches the workflow late). */
  wrapActivities?: (acts: InventoryActivities) => InventoryActivities;
}): Promise<Worker> {
  const { runtime } = opts;
  runtime.shareBudgets(opts.client);
  const config = runtime.config;
  const marketplacerStock = config.channels.some((c) => c.platform === 'marketplacer')
    ? createMarketplacerStock({
        client: runtime.marketplacer,
        variants: runtime.marketplacerVariants,
        // The master's item codes, to find variants no item feeds (read with the variants, about hourly).
        itemCodes: createItemCodeDirectory(() => runtime.peoplevoxReads.listItemCodes(), {
          maxAgeMs: (60 * 60_000) / (opts.timeScale ?? 1),
          missRefreshMs: 600_000 / (opts.timeScale ?? 1),
        }),
        log: runtime.log.child({ component: 'marketplacer-stock' }),
      })
    : undefined;
  return Worker.create(
    withIsolateTimeout({
      connection: opts.connection,
      namespace: runtime.config.temporal.namespace,
      dataConverter: createDataConverter(runtime.config),
      taskQueue: runtime.config.temporal.taskQueues.inventory,
      workflowBundle: opts.workflowBundle,
      activities: (opts.wrapActivities ?? ((a: InventoryActivities) => a))(
        createInventoryActivities({
          config: runtime.config,
          client: opts.client,
          mirakl: runtime.mirakl,
          // Stock reads take the reads' share of the Peoplevox budget.
          peoplevox: runtime.peoplevoxReads,
          shopify: runtime.shopify,
          alerts: createRoutedAlertSink(opts.client, runtime.config),
          listing: (channel) => runtime.listing(channel),
          marketplacerStock,
          log: runtime.log.child({ component: 'inventory' }),
          timeScale: opts.timeScale,
        }),
      ),
    }),
  );
}
