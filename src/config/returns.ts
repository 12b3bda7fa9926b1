// Returns configuration (docs/returns.md): the returns platform connection, the strict reason table every
// route shares, and each channel's refund policy. A reason missing from the table halts its return
// (RETURN_REASON_UNMAPPED); there is deliberately no catch-all row.
import { z } from 'zod';

const envVarName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]*$/, 'must be the NAME of an environment variable (upper case, digits, underscores)');

export const DISPOSITIONS = ['restock', 'inspect', 'write-off'] as const;

/**
 * One row of the reason table: the same reason as each system spells it, and what happens to the goods.
 * `restock`: sellable again at once (pushed to every channel ahead of ordinary changes); `inspect`: goes to
 * inspection, never increases sellable stock; `write-off`: never sold again.
 */
export const ReturnReasonSchema = z
  .object({
    /** Mirakl return reason (RT11 `reason_code`, a `RETURN_*` value). */
    marketplace: z
      .string()
      .regex(/^[A-Z0-9_]+$/, 'a Mirakl return reason such as RETURN_CHANGED_MIND (upper case, no spaces)')
      .optional(),
    /** Reveni's reason for the same thing (e.g. size_too_small). */
    reveni: z.string().min(1).optional(),
    /** The warehouse's return reason (Peoplevox `Return reason`, as the tenant spells it). */
    warehouse: z.string().min(1).optional(),
    disposition: z.enum(DISPOSITIONS),
    /** The marketplace refund reason (Mirakl RE01, type REFUND) the refund is sent with; default the channel's. */
    refundReason: z.string().min(1).optional(),
  })
  .strict()
  .refine((r) => r.marketplace || r.reveni || r.warehouse, 'name the reason in at least one system')
  .refine(
    (r) => ![r.marketplace, r.reveni, r.warehouse].some((v) => v !== undefined && /^\s*\*\s*$/.test(v)),
    "no '*' rows: an unmapped reason halts its return for customer service",
  );

/** Lower-case, trimmed: how reasons are compared (docs/returns.md, "Reason codes"). */
export function reasonKey(raw: string): string {
  return raw.trim().toLowerCase();
}

export const ReturnsSchema = z
  .object({
    reasons: z.array(ReturnReasonSchema).default([]),
    /**
     * Peoplevox `Return condition` values that go back on sale; any other condition (DAMAGED, …) is
     * inspected whatever the reason's disposition says.
     */
    resaleableConditions: z.array(z.string().min(1)).default(['NEW', 'GOOD', 'RESALEABLE']),
    /** How often the Peoplevox Return summary is read as the backstop of the Returns event (warehouse routes). */
    receiptSweepMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(10),
    /** How far back each receipt sweep reads. */
    receiptLookbackMinutes: z
      .number()
      .int()
      .min(1)
      .max(14 * 24 * 60)
      .default(120),
    /** Restocked units are added ahead of the warehouse's own figure for at most this long. */
    restockHoldMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .default(360),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (const col of ['marketplace', 'reveni', 'warehouse'] as const) {
      const seen = new Map<string, number>();
      r.reasons.forEach((row, i) => {
        const v = row[col];
        if (v === undefined) return;
        const k = reasonKey(v);
        if (seen.has(k)) {
          ctx.addIssue({
            code: 'custom',
            path: ['reasons', i, col],
            message: `"${v}" is already mapped by reasons[${seen.get(k)}]: each reason maps once`,
          });
        }
        seen.set(k, i);
      });
    }
  });

/** A channel's returns settings (used when `returns` is not none). */
export const ChannelReturnPolicySchema = z
  .object({
    /** Shipping refunded with a return: none, or the returned units' share of the line's shipping. */
    shipping: z.enum(['none', 'proportional']).default('none'),
    /** Marketplace refund reason (Mirakl RE01, type REFUND) for returns whose reason row names none. */
    refundReason: z.string().min(1).default('18'),
    /** Reveni's figure may differ from the marketplace's by this many minor units before it is disputed. */
    disputeToleranceMinor: z.number().int().min(0).max(10_000).default(1),
    /** The returns platform is read again this often when no webhook came (backstop). */
    platformPollMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(30),
  })
  .strict();

/** Reveni (docs/contracts.md, Reveni): one store per channel, bearer key from the environment. */
export const ReveniSchema = z
  .object({
    /** e.g. https://api.reveni.io (the client appends /merchants/v0/stores/<store>/…). */
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    apiKeyEnv: envVarName,
    /** Reveni store id per channel code. */
    stores: z.record(z.string(), z.string().min(1)).default({}),
    timeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
  })
  .strict();

export type ReturnsConfig = z.infer<typeof ReturnsSchema>;
export type ReturnReasonRow = z.infer<typeof ReturnReasonSchema>;
export type ChannelReturnPolicy = z.infer<typeof ChannelReturnPolicySchema>;
export type ReveniConfig = z.infer<typeof ReveniSchema>;
