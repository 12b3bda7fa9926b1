// A warehouse despatch that no running order workflow could take: shipped for an order Loopline never
// saw (DESPATCH_WITHOUT_ORDER) or after its order had finished (DESPATCH_FOR_CLOSED_ORDER). It lives in
// the same exception queue as parked orders (same search attributes, same retry / resolve / cancel
// updates), so ops see it beside everything else. Retry looks again for a running order workflow and
// hands the despatch over (for example after the order was imported late); resolve and cancel close it.
import {
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { DespatchSweepActivities } from '../activities/despatch-sweep';
import type { OrderActivities } from '../activities/order';
import type { Despatch } from '../src/domain/order';
import { makeException, type OrderException } from '../src/domain/reasons';
import { SA } from '../src/temporal/search-attributes';

export interface DespatchExceptionInput {
  reason: 'DESPATCH_WITHOUT_ORDER' | 'DESPATCH_FOR_CLOSED_ORDER';
  despatch: Despatch;
  channel?: string;
  orderId?: string;
  /** The order workflow's final status, for DESPATCH_FOR_CLOSED_ORDER. */
  orderStatus?: string;
}

export interface DespatchExceptionState {
  kind: 'despatch-exception';
  status: 'EXCEPTION' | 'FORWARDED' | 'RESOLVED' | 'DISMISSED';
  despatchNumber: string;
  salesOrderNumber: string;
  channel?: string;
  orderId?: string;
  exception?: OrderException;
  pastExceptions: OrderException[];
  timeline: Array<{ at: number; step: string; detail?: string }>;
}

export const despatchExceptionStateQuery = defineQuery<DespatchExceptionState>('state');
export const retryDespatchUpdate = defineUpdate<DespatchExceptionState, []>('retry');
export const resolveDespatchUpdate = defineUpdate<DespatchExceptionState, [string?]>('resolve');
export const cancelDespatchUpdate = defineUpdate<DespatchExceptionState, [string?]>('cancel');

const sweep = proxyActivities<Pick<DespatchSweepActivities, 'forwardDespatch'>>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
});
const alerts = proxyActivities<Pick<OrderActivities, 'raiseAlert'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m', maximumAttempts: 12 },
});

export async function despatchExceptionWorkflow(input: DespatchExceptionInput): Promise<DespatchExceptionState> {
  const d = input.despatch;
  const exception = makeException(
    input.reason,
    {
      despatchNumber: d.despatchNumber,
      salesOrderNumber: d.salesOrderNumber,
      orderId: input.orderId ?? d.salesOrderNumber,
      status: (input.orderStatus ?? 'finished').toLowerCase(),
    },
    Date.now(),
  );
  const state: DespatchExceptionState = {
    kind: 'despatch-exception',
    status: 'EXCEPTION',
    despatchNumber: d.despatchNumber,
    salesOrderNumber: d.salesOrderNumber,
    channel: input.channel,
    orderId: input.orderId,
    exception,
    pastExceptions: [],
    timeline: [{ at: Date.now(), step: 'exception', detail: `${exception.reason}: ${exception.message}` }],
  };
  let action: { kind: 'retry' | 'resolve' | 'cancel'; note?: string } | undefined;
  let busy = false;

  const requireOpen = () => {
    if (state.status !== 'EXCEPTION') throw new Error(`despatch ${d.despatchNumber} is already ${state.status}`);
  };
  const act = (kind: 'retry' | 'resolve' | 'cancel') => async (note?: string) => {
    action = { kind, note };
    await condition(() => action === undefined && !busy);
    return state;
  };
  setHandler(despatchExceptionStateQuery, () => state);
  setHandler(retryDespatchUpdate, () => act('retry')(), { validator: requireOpen });
  setHandler(resolveDespatchUpdate, (n?: string) => act('resolve')(n), { validator: (_n?: string) => requireOpen() });
  setHandler(cancelDespatchUpdate, (n?: string) => act('cancel')(n), { validator: (_n?: string) => requireOpen() });

  const close = (status: DespatchExceptionState['status'], step: string, detail?: string) => {
    state.pastExceptions.push(exception);
    state.exception = undefined;
    state.status = status;
    state.timeline.push({ at: Date.now(), step, detail });
    upsertSearchAttributes([
      { key: SA.OrderStatus, value: status },
      { key: SA.ExceptionReason, value: null },
      { key: SA.Owner, value: null },
    ] as never);
  };

  await alerts.raiseAlert({
    key: `despatch:${d.salesOrderNumber}:${d.despatchNumber}`,
    kind: 'exception',
    channel: input.channel ?? 'warehouse',
    orderId: input.orderId,
    reason: exception.reason,
    owner: exception.owner,
    message: exception.message,
  });

  while (state.status === 'EXCEPTION') {
    await condition(() => action !== undefined);
    busy = true;
    const a = action!;
    action = undefined;
    if (a.kind === 'retry') {
      state.timeline.push({ at: Date.now(), step: 'retry' });
      const r = await sweep.forwardDespatch(d);
      if (r.outcome === 'forwarded' || r.outcome === 'known') close('FORWARDED', 'handed to order', r.workflowId);
      else state.timeline.push({ at: Date.now(), step: 'still no running order workflow', detail: r.outcome });
    } else if (a.kind === 'resolve') close('RESOLVED', 'resolved', a.note);
    else close('DISMISSED', 'dismissed', a.note);
    busy = false;
  }
  return state;
}
