// One pino logger for every process. JSON in production; pretty in the sandbox. Credentials and customer
// personal data are redacted wherever they appear in a logged object, so a stray `log.info({ order })`
// cannot leak a name, an address or a key into log storage.
import pino, { type Logger } from 'pino';

/** Keys whose values are never logged. Matched at the top level and one or two levels down. */
export const REDACTED_KEYS = [
  // credentials
  'authorization',
  'Authorization',
  'apiKey',
  'api_key',
  'password',
  'token',
  'accessToken',
  'sessionId',
  'SessionId',
  'secret',
  // customer personal data (domain and wire names)
  'email',
  'Email',
  'customer_notification_email',
  'firstname',
  'lastname',
  'firstName',
  'lastName',
  'ContactName',
  'phone',
  'street_1',
  'street_2',
  'address',
  'address1',
  'address2',
  'addressLines',
  'shipping_address',
  'billing_address',
  'shippingAddress',
  'billingAddress',
  'zip_code',
  'postcode',
  'customer',
];

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'pretty';
  name?: string;
  /** For tests: where to write (defaults to stdout). */
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const base: pino.LoggerOptions = {
    name: opts.name ?? 'loopline',
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (opts.destination) return pino(base, opts.destination);
  if ((opts.format ?? process.env.LOG_FORMAT) === 'pretty') {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
      },
    });
  }
  return pino(base);
}

export type { Logger };
