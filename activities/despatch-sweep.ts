// The despatch sweep: the backstop behind the TrackingNumberReceived callbacks, run by a Temporal Schedule.
// It reads Peoplevox's Despatch summary for a look-back window and, per sales order:
//   - a running order workflow that has not seen a despatch gets it as a despatchNotified signal (with
//     the full despatch, so the workflow needs no second read);
//   - a despatch for an order Loopline finished (cancelled, closed) or never knew becomes an exception
//     workflow (DESPATCH_FOR_CLOSED_ORDER / DESPATCH_WITHOUT_ORDER) with an owner, so nothing shipped is
//     left unconfirmed without someone knowing.
// Everything is idempotent: signals are deduplicated by despatch number in the order workflow, and the
// exception workflow id is derived from the despatch number (a second sweep finds it already open, and a
// resolved one is never reopened).
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema';
import type { PeoplevoxClient } from '../src/connectors/peoplevox/client';
import type { Despatch } from '../src/domain/order';
import { despatchExceptionWorkflowId } from '../src/domain/keys';
import { initialSearchAttributes } from '../src/temporal/search-attributes';
import { workflowIdForSalesOrder } from '../src/temporal/order-lookup';
import { despatchNotifiedSignal, orderStateQuery } from '../workflows/order/messages';
import { despatchExceptionWorkflow, type DespatchExceptionInput } from '../workflows/despatch-exception';
import { toActivityFailure } from './errors';

export interface SweepResult {
  since: string;
  despatches: number;
  salesOrders: number;
  /** Despatches the owning workflow already had. */
  known: number;
  /** Despatches handed to a running workflow that had missed them. */
  forwarded: number;
  /** Despatches for an order whose workflow had finished (exception raised or already open). */
  closedOrders: number;
  /** Despatches no workflow owns (exception raised or already open). */
  orphans: number;
}

export type ForwardOutcome =
  | { outcome: 'forwarded' | 'known'; workflowId: string }
  | { outcome: 'closed'; workflowId: string; status: string; channel: string; orderId: string }
  | { outcome: 'no-workflow' };

export interface DespatchSweepDeps {
  config: Config;
  client: Client;
  peoplevox: PeoplevoxClient;
  log: Logger;
}

/** A despatch as its order's notice: with its items, so the order needs no read of its own. */
function notice(d: Despatch) {
  return { despatchNumber: d.despatchNumber, despatch: d, trackingNumber: d.trackingNumber, carrier: d.carrier };
}

