// One durable workflow per marketplace order, for its whole life:
//   acknowledge (OR21, before any warehouse work) → validate → create the warehouse order exactly once →
//   await despatches (callbacks, with a polling backstop) → confirm each despatched line → return window → close.
// Anything a person must decide parks the order in an exception (reason, owner, sentence) until an
// operator retries, resolves or cancels it. No I/O here: every effect is an activity.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  TimeoutFailure,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OrderActivities } from '../activities/order';
import type { InventoryActivities } from '../activities/inventory';
import type { StockLineDecision } from '../src/inventory/acceptance';
import type { RefundCalculation, RefundNotice, ShopifyActivities } from '../activities/shopify';
import { SA } from '../src/temporal/search-attributes';
import type { Despatch, MarketplaceOrder } from '../src/domain/order';
import { makeException, isReasonCode, type OrderException, type ReasonCode } from '../src/domain/reasons';
import { acceptanceBlockers } from '../src/domain/validation';
import {
  allocateDespatch,
  applyShipment,
  fullyShipped,
  anyShipped,
  initialProgress,
  type LineProgress,
} from '../src/domain/despatch';

// ---- messages -------------------------------------------------------------------------------------
export type OrderStatus =
  | 'RECEIVED'
  | 'AWAITING_ACCEPTANCE'
  | 'ACCEPTED'
  | 'VALIDATED'
  | 'IN_WAREHOUSE'
  | 'PARTIALLY_SHIPPED'
  | 'SHIPPED'
  | 'CLOSED'
  | 'CANCELLED'
  | 'REFUSED';

export type OperatorAction =
  { action: 'retry' } | { action: 'resolve'; note?: string } | { action: 'cancel'; note?: string };

/** The intake saw a newer version of the order on the marketplace (state, addresses, cancellations). */
export const orderUpdatedSignal = defineSignal<[MarketplaceOrder]>('orderUpdated');
/** The warehouse reported a despatch (TrackingNumberReceived callback or the despatch backstop). */
export const despatchNotifiedSignal = defineSignal<[DespatchNotice]>('despatchNotified');
/** The fulfilment system refunded lines (Shopify refunds/create): refunded on the marketplace per line. */
export const refundNotifiedSignal = defineSignal<[RefundNotice]>('refundNotified');
export const retryUpdate = defineUpdate<OrderWorkflowState, []>('retry');
export const resolveUpdate = defineUpdate<OrderWorkflowState, [string?]>('resolve');
export const cancelUpdate = defineUpdate<OrderWorkflowState, [string?]>('cancel');
export const stateQuery = defineQuery<OrderWorkflowState>('state');

export interface DespatchNotice {
  despatchNumber: string;
  /** Full despatch when known (backstop); a callback only carries the number and tracking. */
  despatch?: Despatch;
  trackingNumber?: string;
  carrier?: string;
}

export interface OrderWorkflowInput {
  channel: string;
  orderId: string;
  /** The order as the intake read it. */
  order: MarketplaceOrder;
  /** Carried across continue-as-new. */
  resume?: OrderWorkflowState;
}

export interface TimelineEntry {
  at: number;
  step: string;
  detail?: string;
}

export interface DespatchRecord {
  despatchNumber: string;
  trackingNumber?: string;
  carrier?: string;
  lines: Array<{ lineId: string; quantity: number }>;
  confirmed: boolean;
}

export interface OrderWorkflowState {
  channel: string;
  orderId: string;
  status: OrderStatus;
  marketplaceState: string;
  salesOrderNumber?: string;
  exception?: OrderException;
  /** Exceptions already handled, newest last (bounded). */
  pastExceptions: OrderException[];
  lines: LineProgress[];
  despatches: DespatchRecord[];
  acceptanceDeadline?: string;
  shippingDeadline?: string;
  alertsSent: string[];
  timeline: TimelineEntry[];
  acceptedAt?: number;
  /** Lines refused at acceptance because the stock was gone (refuse-line policy): not sent to the warehouse. */
  refusedLines?: string[];
  warehouseCreatedAt?: number;
  shippedAt?: number;
  /** Refunds from the fulfilment system and what was sent to the marketplace for each (audit). */
  refunds?: Array<RefundCalculation & { at: number; error?: string }>;
}

