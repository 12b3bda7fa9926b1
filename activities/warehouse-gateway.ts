// The warehouse gateway's activities (workflows/warehouse-gateway.ts): a batch of sales orders in two SaveData
// calls, the answers delivered to each order, and despatches found once per window for everyone.
//
// createSalesOrderBatch — reads each order from its own workflow (a query: the gateway's history holds references,
// never order data), builds the Peoplevox rows, and saves the batch: the orders' rows in one call, their items in
// a second, each order's record checked in the answer (refused rows park that order only). After a lost response
// (a retry of the activity) the batch looks first — one GetData for every number — and counts a found order only
// when its reference is this marketplace order. At most three Peoplevox calls an attempt, which is what the
// task queue's rate limit assumes (workers/runtime.ts).
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { ChannelConfig, Config } from '../src/config/schema';
import type { PeoplevoxClient, RowOutcome } from '../src/connectors/peoplevox/client';
import {
  SALES_ORDER_ITEMS_TEMPLATE,
  SALES_ORDERS_TEMPLATE,
  salesOrderRowOptions,
  toSalesOrderItemRows,
  toSalesOrderRow,
  type PvxRow,
} from '../src/connectors/peoplevox/map';
import {
  warehouseRequestQuery,
  warehouseResultSignal,
  type WarehouseRef,
  type WarehouseResult,
} from '../workflows/order/messages';
import type { ItemCodeDirectory } from './item-codes';
import type { DespatchSweepActivities } from './despatch-sweep';
import {
  despatchHintSignal,
  warehouseCreateRequestedSignal,
  warehouseGatewayWorkflow,
  warehouseRequestStatusQuery,
  type WarehouseAskRef,
  type WarehouseGatewayInput,
} from '../workflows/warehouse-gateway';
import { toActivityFailure } from './errors';
import { inParallel } from '../src/util/in-parallel';
import type { MarketplaceOrder } from '../src/domain/order';
import { allocationChangesFor, signalReservations } from '../src/inventory/reservations';

/** Orders of a batch read at once (queries to their workflows). */
const READ_WIDTH = 25;
/** Tries of each order's query before the order hears 'retry' (and asks again). */
const QUERY_ATTEMPTS = 3;
/** Answers signalled at once. */
const DELIVER_WIDTH = 16;

export type { WarehouseRef, WarehouseResult } from '../workflows/order/messages';

export interface WarehouseGatewayDeps {
  config: Config;
  client: Client;
  peoplevox: PeoplevoxClient;
  itemCodes: ItemCodeDirectory;
  log: Logger;
}

interface Prepared {
  ref: WarehouseRef;
  /** The order's ids and lines (its stock reservations' keys). */
  order: Pick<MarketplaceOrder, 'channel' | 'orderId' | 'lines'>;
  reference: string;
  orderRow: PvxRow;
  itemRows: PvxRow[];
}

/** What a batch has done so far, heartbeated: a retry after the orders were saved looks before saving again. */
interface BatchProgress {
  saving: boolean;
}

