// The recurring work a Loopline deployment keeps alive, created idempotently at every start (worker,
// `npm start`, tests): the intake workflow per channel (long-lived, continues-as-new) and the Temporal
// Schedules (the despatch sweep today; reconciliation and audits join here). Starting twice is a no-op;
// a Schedule whose config changed is updated in place.
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy, type Workflow } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema';
import { despatchSweepWorkflow, type DespatchSweepInput } from '../workflows/despatch-sweep';
import {
  catalogueAuditWorkflow,
  FULL_EXPORT_GAP_MS,
  MAX_EXPORT_WAIT_MS,
  type CatalogueAuditInput,
} from '../workflows/catalogue-audit';
import { payoutReconciliationWorkflow, type PayoutReconciliationInput } from '../workflows/payout-reconciliation';
import { intakeWorkflow } from '../workflows/intake';
import { warehouseGatewayWorkflow } from '../workflows/warehouse-gateway';
import { warehouseGatewayStart } from '../activities/warehouse-gateway';
import { reconciliationChannels } from '../src/reconciliation/channels';
import { returnReceiptsSweepWorkflow, type ReturnReceiptsSweepInput } from '../workflows/return-receipts-sweep';

export interface RecurringOptions {
  /** Appended to ids so several stacks can share one Temporal namespace (tests). */
  idSuffix?: string;
  /** Sandbox time scale: intervals are divided by it. */
  timeScale?: number;
  /** Create the Schedules too (default true). */
  schedules?: boolean;
  log?: Logger;
}

export interface RecurringWork {
  intakeWorkflowIds: string[];
  scheduleIds: string[];
  /** The warehouse gateway (workflows/warehouse-gateway.ts), when Peoplevox is configured with it. */
  gatewayWorkflowId?: string;
}

export function intakeWorkflowId(channel: string, suffix?: string): string {
  return suffix ? `intake:${channel}:${suffix}` : `intake:${channel}`;
}

export function despatchSweepScheduleId(suffix?: string): string {
  return suffix ? `despatch-sweep:${suffix}` : 'despatch-sweep';
}

export function payoutReconciliationScheduleId(suffix?: string): string {
  return suffix ? `payout-reconciliation:${suffix}` : 'payout-reconciliation';
}

export function returnReceiptsScheduleId(suffix?: string): string {
  return suffix ? `return-receipts:${suffix}` : 'return-receipts';
}

export function catalogueAuditScheduleId(suffix?: string): string {
  return suffix ? `catalogue-audit:${suffix}` : 'catalogue-audit';
}

/** Creates a Schedule, or updates its spec and action when it exists already. */
async function ensureSchedule<W extends Workflow>(
  client: Client,
  scheduleId: string,
  spec: { intervals: Array<{ every: number }> },
  action: ScheduleOptionsStartWorkflowAction<W>,
  purpose: string,
  log?: Logger,
): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      memo: { purpose },
    });
    log?.info({ scheduleId, every: spec.intervals[0]!.every }, 'schedule created');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
    log?.debug({ scheduleId }, 'schedule updated');
  }
}