// ---- activities -----------------------------------------------------------------------------------
const SETTINGS_RETRY = { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 12 };
const settingsActs = proxyActivities<
  Pick<OrderActivities, 'orderSettings' | 'resolveItemCodes' | 'validateOrder' | 'raiseAlert'>
>({
  startToCloseTimeout: '30s',
  retry: SETTINGS_RETRY,
});

// Marketplace writes that the SLA depends on run on their own queue (see workers/main.ts).
function marketplaceActs(taskQueue: string) {
  return proxyActivities<Pick<OrderActivities, 'acknowledgeOrder' | 'confirmShipment' | 'cancelMarketplaceOrder'>>({
    taskQueue,
    startToCloseTimeout: '30s',
    retry: { initialInterval: '2s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 15 },
  });
}

// The stock check runs where the stock lives: the inventory worker reads the channel's inventory workflow.
function refundActs(taskQueue: string) {
  return proxyActivities<Pick<ShopifyActivities, 'refundFromShopify'>>({
    taskQueue,
    startToCloseTimeout: '1m',
    retry: { initialInterval: '2s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 15 },
  });
}

function stockActs(taskQueue: string) {
  return proxyActivities<Pick<InventoryActivities, 'checkOrderStock'>>({
    taskQueue,
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 5 },
  });
}

function warehouseActs(taskQueue: string) {
  return proxyActivities<
    Pick<OrderActivities, 'createWarehouseOrder' | 'cancelWarehouseOrder' | 'listWarehouseDespatches'>
  >({
    taskQueue,
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 15 },
  });
}

// ---- the workflow ---------------------------------------------------------------------------------
class OrderCancelled extends Error {}

