// Inbound calls Loopline refused or dropped, by source and reason (docs/security.md): a forged callback,
// a flood, an unknown item code or order number. prom-client's default registry, which /metrics serves.
import { Counter } from 'prom-client';

export type WebhookSource =
  | 'peoplevox-tracking'
  | 'peoplevox-availability'
  | 'peoplevox-stock-hint'
  | 'peoplevox-returns'
  | 'shopify'
  | 'marketplacer'
  | 'reveni'
  | 'intake'
  | 'internal';

export type DropReason =
  | 'bad-secret'
  | 'bad-signature'
  | 'bad-token'
  | 'wrong-role'
  | 'csrf'
  | 'invalid'
  | 'rate-limited'
  | 'unknown-item'
  | 'unknown-order'
  | 'unknown-location'
  | 'duplicate'
  | 'stale'
  | 'too-large'
  /** Genuine, but nothing Loopline handles (answered 2xx so the sender keeps delivering). */
  | 'ignored';

const dropped = new Counter({
  name: 'loopline_inbound_dropped_total',
  help: 'Inbound HTTP calls refused or dropped, by source and reason (forged, flooded, unknown ids, invalid values)',
  labelNames: ['source', 'reason'] as const,
});

const accepted = new Counter({
  name: 'loopline_inbound_accepted_total',
  help: 'Inbound webhook calls accepted, by source',
  labelNames: ['source'] as const,
});

export function recordDropped(source: WebhookSource, reason: DropReason, n = 1): void {
  if (n > 0) dropped.inc({ source, reason }, n);
}

export function recordAccepted(source: WebhookSource, n = 1): void {
  if (n > 0) accepted.inc({ source }, n);
}

/** Current count (tests and the stock-event batcher's stats). */
export async function droppedCount(source: WebhookSource, reason: DropReason): Promise<number> {
  const m = await dropped.get();
  return m.values.find((v) => v.labels.source === source && v.labels.reason === reason)?.value ?? 0;
}
