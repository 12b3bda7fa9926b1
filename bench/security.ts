// `npm run bench:security`: the leak scan and the attack cases, counted (docs/security.md).
// Runs the whole e2e suite (test/e2e, the 1,000-order fault run included) and the security tests that use
// the full stack (test/security/attacks, test/security/encrypted-history) on a fresh Temporal dev server,
// through `npm test`'s own runner, with LOOPLINE_SECURITY_REPORT_DIR set: every test stack then writes,
// when it stops, what its leak scan found in every log line Loopline wrote and in every raw history event
// of every workflow it ran (test/support/scan.ts), and the attack file writes its tally. This script adds
// them up into bench/results/security.json:
//   secrets_in_logs        log lines holding a sandbox secret (API key, password, token, callback
//                          secret, payload key, or their base64 forms)
//   pii_in_logs            log lines holding a customer's name, email, phone, street or postcode
//   secrets_in_history     raw history events holding a sandbox secret
//   pii_in_history_clear   raw history events holding customer data in clear (payloads decoded from
//                          base64 when they are not encrypted)
//   attack_cases, attack_cases_refused   from test/security/attacks.test.ts
// Options: LOOPLINE_FAULT_ORDERS=n runs a smaller fault batch while iterating (the JSON records it).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, readTemporalTools } from '../src/devtools/tools';
import type { ScanReport } from '../test/support/scan';

const FILES = ['test/e2e', 'test/security/attacks', 'test/security/encrypted-history'];

async function main() {
  const reportDir = mkdtempSync(join(tmpdir(), 'loopline-security-bench-'));
  const started = Date.now();
  const loadAtStart = loadavg();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/devtools/run-tests.ts', ...FILES], {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      env: { ...process.env, LOOPLINE_SECURITY_REPORT_DIR: reportDir },
    });
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  const files = readdirSync(reportDir);
  const scans = files
    .filter((f) => f.startsWith('scan-'))
    .map((f) => JSON.parse(readFileSync(join(reportDir, f), 'utf8')) as ScanReport);
  const attacks = files
    .filter((f) => f.startsWith('attacks-'))
    .map(
      (f) =>
        JSON.parse(readFileSync(join(reportDir, f), 'utf8')) as {
          attack_cases: number;
          attack_cases_refused: number;
          cases: Array<{ name: string; refused: boolean }>;
        },
    );
  const sum = (k: keyof ScanReport) => scans.reduce((s, r) => s + (r[k] as number), 0);
  const result = {
    measured_at: new Date().toISOString(),
    test_files: FILES,
    tests_passed: code === 0,
    seconds: Math.round((Date.now() - started) / 1000),
    fault_orders: Number(process.env.LOOPLINE_FAULT_ORDERS ?? 1000),
    secrets_in_logs: sum('secretsInLogs'),
    pii_in_logs: sum('piiInLogs'),
    secrets_in_history: sum('secretsInHistory'),
    pii_in_history_clear: sum('piiInHistoryClear'),
    attack_cases: attacks.reduce((s, a) => s + a.attack_cases, 0),
    attack_cases_refused: attacks.reduce((s, a) => s + a.attack_cases_refused, 0),
    scanned: {
      stacks: scans.length,
      log_lines: sum('logLines'),
      workflows: sum('workflows'),
      history_events: sum('historyEvents'),
      secret_needles: Math.max(0, ...scans.map((s) => s.needles.secrets)),
      customer_values: scans.reduce((s, r) => s + r.needles.pii, 0),
    },
    per_file: scans.map((s) => ({
      file: s.name,
      scan_seconds: Math.round((s.scanMs ?? 0) / 100) / 10,
      log_lines: s.logLines,
      workflows: s.workflows,
      history_events: s.historyEvents,
      customer_values: s.needles.pii,
      secrets_in_logs: s.secretsInLogs,
      pii_in_logs: s.piiInLogs,
      secrets_in_history: s.secretsInHistory,
      pii_in_history_clear: s.piiInHistoryClear,
      findings: s.findings.slice(0, 10),
    })),
    refused_cases_not_refused: attacks.flatMap((a) => a.cases.filter((c) => !c.refused).map((c) => c.name)),
    machine: {
      cores: cpus().length,
      node: process.version,
      temporal_cli: readTemporalTools().cli.version,
      load_average_start: loadAtStart,
      load_average_end: loadavg(),
    },
  };
  const out = join(PROJECT_ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'security.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `security: ${result.secrets_in_logs} secret(s) in logs, ${result.pii_in_logs} PII in logs, ${result.secrets_in_history} secret(s) in history, ` +
      `${result.pii_in_history_clear} PII in history in clear; ${result.attack_cases_refused}/${result.attack_cases} attacks refused; ` +
      `${result.scanned.log_lines} log lines and ${result.scanned.history_events} history events of ${result.scanned.workflows} workflows scanned ` +
      `→ bench/results/security.json\n`,
  );
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
