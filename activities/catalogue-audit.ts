// Catalogue audit activities (docs/catalogue-audit.md).
//
// auditChannelCatalogue: reads one channel's offers (Mirakl OF52 full export; OF21 paging when the export
// is refused, fails or times out), the warehouse's item codes ('Item types') and stock ('Item inventory
// summary'), compares them (src/audit/catalogue.ts), writes the CSV and JSON reports and returns counts,
// bounded samples and the report paths: the catalogue itself never enters workflow history. It heartbeats
// its progress ({phase, done, total}) on every page; `loopline audit catalogue` shows it as a progress bar.
//
// raiseCatalogueFindings: one merchandising exception workflow per channel and finding kind
// (catalogue-exception:<channel>:<kind>), opened or updated with the run's count and sample, and cleared
// when a later run finds none.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import { availabilityRows, type PeoplevoxClient } from '../src/connectors/peoplevox/client';
import { ITEM_INVENTORY_SUMMARY_REPORT, ITEM_TYPES_TEMPLATE } from '../src/connectors/peoplevox/map';
import {
  FINDING_KINDS,
  compareCatalogue,
  emptyCounts,
  findingLabel,
  type AuditOffer,
  type FindingKind,
} from '../src/audit/catalogue';
import { writeReports, type ChannelAuditSummary, type OfferSource } from '../src/audit/report';
import { ConnectorError } from '../src/connectors/errors';
import { toActivityFailure } from './errors';
import { catalogueAuditWorkflow, latestExports, type CatalogueAuditResult } from '../workflows/catalogue-audit';
import { syncFindingsException } from './exception-findings';

/** Heartbeat details of auditChannelCatalogue: what the CLI's progress bar shows. */
export interface AuditProgress {
  channel: string;
  phase: 'offers' | 'items' | 'stock' | 'report';
  done: number;
  total?: number;
  api?: 'OF52' | 'OF21' | 'Item types' | 'Item inventory summary';
}

export interface CatalogueAuditDeps {
  config: Config;
  client: Client;
  mirakl(channel: string): MiraklClient;
  peoplevox: PeoplevoxClient;
  log: Logger;
  /** Sandbox time scale: waits between Mirakl calls are divided by it. */
  timeScale?: number;
}

export const PVX_AUDIT_PAGE_SIZE = 1000;
/** Audits that closed within this long are read for the day's exports (a day, with room for a late run)… */
const FULL_EXPORT_LOOKBACK_MS = 2 * 86_400_000;
/** …the latest this many of them (a few a day). */
const FULL_EXPORT_LOOKBACK_RUNS = 20;

/** The OF52 export an attempt asked for: heartbeated with the progress so that a retry resumes it. */
interface ExportState {
  requestedAt?: string;
  trackingId?: string;
}
const ResumeDetails = z.object({
  export: z.object({ requestedAt: z.string().optional(), trackingId: z.string().optional() }).optional(),
});

/** One row of an OF54 JSON chunk. Field names follow the export's naming (snake_case, kebab-case or camelCase). */
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional();
const ExportRowSchema = z.object({
  sku: z.string().min(1),
  quantity: z.coerce.number().int(),
  active: bool,
  deleted: bool,
});

export function parseExportRow(r: Record<string, unknown>) {
  return ExportRowSchema.safeParse({
    sku: r.shop_sku ?? r['shop-sku'] ?? r.shopSku,
    quantity: r.quantity ?? 0,
    active: r.active,
    deleted: r.deleted,
  });
}

export function catalogueExceptionWorkflowId(channel: string, kind: FindingKind): string {
  return `catalogue-exception:${channel}:${kind}`;
}

