// Loads the YAML config, applies environment overrides, validates with zod and explains any problem in
// words a merchant can act on: which key, which value it got, and what is allowed.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigSchema, type Config } from './schema';
import { secretValues } from './secret-values';
import { registerSecrets } from '../logging/logger';

export const DEFAULT_CONFIG_PATH = resolve(__dirname, 'loopline.yaml');

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid Loopline config (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc ? `${acc}.${String(key)}` : String(key);
  }, '');
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function explainIssues(input: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = formatPath(issue.path) || '(top level)';
      return `${where}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against docs/configuration.md`;
    }
    const key = formatPath(issue.path) || '(top level)';
    return `${key}: got ${describeValue(valueAt(input, issue.path))}; ${issue.message}`;
  });
}

/** Environment variables that override the file (12-factor deployment: compose, Cloud). */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  const temporal = (out.temporal ??= {}) as Record<string, unknown>;
  if (env.TEMPORAL_ADDRESS) temporal.address = env.TEMPORAL_ADDRESS;
  if (env.TEMPORAL_NAMESPACE) temporal.namespace = env.TEMPORAL_NAMESPACE;
  if (env.TEMPORAL_TLS) temporal.tls = env.TEMPORAL_TLS === 'true' || env.TEMPORAL_TLS === '1';
  // An API key implies TLS (Temporal Cloud).
  if (env.TEMPORAL_API_KEY && env.TEMPORAL_TLS === undefined) temporal.tls = true;
  const http = (out.http ??= {}) as Record<string, unknown>;
  if (env.LOOPLINE_HTTP_PORT) http.port = Number(env.LOOPLINE_HTTP_PORT);
  if (env.LOOPLINE_HTTP_HOST) http.host = env.LOOPLINE_HTTP_HOST;
  if (env.LOOPLINE_INTERNAL_PORT || env.LOOPLINE_INTERNAL_HOST) {
    const internal = (http.internal ??= {}) as Record<string, unknown>;
    if (env.LOOPLINE_INTERNAL_PORT) internal.port = Number(env.LOOPLINE_INTERNAL_PORT);
    if (env.LOOPLINE_INTERNAL_HOST) internal.host = env.LOOPLINE_INTERNAL_HOST;
  }
  const log = (out.log ??= {}) as Record<string, unknown>;
  if (env.LOG_LEVEL) log.level = env.LOG_LEVEL;
  if (env.LOG_FORMAT) log.format = env.LOG_FORMAT;
  return out;
}

export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `YAML syntax: ${e.message}`),
    );
  }
  const raw = (doc.toJS() ?? {}) as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['(top level): must be a YAML mapping of keys such as temporal, http, channels']);
  }
  const withEnv = applyEnv(raw as Record<string, unknown>, env);
  const result = ConfigSchema.safeParse(withEnv);
  if (!result.success) throw new ConfigError(source, explainIssues(withEnv, result.error.issues));
  return result.data;
}

export function loadConfig(path = process.env.LOOPLINE_CONFIG ?? DEFAULT_CONFIG_PATH, env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  const config = parseConfig(text, path, env);
  applySecretFiles(config, env);
  // From here on, no log line of this process can carry one of the secrets the config names.
  registerSecrets(secretValues(config, env));
  return config;
}

/** Every environment variable the config names for a secret: the value of each `…Env` key, at any depth. */
export function secretEnvNames(config: Config): string[] {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (k.endsWith('Env') && typeof child === 'string') names.add(child);
        else walk(child);
      }
    }
  };
  walk(config);
  return [...names].sort();
}

/**
 * Secrets as files (Docker and Kubernetes secrets): for each variable the config names, when it is unset
 * and `<NAME>_FILE` names a file, the file's content (less a trailing newline) becomes its value. A
 * variable set directly wins. An unreadable file stops the process, naming the variable and the path.
 */
export function applySecretFiles(config: Config, env: NodeJS.ProcessEnv = process.env): void {
  const problems: string[] = [];
  for (const name of secretEnvNames(config)) {
    const file = env[`${name}_FILE`];
    if (env[name] || !file) continue;
    try {
      env[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError('environment', problems);
}

/** Reads a secret named by the config from the environment (or its `_FILE`, see applySecretFiles), with a message naming both. */
export function secretFromEnv(envName: string, what: string, env: NodeJS.ProcessEnv = process.env): string {
  const v = env[envName];
  if (!v) {
    throw new ConfigError('environment', [
      `${what}: environment variable ${envName} is not set (nor ${envName}_FILE, a file holding it)`,
    ]);
  }
  return v;
}
