// Return activities: thin. The return workflow (workflows/returns/) decides; these read and write the
// marketplace's return (Mirakl RT*), the returns platform (Reveni) and the stock sync, and classify failures.
// The refund itself is activities/marketplace-refund.ts (one port per marketplace platform).
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { ChannelConfig, Config } from '../src/config/schema';
import type { MiraklClient } from '../src/connectors/mirakl/client';
import { toReturnNotice, type NonComplianceReason, type ReturnBatchResult } from '../src/connectors/mirakl/returns';
import type { ReveniClient } from '../src/connectors/reveni/client';
import { toReveniSnapshot, type ReveniSnapshot } from '../src/connectors/reveni/map';
import { fromMinor } from '../src/domain/money';
import { orderWorkflowId, restockKey } from '../src/domain/keys';
import type { OrderForReturn, ReasonRow, ReturnNotice, ReturnsMode, ShippingRefundPolicy } from '../src/domain/returns';
import { signalRestocks } from '../src/returns/restock';
import type { MarketplaceRefundPort } from './marketplace-refund';
import { problemFailure } from './marketplace-refund';
import { toActivityFailure } from './errors';

export interface ReturnSettings {
  channel: string;
  mode: ReturnsMode;
  platform: string;
  currency: string;
  reasons: ReasonRow[];
  resaleableConditions: string[];
  shipping: ShippingRefundPolicy;
  refundReason: string;
  disputeToleranceMinor: number;
  returnWindowDays: number;
  /** The returns platform (or the marketplace's return) is read again this often without news (scaled). */
  pollMs: number;
  skuMap: Record<string, string>;
  taskQueues: { orders: string; marketplace: string };
  transportRetry: { initialIntervalMs: number; maximumIntervalMs: number; maximumAttempts: number };
  outageRetry: { initialMs: number; maxMs: number };
}

export type MarketplaceReturnAction = 'accept' | 'refuse' | 'receive' | 'compliance' | 'close' | 'cancel';

/** The state each action leaves a Mirakl return in (a later state counts: the action was done already). */
const DONE_STATES: Record<MarketplaceReturnAction, string[]> = {
  accept: ['IN_PROGRESS', 'RECEIVED', 'CLOSED', 'NO_RECEPTION'],
  refuse: ['REFUSED'],
  receive: ['RECEIVED', 'CLOSED'],
  compliance: ['RECEIVED', 'CLOSED'],
  close: ['CLOSED'],
  cancel: ['CANCELED'],
};

export interface ReturnActivityDeps {
  config: Config;
  client: Client;
  mirakl(channel: string): MiraklClient;
  /** Present when systems.reveni is configured. */
  reveni?(channel: string): ReveniClient;
  ports: Record<string, MarketplaceRefundPort>;
  log: Logger;
  timeScale?: number;
}