export function createDespatchSweepActivities(deps: DespatchSweepDeps) {
  const { client, config, log } = deps;

  /**
   * Hands the despatches of one sales order to its workflow, if a running one exists. `fresh`: despatches this
   * caller has not forwarded before (the warehouse gateway's read, which skips those it did): each is signalled
   * straight away, and the order's run is asked about (describe, and a query for what it has) only when a signal
   * finds no running run. Otherwise (the scheduled sweep re-reading its lookback) the run is asked first, so the
   * despatches it has already are not signalled again. (Fresh despatches were asked about each time: in bench:orders
   * a describe and a query, a query task on the orders worker, for every despatch forwarded.)
   */
  async function forward(
    salesOrderNumber: string,
    despatches: Despatch[],
    opts: { fresh?: boolean } = {},
  ): Promise<Map<string, ForwardOutcome>> {
    const out = new Map<string, ForwardOutcome>();
    const workflowId = await workflowIdForSalesOrder(config, client, salesOrderNumber);
    if (!workflowId) {
      for (const d of despatches) out.set(d.despatchNumber, { outcome: 'no-workflow' });
      return out;
    }
    const handle = client.workflow.getHandle(workflowId);
    if (opts.fresh) {
      try {
        for (const d of despatches) {
          await handle.signal(despatchNotifiedSignal, notice(d));
          out.set(d.despatchNumber, { outcome: 'forwarded', workflowId });
        }
        return out;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // No running run (it closed, or never started): the careful way below says which, despatch by despatch.
        out.clear();
      }
    }
    let running: boolean;
    try {
      running = (await handle.describe()).status.name === 'RUNNING';
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      for (const d of despatches) out.set(d.despatchNumber, { outcome: 'no-workflow' });
      return out;
    }
    const state = await handle.query(orderStateQuery);
    const seen = new Set((state.despatches ?? []).map((d) => d.despatchNumber));
    for (const d of despatches) {
      if (seen.has(d.despatchNumber)) out.set(d.despatchNumber, { outcome: 'known', workflowId });
      else if (running) {
        await handle.signal(despatchNotifiedSignal, notice(d));
        out.set(d.despatchNumber, { outcome: 'forwarded', workflowId });
      } else {
        out.set(d.despatchNumber, {
          outcome: 'closed',
          workflowId,
          status: state.status,
          channel: state.channel,
          orderId: state.orderId,
        });
      }
    }
    return out;
  }

  async function openException(input: DespatchExceptionInput): Promise<void> {
    try {
      await client.workflow.start(despatchExceptionWorkflow, {
        workflowId: despatchExceptionWorkflowId(input.despatch.salesOrderNumber, input.despatch.despatchNumber),
        taskQueue: config.temporal.taskQueues.orders,
        args: [input],
        // Open once per despatch: a second sweep finds it open; a resolved one stays resolved.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: initialSearchAttributes({
          OrderStatus: 'EXCEPTION',
          ExceptionReason: input.reason,
          Owner: 'ops',
          WmsOrderNumber: input.despatch.salesOrderNumber,
          Channel: input.channel,
          MarketplaceOrderId: input.orderId,
        }),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  return {
    async sweepDespatches(input: { lookbackMinutes: number; now?: string }): Promise<SweepResult> {
      const now = input.now ? new Date(input.now).getTime() : Date.now();
      const since = new Date(now - input.lookbackMinutes * 60_000).toISOString();
      let despatches: Despatch[];
      try {
        despatches = await deps.peoplevox.listDespatches({ sinceIso: since });
      } catch (err) {
        throw toActivityFailure(err, 'peoplevox', 'GetReportData', 'UNEXPECTED_ERROR');
      }
      const bySalesOrder = new Map<string, Despatch[]>();
      for (const d of despatches) {
        const list = bySalesOrder.get(d.salesOrderNumber) ?? [];
        list.push(d);
        bySalesOrder.set(d.salesOrderNumber, list);
      }
      const result: SweepResult = {
        since,
        despatches: despatches.length,
        salesOrders: bySalesOrder.size,
        known: 0,
        forwarded: 0,
        closedOrders: 0,
        orphans: 0,
      };
      let done = 0;
      for (const [salesOrderNumber, list] of bySalesOrder) {
        Context.current().heartbeat(done++);
        const outcomes = await forward(salesOrderNumber, list);
        for (const d of list) {
          const o = outcomes.get(d.despatchNumber)!;
          if (o.outcome === 'known') result.known += 1;
          else if (o.outcome === 'forwarded') result.forwarded += 1;
          else if (o.outcome === 'closed') {
            result.closedOrders += 1;
            await openException({
              reason: 'DESPATCH_FOR_CLOSED_ORDER',
              despatch: d,
              channel: o.channel,
              orderId: o.orderId,
              orderStatus: o.status,
            });
          } else {
            result.orphans += 1;
            await openException({ reason: 'DESPATCH_WITHOUT_ORDER', despatch: d });
          }
        }
      }
      log.info(result, 'despatch sweep');
      return result;
    },

    /**
     * The warehouse gateway's despatch read (workflows/warehouse-gateway.ts): every despatch since `sinceIso`,
     * forwarded to its order with the items, except those it forwarded already (`skip`); despatches no running
     * order takes become exceptions, as in the sweep. `readUpTo` is the newest despatch date read (the next
     * read's watermark), or `sinceIso` when there was none.
     */
    async forwardDespatchesSince(input: { sinceIso: string; skip?: string[] }): Promise<{
      readUpTo: string;
      read: number;
      forwarded: number;
      forwardedNumbers: string[];
    }> {
      let despatches: Despatch[];
      try {
        despatches = await deps.peoplevox.listDespatches({ sinceIso: input.sinceIso });
      } catch (err) {
        throw toActivityFailure(err, 'peoplevox', 'GetReportData', 'UNEXPECTED_ERROR');
      }
      const skip = new Set(input.skip ?? []);
      const fresh = despatches.filter((d) => !skip.has(d.despatchNumber));
      const forwardedNumbers: string[] = [];
      const bySalesOrder = new Map<string, Despatch[]>();
      for (const d of fresh) bySalesOrder.set(d.salesOrderNumber, [...(bySalesOrder.get(d.salesOrderNumber) ?? []), d]);
      let done = 0;
      for (const [salesOrderNumber, list] of bySalesOrder) {
        Context.current().heartbeat(done++);
        const outcomes = await forward(salesOrderNumber, list, { fresh: true });
        for (const d of list) {
          const o = outcomes.get(d.despatchNumber)!;
          if (o.outcome === 'forwarded' || o.outcome === 'known') forwardedNumbers.push(d.despatchNumber);
          else if (o.outcome === 'closed') {
            forwardedNumbers.push(d.despatchNumber);
            await openException({
              reason: 'DESPATCH_FOR_CLOSED_ORDER',
              despatch: d,
              channel: o.channel,
              orderId: o.orderId,
              orderStatus: o.status,
            });
          }
          // No workflow yet (an order still being created): not marked, so the next read tries again; the
          // scheduled sweep raises DESPATCH_WITHOUT_ORDER for despatches that stay orphaned.
        }
      }
      const newest = despatches.reduce((m, d) => Math.max(m, d.despatchedAt ? Date.parse(d.despatchedAt) : 0), 0);
      return {
        readUpTo: newest > 0 ? new Date(Math.max(newest, Date.parse(input.sinceIso))).toISOString() : input.sinceIso,
        read: despatches.length,
        forwarded: forwardedNumbers.filter((n) => !skip.has(n)).length,
        forwardedNumbers,
      };
    },

    /** An operator's retry on a despatch exception: is there a running workflow for it now? */
    async forwardDespatch(despatch: Despatch): Promise<ForwardOutcome> {
      const outcomes = await forward(despatch.salesOrderNumber, [despatch]);
      return outcomes.get(despatch.despatchNumber)!;
    },
  };
}

export type DespatchSweepActivities = ReturnType<typeof createDespatchSweepActivities>;
