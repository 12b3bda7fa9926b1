// The one Loopline config file, as data. A route is configuration: a channel (marketplace shop), the
// fulfilment system that ships its orders, the returns system, mapping tables, buffers and SLAs.
// Secrets never live here: each connection names the environment variable that holds its key.
import { z } from 'zod';
import { AlertsSchema, ALERTS_DEFAULTS } from './alerts';
import { ChannelReturnPolicySchema, ReturnsSchema, ReveniSchema } from './returns';

const envVarName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]*$/, 'must be the NAME of an environment variable (upper case, digits, underscores)');

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const MiraklConnectionSchema = z
  .object({
    /** Instance root, e.g. https://asos-marketplace.mirakl.net (the client appends /api/...). */
    baseUrl: httpUrl,
    /** Environment variable holding the shop API key (sent raw in `Authorization`, no Bearer). */
    apiKeyEnv: envVarName,
    /** Only needed when the key can reach several shops. */
    shopId: z.number().int().positive().optional(),
    timeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
  })
  .strict();

/**
 * What a Marketplacer channel needs beyond its connection (docs/configuration.md, Marketplacer): the request
 * budget of its API key and how it is shared, and the words sent with a cancellation. Read through
 * `marketplacerSettings(channel)`, so a channel without the block gets the defaults.
 */
export const MarketplacerChannelSchema = z
  .object({
    /**
     * Requests per 10 seconds this deployment sends with the channel's key. Marketplacer allows 750 per key,
     * 600 per source address and 1,200 per operator (all keys together): the default is the lowest that
     * applies to one deployment calling from one address.
     */
    requestsPer10Seconds: z.number().int().min(10).max(1200).default(600),
    /**
     * Share of that budget for stock (variantUpdate and its read-back), paced by the channel's inventory
     * workflow; the rest is for orders (invoices, shipments, refund requests), paced by the marketplacer
     * task queue.
     */
    stockShare: z.number().min(0.1).max(0.9).default(0.6),
    /** The reason sent on each line of a cancellation (a refund request with dispatched: false). */
    cancellationReason: z.string().min(1).max(200).default('Cancelled before despatch'),
    /**
     * The reason sent on each line of a return's refund request (dispatched: true): Marketplacer takes words, not
     * codes. `returnReasons` names the words per refund reason of the reason table (returns.reasons[].refundReason,
     * else the channel's returnPolicy.refundReason); a refund reason without words is sent as `returnReason`.
     */
    returnReason: z.string().min(1).max(200).default('Returned by customer'),
    returnReasons: z.record(z.string().min(1), z.string().min(1).max(200)).default({}),
    /** How long to wait after a 429 or 503 that carries no Retry-After (Marketplacer: at least 60 s). */
    retryAfterDefaultSeconds: z.number().int().min(1).max(600).default(60),
    /**
     * Staging sites behind HTTP basic auth: the environment variable holding "user:password" (sent as Basic in
     * Authorization; the API key then goes in MARKETPLACER-API-KEY).
     */
    basicAuthEnv: envVarName.optional(),
  })
  .strict();

export const DeadlineSchema = z
  .object({
    /** Operator auto-refusal window when the order carries no explicit deadline. */
    acceptanceWindowHours: z
      .number()
      .positive()
      .max(24 * 14)
      .default(72),
    /** Alert when this fraction of a window has elapsed and the step is still missing. */
    alertAtFractions: z.array(z.number().gt(0).lt(1)).max(5).default([0.5, 0.8]),
  })
  .strict();

export const CarrierTargetSchema = z
  .object({
    /** A carrier registered on the marketplace (SH21 code). */
    code: z.string().min(1).optional(),
    /** Free-text name, for a carrier the marketplace does not know. */
    name: z.string().min(1).optional(),
    /** Tracking URL template with {tracking}, for unregistered carriers. */
    trackingUrl: z.string().optional(),
  })
  .strict()
  .refine((c) => c.code !== undefined || c.name !== undefined, 'needs a `code` (registered carrier) or a `name`');

/** A stock buffer: fixed units, a percentage of the master's available, or "show 0 below N". */
export const StockBufferSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('units'), units: z.number().int().min(0) }).strict(),
  z.object({ kind: z.literal('percent'), percent: z.number().min(0).max(100) }).strict(),
  z.object({ kind: z.literal('zeroBelow'), threshold: z.number().int().min(1) }).strict(),
]);

const INVENTORY_DEFAULTS = {
  enabled: true,
  pushIntervalSeconds: 60,
  maxRowsPerPush: 10_000,
  buffer: { kind: 'units' as const, units: 0 },
  skuBuffers: {},
  velocityBuffer: { enabled: true, halfLifeSeconds: 300, maxUnits: 10, confidence: 0.9, expectedUnitsPerHour: {} },
  fullReadMinutes: 15,
  syncAgeAlertMinutes: 10,
  lastUnits: { oneChannelBelow: 3, splitBelow: 0, afterBuffers: true, confidence: 0.99, atRest: 'oneChannel' as const },
  listingRefreshMinutes: 60,
  fullReadGuard: { zeroFraction: 0.5, minItems: 20 },
  shardItems: 4_000,
};

