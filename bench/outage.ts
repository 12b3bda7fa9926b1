// `npm run bench:outage [-- --orders N --time-scale S --outage-minutes M]`: orders placed while a system is down.
// Starts its own Temporal dev server, runs the whole stack against the simulators (test/support/stack.ts) and,
// in turn, takes Peoplevox then Mirakl down for a scaled M minutes (every endpoint answers 503) while orders
// arrive, then brings it back. Orders are despatched in Peoplevox as they get there (bench/lib/traffic.ts).
// Nobody acts on any exception: every order must reach the warehouse and ship by itself. Judged on the
// simulators' state (lost, duplicates, refusals) and Temporal's (workflow statuses, each order's final state).
// Writes bench/results/outage.json (see bench/README.md).
import './lib/sdk-logging';
import type { Client } from '@temporalio/client';
import type { AxiosInstance } from 'axios';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/devtools/tools';
import { orderWorkflowId } from '../src/domain/keys';
import type { Config } from '../src/config/schema';
import { startStack } from '../test/support/stack';
import { startLocalTemporal } from '../test/support/temporal';
import type { OrderWorkflowState } from '../workflows/order';
import { planOrders, runOrderTraffic, scaleIntakeOverlap, type TrafficReport } from './lib/traffic';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '600' },
    'time-scale': { type: 'string', default: '60' },
    'outage-minutes': { type: 'string', default: '30' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench', 'results', 'outage.json') },
  },
});

