// Reveni merchant API client (REST + bearer key), written against the real base path
// https://api.reveni.io/merchants/v0/stores/{store_id}/ (sandbox api.sandbox.reveni.io). Public: returns/{id},
// returns/{id}/partial_validate, webhooks (create, delete). Assumed ([I], docs/contracts.md): creating a
// return for an order of the merchant's, listing returns by filter, listing webhooks. Failures go through
// classifyHttpError, the one place that decides what retries.
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { ConnectorError, classifyHttpError } from '../errors';
import { outcomeOf, recordApiCall } from '../../metrics/api-calls';
import { ReveniListSchema, ReveniReturnSchema, ReveniWebhookSubscriptionSchema, type ReveniReturn } from './schemas';

export interface ReveniClientOptions {
  /** e.g. https://api.reveni.io (the client appends /merchants/v0/stores/<store>). */
  baseUrl: string;
  apiKey: string;
  storeId: string;
  timeoutMs: number;
  log?: Logger;
}

export interface CreateReveniReturn {
  order: { external_id: string; currency: string };
  external_reference: string;
  type: 'refund';
  items: Array<{ sku: string; quantity: number; return_reason: string; price: number }>;
}

export class ReveniClient {
  readonly http: AxiosInstance;

  constructor(private readonly opts: ReveniClientOptions) {
    this.http = axios.create({
      baseURL: `${opts.baseUrl.replace(/\/+$/, '')}/merchants/v0/stores/${encodeURIComponent(opts.storeId)}`,
      timeout: opts.timeoutMs,
      headers: {
        Authorization: `Bearer ${opts.apiKey}`,
        Accept: 'application/json',
        'Content-Type': 'application/json',
      },
      validateStatus: (s) => s >= 200 && s < 300,
    });
  }

  private async call<T>(op: string, config: AxiosRequestConfig, schema?: z.ZodType<T>): Promise<T> {
    const started = Date.now();
    let data: unknown;
    try {
      data = (await this.http.request(config)).data;
      recordApiCall('reveni', op, 'ok', Date.now() - started);
    } catch (err) {
      const e = classifyHttpError('reveni', op, err);
      recordApiCall('reveni', op, outcomeOf(e), Date.now() - started);
      this.opts.log?.warn({ op, status: e.status, retryable: e.retryable }, e.message);
      throw e;
    }
    if (!schema) return data as T;
    const parsed = schema.safeParse(data);
    if (!parsed.success)
      throw new ConnectorError(
        'reveni',
        op,
        `unexpected response shape: ${parsed.error.message.slice(0, 400)}`,
        false,
        {
          code: 'BAD_RESPONSE',
        },
      );
    return parsed.data;
  }

  /** GET returns/{id}; undefined when Reveni has no such return (404). */
  async getReturn(id: string): Promise<ReveniReturn | undefined> {
    try {
      return await this.call(
        'returns.get',
        { method: 'GET', url: `/returns/${encodeURIComponent(id)}` },
        ReveniReturnSchema,
      );
    } catch (err) {
      if (err instanceof ConnectorError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** [I] GET returns?external_reference= — how Loopline looks before it creates. */
  async findByReference(externalReference: string): Promise<ReveniReturn[]> {
    const res = await this.call(
      'returns.list',
      { method: 'GET', url: '/returns', params: { external_reference: externalReference } },
      ReveniListSchema,
    );
    return res.data;
  }

  /** [I] POST returns: a return for an order of the merchant's (here: a marketplace return sent on to Reveni). */
  async createReturn(body: CreateReveniReturn): Promise<ReveniReturn> {
    return this.call('returns.create', { method: 'POST', url: '/returns', data: body }, ReveniReturnSchema);
  }

  /** POST returns/{id}/partial_validate: accept or reject items (with a reason). */
  async partialValidate(
    id: string,
    items: Array<{
      item_id: string;
      quantity: number;
      status: 'accepted' | 'rejected';
      reject_reason?: string;
      reject_reason_text?: string;
    }>,
  ): Promise<ReveniReturn> {
    return this.call(
      'returns.partial_validate',
      { method: 'POST', url: `/returns/${encodeURIComponent(id)}/partial_validate`, data: { items } },
      ReveniReturnSchema,
    );
  }

  /** POST webhooks {event_types, url}. */
  async subscribe(url: string, eventTypes: string[]): Promise<string> {
    const r = await this.call(
      'webhooks.create',
      { method: 'POST', url: '/webhooks', data: { event_types: eventTypes, url } },
      ReveniWebhookSubscriptionSchema,
    );
    return String(r.id);
  }

  /** [I] GET webhooks, so a deployment registers its URL once. Undefined when the endpoint does not exist. */
  async listWebhooks(): Promise<Array<{ id: string; url: string }> | undefined> {
    try {
      const r = await this.call<{ data?: Array<{ id: string | number; url: string }> }>('webhooks.list', {
        method: 'GET',
        url: '/webhooks',
      });
      return (r.data ?? []).map((w) => ({ id: String(w.id), url: w.url }));
    } catch (err) {
      if (err instanceof ConnectorError && (err.status === 404 || err.status === 405)) return undefined;
      throw err;
    }
  }
}
