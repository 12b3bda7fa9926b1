// The Temporal Web UI, as people use it, in headless Chromium (Debian's chromium through playwright-core):
//   - the sandbox: `npm start` (src/sandbox/start.ts, run as a child process with a config of free
//     ports), then an order's page in the Web UI shows its decoded input, a customer's name from a demo
//     order, with no manual step (the codec endpoint opens without credentials there, and only there);
//   - outside the sandbox (sandbox.enabled false, a key and tokens of its own): the documented production
//     path, an SSO proxy in front of the Web UI and the codec endpoint (test/support/sso-proxy.ts).
//     Without credentials the page shows ciphertext; signed in without the decryptor group, ciphertext
//     (Loopline refuses the proxy's request); signed in as a decryptor, the decoded input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import pino from 'pino';
import { chromium, type Browser, type BrowserContextOptions } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { chromiumPath } from '../support/browser';
import { eventually } from '../support/temporal';
import { startSsoProxy, type SsoProxy } from '../support/sso-proxy';
import { PROJECT_ROOT, readTemporalTools } from '../../src/devtools/tools';
import { DEFAULT_CONFIG_PATH, parseConfig } from '../../src/config/load';
import { loadHttpSecrets } from '../../src/config/secrets';
import { SANDBOX_SECRETS } from '../../src/sandbox/secrets';
import { EncryptionCodec } from '../../src/temporal/codec';
import { createDataConverter } from '../../src/temporal/data-converter';
import { startDevServer, type DevServerHandle } from '../../src/temporal/dev-server';
import { createHttpServers, type HttpServers } from '../../src/http/server';

let browser: Browser;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

before(async () => {
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  });
});
after(async () => {
  await browser?.close();
});

/** The page of a workflow in the UI at `ui`: its visible text once the UI has asked the codec endpoint. */
async function workflowPageText(
  ui: string,
  workflow: { workflowId: string; runId: string },
  context: BrowserContextOptions,
  until?: (text: string) => boolean,
): Promise<{ text: string; codecStatuses: number[] }> {
  const ctx = await browser.newContext(context);
  try {
    const page = await ctx.newPage();
    const codecStatuses: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/codec/decode')) codecStatuses.push(r.status());
    });
    page.on('requestfailed', (r) => {
      if (r.url().includes('/codec/decode')) codecStatuses.push(0);
    });
    await page.goto(
      `${ui}/namespaces/default/workflows/${encodeURIComponent(workflow.workflowId)}/${workflow.runId}/history`,
    );
    let text = '';
    await eventually(
      async () => {
        text = await page.locator('body').innerText();
        if (codecStatuses.length === 0 || !text.includes('Input')) return undefined;
        return !until || until(text) ? true : undefined;
      },
      45_000,
      'the workflow page with its input, after the UI asked the codec',
    );
    return { text, codecStatuses };
  } finally {
    await ctx.close();
  }
}

