// The engine ceiling: the same orders, started the same way, through a workflow of the same shape whose
// activities do nothing (ceiling-workflow.ts), on three fresh task queues of the same Temporal server.
// Orders per second here is what Temporal itself allows on this machine; the ratio to the real run is our
// overhead (connectors, simulators, rate limits, retries after injected faults, intake polling).
import { Worker, type NativeConnection } from '@temporalio/worker';
import { bundleCeiling } from './ceiling-bundle';
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { ceilingSinks } from './ceiling-sinks';
import {
  ceilingActivities,
  ceilingDespatchSignal,
  ceilingOrderWorkflow,
  ceilingUpdatedSignal,
  ceilingWarehouseResultSignal,
  type CeilingInput,
  type CeilingSignals,
} from './ceiling-workflow';
import { CHANNELS, type OrderPlan } from './traffic';
import { inParallel } from './in-parallel';
import { cpuSeconds, rssMb, type LooplineProcess } from './processes';
import { startWorkerScript } from './worker-processes';

/** How long the ceiling may go without a workflow closing before it is called stalled. */
const STALL_MS = 180_000;

export interface CeilingResult {
  orders: number;
  seconds: number;
  ordersPerSec: number;
  /** Activity calls and signals per order, as the ceiling workflow made them (for the record). */
  activitiesPerOrder: number;
  signalsPerOrder: number;
  /** With worker processes: each one's peak VmRSS in MB, by task queue role. */
  workerRssMbPeak?: Record<string, number>;
  /** With worker processes: CPU seconds each used from the first order started to the last one closed. */
  workerCpuSeconds?: Record<string, number>;
  /** The ceiling's workflow ids, for reading histories. */
  workflowIds: string[];
}

