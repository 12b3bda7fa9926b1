// Started by the `return-receipts` Temporal Schedule (workers/recurring.ts) and by the Peoplevox Returns event:
// a read of the warehouse's Return summary for a look-back window, each receipt of a warehouse-driven channel
// handed to its order (activities/returns-intake.ts). Short-lived.
// The events share one run (signal-with-start of `receiptsBookedSignal` on one id): an event that comes while a
// read is under way asks for one more read after it (at least `minGapMs` after the last began), so a receipt
// booked just after the report was read is never left to the scheduled backstop; a burst of events costs one
// read more, not one each.
import { defineSignal, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { ReceiptSweepResult, ReturnIntakeActivities } from '../activities/returns-intake';

export interface ReturnReceiptsSweepInput {
  lookbackMinutes: number;
  /** The Peoplevox bulk task queue (reads; rate-limited for the whole cluster). */
  taskQueue: string;
  /** Between two reads of one run (events that came during a read); default 2 s. */
  minGapMs?: number;
}

/** A Returns event from the warehouse: something was booked in; read the Return summary (again). */
export const receiptsBookedSignal = defineSignal('receiptsBooked');

export async function returnReceiptsSweepWorkflow(input: ReturnReceiptsSweepInput): Promise<ReceiptSweepResult> {
  const acts = proxyActivities<Pick<ReturnIntakeActivities, 'sweepReturnReceipts'>>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '15m',
    heartbeatTimeout: '2m',
    retry: { initialInterval: '5s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 10 },
  });
  // The signal that came with the start is answered by the first read; any later one asks for a read after it.
  let armed = false;
  let again = false;
  setHandler(receiptsBookedSignal, () => {
    if (armed) again = true;
  });
  armed = true;
  let startedAt = Date.now();
  const total: ReceiptSweepResult = await acts.sweepReturnReceipts({ lookbackMinutes: input.lookbackMinutes });
  while (again) {
    again = false;
    await sleep(Math.max(0, startedAt + (input.minGapMs ?? 2_000) - Date.now()));
    startedAt = Date.now();
    const r = await acts.sweepReturnReceipts({ lookbackMinutes: input.lookbackMinutes });
    total.receipts += r.receipts;
    total.handedOver += r.handedOver;
    total.known += r.known;
    total.otherRoutes += r.otherRoutes;
    total.unowned += r.unowned;
  }
  return total;
}
