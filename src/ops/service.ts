// The ops service: what the dashboard, the ops API and the CLI show and do, read from Temporal itself.
// No second database: the exception queue is a visibility query over the search attributes every
// workflow keeps current (OrderStatus, ExceptionReason, Owner, Channel, deadlines), details come from
// the workflows' `state` queries, and actions are the workflows' own updates (retry / resolve / cancel).
import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { pushedOrdersWorkflow } from '../../workflows/pushed-orders';
import { intakeStateQuery } from '../../workflows/intake';
import { OWNERS, type Owner } from '../domain/owners';
import { REASONS, isReasonCode } from '../domain/reasons';
import { SA } from '../temporal/search-attributes';
import { cancelUpdate, resolveUpdate, retryUpdate, stateQuery } from '../../workflows/exception-mailbox';
import { healthQuery } from '../../workflows/inventory';

export interface QueueRow {
  workflowId: string;
  type: string;
  channel?: string;
  orderId?: string;
  status?: string;
  reason?: string;
  owner?: string;
  wmsOrderNumber?: string;
  startedAt?: string;
  closedAt?: string;
  running: boolean;
  acceptanceDeadline?: string;
  shippingDeadline?: string;
}

export interface ExceptionRow extends QueueRow {
  message?: string;
  fix?: string;
  /** When the exception was raised (from the workflow's state), else when the workflow started. */
  since?: string;
  ageMs?: number;
}

export interface ListFilter {
  channel?: string;
  status?: string;
  owner?: string;
  reason?: string;
  running?: boolean;
  orderId?: string;
  limit?: number;
}

export interface ActionResult {
  workflowId: string;
  ok: boolean;
  status?: string;
  exception?: string;
  error?: string;
  /** The workflow did not answer within the action's deadline. */
  timedOut?: boolean;
}

/** A return in the returns list (visibility, and its state when asked for detail). */
export interface ReturnRow extends QueueRow {
  returnKey: string;
  returnStatus?: string;
  origin?: string;
  refundedMinor?: number;
  currency?: string;
  restocked?: number;
  refundLatencyMs?: number;
  message?: string;
}

interface ReturnSummarySource {
  status: string;
  origin: string;
  refund?: { calculation: { totalMinor: number; currency: string }; latencyMs?: number };
  restocks?: Array<{ units: number }>;
  exception?: { message: string };
}

/** A run that ended without completing: failed, terminated or timed out (and not restarted since). */
export interface FailedRun extends QueueRow {
  runId: string;
  closeStatus: string;
  /** Its last failure: the error, the termination reason, or the timeout. */
  failure?: string;
}

export interface RestartResult {
  workflowId: string;
  ok: boolean;
  runId?: string;
  how?: string;
  error?: string;
}

const KEYWORD = /^[A-Za-z0-9_.:~ -]{1,200}$/;

/** Builds a visibility query from a filter; values are checked, never spliced in raw. */
export function visibilityQuery(f: ListFilter & { exceptionsOnly?: boolean }): string {
  const parts: string[] = [];
  const eq = (key: string, value: string | undefined) => {
    if (value === undefined || value === '') return;
    if (!KEYWORD.test(value)) throw new Error(`${key}: "${value}" is not a valid filter value`);
    parts.push(`${key} = "${value}"`);
  };
  eq(SA.Channel.name, f.channel);
  eq(SA.OrderStatus.name, f.exceptionsOnly ? 'EXCEPTION' : f.status);
  eq(SA.Owner.name, f.owner);
  eq(SA.ExceptionReason.name, f.reason);
  eq(SA.MarketplaceOrderId.name, f.orderId);
  if (f.running === true || f.exceptionsOnly) parts.push('ExecutionStatus = "Running"');
  if (f.running === false) parts.push('ExecutionStatus != "Running"');
  if (parts.length === 0) parts.push(`${SA.OrderStatus.name} IS NOT NULL`);
  return parts.join(' AND ');
}

function sa<T>(wf: WorkflowExecutionInfo, key: { name: string }): T | undefined {
  const v = (wf.typedSearchAttributes as unknown as { get(k: unknown): unknown }).get(key);
  return v as T | undefined;
}

