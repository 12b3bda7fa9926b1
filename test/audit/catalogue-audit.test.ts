// The catalogue audit through the whole stack (simulators, real connectors, workers, a real Temporal server):
// a 5,000-SKU catalogue with known mismatches; the audit must report exactly those (no more, no fewer), in
// the CSV and JSON reports and as merchandising exceptions; the CLI, run as a child process against the
// same stack, shows progress on stderr and returns the same figures on stdout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { runCli, writeCliConfig } from '../support/cli';
import { catalogueAuditScenario, seedCatalogueAudit, type ExpectedFinding } from '../../src/audit/sandbox-seed';
import { FINDING_KINDS, type FindingKind } from '../../src/audit/catalogue';
import type { CatalogueAuditInput, CatalogueAuditResult } from '../../workflows/catalogue-audit';
import { findingsOperator } from '../../workflows/findings-exception';
import { catalogueExceptionWorkflowId } from '../../activities/catalogue-audit';
import { catalogueAuditWorkflow } from '../../workflows/catalogue-audit';

const scenario = catalogueAuditScenario({ channel: 'asos', size: 5000 });
const reportsDir = mkdtempSync(join(tmpdir(), 'loopline-audit-'));
let env: TestWorkflowEnvironment;
let stack: Stack;

const key = (f: ExpectedFinding) => `${f.kind}\u0000${f.offerSku}\u0000${f.itemCode}`;
const expectedKeys = scenario.expected.map(key).sort();

async function terminateExceptions() {
  for (const kind of FINDING_KINDS)
    for (const channel of ['asos', 'joules'])
      await env.client.workflow
        .getHandle(catalogueExceptionWorkflowId(channel, kind))
        .terminate('test cleanup')
        .catch(() => undefined);
}

before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, {
    schedules: true,
    skuMap: { asos: scenario.skuMap },
    extraYaml: `audit: { catalogue: { reportsDir: ${JSON.stringify(reportsDir)}, sampleSize: 20 } }\n`,
  });
  await terminateExceptions();
  await seedCatalogueAudit(stack.sandbox.url, stack.config.systems.peoplevox!.clientId, scenario);
});
after(async () => {
  await terminateExceptions().catch(() => undefined);
  await stack?.stop();
  await env?.teardown();
});

interface Call {
  at: number;
  status: number;
  rateLimited?: boolean;
}
const of52Calls = async (channel: string): Promise<Call[]> =>
  (
    (await stack.control.get('/control/calls', { params: { system: 'mirakl', tenant: channel, endpoint: 'OF52' } }))
      .data as { calls: Call[] }
  ).calls;

async function runAudit(id: string, input: Partial<CatalogueAuditInput> & { channels: string[] }) {
  const handle = await env.client.workflow.start(catalogueAuditWorkflow, {
    workflowId: `catalogue-audit-${id}-${stack.idPrefix}`,
    taskQueue: stack.config.temporal.taskQueues.orders,
    args: [{ taskQueue: stack.config.temporal.taskQueues.peoplevoxBulk, ...input }],
  });
  return { handle, result: (await handle.result()) as CatalogueAuditResult };
}

function reportedKeys(json: { findings: Record<FindingKind, ExpectedFinding[]> }): string[] {
  return FINDING_KINDS.flatMap((k) => json.findings[k].map((f) => key({ ...f, kind: k }))).sort();
}

