// Demo traffic for `npm start`: a steady stream of realistic orders on every channel (about one in eight
// malformed, so the exception queue has something in it) and a demo warehouse team that picks and
// despatches what lands in Peoplevox, sometimes in two parcels. Everything goes through the simulators'
// control API, exactly as a merchant rehearsing a go-live would drive it.
import axios from 'axios';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { seededRandom } from './core/faults';
import { sandboxCatalogue } from './catalogue';
import { generateDemoOrder } from './mirakl';

export interface DemoTraffic {
  stop(): Promise<void>;
}

interface PvxControlOrder {
  salesOrderNumber: string;
  status: string;
  createdAt?: string | number;
  items: Array<{ itemCode: string; quantityOrdered?: number; quantity?: number }>;
}

export function startDemoTraffic(opts: {
  config: Config;
  sandboxUrl: string;
  log: Logger;
  malformedShare?: number;
  despatchAfterMs?: number;
  seed?: number;
}): DemoTraffic {
  const { config, sandboxUrl, log } = opts;
  const http = axios.create({ baseURL: sandboxUrl, timeout: 10_000 });
  const rnd = seededRandom(opts.seed ?? Date.now() % 100_000);
  const catalogue = sandboxCatalogue({ size: 250 });
  const timers: NodeJS.Timeout[] = [];
  const periodMs = 60_000 / Math.max(0.01, config.sandbox.demoOrdersPerMinute);
  const malformedShare = opts.malformedShare ?? 0.125;
  const firstSeen = new Map<string, number>();

  for (const ch of config.channels.filter((c) => c.enabled && c.platform === 'mirakl')) {
    const tick = async () => {
      const spec = generateDemoOrder(ch.code, catalogue, rnd, {
        malformed: rnd() < malformedShare,
        maxLines: 3,
        maxQuantity: 2,
      });
      try {
        const { data } = await http.post(`/control/mirakl/${ch.code}/orders`, spec);
        log.info({ channel: ch.code, orderId: (data as { order_id?: string }).order_id }, 'demo order placed');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'demo order failed');
      }
    };
    timers.push(setInterval(() => void tick(), periodMs));
    void tick();
  }

  // Marketplacer channels: invoices placed on the simulator (it sends the webhooks); some with a gift message or
  // delivery instructions, a few for a SKU the warehouse does not have (an exception to look at).
  const buyers = [
    ['Ada', 'Lovelace'],
    ['Grace', 'Hopper'],
    ['Alan', 'Turing'],
    ['Mary', 'Somerville'],
  ] as const;
  const strayVariant = new Set<string>();
  for (const ch of config.channels.filter((c) => c.enabled && c.platform === 'marketplacer')) {
    const tick = async () => {
      const n = 1 + Math.floor(rnd() * 2);
      const lines = Array.from({ length: n }, () => ({
        sku: catalogue[Math.floor(rnd() * catalogue.length)]!.sku,
        quantity: 1 + Math.floor(rnd() * 2),
      }));
      if (rnd() < malformedShare) lines[0] = { sku: 'NOT-IN-WAREHOUSE-1', quantity: 1 };
      const [firstName, surname] = buyers[Math.floor(rnd() * buyers.length)]!;
      const metadata = [
        ...(rnd() < 0.3 ? [{ key: 'giftMessage', value: 'Happy birthday!' }] : []),
        ...(rnd() < 0.3 ? [{ key: 'deliveryInstructions', value: 'Leave with a neighbour' }] : []),
      ];
      try {
        if (lines[0]!.sku === 'NOT-IN-WAREHOUSE-1' && !strayVariant.has(ch.code)) {
          await http.post(`/control/marketplacer/${ch.code}/variants`, {
            sku: 'NOT-IN-WAREHOUSE-1',
            countOnHand: 1000,
          });
          strayVariant.add(ch.code);
        }
        const { data } = await http.post(`/control/marketplacer/${ch.code}/invoices`, {
          lines,
          buyer: { firstName, surname, email: `${firstName.toLowerCase()}@example.com`, phone: '07700900000' },
          shippingAddress: {
            address: '1 Demo Street',
            city: 'Leeds',
            postcode: 'LS1 4DY',
            countryCode: 'GB',
            countryName: 'United Kingdom',
          },
          metadata,
          postageCents: 395,
          ignoreStock: true,
        });
        log.info({ channel: ch.code, orderId: (data as { legacyId?: number }).legacyId }, 'demo invoice placed');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'demo invoice failed');
      }
    };
    timers.push(setInterval(() => void tick(), periodMs));
    void tick();
  }

  const pvx = config.systems.peoplevox;
  if (pvx) {
    const despatchAfter = opts.despatchAfterMs ?? 45_000;
    const warehouseTick = async () => {
      try {
        const { data } = await http.get(`/control/peoplevox/${pvx.clientId}/orders`);
        const orders = ((data as { orders?: PvxControlOrder[] }).orders ?? []) as PvxControlOrder[];
        for (const o of orders) {
          if (!['New', 'Allocated'].includes(o.status)) continue;
          const seen = firstSeen.get(o.salesOrderNumber) ?? Date.now();
          firstSeen.set(o.salesOrderNumber, seen);
          if (Date.now() - seen < despatchAfter) continue;
          const items = o.items.map((i) => ({ itemCode: i.itemCode, quantity: i.quantityOrdered ?? i.quantity ?? 1 }));
          const split = items.length > 1 && rnd() < 0.4;
          const parcels = split
            ? [
                { items: items.slice(0, 1), carrier: 'DPD' },
                { items: items.slice(1), carrier: 'Royal Mail' },
              ]
            : [{ items, carrier: rnd() < 0.5 ? 'DPD' : 'Royal Mail' }];
          await http.post(
            `/control/peoplevox/${pvx.clientId}/orders/${encodeURIComponent(o.salesOrderNumber)}/despatch`,
            { parcels },
          );
          log.info({ salesOrderNumber: o.salesOrderNumber, parcels: parcels.length }, 'demo warehouse despatched');
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'demo warehouse tick failed');
      }
    };
    timers.push(setInterval(() => void warehouseTick(), 10_000));
  }

  return {
    async stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}
