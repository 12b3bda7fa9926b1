import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { AxiosError, AxiosHeaders } from 'axios';
import { createLogger, isDeniedKey, registerSecrets } from '../../src/logging/logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, log: createLogger({ level: 'debug', destination }) };
}

test('credentials and customer personal data never reach the log', () => {
  const { lines, log } = capture();
  log.info(
    {
      headers: { authorization: 'raw-mirakl-key' },
      order: {
        orderId: 'ORD-1',
        customer: { firstname: 'Ann', lastname: 'Lee' },
        shippingAddress: { line1: '1 High St', postcode: 'LS1 1AA' },
        email: 'ann@example.com',
      },
      password: 'hunter2',
    },
    'order received',
  );
  const out = lines.join('');
  for (const secret of ['raw-mirakl-key', 'Ann', 'Lee', '1 High St', 'LS1 1AA', 'ann@example.com', 'hunter2']) {
    assert.ok(!out.includes(secret), `${secret} leaked into ${out}`);
  }
  assert.ok(out.includes('ORD-1'), 'the order id is not personal data and stays');
  assert.equal(JSON.parse(out).msg, 'order received');
});

test('the deny-list applies at any depth, in any spelling of the key, in bindings too', () => {
  const { lines, log } = capture();
  const deep = {
    a: {
      b: {
        c: {
          d: {
            request: {
              headers: {
                'X-Shopify-Access-Token': 'shpat_deep',
                'x-shopify-hmac-sha256': 'hmac-deep',
                Cookie: 'session=cookie-deep',
                'Marketplacer-Hmac-256': 'mp-hmac-deep',
              },
            },
            saveRequest: { CsvData: 'SalesOrderNumber,Customer\nS-1,Jane Deep' },
            row: {
              Customer: 'Jane Deep',
              Phone: '+447700900001',
              ShippingAddressLine1: '9 Deep Lane',
              ShippingAddressPostcode: 'DE1 1EP',
              InvoiceAddressCity: 'Deepton',
              ContactName: 'Jane Deep',
            },
            auth: { pass: 'pass-deep', apiKey: 'key-deep', sessionId: 'sess-deep' },
          },
        },
      },
    },
  };
  log.child({ component: 'x', credentials: { token: 'bound-token-deep' } }).warn(deep, 'deep');
  const out = lines.join('');
  for (const leak of [
    'shpat_deep',
    'hmac-deep',
    'cookie-deep',
    'mp-hmac-deep',
    'Jane Deep',
    '+447700900001',
    '9 Deep Lane',
    'DE1 1EP',
    'Deepton',
    'pass-deep',
    'key-deep',
    'sess-deep',
    'bound-token-deep',
  ]) {
    assert.ok(!out.includes(leak), `${leak} leaked: ${out}`);
  }
  assert.ok(out.includes('"component":"x"'));
});

test('an axios error is logged as its allowed fields only: no request headers, no response body', () => {
  const { lines, log } = capture();
  const config = { headers: new AxiosHeaders({ Authorization: 'raw-mirakl-key-in-config' }), url: '/api/orders' };
  const err = new AxiosError(
    'Request failed with status code 400',
    'ERR_BAD_REQUEST',
    config as never,
    {},
    {
      status: 400,
      statusText: 'Bad Request',
      headers: {},
      config: config as never,
      data: { message: 'customer Jane Body at 1 Body Street is invalid' },
    },
  );
  log.warn({ err }, 'call failed');
  log.error(err);
  const out = lines.join('');
  assert.ok(!out.includes('raw-mirakl-key-in-config'), out);
  assert.ok(!out.includes('Jane Body'), out);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.err.status, 400);
  assert.equal(first.err.code, 'ERR_BAD_REQUEST');
  assert.match(first.err.message, /status code 400/);
  assert.equal(first.err.config, undefined);
  assert.equal(first.err.response, undefined);
});

test('keys on the allow-list stay (they name variables, not values); the secrets themselves are scrubbed anywhere', () => {
  registerSecrets(['scrub-me-secret-value-123']);
  const { lines, log } = capture();
  log.info(
    {
      passwordEnv: 'PEOPLEVOX_PASSWORD',
      tokenEnv: 'LOOPLINE_OPS_TOKEN',
      url: 'https://example.test/webhooks/peoplevox/scrub-me-secret-value-123/tracking',
    },
    'subscribed with scrub-me-secret-value-123 in the path',
  );
  const out = lines.join('');
  assert.ok(!out.includes('scrub-me-secret-value-123'), out);
  const line = JSON.parse(out);
  assert.equal(line.passwordEnv, 'PEOPLEVOX_PASSWORD');
  assert.equal(line.tokenEnv, 'LOOPLINE_OPS_TOKEN');
  assert.match(line.url, /\/webhooks\/peoplevox\/\[redacted\]\/tracking/);
  assert.match(line.msg, /subscribed with \[redacted\] in the path/);
  assert.equal(isDeniedKey('x-shopify-access-token'), true);
  assert.equal(isDeniedKey('orderId'), false);
  assert.equal(isDeniedKey('key'), false, 'idempotency keys are logged');
});
