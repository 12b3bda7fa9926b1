// The security building blocks on their own: credential checks at start-up, the CSRF rule, webhook
// verification (Shopify, Marketplacer, Reveni), formula-safe report cells and file names from remote ids,
// and the conditions under which the sandbox's relaxations exist.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyRequest } from 'fastify';
import { ConfigError, parseConfig } from '../../src/config/load';
import { loadHttpSecrets, sameSecret } from '../../src/config/secrets';
import { SANDBOX_SECRETS } from '../../src/sandbox/secrets';
import { fillSandboxSecrets, sandboxRelaxationRefusal } from '../../src/sandbox/relaxations';
import { csrfRefusal } from '../../src/http/csrf';
import {
  createSequenceGuard,
  verifyMarketplacerDelivery,
  verifyReveniEvent,
  verifyShopifyHmac,
} from '../../src/http/verify';
import { insideDir, safeFileComponent } from '../../src/reports/safe-files';
import { reconciliationCsv, reconciliationReportPaths } from '../../src/reconciliation/report';
import { findingsCsv } from '../../src/audit/report';
import { rolesOf } from '../../src/http/auth';
import type { CycleReconciliation } from '../../src/reconciliation/types';
import type { AuditFinding } from '../../src/audit/catalogue';

const yaml = (sandbox: boolean) => `
sandbox: { enabled: ${sandbox} }
security:
  payloadEncryption: { enabled: true, currentKeyId: k1, keys: [{ id: k1, keyEnv: LOOPLINE_PAYLOAD_KEY_1 }] }
`;
const strong = (c: string) => c.repeat(32);

describe('credentials checked at start-up', () => {
  test('a short token, two roles sharing a token, and a callback secret unfit for a URL are refused by variable name', () => {
    assert.throws(
      () =>
        loadHttpSecrets(parseConfig(yaml(false), 't'), {
          LOOPLINE_OPS_TOKEN: 'short-token',
          LOOPLINE_VIEWER_TOKEN: strong('v'),
          LOOPLINE_DECRYPTOR_TOKEN: strong('v'),
          LOOPLINE_WEBHOOK_SECRET: `${strong('w')}/..`,
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /LOOPLINE_OPS_TOKEN \(operator token\) is 11 characters; at least 24/);
        assert.match(
          err.message,
          /LOOPLINE_DECRYPTOR_TOKEN \(decryptor token\) has the same value as LOOPLINE_VIEWER_TOKEN/,
        );
        assert.match(
          err.message,
          /LOOPLINE_WEBHOOK_SECRET \(callback path secret\) may hold only letters, digits and -\._~/,
        );
        assert.ok(!err.message.includes('short-token'), 'a value is never quoted');
        return true;
      },
    );
  });

  test('outside the sandbox the published sandbox values are refused, tokens and payload key alike; in it they are fine', () => {
    assert.throws(
      () => loadHttpSecrets(parseConfig(yaml(false), 't'), { ...SANDBOX_SECRETS }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /LOOPLINE_OPS_TOKEN \(operator token\) is the published sandbox value/);
        assert.match(err.message, /LOOPLINE_PAYLOAD_KEY_1 \(payload key "k1"\) is the published sandbox key/);
        return true;
      },
    );
    const ok = loadHttpSecrets(parseConfig(yaml(true), 't'), { ...SANDBOX_SECRETS });
    assert.equal(ok.tokens.operator, SANDBOX_SECRETS.LOOPLINE_OPS_TOKEN);
    assert.equal(ok.webhookSecret, SANDBOX_SECRETS.LOOPLINE_WEBHOOK_SECRET);
  });

  test('roles: the operator token also reads; the decryptor token only decodes; secrets compare whatever their length', () => {
    const secrets = { tokens: { operator: strong('o'), viewer: strong('v'), decryptor: strong('d') } };
    assert.deepEqual([...rolesOf(strong('o'), secrets)].sort(), ['operator', 'viewer']);
    assert.deepEqual([...rolesOf(strong('v'), secrets)], ['viewer']);
    assert.deepEqual([...rolesOf(strong('d'), secrets)], ['decryptor']);
    assert.equal(rolesOf('x', secrets).size, 0);
    assert.equal(sameSecret('a', 'a'.repeat(1000)), false);
    assert.equal(sameSecret(undefined, 'a'), false);
    assert.equal(sameSecret('', ''), false, 'an empty expected value never matches');
  });
});

