// Started by the `despatch-sweep` Temporal Schedule (see workers/recurring.ts): one sweep over the
// warehouse's recent despatches. Short-lived; the Schedule skips a run while the previous one is going.
import { proxyActivities } from '@temporalio/workflow';
import type { DespatchSweepActivities, SweepResult } from '../activities/despatch-sweep';

export interface DespatchSweepInput {
  lookbackMinutes: number;
  /** Peoplevox task queue (rate-limited for the whole cluster). */
  taskQueue: string;
}

export async function despatchSweepWorkflow(input: DespatchSweepInput): Promise<SweepResult> {
  const acts = proxyActivities<Pick<DespatchSweepActivities, 'sweepDespatches'>>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '15m',
    heartbeatTimeout: '2m',
    retry: { initialInterval: '5s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 10 },
  });
  return acts.sweepDespatches({ lookbackMinutes: input.lookbackMinutes });
}
