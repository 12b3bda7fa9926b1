// One long-lived workflow per Marketplacer channel (id marketplace-events:<channel>) that takes the events the
// webhook receiver verified (src/http/marketplacer-webhooks.ts) and hands the invoices they name to their order
// workflows. The receiver answers Marketplacer as soon as the event is in here (a signal is durable), so a
// delivery is acknowledged in milliseconds whatever Marketplacer's API or Loopline's workers are doing.
//   deduped     by the event's key (Idempotency-Key, else the event id): a redelivery changes nothing
//   ordered     by Marketplacer-Sequence per node: an event older than one already taken for the same invoice
//               is stale (the invoice is read back anyway, so the newest state always wins)
//   batched     the invoices named within a short window are read back together (`nodes`, up to 100 ids) and
//               handed over by the same activity as a push or a poll (handOverOrdersById), on the marketplacer
//               task queue whose rate holds the key's order budget
//   backstopped the intake's invoices(updatedSince) poll finds whatever an event never brought
// Bounded: the dedupe and sequence memories keep the newest few thousand entries; continues-as-new with them.
import {
  ActivityFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { IntakeActivities } from '../activities/intake';

export interface MarketplaceEvent {
  /** Idempotency-Key of the delivery, else the event's id. */
  key: string;
  /** Marketplacer-Sequence, when the delivery carried one. */
  sequence?: number;
  /** The node the event is about (for a refund request: its invoice). */
  nodeId: string;
  /** Which object the sequence counts for (its webhook's own numbering). */
  sequenceOf?: string;
}

export interface MarketplaceEventsTotals {
  received: number;
  duplicates: number;
  stale: number;
  batches: number;
  handedOver: number;
  ignored: number;
  missing: number;
  unreadable: number;
  failedBatches: number;
  lastError?: string;
}

export interface MarketplaceEventsInput {
  channel: string;
  /** Where handOverOrdersById runs (the marketplacer queue: its rate holds the key's budget). */
  taskQueue: string;
  /** How long events gather before their invoices are read back together. */
  batchMs: number;
  /** Carried across continue-as-new. */
  state?: { keys: string[]; sequences: Array<[string, number]>; pending: string[]; totals: MarketplaceEventsTotals };
}

export const marketplaceEventsSignal = defineSignal<[MarketplaceEvent[]]>('marketplaceEvents');
export const marketplaceEventsQuery = defineQuery<MarketplaceEventsTotals & { pending: number }>('marketplaceEvents');

const MAX_KEYS = 5_000;
const MAX_SEQUENCES = 5_000;
const MAX_BATCH = 100;

export async function marketplaceEventsWorkflow(input: MarketplaceEventsInput): Promise<void> {
  const keys = new Set(input.state?.keys ?? []);
  const sequences = new Map(input.state?.sequences ?? []);
  const pending = new Set(input.state?.pending ?? []);
  const totals: MarketplaceEventsTotals = input.state?.totals ?? {
    received: 0,
    duplicates: 0,
    stale: 0,
    batches: 0,
    handedOver: 0,
    ignored: 0,
    missing: 0,
    unreadable: 0,
    failedBatches: 0,
  };
  const acts = proxyActivities<Pick<IntakeActivities, 'handOverOrdersById'>>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '2m',
    retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 8 },
  });

  setHandler(marketplaceEventsSignal, (events) => {
    for (const e of events) {
      totals.received++;
      if (keys.has(e.key)) {
        totals.duplicates++;
        continue;
      }
      keys.add(e.key);
      if (keys.size > MAX_KEYS) keys.delete(keys.values().next().value!);
      const seqKey = e.sequenceOf ?? e.nodeId;
      if (e.sequence !== undefined) {
        const last = sequences.get(seqKey);
        if (last !== undefined && e.sequence <= last) {
          totals.stale++;
          continue;
        }
        sequences.delete(seqKey);
        sequences.set(seqKey, e.sequence);
        if (sequences.size > MAX_SEQUENCES) sequences.delete(sequences.keys().next().value!);
      }
      pending.add(e.nodeId);
    }
  });
  setHandler(marketplaceEventsQuery, () => ({ ...totals, pending: pending.size }));

  let failures = 0;
  for (;;) {
    await condition(() => pending.size > 0 || workflowInfo().continueAsNewSuggested);
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000) {
      await continueAsNew<typeof marketplaceEventsWorkflow>({
        ...input,
        state: { keys: [...keys], sequences: [...sequences], pending: [...pending], totals },
      });
    }
    // Let the burst gather (an invoice and its line events arrive together), then read them back at once.
    await sleep(input.batchMs);
    const batch = [...pending].slice(0, MAX_BATCH);
    for (const id of batch) pending.delete(id);
    try {
      const r = await acts.handOverOrdersById({ channel: input.channel, orderIds: batch });
      totals.batches++;
      totals.handedOver += r.started + r.signalled;
      totals.ignored += r.ignored ?? 0;
      totals.unreadable += r.unreadable;
      totals.missing += r.missing.length;
      totals.lastError = undefined;
      failures = 0;
    } catch (err) {
      // Marketplacer or Temporal unavailable through the activity's retries: keep the ids and try again later
      // (the poll backstop reads them too).
      totals.failedBatches++;
      totals.lastError = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
      for (const id of batch) pending.add(id);
      failures++;
      await sleep(Math.min(60_000, 1_000 * 2 ** Math.min(failures, 6)));
    }
  }
}
