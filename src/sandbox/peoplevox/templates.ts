// The integration templates and reports the simulator serves. Column lists are the defaults from the
// contract notes (docs/… peoplevox-reveni.md A6/A7); a tenant can configure others, so clients must call
// GetSaveTemplate first — the simulator lets tests pass custom column lists to prove that.

export const SALES_ORDERS = 'Sales orders';
export const SALES_ORDER_ITEMS = 'Sales order items';
export const ITEM_TYPES = 'Item types';
export const DESPATCH_SUMMARY = 'Despatch summary';
export const ITEM_INVENTORY_SUMMARY = 'Item inventory summary';

export const DEFAULT_TEMPLATES: Record<string, string[]> = {
  [SALES_ORDERS]: [
    'SalesOrderNumber',
    'Customer',
    'CustomerPurchaseOrderReferenceNumber',
    'ShippingAddressLine1',
    'ShippingAddressLine2',
    'ShippingAddressCity',
    'ShippingAddressRegion',
    'ShippingAddressPostcode',
    'ShippingAddressCountry',
    'ShippingAddressReference',
    'InvoiceAddressLine1',
    'InvoiceAddressLine2',
    'InvoiceAddressCity',
    'InvoiceAddressRegion',
    'InvoiceAddressPostcode',
    'InvoiceAddressCountry',
    'InvoiceAddressReference',
    'IsPartialShipment',
    'Status',
    'RequestedDeliveryDate',
    'ShippingCost',
    'Email',
    'ContactName',
    'TotalSale',
    'Discount',
    'TaxPaid',
    'CreatedDate',
    'PaymentMethod',
    'ServiceType',
    'ChannelName',
  ],
  [SALES_ORDER_ITEMS]: [
    'SalesOrderNumber',
    'ItemCode',
    'QuantityOrdered',
    'RequestedDeliveryDate',
    'Line',
    'Sequence',
    'SalePrice',
  ],
  // The real default Item types template (Zynk's Peoplevox item_type.csv; RetailPrice appears once here).
  [ITEM_TYPES]: [
    'ItemCode',
    'Name',
    'Barcode',
    'ItemGroup',
    'RetailPrice',
    'Description',
    'UnitOfMeasure',
    'DefaultEconomicOrderQuantity',
    'DefaultLeadTime',
    'DefaultSuppliersPartNumber',
    'HasSerialNumbers',
    'UseManufacturersSerialNumber',
    'ReorderPoint',
    'Traceability',
    'ShelfLife',
    'DefaultNumberItemsPerContainer',
    'DefaultContainerType',
    'DefaultNumberItemsPerOuterCase',
    'DefaultNumberItemsPerInnerCase',
    'BuyPrice',
    'WholesalePrice',
    'Weight',
    'WeightMeasure',
    'Height',
    'Width',
    'Depth',
    'DimensionMeasure',
    'Tags',
    'Attribute1',
    'Attribute2',
    'Attribute3',
    'Attribute4',
    'Attribute5',
    'Attribute6',
    'Attribute7',
    'Attribute8',
    'Attribute9',
    'Attribute10',
    'Attribute11',
    'Attribute12',
    'Attribute13',
    'Attribute14',
    'Attribute15',
    'TaxCode',
    'MinimumPickLocationQuantity',
    'DefaultReplenishmentQuantity',
  ],
};

export const DESPATCH_SUMMARY_COLUMNS = [
  'Salesorder number',
  'Requested delivery date',
  'Despatch number',
  'Despatch date',
  'Tracking number',
  'Carrier',
  'Carrier reference',
  'Service',
  'Service type code',
  'Item name',
  'Item code',
  'Item barcode',
  'No of items',
  'Destination country',
  'Site reference',
  'Customer order reference',
  'Shipping cost',
  'Email',
  'Contact name',
  'Total sale',
  'Channel name',
];

export const ITEM_INVENTORY_SUMMARY_COLUMNS = [
  'Item code',
  'Name',
  'Barcode',
  'On hand',
  'Allocated',
  'Available',
  'Site reference',
];

export const RETURN_SUMMARY = 'Return summary';
/** 'Return summary' (P8 Zynk's documented report): no item code column, the item is named by barcode and name. */
export const RETURN_SUMMARY_COLUMNS = [
  'Return code',
  'Return date',
  'Quantity',
  'Item name',
  'Item barcode',
  'Sales order number',
  'Despatch date',
  'Return reason',
  'Return condition',
  'Return comments',
  'Days since despatch',
  'Contact name',
  'Email',
];

/** Event types from the WSDL enum plus the newer package events (A8). */
export const EVENT_TYPES = [
  'AvailabilityChanges',
  'SalesOrderStatusChanges',
  'GoodsReceived',
  'TrackingNumberReceived',
  'IncrementalChanges',
  'Returns',
  'DespatchPackageTrackingNumberReceived',
  'OnDespatchOrderReceived',
  'DespatchPackageDespatched',
] as const;

export type PvxStatusRole =
  'new' | 'allocated' | 'picking' | 'packing' | 'despatched' | 'partiallyDespatched' | 'cancelled' | 'onHold';

/** Role → displayed status name. The real list is not public (A9): every name is an assumption. */
export const DEFAULT_STATUSES: Record<PvxStatusRole, string> = {
  new: 'New',
  allocated: 'Allocated',
  picking: 'Picking',
  packing: 'Packing',
  despatched: 'Despatched',
  partiallyDespatched: 'Partially despatched',
  cancelled: 'Cancelled',
  onHold: 'On hold',
};

export const STATUS_ROLE_ORDER: PvxStatusRole[] = [
  'new',
  'allocated',
  'picking',
  'packing',
  'despatched',
  'cancelled',
  'onHold',
  'partiallyDespatched',
];

/**
 * 'dd/MM/yyyy HH:mm', the format reports use, single quotes included: real Despatch summary exports carry
 * the quotes inside the field (Zynk's documented sample: <Despatch_date>'03/07/2017 06:03'</Despatch_date>).
 * UTC in the simulator.
 */
export function formatReportDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `'${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}'`;
}
