// Phase 4, despatches: every parcel the warehouse sends is confirmed to the marketplace with its lines, carrier
// and tracking (ST01 per parcel on multi-shipment platforms, OR23 + OR24 once everything has gone otherwise).
import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { Despatch } from '../../src/domain/order';
import { makeException } from '../../src/domain/reasons';
import { allocateDespatch, anyShipped, applyShipment, fullyShipped } from '../../src/domain/despatch';
import { OrderCancelled } from './failures';
import type { DespatchRecord } from './messages';
import type { OrderRun } from './run';
import type { orderWorkflow } from './index';

export async function awaitDespatches(run: OrderRun): Promise<void> {
  const { state } = run;
  // Through the warehouse gateway, despatches come to the order with their items (one read for everyone per
  // window): no read of its own on a timer. Without it, the order reads its despatches every backstop period.
  const fedByGateway = run.settings.warehouseGateway !== undefined && run.has('order-despatch-by-gateway');
  const backstopMs = run.settings.despatchBackstopMs;
  while (!fullyShipped(state.lines)) {
    const wake = () =>
      run.notices.length > 0 ||
      run.order.state === 'CANCELED' ||
      run.cancelRequested() ||
      workflowInfo().continueAsNewSuggested;
    let woke = true;
    if (fedByGateway) await condition(wake);
    else woke = await condition(wake, backstopMs);
    if (run.order.state === 'CANCELED') throw new OrderCancelled('cancelled on the marketplace');
    run.honourCancel();
    if (workflowInfo().continueAsNewSuggested && run.notices.length === 0) {
      await renew(run);
      await continueAsNew<typeof orderWorkflow>({
        channel: state.channel,
        orderId: state.orderId,
        order: run.order,
        resume: state,
      });
    }
    // A callback carries only the despatch number; the items come from the warehouse's report. The
    // same read is the workflow's own backstop when no callback arrived.
    const needReport = !woke || run.notices.some((n) => !n.despatch);
    let known: Despatch[] = run.notices.flatMap((n) => (n.despatch ? [n.despatch] : []));
    run.notices.length = 0;
    if (needReport && state.salesOrderNumber) {
      const salesOrderNumber = state.salesOrderNumber;
      const fromReport = await run.step('read despatches', () =>
        run.warehouseReads.listWarehouseDespatches({ salesOrderNumber, channel: state.channel }),
      );
      if (fromReport !== 'resolved') known = [...known, ...fromReport];
    }
    for (const d of known) {
      if (state.despatches.some((r) => r.despatchNumber === d.despatchNumber)) continue;
      await handleDespatch(run, d);
    }
  }
  state.shippedAt = Date.now();
  run.setStatus('SHIPPED');
}

async function handleDespatch(run: OrderRun, d: Despatch): Promise<void> {
  const { state, settings } = run;
  const allocation = allocateDespatch(d, state.lines);
  const record: DespatchRecord = {
    despatchNumber: d.despatchNumber,
    trackingNumber: d.trackingNumber,
    carrier: d.carrier,
    lines: allocation.lines,
    confirmed: false,
  };
  state.despatches.push(record);
  run.note('despatched', `${d.despatchNumber}: ${allocation.lines.map((l) => `${l.lineId}×${l.quantity}`).join(', ')}`);
  if (allocation.excess.length > 0) {
    const x = allocation.excess[0]!;
    await run.alert({
      key: `excess:${state.channel}:${state.orderId}:${d.despatchNumber}`,
      kind: 'exception',
      owner: 'ops',
      reason: 'DESPATCH_EXCEEDS_ORDER',
      message: makeException(
        'DESPATCH_EXCEEDS_ORDER',
        { orderId: state.orderId, despatchNumber: d.despatchNumber, quantity: x.quantity, itemCode: x.itemCode },
        Date.now(),
      ).message,
    });
  }
  if (allocation.lines.length === 0) return;
  const progressAfter = applyShipment(state.lines, allocation.lines);
  if (!settings.multiShipment && !fullyShipped(progressAfter)) {
    // Without multi-shipment the marketplace only takes whole orders (OR23 + OR24): hold the parcel
    // until the rest of the order is despatched.
    state.lines = progressAfter;
    state.status = 'PARTIALLY_SHIPPED';
    run.publish();
    return;
  }
  const lines = settings.multiShipment
    ? allocation.lines
    : progressAfter.map((p) => ({ lineId: p.lineId, quantity: p.shipped }));
  const r = await run.step('confirm shipment', () =>
    run.marketplace.confirmShipment({
      channel: state.channel,
      orderId: state.orderId,
      despatchNumber: d.despatchNumber,
      lines,
      trackingNumber: d.trackingNumber,
      carrier: d.carrier,
      mode: settings.multiShipment ? 'ST01' : 'OR23_OR24',
    }),
  );
  run.note(r === 'resolved' ? 'shipment handled by an operator' : 'shipment confirmed', d.despatchNumber);
  record.confirmed = true;
  if (!settings.multiShipment) for (const rec of state.despatches) rec.confirmed = true;
  state.lines = progressAfter;
  run.setStatus(
    anyShipped(state.lines) && !fullyShipped(state.lines) ? 'PARTIALLY_SHIPPED' : state.status,
    d.despatchNumber,
  );
}

/**
 * Before continue-as-new: let every handler finish (a refund being sent, an operator's update) so none is
 * abandoned, with every dedupe set on the state the next run starts from.
 */
export async function renew(run: OrderRun): Promise<void> {
  if (!run.v2) return;
  await condition(allHandlersFinished);
}
