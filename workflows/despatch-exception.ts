// A warehouse despatch that no running order workflow could take: shipped for an order Loopline never
// saw (DESPATCH_WITHOUT_ORDER) or after its order had finished (DESPATCH_FOR_CLOSED_ORDER). It lives in
// the same exception queue as parked orders (same search attributes, same retry / resolve / cancel
// updates), so ops see it beside everything else. Retry looks again for a running order workflow and
// hands the despatch over (for example after the order was imported late); resolve and cancel close it.
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { DespatchSweepActivities } from '../activities/despatch-sweep';
import type { OrderActivities } from '../activities/order';
import type { Despatch } from '../src/domain/order';
import { makeException, type OrderException } from '../src/domain/reasons';
import {
  exceptionMailbox,
  operatorMessages,
  publishStandaloneException,
  stateQuery,
  type TimelineEntry,
} from './exception-mailbox';

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
  timeline: TimelineEntry[];
}

/** retry / resolve / cancel and `state`, typed with this workflow's state. */
export const despatchExceptionOperator = operatorMessages<DespatchExceptionState>();

const TIMELINE_MAX = 60;

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
  const mailbox = exceptionMailbox(state, {
    describe: `despatch ${d.despatchNumber}`,
    timelineMax: TIMELINE_MAX,
    publish: () => publishStandaloneException(state),
  });
  setHandler(stateQuery, () => state);

  await alerts.raiseAlert({
    key: `despatch:${d.salesOrderNumber}:${d.despatchNumber}`,
    kind: 'exception',
    channel: input.channel ?? 'warehouse',
    orderId: input.orderId,
    reason: exception.reason,
    owner: exception.owner,
    message: exception.message,
  });

  for (let a = await mailbox.next(); a; a = await mailbox.next()) {
    if (a.kind === 'retry') {
      mailbox.log('retry');
      const r = await sweep.forwardDespatch(d);
      if (r.outcome === 'forwarded' || r.outcome === 'known')
        mailbox.close('FORWARDED', 'handed to order', r.workflowId);
      else mailbox.log('still no running order workflow', r.outcome);
    } else if (a.kind === 'resolve') mailbox.close('RESOLVED', 'resolved', a.note);
    else mailbox.close('DISMISSED', 'dismissed', a.note);
    mailbox.done();
  }
  await mailbox.settle();
  return state;
}
