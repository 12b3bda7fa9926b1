// A rate budget the Temporal server keeps for every process at once: one workflow per tenant of a rate-limited
// system (Peoplevox: about 15 requests in any 15 s) leases its capacity out as lanes. A documented limit of `max`
// calls in any window is `max` lanes; a process holding k lanes makes at most k calls in any `windowMs` (its own
// sliding window, a little longer than the documented one: src/temporal/rate-budget-client.ts), so however many
// replicas run, together they make at most `max`. No call waits on the server: a process renews its lease every
// third of `leaseMs` and paces itself inside it.
//
// Lanes go where the demand is (each holder says how many it could use): order-critical holders (`priority`)
// share what the reads leave; reads (`share`: despatches, stock, item codes, the audit) hold at most
// `readShare` of the lanes, and always at least one when they want one, so despatches are never starved. Within a
// class, lanes are split max-min fairly. A holder asked to give lanes back does so at its next renewal; a lane
// given back, or left by a holder whose lease ran out (a killed process), is handed on only a window (plus
// `graceMs` for the answer's travel) after its last possible use. Holders that renew with nothing to do give
// their lanes back.
//
// Continues-as-new with its lanes and holders when the server suggests it or after `renewAfter` requests. Ends by
// itself once nobody has held or asked for a lane for a lease, a window and the grace together (every lane is then
// free): the next request starts it afresh, and a budget nobody uses costs nothing.
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
  /** Calls allowed in any window: the number of lanes. */
  lanes: number;
  /** The window each holder keeps its k calls inside (the documented window plus a margin). */
  windowMs: number;
  /** The part of the lanes reads may hold (0 < readShare ≤ 1). */
  readShare: number;
  /** How long a lease lasts unless renewed. */
  leaseMs: number;
  /** Added to a window before a lane given back is handed on (the answer's travel time). */
  graceMs: number;
}

export type LaneClass = 'priority' | 'share';

export interface LeaseRequest extends RateBudgetTerms {
  /** One holder per process and class (host, pid, a random part, the class). */
  holder: string;
  laneClass: LaneClass;
  /** Lanes the holder could use now (0: give every lane back). */
  want: number;
}

export interface Lease {
  /** For each lane held, when it may be used (milliseconds after the answer; 0 = now). */
  usableInMs: number[];
  /** The lease ends this long after the request unless renewed. */
  expiresInMs: number;
}

interface Lane {
  holder: string | null;
  /** When a lane nobody holds may be used again (server time). */
  freeAt: number;
}
interface Holder {
  laneClass: LaneClass;
  want: number;
  expires: number;
}

export interface RateBudgetInput extends RateBudgetTerms {
  renewAfter?: number;
  carried?: { lanes: Lane[]; holders: Array<[string, Holder]>; requests: number };
}

/** Ask for (or renew, or give back) a lease. Rejected while the budget renews itself: ask again. */
export const leaseLanesUpdate = defineUpdate<Lease, [LeaseRequest]>('leaseLanes');
/** Who holds what, for the dashboard and the tests. */
export const rateBudgetStateQuery = defineQuery<{
  lanes: number;
  held: Record<string, { laneClass: LaneClass; lanes: number; want: number }>;
  requests: number;
}>('rateBudgetState');

export const RENEW_AFTER = 500;

/** Max-min fair split of `capacity` among `wants` (in order), each getting at most what it wants. */
export function fairSplit(capacity: number, wants: readonly number[]): number[] {
  const out = wants.map(() => 0);
  let left = capacity;
  let open = wants.map((_, i) => i).filter((i) => wants[i]! > 0);
  while (left > 0 && open.length > 0) {
    const each = Math.max(1, Math.floor(left / open.length));
    for (const i of open) {
      if (left === 0) break;
      const give = Math.min(each, wants[i]! - out[i]!, left);
      out[i]! += give;
      left -= give;
    }
    open = open.filter((i) => out[i]! < wants[i]!);
  }
  return out;
}

function validTerms(t: RateBudgetTerms): boolean {
  return (
    Number.isInteger(t.lanes) &&
    t.lanes >= 1 &&
    t.lanes <= 1000 &&
    t.windowMs > 0 &&
    t.readShare > 0 &&
    t.readShare <= 1 &&
    t.leaseMs > 0 &&
    t.graceMs >= 0
  );
}

