// The one place that decides which connector failures retry.
//   retryable:     5xx, 408, 429 (honouring Retry-After), timeouts, connection resets, lost responses,
//                  Peoplevox "Invalid Session" (after re-authentication)
//   non-retryable: other 4xx and business rejections (validation errors, wrong state, unknown item);
//                  these carry a reason code and park the order in an exception state.
import { isAxiosError } from 'axios';

export class ConnectorError extends Error {
  constructor(
    readonly system: string,
    readonly operation: string,
    message: string,
    readonly retryable: boolean,
    readonly opts: { status?: number; retryAfterMs?: number; code?: string; detail?: string } = {},
  ) {
    super(`${system} ${operation}: ${message}`);
    this.name = 'ConnectorError';
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
          ? data.slice(0, 500)
          : data && typeof data === 'object' && 'message' in data
            ? String((data as { message: unknown }).message)
            : JSON.stringify(data ?? '').slice(0, 500);
      return new ConnectorError(system, operation, `HTTP ${status}: ${detail}`, isRetryableStatus(status), {
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
  return new ConnectorError(system, operation, err instanceof Error ? err.message : String(err), false);
}
