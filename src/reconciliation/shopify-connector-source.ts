// ShopifyOrderSource over the Shopify Admin GraphQL connector (src/connectors/shopify): each Mirakl order is
// found by the sourceIdentifier the order import writes (issue 5), one query per order, paced by the
// connector's cost bucket. Shopify line items carry SKUs, not Mirakl line ids, so lines are paired the way
// the import made them: the Mirakl order (OR11 by order_ids — a look-up, not a poll, so outside OR11's
// once-a-minute limit) gives each line's offer SKU, mapped through the channel's skuMap; line items no
// Mirakl line claims are returned under `shopify:<line item id>` and show as "not billed".
// Requested cost ≈ 264 points a query (20 lines, 3 refunds): about 2.6 s an order at Shopify's standard restore rate.
// Amounts: the line total is unit price × quantity (the import refuses lines it cannot carry exactly),
// refunded is refunded quantity × unit price; Shopify's refund of shipping is not read (reported as 0).
import { z } from 'zod';
import type { ShopifyClient } from '../connectors/shopify/client';
import type { MiraklClient } from '../connectors/mirakl/client';
import { toMinor } from '../domain/money';
import type { ShopifyLineRecord, ShopifyOrderRecord, ShopifyOrderSource } from './types';

const Money = z.object({ shopMoney: z.object({ amount: z.union([z.string(), z.number()]) }) });
const ReconOrdersSchema = z.object({
  orders: z.object({
    nodes: z.array(
      z.object({
        id: z.string(),
        name: z.string().optional().nullable(),
        sourceIdentifier: z.string().optional().nullable(),
        currencyCode: z.string(),
        lineItems: z.object({
          nodes: z.array(
            z.object({
              id: z.string(),
              sku: z.string().optional().nullable(),
              quantity: z.number(),
              originalUnitPriceSet: Money,
              taxLines: z.array(z.object({ priceSet: Money })),
            }),
          ),
        }),
        shippingLines: z.object({ nodes: z.array(z.object({ originalPriceSet: Money })) }),
        refunds: z.array(
          z.object({
            refundLineItems: z.object({
              nodes: z.array(z.object({ quantity: z.number(), lineItem: z.object({ id: z.string() }) })),
            }),
          }),
        ),
      }),
    ),
  }),
});

const QUERY = `query ReconciliationOrder($q: String!) { orders(first: 1, query: $q) { nodes {
  id name sourceIdentifier currencyCode
  lineItems(first: 20) { nodes { id sku quantity originalUnitPriceSet { shopMoney { amount } }
    taxLines { priceSet { shopMoney { amount } } } } }
  shippingLines(first: 2) { nodes { originalPriceSet { shopMoney { amount } } } }
  refunds(first: 3) { refundLineItems(first: 20) { nodes { quantity lineItem { id } } } } } } }`;

export interface ShopifyConnectorSourceOptions {
  shopify: Pick<ShopifyClient, 'request'>;
  mirakl: Pick<MiraklClient, 'getOrders'>;
  /** The channel's skuMap (offer SKU → Shopify SKU). */
  skuMap?: Record<string, string>;
}

export function shopifyConnectorOrderSource(opts: ShopifyConnectorSourceOptions): ShopifyOrderSource {
  return {
    async findOrdersByMiraklIds(ids) {
      const out = new Map<string, ShopifyOrderRecord>();
      if (ids.length === 0) return out;
      const miraklOrders = new Map((await opts.mirakl.getOrders([...ids])).map((o) => [o.order_id, o]));
      for (const id of ids) {
        // A bulk read (the payout's orders): it keeps to the reads' part of the shop's budget.
        const res = await opts.shopify.request(
          'orders',
          QUERY,
          { q: `source_identifier:'${id}'` },
          ReconOrdersSchema,
          'share',
        );
        const order = res.orders.nodes.find((o) => o.sourceIdentifier === id);
        if (!order) continue;
        const cur = order.currencyCode;
        const refunded = new Map<string, number>();
        for (const r of order.refunds)
          for (const n of r.refundLineItems.nodes)
            refunded.set(n.lineItem.id, (refunded.get(n.lineItem.id) ?? 0) + n.quantity);
        const items = order.lineItems.nodes.map((li) => {
          const unit = toMinor(li.originalUnitPriceSet.shopMoney.amount, cur);
          return {
            li,
            used: false,
            record: {
              shopifyLineItemId: li.id,
              sku: li.sku ?? undefined,
              quantity: li.quantity,
              amountMinor: unit * li.quantity,
              taxMinor: li.taxLines.reduce((n, t) => n + toMinor(t.priceSet.shopMoney.amount, cur), 0),
              refundedMinor: unit * (refunded.get(li.id) ?? 0),
            },
          };
        });
        const lines: ShopifyLineRecord[] = [];
        for (const ml of miraklOrders.get(id)?.order_lines ?? []) {
          const sku = opts.skuMap?.[ml.offer_sku ?? ''] ?? ml.offer_sku ?? undefined;
          const item = items.find((x) => !x.used && x.li.sku === sku);
          if (!item) continue;
          item.used = true;
          lines.push({ ...item.record, miraklLineId: ml.order_line_id });
        }
        for (const x of items.filter((i) => !i.used)) lines.push({ ...x.record, miraklLineId: `shopify:${x.li.id}` });
        out.set(id, {
          miraklOrderId: id,
          shopifyOrderId: order.id,
          name: order.name ?? undefined,
          currency: cur,
          lines,
          shippingMinor: order.shippingLines.nodes.reduce(
            (n, s) => n + toMinor(s.originalPriceSet.shopMoney.amount, cur),
            0,
          ),
          shippingRefundedMinor: 0,
        });
      }
      return out;
    },
  };
}
