// Connections to Temporal, the same way for the dev server, a self-hosted cluster (docker-compose) and
// Temporal Cloud: address and namespace from config (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE override it),
// an API key from the environment variable the config names, TLS when asked or when a key is present.
// Clients carry the payload-encryption data converter; workers get it in Worker.create (workers/runtime.ts).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema';
import { createDataConverter } from './data-converter';

function tlsOptions(cfg: Config) {
  const certPath = process.env.TEMPORAL_TLS_CERT;
  const keyPath = process.env.TEMPORAL_TLS_KEY;
  if (certPath && keyPath) {
    return { clientCertPair: { crt: readFileSync(certPath), key: readFileSync(keyPath) } };
  }
  return cfg.temporal.tls ? true : undefined;
}

function apiKey(cfg: Config): string | undefined {
  return process.env[cfg.temporal.apiKeyEnv] || undefined;
}

export async function connectClient(cfg: Config): Promise<Client> {
  const key = apiKey(cfg);
  const connection = await Connection.connect({
    address: cfg.temporal.address,
    tls: tlsOptions(cfg),
    ...(key ? { apiKey: key } : {}),
  });
  // Payloads are encrypted before they leave the process (docs/security.md).
  return new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: createDataConverter(cfg) });
}

export async function connectWorker(cfg: Config): Promise<NativeConnection> {
  const key = apiKey(cfg);
  return NativeConnection.connect({
    address: cfg.temporal.address,
    tls: tlsOptions(cfg),
    ...(key ? { apiKey: key } : {}),
  });
}