describe('CSRF rule of the internal listener', () => {
  const req = (method: string, headers: Record<string, string>, url = '/ops/api/workflows/x/cancel') =>
    ({
      method,
      url,
      protocol: 'http',
      headers: { host: 'ops.internal:8081', ...headers },
    }) as unknown as FastifyRequest;
  const opts = {
    allowedOrigins: ['https://ops.example'],
    extraOrigins: (u: string) => (u.startsWith('/codec/') ? ['http://localhost:8233'] : []),
  };
  test('same-origin JSON and scripts without Origin pass; reads always pass', () => {
    const json = { 'content-type': 'application/json' };
    assert.equal(
      csrfRefusal(req('POST', { ...json, origin: 'http://ops.internal:8081', 'sec-fetch-site': 'same-origin' }), opts),
      undefined,
    );
    assert.equal(csrfRefusal(req('POST', json), opts), undefined, 'curl, the CLI');
    assert.equal(
      csrfRefusal(req('POST', { ...json, origin: 'https://ops.example', 'sec-fetch-site': 'cross-site' }), opts),
      undefined,
      'a configured proxy origin',
    );
    assert.equal(
      csrfRefusal(req('POST', { 'x-loopline-request': '1' }), opts),
      undefined,
      'the custom header instead of JSON',
    );
    assert.equal(csrfRefusal(req('GET', { origin: 'https://evil.example' }), opts), undefined);
  });
  test('another origin, a cross-site fetch, a form post and Origin null are refused; the UI origin only for the codec', () => {
    const json = { 'content-type': 'application/json' };
    assert.match(
      csrfRefusal(req('POST', { ...json, origin: 'https://evil.example' }), opts)!,
      /origin https:\/\/evil\.example/,
    );
    assert.match(csrfRefusal(req('POST', { ...json, 'sec-fetch-site': 'cross-site' }), opts)!, /cross-site request/);
    assert.match(
      csrfRefusal(req('POST', { 'content-type': 'application/x-www-form-urlencoded' }), opts)!,
      /application\/json/,
    );
    assert.match(csrfRefusal(req('POST', { 'content-type': 'text/plain' }), opts)!, /application\/json/);
    assert.ok(csrfRefusal(req('POST', { ...json, origin: 'null' }), opts));
    assert.ok(
      csrfRefusal(req('POST', { ...json, origin: 'http://localhost:8233' }), opts),
      'the UI may not cancel orders',
    );
    assert.equal(
      csrfRefusal(req('POST', { ...json, origin: 'http://localhost:8233' }, '/codec/decode'), opts),
      undefined,
    );
  });
});

