// Failure → exception: how a failed step becomes the exception a person reads. Pure (no workflow APIs), so it is
// unit-tested without a server (test/workflows/order-failures.test.ts).
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { makeException, isReasonCode, type OrderException, type ReasonCode } from '../../src/domain/reasons';

/** Thrown inside the workflow to leave the normal flow for the cancellation path. */
export class OrderCancelled extends Error {}

/** Validation problems travel as one failure; the first problem names the exception. */
export class ValidationProblems extends Error {
  constructor(readonly problems: OrderException[]) {
    super(problems.map((p) => p.message).join(' '));
  }
}

const SYSTEM_NAMES: Record<string, string> = {
  mirakl: 'Mirakl',
  peoplevox: 'Peoplevox',
  shopify: 'Shopify',
  marketplacer: 'Marketplacer',
  reveni: 'Reveni',
};

/** "peoplevox:SaveData" → { system: 'Peoplevox', operation: 'SaveData' }. */
export function systemOf(type: string): { system: string; operation?: string } {
  const [sys, operation] = type.split(':', 2);
  if (!sys) return { system: 'a connected system' };
  return { system: SYSTEM_NAMES[sys] ?? sys, operation };
}

export function toException(err: unknown, stepName: string, orderId: string, now: number): OrderException {
  if (err instanceof ValidationProblems) {
    const first = err.problems[0]!;
    const more =
      err.problems.length > 1
        ? ` (+${err.problems.length - 1} more: ${err.problems
            .slice(1)
            .map((p) => p.reason)
            .join(', ')})`
        : '';
    return { ...first, message: first.message + more };
  }
  const failure = err instanceof ActivityFailure ? err.cause : err;
  if (failure instanceof TimeoutFailure) {
    return makeException(
      'SYSTEM_UNAVAILABLE',
      { orderId, system: 'a connected system', step: stepName, detail: `timed out (${failure.timeoutType})` },
      now,
    );
  }
  if (failure instanceof ApplicationFailure) {
    const type = failure.type ?? '';
    if (isReasonCode(type)) {
      const details = (failure.details?.[0] ?? {}) as Record<string, string | number | undefined>;
      const exc = makeException(type as ReasonCode, { orderId, ...details }, now);
      // A connector failure (activities/errors.ts) keeps the remote system's words in its encrypted
      // details, not in its message: the reason's sentence is built from them. Others bring their own.
      return details.detail !== undefined ? exc : { ...exc, message: failure.message };
    }
    // Retries exhausted on a transport error: the type names the system and the call.
    const { system, operation } = systemOf(type);
    return makeException(
      'SYSTEM_UNAVAILABLE',
      {
        orderId,
        system,
        step: stepName,
        detail: operation ? `${operation}: ${failure.message}` : failure.message,
      },
      now,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return makeException('UNEXPECTED_ERROR', { orderId, step: stepName, detail: message }, now);
}

/** A transport outage: the order heals by itself once the system answers again. */
export function isOutage(exception: OrderException): boolean {
  return exception.reason === 'SYSTEM_UNAVAILABLE';
}

/** Delay before the n-th automatic retry (0-based) of a step parked by an outage: doubling, capped. */
export function outageRetryDelayMs(attempt: number, opts: { initialMs: number; maxMs: number }): number {
  return Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 20));
}

/** The message of an activity's failure (its cause), for the timeline and alerts. */
export function failureMessage(err: unknown): string {
  return err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
}
