// The warehouse gateway: one workflow per Peoplevox tenant through which every order reaches the warehouse and
// every despatch is found, so the tenant's documented budget (about 15 requests per 15 s) holds by construction
// and costs O(batches + despatch windows), not O(orders):
//   - order workflows ask for their warehouse order (a signal with a reference, no order data); requests are
//     batched — closed by size or by a short window — and each batch is two SaveData calls (orders, then their
//     items), with every order's own record checked in the answer, and a look before create for the whole batch
//     after a lost response (activities/warehouse-gateway.ts). Each order hears its outcome by signal.
//   - despatches are read once per window for everyone (the Despatch summary since a watermark, incremental),
//     sooner when a TrackingNumberReceived callback hints that one happened, and forwarded to their orders with
//     the items, so no order reads the warehouse for itself.
// Creates run on the SLA task queue and reads on the bulk one, each rate-limited by the server for every replica
// with its share of the budget (workers/runtime.ts): a slow read never delays an order's creation.
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { WarehouseGatewayActivities, WarehouseRef, WarehouseResult } from '../activities/warehouse-gateway';
import type { WarehouseRequest } from './order/messages';

/**
 * An order's request: its reference and, from v2 orders, what its rows need (so the batch does not query the
 * order's workflow while order work is backed up). The data is kept only while the request waits: a new run
 * carries references alone, whose batch reads them from their workflows as before.
 */
export type WarehouseAskRef = WarehouseRef & { request?: WarehouseRequest };

export interface WarehouseGatewayInput {
  /** The Peoplevox client id (one gateway per tenant). */
  tenant: string;
  queues: { sla: string; bulk: string };
  batch: {
    maxOrders: number;
    windowMs: number;
    /** Batches saved at once (their calls still keep to the task queue's rate limit); 4 when absent. */
    maxInFlight?: number;
  };
  despatch: {
    /** A read at least this often, callbacks or not. */
    everyMs: number;
    /** Callbacks bring a read forward, at most this often. */
    minGapMs: number;
    /** Each read starts this long before the last one's end (report dates are coarse; forwarding is idempotent). */
    overlapMs: number;
  };
  carried?: {
    pending: WarehouseRef[];
    watermark?: string;
    /** Despatches forwarded by reads whose window the next read still overlaps: [number, read at]. */
    forwarded?: Array<[string, number]>;
    /** Sales order numbers whose warehouse order was created lately (a late repeat hears 'exists', no call). */
    succeeded?: string[];
    /** How long a batch has lately taken, start to answers delivered (for the queue's wait estimate). */
    batchMs?: number;
    totals: GatewayTotals;
  };
}

export interface GatewayTotals {
  requests: number;
  batches: number;
  ordersInBatches: number;
  despatchReads: number;
  despatchesForwarded: number;
  hints: number;
  /** Repeats of a request already queued or being saved: no work recorded for them. */
  coalesced?: number;
  /** Repeats of a request already answered 'created'/'exists': answered again without a Peoplevox call. */
  answeredAgain?: number;
  renewals?: number;
}

/** Where an order's request stands, and how long the gateway expects it to take from here. */
export interface WarehouseRequestStatus {
  state: 'pending' | 'in-flight' | 'unknown';
  /** Requests ahead of it (pending before it, plus those being saved). */
  ahead: number;
  /** The gateway's estimate of the time until its answer (batches ahead at the recent batch time). */
  etaMs: number;
}

export const warehouseCreateRequestedSignal = defineSignal<[WarehouseAskRef]>('warehouseCreateRequested');
export const despatchHintSignal = defineSignal('despatchHint');
/** Where one sales order number's request stands (the order asks this before it asks again). */
export const warehouseRequestStatusQuery = defineQuery<WarehouseRequestStatus, [string]>('warehouseRequestStatus');
export const gatewayStateQuery = defineQuery<
  GatewayTotals & { pending: number; inFlight: number; watermark?: string; lastReadAt?: number }
>('gatewayState');