describe('webhook verification', () => {
  const body = Buffer.from(
    JSON.stringify({
      id: 'V2ViaG9va0V2ZW50LTIwMA==',
      event_name: 'update',
      payload: { data: { node: { __typename: 'Invoice', id: 'SW52b2ljZS0xMzczNw==' } } },
    }),
  );
  const key = 'marketplacer-hmac-key-for-tests';
  const sig = createHmac('sha256', key).update(body).digest('base64');
  test('Shopify: base64 HMAC-SHA256 of the raw bytes; anything else is false', () => {
    const secret = 'shopify-secret';
    const h = createHmac('sha256', secret).update(body).digest('base64');
    assert.equal(verifyShopifyHmac(body, h, secret), true);
    assert.equal(verifyShopifyHmac(Buffer.concat([body, Buffer.from(' ')]), h, secret), false);
    assert.equal(verifyShopifyHmac(body, undefined, secret), false);
    assert.equal(verifyShopifyHmac(body, 'x'.repeat(300), secret), false);
  });
  test('Marketplacer: Marketplacer-Hmac-256 over the raw body, then the body, the event key and the sequence', () => {
    const ok = verifyMarketplacerDelivery(
      body,
      { 'marketplacer-hmac-256': sig, 'idempotency-key': 'vertical:2552', 'marketplacer-sequence': '2553' },
      key,
    );
    assert.ok(ok.ok);
    assert.equal(ok.value.eventKey, 'vertical:2552');
    assert.equal(ok.value.sequence, 2553);
    // A hex digest is tolerated (docs/contracts.md); a wrong key, a changed body or no header is not.
    const hex = createHmac('sha256', key).update(body).digest('hex');
    assert.ok(verifyMarketplacerDelivery(body, { 'marketplacer-hmac-256': hex }, key).ok);
    for (const [raw, headers, k] of [
      [body, { 'marketplacer-hmac-256': sig }, 'another-key'],
      [Buffer.from(body.toString().replace('update', 'destroy')), { 'marketplacer-hmac-256': sig }, key],
      [body, {}, key],
      [body, { 'marketplacer-hmac-256': sig }, undefined],
    ] as const) {
      const r = verifyMarketplacerDelivery(raw, headers, k);
      assert.ok(!r.ok && r.reason === 'bad-signature');
    }
    const badSeq = verifyMarketplacerDelivery(
      body,
      { 'marketplacer-hmac-256': sig, 'marketplacer-sequence': '1;2' },
      key,
    );
    assert.ok(!badSeq.ok && badSeq.reason === 'invalid');
  });
  test('Marketplacer: a delivery older than the last one applied for the same object is stale', () => {
    const guard = createSequenceGuard();
    assert.equal(guard.accept('Invoice-1', 10), true);
    assert.equal(guard.accept('Invoice-1', 9), false);
    assert.equal(guard.accept('Invoice-1', 10), false, 'a replay');
    assert.equal(guard.accept('Invoice-2', 1), true);
    assert.equal(guard.accept('Invoice-1', 11), true);
  });
  test('Reveni: the event is a hint; only what Reveni answers for the return id is used', async () => {
    const id = '3f2a9c1e6b7d4e0f9a1b2c3d4e5f6a7b';
    const event = {
      id: 'evt_1',
      event: 'return.updated',
      created: Math.floor(Date.now() / 1000),
      data: { resource_id: id, status: 'accepted' },
    };
    const asked: string[] = [];
    const read = async (rid: string) => {
      asked.push(rid);
      return rid === id ? { id, status: 'in_progress' } : undefined;
    };
    const ok = await verifyReveniEvent(event, read);
    assert.ok(ok.ok);
    assert.equal(ok.resource.status, 'in_progress', "Reveni's status, not the event's claim");
    const unknown = await verifyReveniEvent({ ...event, data: { resource_id: 'a'.repeat(32) } }, read);
    assert.ok(!unknown.ok && unknown.reason === 'unknown-order');
    const injected = await verifyReveniEvent({ ...event, data: { resource_id: '../returns/x' } }, read);
    assert.ok(!injected.ok && injected.reason === 'invalid');
    const old = await verifyReveniEvent({ ...event, created: 1_000_000 }, read);
    assert.ok(!old.ok && old.reason === 'stale');
    assert.deepEqual(asked, [id, 'a'.repeat(32)], 'nothing invalid or stale is read back');
  });
});

