// Bench only: the worker end of the engine ceiling's sink (ceiling-workflow.ts, CeilingSinks). When a ceiling
// workflow says what it waits for, the worker sends it, as the real systems would: the update that lets the order
// ship (the intake, after the marketplace's debit), the warehouse gateway's answer, and the despatch notices (one
// per parcel, in a row, as the gateway's shared read finds an order's parcels together). Sent without holding up
// the workflow task that asked (the signal then wakes the workflow as a task of its own); a signal that cannot be
// sent is counted and written to stderr, and the ceiling's run fails for it (ceiling.ts).
import type { Client } from '@temporalio/client';
import type { InjectedSinks } from '@temporalio/worker';
import {
  ceilingDespatchSignal,
  ceilingUpdatedSignal,
  ceilingWarehouseResultSignal,
  type CeilingSinks,
} from './ceiling-workflow';

export interface CeilingSinkStats {
  sent: number;
  failed: number;
}

export function ceilingSinks(
  client: Client,
  stats: CeilingSinkStats = { sent: 0, failed: 0 },
): InjectedSinks<CeilingSinks> {
  return {
    ceiling: {
      waiting: {
        fn(info, wait, orderId, parcels) {
          const handle = client.workflow.getHandle(info.workflowId);
          const send = async () => {
            if (wait === 'may-ship') await handle.signal(ceilingUpdatedSignal, { state: 'SHIPPING' });
            else if (wait === 'warehouse-answer')
              await handle.signal(ceilingWarehouseResultSignal, { salesOrderNumber: orderId });
            else
              for (let p = 0; p < parcels; p++) await handle.signal(ceilingDespatchSignal, { despatchNumber: `D${p}` });
            stats.sent += 1;
          };
          send().catch((err: unknown) => {
            stats.failed += 1;
            process.stderr.write(`ceiling: signal (${wait}) to ${info.workflowId} failed: ${String(err)}\n`);
          });
        },
        callDuringReplay: false,
      },
    },
  };
}
