// A rate budget the Temporal server keeps for every process at once: one workflow per rate-limited system
// (Peoplevox's ~15 requests per 15 s) hands out call slots. Every worker replica reserves its slots here before
// it calls (an update), so adding replicas never adds budget (src/temporal/rate-budget-client.ts).
//
// Slots lie on a grid `intervalMs` apart; a slot belongs to one caller. Two classes share the grid:
//   - `priority` (order-critical calls: a warehouse batch, a cancellation) takes the first free slot;
//   - `share` (reads: despatches, stock, item codes, the audit) takes the first free slot at or after its own
//     pointer, which then moves on by intervalMs / shareOfBudget, so reads never hold more than their share
//     of the slots and an order-critical call waits behind at most the reads already reserved.
// A reservation answers at once with when each slot starts (milliseconds from now): nothing waits inside the
// workflow, no update stays in flight, no timers. The caller sends at or after a slot's start and gives the
// slot up once it is a quarter interval late, so calls never bunch (docs/deployment.md, "Shared budgets").
// Continues-as-new with its reserved slots when the server suggests it or after `renewAfter` reservations.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';

export interface RateBudgetTerms {
  /** Milliseconds between slots (a documented limit of `max` calls per `window` gives window / (max - 1)). */
  intervalMs: number;
  /** The share class's part of the slots (0 < share ≤ 1). */
  shareOfBudget: number;
}

export type SlotClass = 'priority' | 'share';

export interface RateBudgetInput extends RateBudgetTerms {
  /** Reservations per run before it continues as new (default RENEW_AFTER). */
  renewAfter?: number;
  carried?: { reserved: number[]; sharePointer: number; granted: Record<SlotClass, number> };
}

export interface ReserveRequest extends RateBudgetTerms {
  slots: number;
  slotClass: SlotClass;
}

export interface Reservation {
  /** When each slot starts, in milliseconds after the answer (ascending). */
  startsInMs: number[];
  intervalMs: number;
}

/**
 * Reserve 1 to MAX_SLOTS_PER_RESERVATION slots under the caller's terms: every replica reads the same config, and
 * a changed config takes effect with the first reservation that carries it. Rejected while the budget renews
 * itself: ask again.
 */
export const reserveSlotsUpdate = defineUpdate<Reservation, [ReserveRequest]>('reserveSlots');
/** Slots granted so far (every run), by class, and how many future slots are reserved. */
export const rateBudgetStateQuery = defineQuery<{
  granted: Record<SlotClass, number>;
  reservedAhead: number;
  intervalMs: number;
}>('rateBudgetState');

export const RENEW_AFTER = 500;
export const MAX_SLOTS_PER_RESERVATION = 10;

function validTerms(t: RateBudgetTerms): boolean {
  return Number.isFinite(t.intervalMs) && t.intervalMs > 0 && t.shareOfBudget > 0 && t.shareOfBudget <= 1;
}

export async function rateBudgetWorkflow(input: RateBudgetInput): Promise<void> {
  let terms: RateBudgetTerms = { intervalMs: input.intervalMs, shareOfBudget: input.shareOfBudget };
  // Start times of the slots reserved and not yet past, ascending.
  let reserved = input.carried?.reserved ?? [];
  let sharePointer = input.carried?.sharePointer ?? 0;
  const granted: Record<SlotClass, number> = input.carried?.granted ?? { priority: 0, share: 0 };
  const renewAfter = input.renewAfter ?? RENEW_AFTER;
  let reservations = 0;
  let renewing = false;

  /** The first slot at or after `from` that is at least one interval from every reserved slot. */
  function firstFree(from: number): number {
    let at = from;
    for (const r of reserved) {
      if (r + terms.intervalMs <= at) continue;
      if (r >= at + terms.intervalMs) break;
      at = r + terms.intervalMs;
    }
    return at;
  }

  setHandler(
    reserveSlotsUpdate,
    (req: ReserveRequest): Reservation => {
      terms = { intervalMs: req.intervalMs, shareOfBudget: req.shareOfBudget };
      const now = Date.now();
      reserved = reserved.filter((r) => r + terms.intervalMs > now);
      const startsInMs: number[] = [];
      for (let i = 0; i < req.slots; i++) {
        const at = firstFree(req.slotClass === 'share' ? Math.max(now, sharePointer) : now);
        if (req.slotClass === 'share') sharePointer = at + terms.intervalMs / terms.shareOfBudget;
        reserved.push(at);
        reserved.sort((a, b) => a - b);
        startsInMs.push(Math.ceil(at - now));
      }
      startsInMs.sort((a, b) => a - b);
      granted[req.slotClass] += req.slots;
      reservations++;
      return { startsInMs, intervalMs: terms.intervalMs };
    },
    {
      validator: (req: ReserveRequest) => {
        if (renewing) throw new Error('the budget is renewing itself: ask again');
        if (!validTerms(req)) throw new Error('a budget needs a positive interval and a share in (0, 1]');
        if (req.slotClass !== 'priority' && req.slotClass !== 'share') throw new Error(`unknown slot class`);
        if (!Number.isInteger(req.slots) || req.slots < 1 || req.slots > MAX_SLOTS_PER_RESERVATION) {
          throw new Error(`reserve 1 to ${MAX_SLOTS_PER_RESERVATION} slots, not ${req.slots}`);
        }
      },
    },
  );
  setHandler(rateBudgetStateQuery, () => ({
    granted: { ...granted },
    reservedAhead: reserved.filter((r) => r >= Date.now()).length,
    intervalMs: terms.intervalMs,
  }));

  await condition(() => reservations >= renewAfter || workflowInfo().continueAsNewSuggested);
  renewing = true;
  await condition(allHandlersFinished);
  await continueAsNew<typeof rateBudgetWorkflow>({
    ...terms,
    renewAfter: input.renewAfter,
    carried: { reserved, sharePointer, granted },
  });
}
