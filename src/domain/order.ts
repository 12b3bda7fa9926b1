// The canonical marketplace order every route shares. Connectors map each platform's wire format to this
// shape (money already in minor units); workflows and validation only ever see this.

/** Marketplace order states, in the platform-neutral vocabulary (Mirakl's names, which are the richest). */
export type MarketplaceOrderState =
  | 'STAGING'
  | 'WAITING_ACCEPTANCE'
  | 'WAITING_DEBIT'
  | 'WAITING_DEBIT_PAYMENT'
  | 'SHIPPING'
  | 'SHIPPED'
  | 'TO_COLLECT'
  | 'RECEIVED'
  | 'CLOSED'
  | 'REFUSED'
  | 'CANCELED'
  | 'UNKNOWN';

export interface Tax {
  code: string;
  /** Minor units. */
  amount: number;
  rate?: number;
}

export interface Address {
  firstName?: string;
  lastName?: string;
  company?: string;
  line1?: string;
  line2?: string;
  city?: string;
  region?: string;
  postcode?: string;
  /**
   * ISO 3166-1 alpha-2 once the connector resolved it (src/domain/countries.ts); what the platform sent
   * when nothing matched (validation then raises COUNTRY_UNKNOWN). Orders mapped before countries were
   * resolved may hold alpha-3.
   */
  countryCode?: string;
  country?: string;
  phone?: string;
  /** Delivery instructions (Mirakl shipping_address.additional_info). */
  instructions?: string;
}

export interface OrderLine {
  lineId: string;
  index: number;
  offerSku: string;
  productTitle?: string;
  /** As sent: may be zero or negative on bad data; validation decides. */
  quantity: number;
  /** Minor units, tax-inclusive when the order's taxMode is TAX_INCLUDED. */
  unitPrice: number;
  /** Goods total for the line (unitPrice × quantity as the platform computed it). */
  price: number;
  shippingPrice: number;
  taxes: Tax[];
  shippingTaxes: Tax[];
  state: MarketplaceOrderState | string;
  /** Quantities the platform has already cancelled or refunded on this line. */
  cancelledQuantity: number;
}

/** A marketplace custom field on the order (Mirakl order_additional_fields): a gift message, a PO number. */
export interface AdditionalField {
  code: string;
  /** The platform's type (Mirakl: STRING, TEXTAREA, BOOLEAN, MULTIPLE_VALUES_LIST, …), when it sends one. */
  type?: string;
  /** As text; a list of values is joined with ", ". */
  value: string;
}

export interface MarketplaceOrder {
  /** Channel code from config (asos, joules, …). */
  channel: string;
  /** The platform's order id (Mirakl order_id: unique per shop). */
  orderId: string;
  commercialId?: string;
  state: MarketplaceOrderState;
  createdAt: string;
  updatedAt: string;
  /** When the platform auto-refuses if not accepted (computed from config when the platform gives none). */
  acceptanceDeadline?: string;
  shippingDeadline?: string;
  currency: string;
  taxMode: 'TAX_INCLUDED' | 'TAX_EXCLUDED';
  shippingMethod?: { code?: string; label?: string };
  customer?: { id?: string; firstName?: string; lastName?: string; email?: string; locale?: string };
  /** Null until acceptance on platforms that hide it. */
  shippingAddress?: Address | null;
  billingAddress?: Address | null;
  lines: OrderLine[];
  /** Custom fields on the order, as sent (absent on orders mapped before they were carried). */
  additionalFields?: AdditionalField[];
  /** Minor units: goods (sum of line prices), shipping, grand total. */
  totals: { goods: number; shipping: number; total: number };
  canCancel?: boolean;
}

/** A warehouse despatch: one parcel's worth of items, with its tracking. */
export interface Despatch {
  despatchNumber: string;
  salesOrderNumber: string;
  trackingNumber?: string;
  /** Carrier as the warehouse names it; mapped to the marketplace through the channel's carrierMap. */
  carrier?: string;
  despatchedAt?: string;
  items: Array<{ itemCode: string; quantity: number }>;
}

/** One line of a shipment confirmation to the marketplace. */
export interface ShipmentLine {
  lineId: string;
  quantity: number;
}

export interface ShipmentConfirmation {
  despatchNumber: string;
  lines: ShipmentLine[];
  carrier: { code?: string; name?: string; trackingUrl?: string };
  trackingNumber?: string;
}

export const TERMINAL_MARKETPLACE_STATES: ReadonlySet<MarketplaceOrderState> = new Set([
  'REFUSED',
  'CANCELED',
  'CLOSED',
]);
