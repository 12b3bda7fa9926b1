import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logging/logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, log: createLogger({ level: 'info', destination }) };
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
