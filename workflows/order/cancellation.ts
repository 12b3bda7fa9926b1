// Cancellation: from the marketplace (the customer or operator cancelled there) or from an operator in Loopline.
// The warehouse comes first: once it has picked or despatched the order nothing is cancelled on the marketplace
// (the parcel may be on its way; ops decide, CANCELLED_AFTER_PICK). An order not accepted yet is refused (OR21
// with every line refused), one already accepted is cancelled (OR29).
import { ApplicationFailure } from '@temporalio/workflow';
import { makeException } from '../../src/domain/reasons';
import { anyShipped } from '../../src/domain/despatch';
import type { OrderRun } from './run';

export async function cancelOrder(run: OrderRun, reason: string): Promise<void> {
  run.cancelling = true;
  run.note('cancelling', reason);
  if (!run.v2) return cancelOrderV1(run, reason);
  const { state } = run;
  const open = () => run.order.state !== 'CANCELED' && run.order.state !== 'REFUSED';
  if (open() && run.order.state === 'WAITING_ACCEPTANCE' && state.acceptedAt === undefined) {
    const decisions = run.order.lines.map((l) => ({ lineId: l.lineId, accepted: false }));
    await run.step(
      'refuse on marketplace',
      () => run.marketplace.acknowledgeOrder({ channel: state.channel, orderId: state.orderId, decisions }),
      { cancelling: true },
    );
    return finish(run, reason);
  }
  // The warehouse order: the one created, or the one a create that never answered may have made.
  const salesOrderNumber = state.salesOrderNumber ?? state.plannedSalesOrderNumber;
  if (salesOrderNumber) {
    const r = await cancelInWarehouse(run, salesOrderNumber, state.salesOrderNumber === undefined);
    run.note('warehouse order', r === 'resolved' ? 'handled by an operator' : 'cancelled');
  }
  if (open() && !anyShipped(state.lines)) {
    await run.step(
      'cancel on marketplace',
      () => run.marketplace.cancelMarketplaceOrder({ channel: state.channel, orderId: state.orderId }),
      { cancelling: true },
    );
  }
  finish(run, reason);
}

function finish(run: OrderRun, reason: string): void {
  run.setStatus('CANCELLED', reason);
  run.finishAction();
}

function cancelInWarehouse(run: OrderRun, salesOrderNumber: string, onlyIfExists: boolean) {
  const { state } = run;
  return run.step(
    'cancel warehouse order',
    async () => {
      const res = await run.warehouse.cancelWarehouseOrder({
        salesOrderNumber,
        channel: state.channel,
        ...(onlyIfExists ? { onlyIfExists } : {}),
      });
      if (!res.cancelled) {
        throw ApplicationFailure.nonRetryable(
          makeException(
            'CANCELLED_AFTER_PICK',
            { orderId: state.orderId, wmsStatus: res.status.toLowerCase() },
            Date.now(),
          ).message,
          'CANCELLED_AFTER_PICK',
        );
      }
      return res;
    },
    { cancelling: true },
  );
}

/** Before v2: the marketplace first, then the warehouse (kept for histories recorded then). */
async function cancelOrderV1(run: OrderRun, reason: string): Promise<void> {
  const { state } = run;
  if (run.order.state !== 'CANCELED' && run.order.state !== 'REFUSED' && !anyShipped(state.lines)) {
    await run.step(
      'cancel on marketplace',
      () => run.marketplace.cancelMarketplaceOrder({ channel: state.channel, orderId: state.orderId }),
      { cancelling: true },
    );
  }
  if (state.salesOrderNumber) {
    const r = await cancelInWarehouse(run, state.salesOrderNumber, false);
    run.note('warehouse order', r === 'resolved' ? 'handled by an operator' : 'cancelled');
  }
  run.setStatus('CANCELLED', reason);
}
