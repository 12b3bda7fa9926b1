// Reveni's merchant API on the wire (docs/contracts.md, Reveni). Only part of it is public (the Odoo addon,
// Reveni's JS SDK, its help centre): parsed loosely, every field but the ids optional, statuses and reasons
// as free strings, so an unknown value reaches the return workflow instead of failing here.
import { z } from 'zod';

const str = z.string();
const num = z.union([z.number(), z.string()]);

export const ReveniItemSchema = z.looseObject({
  id: str.optional().nullable(),
  sku: str.optional().nullable(),
  quantity: z.number().optional().nullable(),
  return_reason: str.optional().nullable(),
  price: num.optional().nullable(),
  status: str.optional().nullable(),
  restock: z.boolean().optional().nullable(),
  reject_reason: str.optional().nullable(),
});

export const ReveniReturnSchema = z.looseObject({
  id: str,
  status: str.optional().nullable(),
  type: str.optional().nullable(),
  mode: str.optional().nullable(),
  order: z
    .looseObject({ external_id: str.optional().nullable(), currency: str.optional().nullable() })
    .optional()
    .nullable(),
  external_reference: str.optional().nullable(),
  return_items: z.array(ReveniItemSchema).optional().nullable(),
  refund: z
    .looseObject({
      amount: num.optional().nullable(),
      currency: str.optional().nullable(),
      method: str.optional().nullable(),
      status: str.optional().nullable(),
    })
    .optional()
    .nullable(),
  created_at: str.optional().nullable(),
  updated_at: str.optional().nullable(),
});
export type ReveniReturn = z.infer<typeof ReveniReturnSchema>;

/** [I] list: `{data[], next_page}` (Reveni's list endpoint is not public). */
export const ReveniListSchema = z.looseObject({
  data: z.array(ReveniReturnSchema),
  next_page: z.number().optional().nullable(),
});

/** Webhook body [C]: {id, event, created (unix seconds), data:{resource_id, status}}. */
export const ReveniWebhookSchema = z.looseObject({
  id: str.min(1),
  event: str.min(1),
  created: z.number().optional().nullable(),
  data: z.looseObject({ resource_id: str.min(1), status: str.optional().nullable() }),
});
export type ReveniWebhook = z.infer<typeof ReveniWebhookSchema>;

export const ReveniWebhookSubscriptionSchema = z.looseObject({ id: z.union([str, z.number()]), url: str });
