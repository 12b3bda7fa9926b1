// Production shape: a real Temporal server (go.temporal.io/server, pinned) on PostgreSQL, brought up by the
// same code as `npm run cluster`, from deploy/temporal/server.yaml (the file docker-compose.yml gives the
// server); the simulators, one worker process per role and the HTTP server each in their own process,
// started by the entry points a deployment uses. Orders go end to end through it while a worker is killed
// with SIGKILL and the Temporal server restarts. Judged from the simulators' state and the server's
// visibility. A solo file: it runs after the others, alone (src/devtools/run-tests.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { Client, Connection } from '@temporalio/client';
import { LocalCluster, freePorts } from '../../src/devtools/cluster';
import { PROJECT_ROOT, readServerTools } from '../../src/devtools/tools';
import { SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { TEST_SECURITY_YAML, eventually, testDataConverter } from '../support/temporal';
import { READY_LINES, rssMb, startProcess, type LooplineProcess } from '../../bench/lib/processes';
import { runCli } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'loopline-cluster-'));
const PVX_CLIENT = 'cluster-test';
let cluster: LocalCluster;
let client: Client;
let connection: Connection;
let mirakl: AxiosInstance;
let peoplevox: AxiosInstance;
let configFile: string;
let env: NodeJS.ProcessEnv;
const processes = new Map<string, LooplineProcess>();

async function freePort(): Promise<number> {
  return (await freePorts()).frontend;
}

function start(name: string, args: string[], readyLine: RegExp): LooplineProcess {
  const p = startProcess({ name, args, env, logDir: dir, readyLine, timeoutMs: 120_000 });
  processes.set(name, p);
  return p;
}
const worker = (role: string, replica = 1) =>
  start(`worker-${role}-${replica}`, ['workers/main.ts', 'worker', role], READY_LINES.worker);

