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
import { toActivityFailure } from './errors';
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

  const beat = (p: AuditProgress) => Context.current().heartbeat(p);
  const sleep = (ms: number) => Context.current().sleep(Math.max(1, Math.round(ms / scale)));

  /** OF52 full export with inactive offers, OF53 polled no more than Mirakl allows, OF54 chunks. */
  async function offersByExport(channel: string, mirakl: MiraklClient): Promise<Map<string, AuditOffer>> {
    const offers = new Map<string, AuditOffer>();
    const trackingId = await mirakl.startOfferExport({ includeInactive: true, itemsPerChunk: 10_000 });
    const deadline = Date.now() + (settings.exportTimeoutMinutes * 60_000) / scale;
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

  async function readOffers(channel: string): Promise<{ offers: Map<string, AuditOffer>; source: OfferSource }> {
    const mirakl = deps.mirakl(channel);
    try {
      return { offers: await offersByExport(channel, mirakl), source: { api: 'OF52' } };
    } catch (err) {
      // A full OF52 export is allowed once a day; a second audit that day (or an export that fails) pages OF21.
      const reason = err instanceof Error ? err.message : String(err);
      log.info({ channel, reason }, 'OF52 export unavailable; paging OF21');
      try {
        return { offers: await offersByPaging(channel, mirakl), source: { api: 'OF21', fallbackReason: reason } };
      } catch (err2) {
        throw toActivityFailure(err2, 'mirakl', 'OF21', 'SYSTEM_UNAVAILABLE', { channel });
      }
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
    async auditChannelCatalogue(input: { channel: string; auditId: string }): Promise<ChannelAuditSummary> {
      const { channel } = input;
      const ch = config.channels.find((c) => c.code === channel);
      if (!ch)
        throw toActivityFailure(
          new Error(`channel ${channel} is not configured`),
          'loopline',
          'audit',
          'UNEXPECTED_ERROR',
        );
      const startedAt = new Date().toISOString();

      const { offers, source } = await readOffers(channel);

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
