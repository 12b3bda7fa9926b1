// Returns through the sandbox, shared by the returns e2e tests and bench:returns: a stack whose ASOS returns go
// through Reveni and Joules' through the warehouse, orders placed and shipped, returns opened at each source,
// and reads of what the simulators and the workflows end up holding.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually } from './temporal';
import { startStack, type Stack, type StackOptions } from './stack';
import { returnWorkflowId } from '../../src/domain/keys';
import { returnKeyOf } from '../../src/domain/returns';
import { returnStateQuery, type ReturnWorkflowState } from '../../workflows/returns/messages';

export const REASONS_YAML = `
returns:
  reasons:
    - { marketplace: RETURN_CHANGED_MIND, reveni: changed_mind, warehouse: Changed mind, disposition: restock }
    - { marketplace: RETURN_PDNT_TOO_SMALL, reveni: size_too_small, warehouse: Too small, disposition: restock }
    - { marketplace: RETURN_DPD_WRONG_SIZE, reveni: wrong_size, warehouse: Wrong size, disposition: restock }
    - { marketplace: RETURN_BROKEN_ITEM, reveni: defect, warehouse: Damaged, disposition: inspect, refundReason: '17' }
    - { marketplace: RETURN_DEFECTIVE_ITEM, reveni: faulty, warehouse: Faulty, disposition: write-off, refundReason: '17' }
`;

/** ASOS → Reveni, Joules → warehouse receipts; both keep orders open for returns (a scaled day at 60×: 24 min). */
export async function startReturnsStack(env: TestWorkflowEnvironment, opts: StackOptions = {}): Promise<Stack> {
  const stack = await startStack(env, {
    reveni: true,
    stockEvents: true,
    multiShipment: { asos: true, joules: false },
    ...opts,
    extraYaml: `${REASONS_YAML}${opts.extraYaml ?? ''}`,
    channelExtra: {
      ...opts.channelExtra,
      asos: { returns: 'reveni', returnWindowDays: 30, ...opts.channelExtra?.asos },
      joules: { returns: 'warehouse', returnWindowDays: 30, ...opts.channelExtra?.joules },
    },
  });
  return stack;
}

export interface ShippedOrder {
  channel: string;
  orderId: string;
  salesOrderNumber: string;
  lines: Array<{ lineId: string; offerSku: string; quantity: number; price: number }>;
}

interface WireOrder {
  order_id: string;
  order_state: string;
  order_lines: Array<{
    order_line_id: string;
    offer_sku: string;
    quantity: number;
    price: number;
    refunds: WireRefund[];
  }>;
}
export interface WireRefund {
  id: string;
  amount: number;
  shipping_amount: number;
  quantity: number;
  reason_code: string;
}

export async function miraklOrder(stack: Stack, channel: string, orderId: string): Promise<WireOrder> {
  return (await stack.control.get(`/control/mirakl/${channel}/orders/${orderId}`)).data as WireOrder;
}

/** Places an order on Mirakl, waits for it in Peoplevox, despatches it whole, and waits for SHIPPED. */
export async function placeShippedOrder(
  stack: Stack,
  channel: 'asos' | 'joules',
  id: string,
  lines: Array<{ offerSku: string; quantity: number; unitPrice?: number }>,
  opts: { shippingPrice?: number; timeoutMs?: number } = {},
): Promise<ShippedOrder> {
  const orderId = `${stack.idPrefix}-${id}-A`;
  await stack.control.post(`/control/mirakl/${channel}/orders`, { orderId, lines, shippingPrice: opts.shippingPrice });
  const son = `${channel.toUpperCase()}-${orderId}`;
  const timeout = opts.timeoutMs ?? 60_000;
  await eventually(
    async () => {
      const { data } = await stack.control.get(`/control/peoplevox/test-client/orders/${son}`);
      return (data as { items: unknown[] }).items.length === lines.length ? data : undefined;
    },
    timeout,
    `${orderId} in Peoplevox`,
  );
  await stack.control.post(`/control/peoplevox/test-client/orders/${son}/despatch`, {
    parcels: [{ carrier: 'DPD', trackingNumber: `DPD-${id}` }],
  });
  const shipped = await eventually(
    async () => {
      const o = await miraklOrder(stack, channel, orderId);
      return o.order_state === 'SHIPPED' ? o : undefined;
    },
    timeout,
    `${orderId} SHIPPED`,
  );
  return {
    channel,
    orderId,
    salesOrderNumber: son,
    lines: shipped.order_lines.map((l) => ({
      lineId: l.order_line_id,
      offerSku: l.offer_sku,
      quantity: l.quantity,
      price: Math.round(l.price * 100),
    })),
  };
}

