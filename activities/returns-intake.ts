// Returns in: the marketplace's returns (Mirakl RT11, polled within its limit of once every 5 minutes, in the
// rhythm of the channel's order intake) and the warehouse's receipts (Peoplevox 'Return summary', read by
// the receipt sweep: the backstop of the Returns event). Each return is handed to its order's workflow
// (src/returns/handover.ts); the Reveni webhooks come through src/http/returns-webhooks.ts.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../src/config/schema';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import { ConnectorError } from '../src/connectors/errors';
import type { PeoplevoxClient } from '../src/connectors/peoplevox/client';
import { toReturnNotice } from '../src/connectors/mirakl/returns';
import { returnKeyOf, type ReturnNotice } from '../src/domain/returns';
import { workflowIdForSalesOrder } from '../src/temporal/order-lookup';
import { handOverReturn } from '../src/returns/handover';
import { orderStateQuery } from '../workflows/order/messages';
import { toActivityFailure } from './errors';
import { notSoonerThan } from './intake';

/**
 * Where a poll that stopped between pages goes on: the next page's token, the watermark so far and the moment
 * the first page was read (the watermark's ceiling). Heartbeated after every page (a retried attempt resumes
 * from it) and returned when a following page is refused for the call rate (the next poll resumes from it).
 */
export const ReturnPollResume = z.object({
  since: z.string().optional(),
  token: z.string().min(1),
  watermark: z.string().optional(),
  startedAt: z.number(),
});
export type ReturnPollResume = z.infer<typeof ReturnPollResume>;

export interface ReturnPollResult {
  watermark?: string;
  seen: number;
  handedOver: number;
  standalone: number;
  unreadable: number;
  /** Set when the pages were not all read: the next poll goes on from here (the watermark has not moved). */
  resume?: ReturnPollResume;
}

export interface ReceiptSweepResult {
  since: string;
  receipts: number;
  handedOver: number;
  known: number;
  /** Receipts of channels whose returns are not warehouse-driven. */
  otherRoutes: number;
  /** Receipts for sales orders no Loopline order owns (hand-keyed, other sales channels). */
  unowned: number;
}

export interface ReturnIntakeDeps {
  config: Config;
  client: Client;
  mirakl(channel: string): MiraklClient;
  peoplevox: PeoplevoxClient;
  log: Logger;
  timeScale?: number;
}

/** RT11's documented maximum: once every 5 minutes per shop. */
export const RT11_MIN_INTERVAL_MS = 5 * 60_000;

/** Channels whose marketplace returns Loopline follows (RT11 polled). */
export function returnPollingChannels(config: Config): string[] {
  return config.channels.filter((c) => c.enabled && c.platform === 'mirakl' && c.returns !== 'none').map((c) => c.code);
}

