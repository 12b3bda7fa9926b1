// Zod schemas of the Mirakl seller API wire format (mirakl-seller-openapi.json). Responses are parsed
// loosely: Mirakl adds fields and enum values without notice, and odd orders must reach validation rather
// than fail here, so only what the connector cannot work without is required.
import { z } from 'zod';

const num = z.union([z.number(), z.string()]);
const str = z.string();

export const MiraklTaxSchema = z.looseObject({
  code: str.optional(),
  amount: num.optional(),
  rate: num.optional().nullable(),
  tax_calculation_rule: str.optional().nullable(),
});

export const MiraklAddressSchema = z.looseObject({
  firstname: str.optional().nullable(),
  lastname: str.optional().nullable(),
  company: str.optional().nullable(),
  street_1: str.optional().nullable(),
  street_2: str.optional().nullable(),
  zip_code: str.optional().nullable(),
  city: str.optional().nullable(),
  state: str.optional().nullable(),
  country: str.optional().nullable(),
  country_iso_code: str.optional().nullable(),
  phone: str.optional().nullable(),
  additional_info: str.optional().nullable(),
});

export const MiraklRefundSchema = z.looseObject({
  id: str.optional(),
  amount: num.optional().nullable(),
  shipping_amount: num.optional().nullable(),
  quantity: z.number().optional().nullable(),
  reason_code: str.optional().nullable(),
  state: str.optional().nullable(),
  refund_state: str.optional().nullable(),
  created_date: str.optional().nullable(),
});

export const MiraklOrderLineSchema = z.looseObject({
  order_line_id: str,
  order_line_index: z.number().optional().nullable(),
  order_line_state: str.optional().nullable(),
  order_line_state_reason_code: str.optional().nullable(),
  offer_id: z.number().optional().nullable(),
  offer_sku: str.optional().nullable(),
  product_sku: str.optional().nullable(),
  product_title: str.optional().nullable(),
  quantity: z.number().optional().nullable(),
  price_unit: num.optional().nullable(),
  price: num.optional().nullable(),
  shipping_price: num.optional().nullable(),
  total_price: num.optional().nullable(),
  taxes: z.array(MiraklTaxSchema).optional().nullable(),
  shipping_taxes: z.array(MiraklTaxSchema).optional().nullable(),
  refunds: z.array(MiraklRefundSchema).optional().nullable(),
  cancelations: z.array(MiraklRefundSchema).optional().nullable(),
  shipped_date: str.optional().nullable(),
  created_date: str.optional().nullable(),
  last_updated_date: str.optional().nullable(),
});

export const MiraklOrderSchema = z.looseObject({
  order_id: str,
  commercial_id: str.optional().nullable(),
  order_state: str.optional().nullable(),
  order_state_reason_code: str.optional().nullable(),
  created_date: str.optional().nullable(),
  last_updated_date: str.optional().nullable(),
  acceptance_decision_date: str.optional().nullable(),
  shipping_deadline: str.optional().nullable(),
  leadtime_to_ship: z.number().optional().nullable(),
  currency_iso_code: str.optional().nullable(),
  order_tax_mode: str.optional().nullable(),
  can_cancel: z.boolean().optional().nullable(),
  can_shop_ship: z.boolean().optional().nullable(),
  shipping_type_code: str.optional().nullable(),
  shipping_type_label: str.optional().nullable(),
  shipping_carrier_code: str.optional().nullable(),
  shipping_tracking: str.optional().nullable(),
  price: num.optional().nullable(),
  shipping_price: num.optional().nullable(),
  total_price: num.optional().nullable(),
  customer_notification_email: str.optional().nullable(),
  customer: z
    .looseObject({
      customer_id: str.optional().nullable(),
      firstname: str.optional().nullable(),
      lastname: str.optional().nullable(),
      locale: str.optional().nullable(),
      shipping_address: MiraklAddressSchema.optional().nullable(),
      billing_address: MiraklAddressSchema.optional().nullable(),
    })
    .optional()
    .nullable(),
  order_lines: z.array(MiraklOrderLineSchema).optional().nullable(),
  /** Custom fields: {code, type, value}; value is a string, or a list for MULTIPLE_VALUES_LIST. */
  order_additional_fields: z
    .array(z.looseObject({ code: str.optional().nullable(), type: str.optional().nullable(), value: z.unknown() }))
    .optional()
    .nullable(),
});
export type MiraklOrder = z.infer<typeof MiraklOrderSchema>;
export type MiraklOrderLine = z.infer<typeof MiraklOrderLineSchema>;
export type MiraklAddress = z.infer<typeof MiraklAddressSchema>;