export function createWarehouseGatewayActivities(deps: WarehouseGatewayDeps) {
  const { config, client, log } = deps;

  function channelConfig(code: string): ChannelConfig | undefined {
    return config.channels.find((c) => c.code === code);
  }

  /** The order's rows, from its request or else read from its workflow; or why it could not be read. */
  async function prepare(ask: WarehouseAskRef): Promise<Prepared | WarehouseResult> {
    const { request: carried, ...ref } = ask;
    const ch = channelConfig(ref.channel);
    if (!ch) return { ref, outcome: 'rejected', message: `channel ${ref.channel} is not configured` };
    let request = carried;
    if (!request)
      for (let attempt = 1; ; attempt++) {
        try {
          request = await client.connection.withDeadline(Date.now() + 10_000, () =>
            client.workflow.getHandle(ref.workflowId).query(warehouseRequestQuery),
          );
          break;
        } catch (err) {
          // A busy order (a task of its own in flight) refuses a query for a moment: try again before giving up.
          if (attempt >= QUERY_ATTEMPTS || err instanceof WorkflowNotFoundError)
            return { ref, outcome: 'retry', message: `order workflow did not answer: ${(err as Error).message}` };
          await new Promise((r) => setTimeout(r, 250 * attempt));
        }
      }
    if (!request || request.salesOrderNumber !== ref.salesOrderNumber)
      return { ref, outcome: 'retry', message: 'the order no longer asks for this warehouse order' };
    const codes = new Map<string, string>();
    for (const l of request.order.lines) {
      codes.set(
        l.offerSku,
        (await deps.itemCodes.resolve(ch.skuMap[l.offerSku] ?? l.offerSku)) ?? ch.skuMap[l.offerSku] ?? l.offerSku,
      );
    }
    const { channel, orderId, lines } = request.order;
    return {
      ref,
      order: { channel, orderId, lines },
      reference: (request.order.commercialId ?? request.order.orderId).trim(),
      orderRow: toSalesOrderRow(request.order, {
        salesOrderNumber: ref.salesOrderNumber,
        ...salesOrderRowOptions(config, ch),
      }),
      itemRows: toSalesOrderItemRows(request.order, {
        salesOrderNumber: ref.salesOrderNumber,
        itemCodeFor: (sku: string) => codes.get(sku) ?? sku,
      }),
    };
  }

  return {
    async createSalesOrderBatch(input: { refs: WarehouseAskRef[] }): Promise<WarehouseResult[]> {
      const ctx = Context.current();
      const before = (ctx.info.heartbeatDetails as BatchProgress | undefined)?.saving === true || ctx.info.attempt > 1;
      const results = new Map<string, WarehouseResult>();
      // Each order's rows from its own workflow, a batch's worth at once (a query each; slow when workers are busy).
      const read: Array<Prepared | WarehouseResult> = new Array(input.refs.length);
      await inParallel(input.refs, READ_WIDTH, async (ref, i) => {
        read[i] = await prepare(ref);
        ctx.heartbeat(ctx.info.heartbeatDetails);
      });
      const prepared: Prepared[] = [];
      input.refs.forEach((ref, i) => {
        const p = read[i]!;
        if ('outcome' in p) results.set(ref.salesOrderNumber, p);
        else prepared.push(p);
      });
      try {
        // After a lost response: look before saving again, and only ours counts as already there.
        let toSave = prepared;
        const existing = new Set<string>();
        if (before && prepared.length > 0) {
          const found = await deps.peoplevox.findSalesOrders(prepared.map((p) => p.ref.salesOrderNumber));
          toSave = [];
          for (const p of prepared) {
            const f = found.get(p.ref.salesOrderNumber);
            if (!f) toSave.push(p);
            else if (f.reference === p.reference) existing.add(p.ref.salesOrderNumber);
            else
              results.set(p.ref.salesOrderNumber, { ref: p.ref, outcome: 'taken', reference: f.reference || '(none)' });
          }
        }
        ctx.heartbeat({ saving: true } satisfies BatchProgress);
        const orderOutcomes = await deps.peoplevox.saveRows(
          SALES_ORDERS_TEMPLATE,
          toSave.map((p) => p.orderRow),
        );
        const unknown: Prepared[] = [];
        toSave.forEach((p, i) => {
          const o = orderOutcomes[i] ?? { outcome: 'unknown' };
          if (o.outcome === 'refused')
            results.set(p.ref.salesOrderNumber, { ref: p.ref, outcome: 'rejected', message: o.message });
          else if (o.outcome === 'unknown') unknown.push(p);
        });
        // Items for every order that is (or may be) there: saving an item row again updates it (by line).
        const withItems = prepared.filter((p) => !results.has(p.ref.salesOrderNumber));
        const itemRows = withItems.flatMap((p) => p.itemRows.map((row) => ({ row, p })));
        const itemOutcomes: RowOutcome[] = await deps.peoplevox.saveRows(
          SALES_ORDER_ITEMS_TEMPLATE,
          itemRows.map((x) => x.row),
        );
        const refusedItems = new Map<string, string>();
        itemRows.forEach((x, i) => {
          const o = itemOutcomes[i];
          if (o?.outcome === 'refused' && !refusedItems.has(x.p.ref.salesOrderNumber))
            refusedItems.set(x.p.ref.salesOrderNumber, o.message);
        });
        // Rows the answer did not account for: believed only once the order is found (and is ours).
        const unsure = unknown.filter((p) => !refusedItems.has(p.ref.salesOrderNumber));
        const confirmed =
          unsure.length > 0
            ? await deps.peoplevox.findSalesOrders(unsure.map((p) => p.ref.salesOrderNumber))
            : new Map();
        for (const p of withItems) {
          const son = p.ref.salesOrderNumber;
          const refused = refusedItems.get(son);
          if (refused) results.set(son, { ref: p.ref, outcome: 'rejected', message: refused });
          else if (unknown.includes(p) && confirmed.get(son)?.reference !== p.reference)
            results.set(son, { ref: p.ref, outcome: 'retry', message: 'the warehouse did not confirm the order' });
          else results.set(son, { ref: p.ref, outcome: existing.has(son) ? 'exists' : 'created' });
        }
      } catch (err) {
        throw toActivityFailure(err, 'peoplevox', 'SaveData', 'WMS_REJECTED');
      }
      // The orders now in the warehouse are allocated there: their stock reservations go with the next figure.
      const saved = prepared.filter((p) => {
        const o = results.get(p.ref.salesOrderNumber)?.outcome;
        return o === 'created' || o === 'exists';
      });
      await signalReservations(
        client,
        config,
        allocationChangesFor(
          config,
          saved.map((p) => p.order),
          Date.now(),
        ),
        log,
      );
      // Answers name the request only (never its data: they are signalled to the orders).
      const out = input.refs.map((r) => {
        const res = results.get(r.salesOrderNumber)!;
        const { request: _data, ...ref } = res.ref as WarehouseAskRef;
        return { ...res, ref };
      });
      log.info(
        {
          batch: input.refs.length,
          created: out.filter((r) => r.outcome === 'created').length,
          exists: out.filter((r) => r.outcome === 'exists').length,
          rejected: out.filter((r) => r.outcome === 'rejected').length,
        },
        'warehouse batch saved',
      );
      return out;
    },

    /** Tells each order of a batch what became of its warehouse order. */
    async deliverWarehouseResults(input: { results: WarehouseResult[] }): Promise<void> {
      let failed: unknown;
      await inParallel(input.results, DELIVER_WIDTH, async (r) => {
        try {
          await client.workflow.getHandle(r.ref.workflowId).signal(warehouseResultSignal, r);
        } catch (err) {
          // The order finished meanwhile (cancelled, terminated): nobody to tell; a restart asks again.
          if (!(err instanceof WorkflowNotFoundError)) failed ??= err;
        }
      });
      // A retry tells them all again (an order takes the answer for its own number once; a repeat is harmless).
      if (failed) throw failed;
    },
  };
}

