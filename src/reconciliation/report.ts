// The reconciliation's files, one CSV (for people; opens in a spreadsheet) and one JSON (for tools) per
// channel and billing cycle:  <reportsDir>/payout-reconciliation-<channel>-<cycleId>.csv / .json
// (the cycle id comes from Mirakl: sanitised before it becomes a file name; cells are formula-safe,
// src/reports/safe-files.ts).
// The JSON also marks the cycle as reconciled: the Schedule skips cycles whose JSON report exists
// (docs/reconciliation.md). Amounts: decimals in the CSV, integer minor units (…Minor) in the JSON.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { minorUnitExponent, toDecimalNumber } from '../domain/money';
import { formulaSafeCsv, insideDir, safeFileComponent } from '../reports/safe-files';
import { RECONCILIATION_KINDS, type CycleReconciliation, type JournalLine, type ReconciliationKind } from './types';

export const RECONCILIATION_CSV_COLUMNS = [
  'section',
  'kind',
  'order_id',
  'line_id',
  'shopify_order_id',
  'field',
  'gross',
  'shipping',
  'commission',
  'commission_vat',
  'refund',
  'net',
  'mirakl_amount',
  'expected_amount',
  'difference',
  'debit',
  'credit',
  'currency',
  'detail',
] as const;

/** What a run returns and the workflow keeps: counts, bounded samples, totals, journal and paths. */
export interface ReconciliationSummary {
  runId: string;
  channel: string;
  cycleId: string;
  currency: string;
  payOutState?: string;
  startedAt: string;
  finishedAt: string;
  rows: number;
  orders: number;
  lines: number;
  matchedLines: number;
  matchedOrders: number;
  counts: Record<ReconciliationKind, number>;
  /** Up to `sampleSize` labels per kind, for the exception sentence. */
  samples: Record<ReconciliationKind, string[]>;
  totals: CycleReconciliation['totals'];
  journal: JournalLine[];
  /** TL02 calls this run made. */
  tl02Calls: number;
  reportCsv: string;
  reportJson: string;
}

export function reconciliationReportPaths(reportsDir: string, channel: string, cycleId: string) {
  const name = `payout-reconciliation-${safeFileComponent(channel, 24)}-${safeFileComponent(cycleId)}`;
  return { csv: insideDir(reportsDir, `${name}.csv`), json: insideDir(reportsDir, `${name}.json`) };
}

export function isReconciled(reportsDir: string, channel: string, cycleId: string): boolean {
  return existsSync(reconciliationReportPaths(reportsDir, channel, cycleId).json);
}

function writeAtomic(path: string, content: string) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

