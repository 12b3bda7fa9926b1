// 1,000 orders across ASOS (multi-shipment, ST01) and Joules (OR23 + OR24), with every fault type switched
// on for every Mirakl and Peoplevox endpoint and for the despatch callbacks: 5xx, 429 with Retry-After,
// timeouts and lost responses (the write happens, the reply never arrives). Every order is accepted, created
// in Peoplevox, despatched there (whole, in several parcels, or partially and then the rest) and confirmed
// back. The run is judged on the simulators' state (bench/lib/traffic.ts): 0 lost, 0 duplicate Peoplevox
// orders, 0 duplicate confirmations; and it proves the faults really fired. The same harness drives
// `npm run bench:orders`. LOOPLINE_FAULT_ORDERS=n runs a smaller batch while iterating.
// First: count rather than print the SDK's warning for each retried activity attempt (thousands here).
import { activityFailureCount } from '../../bench/lib/sdk-logging';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { FAULT_KINDS } from '../../src/sandbox/core/faults';
import { startTestEnv } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { DEFAULT_FAULTS, runOrderTraffic, scaleIntakeOverlap, type TrafficReport } from '../../bench/lib/traffic';

const ORDERS = Number(process.env.LOOPLINE_FAULT_ORDERS ?? 1000);
const TIME_SCALE = 60;

let env: TestWorkflowEnvironment;
let stack: Stack;
before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, {
    timeScale: TIME_SCALE,
    multiShipment: { asos: true, joules: false },
    // Production's 15-minute despatch backstop, scaled: it only matters for the callbacks the faults drop.
    despatchBackstopMs: (15 * 60_000) / TIME_SCALE,
  });
  scaleIntakeOverlap(stack.config, TIME_SCALE);
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

const show = (r: TrafficReport, key: 'lost' | 'duplicateWms' | 'duplicateConfirmations' | 'wrongConfirmations') =>
  `${r[key].length} ${key}: ${JSON.stringify(r[key].slice(0, 10))}`;

test(
  `${ORDERS} orders with every fault type on: none lost, none duplicated in Peoplevox, no confirmation twice`,
  {
    timeout: 12 * 60_000,
  },
  async () => {
    const report = await runOrderTraffic({
      control: stack.control,
      client: env.client,
      config: stack.config,
      idPrefix: stack.idPrefix,
      orders: ORDERS,
      faults: DEFAULT_FAULTS,
      deadlineMs: 9 * 60_000,
      log: (line) => process.stdout.write(`# faults-1000: ${line}\n`),
    });
    process.stdout.write(
      `# faults-1000: ${report.orders} orders in ${report.seconds.toFixed(1)} s (${report.ordersPerSec.toFixed(2)}/s); ` +
        `ack p50/p95 ${report.ackLatencyMs.p50}/${report.ackLatencyMs.p95} ms, wms p50/p95 ${report.wmsLatencyMs.p50}/${report.wmsLatencyMs.p95} ms; ` +
        `faults ${JSON.stringify(report.faultsFired)}; ${activityFailureCount()} activity attempts failed and were retried; ` +
        `rate-limited ${JSON.stringify(report.rateLimited)}\n`,
    );

    assert.deepEqual(report.harnessErrors, [], 'the harness itself ran cleanly');
    assert.equal(report.lost.length, 0, show(report, 'lost'));
    assert.equal(report.duplicateWms.length, 0, show(report, 'duplicateWms'));
    assert.equal(report.duplicateConfirmations.length, 0, show(report, 'duplicateConfirmations'));
    assert.equal(report.wrongConfirmations.length, 0, show(report, 'wrongConfirmations'));
    assert.deepEqual(report.strays, []);
    assert.deepEqual(report.workflowsNotCompleted, [], 'every order workflow completed (CLOSED)');
    assert.equal(report.timedOut, false);
    assert.ok(report.byKind.whole > 0 && report.byKind.parcels > 0 && report.byKind.partial > 0);

    // The run must be able to fail: every fault kind really fired, on both channels, on Peoplevox and on its
    // callbacks, and on the writes that matter for exactly-once.
    for (const system of ['mirakl', 'peoplevox'])
      for (const kind of FAULT_KINDS)
        assert.ok((report.faultsFired[system]?.[kind] ?? 0) > 0, `${kind} fired on ${system}`);
    const fired = (sys: string, endpoint: string, kind?: string) =>
      Object.entries(report.faultsByEndpoint[sys] ?? {})
        .filter(([k]) => k.startsWith(`${endpoint}:`) && (!kind || k.endsWith(`:${kind}`)))
        .reduce((n, [, v]) => n + v, 0);
    for (const ch of ['asos', 'joules']) {
      assert.ok(fired(`mirakl:${ch}`, 'OR11') > 0, `faults on ${ch} OR11`);
      assert.ok(fired(`mirakl:${ch}`, 'OR21', 'lostResponse') > 0, `a lost OR21 response on ${ch}`);
    }
    assert.ok(fired('mirakl:asos', 'ST01', 'lostResponse') > 0, 'a lost ST01 response');
    assert.ok(fired('mirakl:joules', 'OR24', 'lostResponse') + fired('mirakl:joules', 'OR23', 'lostResponse') > 0);
    assert.ok(fired('peoplevox', 'SaveData', 'lostResponse') > 0, 'a lost SaveData response');
    assert.ok(fired('peoplevox-callback', 'callback:TrackingNumberReceived', 'error5xx') > 0, 'dropped callbacks');
    assert.ok(fired('peoplevox-callback', 'callback:TrackingNumberReceived', 'timeout') > 0, 'late callbacks');
  },
);
