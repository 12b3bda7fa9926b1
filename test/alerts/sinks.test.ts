// The alert sinks against real local receivers: a node HTTP server standing in for Slack and for a JSON
// webhook consumer, and an SMTP server (smtp-server) standing in for the mail relay.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { AlertsSchema } from '../../src/config/alerts';
import { parseConfig, ConfigError } from '../../src/config/load';
import { AlertDeliveryError, type Alert } from '../../src/alerts/alerts';
import { createConfiguredAlertSink } from '../../src/alerts/sinks';
import { createRuntime } from '../../workers/runtime';
import { memoryLogger, startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from './receivers';

const SECRET = 'test-hmac-secret-0123456789';
let slack: HttpReceiver;
let hook: HttpReceiver;
let smtp: SmtpReceiver;
let env: NodeJS.ProcessEnv;

before(async () => {
  [slack, hook, smtp] = await Promise.all([startHttpReceiver(), startHttpReceiver(), startSmtpReceiver()]);
});
after(async () => {
  await Promise.all([slack.close(), hook.close(), smtp.close()]);
});
beforeEach(() => {
  slack.requests.length = 0;
  hook.requests.length = 0;
  smtp.mails.length = 0;
  slack.failNext(0);
  hook.failNext(0);
  env = {
    LOOPLINE_SLACK_URL: `${slack.url}/services/T000/B000/XXXXSECRETTOKEN`,
    LOOPLINE_HOOK_SECRET: SECRET,
  };
});

/** The alerts block as an operator writes it (JSON is YAML), with every sink pointed at a local receiver. */
function alertsConfig(
  extra: Record<string, unknown> = {},
  sinkOverrides: Record<string, Record<string, unknown>> = {},
) {
  return AlertsSchema.parse({
    delivery: { attempts: 1, timeoutMs: 2000, activityRetries: 2 },
    sinks: [
      { type: 'slack', name: 'ops-slack', urlEnv: 'LOOPLINE_SLACK_URL', ...sinkOverrides['ops-slack'] },
      { type: 'webhook', name: 'erp', url: hook.url, secretEnv: 'LOOPLINE_HOOK_SECRET', ...sinkOverrides.erp },
      {
        type: 'email',
        name: 'mail',
        smtp: { host: '127.0.0.1', port: smtp.port, tls: 'none' },
        from: 'Loopline <alerts@loopline.example>',
        to: ['merch@brand.example'],
        ...sinkOverrides.mail,
      },
    ],
    ...extra,
  });
}

function exception(orderId: string, reason = 'SKU_UNMAPPED', channel = 'asos'): Alert {
  return {
    key: `exception:${channel}:${orderId}:${reason}`,
    kind: 'exception',
    channel,
    orderId,
    reason,
    owner: reason === 'SKU_UNMAPPED' ? 'merchandising' : 'ops',
    message: `Order ${orderId} line L1: offer SKU "TEE-RED-M" has no item code in the warehouse.`,
  };
}

async function settle(ms = 150): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe('alert sinks against local receivers', () => {
  test('one alert per incident: the same exception raised twenty times reaches each sink once', async () => {
    const sink = createConfiguredAlertSink(alertsConfig(), memoryLogger().log, { env });
    const a = exception('1001-A');
    const results = await Promise.all(Array.from({ length: 10 }, () => sink.raise(a)));
    for (let i = 0; i < 10; i++) results.push(await sink.raise({ ...a }));
    assert.equal(results.filter(Boolean).length, 1, 'only the first raise is a new incident');
    await settle();
    assert.equal(slack.delivered().length, 1);
    assert.equal(hook.delivered().length, 1);
    assert.equal(smtp.mails.length, 1);
    // A second order is a second incident.
    assert.equal(await sink.raise(exception('1002-A')), true);
    assert.equal(slack.delivered().length, 2);
    assert.equal(hook.delivered().length, 2);
    assert.equal(smtp.mails.length, 2);
  });

  test('Slack gets {text, blocks} naming owner, reason and order, with the incident key header', async () => {
    const sink = createConfiguredAlertSink(alertsConfig(), memoryLogger().log, { env });
    await sink.raise({
      ...exception('2001-A', 'POSTCODE_INVALID'),
      owner: 'customer-service',
      message: 'Order 2001-A: postcode "LS1 1AA" is not valid for GBR. Contact ann.lee@example.com <now>.',
    });
    const [req] = slack.delivered();
    assert.ok(req, 'Slack receiver got nothing');
    assert.equal(req.path, '/hook/services/T000/B000/XXXXSECRETTOKEN');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['x-loopline-alert-key'], 'exception:asos:2001-A:POSTCODE_INVALID');
    assert.deepEqual(Object.keys(req.json).sort(), ['blocks', 'text']);
    const text = req.json.text as string;
    assert.match(text, /customer-service: POSTCODE_INVALID on asos, order 2001-A/);
    const blocks = req.json.blocks as Array<{
      type: string;
      text?: { type: string; text: string };
      elements?: unknown[];
    }>;
    assert.equal(blocks[0]!.type, 'section');
    assert.equal(blocks[0]!.text!.type, 'mrkdwn');
    assert.match(blocks[0]!.text!.text, /^\*customer-service: POSTCODE_INVALID on asos, order 2001-A\*\n/);
    assert.equal(blocks[1]!.type, 'context');
    assert.ok(Array.isArray(blocks[1]!.elements) && blocks[1]!.elements.length >= 4);
    // No customer data leaves Loopline, and Slack's control characters are escaped.
    assert.doesNotMatch(req.raw, /LS1 1AA|ann\.lee|example\.com/);
    assert.match(text, /postcode "\[redacted\]"/);
    assert.match(text, /&lt;now&gt;/);
  });

  test('the JSON webhook is signed: HMAC-SHA256 over "<timestamp>.<raw body>" verifies with the shared secret', async () => {
    const sink = createConfiguredAlertSink(alertsConfig(), memoryLogger().log, { env });
    await sink.raise(exception('3001-A'));
    const [req] = hook.delivered();
    assert.ok(req, 'webhook receiver got nothing');
    const ts = req.headers['x-loopline-timestamp'] as string;
    const sig = req.headers['x-loopline-signature'] as string;
    assert.match(ts, /^\d{10}$/);
    assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60, 'timestamp is now');
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${req.raw}`).digest('hex')}`;
    assert.equal(sig, expected);
    const forged = `sha256=${createHmac('sha256', 'another-secret').update(`${ts}.${req.raw}`).digest('hex')}`;
    assert.notEqual(sig, forged);
    const tampered = `sha256=${createHmac('sha256', SECRET)
      .update(`${ts}.${req.raw.replace('3001-A', '3002-A')}`)
      .digest('hex')}`;
    assert.notEqual(sig, tampered);
    assert.equal(req.headers['x-loopline-alert-key'], 'exception:asos:3001-A:SKU_UNMAPPED');
    assert.deepEqual(
      { ...req.json, raisedAt: undefined },
      {
        key: 'exception:asos:3001-A:SKU_UNMAPPED',
        kind: 'exception',
        channel: 'asos',
        orderId: '3001-A',
        reason: 'SKU_UNMAPPED',
        owner: 'merchandising',
        message: 'Order 3001-A line L1: offer SKU "TEE-RED-M" has no item code in the warehouse.',
        raisedAt: undefined,
      },
    );
  });

  test('the email arrives with a subject naming the owner and the reason', async () => {
    const sink = createConfiguredAlertSink(alertsConfig(), memoryLogger().log, { env });
    await sink.raise(exception('4001-A'));
    assert.equal(smtp.mails.length, 1);
    const mail = smtp.mails[0]!;
    assert.equal(mail.from, 'alerts@loopline.example');
    assert.deepEqual(mail.to, ['merch@brand.example']);
    assert.equal(mail.headers.subject, '[Loopline] merchandising: SKU_UNMAPPED on asos, order 4001-A');
    assert.equal(mail.headers['x-loopline-alert-key'], 'exception:asos:4001-A:SKU_UNMAPPED');
    assert.match(mail.headers['message-id'] ?? '', /^<alert-[0-9a-f]{32}@loopline>$/);
    assert.match(mail.body, /offer SKU "TEE-RED-M" has no item code/);
    assert.match(mail.body, /Owner: merchandising/);
  });

  test('each sink takes only its owners and kinds', async () => {
    const cfg = alertsConfig(
      {},
      { 'ops-slack': { owners: ['ops'] }, erp: { kinds: ['deadline'] }, mail: { owners: ['merchandising'] } },
    );
    const sink = createConfiguredAlertSink(cfg, memoryLogger().log, { env });
    await sink.raise(exception('5001-A')); // merchandising exception
    await sink.raise({
      key: 'deadline:asos:5002-A:acceptance:50',
      kind: 'deadline',
      channel: 'asos',
      orderId: '5002-A',
      owner: 'ops',
      message: 'Order 5002-A (asos): 50% of the acceptance window has passed and it is not accepted yet.',
    });
    await sink.raise({
      key: 'sync:joules:1700000000000',
      kind: 'sync',
      channel: 'joules',
      reason: 'STOCK_SYNC_STALE',
      owner: 'ops',
      message: 'Stock on joules has not been pushed for 12 minutes; 40 changes wait.',
    });
    assert.deepEqual(
      slack.delivered().map((r) => r.headers['x-loopline-alert-key']),
      ['deadline:asos:5002-A:acceptance:50', 'sync:joules:1700000000000'],
    );
    assert.deepEqual(
      hook.delivered().map((r) => r.json.key),
      ['deadline:asos:5002-A:acceptance:50'],
    );
    assert.deepEqual(
      smtp.mails.map((m) => m.headers['x-loopline-alert-key']),
      ['exception:asos:5001-A:SKU_UNMAPPED'],
    );
  });

  test('rate limit: beyond the bucket alerts are counted, and the next message says how many were suppressed', async () => {
    let t = Date.parse('2025-03-01T09:00:00Z');
    // (Burst grouping off here: these are many exceptions of one reason.)
    const cfg = alertsConfig({ burst: { threshold: 1000 } }, { erp: { rateLimit: { perMinute: 1, burst: 2 } } });
    cfg.sinks = cfg.sinks.filter((s) => s.name === 'erp');
    const sink = createConfiguredAlertSink(cfg, memoryLogger().log, { env, now: () => t });
    for (let i = 1; i <= 5; i++) await sink.raise(exception(`600${i}-A`, 'WMS_REJECTED'));
    assert.equal(hook.delivered().length, 2, 'a bucket of 2 lets two through at once');
    t += 60_000; // one token back
    await sink.raise(exception('6006-A', 'WMS_REJECTED'));
    const third = hook.delivered()[2];
    assert.ok(third, 'one more after a minute');
    assert.equal(third.json.orderId, '6006-A');
    assert.deepEqual(third.json.suppressed, { count: 3, since: '2025-03-01T09:00:00.000Z' });
    await sink.raise(exception('6007-A', 'WMS_REJECTED'));
    assert.equal(hook.delivered().length, 3, 'the bucket is empty again');
    t += 60_000;
    await sink.raise(exception('6008-A', 'WMS_REJECTED'));
    assert.deepEqual(hook.delivered()[3]!.json.suppressed, { count: 1, since: '2025-03-01T09:01:00.000Z' });
  });

  test('the Slack message carries the suppressed count too', async () => {
    let t = Date.parse('2025-03-01T10:00:00Z');
    const cfg = alertsConfig(
      { burst: { threshold: 1000 } },
      { 'ops-slack': { rateLimit: { perMinute: 1, burst: 1 } } },
    );
    cfg.sinks = cfg.sinks.filter((s) => s.name === 'ops-slack');
    const sink = createConfiguredAlertSink(cfg, memoryLogger().log, { env, now: () => t });
    for (let i = 1; i <= 13; i++) await sink.raise(exception(`610${i}-A`, 'WMS_REJECTED'));
    t += 60_000;
    await sink.raise(exception('6200-A', 'WMS_REJECTED'));
    assert.equal(slack.delivered().length, 2);
    assert.match(slack.delivered()[1]!.json.text as string, /12 more alerts suppressed/);
  });

  test('a burst of one reason is one burst alert, not a flood', async () => {
    let t = Date.parse('2025-03-01T11:00:00Z');
    const cfg = alertsConfig({ burst: { threshold: 5, windowMinutes: 10 } });
    cfg.sinks = cfg.sinks.filter((s) => s.name === 'erp');
    const sink = createConfiguredAlertSink(cfg, memoryLogger().log, { env, now: () => t });
    for (let i = 1; i <= 7; i++) {
      await sink.raise(exception(`700${i}-A`));
      t += 60_000;
    }
    // A retried raise of the exception that tipped it over sends nothing new.
    await sink.raise(exception('7005-A'));
    // Another reason, and the same reason on another channel, are not part of the burst.
    await sink.raise(exception('7100-A', 'CARRIER_UNMAPPED'));
    await sink.raise(exception('7200-J', 'SKU_UNMAPPED', 'joules'));
    const got = hook.delivered().map((r) => r.json);
    const bursts = got.filter((j) => j.kind === 'burst');
    assert.equal(bursts.length, 1, JSON.stringify(got, null, 2));
    assert.equal(
      bursts[0]!.message,
      '5 orders parked with SKU_UNMAPPED on asos in the last 10 minutes — likely a catalogue change. Further SKU_UNMAPPED exceptions on asos are held back while the burst lasts; see the exception queue.',
    );
    assert.equal(bursts[0]!.owner, 'merchandising');
    assert.deepEqual(
      got.map((j) => (j.kind === 'burst' ? 'burst' : j.orderId)),
      ['7001-A', '7002-A', '7003-A', '7004-A', 'burst', '7100-A', '7200-J'],
    );
    // Ten quiet minutes end the burst; the next one is an ordinary alert again.
    t += 11 * 60_000;
    await sink.raise(exception('7300-A'));
    assert.equal(hook.delivered().at(-1)!.json.orderId, '7300-A');
  });

  test('a failed delivery fails the raise a bounded number of times, never re-sends to a sink that took it, then gives up', async () => {
    const { log, lines } = memoryLogger();
    const cfg = alertsConfig(); // attempts 1, activityRetries 2
    const sink = createConfiguredAlertSink(cfg, log, { env });
    slack.failNext(100, 503);
    const a = exception('8001-A');
    await assert.rejects(sink.raise(a), AlertDeliveryError);
    await assert.rejects(sink.raise(a), AlertDeliveryError);
    assert.equal(await sink.raise(a), true, 'the third failure is logged and the raise succeeds');
    assert.equal(await sink.raise(a), false, 'then it is an old incident');
    assert.equal(slack.requests.length, 3, 'Slack was tried once per raise');
    assert.equal(hook.delivered().length, 1, 'the webhook took it the first time and never saw it again');
    assert.equal(smtp.mails.length, 1);
    const logged = lines.join('');
    assert.match(logged, /alert sink failed/);
    assert.match(logged, /HTTP 503/);
    assert.match(logged, /alert delivery abandoned/);
    assert.doesNotMatch(logged, /XXXXSECRETTOKEN/, 'the Slack URL is a secret and is never logged');
  });

  test('a transient failure is retried inside the sink before the raise gives up', async () => {
    const cfg = alertsConfig({ delivery: { attempts: 3, timeoutMs: 2000, activityRetries: 0 } });
    const sink = createConfiguredAlertSink(cfg, memoryLogger().log, { env, backoffMs: 10 });
    hook.failNext(2);
    assert.equal(await sink.raise(exception('8101-A')), true);
    assert.deepEqual(
      hook.requests.map((r) => r.status),
      [500, 500, 200],
    );
    // An unreachable sink (nothing listens) is logged and does not throw once retries are exhausted.
    const closed = await startHttpReceiver();
    await closed.close();
    const dead = AlertsSchema.parse({
      delivery: { attempts: 1, timeoutMs: 1000, activityRetries: 0 },
      sinks: [{ type: 'webhook', name: 'dead', url: closed.url }],
    });
    const { log, lines } = memoryLogger();
    assert.equal(await createConfiguredAlertSink(dead, log, { env }).raise(exception('8102-A')), true);
    assert.match(lines.join(''), /ECONNREFUSED/);
  });
});