/** Stock sync for one channel (docs/inventory.md). Defaults keep older configs valid. */
export const ChannelInventorySchema = z
  .object({
    enabled: z.boolean().default(INVENTORY_DEFAULTS.enabled),
    /** Mirakl allows STO01 once a minute per shop; Loopline never pushes more often than this. */
    pushIntervalSeconds: z.number().int().min(1).max(3600).default(INVENTORY_DEFAULTS.pushIntervalSeconds),
    /** Rows in one push; when more SKUs wait, sell-outs and restocks go first. */
    maxRowsPerPush: z.number().int().min(1).max(100_000).default(INVENTORY_DEFAULTS.maxRowsPerPush),
    /** The channel's buffer; per-SKU overrides in skuBuffers (keyed by offer SKU). */
    buffer: StockBufferSchema.default(INVENTORY_DEFAULTS.buffer),
    skuBuffers: z.record(z.string(), StockBufferSchema).default({}),
    /** Hold back the units likely to sell before the next push, from each SKU's recent sales rate. */
    velocityBuffer: z
      .object({
        enabled: z.boolean().default(true),
        /** How fast old sales stop counting. */
        halfLifeSeconds: z.number().int().min(10).max(86_400).default(300),
        /** Never hold back more than this many units for velocity. */
        maxUnits: z.number().int().min(0).max(10_000).default(10),
        /** Hold back enough that sales before the next push exceed it with at most 1 − confidence chance. */
        confidence: z.number().min(0.5).max(0.999).default(0.9),
        /**
         * Sales the merchant expects, units an hour over every channel, by item code (e.g. a sale's lines): a floor
         * under the SKU's own sales rate, so it is held back and judged for its last units from the sale's first
         * minute, before its own sales show. docs/inventory.md.
         */
        expectedUnitsPerHour: z.record(z.string().min(1), z.number().min(0).max(1_000_000)).default({}),
      })
      .strict()
      .default(INVENTORY_DEFAULTS.velocityBuffer),
    /**
     * When channels share this master and a SKU is down to its last units (fewer than oneChannelBelow), only
     * one of them shows it, chosen by SKU, so two marketplaces cannot both sell the last units between pushes.
     * 0 turns it off for this channel (it then shows its last units like any others). docs/inventory.md.
     */
    lastUnits: z
      .object({
        oneChannelBelow: z.number().int().min(0).max(1000).default(INVENTORY_DEFAULTS.lastUnits.oneChannelBelow),
        /**
         * Below this many units (after reservations) the SKU's units are split between the channels that
         * share its stock (each shows its share; together never more than there are) instead of every channel
         * showing all of them. 0: off. Takes over from oneChannelBelow where both apply.
         */
        splitBelow: z.number().int().min(0).max(1000).default(0),
        /**
         * Judge "last units" on what the channels could show: the units after the buffer, less those likely to
         * sell on any channel before the slowest channel sharing the master can reflect a sale (the velocity
         * buffer over that channel's horizon, at `confidence`); the chosen channel then shows all the units
         * after the buffer. false: judged on the units there are (the rule before 2026-12-07).
         */
        afterBuffers: z.boolean().default(INVENTORY_DEFAULTS.lastUnits.afterBuffers),
        /** With afterBuffers: how sure the estimate of the sales to come must be (higher: more SKUs on one channel). */
        confidence: z.number().min(0.5).max(0.9999).default(INVENTORY_DEFAULTS.lastUnits.confidence),
        /**
         * With afterBuffers: a SKU at rest (no sale likely on any channel before the slowest channel can reflect
         * one, at `confidence`, counting expectedUnitsPerHour) below the threshold. 'oneChannel': left to one
         * channel like any other (the guard against a sudden run on a SKU nobody was buying). 'everyChannel':
         * shown on every channel down to its last unit (two channels can only both sell it with two sales inside
         * one horizon); a long catalogue's 1- and 2-unit SKUs are then on sale everywhere. docs/inventory.md.
         */
        atRest: z.enum(['oneChannel', 'everyChannel']).default(INVENTORY_DEFAULTS.lastUnits.atRest),
      })
      .strict()
      .default(INVENTORY_DEFAULTS.lastUnits),
    /** Full read of the master (Peoplevox Item inventory summary) to correct drift. */
    fullReadMinutes: z
      .number()
      .min(1)
      .max(24 * 60)
      .default(INVENTORY_DEFAULTS.fullReadMinutes),
    /**
     * How old the channel's offer list (OF21) may get before it is read again. Stock is only pushed for
     * SKUs the channel lists; an unlisted SKU is asked about again after this long.
     */
    listingRefreshMinutes: z
      .number()
      .min(1)
      .max(7 * 24 * 60)
      .default(INVENTORY_DEFAULTS.listingRefreshMinutes),
    /**
     * A full read where at least `zeroFraction` of the items known in stock (and at least `minItems` of
     * them) suddenly read 0 is held for a person to confirm (STOCK_READ_HELD), not pushed as a sell-out.
     */
    fullReadGuard: z
      .object({
        zeroFraction: z.number().gt(0).max(1).default(0.5),
        minItems: z.number().int().min(1).default(20),
      })
      .strict()
      .default(INVENTORY_DEFAULTS.fullReadGuard),
    /**
     * Most items one inventory workflow holds: a larger catalogue is split into shard workflows (a power of
     * two of them), so no workflow's state grows with the catalogue (docs/inventory.md, "Scale").
     */
    shardItems: z.number().int().min(50).max(100_000).default(INVENTORY_DEFAULTS.shardItems),
    /** Alert when changes wait and the last successful push is older than this. */
    syncAgeAlertMinutes: z
      .number()
      .min(1)
      .max(24 * 60)
      .default(INVENTORY_DEFAULTS.syncAgeAlertMinutes),
  })
  .strict();

/** A postcode rule for one country on one channel (docs/configuration.md, Addresses). */
export const PostcodeOverrideSchema = z
  .object({
    /** required: an order without one parks; optional: may be empty; none: never asked for nor checked. */
    regime: z.enum(['required', 'optional', 'none']).optional(),
    /** The whole postcode as a regular expression (matched upper-cased, ignoring case). */
    pattern: z
      .string()
      .min(1)
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression')
      .optional(),
    /** false: accept any text (the format is not checked). */
    checkFormat: z.boolean().optional(),
  })
  .strict();