describe('catalogue audit of a 5,000-SKU catalogue', () => {
  let first: CatalogueAuditResult;

  test('the scenario plants every kind of mismatch among 5,000 SKUs', () => {
    assert.ok(scenario.offers.length >= 4980 && scenario.items.length >= 4980);
    for (const k of FINDING_KINDS) assert.ok(scenario.counts[k] > 0, k);
  });

  test('is scheduled, and a run finds exactly the seeded mismatches (OF52 export), in CSV and JSON', async () => {
    const scheduleId = stack.recurring.scheduleIds.find((id) => id.startsWith('catalogue-audit'));
    assert.ok(scheduleId, `a catalogue-audit schedule among ${stack.recurring.scheduleIds.join(', ')}`);
    const described = await env.client.schedule.getHandle(scheduleId).describe();
    assert.equal(described.spec.intervals?.[0]?.every, (24 * 3_600_000) / 60);
    assert.equal(described.action.type === 'startWorkflow' && described.action.workflowType, 'catalogueAuditWorkflow');

    // The same workflow and input the Schedule starts, for one channel.
    const handle = await env.client.workflow.start(catalogueAuditWorkflow, {
      workflowId: `catalogue-audit-test-${stack.idPrefix}`,
      taskQueue: stack.config.temporal.taskQueues.orders,
      args: [{ channels: ['asos'], taskQueue: stack.config.temporal.taskQueues.peoplevoxBulk }],
    });
    first = (await handle.result()) as CatalogueAuditResult;
    await maybeRecordHistory(handle, 'catalogue-audit-export-day');
    assert.deepEqual(first.failed, []);
    const s = first.channels[0]!;
    assert.equal(s.offerSource.api, 'OF52');
    assert.equal(s.offers, scenario.offers.length);
    assert.equal(s.items, scenario.items.length);
    assert.deepEqual(s.counts, scenario.counts);

    const json = JSON.parse(readFileSync(s.reportJson, 'utf8')) as {
      counts: Record<FindingKind, number>;
      findings: Record<FindingKind, ExpectedFinding[]>;
    };
    assert.deepEqual(reportedKeys(json), expectedKeys, 'JSON report: exactly the seeded mismatches');
    assert.match(s.reportCsv, /catalogue-audit-asos-\d{4}-\d{2}-\d{2}\.csv$/);
    const rows = parseCsv(readFileSync(s.reportCsv, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(
      rows.map((r) => key({ kind: r.kind as FindingKind, offerSku: r.offer_sku!, itemCode: r.item_code! })).sort(),
      expectedKeys,
      'CSV report: exactly the seeded mismatches',
    );
    // Whitespace in SKUs survives the CSV round trip.
    assert.ok(rows.some((r) => r.offer_sku!.endsWith(' ')));
  });

  test('findings are merchandising exceptions in the exception queue, one per kind, with bounded samples', async () => {
    for (const kind of FINDING_KINDS) {
      const query = `OrderStatus = "EXCEPTION" AND Owner = "merchandising" AND ExceptionReason = "${kind}" AND Channel = "asos"`;
      const ids = await eventually(
        async () => {
          const out: string[] = [];
          for await (const wf of env.client.workflow.list({ query })) out.push(wf.workflowId);
          return out.length > 0 ? out : undefined;
        },
        15_000,
        `${kind} in visibility`,
      );
      assert.deepEqual(ids, [catalogueExceptionWorkflowId('asos', kind)]);
      const state = await env.client.workflow.getHandle(ids[0]!).query(findingsOperator.state);
      assert.equal(state.count, scenario.counts[kind]);
      assert.equal(state.exception?.owner, 'merchandising');
      assert.equal(state.exception?.reason, kind);
      assert.ok(state.sample.length <= 20);
      assert.match(state.exception!.message, new RegExp(`^Channel asos: ${scenario.counts[kind]} `));
    }
  });

  test("the CLI runs the audit with progress on stderr and the same figures on stdout (OF21: the day's export is used)", async () => {
    const configFile = writeCliConfig(stack.config, reportsDir);
    const { code, stdout, stderr } = await runCli(
      { configFile, temporalAddress: env.address },
      'audit',
      'catalogue',
      '--channel',
      'asos',
      '--json',
    );
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout) as {
      channels: Array<Record<string, unknown> & { channel: string; source: string; offers: number }>;
    };
    const row = out.channels[0]!;
    assert.equal(row.channel, 'asos');
    // A full OF52 export is allowed once a day and the first run used it: the CLI read that run's result and
    // paged OF21 without asking Mirakl again.
    assert.equal(row.source, 'OF21');
    assert.equal((await of52Calls('asos')).length, 1, 'no second OF52 call for asos');
    assert.equal(row.offers, scenario.offers.length);
    for (const k of FINDING_KINDS) assert.equal(row[k], scenario.counts[k], k);
    for (const k of FINDING_KINDS)
      assert.equal(row[k], first.channels[0]!.counts[k], `same figure as the scheduled run: ${k}`);
    // Progress: the bar and the phases, on stderr only.
    assert.match(stderr, /catalogue audit \[/);
    // The activity's heartbeat (page-level counts) reached the CLI through the server.
    assert.match(stderr, /asos · offers \(OF21\) [1-9]\d*\/\d+/);
    assert.match(stderr, new RegExp(`\\] ${scenario.offers.length}/${scenario.offers.length} done: asos`));
    assert.doesNotMatch(stdout, /catalogue audit \[/);
  });

  test('retry after merchandising fixes the data clears the exception', async () => {
    // Create the missing items (the warehouse side of OFFER_WITHOUT_ITEM, except the mistyped mappings).
    const missing = scenario.expected.filter((e) => e.kind === 'OFFER_WITHOUT_ITEM');
    const items = missing.map((e) => ({ itemCode: e.itemCode, available: 3 }));
    await stack.control.put(`/control/peoplevox/${stack.config.systems.peoplevox!.clientId}/items`, { items });
    const handle = env.client.workflow.getHandle(catalogueExceptionWorkflowId('asos', 'OFFER_WITHOUT_ITEM'));
    const after = await handle.executeUpdate(findingsOperator.retry);
    assert.equal(after.status, 'CLEARED', JSON.stringify(after.timeline));
    await handle.result();
    await maybeRecordHistory(handle, 'findings-exception-catalogue-retry-cleared');
    // The other kinds stay open with their counts, and can be resolved by hand.
    const still = await env.client.workflow
      .getHandle(catalogueExceptionWorkflowId('asos', 'SKU_CASE_MISMATCH'))
      .query(findingsOperator.state);
    assert.equal(still.status, 'EXCEPTION');
    assert.equal(still.count, scenario.counts.SKU_CASE_MISMATCH);
    const resolved = await env.client.workflow
      .getHandle(catalogueExceptionWorkflowId('asos', 'SKU_CASE_MISMATCH'))
      .executeUpdate(findingsOperator.resolve, { args: ['fixed in the PIM'] });
    assert.equal(resolved.status, 'RESOLVED');
  });

  // Mirakl allows one full OF52 export a day per shop: the audit remembers each shop's, never asks twice.
  let joulesExportAt: string;

  test('a retried attempt reads the export it asked for instead of asking for another', async () => {
    assert.equal((await of52Calls('joules')).length, 0);
    // Attempt 1: the export is asked for and polled, its chunk fails, and so does the OF21 fallback.
    await stack.control.put('/control/faults/mirakl', {
      rules: [
        { endpoint: 'OF54', tenant: 'joules', kind: 'error5xx', probability: 1, count: 1 },
        { endpoint: 'OF21', tenant: 'joules', kind: 'error5xx', probability: 1, count: 1 },
      ],
    });
    try {
      const { result } = await runAudit('resume', { channels: ['joules'], raiseExceptions: false });
      assert.deepEqual(result.failed, []);
      const s = result.channels[0]!;
      const calls = await of52Calls('joules');
      assert.equal(calls.length, 1, 'one OF52 call over both attempts');
      assert.ok(s.offerSource.fullExportRequestedAt);
      // Attempt 2 polls the export attempt 1 asked for (its heartbeat said which); when the heartbeat did not
      // reach it (the SDK throttles them), it takes the day's export as used and pages OF21. Never a second OF52.
      if (s.offerSource.api === 'OF52')
        assert.ok(Math.abs(Date.parse(s.offerSource.fullExportRequestedAt) - calls[0]!.at) < 2000);
      else assert.ok(Date.parse(s.offerSource.fullExportRequestedAt) >= calls[0]!.at);
      assert.equal(result.lastFullExports?.joules, s.offerSource.fullExportRequestedAt);
      joulesExportAt = s.offerSource.fullExportRequestedAt;
    } finally {
      await stack.control.put('/control/faults/mirakl', { rules: [] });
    }
  });

  test('within the day a run pages OF21 without asking; shortly before its end it waits for the day', async () => {
    const before = (await of52Calls('joules')).length;
    // The real gap (a day and five minutes) from the export just made: OF21 at once, no OF52 call.
    const within = await runAudit('within-day', {
      channels: ['joules'],
      raiseExceptions: false,
      lastFullExports: { joules: joulesExportAt },
    });
    const s = within.result.channels[0]!;
    assert.equal(s.offerSource.api, 'OF21');
    assert.match(s.offerSource.fallbackReason ?? '', /full OF52 export was asked for at/);
    assert.equal((await of52Calls('joules')).length, before, 'no OF52 call within the day');
    assert.equal(within.result.lastFullExports?.joules, joulesExportAt, 'the day still counts from the export');

    // A gap that ends in 3 s, within the wait allowed: the run waits for it, then asks.
    const gapMs = Date.now() - Date.parse(joulesExportAt) + 3000;
    const startedAt = Date.now();
    const waited = await runAudit('wait-day', {
      channels: ['joules'],
      raiseExceptions: false,
      lastFullExports: { joules: joulesExportAt },
      fullExportGapMs: gapMs,
      maxExportWaitMs: 30_000,
    });
    const calls = await of52Calls('joules');
    assert.equal(calls.length, before + 1);
    assert.ok(calls.at(-1)!.at >= Date.parse(joulesExportAt) + gapMs, 'asked only once the gap was over');
    assert.ok(calls.at(-1)!.at - startedAt >= 2500);
    // The simulator's day (24 min at this scale) is not over, so Mirakl refused it and the run paged OF21:
    // a refused request counts as the day's export from then on.
    assert.equal(calls.at(-1)!.rateLimited, true);
    const w = waited.result.channels[0]!;
    assert.equal(w.offerSource.api, 'OF21');
    assert.equal(waited.result.lastFullExports?.joules, w.offerSource.fullExportRequestedAt);
    assert.ok(Date.parse(w.offerSource.fullExportRequestedAt!) > Date.parse(joulesExportAt));
  });

  test("a run the Schedule starts reads the day's exports from earlier audits and asks for none", async () => {
    const scheduleId = stack.recurring.scheduleIds.find((id) => id.startsWith('catalogue-audit'))!;
    const schedule = env.client.schedule.getHandle(scheduleId);
    const channels = ['asos', 'joules'];
    const counts = await Promise.all(channels.map(async (c) => (await of52Calls(c)).length));
    const seen = (await schedule.describe()).info.recentActions.length;
    await schedule.trigger();
    const action = await eventually(
      async () => (await schedule.describe()).info.recentActions[seen],
      15_000,
      'the triggered run',
    );
    const run = (await env.client.workflow
      .getHandle(action.action.workflow.workflowId)
      .result()) as CatalogueAuditResult;
    assert.deepEqual(run.failed, []);
    assert.deepEqual(run.channels.map((c) => c.channel).sort(), channels);
    for (const s of run.channels) {
      assert.equal(s.offerSource.api, 'OF21', s.channel);
      assert.match(s.offerSource.fallbackReason ?? '', /full OF52 export was asked for at/, s.channel);
    }
    assert.deepEqual(await Promise.all(channels.map(async (c) => (await of52Calls(c)).length)), counts, 'no OF52 call');
    assert.equal(run.scope, stack.config.temporal.idScope);
    assert.deepEqual(Object.keys(run.lastFullExports ?? {}).sort(), channels);
  });
});
