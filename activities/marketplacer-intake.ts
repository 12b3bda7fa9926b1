// Intake for Marketplacer channels, behind the same activities as Mirakl's (pollChannelOrders, handOverOrdersById)
// and through the same hand-over (activities/intake.ts): every invoice is one order workflow.
//   poll        the backstop: invoices(updatedSince) pages, oldest first, resumed from the heartbeat's cursor; the
//               first poll of a channel (no watermark) reads the invoices not fully dispatched, not years of history
//   byIds       what the webhooks named (workflows/marketplace-events.ts): Relay ids in one `nodes` read per 100,
//               or invoice numbers (legacy ids: an operator's restart, an unreadable order's recheck)
// An invoice that cannot be read is its own ORDER_UNREADABLE exception, never a failed page.
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ChannelConfig, Config } from '../src/config/schema';
import type { InvoiceRecord, MarketplacerClient } from '../src/connectors/marketplacer/client';
import { toMarketplaceOrder } from '../src/connectors/marketplacer/map';
import type { MpInvoice } from '../src/connectors/marketplacer/schemas';
import type { MarketplaceOrder } from '../src/domain/order';
import type { ReservationChange } from '../src/inventory/ledger';
import { toActivityFailure } from './errors';
import type { PollResult } from './intake';

/** A poll's progress, heartbeated after each page so that a retry resumes from its cursor. */
const Progress = z.object({
  since: z.string().optional(),
  cursor: z.string().optional(),
  startedAt: z.number(),
  watermark: z.string().optional(),
  seen: z.number().int().min(0),
});

export function createMarketplacerIntake(deps: {
  config: Config;
  log: Logger;
  client(channel: string): MarketplacerClient;
  handOver(ch: ChannelConfig, record: InvoiceRecord, result: PollResult, stock: ReservationChange[]): Promise<void>;
  sendStock(stock: ReservationChange[], result: PollResult): Promise<void>;
}) {
  const { log } = deps;

  return {
    toOrder(ch: ChannelConfig, invoice: MpInvoice): MarketplaceOrder {
      return toMarketplaceOrder(invoice, { code: ch.code, currency: ch.currency });
    },

    async poll(ch: ChannelConfig, watermarkIn?: string): Promise<PollResult> {
      const client = deps.client(ch.code);
      const since = watermarkIn
        ? new Date(new Date(watermarkIn).getTime() - ch.intake.overlapSeconds * 1000).toISOString()
        : undefined;
      const resume = Progress.safeParse(Context.current().info.heartbeatDetails);
      const from = resume.success && resume.data.since === since ? resume.data : undefined;
      const result: PollResult = {
        watermark: from?.watermark ?? watermarkIn,
        seen: 0,
        started: 0,
        signalled: 0,
        unreadable: 0,
      };
      // The watermark never passes the start of the poll: an invoice updated while we page may sit on a page
      // already read (see activities/intake.ts).
      const pollStartedAt = from?.startedAt ?? Date.now();
      const filters = since ? { updatedSince: since } : { notDispatched: true };
      let cursor = from?.cursor;
      const stock: ReservationChange[] = [];
      try {
        for (;;) {
          const page = await client.invoicesPage(filters, ch.intake.pageSize, cursor);
          for (const record of page.records) await deps.handOver(ch, record, result, stock);
          await deps.sendStock(stock, result);
          cursor = page.endCursor ?? cursor;
          Context.current().heartbeat({
            since,
            cursor,
            startedAt: pollStartedAt,
            watermark: result.watermark,
            seen: (from?.seen ?? 0) + result.seen,
          } satisfies z.infer<typeof Progress>);
          if (!page.hasNextPage || !page.endCursor) break;
        }
      } catch (err) {
        throw toActivityFailure(err, 'marketplacer', 'invoices', 'UNEXPECTED_ERROR');
      } finally {
        await deps.sendStock(stock, result);
      }
      if (result.watermark && Date.parse(result.watermark) > pollStartedAt) {
        result.watermark = new Date(pollStartedAt).toISOString();
      }
      log.debug({ channel: ch.code, ...result }, 'marketplacer intake poll');
      return result;
    },

    async byIds(ch: ChannelConfig, ids: string[]): Promise<PollResult & { missing: string[] }> {
      const client = deps.client(ch.code);
      const result: PollResult = { seen: 0, started: 0, signalled: 0, unreadable: 0 };
      const missing: string[] = [];
      const stock: ReservationChange[] = [];
      try {
        const numbers = ids.filter((id) => /^\d{1,12}$/.test(id));
        const relay = ids.filter((id) => !/^\d{1,12}$/.test(id));
        for (let i = 0; i < relay.length; i += 100) {
          const read = await client.invoicesByIds(relay.slice(i, i + 100));
          for (const record of read.records) await deps.handOver(ch, record, result, stock);
          missing.push(...read.missing);
        }
        for (const n of numbers) {
          const invoice = await client.invoiceByLegacyId(n);
          if (invoice) await deps.handOver(ch, { invoice }, result, stock);
          else missing.push(n);
        }
      } catch (err) {
        throw toActivityFailure(err, 'marketplacer', 'nodes', 'UNEXPECTED_ERROR');
      } finally {
        await deps.sendStock(stock, result);
      }
      if (missing.length > 0) {
        // An id of another seller's invoice, one deleted, or one not visible yet: nothing is started for it.
        log.info({ channel: ch.code, missing: missing.length }, 'marketplacer: invoices named by events not found');
      }
      log.info({ channel: ch.code, ...result, missing: missing.length }, 'marketplacer events handed over');
      return { ...result, missing };
    },
  };
}
