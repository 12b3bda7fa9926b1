// Where the provisioning script (provision-temporal.mjs) put the Temporal binaries.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(__dirname, '..', '..');

export interface TemporalTools {
  cli: { path: string; source: string; version: string };
  testServer: { path: string; source: string } | null;
}

export function readTemporalTools(): TemporalTools {
  const manifest = join(PROJECT_ROOT, '.tools', 'temporal.json');
  if (!existsSync(manifest)) {
    throw new Error(
      'The Temporal CLI has not been provisioned yet: run `npm run provision` (npm start and npm test do it).',
    );
  }
  return JSON.parse(readFileSync(manifest, 'utf8')) as TemporalTools;
}

/** What provision-server.mjs built and found: the Temporal server, its SQL schema tool, PostgreSQL. */
export interface ServerTools {
  temporal: {
    version: string;
    goToolchain: string;
    server: string;
    sqlTool: string;
    /** schema/postgresql/v12 of the server module: temporal/versioned and visibility/versioned. */
    schemaDir: string;
    source: string;
    reportedVersion: string;
  };
  postgres: { binDir: string; version: string };
}

export function readServerTools(): ServerTools {
  const manifest = join(PROJECT_ROOT, '.tools', 'temporal-server', 'manifest.json');
  if (!existsSync(manifest)) {
    throw new Error(
      'The Temporal server has not been provisioned yet: run `npm run provision:server` (npm run cluster and npm test do it).',
    );
  }
  return JSON.parse(readFileSync(manifest, 'utf8')) as ServerTools;
}
