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
