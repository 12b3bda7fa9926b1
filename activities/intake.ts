// Intake: read the marketplace's changed orders and hand each to its order workflow.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowIdReusePolicy } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ChannelConfig, Config } from '../src/config/schema';
import type { MiraklClient, OrderRecord, UnreadableOrder } from '../src/connectors/mirakl/client';
import {
  orderUnreadableWorkflow,
  stillUnreadableSignal,
  type OrderUnreadableInput,
} from '../workflows/order-unreadable';
import type { MiraklOrder } from '../src/connectors/mirakl/schemas';
import { toMarketplaceOrder } from '../src/connectors/mirakl/map';
import { orderUnreadableWorkflowId, orderWorkflowId } from '../src/domain/keys';
import { TERMINAL_MARKETPLACE_STATES, type MarketplaceOrder } from '../src/domain/order';
import { initialSearchAttributes } from '../src/temporal/search-attributes';
import { orderWorkflow, orderUpdatedSignal } from '../workflows/order';
import type { AlertSink } from '../src/alerts/alerts';
import { toActivityFailure } from './errors';
import { resolvedReservationChanges, signalReservations, type ItemCodeResolver } from '../src/inventory/reservations';
import type { ChannelListing } from '../src/inventory/listing';
import type { ReservationChange } from '../src/inventory/ledger';
import type { InvoiceRecord, MarketplacerClient } from '../src/connectors/marketplacer/client';
import { createMarketplacerIntake } from './marketplacer-intake';
import { RecentHandOvers } from './recent-hand-overs';
import { inParallel } from '../src/util/in-parallel';

/** A poll's progress, heartbeated after each page of orders so that a retry resumes from it. */
const PollProgress = z.object({
  since: z.string().optional(),
  /** OR11 offset of the next order to read. */
  offset: z.number().int().min(0),
  /** When the first attempt started (the watermark's ceiling). */
  startedAt: z.number(),
  watermark: z.string().optional(),
});

/** Orders of one OR11 page handed over at once at most. */
export const HAND_OVER_CONCURRENCY = 8;
/**
 * The longest wait a poll activity holds before its request (workflows/intake.ts leaves it at most its shortest
 * timer plus its POLL_LEAD_MS, 2 s): a bound, so a wrong input cannot hold a worker slot for long.
 */
const MAX_WAIT_FIRST_MS = 2_500;
/** This process, as poll results name it (`PollResult.answer`): a new one at every start. */
export const PROCESS_ID = randomUUID();

/**
 * Waits out the rest of the window the workflow left to its poll (workflows/intake.ts): until `notBefore` when that
 * is a moment on this process's clock, else `waitFirstMs` from now (the activity's start, which came after the
 * workflow decided, so never sooner than planned); at most MAX_WAIT_FIRST_MS. In an activity the wait ends with its
 * cancellation (a worker shutting down, the workflow gone), so a poll that waits starts no request and no hand-over
 * after the worker was told to stop: the poll then spends most of its time in this wait.
 */
export async function waitForWindow(input: {
  waitFirstMs?: number;
  notBefore?: { process: string; at: number };
}): Promise<void> {
  const wait =
    input.notBefore?.process === PROCESS_ID ? input.notBefore.at - performance.now() : (input.waitFirstMs ?? 0);
  if (!(wait > 0)) return;
  const ms = Math.min(wait, MAX_WAIT_FIRST_MS);
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    ctx = undefined; // not in an activity (unit use)
  }
  if (ctx) await ctx.sleep(ms);
  else await new Promise((r) => setTimeout(r, ms));
}

/**
 * Hands a page's records over, up to HAND_OVER_CONCURRENCY orders at a time; records of the same order (an order
 * updated while the poll pages through) one after another, in the order read. Every hand-over runs to its end
 * before the first failure is thrown, so nothing of a failed poll is still running when its retry starts.
 */
export async function handOverConcurrently(
  records: readonly OrderRecord[],
  handOver: (record: OrderRecord) => Promise<void>,
): Promise<void> {
  const byOrder = new Map<string, OrderRecord[]>();
  for (const r of records) {
    const id = 'unreadable' in r ? (r.unreadable.orderId ?? `#${r.unreadable.fingerprint}`) : r.order.order_id;
    const same = byOrder.get(id);
    if (same) same.push(r);
    else byOrder.set(id, [r]);
  }
  const failures: unknown[] = [];
  await inParallel([...byOrder.values()], HAND_OVER_CONCURRENCY, async (same) => {
    try {
      for (const r of same) await handOver(r);
    } catch (err) {
      failures.push(err);
    }
  });
  if (failures.length > 0) throw failures[0];
}

