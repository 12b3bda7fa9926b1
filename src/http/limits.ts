// Per-source rate limits of the inbound routes (http.rateLimits; docs/security.md): each source (Peoplevox,
// Shopify, push intake, …) has its own window and counter per caller address, sized for that source's
// legitimate peak, so a flood from one address is cut off without touching the others.
import type { RateLimitOptions } from '@fastify/rate-limit';
import type { Config } from '../config/schema';
import { recordDropped, type WebhookSource } from '../metrics/webhooks';

export function sourceRateLimit(config: Config, group: keyof Config['http']['rateLimits'], source: WebhookSource) {
  const l = config.http.rateLimits[group];
  return {
    max: l.max,
    timeWindow: l.windowSeconds * 1000,
    groupId: group,
    onExceeded: () => recordDropped(source, 'rate-limited'),
  } satisfies RateLimitOptions;
}
