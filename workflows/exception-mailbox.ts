// The operator side of every workflow that parks (an order, a despatch no order could take, catalogue findings,
// payout differences, an unreadable order): one exception at a time, with a reason, an owner and a sentence,
// and the same retry / resolve / cancel updates and `state` query, so ops work one queue. Each workflow keeps
// its own state and decides what "retry" means; this holds the part they share: opening and clearing the
// exception (search attributes kept current through the workflow's own `publish`), the bounded timeline, the
// updates with their validators, and handing each operator action to the workflow body exactly once.
// Workflow code: deterministic, no I/O.
import { condition, defineQuery, defineUpdate, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import type { OrderException } from '../src/domain/reasons';
import { searchAttributeUpdates } from '../src/temporal/search-attributes';

export type OperatorActionKind = 'retry' | 'resolve' | 'cancel';

export interface OperatorAction {
  kind: OperatorActionKind;
  note?: string;
}

export interface TimelineEntry {
  at: number;
  step: string;
  detail?: string;
}

/** What the state of every workflow that parks carries. */
export interface MailboxState {
  status: string;
  exception?: OrderException;
  pastExceptions: OrderException[];
  timeline: TimelineEntry[];
}

// One definition of each operator message for every workflow type that parks (the names are the wire contract
// with the dashboard, the CLI and the Web UI). Each workflow's own messages file re-exports typed views.
export const retryUpdate = defineUpdate<MailboxState, []>('retry');
export const resolveUpdate = defineUpdate<MailboxState, [string | undefined]>('resolve');
export const cancelUpdate = defineUpdate<MailboxState, [string | undefined]>('cancel');
export const stateQuery = defineQuery<MailboxState>('state');

/** The same operator messages, typed with one workflow's state (for its callers: CLI, tests, ops). */
export function operatorMessages<S extends MailboxState>() {
  return {
    retry: retryUpdate as unknown as UpdateDefinition<S, []>,
    resolve: resolveUpdate as unknown as UpdateDefinition<S, [string | undefined]>,
    cancel: cancelUpdate as unknown as UpdateDefinition<S, [string | undefined]>,
    state: stateQuery as unknown as QueryDefinition<S>,
  };
}

export interface MailboxOptions {
  /** How the validators name the record: "order asos/123", "despatch D-1". */
  describe: string;
  timelineMax: number;
  /** Writes the workflow's search attributes after its exception opened or cleared. */
  publish(): void;
  /** Validator of cancel (throws to refuse); default: refused unless an exception is open. */
  canCancel?(): void;
  /** Further check for resolve, after "an exception is open" (throws to refuse). */
  canResolve?(): void;
  /** Past exceptions kept (oldest dropped); default 20. */
  pastMax?: number;
}

export interface ExceptionMailbox {
  /** Appends to the timeline, keeping the newest `timelineMax` entries. */
  log(step: string, detail?: string): void;
  /** Opens (or replaces) the exception: logged, published. */
  open(exception: OrderException): void;
  /** Clears the open exception into pastExceptions and publishes. */
  clear(): void;
  /** Clears the exception and ends in `status` (standalone exceptions). */
  close(status: string, step: string, detail?: string): void;
  /**
   * The next operator action while the exception is open. Undefined when the exception was cleared another way,
   * `until` became true, or `timeoutMs` passed. The caller calls done() once the action was carried out.
   */
  next(opts?: { until?: () => boolean; timeoutMs?: number }): Promise<OperatorAction | undefined>;
  /** An action sent but not taken yet (an order's cancel can arrive while nothing is parked). */
  pending(): OperatorAction | undefined;
  /** Takes the pending action (the caller calls done() when it has been carried out). */
  take(): OperatorAction | undefined;
  /** The action taken has been carried out: its update returns the state as it is now. */
  done(): void;
  /** Waits until no action is pending or being carried out, so an update that raced the end sees it. */
  settle(): Promise<void>;
}

/**
 * Registers retry / resolve / cancel and keeps the exception on `state`. An update is refused by its validator
 * unless the exception is open (cancel: `canCancel`) and no other action is under way; it returns once the
 * workflow has carried the action out (done()).
 */
export function exceptionMailbox<S extends MailboxState>(state: S, opts: MailboxOptions): ExceptionMailbox {
  let action: OperatorAction | undefined;
  let busy = false;
  const pastMax = opts.pastMax ?? 20;
  const notBusy = () => {
    if (action !== undefined || busy) throw new Error(`${opts.describe}: another operator action is in progress`);
  };
  const requireOpen = () => {
    if (!state.exception) throw new Error(`${opts.describe} has no open exception (status ${state.status})`);
    notBusy();
  };
  const canCancel = () => {
    if (opts.canCancel) opts.canCancel();
    else requireOpen();
    notBusy();
  };
  const act = (kind: OperatorActionKind) => async (note?: string) => {
    action = { kind, note };
    await condition(() => action === undefined && !busy);
    return state;
  };
  setHandler(retryUpdate, () => act('retry')(), { validator: requireOpen });
  setHandler(resolveUpdate, (n?: string) => act('resolve')(n), {
    validator: (_n?: string) => {
      requireOpen();
      opts.canResolve?.();
    },
  });
  setHandler(cancelUpdate, (n?: string) => act('cancel')(n), { validator: (_n?: string) => canCancel() });

  const log = (step: string, detail?: string) => {
    state.timeline.push({ at: Date.now(), step, detail });
    if (state.timeline.length > opts.timelineMax) state.timeline.splice(0, state.timeline.length - opts.timelineMax);
  };
  const clear = () => {
    if (state.exception) {
      state.pastExceptions.push(state.exception);
      if (state.pastExceptions.length > pastMax) state.pastExceptions.splice(0, state.pastExceptions.length - pastMax);
    }
    state.exception = undefined;
  };
  const take = () => {
    const a = action;
    if (a) {
      busy = true;
      action = undefined;
    }
    return a;
  };

  return {
    log,
    open(exception) {
      state.exception = exception;
      log('exception', `${exception.reason}: ${exception.message}`);
      opts.publish();
    },
    clear() {
      clear();
      opts.publish();
    },
    close(status, step, detail) {
      clear();
      state.status = status;
      log(step, detail);
      opts.publish();
    },
    async next(o = {}) {
      const until = o.until ?? (() => false);
      await condition(() => action !== undefined || !state.exception || until(), o.timeoutMs);
      if (!state.exception) {
        // Closed another way (an audit cleared it): an action that raced the close returns the final state.
        action = undefined;
        return undefined;
      }
      return action === undefined ? undefined : take();
    },
    pending: () => action,
    take,
    done() {
      busy = false;
    },
    settle: () => condition(() => action === undefined && !busy),
  };
}

/**
 * The search attributes of a standalone exception (no order behind it): in the queue while open, its final
 * status once closed. (The signal-with-start or start that opened it set Channel and the rest.)
 */
export function publishStandaloneException(state: MailboxState): void {
  upsertSearchAttributes(
    searchAttributeUpdates({
      OrderStatus: state.exception ? 'EXCEPTION' : state.status,
      ExceptionReason: state.exception?.reason ?? null,
      Owner: state.exception?.owner ?? null,
    }),
  );
}