/**
 * A marketplace custom field (Mirakl order_additional_fields, by code) and where it goes: a Peoplevox
 * Sales orders column (one the tenant's template has, e.g. a sales-order attribute), and the Shopify
 * order's note or a custom attribute. `required`: an order without it parks (ADDITIONAL_FIELD_MISSING).
 */
export const AdditionalFieldSchema = z
  .object({
    /** The name people read (Shopify attribute key and note prefix); defaults to the code. */
    label: z.string().min(1).optional(),
    required: z.boolean().default(false),
    /** Peoplevox 'Sales orders' template column; dropped (and logged) if the tenant's template lacks it. */
    peoplevoxColumn: z.string().min(1).optional(),
    /** Where it goes on a Shopify order: the note, a custom attribute (key = label), or nowhere. */
    shopify: z.enum(['note', 'attribute', 'none']).default('attribute'),
  })
  .strict();

export const ChannelSchema = z
  .object({
    /** Short id used in workflow ids and search attributes: asos, joules, … */
    code: z.string().regex(/^[a-z][a-z0-9-]{1,23}$/, 'must be 2–24 lower-case letters, digits or dashes'),
    label: z.string().min(1),
    platform: z.enum(['mirakl', 'marketplacer']),
    /** Prefix of warehouse sales order numbers (<PREFIX>-<order id>), unique per channel. Defaults to the code. */
    orderNumberPrefix: z
      .string()
      .regex(/^[A-Z0-9]{1,6}$/, 'must be 1–6 upper-case letters or digits')
      .optional(),
    enabled: z.boolean().default(true),
    connection: MiraklConnectionSchema,
    /** The system that ships this channel's orders. */
    fulfilment: z.enum(['peoplevox', 'shopify']),
    /**
     * How returns are handled (docs/returns.md): reveni (the returns platform decides; its state drives the
     * marketplace return), warehouse (a stock-positive return booked in Peoplevox triggers the refund),
     * marketplace (the marketplace's own return flow: refunded once it is received), none.
     */
    returns: z.enum(['none', 'reveni', 'warehouse', 'marketplace']).default('none'),
    /** Refund policy for returns (shipping share, refund reason, dispute tolerance). */
    returnPolicy: ChannelReturnPolicySchema.prefault({}),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as GBP'),
    intake: z
      .object({
        /** Mirakl allows OR11 at most once a minute per shop. */
        pollIntervalSeconds: z.number().int().min(60, 'Mirakl allows OR11 at most once a minute').default(60),
        /** Re-read this much before the watermark (Mirakl subtracts its own delta too); dedupe absorbs it. */
        overlapSeconds: z.number().int().min(0).max(3600).default(120),
        pageSize: z.number().int().min(1).max(100).default(100),
        /**
         * Environment variable holding the shared token for the push intake webhook
         * (POST /webhooks/intake/<channel>/orders). Unset: the webhook is off and polling alone is used.
         */
        pushTokenEnv: envVarName.optional(),
        /**
         * Polls in a row that may fail before the channel's intake is called stale: an alert goes out and the
         * dashboard's sync health shows it (orders are not arriving while it lasts).
         */
        staleAfterPolls: z.number().int().min(1).max(1000).default(5),
      })
      .strict()
      .prefault({}),
    acceptance: z
      .object({
        /** accept-when-mapped: accept every order whose lines all map to a known item code. manual: never auto-accept. */
        policy: z.enum(['accept-when-mapped', 'manual']).default('accept-when-mapped'),
        /** What to do with a line whose stock is gone when the order arrives. */
        outOfStock: z.enum(['accept-and-backorder', 'refuse-line']).default('accept-and-backorder'),
      })
      .strict()
      .default({ policy: 'accept-when-mapped', outOfStock: 'accept-and-backorder' }),
    deadlines: DeadlineSchema.prefault({}),
    /** How long an order stays open after shipment to follow returns. */
    returnWindowDays: z.number().int().min(0).max(365).default(30),
    /** Offer SKU → item code, where they differ. Unlisted SKUs are used as item codes unchanged. */
    skuMap: z.record(z.string(), z.string().min(1)).default({}),
    /** Warehouse carrier name → marketplace carrier. */
    carrierMap: z.record(z.string(), CarrierTargetSchema).default({}),
    /**
     * Shipping address rules. Postcodes follow each country's regime (required, optional, none; format
     * where known) from the international address data; `postcodes.<alpha-2>` overrides one country.
     */
    addresses: z
      .object({
        postcodes: z
          .record(
            z.string().regex(/^[A-Z]{2}$/, 'keys are ISO 3166-1 alpha-2 country codes such as IE'),
            PostcodeOverrideSchema,
          )
          .default({}),
      })
      .strict()
      .prefault({}),
    /** Marketplace custom fields (order_additional_fields) by code: where each goes, and which are required. */
    additionalFields: z.record(z.string().min(1), AdditionalFieldSchema).default({}),
    /** Stock sync from the master to this channel (docs/inventory.md). */
    inventory: ChannelInventorySchema.default(INVENTORY_DEFAULTS),
    /** `platform: marketplacer` only: the key's request budget and the route's wording (docs/configuration.md). */
    marketplacer: MarketplacerChannelSchema.optional(),
  })
  .strict();

