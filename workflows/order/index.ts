// One durable workflow per marketplace order, for its whole life:
//   acknowledge (OR21, before any warehouse work) → validate → create the warehouse order exactly once →
//   await despatches and confirm each despatched line → return window → close.
// Anything a person must decide parks the order in the exception mailbox (reason, owner, sentence) until an
// operator retries, resolves or cancels it; an outage parks it until the system answers again. No I/O here:
// every effect is an activity; each phase is a file.
import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { fullyShipped } from '../../src/domain/despatch';
import { acknowledge } from './acceptance';
import { cancelOrder } from './cancellation';
import { Deadlines } from './deadlines';
import { awaitDespatches, renew } from './despatch';
import { OrderCancelled } from './failures';
import {
  despatchNotifiedSignal,
  orderStateQuery,
  orderUpdatedSignal,
  type OrderWorkflowInput,
  type OrderWorkflowState,
} from './messages';
import { Refunds } from './refunds';
import { OrderReturns } from './returns';
import { MAX_PENDING_NOTICES, OrderRun } from './run';
import { validate } from './validation';
import { createWarehouseOrder, registerWarehouseHandlers } from './warehouse';

export * from './messages';

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowState> {
  const run = new OrderRun(input);
  const { state } = run;
  const deadlines = new Deadlines(run);
  const shippingAlerts = () =>
    deadlines.arm('shipping', state.shippingDeadline, state.warehouseCreatedAt ?? Date.now(), () =>
      fullyShipped(state.lines),
    );
  // Handlers first, before any await.
  setHandler(orderStateQuery, () => state);
  setHandler(orderUpdatedSignal, (o) => {
    if (o.updatedAt < run.order.updatedAt) return;
    run.order = o;
    state.marketplaceState = o.state;
    if (o.shippingDeadline && o.shippingDeadline !== state.shippingDeadline) {
      state.shippingDeadline = o.shippingDeadline;
      // The marketplace moved the deadline: alerts follow it.
      if (run.v2 && state.warehouseCreatedAt !== undefined) shippingAlerts();
    }
  });
  setHandler(despatchNotifiedSignal, (n) => {
    if (state.despatches.some((d) => d.despatchNumber === n.despatchNumber)) return;
    // Bounded: the despatch read finds whatever a dropped notice named.
    if (
      run.v2 &&
      (run.notices.length >= MAX_PENDING_NOTICES || run.notices.some((p) => p.despatchNumber === n.despatchNumber))
    )
      return;
    run.notices.push(n);
  });
  const refunds = new Refunds(run);
  // Returns: a child workflow per return; the order stays open while any is open (order-returns-v1).
  const returns = new OrderReturns(run);
  registerWarehouseHandlers(run);

  await run.loadSettings();
  refunds.queue = run.settings.taskQueues.acknowledge;
  run.publish();

  try {
    if (!run.resumed) {
      run.note('received', `marketplace state ${run.order.state}`);
      // A marketplace without acceptance (Marketplacer: an invoice is a paid order) never waits here.
      if (run.order.state === 'WAITING_ACCEPTANCE' && run.settings.acceptance !== 'none') {
        run.setStatus('AWAITING_ACCEPTANCE');
        deadlines.arm(
          'acceptance',
          state.acceptanceDeadline,
          new Date(run.order.createdAt).getTime(),
          () => state.acceptedAt !== undefined,
        );
        if ((await acknowledge(run)) === 'refused') return state;
        run.honourCancel();
      }
      // Wait until the marketplace lets us ship (debit done, addresses visible).
      await condition(
        () =>
          (run.order.state !== 'WAITING_ACCEPTANCE' && !run.order.state.startsWith('WAITING_DEBIT')) ||
          run.cancelRequested(),
      );
      run.honourCancel();
      if (run.order.state === 'CANCELED' || run.order.state === 'REFUSED')
        throw new OrderCancelled(`marketplace state ${run.order.state}`);
      await validate(run);
      run.honourCancel();
      await createWarehouseOrder(run);
      run.honourCancel();
    }
    if (state.status === 'IN_WAREHOUSE' || state.status === 'PARTIALLY_SHIPPED') {
      // Armed again after continue-as-new (v2): the timers of the previous run died with it.
      if (!run.resumed || run.v2) shippingAlerts();
      await awaitDespatches(run);
    }
    if (state.status === 'SHIPPED' && returns.enabled) {
      // The return window and every return of the order, then close.
      await returns.awaitReturns(input);
      run.setStatus('CLOSED');
    } else if (state.status === 'SHIPPED') {
      // The return window, then close.
      const until = (state.shippedAt ?? Date.now()) + run.settings.returnWindowDays * 24 * 3600 * 1000;
      await condition(
        () => run.order.state === 'CLOSED' || workflowInfo().continueAsNewSuggested,
        Math.max(0, until - Date.now()),
      );
      if (workflowInfo().continueAsNewSuggested && run.order.state !== 'CLOSED' && Date.now() < until) {
        await renew(run);
        await continueAsNew<typeof orderWorkflow>({ ...input, order: run.order, resume: state });
      }
      run.setStatus('CLOSED');
    }
    // A refund being sent to the marketplace finishes before the workflow does.
    await refunds.settled();
    return state;
  } catch (err) {
    if (!(err instanceof OrderCancelled)) throw err;
    await cancelOrder(run, err.message);
    return state;
  }
}