describe('alerts config', () => {
  const base = `
systems:
  peoplevox: { baseUrl: http://127.0.0.1:1/peoplevox, clientId: c, username: u, passwordEnv: PVX_PASSWORD }
`;

  test('the runtime builds its sink from the alerts block', async () => {
    const config = parseConfig(
      `${base}
alerts:
  dedupeWindowMinutes: 60
  sinks:
    - { type: webhook, name: erp, url: "${hook.url}", secretEnv: LOOPLINE_HOOK_SECRET, kinds: [sync] }
`,
      'test',
    );
    assert.equal(config.alerts.burst.threshold, 5, 'defaults fill in');
    const saved = { ...process.env };
    process.env.PVX_PASSWORD = 'x';
    process.env.LOOPLINE_HOOK_SECRET = SECRET;
    try {
      const runtime = createRuntime(config, memoryLogger().log);
      await runtime.alerts.raise({
        key: 'sync:asos:1',
        kind: 'sync',
        channel: 'asos',
        reason: 'STOCK_SYNC_STALE',
        owner: 'ops',
        message: 'Stock on asos has not been pushed for 11 minutes.',
      });
      await runtime.alerts.raise(exception('9001-A'));
    } finally {
      process.env = saved;
    }
    assert.deepEqual(
      hook.delivered().map((r) => r.json.key),
      ['sync:asos:1'],
    );
  });

  test('a config without an alerts block is valid and logs only', () => {
    const config = parseConfig(base, 'test');
    assert.deepEqual(config.alerts.sinks, []);
    assert.equal(config.alerts.dedupeWindowMinutes, 1440);
  });

  test('mistakes are explained: a URL where a variable name belongs, both url and urlEnv, duplicate names', () => {
    const bad = `${base}
alerts:
  sinks:
    - { type: slack, name: a, urlEnv: "https://hooks.slack.com/services/T/B/X" }
    - { type: webhook, name: a, url: "https://example.com/h", urlEnv: HOOK_URL }
    - { type: email, name: m, smtp: { host: smtp.example.com, userEnv: SMTP_USER }, from: a@b.example, to: [not-an-address] }
`;
    assert.throws(
      () => parseConfig(bad, 'test'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.problems.join('\n');
        assert.match(text, /alerts\.sinks\[0\]\.urlEnv.*NAME of an environment variable/);
        assert.match(text, /exactly one of `url` or `urlEnv`/);
        assert.match(text, /duplicate sink name "a"/);
        assert.match(text, /both `userEnv` and `passwordEnv`/);
        assert.match(text, /alerts\.sinks\[2\]\.to\[0\]/);
        return true;
      },
    );
  });

  test('a sink whose secret variable is not set stops the process at start, naming the variable', () => {
    const cfg = AlertsSchema.parse({ sinks: [{ type: 'slack', name: 's', urlEnv: 'NOT_SET_SLACK_URL' }] });
    assert.throws(
      () => createConfiguredAlertSink(cfg, memoryLogger().log, { env: {} }),
      /alerts\.sinks\[s\]\.urlEnv: environment variable NOT_SET_SLACK_URL is not set/,
    );
  });
});
