// Payout reconciliation activities (docs/reconciliation.md).
//
// listCyclesToReconcile: SBC11 billing cycles of a channel (inside the look-back, oldest first) that have no
//   report yet, or the cycles asked for by id.
// reconcileBillingCycle: every TL02 row of one cycle (seek paging, paced inside 20 calls a minute and 60 an
//   hour per shop), the Shopify orders of the billed Mirakl orders (channels with a Shopify side), the refunds
//   the returns of those orders made (channels with returns, every route: the return workflows' own record,
//   src/reconciliation/returns-source.ts; OR11 for the state of a return refund the payout lacks), the pure
//   matching (src/reconciliation/match.ts), the CSV and JSON reports. Returns counts, bounded samples, totals
//   and journal lines: rows and orders never enter workflow history. Heartbeats {phase, done, total} for the CLI's progress bar.
// raiseReconciliationFindings: one finance exception workflow per cycle and finding kind, opened or updated
//   with the run's count and sample, cleared when a later run of the cycle finds none.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema';
import { ConnectorError } from '../src/connectors/errors';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import { fromMinor } from '../src/domain/money';
import { billedOrderIds, findingLabels, isMissingReturnRefund, reconcileCycle } from '../src/reconciliation/match';
import { toBillingCycle, toTransactionRow } from '../src/reconciliation/mirakl';
import { CallBudget } from '../src/reconciliation/pacer';
import {
  emptySamples,
  isReconciled,
  writeReconciliationReports,
  type ReconciliationSummary,
} from '../src/reconciliation/report';
import { temporalReturnRefundSource } from '../src/reconciliation/returns-source';
import { ShopifySourceUnavailableError } from '../src/reconciliation/shopify-source';
import {
  RECONCILIATION_KINDS,
  type BillingCycle,
  type ReconciliationKind,
  type ReturnRefund,
  type ReturnRefundSource,
  type ShopifyOrderRecord,
  type ShopifyOrderSource,
  type TransactionRow,
} from '../src/reconciliation/types';
import { toActivityFailure } from './errors';
import { syncFindingsException } from './exception-findings';

/** Heartbeat details of reconcileBillingCycle: what `loopline reconciliation report` shows. */
export interface ReconciliationProgress {
  channel: string;
  cycleId: string;
  phase: 'tl02' | 'shopify' | 'returns' | 'report';
  done: number;
  total?: number;
  /** TL02 calls made so far by this run. */
  calls?: number;
  /** Set while the run waits for TL02 budget. */
  waitingMs?: number;
}

export interface ReconciliationDeps {
  config: Config;
  client: Client;
  mirakl(channel: string): MiraklClient;
  /** The channel's Shopify side; undefined: the channel has none (a Peoplevox route), nothing is compared with it. */
  shopifyOrders(channel: string): ShopifyOrderSource | undefined;
  /** The refunds returns made; default: read from the return workflows through `client`. */
  returnRefunds?: ReturnRefundSource;
  log: Logger;
  /** Sandbox time scale: Mirakl's windows (a minute, an hour) are divided by it. */
  timeScale?: number;
}

/** A cycle to reconcile: the SBC11 record in minor units (small; passed on so SBC11 is read once a run). */
export type CycleRef = BillingCycle;

export function reconciliationExceptionWorkflowId(channel: string, cycleId: string, kind: ReconciliationKind) {
  return `payout-exception:${channel}:${cycleId}:${kind}`;
}

const TL02_RETRIES_ON_429 = 3;
const MAX_SLEEP_SLICE_MS = 20_000;