export interface PollResult {
  watermark?: string;
  seen: number;
  /** Orders handed to their workflow by signal-with-start (new or already running). */
  started: number;
  /** Finished orders whose running workflow was told. */
  signalled: number;
  unreadable: number;
  /** Reservation changes (reserve / release per order line) sent to the inventory workflows. */
  reservations?: number;
  /** Orders Loopline does not handle (already over when first seen, click and collect): logged, no workflow. */
  ignored?: number;
  /** Orders read again as this process last handed them over (the overlap's re-reads): not signalled again. */
  unchanged?: number;
  /**
   * Time from the marketplace's answer to the poll's last request (OR11) to the end of the poll — the hand-over of
   * the last page and the reservations — by this process's monotonic clock. The intake counts the interval to the
   * next poll from that answer (the request left before it), not from the end of the hand-over.
   */
  afterLastCallMs?: number;
  /**
   * The same answer's moment by this process's monotonic clock (`performance.now()`), with the process's id: a next
   * poll that runs in this process waits for a moment on the same clock (`notBefore`), with no clocks to reconcile.
   */
  answer?: { process: string; at: number };
}

export interface IntakeActivityDeps {
  config: Config;
  client: Client;
  mirakl(channel: string): MiraklClient;
  /** Channels with `platform: marketplacer` (their invoices: activities/marketplacer-intake.ts). */
  marketplacer?(channel: string): MarketplacerClient;
  /** The warehouse's item codes: reservations use the SKU as the order path resolves it (absent: skuMap only). */
  itemCodes?: ItemCodeResolver;
  /** Each channel's offer list: a reservation goes only to channels that sell the item (absent: to all). */
  listing?(channel: string): ChannelListing | undefined;
  alerts: AlertSink;
  log: Logger;
  /** Sandbox and benchmarks run time faster (an unreadable order's recheck interval divides by it). */
  timeScale?: number;
}

/**
 * A retryable failure whose next retry would come sooner than `ms` (with `always`, any retryable failure) (a Retry-After the server sent, or an
 * injected one) retries at `ms` instead: for an operation limited to one call a window, a retry inside the
 * window is refused (429) — the chaos bench saw the retry of an OR11 answered "429, Retry-After: 1" refused a
 * second later, the first call having used the window.
 */
export function notSoonerThan(f: ApplicationFailure, ms: number, opts: { always?: boolean } = {}): ApplicationFailure {
  if (f.nonRetryable) return f;
  const delay = f.nextRetryDelay === undefined || f.nextRetryDelay === null ? undefined : msToNumber(f.nextRetryDelay);
  // Without `always`, only a failure that names its own retry delay (a Retry-After) is held back.
  if (delay === undefined && !opts.always) return f;
  if (delay !== undefined && delay >= ms) return f;
  return ApplicationFailure.create({
    message: f.message,
    ...(f.type ? { type: f.type } : {}),
    nonRetryable: false,
    details: f.details ? [...f.details] : [],
    nextRetryDelay: ms,
  });
}