const MAX_TIMELINE = 200;

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowState> {
  const state: OrderWorkflowState = input.resume ?? {
    channel: input.channel,
    orderId: input.orderId,
    status: 'RECEIVED',
    marketplaceState: input.order.state,
    pastExceptions: [],
    lines: [],
    despatches: [],
    acceptanceDeadline: input.order.acceptanceDeadline,
    shippingDeadline: input.order.shippingDeadline,
    alertsSent: [],
    timeline: [],
  };
  let order: MarketplaceOrder = input.order;
  let pendingAction: OperatorAction | undefined;
  const pendingNotices: DespatchNotice[] = [];

  const note = (step: string, detail?: string) => {
    state.timeline.push({ at: Date.now(), step, detail });
    if (state.timeline.length > MAX_TIMELINE) state.timeline.splice(0, state.timeline.length - MAX_TIMELINE);
  };
  const publish = () => {
    upsertSearchAttributes([
      { key: SA.Channel, value: state.channel },
      { key: SA.MarketplaceOrderId, value: state.orderId },
      { key: SA.OrderStatus, value: state.exception ? 'EXCEPTION' : state.status },
      // null removes the attribute once the exception is cleared.
      { key: SA.ExceptionReason, value: state.exception?.reason ?? null },
      { key: SA.Owner, value: state.exception?.owner ?? null },
      ...(state.salesOrderNumber ? [{ key: SA.WmsOrderNumber, value: state.salesOrderNumber }] : []),
      ...(state.acceptanceDeadline ? [{ key: SA.AcceptanceDeadline, value: new Date(state.acceptanceDeadline) }] : []),
      ...(state.shippingDeadline ? [{ key: SA.ShippingDeadline, value: new Date(state.shippingDeadline) }] : []),
    ] as never);
  };
  const setStatus = (s: OrderStatus, detail?: string) => {
    state.status = s;
    note(s, detail);
    publish();
  };

  // Handlers first, before any await.
  setHandler(stateQuery, () => state);
  setHandler(orderUpdatedSignal, (o) => {
    if (o.updatedAt >= order.updatedAt) {
      order = o;
      state.marketplaceState = o.state;
      if (o.shippingDeadline) state.shippingDeadline = o.shippingDeadline;
    }
  });
  setHandler(despatchNotifiedSignal, (n) => {
    if (!state.despatches.some((d) => d.despatchNumber === n.despatchNumber)) pendingNotices.push(n);
  });
  // Refunds run one at a time beside the main flow (a refund can come while lines are still shipping).
  const refundQueue: { acknowledge?: string } = {};
  let refundsInFlight = 0;
  let refundChain: Promise<void> = Promise.resolve();
  const refundsSeen = new Set<string>();
  setHandler(refundNotifiedSignal, async (n) => {
    if (refundsSeen.has(n.refundId) || state.refunds?.some((r) => r.refundId === n.refundId)) return;
    refundsSeen.add(n.refundId);
    refundsInFlight++;
    refundChain = refundChain.then(() => refundLines(n));
    try {
      await refundChain;
    } finally {
      refundsInFlight--;
    }
  });
  async function refundLines(n: RefundNotice): Promise<void> {
    await condition(() => refundQueue.acknowledge !== undefined);
    const prior: Record<string, { count: number; quantity: number }> = {};
    for (const r of state.refunds ?? []) {
      if (r.error || r.outcome === 'nothing-to-refund') continue;
      for (const l of r.lines) {
        const p = (prior[l.lineId] ??= { count: 0, quantity: 0 });
        p.count += 1;
        p.quantity += l.quantity;
      }
    }
    state.refunds ??= [];
    try {
      const calc = await refundActs(refundQueue.acknowledge!).refundFromShopify({
        channel: state.channel,
        orderId: state.orderId,
        notice: n,
        priorRefunds: prior,
      });
      state.refunds.push({ ...calc, at: Date.now() });
      note(
        'refund',
        `${n.refundId}: ${calc.outcome} ${calc.lines.map((l) => `${l.lineId}×${l.quantity}=${l.amount}+${l.shippingAmount}`).join(', ')}`,
      );
    } catch (err) {
      const message = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
      state.refunds.push({
        refundId: n.refundId,
        reasonCode: '',
        lines: [],
        unmatched: n.lines,
        outcome: 'nothing-to-refund',
        at: Date.now(),
        error: message,
      });
      note('refund failed', `${n.refundId}: ${message}`);
      await settingsActs.raiseAlert({
        key: `refund:${state.channel}:${state.orderId}:${n.refundId}`,
        kind: 'exception',
        channel: state.channel,
        orderId: state.orderId,
        owner: 'ops',
        message: `Order ${state.orderId} (${state.channel}): refund ${n.refundId} from the fulfilment system could not be made on the marketplace: ${message}. Refund it in the marketplace back office.`,
      });
    }
  }

  const operatorHandler = (action: OperatorAction) => async () => {
    pendingAction = action;
    // Return once the workflow has taken the action (the step re-ran or the order moved on).
    await condition(() => pendingAction === undefined);
    return state;
  };
  setHandler(retryUpdate, operatorHandler({ action: 'retry' }), { validator: () => requireException(state) });
  setHandler(resolveUpdate, (n?: string) => operatorHandler({ action: 'resolve', note: n })(), {
    validator: (_n?: string) => requireException(state),
  });
  setHandler(cancelUpdate, (n?: string) => operatorHandler({ action: 'cancel', note: n })());

  const settings = await settingsActs.orderSettings(state.channel);
  const marketplace = marketplaceActs(settings.taskQueues.acknowledge);
  const warehouse = warehouseActs(settings.taskQueues.fulfilment ?? settings.taskQueues.peoplevox);
  refundQueue.acknowledge = settings.taskQueues.acknowledge;
  publish();

  /** Runs a step; a business failure parks the order until an operator acts. */
  async function step<T>(
    name: string,
    fn: () => Promise<T>,
    opts: { cancelling?: boolean } = {},
  ): Promise<T | 'resolved'> {
    for (;;) {
      try {
        const r = await fn();
        return r;
      } catch (err) {
        if (err instanceof OrderCancelled) throw err;
        const exc = toException(err, name, state.orderId);
        await park(exc);
        const action = await waitForOperator(opts.cancelling === true);
        // While the order is being cancelled, an operator's cancel means "stop trying": nothing to cancel twice.
        if (opts.cancelling && action.action === 'cancel') {
          note('resolved', action.note ?? name);
          return 'resolved';
        }
        if (action.action === 'retry') {
          note('retry', name);
          continue;
        }
        if (action.action === 'resolve') {
          note('resolved', action.note ?? name);
          return 'resolved';
        }
        throw new OrderCancelled(action.note ?? 'cancelled by an operator');
      }
    }
  }

  async function park(exc: OrderException) {
    state.exception = exc;
    note('exception', `${exc.reason}: ${exc.message}`);
    publish();
    await settingsActs.raiseAlert({
      key: `exception:${state.channel}:${state.orderId}:${exc.reason}`,
      kind: 'exception',
      channel: state.channel,
      orderId: state.orderId,
      reason: exc.reason,
      owner: exc.owner,
      message: exc.message,
    });
  }

  async function waitForOperator(operatorOnly = false): Promise<OperatorAction> {
    // A marketplace cancellation also releases a parked order (unless it is what we are handling).
    await condition(
      () => pendingAction !== undefined || (!operatorOnly && (order.state === 'CANCELED' || order.state === 'REFUSED')),
    );
    const action: OperatorAction = pendingAction ?? { action: 'cancel', note: `marketplace state ${order.state}` };
    clearException();
    return action;
  }

  function clearException() {
    if (state.exception) {
      state.pastExceptions.push(state.exception);
      if (state.pastExceptions.length > 20) state.pastExceptions.shift();
    }
    state.exception = undefined;
    pendingAction = undefined;
    publish();
  }

  function startDeadlineAlerts(
    kind: 'acceptance' | 'shipping',
    deadline: string | undefined,
    startedAt: number,
    done: () => boolean,
  ) {
    if (!deadline) return;
    const end = new Date(deadline).getTime();
    for (const fraction of settings.alertAtFractions) {
      const at = startedAt + (end - startedAt) * fraction;
      const delay = at - Date.now();
      if (delay <= 0) continue;
      void CancellationScope.cancellable(async () => {
        await sleep(delay);
        if (done() || state.status === 'CANCELLED' || state.status === 'REFUSED') return;
        const key = `${kind}:${Math.round(fraction * 100)}`;
        if (state.alertsSent.includes(key)) return;
        state.alertsSent.push(key);
        const missing = kind === 'acceptance' ? 'it is not accepted yet' : describeUnshipped(state.lines);
        await settingsActs.raiseAlert({
          key: `deadline:${state.channel}:${state.orderId}:${key}`,
          kind: 'deadline',
          channel: state.channel,
          orderId: state.orderId,
          owner: 'ops',
          message: `Order ${state.orderId} (${state.channel}): ${Math.round(fraction * 100)}% of the ${kind} window has passed (deadline ${deadline}) and ${missing}.`,
        });
      }).catch((e: unknown) => {
        if (!isCancellation(e)) throw e;
      });
    }
  }

  try {
    if (!input.resume) {
      note('received', `marketplace state ${order.state}`);
      // ---- 1. acknowledge first -------------------------------------------------------------------
      if (order.state === 'WAITING_ACCEPTANCE') {
        setStatus('AWAITING_ACCEPTANCE');
        startDeadlineAlerts(
          'acceptance',
          state.acceptanceDeadline,
          new Date(order.createdAt).getTime(),
          () => state.acceptedAt !== undefined,
        );
        const outcome = await acknowledge();
        if (outcome === 'refused') return state;
      }
      // ---- 2. wait until the marketplace lets us ship (debit done, addresses visible) -------------
      await condition(() => order.state !== 'WAITING_ACCEPTANCE' && !order.state.startsWith('WAITING_DEBIT'));
      if (order.state === 'CANCELED' || order.state === 'REFUSED')
        throw new OrderCancelled(`marketplace state ${order.state}`);
      const itemCodes = await settingsActs.resolveItemCodes({
        channel: state.channel,
        offerSkus: order.lines.map((l) => l.offerSku),
      });
      state.lines = initialProgress(liveLines(), (sku) => itemCodes[sku] ?? sku);
      // ---- 3. validate ----------------------------------------------------------------------------
      await step('validate', async () => {
        const problems = await settingsActs.validateOrder({ channel: state.channel, order });
        if (problems.length > 0) throw new ValidationProblems(problems);
        // A retry after a mapping fix must pick up the new item codes.
        const codes = await settingsActs.resolveItemCodes({
          channel: state.channel,
          offerSkus: order.lines.map((l) => l.offerSku),
        });
        state.lines = initialProgress(liveLines(), (sku) => codes[sku] ?? sku);
      });
      setStatus('VALIDATED');
      // ---- 4. create the warehouse order exactly once ---------------------------------------------
      const created = await step('create warehouse order', () =>
        warehouse.createWarehouseOrder({
          channel: state.channel,
          order: state.refusedLines?.length ? { ...order, lines: liveLines() } : order,
        }),
      );
      if (created !== 'resolved') state.salesOrderNumber = created.salesOrderNumber;
      state.warehouseCreatedAt = Date.now();
      setStatus('IN_WAREHOUSE', state.salesOrderNumber);
    }
    // ---- 5. despatch loop ---------------------------------------------------------------------------
    if (state.status === 'IN_WAREHOUSE' || state.status === 'PARTIALLY_SHIPPED') {
      if (!input.resume) {
        startDeadlineAlerts('shipping', state.shippingDeadline, state.warehouseCreatedAt ?? Date.now(), () =>
          fullyShipped(state.lines),
        );
      }
      await despatchLoop();
    }
    // ---- 6. return window, then close ---------------------------------------------------------------
    if (state.status === 'SHIPPED') {
      const windowMs = settings.returnWindowDays * 24 * 3600 * 1000;
      const until = (state.shippedAt ?? Date.now()) + windowMs;
      await condition(
        () => order.state === 'CLOSED' || workflowInfo().continueAsNewSuggested,
        Math.max(0, until - Date.now()),
      );
      if (workflowInfo().continueAsNewSuggested && order.state !== 'CLOSED' && Date.now() < until) {
        await continueAsNew<typeof orderWorkflow>({ ...input, order, resume: state });
      }
      setStatus('CLOSED');
    }
    // A refund being sent to the marketplace finishes before the workflow does.
    await condition(() => refundsInFlight === 0);
    return state;
  } catch (err) {
    if (err instanceof OrderCancelled) {
      await handleCancellation(err.message);
      return state;
    }
    throw err;
  }

  // ---- steps (hoisted) ------------------------------------------------------------------------------
  /** The order's lines less those refused at acceptance for stock (they never reach the warehouse). */
  function liveLines() {
    return order.lines.filter((l) => !state.refusedLines?.includes(l.lineId));
  }

  function marketplaceState(): MarketplaceOrder['state'] {
    return order.state;
  }

  async function acknowledge(): Promise<'accepted' | 'refused'> {
    const deadlineMs = state.acceptanceDeadline ? new Date(state.acceptanceDeadline).getTime() : undefined;
    for (;;) {
      const decision = await decideAcceptance();
      if (decision.kind === 'accept') {
        const r = await step('acknowledge', () =>
          marketplace.acknowledgeOrder({
            channel: state.channel,
            orderId: state.orderId,
            decisions: decision.decisions,
          }),
        );
        if (decision.decisions.length > 0 && decision.decisions.every((d) => !d.accepted)) {
          // Every line refused for stock (refuse-line): the marketplace refuses the order; nothing to ship.
          setStatus('REFUSED', 'every line out of stock (refuse-line)');
          return 'refused';
        }
        state.acceptedAt = Date.now();
        setStatus('ACCEPTED', r === 'resolved' ? 'resolved by an operator' : r);
        return 'accepted';
      }
      // Cannot accept automatically: park with the reason and wait for an operator, a marketplace change
      // (cancelled, refused, accepted in the back office) or the deadline.
      await park(decision.exception);
      const acted = await condition(
        () => pendingAction !== undefined || order.state !== 'WAITING_ACCEPTANCE',
        deadlineMs !== undefined ? Math.max(0, deadlineMs - Date.now()) : undefined,
      );
      const action = pendingAction;
      if (order.state !== 'WAITING_ACCEPTANCE') {
        clearException();
        if (order.state === 'REFUSED' || order.state === 'CANCELED') return refused();
        state.acceptedAt = Date.now();
        setStatus('ACCEPTED', 'accepted outside Loopline');
        return 'accepted';
      }
      if (!acted) {
        // Deadline passed with no decision: the marketplace will refuse the order; wait for it to say so.
        await condition(() => order.state !== 'WAITING_ACCEPTANCE' || pendingAction !== undefined);
        if (pendingAction === undefined) {
          clearException();
          // (read through a function: TypeScript would otherwise keep the narrowing from before the await)
          const now = marketplaceState();
          if (now === 'REFUSED' || now === 'CANCELED') return refused();
          continue;
        }
      }
      clearException();
      if (action?.action === 'cancel') throw new OrderCancelled(action.note ?? 'cancelled by an operator');
      if (action?.action === 'resolve') {
        // An operator accepting by hand (for example after fixing the mapping): accept every line.
        const decisions = order.lines.map((l) => ({ lineId: l.lineId, accepted: true }));
        await step('acknowledge', () =>
          marketplace.acknowledgeOrder({ channel: state.channel, orderId: state.orderId, decisions }),
        );
        state.acceptedAt = Date.now();
        setStatus('ACCEPTED', 'accepted by an operator');
        return 'accepted';
      }
      note('retry', 'acknowledge');
    }
  }

  function refused(): 'refused' {
    const exc = makeException(
      'ACCEPTANCE_DEADLINE_PASSED',
      { orderId: state.orderId, deadline: state.acceptanceDeadline ?? 'unknown' },
      Date.now(),
    );
    state.pastExceptions.push(exc);
    state.status = 'REFUSED';
    note('REFUSED', exc.message);
    upsertSearchAttributes([
      { key: SA.OrderStatus, value: 'REFUSED' },
      { key: SA.ExceptionReason, value: exc.reason },
      { key: SA.Owner, value: exc.owner },
    ] as never);
    return 'refused';
  }

  async function decideAcceptance(): Promise<
    | { kind: 'accept'; decisions: Array<{ lineId: string; accepted: boolean }> }
    | { kind: 'hold'; exception: OrderException }
  > {
    // No lines, or a line id twice: OR21 cannot express a decision for it (pure check, no commands).
    const blocker = acceptanceBlockers(order, state.channel, Date.now())[0];
    if (blocker) return { kind: 'hold', exception: blocker };
    const codes = await settingsActs.resolveItemCodes({
      channel: state.channel,
      offerSkus: order.lines.map((l) => l.offerSku),
    });
    const unmapped = order.lines.find((l) => codes[l.offerSku] === undefined || codes[l.offerSku] === null);
    if (unmapped) {
      return {
        kind: 'hold',
        exception: makeException(
          'SKU_UNMAPPED',
          { orderId: state.orderId, lineId: unmapped.lineId, offerSku: unmapped.offerSku },
          Date.now(),
          `order_lines[${order.lines.indexOf(unmapped)}].offer_sku`,
        ),
      };
    }
    if (settings.acceptancePolicy === 'manual') {
      return {
        kind: 'hold',
        exception: makeException(
          'AWAITING_MANUAL_ACCEPTANCE',
          { orderId: state.orderId, deadline: state.acceptanceDeadline ?? 'none' },
          Date.now(),
        ),
      };
    }
    // Stock: the channel's out-of-stock policy for lines the master cannot cover any more (docs/inventory.md).
    // Patched: histories from before the check have no such activity at this point.
    if (patched('order-stock-check')) {
      let stock: StockLineDecision[];
      try {
        stock = await stockActs(settings.taskQueues.inventory ?? workflowInfo().taskQueue).checkOrderStock({
          channel: state.channel,
          lines: order.lines.map((l) => ({ lineId: l.lineId, itemCode: codes[l.offerSku]!, quantity: l.quantity })),
          policy: settings.outOfStock,
        });
      } catch (err) {
        // The master could not be read within the check's retries. The acceptance deadline comes first: accept
        // every line as if the check were off (the warehouse reports any shortage) and tell ops.
        const message = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
        note('stock', `stock check unavailable, every line accepted without it: ${message}`);
        await settingsActs.raiseAlert({
          key: `stock-check:${state.channel}:${state.orderId}`,
          kind: 'sync',
          channel: state.channel,
          orderId: state.orderId,
          reason: 'STOCK_CHECK_UNAVAILABLE',
          owner: 'ops',
          message: `Order ${state.orderId} (${state.channel}) was accepted without a stock check: the stock master could not be read (${message}). Check the lines can be supplied.`,
        });
        return { kind: 'accept', decisions: order.lines.map((l) => ({ lineId: l.lineId, accepted: true })) };
      }
      const short = stock.filter((d) => d.shortBy > 0);
      for (const d of short) {
        note(
          'stock',
          d.accepted
            ? `line ${d.lineId} accepted as a backorder: short by ${d.shortBy} (accept-and-backorder)`
            : `line ${d.lineId} refused: out of stock, short by ${d.shortBy} (refuse-line)`,
        );
      }
      state.refusedLines = stock.filter((d) => !d.accepted).map((d) => d.lineId);
      return { kind: 'accept', decisions: stock.map((d) => ({ lineId: d.lineId, accepted: d.accepted })) };
    }
    return { kind: 'accept', decisions: order.lines.map((l) => ({ lineId: l.lineId, accepted: true })) };
  }

  async function despatchLoop(): Promise<void> {
    const backstopMs = settings.despatchBackstopMs;
    while (!fullyShipped(state.lines)) {
      const woke = await condition(
        () => pendingNotices.length > 0 || order.state === 'CANCELED' || workflowInfo().continueAsNewSuggested,
        backstopMs,
      );
      if (order.state === 'CANCELED') throw new OrderCancelled('cancelled on the marketplace');
      if (workflowInfo().continueAsNewSuggested && pendingNotices.length === 0) {
        await continueAsNew<typeof orderWorkflow>({
          ...{ channel: state.channel, orderId: state.orderId },
          order,
          resume: state,
        });
      }
      // A callback carries only the despatch number; the items come from the warehouse's report. The
      // same read is the workflow's own backstop when no callback arrived.
      const needReport = !woke || pendingNotices.some((n) => !n.despatch);
      let known: Despatch[] = pendingNotices.flatMap((n) => (n.despatch ? [n.despatch] : []));
      pendingNotices.length = 0;
      if (needReport && state.salesOrderNumber) {
        const fromReport = await warehouse.listWarehouseDespatches({
          salesOrderNumber: state.salesOrderNumber,
          channel: state.channel,
        });
        known = [...known, ...fromReport];
      }
      for (const d of known) {
        if (state.despatches.some((r) => r.despatchNumber === d.despatchNumber)) continue;
        await handleDespatch(d);
      }
    }
    state.shippedAt = Date.now();
    setStatus('SHIPPED');
  }

  async function handleDespatch(d: Despatch): Promise<void> {
    const allocation = allocateDespatch(d, state.lines);
    const record: DespatchRecord = {
      despatchNumber: d.despatchNumber,
      trackingNumber: d.trackingNumber,
      carrier: d.carrier,
      lines: allocation.lines,
      confirmed: false,
    };
    state.despatches.push(record);
    note('despatched', `${d.despatchNumber}: ${allocation.lines.map((l) => `${l.lineId}×${l.quantity}`).join(', ')}`);
    if (allocation.excess.length > 0) {
      const x = allocation.excess[0]!;
      await settingsActs.raiseAlert({
        key: `excess:${state.channel}:${state.orderId}:${d.despatchNumber}`,
        kind: 'exception',
        channel: state.channel,
        orderId: state.orderId,
        owner: 'ops',
        reason: 'DESPATCH_EXCEEDS_ORDER',
        message: makeException(
          'DESPATCH_EXCEEDS_ORDER',
          { orderId: state.orderId, despatchNumber: d.despatchNumber, quantity: x.quantity, itemCode: x.itemCode },
          Date.now(),
        ).message,
      });
    }
    if (allocation.lines.length === 0) return;
    const progressAfter = applyShipment(state.lines, allocation.lines);
    if (!settings.multiShipment && !fullyShipped(progressAfter)) {
      // Without multi-shipment the marketplace only takes whole orders (OR23 + OR24): hold the parcel
      // until the rest of the order is despatched.
      state.lines = progressAfter;
      state.status = 'PARTIALLY_SHIPPED';
      publish();
      return;
    }
    const lines = settings.multiShipment
      ? allocation.lines
      : progressAfter.map((p) => ({ lineId: p.lineId, quantity: p.shipped }));
    const r = await step('confirm shipment', () =>
      marketplace.confirmShipment({
        channel: state.channel,
        orderId: state.orderId,
        despatchNumber: d.despatchNumber,
        lines,
        trackingNumber: d.trackingNumber,
        carrier: d.carrier,
        mode: settings.multiShipment ? 'ST01' : 'OR23_OR24',
      }),
    );
    note(r === 'resolved' ? 'shipment handled by an operator' : 'shipment confirmed', d.despatchNumber);
    record.confirmed = true;
    if (!settings.multiShipment) for (const rec of state.despatches) rec.confirmed = true;
    state.lines = progressAfter;
    setStatus(
      anyShipped(state.lines) && !fullyShipped(state.lines) ? 'PARTIALLY_SHIPPED' : state.status,
      d.despatchNumber,
    );
  }

  async function handleCancellation(reason: string): Promise<void> {
    note('cancelling', reason);
    // An operator cancel on an order the marketplace still has open: cancel it there too.
    if (order.state !== 'CANCELED' && order.state !== 'REFUSED' && !anyShipped(state.lines)) {
      await step(
        'cancel on marketplace',
        () => marketplace.cancelMarketplaceOrder({ channel: state.channel, orderId: state.orderId }),
        { cancelling: true },
      );
    }
    if (state.salesOrderNumber) {
      const r = await step(
        'cancel warehouse order',
        async () => {
          const res = await warehouse.cancelWarehouseOrder({
            salesOrderNumber: state.salesOrderNumber!,
            channel: state.channel,
          });
          if (!res.cancelled) {
            throw ApplicationFailure.nonRetryable(
              makeException(
                'CANCELLED_AFTER_PICK',
                { orderId: state.orderId, wmsStatus: res.status.toLowerCase() },
                Date.now(),
              ).message,
              'CANCELLED_AFTER_PICK',
            );
          }
          return res;
        },
        { cancelling: true },
      );
      note('warehouse order', r === 'resolved' ? 'handled by an operator' : 'cancelled');
    }
    setStatus('CANCELLED', reason);
  }
}