export async function ensureRecurringWork(
  client: Client,
  config: Config,
  opts: RecurringOptions = {},
): Promise<RecurringWork> {
  const scale = opts.timeScale ?? 1;
  const out: RecurringWork = { intakeWorkflowIds: [], scheduleIds: [] };
  for (const ch of config.channels.filter((c) => c.enabled)) {
    const workflowId = intakeWorkflowId(ch.code, opts.idSuffix);
    await client.workflow.start(intakeWorkflow, {
      workflowId,
      taskQueue: config.temporal.taskQueues.orders,
      args: [
        {
          channel: ch.code,
          intervalMs: (ch.intake.pollIntervalSeconds * 1000) / scale,
          staleAfterPolls: ch.intake.staleAfterPolls,
          // Marketplacer: the invoices poll is the webhooks' backstop, on the queue that holds the key's budget.
          ...(ch.platform === 'marketplacer' ? { taskQueue: config.temporal.taskQueues.marketplacer } : {}),
        },
      ],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    out.intakeWorkflowIds.push(workflowId);
  }
  // The warehouse gateway reads despatches every window, orders or not: it runs from the start.
  const gateway = warehouseGatewayStart(config, scale);
  if (gateway) {
    await client.workflow.start(warehouseGatewayWorkflow, {
      workflowId: gateway.workflowId,
      taskQueue: gateway.taskQueue,
      args: [gateway.input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    out.gatewayWorkflowId = gateway.workflowId;
  }
  if (opts.schedules === false) return out;

  const pvx = config.systems.peoplevox;
  if (pvx) {
    const scheduleId = despatchSweepScheduleId(opts.idSuffix);
    const input: DespatchSweepInput = {
      lookbackMinutes: pvx.despatchSweep.lookbackMinutes / scale,
      taskQueue: config.temporal.taskQueues.peoplevoxBulk,
    };
    const spec = { intervals: [{ every: Math.max(1000, (pvx.despatchSweep.everyMinutes * 60_000) / scale) }] };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: despatchSweepWorkflow,
      workflowId: `despatch-sweep-run${opts.idSuffix ? `:${opts.idSuffix}` : ''}`,
      taskQueue: config.temporal.taskQueues.orders,
      args: [input] as [DespatchSweepInput],
    };
    try {
      await client.schedule.create({
        scheduleId,
        spec,
        action,
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
        memo: { purpose: 'Peoplevox despatch backstop: despatches no workflow saw, and despatches with no workflow' },
      });
      opts.log?.info({ scheduleId, every: spec.intervals[0]!.every }, 'schedule created');
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
      opts.log?.debug({ scheduleId }, 'schedule updated');
    }
    out.scheduleIds.push(scheduleId);
  }

  // Return receipts (docs/returns.md): the warehouse's Return summary, the backstop of the Returns event,
  // where a channel's returns are warehouse-driven.
  if (pvx && config.channels.some((c) => c.enabled && c.returns === 'warehouse')) {
    const scheduleId = returnReceiptsScheduleId(opts.idSuffix);
    const input: ReturnReceiptsSweepInput = {
      lookbackMinutes: config.returns.receiptLookbackMinutes / scale,
      taskQueue: config.temporal.taskQueues.peoplevoxBulk,
    };
    await ensureSchedule(
      client,
      scheduleId,
      { intervals: [{ every: Math.max(1000, (config.returns.receiptSweepMinutes * 60_000) / scale) }] },
      {
        type: 'startWorkflow',
        workflowType: returnReceiptsSweepWorkflow,
        workflowId: `return-receipts-run${opts.idSuffix ? `:${opts.idSuffix}` : ''}`,
        taskQueue: config.temporal.taskQueues.orders,
        args: [input] as [ReturnReceiptsSweepInput],
      },
      'Warehouse return receipts (Peoplevox Return summary): the refund trigger of warehouse-driven returns',
      opts.log,
    );
    out.scheduleIds.push(scheduleId);
  }

  // Catalogue audit (docs/catalogue-audit.md): every enabled Mirakl channel, once a day by default.
  const audit = config.audit.catalogue;
  const auditChannels = config.channels.filter((c) => c.enabled && c.platform === 'mirakl').map((c) => c.code);
  if (pvx && audit.enabled && auditChannels.length > 0) {
    const scheduleId = catalogueAuditScheduleId(opts.idSuffix);
    const input: CatalogueAuditInput = {
      channels: auditChannels,
      taskQueue: config.temporal.taskQueues.peoplevoxBulk,
      // One full OF52 export a day per shop, remembered from run to run (workflows/catalogue-audit.ts).
      fullExportGapMs: FULL_EXPORT_GAP_MS / scale,
      maxExportWaitMs: MAX_EXPORT_WAIT_MS / scale,
    };
    await ensureSchedule(
      client,
      scheduleId,
      { intervals: [{ every: Math.max(1000, (audit.everyHours * 3_600_000) / scale) }] },
      {
        type: 'startWorkflow',
        workflowType: catalogueAuditWorkflow,
        workflowId: `catalogue-audit-run${opts.idSuffix ? `:${opts.idSuffix}` : ''}`,
        taskQueue: config.temporal.taskQueues.orders,
        args: [input] as [CatalogueAuditInput],
      },
      'Catalogue audit: offers vs warehouse item codes and stock, findings as merchandising exceptions',
      opts.log,
    );
    out.scheduleIds.push(scheduleId);
  }

  // Payout reconciliation (docs/reconciliation.md): billing cycles not reconciled yet, every N hours.
  const recon = config.finance.reconciliation;
  const reconChannels = reconciliationChannels(config);
  if (recon.enabled && reconChannels.length > 0) {
    const scheduleId = payoutReconciliationScheduleId(opts.idSuffix);
    const input: PayoutReconciliationInput = { channels: reconChannels };
    await ensureSchedule(
      client,
      scheduleId,
      { intervals: [{ every: Math.max(1000, (recon.everyHours * 3_600_000) / scale) }] },
      {
        type: 'startWorkflow',
        workflowType: payoutReconciliationWorkflow,
        workflowId: `payout-reconciliation-run${opts.idSuffix ? `:${opts.idSuffix}` : ''}`,
        taskQueue: config.temporal.taskQueues.orders,
        args: [input] as [PayoutReconciliationInput],
      },
      'Payout reconciliation: Mirakl billing cycles (SBC11/TL02) against Shopify orders, differences as finance exceptions',
      opts.log,
    );
    out.scheduleIds.push(scheduleId);
  }
  return out;
}