export function createCatalogueAuditActivities(deps: CatalogueAuditDeps) {
  const { config, log } = deps;
  const settings = config.audit.catalogue;
  const scale = deps.timeScale ?? 1;

  /**
   * Each running attempt's OF52 export (resumed from the last attempt's heartbeat, so that a retry never asks
   * for another), by activity context: attempts for several channels or audits may run side by side.
   */
  const exports = new WeakMap<Context, ExportState>();
  const exportOf = (): ExportState => exports.get(Context.current()) ?? {};
  const setExport = (e: ExportState) => exports.set(Context.current(), e);
  const beat = (p: AuditProgress) => Context.current().heartbeat({ ...p, export: exportOf() });
  const sleep = (ms: number) => Context.current().sleep(Math.max(1, Math.round(ms / scale)));

  /**
   * OF52 full export with inactive offers, OF53 polled no more than Mirakl allows, OF54 chunks. The time of the
   * request is heartbeated before it is sent (a lost response still used the day's export), and the tracking id
   * once known, so that a retried attempt polls the same export instead of asking for a second one.
   */
  async function offersByExport(channel: string, mirakl: MiraklClient): Promise<Map<string, AuditOffer>> {
    const offers = new Map<string, AuditOffer>();
    let state = exportOf();
    if (!state.trackingId) {
      if (state.requestedAt)
        throw new Error(`the export requested at ${state.requestedAt} gave no tracking id (lost response)`);
      setExport({ requestedAt: new Date().toISOString() });
      beat({ channel, phase: 'offers', done: 0, api: 'OF52' });
      const trackingId = await mirakl.startOfferExport({ includeInactive: true, itemsPerChunk: 10_000 });
      setExport({ ...exportOf(), trackingId });
      state = exportOf();
    }
    const trackingId = state.trackingId!;
    const deadline = Date.parse(state.requestedAt!) + (settings.exportTimeoutMinutes * 60_000) / scale;
    let urls: string[] | undefined;
    for (let polls = 0; ; polls++) {
      beat({ channel, phase: 'offers', done: 0, api: 'OF52' });
      const status = await mirakl.offerExportStatus(trackingId);
      if (status.status === 'COMPLETED') {
        urls = status.urls ?? [];
        break;
      }
      if (status.status === 'FAILED')
        throw new Error(`export failed: ${status.error?.code ?? ''} ${status.error?.detail ?? ''}`.trim());
      if (Date.now() > deadline) throw new Error(`export not ready after ${settings.exportTimeoutMinutes} min`);
      // OF53: "Maximum usage: every 10 seconds".
      await sleep(settings.exportPollSeconds * 1000);
    }
    let chunk = 0;
    for (const url of urls) {
      const rows = await mirakl.offerExportChunk(url);
      for (const raw of rows) {
        const row = parseExportRow(raw);
        if (!row.success) throw new Error(`export row has an unexpected shape: ${row.error.message.slice(0, 200)}`);
        const r = row.data;
        if (r.deleted) continue;
        offers.set(r.sku, { sku: r.sku, quantity: r.quantity, active: (r.active ?? true) && r.quantity > 0 });
      }
      beat({ channel, phase: 'offers', done: offers.size, total: undefined, api: 'OF52' });
      chunk += 1;
    }
    log.debug({ channel, chunks: chunk, offers: offers.size }, 'OF52 export read');
    return offers;
  }

  /** OF21 offset paging, 100 per page, paced (OF21 is meant for page views, not bulk reads). */
  async function offersByPaging(channel: string, mirakl: MiraklClient): Promise<Map<string, AuditOffer>> {
    const offers = new Map<string, AuditOffer>();
    const gapMs = 1000 / settings.offerPagesPerSecond;
    let offset = 0;
    for (;;) {
      const page = await mirakl.listOffers({ offset, max: 100 });
      for (const o of page.offers) {
        offers.set(o.shop_sku, {
          sku: o.shop_sku,
          quantity: o.quantity,
          active: (o.active ?? true) && o.quantity > 0,
        });
      }
      offset += page.offers.length;
      beat({ channel, phase: 'offers', done: offset, total: page.totalCount, api: 'OF21' });
      if (page.offers.length === 0 || offset >= page.totalCount) return offers;
      await sleep(gapMs);
    }
  }

  async function readOffers(
    channel: string,
    fullExport: true | string,
  ): Promise<{ offers: Map<string, AuditOffer>; source: OfferSource }> {
    const mirakl = deps.mirakl(channel);
    const paged = async (reason: string): Promise<{ offers: Map<string, AuditOffer>; source: OfferSource }> => {
      try {
        const offers = await offersByPaging(channel, mirakl);
        return {
          offers,
          source: { api: 'OF21', fallbackReason: reason, fullExportRequestedAt: exportOf().requestedAt },
        };
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', 'OF21', 'SYSTEM_UNAVAILABLE', {
          channel,
          fullExportRequestedAt: exportOf().requestedAt,
        });
      }
    };
    // The workflow knows when this shop's last full export was asked for: within the day, page OF21 at once.
    if (fullExport !== true) return paged(fullExport);
    try {
      const offers = await offersByExport(channel, mirakl);
      return { offers, source: { api: 'OF52', fullExportRequestedAt: exportOf().requestedAt } };
    } catch (err) {
      // A full OF52 export is allowed once a day; one refused (429: another client, or a run Loopline does not
      // remember, such as the CLI's), failed or timed out pages OF21.
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof ConnectorError && err.status === 429 && !exportOf().trackingId)
        // Refused: no export was made, but none is allowed yet either; the next run counts the day from then.
        setExport({ requestedAt: exportOf().requestedAt ?? new Date().toISOString() });
      log.info({ channel, reason }, 'OF52 export unavailable; paging OF21');
      return paged(reason);
    }
  }

  /** Every page of a Peoplevox read (the client paces each request: ~15 per 15 s holds). */
  async function pvxPages(
    channel: string,
    phase: 'items' | 'stock',
    fetch: (pageNo: number) => Promise<{ rows: Record<string, string>[]; totalCount: number }>,
    onRow: (r: Record<string, string>) => void,
  ) {
    let read = 0;
    for (let pageNo = 1; ; pageNo++) {
      let page;
      try {
        page = await fetch(pageNo);
      } catch (err) {
        throw toActivityFailure(
          err,
          'peoplevox',
          phase === 'items' ? 'GetData' : 'GetReportData',
          'SYSTEM_UNAVAILABLE',
        );
      }
      page.rows.forEach(onRow);
      read += page.rows.length;
      beat({
        channel,
        phase,
        done: read,
        total: page.totalCount,
        api: phase === 'items' ? 'Item types' : 'Item inventory summary',
      });
      if (page.rows.length < PVX_AUDIT_PAGE_SIZE || read >= page.totalCount) return;
    }
  }

  return {
    async auditChannelCatalogue(input: {
      channel: string;
      auditId: string;
      /**
       * true: ask for a full OF52 export (unless a previous attempt of this activity already did); a sentence:
       * why not (the day's export is used), and OF21 is paged straight away. Absent: true.
       */
      fullExport?: true | string;
    }): Promise<ChannelAuditSummary> {
      const { channel } = input;
      const info = Context.current().info;
      const resumed = ResumeDetails.safeParse(info.heartbeatDetails);
      const known = resumed.success ? (resumed.data.export ?? {}) : {};
      // A retried attempt that did not get its predecessor's heartbeat (the SDK throttles and may not flush it)
      // cannot know whether an export was asked for: it takes the day's export as used (OF21, no second OF52).
      setExport(info.attempt > 1 && !known.requestedAt ? { requestedAt: new Date().toISOString() } : known);
      const ch = config.channels.find((c) => c.code === channel);
      if (!ch)
        throw toActivityFailure(
          new Error(`channel ${channel} is not configured`),
          'loopline',
          'audit',
          'UNEXPECTED_ERROR',
        );
      const startedAt = new Date().toISOString();

      const { offers, source } = await readOffers(channel, input.fullExport ?? true);

      const itemCodes: string[] = [];
      await pvxPages(
        channel,
        'items',
        (pageNo) => deps.peoplevox.getData(ITEM_TYPES_TEMPLATE, '', { pageNo, itemsPerPage: PVX_AUDIT_PAGE_SIZE }),
        (r) => {
          if (r.ItemCode) itemCodes.push(r.ItemCode);
        },
      );
      const available = new Map<string, number>();
      await pvxPages(
        channel,
        'stock',
        async (pageNo) => {
          const page = await deps.peoplevox.getReportData(ITEM_INVENTORY_SUMMARY_REPORT, {
            columns: ['Item code', 'Available'],
            pageNo,
            itemsPerPage: PVX_AUDIT_PAGE_SIZE,
          });
          // Without the columns every item would read as 0 in stock: refused instead (REPORT_MISSING_COLUMN).
          // Rows whose figure is unreadable are left out; the page's length still drives paging.
          for (const r of availabilityRows(page))
            available.set(r.itemCode, (available.get(r.itemCode) ?? 0) + r.available);
          return page;
        },
        () => undefined,
      );

      beat({ channel, phase: 'report', done: 0 });
      const result = compareCatalogue({
        offers: offers.values(),
        itemCodes,
        available,
        skuMap: ch.skuMap,
        buffer: ch.inventory.buffer,
        skuBuffers: ch.inventory.skuBuffers,
      });
      const samples = Object.fromEntries(FINDING_KINDS.map((k) => [k, [] as string[]])) as Record<
        FindingKind,
        string[]
      >;
      for (const f of result.findings)
        if (samples[f.kind].length < settings.sampleSize) samples[f.kind].push(findingLabel(f));
      const base = {
        auditId: input.auditId,
        channel,
        startedAt,
        finishedAt: new Date().toISOString(),
        offerSource: source,
        offers: result.offers,
        items: result.items,
        matched: result.matched,
        counts: result.counts,
        samples,
      };
      const paths = writeReports(base, result.findings, settings.reportsDir);
      beat({ channel, phase: 'report', done: 1, total: 1 });
      const summary: ChannelAuditSummary = { ...base, reportCsv: paths.csv, reportJson: paths.json };
      log.info(
        { channel, counts: summary.counts, source, offers: summary.offers, items: summary.items },
        'catalogue audit',
      );
      return summary;
    },

    /**
     * When each shop's last full OF52 export was asked for, as this deployment's catalogue audits that completed
     * in the last two days say (their results carry `lastFullExports` and `scope`): every run, whoever started
     * it (the Schedule, the CLI), pages OF21 rather than ask Mirakl for a second full export the same day.
     */
    async recentFullExports(): Promise<{ scope: string; lastFullExports: Record<string, string> }> {
      const scope = config.temporal.idScope ?? '';
      const since = new Date(Date.now() - FULL_EXPORT_LOOKBACK_MS).toISOString();
      const query = `WorkflowType = '${catalogueAuditWorkflow.name}' AND ExecutionStatus = 'Completed' AND CloseTime > '${since}'`;
      const runs: Array<{ workflowId: string; runId: string; closed: number }> = [];
      for await (const wf of deps.client.workflow.list({ query }))
        runs.push({ workflowId: wf.workflowId, runId: wf.runId, closed: wf.closeTime?.getTime() ?? 0 });
      runs.sort((a, b) => b.closed - a.closed);
      const records: Array<Record<string, string>> = [];
      for (const run of runs.slice(0, FULL_EXPORT_LOOKBACK_RUNS)) {
        const result = (await deps.client.workflow
          .getHandle(run.workflowId, run.runId)
          .result()
          .catch(() => undefined)) as CatalogueAuditResult | undefined;
        if (result && (result.scope ?? '') === scope) records.push(result.lastFullExports ?? {});
      }
      return { scope, lastFullExports: latestExports(...records) };
    },

    async raiseCatalogueFindings(input: {
      summary: ChannelAuditSummary;
      auditTaskQueue: string;
    }): Promise<{ opened: FindingKind[]; cleared: FindingKind[] }> {
      const { summary } = input;
      const out = { opened: [] as FindingKind[], cleared: [] as FindingKind[] };
      for (const kind of FINDING_KINDS) {
        const workflowId = catalogueExceptionWorkflowId(summary.channel, kind);
        const done = await syncFindingsException(deps.client, {
          workflowId,
          taskQueue: config.temporal.taskQueues.orders,
          input: {
            source: { check: 'catalogue-audit', auditTaskQueue: input.auditTaskQueue },
            channel: summary.channel,
            reason: kind,
            findings: {
              runId: summary.auditId,
              at: summary.finishedAt,
              count: summary.counts[kind] ?? emptyCounts()[kind],
              sample: summary.samples[kind] ?? [],
              reportCsv: summary.reportCsv,
              reportJson: summary.reportJson,
            },
          },
          owner: 'merchandising',
        });
        if (done === 'opened') out.opened.push(kind);
        if (done === 'cleared') out.cleared.push(kind);
      }
      return out;
    },
  };
}

export type CatalogueAuditActivities = ReturnType<typeof createCatalogueAuditActivities>;
