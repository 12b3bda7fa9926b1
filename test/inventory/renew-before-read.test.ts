// A full read keeps the channel's run going until it ends (renewal waits for the read's result), so a read begun late
// in a busy run carried it far past its history bound: up to 2,300 events over 2,000 at 50,000 SKUs, and every
// renewal the server then refused (a signal came meanwhile: UNHANDLED_COMMAND) was a replay of all of it. Once the
// run's loop has made half its bound, a read that falls due is the next run's first step instead (patch
// 'inventory-renew-before-read'). Real Temporal server; judged from the runs' own histories.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { fullReadSignal, healthQuery, stockEventsSignal } from '../../workflows/inventory';
import { startChannelInventory, startInventoryStack, type InventoryStack } from './support';
import { temporal } from '@temporalio/proto';

const ET = temporal.api.enums.v1.EventType;

const ITEMS = 60;
const SKUS = sandboxCatalogue({ size: ITEMS }).map((c) => c.sku);
const BOUND = 400;

let env: TestWorkflowEnvironment;
let stack: InventoryStack;
let id: string;

before(async () => {
  env = await startTestEnv();
  stack = await startInventoryStack(env, {
    catalogueSize: ITEMS,
    channelYaml: {
      asos: `    inventory:
      velocityBuffer: { enabled: false }
      fullReadMinutes: 1440`,
      joules: `    inventory:
      enabled: false`,
    },
  });
  id = await startChannelInventory(env, stack, 'asos', { maxHistoryEvents: BOUND });
  await eventually(
    async () => {
      const h = await env.client.workflow.getHandle(id).query(healthQuery);
      return h.fullReads > 0 && h.pushes > 0 && h.pendingCount === 0 ? h : undefined;
    },
    60_000,
    'the first full read and push',
  );
});

after(async () => {
  await env.client.workflow
    .getHandle(id)
    .terminate('test over')
    .catch(() => undefined);
  await stack?.stop();
  await env?.teardown();
});

type Event = {
  eventType?: string | number | null;
  activityTaskScheduledEventAttributes?: unknown;
  workflowExecutionSignaledEventAttributes?: { signalName?: string | null } | null;
};
/** Full reads begun in these events after the first request for one (all of them when `afterRequest` is false). */
function reads(events: Event[], afterRequest = false): number {
  const from = afterRequest
    ? events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'requestFullRead')
    : 0;
  assert.ok(from >= 0, 'the request for a read is in the run');
  return events
    .slice(from)
    .filter((e) => JSON.stringify(e.activityTaskScheduledEventAttributes ?? {}).includes('readMasterDiff')).length;
}

test('a full read due past half the run’s bound is the next run’s first step', async () => {
  const handle = env.client.workflow.getHandle(id);
  // Stock events until the run is past half its bound (each one a signal and a workflow task or two).
  let d = await handle.describe();
  for (let round = 0; d.historyLength <= BOUND / 2 + 60; round++) {
    const at = Date.now();
    await handle.signal(stockEventsSignal, [[SKUS[round % ITEMS]!, 10 + (round % 5), at]]);
    if (round % 10 === 9) d = await handle.describe();
  }
  d = await handle.describe();
  assert.ok(d.historyLength < BOUND, `still the same run (${d.historyLength} events)`);
  const run = d.runId;
  const before = await handle.query(healthQuery);
  await handle.signal(fullReadSignal);
  await eventually(
    async () => {
      const h = await handle.query(healthQuery);
      return h.fullReads > before.fullReads ? h : undefined;
    },
    60_000,
    'the read asked for is done',
  );
  const late = (await env.client.workflow.getHandle(id, run).fetchHistory()).events ?? [];
  const current = await handle.describe();
  const next = (await env.client.workflow.getHandle(id, current.runId).fetchHistory()).events ?? [];
  await maybeRecordHistory(env.client.workflow.getHandle(id, run), 'inventory-renew-before-read');
  assert.notEqual(current.runId, run, 'the run renewed');
  // Before the patch the read ran in the run it was asked of, taking it on past the bound.
  assert.equal(reads(late, true), 0, 'no read begun in the run past half its bound');
  assert.equal(late.at(-1)?.eventType, ET.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, 'that run continued as new');
  assert.ok(reads(next) >= 1, 'the next run read');
});
