// Shopify as the fulfilment system of a channel (docs/shopify.md). The order activities dispatch here on
// the channel's `fulfilment: shopify`, so the order workflow runs unchanged:
//   createShopifyOrder     – look before create (sourceIdentifier), then orderCreate (no @idempotent key:
//                            orderCreate documents none); lines mapped by SKU to variants; money exact
//   listShopifyDespatches  – the order's fulfillments as despatches (the workflow's backstop)
//   refundFromShopify      – a Shopify refund → OR28 per line, computed from the Mirakl order, looked up first
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { ChannelConfig, Config, ShopifyConfig } from '../src/config/schema';
import type { Despatch, MarketplaceOrder, OrderLine, Tax } from '../src/domain/order';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import type { ShopifyClient } from '../src/connectors/shopify/client';
import { toMarketplaceOrder } from '../src/connectors/mirakl/map';
import { resolveCountry } from '../src/domain/countries';
import { toActivityFailure } from './errors';
import { attemptSendBy } from '../src/temporal/attempt-deadline';

export interface ShopifyActivityDeps {
  config: Config;
  shopify: ShopifyClient;
  mirakl(channel: string): MiraklClient;
  log: Logger;
}

/** What a refund webhook (or the reconciliation read) tells the order workflow. */
export interface RefundNotice {
  refundId: string;
  note?: string;
  lines: Array<{ sku: string; quantity: number }>;
}

/** The refund as computed and sent, recorded on the workflow for audit. */
export interface RefundCalculation {
  refundId: string;
  reasonCode: string;
  lines: Array<{
    lineId: string;
    offerSku: string;
    quantity: number;
    /** Units of the line refunded before this refund. */
    refundedBefore: number;
    ordered: number;
    /** Minor units, computed from the Mirakl line (goods, its taxes, shipping, shipping taxes). */
    amount: number;
    taxes: Tax[];
    shippingAmount: number;
    shippingTaxes: Tax[];
  }>;
  /** Lines of the Shopify refund no order line could take. */
  unmatched: Array<{ sku: string; quantity: number }>;
  outcome: 'refunded' | 'already-refunded' | 'nothing-to-refund';
}

const decimal = (minor: number) => {
  const sign = minor < 0 ? '-' : '';
  const a = Math.abs(minor);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
};

export const shopifyOrderTag = (cfg: ShopifyConfig, channel: string) => cfg.orderTag.replace('{channel}', channel);

/**
 * Share of `total` for units (before, before+qty] of `ordered`: floor-cumulative, so the parts of a line
 * refunded in several goes add up to the line total exactly, to the minor unit.
 */
export function proportional(total: number, ordered: number, before: number, qty: number): number {
  if (ordered <= 0) return 0;
  return Math.floor((total * (before + qty)) / ordered) - Math.floor((total * before) / ordered);
}

function sumTaxes(taxes: Tax[]): Tax[] {
  const by = new Map<string, Tax>();
  for (const t of taxes) {
    const cur = by.get(t.code);
    by.set(t.code, { code: t.code, amount: (cur?.amount ?? 0) + t.amount, rate: t.rate });
  }
  return [...by.values()];
}

const taxLines = (taxes: Tax[], currency: string) =>
  taxes.map((t) => ({
    title: t.code,
    rate: String(t.rate !== undefined ? t.rate / 100 : 0),
    priceSet: { shopMoney: { amount: decimal(t.amount), currencyCode: currency } },
  }));

