// /metrics: Loopline's own metrics (orders by state, exceptions by reason, deadline margin, API calls by
// system/endpoint/outcome) and the Temporal SDK's worker metrics, scraped from the HTTP server while a
// real stack runs orders through the simulators.
import { TEMPORAL_METRICS_ADDRESS } from './metrics-env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';

let env: TestWorkflowEnvironment;
let stack: Stack;
let metricsUrl: string;

before(async () => {
  // This file runs in its own process, with the SDK runtime's Prometheus endpoint on (see metrics-env.ts),
  // as workers/main.ts does from `metrics.temporalPrometheus`.
  env = await startTestEnv();
  stack = await startStack(env, { extraYaml: `metrics: { temporalPrometheus: "${TEMPORAL_METRICS_ADDRESS}" }` });
  metricsUrl = `http://127.0.0.1:${(stack.internal.server.address() as AddressInfo).port}/metrics`;
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('/metrics', () => {
  test('our order, exception, deadline and API-call metrics, and Temporal worker metrics', async () => {
    const ok = `${stack.idPrefix}-M1-A`;
    const parked = `${stack.idPrefix}-M2-A`;
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId: ok,
      lines: [{ offerSku: 'TEE-RED-M', quantity: 1 }],
    });
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId: parked,
      lines: [{ offerSku: `NOPE-${stack.idPrefix}`, quantity: 1 }],
    });
    const text = await eventually(
      async () => {
        const t = (await axios.get<string>(metricsUrl, { responseType: 'text' })).data;
        const inWarehouse = sample(t, 'loopline_orders', { status: 'IN_WAREHOUSE' }) ?? 0;
        const unmapped = sample(t, 'loopline_exceptions', { reason: 'SKU_UNMAPPED', owner: 'merchandising' }) ?? 0;
        return inWarehouse >= 1 && unmapped >= 1 ? t : undefined;
      },
      30_000,
      'order and exception gauges',
    );
    assert.ok(
      (sample(text, 'loopline_api_calls_total', { system: 'mirakl', endpoint: 'OR21', outcome: 'ok' }) ?? 0) >= 1,
    );
    assert.ok(
      (sample(text, 'loopline_api_calls_total', { system: 'mirakl', endpoint: 'OR11', outcome: 'ok' }) ?? 0) >= 1,
    );
    assert.ok(
      (sample(text, 'loopline_api_calls_total', { system: 'peoplevox', endpoint: 'SaveData', outcome: 'ok' }) ?? 0) >=
        1,
    );
    assert.match(text, /loopline_api_call_duration_seconds_bucket\{/);
    // Deadline margin: the orders carry acceptance and shipping deadlines days ahead.
    const margin = sample(text, 'loopline_deadline_margin_seconds', { kind: 'shipping' });
    assert.ok(margin !== undefined && margin > 0, `shipping margin ${margin}`);
    // Temporal's own worker metrics, appended from the SDK runtime's Prometheus endpoint.
    assert.match(text, /# Temporal SDK runtime metrics/);
    assert.match(text, /^temporal_[a-z_]+/m);

    // A 5xx injected on the warehouse shows up as errors for that endpoint.
    await stack.control.put('/control/faults/peoplevox', {
      rules: [{ endpoint: 'SaveData', kind: 'error5xx', count: 1 }],
    });
    try {
      const third = `${stack.idPrefix}-M3-A`;
      await stack.control.post('/control/mirakl/asos/orders', {
        orderId: third,
        lines: [{ offerSku: 'SCARF-NAVY-S', quantity: 1 }],
      });
      await eventually(
        async () => {
          const t = (await axios.get<string>(metricsUrl, { responseType: 'text' })).data;
          return (sample(t, 'loopline_api_calls_total', {
            system: 'peoplevox',
            endpoint: 'SaveData',
            outcome: 'error',
          }) ?? 0) >= 1
            ? true
            : undefined;
        },
        30_000,
        'the injected Peoplevox error counted',
      );
    } finally {
      await stack.control.delete('/control/faults/peoplevox');
    }
  });
});
