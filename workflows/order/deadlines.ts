// Deadline alerts: at the configured fractions of the acceptance and shipping windows, ops hear which order is
// at risk and what is missing. Timers run beside the main flow and never block it.
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import { describeUnshipped } from '../../src/domain/despatch';
import type { OrderRun } from './run';

export function startDeadlineAlerts(
  run: OrderRun,
  kind: 'acceptance' | 'shipping',
  deadline: string | undefined,
  startedAt: number,
  done: () => boolean,
): void {
  if (!deadline) return;
  const { state } = run;
  const end = new Date(deadline).getTime();
  for (const fraction of run.settings.alertAtFractions) {
    const at = startedAt + (end - startedAt) * fraction;
    const delay = at - Date.now();
    if (delay <= 0) continue;
    void CancellationScope.cancellable(async () => {
      await sleep(delay);
      if (done() || state.status === 'CANCELLED' || state.status === 'REFUSED') return;
      const key = `${kind}:${Math.round(fraction * 100)}`;
      if (state.alertsSent.includes(key)) return;
      state.alertsSent.push(key);
      const missing = kind === 'acceptance' ? 'it is not accepted yet' : describeUnshipped(state.lines);
      await run.alert({
        key: `deadline:${state.channel}:${state.orderId}:${key}`,
        kind: 'deadline',
        owner: 'ops',
        message: `Order ${state.orderId} (${state.channel}): ${Math.round(fraction * 100)}% of the ${kind} window has passed (deadline ${deadline}) and ${missing}.`,
      });
    }).catch((e: unknown) => {
      if (!isCancellation(e)) throw e;
    });
  }
}