export function toRow(wf: WorkflowExecutionInfo): QueueRow {
  const date = (d: unknown) => (d instanceof Date ? d.toISOString() : undefined);
  return {
    workflowId: wf.workflowId,
    type: wf.type,
    channel: sa<string>(wf, SA.Channel),
    orderId: sa<string>(wf, SA.MarketplaceOrderId),
    status: sa<string>(wf, SA.OrderStatus),
    reason: sa<string>(wf, SA.ExceptionReason),
    owner: sa<string>(wf, SA.Owner),
    wmsOrderNumber: sa<string>(wf, SA.WmsOrderNumber),
    startedAt: wf.startTime.toISOString(),
    closedAt: wf.closeTime?.toISOString(),
    running: wf.status.name === 'RUNNING',
    acceptanceDeadline: date(sa(wf, SA.AcceptanceDeadline)),
    shippingDeadline: date(sa(wf, SA.ShippingDeadline)),
  };
}

interface StateWithException {
  status?: string;
  exception?: { reason: string; owner: string; message: string; at?: number; field?: string };
  timeline?: Array<{ at: number; step: string; detail?: string }>;
}

export function createOpsService(client: Client, opts: { now?: () => number } = {}) {
  const now = opts.now ?? Date.now;

  async function list(filter: ListFilter & { exceptionsOnly?: boolean } = {}): Promise<QueueRow[]> {
    const limit = Math.min(filter.limit ?? 200, 5000);
    const rows: QueueRow[] = [];
    for await (const wf of client.workflow.list({ query: visibilityQuery(filter), pageSize: Math.min(limit, 1000) })) {
      rows.push(toRow(wf));
      if (rows.length >= limit) break;
    }
    return rows;
  }

  async function state<T = StateWithException>(workflowId: string, timeoutMs = 10_000): Promise<T> {
    // A query needs a worker: when none is polling (workers down), fail fast instead of hanging the page.
    const s: unknown = await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.getHandle(workflowId).query(stateQuery),
    );
    return s as T;
  }

  /** Open exceptions with their sentence and age (one query per row; bounded by `limit`). */
  async function exceptions(filter: ListFilter = {}): Promise<ExceptionRow[]> {
    const rows = await list({ ...filter, exceptionsOnly: true, limit: filter.limit ?? 200 });
    const out: ExceptionRow[] = [];
    const t = now();
    await Promise.all(
      rows.map(async (r) => {
        let st: StateWithException | undefined;
        try {
          st = await state(r.workflowId, 3_000);
        } catch {
          // No worker answered: the row still shows what visibility knows (reason, owner, age).
          st = undefined;
        }
        const reason = st?.exception?.reason ?? r.reason;
        const raisedAt = st?.exception?.at ?? (r.startedAt ? Date.parse(r.startedAt) : undefined);
        out.push({
          ...r,
          reason,
          owner: st?.exception?.owner ?? r.owner,
          message: st?.exception?.message,
          fix: reason && isReasonCode(reason) ? REASONS[reason].fix : undefined,
          since: raisedAt !== undefined ? new Date(raisedAt).toISOString() : undefined,
          ageMs: raisedAt !== undefined ? Math.max(0, t - raisedAt) : undefined,
        });
      }),
    );
    return out.sort((a, b) => (b.ageMs ?? 0) - (a.ageMs ?? 0));
  }

  /** Exceptions grouped by owner, then reason: counts and the oldest age. */
  function group(rows: ExceptionRow[]) {
    const byOwner: Record<string, Record<string, { count: number; oldestMs: number; fix?: string }>> = {};
    for (const o of OWNERS) byOwner[o] = {};
    for (const r of rows) {
      const owner = r.owner ?? 'ops';
      const reason = r.reason ?? 'UNKNOWN';
      byOwner[owner] ??= {};
      const g = (byOwner[owner][reason] ??= { count: 0, oldestMs: 0, fix: r.fix });
      g.count += 1;
      g.oldestMs = Math.max(g.oldestMs, r.ageMs ?? 0);
    }
    return byOwner;
  }

  /** Running orders whose acceptance or shipping deadline falls within `withinMs` (or has passed). */
  async function atRisk(
    withinMs = 12 * 3600_000,
    limit = 200,
  ): Promise<Array<QueueRow & { risk: string; marginMs: number }>> {
    const horizon = new Date(now() + withinMs).toISOString();
    const out: Array<QueueRow & { risk: string; marginMs: number }> = [];
    const queries: Array<[string, string]> = [
      [
        `ExecutionStatus = "Running" AND ${SA.AcceptanceDeadline.name} < "${horizon}" AND ${SA.OrderStatus.name} IN ("RECEIVED", "AWAITING_ACCEPTANCE", "EXCEPTION")`,
        'acceptance',
      ],
      [
        `ExecutionStatus = "Running" AND ${SA.ShippingDeadline.name} < "${horizon}" AND ${SA.OrderStatus.name} IN ("ACCEPTED", "VALIDATED", "IN_WAREHOUSE", "PARTIALLY_SHIPPED", "EXCEPTION")`,
        'shipping',
      ],
    ];
    for (const [query, risk] of queries) {
      for await (const wf of client.workflow.list({ query, pageSize: limit })) {
        const row = toRow(wf);
        // An exception after acceptance is not at risk of the acceptance deadline, and vice versa; the
        // workflow's state says which step it is in.
        const deadline = risk === 'acceptance' ? row.acceptanceDeadline : row.shippingDeadline;
        if (!deadline) continue;
        if (risk === 'acceptance' && row.status === 'EXCEPTION') {
          try {
            const st = await state<{ acceptedAt?: number }>(row.workflowId);
            if (st.acceptedAt !== undefined) continue;
          } catch {
            continue;
          }
        }
        out.push({ ...row, risk, marginMs: Date.parse(deadline) - now() });
        if (out.length >= limit) break;
      }
    }
    return out.sort((a, b) => a.marginMs - b.marginMs);
  }

  /**
   * An operator action, answered once the workflow has carried it out (a retry: the step ran again, with its
   * outcome). Within `timeoutMs`: past it the answer says the workflow did not answer (no worker, or a step
   * still running) rather than hanging the page or the CLI.
   */
  async function act(
    workflowId: string,
    action: 'retry' | 'resolve' | 'cancel',
    note?: string,
    timeoutMs = ACTION_TIMEOUT_MS,
  ): Promise<ActionResult> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const handle = client.workflow.getHandle(workflowId);
        const st = await client.connection.withDeadline(deadline, () =>
          action === 'retry'
            ? handle.executeUpdate(retryUpdate)
            : handle.executeUpdate(action === 'resolve' ? resolveUpdate : cancelUpdate, { args: [note] }),
        );
        return { workflowId, ok: true, status: st.status, exception: st.exception?.reason };
      } catch (err) {
        if (deadlineExceeded(err) || Date.now() >= deadline) {
          return {
            workflowId,
            ok: false,
            timedOut: true,
            error: `${workflowId} did not answer the ${action} within ${Math.round(timeoutMs / 1000)} s (is a worker running? a step may still be running): the ${action} may still be carried out; look at the order again shortly`,
          };
        }
        // The server refuses an update whose workflow task was lost (FAILED_PRECONDITION "unexpected
        // workflow task failure", seen under load): nothing was done, so send it again, as the operator would.
        if (attempt < UPDATE_ATTEMPTS && lostWorkflowTask(err)) {
          await new Promise((r) => setTimeout(r, 500 * attempt));
          continue;
        }
        if (err instanceof WorkflowNotFoundError)
          return { workflowId, ok: false, error: await whyGone(workflowId, action) };
        const e = err as Error & { cause?: Error };
        return { workflowId, ok: false, error: e.cause?.message ?? e.message };
      }
    }
  }

  /**
   * Why an operator action found no running workflow: none was ever started, or it has closed (an order that
   * shipped while the operator was deciding). A closed order is read once more for the sentence the running
   * order would have given (its despatches, for a cancel).
   */
  async function whyGone(workflowId: string, action: 'retry' | 'resolve' | 'cancel'): Promise<string> {
    let closeStatus: string;
    let row: QueueRow;
    try {
      const d = await client.workflow.getHandle(workflowId).describe();
      closeStatus = d.status.name;
      row = toRow(d as unknown as WorkflowExecutionInfo);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'no such workflow';
      throw err;
    }
    let st: (StateWithException & { despatches?: Array<{ despatchNumber: string }> }) | undefined;
    try {
      st = await client.connection.withDeadline(Date.now() + 5_000, () =>
        client.workflow.getHandle(workflowId).query(stateQuery),
      );
    } catch {
      st = undefined; // no worker to read a closed run: the search attributes say enough
    }
    const orderStatus = st?.status ?? row.status;
    const gone = (st?.despatches ?? []).map((d) => d.despatchNumber);
    const closed = `${workflowId} has closed (${closeStatus}${orderStatus ? `, ${orderStatus}` : ''})`;
    if (action === 'cancel' && gone.length > 0)
      return `${closed}: it cannot be cancelled: despatch ${gone.join(', ')} has left the warehouse; refund or return it instead`;
    return `${closed}: nothing to ${action}`;
  }

  /** Retry every open exception with this reason (after fixing its cause), a few at a time. */
  async function bulkRetry(
    reason: string,
    filter: { channel?: string; orderIdPrefix?: string } = {},
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ reason: string; total: number; cleared: number; results: ActionResult[] }> {
    const rows = (await list({ channel: filter.channel, reason, exceptionsOnly: true, limit: 5000 })).filter(
      (r) => !filter.orderIdPrefix || (r.orderId ?? '').startsWith(filter.orderIdPrefix),
    );
    const results: ActionResult[] = [];
    const queue = [...rows];
    const worker = async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        results.push(await act(r.workflowId, 'retry'));
        onProgress?.(results.length, rows.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, rows.length) }, worker));
    return {
      reason,
      total: rows.length,
      // Cleared: the step ran again and the order is no longer parked (each retry answers with its outcome).
      cleared: results.filter((r) => r.ok && r.exception === undefined).length,
      results,
    };
  }

  /** Per-channel stock sync health from each running inventory workflow's `health` query. */
  /**
   * Stock sync health of every channel's inventory workflow, asked all at once, each within `timeoutMs`: a
   * channel whose workflow does not answer (no inventory worker polling) is shown with the reason instead of
   * holding up the page or the CLI.
   */
  async function syncHealth(
    timeoutMs = 3_000,
  ): Promise<Array<Record<string, unknown> & { channel: string; workflowId: string }>> {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({
      query: 'WorkflowType = "inventoryWorkflow" AND ExecutionStatus = "Running"',
    }))
      ids.push(wf.workflowId);
    return Promise.all(
      ids.map(async (workflowId) => {
        const asked = Date.now();
        try {
          const h = await client.connection.withDeadline(asked + timeoutMs, () =>
            client.workflow.getHandle(workflowId).query(healthQuery),
          );
          return { ...h, channel: h.channel ?? workflowId, workflowId } as Record<string, unknown> & {
            channel: string;
            workflowId: string;
          };
        } catch (err) {
          const e = err as Error & { cause?: { code?: number; message?: string } };
          // gRPC DEADLINE_EXCEEDED (4), wrapped by the client as "Failed to query Workflow".
          const timedOut =
            e.cause?.code === 4 ||
            /deadline/i.test(`${e.message} ${e.cause?.message ?? ''}`) ||
            Date.now() - asked >= timeoutMs;
          const error = timedOut
            ? `no answer within ${timeoutMs / 1000} s: is an inventory worker running?`
            : `${e.message}${e.cause?.message ? `: ${e.cause.message}` : ''}`;
          return { channel: workflowId, workflowId, error };
        }
      }),
    );
  }

  /**
   * Returns (one workflow each): newest first, by channel and status (RETURN_<status> or EXCEPTION), with the
   * return's own summary from its state (refund, restocks, exception) when `detail` is asked.
   */
  async function returns(
    f: {
      channel?: string;
      status?: string;
      orderId?: string;
      running?: boolean;
      limit?: number;
      detail?: boolean;
    } = {},
  ): Promise<ReturnRow[]> {
    const parts = ['WorkflowType = "returnWorkflow"'];
    const base = visibilityQuery({ channel: f.channel, orderId: f.orderId, status: f.status, running: f.running });
    if (f.channel || f.orderId || f.status || f.running !== undefined) parts.push(base);
    const limit = Math.min(f.limit ?? 100, 2000);
    const rows: ReturnRow[] = [];
    for await (const wf of client.workflow.list({ query: parts.join(' AND '), pageSize: Math.min(limit, 500) })) {
      rows.push({ ...toRow(wf), returnKey: wf.workflowId.split(':').slice(2).join(':') });
      if (rows.length >= limit) break;
    }
    if (f.detail) {
      await Promise.all(
        rows.map(async (r) => {
          try {
            const st = await state<ReturnSummarySource>(r.workflowId, 3_000);
            r.returnStatus = st.status;
            r.origin = st.origin;
            r.refundedMinor = st.refund?.calculation.totalMinor;
            r.currency = st.refund?.calculation.currency;
            r.restocked = st.restocks?.reduce((n, x) => n + x.units, 0);
            r.message = st.exception?.message;
            r.refundLatencyMs = st.refund?.latencyMs;
          } catch {
            // No worker answered: the row shows what visibility knows.
          }
        }),
      );
    }
    return rows.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
  }

  /** Running returns by status (RETURN_* or EXCEPTION), for the metrics. */
  async function returnCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for await (const wf of client.workflow.list({
      query: `WorkflowType = "returnWorkflow" AND ExecutionStatus = "Running"`,
      pageSize: 1000,
    })) {
      const s = toRow(wf).status ?? 'UNKNOWN';
      out[s] = (out[s] ?? 0) + 1;
    }
    return out;
  }

  /** Counts by OrderStatus (running workflows) and by open exception reason, for metrics and the header. */
  async function counts(): Promise<{ byStatus: Record<string, number>; byReason: Record<string, number> }> {
    const byStatus: Record<string, number> = {};
    const byReason: Record<string, number> = {};
    for await (const wf of client.workflow.list({
      query: `ExecutionStatus = "Running" AND ${SA.OrderStatus.name} IS NOT NULL`,
      pageSize: 1000,
    })) {
      // Returns have their own counts (returnCounts); their exceptions count with everyone's below.
      if (wf.type === 'returnWorkflow' && toRow(wf).status !== 'EXCEPTION') continue;
      const r = toRow(wf);
      if (r.status) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      if (r.status === 'EXCEPTION' && r.reason) byReason[r.reason] = (byReason[r.reason] ?? 0) + 1;
    }
    return { byStatus, byReason };
  }

  /**
   * Loopline workflows whose latest run ended FAILED, TERMINATED or TIMED_OUT: nothing ends where no screen shows
   * it. Each with its last failure; a workflow restarted since (a newer run) is not listed.
   */
  async function failedRuns(filter: { channel?: string; limit?: number } = {}): Promise<FailedRun[]> {
    const limit = Math.min(filter.limit ?? 200, 1000);
    const parts = [
      'ExecutionStatus IN ("Failed", "Terminated", "TimedOut")',
      `WorkflowType IN (${FAILED_RUN_TYPES.map((t) => `"${t}"`).join(', ')})`,
    ];
    if (filter.channel) parts.push(visibilityQuery({ channel: filter.channel }));
    const out: FailedRun[] = [];
    const seen = new Set<string>();
    for await (const wf of client.workflow.list({ query: parts.join(' AND '), pageSize: Math.min(limit, 200) })) {
      if (seen.has(wf.workflowId)) continue;
      seen.add(wf.workflowId);
      try {
        const latest = await client.workflow.getHandle(wf.workflowId).describe();
        if (latest.runId !== wf.runId) continue;
      } catch {
        continue;
      }
      let failure: string | undefined;
      try {
        await client.connection.withDeadline(Date.now() + 5_000, () =>
          client.workflow.getHandle(wf.workflowId, wf.runId).result(),
        );
      } catch (err) {
        const e = err as Error & { cause?: Error & { cause?: Error } };
        failure = [e.cause?.message, e.cause?.cause?.message].filter(Boolean).join(': ') || e.message;
      }
      out.push({ ...toRow(wf), runId: wf.runId, closeStatus: wf.status.name, failure });
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Starts a failed, terminated or timed-out workflow again. An order: from the marketplace's current state (the
   * order is read again and handed over as the intake would; every exactly-once guard — look before create,
   * shipments by package reference — applies). Any other workflow: the same input on the same task queue.
   */
  async function restart(workflowId: string, timeoutMs = ACTION_TIMEOUT_MS): Promise<RestartResult> {
    let latest: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['describe']>>;
    try {
      latest = await client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { workflowId, ok: false, error: 'no such workflow' };
      throw err;
    }
    const status = latest.status.name;
    if (status === 'RUNNING') return { workflowId, ok: false, error: `${workflowId} is running; nothing to restart` };
    if (status === 'COMPLETED' || status === 'CONTINUED_AS_NEW')
      return { workflowId, ok: false, error: `${workflowId} completed; it is never started again` };
    if (latest.type === 'orderWorkflow') {
      const row = toRow(latest as unknown as WorkflowExecutionInfo);
      if (!row.channel || !row.orderId) return { workflowId, ok: false, error: 'the run has no channel or order id' };
      const r = await client.connection.withDeadline(Date.now() + timeoutMs, () =>
        client.workflow.execute(pushedOrdersWorkflow, {
          workflowId: `restart:${workflowId}:${latest.runId}`,
          taskQueue: latest.taskQueue,
          args: [{ channel: row.channel!, orderIds: [row.orderId!], missingRetryMs: 1_000 }],
        }),
      );
      if (r.started < 1) {
        const why =
          r.unreadable > 0
            ? 'the marketplace order is unreadable (see ORDER_UNREADABLE)'
            : r.missing.length > 0
              ? 'the marketplace no longer returns the order'
              : 'the order is over on the marketplace';
        return { workflowId, ok: false, error: `not restarted: ${why}` };
      }
      const now = await client.workflow.getHandle(workflowId).describe();
      return { workflowId, ok: true, runId: now.runId, how: 'read again from the marketplace and handed over' };
    }
    const history = await client.workflow.getHandle(workflowId, latest.runId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const args = await decodeArrayFromPayloads(client.options.loadedDataConverter, started?.input?.payloads);
    const handle = await client.workflow.start(latest.type, {
      workflowId,
      taskQueue: latest.taskQueue,
      args,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      ...(latest.typedSearchAttributes ? { typedSearchAttributes: latest.typedSearchAttributes } : {}),
    });
    return { workflowId, ok: true, runId: handle.firstExecutionRunId, how: 'started again with its original input' };
  }

  /** Each channel's intake: last poll, failures in a row, stale or not (intakeStateQuery). */
  async function intakeHealth(timeoutMs = 3_000): Promise<Array<Record<string, unknown> & { workflowId: string }>> {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({
      query: 'WorkflowType = "intakeWorkflow" AND ExecutionStatus = "Running"',
    }))
      ids.push(wf.workflowId);
    return Promise.all(
      ids.map(async (workflowId) => {
        try {
          const s = await client.connection.withDeadline(Date.now() + timeoutMs, () =>
            client.workflow.getHandle(workflowId).query(intakeStateQuery),
          );
          return { workflowId, ...s };
        } catch (err) {
          return {
            workflowId,
            error: deadlineExceeded(err) ? `no answer within ${timeoutMs / 1000} s` : (err as Error).message,
          };
        }
      }),
    );
  }

  return {
    list,
    returns,
    returnCounts,
    state,
    exceptions,
    group,
    atRisk,
    act,
    bulkRetry,
    syncHealth,
    intakeHealth,
    counts,
    failedRuns,
    restart,
  };
}

