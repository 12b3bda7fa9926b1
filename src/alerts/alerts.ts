// Alerts: one per incident, not one per retry. Keys identify an incident (an order's exception reason, a
// deadline fraction, a channel's sync age); a key already raised inside the dedupe window is not sent
// again, many exceptions of one reason on one channel become one burst alert, and each sink is
// rate-limited. Sinks (Slack webhook, JSON webhook, SMTP) live in ./sinks.ts; docs/alerts.md has the
// guarantees.
//
// Why a raise can throw: activities raise alerts, and Temporal retries a failed activity. When a sink
// refuses an alert, the raise fails (a bounded number of times per incident) so the activity is retried
// later; the retry finds the incident already known and re-sends only to the sinks still pending, so a
// sink that took the alert never gets it twice. After `activityRetries` failed rounds the failure is
// logged and the raise succeeds: an unreachable alert sink must not hold an order workflow forever.
import type { Logger } from 'pino';
import type { Owner } from '../domain/owners';
import { alertFailures } from '../metrics/alerts';
import { AlertRouting } from './routing';

export interface Alert {
  key: string;
  kind: 'exception' | 'deadline' | 'sync' | 'burst';
  channel: string;
  orderId?: string;
  reason?: string;
  owner: Owner;
  message: string;
}

/** What a sink is handed: the alert, when it was raised, and how many alerts its rate limit held back. */
export interface OutgoingAlert extends Alert {
  raisedAt: string;
  suppressed?: { count: number; since: string };
}

export interface AlertSinkTarget {
  name: string;
  send(alert: OutgoingAlert): Promise<void>;
  /** Only alerts for these owners / of these kinds (default: all). */
  owners?: readonly Owner[];
  kinds?: readonly Alert['kind'][];
  /** Token bucket; absent: unlimited. */
  rateLimit?: { perMinute: number; burst: number };
}

export interface AlertSink {
  /** True when this call raised (or finished delivering) the incident; false for a duplicate. */
  raise(alert: Alert): Promise<boolean>;
  recent(): Array<Alert & { at: number }>;
}

export interface AlertSinkOptions {
  dedupeMs?: number;
  now?: () => number;
  /** `threshold` exceptions of one reason on one channel within `windowMs` → one burst alert. */
  burst?: { threshold: number; windowMs: number };
  /** Tries per sink within one raise, and the pause before the second one (doubling). */
  attempts?: number;
  backoffMs?: number;
  /** Failed delivery rounds per incident that make the raise throw (so the activity retries). */
  activityRetries?: number;
}

/** Thrown when a sink still refuses an alert; retryable, so Temporal retries the raising activity. */
export class AlertDeliveryError extends Error {
  constructor(
    readonly key: string,
    readonly sinks: string[],
  ) {
    super(`alert ${key} not delivered to ${sinks.join(', ')}; will be retried`);
    this.name = 'AlertDeliveryError';
  }
}

/** An alert whose delivery is still owed to some sinks (a retry of the raise sends it to those only). */
interface Incident {
  /** What the sinks get: the alert itself, or the burst alert it triggered. */
  outgoing: OutgoingAlert;
  pending: Set<string>;
  failedRounds: number;
}

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly perMinute: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface TargetState {
  target: AlertSinkTarget;
  bucket?: TokenBucket;
  suppressed: number;
  suppressedSince?: number;
}

/** Messages name orders, SKUs and reasons, never customers: strip what could identify one anyway. */
export function scrubMessage(message: string): string {
  return message
    .replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, '[email]')
    .replace(/postcode "[^"]*"/gi, 'postcode "[redacted]"');
}

export { burstMessage } from './routing';

