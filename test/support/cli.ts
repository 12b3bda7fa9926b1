// The `loopline` CLI as an operator or a deployment runs it: a child process reading a config file (the
// stack's config written as JSON, which is YAML) and TEMPORAL_ADDRESS, with the sandbox's secrets.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config/schema';
import { SANDBOX_SECRETS } from '../../src/sandbox/systems';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Writes `config` where the CLI can read it; returns the file's path. */
export function writeCliConfig(config: Config, dir = mkdtempSync(join(tmpdir(), 'loopline-cli-'))): string {
  const file = join(dir, 'loopline.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

export async function runCli(
  opts: { configFile: string; temporalAddress: string },
  ...args: string[]
): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: join(__dirname, '..', '..'),
    env: {
      ...process.env,
      ...SANDBOX_SECRETS,
      LOOPLINE_CONFIG: opts.configFile,
      TEMPORAL_ADDRESS: opts.temporalAddress,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}
