// One pino logger for every process. JSON in production; pretty in the sandbox. Credentials and customer
// personal data never reach log storage, whatever is logged and however deep (docs/security.md):
//   - deny-list: a key that names a credential or a customer field has its value replaced by
//     "[redacted]" at any depth of the logged object and the logger's bindings (keys are compared without
//     case, dashes or underscores, so `x-shopify-access-token`, `X-Shopify-Access-Token` and
//     `xShopifyAccessToken` are one key);
//   - allow-list: keys that look sensitive but only ever hold names of things (`passwordEnv`,
//     `tokenEnv`, counts) are kept; and an Error is logged as its allow-listed fields only (type,
//     message, code, HTTP status, stack), never as its enumerable properties, so an axios error's
//     `config.headers.Authorization` or `response.data` cannot come along;
//   - values: every secret the process was configured with (registerSecrets) is replaced wherever it
//     appears in a string, the message included.
import pino, { type Logger } from 'pino';

export const REDACTED = '[redacted]';

/** Keys (normalised: lower case, no `-` or `_`) whose values are never logged. */
export const DENY_KEYS = new Set(
  [
    // credentials and signatures
    'authorization',
    'proxyauthorization',
    'cookie',
    'setcookie',
    'password',
    'passwd',
    'pass',
    'pwd',
    'secret',
    'clientsecret',
    'apikey',
    'token',
    'accesstoken',
    'refreshtoken',
    'idtoken',
    'bearer',
    'sessionid',
    'xshopifyaccesstoken',
    'xshopifyhmacsha256',
    'marketplacerhmac256',
    'marketplacerapikey',
    'hmac',
    'signature',
    'privatekey',
    // payloads that carry whole records
    'csvdata',
    'body',
    'rawbody',
    // customer personal data: domain, Mirakl, Shopify and Peoplevox names
    'customer',
    'customers',
    'contactname',
    'firstname',
    'lastname',
    'fullname',
    'email',
    'customernotificationemail',
    'phone',
    'phonesecondary',
    'mobile',
    'address',
    'addresses',
    'addresslines',
    'address1',
    'address2',
    'street1',
    'street2',
    'zip',
    'zipcode',
    'postcode',
    'postalcode',
    'shippingaddress',
    'billingaddress',
    'invoiceaddress',
    'iban',
  ].map(normaliseKey),
);

/** Patterns for families of keys (Peoplevox's address columns, anything "…Email", "…Phone"). */
const DENY_PATTERNS = [
  /^(shipping|invoice|billing|delivery|customer)?address/,
  /(email|phone|mobile|postcode|zipcode|password|secret|apikey|accesstoken|authorization|cookie)$/,
];

/**
 * Keys that match the deny-list but only ever hold names of things or numbers: the variable a secret
 * lives in, the length of a token, whether a signature was valid. Kept as they are.
 */
export const ALLOW_KEYS = new Set(
  [
    'passwordEnv',
    'tokenEnv',
    'opsTokenEnv',
    'viewerTokenEnv',
    'decryptorTokenEnv',
    'apiKeyEnv',
    'accessTokenEnv',
    'webhookSecretEnv',
    'keyEnv',
    'keyId',
    'secretEnv',
    'hmacValid',
    'signatureValid',
    'sessionTtlMinutes',
    'emailSent',
  ].map(normaliseKey),
);

/** What of an Error may be logged. */
const ERROR_FIELDS = ['code', 'status', 'statusCode', 'type', 'retryable', 'system', 'operation'] as const;

const MAX_DEPTH = 12;
const MAX_ARRAY = 200;

function normaliseKey(k: string): string {
  return k.toLowerCase().replace(/[-_\s]/g, '');
}

export function isDeniedKey(key: string): boolean {
  const k = normaliseKey(key);
  if (ALLOW_KEYS.has(k)) return false;
  return DENY_KEYS.has(k) || DENY_PATTERNS.some((p) => p.test(k));
}

// ---- secret values ---------------------------------------------------------------------------------
const secrets = new Set<string>();

/**
 * Values never to appear in a log line (API keys, passwords, tokens, the callback path secret): every
 * process registers the secrets it reads from the environment. Short values are ignored (they would
 * redact ordinary words).
 */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const v of values) if (v && v.length >= 8) secrets.add(v);
}

export function scrubString(s: string): string {
  let out = s;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

function serializeError(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: scrubString(err.message) };
  const e = err as unknown as Record<string, unknown>;
  for (const f of ERROR_FIELDS) {
    const v = e[f];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[f] = v;
  }
  // axios: the HTTP status of the response, nothing else of it (no body, no request config).
  const response = e.response as { status?: unknown } | undefined;
  if (response && typeof response.status === 'number') out.status = response.status;
  if (typeof err.stack === 'string') out.stack = scrubString(err.stack);
  if (err.cause !== undefined && depth < MAX_DEPTH) out.cause = redactValue(err.cause, depth + 1, seen);
  return out;
}

/** A copy of `value` with denied keys redacted at any depth, errors reduced to their allowed fields. */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return secrets.size ? scrubString(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) return serializeError(value, depth, seen);
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.length} bytes]`;
    if (value instanceof Date) return value;
    if (Array.isArray(value)) {
      const out = value.slice(0, MAX_ARRAY).map((v) => redactValue(v, depth + 1, seen));
      if (value.length > MAX_ARRAY) out.push(`[${value.length - MAX_ARRAY} more]`);
      return out;
    }
    if (value instanceof Map) return redactValue(Object.fromEntries(value), depth, seen);
    if (value instanceof Set) return redactValue([...value], depth, seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isDeniedKey(k) && v !== undefined && v !== null ? REDACTED : redactValue(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'pretty';
  name?: string;
  /** For tests: where to write (defaults to stdout). */
  destination?: pino.DestinationStream;
}

/** pino options that apply the redaction above to every line: merged object, bindings and message. */
export function redactingOptions(): Pick<pino.LoggerOptions, 'formatters' | 'hooks' | 'serializers'> {
  return {
    // The deep walk replaces pino's err serializer: an error is already reduced to its allowed fields.
    serializers: { err: (e: unknown) => e },
    formatters: {
      log: (obj) => redactValue(obj) as Record<string, unknown>,
      bindings: (b) => redactValue(b) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) =>
          typeof a === 'string' ? scrubString(a) : a instanceof Error ? redactValue({ err: a }) : a,
        );
        return method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
}

/**
 * pino applies `formatters.bindings` to the root's bindings only: children's bindings (log.child({...}))
 * are redacted here, for every child and grandchild (they inherit this `child`).
 */
function redactChildBindings(logger: Logger): Logger {
  const child = logger.child as unknown as (this: Logger, bindings: pino.Bindings, options?: unknown) => Logger;
  logger.child = function (this: Logger, bindings: pino.Bindings, options?: unknown) {
    return child.call(this, redactValue(bindings) as pino.Bindings, options);
  } as unknown as Logger['child'];
  return logger;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const base: pino.LoggerOptions = {
    name: opts.name ?? 'loopline',
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    ...redactingOptions(),
    base: { pid: process.pid },
  };
  if (opts.destination) return redactChildBindings(pino(base, opts.destination));
  if ((opts.format ?? process.env.LOG_FORMAT) === 'pretty') {
    return redactChildBindings(
      pino({
        ...base,
        transport: {
          target: 'pino-pretty',
          options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
        },
      }),
    );
  }
  return redactChildBindings(pino(base));
}

export type { Logger };
