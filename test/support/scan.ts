// The leak scan (docs/security.md): after a test stack has run, every log line Loopline wrote
// (test/support/scan-log.ts) and every raw history event of every workflow the stack ran, read from
// Temporal without the codec, are searched for
//   - the sandbox's secrets (API keys, passwords, tokens, the callback path secret, the payload key, and
//     their base64 forms), and
//   - the customer data of every order the stack's marketplaces held: names, email addresses, phone
//     numbers, street lines and postcodes.
// Strings that look like base64 are decoded and searched as well (a plaintext payload is base64 in the
// history's JSON). Encrypted payloads decode to random bytes, which match nothing. Any finding fails the
// test file; with LOOPLINE_SECURITY_REPORT_DIR set, the counts are also written there for
// bench/security.ts.
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, type Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { AxiosInstance } from 'axios';
import { SANDBOX_SECRETS } from '../../src/sandbox/secrets';

export interface Needle {
  /** What it is: the secret's variable, or the customer field. */
  what: string;
  kind: 'secret' | 'pii';
  /** Lower case. */
  text: string;
}

export interface Finding {
  where: 'log' | 'history';
  kind: 'secret' | 'pii';
  what: string;
  /** The workflow, for a history finding. */
  workflowId?: string;
  /** A short excerpt around the match. */
  excerpt: string;
}

export interface ScanReport {
  name: string;
  /** How long the scan took (reading the log, fetching and searching the histories). */
  scanMs?: number;
  logLines: number;
  workflows: number;
  historyEvents: number;
  needles: { secrets: number; pii: number };
  secretsInLogs: number;
  piiInLogs: number;
  secretsInHistory: number;
  piiInHistoryClear: number;
  findings: Finding[];
}

/** The sandbox's secrets, and the base64 forms they travel in (Peoplevox sends its password so). */
export function secretNeedles(extra: Record<string, string> = {}): Needle[] {
  const out: Needle[] = [];
  for (const [what, v] of Object.entries({ ...SANDBOX_SECRETS, ...extra })) {
    if (!v || v.length < 8) continue;
    out.push({ what, kind: 'secret', text: v.toLowerCase() });
    out.push({ what: `${what} (base64)`, kind: 'secret', text: Buffer.from(v).toString('base64').toLowerCase() });
  }
  return out;
}

interface ControlOrder {
  customer?: Record<string, string | undefined> & {
    shipping_address?: Record<string, string | undefined>;
    billing_address?: Record<string, string | undefined>;
  };
  customer_notification_email?: string;
  _sandbox?: { shippingAddress?: Record<string, string | undefined> };
}

/** Customer values of every order the stack's Mirakl channels hold (read from the simulator's control API). */
export async function customerNeedles(control: AxiosInstance, channels: readonly string[]): Promise<Needle[]> {
  const values = new Map<string, string>();
  const add = (what: string, v: string | undefined, min = 5) => {
    const t = v?.trim();
    // Short values (a first name like "Ann", a city) would match ordinary words: names are searched as
    // "first last" and as the last name when it is long enough.
    if (t && t.length >= min) values.set(t.toLowerCase(), what);
  };
  for (const ch of channels) {
    const { data } = await control.get(`/control/mirakl/${ch}/orders`);
    for (const o of (data as { orders: ControlOrder[] }).orders) {
      const people = [
        o.customer,
        o.customer?.shipping_address,
        o.customer?.billing_address,
        o._sandbox?.shippingAddress,
      ].filter(Boolean) as Array<Record<string, string | undefined>>;
      for (const p of people) {
        if (p.firstname && p.lastname) add('customer name', `${p.firstname} ${p.lastname}`);
        add('customer last name', p.lastname, 6);
        add('email', p.email);
        add('phone', p.phone, 8);
        add('street', p.street_1, 8);
        add('street', p.street_2, 8);
        add('postcode', p.zip_code, 6);
      }
      add('email', o.customer_notification_email);
    }
  }
  return [...values].map(([text, what]) => ({ what, kind: 'pii' as const, text }));
}

/** The buyers of a stack's Marketplacer invoices (names, emails, phones, streets, postcodes). */
export async function marketplacerCustomerNeedles(
  control: AxiosInstance,
  channels: readonly string[],
): Promise<Needle[]> {
  const values = new Map<string, string>();
  const add = (what: string, v: string | null | undefined, min = 5) => {
    const t = v?.trim();
    if (t && t.length >= min) values.set(t.toLowerCase(), what);
  };
  for (const ch of channels) {
    const { data } = await control.get(`/control/marketplacer/${ch}/invoices`);
    for (const inv of (data as { invoices: Array<Record<string, unknown>> }).invoices) {
      const s = (k: string) => (typeof inv[k] === 'string' ? (inv[k] as string) : undefined);
      if (s('buyerFirstName') && s('buyerSurname')) add('customer name', `${s('buyerFirstName')} ${s('buyerSurname')}`);
      add('customer last name', s('buyerSurname'), 6);
      add('email', s('buyerEmailAddress'));
      add('phone', s('buyerPhone'), 8);
      for (const a of [inv.shippingAddress, inv.buyerBillingAddress] as Array<Record<string, string | null> | null>) {
        if (!a) continue;
        add('street', a.address, 8);
        add('street', a.address2, 8);
        add('postcode', a.postcode, 6);
      }
    }
  }
  return [...values].map(([text, what]) => ({ what, kind: 'pii' as const, text }));
}

