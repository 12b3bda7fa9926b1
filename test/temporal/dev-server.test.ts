// The sandbox's promise: stop everything, start again, and in-flight workflows carry on from the same
// SQLite file. Checked on a real dev server with a file in a temporary folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer, devServerArgs } from '../../src/temporal/dev-server';
import { readTemporalTools } from '../../src/devtools/tools';
import { freePort } from '../../src/devtools/ports';
import { workflowBundle, eventually, maybeRecordHistory } from '../support/temporal';
import { intakeStateQuery, intakeWorkflow, stopIntakeSignal } from '../../workflows/intake';

test('dev server arguments: SQLite in WAL mode, the Web UI, and every search attribute', () => {
  const args = devServerArgs({ cliPath: 'temporal', dbFilename: '/tmp/x.db', port: 7233 });
  assert.ok(args.includes('--db-filename'));
  assert.ok(args.join(' ').includes('--sqlite-pragma journal_mode=wal'));
  assert.ok(args.join(' ').includes('--ui-port 8233'));
  assert.ok(args.join(' ').includes('--search-attribute OrderStatus=Keyword'));
});

test('a running workflow resumes after the server and worker restart on the same SQLite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loopline-resume-'));
  const dbFilename = join(dir, 'temporal.db');
  const cliPath = readTemporalTools().cli.path;
  const port = await freePort();
  let polls = 0;
  const activities = {
    async pollChannelOrders() {
      polls += 1;
      return { watermark: new Date().toISOString(), seen: 0, started: 0, signalled: 0, unreadable: 0 };
    },
  };
  const runOnce = async (fn: (client: Client) => Promise<void>) => {
    const server = await startDevServer({ cliPath, port, headless: true, dbFilename });
    assert.equal(server.reused, false);
    const connection = await NativeConnection.connect({ address: server.address });
    const clientConn = await Connection.connect({ address: server.address });
    const client = new Client({ connection: clientConn });
    const worker = await Worker.create({
      connection,
      taskQueue: 'resume',
      workflowBundle: await workflowBundle(),
      activities,
    });
    await worker.runUntil(fn(client));
    await clientConn.close();
    await connection.close();
    await server.stop();
  };
  try {
    await runOnce(async (client) => {
      await client.workflow.start(intakeWorkflow, {
        taskQueue: 'resume',
        workflowId: 'intake:resume',
        args: [{ channel: 'asos', intervalMs: 300 }],
      });
      await eventually(() => (polls >= 2 ? true : undefined), 15_000, 'two polls');
    });
    const before = polls;
    await runOnce(async (client) => {
      const h = client.workflow.getHandle('intake:resume');
      // The same run continues: its totals count the polls made before the restart.
      const st = await eventually(
        async () => {
          const s = await h.query(intakeStateQuery);
          return s.totals.polls > before ? s : undefined;
        },
        20_000,
        'polls after restart',
      );
      assert.ok(st.totals.polls > before);
      const desc = await h.describe();
      assert.equal(desc.status.name, 'RUNNING');
      await client.workflow.getHandle('intake:resume').signal(stopIntakeSignal);
      await h.result();
      await maybeRecordHistory(h, 'intake-resumed-after-restart');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