export async function runCeiling(opts: {
  client: Client;
  connection: NativeConnection;
  namespace: string;
  plans: OrderPlan[];
  log?: (line: string) => void;
  /**
   * Run the ceiling's workers in child processes (bench/lib/ceiling-worker.ts), one per task queue, as the real
   * run's workers ran (bench/lib/worker-processes.ts); otherwise in this process.
   */
  workerProcesses?: { temporalAddress: string; logDir: string };
  /** When the signals come (ceiling-workflow.ts): in sequence (default) or all at the start, as before 2026-12-07. */
  signals?: CeilingSignals;
}): Promise<CeilingResult> {
  const signalMode = opts.signals ?? 'in-sequence';
  const { client, plans } = opts;
  const suffix = randomUUID().slice(0, 8);
  const q = {
    orders: `ceiling-orders-${suffix}`,
    acknowledge: `ceiling-ack-${suffix}`,
    inventory: `ceiling-inv-${suffix}`,
  };
  let workers: Worker[] = [];
  let processes: Array<{ role: string; p: LooplineProcess }> = [];
  const rssPeak: Record<string, number> = {};
  const cpuAt = () => Object.fromEntries(processes.map(({ role, p }) => [role, cpuSeconds(p.child.pid) ?? 0]));
  let sampler: NodeJS.Timeout | undefined;
  const wp = opts.workerProcesses;
  if (wp) {
    processes = (
      [
        ['orders', q.orders, 'workflows'],
        ['acknowledge', q.acknowledge],
        ['inventory', q.inventory],
      ] as const
    ).map(([role, queue, what]) => ({
      role,
      p: startWorkerScript({
        name: `ceiling-${role}-${suffix}`,
        script: 'bench/lib/ceiling-worker.ts',
        args: what ? [queue, what] : [queue],
        temporalAddress: wp.temporalAddress,
        logDir: wp.logDir,
      }),
    }));
    const ready = await Promise.allSettled(processes.map(({ p }) => p.ready));
    const failed = ready.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    if (failed.length > 0) {
      await Promise.all(processes.map(({ p }) => p.stop()));
      throw new Error(`ceiling workers did not start:\n${failed.join('\n')}`);
    }
    const sample = () => {
      for (const { role, p } of processes) rssPeak[role] = Math.max(rssPeak[role] ?? 0, rssMb(p.child.pid) ?? 0);
    };
    sample();
    sampler = setInterval(sample, 1_000);
  } else {
    const workflowBundle = await bundleCeiling();
    const base = { connection: opts.connection, namespace: opts.namespace };
    const activities = ceilingActivities;
    workers = await Promise.all([
      Worker.create({ ...base, taskQueue: q.orders, workflowBundle, activities, sinks: ceilingSinks(client) }),
      Worker.create({ ...base, taskQueue: q.acknowledge, activities }),
      Worker.create({ ...base, taskQueue: q.inventory, activities }),
    ]);
  }
  const running = workers.map((w) => w.run());
  const ids: string[] = [];
  let activities = 0;
  let signals = 0;
  try {
    const cpuBefore = cpuAt();
    const started = Date.now();
    await inParallel(plans, 12, async (plan, i) => {
      const parcels = plan.calls.flat().length;
      const confirmations = CHANNELS[plan.channel].multiShipment ? parcels : 1;
      const workflowId = `ceiling:${suffix}:${i}`;
      const input: CeilingInput = {
        channel: plan.channel,
        orderId: plan.orderId,
        signals: signalMode,
        taskQueues: { acknowledge: q.acknowledge, inventory: q.inventory },
        parcels,
        confirmations,
        order: plan,
      };
      activities += 8 + confirmations;
      signals += 3 + parcels;
      ids.push(workflowId);
      // As the intake does: signal-with-start carrying the order. In sequence, the worker sends the rest as the
      // workflow comes to wait for each (ceiling-sinks.ts); up front, the update that lets it ship, the warehouse's
      // answer and its notices (one per parcel) follow at once.
      const handle = await client.workflow.signalWithStart(ceilingOrderWorkflow, {
        workflowId,
        taskQueue: q.orders,
        args: [input],
        signal: ceilingUpdatedSignal,
        signalArgs: [{ state: 'WAITING_ACCEPTANCE' }],
      });
      if (signalMode === 'in-sequence') return;
      await handle.signal(ceilingUpdatedSignal, { state: 'SHIPPING' });
      await handle.signal(ceilingWarehouseResultSignal, { salesOrderNumber: plan.orderId });
      for (let p = 0; p < parcels; p++) await handle.signal(ceilingDespatchSignal, { despatchNumber: `D${p}` });
    });
    opts.log?.(`ceiling: started ${plans.length} workflows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    let first = Infinity;
    let last = -Infinity;
    let open = ids;
    let progressAt = Date.now();
    while (open.length > 0) {
      // A ceiling that stops moving (a lost signal) fails the bench instead of holding it for ever.
      if (Date.now() - progressAt > STALL_MS)
        throw new Error(`ceiling: ${open.length} workflows still running after ${STALL_MS / 1000} s without progress`);
      const before = open.length;
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
      if (open.length < before) progressAt = Date.now();
      if (open.length > 0) await new Promise((r) => setTimeout(r, 500));
    }
    const cpuAfter = cpuAt();
    const seconds = (last - first) / 1000;
    return {
      orders: plans.length,
      seconds,
      ordersPerSec: plans.length / seconds,
      activitiesPerOrder: activities / plans.length,
      signalsPerOrder: signals / plans.length,
      ...(wp
        ? {
            workerRssMbPeak: rssPeak,
            workerCpuSeconds: Object.fromEntries(
              Object.entries(cpuAfter).map(([k, v]) => [k, Math.round((v - (cpuBefore[k] ?? 0)) * 10) / 10]),
            ),
          }
        : {}),
      workflowIds: ids,
    };
  } finally {
    if (sampler) clearInterval(sampler);
    for (const w of workers) w.shutdown();
    await Promise.allSettled(running);
    await Promise.all(processes.map(({ p }) => p.stop()));
  }
}
