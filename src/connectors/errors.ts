// The one place that decides which connector failures retry.
//   retryable:     5xx, 408, 429 (honouring Retry-After), timeouts, connection resets, lost responses,
//                  Peoplevox "Invalid Session" (after re-authentication)
//   non-retryable: other 4xx and business rejections (validation errors, wrong state, unknown item);
//                  these carry a reason code and park the order in an exception state.
//
// What an error says: its message is for logs and failure messages, so it names the system, the
// operation, the HTTP status and a machine code, and never carries a response body or a remote system's
// free text (either may hold a customer's name or address, or echo a credential). That text goes in
// `opts.detail`, which activities put in the failure's details: a payload, so it is encrypted in Temporal
// (activities/errors.ts). `opts` is not enumerable, so a logged error does not carry it either.
import { isAxiosError } from 'axios';

export interface ConnectorErrorOptions {
  status?: number;
  retryAfterMs?: number;
  code?: string;
  /** The remote system's own words (response body, fault text, row messages): never logged. */
  detail?: string;
}

/** Longest remote detail kept (it travels in encrypted failure details only). */
export const MAX_DETAIL_CHARS = 500;

export class ConnectorError extends Error {
  declare readonly opts: ConnectorErrorOptions;

  constructor(
    readonly system: string,
    readonly operation: string,
    message: string,
    readonly retryable: boolean,
    opts: ConnectorErrorOptions = {},
  ) {
    super(`${system} ${operation}: ${message}`);
    this.name = 'ConnectorError';
    const detail = opts.detail === undefined ? undefined : opts.detail.slice(0, MAX_DETAIL_CHARS);
    Object.defineProperty(this, 'opts', { value: { ...opts, detail }, enumerable: false, writable: false });
  }
  get status() {
    return this.opts.status;
  }
  get retryAfterMs() {
    return this.opts.retryAfterMs;
  }
  get code() {
    return this.opts.code;
  }
}

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Retry-After in seconds or an HTTP date → milliseconds. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const s = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_BAD_RESPONSE',
  'ERR_NETWORK',
  'ECONNRESET',
  'UND_ERR_SOCKET',
]);

/** Turns an axios (or any) error from `operation` into a ConnectorError with its retry decision. */
export function classifyHttpError(system: string, operation: string, err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (isAxiosError(err)) {
    const status = err.response?.status;
    if (status !== undefined) {
      const data = err.response?.data as unknown;
      const detail =
        typeof data === 'string'
          ? data.slice(0, MAX_DETAIL_CHARS)
          : data && typeof data === 'object' && 'message' in data
            ? String((data as { message: unknown }).message)
            : JSON.stringify(data ?? '').slice(0, MAX_DETAIL_CHARS);
      // The body is the remote system's text: in the detail only, never in the message.
      return new ConnectorError(system, operation, `HTTP ${status}`, isRetryableStatus(status), {
        status,
        retryAfterMs: parseRetryAfter(err.response?.headers?.['retry-after']),
        detail,
      });
    }
    // No response: timeout, reset, or a lost response. The write may or may not have happened, which is
    // why every write looks before it creates again.
    return new ConnectorError(system, operation, `no response (${err.code ?? err.message})`, true, { code: err.code });
  }
  const code = (err as { code?: string } | undefined)?.code;
  if (code && TRANSIENT_NETWORK_CODES.has(code)) {
    return new ConnectorError(system, operation, `network error ${code}`, true, { code });
  }
  // Not an HTTP failure (a bug, a mapping error): its text is ours, but it may quote data, so it goes in
  // the detail and the message names its type.
  const name = err instanceof Error ? err.name : typeof err;
  return new ConnectorError(system, operation, `failed (${name})`, false, {
    detail: err instanceof Error ? err.message : String(err),
  });
}