describe('the sandbox: npm start, then the Web UI', () => {
  let child: ChildProcess | undefined;
  let banner = '';
  let temporalAddress = '';
  let uiUrl = '';

  before(async () => {
    const [temporalPort, httpPort, internalPort, sandboxPort, uiPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'loopline-start-'));
    // The shipped config, on free ports (the simulators' addresses follow the sandbox's port).
    const doc = parseDocument(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'));
    doc.setIn(['temporal', 'address'], `127.0.0.1:${temporalPort}`);
    doc.setIn(['http', 'port'], httpPort);
    doc.setIn(['http', 'internal'], { host: '127.0.0.1', port: internalPort });
    doc.setIn(['sandbox', 'port'], sandboxPort);
    doc.setIn(['sandbox', 'uiPort'], uiPort);
    doc.setIn(['sandbox', 'dataDir'], join(dir, 'data'));
    doc.setIn(['sandbox', 'demoOrdersPerMinute'], 30);
    doc.setIn(['metrics'], {});
    doc.setIn(['log'], { level: 'error', format: 'json' });
    const file = join(dir, 'loopline.yaml');
    writeFileSync(file, doc.toString().replaceAll('127.0.0.1:9090/', `127.0.0.1:${sandboxPort}/`));
    temporalAddress = `127.0.0.1:${temporalPort}`;

    // A fresh shell: none of the sandbox's secrets set, as for a new user.
    const env: NodeJS.ProcessEnv = { ...process.env, LOOPLINE_CONFIG: file };
    for (const k of [...Object.keys(SANDBOX_SECRETS), 'TEMPORAL_ADDRESS', 'LOOPLINE_TEST_TEMPORAL_ADDRESS'])
      delete env[k];
    child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox/start.ts'], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (banner += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (banner += d.toString()));
    await eventually(
      () => (banner.includes('Press Ctrl-C to stop') ? true : undefined),
      120_000,
      `the sandbox banner (output so far: ${banner.slice(-500)})`,
    );
    uiUrl = `http://localhost:${uiPort}`;
  });
  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('the banner says it is the sandbox, loudly, with the dashboard and its credentials', () => {
    assert.match(banner, /Ops dashboard\s+http:\/\/127\.0\.0\.1:\d+\/ops/);
    assert.ok(banner.includes(SANDBOX_SECRETS.LOOPLINE_OPS_TOKEN!), 'the operator credential');
    assert.ok(banner.includes(SANDBOX_SECRETS.LOOPLINE_DECRYPTOR_TOKEN!), 'the decryptor credential');
    assert.match(banner, /SANDBOX ONLY: the Web UI decodes every payload without signing in/);
    assert.match(banner, /SANDBOX ONLY: `npm run loopline -- <command>` finds the sandbox secrets by itself/);
  });

  test('an order’s page in the Web UI shows its decoded input, a demo customer’s name, with no manual step', async () => {
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress }) });
    try {
      // A demo order, and its customer's name as the sandbox key decrypts it.
      const wf = await eventually(
        async () => {
          for await (const w of client.workflow.list({ query: 'WorkflowType = "orderWorkflow"' })) return w;
          return undefined;
        },
        60_000,
        'a demo order workflow',
      );
      const history = JSON.parse(
        historyToJSON(await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()),
      );
      const sealed = history.events[0].workflowExecutionStartedEventAttributes.input.payloads[0] as {
        metadata: Record<string, string>;
        data: string;
      };
      assert.equal(Buffer.from(sealed.metadata.encoding!, 'base64').toString(), 'binary/encrypted');
      const codec = new EncryptionCodec({
        currentKeyId: 'key-1',
        keys: [{ id: 'key-1', key: Buffer.from(SANDBOX_SECRETS.LOOPLINE_PAYLOAD_KEY_1!, 'base64') }],
      });
      const payload: Payload = {
        metadata: Object.fromEntries(Object.entries(sealed.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        data: Buffer.from(sealed.data, 'base64'),
      };
      const input = defaultPayloadConverter.fromPayload<{ order: { customer: { lastName: string } } }>(
        (await codec.decode([payload]))[0]!,
      );
      const lastName = input.order.customer.lastName;
      assert.ok(lastName, 'the demo order has a customer');

      const { text, codecStatuses } = await workflowPageText(uiUrl, wf, {}, (t) => t.includes(lastName));
      assert.ok(text.includes(lastName), `the page shows ${lastName}`);
      assert.ok(codecStatuses.includes(200), 'decoded by the codec endpoint');
    } finally {
      await client.connection.close();
    }
  });
});