export function createReturnActivities(deps: ReturnActivityDeps) {
  const { config, log } = deps;
  const scale = deps.timeScale ?? 1;
  const channelConfig = (code: string): ChannelConfig => {
    const ch = config.channels.find((c) => c.code === code);
    if (!ch) throw ApplicationFailure.nonRetryable(`channel "${code}" is not configured`, 'UNEXPECTED_ERROR');
    return ch;
  };
  const reveniOf = (channel: string): ReveniClient => {
    if (!deps.reveni) throw ApplicationFailure.nonRetryable('systems.reveni is not configured', 'UNEXPECTED_ERROR');
    return deps.reveni(channel);
  };

  async function judge(
    client: MiraklClient,
    returnId: string,
    action: MarketplaceReturnAction,
    r: ReturnBatchResult,
    ids: { returnId: string; orderId: string },
  ): Promise<'done' | 'already'> {
    if (r.errors.length === 0) return 'done';
    // A state error after a lost response is our own earlier write: read the return back and judge.
    const now = await client.getReturn(returnId);
    if (now?.state && DONE_STATES[action].includes(now.state)) return 'already';
    const detail = r.errors.map((e) => e.message).join('; ');
    throw ApplicationFailure.create({
      message: `Return ${returnId}: Mirakl refused "${action}": ${detail}`,
      type: 'RETURN_ACTION_REJECTED',
      nonRetryable: true,
      details: [
        { ...ids, system: 'Mirakl', step: action, detail: `${detail} (the return is ${now?.state ?? 'not found'})` },
      ],
    });
  }

  return {
    async returnSettings(channel: string): Promise<ReturnSettings> {
      const ch = channelConfig(channel);
      const q = config.temporal.taskQueues;
      return {
        channel,
        mode: ch.returns,
        platform: ch.platform,
        currency: ch.currency,
        reasons: config.returns.reasons.map((r) => ({ ...r })),
        resaleableConditions: config.returns.resaleableConditions,
        shipping: ch.returnPolicy.shipping,
        refundReason: ch.returnPolicy.refundReason,
        disputeToleranceMinor: ch.returnPolicy.disputeToleranceMinor,
        returnWindowDays: ch.returnWindowDays,
        pollMs: (ch.returnPolicy.platformPollMinutes * 60_000) / scale,
        skuMap: ch.skuMap,
        // Marketplace writes (the refund too): Marketplacer's on its own rate-limited queue, as the order's are.
        taskQueues: { orders: q.orders, marketplace: ch.platform === 'marketplacer' ? q.marketplacer : q.acknowledge },
        transportRetry: {
          initialIntervalMs: Math.max(100, 2000 / scale),
          maximumIntervalMs: (config.orders.transportRetry.maximumIntervalSeconds * 1000) / scale,
          maximumAttempts: config.orders.transportRetry.maximumAttempts,
        },
        outageRetry: {
          initialMs: (config.orders.outageRetry.initialSeconds * 1000) / scale,
          maxMs: (config.orders.outageRetry.maxSeconds * 1000) / scale,
        },
      };
    },

    /** The marketplace order as a return needs it (prices, taxes, shipped, refunds), or null when it has none. */
    async readOrderForReturn(input: { channel: string; orderId: string }): Promise<OrderForReturn | null> {
      const ch = channelConfig(input.channel);
      const port = deps.ports[ch.platform];
      if (!port) throw ApplicationFailure.nonRetryable(`no marketplace port for ${ch.platform}`, 'UNEXPECTED_ERROR');
      try {
        return (await port.readOrder(ch, input.orderId)) ?? null;
      } catch (err) {
        throw toActivityFailure(err, port.platform, 'read order', 'UNEXPECTED_ERROR', { orderId: input.orderId });
      }
    },

    /** Whether the order has a Loopline workflow: running, finished (with its final status), or none. */
    async orderWorkflowStatus(input: {
      channel: string;
      orderId: string;
    }): Promise<{ status: 'running' | 'closed' | 'none'; orderStatus?: string; closedAt?: number }> {
      try {
        const d = await deps.client.workflow.getHandle(orderWorkflowId(input.channel, input.orderId)).describe();
        if (d.status.name === 'RUNNING') return { status: 'running' };
        const attr = d.searchAttributes?.OrderStatus as unknown;
        return {
          status: 'closed',
          orderStatus: Array.isArray(attr) ? String(attr[0]) : undefined,
          closedAt: d.closeTime?.getTime(),
        };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { status: 'none' };
        throw err;
      }
    },

    /** RT21 / RT25 / RT26 / RT27 / RT29 for one Mirakl return; a state error is read back and judged. */
    async marketplaceReturnAction(input: {
      channel: string;
      orderId: string;
      returnId: string;
      action: MarketplaceReturnAction;
      rejectionReason?:
        'RETURN_REJECTION_NOT_ELIGIBLE' | 'RETURN_REJECTION_NOT_NEEDED' | 'RETURN_REJECTION_WINDOW_CLOSED';
      compliance?: Array<{ lineId: string; compliant: boolean; reason?: NonComplianceReason; info?: string }>;
    }): Promise<'done' | 'already'> {
      const client = deps.mirakl(input.channel);
      const ids = { returnId: input.returnId, orderId: input.orderId };
      const op = { accept: 'RT21', refuse: 'RT21', receive: 'RT25', compliance: 'RT26', close: 'RT27', cancel: 'RT29' }[
        input.action
      ];
      try {
        let r: ReturnBatchResult;
        switch (input.action) {
          case 'accept':
            r = await client.acceptReturns([{ id: input.returnId, accepted: true }]);
            break;
          case 'refuse':
            r = await client.acceptReturns([
              {
                id: input.returnId,
                accepted: false,
                rejection_reason_code: input.rejectionReason ?? 'RETURN_REJECTION_NOT_ELIGIBLE',
              },
            ]);
            break;
          case 'receive':
            r = await client.receiveReturns([input.returnId]);
            break;
          case 'compliance':
            r = await client.returnCompliance([
              {
                id: input.returnId,
                return_lines: (input.compliance ?? []).map((c) => ({
                  order_line_id: c.lineId,
                  compliant: c.compliant,
                  ...(c.compliant ? {} : { non_compliance_reason_code: c.reason ?? 'RETURN_NON_COMPLIANT_OTHER' }),
                  ...(c.info ? { non_compliance_additional_info: c.info.slice(0, 2000) } : {}),
                })),
              },
            ]);
            break;
          case 'close':
            r = await client.closeReturns([input.returnId]);
            break;
          case 'cancel':
            r = await client.cancelReturns([input.returnId]);
            break;
        }
        const outcome = await judge(client, input.returnId, input.action, r, ids);
        log.info(
          { channel: input.channel, returnId: input.returnId, action: input.action, outcome },
          'marketplace return',
        );
        return outcome;
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', op, 'RETURN_ACTION_REJECTED', {
          ...ids,
          system: 'Mirakl',
          step: input.action,
        });
      }
    },

    /** The Mirakl return as it is now (RT11 by id), or null. */
    async readMarketplaceReturn(input: { channel: string; returnId: string }): Promise<ReturnNotice | null> {
      try {
        const r = await deps.mirakl(input.channel).getReturn(input.returnId);
        return r ? toReturnNotice(input.channel, r) : null;
      } catch (err) {
        throw toActivityFailure(err, 'mirakl', 'RT11', 'UNEXPECTED_ERROR');
      }
    },

    /**
     * Sends a marketplace return on to Reveni with the original order, its lines and SKUs (seed 003). Look
     * before create: a Reveni return with this marketplace return as its reference is this one.
     */
    async registerWithReveni(input: {
      channel: string;
      returnId: string;
      /** The marketplace return id: Reveni's external reference, and how its webhooks find this return. */
      reference: string;
      orderId: string;
      currency: string;
      items: Array<{ sku: string; quantity: number; reason: string; unitPriceMinor: number }>;
    }): Promise<ReveniSnapshot> {
      const reveni = reveniOf(input.channel);
      try {
        const existing = await reveni.findByReference(input.reference);
        if (existing[0]) {
          log.info(
            { channel: input.channel, reference: input.reference, reveniId: existing[0].id },
            'already in Reveni',
          );
          return toReveniSnapshot(existing[0], input.currency);
        }
        const created = await reveni.createReturn({
          order: { external_id: input.orderId, currency: input.currency },
          external_reference: input.reference,
          type: 'refund',
          items: input.items.map((i) => ({
            sku: i.sku,
            quantity: i.quantity,
            return_reason: i.reason,
            price: Number(fromMinor(i.unitPriceMinor, input.currency)),
          })),
        });
        log.info({ channel: input.channel, reference: input.reference, reveniId: created.id }, 'return sent to Reveni');
        return toReveniSnapshot(created, input.currency);
      } catch (err) {
        throw toActivityFailure(err, 'reveni', 'returns.create', 'RETURN_ACTION_REJECTED', {
          returnId: input.returnId,
          orderId: input.orderId,
          system: 'Reveni',
          step: 'send the return to Reveni',
        });
      }
    },

    /** The Reveni return as it is now (GET returns/{id}): how a webhook is verified. Null: Reveni has none. */
    async readReveniReturn(input: { channel: string; reveniId: string }): Promise<ReveniSnapshot | null> {
      const ch = channelConfig(input.channel);
      try {
        const r = await reveniOf(input.channel).getReturn(input.reveniId);
        return r ? toReveniSnapshot(r, ch.currency) : null;
      } catch (err) {
        throw toActivityFailure(err, 'reveni', 'returns.get', 'UNEXPECTED_ERROR');
      }
    },

    /**
     * A restock decision, to every channel selling the item at once (src/returns/restock.ts): `delta` when
     * the goods are sellable before the warehouse books them, `master` when the warehouse already did.
     */
    async restockReturned(input: {
      channel: string;
      returnKey: string;
      items: Array<{ itemCode: string; units: number }>;
      kind: 'delta' | 'master';
      decidedAt: number;
    }): Promise<{ channels: string[] }> {
      const events = input.items.map((i) => ({
        key: restockKey(input.channel, input.returnKey, i.itemCode),
        itemCode: i.itemCode,
        units: i.units,
        at: input.decidedAt,
        kind: input.kind,
      }));
      const channels = await signalRestocks(deps.client, config, events);
      log.info({ channel: input.channel, returnKey: input.returnKey, items: events.length, channels }, 'restock sent');
      return { channels };
    },
  };
}

export type ReturnActivities = ReturnType<typeof createReturnActivities>;

/** Why a return was refused: the problem as a non-retryable failure (re-exported for the intake). */
export { problemFailure };
