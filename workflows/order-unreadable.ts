// An order the marketplace returned that Loopline cannot read (ORDER_UNREADABLE): one standalone exception per
// channel and order id, in the same queue as parked orders, naming the order and the failing field. The rest of
// the poll's page went ahead. Retry reads the order again and hands it to its order workflow once it is readable;
// the workflow also looks again by itself every `recheckMs`, so a corrected order is picked up without a person.
import { defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { IntakeActivities } from '../activities/intake';
import { makeException, type OrderException } from '../src/domain/reasons';
import {
  exceptionMailbox,
  operatorMessages,
  publishStandaloneException,
  stateQuery,
  type TimelineEntry,
} from './exception-mailbox';

export interface OrderUnreadableInput {
  channel: string;
  /** Undefined when even the order id could not be read (then the record's fingerprint names it). */
  orderId?: string;
  fingerprint: string;
  field: string;
  problem: string;
  /** Look again by itself this often (default one hour). */
  recheckMs?: number;
}

export interface OrderUnreadableState {
  kind: 'order-unreadable';
  status: 'EXCEPTION' | 'HANDED_OVER' | 'RESOLVED' | 'DISMISSED';
  channel: string;
  orderId?: string;
  field: string;
  problem: string;
  exception?: OrderException;
  pastExceptions: OrderException[];
  timeline: TimelineEntry[];
}

/** The intake met the order again, still unreadable (the field may have changed). */
export const stillUnreadableSignal = defineSignal<[{ field: string; problem: string }]>('stillUnreadable');
export const orderUnreadableOperator = operatorMessages<OrderUnreadableState>();

const TIMELINE_MAX = 60;

const acts = proxyActivities<Pick<IntakeActivities, 'handOverOrdersById'>>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 10 },
});

function describe(input: OrderUnreadableInput, field: string, problem: string): OrderException {
  return makeException(
    'ORDER_UNREADABLE',
    { orderId: input.orderId ?? `(no order id; record ${input.fingerprint})`, channel: input.channel, field, problem },
    Date.now(),
    field,
  );
}

export async function orderUnreadableWorkflow(input: OrderUnreadableInput): Promise<OrderUnreadableState> {
  const state: OrderUnreadableState = {
    kind: 'order-unreadable',
    status: 'EXCEPTION',
    channel: input.channel,
    orderId: input.orderId,
    field: input.field,
    problem: input.problem,
    exception: describe(input, input.field, input.problem),
    pastExceptions: [],
    timeline: [],
  };
  const mailbox = exceptionMailbox(state, {
    describe: `unreadable order ${input.orderId ?? input.fingerprint}`,
    timelineMax: TIMELINE_MAX,
    publish: () => publishStandaloneException(state),
  });
  mailbox.log('exception', state.exception!.message);
  setHandler(stateQuery, () => state);
  setHandler(stillUnreadableSignal, (u) => {
    if (state.status !== 'EXCEPTION' || (u.field === state.field && u.problem === state.problem)) return;
    state.field = u.field;
    state.problem = u.problem;
    state.exception = describe(input, u.field, u.problem);
    mailbox.log('still unreadable', u.field);
  });

  /** Reads the order again; true once it was readable and handed to its order workflow. */
  const readAgain = async (): Promise<boolean> => {
    if (!input.orderId) return false;
    const r = await acts.handOverOrdersById({ channel: input.channel, orderIds: [input.orderId] });
    if (r.unreadable === 0 && r.started + r.signalled > 0) {
      mailbox.close('HANDED_OVER', 'readable now: handed to its order workflow');
      return true;
    }
    mailbox.log('read again', r.unreadable > 0 ? 'still unreadable' : 'not returned by the marketplace');
    return false;
  };

  const recheckMs = input.recheckMs ?? 3_600_000;
  while (state.status === 'EXCEPTION') {
    const a = await mailbox.next({ timeoutMs: recheckMs });
    if (!a) {
      // Nobody acted within the recheck interval: look again by itself (closed another way: the loop ends).
      if (state.status === 'EXCEPTION') await readAgain();
      continue;
    }
    if (a.kind === 'retry') {
      mailbox.log('retry');
      await readAgain();
    } else if (a.kind === 'resolve') mailbox.close('RESOLVED', 'resolved', a.note);
    else mailbox.close('DISMISSED', 'dismissed', a.note);
    mailbox.done();
  }
  await mailbox.settle();
  return state;
}