export const PeoplevoxSchema = z
  .object({
    /** e.g. https://wms.peoplevox.net — the client appends /{clientId}/resources/integrationservicev4.asmx */
    baseUrl: httpUrl,
    clientId: z.string().min(1),
    username: z.string().min(1),
    passwordEnv: envVarName,
    /** Peoplevox allows about 15 requests per 15 seconds. */
    requestsPerSecond: z.number().positive().max(10).default(1),
    sessionTtlMinutes: z.number().positive().max(60).default(25),
    timeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
    /**
     * How the address country columns are written: the English country name (as Peoplevox's own samples
     * show, "United Kingdom"), or an ISO 3166 code. Check what your tenant expects (docs/contracts.md).
     */
    countryFormat: z.enum(['name', 'alpha2', 'alpha3']).default('name'),
    /**
     * The zone report dates are written in (Despatch summary): not documented; a UK tenant most likely
     * reports Europe/London. Compare one despatch in the UI with the report (docs/contracts.md).
     */
    timeZone: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en-GB', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'must be an IANA time zone such as Europe/London')
      .default('UTC'),
    /**
     * The scheduled despatch sweep (a Temporal Schedule): reads the Despatch summary for the last
     * `lookbackMinutes`, hands any despatch a workflow has not seen to it, and raises DESPATCH_WITHOUT_ORDER
     * for despatches no workflow owns.
     */
    despatchSweep: z
      .object({
        everyMinutes: z
          .number()
          .int()
          .min(1)
          .max(24 * 60)
          .default(10),
        lookbackMinutes: z
          .number()
          .int()
          .min(1)
          .max(14 * 24 * 60)
          .default(120),
      })
      .strict()
      .refine((s) => s.lookbackMinutes >= s.everyMinutes, {
        message: 'lookbackMinutes must cover at least one sweep interval (everyMinutes)',
        path: ['lookbackMinutes'],
      })
      .prefault({}),
    /**
     * The warehouse gateway (workflows/warehouse-gateway.ts): orders reach Peoplevox in batches — closed at
     * `maxOrders` or `windowSeconds` after the first request — each two SaveData calls; despatches are read
     * once every `everySeconds` for all orders (sooner, at most every `minGapSeconds`, when a tracking callback
     * says one happened), each read overlapping the last by `overlapSeconds` (report dates are to the minute).
     * Up to `maxBatchesInFlight` batches are saved at once. About 0.33 Peoplevox calls an order (bench:orders).
     * On by default: the 1,000-order fault run passes with it (0 lost, 0 duplicated, 245 s). Off: each order
     * creates its own warehouse order and reads its own despatches (4–5 calls an order, about 770 orders an hour
     * within the documented budget); LOOPLINE_PEOPLEVOX_GATEWAY=off turns it off for a test stack.
     */
    gateway: z
      .object({
        enabled: z.boolean().default(true),
        maxOrders: z.number().int().min(1).max(100).default(25),
        windowSeconds: z.number().min(0.1).max(600).default(2),
        /** Batches saved at once; their Peoplevox calls still keep to the SLA queue's share of the budget. */
        maxBatchesInFlight: z.number().int().min(1).max(16).default(4),
        despatchEverySeconds: z.number().min(1).max(3600).default(60),
        despatchMinGapSeconds: z.number().min(0).max(3600).default(10),
        despatchOverlapSeconds: z.number().min(60).max(3600).default(120),
      })
      .strict()
      .prefault({}),
    /**
     * How the requests-per-second budget is shared. Every Peoplevox request, from every replica, keeps to lanes
     * leased from one budget the Temporal server keeps (workflows/rate-budget.ts): order-critical calls (creating
     * and cancelling warehouse orders) hold the lanes the reads leave; reads (despatches, stock, item codes, the
     * catalogue audit) at most 1 − slaShare of them. Visible in /metrics.
     */
    budget: z
      .object({ slaShare: z.number().min(0.1).max(0.95).default(0.7) })
      .strict()
      .prefault({}),
  })
  .strict();