export type OpsService = ReturnType<typeof createOpsService>;

/** An operator action is sent at most this many times when the server lost the workflow task carrying it. */
const UPDATE_ATTEMPTS = 3;
/** How long the dashboard and the CLI wait for a workflow to carry out an action. */
export const ACTION_TIMEOUT_MS = 60_000;
/** Workflow types whose failed runs the exception queue shows (every Loopline type but one-off reports). */
const FAILED_RUN_TYPES = [
  'orderWorkflow',
  'intakeWorkflow',
  'inventoryWorkflow',
  'pushedOrdersWorkflow',
  'despatchExceptionWorkflow',
  'findingsExceptionWorkflow',
  'catalogueExceptionWorkflow',
  'reconciliationExceptionWorkflow',
  'orderUnreadableWorkflow',
  'returnWorkflow',
  'returnReceiptsSweepWorkflow',
  'alertRouterWorkflow',
  'despatchSweepWorkflow',
  'catalogueAuditWorkflow',
  'payoutReconciliationWorkflow',
];

function deadlineExceeded(err: unknown): boolean {
  const e = err as { code?: number; message?: string; cause?: { code?: number; message?: string } };
  return e?.code === 4 || e?.cause?.code === 4 || /deadline/i.test(`${e?.message ?? ''} ${e?.cause?.message ?? ''}`);
}

function lostWorkflowTask(err: unknown): boolean {
  const e = err as { message?: string; cause?: { message?: string } };
  return /unexpected workflow task failure/i.test(`${e?.message ?? ''} ${e?.cause?.message ?? ''}`);
}
export const OWNER_LIST: readonly Owner[] = OWNERS;
