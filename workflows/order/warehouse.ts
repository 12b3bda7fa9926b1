// Phase 3, the warehouse (or storefront) order, exactly once: the number is decided once and kept in the
// workflow's state before the first create (a config change mid-create cannot move it), and a found order
// counts only when it is this marketplace order.
// Through the warehouse gateway (Peoplevox, by default): the order asks the gateway (a reference, no data), the
// gateway saves it in a batch with others and answers by signal; a lost answer is asked for again. Without it,
// the order's own activity looks before it creates.
import { ApplicationFailure, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import { wmsSalesOrderNumber } from '../../src/domain/keys';
import { makeException } from '../../src/domain/reasons';
import { settingsActs } from './activities';
import { warehouseRequestQuery, warehouseResultSignal, type WarehouseResult } from './messages';
import type { OrderRun } from './run';

/** Asks again this many times when the gateway's answer does not come, before the step parks. */
const GATEWAY_ASKS = 3;
/** Waits while the gateway still holds the request (it said so), before the step parks as an outage. */
const GATEWAY_QUEUED_WAITS = 20;
/** The longest single wait, in result timeouts, whatever the gateway's estimate. */
const GATEWAY_LONGEST_WAIT = 10;

/** Registers what the gateway needs from this order: its answer signal and the query its batch reads. */
export function registerWarehouseHandlers(run: OrderRun): void {
  setHandler(warehouseResultSignal, (r) => {
    if (r.ref.salesOrderNumber === run.state.plannedSalesOrderNumber) run.warehouseResult = r;
  });
  setHandler(warehouseRequestQuery, () => {
    const { state } = run;
    if (!state.plannedSalesOrderNumber || state.salesOrderNumber) return undefined;
    return {
      order: state.refusedLines?.length ? { ...run.order, lines: run.liveLines() } : run.order,
      salesOrderNumber: state.plannedSalesOrderNumber,
    };
  });
}

export async function createWarehouseOrder(run: OrderRun): Promise<void> {
  const { state } = run;
  const prefix = run.settings.warehouseOrderPrefix;
  if (prefix !== undefined) state.plannedSalesOrderNumber ??= wmsSalesOrderNumber(prefix, state.orderId);
  const viaGateway =
    run.settings.warehouseGateway !== undefined &&
    state.plannedSalesOrderNumber !== undefined &&
    run.has('order-warehouse-gateway');
  const created = await run.step('create warehouse order', () =>
    viaGateway
      ? throughGateway(run)
      : run.warehouse.createWarehouseOrder({
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

async function throughGateway(run: OrderRun): Promise<{ salesOrderNumber: string }> {
  const { state } = run;
  const salesOrderNumber = state.plannedSalesOrderNumber!;
  const timeoutMs = run.settings.warehouseGateway!.resultTimeoutMs;
  let result: WarehouseResult | undefined;
  let waitMs: number;
  let queuedWaits = 0;
  for (let ask = 1; ask <= GATEWAY_ASKS && !result;) {
    run.warehouseResult = undefined;
    // Asking again, the order first looks whether the gateway still holds its request: if so it is not sent again
    // and the order waits as long as the queue ahead of it should take (activities before this returned nothing).
    const ack = await settingsActs.requestWarehouseOrder({
      workflowId: workflowInfo().workflowId,
      channel: state.channel,
      orderId: state.orderId,
      salesOrderNumber,
      // What the batch needs, so it does not have to query this workflow (the query stays for older requests).
      request: {
        order: state.refusedLines?.length ? { ...run.order, lines: run.liveLines() } : run.order,
        salesOrderNumber,
      },
      ...(ask > 1 || queuedWaits > 0 ? { check: true } : {}),
    });
    if (ack?.state === 'queued' && queuedWaits < GATEWAY_QUEUED_WAITS) {
      queuedWaits += 1;
      waitMs = Math.min(Math.max(timeoutMs, Math.ceil(ack.etaMs * 1.5)), GATEWAY_LONGEST_WAIT * timeoutMs);
    } else {
      ask += 1;
      waitMs = timeoutMs;
    }
    // The answer, or ask again; a retry answer (the batch could not read this order) asks again too.
    if (await condition(() => run.warehouseResult !== undefined, waitMs)) {
      result = run.warehouseResult!.outcome === 'retry' && ask <= GATEWAY_ASKS ? undefined : run.warehouseResult;
    }
  }
  if (!result) {
    throw ApplicationFailure.create({
      message: `the warehouse gateway did not answer in ${GATEWAY_ASKS} tries`,
      type: 'peoplevox:SaveData',
    });
  }
  const failure = warehouseFailure(state.orderId, result);
  if (failure) throw failure;
  return { salesOrderNumber };
}

/** A batch's answer that is not a success, as the failure the step turns into an exception (or an outage). */
function warehouseFailure(orderId: string, r: WarehouseResult): ApplicationFailure | undefined {
  switch (r.outcome) {
    case 'created':
    case 'exists':
      return undefined;
    case 'rejected':
      return ApplicationFailure.create({
        message: makeException('WMS_REJECTED', { orderId, detail: r.message }, Date.now()).message,
        type: 'WMS_REJECTED',
        nonRetryable: true,
        details: [{ detail: r.message }],
      });
    case 'taken':
      return ApplicationFailure.create({
        message: makeException(
          'WMS_ORDER_NUMBER_TAKEN',
          { orderId, salesOrderNumber: r.ref.salesOrderNumber, reference: r.reference },
          Date.now(),
        ).message,
        type: 'WMS_ORDER_NUMBER_TAKEN',
        nonRetryable: true,
        details: [{ salesOrderNumber: r.ref.salesOrderNumber, reference: r.reference }],
      });
    case 'unavailable':
    case 'retry':
      // An outage: the step parks as SYSTEM_UNAVAILABLE (naming Peoplevox) and asks again by itself.
      return ApplicationFailure.create({ message: r.message, type: 'peoplevox:SaveData' });
  }
}
