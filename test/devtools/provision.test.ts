// The provisioning scripts: an explicit binary wins, a broken one is named, and the manifest it writes
// is what tests and the sandbox read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, readServerTools, readTemporalTools } from '../../src/devtools/tools';

const script = join(PROJECT_ROOT, 'src/devtools/provision-temporal.mjs');

test('an explicit $TEMPORAL_CLI is used as it is, and its version printed', () => {
  const cli = readTemporalTools().cli.path;
  const r = spawnSync(process.execPath, [script], { env: { ...process.env, TEMPORAL_CLI: cli }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Temporal CLI: temporal version \d+\.\d+\.\d+/);
  assert.match(r.stdout, /from \$TEMPORAL_CLI/);
  assert.equal(readTemporalTools().cli.path, cli);
});

test('a $TEMPORAL_CLI that is not an executable fails with one sentence naming it', () => {
  const r = spawnSync(process.execPath, [script], {
    env: { ...process.env, TEMPORAL_CLI: '/nonexistent/temporal' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), /^TEMPORAL_CLI is set to \/nonexistent\/temporal, which is not an executable file\.$/);
});

test('the Temporal server is provisioned at the pinned version, with its schema tool, its migrations and PostgreSQL', () => {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'src/devtools/provision-server.mjs')], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Temporal server: temporal version 1\.32\.2 /m);
  const tools = readServerTools();
  assert.equal(tools.temporal.version, 'v1.32.2');
  const sqlTool = spawnSync(tools.temporal.sqlTool, ['--version'], { encoding: 'utf8' });
  assert.match(sqlTool.stdout, /temporal-sql-tool version 1\.32\.2/);
  for (const db of ['temporal', 'visibility']) {
    const versions = readdirSync(join(tools.temporal.schemaDir, db, 'versioned'));
    assert.ok(versions.includes('v1.0') && versions.length > 10, `${db} migrations: ${versions.join(' ')}`);
  }
  assert.match(tools.postgres.version, /\(PostgreSQL\) 15\./);
});