/**
 * The OR11 page envelope. Orders are validated one by one (MiraklOrderSchema) by the client: one order with an
 * unexpected field must not make the whole page, and every later poll of the channel, unreadable.
 */
export const OR11ResponseSchema = z.looseObject({
  orders: z.array(z.unknown()),
  total_count: z.number().optional(),
});

// ---- requests (built by the connector; strict shapes of what we send) -----------------------------------
export interface OR21Request {
  order_lines: { id: string; accepted: boolean }[];
}

export interface OR23Request {
  carrier_code?: string;
  carrier_name?: string;
  carrier_url?: string;
  carrier_standard_code?: string;
  tracking_number?: string;
}

export interface ST01Shipment {
  order_id: string;
  shipment_lines: { order_line_id: string; quantity: number; package_reference?: string; offer_sku?: string }[];
  tracking?: {
    carrier_code?: string;
    carrier_name?: string;
    carrier_standard_code?: string;
    tracking_number?: string;
    tracking_url?: string;
  };
  shipped?: boolean;
  invoice_reference?: string;
  shipping_from?: { warehouse?: { code?: string } };
}

export interface OR28Refund {
  order_line_id: string;
  amount: number;
  shipping_amount: number;
  reason_code: string;
  quantity?: number;
  taxes?: { code: string; amount: number }[];
  shipping_taxes?: { code: string; amount: number }[];
  currency_iso_code?: string;
  excluded_from_shipment?: boolean;
}

export interface OF24Offer {
  shop_sku: string;
  product_id?: string;
  product_id_type?: string;
  price: number;
  quantity?: number;
  state_code: string;
  update_delete: '' | 'update' | 'delete';
  leadtime_to_ship?: number;
  description?: string;
  min_quantity_alert?: number;
  [field: string]: unknown;
}

// ---- other responses ------------------------------------------------------------------------------------
export const ST01ResponseSchema = z.looseObject({
  shipment_success: z
    .array(z.looseObject({ id: str.optional(), order_id: str.optional(), status: str.optional() }))
    .default([]),
  shipment_errors: z
    .array(z.looseObject({ order_id: str.optional().nullable(), message: str.optional().nullable() }))
    .default([]),
});

export const MiraklShipmentSchema = z.looseObject({
  id: str,
  order_id: str,
  status: str.optional().nullable(),
  created_date: str.optional().nullable(),
  last_updated_date: str.optional().nullable(),
  shipped_date: str.optional().nullable(),
  shipment_lines: z
    .array(
      z.looseObject({
        order_line_id: str.optional().nullable(),
        offer_sku: str.optional().nullable(),
        quantity: z.number(),
        package_reference: str.optional().nullable(),
      }),
    )
    .optional()
    .nullable(),
  tracking: z
    .looseObject({
      carrier_code: str.optional().nullable(),
      carrier_name: str.optional().nullable(),
      tracking_number: str.optional().nullable(),
      tracking_url: str.optional().nullable(),
    })
    .optional()
    .nullable(),
});
export type MiraklShipment = z.infer<typeof MiraklShipmentSchema>;

export const SeekPageSchema = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    data: z.array(item),
    next_page_token: str.optional().nullable(),
    previous_page_token: str.optional().nullable(),
  });

export const SH21ResponseSchema = z.looseObject({
  carriers: z.array(
    z.looseObject({
      code: str,
      label: str,
      tracking_url: str.optional().nullable(),
      standard_code: str.optional().nullable(),
    }),
  ),
});

export const RE01ResponseSchema = z.looseObject({
  reasons: z.array(z.looseObject({ code: str, label: str, type: str, is_shop_right: z.boolean().optional() })),
  total_count: z.number().optional(),
});

export const PC01ResponseSchema = z.looseObject({
  platform_name: str.optional(),
  features: z
    .looseObject({
      shipment: z.looseObject({ multi_shipment: z.boolean().optional() }).optional(),
      order_workflows: z
        .looseObject({
          order_acceptance: str.optional(),
          shipping_and_billing_details_before_acceptance: z.boolean().optional(),
        })
        .optional(),
      order_tax_mode: str.optional(),
    })
    .optional(),
});