describe('report files', () => {
  test('a remote id is a file name, never a path; different ids never share a name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loopline-safe-'));
    const evil = '../../../../../../etc/cron.d/x';
    const name = safeFileComponent(evil);
    assert.match(name, /^[A-Za-z0-9._-]+$/);
    assert.ok(!name.startsWith('.'));
    assert.notEqual(safeFileComponent('a/b'), safeFileComponent('a_b'));
    assert.equal(safeFileComponent('3f2a9c1e-6b7d-4e0f-9a1b-2c3d4e5f6a7b'), '3f2a9c1e-6b7d-4e0f-9a1b-2c3d4e5f6a7b');
    const paths = reconciliationReportPaths(dir, 'asos', evil);
    for (const p of [paths.csv, paths.json])
      assert.ok(p.startsWith(`${dir}/payout-reconciliation-asos-`) && !p.slice(dir.length + 1).includes('/'));
    assert.throws(() => insideDir(dir, '../outside.csv'), /leaves/);
  });

  test('cells that a spreadsheet would run are written as text; negative amounts stay numbers', () => {
    const findings = [
      {
        kind: 'ITEM_WITHOUT_OFFER',
        offerSku: '',
        itemCode: '=HYPERLINK("https://evil.example")',
        detail: '+1 and @SUM(A1)',
      },
      { kind: 'OFFER_WITHOUT_ITEM', offerSku: '-2+3', itemCode: 'SAFE-1', detail: '\tcmd' },
    ] as unknown as AuditFinding[];
    const rows = parseCsv(findingsCsv(findings), { columns: true }) as Array<Record<string, string>>;
    assert.equal(rows[0]!.item_code, `'=HYPERLINK("https://evil.example")`);
    assert.equal(rows[0]!.detail, "'+1 and @SUM(A1)");
    assert.equal(rows[1]!.offer_sku, "'-2+3");
    assert.equal(rows[1]!.item_code, 'SAFE-1');
    const r = {
      currency: 'GBP',
      matched: [],
      refunds: [],
      returnRefunds: [{ orderId: 'O1', lineId: 'O1-1', refundId: '=cmd|calc', payoutMinor: 250 }],
      fees: [{ type: 'FEE', orderId: '=1+1', amountMinor: -1234, feeCode: '@fee' }],
      unmatchedMirakl: [],
      unmatchedShopify: [],
      differences: [],
      journal: [],
    } as unknown as CycleReconciliation;
    const csvRows = parseCsv(reconciliationCsv(r), { columns: true }) as Array<Record<string, string>>;
    const refund = csvRows.find((x) => x.section === 'return_refund')!;
    assert.equal(refund.field, "'=cmd|calc", 'a refund id from the marketplace is text');
    assert.equal(refund.mirakl_amount, '2.50');
    const fee = csvRows.find((x) => x.section === 'fee')!;
    assert.equal(fee.order_id, "'=1+1");
    assert.equal(fee.detail, "'@fee");
    assert.equal(fee.net, '-12.34', 'an amount is a number, not escaped text');
  });
});

describe('the sandbox relaxations exist only in the sandbox', () => {
  const cfg = (sandbox: boolean, address = '127.0.0.1:7233') =>
    parseConfig(`temporal: { address: "${address}" }\n${yaml(sandbox)}`, 't');
  test('the open codec needs sandbox.enabled and the published key, nothing else', () => {
    assert.equal(sandboxRelaxationRefusal(cfg(true), { ...SANDBOX_SECRETS }), undefined);
    assert.match(sandboxRelaxationRefusal(cfg(false), { ...SANDBOX_SECRETS })!, /sandbox\.enabled is false/);
    assert.match(
      sandboxRelaxationRefusal(cfg(true), { LOOPLINE_PAYLOAD_KEY_1: Buffer.alloc(32, 7).toString('base64') })!,
      /a key of your own/,
    );
  });
  test('the CLI fills in the published secrets for a local sandbox only, and never over a value of your own', () => {
    const env: NodeJS.ProcessEnv = { LOOPLINE_OPS_TOKEN: 'mine-mine-mine-mine-mine-mine' };
    const filled = fillSandboxSecrets(cfg(true), env);
    assert.ok(filled.includes('LOOPLINE_PAYLOAD_KEY_1'));
    assert.equal(env.LOOPLINE_OPS_TOKEN, 'mine-mine-mine-mine-mine-mine');
    assert.deepEqual(fillSandboxSecrets(cfg(false), {}), []);
    assert.deepEqual(fillSandboxSecrets(cfg(true, 'temporal.prod.example:7233'), {}), []);
    const ownKey: NodeJS.ProcessEnv = { LOOPLINE_PAYLOAD_KEY_1: Buffer.alloc(32, 9).toString('base64') };
    assert.deepEqual(fillSandboxSecrets(cfg(true), ownKey), []);
    assert.equal(ownKey.LOOPLINE_OPS_TOKEN, undefined, 'nothing filled next to a key of your own');
  });
});
