// Types shared by the Mirakl seller API simulator: channel configuration, the compact order spec the control
// API accepts, and the simulator's internal records.
import type { CatalogueItem } from '../catalogue';

export interface MiraklSimCarrier {
  code: string;
  label: string;
  /** Tracking URL template; `{trackingId}` is replaced by the tracking number. */
  trackingUrl?: string;
}

export interface MiraklSimChannel {
  /** Channel code, e.g. 'asos': the API lives under /mirakl/<code>/api/... */
  code: string;
  /** The shop API key, sent raw in `Authorization`. */
  apiKey: string;
  /** When set, a request's `shop_id` must match it. */
  shopId?: number;
  /** PC01 features.shipment.multi_shipment: ST01 allowed. */
  multiShipment: boolean;
  /** Mixing accepted and refused lines in one OR21 call is allowed. */
  partialAcceptance: boolean;
  /** Customer addresses are null until the order is accepted. */
  hideAddressesUntilAcceptance: boolean;
  /** Auto-refusal after this long in WAITING_ACCEPTANCE (divided by the sandbox timeScale). */
  acceptanceWindowMs: number;
  leadtimeToShipDays: number;
  carriers: MiraklSimCarrier[];
  /** Becomes the shop's offers (quantity = stock). */
  catalogue: CatalogueItem[];
  /** Default GBP. */
  currency?: string;
  /** Time spent in WAITING_DEBIT_PAYMENT after acceptance (divided by timeScale). Default 0: immediate. */
  debitDelayMs?: number;
  /** STO01/OF24 imports stay WAITING this long before they apply (divided by timeScale). Default 0. */
  importDelayMs?: number;
  /** OR11 start_update_date is moved back by this much, like Mirakl does. Default 5000. */
  updateDateDeltaMs?: number;
  /** Label for PC01 / channel, e.g. 'ASOS Marketplace'. */
  label?: string;
}

export interface OrderSpecLine {
  offerSku: string;
  quantity: number;
  /** Decimal, tax included; defaults to the catalogue price. */
  unitPrice?: number;
  productTitle?: string;
}

/** Mirakl-shaped address fields (street_1, zip_code, country_iso_code …). */
export type WireAddress = Record<string, unknown>;

export interface OrderSpec {
  orderId?: string;
  lines: OrderSpecLine[];
  /** Decimal shipping price for the order (carried on the first line). */
  shippingPrice?: number;
  customer?: { customer_id?: string; firstname?: string; lastname?: string; locale?: string; email?: string };
  shippingAddress?: WireAddress;
  billingAddress?: WireAddress;
  shippingTypeCode?: string;
  /**
   * order_additional_fields, as the operator's custom fields come: {code, type, value} (value a string, or
   * a list for MULTIPLE_VALUES_LIST). Type defaults to STRING.
   */
  additionalFields?: Array<{ code: string; type?: string; value: string | string[] }>;
  /** Deep-merged into the wire order on every read (arrays merge by index; null sets null). Wire-only. */
  overrides?: Record<string, unknown>;
}

export type StockSource = 'STO01' | 'OF24' | 'control';

export interface StockHistoryEntry {
  at: string;
  offerSku: string;
  quantity: number;
  source: StockSource;
  importId?: string;
  warehouseCode?: string;
}

export interface OversellEntry {
  at: string;
  orderId: string;
  offerSku: string;
  requested: number;
  available: number;
}
