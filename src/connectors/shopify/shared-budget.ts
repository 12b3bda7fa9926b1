// The shop's budget shared by every replica (src/config/budget.ts shopifyBudget, workflows/rate-budget.ts): a
// Shopify client is made with the two class pacers at once (a process's connectors exist before its Temporal
// client does) and keeps to its local bucket model only until `lease` is called with a client; from then on every
// call keeps to lanes of cost points leased from the budget workflow the Temporal server keeps for the shop.
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema';
import { shopifyBudget } from '../../config/budget';
import { rateBudgetWorkflowId } from '../../domain/keys';
import { DeferredPacer, LeasedBudget, type CallPacer } from '../../temporal/rate-budget-client';
import type { ShopifyBudget } from './client';

const UNPACED: CallPacer = { take: async () => undefined };

/** The shop the budget is for: its address without the scheme (one budget per shop, whatever the replicas). */
export function shopifyTenant(baseUrl: string): string {
  const u = new URL(baseUrl);
  return `${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

export interface SharedShopifyBudget {
  budget: ShopifyBudget;
  /** From now on every call keeps to lanes leased from the shop's budget (on `taskQueue`); again: harmless. */
  lease(client: Client, taskQueue: string): void;
  /** Gives the lanes back and stops renewing. */
  close(): Promise<void>;
}

export function createSharedShopifyBudget(config: Config, timeScale: number, log: Logger): SharedShopifyBudget {
  const shop = config.systems.shopify;
  if (!shop) throw new Error('systems.shopify is not configured');
  const b = shopifyBudget(config, timeScale);
  const priority = new DeferredPacer(UNPACED);
  const share = new DeferredPacer(UNPACED);
  const leases: LeasedBudget[] = [];
  return {
    budget: { priority, share, lanesFor: b.lanesFor, classPoints: b.classPoints },
    lease(client, taskQueue) {
      if (leases.length > 0) return;
      let lastWarn = 0;
      const common = {
        client,
        workflowId: rateBudgetWorkflowId('shopify', shopifyTenant(shop.baseUrl), taskQueue, config.temporal.idScope),
        taskQueue,
        terms: b.terms,
        onError: (err: unknown) => {
          if (Date.now() - lastWarn < 10_000) return;
          lastWarn = Date.now();
          log.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'Shopify budget lease not renewed; keeping to the lease held and asking again',
          );
        },
      };
      leases.push(
        new LeasedBudget({ ...common, laneClass: 'priority' }),
        new LeasedBudget({ ...common, laneClass: 'share' }),
      );
      priority.use(leases[0]!);
      share.use(leases[1]!);
    },
    close: async () => {
      await Promise.all(leases.map((l) => l.close()));
    },
  };
}
