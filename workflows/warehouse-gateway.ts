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
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { WarehouseGatewayActivities, WarehouseRef, WarehouseResult } from '../activities/warehouse-gateway';

export interface WarehouseGatewayInput {
  /** The Peoplevox client id (one gateway per tenant). */
  tenant: string;
  queues: { sla: string; bulk: string };
  batch: { maxOrders: number; windowMs: number };
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
}

export const warehouseCreateRequestedSignal = defineSignal<[WarehouseRef]>('warehouseCreateRequested');
export const despatchHintSignal = defineSignal('despatchHint');
export const gatewayStateQuery = defineQuery<
  GatewayTotals & { pending: number; inFlight: number; watermark?: string; lastReadAt?: number }
>('gatewayState');

/** Requests held at most (a flood is refused by being dropped; the orders ask again). */
const MAX_PENDING = 5000;

export async function warehouseGatewayWorkflow(input: WarehouseGatewayInput): Promise<void> {
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

  const pending = new Map<string, WarehouseRef>();
  for (const r of input.carried?.pending ?? []) pending.set(r.salesOrderNumber, r);
  let firstPendingAt = pending.size > 0 ? Date.now() : undefined;
  const inFlight = new Set<string>();
  let watermark = input.carried?.watermark;
  const forwarded = new Map<string, number>(input.carried?.forwarded ?? []);
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
    // A repeat while its batch is being saved: the batch's answer will reach it.
    if (inFlight.has(ref.salesOrderNumber) || pending.size >= MAX_PENDING) return;
    pending.set(ref.salesOrderNumber, ref);
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

  const renewing = () => workflowInfo().continueAsNewSuggested;

  async function creates(): Promise<void> {
    for (;;) {
      const due = () =>
        pending.size >= input.batch.maxOrders ||
        (pending.size > 0 && firstPendingAt !== undefined && Date.now() >= firstPendingAt + input.batch.windowMs);
      const wait =
        firstPendingAt !== undefined ? Math.max(0, firstPendingAt + input.batch.windowMs - Date.now()) : undefined;
      if (wait === undefined) await condition(() => pending.size > 0 || renewing());
      else await condition(() => due() || renewing(), wait);
      // Renewing: the requests still waiting travel with the new run.
      if (renewing()) return;
      if (!due()) continue;
      const batch = [...pending.values()].slice(0, input.batch.maxOrders);
      for (const r of batch) {
        pending.delete(r.salesOrderNumber);
        inFlight.add(r.salesOrderNumber);
      }
      firstPendingAt = pending.size > 0 ? Date.now() : undefined;
      busy += 1;
      let results: WarehouseResult[];
      try {
        results = await sla.createSalesOrderBatch({ refs: batch });
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        // Retries used up (Peoplevox down): every order of the batch hears it and parks; each heals by itself.
        const message = err.cause?.message ?? err.message;
        results = batch.map((ref) => ({ ref, outcome: 'unavailable' as const, message }));
      }
      totals.batches += 1;
      totals.ordersInBatches += batch.length;
      await local.deliverWarehouseResults({ results });
      for (const r of batch) inFlight.delete(r.salesOrderNumber);
      busy -= 1;
    }
  }

  async function despatches(): Promise<void> {
    for (;;) {
      const next = (lastReadAt ?? 0) + input.despatch.everyMs;
      const early = () => hinted && Date.now() >= (lastReadAt ?? 0) + input.despatch.minGapMs;
      await condition(
        () => early() || renewing() || (hinted && lastReadAt === undefined),
        Math.max(0, next - Date.now()),
      );
      if (renewing()) return;
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

  await Promise.all([creates(), despatches()]);
  await condition(() => busy === 0 && allHandlersFinished());
  await continueAsNew<typeof warehouseGatewayWorkflow>({
    ...input,
    carried: { pending: [...pending.values()], watermark, forwarded: [...forwarded], totals },
  });
}
