// The state of one simulated Marketplacer instance, as its seller sees it through the Seller API: the
// seller's invoices (one per order it takes part in), their line items, shipments and refund requests; the
// adverts and variants it sells, with their stock (countOnHand) and a recorded stock history; the shipment
// carriers the instance knows; and a connection flag per marketplace. No HTTP here (simulator.ts serves it).
//
// What the store enforces is what a client must cope with (docs/sandbox/marketplacer.md):
//   - ids are Relay global ids, base64("<Type>-<legacyId>"), and objects carry their legacyId;
//   - invoice status flags accumulate (PAID, then PARTIALLY_SENT, SENT, AWAITING_REFUND, REFUNDED, CANCELLED…);
//   - a shipment ships whole units of the invoice's own line items, never more than is left, never dated
//     before the invoice was ordered; split shipments are normal;
//   - a refund request names line items of its invoice, each as a cancellation (dispatched: false: only units
//     not shipped) or a return (dispatched: true: only units shipped);
//   - placing an order takes its units off the variants' countOnHand (Marketplacer refuses to over-order);
//   - while the marketplace's connection is inactive, variantUpdate is answered as accepted but the count
//     the marketplace shows does not change (the seed's "connection inactive": stock never reaches it).
import type { CatalogueItem } from '../catalogue';

export type InvoiceFlag =
  | 'PAID'
  | 'PAYMENT_UNDER_REVIEW'
  | 'SENT'
  | 'PARTIALLY_SENT'
  | 'AWAITING_RETURN'
  | 'AWAITING_REFUND'
  | 'REFUNDED'
  | 'CANCELLED'
  | 'READY'
  | 'COLLECTED'
  | 'REMITTED';

export type RefundRequestStatus =
  'AWAITING' | 'RETURNED' | 'REFUND_ACCEPTED' | 'REFUND_DENIED' | 'REFUNDED' | 'DENIED' | 'PROCESSED';
export type RefundLineStatus =
  'PENDING_APPROVAL' | 'AWAITING_RETURN' | 'REFUND_ACCEPTED' | 'REFUND_DENIED' | 'REFUNDED';

export interface SimAddress {
  address?: string;
  address2?: string;
  city?: string;
  stateShort?: string;
  postcode?: string;
  countryCode?: string;
  countryName?: string;
}

export interface SimLineItem {
  legacyId: number;
  variantLegacyId?: number;
  /** As the variant had it when ordered; null when the variant has no SKU. */
  sku: string | null;
  barcode?: string;
  name: string;
  quantity: number;
  unitPriceCents: number;
  taxCents: number;
  /** Units shipped so far (sum of shipments). */
  shipped: number;
  /** Units cancelled before despatch (refunded cancellations). */
  cancelled: number;
}

export interface SimShipment {
  legacyId: number;
  carrierLegacyId: number;
  trackingNumber: string;
  dispatchedAt: string;
  note?: string;
  createdAt: string;
  items: Array<{ legacyId: number; lineItemLegacyId: number; quantity: number }>;
}

export interface SimRefundLine {
  legacyId: number;
  lineItemLegacyId?: number;
  custom?: string;
  amountPerItemCents: number;
  quantity: number;
  reason?: string;
  dispatched?: boolean;
  status: RefundLineStatus;
}

export interface SimRefundRequest {
  legacyId: number;
  invoiceLegacyId: number;
  status: RefundRequestStatus;
  initiator: string;
  createdAt: string;
  updatedAt: string;
  notes: string[];
  externalIds: Array<{ key: string; value: string }>;
  lines: SimRefundLine[];
}

export interface SimInvoice {
  legacyId: number;
  createdAt: string;
  updatedAt: string;
  paidAt?: string;
  flags: InvoiceFlag[];
  buyer: { firstName?: string; surname?: string; email?: string; phone?: string };
  messageToSeller?: string;
  shippingAddress?: SimAddress;
  billingAddress?: SimAddress;
  metadata: Array<{ key: string; value: string }>;
  postageCents: number;
  lines: SimLineItem[];
  shipments: SimShipment[];
  refundRequestIds: number[];
}

