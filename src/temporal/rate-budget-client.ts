// The process side of a server-kept rate budget (workflows/rate-budget.ts). A holder leases lanes from the budget
// workflow and keeps, on its own clock, at most one call per lane "in the air" in any `windowMs`: a call counts from
// the moment it starts until a window after it ended, because it reaches the system somewhere in between — so
// however late a request leaves (a busy event loop) or arrives, no window on the system's side sees more calls than
// the lanes allow. No call waits on the server: the lease is renewed in the background every third of its length,
// sized to the demand of the last window (calls made plus callers waiting), and given back when there is none.
// Times from the server are taken conservatively: a lease ends `expiresInMs` after the request was sent, a lane
// becomes usable `usableInMs` after the answer arrived.
//
// When the Temporal server cannot be reached the holder keeps to the lease it has until it runs out, then waits and
// asks again; after `giveUpAfterMs` without lanes a call fails retryably (the activity's own retry takes over).
//
// A call may weigh more than one lane (Shopify: a query's cost in points, src/config/budget.ts shopifyBudget): it
// waits until that many of the holder's lanes are free in the window, and counts as that many until a window after
// it ended — or as its actual weight, when the system says after the answer that it charged less. A call heavier
// than its class can ever hold is counted as the class's whole part (the bucket's margin absorbs the difference).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import {
  leaseLanesUpdate,
  rateBudgetWorkflow,
  type Lease,
  type LaneClass,
  type RateBudgetTerms,
} from '../../workflows/rate-budget';

/**
 * What a connector waits on before each request. `take` may resolve to a function the caller runs when the request
 * is over (answered or failed), for pacers that count a call until it has surely reached the system. `weight`: the
 * lanes the call takes (default 1); the function may be given the weight actually charged, when known.
 */
export interface CallPacer {
  take(weight?: number): Promise<((actualWeight?: number) => void) | void>;
}

export interface LeasedBudgetOptions {
  client: Client;
  workflowId: string;
  taskQueue: string;
  laneClass: LaneClass;
  terms: RateBudgetTerms;
  /** Fail a take after this long without a usable lane; default 60 s. */
  giveUpAfterMs?: number;
  /** How long one lease request may take (default a third of a lease, within 2–10 s). */
  requestTimeoutMs?: number;
  onError?: (err: unknown) => void;
}

export class RateBudgetUnavailableError extends Error {
  constructor(
    readonly workflowId: string,
    cause: unknown,
  ) {
    super(
      `no lane from the shared rate budget ${workflowId}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'RateBudgetUnavailableError';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export class LeasedBudget implements CallPacer {
  readonly holder: string;
  /** Local times from which each held lane may be used. */
  private lanes: number[] = [];
  private expiresAt = 0;
  /** Local end times (and weights) of the calls that ended inside the last window. */
  private ended: Array<{ at: number; weight: number }> = [];
  /** Weight of the calls in the air. */
  private inFlight = 0;
  /** Weight of the calls waiting for lanes. */
  private waiting = 0;
  private wake: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private renewal: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastError: unknown;
  private lastRequestAt = 0;
  private dead = false;
  /** Lease requests made (for tests and metrics). */
  requests = 0;

  constructor(private readonly opts: LeasedBudgetOptions) {
    this.holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}:${opts.laneClass}`;
  }

  /** Local time at which the lease held now ends (0 when none): the budget hands its lanes on no sooner. */
  get leaseEndsAt(): number {
    return this.expiresAt;
  }

  /** Lanes usable now. */
  capacity(now = Date.now()): number {
    if (now >= this.expiresAt) return 0;
    return this.lanes.filter((t) => t <= now).length;
  }

  /** The most lanes a holder of this class can ever hold: every lane, less what reads may hold (or that part). */
  private classLanes(): number {
    const { lanes, readShare } = this.opts.terms;
    const readCap = Math.max(1, Math.floor(lanes * readShare));
    return this.opts.laneClass === 'share' ? readCap : Math.max(1, lanes - readCap);
  }

  take(weight = 1): Promise<(actualWeight?: number) => void> {
    if (!Number.isInteger(weight) || weight < 1) {
      return Promise.reject(new Error(`a call takes a whole number of lanes, not ${weight}`));
    }
    const w = Math.min(weight, this.classLanes());
    this.waiting += w;
    const turn = this.chain.then(() => this.next(w)).finally(() => (this.waiting -= w));
    this.chain = turn.catch(() => undefined);
    return turn.then(() => {
      let over = false;
      return (actualWeight?: number) => {
        if (over) return;
        over = true;
        this.inFlight -= w;
        const counted =
          actualWeight !== undefined && Number.isFinite(actualWeight)
            ? Math.max(0, Math.min(w, Math.ceil(actualWeight)))
            : w;
        if (counted > 0) this.ended.push({ at: Date.now(), weight: counted });
        this.wake?.();
      };
    });
  }

  /** Lanes that count now: calls in the air, or ended less than a window ago. */
  private occupied(now: number): number {
    this.ended = this.ended.filter((e) => now - e.at < this.opts.terms.windowMs);
    return this.inFlight + this.ended.reduce((s, e) => s + e.weight, 0);
  }

  /** Sleeps until `ms` have passed or a call ends, whichever is first. */
  private nap(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private async next(weight: number): Promise<void> {
    const started = Date.now();
    const giveUpAfterMs = this.opts.giveUpAfterMs ?? 60_000;
    const { windowMs, leaseMs } = this.opts.terms;
    for (;;) {
      if (this.dead) throw new Error('this budget holder was abandoned');
      let now = Date.now();
      if (now >= this.expiresAt || this.lanes.length === 0) {
        // Nothing held, or the lease ran out: ask now; if still nothing, wait a little and ask again.
        if (now - started >= giveUpAfterMs) {
          throw new RateBudgetUnavailableError(this.opts.workflowId, this.lastError ?? 'no lane granted');
        }
        await this.renew();
        now = Date.now();
        if (now >= this.expiresAt || this.lanes.length === 0) {
          await sleep(Math.min(leaseMs / 3, 1000));
          continue;
        }
      }
      if (this.occupied(now) + weight <= this.capacity(now)) {
        this.inFlight += weight;
        this.schedule();
        return;
      }
      // A heavy call the lanes held have not made room for (others of its class busy too): fail retryably in time.
      if (weight > 1 && now - started >= giveUpAfterMs) {
        throw new RateBudgetUnavailableError(this.opts.workflowId, `no room for a call of ${weight} lanes`);
      }
      // More demand than lanes: ask for more now (at most every sixth of a lease, and never more than a second apart).
      if (this.want() > this.lanes.length && now - this.lastRequestAt >= Math.min(leaseMs / 6, 1000)) void this.renew();
      // Wait for a call to end or leave the window, a lane to become usable, an answer, or the lease to need renewing.
      const oldestOut = this.ended.length > 0 ? this.ended[0]!.at + windowMs : Infinity;
      const laneIn = Math.min(...this.lanes.filter((t) => t > now), Infinity);
      await this.nap(Math.min(oldestOut, laneIn, this.expiresAt) - now);
    }
  }

  /** Renew in the background every third of a lease while there is demand; give back once there is none. */
  private schedule() {
    if (this.timer || this.dead) return;
    const every = Math.max(50, this.opts.terms.leaseMs / 3);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.renew().finally(() => {
        if (this.lanes.length > 0) this.schedule();
      });
    }, every);
    this.timer.unref();
  }

