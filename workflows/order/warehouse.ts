// Phase 3, the warehouse (or storefront) order, exactly once: the activity looks before it creates.
import type { OrderRun } from './run';

export async function createWarehouseOrder(run: OrderRun): Promise<void> {
  const { state } = run;
  const created = await run.step('create warehouse order', () =>
    run.warehouse.createWarehouseOrder({
      channel: state.channel,
      order: state.refusedLines?.length ? { ...run.order, lines: run.liveLines() } : run.order,
    }),
  );
  if (created !== 'resolved') state.salesOrderNumber = created.salesOrderNumber;
  state.warehouseCreatedAt = Date.now();
  run.setStatus('IN_WAREHOUSE', state.salesOrderNumber);
}
