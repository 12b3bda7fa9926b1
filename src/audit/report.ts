// The catalogue audit's files: one CSV (for people, opens in a spreadsheet) and one JSON (for tools) per
// channel and run, under the configured reports directory:
//   <reportsDir>/catalogue-audit-<channel>-<YYYY-MM-DD>.csv / .json
// A second run on the same day replaces that day's files (the latest audit is the one that counts).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { formulaSafeCsv, insideDir, safeFileComponent } from '../reports/safe-files';
import { FINDING_KINDS, type AuditFinding, type FindingKind } from './catalogue';

export const REPORT_COLUMNS = [
  'kind',
  'offer_sku',
  'item_code',
  'offer_quantity',
  'offer_active',
  'warehouse_available',
  'sellable',
  'detail',
] as const;

/** Where the offers came from, and why the export was not used when it was not. */
export interface OfferSource {
  api: 'OF52' | 'OF21';
  fallbackReason?: string;
  /**
   * When this run asked Mirakl for a full OF52 export (ISO time), whether or not the export was then read: Mirakl
   * allows one a day, so the next run waits for the day to pass or pages OF21 (workflows/catalogue-audit.ts).
   */
  fullExportRequestedAt?: string;
}

/** What a run returns and keeps in its JSON report header: counts and paths, never the catalogue. */
export interface ChannelAuditSummary {
  auditId: string;
  channel: string;
  startedAt: string;
  finishedAt: string;
  offerSource: OfferSource;
  offers: number;
  items: number;
  matched: number;
  counts: Record<FindingKind, number>;
  /** Up to `sampleSize` SKUs per finding kind, for the exception sentence. */
  samples: Record<FindingKind, string[]>;
  reportCsv: string;
  reportJson: string;
}

export function reportPaths(reportsDir: string, channel: string, date: Date): { csv: string; json: string } {
  const day = date.toISOString().slice(0, 10);
  const name = `catalogue-audit-${safeFileComponent(channel, 24)}-${day}`;
  return { csv: insideDir(reportsDir, `${name}.csv`), json: insideDir(reportsDir, `${name}.json`) };
}

function writeAtomic(path: string, content: string) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

export function findingsCsv(findings: AuditFinding[]): string {
  return stringifyCsv(
    findings.map((f) => [
      f.kind,
      f.offerSku,
      f.itemCode,
      f.offerQuantity ?? '',
      f.offerActive === undefined ? '' : String(f.offerActive),
      f.warehouseAvailable ?? '',
      f.sellable ?? '',
      f.detail,
    ]),
    // SKUs and details come from the marketplace and the warehouse: no cell may be a formula.
    formulaSafeCsv({ header: true, columns: [...REPORT_COLUMNS] }),
  );
}

export function writeReports(
  summary: Omit<ChannelAuditSummary, 'reportCsv' | 'reportJson'>,
  findings: AuditFinding[],
  reportsDir: string,
): { csv: string; json: string } {
  const paths = reportPaths(reportsDir, summary.channel, new Date(summary.startedAt));
  mkdirSync(resolve(reportsDir), { recursive: true });
  writeAtomic(paths.csv, findingsCsv(findings));
  const byKind = Object.fromEntries(FINDING_KINDS.map((k) => [k, findings.filter((f) => f.kind === k)]));
  writeAtomic(
    paths.json,
    `${JSON.stringify({ ...summary, reportCsv: paths.csv, reportJson: paths.json, findings: byKind }, null, 2)}\n`,
  );
  return paths;
}