  /**
   * Lanes to ask for: the calls of the last window and those waiting, plus half as many again (at least one), so
   * a caller that speeds up (one call after another at start-up) is not held to one more lane per renewal. Under
   * contention the fair split trims every holder to its share whatever it asks.
   */
  private want(): number {
    const now = Date.now();
    const demand = this.occupied(now) + this.waiting;
    if (demand === 0) return 0;
    return Math.min(this.opts.terms.lanes, demand + Math.max(1, Math.ceil(demand / 2)));
  }

  /** One lease request at a time; callers share it. */
  private renew(): Promise<void> {
    this.renewal ??= this.request().finally(() => {
      this.renewal = undefined;
    });
    return this.renewal;
  }

  private async request(): Promise<void> {
    const want = this.want();
    if (this.dead || (want === 0 && this.lanes.length === 0)) return;
    const sentAt = Date.now();
    this.lastRequestAt = sentAt;
    try {
      const lease = await this.ask(want);
      const at = Date.now();
      this.requests++;
      this.lanes = lease.usableInMs.map((ms) => at + ms);
      this.expiresAt = sentAt + lease.expiresInMs;
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err;
      this.opts.onError?.(err);
      // A lease that has run out holds nothing: with no answer, its lanes stop counting, and with nothing waiting
      // the background renewal stops (it renewed lanes it no longer had, every third of a lease, for as long as the
      // process lived: a budget workflow nobody serves any more, in a bench, piled updates up on the server).
      if (Date.now() >= this.expiresAt) this.lanes = [];
    } finally {
      this.wake?.();
    }
  }

  /**
   * One lease request, bounded in time: an update waits for a worker to take it, and with no worker polling the
   * budget's task queue (or a server that does not answer) it must fail rather than hold every caller.
   */
  private ask(want: number): Promise<Lease> {
    const timeoutMs = this.opts.requestTimeoutMs ?? Math.max(2_000, Math.min(this.opts.terms.leaseMs / 3, 10_000));
    const start = new WithStartWorkflowOperation(rateBudgetWorkflow, {
      workflowId: this.opts.workflowId,
      taskQueue: this.opts.taskQueue,
      args: [{ ...this.opts.terms }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    // The start's own promise fails with the request (a closed connection, the deadline): that failure is the
    // request's, handled by the caller, never an unhandled rejection.
    start.workflowHandle().catch(() => undefined);
    return this.opts.client.withDeadline(Date.now() + timeoutMs, () =>
      this.opts.client.workflow.executeUpdateWithStart(leaseLanesUpdate, {
        args: [{ ...this.opts.terms, holder: this.holder, laneClass: this.opts.laneClass, want }],
        startWorkflowOperation: start,
      }),
    );
  }

  /** Stops renewing without giving anything back (what a killed process does; for tests). */
  abandon(): void {
    this.dead = true;
    this.wake?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lanes = [];
    this.expiresAt = 0;
  }

  /** Gives every lane back (a process shutting down) and stops renewing; later takes fail. */
  async close(): Promise<void> {
    this.dead = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
    await this.renewal?.catch(() => undefined);
    if (this.lanes.length === 0) return;
    await this.ask(0).catch(() => undefined);
    this.lanes = [];
    this.expiresAt = 0;
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
  take(weight?: number): Promise<((actualWeight?: number) => void) | void> {
    return this.target.take(weight);
  }
}
