// Payout reconciliation through the real pieces: the Mirakl simulator's generated billing cycle (SBC11) and
// transaction logs (TL02, paged and rate-limited), the real connector, the workers on a real Temporal
// server, and a seeded Shopify order source (the in-repo test double: src/reconciliation/shopify-source.ts).
// A cycle of 500 orders carries planted findings — commission anomalies, refund mismatches, a missing order,
// a Shopify line never billed — among refunds, shipping, fees and one-penny rounding that must NOT be
// findings. The run must report exactly the planted ones (JSON, CSV, finance exceptions), and never call
// TL02 more than Mirakl allows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import pino from 'pino';
import { parse as parseCsv } from 'csv-parse/sync';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { startTestEnv, eventually, maybeRecordHistory, TEST_SECURITY_YAML, workflowBundle } from '../support/temporal';
import { runCli, writeCliConfig } from '../support/cli';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { sandboxSystems, SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { seededRandom } from '../../src/sandbox/core/faults';
import { CallLog } from '../../src/sandbox/core/call-log';
import { toMinor } from '../../src/domain/money';
import { createRuntime, createWorkers } from '../../workers/runtime';
import { ensureRecurringWork, payoutReconciliationScheduleId, type RecurringWork } from '../../workers/recurring';
import { InMemoryShopifyOrderSource } from '../../src/reconciliation/shopify-source';
import { RECONCILIATION_KINDS, type ReconciliationKind, type ShopifyOrderRecord } from '../../src/reconciliation/types';
import { percentOf } from '../../src/reconciliation/match';
import { reconciliationExceptionWorkflowId } from '../../activities/reconciliation';
import type { PayoutReconciliationResult } from '../../workflows/payout-reconciliation';
import { findingsOperator } from '../../workflows/findings-exception';
import { payoutReconciliationWorkflow } from '../../workflows/payout-reconciliation';

const TIME_SCALE = 120;
const ORDERS = 500;
const PAGE_SIZE = 150;
const suffix = randomUUID().slice(0, 8);
const prefix = `R${suffix.toUpperCase()}`;
const cycleId = randomUUID();
const reportsDir = mkdtempSync(join(tmpdir(), 'loopline-recon-'));
const shopify = new InMemoryShopifyOrderSource();

let env: TestWorkflowEnvironment;
let sandbox: RunningSandbox;
let config: Config;
let control: AxiosInstance;
let workers: Worker[] = [];
let running: Promise<void>[] = [];
let recurring: RecurringWork;

function configYaml(url: string): string {
  const channel = (code: string) => `
  - code: ${code}
    label: ${code}
    platform: mirakl
    enabled: false
    connection: { baseUrl: ${url}/mirakl/${code}, apiKeyEnv: MIRAKL_${code.toUpperCase()}_API_KEY }
    fulfilment: peoplevox
    currency: GBP
    carrierMap: { DPD: { code: DPD } }`;
  return `
temporal:
  taskQueues: { orders: orders-${suffix}, acknowledge: ack-${suffix}, peoplevox: pvx-${suffix}, peoplevoxBulk: pvxb-${suffix}, inventory: inv-${suffix} }
log: { level: fatal }
sandbox: { enabled: true, demoOrdersPerMinute: 0 }
systems:
  peoplevox: { baseUrl: ${url}/peoplevox, clientId: recon-client, username: api-user, passwordEnv: PEOPLEVOX_PASSWORD }
channels:${channel('asos')}${channel('joules')}
audit: { catalogue: { enabled: false } }
finance:
  reconciliation:
    channels: [asos]
    reportsDir: ${JSON.stringify(reportsDir)}
    sampleSize: 20
    tl02: { pageSize: ${PAGE_SIZE} }
${TEST_SECURITY_YAML}`;
}

// ---- the scenario -----------------------------------------------------------------------------------------

interface Planted {
  kind: ReconciliationKind;
  orderId: string;
  lineId: string;
  field?: string;
}
const planted: Planted[] = [];
let missingOrder: ShopifyOrderRecord;
let totalLines = 0;
let missingLines = 0;

async function seedScenario() {
  const random = seededRandom(20261122);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const catalogue = sandboxCatalogue({ size: 250 });
  for (let i = 0; i < ORDERS; i++) {
    const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
      offerSku: pick(catalogue).sku,
      quantity: 1 + Math.floor(random() * 2),
    }));
    await control.post('/control/mirakl/asos/orders', {
      orderId: `${prefix}-${String(i).padStart(4, '0')}-A`,
      lines,
      shippingPrice: i % 3 === 0 ? 3.95 : undefined,
    });
  }
  const { data } = await control.get<{ orders: Array<Record<string, unknown>> }>('/control/mirakl/asos/orders');
  const orders = data.orders.filter((o) => String(o.order_id).startsWith(prefix));
  assert.equal(orders.length, ORDERS);

  // Shopify holds every order exactly as Mirakl has it.
  for (const o of orders) {
    const lines = o.order_lines as Array<Record<string, unknown>>;
    totalLines += lines.length;
    shopify.put({
      miraklOrderId: String(o.order_id),
      shopifyOrderId: `gid://shopify/Order/${9000 + orders.indexOf(o)}`,
      name: `#${9000 + orders.indexOf(o)}`,
      currency: 'GBP',
      shippingMinor: lines.reduce((n, l) => n + toMinor(l.shipping_price as number, 'GBP'), 0),
      shippingRefundedMinor: 0,
      lines: lines.map((l) => ({
        miraklLineId: String(l.order_line_id),
        sku: String(l.offer_sku),
        quantity: l.quantity as number,
        amountMinor: toMinor(l.price as number, 'GBP'),
        taxMinor: toMinor((l.taxes as Array<{ amount: number }>)[0]!.amount, 'GBP'),
        refundedMinor: 0,
      })),
    });
  }
  const lineOf = (i: number, l = 0) => {
    const o = orders[i]!;
    const line = (o.order_lines as Array<Record<string, unknown>>)[l]!;
    return {
      orderId: String(o.order_id),
      lineId: String(line.order_line_id),
      gross: toMinor(line.price as number, 'GBP'),
    };
  };

  // Commission anomalies (seller side: a negative delta is an overcharge), and one-penny ones that are rounding.
  const adjustments: Array<{ lineId: string; type: string; deltaMinor: number }> = [];
  [-25, -2, 3, -120, 40, -7].forEach((delta, k) => {
    const l = lineOf(10 + k * 37);
    adjustments.push({ lineId: l.lineId, type: 'COMMISSION_FEE', deltaMinor: delta });
    planted.push({ kind: 'PAYOUT_COMMISSION_DIFFERENCE', orderId: l.orderId, lineId: l.lineId, field: 'commission' });
  });
  [1, -1, 1, -1, 1].forEach((delta, k) => {
    adjustments.push({ lineId: lineOf(300 + k * 11).lineId, type: 'COMMISSION_FEE', deltaMinor: delta });
  });
  // Shopify amounts a penny apart from Mirakl's: rounding too.
  for (const i of [401, 402, 403]) {
    const l = lineOf(i);
    const rec = shopify.get(l.orderId)!;
    rec.lines[0]!.amountMinor += i % 2 === 0 ? 1 : -1;
    shopify.put(rec);
  }

  // Refunds billed in the cycle and recorded the same in Shopify; two that Shopify records differently.
  const refunds: Array<{ lineId: string; amountMinor: number }> = [];
  for (let k = 0; k < 20; k++) {
    const i = 20 + k * 23;
    const l = lineOf(i);
    const amount = k % 2 === 0 ? l.gross : Math.round(l.gross / 2);
    refunds.push({ lineId: l.lineId, amountMinor: amount });
    const rec = shopify.get(l.orderId)!;
    const shopifyAmount = k === 4 ? 0 : k === 7 ? amount - 150 : amount;
    rec.lines[0]!.refundedMinor = shopifyAmount;
    shopify.put(rec);
    if (shopifyAmount !== amount)
      planted.push({ kind: 'PAYOUT_REFUND_DIFFERENCE', orderId: l.orderId, lineId: l.lineId, field: 'refund' });
  }

  // The missing order: billed by Mirakl, never imported into Shopify.
  const missing = lineOf(250);
  missingOrder = shopify.get(missing.orderId)!;
  shopify.delete(missing.orderId);
  for (const l of missingOrder.lines) {
    planted.push({ kind: 'PAYOUT_ORDER_NOT_IN_SHOPIFY', orderId: missing.orderId, lineId: l.miraklLineId });
    missingLines += 1;
  }
  // A Shopify line the cycle does not bill (an order changed after import).
  const extra = lineOf(120);
  const rec = shopify.get(extra.orderId)!;
  rec.lines.push({
    miraklLineId: `${extra.orderId}-99`,
    quantity: 1,
    amountMinor: 1234,
    taxMinor: 206,
    refundedMinor: 0,
  });
  shopify.put(rec);
  planted.push({ kind: 'PAYOUT_LINE_NOT_BILLED', orderId: extra.orderId, lineId: `${extra.orderId}-99` });

  const res = await control.post('/control/mirakl/asos/billing-cycles', {
    cycleId,
    orderIds: orders.map((o) => String(o.order_id)),
    refunds,
    adjustments,
    extraRows: [
      { type: 'SUBSCRIPTION_FEE', amountMinor: -2500, feeCode: 'MONTHLY' },
      { type: 'SUBSCRIPTION_VAT', amountMinor: -500, feeCode: 'MONTHLY' },
    ],
  });
  assert.equal(res.status, 201);
}