export interface SimVariant {
  legacyId: number;
  advertLegacyId: number;
  sku: string | null;
  barcode?: string;
  name: string;
  priceCents: number;
  /** What the marketplace shows (and sells from). */
  countOnHand: number;
}

export interface SimAdvert {
  legacyId: number;
  title: string;
  variantIds: number[];
}

export interface StockChange {
  at: number;
  variantLegacyId: number;
  sku: string | null;
  /** The count asked for (api, control) or the count after an order took units. */
  countOnHand: number;
  source: 'api' | 'order' | 'control' | 'cancellation';
  /** The update was accepted but never reached the marketplace (connection inactive). */
  dropped?: boolean;
}

export interface SimCarrier {
  legacyId: number;
  name: string;
}

export class MarketplacerStoreError extends Error {
  constructor(
    message: string,
    /** The input field the problem is about (a ValidationError's `field`); none for a missing object. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** base64("<Type>-<legacyId>"), the way Marketplacer builds its Relay global ids. */
export function globalId(type: string, legacyId: number): string {
  return Buffer.from(`${type}-${legacyId}`, 'utf8').toString('base64');
}

/** The type and legacy id of a global id, or undefined when it is not one of ours. */
export function parseGlobalId(id: string): { type: string; legacyId: number } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(id)) return undefined;
  const m = /^([A-Za-z]+)-(\d{1,12})$/.exec(Buffer.from(id, 'base64').toString('utf8'));
  return m ? { type: m[1]!, legacyId: Number(m[2]) } : undefined;
}

export interface PlaceInvoiceSpec {
  legacyId?: number;
  createdAt?: string;
  /** Placed but not paid yet: PAYMENT_UNDER_REVIEW instead of PAID. */
  underReview?: boolean;
  lines: Array<{ sku: string; quantity: number; unitPriceCents?: number; taxCents?: number; name?: string }>;
  buyer?: SimInvoice['buyer'];
  messageToSeller?: string;
  shippingAddress?: SimAddress;
  billingAddress?: SimAddress;
  metadata?: Array<{ key: string; value: string }>;
  postageCents?: number;
  /** Ignore stock (an order placed however much the variant shows: the over-sell a stale count allows). */
  ignoreStock?: boolean;
}

export const DEFAULT_CARRIERS = ['Royal Mail', 'DPD', 'Evri', 'Australia Post', 'Parcelforce'];

export class MarketplacerStore {
  readonly invoices = new Map<number, SimInvoice>();
  readonly variants = new Map<number, SimVariant>();
  private readonly variantsBySku = new Map<string, SimVariant>();
  readonly adverts = new Map<number, SimAdvert>();
  readonly refundRequests = new Map<number, SimRefundRequest>();
  readonly carriers: SimCarrier[];
  readonly stockHistory: StockChange[] = [];
  /** Units each order took, and units refused for want of stock (oversell attempts). */
  readonly sales = { units: 0, refusedUnits: 0 };
  /** false: variantUpdate is accepted but does not reach the marketplace. */
  connectionActive = true;
  private seq = 10_000;

  constructor(catalogue: readonly CatalogueItem[], carriers: readonly string[] = DEFAULT_CARRIERS) {
    this.carriers = carriers.map((name) => ({ legacyId: this.next(), name }));
    // One advert per product family, its variants the sizes/colours (the catalogue's SKUs).
    const byFamily = new Map<string, CatalogueItem[]>();
    for (const item of catalogue) {
      const family = item.sku.split('-')[0]!;
      const list = byFamily.get(family) ?? [];
      list.push(item);
      byFamily.set(family, list);
    }
    for (const [family, items] of byFamily) {
      const advert: SimAdvert = {
        legacyId: this.next(),
        title: items[0]!.name.split(',')[0] ?? family,
        variantIds: [],
      };
      this.adverts.set(advert.legacyId, advert);
      for (const item of items) this.addVariant(advert, item.sku, item.stock, item.priceMinor, item.name, item.barcode);
    }
  }

  next(): number {
    return ++this.seq;
  }

