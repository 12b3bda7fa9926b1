// The Marketplacer route under load (bench:orders `marketplacer_route`): N invoices placed on the Marketplacer
// simulator, with faults on its API, on Peoplevox and on the webhook deliveries (duplicates, reordering, events
// never delivered, so the invoices poll has to find those), each despatched in Peoplevox (a third of them in two
// parcels), and judged on what the simulators hold: every invoice in Peoplevox once and SENT on Marketplacer with
// one shipment per parcel. Latencies: invoice placed → the Peoplevox sales order created, and Peoplevox despatch
// → `shipmentCreate` accepted (both from the simulators' own timestamps).
import type { AxiosInstance } from 'axios';
import { seededRandom, type FaultKind } from '../../src/sandbox/core/faults';
import { faultRules, percentiles, type FaultProfile, type Percentiles } from './traffic';

export interface MarketplacerTrafficOptions {
  control: AxiosInstance;
  /** The Marketplacer channel's code (its simulator instance) and its warehouse prefix. */
  channel: string;
  prefix: string;
  /** The Peoplevox client id of the stack. */
  clientId: string;
  orders: number;
  /** Invoices placed per second; 0 places them as fast as the control API takes them. */
  arrivalPerSecond: number;
  faults: FaultProfile | null;
  /**
   * Whether this harness sets (and at the end clears) the fault rules on Marketplacer and Peoplevox; false when
   * the caller owns them (bench:chaos). The webhook delivery quirks are always its own.
   */
  installFaults?: boolean;
  /** The stack's time scale: the simulator's 10-second windows are this much shorter. */
  timeScale: number;
  deadlineMs: number;
  log: (line: string) => void;
}

export interface MarketplacerTrafficReport {
  orders: number;
  seconds: number;
  parcels: number;
  split: number;
  wmsLatencyMs: Percentiles;
  shipmentLatencyMs: Percentiles;
  lost: string[];
  duplicateWmsOrders: string[];
  duplicateShipments: string[];
  wrongShipments: string[];
  faultsFired: Record<string, Partial<Record<FaultKind, number>>>;
  webhooks: Record<string, number>;
  marketplacerCalls: Record<string, number>;
  /** Most Marketplacer API calls in any (scaled) 10-second window, and the documented per-key limit. */
  busiestWindow: { calls: number; windowMs: number; limitPer10Seconds: number };
  rateLimited: number;
  timedOut: boolean;
}

