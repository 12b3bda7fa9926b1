// Phase 3, the warehouse (or storefront) order, exactly once: the number is decided once and kept in the
// workflow's state before the first create (a config change mid-create cannot move it), and the activity looks
// before it creates, counting a found order only when it is this marketplace order.
import { wmsSalesOrderNumber } from '../../src/domain/keys';
import type { OrderRun } from './run';

export async function createWarehouseOrder(run: OrderRun): Promise<void> {
  const { state } = run;
  const prefix = run.settings.warehouseOrderPrefix;
  if (prefix !== undefined) state.plannedSalesOrderNumber ??= wmsSalesOrderNumber(prefix, state.orderId);
  const created = await run.step('create warehouse order', () =>
    run.warehouse.createWarehouseOrder({
      channel: state.channel,
      order: state.refusedLines?.length ? { ...run.order, lines: run.liveLines() } : run.order,
      ...(state.plannedSalesOrderNumber ? { salesOrderNumber: state.plannedSalesOrderNumber } : {}),
    }),
  );
  if (created !== 'resolved') state.salesOrderNumber = created.salesOrderNumber;
  else state.salesOrderNumber ??= state.plannedSalesOrderNumber;
  state.warehouseCreatedAt = Date.now();
  run.setStatus('IN_WAREHOUSE', state.salesOrderNumber);
}
