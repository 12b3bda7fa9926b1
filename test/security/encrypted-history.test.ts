// Customer data never sits in plain text in Temporal: an order with a name, an email and an address runs
// through the whole stack (Mirakl simulator → intake → order workflow → Peoplevox simulator), then the
// raw history is read from the server with no codec at all and searched, base64 payloads included. The
// codec endpoint on the internal listener decodes the same payloads for the decryptor role, and for
// nobody else (not even the operator: operating and decrypting are separate credentials).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startTestEnv, eventually } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { orderWorkflowId } from '../../src/domain/keys';
import { scanLogPosition } from '../support/scan-log';
import { readFileSync } from 'node:fs';

let env: TestWorkflowEnvironment;
let stack: Stack;
let codecUrl: string;
before(async () => {
  env = await startTestEnv();
  stack = await startStack(env);
  const { port } = stack.internal.server.address() as AddressInfo;
  codecUrl = `http://127.0.0.1:${port}/codec`;
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

const customer = {
  firstname: 'Philippa',
  lastname: 'Quennell-Featherstonehaugh',
  email: 'philippa.quennell@example.invalid',
};
const street = '17 Marlowe Crescent';
// The first name alone is a common word; the rest identify the customer.
const secrets = [customer.email, customer.lastname, `${customer.firstname} ${customer.lastname}`, street];

interface WirePayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** Every string in the JSON tree, plus the text of every value that is valid base64. */
function haystack(json: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      parts.push(v);
      if (v.length >= 4 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(json);
  return parts.join('\n').toLowerCase();
}

interface HistoryPayloads {
  /** Every payload object (has metadata.encoding) outside search attributes and the core's own marker records. */
  payloads: WirePayload[];
  /** The `data` records of local-activity markers, decoded (checked to hold the core's own fields only). */
  localActivityRecords: Array<Record<string, unknown>>;
}

/** One walk of a history's JSON tree: its payloads, and the local-activity markers' records set aside. */
function payloadsIn(json: unknown, out: HistoryPayloads = { payloads: [], localActivityRecords: [] }): HistoryPayloads {
  if (Array.isArray(json)) json.forEach((v) => payloadsIn(v, out));
  else if (json && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    // patched() markers are written by the SDK core itself (the patch id, in json/plain), never through the
    // data converter; they carry no data of ours. The raw-text search above still covers them.
    if (o.markerName === 'core_patch') return out;
    // A local activity's marker (order-v6): its result goes through the data converter (encrypted, checked
    // here); its `data` detail is the core's own record of the call (sequence, activity id and type, attempt,
    // times), json/plain, never through the converter: set aside, and the test checks it holds nothing else.
    if (o.markerName === 'core_local_activity') {
      const details = (o.details ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(details)) {
        if (k !== 'data') payloadsIn(v, out);
        else
          for (const p of (v as { payloads?: WirePayload[] } | undefined)?.payloads ?? [])
            out.localActivityRecords.push(
              JSON.parse(Buffer.from(p.data ?? '', 'base64').toString()) as Record<string, unknown>,
            );
      }
      return out;
    }
    const meta = o.metadata as Record<string, unknown> | undefined;
    if (meta && typeof meta.encoding === 'string') out.payloads.push(o as WirePayload);
    else for (const [k, v] of Object.entries(o)) if (k !== 'searchAttributes') payloadsIn(v, out);
  }
  return out;
}
const encodingOf = (p: WirePayload) => Buffer.from(p.metadata?.encoding ?? '', 'base64').toString();

async function codec(op: 'decode' | 'encode', body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${codecUrl}/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'http://localhost:8233', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { payloads?: WirePayload[] } };
}

describe('encrypted workflow history', () => {
  test('an order’s customer name, email and address are nowhere in the raw history; the codec endpoint decodes it for the decryptor only', async () => {
    const orderId = `${stack.idPrefix}-7001-A`;
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId,
      lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }],
      customer: { ...customer, locale: 'en_GB' },
      shippingAddress: {
        firstname: customer.firstname,
        lastname: customer.lastname,
        street_1: street,
        city: 'Bath',
        zip_code: 'BA2 4QT',
        country: 'United Kingdom',
        country_iso_code: 'GBR',
        phone: '+441225000111',
      },
    });
    // The customer's details went all the way through Loopline to the warehouse…
    const son = `ASOS-${orderId}`;
    const wms = await eventually(
      async () => {
        const { data } = await stack.control.get('/control/peoplevox/test-client/orders');
        const o = (data as { orders: Array<{ salesOrderNumber: string; items: unknown[] }> }).orders.find(
          (x) => x.salesOrderNumber === son,
        );
        return o && o.items.length === 1 ? o : undefined;
      },
      30_000,
      'the Peoplevox sales order',
    );
    const atWarehouse = JSON.stringify(wms).toLowerCase();
    for (const s of [customer.email, street]) assert.ok(atWarehouse.includes(s.toLowerCase()), `${s} not sent on`);

    // …and the histories they passed through, read raw: a client with the default (no codec) converter.
    const plainClient = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    const workflowIds = [orderWorkflowId('asos', orderId), ...stack.recurring.intakeWorkflowIds];
    const histories = await Promise.all(
      workflowIds.map(async (id) => JSON.parse(historyToJSON(await plainClient.workflow.getHandle(id).fetchHistory()))),
    );
    const raw = haystack(histories);
    for (const s of secrets) assert.ok(!raw.includes(s.toLowerCase()), `"${s}" is readable in the raw history`);

    const { payloads, localActivityRecords: records } = payloadsIn(histories);
    assert.ok(payloads.length > 10, `only ${payloads.length} payloads found in the histories`);
    const notEncrypted = payloads.filter((p) => encodingOf(p) !== 'binary/encrypted');
    assert.deepEqual(
      notEncrypted.map(encodingOf),
      [],
      'every payload in the history is encrypted (search attributes are not payloads of ours)',
    );
    // The local activities' own records carry the call's bookkeeping and nothing of the order.
    assert.ok(records.length >= 2, `${records.length} local-activity records found`);
    const bookkeeping = new Set([
      'seq',
      'attempt',
      'activity_id',
      'activity_type',
      'activityId',
      'activityType',
      'complete_time',
      'completeTime',
      'backoff',
      'original_schedule_time',
      'originalScheduleTime',
    ]);
    for (const r of records)
      assert.deepEqual(
        Object.keys(r).filter((k) => !bookkeeping.has(k)),
        [],
        `a local-activity record holds more than bookkeeping: ${JSON.stringify(Object.keys(r))}`,
      );

    // The codec endpoint turns them back into JSON for the decryptor (the Web UI's request format).
    const token = process.env[stack.config.http.decryptorTokenEnv];
    const operatorToken = process.env[stack.config.http.opsTokenEnv];
    assert.ok(token && operatorToken);
    const logFrom = scanLogPosition();
    const decoded = await codec('decode', { payloads }, { authorization: `Bearer ${token}`, 'x-namespace': 'default' });
    assert.equal(decoded.status, 200);
    // Audited per workflow: the workflow ids the payloads were sealed for, the namespace, who; no content.
    const audit = readFileSync(logFrom.file, 'utf8')
      .slice(logFrom.offset)
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as { msg?: string; workflows?: string[]; namespace?: string; by?: string; payloads?: number },
      )
      .find((l) => l.msg === 'codec decode' && l.payloads === payloads.length);
    assert.ok(audit, 'the decode is in the audit log');
    assert.ok(
      audit.workflows?.includes(orderWorkflowId('asos', orderId)),
      `audited workflows: ${audit.workflows?.join(', ')}`,
    );
    assert.equal(audit.namespace, 'default');
    assert.equal(audit.by, 'bearer');
    assert.ok(!JSON.stringify(audit).toLowerCase().includes(customer.lastname.toLowerCase()));
    assert.equal(decoded.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    assert.equal(decoded.body.payloads?.length, payloads.length);
    const encodings = new Set(decoded.body.payloads!.map(encodingOf));
    assert.ok(encodings.has('json/plain'), `decoded encodings: ${[...encodings].join(', ')}`);
    const plainText = haystack(decoded.body.payloads);
    for (const s of [customer.email, customer.firstname, customer.lastname, street]) {
      assert.ok(plainText.includes(s.toLowerCase()), `"${s}" not in the decoded payloads`);
    }
    // One payload on its own: the one that carries the customer's name.
    const withName = payloads.find((_, i) =>
      haystack(decoded.body.payloads![i]).includes(customer.lastname.toLowerCase()),
    );
    assert.ok(withName);
    const single = await codec('decode', { payloads: [withName] }, { authorization: `Bearer ${token}` });
    assert.equal(single.status, 200);
    const singleText = haystack(single.body);
    for (const s of [customer.firstname, customer.lastname]) assert.ok(singleText.includes(s.toLowerCase()), s);

    // A browser signed in at /codec/login (basic auth, any user name) is the decryptor too.
    const basic = `Basic ${Buffer.from(`ada:${token}`).toString('base64')}`;
    assert.equal((await codec('decode', { payloads: [withName] }, { authorization: basic })).status, 200);

    // The operator's token is a credential, but not for decrypting: 403, nothing decoded.
    const asOperator = await codec('decode', { payloads: [withName] }, { authorization: `Bearer ${operatorToken}` });
    assert.equal(asOperator.status, 403);
    assert.ok(!haystack(asOperator.body).includes(customer.lastname.toLowerCase()));

    // Without the decryptor token, or with a wrong one: 401 and nothing decoded.
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer not-the-decryptor-token' },
      { authorization: token },
      { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` },
    ];
    for (const headers of attempts) {
      const refused = await codec('decode', { payloads: [withName] }, headers);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.payloads, undefined);
      assert.ok(!haystack(refused.body).includes(customer.lastname.toLowerCase()));
    }
  });

  test('the Web UI’s preflight is answered for its origin with the headers it sends, without a token', async () => {
    const res = await fetch(`${codecUrl}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8233',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-namespace',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['authorization', 'content-type', 'x-namespace']) assert.ok(allowed.includes(h), h);

    const other = await fetch(`${codecUrl}/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('the sign-in page asks the browser for the decryptor token (basic auth) and accepts it', async () => {
    const token = process.env[stack.config.http.decryptorTokenEnv]!;
    const challenged = await fetch(`${codecUrl}/login`);
    assert.equal(challenged.status, 401);
    assert.match(challenged.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    const signedIn = await fetch(`${codecUrl}/login`, {
      headers: { authorization: `Basic ${Buffer.from(`ops:${token}`).toString('base64')}` },
    });
    assert.equal(signedIn.status, 200);
  });

  test('encode then decode through the endpoint gives the payload back', async () => {
    const token = process.env[stack.config.http.decryptorTokenEnv]!;
    const auth = { authorization: `Bearer ${token}` };
    const original = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from(JSON.stringify({ note: 'hello' })).toString('base64'),
    };
    const enc = await codec('encode', { payloads: [original] }, auth);
    assert.equal(enc.status, 200);
    assert.equal(encodingOf(enc.body.payloads![0]!), 'binary/encrypted');
    const dec = await codec('decode', enc.body, auth);
    assert.deepEqual(dec.body.payloads, [original]);
  });
});