/** The orderCreate input for a marketplace order (money exact: Mirakl's minor units as decimals). */
export function toOrderCreateInput(
  order: MarketplaceOrder,
  ch: ChannelConfig,
  cfg: ShopifyConfig,
  variants: Map<string, string>,
  skuOf: (l: OrderLine) => string,
): Record<string, unknown> {
  const cur = order.currency;
  const lineItems = order.lines.map((l) => {
    const sku = skuOf(l);
    if (l.unitPrice * l.quantity !== l.price) {
      throw ApplicationFailure.create({
        message: `Order ${order.orderId}: line ${l.lineId} costs ${l.price} for ${l.quantity} × ${l.unitPrice}; Shopify takes a unit price, so it cannot be carried exactly.`,
        type: 'WMS_REJECTED',
        nonRetryable: true,
        details: [{ detail: `line ${l.lineId} price is not quantity × unit price` }],
      });
    }
    return {
      variantId: variants.get(sku),
      sku,
      title: l.productTitle ?? sku,
      quantity: l.quantity,
      priceSet: { shopMoney: { amount: decimal(l.unitPrice), currencyCode: cur } },
      taxLines: taxLines(l.taxes, cur),
      requiresShipping: true,
    };
  });
  const shipping = order.lines.reduce((s, l) => s + l.shippingPrice, 0);
  if (shipping < 0) {
    // Validation names this (PRICE_INVALID on shipping_price); never send Shopify a negative shipping line.
    throw ApplicationFailure.create({
      message: `Order ${order.orderId}: the shipping price ${decimal(shipping)} is negative; Shopify takes no negative shipping line.`,
      type: 'PRICE_INVALID',
      nonRetryable: true,
      details: [{ lineId: '(shipping)', field: 'shipping_price', value: decimal(shipping) }],
    });
  }
  const shippingTaxes = sumTaxes(order.lines.flatMap((l) => l.shippingTaxes));
  const a = order.shippingAddress;
  // CountryCode is an ISO alpha-2 enum: resolved from what the marketplace sent, never cut from alpha-3
  // (AUT is Austria, AT; its first two letters are Australia).
  const country = a ? resolveCountry(a.countryCode, a.country) : undefined;
  if (a && !country) {
    throw ApplicationFailure.create({
      message: `Order ${order.orderId}: the shipping country (code "${a.countryCode ?? ''}", name "${a.country ?? ''}") is not an ISO 3166 country.`,
      type: 'COUNTRY_UNKNOWN',
      nonRetryable: true,
      details: [{ code: a.countryCode ?? '', country: a.country ?? '' }],
    });
  }
  // Custom fields: each to the note or a custom attribute, as the channel maps it.
  const noteLines: string[] = [];
  const customAttributes: Array<{ key: string; value: string }> = [];
  for (const f of order.additionalFields ?? []) {
    const m = ch.additionalFields[f.code];
    const value = f.value.trim();
    if (!m || !value || m.shopify === 'none') continue;
    const label = m.label ?? f.code;
    if (m.shopify === 'note') noteLines.push(`${label}: ${value}`);
    else customAttributes.push({ key: label, value });
  }
  return {
    currency: cur,
    email: order.customer?.email,
    lineItems,
    shippingLines: [
      {
        title: order.shippingMethod?.label ?? order.shippingMethod?.code ?? 'Marketplace shipping',
        code: order.shippingMethod?.code,
        priceSet: { shopMoney: { amount: decimal(shipping), currencyCode: cur } },
        taxLines: taxLines(shippingTaxes, cur),
      },
    ],
    ...(a
      ? {
          shippingAddress: {
            firstName: a.firstName,
            lastName: a.lastName,
            company: a.company,
            address1: a.line1,
            address2: a.line2,
            city: a.city,
            provinceCode: a.region,
            zip: a.postcode,
            countryCode: country?.alpha2,
            phone: a.phone,
          },
        }
      : {}),
    ...(noteLines.length ? { note: noteLines.join('\n') } : {}),
    ...(customAttributes.length ? { customAttributes } : {}),
    sourceIdentifier: order.orderId,
    sourceName: ch.code,
    tags: [shopifyOrderTag(cfg, ch.code), `mirakl-${order.orderId}`],
    metafields: [
      { namespace: 'loopline', key: 'mirakl_order_id', type: 'single_line_text_field', value: order.orderId },
      { namespace: 'loopline', key: 'channel', type: 'single_line_text_field', value: ch.code },
    ],
    taxesIncluded: order.taxMode === 'TAX_INCLUDED',
    financialStatus: 'PAID',
  };
}

