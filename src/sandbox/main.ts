// Process entry point for the simulators, one process per external system as in production, where each
// system is somewhere else:   tsx src/sandbox/main.ts [mirakl] [peoplevox] [shopify]   (none: all of them)
// It reads the same config as the workers and listens where that config points the system's connectors:
// the origin (host:port) of every Mirakl channel's connection.baseUrl, of systems.peoplevox.baseUrl, of
// systems.shopify.baseUrl. Systems started together must share that origin. The control API (docs/sandbox/)
// is served by each process for the systems it runs; time runs at config sandbox.timeScale.
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { createLogger } from '../logging/logger';
import { startSandbox } from './server';
import { sandboxSystems, SANDBOX_SECRETS } from './systems';

const KINDS = ['mirakl', 'peoplevox', 'shopify', 'reveni', 'marketplacer'] as const;
type Kind = (typeof KINDS)[number];

function baseUrlsOf(config: Config, kind: Kind): string[] {
  if (kind === 'mirakl') return config.channels.filter((c) => c.platform === 'mirakl').map((c) => c.connection.baseUrl);
  if (kind === 'marketplacer')
    return config.channels.filter((c) => c.platform === 'marketplacer').map((c) => c.connection.baseUrl);
  if (kind === 'peoplevox') return config.systems.peoplevox ? [config.systems.peoplevox.baseUrl] : [];
  if (kind === 'reveni') return config.systems.reveni ? [config.systems.reveni.baseUrl] : [];
  return config.systems.shopify ? [config.systems.shopify.baseUrl] : [];
}

/** Where the chosen systems listen: the one origin their base URLs share. */
export function listenAddress(config: Config, kinds: readonly Kind[]): { host: string; port: number } {
  const origins = new Set(kinds.flatMap((k) => baseUrlsOf(config, k)).map((u) => new URL(u).origin));
  if (origins.size !== 1) {
    throw new Error(
      `the simulators ${kinds.join(', ')} must share one origin in the config to run in one process; their base URLs give ${
        origins.size === 0 ? 'none' : [...origins].join(', ')
      }`,
    );
  }
  const url = new URL([...origins][0]!);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return { host: url.hostname === 'localhost' ? '127.0.0.1' : url.hostname, port };
}

async function main() {
  const asked = process.argv
    .slice(2)
    .flatMap((a) => a.split(','))
    .filter(Boolean);
  const unknown = asked.filter((a) => !(KINDS as readonly string[]).includes(a));
  if (unknown.length > 0) throw new Error(`unknown simulator(s) ${unknown.join(', ')}: use ${KINDS.join(', ')}`);
  // Sandbox credentials: the simulators accept these unless the environment names others.
  for (const [k, v] of Object.entries(SANDBOX_SECRETS)) process.env[k] ??= v;
  const config = loadConfig();
  if (!config.sandbox.enabled)
    throw new Error('sandbox.enabled is false in this config: the simulators are for the sandbox only');
  const systems = sandboxSystems(config).filter((s) => asked.length === 0 || asked.includes(s.name.split(':')[0]!));
  const kinds = [...new Set(systems.map((s) => s.name.split(':')[0] as Kind))];
  if (kinds.length === 0) throw new Error(`the config has no ${asked.join(', ')} to simulate`);
  const { host, port } = listenAddress(config, kinds);
  const log = createLogger({ level: config.log.level, format: config.log.format, name: `sandbox:${kinds.join('+')}` });
  const sandbox = await startSandbox({ host, port, timeScale: config.sandbox.timeScale, log }, systems);
  log.info({ url: sandbox.url, systems: kinds, timeScale: config.sandbox.timeScale }, 'simulators running');
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
