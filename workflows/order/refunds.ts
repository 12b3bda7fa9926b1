// Refunds from the fulfilment system (a Shopify refund): each becomes an OR28 per line on the marketplace,
// computed from the marketplace order, one at a time beside the main flow (a refund can come while lines are
// still shipping). A refund that cannot be made is recorded and alerted for ops, never retried blindly.
import { condition, setHandler } from '@temporalio/workflow';
import type { RefundNotice } from '../../activities/shopify';
import { refundActs } from './activities';
import { refundNotifiedSignal } from './messages';
import { failureMessage } from './failures';
import type { OrderRun } from './run';

export class Refunds {
  private inFlight = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly seen: Set<string>;
  /** Set once the settings are known (the refund activity runs on the marketplace queue). */
  queue?: string;

  constructor(private readonly run: OrderRun) {
    // Carried across continue-as-new, so a refund taken by an earlier run is never made again.
    this.seen = new Set(run.state.refundsSeen ?? []);
    setHandler(refundNotifiedSignal, async (n) => {
      if (this.seen.has(n.refundId) || run.state.refunds?.some((r) => r.refundId === n.refundId)) return;
      this.seen.add(n.refundId);
      if (run.v2) run.state.refundsSeen = [...this.seen];
      this.inFlight++;
      this.chain = this.chain.then(() => this.refund(n));
      try {
        await this.chain;
      } finally {
        this.inFlight--;
      }
    });
  }

  /** Resolves once no refund is being sent. */
  settled(): Promise<void> {
    return condition(() => this.inFlight === 0);
  }

  private async refund(n: RefundNotice): Promise<void> {
    const { state } = this.run;
    await condition(() => this.queue !== undefined);
    const prior: Record<string, { count: number; quantity: number }> = {};
    for (const r of state.refunds ?? []) {
      if (r.error || r.outcome === 'nothing-to-refund') continue;
      for (const l of r.lines) {
        const p = (prior[l.lineId] ??= { count: 0, quantity: 0 });
        p.count += 1;
        p.quantity += l.quantity;
      }
    }
    state.refunds ??= [];
    try {
      const calc = await refundActs(this.queue!).refundFromShopify({
        channel: state.channel,
        orderId: state.orderId,
        notice: n,
        priorRefunds: prior,
      });
      state.refunds.push({ ...calc, at: Date.now() });
      this.run.note(
        'refund',
        `${n.refundId}: ${calc.outcome} ${calc.lines.map((l) => `${l.lineId}×${l.quantity}=${l.amount}+${l.shippingAmount}`).join(', ')}`,
      );
    } catch (err) {
      const message = failureMessage(err);
      state.refunds.push({
        refundId: n.refundId,
        reasonCode: '',
        lines: [],
        unmatched: n.lines,
        outcome: 'nothing-to-refund',
        at: Date.now(),
        error: message,
      });
      this.run.note('refund failed', `${n.refundId}: ${message}`);
      await this.run.alert({
        key: `refund:${state.channel}:${state.orderId}:${n.refundId}`,
        kind: 'exception',
        owner: 'ops',
        message: `Order ${state.orderId} (${state.channel}): refund ${n.refundId} from the fulfilment system could not be made on the marketplace: ${message}. Refund it in the marketplace back office.`,
      });
    }
  }
}