export function createIntakeActivities(deps: IntakeActivityDeps) {
  const { config, log } = deps;
  const recent = new RecentHandOvers();
  // Which order each stock change came from, so a change not delivered makes its order handed over again.
  const stockOwner = new WeakMap<ReservationChange, string>();

  /**
   * Starts the order's workflow, or signals it when it runs already (signal-with-start: one atomic call,
   * so two pollers or a poll and a webhook can never start it twice).
   */
  async function handOver(order: MarketplaceOrder): Promise<'started' | 'signalled' | 'ignored'> {
    const workflowId = orderWorkflowId(order.channel, order.orderId);
    if (TERMINAL_MARKETPLACE_STATES.has(order.state)) {
      // Never start a workflow for an order that is already over; tell a running one.
      try {
        await deps.client.workflow.getHandle(workflowId).signal(orderUpdatedSignal, order);
        return 'signalled';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'ignored';
        throw err;
      }
    }
    try {
      await deps.client.workflow.signalWithStart(orderWorkflow, {
        workflowId,
        taskQueue: config.temporal.taskQueues.orders,
        args: [{ channel: order.channel, orderId: order.orderId, order }],
        signal: orderUpdatedSignal,
        signalArgs: [order],
        // An order whose earlier run failed, was terminated or timed out starts again (from the marketplace's
        // current state, its exactly-once guards intact); one that completed never does.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        typedSearchAttributes: initialSearchAttributes({
          Channel: order.channel,
          MarketplaceOrderId: order.orderId,
          OrderStatus: 'RECEIVED',
        }),
      });
      return 'started';
    } catch (err) {
      // The order's workflow completed earlier (closed after its return window): nothing to do.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'ignored';
      throw err;
    }
  }

  function channel(code: string) {
    const ch = config.channels.find((c) => c.code === code);
    if (!ch) throw ApplicationFailure.nonRetryable(`channel ${code} is not configured`, 'UNEXPECTED_ERROR');
    return ch;
  }

  /**
   * An order the marketplace returned that cannot be read: its own ORDER_UNREADABLE exception (one per order,
   * told again while it stays unreadable), never a failed poll.
   */
  async function reportUnreadable(ch: ChannelConfig, u: UnreadableOrder, result: PollResult): Promise<void> {
    result.unreadable += 1;
    const input: OrderUnreadableInput = {
      channel: ch.code,
      orderId: u.orderId,
      fingerprint: u.fingerprint,
      field: u.field,
      problem: u.problem,
      // Looks again by itself every 60 poll windows (an hour by default).
      recheckMs: (ch.intake.pollIntervalSeconds * 1000 * 60) / (deps.timeScale ?? 1),
    };
    log.warn({ channel: ch.code, orderId: u.orderId, field: u.field }, 'unreadable order');
    try {
      await deps.client.workflow.signalWithStart(orderUnreadableWorkflow, {
        workflowId: orderUnreadableWorkflowId(ch.code, u.orderId ?? u.fingerprint),
        taskQueue: config.temporal.taskQueues.orders,
        args: [input],
        signal: stillUnreadableSignal,
        signalArgs: [{ field: u.field, problem: u.problem }],
        // Once handled (handed over, resolved, dismissed) it is not opened again by the overlapping polls.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: initialSearchAttributes({
          Channel: ch.code,
          OrderStatus: 'EXCEPTION',
          ExceptionReason: 'ORDER_UNREADABLE',
          Owner: 'ops',
          ...(u.orderId ? { MarketplaceOrderId: u.orderId } : {}),
        }),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /** Maps one order and hands it over; an order that cannot be mapped is an ORDER_UNREADABLE exception too. */
  async function handOverRecord(
    ch: ChannelConfig,
    record: OrderRecord,
    result: PollResult,
    stock: ReservationChange[],
    polled = false,
  ): Promise<void> {
    result.seen += 1;
    if ('unreadable' in record) return reportUnreadable(ch, record.unreadable, result);
    const wire = record.order;
    let order: MarketplaceOrder;
    try {
      order = toMarketplaceOrder(wire, {
        code: ch.code,
        currency: ch.currency,
        acceptanceWindowHours: ch.deadlines.acceptanceWindowHours,
      });
    } catch (err) {
      return reportUnreadable(
        ch,
        { orderId: wire.order_id, field: '(mapping)', problem: (err as Error).message, fingerprint: wire.order_id },
        result,
      );
    }
    await handOverOrder(order, result, stock, polled ? ch : undefined);
  }

  /** Whether the order's workflow has a run going now (anything else, or no answer: hand the order over). */
  async function stillRunning(workflowId: string): Promise<boolean> {
    try {
      return (await deps.client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
    } catch {
      return false;
    }
  }

  /**
   * How long a poll's hand-over stands for its re-reads: the overlap, Mirakl's start_update_date delta (a few
   * seconds; 10 s allowed) and two poll windows (time-scaled like the window; the overlap is set in wall seconds).
   */
  function reReadMs(ch: ChannelConfig): number {
    return (
      ch.intake.overlapSeconds * 1000 + 10_000 + (2 * ch.intake.pollIntervalSeconds * 1000) / (deps.timeScale ?? 1)
    );
  }

  /**
   * A mapped order to its workflow, its units reserved on the channels sharing the master. `polledFrom`: read by
   * the date-window poll, whose re-reads of an order handed over unchanged are not signalled again.
   */
  async function handOverOrder(
    order: MarketplaceOrder,
    result: PollResult,
    stock: ReservationChange[],
    polledFrom?: ChannelConfig,
  ) {
    const workflowId = orderWorkflowId(order.channel, order.orderId);
    const digest = polledFrom ? RecentHandOvers.digest(order) : '';
    const now = Date.now();
    // Found over for good by an earlier read (its run completed; or over before it was ever handed over): a re-read
    // would find the same, so neither the server nor the stock is asked again.
    if (polledFrom && recent.over(workflowId, now)) {
      result.ignored = (result.ignored ?? 0) + 1;
      if (!result.watermark || order.updatedAt > result.watermark) result.watermark = order.updatedAt;
      return;
    }
    // Skipped only while its run is still going: a run that ended without completing (terminated by mistake, timed
    // out) is started again by this re-read, as the poll always did. A describe is a read; the signal it saves is a
    // history event and a workflow task of the order.
    const skip = polledFrom && recent.unchanged(workflowId, digest, now) && (await stillRunning(workflowId));
    const outcome = skip ? ('unchanged' as const) : await handOver(order);
    if (polledFrom && outcome !== 'unchanged')
      recent.remember(workflowId, digest, now + reReadMs(polledFrom), now, outcome === 'ignored');
    if (outcome === 'unchanged') result.unchanged = (result.unchanged ?? 0) + 1;
    // Stock: the marketplace has already taken these units off what it shows; reserve them in every
    // channel sharing the master until the warehouse allocates them (or release them if refused/cancelled).
    // A re-read of an order handed over unchanged carries nothing new for stock either: its changes went with
    // the read that handed it over (the inventory ledger would drop them as known keys, but each one was a
    // signal in the inventory workflow's history: most of its size at 10,000 orders an hour).
    if (outcome !== 'unchanged') {
      const changes = await resolvedReservationChanges(config, order, Date.now(), deps.itemCodes);
      for (const c of changes) stockOwner.set(c, workflowId);
      stock.push(...changes);
    }
    if (outcome === 'started') result.started += 1;
    if (outcome === 'signalled') result.signalled += 1;
    if (outcome === 'ignored') {
      result.ignored = (result.ignored ?? 0) + 1;
      log.info(
        { channel: order.channel, orderId: order.orderId, state: order.state },
        'order already over and never seen: not handled',
      );
    }
    if (!result.watermark || order.updatedAt > result.watermark) result.watermark = order.updatedAt;
  }

  async function sendStock(stock: ReservationChange[], result: PollResult): Promise<void> {
    const changes = stock.splice(0);
    if (changes.length === 0) return;
    const sent = await signalReservations(deps.client, config, changes, log, { listing: deps.listing });
    // Not delivered everywhere: the next re-read of these orders hands them over (and sends their stock) again.
    if (sent.failed > 0) for (const c of changes) recent.forget(stockOwner.get(c) ?? '');
    result.reservations = (result.reservations ?? 0) + changes.length;
  }

  // Marketplacer channels: invoices instead of OR11, through the same hand-over (nothing Mirakl-specific runs).
  const marketplacer = createMarketplacerIntake({
    config,
    log,
    client: (code) => {
      if (!deps.marketplacer) throw ApplicationFailure.nonRetryable('marketplacer is not wired', 'UNEXPECTED_ERROR');
      return deps.marketplacer(code);
    },
    handOver: async (ch: ChannelConfig, record: InvoiceRecord, result: PollResult, stock: ReservationChange[]) => {
      result.seen += 1;
      if ('unreadable' in record) {
        const u = record.unreadable;
        return reportUnreadable(
          ch,
          { orderId: u.orderId, field: u.field, problem: u.problem, fingerprint: u.fingerprint },
          result,
        );
      }
      const order = marketplacer.toOrder(ch, record.invoice);
      if (order.state === 'TO_COLLECT') {
        // Click and collect: a store hands it over; there is nothing for the warehouse to ship.
        result.ignored = (result.ignored ?? 0) + 1;
        log.info({ channel: ch.code, orderId: order.orderId }, 'click-and-collect invoice: not handled');
        return;
      }
      await handOverOrder(order, result, stock);
    },
    sendStock,
  });

  return {
    async pollChannelOrders(input: {
      channel: string;
      since?: string;
      waitFirstMs?: number;
      notBefore?: { process: string; at: number };
    }): Promise<PollResult> {
      const ch = channel(input.channel);
      await waitForWindow(input);
      if (ch.platform === 'marketplacer') return marketplacer.poll(ch, input.since);
      const client = deps.mirakl(input.channel);
      const since = input.since
        ? new Date(new Date(input.since).getTime() - ch.intake.overlapSeconds * 1000).toISOString()
        : undefined;
      // A retry after a failed page resumes where the last attempt got to (its heartbeat), so a long read
      // (a backlog after an outage) is not restarted from page one by every transient error.
      const resume = PollProgress.safeParse(Context.current().info.heartbeatDetails);
      const from = resume.success && resume.data.since === since ? resume.data : undefined;
      const result: PollResult = {
        watermark: from?.watermark ?? input.since,
        seen: 0,
        started: 0,
        signalled: 0,
        unreadable: 0,
      };
      // An order updated while we page through the results may sit on a page already read; its new
      // last_updated_date is after this moment. So the watermark never passes the start of the poll, or a
      // poll that outlasts the overlap (a backlog, a slow server) loses those updates for good.
      const pollStartedAt = from?.startedAt ?? Date.now();
      const offset = from?.offset ?? 0;
      const stock: ReservationChange[] = [];
      let lastAnswerAt: number | undefined;
      try {
        // A page at a time: its orders are handed over concurrently (the hand-over is a signal-with-start and
        // a look at the item codes, each a round trip: one after another, a burst's page of 100 orders waited
        // for the last of them), and its progress is heartbeated once the whole page is handed over.
        let page: OrderRecord[] = [];
        const handOverPage = async () => {
          const records = page;
          page = [];
          await handOverConcurrently(records, (record) => handOverRecord(ch, record, result, stock, true));
          const progress: z.infer<typeof PollProgress> = {
            since,
            offset: offset + result.seen,
            startedAt: pollStartedAt,
            watermark: result.watermark,
          };
          Context.current().heartbeat(progress);
          // A page at a time, so a long poll does not hold reservations back.
          if (stock.length >= ch.intake.pageSize) await sendStock(stock, result);
        };
        for await (const record of client.listOrderRecordsUpdatedSince(since, ch.intake.pageSize, offset)) {
          page.push(record);
          if (page.length >= ch.intake.pageSize) await handOverPage();
        }
        // The last OR11 answer has come (a full page was handed over before the next request left).
        lastAnswerAt = performance.now();
        if (page.length > 0) await handOverPage();
      } catch (err) {
        // OR11 allows one call a window: a retry sooner (a Retry-After shorter than the window, honoured as the
        // failure's next retry delay, which overrides the workflow's retry interval) would be refused.
        const windowMs = Math.ceil(((ch.intake.pollIntervalSeconds * 1000) / (deps.timeScale ?? 1)) * 1.05);
        throw notSoonerThan(toActivityFailure(err, 'mirakl', 'OR11', 'UNEXPECTED_ERROR'), windowMs);
      } finally {
        await sendStock(stock, result);
      }
      if (result.watermark && Date.parse(result.watermark) > pollStartedAt) {
        result.watermark = new Date(pollStartedAt).toISOString();
      }
      if (lastAnswerAt !== undefined) {
        result.afterLastCallMs = Math.max(0, Math.round(performance.now() - lastAnswerAt));
        result.answer = { process: PROCESS_ID, at: lastAnswerAt };
      }
      log.debug({ channel: ch.code, ...result }, 'intake poll');
      return result;
    },

    /** The channel's intake is stale (no poll completed for a while), or has recovered: one alert each. */
    async raiseIntakeAlert(input: { channel: string; key: string; message: string; stale: boolean }): Promise<void> {
      await deps.alerts.raise({
        key: input.key,
        kind: 'sync',
        channel: input.channel,
        reason: input.stale ? 'INTAKE_STALE' : 'INTAKE_RECOVERED',
        owner: 'ops',
        message: input.message,
      });
    },

    /**
     * Push intake: an operator event named these orders. Read them (OR11 by order_ids, which is not the
     * rate-limited date-window poll) and hand each over exactly as the poll would.
     */
    async handOverOrdersById(input: {
      channel: string;
      orderIds: string[];
    }): Promise<PollResult & { missing: string[] }> {
      const ch = channel(input.channel);
      if (ch.platform === 'marketplacer') return marketplacer.byIds(ch, input.orderIds);
      const result: PollResult = { seen: 0, started: 0, signalled: 0, unreadable: 0 };
      let read: { orders: MiraklOrder[]; unreadable: UnreadableOrder[] };
      try {
        read = await deps.mirakl(ch.code).getOrderRecords(input.orderIds);
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', 'OR11', 'UNEXPECTED_ERROR');
      }
      const stock: ReservationChange[] = [];
      for (const order of read.orders) await handOverRecord(ch, { order }, result, stock);
      for (const unreadable of read.unreadable) await handOverRecord(ch, { unreadable }, result, stock);
      await sendStock(stock, result);
      const found = new Set([...read.orders.map((w) => w.order_id), ...read.unreadable.map((u) => u.orderId)]);
      const missing = input.orderIds.filter((id) => !found.has(id));
      log.info({ channel: ch.code, ...result, missing: missing.length }, 'push intake');
      return { ...result, missing };
    },
  };
}

export type IntakeActivities = ReturnType<typeof createIntakeActivities>;