describe('outside the sandbox: the Web UI behind an SSO proxy', () => {
  const customer = { firstName: 'Philippa', lastName: 'Quennell-Featherstonehaugh' };
  const decryptorToken = randomBytes(24).toString('hex');
  let server: DevServerHandle;
  let servers: HttpServers;
  let proxy: SsoProxy;
  let client: Client;
  let uiUrl = '';
  let workflow: { workflowId: string; runId: string };
  /** The input as Temporal stores it (base64 of IV ‖ ciphertext ‖ tag). */
  let sealedData = '';

  before(async () => {
    const [temporalPort, uiPort, internalPort, proxyPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const proxyUrl = `http://localhost:${proxyPort}`;
    const env: NodeJS.ProcessEnv = {
      WEBUI_PAYLOAD_KEY: randomBytes(32).toString('base64'),
      WEBUI_OPERATOR_TOKEN: randomBytes(24).toString('hex'),
      WEBUI_DECRYPTOR_TOKEN: decryptorToken,
    };
    // The deployment's environment (the HTTP server reads its key from it).
    Object.assign(process.env, env);
    const config = parseConfig(
      `
temporal: { address: "127.0.0.1:${temporalPort}" }
http:
  port: 0
  internal: { port: ${internalPort}, allowedOrigins: ["${proxyUrl}"] }
  opsTokenEnv: WEBUI_OPERATOR_TOKEN
  decryptorTokenEnv: WEBUI_DECRYPTOR_TOKEN
security:
  payloadEncryption: { enabled: true, currentKeyId: k1, keys: [{ id: k1, keyEnv: WEBUI_PAYLOAD_KEY }] }
  codecEndpoint: { corsOrigins: ["${proxyUrl}", "http://localhost:${uiPort}"] }
`,
      'web-ui test',
      env,
    );
    assert.equal(config.sandbox.enabled, false);
    server = await startDevServer({
      cliPath: readTemporalTools().cli.path,
      port: temporalPort,
      uiPort,
      codecEndpoint: `${proxyUrl}/codec`,
    });
    uiUrl = `http://localhost:${uiPort}`;
    client = new Client({
      connection: await Connection.connect({ address: server.address }),
      dataConverter: createDataConverter(config, env),
    });
    // Outside the sandbox the codec endpoint never opens by itself: credentials as a deployment has them.
    servers = await createHttpServers({
      config,
      client,
      log: pino({ level: 'silent' }),
      inventory: false,
      secrets: loadHttpSecrets(config, env),
    });
    await servers.listen();
    proxy = await startSsoProxy({
      port: proxyPort,
      ui: `http://127.0.0.1:${uiPort}`,
      loopline: `http://127.0.0.1:${internalPort}`,
      decryptorToken,
      users: {
        ada: { password: 'ada-sso-password', groups: ['customer-service', 'decryptor'] },
        bob: { password: 'bob-sso-password', groups: ['ops'] },
      },
    });
    // An order, encrypted with this deployment's own key (no worker: it stays at its start).
    const h = await client.workflow.start('orderWorkflow', {
      taskQueue: 'web-ui-test',
      workflowId: 'order:asos:WEBUI-1-A',
      args: [{ channel: 'asos', orderId: 'WEBUI-1-A', order: { orderId: 'WEBUI-1-A', customer } }],
    });
    workflow = { workflowId: h.workflowId, runId: h.firstExecutionRunId };
    const raw = new Client({ connection: client.connection });
    const history = JSON.parse(historyToJSON(await raw.workflow.getHandle(h.workflowId).fetchHistory()));
    sealedData = history.events[0].workflowExecutionStartedEventAttributes.input.payloads[0].data as string;
  });
  after(async () => {
    await proxy?.close();
    await servers?.close();
    await client?.connection.close();
    await server?.stop();
  });

  test('without credentials the page shows ciphertext', async () => {
    const { text, codecStatuses } = await workflowPageText(uiUrl, workflow, {});
    assert.ok(!text.includes(customer.lastName), 'the name is not shown');
    assert.ok(text.includes(sealedData.slice(0, 40)), 'the input is shown as what it is: the ciphertext');
    assert.ok(!codecStatuses.includes(200), `the codec decoded nothing (${codecStatuses.join(', ')})`);
  });

  test('signed in to the SSO proxy without the decryptor group, the page still shows ciphertext', async () => {
    const { text, codecStatuses } = await workflowPageText(proxy.url, workflow, {
      httpCredentials: { username: 'bob', password: 'bob-sso-password' },
    });
    assert.ok(!text.includes(customer.lastName), 'the name is not shown');
    assert.ok(text.includes(sealedData.slice(0, 40)), 'the input is shown as what it is: the ciphertext');
    assert.ok(
      codecStatuses.includes(401),
      `Loopline refused the proxy's request without the decryptor token (${codecStatuses.join(', ')})`,
    );
  });

  test('signed in as a decryptor, the page shows the decoded input', async () => {
    const { text, codecStatuses } = await workflowPageText(
      proxy.url,
      workflow,
      { httpCredentials: { username: 'ada', password: 'ada-sso-password' } },
      (t) => t.includes(customer.lastName),
    );
    assert.ok(text.includes(customer.lastName));
    assert.ok(codecStatuses.includes(200));
  });
});
