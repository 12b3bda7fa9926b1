// Recorded histories of every workflow type, replayed against today's workflow code: a change that would
// break running workflows (non-determinism) fails here before it reaches a worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { testDataConverter, workflowBundle } from '../support/temporal';
import * as workflows from '../../workflows';

const dir = join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('there is a recorded history for every workflow type', () => {
  const types = new Set(
    files.map((f) => {
      const h = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
        events: Array<{ workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }>;
      };
      return h.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
    }),
  );
  // Every workflow type the workers register, so a new type cannot ship without a recorded history.
  for (const t of Object.keys(workflows)) assert.ok(types.has(t), `no recorded history of ${t}`);
});

for (const file of files) {
  test(`replays ${file} without non-determinism`, async () => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    // With the encrypting converter the tests use, in its migration setting (requireEncrypted off):
    // histories recorded before encryption (plain payloads) pass through the codec unchanged, and newly
    // recorded ones (sandbox key) are decrypted.
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle(), dataConverter: testDataConverter({ requireEncrypted: false }) },
      history,
      file,
    );
  });
}
