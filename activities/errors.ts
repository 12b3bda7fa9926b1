// Activities translate connector failures into Temporal failures, once, here:
//   business rejection (non-retryable ConnectorError) → non-retryable ApplicationFailure typed with a
//     reason code, which the workflow turns into an exception with an owner;
//   transport failure (retryable) → retryable ApplicationFailure, honouring Retry-After through
//     nextRetryDelay, so Temporal's retry policy (not a loop of ours) does the waiting.
// The failure's message is the connector's (system, operation, status, code: no response text, no
// personal data); the remote system's own words go in `details[0].detail`. Details are payloads, so the
// codec encrypts them, and the workflow builds the operator's sentence from them (src/domain/reasons.ts
// templates use {detail}). Messages are encrypted in history as well (encodeCommonAttributes), but they
// also reach logs, which is why they stay clean.
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
    // retryAfterMs also in the details: a workflow that makes one attempt (a call with a documented frequency)
    // reads when a refused call (429) may be made again.
    details: [{ ...details, detail: ce.opts.detail ?? ce.message, status: ce.status, retryAfterMs: ce.retryAfterMs }],
  });
}
