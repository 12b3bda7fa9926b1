// Where alerts go: a Slack-compatible incoming webhook, a generic JSON webhook (optionally HMAC-signed) and
// email over SMTP. Every delivery carries the incident key (`X-Loopline-Alert-Key`; for email also a
// Message-ID derived from it), so a receiver can drop the duplicates that several worker processes or a
// retried activity may produce (docs/alerts.md).
import axios from 'axios';
import { createHash, createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { secretFromEnv } from '../config/load';
import type { AlertsConfig, AlertSinkConfig } from '../config/alerts';
import { createAlertSink, type AlertSink, type AlertSinkTarget, type OutgoingAlert } from './alerts';

export const ALERT_KEY_HEADER = 'X-Loopline-Alert-Key';
export const SIGNATURE_HEADER = 'X-Loopline-Signature';
export const TIMESTAMP_HEADER = 'X-Loopline-Timestamp';

/** "ops: SKU_UNMAPPED on asos, order 123-A" — the owner first, so people see whose it is. */
export function alertTitle(a: OutgoingAlert): string {
  const what =
    a.kind === 'burst' ? `burst of ${a.reason}` : (a.reason ?? (a.kind === 'deadline' ? 'deadline' : a.kind));
  return `${a.owner}: ${what} on ${a.channel}${a.orderId ? `, order ${a.orderId}` : ''}`;
}

export function suppressedLine(a: OutgoingAlert): string | undefined {
  if (!a.suppressed) return undefined;
  const n = a.suppressed.count;
  return `${n} more alert${n === 1 ? '' : 's'} suppressed by this sink's rate limit since ${a.suppressed.since} (see the exception queue).`;
}

function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack incoming-webhook body: `text` for notifications and old clients, `blocks` for the message. */
export function slackPayload(a: OutgoingAlert): { text: string; blocks: unknown[] } {
  const title = slackEscape(alertTitle(a));
  const message = slackEscape(a.message).slice(0, 2800);
  const extra = suppressedLine(a);
  const text = `[Loopline] ${title}: ${message}${extra ? `\n${extra}` : ''}`;
  const context = [`*kind* ${a.kind}`, `*owner* ${a.owner}`, `*channel* ${slackEscape(a.channel)}`];
  if (a.orderId) context.push(`*order* ${slackEscape(a.orderId)}`);
  if (a.reason) context.push(`*reason* ${slackEscape(a.reason)}`);
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${title}*\n${message}` } },
    { type: 'context', elements: context.map((t) => ({ type: 'mrkdwn', text: t })) },
  ];
  if (extra) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `:warning: ${slackEscape(extra)}` }] });
  return { text, blocks };
}

/** The JSON webhook body: the alert as data. */
export function webhookBody(a: OutgoingAlert): Record<string, unknown> {
  return {
    key: a.key,
    kind: a.kind,
    channel: a.channel,
    ...(a.orderId ? { orderId: a.orderId } : {}),
    ...(a.reason ? { reason: a.reason } : {}),
    owner: a.owner,
    message: a.message,
    raisedAt: a.raisedAt,
    ...(a.suppressed ? { suppressed: a.suppressed } : {}),
  };
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, the value of X-Loopline-Signature. */
export function signWebhook(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

export function emailSubject(a: OutgoingAlert): string {
  return `[Loopline] ${alertTitle(a)}`;
}

/** A Message-ID per incident key: mail systems and people can see a repeat for what it is. */
export function emailMessageId(key: string): string {
  return `<alert-${createHash('sha256').update(key).digest('hex').slice(0, 32)}@loopline>`;
}

function emailText(a: OutgoingAlert): string {
  const lines = [a.message, ''];
  const extra = suppressedLine(a);
  if (extra) lines.push(extra, '');
  lines.push(`Owner: ${a.owner}`, `Kind: ${a.kind}`, `Channel: ${a.channel}`);
  if (a.orderId) lines.push(`Order: ${a.orderId}`);
  if (a.reason) lines.push(`Reason: ${a.reason}`);
  lines.push(`Raised: ${a.raisedAt}`, `Incident key: ${a.key}`);
  return `${lines.join('\n')}\n`;
}

function httpTarget(
  url: string,
  timeoutMs: number,
  body: (a: OutgoingAlert) => unknown,
  secret?: string,
): AlertSinkTarget['send'] {
  return async (a) => {
    const raw = JSON.stringify(body(a));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'loopline-alerts',
      [ALERT_KEY_HEADER]: a.key,
    };
    if (secret) {
      const ts = String(Math.floor(Date.parse(a.raisedAt) / 1000));
      headers[TIMESTAMP_HEADER] = ts;
      headers[SIGNATURE_HEADER] = signWebhook(secret, ts, raw);
    }
    // Any 2xx is delivery; redirects are not followed (a webhook that moves is a config change).
    await axios.post(url, raw, { headers, timeout: timeoutMs, maxRedirects: 0, responseType: 'text' });
  };
}

/** One sink from its config block; secrets are read from the environment now, so a missing one fails at start. */
export function createSinkTarget(
  cfg: AlertSinkConfig,
  delivery: { timeoutMs: number },
  env: NodeJS.ProcessEnv = process.env,
): AlertSinkTarget {
  const where = `alerts.sinks[${cfg.name}]`;
  const common = { name: cfg.name, owners: cfg.owners, kinds: cfg.kinds, rateLimit: cfg.rateLimit };
  switch (cfg.type) {
    case 'slack':
      return {
        ...common,
        send: httpTarget(secretFromEnv(cfg.urlEnv, `${where}.urlEnv`, env), delivery.timeoutMs, slackPayload),
      };
    case 'webhook': {
      const url = cfg.url ?? secretFromEnv(cfg.urlEnv!, `${where}.urlEnv`, env);
      const secret = cfg.secretEnv ? secretFromEnv(cfg.secretEnv, `${where}.secretEnv`, env) : undefined;
      return { ...common, send: httpTarget(url, delivery.timeoutMs, webhookBody, secret) };
    }
    case 'email': {
      const { smtp } = cfg;
      const auth =
        smtp.userEnv && smtp.passwordEnv
          ? {
              user: secretFromEnv(smtp.userEnv, `${where}.smtp.userEnv`, env),
              pass: secretFromEnv(smtp.passwordEnv, `${where}.smtp.passwordEnv`, env),
            }
          : undefined;
      const transport = nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.tls === 'implicit',
        requireTLS: smtp.tls === 'starttls',
        ignoreTLS: smtp.tls === 'none',
        auth,
        connectionTimeout: delivery.timeoutMs,
        greetingTimeout: delivery.timeoutMs,
        socketTimeout: delivery.timeoutMs,
      });
      return {
        ...common,
        async send(a) {
          await transport.sendMail({
            from: cfg.from,
            to: cfg.to,
            subject: emailSubject(a),
            text: emailText(a),
            messageId: emailMessageId(a.key),
            headers: { [ALERT_KEY_HEADER]: a.key },
          });
        },
      };
    }
  }
}

/** The process's alert sink, built from the `alerts` config block. */
export function createConfiguredAlertSink(
  cfg: AlertsConfig,
  log: Logger,
  opts: {
    env?: NodeJS.ProcessEnv;
    now?: () => number;
    backoffMs?: number;
    /**
     * Delivery for the alert router (workers: workflows/alerts.ts), which already turned bursts into one alert and
     * gives up through its activity's retry policy: no bursts here, and a failed round always throws.
     */
    forRouter?: boolean;
  } = {},
): AlertSink {
  const targets = cfg.sinks.map((s) => createSinkTarget(s, cfg.delivery, opts.env));
  return createAlertSink(log, targets, {
    dedupeMs: cfg.dedupeWindowMinutes * 60_000,
    burst: opts.forRouter ? undefined : { threshold: cfg.burst.threshold, windowMs: cfg.burst.windowMinutes * 60_000 },
    attempts: cfg.delivery.attempts,
    activityRetries: opts.forRouter ? Infinity : cfg.delivery.activityRetries,
    now: opts.now,
    backoffMs: opts.backoffMs,
  });
}
