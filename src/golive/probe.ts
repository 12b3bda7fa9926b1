// The go-live probe: the read-only checks of docs/contracts.md ("Before the first real tenant goes live")
// run against the configured systems, with the real connectors and credentials. Nothing is written: it
// authenticates, reads templates, one report row, a page of offers and orders, carriers, reasons, the shop
// and its webhooks, and compares what the tenant really has with what Loopline assumes and is configured for.
// Each check is pass / warn / fail with a sentence; `loopline golive probe` prints them and exits 1 on a fail.
import type { Config } from '../config/schema';
import type { MiraklClient } from '../connectors/mirakl/client';
import type { PeoplevoxClient } from '../connectors/peoplevox/client';
import { requireReportColumns } from '../connectors/peoplevox/client';
import type { ShopifyClient } from '../connectors/shopify/client';
import {
  DESPATCH_SUMMARY_REPORT,
  ITEM_INVENTORY_SUMMARY_REPORT,
  ITEM_TYPES_TEMPLATE,
  SALES_ORDER_ITEMS_TEMPLATE,
  SALES_ORDERS_TEMPLATE,
  formatPvxSearchDate,
  parsePvxDate,
} from '../connectors/peoplevox/map';
import { resolveCountry } from '../domain/countries';
import { SHOPIFY_TOPICS } from '../http/shopify-webhooks';

export type ProbeStatus = 'pass' | 'warn' | 'fail';

export interface ProbeResult {
  system: string;
  check: string;
  status: ProbeStatus;
  detail: string;
}

export interface ProbeDeps {
  config: Config;
  mirakl(channel: string): MiraklClient;
  peoplevox?: PeoplevoxClient;
  shopify?: ShopifyClient;
  now?: () => number;
}