export const MiraklOfferSchema = z.looseObject({
  offer_id: z.number(),
  shop_sku: str,
  product_sku: str.optional().nullable(),
  quantity: z.number(),
  price: num.optional().nullable(),
  active: z.boolean().optional(),
  state_code: str.optional().nullable(),
  leadtime_to_ship: z.number().optional().nullable(),
  warehouses: z
    .array(z.looseObject({ code: str, quantity: z.number() }))
    .optional()
    .nullable(),
});
export type MiraklOffer = z.infer<typeof MiraklOfferSchema>;

export const OF21ResponseSchema = z.looseObject({
  offers: z.array(MiraklOfferSchema),
  total_count: z.number().optional(),
});

export const STO01ResponseSchema = z.looseObject({ import_id: z.union([str, z.number()]) });
export const OF24ResponseSchema = z.looseObject({ import_id: z.union([z.number(), str]) });

export const STO02ResponseSchema = z.looseObject({
  import_id: z.union([str, z.number()]),
  status: str,
  has_error_report: z.boolean().optional(),
  lines_in_error: z.number().optional().nullable(),
  lines_in_success: z.number().optional().nullable(),
  date_created: str.optional(),
});
export type StockImportStatus = z.infer<typeof STO02ResponseSchema>;

export const OF02ResponseSchema = z.looseObject({
  import_id: z.union([z.number(), str]),
  status: str,
  has_error_report: z.boolean().optional(),
  lines_in_error: z.number().optional().nullable(),
  lines_in_success: z.number().optional().nullable(),
});

export const OF52ResponseSchema = z.looseObject({ tracking_id: str });
export const OF53ResponseSchema = z.looseObject({
  status: str,
  urls: z.array(str).optional().nullable(),
  error: z.looseObject({ code: str.optional(), detail: str.optional() }).optional().nullable(),
});

export const OR28ResponseSchema = z.looseObject({
  refunds: z.array(z.looseObject({ order_line_id: str, refund_id: str, order_refund_id: str.optional() })),
});

// ---- accounting: SBC11 billing cycles and TL02 transaction logs (seek paging) ---------------------------
// mirakl-seller-openapi.json: GET /api/seller-billing-cycles (SBC11) and
// GET /api/sellerpayment/transactions_logs (TL02). Amounts are decimals in the cycle's currency.
export const SBC11CycleSchema = z.looseObject({
  id: str,
  currency_iso_code: str,
  date_created: str.optional().nullable(),
  amount_transferred_to_seller: num,
  amount_transferred_to_operator: num.optional().nullable(),
  payment_voucher_number: str.optional().nullable(),
  pay_out_psp_code: str.optional().nullable(),
  pay_out: z
    .looseObject({
      state: str.optional().nullable(),
      reference: str.optional().nullable(),
      transaction_date: str.optional().nullable(),
      failure_reason: str.optional().nullable(),
    })
    .optional()
    .nullable(),
  summary: z.record(z.string(), num.nullable()).optional().nullable(),
});
export type SBC11Cycle = z.infer<typeof SBC11CycleSchema>;
export const SBC11ResponseSchema = SeekPageSchema(SBC11CycleSchema);

const idRef = z.looseObject({ id: str.optional().nullable() }).optional().nullable();
export const TL02RowSchema = z.looseObject({
  id: str,
  type: str,
  amount: num,
  amount_credited: num.optional().nullable(),
  amount_debited: num.optional().nullable(),
  balance: num.optional().nullable(),
  currency_iso_code: str,
  date_created: str.optional().nullable(),
  last_updated: str.optional().nullable(),
  payment_state: str.optional().nullable(),
  seller_billing_cycle_id: str.optional().nullable(),
  accounting_document_number: str.optional().nullable(),
  accounting_document_id: str.optional().nullable(),
  entities: z
    .looseObject({
      order: z
        .looseObject({ id: str.optional().nullable(), commercial_id: str.optional().nullable() })
        .optional()
        .nullable(),
      order_line: idRef,
      refund: idRef,
      shipment: idRef,
      fee: z.looseObject({ code: str.optional().nullable() }).optional().nullable(),
      order_fee: z.looseObject({ code: str.optional().nullable() }).optional().nullable(),
    })
    .optional()
    .nullable(),
});
export type TL02Row = z.infer<typeof TL02RowSchema>;
export const TL02ResponseSchema = SeekPageSchema(TL02RowSchema);
