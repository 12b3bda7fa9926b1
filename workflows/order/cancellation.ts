// Cancellation: from the marketplace (the customer or operator cancelled) or from an operator in Loopline.
// The warehouse order is cancelled too, or the order parks for ops when the warehouse has already picked it.
import { ApplicationFailure } from '@temporalio/workflow';
import { makeException } from '../../src/domain/reasons';
import { anyShipped } from '../../src/domain/despatch';
import type { OrderRun } from './run';

export async function cancelOrder(run: OrderRun, reason: string): Promise<void> {
  const { state } = run;
  run.note('cancelling', reason);
  // An operator cancel on an order the marketplace still has open: cancel it there too.
  if (run.order.state !== 'CANCELED' && run.order.state !== 'REFUSED' && !anyShipped(state.lines)) {
    await run.step(
      'cancel on marketplace',
      () => run.marketplace.cancelMarketplaceOrder({ channel: state.channel, orderId: state.orderId }),
      { cancelling: true },
    );
  }
  if (state.salesOrderNumber) {
    const salesOrderNumber = state.salesOrderNumber;
    const r = await run.step(
      'cancel warehouse order',
      async () => {
        const res = await run.warehouse.cancelWarehouseOrder({ salesOrderNumber, channel: state.channel });
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
    run.note('warehouse order', r === 'resolved' ? 'handled by an operator' : 'cancelled');
  }
  run.setStatus('CANCELLED', reason);
}
