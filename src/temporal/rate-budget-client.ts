// The client side of a server-kept rate budget (workflows/rate-budget.ts): each process reserves call slots from
// the one budget workflow, waits for a slot's start, and calls. Reservations are sized to the process's recent
// demand (one slot when calls are rare, up to ten when a pager is reading fast), so the budget workflow sees a
// few updates a second at most. A slot not used within a quarter interval of its start is given up: calls from
// different processes never bunch. When the Temporal server cannot be reached the caller waits and asks again,
// and after `giveUpAfterMs` the call fails retryably (the activity's own retry takes over).
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import {
  MAX_SLOTS_PER_RESERVATION,
  rateBudgetWorkflow,
  reserveSlotsUpdate,
  type RateBudgetTerms,
  type SlotClass,
} from '../../workflows/rate-budget';

/** What a connector waits on before each request. */
export interface CallPacer {
  take(): Promise<void>;
}

/** A documented limit of `max` calls in any `windowMs` as slot terms (see workflows/rate-budget.ts). */
export function slotIntervalMs(limit: { max: number; windowMs: number }): number {
  // Slots window / (max - 1) apart, used at most a quarter interval late (plus a quarter for the answer's
  // travel), so any window holds at most floor(window / interval + 1/2) + 1 = max of them.
  return limit.windowMs / Math.max(1, limit.max - 1);
}

export interface ServerRateBudgetOptions {
  client: Client;
  workflowId: string;
  taskQueue: string;
  slotClass: SlotClass;
  terms: RateBudgetTerms;
  /** Fail a take after this long without a slot (the server unreachable); default 60 s. */
  giveUpAfterMs?: number;
  onError?: (err: unknown) => void;
  now?: () => number;
}

export class RateBudgetUnavailableError extends Error {
  constructor(
    readonly workflowId: string,
    cause: unknown,
  ) {
    super(
      `no call slot from the shared rate budget ${workflowId}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'RateBudgetUnavailableError';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export class ServerRateBudget implements CallPacer {
  /** Local start times of the slots this process holds, ascending. */
  private slots: number[] = [];
  private chain: Promise<void> = Promise.resolve();
  private waiting = 0;
  /** When recent takes happened (the last second), to size the next reservation. */
  private recent: number[] = [];
  private readonly now: () => number;
  reservations = 0;

  constructor(private readonly opts: ServerRateBudgetOptions) {
    this.now = opts.now ?? Date.now;
  }

  take(): Promise<void> {
    this.waiting++;
    const turn = this.chain.then(() => this.next()).finally(() => this.waiting--);
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  private async next(): Promise<void> {
    const grace = this.opts.terms.intervalMs / 4;
    for (;;) {
      const now = this.now();
      while (this.slots.length > 0 && this.slots[0]! + grace < now) this.slots.shift();
      const slot = this.slots.shift();
      if (slot !== undefined) {
        if (slot > now) await sleep(slot - now);
        const at = this.now();
        if (at > slot + grace) continue; // the timer fired late: the slot is gone
        this.recent.push(at);
        return;
      }
      await this.reserve();
    }
  }

  private demand(): number {
    const now = this.now();
    this.recent = this.recent.filter((t) => now - t < 1000);
    return Math.min(MAX_SLOTS_PER_RESERVATION, Math.max(1, this.waiting, this.recent.length));
  }

  private async reserve(): Promise<void> {
    const started = this.now();
    let delay = 50;
    for (;;) {
      try {
        const slots = this.demand();
        const res = await this.opts.client.workflow.executeUpdateWithStart(reserveSlotsUpdate, {
          args: [{ ...this.opts.terms, slots, slotClass: this.opts.slotClass }],
          startWorkflowOperation: new WithStartWorkflowOperation(rateBudgetWorkflow, {
            workflowId: this.opts.workflowId,
            taskQueue: this.opts.taskQueue,
            args: [{ ...this.opts.terms }],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        });
        const at = this.now();
        this.slots.push(...res.startsInMs.map((ms) => at + ms));
        this.slots.sort((a, b) => a - b);
        this.reservations++;
        return;
      } catch (err) {
        this.opts.onError?.(err);
        if (this.now() - started >= (this.opts.giveUpAfterMs ?? 60_000)) {
          throw new RateBudgetUnavailableError(this.opts.workflowId, err);
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }
}

/** A pacer to be chosen later (a process's connectors exist before its Temporal client does). */
export class DeferredPacer implements CallPacer {
  private target: CallPacer;
  constructor(fallback: CallPacer) {
    this.target = fallback;
  }
  use(pacer: CallPacer) {
    this.target = pacer;
  }
  get current(): CallPacer {
    return this.target;
  }
  take(): Promise<void> {
    return this.target.take();
  }
}
