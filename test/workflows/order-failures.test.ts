// Failure → exception, without a server: what a person reads when a step fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { makeException } from '../../src/domain/reasons';
import {
  ValidationProblems,
  isOutage,
  outageRetryDelayMs,
  systemOf,
  toException,
} from '../../workflows/order/failures';

const activity = (cause: Error) =>
  new ActivityFailure('activity failed', 'createWarehouseOrder', '5', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'w', cause);

test('retries used up on a transport error: SYSTEM_UNAVAILABLE naming the system, the step and the call', () => {
  const e = toException(
    activity(ApplicationFailure.retryable('HTTP 503', 'peoplevox:SaveData')),
    'create warehouse order',
    'O-1',
    1000,
  );
  assert.equal(e.reason, 'SYSTEM_UNAVAILABLE');
  assert.equal(e.owner, 'ops');
  assert.equal(
    e.message,
    'Order O-1: Peoplevox did not answer after repeated retries during "create warehouse order": SaveData: HTTP 503.',
  );
  assert.ok(isOutage(e));
});

test('a timeout is an outage too', () => {
  const e = toException(
    activity(new TimeoutFailure('timed out', undefined, TimeoutType.START_TO_CLOSE)),
    'acknowledge',
    'O-2',
    1,
  );
  assert.equal(e.reason, 'SYSTEM_UNAVAILABLE');
  assert.match(e.message, /acknowledge/);
});

test('a business failure keeps its reason code and owner; its sentence comes from the details when they carry the remote words', () => {
  const e = toException(
    activity(
      ApplicationFailure.create({
        message: 'rejected',
        type: 'WMS_REJECTED',
        nonRetryable: true,
        details: [{ detail: 'x' }],
      }),
    ),
    'create warehouse order',
    'O-3',
    1,
  );
  assert.equal(e.reason, 'WMS_REJECTED');
  assert.equal(e.message, 'Order O-3: the warehouse rejected the sales order: x.');
  assert.equal(isOutage(e), false);
  const own = toException(
    activity(ApplicationFailure.create({ message: 'its own words', type: 'CARRIER_UNMAPPED', nonRetryable: true })),
    'confirm shipment',
    'O-3',
    1,
  );
  assert.equal(own.message, 'its own words');
});

test('validation problems: the first names the exception, the others are counted', () => {
  const p1 = makeException('ADDRESS_MISSING', { orderId: 'O-4', field: 'postcode' }, 1);
  const p2 = makeException('FIELD_TOO_LONG', { orderId: 'O-4', field: 'city', length: 80, max: 50 }, 1);
  const e = toException(new ValidationProblems([p1, p2]), 'validate', 'O-4', 1);
  assert.equal(e.reason, 'ADDRESS_MISSING');
  assert.match(e.message, /\(\+1 more: FIELD_TOO_LONG\)$/);
});

test('anything else is UNEXPECTED_ERROR with the step', () => {
  const e = toException(new TypeError('boom'), 'read despatches', 'O-5', 1);
  assert.equal(e.reason, 'UNEXPECTED_ERROR');
  assert.match(e.message, /step "read despatches" failed unexpectedly: boom/);
});

test('system names and the outage backoff', () => {
  assert.deepEqual(systemOf('mirakl:OR21'), { system: 'Mirakl', operation: 'OR21' });
  assert.deepEqual(systemOf(''), { system: 'a connected system' });
  const o = { initialMs: 1000, maxMs: 5000 };
  assert.deepEqual(
    [0, 1, 2, 3, 10].map((n) => outageRetryDelayMs(n, o)),
    [1000, 2000, 4000, 5000, 5000],
  );
});