/** Shopify as a fulfilment system (docs/shopify.md): the shop, its Admin API version and secrets by env var name. */
export const ShopifySchema = z
  .object({
    /** The shop's base URL, e.g. https://brand.myshopify.com (the client appends /admin/api/<version>/graphql.json). */
    baseUrl: httpUrl,
    apiVersion: z
      .string()
      .regex(/^\d{4}-\d{2}$/, 'must be a Shopify API version such as 2026-04')
      .default('2026-04'),
    /** Environment variable holding the Admin API access token (offline token with write_orders). */
    accessTokenEnv: envVarName,
    /** Environment variable holding the app's client secret: webhooks are verified with it. */
    webhookSecretEnv: envVarName,
    /** orderCreate options.inventoryBehaviour for imported marketplace orders. */
    inventoryBehaviour: z
      .enum(['BYPASS', 'DECREMENT_IGNORING_POLICY', 'DECREMENT_OBEYING_POLICY'])
      .default('DECREMENT_OBEYING_POLICY'),
    /** Tag put on every imported order, {channel} replaced by the channel code. */
    orderTag: z.string().min(1).default('loopline-{channel}'),
    /** Shopify refund note (or return reason) → marketplace refund reason code; `*` is the default. */
    refundReasons: z.record(z.string(), z.string().min(1)).default({ '*': '16' }),
    /**
     * The location(s) whose stock the channels sell (numeric ids or gid://shopify/Location/<id>). The full
     * read sums these only, and an inventory_levels/update for another location is dropped. Unset: every
     * location (a webhook then re-reads the item's levels, since it carries one location's figure only).
     */
    stockLocations: z
      .array(
        z
          .union([z.number().int().positive(), z.string().regex(/^(gid:\/\/shopify\/Location\/)?\d+$/)])
          .transform((v) => Number(String(v).split('/').pop())),
      )
      .min(1)
      .optional(),
    timeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
    /**
     * The shop's cost bucket and how every replica shares it (docs/deployment.md#rate-budgets). Shopify's plans:
     * Standard restores 100 points a second into a 2,000-point bucket (the dev-store captures), Advanced 200,
     * Plus 1,000 (docs/contracts.md). Set the shop's plan here: a smaller bucket than the shop's only wastes
     * capacity, a larger one would be caught by the THROTTLED safety net.
     */
    bucket: z
      .object({
        maximumAvailable: z.number().int().min(100).max(100_000).default(2000),
        restoreRate: z.number().int().min(10).max(10_000).default(100),
        /** Part of the bucket the shared budget leases out; the rest absorbs calls made outside it (CLI, probe). */
        leaseShare: z.number().min(0.5).max(1).default(0.9),
        /** Part of the leased points reads (stock, SKU lists, the probe) may hold; order-critical calls get the rest. */
        readShare: z.number().min(0.1).max(0.9).default(0.5),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** A payload encryption key: an id stored in each encrypted payload, and the variable holding the key. */
const PayloadKeySchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key id is 1–64 letters, digits or ._-'),
    /** Environment variable holding the key: base64 of exactly 32 random bytes (openssl rand -base64 32). */
    keyEnv: envVarName,
  })
  .strict();

/** docs/security.md: AES-256-GCM payload codec, key rotation, the Web UI codec endpoint. */
export const SecuritySchema = z
  .object({
    payloadEncryption: z
      .object({
        enabled: z.boolean().default(true),
        /** Encrypts every new payload; any key listed in `keys` still decrypts. */
        currentKeyId: z.string().optional(),
        keys: z.array(PayloadKeySchema).default([]),
        /**
         * Refuse plaintext payloads when decoding (workers and clients), so a signal sent to Temporal
         * without the key (e.g. straight to port 7233) is never accepted as data. Unset: on, except in the
         * sandbox (sandbox.enabled). Turn it off only while histories recorded before encryption are open.
         */
        requireEncrypted: z.boolean().optional(),
      })
      .strict()
      .superRefine((pe, ctx) => {
        const ids = new Set<string>();
        pe.keys.forEach((k, i) => {
          if (ids.has(k.id)) {
            ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `duplicate key id "${k.id}"` });
          }
          ids.add(k.id);
        });
        if (!pe.enabled) return;
        if (pe.keys.length === 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['keys'],
            message: 'encryption is enabled, so at least one key is needed',
          });
        }
        if (!pe.currentKeyId) {
          ctx.addIssue({
            code: 'custom',
            path: ['currentKeyId'],
            message: 'encryption is enabled, so name the key that encrypts new payloads',
          });
        } else if (!ids.has(pe.currentKeyId)) {
          ctx.addIssue({
            code: 'custom',
            path: ['currentKeyId'],
            message: `no key with id "${pe.currentKeyId}" in keys (${[...ids].join(', ') || 'none'})`,
          });
        }
      })
      .default({ enabled: false, keys: [] }),
    /** POST /codec/decode and /codec/encode for the Temporal Web UI (decryptor token; docs/security.md). */
    codecEndpoint: z
      .object({
        /** Browser origins allowed to call the endpoint (the Web UI's address). */
        corsOrigins: z
          .array(z.url({ protocol: /^https?$/, error: 'must be an http(s) origin' }))
          .default(['http://localhost:8233']),
        /** Payloads one request may carry (the Web UI sends one event's payloads at a time). */
        maxPayloads: z.number().int().min(1).max(10_000).default(200),
        /** Request body limit in bytes. */
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(4 * 1024 * 1024),
      })
      .strict()
      .default({ corsOrigins: ['http://localhost:8233'], maxPayloads: 200, maxBodyBytes: 4 * 1024 * 1024 }),
  })
  .strict();

/** The scheduled catalogue audit (docs/catalogue-audit.md). */
export const CatalogueAuditSchema = z
  .object({
    /** Run it from the `catalogue-audit` Schedule; `loopline audit catalogue` works either way. */
    enabled: z.boolean().default(true),
    /** Mirakl allows a full OF52 export once a day; more often, the audit pages OF21 instead. */
    everyHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 7)
      .default(24),
    /** Where the CSV and JSON reports go (a shared volume when workers run on several hosts). */
    reportsDir: z.string().min(1).default('.loopline/reports'),
    /** SKUs listed per finding kind in an exception (the report has them all). */
    sampleSize: z.number().int().min(1).max(500).default(50),
    /** OF21 pages (100 offers) per second when the export is unavailable. */
    offerPagesPerSecond: z.number().positive().max(10).default(2),
    /** OF53 status polls: Mirakl allows one every 10 seconds at most. */
    exportPollSeconds: z.number().int().min(10).max(600).default(10),
    /** Give up on the export and page OF21 after this long. */
    exportTimeoutMinutes: z.number().int().min(1).max(240).default(30),
  })
  .strict();

