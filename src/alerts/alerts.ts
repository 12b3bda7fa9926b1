// Alerts: one per incident, not one per retry. Keys identify an incident (an order's exception reason, a
// deadline fraction, a channel's sync age); a key already raised inside the dedupe window is dropped, and
// each sink is rate-limited. Sinks (Slack webhook, JSON webhook, SMTP) plug in here.
import type { Logger } from 'pino';
import type { Owner } from '../domain/owners';

export interface Alert {
  key: string;
  kind: 'exception' | 'deadline' | 'sync';
  channel: string;
  orderId?: string;
  reason?: string;
  owner: Owner;
  message: string;
}

export interface AlertSinkTarget {
  name: string;
  send(alert: Alert): Promise<void>;
}

export interface AlertSink {
  raise(alert: Alert): Promise<boolean>;
  recent(): Array<Alert & { at: number }>;
}

export function createAlertSink(
  log: Logger,
  targets: AlertSinkTarget[] = [],
  opts: { dedupeMs?: number; now?: () => number } = {},
): AlertSink {
  const dedupeMs = opts.dedupeMs ?? 24 * 3600_000;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, number>();
  const recent: Array<Alert & { at: number }> = [];
  return {
    async raise(alert) {
      const t = now();
      const last = seen.get(alert.key);
      if (last !== undefined && t - last < dedupeMs) return false;
      seen.set(alert.key, t);
      recent.push({ ...alert, at: t });
      if (recent.length > 1000) recent.shift();
      // Messages name orders and SKUs, never customers.
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
      for (const target of targets) {
        try {
          await target.send(alert);
        } catch (err) {
          log.error({ err, sink: target.name }, 'alert sink failed');
        }
      }
      return true;
    },
    recent: () => [...recent],
  };
}
