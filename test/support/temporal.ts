// A real Temporal server for workflow tests: the one `npm test` started (LOOPLINE_TEST_TEMPORAL_ADDRESS),
// or, when a file is run on its own, a dev server started here from the provisioned CLI binary.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  DefaultLogger,
  Runtime,
  type NativeConnectionPlugin,
  type WorkerPlugin,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { readTemporalTools } from '../../src/devtools/tools';
import { scanSdkEntry } from './scan-log';
import { SA } from '../../src/temporal/search-attributes';
import { parseConfig } from '../../src/config/load';
import { SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { createDataConverter } from '../../src/temporal/data-converter';
import { buildWorkflowBundle } from '../../src/temporal/workflow-bundle';
import { retriesUntilClose } from './retries-until-close';

// Keep the SDK's worker lifecycle chatter out of the test report; warnings and errors still show. Every
// entry also goes through Loopline's logger into the scanned log (test/support/scan-log.ts), as
// installTemporalLogging routes it in production.
// A test file that checks worker metrics sets LOOPLINE_TEST_TEMPORAL_METRICS (host:port) before importing this.
try {
  const metrics = process.env.LOOPLINE_TEST_TEMPORAL_METRICS;
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      scanSdkEntry(entry);
      const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
      process.stderr.write(`${at} [${entry.level}] ${entry.message} ${JSON.stringify(entry.meta ?? {})}\n`);
    }),
    ...(metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metrics } } } } : {}),
  });
} catch {
  // Already installed by another module in this process.
}

/**
 * Payload encryption with the sandbox key, on for every test as in production, and require-encrypted
 * on too (as outside the sandbox): a plaintext payload is refused wherever a test decodes one.
 */
export const TEST_SECURITY_YAML = `
security:
  payloadEncryption:
    enabled: true
    currentKeyId: key-1
    keys: [{ id: key-1, keyEnv: LOOPLINE_PAYLOAD_KEY_1 }]
    requireEncrypted: true
`;

/**
 * The encrypting data converter every test client and worker uses. `requireEncrypted: false` is for
 * replaying histories recorded before encryption (their payloads are plain).
 */
export function testDataConverter(opts: { requireEncrypted?: boolean } = {}): DataConverter {
  for (const [k, v] of Object.entries(SANDBOX_SECRETS)) process.env[k] ??= v;
  const yaml =
    opts.requireEncrypted === false
      ? TEST_SECURITY_YAML.replace('requireEncrypted: true', 'requireEncrypted: false')
      : TEST_SECURITY_YAML;
  return createDataConverter(parseConfig(yaml, 'test security'));
}

/**
 * Gives every Worker created on `env.nativeConnection` the encrypting converter unless it brings one
 * (workers built from a config without a security block, or created directly in a test), so nothing in
 * the suite can read or write plain payloads by accident. (Worker plugins are experimental in the SDK;
 * production code passes `dataConverter` to Worker.create instead.)
 */
export function encryptionPlugin(dataConverter: DataConverter): WorkerPlugin & NativeConnectionPlugin {
  return {
    name: 'loopline-test-payload-encryption',
    configureWorker(options) {
      if (options.dataConverter?.payloadCodecs?.length) return options;
      return { ...options, dataConverter };
    },
  };
}

export async function startTestEnv(): Promise<TestWorkflowEnvironment> {
  const address = process.env.LOOPLINE_TEST_TEMPORAL_ADDRESS;
  if (!address) return startLocalTemporal();
  const dataConverter = testDataConverter();
  const retries = retriesUntilClose();
  return settlingBeforeTeardown(
    await TestWorkflowEnvironment.createFromExistingServer({
      address,
      namespace: 'default',
      client: { dataConverter },
      plugins: [encryptionPlugin(dataConverter), retries],
    }),
    retries,
  );
}

/** The environment's teardown closes its connections only after the client's planned retries have started. */
function settlingBeforeTeardown(
  env: TestWorkflowEnvironment,
  retries: ReturnType<typeof retriesUntilClose>,
): TestWorkflowEnvironment {
  const teardown = env.teardown.bind(env);
  env.teardown = async () => {
    await retries.settle();
    await teardown();
  };
  return env;
}

/**
 * A dev server of its own from the provisioned CLI, with Loopline's search attributes and the encrypting
 * converter on its client and workers (benchmarks, and tests that need server settings of their own).
 */
export async function startLocalTemporal(
  opts: { extraArgs?: string[]; logLevel?: string } = {},
): Promise<TestWorkflowEnvironment> {
  const dataConverter = testDataConverter();
  const retries = retriesUntilClose();
  const env = await TestWorkflowEnvironment.createLocal({
    client: { dataConverter },
    plugins: [encryptionPlugin(dataConverter), retries],
    server: {
      executable: { type: 'existing-path', path: readTemporalTools().cli.path },
      ip: '127.0.0.1',
      ui: false,
      searchAttributes: Object.values(SA),
      ...(opts.logLevel ? { log: { format: 'pretty', level: opts.logLevel } } : {}),
      ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}),
    },
  });
  return settlingBeforeTeardown(env, retries);
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Workflows bundled once per test process (bundling takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= buildWorkflowBundle();
  return bundle;
}

export function uniqueQueue(name: string): string {
  return `test-${name}-${randomUUID().slice(0, 8)}`;
}

export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
      // An error reported on a timeout is the latest attempt's, never one that a later answer superseded.
      last = undefined;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * With LOOPLINE_RECORD_HISTORIES=1, saves a finished workflow's history under test/replay/histories so
 * the replay test guards it against non-determinism in later code. (Run `npm test -- test/workflows test/e2e`
 * with the variable set after a deliberate, versioned workflow change.)
 */
export async function maybeRecordHistory(handle: { fetchHistory(): Promise<unknown> }, name: string): Promise<void> {
  if (process.env.LOOPLINE_RECORD_HISTORIES !== '1') return;
  const dir = join(__dirname, '..', 'replay', 'histories');
  mkdirSync(dir, { recursive: true });
  // A recorded history guards the code that made it: never replaced, so old command orders stay covered.
  const file = join(dir, `${name}.json`);
  if (existsSync(file)) return;
  const history = await handle.fetchHistory();
  writeFileSync(file, historyToJSON(history as never));
}
