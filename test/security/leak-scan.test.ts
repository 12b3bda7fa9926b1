// The leak scan every test stack runs when it stops (test/support/scan.ts) must be able to fail: planted
// in a log line or in a raw history in clear, a sandbox secret and a customer's data are found and
// counted; the same data through Loopline's logger, or through the encrypting client, is not.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, uniqueQueue } from '../support/temporal';
import { assertClean, scanHistories, scanLogFile, secretNeedles, type Needle } from '../support/scan';
import { SANDBOX_SECRETS } from '../../src/sandbox/secrets';
import { createLogger } from '../../src/logging/logger';

const customer: Needle[] = [
  { what: 'customer name', kind: 'pii', text: 'philippa quennell' },
  { what: 'email', kind: 'pii', text: 'philippa.q@example.invalid' },
];
const needles = [...secretNeedles(), ...customer];

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

describe('the leak scan', () => {
  test('finds a secret and customer data planted in log lines, base64 included, and fails', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'loopline-leak-')), 'log.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ msg: 'fine', orderId: 'A-1' }),
        JSON.stringify({ msg: 'calling', headers: { authorization: SANDBOX_SECRETS.MIRAKL_ASOS_API_KEY } }),
        JSON.stringify({ msg: 'saved', csv: Buffer.from('Philippa Quennell,1 High St').toString('base64') }),
        'not json: philippa.q@example.invalid',
      ].join('\n'),
    );
    const r = await scanLogFile(file, 0, needles);
    assert.equal(r.lines, 4);
    assert.equal(r.secretLines, 1);
    assert.equal(r.piiLines, 2);
    assert.throws(
      () =>
        assertClean({
          name: 'planted',
          logLines: r.lines,
          workflows: 0,
          historyEvents: 0,
          needles: { secrets: 0, pii: 0 },
          secretsInLogs: r.secretLines,
          piiInLogs: r.piiLines,
          secretsInHistory: 0,
          piiInHistoryClear: 0,
          findings: r.findings,
        }),
      /1 log line\(s\) with a secret, 2 with customer data/,
    );
  });

  test('the same data through Loopline’s logger leaves nothing to find', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'loopline-leak-')), 'log.jsonl');
    const lines: string[] = [];
    const log = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk, _e, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    });
    log.info({ headers: { Authorization: SANDBOX_SECRETS.MIRAKL_ASOS_API_KEY } }, 'calling');
    log.info(
      { order: { customer: { firstName: 'Philippa', lastName: 'Quennell' }, email: 'philippa.q@example.invalid' } },
      'order',
    );
    writeFileSync(file, lines.join(''));
    const r = await scanLogFile(file, 0, needles);
    assert.equal(r.lines, 2);
    assert.deepEqual(r.findings, []);
  });

  test('finds customer data in a raw history written without the codec, and none written with it', async () => {
    const plainQueue = uniqueQueue('leak-plain');
    const sealedQueue = uniqueQueue('leak-sealed');
    const input = { customer: { name: 'Philippa Quennell', email: 'philippa.q@example.invalid' } };
    const plain = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    await plain.workflow.start('orderWorkflow', {
      taskQueue: plainQueue,
      workflowId: `leak-plain-${plainQueue}`,
      args: [input],
    });
    await env.client.workflow.start('orderWorkflow', {
      taskQueue: sealedQueue,
      workflowId: `leak-sealed-${sealedQueue}`,
      args: [input],
    });
    const found = await scanHistories(env.connection, env.namespace ?? 'default', [plainQueue], needles, [
      `leak-plain-${plainQueue}`,
    ]);
    assert.ok(found.piiEvents >= 1, 'the plaintext input is found');
    assert.ok(found.findings.some((f) => f.where === 'history' && f.what === 'email'));
    const clean = await scanHistories(env.connection, env.namespace ?? 'default', [sealedQueue], needles, [
      `leak-sealed-${sealedQueue}`,
    ]);
    assert.ok(clean.events >= 1);
    assert.equal(clean.piiEvents, 0, 'the encrypted input reveals nothing');
    for (const id of [`leak-plain-${plainQueue}`, `leak-sealed-${sealedQueue}`])
      await env.client.workflow.getHandle(id).terminate('leak scan test');
  });
});