before(async () => {
  const ports = await freePorts();
  cluster = new LocalCluster({ dir, ports });
  const started = Date.now();
  const status = await cluster.up();
  assert.ok(status.server.healthy, 'the server answers cluster health');
  process.stdout.write(
    `# cluster up in ${Date.now() - started} ms: ${status.server.version} on ${status.postgres.version}, ${cluster.address}\n`,
  );

  const [miraklPort, pvxPort, httpPort, internalPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  configFile = join(dir, 'loopline.yaml');
  writeFileSync(
    configFile,
    `
temporal: { address: ${cluster.address}, namespace: default }
http: { host: 127.0.0.1, port: ${httpPort}, internal: { host: 127.0.0.1, port: ${internalPort} } }
log: { level: info, format: json }
sandbox: { enabled: true, timeScale: 60, demoOrdersPerMinute: 0 }
systems:
  peoplevox: { baseUrl: http://127.0.0.1:${pvxPort}/peoplevox, clientId: ${PVX_CLIENT}, username: api-user, passwordEnv: PEOPLEVOX_PASSWORD }
channels:
  - code: asos
    label: ASOS Marketplace
    platform: mirakl
    connection: { baseUrl: http://127.0.0.1:${miraklPort}/mirakl/asos, apiKeyEnv: MIRAKL_ASOS_API_KEY }
    fulfilment: peoplevox
    currency: GBP
    returnWindowDays: 0
    carrierMap: { Royal Mail: { code: ROYALMAIL }, DPD: { code: DPD } }
${TEST_SECURITY_YAML}`,
  );
  // The processes' own logs say when they are ready (npm test runs with LOG_LEVEL=silent: not for them).
  env = {
    ...process.env,
    ...SANDBOX_SECRETS,
    LOOPLINE_CONFIG: configFile,
    TEMPORAL_ADDRESS: cluster.address,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
  };
  delete env.LOOPLINE_TEST_TEMPORAL_ADDRESS;
  mirakl = axios.create({ baseURL: `http://127.0.0.1:${miraklPort}`, timeout: 10_000 });
  peoplevox = axios.create({ baseURL: `http://127.0.0.1:${pvxPort}`, timeout: 10_000 });

  const sims = [
    start('sim-mirakl', ['src/sandbox/main.ts', 'mirakl'], READY_LINES.simulators),
    start('sim-peoplevox', ['src/sandbox/main.ts', 'peoplevox'], READY_LINES.simulators),
  ];
  await Promise.all(sims.map((p) => p.ready));
  const http = start('http', ['workers/main.ts', 'http'], READY_LINES.http);
  const workers = ['orders', 'acknowledge', 'peoplevox', 'inventory'].map((r) => worker(r));
  await Promise.all([http.ready, ...workers.map((w) => w.ready)]);
  // The deployment step that points Peoplevox's despatch and stock callbacks at the HTTP process.
  const sub = await runCli(
    { configFile, temporalAddress: cluster.address },
    'webhooks',
    'subscribe',
    '--url',
    `http://127.0.0.1:${httpPort}`,
  );
  assert.equal(sub.code, 0, sub.stderr);

  connection = await Connection.connect({ address: cluster.address });
  client = new Client({ connection, namespace: 'default', dataConverter: testDataConverter() });
  process.stdout.write(`# ${processes.size} Loopline processes ready ${Date.now() - started} ms after the start\n`);
  // Resident memory of each process (docs/deployment.md's sizing), from /proc where there is one.
  const rss = (pid: number | undefined) => `${rssMb(pid) ?? '?'} MB`;
  const memory = [`temporal-server ${rss(cluster.serverPid())}`];
  for (const p of processes.values()) memory.push(`${p.name} ${rss(p.child.pid)}`);
  process.stdout.write(`# resident memory: ${memory.join(', ')}\n`);
});

after(async () => {
  await connection?.close();
  await Promise.all([...processes.values()].map((p) => p.stop()));
  await cluster?.down({ purge: true });
});

interface WireOrder {
  order_state: string;
}
interface PvxOrder {
  salesOrderNumber: string;
  items: Array<{ itemCode: string; quantity: number }>;
  saveCounts?: { created?: number };
}
const marketplaceState = async (id: string) =>
  ((await mirakl.get(`/control/mirakl/asos/orders/${id}`)).data as WireOrder).order_state;
async function warehouseOrder(son: string): Promise<PvxOrder | undefined> {
  const { data } = await peoplevox.get(`/control/peoplevox/${PVX_CLIENT}/orders`);
  return (data as { orders: PvxOrder[] }).orders.find((o) => o.salesOrderNumber === son);
}

/**
 * `npm run cluster -- <args>` on this test's cluster, as a child process. Asynchronous on purpose: this
 * process is the parent of the server it restarted, and must stay free to reap it when the CLI stops it.
 */
async function clusterCli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/devtools/cluster-cli.ts', '--dir', dir, ...args], {
    cwd: PROJECT_ROOT,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { status, stdout, stderr };
}

function describeProcesses(): string {
  return [...processes.values()].map((p) => `--- ${p.name}\n${p.logTail(5)}`).join('\n');
}

/** Places an order on the Mirakl simulator and waits until Peoplevox holds it (accepted first on Mirakl). */
async function placeAndReachWarehouse(orderId: string): Promise<string> {
  await mirakl.post('/control/mirakl/asos/orders', { orderId, lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }] });
  const son = `ASOS-${orderId}`;
  try {
    await eventually(async () => (await warehouseOrder(son))?.items.length === 1, 60_000, `${son} in Peoplevox`);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${describeProcesses()}`, { cause: err });
  }
  assert.notEqual(await marketplaceState(orderId), 'WAITING_ACCEPTANCE');
  return son;
}

async function despatchAndClose(orderId: string, son: string): Promise<void> {
  await peoplevox.post(`/control/peoplevox/${PVX_CLIENT}/orders/${son}/despatch`, {
    parcels: [{ items: [{ itemCode: 'TEE-RED-M', quantity: 1 }], carrier: 'DPD', trackingNumber: `DPD-${orderId}` }],
  });
  try {
    await eventually(
      async () => (await marketplaceState(orderId)) === 'SHIPPED',
      60_000,
      `${orderId} SHIPPED on Mirakl`,
    );
    const handle = client.workflow.getHandle(`order:asos:${orderId}`);
    const result = (await handle.result()) as { status: string };
    assert.equal(result.status, 'CLOSED');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${describeProcesses()}`, { cause: err });
  }
  assert.equal((await warehouseOrder(son))?.saveCounts?.created, 1, `${son} created exactly once in Peoplevox`);
}