interface InvoiceDump {
  legacyId: number;
  createdAt: string;
  statusFlags: string[];
  lineItems: Array<{ id: string; variantSku: string; quantity: number }>;
  shipments: Array<{
    trackingNumber: string;
    createdAt: string;
    shippedItems: Array<{ quantity: number; lineItem: { id: string } }>;
  }>;
}
interface PvxOrder {
  salesOrderNumber: string;
  status: string;
  createdAt: string;
  items: Array<{ itemCode: string; quantity: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runMarketplacerTraffic(o: MarketplacerTrafficOptions): Promise<MarketplacerTrafficReport> {
  const { control, log } = o;
  const base = `/control/marketplacer/${o.channel}`;
  const pvxBase = `/control/peoplevox/${o.clientId}`;
  const rnd = seededRandom(o.faults?.seed ?? 7);
  const p = o.faults?.probability ?? 0;
  if (o.faults) {
    const rules = faultRules(o.faults);
    if (o.installFaults !== false) {
      await control.put('/control/faults/marketplacer', { seed: o.faults.seed + 2, rules });
      await control.put('/control/faults/peoplevox', { seed: o.faults.seed + 3, rules });
    }
    // Webhooks: some delivered twice, the first few newest first, some never (the invoices poll finds those).
    await control.put(`${base}/webhook-delivery`, {
      duplicateProbability: p / 4,
      reorderNext: 6,
      dropNext: { INVOICE: Math.max(1, Math.round((o.orders * p) / 4)) },
    });
  }
  const skus = ((await control.get(`${base}/variants`)).data as { variants: Array<{ sku: string | null }> }).variants
    .map((v) => v.sku)
    .filter((s): s is string => !!s)
    .slice(0, 60);

  // ---- place ----
  const placedAt = new Map<number, number>();
  const started = Date.now();
  for (let i = 0; i < o.orders; i++) {
    const n = rnd() < 0.4 ? 2 : 1;
    const lines = Array.from({ length: n }, (_, k) => ({
      sku: skus[(i * 7 + k * 13) % skus.length]!,
      quantity: 1 + Math.floor(rnd() * 2),
    }));
    if (n === 2 && lines[0]!.sku === lines[1]!.sku) lines.pop();
    const t = Date.now();
    const { data } = await control.post(`${base}/invoices`, {
      lines,
      buyer: { firstName: 'Bench', surname: `Buyer${i}`, email: `bench${i}@example.net`, phone: '07700900000' },
      shippingAddress: {
        address: `${i} Bench Street`,
        city: 'Leeds',
        postcode: 'LS1 4DY',
        countryCode: 'GB',
        countryName: 'United Kingdom',
      },
      ignoreStock: true,
    });
    placedAt.set((data as { legacyId: number }).legacyId, t);
    if (o.arrivalPerSecond > 0) await sleep(1000 / o.arrivalPerSecond);
  }
  log(`marketplacer route: ${o.orders} invoices placed in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // ---- despatch what reaches the warehouse, until every invoice is SENT ----
  const son = (id: number) => `${o.prefix}-${id}`;
  const wmsAt = new Map<number, number>();
  const despatchedAt = new Map<string, number>(); // tracking → despatch time
  const parcelsOf = new Map<number, number>();
  let split = 0;
  const done = new Set<number>();
  const deadline = started + o.deadlineMs;
  let timedOut = false;
  while (done.size < placedAt.size) {
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    const pvx = ((await control.get(`${pvxBase}/orders`)).data as { orders: PvxOrder[] }).orders;
    for (const w of pvx) {
      if (!w.salesOrderNumber.startsWith(`${o.prefix}-`)) continue;
      const id = Number(w.salesOrderNumber.slice(o.prefix.length + 1));
      if (!placedAt.has(id) || w.items.length === 0) continue;
      if (!wmsAt.has(id)) wmsAt.set(id, Date.parse(w.createdAt));
      if (parcelsOf.has(id) || !['New', 'Allocated'].includes(w.status)) continue;
      const items = w.items.map((it) => ({ itemCode: it.itemCode, quantity: it.quantity }));
      const twoParcels = items.length > 1 && id % 3 === 0;
      const parcels = twoParcels
        ? [
            { items: items.slice(0, 1), carrier: 'DPD', trackingNumber: `MB-${id}-1` },
            { items: items.slice(1), carrier: 'Royal Mail', trackingNumber: `MB-${id}-2` },
          ]
        : [{ items, carrier: id % 2 ? 'DPD' : 'Royal Mail', trackingNumber: `MB-${id}-1` }];
      try {
        const { data } = await control.post(`${pvxBase}/orders/${encodeURIComponent(w.salesOrderNumber)}/despatch`, {
          parcels,
        });
        for (const d of (data as { despatches: Array<{ trackingNumber?: string; despatchedAt: string }> }).despatches)
          if (d.trackingNumber) despatchedAt.set(d.trackingNumber, Date.parse(d.despatchedAt));
        parcelsOf.set(id, parcels.length);
        if (twoParcels) split++;
      } catch (err) {
        log(`despatch of ${w.salesOrderNumber} failed: ${(err as Error).message}`);
      }
    }
    const invoices = ((await control.get(`${base}/invoices`)).data as { invoices: InvoiceDump[] }).invoices;
    for (const inv of invoices) {
      if (!placedAt.has(inv.legacyId) || done.has(inv.legacyId)) continue;
      if (inv.statusFlags.includes('SENT') && inv.shipments.length >= (parcelsOf.get(inv.legacyId) ?? Infinity))
        done.add(inv.legacyId);
    }
    await sleep(500);
  }
  const seconds = (Date.now() - started) / 1000;

  // ---- judge ----
  const invoices = ((await control.get(`${base}/invoices`)).data as { invoices: InvoiceDump[] }).invoices.filter((i) =>
    placedAt.has(i.legacyId),
  );
  const state = (await control.get(`${pvxBase}/state`)).data as {
    saveCounts: Record<string, { created: number }>;
  };
  const lost: string[] = [];
  const duplicateShipments: string[] = [];
  const wrongShipments: string[] = [];
  const shipmentLatency: number[] = [];
  for (const inv of invoices) {
    if (!done.has(inv.legacyId))
      lost.push(`${inv.legacyId}: ${inv.statusFlags.join('/')}, ${inv.shipments.length} shipments`);
    const tracking = inv.shipments.map((s) => s.trackingNumber);
    if (new Set(tracking).size !== tracking.length || inv.shipments.length > (parcelsOf.get(inv.legacyId) ?? 0))
      duplicateShipments.push(`${inv.legacyId}: ${tracking.join(', ')}`);
    const shipped = new Map<string, number>();
    for (const s of inv.shipments) {
      for (const it of s.shippedItems) shipped.set(it.lineItem.id, (shipped.get(it.lineItem.id) ?? 0) + it.quantity);
      const d = despatchedAt.get(s.trackingNumber);
      if (d !== undefined) shipmentLatency.push(Date.parse(s.createdAt) - d);
    }
    if (done.has(inv.legacyId) && inv.lineItems.some((l) => shipped.get(l.id) !== l.quantity))
      wrongShipments.push(`${inv.legacyId}: shipped quantities differ from the lines`);
  }
  const duplicateWmsOrders = [...placedAt.keys()]
    .filter((id) => (state.saveCounts[son(id)]?.created ?? 0) > 1)
    .map((id) => `${son(id)} created ${state.saveCounts[son(id)]!.created} times`);
  const wmsLatency = [...wmsAt].map(([id, at]) => at - placedAt.get(id)!);

  const faultsFired: MarketplacerTrafficReport['faultsFired'] = {};
  for (const system of ['marketplacer', 'peoplevox']) {
    faultsFired[system] = (
      (await control.get(`/control/faults/${system}`)).data as { fired: Record<FaultKind, number> }
    ).fired;
    if (o.installFaults !== false) await control.delete(`/control/faults/${system}`);
  }
  await control.put(`${base}/webhook-delivery`, { duplicateProbability: 0 });
  const hooks = (await control.get(`${base}/webhooks`)).data as { deliveries: Array<{ outcome: string }> };
  const webhooks: Record<string, number> = {};
  for (const d of hooks.deliveries) webhooks[d.outcome] = (webhooks[d.outcome] ?? 0) + 1;
  const calls = (
    (await control.get('/control/calls', { params: { system: 'marketplacer' } })).data as {
      calls: Array<{ at: number; endpoint: string; rateLimited?: boolean }>;
    }
  ).calls;
  const marketplacerCalls: Record<string, number> = {};
  for (const c of calls) marketplacerCalls[c.endpoint] = (marketplacerCalls[c.endpoint] ?? 0) + 1;
  const windowMs = 10_000 / o.timeScale;
  let busiest = 0;
  for (let i = 0, j = 0; i < calls.length; i++) {
    while (calls[i]!.at - calls[j]!.at >= windowMs) j++;
    busiest = Math.max(busiest, i - j + 1);
  }
  return {
    orders: placedAt.size,
    seconds,
    parcels: [...parcelsOf.values()].reduce((n, x) => n + x, 0),
    split,
    wmsLatencyMs: percentiles(wmsLatency),
    shipmentLatencyMs: percentiles(shipmentLatency),
    lost,
    duplicateWmsOrders,
    duplicateShipments,
    wrongShipments,
    faultsFired,
    webhooks,
    marketplacerCalls,
    busiestWindow: { calls: busiest, windowMs, limitPer10Seconds: 750 },
    rateLimited: calls.filter((c) => c.rateLimited).length,
    timedOut,
  };
}