  addVariant(
    advert: SimAdvert | undefined,
    sku: string | null,
    countOnHand: number,
    priceCents = 1000,
    name?: string,
    barcode?: string,
  ): SimVariant {
    const ad = advert ?? { legacyId: this.next(), title: name ?? sku ?? 'Product', variantIds: [] };
    if (!this.adverts.has(ad.legacyId)) this.adverts.set(ad.legacyId, ad);
    const v: SimVariant = {
      legacyId: this.next(),
      advertLegacyId: ad.legacyId,
      sku,
      barcode,
      name: name ?? sku ?? 'Variant',
      priceCents,
      countOnHand,
    };
    ad.variantIds.push(v.legacyId);
    this.variants.set(v.legacyId, v);
    if (v.sku !== null && !this.variantsBySku.has(v.sku)) this.variantsBySku.set(v.sku, v);
    return v;
  }

  /** The first variant made with this SKU (an index: a 50,000-variant catalogue was scanned per lookup). */
  variantBySku(sku: string): SimVariant | undefined {
    return this.variantsBySku.get(sku);
  }

  invoice(legacyId: number): SimInvoice {
    const inv = this.invoices.get(legacyId);
    if (!inv) throw new MarketplacerStoreError(`No object found for invoiceId: ${globalId('Invoice', legacyId)}`);
    return inv;
  }

  // ---- orders ---------------------------------------------------------------------------------------

  /** An order placed at the marketplace: the seller's invoice, its units taken off the variants. */
  placeInvoice(spec: PlaceInvoiceSpec, now = Date.now()): SimInvoice {
    if (spec.lines.length === 0) throw new MarketplacerStoreError('An invoice needs at least one line item', 'lines');
    const legacyId = spec.legacyId ?? this.next();
    if (this.invoices.has(legacyId)) throw new MarketplacerStoreError(`Invoice ${legacyId} exists already`, 'legacyId');
    const lines: SimLineItem[] = [];
    const takes: Array<[SimVariant, number]> = [];
    for (const l of spec.lines) {
      const v = this.variantBySku(l.sku);
      if (v && !spec.ignoreStock && v.countOnHand < l.quantity) {
        this.sales.refusedUnits += l.quantity;
        throw new MarketplacerStoreError(
          `Not enough stock for ${l.sku}: ${v.countOnHand} on hand, ${l.quantity} ordered`,
          'lines',
        );
      }
      if (v) takes.push([v, l.quantity]);
      lines.push({
        legacyId: this.next(),
        variantLegacyId: v?.legacyId,
        sku: v ? v.sku : l.sku,
        barcode: v?.barcode,
        name: l.name ?? v?.name ?? l.sku,
        quantity: l.quantity,
        unitPriceCents: l.unitPriceCents ?? v?.priceCents ?? 1000,
        taxCents: l.taxCents ?? 0,
        shipped: 0,
        cancelled: 0,
      });
    }
    const at = spec.createdAt ?? new Date(now).toISOString();
    for (const [v, q] of takes) {
      v.countOnHand -= q;
      this.sales.units += q;
      this.stockHistory.push({
        at: now,
        variantLegacyId: v.legacyId,
        sku: v.sku,
        countOnHand: v.countOnHand,
        source: 'order',
      });
    }
    const inv: SimInvoice = {
      legacyId,
      createdAt: at,
      updatedAt: new Date(now).toISOString(),
      paidAt: spec.underReview ? undefined : at,
      flags: spec.underReview ? ['PAYMENT_UNDER_REVIEW'] : ['PAID'],
      buyer: spec.buyer ?? {},
      messageToSeller: spec.messageToSeller,
      shippingAddress: spec.shippingAddress,
      billingAddress: spec.billingAddress,
      metadata: spec.metadata ?? [],
      postageCents: spec.postageCents ?? 0,
      lines,
      shipments: [],
      refundRequestIds: [],
    };
    this.invoices.set(legacyId, inv);
    return inv;
  }

  /** Payment cleared for an invoice placed under review. */
  markPaid(legacyId: number, now = Date.now()): SimInvoice {
    const inv = this.invoice(legacyId);
    if (!inv.flags.includes('PAID')) {
      inv.flags = ['PAID', ...inv.flags.filter((f) => f !== 'PAYMENT_UNDER_REVIEW')];
      inv.paidAt = new Date(now).toISOString();
      this.touch(inv, now);
    }
    return inv;
  }

