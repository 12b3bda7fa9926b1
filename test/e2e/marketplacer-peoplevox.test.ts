// The Marketplacer ↔ Peoplevox route (seed 004) through the sandbox: invoices placed on the Marketplacer simulator
// reach Loopline by signed webhook (the invoices poll as backstop), go to Peoplevox exactly once, and come back as
// shipments per despatch; cancellations become refund requests. Assertions are on what the simulators hold.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestEnv, eventually, maybeRecordHistory } from '../support/temporal';
import { MKP, startStack, type Stack } from '../support/stack';
import { orderWorkflowId, marketplaceEventsWorkflowId } from '../../src/domain/keys';
import { orderStateQuery, orderCancelUpdate } from '../../workflows/order/messages';
import { marketplaceEventsQuery } from '../../workflows/marketplace-events';
import { inventoryWorkflowId } from '../../src/inventory/keys';
import { healthQuery } from '../../workflows/inventory';
import { requestFullRead, signalStock } from '../../src/inventory/intake';
import { droppedCount } from '../../src/metrics/webhooks';

let env: TestWorkflowEnvironment;
let stack: Stack;
const base = `/control/marketplacer/${MKP}`;

before(async () => {
  env = await startTestEnv();
  stack = await startStack(env, {
    marketplacer: {
      carrierMap: { 'Royal Mail': { name: 'Royal Mail' }, DPD: { name: 'dpd' }, Yodel: { name: 'Yodel' } },
      // Seed 004: what the warehouse needs from the point of sale, in the tenant's columns; a gift message required.
      additionalFields: {
        giftMessage: { label: 'Gift message', peoplevoxColumn: 'SalesOrderAttribute2' },
        deliveryInstructions: { label: 'Delivery instructions', peoplevoxColumn: 'SalesOrderAttribute3' },
        // Required: an invoice without it is an exception before the warehouse sees it.
        priority: { label: 'Priority', peoplevoxColumn: 'SalesOrderAttribute4', required: true },
      },
      // The variants are read again after a minute (a second here), so a variant created in a test is seen.
      inventory: { listingRefreshMinutes: 1 },
    },
  });
});
after(async () => {
  await stack?.stop();
  await env?.teardown();
});

interface Invoice {
  id: string;
  legacyId: number;
  statusFlags: string[];
  lineItems: Array<{ id: string; variantSku: string; quantity: number; shipped: number; cancelled: number }>;
  shipments: Array<{
    trackingNumber: string;
    postageCarrier: { id: string; name: string };
    note: string;
    shippedItems: Array<{ quantity: number; lineItem: { id: string } }>;
  }>;
  refundRequests: Array<{
    status: string;
    externalIds: Array<{ key: string; value: string }>;
    lineItems: Array<{ quantity: number; dispatched: boolean; lineItem: { id: string } }>;
  }>;
}
interface PvxOrder {
  salesOrderNumber: string;
  status: string;
  fields?: Record<string, string>;
  items: Array<{ itemCode: string; quantity: number }>;
  saveCounts?: { created?: number };
}

const address = {
  address: '1 Station Road',
  city: 'Leeds',
  postcode: 'LS1 4DY',
  countryCode: 'GB',
  countryName: 'United Kingdom',
};
const buyer = { firstName: 'Harriet', surname: 'Okonkwo-Marsh', email: 'harriet.om@example.net', phone: '07700900123' };