function describeUnshipped(lines: LineProgress[]): string {
  const open = lines.filter((l) => l.ordered - l.cancelled - l.shipped > 0);
  if (open.length === 0) return 'everything has shipped';
  return `lines ${open.map((l) => `${l.lineId} (${l.ordered - l.cancelled - l.shipped} left)`).join(', ')} have not shipped`;
}

function requireException(state: OrderWorkflowState) {
  if (!state.exception) throw new Error(`order ${state.orderId} has no open exception (status ${state.status})`);
}

/** Validation problems travel as one failure; the first problem names the exception. */
class ValidationProblems extends Error {
  constructor(readonly problems: OrderException[]) {
    super(problems.map((p) => p.message).join(' '));
  }
}

function toException(err: unknown, stepName: string, orderId: string): OrderException {
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
      Date.now(),
    );
  }
  if (failure instanceof ApplicationFailure) {
    const type = failure.type ?? '';
    if (isReasonCode(type)) {
      const details = (failure.details?.[0] ?? {}) as Record<string, string | number | undefined>;
      const exc = makeException(type as ReasonCode, { orderId, ...details }, Date.now());
      // A connector failure (activities/errors.ts) keeps the remote system's words in its encrypted
      // details, not in its message: the reason's sentence is built from them. Others bring their own.
      return details.detail !== undefined ? exc : { ...exc, message: failure.message };
    }
    // Retries exhausted on a transport error.
    return makeException(
      'SYSTEM_UNAVAILABLE',
      { orderId, system: type || 'a connected system', step: stepName, detail: failure.message },
      Date.now(),
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return makeException('UNEXPECTED_ERROR', { orderId, step: stepName, detail: message }, Date.now());
}