const plantedCounts = () => {
  const c = Object.fromEntries(RECONCILIATION_KINDS.map((k) => [k, 0])) as Record<ReconciliationKind, number>;
  for (const p of planted) c[p.kind] += 1;
  return c;
};
const plantedKeys = () => planted.map((p) => `${p.kind}|${p.orderId}|${p.lineId}`).sort();

async function terminateExceptions() {
  for (const kind of RECONCILIATION_KINDS)
    await env.client.workflow
      .getHandle(reconciliationExceptionWorkflowId('asos', cycleId, kind))
      .terminate('test cleanup')
      .catch(() => undefined);
}

before(async () => {
  env = await startTestEnv();
  const envVars = { ...process.env, ...SANDBOX_SECRETS };
  for (const [k, v] of Object.entries(SANDBOX_SECRETS)) process.env[k] ??= v;
  const log = pino({ level: 'silent' });
  const draft = parseConfig(configYaml('http://127.0.0.1:1'), 'test', envVars);
  sandbox = await startSandbox({ log, port: 0, timeScale: TIME_SCALE }, sandboxSystems(draft, { env: envVars }));
  config = parseConfig(configYaml(sandbox.url), 'test', envVars);
  control = axios.create({ baseURL: sandbox.url, timeout: 30_000 });
  const runtime = createRuntime(config, log, { timeScale: TIME_SCALE, shopifyOrders: () => shopify });
  workers = await createWorkers({
    connection: env.nativeConnection,
    client: env.client,
    runtime,
    workflowBundle: await workflowBundle(),
    timeScale: TIME_SCALE,
  });
  running = workers.map((w) => w.run());
  recurring = await ensureRecurringWork(env.client, config, { idSuffix: suffix, timeScale: TIME_SCALE });
  await seedScenario();
});

