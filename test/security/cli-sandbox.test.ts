// The CLI against the sandbox, as a new user runs it: no secret set in the shell. With the sandbox's own
// config (sandbox.enabled, Temporal on this machine) it finds the sandbox's published secrets by itself and
// says so on stderr; with any other config it stops, naming the variable it needs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv } from '../support/temporal';
import { SANDBOX_SECRETS } from '../../src/sandbox/secrets';
import { PROJECT_ROOT } from '../../src/devtools/tools';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

function config(sandbox: boolean): string {
  const file = join(mkdtempSync(join(tmpdir(), 'loopline-cli-sandbox-')), 'loopline.yaml');
  writeFileSync(
    file,
    `sandbox: { enabled: ${sandbox} }
security:
  payloadEncryption: { enabled: true, currentKeyId: key-1, keys: [{ id: key-1, keyEnv: LOOPLINE_PAYLOAD_KEY_1 }] }
`,
  );
  return file;
}

async function cli(file: string, ...args: string[]) {
  const shell: NodeJS.ProcessEnv = { ...process.env, LOOPLINE_CONFIG: file, TEMPORAL_ADDRESS: env.address };
  for (const k of Object.keys(SANDBOX_SECRETS)) delete shell[k];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: shell,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  return { code, stdout, stderr };
}

describe('the CLI and the sandbox secrets', () => {
  test('in the sandbox, `loopline exceptions` works with no secret set and says it used the published ones', async () => {
    const r = await cli(config(true), 'exceptions', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /SANDBOX: using the sandbox's published secrets/);
    assert.ok(Array.isArray(JSON.parse(r.stdout).exceptions ?? JSON.parse(r.stdout)), 'JSON on stdout, untouched');
  });
  test('outside the sandbox nothing is filled in: the missing key is named and the command stops', async () => {
    const r = await cli(config(false), 'exceptions', '--json');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /LOOPLINE_PAYLOAD_KEY_1 is not set/);
    assert.doesNotMatch(r.stderr, /SANDBOX/);
  });
});
