// The engine ceiling's workers in a process of their own (bench/lib/ceiling.ts with worker processes), so the
// ceiling runs in the arrangement of the real run's workers (bench/lib/worker-processes.ts):
//   node --import tsx bench/lib/ceiling-worker.ts <task queue> [workflows]
// polls one task queue on TEMPORAL_ADDRESS with the no-op activities (and the ceiling workflow with
// `workflows`), payloads encrypted with the sandbox key as everywhere else; logs {"msg":"workers running"}
// once polling, and stops on SIGTERM.
import { NativeConnection, Worker } from '@temporalio/worker';
import { bundleCeiling } from './ceiling-bundle';
import { testDataConverter } from '../../test/support/temporal';
import { Client, Connection } from '@temporalio/client';
import { ceilingActivities } from './ceiling-workflow';
import { ceilingSinks } from './ceiling-sinks';

async function main() {
  const [taskQueue, what] = process.argv.slice(2);
  const address = process.env.TEMPORAL_ADDRESS;
  if (!taskQueue || !address)
    throw new Error('usage: ceiling-worker.ts <task queue> [workflows] (TEMPORAL_ADDRESS set)');
  const connection = await NativeConnection.connect({ address });
  const workflowBundle = what === 'workflows' ? await bundleCeiling() : undefined;
  // The worker end of the workflow's sink: signals sent as the workflow comes to wait for them (ceiling-sinks.ts).
  const clientConnection = workflowBundle ? await Connection.connect({ address }) : undefined;
  const sinks = clientConnection
    ? ceilingSinks(
        new Client({ connection: clientConnection, namespace: 'default', dataConverter: testDataConverter() }),
      )
    : undefined;
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    dataConverter: testDataConverter(),
    activities: ceilingActivities,
    ...(workflowBundle ? { workflowBundle } : {}),
    ...(sinks ? { sinks } : {}),
  });
  const stop = () => worker.shutdown();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ msg: 'workers running', taskQueue })}\n`);
  await worker.run();
  await connection.close();
  await clientConnection?.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