test('npm run cluster reports the pinned server on PostgreSQL, with every search attribute registered', async () => {
  const r = await clusterCli('status', '--json');
  assert.equal(r.status, 0, r.stderr);
  const status = JSON.parse(r.stdout) as Awaited<ReturnType<LocalCluster['status']>>;
  assert.equal(status.server.version, `temporal version ${readServerTools().temporal.version.replace(/^v/, '')}`);
  assert.match(status.postgres.version, /PostgreSQL\) 15\./);
  assert.equal(status.searchAttributes?.Channel, 'INDEXED_VALUE_TYPE_KEYWORD');
  assert.equal(status.searchAttributes?.AcceptanceDeadline, 'INDEXED_VALUE_TYPE_DATETIME');
});

test('an ASOS order goes end to end across the separate processes: accepted, created once in Peoplevox, shipped, closed', async () => {
  const orderId = 'CL-1001-A';
  const son = await placeAndReachWarehouse(orderId);
  await despatchAndClose(orderId, son);
  // Visibility (PostgreSQL) has the order under Loopline's search attributes.
  const listed = await eventually(async () => {
    for await (const wf of client.workflow.list({ query: `Channel = "asos" AND MarketplaceOrderId = "${orderId}"` }))
      return wf;
    return undefined;
  });
  assert.equal(listed.workflowId, `order:asos:${orderId}`);
});

test('the Temporal server restarts while an order waits for its despatch; the order completes once', async () => {
  const orderId = 'CL-2001-A';
  const son = await placeAndReachWarehouse(orderId);
  const started = Date.now();
  await cluster.stopServer('SIGTERM');
  await cluster.startServer();
  process.stdout.write(`# Temporal server restarted in ${Date.now() - started} ms\n`);
  await despatchAndClose(orderId, son);
});

test('kill -9 of the orders worker: a new process takes over the order from its history and completes it once', async () => {
  const orderId = 'CL-3001-A';
  const son = await placeAndReachWarehouse(orderId);
  const victim = processes.get('worker-orders-1')!;
  await victim.kill9();
  // The despatch arrives while no process polls the orders queue: the HTTP process signals the workflow, and
  // the signal waits in its history.
  await peoplevox.post(`/control/peoplevox/${PVX_CLIENT}/orders/${son}/despatch`, {
    parcels: [{ items: [{ itemCode: 'TEE-RED-M', quantity: 1 }], carrier: 'DPD', trackingNumber: `DPD-${orderId}` }],
  });
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await marketplaceState(orderId), 'SHIPPING', 'nothing is confirmed while no orders worker runs');
  const replacement = worker('orders', 2);
  await replacement.ready;
  await eventually(async () => (await marketplaceState(orderId)) === 'SHIPPED', 60_000, `${orderId} SHIPPED`);
  const result = (await client.workflow.getHandle(`order:asos:${orderId}`).result()) as { status: string };
  assert.equal(result.status, 'CLOSED');
  assert.equal((await warehouseOrder(son))?.saveCounts?.created, 1);
  // Nothing failed anywhere on the cluster.
  const failed = await client.workflow.count('ExecutionStatus = "Failed"');
  assert.equal(failed.count, 0);
});

test('backup and restore: both databases dumped, replaced from the dump, and every order is still there', async () => {
  const before = (await client.workflow.count('Channel = "asos"')).count;
  assert.ok(before >= 3);
  const backupDir = join(dir, 'backup');
  const r = await clusterCli('backup', backupDir, '--consistent');
  assert.equal(r.status, 0, r.stderr);
  await cluster.restore(backupDir);
  for (const id of ['CL-1001-A', 'CL-2001-A', 'CL-3001-A']) {
    const d = await eventually(() => client.workflow.getHandle(`order:asos:${id}`).describe(), 30_000, id);
    assert.equal(d.status.name, 'COMPLETED', id);
  }
  assert.equal((await eventually(() => client.workflow.count('Channel = "asos"'), 30_000)).count, before);
});
