// Connections to Temporal, the same way for the dev server, a self-hosted cluster (docker-compose) and
// Temporal Cloud: address and namespace from config (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE override it),
// an API key from the environment variable the config names, TLS when asked or when a key is present.
// Clients carry the payload-encryption data converter; workers get it in Worker.create (workers/runtime.ts).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema';
import { createDataConverter } from './data-converter';

/**
 * TLS to the frontend: a client certificate for mTLS (TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY), the CA that
 * signed a self-hosted server's certificate (TEMPORAL_TLS_CA) and the name it was issued to
 * (TEMPORAL_TLS_SERVER_NAME, when it differs from the address's host); docs/deployment.md.
 */
export function tlsOptions(cfg: Config, env: NodeJS.ProcessEnv = process.env) {
  const certPath = env.TEMPORAL_TLS_CERT;
  const keyPath = env.TEMPORAL_TLS_KEY;
  const caPath = env.TEMPORAL_TLS_CA;
  const serverName = env.TEMPORAL_TLS_SERVER_NAME;
  if ((certPath && keyPath) || caPath || serverName) {
    return {
      ...(certPath && keyPath ? { clientCertPair: { crt: readFileSync(certPath), key: readFileSync(keyPath) } } : {}),
      ...(caPath ? { serverRootCACertificate: readFileSync(caPath) } : {}),
      ...(serverName ? { serverNameOverride: serverName } : {}),
    };
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