/**
 * Every string in a JSON tree, plus the text of every value that looks like base64. A long base64 string
 * (a payload's data: ciphertext when encrypted) is searched decoded only: its own letters are random, and
 * a six-letter surname turns up in a megabyte of random base64 now and then.
 */
export function haystack(json: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      const base64 = v.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(v);
      if (!base64 || v.length < 64) parts.push(v);
      if (base64) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(json);
  return parts.join('\n').toLowerCase();
}

function excerpt(hay: string, at: number, len: number): string {
  return hay.slice(Math.max(0, at - 40), at + len + 40).replace(/\s+/g, ' ');
}

export function search(hay: string, needles: readonly Needle[]): Array<{ needle: Needle; excerpt: string }> {
  const out: Array<{ needle: Needle; excerpt: string }> = [];
  for (const n of needles) {
    const at = hay.indexOf(n.text);
    if (at >= 0) out.push({ needle: n, excerpt: excerpt(hay, at, n.text.length) });
  }
  return out;
}

/** Scans a log file from `offset`: one count per line holding a secret, one per line holding customer data. */
export async function scanLogFile(
  file: string,
  offset: number,
  needles: readonly Needle[],
): Promise<{ lines: number; secretLines: number; piiLines: number; findings: Finding[] }> {
  const rl = createInterface({
    input: createReadStream(file, { start: offset, encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  let lines = 0;
  let secretLines = 0;
  let piiLines = 0;
  const findings: Finding[] = [];
  for await (const line of rl) {
    if (!line.trim()) continue;
    lines++;
    let hay = line.toLowerCase();
    try {
      hay = haystack(JSON.parse(line));
    } catch {
      // Not JSON: searched as it is.
    }
    const hits = search(hay, needles);
    if (hits.some((h) => h.needle.kind === 'secret')) secretLines++;
    if (hits.some((h) => h.needle.kind === 'pii')) piiLines++;
    for (const h of hits.slice(0, 3))
      if (findings.length < 50)
        findings.push({ where: 'log', kind: h.needle.kind, what: h.needle.what, excerpt: h.excerpt });
  }
  return { lines, secretLines, piiLines, findings };
}

/**
 * Scans the raw histories (no codec) of every workflow on the given task queues, closed or running: one
 * count per history event holding a secret or customer data in clear.
 */
export async function scanHistories(
  connection: Connection,
  namespace: string,
  taskQueues: readonly string[],
  needles: readonly Needle[],
  extraWorkflowIds: readonly string[] = [],
): Promise<{ workflows: number; events: number; secretEvents: number; piiEvents: number; findings: Finding[] }> {
  const raw = new Client({ connection, namespace });
  const runs = new Map<string, { workflowId: string; runId?: string }>();
  const query = taskQueues.map((q) => `TaskQueue = "${q}"`).join(' OR ');
  for await (const wf of raw.workflow.list({ query })) runs.set(`${wf.workflowId}/${wf.runId}`, wf);
  for (const id of extraWorkflowIds)
    if (![...runs.values()].some((r) => r.workflowId === id)) runs.set(id, { workflowId: id });
  let events = 0;
  let secretEvents = 0;
  let piiEvents = 0;
  const findings: Finding[] = [];
  const list = [...runs.values()];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < list.length) {
        const r = list[next++]!;
        let history: unknown;
        try {
          history = JSON.parse(historyToJSON(await raw.workflow.getHandle(r.workflowId, r.runId).fetchHistory()));
        } catch {
          continue; // Gone (retention) or never started: nothing to scan.
        }
        for (const ev of (history as { events?: unknown[] }).events ?? []) {
          events++;
          const hits = search(haystack(ev), needles);
          if (hits.some((h) => h.needle.kind === 'secret')) secretEvents++;
          if (hits.some((h) => h.needle.kind === 'pii')) piiEvents++;
          for (const h of hits.slice(0, 3))
            if (findings.length < 50)
              findings.push({
                where: 'history',
                kind: h.needle.kind,
                what: h.needle.what,
                workflowId: r.workflowId,
                excerpt: h.excerpt,
              });
        }
      }
    }),
  );
  return { workflows: list.length, events, secretEvents, piiEvents, findings };
}

/** Writes the report for bench/security.ts when LOOPLINE_SECURITY_REPORT_DIR is set. */
export function saveReport(report: ScanReport): void {
  const dir = process.env.LOOPLINE_SECURITY_REPORT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const safe = report.name.replace(/[^A-Za-z0-9._-]/g, '_');
  writeFileSync(join(dir, `scan-${safe}-${process.pid}-${Date.now()}.json`), `${JSON.stringify(report, null, 2)}\n`);
}

/** The assertion: nothing found. Names what leaked where, so the fix is obvious. */
export function assertClean(report: ScanReport): void {
  if (report.findings.length === 0) return;
  const lines = report.findings
    .slice(0, 15)
    .map((f) => `  ${f.where}${f.workflowId ? ` (${f.workflowId})` : ''}: ${f.kind} ${f.what}: …${f.excerpt}…`);
  throw new Error(
    `leak scan of ${report.name}: ${report.secretsInLogs} log line(s) with a secret, ${report.piiInLogs} with customer data; ` +
      `${report.secretsInHistory} history event(s) with a secret, ${report.piiInHistoryClear} with customer data in clear\n${lines.join('\n')}`,
  );
}