after(async () => {
  await terminateExceptions().catch(() => undefined);
  for (const id of recurring?.scheduleIds ?? [])
    await env.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  for (const w of workers) w.shutdown();
  await Promise.allSettled(running);
  await sandbox?.close();
  await env?.teardown();
});

describe('payout reconciliation of a 500-order billing cycle', () => {
  let first: PayoutReconciliationResult;

  test('the scenario plants every kind of finding except a payout mismatch', () => {
    assert.equal(totalLines > ORDERS, true);
    const c = plantedCounts();
    // The channel takes no returns: refunds against returns are payout-returns.test.ts's.
    const returnKinds = [
      'PAYOUT_REFUND_NOT_RETURNED',
      'PAYOUT_RETURN_REFUND_MISSING',
      'PAYOUT_RETURN_REFUND_DIFFERENCE',
    ];
    for (const k of RECONCILIATION_KINDS.filter(
      (x) => x !== 'PAYOUT_AMOUNT_DIFFERENCE' && x !== 'PAYOUT_TOTAL_MISMATCH' && !returnKinds.includes(x),
    ))
      assert.ok(c[k] > 0, k);
  });

  test('is scheduled, and a run finds exactly the planted findings, in JSON and CSV', async () => {
    const scheduleId = payoutReconciliationScheduleId(suffix);
    assert.ok(recurring.scheduleIds.includes(scheduleId), recurring.scheduleIds.join(', '));
    const schedule = env.client.schedule.getHandle(scheduleId);
    const described = await schedule.describe();
    assert.equal(described.spec.intervals?.[0]?.every, (24 * 3_600_000) / TIME_SCALE);
    assert.ok(described.action.type === 'startWorkflow');
    assert.equal(described.action.workflowType, 'payoutReconciliationWorkflow');
    const input = described.action.args?.[0];
    assert.deepEqual(input, { channels: ['asos'] });
    // The same workflow and input the Schedule starts; the Schedule itself is not left to fire mid-test.
    await schedule.delete();

    const handle = await env.client.workflow.start(payoutReconciliationWorkflow, {
      workflowId: `payout-reconciliation-test-${suffix}`,
      taskQueue: config.temporal.taskQueues.orders,
      args: [input],
    });
    first = (await handle.result()) as PayoutReconciliationResult;
    await maybeRecordHistory(handle, 'payout-reconciliation-500-orders');
    assert.deepEqual(first.failed, []);
    assert.equal(first.cycles.length, 1);
    const s = first.cycles[0]!;
    assert.equal(s.cycleId, cycleId);
    assert.deepEqual(s.counts, plantedCounts());
    assert.equal(s.orders, ORDERS);
    assert.equal(s.lines, totalLines);
    assert.equal(s.matchedLines, totalLines - missingLines);
    assert.equal(s.matchedOrders, ORDERS - 1);
    assert.ok(s.tl02Calls >= Math.ceil(s.rows / PAGE_SIZE) && s.tl02Calls > 20, `${s.tl02Calls} TL02 calls`);

    const json = JSON.parse(readFileSync(s.reportJson, 'utf8')) as {
      differences: Array<{ kind: ReconciliationKind; orderId: string; lineId: string; field: string }>;
      unmatchedMirakl: Array<{ orderId: string; lineId: string }>;
      unmatchedShopify: Array<{ orderId: string; lineId: string }>;
      refunds: unknown[];
      fees: Array<{ type: string; amountMinor: number }>;
      matched: unknown[];
    };
    const reported = [
      ...json.differences.map((d) => `${d.kind}|${d.orderId}|${d.lineId}`),
      ...json.unmatchedMirakl.map((u) => `PAYOUT_ORDER_NOT_IN_SHOPIFY|${u.orderId}|${u.lineId}`),
      ...json.unmatchedShopify.map((u) => `PAYOUT_LINE_NOT_BILLED|${u.orderId}|${u.lineId}`),
    ].sort();
    assert.deepEqual(reported, plantedKeys(), 'JSON report: exactly the planted findings');
    // The commission anomalies carry the billed and the contract figure.
    for (const d of json.differences.filter((x) => x.kind === 'PAYOUT_COMMISSION_DIFFERENCE'))
      assert.equal(d.field, 'commission');
    assert.equal(json.refunds.length, 20);
    assert.deepEqual(json.fees.map((f) => [f.type, f.amountMinor]).sort(), [
      ['SUBSCRIPTION_FEE', -2500],
      ['SUBSCRIPTION_VAT', -500],
    ]);
    assert.equal(json.matched.length, totalLines - missingLines);

    const rows = parseCsv(readFileSync(s.reportCsv, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    const csvFindings = rows
      .filter((r) => ['difference', 'unmatched_mirakl', 'unmatched_shopify'].includes(r.section!))
      .map((r) => `${r.kind}|${r.order_id}|${r.line_id}`)
      .sort();
    assert.deepEqual(csvFindings, plantedKeys(), 'CSV report: exactly the planted findings');
    const journal = rows.filter((r) => r.section === 'journal');
    assert.deepEqual(
      journal.map((r) => r.field),
      ['GROSS_SALES', 'COMMISSION', 'COMMISSION_VAT', 'REFUNDS', 'FEES', 'NET_PAYOUT'],
    );
    const pence = (v: string | undefined) => (v ? toMinor(v, 'GBP') : 0);
    const debit = journal.reduce((n, r) => n + pence(r.debit), 0);
    const credit = journal.reduce((n, r) => n + pence(r.credit), 0);
    assert.equal(debit, credit, 'journal balances');
    assert.equal(pence(journal.at(-1)!.debit), s.totals.transferredToSellerMinor, 'net payout = the payout');
    // The commission in the journal is the billed one: contract commission + the planted anomalies.
    assert.equal(s.totals.commissionMinor > 0 && s.journal[1]!.debitMinor > 0, true);
    void percentOf;
  });

  test('findings are finance exceptions in the queue, one per cycle and kind, with bounded samples', async () => {
    const counts = plantedCounts();
    for (const kind of RECONCILIATION_KINDS) {
      const query = `OrderStatus = "EXCEPTION" AND Owner = "finance" AND ExceptionReason = "${kind}" AND Channel = "asos"`;
      const list = async () => {
        const out: string[] = [];
        for await (const wf of env.client.workflow.list({ query }))
          if (wf.workflowId.includes(cycleId)) out.push(wf.workflowId);
        return out;
      };
      if (counts[kind] === 0) {
        assert.deepEqual(await list(), [], `no ${kind} exception`);
        continue;
      }
      const ids = await eventually(
        async () => ((await list()).length > 0 ? list() : undefined),
        15_000,
        `${kind} visible`,
      );
      assert.deepEqual(ids, [reconciliationExceptionWorkflowId('asos', cycleId, kind)]);
      const state = await env.client.workflow.getHandle(ids[0]!).query(findingsOperator.state);
      assert.equal(state.count, counts[kind]);
      assert.equal(state.exception?.owner, 'finance');
      assert.equal(state.exception?.reason, kind);
      assert.ok(state.sample.length <= 20);
      assert.match(state.exception!.message, new RegExp(`^Channel asos, billing cycle ${cycleId}: ${counts[kind]} `));
      assert.ok(state.exception!.message.includes(first.cycles[0]!.reportCsv));
    }
  });

  test('the next scheduled run skips the reconciled cycle', async () => {
    const r = (await env.client.workflow.execute(payoutReconciliationWorkflow, {
      workflowId: `payout-reconciliation-again-${suffix}`,
      taskQueue: config.temporal.taskQueues.orders,
      args: [{ channels: ['asos'] }],
    })) as PayoutReconciliationResult;
    assert.deepEqual(r.cycles, []);
    assert.deepEqual(r.skipped, [{ channel: 'asos', alreadyReconciled: 1, deferred: 0 }]);
  });

  test('retry after the missing order is imported clears its exception; others resolve by hand', async () => {
    shopify.put(missingOrder);
    const handle = env.client.workflow.getHandle(
      reconciliationExceptionWorkflowId('asos', cycleId, 'PAYOUT_ORDER_NOT_IN_SHOPIFY'),
    );
    const after = await handle.executeUpdate(findingsOperator.retry);
    assert.equal(after.status, 'CLEARED', JSON.stringify(after.timeline));
    await handle.result();
    await maybeRecordHistory(handle, 'findings-exception-payout-retry-cleared');
    const other = env.client.workflow.getHandle(
      reconciliationExceptionWorkflowId('asos', cycleId, 'PAYOUT_COMMISSION_DIFFERENCE'),
    );
    const still = await other.query(findingsOperator.state);
    assert.equal(still.status, 'EXCEPTION');
    assert.equal(still.count, plantedCounts().PAYOUT_COMMISSION_DIFFERENCE);
    const resolved = await other.executeUpdate(findingsOperator.resolve, {
      args: ['claimed from ASOS'],
    });
    assert.equal(resolved.status, 'RESOLVED');
  });

  test('the CLI reports the cycle with progress on stderr and the same figures on stdout', async () => {
    const configFile = writeCliConfig(config, reportsDir);
    const { code, stdout, stderr } = await runCli(
      { configFile, temporalAddress: env.address },
      'reconciliation',
      'report',
      '--channel',
      'asos',
      '--cycle',
      cycleId,
      '--json',
    );
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout) as {
      cycles: Array<{ cycleId: string; counts: Record<ReconciliationKind, number> }>;
    };
    assert.equal(out.cycles.length, 1);
    // The missing order was imported before this run: everything else is as planted.
    assert.deepEqual(out.cycles[0]!.counts, { ...plantedCounts(), PAYOUT_ORDER_NOT_IN_SHOPIFY: 0 });
    assert.match(stderr, /reconciliation \[/);
    assert.match(stderr, /asos · cycle [0-9a-f-]{36} · TL02 \d+ rows/);
    assert.doesNotMatch(stdout, /reconciliation \[/);
  });

  test('TL02 stayed inside 20 calls a minute and 60 an hour, and was paged', () => {
    const calls = sandbox.ctx.calls.list({ system: 'mirakl', endpoint: 'TL02', tenant: 'asos' });
    assert.ok(calls.length > 60, `${calls.length} TL02 calls: enough to need the hourly budget`);
    assert.deepEqual(
      calls.filter((c) => c.status !== 200 || c.rateLimited),
      [],
      'no TL02 call was refused',
    );
    assert.ok(CallLog.maxInWindow(calls, 60_000 / TIME_SCALE) <= 20, 'per minute');
    assert.ok(CallLog.maxInWindow(calls, 3_600_000 / TIME_SCALE) <= 60, 'per hour');
    // SBC11 (daily guidance): once per run — the scheduled run, the run that skipped, the retry, the CLI.
    assert.equal(sandbox.ctx.calls.list({ system: 'mirakl', endpoint: 'SBC11', tenant: 'asos' }).length, 4);
    // The pacing had to work: more than 20 calls in the run means it waited for the minute window.
    assert.ok(CallLog.maxInWindow(calls, 60_000 / TIME_SCALE) >= 15);
  });
});