export function reconciliationCsv(r: CycleReconciliation): string {
  const cur = r.currency;
  // Amounts are numbers (printed with the currency's decimals), so a negative one is not taken for a formula.
  const m = (minor: number | undefined) => (minor === undefined ? '' : toDecimalNumber(minor, cur));
  const decimals = minorUnitExponent(cur);
  type Row = Partial<Record<(typeof RECONCILIATION_CSV_COLUMNS)[number], string | number>>;
  const rows: Row[] = [];
  for (const l of r.matched)
    rows.push({
      section: 'matched',
      order_id: l.orderId,
      line_id: l.lineId,
      shopify_order_id: l.shopifyOrderId ?? '',
      gross: m(l.grossMinor),
      shipping: m(l.shippingMinor),
      commission: m(l.commissionMinor),
      commission_vat: m(l.commissionVatMinor),
      refund: m(l.refundMinor),
      net: m(l.netMinor),
    });
  for (const f of r.refunds)
    rows.push({
      section: 'refund',
      order_id: f.orderId,
      line_id: f.lineId,
      shopify_order_id: f.shopifyOrderId ?? '',
      mirakl_amount: m(f.miraklMinor),
      expected_amount: m(f.shopifyMinor),
    });
  for (const f of r.returnRefunds)
    rows.push({
      section: 'return_refund',
      kind:
        f.returnMinor === undefined
          ? 'PAYOUT_REFUND_NOT_RETURNED'
          : f.payoutMinor === undefined && !f.pendingState
            ? 'PAYOUT_RETURN_REFUND_MISSING'
            : '',
      order_id: f.orderId,
      line_id: f.lineId,
      field: f.refundId ?? '',
      mirakl_amount: m(f.payoutMinor),
      expected_amount: m(f.returnMinor),
      difference: f.payoutMinor !== undefined && f.returnMinor !== undefined ? m(f.payoutMinor - f.returnMinor) : '',
      detail: `${f.returnWorkflowId ?? ''}${f.pendingState ? ` (pending at the marketplace: ${f.pendingState})` : ''}`,
    });
  for (const f of r.fees)
    rows.push({ section: 'fee', field: f.type, order_id: f.orderId ?? '', net: m(f.amountMinor), detail: f.feeCode });
  for (const u of r.unmatchedMirakl)
    rows.push({
      section: 'unmatched_mirakl',
      kind: 'PAYOUT_ORDER_NOT_IN_SHOPIFY',
      order_id: u.orderId,
      line_id: u.lineId,
      net: m(u.netMinor),
      detail: u.why,
    });
  for (const u of r.unmatchedShopify)
    rows.push({
      section: 'unmatched_shopify',
      kind: 'PAYOUT_LINE_NOT_BILLED',
      order_id: u.orderId,
      line_id: u.lineId,
      shopify_order_id: u.shopifyOrderId,
      expected_amount: m(u.amountMinor),
    });
  for (const d of r.differences)
    rows.push({
      section: 'difference',
      kind: d.kind,
      order_id: d.orderId ?? '',
      line_id: d.lineId ?? '',
      shopify_order_id: d.shopifyOrderId ?? '',
      field: d.refundId ? `${d.field} ${d.refundId}` : d.field,
      mirakl_amount: m(d.miraklMinor),
      expected_amount: m(d.expectedMinor),
      difference: m(d.differenceMinor),
    });
  for (const j of r.journal)
    rows.push({
      section: 'journal',
      field: j.account,
      debit: m(j.debitMinor),
      credit: m(j.creditMinor),
      detail: j.description,
    });
  return stringifyCsv(
    rows.map((row) => RECONCILIATION_CSV_COLUMNS.map((c) => (c === 'currency' ? cur : (row[c] ?? '')))),
    formulaSafeCsv({
      header: true,
      columns: [...RECONCILIATION_CSV_COLUMNS],
      cast: { number: (n) => n.toFixed(decimals) },
    }),
  );
}

export function writeReconciliationReports(
  summary: Omit<ReconciliationSummary, 'reportCsv' | 'reportJson'>,
  r: CycleReconciliation,
  reportsDir: string,
): { csv: string; json: string } {
  const paths = reconciliationReportPaths(reportsDir, summary.channel, summary.cycleId);
  mkdirSync(resolve(reportsDir), { recursive: true });
  writeAtomic(paths.csv, reconciliationCsv(r));
  // The JSON last: its presence marks the cycle as reconciled.
  const doc = {
    ...summary,
    reportCsv: paths.csv,
    reportJson: paths.json,
    cycle: r.cycle,
    matched: r.matched,
    refunds: r.refunds,
    returnRefunds: r.returnRefunds,
    fees: r.fees,
    unmatchedMirakl: r.unmatchedMirakl,
    unmatchedShopify: r.unmatchedShopify,
    differences: r.differences,
  };
  writeAtomic(paths.json, `${JSON.stringify(doc, null, 2)}\n`);
  return paths;
}

export function emptySamples(): Record<ReconciliationKind, string[]> {
  return Object.fromEntries(RECONCILIATION_KINDS.map((k) => [k, [] as string[]])) as Record<
    ReconciliationKind,
    string[]
  >;
}
