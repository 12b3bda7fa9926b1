// Activities translate connector failures into Temporal failures, once, here:
//   business rejection (non-retryable ConnectorError) → non-retryable ApplicationFailure typed with a
//     reason code, which the workflow turns into an exception with an owner;
//   transport failure (retryable) → retryable ApplicationFailure, honouring Retry-After through
//     nextRetryDelay, so Temporal's retry policy (not a loop of ours) does the waiting.
import { ApplicationFailure } from '@temporalio/common';
import { ConnectorError, classifyHttpError } from '../src/connectors/errors';
import type { ReasonCode } from '../src/domain/reasons';

export function toActivityFailure(
  err: unknown,
  system: string,
  operation: string,
  businessReason: ReasonCode,
  details: Record<string, string | number | undefined> = {},
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const ce = err instanceof ConnectorError ? err : classifyHttpError(system, operation, err);
  if (!ce.retryable) {
    return ApplicationFailure.create({
      message: ce.message,
      type: businessReason,
      nonRetryable: true,
      details: [{ ...details, detail: ce.opts.detail ?? ce.message, status: ce.status }],
    });
  }
  return ApplicationFailure.create({
    message: ce.message,
    type: `${system}:${operation}`,
    nonRetryable: false,
    nextRetryDelay: ce.retryAfterMs,
  });
}
