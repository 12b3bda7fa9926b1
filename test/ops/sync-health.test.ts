// Stock sync health (dashboard, CLI, metrics) asks every channel's inventory workflow at once, each within
// a deadline: a channel whose workflow has no worker to answer is reported as such and does not hold up the
// others (seen in CI: one unanswered query kept the dashboard from loading for 24 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv } from '../support/temporal';
import { createOpsService } from '../../src/ops/service';
import { inventoryWorkflow } from '../../workflows/inventory';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

test('an inventory workflow nobody answers for is reported with the reason, within the deadline', async () => {
  const workflowId = `inventory:sync-health-${randomUUID().slice(0, 8)}`;
  // Started on a task queue no worker polls: its queries can never be answered.
  const h = await env.client.workflow.start(inventoryWorkflow, {
    workflowId,
    taskQueue: `nobody-${randomUUID()}`,
    args: [{ channel: 'ghost' }],
  });
  try {
    let rows: Awaited<ReturnType<ReturnType<typeof createOpsService>['syncHealth']>> = [];
    for (let i = 0; i < 50 && !rows.some((r) => r.workflowId === workflowId); i++) {
      // Visibility is eventually consistent.
      rows = await createOpsService(env.client).syncHealth(500);
      if (!rows.some((r) => r.workflowId === workflowId)) await new Promise((r) => setTimeout(r, 200));
    }
    const started = Date.now();
    rows = await createOpsService(env.client).syncHealth(500);
    const tookMs = Date.now() - started;
    const ghost = rows.find((r) => r.workflowId === workflowId);
    assert.ok(ghost, 'listed');
    assert.match(String(ghost.error), /no answer within 0\.5 s: is an inventory worker running\?/);
    // Every workflow is asked at once, each within 0.5 s: well under the old unbounded wait.
    assert.ok(tookMs < 10_000, `took ${tookMs} ms`);
  } finally {
    await h.terminate('test over');
  }
});