/** Payout reconciliation (docs/reconciliation.md): Mirakl billing cycles against Shopify orders. */
export const PayoutReconciliationSchema = z
  .object({
    /** Run it from the `payout-reconciliation` Schedule; `loopline reconciliation report` works either way. */
    enabled: z.boolean().default(true),
    everyHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 7)
      .default(24),
    /** Channels to reconcile (default: every enabled Mirakl channel whose orders go to Shopify). */
    channels: z.array(z.string().min(1)).optional(),
    reportsDir: z.string().min(1).default('.loopline/reports'),
    /** Findings listed per kind in an exception (the report has them all). */
    sampleSize: z.number().int().min(1).max(500).default(50),
    /** Billing cycles created this long ago at most are read (SBC11 start_date). */
    lookbackDays: z.number().int().min(1).max(400).default(62),
    /** Cycles reconciled per channel and run; the rest wait for the next run. */
    maxCyclesPerRun: z.number().int().min(1).max(100).default(10),
    /** The contract: commission as a % of goods (tax incl.), VAT on commission as a % of it; per channel. */
    commission: z
      .object({ ratePercent: z.number().min(0).max(100), vatPercent: z.number().min(0).max(100) })
      .strict()
      .default({ ratePercent: 15, vatPercent: 20 }),
    channelCommission: z
      .record(
        z.string(),
        z.object({ ratePercent: z.number().min(0).max(100), vatPercent: z.number().min(0).max(100) }).strict(),
      )
      .default({}),
    /** TL02 paging and pacing: Mirakl allows at most 20 calls a minute and 60 an hour per shop. */
    tl02: z
      .object({
        pageSize: z.number().int().min(1).max(2000).default(1000),
        callsPerMinute: z.number().int().min(1).max(20, 'Mirakl allows TL02 at most 20 times a minute').default(20),
        callsPerHour: z.number().int().min(1).max(60, 'Mirakl allows TL02 at most 60 times an hour').default(60),
      })
      .strict()
      .prefault({}),
    /** Mirakl order ids per Shopify look-up. */
    shopifyBatchSize: z.number().int().min(1).max(250).default(50),
  })
  .strict();

/** Requests per source address within a window (docs/security.md). */
const RateLimitSchema = z
  .object({
    max: z.number().int().min(1).max(10_000_000),
    windowSeconds: z.number().int().min(1).max(3600),
  })
  .strict();

export const RATE_LIMIT_DEFAULTS = {
  /** Peoplevox callbacks (despatch tracking, stock): a flash sale sends thousands a minute. */
  peoplevox: { max: 3000, windowSeconds: 10 },
  shopify: { max: 1200, windowSeconds: 10 },
  marketplacer: { max: 600, windowSeconds: 10 },
  reveni: { max: 300, windowSeconds: 10 },
  intake: { max: 300, windowSeconds: 10 },
  /** The internal listener: dashboard, ops API, codec (the Web UI decodes an event at a time), metrics. */
  internal: { max: 3000, windowSeconds: 10 },
  /** Failed sign-ins per source before it is refused for the rest of the window. */
  authFailures: { max: 20, windowSeconds: 60 },
};

/**
 * Loopline's two HTTP listeners (docs/security.md): the public one takes webhooks only; the internal one
 * serves the ops dashboard and API, the codec endpoint for the Temporal Web UI, metrics and health. Each
 * role has its own credential: viewer (read the dashboard), operator (also act: retry, resolve, cancel),
 * decryptor (decode payloads through the codec endpoint).
 */
export const HttpSchema = z
  .object({
    /** Public listener: webhooks only. */
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    internal: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8081),
        /**
         * Origins the internal listener is reached at by browsers (behind a proxy: the proxy's address).
         * A state-changing request from any other Origin is refused (CSRF). Its own host is always allowed.
         */
        allowedOrigins: z.array(z.url({ protocol: /^https?$/, error: 'must be an http(s) origin' })).default([]),
      })
      .strict()
      .prefault({}),
    /** The operator token (dashboard + actions); LOOPLINE_OPS_TOKEN. */
    opsTokenEnv: envVarName.default('LOOPLINE_OPS_TOKEN'),
    /** The viewer token (dashboard and read API only). Unset variable: only the operator can read. */
    viewerTokenEnv: envVarName.default('LOOPLINE_VIEWER_TOKEN'),
    /** The decryptor token (codec endpoint). Unset variable: nobody can decode through Loopline. */
    decryptorTokenEnv: envVarName.default('LOOPLINE_DECRYPTOR_TOKEN'),
    /** Tokens and the webhook secret shorter than this stop the process at start-up. */
    minTokenLength: z.number().int().min(16).max(256).default(24),
    /**
     * The per-deployment secret in the path of every callback URL Loopline registers (Peoplevox
     * SubscribeEvent, Reveni): /webhooks/peoplevox/<secret>/... Unset: those callbacks are closed.
     */
    webhookSecretEnv: envVarName.default('LOOPLINE_WEBHOOK_SECRET'),
    /** Marketplacer webhooks: the HMAC key configured on the webhook (Marketplacer-Hmac-256). */
    marketplacerHmacKeyEnv: envVarName.default('MARKETPLACER_WEBHOOK_HMAC_KEY'),
    /**
     * Trust X-Forwarded-For from these proxies (addresses/CIDRs), so per-source limits see the real
     * caller. Empty: the socket's address.
     */
    trustProxy: z.array(z.string().min(1)).default([]),
    rateLimits: z
      .object({
        peoplevox: RateLimitSchema.default(RATE_LIMIT_DEFAULTS.peoplevox),
        shopify: RateLimitSchema.default(RATE_LIMIT_DEFAULTS.shopify),
        marketplacer: RateLimitSchema.default(RATE_LIMIT_DEFAULTS.marketplacer),
        reveni: RateLimitSchema.default(RATE_LIMIT_DEFAULTS.reveni),
        intake: RateLimitSchema.default(RATE_LIMIT_DEFAULTS.intake),
        internal: RateLimitSchema.default(RATE_LIMIT_DEFAULTS.internal),
        authFailures: RateLimitSchema.default(RATE_LIMIT_DEFAULTS.authFailures),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((h, ctx) => {
    if (h.port !== 0 && h.port === h.internal.port && h.host === h.internal.host) {
      ctx.addIssue({
        code: 'custom',
        path: ['internal', 'port'],
        message: `the internal listener needs its own port (the public webhook listener uses ${h.port})`,
      });
    }
    const envs = [h.opsTokenEnv, h.viewerTokenEnv, h.decryptorTokenEnv, h.webhookSecretEnv];
    if (new Set(envs).size !== envs.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['opsTokenEnv'],
        message: 'the operator, viewer and decryptor tokens and the webhook secret each need their own variable',
      });
    }
  });

