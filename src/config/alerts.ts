// The `alerts` block of the config: where alerts go (Slack-compatible webhook, JSON webhook, email over
// SMTP), which alerts each sink takes, how fast, and how incidents are deduplicated and grouped into
// bursts. Secrets (webhook URLs that carry a token, HMAC secrets, SMTP passwords) are named by environment
// variable, never written here. See docs/alerts.md.
import { z } from 'zod';
import { OWNERS } from '../domain/owners';

const envVarName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]*$/, 'must be the NAME of an environment variable (upper case, digits, underscores)');

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const ALERT_KINDS = ['exception', 'deadline', 'sync', 'burst'] as const;

const RATE_LIMIT_DEFAULT = { perMinute: 10, burst: 5 };

/** Filters and pacing every sink has. */
const sinkCommon = {
  /** A short name for logs and for per-sink delivery state; unique. */
  name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be 1–40 lower-case letters, digits or dashes'),
  /** Only alerts for these owners (default: every owner). */
  owners: z.array(z.enum(OWNERS)).min(1).optional(),
  /** Only these kinds of alert (default: every kind). */
  kinds: z.array(z.enum(ALERT_KINDS)).min(1).optional(),
  /** Token bucket: `burst` alerts at once, refilled at `perMinute`. Beyond it alerts are counted, not sent. */
  rateLimit: z
    .object({
      perMinute: z.number().positive().max(600).default(RATE_LIMIT_DEFAULT.perMinute),
      burst: z.number().int().min(1).max(1000).default(RATE_LIMIT_DEFAULT.burst),
    })
    .strict()
    .default(RATE_LIMIT_DEFAULT),
};

export const SlackSinkSchema = z
  .object({
    type: z.literal('slack'),
    /** A Slack incoming-webhook URL carries its own token, so it is a secret: name its variable. */
    urlEnv: envVarName,
    ...sinkCommon,
  })
  .strict();

export const WebhookSinkSchema = z
  .object({
    type: z.literal('webhook'),
    /** The receiver's URL, or the variable that holds it when the URL carries a token. */
    url: httpUrl.optional(),
    urlEnv: envVarName.optional(),
    /** Variable holding the HMAC-SHA256 secret; when set, each request carries X-Loopline-Signature. */
    secretEnv: envVarName.optional(),
    ...sinkCommon,
  })
  .strict()
  .refine((s) => (s.url === undefined) !== (s.urlEnv === undefined), 'needs exactly one of `url` or `urlEnv`');

export const EmailSinkSchema = z
  .object({
    type: z.literal('email'),
    smtp: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(587),
        /** starttls: upgrade and require TLS (port 587); implicit: TLS from the start (465); none: plain (local relays). */
        tls: z.enum(['starttls', 'implicit', 'none']).default('starttls'),
        userEnv: envVarName.optional(),
        passwordEnv: envVarName.optional(),
      })
      .strict()
      .refine((s) => (s.userEnv === undefined) === (s.passwordEnv === undefined), {
        message: 'set both `userEnv` and `passwordEnv`, or neither',
      }),
    from: z.string().min(3),
    to: z.array(z.email()).min(1),
    ...sinkCommon,
  })
  .strict();

export const AlertSinkConfigSchema = z.discriminatedUnion('type', [
  SlackSinkSchema,
  WebhookSinkSchema,
  EmailSinkSchema,
]);

const BURST_DEFAULT = { threshold: 5, windowMinutes: 10 };
const DELIVERY_DEFAULT = { attempts: 3, timeoutMs: 5000, activityRetries: 5 };

export const ALERTS_DEFAULTS = {
  dedupeWindowMinutes: 24 * 60,
  burst: BURST_DEFAULT,
  delivery: DELIVERY_DEFAULT,
  sinks: [],
};

export const AlertsSchema = z
  .object({
    /** The same incident key inside this window is one alert (per process; docs/alerts.md). */
    dedupeWindowMinutes: z
      .number()
      .min(1)
      .max(7 * 24 * 60)
      .default(ALERTS_DEFAULTS.dedupeWindowMinutes),
    /** `threshold` exceptions with one reason on one channel inside `windowMinutes` become one burst alert. */
    burst: z
      .object({
        threshold: z.number().int().min(2).max(1000).default(BURST_DEFAULT.threshold),
        windowMinutes: z
          .number()
          .min(1)
          .max(24 * 60)
          .default(BURST_DEFAULT.windowMinutes),
      })
      .strict()
      .default(BURST_DEFAULT),
    delivery: z
      .object({
        /** Tries per sink inside one raise, with a short backoff. */
        attempts: z.number().int().min(1).max(5).default(DELIVERY_DEFAULT.attempts),
        /** Per request (HTTP) or per SMTP stage. */
        timeoutMs: z.number().int().min(500).max(20_000).default(DELIVERY_DEFAULT.timeoutMs),
        /**
         * How many times a raise fails (so the calling activity is retried by Temporal) while a sink still
         * refuses; after that the failure is logged and the activity succeeds.
         */
        activityRetries: z.number().int().min(0).max(10).default(DELIVERY_DEFAULT.activityRetries),
      })
      .strict()
      .refine((d) => d.attempts * d.timeoutMs <= 20_000, {
        message: 'attempts × timeoutMs must stay within 20000 ms: the alert activities time out after 30 s',
        path: ['timeoutMs'],
      })
      .default(DELIVERY_DEFAULT),
    sinks: z.array(AlertSinkConfigSchema).default([]),
  })
  .strict()
  .superRefine((a, ctx) => {
    const names = new Set<string>();
    a.sinks.forEach((s, i) => {
      if (names.has(s.name)) {
        ctx.addIssue({ code: 'custom', path: ['sinks', i, 'name'], message: `duplicate sink name "${s.name}"` });
      }
      names.add(s.name);
    });
  });

export type AlertsConfig = z.infer<typeof AlertsSchema>;
export type AlertSinkConfig = z.infer<typeof AlertSinkConfigSchema>;
export type AlertKind = (typeof ALERT_KINDS)[number];