/** Requests held at most (a flood is refused by being dropped; the orders ask again). */
const MAX_PENDING = 5000;
/** A new run before the history grows long: signals arrive in floods, and a long history slows every task. */
const HISTORY_LIMIT = 2000;
/** Batches in flight when the input does not say (a run started before the setting). */
const DEFAULT_IN_FLIGHT = 4;
/** …or once it passes this size (requests carry their orders' data). */
const HISTORY_BYTES = 4_000_000;
/** Limits past which no new batch starts until the gateway has renewed (well under the server's 50k / 50 MB). */
const HISTORY_HARD_LIMIT = 8000;
const HISTORY_HARD_BYTES = 12_000_000;
/** Successes remembered for late repeats. */
const MAX_SUCCEEDED = 1000;

export async function warehouseGatewayWorkflow(input: WarehouseGatewayInput): Promise<void> {
  // v2 (issue 15): batches in parallel up to a bound, repeats coalesced, late repeats answered from memory, a new
  // run once the history grows past HISTORY_LIMIT. Runs started before it keep the one-batch-at-a-time loop.
  const v2 = patched('warehouse-gateway-v2');
  const sla = proxyActivities<Pick<WarehouseGatewayActivities, 'createSalesOrderBatch'>>({
    taskQueue: input.queues.sla,
    startToCloseTimeout: '2m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '2s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 8 },
  });
  const bulk = proxyActivities<Pick<WarehouseGatewayActivities, 'forwardDespatchesSince'>>({
    taskQueue: input.queues.bulk,
    startToCloseTimeout: '10m',
    heartbeatTimeout: '2m',
    retry: { initialInterval: '5s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 5 },
  });
  const local = proxyActivities<Pick<WarehouseGatewayActivities, 'deliverWarehouseResults'>>({
    startToCloseTimeout: '2m',
    retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 10 },
  });

  const pending = new Map<string, WarehouseAskRef>();
  for (const r of input.carried?.pending ?? []) pending.set(r.salesOrderNumber, r);
  let firstPendingAt = pending.size > 0 ? Date.now() : undefined;
  const inFlight = new Set<string>();
  let watermark = input.carried?.watermark;
  const forwarded = new Map<string, number>(input.carried?.forwarded ?? []);
  const succeeded = new Set<string>(input.carried?.succeeded ?? []);
  const answerAgain = new Map<string, WarehouseRef>();
  let batchMs = input.carried?.batchMs ?? input.batch.windowMs;
  const maxInFlight = v2 ? Math.max(1, input.batch.maxInFlight ?? DEFAULT_IN_FLIGHT) : 1;
  let batchesInFlight = 0;
  let lastReadAt: number | undefined;
  let hinted = false;
  let busy = 0;
  const totals: GatewayTotals = input.carried?.totals ?? {
    requests: 0,
    batches: 0,
    ordersInBatches: 0,
    despatchReads: 0,
    despatchesForwarded: 0,
    hints: 0,
  };

  setHandler(warehouseCreateRequestedSignal, (ref) => {
    totals.requests += 1;
    const son = ref.salesOrderNumber;
    if (!v2) {
      // A repeat while its batch is being saved: the batch's answer will reach it.
      if (inFlight.has(son) || pending.size >= MAX_PENDING) return;
      pending.set(son, ref);
      firstPendingAt ??= Date.now();
      return;
    }
    // A repeat of a request queued or being saved: its batch's answer will reach it; nothing more to do.
    if (inFlight.has(son) || pending.has(son)) {
      totals.coalesced = (totals.coalesced ?? 0) + 1;
      return;
    }
    // A late repeat of one already created (its answer crossed the order's re-ask): answered, no Peoplevox call.
    if (succeeded.has(son)) {
      answerAgain.set(son, bareRef(ref));
      return;
    }
    if (pending.size >= MAX_PENDING) return;
    pending.set(son, ref);
    firstPendingAt ??= Date.now();
  });
  setHandler(despatchHintSignal, () => {
    totals.hints += 1;
    hinted = true;
  });
  setHandler(gatewayStateQuery, () => ({
    ...totals,
    pending: pending.size,
    inFlight: inFlight.size,
    watermark,
    lastReadAt,
  }));
  setHandler(warehouseRequestStatusQuery, (son) => {
    let ahead = inFlight.size;
    let state: WarehouseRequestStatus['state'] = inFlight.has(son) ? 'in-flight' : 'unknown';
    if (state === 'unknown') {
      for (const k of pending.keys()) {
        if (k === son) {
          state = 'pending';
          break;
        }
        ahead += 1;
      }
    }
    const batchesAhead = Math.ceil((ahead + 1) / input.batch.maxOrders);
    const rounds = Math.ceil(batchesAhead / maxInFlight);
    return { state, ahead, etaMs: input.batch.windowMs + rounds * batchMs };
  });

  const renewing = () =>
    workflowInfo().continueAsNewSuggested ||
    (v2 && (workflowInfo().historyLength > HISTORY_LIMIT || workflowInfo().historySize > HISTORY_BYTES));

  // Past the soft limits the gateway renews at the first moment no batch is in flight, and keeps saving batches
  // until then: a batch retrying through a Peoplevox fault must not hold every other order back. Past the hard
  // limits it stops starting batches and renews as soon as those in flight are done.
  const mustRenew = () =>
    v2 && (workflowInfo().historyLength > HISTORY_HARD_LIMIT || workflowInfo().historySize > HISTORY_HARD_BYTES);
  let stopping = false;
  const stopped = () => (v2 ? stopping : renewing());

  function remember(son: string): void {
    succeeded.delete(son);
    succeeded.add(son);
    if (succeeded.size > MAX_SUCCEEDED) succeeded.delete(succeeded.values().next().value as string);
  }

  async function saveBatch(batch: WarehouseAskRef[]): Promise<WarehouseResult[]> {
    try {
      return await sla.createSalesOrderBatch({ refs: batch });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // Retries used up (Peoplevox down): every order of the batch hears it and parks; each heals by itself.
      const message = err.cause?.message ?? err.message;
      return batch.map((ref) => ({ ref: bareRef(ref), outcome: 'unavailable' as const, message }));
    }
  }

  function takeBatch(): WarehouseAskRef[] {
    const batch = [...pending.values()].slice(0, input.batch.maxOrders);
    for (const r of batch) {
      pending.delete(r.salesOrderNumber);
      inFlight.add(r.salesOrderNumber);
    }
    firstPendingAt = pending.size > 0 ? Date.now() : undefined;
    return batch;
  }

  const due = () =>
    pending.size >= input.batch.maxOrders ||
    (pending.size > 0 && firstPendingAt !== undefined && Date.now() >= firstPendingAt + input.batch.windowMs);

  /** Before v2: one batch at a time, the gateway waiting for each batch's answers to be delivered. */
  async function createsV1(): Promise<void> {
    for (;;) {
      const wait =
        firstPendingAt !== undefined ? Math.max(0, firstPendingAt + input.batch.windowMs - Date.now()) : undefined;
      if (wait === undefined) await condition(() => pending.size > 0 || renewing());
      else await condition(() => due() || renewing(), wait);
      // Renewing: the requests still waiting travel with the new run.
      if (renewing()) return;
      if (!due()) continue;
      const batch = takeBatch();
      busy += 1;
      const results = await saveBatch(batch);
      totals.batches += 1;
      totals.ordersInBatches += batch.length;
      await local.deliverWarehouseResults({ results });
      for (const r of batch) inFlight.delete(r.salesOrderNumber);
      busy -= 1;
    }
  }

  /** One batch saved and answered, alongside up to maxInFlight − 1 others. */
  async function runBatch(batch: WarehouseAskRef[]): Promise<void> {
    const startedAt = Date.now();
    try {
      const results = await saveBatch(batch);
      totals.batches += 1;
      totals.ordersInBatches += batch.length;
      for (const r of results) if (r.outcome === 'created' || r.outcome === 'exists') remember(r.ref.salesOrderNumber);
      await deliver(results);
      batchMs = Math.round(0.7 * batchMs + 0.3 * (Date.now() - startedAt));
    } finally {
      for (const r of batch) inFlight.delete(r.salesOrderNumber);
      batchesInFlight -= 1;
      busy -= 1;
    }
  }

  async function deliver(results: WarehouseResult[]): Promise<void> {
    try {
      await local.deliverWarehouseResults({ results });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // Orders not told ask again after their wait; the successes are remembered and answered without a call.
    }
  }

  async function createsV2(): Promise<void> {
    for (;;) {
      const room = () => batchesInFlight < maxInFlight;
      const renewNow = () => renewing() && (batchesInFlight === 0 || mustRenew());
      const wake = () => renewNow() || answerAgain.size > 0 || (room() && due());
      const wait =
        firstPendingAt !== undefined ? Math.max(0, firstPendingAt + input.batch.windowMs - Date.now()) : undefined;
      if (wait === undefined || !room() || wait === 0) await condition(wake);
      else await condition(wake, wait);
      if (answerAgain.size > 0) {
        const again = [...answerAgain.values()];
        answerAgain.clear();
        totals.answeredAgain = (totals.answeredAgain ?? 0) + again.length;
        busy += 1;
        try {
          await deliver(again.map((ref) => ({ ref, outcome: 'exists' as const })));
        } finally {
          busy -= 1;
        }
      }
      // Renewing: the requests still waiting travel with the new run (batches in flight finish first).
      if (renewNow()) {
        stopping = true;
        return;
      }
      while (room() && due()) {
        batchesInFlight += 1;
        busy += 1;
        void runBatch(takeBatch());
      }
    }
  }

  async function despatches(): Promise<void> {
    for (;;) {
      const next = (lastReadAt ?? 0) + input.despatch.everyMs;
      const early = () => hinted && Date.now() >= (lastReadAt ?? 0) + input.despatch.minGapMs;
      await condition(
        () => early() || stopped() || (hinted && lastReadAt === undefined),
        Math.max(0, next - Date.now()),
      );
      if (stopped()) return;
      hinted = false;
      const startedAt = Date.now();
      busy += 1;
      try {
        const since = watermark
          ? new Date(Date.parse(watermark) - input.despatch.overlapMs).toISOString()
          : new Date(startedAt - input.despatch.everyMs - input.despatch.overlapMs).toISOString();
        // Despatches an overlapping read returns again are not forwarded again (their orders have them).
        for (const [n, at] of forwarded)
          if (at < startedAt - 2 * (input.despatch.overlapMs + input.despatch.everyMs)) forwarded.delete(n);
        const r = await bulk.forwardDespatchesSince({ sinceIso: since, skip: [...forwarded.keys()] });
        for (const n of r.forwardedNumbers) if (!forwarded.has(n)) forwarded.set(n, startedAt);
        watermark = r.readUpTo;
        totals.despatchReads += 1;
        totals.despatchesForwarded += r.forwarded;
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        // The next window reads from the same watermark: nothing is skipped.
      } finally {
        busy -= 1;
        lastReadAt = startedAt;
      }
    }
  }

  await Promise.all([v2 ? createsV2() : createsV1(), despatches()]);
  await condition(() => busy === 0 && allHandlersFinished());
  if (v2) totals.renewals = (totals.renewals ?? 0) + 1;
  await continueAsNew<typeof warehouseGatewayWorkflow>({
    ...input,
    carried: {
      // References only: the orders' data would make the new run's input grow with the queue.
      pending: [...pending.values()].map(bareRef),
      watermark,
      forwarded: [...forwarded],
      totals,
      ...(v2 ? { succeeded: [...succeeded], batchMs } : {}),
    },
  });
}

/** A request without its order's data (for answers and for the next run). */
function bareRef(r: WarehouseAskRef): WarehouseRef {
  return { workflowId: r.workflowId, channel: r.channel, orderId: r.orderId, salesOrderNumber: r.salesOrderNumber };
}
