// Marketplacer Seller API responses, checked with zod. Loose where the public reference is thin (docs/contracts.md,
// Marketplacer): only what Loopline cannot work without is required (ids, legacy ids, status flags, line items and
// their quantities); everything else is optional and nullable, and unknown fields pass through.
import { z } from 'zod';

const str = z.string();
const optStr = z.string().nullish();
const optInt = z.number().int().nullish();

export const GraphQLEnvelope = z.looseObject({
  data: z.record(z.string(), z.unknown()).nullish(),
  errors: z
    .array(
      z.looseObject({
        message: z.string(),
        path: z.array(z.union([z.string(), z.number()])).nullish(),
        extensions: z.looseObject({ code: z.string().optional() }).nullish(),
      }),
    )
    .nullish(),
});

export const ValidationErrorSchema = z.looseObject({
  field: optStr,
  messages: z.array(z.string()).default([]),
});
export type MpValidationError = z.infer<typeof ValidationErrorSchema>;

export const AddressSchema = z.looseObject({
  address: optStr,
  address2: optStr,
  city: optStr,
  state: z.looseObject({ short: optStr, name: optStr }).nullish(),
  postcode: optStr,
  country: z.looseObject({ code: optStr, name: optStr }).nullish(),
});
export type MpAddress = z.infer<typeof AddressSchema>;

export const LineItemSchema = z.looseObject({
  id: str.min(1),
  legacyId: optInt,
  variantId: optStr,
  variantSku: optStr,
  variantBarcode: optStr,
  variantName: optStr,
  quantity: z.number().int(),
  status: optStr,
  unitPriceCents: optInt,
  totalCents: optInt,
  taxCents: optInt,
});
export type MpLineItem = z.infer<typeof LineItemSchema>;

export const ShipmentSchema = z.looseObject({
  id: str.min(1),
  carrier: optStr,
  postageCarrier: z.looseObject({ id: str, name: optStr }).nullish(),
  trackingNumber: optStr,
  trackingLink: optStr,
  dispatchedAt: optStr,
  note: optStr,
  shippedItems: z
    .array(z.looseObject({ quantity: z.number().int(), lineItem: z.looseObject({ id: str }) }))
    .default([]),
});
export type MpShipment = z.infer<typeof ShipmentSchema>;

export const RefundRequestSchema = z.looseObject({
  id: str.min(1),
  legacyId: optInt,
  status: optStr,
  externalIds: z.array(z.looseObject({ key: str, value: str })).nullish(),
  lineItems: z
    .array(
      z.looseObject({
        id: optStr,
        status: optStr,
        quantity: z.number().int(),
        dispatched: z.boolean().nullish(),
        reason: optStr,
        /** A custom line (no line item): money refunded on the invoice, e.g. postage. */
        custom: optStr,
        lineItem: z.looseObject({ id: str }).nullish(),
        // Marketplacer's own figure for the line (it computes it from the line item; deprecated `…Cents` fields,
        // asked only where the instance still has them: docs/contracts.md, Marketplacer).
        amountCents: optInt,
        amountPerItemCents: optInt,
      }),
    )
    .default([]),
});
export type MpRefundRequest = z.infer<typeof RefundRequestSchema>;

export const InvoiceSchema = z.looseObject({
  __typename: z.literal('Invoice').optional(),
  id: str.min(1),
  legacyId: z.number().int(),
  createdAt: str,
  updatedAt: optStr,
  paidAt: optStr,
  statusFlags: z.array(z.string()),
  buyerFirstName: optStr,
  buyerSurname: optStr,
  buyerEmailAddress: optStr,
  buyerPhone: optStr,
  buyerMessageToSeller: optStr,
  shippingAddress: AddressSchema.nullish(),
  buyerBillingAddress: AddressSchema.nullish(),
  metadata: z.array(z.looseObject({ key: str, value: optStr })).nullish(),
  postageCents: optInt,
  subtotalCents: optInt,
  totalCents: optInt,
  lineItems: z.array(LineItemSchema),
  shipments: z.array(ShipmentSchema).nullish(),
  refundRequests: z.array(RefundRequestSchema).nullish(),
});
export type MpInvoice = z.infer<typeof InvoiceSchema>;

export const PageInfoSchema = z.looseObject({ hasNextPage: z.boolean(), endCursor: optStr });

/** A connection's page whose nodes are checked one by one (one bad invoice must not sink the page). */
export const RawConnection = z.looseObject({
  nodes: z.array(z.unknown()),
  pageInfo: PageInfoSchema,
  totalCount: z.number().int().nullish(),
});

export const CarrierSchema = z.looseObject({ id: str.min(1), name: z.string() });
export type MpCarrier = z.infer<typeof CarrierSchema>;

export const VariantSchema = z.looseObject({
  id: str.min(1),
  legacyId: optInt,
  sku: optStr,
  barcode: optStr,
  countOnHand: optInt,
});
export type MpVariant = z.infer<typeof VariantSchema>;

export const AdvertSchema = z.looseObject({
  id: str.min(1),
  variants: z.looseObject({ nodes: z.array(VariantSchema), pageInfo: PageInfoSchema }),
});

export const MutationPayload = z.looseObject({
  errors: z.array(ValidationErrorSchema).nullish(),
  status: z.number().int().nullish(),
});