export function createReconciliationActivities(deps: ReconciliationDeps) {
  const { config, log } = deps;
  const settings = config.finance.reconciliation;
  const scale = deps.timeScale ?? 1;
  // One TL02 budget per shop for this worker process (docs/reconciliation.md, "Limits").
  const budgets = new Map<string, CallBudget>();
  const budgetOf = (channel: string) => {
    let b = budgets.get(channel);
    if (!b) {
      b = new CallBudget([
        { max: settings.tl02.callsPerMinute, windowMs: 60_000 / scale },
        { max: settings.tl02.callsPerHour, windowMs: 3_600_000 / scale },
      ]);
      budgets.set(channel, b);
    }
    return b;
  };

  const beat = (p: ReconciliationProgress) => Context.current().heartbeat(p);
  const sleep = async (ms: number, p: ReconciliationProgress) => {
    for (let left = ms; left > 0; left -= MAX_SLEEP_SLICE_MS) {
      beat({ ...p, waitingMs: left });
      await Context.current().sleep(Math.min(left, MAX_SLEEP_SLICE_MS));
    }
  };

  const channelConfig = (channel: string) => {
    const ch = config.channels.find((c) => c.code === channel);
    if (!ch)
      throw ApplicationFailure.create({
        message: `channel ${channel} is not configured`,
        type: 'UNEXPECTED_ERROR',
        nonRetryable: true,
      });
    return ch;
  };

  /** Every TL02 row of a cycle, one paced call per page. */
  async function readTransactions(
    channel: string,
    cycleId: string,
  ): Promise<{ rows: TransactionRow[]; calls: number }> {
    const mirakl = deps.mirakl(channel);
    const budget = budgetOf(channel);
    const rows: TransactionRow[] = [];
    let calls = 0;
    let token: string | undefined;
    do {
      const progress: ReconciliationProgress = { channel, cycleId, phase: 'tl02', done: rows.length, calls };
      let page: Awaited<ReturnType<MiraklClient['listTransactionLogs']>> | undefined;
      for (let attempt = 0; page === undefined; attempt++) {
        const wait = budget.waitMs();
        if (wait > 0) await sleep(wait, progress);
        const sentAt = budget.record();
        calls += 1;
        try {
          page = await mirakl.listTransactionLogs(
            token ? { pageToken: token } : { billingCycleId: cycleId, limit: settings.tl02.pageSize },
          );
          budget.ended(sentAt);
        } catch (err) {
          budget.ended(sentAt);
          // Our pacing should make this impossible; if another client of the shop used the budget, wait it out.
          if (err instanceof ConnectorError && err.status === 429 && attempt < TL02_RETRIES_ON_429) {
            log.warn({ channel, cycleId, retryAfterMs: err.retryAfterMs }, 'TL02 rate limited; waiting');
            await sleep(err.retryAfterMs ?? 60_000 / scale, progress);
            continue;
          }
          throw toActivityFailure(err, 'mirakl', 'TL02', 'SYSTEM_UNAVAILABLE', { channel });
        }
      }
      for (const r of page.rows) rows.push(toTransactionRow(r));
      token = page.nextPageToken;
      beat({ channel, cycleId, phase: 'tl02', done: rows.length, calls });
    } while (token);
    return { rows, calls };
  }

  const returnRefundSource = deps.returnRefunds ?? temporalReturnRefundSource(deps.client, log);
  async function readReturnRefunds(channel: string, cycleId: string, orderIds: string[]) {
    const out: ReturnRefund[] = [];
    for (let i = 0; i < orderIds.length; i += settings.shopifyBatchSize) {
      const batch = orderIds.slice(i, i + settings.shopifyBatchSize);
      // A failure here is Temporal's (visibility, a query): thrown as is, the activity retries.
      out.push(...(await returnRefundSource.findReturnRefunds(channel, batch)));
      beat({
        channel,
        cycleId,
        phase: 'returns',
        done: Math.min(orderIds.length, i + batch.length),
        total: orderIds.length,
      });
    }
    return out;
  }

  /** refund id → refund_state on the marketplace orders (OR11 by order ids, 100 a call). */
  async function refundStates(channel: string, orderIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let records: Awaited<ReturnType<MiraklClient['getOrderRecords']>>;
    try {
      records = await deps.mirakl(channel).getOrderRecords(orderIds);
    } catch (err) {
      throw toActivityFailure(err, 'mirakl', 'OR11', 'SYSTEM_UNAVAILABLE', { channel });
    }
    for (const o of records.orders)
      for (const l of o.order_lines ?? [])
        for (const r of l.refunds ?? []) if (r.id && r.refund_state) out.set(r.id, r.refund_state);
    return out;
  }

  async function readShopify(channel: string, cycleId: string, orderIds: string[], source: ShopifyOrderSource) {
    const out = new Map<string, ShopifyOrderRecord>();
    for (let i = 0; i < orderIds.length; i += settings.shopifyBatchSize) {
      const batch = orderIds.slice(i, i + settings.shopifyBatchSize);
      let found: Map<string, ShopifyOrderRecord>;
      try {
        found = await source.findOrdersByMiraklIds(batch);
      } catch (err) {
        if (err instanceof ShopifySourceUnavailableError)
          throw ApplicationFailure.create({
            message: err.message,
            type: 'SHOPIFY_SOURCE_UNAVAILABLE',
            nonRetryable: true,
          });
        throw toActivityFailure(err, 'shopify', 'orders', 'SYSTEM_UNAVAILABLE', { channel });
      }
      for (const [k, v] of found) out.set(k, v);
      beat({
        channel,
        cycleId,
        phase: 'shopify',
        done: Math.min(orderIds.length, i + batch.length),
        total: orderIds.length,
      });
    }
    return out;
  }

  async function cycleById(channel: string, cycleId: string): Promise<BillingCycle> {
    try {
      const page = await deps.mirakl(channel).listBillingCycles({ ids: [cycleId], limit: 1 });
      const c = page.cycles.find((x) => x.id === cycleId);
      if (!c)
        throw ApplicationFailure.create({
          message: `billing cycle ${cycleId} not found on ${channel}`,
          type: 'UNEXPECTED_ERROR',
          nonRetryable: true,
        });
      return toBillingCycle(c);
    } catch (err) {
      throw toActivityFailure(err, 'mirakl', 'SBC11', 'SYSTEM_UNAVAILABLE', { channel });
    }
  }

  return {
    async listCyclesToReconcile(input: {
      channel: string;
      cycleIds?: string[];
      force?: boolean;
    }): Promise<{ cycles: CycleRef[]; alreadyReconciled: number; deferred: number }> {
      channelConfig(input.channel);
      const mirakl = deps.mirakl(input.channel);
      const explicit = (input.cycleIds?.length ?? 0) > 0;
      const listed: CycleRef[] = [];
      const list = async (first: Parameters<MiraklClient['listBillingCycles']>[0]) => {
        let token: string | undefined;
        do {
          const page = await mirakl.listBillingCycles(token ? { pageToken: token } : first);
          for (const c of page.cycles) listed.push(toBillingCycle(c));
          token = page.nextPageToken;
        } while (token);
      };
      try {
        // The look-back window (one SBC11 call, or a few pages): it also gives each cycle its predecessor, which
        // bounds the return refunds the cycle should carry. Asked-for cycles older than the window: by id.
        await list({ startDate: new Date(Date.now() - settings.lookbackDays * 86_400_000), limit: 100 });
        const time = (c: CycleRef) => (c.dateCreated ? Date.parse(c.dateCreated) : NaN);
        const window = listed.filter((c) => !Number.isNaN(time(c))).sort((a, b) => time(a) - time(b));
        window.forEach((c, i) => {
          const prev = window[i - 1];
          if (prev && time(prev) < time(c)) c.previousDateCreated = prev.dateCreated;
        });
        const older = (input.cycleIds ?? []).filter((id) => !listed.some((c) => c.id === id));
        if (older.length) await list({ ids: older, limit: 100 });
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', 'SBC11', 'SYSTEM_UNAVAILABLE', { channel: input.channel });
      }
      const unique = [...new Map(listed.map((c) => [c.id, c])).values()];
      const all = explicit ? unique.filter((c) => input.cycleIds!.includes(c.id)) : unique;
      const todo = all
        .filter((c) => input.force || explicit || !isReconciled(settings.reportsDir, input.channel, c.id))
        .sort((a, b) => (a.dateCreated ?? '').localeCompare(b.dateCreated ?? '') || a.id.localeCompare(b.id));
      const cycles = explicit ? todo : todo.slice(0, settings.maxCyclesPerRun);
      return { cycles, alreadyReconciled: all.length - todo.length, deferred: todo.length - cycles.length };
    },

    async reconcileBillingCycle(input: {
      channel: string;
      cycleId: string;
      runId: string;
      /** The SBC11 record from listCyclesToReconcile; read again by id when absent. */
      cycle?: BillingCycle;
    }): Promise<ReconciliationSummary> {
      const { channel, cycleId } = input;
      const ch = channelConfig(channel);
      const startedAt = new Date().toISOString();
      const cycle = input.cycle?.id === cycleId ? input.cycle : await cycleById(channel, cycleId);
      const { rows, calls } = await readTransactions(channel, cycleId);
      const orderIds = billedOrderIds(rows);
      const shopifySource = deps.shopifyOrders(channel);
      const shopify = shopifySource ? await readShopify(channel, cycleId, orderIds, shopifySource) : undefined;
      // Every route that takes returns: the payout's refunds against the refunds those returns made.
      const returnRefunds = ch.returns !== 'none' ? await readReturnRefunds(channel, cycleId, orderIds) : undefined;
      beat({ channel, cycleId, phase: 'report', done: 0, total: 1, calls });
      const terms = settings.channelCommission[channel] ?? settings.commission;
      let result = reconcileCycle({ channel, cycle, rows, shopify, returnRefunds, terms });
      const missing = result.returnRefunds.filter(isMissingReturnRefund);
      if (returnRefunds && missing.length > 0) {
        // Before calling a return refund missing: is it complete at the marketplace? (OR11 by order id.)
        const states = await refundStates(channel, [...new Set(missing.map((m) => m.orderId))]);
        const annotated = returnRefunds.map((k) =>
          states.has(k.refundId) ? { ...k, marketplaceState: states.get(k.refundId) } : k,
        );
        result = reconcileCycle({ channel, cycle, rows, shopify, returnRefunds: annotated, terms });
      }
      const fmt = (minor: number) => fromMinor(minor, cycle.currency);
      const samples = emptySamples();
      for (const kind of RECONCILIATION_KINDS)
        samples[kind] = findingLabels(result, kind, fmt).slice(0, settings.sampleSize);
      const base = {
        runId: input.runId,
        channel,
        cycleId,
        currency: cycle.currency,
        payOutState: cycle.payOutState,
        startedAt,
        finishedAt: new Date().toISOString(),
        rows: result.rows,
        orders: result.orders,
        lines: result.lines,
        matchedLines: result.matched.length,
        matchedOrders: new Set(result.matched.map((m) => m.orderId)).size,
        counts: result.counts,
        samples,
        totals: result.totals,
        journal: result.journal,
        tl02Calls: calls,
      };
      const paths = writeReconciliationReports(base, result, settings.reportsDir);
      beat({ channel, cycleId, phase: 'report', done: 1, total: 1, calls });
      log.info(
        { channel, cycleId, counts: result.counts, rows: result.rows, tl02Calls: calls },
        'payout reconciliation',
      );
      return { ...base, reportCsv: paths.csv, reportJson: paths.json };
    },

    async raiseReconciliationFindings(input: {
      summary: ReconciliationSummary;
    }): Promise<{ opened: ReconciliationKind[]; cleared: ReconciliationKind[] }> {
      const { summary } = input;
      const out = { opened: [] as ReconciliationKind[], cleared: [] as ReconciliationKind[] };
      for (const kind of RECONCILIATION_KINDS) {
        const workflowId = reconciliationExceptionWorkflowId(summary.channel, summary.cycleId, kind);
        const done = await syncFindingsException(deps.client, {
          workflowId,
          taskQueue: config.temporal.taskQueues.orders,
          input: {
            source: { check: 'payout-reconciliation', cycleId: summary.cycleId },
            channel: summary.channel,
            reason: kind,
            findings: {
              runId: summary.runId,
              at: summary.finishedAt,
              count: summary.counts[kind],
              sample: summary.samples[kind],
              reportCsv: summary.reportCsv,
              reportJson: summary.reportJson,
            },
          },
          owner: 'finance',
        });
        if (done === 'opened') out.opened.push(kind);
        if (done === 'cleared') out.cleared.push(kind);
      }
      return out;
    },
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