export async function rateBudgetWorkflow(input: RateBudgetInput): Promise<void> {
  let terms: RateBudgetTerms = {
    lanes: input.lanes,
    windowMs: input.windowMs,
    readShare: input.readShare,
    leaseMs: input.leaseMs,
    graceMs: input.graceMs,
  };
  let lanes: Lane[] = input.carried?.lanes ?? Array.from({ length: terms.lanes }, () => ({ holder: null, freeAt: 0 }));
  const holders = new Map<string, Holder>(input.carried?.holders ?? []);
  let requests = input.carried?.requests ?? 0;
  const renewAfter = input.renewAfter ?? RENEW_AFTER;
  let sinceStart = 0;
  let renewing = false;

  const handOnAt = (lastUse: number) => lastUse + terms.windowMs + terms.graceMs;
  function release(lane: Lane, lastUse: number) {
    lane.holder = null;
    lane.freeAt = Math.max(lane.freeAt, handOnAt(lastUse));
  }

  function retune(next: RateBudgetTerms, now: number) {
    const changed = next.lanes !== terms.lanes || next.windowMs !== terms.windowMs;
    terms = next;
    if (!changed) return;
    // A new limit: every lane starts afresh once anything used under the old terms is out of every window.
    const quiet = now + next.leaseMs + next.windowMs + next.graceMs;
    lanes = Array.from({ length: next.lanes }, () => ({ holder: null, freeAt: quiet }));
  }

  setHandler(
    leaseLanesUpdate,
    (req: LeaseRequest): Lease => {
      const now = Date.now();
      retune(
        {
          lanes: req.lanes,
          windowMs: req.windowMs,
          readShare: req.readShare,
          leaseMs: req.leaseMs,
          graceMs: req.graceMs,
        },
        now,
      );
      requests++;
      sinceStart++;
      // Leases that ran out: their lanes are handed on a window after the lease's end.
      for (const [id, h] of holders) {
        if (h.expires > now) continue;
        holders.delete(id);
        for (const lane of lanes) if (lane.holder === id) release(lane, h.expires);
      }
      const mine = () => lanes.filter((l) => l.holder === req.holder);
      if (req.want <= 0) {
        holders.delete(req.holder);
        for (const lane of mine()) release(lane, now);
        return { usableInMs: [], expiresInMs: 0 };
      }
      holders.set(req.holder, { laneClass: req.laneClass, want: req.want, expires: now + terms.leaseMs });

      // Targets: reads their capped, fair part; order-critical holders the rest.
      const ids = [...holders.keys()];
      const reads = ids.filter((id) => holders.get(id)!.laneClass === 'share');
      const prio = ids.filter((id) => holders.get(id)!.laneClass === 'priority');
      const readCap = Math.max(1, Math.floor(terms.lanes * terms.readShare));
      const readWants = reads.map((id) => Math.min(holders.get(id)!.want, readCap));
      const readSplit = fairSplit(readCap, readWants);
      const readTotal = readSplit.reduce((a, b) => a + b, 0);
      const prioSplit = fairSplit(
        terms.lanes - readTotal,
        prio.map((id) => holders.get(id)!.want),
      );
      const target =
        req.laneClass === 'share' ? readSplit[reads.indexOf(req.holder)]! : prioSplit[prio.indexOf(req.holder)]!;

      const held = mine();
      if (held.length > target) {
        for (const lane of held.slice(target)) release(lane, now);
      } else if (held.length < target) {
        const free = lanes.filter((l) => l.holder === null).sort((a, b) => a.freeAt - b.freeAt);
        for (const lane of free.slice(0, target - held.length)) lane.holder = req.holder;
      }
      return {
        usableInMs: mine()
          .map((l) => Math.max(0, Math.ceil(l.freeAt - now)))
          .sort((a, b) => a - b),
        expiresInMs: terms.leaseMs,
      };
    },
    {
      validator: (req: LeaseRequest) => {
        if (renewing) throw new Error('the budget is renewing itself: ask again');
        if (!validTerms(req)) throw new Error('invalid budget terms');
        if (req.laneClass !== 'priority' && req.laneClass !== 'share') throw new Error('unknown lane class');
        if (typeof req.holder !== 'string' || req.holder.length === 0 || req.holder.length > 200) {
          throw new Error('a lease needs a holder');
        }
        if (!Number.isInteger(req.want) || req.want < 0) throw new Error('want must be a whole number of lanes');
      },
    },
  );
  setHandler(rateBudgetStateQuery, () => {
    const held: Record<string, { laneClass: LaneClass; lanes: number; want: number }> = {};
    for (const [id, h] of holders) {
      held[id] = { laneClass: h.laneClass, want: h.want, lanes: lanes.filter((l) => l.holder === id).length };
    }
    return { lanes: terms.lanes, held, requests };
  });

  let lastRequestAt = Date.now();
  const renewDue = () => sinceStart >= renewAfter || workflowInfo().continueAsNewSuggested;
  for (;;) {
    const quietMs = terms.leaseMs + terms.windowMs + terms.graceMs;
    const seen = requests;
    if (await condition(renewDue, quietMs)) break;
    const now = Date.now();
    if (requests !== seen) lastRequestAt = now;
    const anyHeld = [...holders.values()].some((h) => h.expires > now);
    if (!anyHeld && now - lastRequestAt >= quietMs) {
      // Idle: refuse new requests (their holders ask again and start a fresh run), let running handlers finish.
      renewing = true;
      await condition(allHandlersFinished);
      return;
    }
  }
  renewing = true;
  await condition(allHandlersFinished);
  await continueAsNew<typeof rateBudgetWorkflow>({
    ...terms,
    renewAfter: input.renewAfter,
    carried: { lanes, holders: [...holders], requests },
  });
}
