// The operator side of a standalone exception (a despatch no order could take, catalogue findings, payout
// differences): the same retry / resolve / cancel updates as a parked order, so ops work one queue. Each
// exception workflow keeps its own state and decides what "retry" does; this holds the part they share:
// the updates and their validator, the bounded timeline, and closing (search attributes cleared, so the
// exception leaves the queue). Workflow code: deterministic, no I/O.
import type { UpdateDefinition } from '@temporalio/common';
import { condition, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { OrderException } from '../src/domain/reasons';
import { SA } from '../src/temporal/search-attributes';

export type OperatorActionKind = 'retry' | 'resolve' | 'cancel';

export interface OperatorAction {
  kind: OperatorActionKind;
  note?: string;
}

/** What every standalone exception's state carries. */
export interface MailboxState {
  status: string;
  exception?: OrderException;
  pastExceptions: OrderException[];
  timeline: Array<{ at: number; step: string; detail?: string }>;
}

export interface OperatorUpdates<S> {
  retry: UpdateDefinition<S, []>;
  resolve: UpdateDefinition<S, [string?]>;
  cancel: UpdateDefinition<S, [string?]>;
}

export interface ExceptionMailbox<S extends MailboxState> {
  /** Appends to the timeline, keeping the newest `timelineMax` entries. */
  log(step: string, detail?: string): void;
  /** Closes the exception: it moves to pastExceptions and leaves the queue (search attributes cleared). */
  close(status: S['status'], step: string, detail?: string): void;
  /**
   * The next operator action, or undefined once the exception was closed another way (an audit cleared
   * it). Call done() when the action has been carried out: the update returns the state after it.
   */
  next(): Promise<OperatorAction | undefined>;
  done(): void;
  /** Waits until no update is pending or being carried out, so one that raced the close sees the end state. */
  settle(): Promise<void>;
}

/**
 * Registers the retry / resolve / cancel updates on `state`. An update is refused (validator) unless the
 * exception is open, naming it with `describe`; it returns once the workflow has acted on it.
 */
export function exceptionMailbox<S extends MailboxState>(
  state: S,
  updates: OperatorUpdates<S>,
  opts: { describe: string; timelineMax: number },
): ExceptionMailbox<S> {
  let action: OperatorAction | undefined;
  let busy = false;
  const requireOpen = () => {
    if (state.status !== 'EXCEPTION') throw new Error(`${opts.describe} is already ${state.status}`);
  };
  const act = (kind: OperatorActionKind) => async (note?: string) => {
    action = { kind, note };
    await condition(() => action === undefined && !busy);
    return state;
  };
  setHandler(updates.retry, () => act('retry')(), { validator: requireOpen });
  setHandler(updates.resolve, (n?: string) => act('resolve')(n), { validator: (_n?: string) => requireOpen() });
  setHandler(updates.cancel, (n?: string) => act('cancel')(n), { validator: (_n?: string) => requireOpen() });

  const log = (step: string, detail?: string) => {
    state.timeline.push({ at: Date.now(), step, detail });
    if (state.timeline.length > opts.timelineMax) state.timeline.splice(0, state.timeline.length - opts.timelineMax);
  };

  return {
    log,
    close(status, step, detail) {
      if (state.exception) state.pastExceptions.push(state.exception);
      state.exception = undefined;
      state.status = status;
      log(step, detail);
      upsertSearchAttributes([
        { key: SA.OrderStatus, value: status },
        { key: SA.ExceptionReason, value: null },
        { key: SA.Owner, value: null },
      ] as never);
    },
    async next() {
      await condition(() => action !== undefined || state.status !== 'EXCEPTION');
      if (action === undefined || state.status !== 'EXCEPTION') {
        action = undefined;
        return undefined;
      }
      busy = true;
      const a = action;
      action = undefined;
      return a;
    },
    done() {
      busy = false;
    },
    settle: () => condition(() => action === undefined && !busy),
  };
}
