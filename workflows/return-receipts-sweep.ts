// Started by the `return-receipts` Temporal Schedule (workers/recurring.ts) and by the Peoplevox Returns event
// (the callback starts one run now): one read of the warehouse's Return summary for a look-back window, each
// receipt of a warehouse-driven channel handed to its order (activities/returns-intake.ts). Short-lived.
import { proxyActivities } from '@temporalio/workflow';
import type { ReceiptSweepResult, ReturnIntakeActivities } from '../activities/returns-intake';

export interface ReturnReceiptsSweepInput {
  lookbackMinutes: number;
  /** The Peoplevox bulk task queue (reads; rate-limited for the whole cluster). */
  taskQueue: string;
}

export async function returnReceiptsSweepWorkflow(input: ReturnReceiptsSweepInput): Promise<ReceiptSweepResult> {
  const acts = proxyActivities<Pick<ReturnIntakeActivities, 'sweepReturnReceipts'>>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '15m',
    heartbeatTimeout: '2m',
    retry: { initialInterval: '5s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 10 },
  });
  return acts.sweepReturnReceipts({ lookbackMinutes: input.lookbackMinutes });
}