const say = (line: string) => process.stderr.write(`[bench:outage] ${line}\n`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PhaseResult {
  system: 'peoplevox' | 'mirakl';
  orders: number;
  outage_ms: number;
  outage_scaled_minutes: number;
  orders_placed_during_outage: number;
  failed_workflows: number;
  lost: number;
  duplicate_wms_orders: number;
  duplicate_confirmations: number;
  wrong_confirmations: number;
  parked_then_healed: number;
  needed_a_person: number;
  auto_refused_by_marketplace: number;
  recovery_to_last_warehouse_order_ms: number;
  recovery_to_last_shipped_ms: number;
  seconds: number;
  details: {
    not_completed: TrafficReport['workflowsNotCompleted'];
    person_needed_for: string[];
    faults_fired: unknown;
  };
}

/** Final state of each order workflow (the order workflow returns its state when it closes). */
async function orderOutcomes(client: Client, ids: string[]) {
  const out = { failed: 0, healed: 0, personNeeded: [] as string[] };
  for (const id of ids) {
    const h = client.workflow.getHandle(id);
    const d = await h.describe();
    if (['FAILED', 'TERMINATED', 'TIMED_OUT'].includes(d.status.name)) {
      out.failed += 1;
      out.personNeeded.push(`${id}: ${d.status.name}`);
      continue;
    }
    let st: OrderWorkflowState;
    try {
      st = (await h.result()) as OrderWorkflowState;
    } catch (err) {
      out.personNeeded.push(`${id}: ${(err as Error).message}`);
      continue;
    }
    if ((st.outagesHealed ?? 0) > 0) out.healed += 1;
    // A person was needed: the order ended parked, or its timeline shows an operator's retry/resolve/cancel,
    // or it passed through an exception that is not an outage.
    const operator = st.timeline.some((t) => t.step === 'retry' || t.step === 'resolved');
    const business = st.pastExceptions.filter((e) => e.reason !== 'SYSTEM_UNAVAILABLE');
    if (st.exception || operator || business.length > 0 || st.status !== 'CLOSED')
      out.personNeeded.push(`${id}: ${st.status} ${st.exception?.reason ?? business.map((b) => b.reason).join(',')}`);
  }
  return out;
}

async function refusedOnMarketplace(control: AxiosInstance, config: Config, prefix: string): Promise<number> {
  let n = 0;
  for (const ch of config.channels) {
    const { data } = await control.get(`/control/mirakl/${ch.code}/orders`);
    n += (data as { orders: Array<{ order_id: string; order_state: string }> }).orders.filter(
      (o) => o.order_id.startsWith(prefix) && o.order_state === 'REFUSED',
    ).length;
  }
  return n;
}

async function lastWarehouseOrderAt(control: AxiosInstance, config: Config, prefix: string): Promise<number> {
  const { data } = await control.get(`/control/peoplevox/${config.systems.peoplevox!.clientId}/orders`);
  const mine = (data as { orders: Array<{ salesOrderNumber: string; createdAt: string }> }).orders.filter((o) =>
    o.salesOrderNumber.includes(prefix),
  );
  return Math.max(...mine.map((o) => Date.parse(o.createdAt)));
}

async function main(): Promise<number> {
  const orders = Number(args.orders);
  const timeScale = Number(args['time-scale']);
  const outageMinutes = Number(args['outage-minutes']);
  if (!(orders >= 2) || !(timeScale >= 1) || !(outageMinutes > 0)) {
    say('usage: npm run bench:outage -- [--orders N] [--time-scale S] [--outage-minutes M]');
    return 2;
  }
  const outageMs = (outageMinutes * 60_000) / timeScale;
  const env = await startLocalTemporal({ logLevel: 'error' });

  const loadBefore = loadavg();
  const started = Date.now();
  const phases: PhaseResult[] = [];
  let config: Config | undefined;
  try {
    const stack = await startStack(env, {
      timeScale,
      multiShipment: { asos: true, joules: false },
      despatchBackstopMs: (15 * 60_000) / timeScale,
    });
    config = stack.config;
    scaleIntakeOverlap(stack.config, timeScale);
    try {
      for (const system of ['peoplevox', 'mirakl'] as const) {
        const n = system === 'peoplevox' ? Math.ceil(orders / 2) : Math.floor(orders / 2);
        const prefix = `${stack.idPrefix}${system === 'peoplevox' ? 'P' : 'M'}`;
        // Orders arrive over the first 80 % of the outage, starting a little before it (some are in flight).
        const arrivalPerSecond = n / ((outageMs * 0.8) / 1000);
        say(
          `${system}: down for ${outageMinutes} scaled minutes (${outageMs} ms); ${n} orders at ${arrivalPerSecond.toFixed(1)}/s`,
        );
        const traffic = runOrderTraffic({
          control: stack.control,
          client: env.client,
          config: stack.config,
          idPrefix: prefix,
          orders: n,
          arrivalPerSecond,
          faults: null,
          deadlineMs: outageMs + 10 * 60_000,
          log: say,
        });
        await sleep(Math.min(2_000, outageMs / 10));
        const downAt = Date.now();
        await stack.control.put(`/control/faults/${system}`, {
          rules: [{ endpoint: '*', kind: 'error5xx', probability: 1 }],
        });
        await sleep(outageMs);
        await stack.control.delete(`/control/faults/${system}`);
        const recoveredAt = Date.now();
        say(`${system}: back after ${recoveredAt - downAt} ms`);
        const placedDuring = Math.round(Math.min(n, ((recoveredAt - downAt) / 1000) * arrivalPerSecond));
        const report = await traffic;
        const plans = planOrders(stack.config, n, prefix);
        const outcomes = await orderOutcomes(
          env.client,
          plans.map((p) => orderWorkflowId(p.channel, p.orderId)),
        );
        const lastWms = await lastWarehouseOrderAt(stack.control, stack.config, prefix);
        phases.push({
          system,
          orders: report.orders,
          outage_ms: recoveredAt - downAt,
          outage_scaled_minutes: round(((recoveredAt - downAt) * timeScale) / 60_000, 1),
          orders_placed_during_outage: placedDuring,
          failed_workflows: outcomes.failed,
          lost: report.lost.length,
          duplicate_wms_orders: report.duplicateWms.length,
          duplicate_confirmations: report.duplicateConfirmations.length,
          wrong_confirmations: report.wrongConfirmations.length,
          parked_then_healed: outcomes.healed,
          needed_a_person: outcomes.personNeeded.length,
          auto_refused_by_marketplace: await refusedOnMarketplace(stack.control, stack.config, prefix),
          recovery_to_last_warehouse_order_ms: Math.max(0, lastWms - recoveredAt),
          recovery_to_last_shipped_ms: Math.max(0, report.lastShippedAt - recoveredAt),
          seconds: round(report.seconds, 1),
          details: {
            not_completed: report.workflowsNotCompleted,
            person_needed_for: outcomes.personNeeded.slice(0, 20),
            faults_fired: report.faultsFired,
          },
        });
        say(
          `${system}: lost ${report.lost.length}, failed ${outcomes.failed}, healed ${outcomes.healed}, needed a person ${outcomes.personNeeded.length}`,
        );
      }
    } finally {
      await stack.stop();
    }
  } finally {
    await env.teardown();
  }
  const total = (k: keyof PhaseResult) => phases.reduce((n, p) => n + (p[k] as number), 0);
  const result = {
    orders: total('orders'),
    failed_workflows: total('failed_workflows'),
    lost: total('lost'),
    duplicate_wms_orders: total('duplicate_wms_orders'),
    duplicate_confirmations: total('duplicate_confirmations'),
    parked_then_healed: total('parked_then_healed'),
    needed_a_person: total('needed_a_person'),
    auto_refused_by_marketplace: total('auto_refused_by_marketplace'),
    recovery_to_last_warehouse_order_ms: Math.max(...phases.map((p) => p.recovery_to_last_warehouse_order_ms)),
    phases,
    settings: {
      time_scale: timeScale,
      outage_scaled_minutes: outageMinutes,
      transport_retry: config?.orders.transportRetry,
      outage_retry: config?.orders.outageRetry,
      note: 'every endpoint of the system down answers 503; nobody acts on any exception during the run',
    },
    machine: { cores: cpus().length, load_before: loadBefore, load_after: loadavg(), node: process.version },
    seconds: round((Date.now() - started) / 1000, 1),
    measured_at: new Date().toISOString(),
  };
  const out = args.out!;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  say(`wrote ${relative(PROJECT_ROOT, out)}`);
  const ok =
    result.failed_workflows === 0 &&
    result.lost === 0 &&
    result.duplicate_wms_orders === 0 &&
    result.duplicate_confirmations === 0 &&
    result.needed_a_person === 0;
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
