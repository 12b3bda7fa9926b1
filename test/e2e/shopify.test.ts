// ASOS (Mirakl) ↔ Shopify through the sandbox (docs/shopify.md): the order workflow with Shopify as the
// fulfilment system. Assertions are on what the simulators hold, never on Loopline's own word.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { startStack, type Stack } from '../support/stack';
import { orderWorkflowId } from '../../src/domain/keys';
import { ensureInventoryWorkflows } from '../../src/inventory/intake';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { createInventoryActivities } from '../../activities/inventory';
import { orderStateQuery } from '../../workflows/order/messages';

let env: TestWorkflowEnvironment;
let stack: Stack;
let httpUrl: string;
const SHOP = '/control/shopify/loopline-test';

before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, {
    shopify: true,
    multiShipment: { asos: true, joules: false },
    channelExtra: {
      asos: {
        additionalFields: {
          'gift-message': { label: 'Gift message', shopify: 'attribute' },
          'delivery-notes': { label: 'Delivery notes', shopify: 'note' },
        },
      },
    },
  });
  const addr = stack.http.server.address() as { port: number };
  httpUrl = `http://127.0.0.1:${addr.port}`;
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

interface WireTax {
  code: string;
  amount: number;
}
interface WireOrder {
  order_id: string;
  order_state: string;
  order_lines: Array<{
    order_line_id: string;
    offer_sku: string;
    quantity: number;
    price: number;
    shipping_price: number;
    taxes: WireTax[];
    shipping_taxes: WireTax[];
    refunds: Array<{
      amount: number;
      shipping_amount: number;
      quantity: number;
      reason_code: string;
      taxes: WireTax[];
    }>;
  }>;
  _sandbox: {
    shipments: Array<{
      shipment_lines: Array<{ order_line_id: string; quantity: number }>;
      tracking?: { carrier_code?: string; tracking_number?: string };
    }>;
  };
}
interface ShopOrder {
  id: string;
  note?: string;
  customAttributes?: Array<{ key: string; value: string }>;
  shippingAddress?: { countryCode?: string; zip?: string };
  sourceIdentifier: string;
  tags: string[];
  metafields: Array<{ key: string; value: string }>;
  lineItems: Array<{ sku: string; quantity: number; unitPriceMinor: number; taxLines: Array<{ amountMinor: number }> }>;
  shippingLines: Array<{ priceMinor: number; taxLines: Array<{ amountMinor: number }> }>;
  totals: { total: number; tax: number };
}

const minor = (x: number) => Math.round(x * 100);
const mirakl = async (id: string) => (await stack.control.get(`/control/mirakl/asos/orders/${id}`)).data as WireOrder;
const shopOrders = async (sourceIdentifier: string) =>
  ((await stack.control.get(`${SHOP}/orders`, { params: { sourceIdentifier } })).data as { orders: ShopOrder[] })
    .orders;
const workflowState = (orderId: string) =>
  env.client.workflow.getHandle(orderWorkflowId('asos', orderId)).query(orderStateQuery);

async function placeAndImport(
  orderId: string,
  lines: Array<{ offerSku: string; quantity: number }>,
  shippingPrice = 4.99,
) {
  await stack.control.post('/control/mirakl/asos/orders', { orderId, lines, shippingPrice });
  return eventually(
    async () => {
      const o = await shopOrders(orderId);
      return o.length > 0 && (await mirakl(orderId)).order_state === 'SHIPPING' ? o : undefined;
    },
    30_000,
    'the order in Shopify',
  );
}