async function place(spec: Record<string, unknown>): Promise<{ legacyId: number; invoiceId: string }> {
  return (
    await stack.control.post(`${base}/invoices`, {
      buyer,
      shippingAddress: address,
      metadata: [{ key: 'priority', value: 'Standard' }],
      ...spec,
    })
  ).data as { legacyId: number; invoiceId: string };
}
async function invoice(legacyId: number): Promise<Invoice> {
  return (await stack.control.get(`${base}/invoices/${legacyId}`)).data as Invoice;
}
async function warehouseOrder(son: string): Promise<PvxOrder | undefined> {
  const { data } = await stack.control.get('/control/peoplevox/test-client/orders');
  return (data as { orders: PvxOrder[] }).orders.find((o) => o.salesOrderNumber === son);
}
async function orderState(legacyId: number) {
  return env.client.workflow.getHandle(orderWorkflowId(MKP, String(legacyId))).query(orderStateQuery);
}
async function parkedWith(legacyId: number, reason: string) {
  return eventually(
    async () => {
      const s = await orderState(legacyId);
      return s.exception?.reason === reason ? s : undefined;
    },
    20_000,
    `order ${legacyId} parked as ${reason}`,
  );
}
async function inWarehouse(son: string) {
  return eventually(
    async () => {
      const o = await warehouseOrder(son);
      return o && o.items.length > 0 ? o : undefined;
    },
    20_000,
    `${son} in Peoplevox`,
  );
}
async function events() {
  return env.client.workflow
    .getHandle(marketplaceEventsWorkflowId(MKP, stack.config.temporal.idScope))
    .query(marketplaceEventsQuery);
}
interface Delivery {
  eventId: string;
  sequence: number;
  nodeId: string;
  status: number;
  outcome: string;
  type: string;
}
async function deliveries(
  nodeId?: string,
): Promise<{ webhooks: Array<{ type: string; enabled: boolean }>; deliveries: Delivery[] }> {
  const { data } = await stack.control.get(`${base}/webhooks`);
  const d = data as { webhooks: Array<{ type: string; enabled: boolean }>; deliveries: Delivery[] };
  return { webhooks: d.webhooks, deliveries: d.deliveries.filter((x) => !nodeId || x.nodeId === nodeId) };
}
async function workflowExists(legacyId: number): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(orderWorkflowId(MKP, String(legacyId))).describe();
    return true;
  } catch {
    return false;
  }
}