  private touch(inv: SimInvoice, now: number): void {
    // Strictly increasing: two changes in one millisecond still read as two updates.
    const prev = Date.parse(inv.updatedAt);
    inv.updatedAt = new Date(Math.max(now, prev + 1)).toISOString();
  }

  private addFlag(inv: SimInvoice, flag: InvoiceFlag): void {
    if (!inv.flags.includes(flag)) inv.flags.push(flag);
  }

  /** Units of a line still to ship: ordered, less shipped, less cancelled, less units in open cancellations. */
  remaining(inv: SimInvoice, line: SimLineItem): number {
    return line.quantity - line.shipped - line.cancelled - this.openCancellations(inv, line.legacyId);
  }

  private openCancellations(inv: SimInvoice, lineLegacyId: number): number {
    let n = 0;
    for (const id of inv.refundRequestIds) {
      const rr = this.refundRequests.get(id)!;
      for (const l of rr.lines) {
        if (
          l.lineItemLegacyId === lineLegacyId &&
          l.dispatched === false &&
          !['REFUNDED', 'REFUND_DENIED'].includes(l.status)
        )
          n += l.quantity;
      }
    }
    return n;
  }

  private updateShippingFlags(inv: SimInvoice): void {
    const open = inv.lines.reduce((s, l) => s + l.quantity - l.cancelled, 0);
    const shipped = inv.lines.reduce((s, l) => s + l.shipped, 0);
    if (shipped === 0) return;
    if (shipped >= open) {
      inv.flags = inv.flags.filter((f) => f !== 'PARTIALLY_SENT');
      this.addFlag(inv, 'SENT');
    } else this.addFlag(inv, 'PARTIALLY_SENT');
  }

  // ---- shipments ------------------------------------------------------------------------------------

  createShipment(
    input: {
      invoiceLegacyId: number;
      carrierLegacyId: number;
      trackingNumber: string;
      dispatchedAt: string;
      note?: string;
      items: Array<{ lineItemLegacyId: number; quantity: number }>;
    },
    now = Date.now(),
  ): SimShipment {
    const inv = this.invoice(input.invoiceLegacyId);
    if (!this.carriers.some((c) => c.legacyId === input.carrierLegacyId))
      throw new MarketplacerStoreError('Postage carrier could not be found', 'postageCarrierId');
    const dispatched = Date.parse(input.dispatchedAt);
    if (Number.isNaN(dispatched)) throw new MarketplacerStoreError('Dispatched at is not a valid date', 'dispatchedAt');
    // Date-only values (ISO8601Date) count as the end of that day, so a shipment made today is never early.
    const dispatchedEnd = /^\d{4}-\d{2}-\d{2}$/.test(input.dispatchedAt) ? dispatched + 86_400_000 - 1 : dispatched;
    if (dispatchedEnd < Date.parse(inv.createdAt))
      throw new MarketplacerStoreError('Dispatched at is before shipped items were ordered', 'dispatchedAt');
    if (inv.flags.includes('CANCELLED')) throw new MarketplacerStoreError('Invoice has been cancelled', 'invoiceId');
    if (input.items.length === 0) throw new MarketplacerStoreError('Shipped items must not be empty', 'shippedItems');
    const plan: Array<[SimLineItem, number]> = [];
    for (const item of input.items) {
      const line = inv.lines.find((l) => l.legacyId === item.lineItemLegacyId);
      if (!line) throw new MarketplacerStoreError('Line item does not belong to this invoice', 'shippedItems');
      if (!Number.isInteger(item.quantity) || item.quantity <= 0)
        throw new MarketplacerStoreError('Quantity must be greater than 0', 'shippedItems');
      const already = plan.filter(([l]) => l === line).reduce((s, [, q]) => s + q, 0);
      if (item.quantity + already > this.remaining(inv, line))
        throw new MarketplacerStoreError(
          `Quantity is greater than the quantity left to ship for line item ${globalId('LineItem', line.legacyId)}`,
          'shippedItems',
        );
      plan.push([line, item.quantity]);
    }
    const shipment: SimShipment = {
      legacyId: this.next(),
      carrierLegacyId: input.carrierLegacyId,
      trackingNumber: input.trackingNumber,
      dispatchedAt: new Date(dispatched).toISOString(),
      note: input.note,
      createdAt: new Date(now).toISOString(),
      items: plan.map(([l, q]) => ({ legacyId: this.next(), lineItemLegacyId: l.legacyId, quantity: q })),
    };
    for (const [l, q] of plan) l.shipped += q;
    inv.shipments.push(shipment);
    this.updateShippingFlags(inv);
    this.touch(inv, now);
    return shipment;
  }