export type WarehouseGatewayActivities = ReturnType<typeof createWarehouseGatewayActivities> &
  Pick<DespatchSweepActivities, 'forwardDespatchesSince'>;

/** Where the deployment's warehouse gateway runs and what it starts with (time scaled in the sandbox). */
export function warehouseGatewayStart(
  config: Config,
  timeScale = 1,
): { workflowId: string; taskQueue: string; input: WarehouseGatewayInput } | undefined {
  const pvx = config.systems.peoplevox;
  if (!pvx || !pvx.gateway.enabled) return undefined;
  const g = pvx.gateway;
  const scope = config.temporal.idScope;
  return {
    workflowId: `warehouse:peoplevox:${pvx.clientId}${scope ? `:${scope}` : ''}`,
    // The coordination queue the rate budgets run on (workers/runtime.ts budgetTaskQueue), served by a small worker
    // of its own in every process that runs workflows: the gateway's tasks never wait behind a backlog of order
    // work (on the orders queue, under a burst, they timed out and the gateway fell behind).
    taskQueue: `${config.temporal.taskQueues.orders}-budgets`,
    input: {
      tenant: pvx.clientId,
      queues: { sla: config.temporal.taskQueues.peoplevox, bulk: config.temporal.taskQueues.peoplevoxBulk },
      batch: {
        maxOrders: g.maxOrders,
        windowMs: (g.windowSeconds * 1000) / timeScale,
        maxInFlight: g.maxBatchesInFlight,
      },
      despatch: {
        everyMs: (g.despatchEverySeconds * 1000) / timeScale,
        minGapMs: (g.despatchMinGapSeconds * 1000) / timeScale,
        // Not scaled: report dates are to the minute in real time, whatever the sandbox's clock speed.
        overlapMs: g.despatchOverlapSeconds * 1000,
      },
    },
  };
}

/** Starts the gateway if it is not running and signals it (one atomic call). */
export async function signalWarehouseGateway(
  client: Client,
  config: Config,
  timeScale: number,
  signal: { kind: 'create'; ref: WarehouseAskRef } | { kind: 'hint' },
): Promise<boolean> {
  const start = warehouseGatewayStart(config, timeScale);
  if (!start) return false;
  const common = {
    workflowId: start.workflowId,
    taskQueue: start.taskQueue,
    args: [start.input] as [WarehouseGatewayInput],
  };
  if (signal.kind === 'create')
    await client.workflow.signalWithStart(warehouseGatewayWorkflow, {
      ...common,
      signal: warehouseCreateRequestedSignal,
      signalArgs: [signal.ref],
    });
  else await client.workflow.signalWithStart(warehouseGatewayWorkflow, { ...common, signal: despatchHintSignal });
  return true;
}

/** What became of an order's ask: sent to the gateway, or already there (queued or being saved) with its wait. */
export type WarehouseAsk = { state: 'asked' } | { state: 'queued'; etaMs: number; ahead: number };

/**
 * An order asks the gateway for its warehouse order. When it asks again (`check`), it first looks whether the
 * gateway still holds its request: if so it is not sent again (the gateway records nothing) and the order hears
 * how long the queue ahead of it should take. A gateway that does not answer the look is simply asked.
 */
export async function askWarehouseGateway(
  client: Client,
  config: Config,
  timeScale: number,
  ref: WarehouseAskRef,
  check: boolean,
): Promise<WarehouseAsk> {
  const start = warehouseGatewayStart(config, timeScale);
  if (check && start) {
    try {
      const st = await client.connection.withDeadline(Date.now() + 10_000, () =>
        client.workflow.getHandle(start.workflowId).query(warehouseRequestStatusQuery, ref.salesOrderNumber),
      );
      if (st.state !== 'unknown') return { state: 'queued', etaMs: st.etaMs, ahead: st.ahead };
    } catch {
      // Not running, or too busy to answer: ask (a repeat it already holds is coalesced).
    }
  }
  await signalWarehouseGateway(client, config, timeScale, { kind: 'create', ref });
  return { state: 'asked' };
}
