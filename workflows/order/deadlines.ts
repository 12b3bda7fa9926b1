// Deadlines: at the configured fractions of the acceptance and shipping windows ops hear which order is at risk
// and what is missing; at the deadline itself ACCEPTANCE_DEADLINE_PASSED / SHIPPING_DEADLINE_PASSED is raised
// (at once for an order that arrives already late). Timers run beside the main flow and never block it; they
// are armed again after continue-as-new and whenever the marketplace moves a deadline.
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import { describeUnshipped } from '../../src/domain/despatch';
import { makeException } from '../../src/domain/reasons';
import type { OrderRun } from './run';

type Kind = 'acceptance' | 'shipping';

interface Armed {
  deadline: string;
  scope: CancellationScope;
}

export class Deadlines {
  private readonly armed = new Map<Kind, Armed>();

  constructor(private readonly run: OrderRun) {}

  /**
   * Arms the alerts of one deadline (again, when it moved). `startedAt` is when the window opened; `done` says
   * the order no longer needs the deadline (accepted, fully shipped).
   */
  arm(kind: Kind, deadline: string | undefined, startedAt: number, done: () => boolean): void {
    if (!deadline) return;
    const current = this.armed.get(kind);
    if (current?.deadline === deadline) return;
    current?.scope.cancel();
    const scope = new CancellationScope({ cancellable: true });
    this.armed.set(kind, { deadline, scope });
    const { run } = this;
    const end = new Date(deadline).getTime();
    const fractions = [...run.settings.alertAtFractions, ...(run.v2 ? [1] : [])];
    run.chainedDeadlineTimers ??= run.has('deadline-timers-chained');
    if (run.chainedDeadlineTimers) {
      // One timer at a time per deadline, each started when the one before it fired, and none once the order no
      // longer needs the deadline (an order used to start all three at once: 6.45 timers an order in
      // bench:orders, each started and most cancelled in its history). Alerts still go out beside the chain.
      const due = fractions
        .map((fraction) => ({ fraction, at: fraction === 1 ? end : startedAt + (end - startedAt) * fraction }))
        .filter((d) => d.fraction === 1 || d.at > Date.now());
      void scope
        .run(async () => {
          for (const d of due) {
            const delay = d.at - Date.now();
            if (delay > 0) await sleep(delay);
            if (done()) return;
            void this.raise(kind, deadline, d.fraction, done).catch((e: unknown) => {
              if (!isCancellation(e)) throw e;
            });
          }
        })
        .catch((e: unknown) => {
          if (!isCancellation(e)) throw e;
        });
      return;
    }
    for (const fraction of fractions) {
      const at = fraction === 1 ? end : startedAt + (end - startedAt) * fraction;
      const delay = at - Date.now();
      // Only the deadline itself is raised late (an order that arrives late); earlier fractions are moot then.
      if (delay <= 0 && fraction !== 1) continue;
      void scope
        .run(async () => {
          if (delay > 0) await sleep(delay);
          await this.raise(kind, deadline, fraction, done);
        })
        .catch((e: unknown) => {
          if (!isCancellation(e)) throw e;
        });
    }
  }

  private async raise(kind: Kind, deadline: string, fraction: number, done: () => boolean): Promise<void> {
    const { run } = this;
    const { state } = run;
    if (done() || state.status === 'CANCELLED' || state.status === 'REFUSED') return;
    const pct = Math.round(fraction * 100);
    // Keyed by the deadline too (v2): when the marketplace moves it, the new one is alerted on its own.
    const key = run.v2 ? `${kind}:${deadline}:${pct}` : `${kind}:${pct}`;
    if (state.alertsSent.includes(key)) return;
    state.alertsSent.push(key);
    const parked = state.exception ? ` (the order is parked: ${state.exception.reason})` : '';
    const missing = kind === 'acceptance' ? 'it is not accepted yet' : describeUnshipped(state.lines);
    if (fraction === 1) {
      const exc = makeException(
        kind === 'acceptance' ? 'ACCEPTANCE_DEADLINE_PASSED' : 'SHIPPING_DEADLINE_PASSED',
        { orderId: state.orderId, deadline, missing: `${missing}${parked}` },
        Date.now(),
      );
      state.deadlinesPassed = [...(state.deadlinesPassed ?? []), `${kind}:${deadline}`];
      run.note('deadline passed', exc.message);
      await run.alert({
        key: `deadline:${state.channel}:${state.orderId}:${key}`,
        kind: 'deadline',
        reason: exc.reason,
        owner: exc.owner,
        message: exc.message,
      });
      return;
    }
    await run.alert({
      key: `deadline:${state.channel}:${state.orderId}:${key}`,
      kind: 'deadline',
      owner: 'ops',
      message: `Order ${state.orderId} (${state.channel}): ${pct}% of the ${kind} window has passed (deadline ${deadline}) and ${missing}${parked}.`,
    });
  }
}
