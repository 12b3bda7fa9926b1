// TLS options for a self-hosted server with mTLS (docs/deployment.md): client certificate, private CA, server name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load';
import { tlsOptions } from '../../src/temporal/connection';

test('mTLS to a self-hosted server: client pair, the CA that signed the server, and its name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loopline-tls-'));
  for (const f of ['client.pem', 'client.key', 'ca.pem']) writeFileSync(join(dir, f), `-- ${f} --`);
  const cfg = parseConfig('temporal: { address: "temporal:7233" }', 'test', {});
  const tls = tlsOptions(cfg, {
    TEMPORAL_TLS_CERT: join(dir, 'client.pem'),
    TEMPORAL_TLS_KEY: join(dir, 'client.key'),
    TEMPORAL_TLS_CA: join(dir, 'ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: 'temporal',
  });
  assert.ok(tls && tls !== true);
  assert.equal(tls.clientCertPair?.crt.toString(), '-- client.pem --');
  assert.equal(tls.serverRootCACertificate?.toString(), '-- ca.pem --');
  assert.equal(tls.serverNameOverride, 'temporal');
  assert.equal(tlsOptions(cfg, {}), undefined, 'plain gRPC when nothing asks for TLS');
});