export function createAlertSink(log: Logger, targets: AlertSinkTarget[] = [], opts: AlertSinkOptions = {}): AlertSink {
  const dedupeMs = opts.dedupeMs ?? 24 * 3600_000;
  const now = opts.now ?? Date.now;
  const attempts = opts.attempts ?? 3;
  const backoffMs = opts.backoffMs ?? 200;
  const activityRetries = opts.activityRetries ?? 5;
  const routing = new AlertRouting({ dedupeMs, burst: opts.burst });
  const incidents = new Map<string, Incident>();
  const inflight = new Map<string, Promise<unknown>>();
  const recent: Array<Alert & { at: number }> = [];
  const states: TargetState[] = targets.map((target) => ({
    target,
    bucket: target.rateLimit ? new TokenBucket(target.rateLimit.perMinute, target.rateLimit.burst, now()) : undefined,
    suppressed: 0,
  }));

  function wants(s: TargetState, a: Alert): boolean {
    return (
      (!s.target.owners || s.target.owners.includes(a.owner)) && (!s.target.kinds || s.target.kinds.includes(a.kind))
    );
  }

  async function sendWithRetries(s: TargetState, alert: OutgoingAlert): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await s.target.send(alert);
        return;
      } catch (err) {
        if (attempt >= attempts) throw err;
        await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
      }
    }
  }

  async function deliver(key: string, inc: Incident): Promise<void> {
    const base = inc.outgoing;
    const pending = states.filter((s) => inc.pending.has(s.target.name));
    const results = await Promise.allSettled(
      pending.map(async (s) => {
        const carried = s.suppressed;
        const outgoing: OutgoingAlert =
          carried > 0
            ? { ...base, suppressed: { count: carried, since: new Date(s.suppressedSince!).toISOString() } }
            : base;
        await sendWithRetries(s, outgoing);
        inc.pending.delete(s.target.name);
        s.suppressed -= carried;
        if (s.suppressed === 0) s.suppressedSince = undefined;
      }),
    );
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        // Never log the error object itself: an axios error carries the URL, and a Slack URL is a secret.
        log.error(
          { alertKey: key, sink: pending[i]!.target.name, error: describeError(r.reason) },
          'alert sink failed',
        );
      }
    });
    if (inc.pending.size === 0) {
      incidents.delete(key);
      return;
    }
    inc.failedRounds += 1;
    if (inc.failedRounds <= activityRetries) throw new AlertDeliveryError(key, [...inc.pending]);
    alertFailures.inc({ kind: base.kind });
    log.error({ alertKey: key, sinks: [...inc.pending] }, 'alert delivery abandoned after repeated failures');
    incidents.delete(key);
  }

  async function raiseOnce(input: Alert): Promise<boolean> {
    const alert: Alert = { ...input, message: scrubMessage(input.message) };
    const t = now();
    const owed = incidents.get(alert.key);
    // A retry of a raise whose delivery failed: only the sinks that have not taken it yet.
    if (owed) {
      await deliver(alert.key, owed);
      return true;
    }
    const routed = routing.route(alert, t);
    if (routed.outcome === 'duplicate') return false;
    recent.push({ ...alert, at: t });
    if (recent.length > 1000) recent.shift();
    log.warn(
      {
        alert: {
          key: alert.key,
          kind: alert.kind,
          channel: alert.channel,
          orderId: alert.orderId,
          reason: alert.reason,
          owner: alert.owner,
        },
      },
      alert.message,
    );
    if (routed.outcome === 'absorbed') {
      log.info(
        { alert: { key: alert.key, burst: routed.burstKey, count: routed.count } },
        'alert held back: part of a burst',
      );
      return true;
    }
    const out = routed.alert;
    if (routed.startedBurst) log.warn({ alert: { key: out.key, kind: 'burst', reason: out.reason } }, out.message);
    const inc: Incident = {
      outgoing: { ...out, raisedAt: new Date(t).toISOString() },
      pending: new Set(),
      failedRounds: 0,
    };
    for (const s of states) {
      if (!wants(s, out)) continue;
      if (s.bucket && !s.bucket.take(t)) {
        s.suppressed += 1;
        s.suppressedSince ??= t;
        log.info({ alertKey: out.key, sink: s.target.name, suppressed: s.suppressed }, 'alert rate-limited');
        continue;
      }
      inc.pending.add(s.target.name);
    }
    if (inc.pending.size === 0) return true;
    incidents.set(alert.key, inc);
    await deliver(alert.key, inc);
    return true;
  }

  return {
    raise(alert) {
      // One raise per key at a time: a retried activity whose first attempt is still sending waits for it.
      const prev = inflight.get(alert.key) ?? Promise.resolve();
      const run = prev.catch(() => undefined).then(() => raiseOnce(alert));
      const settled = run.catch(() => undefined);
      inflight.set(alert.key, settled);
      void settled.then(() => {
        if (inflight.get(alert.key) === settled) inflight.delete(alert.key);
      });
      return run;
    },
    recent: () => [...recent],
  };
}

/** A failure as words for the log: status or code and message, without request details. */
export function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { response?: { status?: number }; code?: string; responseCode?: number; message?: string };
    if (e.response?.status) return `HTTP ${e.response.status}`;
    if (e.responseCode) return `SMTP ${e.responseCode}`;
    if (e.code) return e.code;
    // axios messages name the status only; other messages may name a host, never a secret.
    if (e.message) return e.message.replace(/https?:\/\/\S+/g, '[url]');
  }
  return String(err).replace(/https?:\/\/\S+/g, '[url]');
}
