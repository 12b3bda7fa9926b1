// Phase 1, acknowledge first: decide per line (SKU mapped, channel policy, stock) and send OR21 before any
// warehouse work, or park the order with the reason it cannot be accepted automatically.
import { ActivityFailure, condition, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { StockLineDecision } from '../../src/inventory/acceptance';
import type { MarketplaceOrder } from '../../src/domain/order';
import { makeException, type OrderException } from '../../src/domain/reasons';
import { acceptanceBlockers } from '../../src/domain/validation';
import { searchAttributeUpdates } from '../../src/temporal/search-attributes';
import { stockActs } from './activities';
import { OrderCancelled } from './failures';
import type { OrderRun } from './run';

type Decision =
  | { kind: 'accept'; decisions: Array<{ lineId: string; accepted: boolean }> }
  | { kind: 'hold'; exception: OrderException };

export async function acknowledge(run: OrderRun): Promise<'accepted' | 'refused'> {
  const { state } = run;
  const deadlineMs = state.acceptanceDeadline ? new Date(state.acceptanceDeadline).getTime() : undefined;
  for (;;) {
    const decision = await decideAcceptance(run);
    if (decision.kind === 'accept') {
      const r = await run.step('acknowledge', () =>
        run.marketplace.acknowledgeOrder({
          channel: state.channel,
          orderId: state.orderId,
          decisions: decision.decisions,
        }),
      );
      // OR21 met an order the marketplace had already refused or cancelled (read back after a state error).
      if (r === 'refused' || r === 'cancelled') return refused(run, r === 'refused' ? 'REFUSED' : 'CANCELED');
      if (decision.decisions.length > 0 && decision.decisions.every((d) => !d.accepted)) {
        // Every line refused for stock (refuse-line): the marketplace refuses the order; nothing to ship.
        run.setStatus('REFUSED', 'every line out of stock (refuse-line)');
        return 'refused';
      }
      state.acceptedAt = Date.now();
      run.setStatus('ACCEPTED', r === 'resolved' ? 'resolved by an operator' : r);
      run.finishAction();
      return 'accepted';
    }
    // Cannot accept automatically: park with the reason and wait for an operator, a marketplace change
    // (cancelled, refused, accepted in the back office) or the deadline.
    await run.park(decision.exception);
    run.finishAction(); // a retry that met the same hold returns now, showing it
    const acted = await condition(
      () => run.mailbox.pending() !== undefined || run.order.state !== 'WAITING_ACCEPTANCE',
      deadlineMs !== undefined ? Math.max(0, deadlineMs - Date.now()) : undefined,
    );
    if (marketplaceState(run) !== 'WAITING_ACCEPTANCE') {
      run.clearException();
      const now = marketplaceState(run);
      if (now === 'REFUSED' || now === 'CANCELED') return refused(run, now);
      state.acceptedAt = Date.now();
      run.setStatus('ACCEPTED', 'accepted outside Loopline');
      run.finishAction();
      return 'accepted';
    }
    if (!acted) {
      // Deadline passed with no decision: the marketplace will refuse the order; wait for it to say so.
      await condition(() => run.order.state !== 'WAITING_ACCEPTANCE' || run.mailbox.pending() !== undefined);
      if (run.mailbox.pending() === undefined) {
        run.clearException();
        const now = marketplaceState(run);
        if (now === 'REFUSED' || now === 'CANCELED') return refused(run, now);
        continue;
      }
    }
    const action = run.takeAction();
    run.clearException();
    if (action?.kind === 'cancel') throw new OrderCancelled(action.note ?? 'cancelled by an operator');
    if (action?.kind === 'resolve') {
      // An operator accepting by hand (for example after fixing the mapping): accept every line.
      const decisions = run.order.lines.map((l) => ({ lineId: l.lineId, accepted: true }));
      await run.step('acknowledge', () =>
        run.marketplace.acknowledgeOrder({ channel: state.channel, orderId: state.orderId, decisions }),
      );
      state.acceptedAt = Date.now();
      run.setStatus('ACCEPTED', 'accepted by an operator');
      run.finishAction();
      return 'accepted';
    }
    run.note('retry', 'acknowledge');
  }
}

/** Read through a function: TypeScript would otherwise keep a narrowing from before an await. */
function marketplaceState(run: OrderRun): MarketplaceOrder['state'] {
  return run.order.state;
}

/** The marketplace refused (its deadline passed, or someone refused it there) or the customer cancelled. */
function refused(run: OrderRun, marketplace: 'REFUSED' | 'CANCELED'): 'refused' {
  const { state } = run;
  if (run.v2 && marketplace === 'CANCELED') {
    // Cancelled before acceptance: nothing to refuse, nothing in the warehouse.
    run.setStatus('CANCELLED', 'cancelled on the marketplace before acceptance');
    run.finishAction();
    return 'refused';
  }
  const exc = makeException(
    'ACCEPTANCE_DEADLINE_PASSED',
    { orderId: state.orderId, deadline: state.acceptanceDeadline ?? 'unknown' },
    Date.now(),
  );
  state.pastExceptions.push(exc);
  state.status = 'REFUSED';
  run.note('REFUSED', exc.message);
  upsertSearchAttributes(
    searchAttributeUpdates({ OrderStatus: 'REFUSED', ExceptionReason: exc.reason, Owner: exc.owner }),
  );
  run.finishAction();
  return 'refused';
}

async function decideAcceptance(run: OrderRun): Promise<Decision> {
  const { state, settings } = run;
  // No lines, or a line id twice: OR21 cannot express a decision for it (pure check, no commands).
  const blocker = acceptanceBlockers(run.order, state.channel, Date.now())[0];
  if (blocker) return { kind: 'hold', exception: blocker };
  const codes = await itemCodes(run);
  const unmapped = run.order.lines.find((l) => codes[l.offerSku] === undefined || codes[l.offerSku] === null);
  if (unmapped) {
    return {
      kind: 'hold',
      exception: makeException(
        'SKU_UNMAPPED',
        { orderId: state.orderId, lineId: unmapped.lineId, offerSku: unmapped.offerSku },
        Date.now(),
        `order_lines[${run.order.lines.indexOf(unmapped)}].offer_sku`,
      ),
    };
  }
  if (settings.acceptancePolicy === 'manual') {
    return {
      kind: 'hold',
      exception: makeException(
        'AWAITING_MANUAL_ACCEPTANCE',
        { orderId: state.orderId, deadline: state.acceptanceDeadline ?? 'none' },
        Date.now(),
      ),
    };
  }
  // Stock: the channel's out-of-stock policy for lines the master cannot cover any more (docs/inventory.md).
  // Patched: histories from before the check have no such activity at this point.
  if (run.has('order-stock-check')) {
    let stock: StockLineDecision[];
    try {
      stock = await stockActs(settings.taskQueues.inventory ?? workflowInfo().taskQueue).checkOrderStock({
        channel: state.channel,
        lines: run.order.lines.map((l) => ({ lineId: l.lineId, itemCode: codes[l.offerSku]!, quantity: l.quantity })),
        policy: settings.outOfStock,
      });
    } catch (err) {
      // The master could not be read within the check's retries. The acceptance deadline comes first: accept
      // every line as if the check were off (the warehouse reports any shortage) and tell ops.
      const message = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
      run.note('stock', `stock check unavailable, every line accepted without it: ${message}`);
      await run.alert({
        key: `stock-check:${state.channel}:${state.orderId}`,
        kind: 'sync',
        reason: 'STOCK_CHECK_UNAVAILABLE',
        owner: 'ops',
        message: `Order ${state.orderId} (${state.channel}) was accepted without a stock check: the stock master could not be read (${message}). Check the lines can be supplied.`,
      });
      return { kind: 'accept', decisions: run.order.lines.map((l) => ({ lineId: l.lineId, accepted: true })) };
    }
    for (const d of stock.filter((x) => x.shortBy > 0)) {
      run.note(
        'stock',
        d.accepted
          ? `line ${d.lineId} accepted as a backorder: short by ${d.shortBy} (accept-and-backorder)`
          : `line ${d.lineId} refused: out of stock, short by ${d.shortBy} (refuse-line)`,
      );
    }
    state.refusedLines = stock.filter((d) => !d.accepted).map((d) => d.lineId);
    return { kind: 'accept', decisions: stock.map((d) => ({ lineId: d.lineId, accepted: d.accepted })) };
  }
  return { kind: 'accept', decisions: run.order.lines.map((l) => ({ lineId: l.lineId, accepted: true })) };
}

/** offer SKU → the warehouse's item code (null: none). Parks while the warehouse's catalogue cannot be read. */
export async function itemCodes(run: OrderRun): Promise<Record<string, string | null>> {
  const r = await run.step(
    'read item codes',
    () =>
      run.lookups.resolveItemCodes({
        channel: run.state.channel,
        offerSkus: run.order.lines.map((l) => l.offerSku),
      }),
    { resolvable: false },
  );
  return r === 'resolved' ? {} : r;
}