  // ---- refund requests ------------------------------------------------------------------------------

  createRefundRequest(
    input: {
      invoiceLegacyId: number;
      initiator?: string;
      notes: string[];
      externalIds?: Array<{ key: string; value: string }>;
      lines: Array<{
        lineItemLegacyId?: number;
        custom?: string;
        amountPerItemCents?: number;
        quantity: number;
        reason?: string;
        dispatched?: boolean;
      }>;
    },
    now = Date.now(),
  ): SimRefundRequest {
    const inv = this.invoice(input.invoiceLegacyId);
    if (input.lines.length === 0) throw new MarketplacerStoreError('Line items must not be empty', 'lineItems');
    const lines: SimRefundLine[] = [];
    for (const l of input.lines) {
      if (!Number.isInteger(l.quantity) || l.quantity <= 0)
        throw new MarketplacerStoreError('Quantity must be greater than 0', 'lineItems');
      if (l.lineItemLegacyId !== undefined) {
        if (l.custom !== undefined || l.amountPerItemCents !== undefined)
          throw new MarketplacerStoreError('A line item id cannot be given with custom or amountPerItem', 'lineItems');
        if (!l.reason) throw new MarketplacerStoreError('Reason must be given for a line item', 'lineItems');
        const line = inv.lines.find((x) => x.legacyId === l.lineItemLegacyId);
        if (!line) throw new MarketplacerStoreError('Line item does not belong to this invoice', 'lineItems');
        if (l.dispatched === false && l.quantity > this.remaining(inv, line))
          throw new MarketplacerStoreError('Quantity is greater than the quantity not yet dispatched', 'lineItems');
        if (l.dispatched === true && l.quantity > line.shipped - this.returnsRequested(inv, line.legacyId))
          throw new MarketplacerStoreError('Quantity is greater than the quantity dispatched', 'lineItems');
        lines.push({
          legacyId: this.next(),
          lineItemLegacyId: line.legacyId,
          amountPerItemCents: line.unitPriceCents,
          quantity: l.quantity,
          reason: l.reason,
          dispatched: l.dispatched,
          status: 'PENDING_APPROVAL',
        });
      } else {
        if (l.custom === undefined || l.amountPerItemCents === undefined)
          throw new MarketplacerStoreError('Give a line item id and reason, or custom and amountPerItem', 'lineItems');
        lines.push({
          legacyId: this.next(),
          custom: l.custom,
          amountPerItemCents: l.amountPerItemCents,
          quantity: l.quantity,
          status: 'PENDING_APPROVAL',
        });
      }
    }
    const at = new Date(now).toISOString();
    const rr: SimRefundRequest = {
      legacyId: this.next(),
      invoiceLegacyId: inv.legacyId,
      status: 'AWAITING',
      initiator: input.initiator ?? 'ADMIN',
      createdAt: at,
      updatedAt: at,
      notes: input.notes,
      externalIds: input.externalIds ?? [],
      lines,
    };
    this.refundRequests.set(rr.legacyId, rr);
    inv.refundRequestIds.push(rr.legacyId);
    this.addFlag(inv, lines.some((l) => l.dispatched) ? 'AWAITING_RETURN' : 'AWAITING_REFUND');
    this.touch(inv, now);
    return rr;
  }

