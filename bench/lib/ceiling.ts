// The engine ceiling: the same orders, started the same way, through a workflow of the same shape whose
// activities do nothing (ceiling-workflow.ts), on three fresh task queues of the same Temporal server.
// Orders per second here is what Temporal itself allows on this machine; the ratio to the real run is our
// overhead (connectors, simulators, rate limits, retries after injected faults, intake polling).
import { DefaultLogger, Worker, bundleWorkflowCode, type NativeConnection } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../../src/temporal/data-converter';
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import {
  ceilingActivities,
  ceilingDespatchSignal,
  ceilingOrderWorkflow,
  ceilingUpdatedSignal,
  type CeilingInput,
} from './ceiling-workflow';
import { CHANNELS, type OrderPlan } from './traffic';
import { inParallel } from './in-parallel';

export interface CeilingResult {
  orders: number;
  seconds: number;
  ordersPerSec: number;
  /** Activity calls and signals per order, as the ceiling workflow made them (for the record). */
  activitiesPerOrder: number;
  signalsPerOrder: number;
}

export async function runCeiling(opts: {
  client: Client;
  connection: NativeConnection;
  namespace: string;
  plans: OrderPlan[];
  log?: (line: string) => void;
}): Promise<CeilingResult> {
  const { client, plans } = opts;
  const suffix = randomUUID().slice(0, 8);
  const q = {
    orders: `ceiling-orders-${suffix}`,
    acknowledge: `ceiling-ack-${suffix}`,
    peoplevox: `ceiling-pvx-${suffix}`,
  };
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./ceiling-workflow'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
  const base = { connection: opts.connection, namespace: opts.namespace };
  const workers = await Promise.all([
    Worker.create({ ...base, taskQueue: q.orders, workflowBundle, activities: ceilingActivities }),
    Worker.create({ ...base, taskQueue: q.acknowledge, activities: ceilingActivities }),
    Worker.create({ ...base, taskQueue: q.peoplevox, activities: ceilingActivities }),
  ]);
  const running = workers.map((w) => w.run());
  const ids: string[] = [];
  let activities = 0;
  let signals = 0;
  try {
    const started = Date.now();
    await inParallel(plans, 12, async (plan, i) => {
      const parcels = plan.calls.flat().length;
      const confirmations = CHANNELS[plan.channel].multiShipment ? parcels : 1;
      const input: CeilingInput = {
        channel: plan.channel,
        orderId: plan.orderId,
        taskQueues: { acknowledge: q.acknowledge, peoplevox: q.peoplevox },
        parcels,
        confirmations,
        order: plan,
      };
      activities += 7 + parcels + confirmations;
      signals += 2 + parcels;
      const workflowId = `ceiling:${suffix}:${i}`;
      ids.push(workflowId);
      // As the intake does: signal-with-start carrying the order, then the update that lets it ship; then
      // the warehouse's notices, one per parcel.
      const handle = await client.workflow.signalWithStart(ceilingOrderWorkflow, {
        workflowId,
        taskQueue: q.orders,
        args: [input],
        signal: ceilingUpdatedSignal,
        signalArgs: [{ state: 'WAITING_ACCEPTANCE' }],
      });
      await handle.signal(ceilingUpdatedSignal, { state: 'SHIPPING' });
      for (let p = 0; p < parcels; p++) await handle.signal(ceilingDespatchSignal, { despatchNumber: `D${p}` });
    });
    opts.log?.(`ceiling: started ${plans.length} workflows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    let first = Infinity;
    let last = -Infinity;
    let open = ids;
    while (open.length > 0) {
      const still: string[] = [];
      await inParallel(open, 16, async (id) => {
        const d = await client.workflow.getHandle(id).describe();
        if (d.status.name === 'RUNNING') {
          still.push(id);
          return;
        }
        if (d.status.name !== 'COMPLETED') throw new Error(`ceiling workflow ${id} ended ${d.status.name}`);
        first = Math.min(first, d.startTime.getTime());
        last = Math.max(last, (d.closeTime ?? new Date()).getTime());
      });
      open = still;
      if (open.length > 0) await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = (last - first) / 1000;
    return {
      orders: plans.length,
      seconds,
      ordersPerSec: plans.length / seconds,
      activitiesPerOrder: activities / plans.length,
      signalsPerOrder: signals / plans.length,
    };
  } finally {
    for (const w of workers) w.shutdown();
    await Promise.allSettled(running);
  }
}
