// Run by retries-until-close.test.ts in a child process (an uncaught exception there is the finding, not a crash of
// the test runner): a call to a port where nothing listens is retried by the client's gRPC retry interceptor; once a
// retry is planned the connection is closed, straight away (`close`) or after the plugin's settle() (`settle`).
// Prints one JSON line: the uncaught exceptions' messages and how the call ended.
import { Connection } from '@temporalio/client';
import { createServer } from 'node:net';
import { retriesUntilClose } from './retries-until-close';

async function main(mode: string): Promise<void> {
  const uncaught: string[] = [];
  process.on('uncaughtException', (err) => uncaught.push(err.message));
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const retries = retriesUntilClose();
  const connection = Connection.lazy({ address: `127.0.0.1:${port}`, plugins: [retries] });
  let ended = 'pending';
  void connection.workflowService.getSystemInfo({}).then(
    () => (ended = 'answered'),
    (err: Error) => (ended = `rejected: ${err.message.split('\n')[0]}`),
  );
  const from = Date.now();
  while (retries.planned === 0 && Date.now() - from < 10_000) await new Promise((r) => setTimeout(r, 5));
  if (mode === 'settle') await retries.settle();
  await connection.close();
  await new Promise((r) => setTimeout(r, 2_000));
  process.stdout.write(`${JSON.stringify({ planned: retries.planned, uncaught, ended })}\n`);
}

void main(process.argv[2] ?? 'close');
