// The refunds Loopline's returns made, as the payout reconciliation needs them (docs/reconciliation.md, "Refunds
// from returns"). The durable record is the return workflow itself: its state keeps the refund it made or found
// on the marketplace order (`refund`: the calculation per line and the marketplace refund id per line). No other
// store: the return workflows of the billed orders are found through visibility (WorkflowType, Channel,
// MarketplaceOrderId — the search attributes every return carries), and read with the `state` query while they
// run, or from their result once completed.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Logger } from 'pino';
import { SA } from '../temporal/search-attributes';
import { returnStateQuery, type ReturnWorkflowState } from '../../workflows/returns/messages';
import type { ReturnRefund, ReturnRefundSource } from './types';

/** Order ids per visibility query (an IN list). */
const ORDERS_PER_QUERY = 50;
/** Order ids and channel codes are spliced into a visibility query: only these characters are. */
const SAFE = /^[A-Za-z0-9_.:~ -]{1,200}$/;

/** The return refunds of one return workflow's final or current state: one per marketplace refund id. */
export function refundsOfReturn(workflowId: string, s: ReturnWorkflowState): ReturnRefund[] {
  const r = s.refund;
  if (!r) return [];
  const found = new Set(r.found);
  const out: ReturnRefund[] = [];
  for (const l of r.calculation.lines) {
    const refundId = r.refundIds[l.lineId];
    if (!refundId) continue;
    const taxes =
      r.calculation.taxMode === 'TAX_EXCLUDED' ? [...l.taxes, ...l.shippingTaxes].reduce((n, t) => n + t.amount, 0) : 0;
    out.push({
      orderId: s.orderId,
      lineId: l.lineId,
      refundId,
      returnWorkflowId: workflowId,
      amountMinor: l.amount + l.shippingAmount + taxes,
      at: r.at,
      how: found.has(l.lineId) ? 'found' : 'sent',
    });
  }
  return out;
}

export function temporalReturnRefundSource(client: Client, log?: Logger): ReturnRefundSource {
  const stateOf = async (wf: WorkflowExecutionInfo): Promise<ReturnWorkflowState | undefined> => {
    const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
    if (wf.status.name === 'COMPLETED') return (await handle.result()) as ReturnWorkflowState;
    if (wf.status.name === 'RUNNING') return handle.query(returnStateQuery);
    // Ended otherwise (failed, terminated, timed out): the query replays what it had recorded. One that cannot
    // be read is reported, not fatal: its refunds then show as made by no return (a finding, never silence).
    try {
      return await handle.query(returnStateQuery);
    } catch (err) {
      log?.warn(
        { workflowId: wf.workflowId, status: wf.status.name, err: (err as Error).message },
        'a closed return could not be read',
      );
      return undefined;
    }
  };
  return {
    async findReturnRefunds(channel, orderIds) {
      if (!SAFE.test(channel)) throw new Error(`channel "${channel}" cannot be searched for returns`);
      const ids = [...new Set(orderIds)];
      const unsafe = ids.filter((id) => !SAFE.test(id));
      if (unsafe.length)
        log?.warn(
          { channel, orders: unsafe.length },
          'order ids that cannot be searched for returns: their payout refunds show as made by no return',
        );
      const searchable = ids.filter((id) => SAFE.test(id));
      const out: ReturnRefund[] = [];
      for (let i = 0; i < searchable.length; i += ORDERS_PER_QUERY) {
        const batch = searchable.slice(i, i + ORDERS_PER_QUERY);
        const query =
          `WorkflowType = 'returnWorkflow' AND ${SA.Channel.name} = '${channel}' AND ` +
          `${SA.MarketplaceOrderId.name} IN (${batch.map((id) => `'${id}'`).join(', ')})`;
        for await (const wf of client.workflow.list({ query })) {
          const s = await stateOf(wf);
          if (s) out.push(...refundsOfReturn(wf.workflowId, s));
        }
      }
      return out;
    },
  };
}