  private returnsRequested(inv: SimInvoice, lineLegacyId: number): number {
    let n = 0;
    for (const id of inv.refundRequestIds)
      for (const l of this.refundRequests.get(id)!.lines)
        if (l.lineItemLegacyId === lineLegacyId && l.dispatched === true && l.status !== 'REFUND_DENIED')
          n += l.quantity;
    return n;
  }

  /**
   * The operator refunds a request (every line): cancelled units go back to the variants' stock and leave the
   * lines; an invoice whose every unit is cancelled is CANCELLED.
   */
  refundRequest(legacyId: number, now = Date.now()): SimRefundRequest {
    const rr = this.refundRequests.get(legacyId);
    if (!rr)
      throw new MarketplacerStoreError(`No object found for refundRequestId: ${globalId('RefundRequest', legacyId)}`);
    if (rr.status === 'REFUNDED') return rr;
    const inv = this.invoice(rr.invoiceLegacyId);
    for (const l of rr.lines) {
      l.status = 'REFUNDED';
      const line = inv.lines.find((x) => x.legacyId === l.lineItemLegacyId);
      if (line && l.dispatched === false) {
        line.cancelled += l.quantity;
        const v = line.variantLegacyId !== undefined ? this.variants.get(line.variantLegacyId) : undefined;
        if (v) {
          v.countOnHand += l.quantity;
          this.stockHistory.push({
            at: now,
            variantLegacyId: v.legacyId,
            sku: v.sku,
            countOnHand: v.countOnHand,
            source: 'cancellation',
          });
        }
      }
    }
    rr.status = 'REFUNDED';
    rr.updatedAt = new Date(now).toISOString();
    this.addFlag(inv, 'REFUNDED');
    inv.flags = inv.flags.filter((f) => f !== 'AWAITING_REFUND' && f !== 'AWAITING_RETURN');
    if (inv.lines.every((l) => l.cancelled >= l.quantity)) this.addFlag(inv, 'CANCELLED');
    this.updateShippingFlags(inv);
    this.touch(inv, now);
    return rr;
  }

  /** The operator cancels lines at the marketplace (a refund request of its own, refunded at once). */
  cancelLines(
    invoiceLegacyId: number,
    lines: Array<{ lineItemLegacyId: number; quantity: number }> | undefined,
    now = Date.now(),
  ): SimRefundRequest {
    const inv = this.invoice(invoiceLegacyId);
    const which = (
      lines ?? inv.lines.map((l) => ({ lineItemLegacyId: l.legacyId, quantity: this.remaining(inv, l) }))
    ).filter((l) => l.quantity > 0);
    if (which.length === 0) throw new MarketplacerStoreError('Nothing left to cancel on this invoice', 'lines');
    const rr = this.createRefundRequest(
      {
        invoiceLegacyId,
        initiator: 'OPERATOR',
        notes: ['Cancelled by the marketplace'],
        lines: which.map((l) => ({ ...l, reason: 'Cancelled by the marketplace', dispatched: false })),
      },
      now,
    );
    return this.refundRequest(rr.legacyId, now);
  }

  // ---- stock -----------------------------------------------------------------------------------------

  /**
   * variantUpdate's stock part. Returns the count the answer shows (the one asked for: the update is
   * accepted) and whether it reached the marketplace.
   */
  updateCount(variantLegacyId: number, countOnHand: number, now = Date.now()): { shown: number; applied: boolean } {
    const v = this.variants.get(variantLegacyId);
    if (!v) throw new MarketplacerStoreError(`No object found for variantId: ${globalId('Variant', variantLegacyId)}`);
    if (!Number.isInteger(countOnHand) || countOnHand < 0)
      throw new MarketplacerStoreError('Count on hand must be greater than or equal to 0', 'countOnHand');
    const applied = this.connectionActive;
    if (applied) v.countOnHand = countOnHand;
    this.stockHistory.push({
      at: now,
      variantLegacyId: v.legacyId,
      sku: v.sku,
      countOnHand,
      source: 'api',
      ...(applied ? {} : { dropped: true }),
    });
    if (this.stockHistory.length > 500_000) this.stockHistory.splice(0, this.stockHistory.length - 500_000);
    return { shown: countOnHand, applied };
  }
}