/** The columns Loopline writes to the Sales orders template besides the key (dropped when absent). */
const SALES_ORDER_COLUMNS = [
  'Customer',
  'CustomerPurchaseOrderReferenceNumber',
  'ShippingAddressLine1',
  'ShippingAddressCity',
  'ShippingAddressPostcode',
  'ShippingAddressCountry',
  'Email',
  'ContactName',
  'TotalSale',
  'ShippingCost',
  'ChannelName',
];

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function runGoLiveProbe(deps: ProbeDeps, opts: { channels?: string[] } = {}): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  const add = (system: string, check: string, status: ProbeStatus, detail: string) =>
    out.push({ system, check, status, detail });
  /** Runs one check; an exception is that check's failure, never the probe's end. */
  const check = async (system: string, name: string, fn: () => Promise<[ProbeStatus, string]>) => {
    try {
      const [status, detail] = await fn();
      add(system, name, status, detail);
    } catch (err) {
      add(system, name, 'fail', message(err));
    }
  };
  const now = deps.now ?? Date.now;
  const channels = deps.config.channels.filter((c) => c.enabled && (!opts.channels || opts.channels.includes(c.code)));

  // ---- Mirakl, per channel -----------------------------------------------------------------------------
  for (const ch of channels) {
    const sys = `mirakl:${ch.code}`;
    const m = deps.mirakl(ch.code);
    await check(sys, 'PC01 platform configuration', async () => {
      const pc = await m.platformConfiguration();
      return [
        'pass',
        `key accepted; multi-shipment ${pc.multiShipment ? 'on (ST01)' : 'off (OR23 + OR24)'}; acceptance ${pc.orderAcceptance ?? 'not stated'}`,
      ];
    });
    await check(sys, 'OR11 orders: countries readable', async () => {
      // One page (counts towards OR11's once a minute: run the probe before the intake starts).
      const { orders, totalCount } = await m.listOrders({ max: 10 });
      const seen = new Map<string, string>();
      for (const o of orders) {
        const a = o.customer?.shipping_address;
        if (!a) continue;
        const raw = `${a.country_iso_code ?? 'null'}/${a.country ?? 'null'}`;
        seen.set(raw, resolveCountry(a.country_iso_code, a.country)?.alpha2 ?? '?');
      }
      const unknown = [...seen].filter(([, c]) => c === '?').map(([raw]) => raw);
      const detail = `${totalCount} order(s); country_iso_code/country seen: ${[...seen].map(([r, c]) => `${r} → ${c}`).join(', ') || 'no visible address yet'}`;
      return unknown.length ? ['warn', `${detail}; unreadable: ${unknown.join(', ')}`] : ['pass', detail];
    });
    await check(sys, 'OF21 offers listed', async () => {
      const { totalCount } = await m.listOffers({ max: 1 });
      return totalCount > 0
        ? ['pass', `${totalCount} offer(s); stock is pushed only to offers listed here`]
        : ['warn', 'no offers: stock pushes will all be left out until offers exist'];
    });
    await check(sys, 'SH21 carriers cover carrierMap', async () => {
      const codes = new Set((await m.listCarriers()).map((c) => c.code));
      const wanted = Object.entries(ch.carrierMap).filter(([, t]) => t.code);
      const missing = wanted.filter(([, t]) => !codes.has(t.code!)).map(([name, t]) => `${name} → ${t.code}`);
      return missing.length
        ? ['fail', `carrierMap codes the marketplace does not know: ${missing.join(', ')}`]
        : ['pass', `${wanted.length} mapped carrier code(s) known (${codes.size} on the marketplace)`];
    });
    if (ch.fulfilment === 'shopify' && deps.config.systems.shopify) {
      const refundCodes = [...new Set(Object.values(deps.config.systems.shopify.refundReasons))];
      await check(sys, 'RE01 refund reasons', async () => {
        const reasons = await m.listReasons('REFUND');
        const known = new Set(reasons.map((r) => r.code));
        const missing = refundCodes.filter((c) => !known.has(c));
        return missing.length
          ? ['fail', `refundReasons codes that are not REFUND reasons here: ${missing.join(', ')}`]
          : ['pass', `${refundCodes.length} refund reason code(s) known`];
      });
    }
  }

  // ---- Peoplevox ---------------------------------------------------------------------------------------
  const pvx = deps.peoplevox;
  const pvxChannels = channels.filter((c) => c.fulfilment === 'peoplevox');
  if (pvx && pvxChannels.length > 0) {
    const sys = 'peoplevox';
    let authenticated = false;
    await check(sys, 'Authenticate', async () => {
      await pvx.authenticate();
      authenticated = true;
      return ['pass', 'session started (ResponseId 0, "<clientId>,<sessionId>")'];
    });
    if (authenticated) {
      await check(sys, `GetSaveTemplate '${SALES_ORDERS_TEMPLATE}'`, async () => {
        const cols = new Set((await pvx.getSaveTemplate(SALES_ORDERS_TEMPLATE)).map((c) => c.toLowerCase()));
        if (!cols.has('salesordernumber')) return ['fail', 'no SalesOrderNumber column: orders cannot be saved'];
        const mapped = pvxChannels.flatMap((c) =>
          Object.entries(c.additionalFields)
            .filter(([, f]) => f.peoplevoxColumn)
            .map(([code, f]) => [`${c.code}.${code}`, f.peoplevoxColumn!] as const),
        );
        const lostFields = mapped.filter(([, col]) => !cols.has(col.toLowerCase()));
        if (lostFields.length) {
          return [
            'fail',
            `columns mapped in additionalFields are not in the template (the values would be dropped): ${lostFields.map(([f, c]) => `${f} → ${c}`).join(', ')}`,
          ];
        }
        const dropped = SALES_ORDER_COLUMNS.filter((c) => !cols.has(c.toLowerCase()));
        return dropped.length
          ? ['warn', `columns Loopline fills that this template lacks (left out): ${dropped.join(', ')}`]
          : ['pass', `${cols.size} columns; every column Loopline fills is there`];
      });
      await check(sys, `GetSaveTemplate '${SALES_ORDER_ITEMS_TEMPLATE}'`, async () => {
        const cols = new Set((await pvx.getSaveTemplate(SALES_ORDER_ITEMS_TEMPLATE)).map((c) => c.toLowerCase()));
        const missing = ['SalesOrderNumber', 'ItemCode', 'QuantityOrdered'].filter((c) => !cols.has(c.toLowerCase()));
        return missing.length ? ['fail', `missing ${missing.join(', ')}`] : ['pass', `${cols.size} columns`];
      });
      await check(sys, `GetSaveTemplate '${ITEM_TYPES_TEMPLATE}'`, async () => {
        const cols = await pvx.getSaveTemplate(ITEM_TYPES_TEMPLATE);
        return cols.some((c) => c.toLowerCase() === 'itemcode')
          ? ['pass', `${cols.length} columns (${cols.slice(0, 4).join(', ')}…)`]
          : ['fail', 'no ItemCode column: the warehouse catalogue cannot be read'];
      });
      await check(sys, `GetReportData '${ITEM_INVENTORY_SUMMARY_REPORT}'`, async () => {
        const page = await pvx.getReportData(ITEM_INVENTORY_SUMMARY_REPORT, {
          columns: ['Item code', 'Available', 'Site reference'],
          itemsPerPage: 1,
        });
        requireReportColumns(ITEM_INVENTORY_SUMMARY_REPORT, page, [['Item code'], ['Available']]);
        return page.columns.length === 0
          ? ['warn', 'the report returned nothing at all: no items yet?']
          : ['pass', `${page.totalCount} row(s); columns ${page.columns.join(', ')}`];
      });
      await check(sys, `GetReportData '${DESPATCH_SUMMARY_REPORT}' (DateTime filter, dates)`, async () => {
        const since = new Date(now() - 30 * 86_400_000).toISOString();
        const page = await pvx.getReportData(DESPATCH_SUMMARY_REPORT, {
          searchClause: `([Despatch date] >= ${formatPvxSearchDate(since)})`,
          itemsPerPage: 1,
        });
        requireReportColumns(DESPATCH_SUMMARY_REPORT, page, [
          ['Despatch number'],
          ['Salesorder number', 'Sales order number'],
          ['Item code'],
        ]);
        const row = page.rows[0];
        if (!row)
          return ['warn', 'the DateTime filter is accepted; no despatch in the last 30 days to read a date from'];
        const key = Object.keys(row).find((k) => k.toLowerCase() === 'despatch date');
        const raw = key ? row[key] : undefined;
        return parsePvxDate(raw)
          ? [
              'pass',
              `${page.totalCount} despatch row(s) in 30 days; Despatch date "${raw}" reads as ${parsePvxDate(raw)}`,
            ]
          : ['fail', `Despatch date "${raw ?? '(no column)'}" cannot be read`];
      });
    }
  }

  // ---- Shopify -----------------------------------------------------------------------------------------
  const shopify = deps.shopify;
  const shopifyChannels = channels.filter((c) => c.fulfilment === 'shopify');
  if (shopify && shopifyChannels.length > 0) {
    const sys = 'shopify';
    await check(sys, `shop (API ${deps.config.systems.shopify?.apiVersion})`, async () => {
      const s = await shopify.shop();
      const wrong = shopifyChannels.filter((c) => c.currency !== s.currencyCode).map((c) => c.code);
      return wrong.length
        ? [
            'fail',
            `${s.myshopifyDomain} sells in ${s.currencyCode}; channels ${wrong.join(', ')} settle in another currency`,
          ]
        : ['pass', `${s.myshopifyDomain} (${s.name}), ${s.currencyCode}`];
    });
    await check(sys, 'webhookSubscriptions', async () => {
      const subs = await shopify.webhookSubscriptions();
      const missing = SHOPIFY_TOPICS.filter((t) => !subs.some((s) => s.topic === t));
      return missing.length
        ? ['warn', `not subscribed: ${missing.join(', ')} (run loopline webhooks subscribe --url <public address>)`]
        : ['pass', `${SHOPIFY_TOPICS.length} topics subscribed (${[...new Set(subs.map((s) => s.uri))].join(', ')})`];
    });
    await check(sys, 'productVariants', async () => {
      const skus = await shopify.listSkus();
      return skus.length > 0 ? ['pass', `${skus.length} variant SKU(s)`] : ['warn', 'no variant has a SKU'];
    });
  }
  return out;
}