export async function openMiraklReturn(
  stack: Stack,
  channel: string,
  spec: {
    orderId: string;
    lines: Array<{ lineId?: string; offerSku?: string; quantity: number; reason?: string }>;
    reason?: string;
    unchecked?: boolean;
    overrides?: Record<string, unknown>;
  },
): Promise<{ id: string; workflowId: string }> {
  const { data } = await stack.control.post(`/control/mirakl/${channel}/returns`, spec);
  const id = (data as { id: string }).id;
  return { id, workflowId: returnWorkflowId(channel, returnKeyOf('marketplace', id)) };
}

export function reveniStore(stack: Stack): string {
  return stack.config.systems.reveni!.stores.asos!;
}

export interface SimReveniReturn {
  id: string;
  status: string;
  mode: string;
  external_reference?: string;
  return_items: Array<{ id: string; sku: string; quantity: number; status?: string; restock?: boolean }>;
  refund: { amount: number; currency: string };
}

/** The Reveni return Loopline registered for a marketplace return (by its reference). */
export async function reveniReturnFor(
  stack: Stack,
  miraklReturnId: string,
  timeoutMs = 60_000,
): Promise<SimReveniReturn> {
  return eventually(
    async () => {
      const { data } = await stack.control.get(`/control/reveni/${reveniStore(stack)}/returns`);
      return (data as { returns: SimReveniReturn[] }).returns.find((r) => r.external_reference === miraklReturnId);
    },
    timeoutMs,
    `the Reveni return for ${miraklReturnId}`,
  );
}

export async function reveniAdvance(stack: Stack, id: string, ...to: string[]): Promise<void> {
  for (const t of to)
    await stack.control.post(`/control/reveni/${reveniStore(stack)}/returns/${id}/advance`, { to: t });
}

export async function reveniDecide(
  stack: Stack,
  id: string,
  items: Array<{ itemId?: string; sku?: string; accepted: boolean; restock?: boolean; rejectReason?: string }> = [],
): Promise<void> {
  await stack.control.post(`/control/reveni/${reveniStore(stack)}/returns/${id}/decide`, { items });
}

export async function returnState(
  stack: Stack,
  env: TestWorkflowEnvironment,
  workflowId: string,
): Promise<ReturnWorkflowState> {
  void stack;
  return env.client.workflow.getHandle(workflowId).query(returnStateQuery);
}

/** Waits until the return workflow is in `status` (or parked with `reason`). */
export async function waitForReturn(
  env: TestWorkflowEnvironment,
  workflowId: string,
  until: (s: ReturnWorkflowState) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<ReturnWorkflowState> {
  // On a timeout, say what was last seen: the return's status and timeline, or that it was never found, and
  // the open order's own timeline when the return never started (a failure here must explain itself).
  let seen: ReturnWorkflowState | undefined;
  try {
    return await eventually(
      async () => {
        const s = await env.client.workflow.getHandle(workflowId).query(returnStateQuery);
        seen = s;
        return until(s) ? s : undefined;
      },
      timeoutMs,
      what,
    );
  } catch (err) {
    const last = seen as ReturnWorkflowState | undefined;
    const detail = last
      ? `last seen ${last.status}; timeline: ${last.timeline
          .slice(-8)
          .map((t) => JSON.stringify(t))
          .join(' | ')}`
      : `${workflowId} never answered a query`;
    throw new Error(`${(err as Error).message} (${detail})`, { cause: err });
  }
}

export async function miraklReturn(stack: Stack, channel: string, id: string) {
  return (await stack.control.get(`/control/mirakl/${channel}/returns/${id}`)).data as {
    id: string;
    state: string;
    return_lines: Array<{
      order_line_id: string;
      quantity: number;
      compliance?: Array<{ compliant: boolean; non_compliance_reason_code?: string }>;
    }>;
  };
}

/** Every refund on the order at Mirakl, per line. */
export async function refundsOf(stack: Stack, channel: string, orderId: string): Promise<Record<string, WireRefund[]>> {
  const o = await miraklOrder(stack, channel, orderId);
  return Object.fromEntries(o.order_lines.map((l) => [l.order_line_id, l.refunds]));
}

/** The last stock quantity Mirakl applied for an offer SKU (STO01 history). */
export async function lastStock(
  stack: Stack,
  channel: string,
  offerSku: string,
): Promise<{ quantity: number; at: string } | undefined> {
  const { data } = await stack.control.get(`/control/mirakl/${channel}/stock-history`, { params: { offerSku } });
  const h = (data as { history: Array<{ quantity: number; at: string; source: string }> }).history.filter(
    (x) => x.source === 'STO01',
  );
  return h.at(-1);
}