describe('Marketplacer → Peoplevox, end to end', () => {
  test('an invoice reaches Peoplevox once (lost SaveData answer) and a two-parcel despatch becomes two shipmentCreate calls with their lines and carrier ids', async () => {
    await stack.control.put('/control/faults/peoplevox', {
      rules: [{ endpoint: 'SaveData', kind: 'lostResponse', count: 1 }],
    });
    const { legacyId } = await place({
      lines: [
        { sku: 'TEE-RED-M', quantity: 2 },
        { sku: 'SCARF-NAVY-S', quantity: 1 },
      ],
      messageToSeller: 'Please leave with the concierge',
      metadata: [
        { key: 'giftMessage', value: 'Happy birthday, Jo!' },
        { key: 'deliveryInstructions', value: 'Side door, ring twice' },
        { key: 'priority', value: 'Express' },
      ],
      postageCents: 395,
    });
    const son = `MKP-${legacyId}`;
    const wms = await eventually(
      async () => {
        const o = await warehouseOrder(son);
        return o && o.items.length === 2 ? o : undefined;
      },
      30_000,
      'the Peoplevox sales order and its items',
    );
    await stack.control.delete('/control/faults/peoplevox');
    assert.deepEqual(
      wms.items.map((i) => [i.itemCode, i.quantity]),
      [
        ['TEE-RED-M', 2],
        ['SCARF-NAVY-S', 1],
      ],
    );
    // The gift message, delivery instructions and priority flag reach the warehouse order.
    assert.equal(wms.fields?.SalesOrderAttribute2, 'Happy birthday, Jo!');
    assert.equal(wms.fields?.SalesOrderAttribute3, 'Side door, ring twice');
    assert.equal(wms.fields?.SalesOrderAttribute4, 'Express');

    await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, {
      parcels: [
        { items: [{ itemCode: 'TEE-RED-M', quantity: 1 }], carrier: 'DPD', trackingNumber: 'DPD-MKP-1' },
        {
          items: [
            { itemCode: 'TEE-RED-M', quantity: 1 },
            { itemCode: 'SCARF-NAVY-S', quantity: 1 },
          ],
          carrier: 'Royal Mail',
          trackingNumber: 'RM-MKP-2',
        },
      ],
    });
    const shipped = await eventually(
      async () => {
        const inv = await invoice(legacyId);
        return inv.statusFlags.includes('SENT') ? inv : undefined;
      },
      30_000,
      'SENT on Marketplacer',
    );
    const carriers = (await stack.control.get(`${base}/carriers`)).data as {
      carriers: Array<{ id: string; name: string }>;
    };
    const idOf = (name: string) => carriers.carriers.find((c) => c.name === name)!.id;
    const [tee, scarf] = shipped.lineItems;
    assert.equal(shipped.shipments.length, 2, 'one shipment per parcel');
    const dpd = shipped.shipments.find((s) => s.trackingNumber === 'DPD-MKP-1')!;
    const rm = shipped.shipments.find((s) => s.trackingNumber === 'RM-MKP-2')!;
    assert.equal(dpd.postageCarrier.id, idOf('DPD'));
    assert.equal(rm.postageCarrier.id, idOf('Royal Mail'));
    assert.deepEqual(
      dpd.shippedItems.map((i) => [i.lineItem.id, i.quantity]),
      [[tee!.id, 1]],
    );
    assert.deepEqual(
      rm.shippedItems.map((i) => [i.lineItem.id, i.quantity]).sort(),
      [
        [tee!.id, 1],
        [scarf!.id, 1],
      ].sort(),
    );
    const calls = (
      await stack.control.get('/control/calls', { params: { system: 'marketplacer', endpoint: 'shipmentCreate' } })
    ).data as { calls: unknown[] };
    assert.equal(calls.calls.length, 2, 'exactly two shipmentCreate calls');
    const final = await warehouseOrder(son);
    assert.equal(final?.saveCounts?.created, 1, 'created exactly once in Peoplevox');
    const handle = env.client.workflow.getHandle(orderWorkflowId(MKP, String(legacyId)));
    const result = (await handle.result()) as { status: string };
    assert.equal(result.status, 'CLOSED');
    await maybeRecordHistory(handle, 'order-v3-marketplacer-two-parcels');
  });

  test('a gift message, delivery instructions and a required priority flag reach the warehouse; an invoice without the required flag is an exception before Peoplevox sees it', async () => {
    const { legacyId } = await place({ lines: [{ sku: 'COAT-GREEN-M', quantity: 1 }], metadata: [] });
    const parked = await parkedWith(legacyId, 'ADDITIONAL_FIELD_MISSING');
    assert.equal(parked.exception?.owner, 'customer-service');
    assert.match(parked.exception?.message ?? '', /"priority"/);
    assert.equal(await warehouseOrder(`MKP-${legacyId}`), undefined, 'the warehouse never saw it');
  });

  test('an invoice line whose SKU Peoplevox does not have is SKU_UNMAPPED, never sent to the warehouse', async () => {
    await stack.control.post(`${base}/variants`, { sku: 'GHOST-SKU-1', countOnHand: 5 });
    const { legacyId } = await place({ lines: [{ sku: 'GHOST-SKU-1', quantity: 1 }] });
    const parked = await parkedWith(legacyId, 'SKU_UNMAPPED');
    assert.equal(parked.exception?.owner, 'merchandising');
    assert.equal(await warehouseOrder(`MKP-${legacyId}`), undefined);
  });

  test('a despatch by a carrier Marketplacer does not know is CARRIER_UNMAPPED; no shipment is created', async () => {
    const { legacyId } = await place({ lines: [{ sku: 'JEANS-NAVY-L', quantity: 1 }] });
    const son = `MKP-${legacyId}`;
    await inWarehouse(son);
    // Yodel is in the channel's carrierMap, but not one of this marketplace's shipment carriers.
    await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, {
      parcels: [{ items: [{ itemCode: 'JEANS-NAVY-L', quantity: 1 }], carrier: 'Yodel', trackingNumber: 'YO-1' }],
    });
    const parked = await parkedWith(legacyId, 'CARRIER_UNMAPPED');
    assert.equal(parked.exception?.owner, 'ops');
    assert.match(parked.exception?.message ?? '', /Yodel/);
    assert.equal((await invoice(legacyId)).shipments.length, 0);
  });

  test('duplicated and reordered webhooks: each invoice once, the older of two events for the same invoice dropped as stale', async () => {
    const dupBefore = await droppedCount('marketplacer', 'duplicate');
    const staleBefore = await droppedCount('marketplacer', 'stale');
    await stack.control.put(`${base}/webhook-delivery`, { duplicateNext: 4, reorderNext: 2 });
    // Under review first, then paid: two events for one invoice, delivered newest first.
    const a = await place({ lines: [{ sku: 'DRESS-RED-S', quantity: 1 }], underReview: true });
    await stack.control.post(`${base}/invoices/${a.legacyId}/paid`, {});
    const b = await place({ lines: [{ sku: 'DRESS-CREAM-S', quantity: 1 }] });
    await inWarehouse(`MKP-${a.legacyId}`);
    await inWarehouse(`MKP-${b.legacyId}`);
    // Dropped at the receiver (answered 2xx), before they cost a signal; the workflow dedupes again behind it.
    await eventually(
      async () =>
        (await droppedCount('marketplacer', 'duplicate')) > dupBefore &&
        (await droppedCount('marketplacer', 'stale')) > staleBefore
          ? true
          : undefined,
      20_000,
      'duplicates and a stale event dropped',
    );
    for (const id of [a.legacyId, b.legacyId]) {
      const o = await warehouseOrder(`MKP-${id}`);
      assert.equal(o?.saveCounts?.created, 1, `MKP-${id} created once`);
    }
    await maybeRecordHistory(
      env.client.workflow.getHandle(marketplaceEventsWorkflowId(MKP, stack.config.temporal.idScope)),
      'marketplace-events-duplicates-and-stale',
    );
    const seqs = (await deliveries(a.invoiceId)).deliveries
      .filter((d) => d.outcome === 'delivered')
      .map((d) => d.sequence);
    assert.ok(seqs.length >= 2 && seqs[0]! > seqs[seqs.length - 1]!, `delivered newest first: ${seqs.join(', ')}`);
  });

  test('a late webhook (the poll found the invoice first) is answered 2xx and changes nothing', async () => {
    await stack.control.put(`${base}/webhook-delivery`, { lateNext: 1, lateMs: 4_000 });
    const { legacyId, invoiceId } = await place({ lines: [{ sku: 'SKIRT-BLACK-M', quantity: 1 }] });
    await inWarehouse(`MKP-${legacyId}`);
    const late = await eventually(
      async () => (await deliveries(invoiceId)).deliveries.find((d) => d.outcome === 'delivered'),
      20_000,
      'the late delivery',
    );
    assert.equal(late.status, 200);
    assert.equal((await warehouseOrder(`MKP-${legacyId}`))?.saveCounts?.created, 1);
  });

  test('webhooks for invoices Loopline will never handle are answered 2xx, logged and counted, and the webhook stays enabled', async () => {
    const before = await events();
    // An invoice id this seller does not have (another seller's, or deleted).
    const unknown = Buffer.from('Invoice-987654321').toString('base64');
    await stack.control.post(`${base}/webhooks/emit`, { type: 'INVOICE', nodeId: unknown, eventName: 'update' });
    // An invoice cancelled at the marketplace before Loopline ever saw it (its create event was lost).
    await stack.control.put(`${base}/webhook-delivery`, { dropNext: { INVOICE: 1 } });
    const gone = await place({ lines: [{ sku: 'HOODIE-GREEN-L', quantity: 1 }] });
    await stack.control.post(`${base}/invoices/${gone.legacyId}/cancel`, {});
    const d = await eventually(
      async () => {
        const x = await deliveries(unknown);
        return x.deliveries.find((r) => r.outcome === 'delivered') ? x : undefined;
      },
      20_000,
      'the unknown invoice delivered',
    );
    assert.equal(d.deliveries[0]!.status, 200, 'answered 2xx, never a 4xx that would disable the webhook');
    await eventually(
      async () => {
        const e = await events();
        return e.missing > before.missing && e.ignored > before.ignored ? e : undefined;
      },
      20_000,
      'counted as missing and ignored',
    );
    assert.ok(
      (await deliveries()).webhooks.every((w) => w.enabled),
      'every webhook still enabled',
    );
    assert.equal(await workflowExists(gone.legacyId), false, 'no workflow for an invoice over before it was seen');
  });

  test('a cancellation before despatch cancels the Peoplevox order and sends one refund request with dispatched: false for every unit', async () => {
    const { legacyId } = await place({
      lines: [
        { sku: 'SHIRT-NAVY-M', quantity: 2 },
        { sku: 'WELLY-RED-S', quantity: 1 },
      ],
    });
    const son = `MKP-${legacyId}`;
    await inWarehouse(son);
    const handle = env.client.workflow.getHandle(orderWorkflowId(MKP, String(legacyId)));
    await handle.executeUpdate(orderCancelUpdate, { args: ['customer changed their mind'] });
    const result = (await handle.result()) as { status: string };
    assert.equal(result.status, 'CANCELLED');
    assert.equal((await warehouseOrder(son))?.status, 'Cancelled');
    const inv = await invoice(legacyId);
    assert.equal(inv.refundRequests.length, 1, 'one refund request');
    const rr = inv.refundRequests[0]!;
    assert.deepEqual(
      rr.lineItems.map((l) => [l.lineItem.id, l.quantity, l.dispatched]).sort(),
      inv.lineItems.map((l) => [l.id, l.quantity, false]).sort(),
    );
    assert.ok(rr.externalIds.some((e) => e.key === 'loopline' && e.value === `cancel:${MKP}:${legacyId}`));
    const calls = (
      await stack.control.get('/control/calls', { params: { system: 'marketplacer', endpoint: 'refundRequestCreate' } })
    ).data as { calls: unknown[] };
    assert.equal(calls.calls.length, 1);
  });

  test('an invoice cancelled at the marketplace after it reached Peoplevox cancels the warehouse order; Loopline sends no refund request of its own', async () => {
    const { legacyId } = await place({ lines: [{ sku: 'JUMPER-CREAM-XS', quantity: 1 }] });
    const son = `MKP-${legacyId}`;
    await inWarehouse(son);
    await stack.control.post(`${base}/invoices/${legacyId}/cancel`, {});
    const result = (await env.client.workflow.getHandle(orderWorkflowId(MKP, String(legacyId))).result()) as {
      status: string;
    };
    assert.equal(result.status, 'CANCELLED');
    assert.equal((await warehouseOrder(son))?.status, 'Cancelled');
    assert.equal((await invoice(legacyId)).refundRequests.length, 1, "only the marketplace's own");
  });

  test('stock: a variant no item code feeds is reported; a connection that accepts updates but does not show them is CHANNEL_CONNECTION_INACTIVE', async () => {
    await stack.control.post(`${base}/variants`, { sku: null, countOnHand: 3 });
    await signalStock(env.client, stack.config, MKP, []);
    const inventory = env.client.workflow.getHandle(inventoryWorkflowId(MKP, stack.config.temporal.idScope));
    // Each push reports the variants as last read; a full read makes a push, which reads them again when old.
    let available = 3;
    const first = await eventually(
      async () => {
        const h = await inventory.query(healthQuery);
        const u = h.target?.unmappedVariants;
        if (u && u.sample.some((x) => x.includes('GHOST-SKU-1')) && u.sample.some((x) => x.includes('no SKU')))
          return h;
        await stack.control.put('/control/peoplevox/test-client/stock', {
          items: [{ itemCode: 'TEE-NAVY-XS', available: available++ }],
        });
        await requestFullRead(env.client, stack.config, MKP);
        return undefined;
      },
      30_000,
      'a push whose variant report names both unmapped variants',
    );
    // GHOST-SKU-1 (no Peoplevox item) and the variant without a SKU.
    assert.ok(first.target!.unmappedVariants!.count >= 2);
    assert.equal(first.target?.connectionInactiveSince, undefined);

    await stack.control.put(`${base}/connection`, { active: false });
    // Every push from now on reads back counts that differ from what was sent; two in a row raise the alert
    // (a push already in flight when the connection went may still read back right: hence the loop).
    let n = 40;
    const h = await eventually(
      async () => {
        const x = await inventory.query(healthQuery);
        if (x.target?.connectionInactiveSince !== undefined) return x;
        await stack.control.put('/control/peoplevox/test-client/stock', {
          items: [
            { itemCode: 'TEE-NAVY-XS', available: n },
            { itemCode: 'TEE-NAVY-S', available: n++ },
          ],
        });
        await requestFullRead(env.client, stack.config, MKP);
        await eventually(
          async () => ((await inventory.query(healthQuery)).pushes > x.pushes ? true : undefined),
          10_000,
          'a push',
        );
        return undefined;
      },
      40_000,
      'CHANNEL_CONNECTION_INACTIVE',
    );
    assert.equal(h.target!.lastReadBack!.differing, h.target!.lastReadBack!.checked);
    const history = (await stack.control.get(`${base}/stock-history`, { params: { sku: 'TEE-NAVY-XS' } })).data as {
      changes: Array<{ dropped?: boolean; source: string }>;
    };
    assert.ok(
      history.changes.some((c) => c.source === 'api' && c.dropped),
      'updates accepted but dropped',
    );
    await stack.control.put(`${base}/connection`, { active: true });
  });
});
