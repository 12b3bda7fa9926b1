// `npm run cluster -- <command>`: a production-shaped Temporal cluster on this machine (src/devtools/cluster.ts).
//   up                 PostgreSQL, schema migrations, the Temporal server, namespace and search attributes
//   status [--json]    what runs, on which ports, which search attributes the server has
//   restart server|postgres [--kill]   restart one part (--kill: SIGKILL / immediate stop, as in a crash)
//   backup <dir> [--consistent]        pg_dump of both databases;  restore <dir>: put them back
//   down [--purge]     stop the server and PostgreSQL (--purge: delete the data directory too)
// The directory defaults to .loopline/cluster (LOOPLINE_CLUSTER_DIR or --dir to change it); ports are the
// defaults of src/devtools/cluster.ts, recorded at the first `up`.
import { Command } from 'commander';
import { LocalCluster, type ClusterStatus } from './cluster';

function cluster(dir?: string): LocalCluster {
  return new LocalCluster({
    dir: dir ?? process.env.LOOPLINE_CLUSTER_DIR,
    log: (line) => process.stderr.write(`[cluster] ${line}\n`),
  });
}

function printStatus(s: ClusterStatus, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  const sa = s.searchAttributes
    ? Object.entries(s.searchAttributes)
        .map(([n, t]) => `${n}=${t.replace('INDEXED_VALUE_TYPE_', '').toLowerCase()}`)
        .join(' ')
    : '(server not answering)';
  const lines = [
    `Temporal server   ${s.server.running ? `running (pid ${s.server.pid}), ${s.server.healthy ? 'healthy' : 'NOT healthy'}` : 'stopped'}  ${s.server.version}`,
    `  frontend        ${s.address}   namespace ${s.namespace}`,
    `PostgreSQL        ${s.postgres.running ? 'running' : 'stopped'} on 127.0.0.1:${s.postgres.port}  ${s.postgres.version}`,
    `Search attributes ${sa}`,
    `Data and logs     ${s.dir}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const program = new Command('cluster').option('--dir <path>', 'cluster directory (default .loopline/cluster)');

program
  .command('up')
  .description('start PostgreSQL and the Temporal server, migrate the schema, register the search attributes')
  .option('--json', 'print the status as JSON')
  .action(async (opts: { json?: boolean }) => {
    const s = await cluster(program.opts<{ dir?: string }>().dir).up();
    printStatus(s, Boolean(opts.json));
    if (!opts.json) {
      process.stdout.write(
        `\nWorkers and the HTTP server connect with TEMPORAL_ADDRESS=${s.address} (npm run worker, npm run http).\n`,
      );
    }
  });

program
  .command('status')
  .option('--json', 'print the status as JSON')
  .action(async (opts: { json?: boolean }) => {
    const s = await cluster(program.opts<{ dir?: string }>().dir).status();
    printStatus(s, Boolean(opts.json));
    if (!s.server.healthy || !s.postgres.running) process.exitCode = 1;
  });

program
  .command('restart')
  .argument('<part>', 'server or postgres')
  .option('--kill', 'SIGKILL the server / stop PostgreSQL in immediate mode, as in a crash')
  .action(async (part: string, opts: { kill?: boolean }) => {
    const c = cluster(program.opts<{ dir?: string }>().dir);
    if (part === 'server') {
      await c.stopServer(opts.kill ? 'SIGKILL' : 'SIGTERM');
      await c.startServer();
    } else if (part === 'postgres') {
      await c.stopPostgres(opts.kill ? 'immediate' : 'fast');
      await c.startPostgres();
    } else {
      throw new Error(`restart what? "${part}": use server or postgres`);
    }
    printStatus(await c.status(), false);
  });

program
  .command('backup')
  .argument('<dir>', 'directory for the dumps (created)')
  .option('--consistent', 'stop the Temporal server during the dump, so both databases are from one instant')
  .action(async (dir: string, opts: { consistent?: boolean }) => {
    const r = await cluster(program.opts<{ dir?: string }>().dir).backup(dir, { consistent: Boolean(opts.consistent) });
    process.stdout.write(`${r.files.join('\n')}\n`);
  });

program
  .command('restore')
  .argument('<dir>', 'a directory written by backup')
  .description('replace both databases with the backup (stops the server, restores, migrates, starts it)')
  .action(async (dir: string) => {
    const c = cluster(program.opts<{ dir?: string }>().dir);
    await c.restore(dir);
    printStatus(await c.status(), false);
  });

program
  .command('down')
  .option('--purge', 'also delete the data directory (PostgreSQL data: every workflow)')
  .action(async (opts: { purge?: boolean }) => {
    await cluster(program.opts<{ dir?: string }>().dir).down({ purge: Boolean(opts.purge) });
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
