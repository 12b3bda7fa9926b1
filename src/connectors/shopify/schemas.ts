// zod schemas of the Shopify Admin GraphQL responses Loopline reads: only the fields it selects.
import { z } from 'zod';

export const ThrottleStatusSchema = z.object({
  maximumAvailable: z.number(),
  currentlyAvailable: z.number(),
  restoreRate: z.number(),
});
export type ThrottleStatus = z.infer<typeof ThrottleStatusSchema>;

export const GraphQLEnvelope = z.object({
  data: z.unknown().optional(),
  errors: z
    .array(
      z.object({
        message: z.string(),
        extensions: z.object({ code: z.string().optional() }).passthrough().optional(),
      }),
    )
    .optional(),
  extensions: z
    .object({
      cost: z
        .object({
          requestedQueryCost: z.number().optional(),
          actualQueryCost: z.number().nullable().optional(),
          throttleStatus: ThrottleStatusSchema.optional(),
        })
        .optional(),
    })
    .optional(),
});

const PageInfo = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });

export const OrderSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  sourceIdentifier: z.string().nullable(),
  tags: z.array(z.string()),
  cancelledAt: z.string().nullable(),
  metafield: z.object({ value: z.string() }).nullable(),
  lineItems: z.object({
    nodes: z.array(z.object({ id: z.string(), sku: z.string().nullable(), quantity: z.number() })),
  }),
});
export type ShopifyOrderSummary = z.infer<typeof OrderSummarySchema>;

export const OrdersSchema = z.object({ orders: z.object({ nodes: z.array(OrderSummarySchema) }) });

/** A userError's field path: names, and list indexes as numbers (captured 2026-04 responses have both). */
const FieldPath = z.array(z.union([z.string(), z.number()])).nullable();

export const OrderCreateSchema = z.object({
  orderCreate: z
    .object({
      order: OrderSummarySchema.nullable(),
      userErrors: z.array(
        z.object({
          field: FieldPath,
          message: z.string().nullable().optional(),
          code: z.string().nullable().optional(),
        }),
      ),
    })
    .nullable(),
});

export const VariantsSchema = z.object({
  productVariants: z.object({
    nodes: z.array(z.object({ id: z.string(), sku: z.string().nullable() })),
    pageInfo: PageInfo.optional(),
  }),
});

export const FulfillmentsSchema = z.object({
  order: z
    .object({
      id: z.string(),
      fulfillments: z.array(
        z.object({
          id: z.string(),
          createdAt: z.string(),
          status: z.string(),
          trackingInfo: z.array(
            z.object({ company: z.string().nullable(), number: z.string().nullable(), url: z.string().nullable() }),
          ),
          fulfillmentLineItems: z.object({
            // FulfillmentLineItem.quantity is nullable in the Admin schema.
            nodes: z.array(
              z.object({ quantity: z.number().int().nullable(), lineItem: z.object({ sku: z.string().nullable() }) }),
            ),
          }),
        }),
      ),
    })
    .nullable(),
});

export const RefundsSchema = z.object({
  order: z
    .object({
      id: z.string(),
      refunds: z.array(
        z.object({
          id: z.string(),
          note: z.string().nullable(),
          // Refund.createdAt is nullable in the Admin schema; processedAt is not.
          createdAt: z.string().nullable(),
          processedAt: z.string(),
          refundLineItems: z.object({
            nodes: z.array(
              z.object({
                quantity: z.number().int(),
                lineItem: z.object({ id: z.string(), sku: z.string().nullable() }),
              }),
            ),
          }),
        }),
      ),
    })
    .nullable(),
});

export const InventoryItemsSchema = z.object({
  inventoryItems: z.object({
    nodes: z.array(
      z.object({
        id: z.string(),
        sku: z.string().nullable(),
        inventoryLevels: z.object({
          nodes: z.array(
            z.object({
              location: z.object({ id: z.string() }).optional(),
              quantities: z.array(z.object({ name: z.string(), quantity: z.number().int() })),
            }),
          ),
        }),
      }),
    ),
    pageInfo: PageInfo,
  }),
});

export const WebhookSubscriptionCreateSchema = z.object({
  webhookSubscriptionCreate: z
    .object({
      webhookSubscription: z.object({ id: z.string() }).nullable(),
      userErrors: z.array(z.object({ field: FieldPath, message: z.string() })),
    })
    .nullable(),
});

export const ShopSchema = z.object({
  shop: z.object({ name: z.string(), myshopifyDomain: z.string(), currencyCode: z.string() }),
});

export const WebhookSubscriptionsSchema = z.object({
  webhookSubscriptions: z.object({
    nodes: z.array(z.object({ id: z.string(), topic: z.string(), uri: z.string() })),
    pageInfo: PageInfo,
  }),
});

// ---- webhook payloads (REST-shaped JSON) ------------------------------------------------------------
export const FulfillmentWebhookSchema = z.object({
  id: z.number(),
  order_id: z.number(),
  status: z.string().optional(),
  tracking_company: z.string().nullable().optional(),
  tracking_number: z.string().nullable().optional(),
  tracking_url: z.string().nullable().optional(),
  line_items: z.array(z.object({ sku: z.string().nullable(), quantity: z.number().int() })),
});

export const RefundWebhookSchema = z.object({
  id: z.number(),
  order_id: z.number(),
  note: z.string().nullable().optional(),
  refund_line_items: z.array(
    z.object({
      line_item_id: z.number(),
      quantity: z.number().int(),
      line_item: z.object({ sku: z.string().nullable() }),
    }),
  ),
});

export const InventoryLevelWebhookSchema = z.object({
  inventory_item_id: z.number(),
  location_id: z.number(),
  available: z.number().int().nullable(),
  updated_at: z.string().optional(),
});