export const ConfigSchema = z
  .object({
    temporal: z
      .object({
        address: z.string().min(1).default('127.0.0.1:7233'),
        namespace: z.string().min(1).default('default'),
        /** Environment variable holding a Temporal Cloud API key, if any. */
        apiKeyEnv: envVarName.default('TEMPORAL_API_KEY'),
        /**
         * Appended to per-channel singleton workflow ids (inventory:<channel>:<scope>) so several
         * deployments, or test stacks, can share one namespace with the same channel codes.
         */
        idScope: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,40}$/, 'letters, digits and dashes')
          .optional(),
        tls: z.boolean().default(false),
        /**
         * Workflows the orders worker keeps in memory between their tasks (the SDK's sticky cache). Unset: the SDK's
         * default, which grows with the heap (about 2,300 at a 4 GB heap, near 0.8 MB each for an order). A bound
         * caps the worker's memory when thousands of orders stay open for days, at a price: past it the least
         * recently used is evicted and replayed from its history at its next task, which costs CPU when more orders
         * than the bound are busy at once (a 1,000-order burst with a bound of 500 ran several times slower).
         */
        maxCachedWorkflows: z.number().int().min(2).max(100_000).optional(),
        taskQueues: z
          .object({
            orders: z.string().default('loopline-orders'),
            /** Acknowledgements (OR21) get their own queue so warehouse work never delays them. */
            acknowledge: z.string().default('loopline-acknowledge'),
            peoplevox: z.string().default('loopline-peoplevox'),
            /** Bulk Peoplevox reads (despatches, audit): the budget's other share, never ahead of order creation. */
            peoplevoxBulk: z.string().default('loopline-peoplevox-bulk'),
            inventory: z.string().default('loopline-inventory'),
            /** Shopify fulfilment calls (docs/shopify.md): paced by Shopify's cost bucket, not Peoplevox's budget. */
            shopify: z.string().default('loopline-shopify'),
            /** Marketplacer order calls (invoices, shipments, refund requests), rate-limited to the key's order share. */
            marketplacer: z.string().default('loopline-marketplacer'),
          })
          .strict()
          .default({
            orders: 'loopline-orders',
            acknowledge: 'loopline-acknowledge',
            peoplevox: 'loopline-peoplevox',
            peoplevoxBulk: 'loopline-peoplevox-bulk',
            inventory: 'loopline-inventory',
            shopify: 'loopline-shopify',
            marketplacer: 'loopline-marketplacer',
          }),
      })
      .strict()
      .default({
        address: '127.0.0.1:7233',
        namespace: 'default',
        apiKeyEnv: 'TEMPORAL_API_KEY',
        tls: false,
        taskQueues: {
          orders: 'loopline-orders',
          acknowledge: 'loopline-acknowledge',
          peoplevox: 'loopline-peoplevox',
          peoplevoxBulk: 'loopline-peoplevox-bulk',
          inventory: 'loopline-inventory',
          shopify: 'loopline-shopify',
          marketplacer: 'loopline-marketplacer',
        },
      }),
    http: HttpSchema.prefault({}),
    metrics: z
      .object({
        /**
         * host:port where the Temporal SDK runtime serves its own Prometheus metrics (worker task slots,
         * poll latencies, workflow/activity completions). Set on workers; the HTTP server's /metrics
         * appends them when it runs in the same process group (npm start) and this is set.
         */
        temporalPrometheus: z
          .string()
          .regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9464')
          .optional(),
      })
      .strict()
      .default({}),
    log: z
      .object({
        level: z.enum(['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        format: z.enum(['json', 'pretty']).default('json'),
      })
      .strict()
      .default({ level: 'info', format: 'json' }),
    sandbox: z
      .object({
        /** When true, `npm start` runs the simulators and points every connection at them. */
        enabled: z.boolean().default(true),
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(9090),
        /** Where `npm start` serves the Temporal Web UI of its dev server. */
        uiPort: z.number().int().min(1).max(65535).default(8233),
        /** Demo order stream per channel; 0 turns it off. */
        demoOrdersPerMinute: z.number().min(0).max(600).default(4),
        dataDir: z.string().default('.loopline/data'),
        /**
         * Sandbox clock speed-up for the simulators and the worker processes (60: Mirakl's once-a-minute
         * OR11 becomes once a second, and every interval and rate limit scales alike). Only read when
         * `enabled` is true, so it can never speed up a production deployment.
         */
        timeScale: z.number().min(1).max(3600).default(1),
        /**
         * Channels whose simulated Mirakl shop has multi-shipment on (ST01; PC01 says so). Absent: only a
         * channel coded `asos`, as on the real ASOS marketplace.
         */
        multiShipmentChannels: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .default({
        enabled: false,
        host: '127.0.0.1',
        port: 9090,
        uiPort: 8233,
        demoOrdersPerMinute: 4,
        dataDir: '.loopline/data',
        timeScale: 1,
      }),
    systems: z
      .object({
        peoplevox: PeoplevoxSchema.optional(),
        shopify: ShopifySchema.optional(),
        /** The returns platform of channels with `returns: reveni`. */
        reveni: ReveniSchema.optional(),
      })
      .strict()
      .default({}),
    channels: z.array(ChannelSchema).default([]),
    // prefault: an absent block is parsed as {}, so the schemas' own field defaults are the only ones.
    audit: z
      .object({ catalogue: CatalogueAuditSchema.prefault({}) })
      .strict()
      .prefault({}),
    finance: z
      .object({ reconciliation: PayoutReconciliationSchema.prefault({}) })
      .strict()
      .prefault({}),
    /** How order workflows behave when a connected system is down (docs/playbook.md, SYSTEM_UNAVAILABLE). */
    orders: z
      .object({
        /**
         * A step whose retries ran out on a transport failure parks as SYSTEM_UNAVAILABLE and tries again by
         * itself: after `initialSeconds`, doubling, at most every `maxSeconds`, until the system answers.
         */
        outageRetry: z
          .object({
            initialSeconds: z.number().int().min(1).max(86_400).default(60),
            maxSeconds: z.number().int().min(1).max(86_400).default(1800),
          })
          .strict()
          .prefault({}),
        /**
         * Retries of a marketplace or warehouse call (OR21, ST01/OR24, SaveData, …) before its step parks as
         * SYSTEM_UNAVAILABLE: doubling from 2 s up to `maximumIntervalSeconds`, `maximumAttempts` in all (about 20
         * minutes with the defaults).
         */
        transportRetry: z
          .object({
            maximumAttempts: z.number().int().min(1).max(100).default(15),
            maximumIntervalSeconds: z.number().int().min(1).max(3600).default(120),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Returns: the reason table every route shares, receipts and restock settings (docs/returns.md). */
    returns: ReturnsSchema.prefault({}),
    /** Alert sinks, dedupe and bursts (docs/alerts.md). */
    alerts: AlertsSchema.default(ALERTS_DEFAULTS),
    security: SecuritySchema.default({
      payloadEncryption: { enabled: false, keys: [] },
      codecEndpoint: { corsOrigins: ['http://localhost:8233'], maxPayloads: 200, maxBodyBytes: 4 * 1024 * 1024 },
    }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    const prefixes = new Map<string, string>();
    cfg.channels.forEach((ch, i) => {
      if (seen.has(ch.code)) {
        ctx.addIssue({ code: 'custom', path: ['channels', i, 'code'], message: `duplicate channel code "${ch.code}"` });
      }
      seen.add(ch.code);
      const prefix = channelOrderPrefix(ch);
      if (prefixes.has(prefix)) {
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'orderNumberPrefix'],
          message: `order number prefix "${prefix}" is already used by channel ${prefixes.get(prefix)}`,
        });
      }
      prefixes.set(prefix, ch.code);
      if (ch.platform === 'mirakl' && ch.inventory.pushIntervalSeconds < 60) {
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'inventory', 'pushIntervalSeconds'],
          message: `got ${ch.inventory.pushIntervalSeconds}; Mirakl allows STO01 at most once a minute`,
        });
      }
      if (ch.platform === 'marketplacer') {
        // Marketplacer invoices are paid orders: there is nothing to accept or refuse.
        if (ch.acceptance.policy === 'manual') {
          ctx.addIssue({
            code: 'custom',
            path: ['channels', i, 'acceptance', 'policy'],
            message: 'Marketplacer has no acceptance step (an invoice is a paid order): use accept-when-mapped',
          });
        }
        if (ch.acceptance.outOfStock === 'refuse-line') {
          ctx.addIssue({
            code: 'custom',
            path: ['channels', i, 'acceptance', 'outOfStock'],
            message: 'Marketplacer has no acceptance step, so a line cannot be refused: use accept-and-backorder',
          });
        }
      } else if (ch.marketplacer) {
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'marketplacer'],
          message: `only for platform: marketplacer (this channel is ${ch.platform})`,
        });
      }
      if (ch.fulfilment === 'peoplevox' && !cfg.systems.peoplevox) {
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'fulfilment'],
          message: 'routes to peoplevox, but systems.peoplevox is not configured',
        });
      }
      if (ch.returns === 'reveni' && (!cfg.systems.reveni || !cfg.systems.reveni.stores[ch.code])) {
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'returns'],
          message: `returns go to reveni, but systems.reveni.stores has no store for "${ch.code}"`,
        });
      }
      if (ch.returns === 'warehouse' && ch.fulfilment !== 'peoplevox') {
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'returns'],
          message: 'returns: warehouse needs the channel fulfilled by peoplevox (its return receipts are the trigger)',
        });
      }
      if (ch.fulfilment === 'shopify' && !cfg.systems.shopify) {
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'fulfilment'],
          message: 'routes to shopify, but systems.shopify is not configured',
        });
      }
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
export type ChannelConfig = z.infer<typeof ChannelSchema>;
export type PeoplevoxConfig = z.infer<typeof PeoplevoxSchema>;
export type ShopifyConfig = z.infer<typeof ShopifySchema>;
export type CarrierTarget = z.infer<typeof CarrierTargetSchema>;
export type ChannelInventoryConfig = z.infer<typeof ChannelInventorySchema>;
export type StockBuffer = z.infer<typeof StockBufferSchema>;
export type AdditionalFieldConfig = z.infer<typeof AdditionalFieldSchema>;
export type CatalogueAuditConfig = z.infer<typeof CatalogueAuditSchema>;
export type PayoutReconciliationConfig = z.infer<typeof PayoutReconciliationSchema>;
export type SecurityConfig = z.infer<typeof SecuritySchema>;
export type MarketplacerChannelConfig = z.infer<typeof MarketplacerChannelSchema>;

/** A Marketplacer channel's settings, with the defaults when the channel has no `marketplacer` block. */
export function marketplacerSettings(ch: Pick<ChannelConfig, 'marketplacer'>): MarketplacerChannelConfig {
  return ch.marketplacer ?? MarketplacerChannelSchema.parse({});
}

/** The warehouse order-number prefix of a channel: its configured prefix, else its code in capitals. */
export function channelOrderPrefix(ch: Pick<ChannelConfig, 'code' | 'orderNumberPrefix'>): string {
  return (
    ch.orderNumberPrefix ??
    ch.code
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')
      .slice(0, 6)
  );
}