export function createReturnIntakeActivities(deps: ReturnIntakeDeps) {
  const { config, log } = deps;
  const scale = deps.timeScale ?? 1;

  return {
    /**
     * How often the channel's intake polls RT11: never more often than every 5 minutes (scaled in the
     * sandbox), on a multiple of the order poll so both share one rhythm. Undefined: returns not followed.
     */
    async returnPollInterval(input: { channel: string }): Promise<number | undefined> {
      if (!returnPollingChannels(config).includes(input.channel)) return undefined;
      const ch = config.channels.find((c) => c.code === input.channel)!;
      const poll = ch.intake.pollIntervalSeconds * 1000;
      return (Math.ceil(RT11_MIN_INTERVAL_MS / poll) * poll) / scale;
    },

    /**
     * RT11 since the watermark (less the overlap), every page; each return handed to its order. A poll that
     * stopped between pages goes on from the next page's token (from its last heartbeat when the activity is
     * retried, from `input.resume` at the next poll when a following page was refused for the call rate), so a
     * backlog larger than a page is never re-read from its first page for ever.
     */
    async pollChannelReturns(input: {
      channel: string;
      since?: string;
      resume?: ReturnPollResume;
    }): Promise<ReturnPollResult> {
      const ch = config.channels.find((c) => c.code === input.channel);
      if (!ch) throw ApplicationFailure.nonRetryable(`channel ${input.channel} is not configured`, 'UNEXPECTED_ERROR');
      const client = deps.mirakl(ch.code);
      const since = input.since
        ? new Date(Date.parse(input.since) - ch.intake.overlapSeconds * 1000).toISOString()
        : undefined;
      const beat = ReturnPollResume.safeParse(Context.current().info.heartbeatDetails);
      const from = [beat.success ? beat.data : undefined, input.resume].find(
        (r) => r !== undefined && r.since === since,
      );
      const startedAt = from?.startedAt ?? Date.now();
      const result: ReturnPollResult = {
        watermark: from?.watermark ?? input.since,
        seen: 0,
        handedOver: 0,
        standalone: 0,
        unreadable: 0,
      };
      let token = from?.token;
      try {
        do {
          let page;
          try {
            page = await client.listReturns(token ? { pageToken: token } : { since, limit: ch.intake.pageSize });
          } catch (err) {
            // A following page refused for the call rate: keep what was read, go on from this page next time.
            if (token && err instanceof ConnectorError && err.status === 429) {
              log.info({ channel: ch.code, seen: result.seen }, 'returns poll: next page deferred (call rate)');
              return {
                ...result,
                watermark: input.since,
                resume: { since, token, watermark: result.watermark, startedAt },
              };
            }
            throw err;
          }
          for (const u of page.unreadable) {
            result.unreadable++;
            log.warn({ channel: ch.code, returnId: u.id, problem: u.problem }, 'unreadable marketplace return');
          }
          for (const r of page.returns) {
            result.seen++;
            const notice = toReturnNotice(ch.code, r);
            const outcome = await handOverReturn(deps.client, config, notice);
            if (outcome === 'order') result.handedOver++;
            if (outcome === 'standalone') result.standalone++;
            if (!result.watermark || notice.updatedAt > result.watermark) result.watermark = notice.updatedAt;
          }
          token = page.next;
          if (token) Context.current().heartbeat({ since, token, watermark: result.watermark, startedAt });
        } while (token);
      } catch (err) {
        // RT11 allows one poll every 5 minutes, and a call that failed (a 5xx, a timeout) has used the window as
        // much as one that answered: any retry comes a window later, or Mirakl refuses it (the 10k chaos run saw
        // 215 refused retries). A retry that resumes from a heartbeated page would not count, but cannot know
        // that its predecessor's heartbeat reached it.
        const windowMs = Math.ceil((RT11_MIN_INTERVAL_MS / scale) * 1.05);
        throw notSoonerThan(toActivityFailure(err, 'mirakl', 'RT11', 'UNEXPECTED_ERROR'), windowMs, { always: true });
      }
      // Never past the poll's start: a return updated while the pages were read comes again next time.
      if (result.watermark && Date.parse(result.watermark) > startedAt)
        result.watermark = new Date(startedAt).toISOString();
      log.debug({ channel: ch.code, ...result }, 'returns poll');
      return result;
    },

    /**
     * The warehouse's receipts of the look-back window ('Return summary'): each receipt of a channel whose
     * returns are warehouse-driven is handed to its order (unless the order already has it).
     */
    async sweepReturnReceipts(input: { lookbackMinutes: number }): Promise<ReceiptSweepResult> {
      const since = new Date(Date.now() - input.lookbackMinutes * 60_000).toISOString();
      const result: ReceiptSweepResult = { since, receipts: 0, handedOver: 0, known: 0, otherRoutes: 0, unowned: 0 };
      let receipts;
      let barcodes: Map<string, string>;
      try {
        receipts = await deps.peoplevox.listReturnReceipts({ sinceIso: since });
        barcodes = receipts.length > 0 ? await deps.peoplevox.itemCodesByBarcode() : new Map();
      } catch (err) {
        throw toActivityFailure(err, 'peoplevox', 'GetReportData', 'UNEXPECTED_ERROR');
      }
      for (const r of receipts) {
        result.receipts++;
        const workflowId = await workflowIdForSalesOrder(config, deps.client, r.salesOrderNumber);
        const m = workflowId ? /^order:([^:]+):(.+)$/.exec(workflowId) : null;
        if (!m) {
          result.unowned++;
          log.warn(
            { salesOrderNumber: r.salesOrderNumber, returnCode: r.returnCode },
            'receipt for an order Loopline does not own',
          );
          continue;
        }
        const [, channel, orderId] = m as unknown as [string, string, string];
        const ch = config.channels.find((c) => c.code === channel);
        if (!ch || ch.returns !== 'warehouse') {
          result.otherRoutes++;
          continue;
        }
        const notice: ReturnNotice = {
          channel,
          returnKey: returnKeyOf('warehouse', r.returnCode),
          origin: 'warehouse',
          sourceId: r.returnCode,
          orderId,
          sourceState: 'BOOKED',
          lines: r.items.map((i) => ({
            sku: barcodes.get(i.barcode) ?? i.barcode,
            quantity: i.quantity,
            ...(i.reason !== undefined ? { reason: i.reason } : {}),
            ...(i.condition !== undefined ? { condition: i.condition } : {}),
          })),
          updatedAt: r.returnedAt ?? new Date(0).toISOString(),
        };
        // Already with its order: nothing to send again.
        try {
          const st = await deps.client.workflow.getHandle(workflowId!).query(orderStateQuery);
          if ((st.returns ?? []).some((x) => x.returnKey === notice.returnKey)) {
            result.known++;
            continue;
          }
        } catch {
          // Not answerable (finished, no worker): hand it over; the return's id dedupes.
        }
        await handOverReturn(deps.client, config, notice);
        result.handedOver++;
        Context.current().heartbeat(result.receipts);
      }
      log.debug({ ...result }, 'return receipts sweep');
      return result;
    },
  };
}

export type ReturnIntakeActivities = ReturnType<typeof createReturnIntakeActivities>;