export function createShopifyActivities(deps: ShopifyActivityDeps) {
  const { config, log } = deps;
  const cfg = () => {
    const c = config.systems.shopify;
    if (!c) throw ApplicationFailure.nonRetryable('systems.shopify is not configured', 'UNEXPECTED_ERROR');
    return c;
  };
  const channelConfig = (code: string) => {
    const ch = config.channels.find((c) => c.code === code);
    if (!ch) throw ApplicationFailure.nonRetryable(`channel "${code}" is not configured`, 'UNEXPECTED_ERROR');
    return ch;
  };
  const skuOf = (ch: ChannelConfig) => (l: OrderLine) => ch.skuMap[l.offerSku] ?? l.offerSku;

  return {
    async createShopifyOrder(input: { channel: string; order: MarketplaceOrder }): Promise<{
      salesOrderNumber: string;
      created: boolean;
    }> {
      const ch = channelConfig(input.channel);
      const c = cfg();
      try {
        // Look before create: after a lost response (or a retry) the order may already be there.
        const existing = await deps.shopify.findOrderBySource(input.order.orderId);
        if (existing) {
          log.info({ orderId: input.order.orderId, shopifyOrder: existing.id }, 'shopify order already exists');
          return { salesOrderNumber: existing.id, created: false };
        }
        const skus = input.order.lines.map(skuOf(ch));
        const variants = await deps.shopify.variantsBySku([...new Set(skus)]);
        const missing = skus.find((s) => !variants.has(s));
        if (missing) {
          throw ApplicationFailure.create({
            message: `Order ${input.order.orderId}: SKU ${missing} has no variant in Shopify.`,
            type: 'WMS_REJECTED',
            nonRetryable: true,
            details: [{ detail: `SKU ${missing} has no variant in Shopify` }],
          });
        }
        // Never sent once this attempt could have been given up on: its retry may have looked already.
        const sendBy = attemptSendBy(deps.shopify.requestTimeoutMs);
        const created = await deps.shopify.orderCreate(
          toOrderCreateInput(input.order, ch, c, variants, skuOf(ch)),
          c.inventoryBehaviour,
          sendBy === undefined ? {} : { sendBy },
        );
        log.info({ orderId: input.order.orderId, shopifyOrder: created.id }, 'shopify order created');
        return { salesOrderNumber: created.id, created: true };
      } catch (err) {
        throw toActivityFailure(err, 'shopify', 'orderCreate', 'WMS_REJECTED', { orderId: input.order.orderId });
      }
    },

    async listShopifyDespatches(input: { salesOrderNumber: string }): Promise<Despatch[]> {
      try {
        const fulfillments = await deps.shopify.fulfillments(input.salesOrderNumber);
        return fulfillments.map((f) => ({
          despatchNumber: f.id,
          salesOrderNumber: input.salesOrderNumber,
          trackingNumber: f.number,
          carrier: f.company,
          despatchedAt: f.createdAt,
          items: f.lines.map((l) => ({ itemCode: l.sku, quantity: l.quantity })),
        }));
      } catch (err) {
        throw toActivityFailure(err, 'shopify', 'fulfillments', 'UNEXPECTED_ERROR');
      }
    },

    /** Every variant SKU: the item codes a Shopify-fulfilled channel's lines must map to. */
    async listShopifySkus(): Promise<string[]> {
      return deps.shopify.listSkus();
    },

    /**
     * OR28 for one Shopify refund. Amounts and taxes come from the Mirakl order line (never Shopify's
     * totals), in proportion to the refunded units (floor-cumulative, so partial refunds add up exactly).
     * Look before refunding: `priorRefunds` is how many refunds Loopline has made on each line before
     * this one; a line that already shows more on Mirakl means an earlier attempt went through.
     */
    async refundFromShopify(input: {
      channel: string;
      orderId: string;
      notice: RefundNotice;
      priorRefunds: Record<string, { count: number; quantity: number }>;
    }): Promise<RefundCalculation> {
      const ch = channelConfig(input.channel);
      const c = cfg();
      const client = deps.mirakl(input.channel);
      const reasonCode =
        c.refundReasons[input.notice.note?.trim().toLowerCase() ?? ''] ??
        Object.entries(c.refundReasons).find(
          ([k]) => k.toLowerCase() === input.notice.note?.trim().toLowerCase(),
        )?.[1] ??
        c.refundReasons['*'] ??
        '16';
      try {
        const [order] = await client.getOrders([input.orderId]);
        if (!order)
          throw ApplicationFailure.nonRetryable(`order ${input.orderId} not found on Mirakl`, 'UNEXPECTED_ERROR');
        const wire = order as unknown as {
          order_lines: Array<{ order_line_id: string; refunds?: unknown[] }>;
        };
        const mo = toMarketplaceOrder(order, {
          code: ch.code,
          currency: ch.currency,
          acceptanceWindowHours: ch.deadlines.acceptanceWindowHours,
        });
        const calc: RefundCalculation = {
          refundId: input.notice.refundId,
          reasonCode,
          lines: [],
          unmatched: [],
          outcome: 'refunded',
        };
        const taken = new Map<string, number>();
        for (const want of input.notice.lines) {
          let qty = want.quantity;
          for (const l of mo.lines) {
            if (qty <= 0) break;
            if ((ch.skuMap[l.offerSku] ?? l.offerSku).toUpperCase() !== want.sku.toUpperCase()) continue;
            const before = (input.priorRefunds[l.lineId]?.quantity ?? 0) + (taken.get(l.lineId) ?? 0);
            const take = Math.min(qty, l.quantity - before);
            if (take <= 0) continue;
            taken.set(l.lineId, (taken.get(l.lineId) ?? 0) + take);
            qty -= take;
            calc.lines.push({
              lineId: l.lineId,
              offerSku: l.offerSku,
              quantity: take,
              refundedBefore: before,
              ordered: l.quantity,
              amount: proportional(l.price, l.quantity, before, take),
              taxes: l.taxes.map((t) => ({ code: t.code, amount: proportional(t.amount, l.quantity, before, take) })),
              shippingAmount: proportional(l.shippingPrice, l.quantity, before, take),
              shippingTaxes: l.shippingTaxes.map((t) => ({
                code: t.code,
                amount: proportional(t.amount, l.quantity, before, take),
              })),
            });
          }
          if (qty > 0) calc.unmatched.push({ sku: want.sku, quantity: qty });
        }
        if (calc.lines.length === 0) return { ...calc, outcome: 'nothing-to-refund' };
        // Look before refunding again: refunds on the line beyond what Loopline made before this one.
        const done = calc.lines.every((x) => {
          const onMirakl = wire.order_lines.find((w) => w.order_line_id === x.lineId)?.refunds?.length ?? 0;
          return onMirakl > (input.priorRefunds[x.lineId]?.count ?? 0);
        });
        if (done) {
          log.info({ orderId: input.orderId, refundId: input.notice.refundId }, 'refund already on Mirakl');
          return { ...calc, outcome: 'already-refunded' };
        }
        const major = (m: number) => m / 100;
        await client.refund(
          calc.lines.map((x) => ({
            order_line_id: x.lineId,
            quantity: x.quantity,
            amount: major(x.amount),
            shipping_amount: major(x.shippingAmount),
            reason_code: reasonCode,
            taxes: x.taxes.map((t) => ({ code: t.code, amount: major(t.amount) })),
            shipping_taxes: x.shippingTaxes.map((t) => ({ code: t.code, amount: major(t.amount) })),
            currency_iso_code: mo.currency,
          })),
          mo.taxMode,
        );
        log.info({ orderId: input.orderId, refundId: input.notice.refundId }, 'refund sent to Mirakl (OR28)');
        return calc;
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', 'OR28', 'UNEXPECTED_ERROR', { orderId: input.orderId, step: 'refund' });
      }
    },
  };
}

export type ShopifyActivities = ReturnType<typeof createShopifyActivities>;