describe('ASOS (Mirakl) ↔ Shopify, end to end', () => {
  test('an ASOS order appears exactly once in Shopify although the orderCreate response is lost and webhooks arrive twice; money exact', async () => {
    const orderId = `${stack.idPrefix}-S1-A`;
    await stack.control.put('/control/faults/shopify', {
      rules: [{ endpoint: 'orderCreate', kind: 'lostResponse', count: 1 }],
    });
    await stack.control.put(`${SHOP}/webhook-delivery`, { duplicateNext: 3 });
    await placeAndImport(orderId, [
      { offerSku: 'TEE-RED-M', quantity: 2 },
      { offerSku: 'SCARF-NAVY-S', quantity: 1 },
    ]);
    const faults = (await stack.control.get('/control/faults/shopify')).data as { fired: Record<string, number> };
    assert.equal(faults.fired.lostResponse, 1, 'the first orderCreate response was lost');
    // Give the retry (and any duplicate) time to happen, then count.
    const wf = await eventually(
      async () => {
        const s = await workflowState(orderId);
        return s.status === 'IN_WAREHOUSE' ? s : undefined;
      },
      20_000,
      'IN_WAREHOUSE',
    );
    const orders = await shopOrders(orderId);
    assert.equal(orders.length, 1, 'exactly one Shopify order');
    const o = orders[0]!;
    assert.equal(wf.salesOrderNumber, o.id);
    assert.ok(o.tags.includes('loopline-asos'));
    assert.equal(o.metafields.find((m) => m.key === 'mirakl_order_id')?.value, orderId);
    // Money exact to the minor unit, from the Mirakl order.
    const m = await mirakl(orderId);
    for (const l of m.order_lines) {
      const li = o.lineItems.find((x) => x.sku === l.offer_sku)!;
      assert.equal(li.unitPriceMinor * li.quantity, minor(l.price), `goods of ${l.offer_sku}`);
      assert.equal(
        li.taxLines.reduce((s, t) => s + t.amountMinor, 0),
        l.taxes.reduce((s, t) => s + minor(t.amount), 0),
      );
    }
    const ship = m.order_lines.reduce((s, l) => s + minor(l.shipping_price), 0);
    assert.equal(o.shippingLines[0]!.priceMinor, ship);
    assert.equal(
      o.shippingLines[0]!.taxLines.reduce((s, t) => s + t.amountMinor, 0),
      m.order_lines.reduce((s, l) => s + l.shipping_taxes.reduce((x, t) => x + minor(t.amount), 0), 0),
    );
    // The orders/create webhook reached Loopline twice with one event id.
    const hooks = (await stack.control.get(`${SHOP}/webhooks`)).data as {
      deliveries: Array<{ eventId: string; topic: string; status: number }>;
    };
    const created = hooks.deliveries.filter((d) => d.topic === 'orders/create' && d.status === 200);
    assert.ok(
      created.length >= 2 && new Set(created.map((d) => d.eventId)).size < created.length,
      'a duplicate delivery',
    );

    // Fulfil everything; the fulfillments/create webhook arrives twice: one shipment on ASOS.
    await stack.control.post(`${SHOP}/orders/${o.id.split('/').pop()}/fulfil`, { company: 'DPD', number: 'DPD-S1' });
    const shipped = await eventually(
      async () => {
        const x = await mirakl(orderId);
        return x.order_state === 'SHIPPED' ? x : undefined;
      },
      30_000,
      'SHIPPED on Mirakl',
    );
    assert.equal(shipped._sandbox.shipments.length, 1);
    assert.equal(shipped._sandbox.shipments[0]!.tracking?.tracking_number, 'DPD-S1');
    await stack.control.delete('/control/faults/shopify');
    // Shopify work runs on its own queue, not behind the Peoplevox budget.
    const history = await env.client.workflow.getHandle(orderWorkflowId('asos', orderId)).fetchHistory();
    const scheduled = history.events?.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'createWarehouseOrder',
    );
    assert.equal(
      scheduled?.activityTaskScheduledEventAttributes?.taskQueue?.name,
      stack.config.temporal.taskQueues.shopify,
    );
    await maybeRecordHistory(
      env.client.workflow.getHandle(orderWorkflowId('asos', orderId)),
      'order-shopify-exactly-once',
    );
  });

  test('an order to Austria (AUT) with a gift message: Shopify gets CountryCode AT, the message as an attribute, notes in the note', async () => {
    const orderId = `${stack.idPrefix}-S9-A`;
    await stack.control.post('/control/mirakl/asos/orders', {
      orderId,
      lines: [{ offerSku: 'TEE-CREAM-M', quantity: 1 }],
      shippingPrice: 4.99,
      shippingAddress: {
        firstname: 'Lena',
        lastname: 'Huber',
        street_1: 'Stephansplatz 1',
        city: 'Wien',
        zip_code: '1010',
        country: 'Österreich',
        country_iso_code: 'AUT',
      },
      additionalFields: [
        { code: 'gift-message', type: 'TEXTAREA', value: 'Alles Gute zum Geburtstag!' },
        { code: 'delivery-notes', value: 'Bitte beim Portier abgeben' },
      ],
    });
    const [o] = await eventually(
      async () => {
        const x = await shopOrders(orderId);
        return x.length > 0 ? x : undefined;
      },
      30_000,
      'the order in Shopify',
    );
    assert.equal(o!.shippingAddress?.countryCode, 'AT', 'Austria, not AU (Australia)');
    assert.equal(o!.shippingAddress?.zip, '1010');
    assert.deepEqual(o!.customAttributes, [{ key: 'Gift message', value: 'Alles Gute zum Geburtstag!' }]);
    assert.equal(o!.note, 'Delivery notes: Bitte beim Portier abgeben');
  });

  test('a bad webhook signature is refused with 401 and never processed', async () => {
    const body = JSON.stringify({ id: 1, order_id: 1, line_items: [] });
    const bad = await fetch(`${httpUrl}/webhooks/shopify`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'X-Shopify-Topic': 'fulfillments/create',
        'X-Shopify-Hmac-Sha256': 'AAAA',
      },
    });
    assert.equal(bad.status, 401);
    const unsigned = await fetch(`${httpUrl}/webhooks/shopify`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'X-Shopify-Topic': 'fulfillments/create' },
    });
    assert.equal(unsigned.status, 401);
    // The same body signed with the right secret is accepted (and ignored: no such order).
    const hmac = createHmac('sha256', process.env.SHOPIFY_WEBHOOK_SECRET!).update(body).digest('base64');
    const good = await fetch(`${httpUrl}/webhooks/shopify`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'X-Shopify-Topic': 'orders/create',
        'X-Shopify-Hmac-Sha256': hmac,
      },
    });
    assert.equal(good.status, 200);
  });

  test('a partial fulfilment in Shopify ships only those lines on ASOS; a missed webhook is caught by the poll', async () => {
    const orderId = `${stack.idPrefix}-S2-A`;
    const [o] = await placeAndImport(orderId, [
      { offerSku: 'TEE-RED-M', quantity: 2 },
      { offerSku: 'SCARF-NAVY-S', quantity: 1 },
    ]);
    const ref = o!.id.split('/').pop();
    await stack.control.post(`${SHOP}/orders/${ref}/fulfil`, {
      lines: [{ sku: 'TEE-RED-M', quantity: 1 }],
      company: 'DPD',
      number: 'DPD-P1',
    });
    const partial = await eventually(
      async () => {
        const x = await mirakl(orderId);
        return x._sandbox.shipments.length === 1 ? x : undefined;
      },
      30_000,
      'the first shipment on Mirakl',
    );
    assert.deepEqual(
      partial._sandbox.shipments[0]!.shipment_lines.map((l) => [l.order_line_id, l.quantity]),
      [[`${orderId}-1`, 1]],
    );
    assert.equal(partial._sandbox.shipments[0]!.tracking?.tracking_number, 'DPD-P1');
    assert.equal(partial._sandbox.shipments[0]!.tracking?.carrier_code, 'DPD');
    assert.notEqual(partial.order_state, 'SHIPPED');

    // The next fulfillments/create webhook never arrives: the workflow's poll of Shopify finds it.
    await stack.control.put(`${SHOP}/webhook-delivery`, { dropNext: { 'fulfillments/create': 1 } });
    await stack.control.post(`${SHOP}/orders/${ref}/fulfil`, { company: 'Royal Mail', number: 'RM-P2' });
    const done = await eventually(
      async () => {
        const x = await mirakl(orderId);
        return x.order_state === 'SHIPPED' ? x : undefined;
      },
      30_000,
      'SHIPPED after the poll',
    );
    const second = done._sandbox.shipments.find((s) => s.tracking?.tracking_number === 'RM-P2')!;
    assert.deepEqual(second.shipment_lines.map((l) => [l.order_line_id, l.quantity]).sort(), [
      [`${orderId}-1`, 1],
      [`${orderId}-2`, 1],
    ]);
    assert.equal(done._sandbox.shipments.length, 2);
    await maybeRecordHistory(env.client.workflow.getHandle(orderWorkflowId('asos', orderId)), 'order-shopify-partial');
  });

  test('a Shopify refund refunds the right line amounts on ASOS, once, computed from the Mirakl order', async () => {
    const orderId = `${stack.idPrefix}-S3-A`;
    const [o] = await placeAndImport(orderId, [
      { offerSku: 'JUMPER-NAVY-L', quantity: 3 },
      { offerSku: 'SCARF-RED-M', quantity: 1 },
    ]);
    const ref = o!.id.split('/').pop();
    await stack.control.post(`${SHOP}/orders/${ref}/fulfil`, { company: 'DPD', number: 'DPD-R1' });
    await eventually(
      async () => ((await mirakl(orderId)).order_state === 'SHIPPED' ? true : undefined),
      30_000,
      'SHIPPED',
    );

    // One of three jumpers back, damaged; the webhook is delivered twice and the OR28 response is lost.
    await stack.control.put(`${SHOP}/webhook-delivery`, { duplicateNext: 1 });
    await stack.control.put('/control/faults/mirakl', {
      rules: [{ endpoint: 'OR28', kind: 'lostResponse', count: 1 }],
    });
    await stack.control.post(`${SHOP}/orders/${ref}/refund`, {
      lines: [{ sku: 'JUMPER-NAVY-L', quantity: 1 }],
      note: 'damaged',
    });
    const refunded = await eventually(
      async () => {
        const x = await mirakl(orderId);
        return x.order_lines[0]!.refunds.length > 0 ? x : undefined;
      },
      30_000,
      'the refund on Mirakl',
    );
    const fired = (await stack.control.get('/control/faults/mirakl')).data as { fired: Record<string, number> };
    assert.equal(fired.fired.lostResponse, 1, 'the first OR28 response was lost');
    await stack.control.delete('/control/faults/mirakl');
    const line = refunded.order_lines[0]!;
    const r = line.refunds[0]!;
    // price / 3 for one unit (floor-cumulative), its VAT the same share; shipping likewise.
    assert.equal(minor(r.amount), Math.floor(minor(line.price) / 3));
    assert.equal(minor(r.shipping_amount), Math.floor(minor(line.shipping_price) / 3));
    assert.equal(minor(r.taxes[0]!.amount), Math.floor(minor(line.taxes[0]!.amount) / 3));
    assert.equal(r.reason_code, '17', 'damaged → 17 through the reason table');
    assert.equal(r.quantity, 1);
    assert.equal(refunded.order_lines[1]!.refunds.length, 0, 'the scarf is not refunded');
    // The retry after the lost response looked first and did not refund again.
    const afterRetry = await eventually(
      async () => {
        const st = await workflowState(orderId);
        return st.refunds?.length ? st : undefined;
      },
      20_000,
      'the refund recorded on the workflow',
    );
    assert.equal(afterRetry.refunds?.[0]?.outcome, 'already-refunded');
    assert.equal((await mirakl(orderId)).order_lines[0]!.refunds.length, 1);

    // The remaining two jumpers: the parts add up to the line exactly.
    await stack.control.post(`${SHOP}/orders/${ref}/refund`, { lines: [{ sku: 'JUMPER-NAVY-L', quantity: 2 }] });
    const all = await eventually(
      async () => {
        const x = await mirakl(orderId);
        return x.order_lines[0]!.refunds.length >= 2 ? x : undefined;
      },
      30_000,
      'the second refund',
    );
    const l0 = all.order_lines[0]!;
    assert.equal(l0.refunds.length, 2, 'the duplicate webhook did not refund twice');
    assert.equal(
      l0.refunds.reduce((s, x) => s + minor(x.amount), 0),
      minor(l0.price),
    );
    assert.equal(l0.refunds[1]!.reason_code, '16');
    const state = await workflowState(orderId);
    assert.equal(state.refunds?.length, 2);
    assert.equal(state.refunds?.[0]?.lines[0]?.amount, Math.floor(minor(line.price) / 3));
    await maybeRecordHistory(env.client.workflow.getHandle(orderWorkflowId('asos', orderId)), 'order-shopify-refund');
  });
  test('the acceptance stock check, without an inventory workflow to ask, searches Shopify for the order’s SKUs only', async () => {
    // What the check asks of the connector, counted here: the simulator's call log also holds the stack's own
    // Shopify stock reads (its asos inventory workflow), which land in the same window on a busy machine.
    const real = stack.runtime.shopify!;
    const searched: string[][] = [];
    let catalogueReads = 0;
    const shopify = new Proxy(real, {
      get(target, prop) {
        if (prop === 'inventoryForSkus')
          return (skus: readonly string[]) => {
            searched.push([...skus]);
            return target.inventoryForSkus(skus);
          };
        if (prop === 'inventory')
          return () => {
            catalogueReads++;
            return target.inventory();
          };
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
    const acts = createInventoryActivities({ ...stack.runtime, shopify, client: undefined, timeScale: 60 });
    const [a, b] = ['HOODIE-CREAM-XL', 'SKIRT-BLACK-XS'];
    await stack.control.post(`${SHOP}/inventory`, { sku: a, available: 1 });
    await stack.control.post(`${SHOP}/inventory`, { sku: b, available: 5 });
    const { data: before } = await stack.control.get('/control/calls', { params: { system: 'shopify' } });
    const since = (before as { calls: Array<{ seq: number }> }).calls.at(-1)?.seq ?? 0;
    const decisions = await acts.checkOrderStock({
      channel: 'asos',
      policy: 'refuse-line',
      lines: [
        { lineId: 'L1', itemCode: a, quantity: 2 },
        { lineId: 'L2', itemCode: b, quantity: 2 },
        { lineId: 'L3', itemCode: b, quantity: 1 },
      ],
    });
    assert.deepEqual(
      decisions.map((d) => [d.lineId, d.accepted, d.shortBy]),
      [
        ['L1', false, 1],
        ['L2', true, 0],
        ['L3', true, 0],
      ],
    );
    const { data } = await stack.control.get('/control/calls', { params: { system: 'shopify', sinceSeq: since } });
    // Reads of orders are the earlier tests' orders (their fulfilment backstop), not this check's.
    const calls = (data as { calls: Array<{ endpoint: string }> }).calls
      .map((c) => c.endpoint)
      .filter((e) => e !== 'order' && e !== 'orders');
    assert.deepEqual(searched, [[a, b]], 'one search for the order’s distinct SKUs');
    assert.equal(catalogueReads, 0, 'no catalogue read');
    assert.ok(
      calls.filter((e) => e === 'inventoryItems').length >= 2,
      `the searches reached Shopify, one per SKU: ${calls.join(', ')}`,
    );
  });

  test('a Shopify stock change reaches ASOS within the STO01 window (Shopify as the stock master)', async () => {
    const sku = 'COAT-GREEN-M';
    const shown = async () => {
      const { data } = await stack.control.get('/control/mirakl/asos/offers');
      return (data as { offers: Array<{ offerSku: string; quantity: number }> }).offers.find((o) => o.offerSku === sku)
        ?.quantity;
    };
    await ensureInventoryWorkflows(env.client, stack.config);
    // Shopify's figure (no sale of this SKU so far, so no velocity buffer): ASOS shows it after the first push.
    const start = ((await stack.control.post(`${SHOP}/inventory`, { sku, delta: 0 })).data as { available: number })
      .available;
    await eventually(async () => ((await shown()) === start ? true : undefined), 30_000, `ASOS showing ${start}`);
    // STO01 once a minute per shop, scaled by 60: one window is 1 s.
    const windowMs = (60 * 1000) / 60;
    // A restock, then a sell-out (shown as 0 whatever the buffers).
    for (const available of [start + 7, 0]) {
      const at = Date.now();
      await stack.control.post(`${SHOP}/inventory`, { sku, available });
      await eventually(
        async () => ((await shown()) === available ? true : undefined),
        30_000,
        `ASOS showing ${available}`,
      );
      const took = Date.now() - at;
      // One window to wait for the push slot, one for STO01 to land, plus processing: seconds, where a 15-minute
      // batch takes 15 s at this scale. Processing took over 2 s once in CI (two test files at once on two cores:
      // 4,258 ms in all), so 4 s are allowed for it; the latency target itself is bench:flash-sale's.
      assert.ok(took < 2 * windowMs + 4_000, `${available}: reached ASOS after ${took} ms`);
    }
    const hooks = (await stack.control.get(`${SHOP}/webhooks`)).data as { deliveries: Array<{ topic: string }> };
    assert.ok(hooks.deliveries.some((d) => d.topic === 'inventory_levels/update'));
    await maybeRecordHistory(
      env.client.workflow.getHandle(inventoryWorkflowId('asos', stack.config.temporal.idScope)),
      'inventoryWorkflow-asos-shopify',
    );
  });
});
