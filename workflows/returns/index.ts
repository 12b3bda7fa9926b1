// One durable workflow per return (id return:<channel>:<origin>-<source id>), a child of its order's workflow
// (or on its own when that had finished, or never existed). One flow for every route, configured per channel:
//   resolve the return against the marketplace order (lines, units shipped and refunded, reasons through the
//   strict reason table) → accept it at the marketplace → wait for the trigger of the channel's mode:
//     reveni       Reveni's decision (instant: at once) drives RT25 / RT26 / RT27 on Mirakl;
//     warehouse    a return booked in at the warehouse is the trigger (a Mirakl return is closed with it);
//     marketplace  the marketplace's return received;
//   → refund from the marketplace order (one at a time per order, through the order workflow: exactly once
//   per line) → restock what goes back on sale, to every channel at once → close → compare the returns
//   platform's figure (REFUND_AMOUNT_DISPUTED for finance when it differs).
// Anything a person must decide parks the return in the exception mailbox (reason, owner, sentence). No I/O.
import { condition, getExternalWorkflowHandle, patched, uuid4 } from '@temporalio/workflow';
import { REVENI_DECIDED, type ReveniSnapshot } from '../../src/connectors/reveni/map';
import {
  money,
  refundDispute,
  resolveReturn,
  type OrderForReturn,
  type ResolvedReturnLine,
} from '../../src/domain/returns';
import type { NonComplianceReason } from '../../src/connectors/mirakl/returns';
import type { RefundReturnResult } from '../../activities/marketplace-refund';
import type { OrderException } from '../../src/domain/reasons';
import {
  returnRefundRequestSignal,
  type ReturnRefundRecord,
  type ReturnWorkflowInput,
  type ReturnWorkflowState,
} from './messages';
import { answerFailure, ReturnCancelled, ReturnResolved, ReturnRun } from './run';

export * from './messages';

/** A return waits this long for the order workflow's answer to a refund request before asking again. */
const REASK_MS = 10 * 60_000;
/** Goods going back on sale are restocked before the refund and the marketplace calls around it. */
const RESTOCK_FIRST = 'returns-restock-first';
const DAY = 86_400_000;

export async function returnWorkflow(input: ReturnWorkflowInput): Promise<ReturnWorkflowState> {
  const run = new ReturnRun(input);
  const { state } = run;
  run.publish();
  run.note(
    'requested',
    `${state.origin} return ${run.returnId()} of order ${state.orderId} (${state.source.sourceState}, ${state.source.lines.length} line(s))`,
  );
  let receiptToForward: ReturnWorkflowState['receipt'];
  try {
    await run.loadSettings();
    await checkOrderKnown(run);
    await checkWindow(run);
    const order = await resolveLines(run);
    if (state.marketplaceReturn) await acceptAtMarketplace(run);
    switch (input.mode) {
      case 'reveni':
        await reveniFlow(run, order);
        break;
      case 'warehouse':
        receiptToForward = await warehouseFlow(run);
        break;
      case 'marketplace':
        await marketplaceFlow(run);
        break;
      default:
        run.note('not handled', 'returns: none on this channel: the marketplace and customer service handle it');
    }
    run.setStatus('CLOSED');
  } catch (err) {
    if (err instanceof ReturnResolved) run.setStatus('RESOLVED', err.message);
    else if (err instanceof ReturnCancelled) await cancelReturn(run, err);
    else throw err;
  }
  state.closedAt = Date.now();
  // A resolve or cancel that ended the return returns now, with its final status.
  run.finishAction();
  await run.settle(receiptToForward ? { receipt: receiptToForward } : {});
  if (state.status === 'CLOSED') await checkDispute(run);
  await run.mailbox.settle();
  return state;
}

// ---- before anything is done ------------------------------------------------------------------------------

/** A return for an order Loopline never saw parks for ops (RETURN_ORDER_UNKNOWN); retry looks again. */
async function checkOrderKnown(run: ReturnRun): Promise<void> {
  const { state, input } = run;
  if (input.orphan?.kind !== 'order-unknown') return;
  for (;;) {
    const a = await run.park(
      run.exception('RETURN_ORDER_UNKNOWN', { channel: state.channel, detail: 'no Loopline workflow ever had it' }),
    );
    if (a.kind === 'resolve') throw new ReturnResolved(a.note ?? 'handled by hand');
    if (a.kind === 'cancel') throw new ReturnCancelled(a.note ?? 'refused by an operator');
    const r = await run.step('look for the order', () =>
      run.acts.reads.orderWorkflowStatus({ channel: state.channel, orderId: state.orderId }),
    );
    if (r !== 'resolved' && r.status !== 'none') {
      run.note('order found', `the order has a workflow now (${r.status})`);
      run.finishAction();
      return;
    }
    run.note('order still unknown');
  }
}

/** A return after the order's return window parks for customer service: resolve accepts it, cancel refuses it. */
async function checkWindow(run: ReturnRun): Promise<void> {
  const { input } = run;
  let windowEnd = input.windowEndsAt;
  if (input.orphan?.kind === 'order-closed' && input.orphan.orderStatus === 'CLOSED')
    windowEnd = Math.min(windowEnd ?? Infinity, input.orphan.closedAt ?? Date.now());
  if (windowEnd === undefined || !Number.isFinite(windowEnd) || Date.now() <= windowEnd) return;
  for (;;) {
    const days = Math.max(1, Math.ceil((Date.now() - windowEnd) / DAY));
    const a = await run.park(
      run.exception('RETURN_AFTER_WINDOW', { days, windowEnd: new Date(windowEnd).toISOString() }),
    );
    if (a.kind === 'resolve') {
      run.note('accepted after the window', a.note);
      run.finishAction();
      return;
    }
    if (a.kind === 'cancel') throw new ReturnCancelled(a.note ?? 'refused: after the return window');
  }
}

/**
 * The return's lines against the marketplace order: each line found, its units whole and within what shipped
 * and is not refunded yet, its reason in the table. A problem parks the return with its named reason; retry
 * reads the settings (a reason mapped since) and the order again.
 */
async function resolveLines(run: ReturnRun): Promise<OrderForReturn> {
  const { state } = run;
  for (;;) {
    const order = await run.step(
      'read the order',
      () => run.acts.reads.readOrderForReturn({ channel: state.channel, orderId: state.orderId }),
      { resolvable: false },
    );
    if (order === 'resolved') throw new ReturnResolved('handled by hand');
    let problem: OrderException | undefined;
    if (order === null) {
      problem = run.exception('RETURN_ORDER_UNKNOWN', {
        channel: state.channel,
        detail: 'the marketplace does not have it',
      });
    } else {
      const r = resolveReturn(state.source, order, {
        table: run.settings.reasons,
        itemCodeOf: (sku) => run.settings.skuMap[sku] ?? sku,
        resaleableConditions: run.settings.resaleableConditions,
      });
      if ('lines' in r && run.input.mode === 'reveni' && state.origin === 'marketplace') {
        // The return goes on to Reveni in Reveni's words: the row must name the Reveni reason too.
        const missing = r.lines.find((l) => !l.reveniReason);
        if (missing)
          problem = run.exception('RETURN_REASON_UNMAPPED', {
            source: 'marketplace',
            reasonCode: `${missing.reason} (no Reveni reason in its row)`,
          });
      }
      if ('problem' in r)
        problem = run.problem({ ...r.problem, details: { ...r.problem.details, returnId: run.returnId() } });
      else if (!problem) {
        state.lines = r.lines;
        const normalised = r.lines.filter((l) => l.normalisedReason);
        if (normalised.length)
          run.note('reason read', `"${normalised[0]!.reason}" matched its row after trimming and ignoring case`);
        run.note('lines', r.lines.map((l) => `${l.lineId} ×${l.quantity} (${l.reason} → ${l.disposition})`).join(', '));
        run.finishAction();
        return order;
      }
    }
    const a = await run.park(problem);
    if (a.kind === 'resolve') throw new ReturnResolved(a.note ?? 'handled by hand');
    if (a.kind === 'cancel') throw new ReturnCancelled(a.note ?? 'refused by an operator');
    run.note('retry', 'reading the settings and the order again');
    await run.loadSettings();
  }
}

/** RT21 for a marketplace return waiting for the seller's decision. */
async function acceptAtMarketplace(run: ReturnRun): Promise<void> {
  const { state } = run;
  const mr = state.marketplaceReturn!;
  if (mr.state === 'CANCELED') throw new ReturnCancelled('cancelled on the marketplace', true);
  if (mr.state === 'REFUSED') throw new ReturnCancelled('refused on the marketplace', true);
  if (mr.state !== 'WAITING_ACCEPTANCE') return;
  const r = await run.step('accept the return at the marketplace', () =>
    run.acts.marketplace.marketplaceReturnAction({
      channel: state.channel,
      orderId: state.orderId,
      returnId: mr.id,
      action: 'accept',
    }),
  );
  mr.state = 'IN_PROGRESS';
  run.setStatus('ACCEPTED', r === 'resolved' ? 'accepted by hand' : `RT21 (${r})`);
}

async function marketplaceAction(
  run: ReturnRun,
  action: 'receive' | 'compliance' | 'close',
  compliance?: Array<{ lineId: string; compliant: boolean; reason?: NonComplianceReason; info?: string }>,
): Promise<void> {
  const { state } = run;
  const mr = state.marketplaceReturn;
  if (!mr) return;
  const next = { receive: 'RECEIVED', compliance: 'RECEIVED', close: 'CLOSED' }[action];
  if (action === 'receive' && mr.state !== 'IN_PROGRESS') return;
  if (action === 'compliance' && mr.state !== 'RECEIVED') return;
  if (action === 'close' && !['RECEIVED', 'NO_RECEPTION'].includes(mr.state)) return;
  const r = await run.step(`${action} the return at the marketplace`, () =>
    run.acts.marketplace.marketplaceReturnAction({
      channel: state.channel,
      orderId: state.orderId,
      returnId: mr.id,
      action,
      ...(compliance ? { compliance } : {}),
    }),
  );
  mr.state = next;
  run.note(`marketplace ${action}`, r === 'resolved' ? 'done by hand' : String(r));
}

// ---- the refund and the restock ----------------------------------------------------------------------------

/** Refunds these units from the marketplace order (through the order workflow when it runs): once per line. */
async function refund(run: ReturnRun, lines: Array<{ lineId: string; quantity: number }>): Promise<void> {
  const { state } = run;
  const want = lines.filter((l) => l.quantity > 0);
  if (want.length === 0 || state.refund) return;
  state.triggerAt ??= Date.now();
  const request = want.map((l) => ({
    lineId: l.lineId,
    quantity: l.quantity,
    refundReason: state.lines.find((x) => x.lineId === l.lineId)?.refundReason,
  }));
  const r = await run.step('refund at the marketplace', () => requestRefund(run, request));
  if (r === 'resolved') {
    run.note('refunded by hand', 'an operator marked the refund done');
    return;
  }
  state.refund = { ...r, latencyMs: r.at - (state.triggerAt ?? r.at) };
  const c = r.calculation;
  run.setStatus(
    'REFUNDED',
    `${money(c.totalMinor, c.currency)}${r.found.length ? ` (found already refunded: ${r.found.join(', ')})` : ''}: ${c.basis}`,
  );
}

async function requestRefund(
  run: ReturnRun,
  lines: Array<{ lineId: string; quantity: number; refundReason?: string }>,
): Promise<ReturnRefundRecord> {
  const { state, input } = run;
  const base = {
    channel: state.channel,
    orderId: state.orderId,
    returnKey: state.returnKey,
    returnId: run.returnId(),
    lines,
    ownRefundIds: {},
    triggerAt: state.triggerAt,
  };
  const local = async (): Promise<RefundReturnResult> =>
    run.acts.refunds.refundReturnLines({ ...base, claimedRefundIds: [] });
  if (!input.orderWorkflowId) return local();
  // Through the order workflow: it sends one refund at a time per order and knows every refund Loopline
  // claimed on it, so a lost response is found as ours and never as another return's.
  const requestId = `${state.returnKey}:${uuid4()}`;
  const ask = async () =>
    getExternalWorkflowHandle(input.orderWorkflowId!).signal(returnRefundRequestSignal, {
      ...base,
      requestId,
      returnWorkflowId: run.workflowId(),
    });
  try {
    await ask();
  } catch {
    run.note('refund sent by the return itself', 'the order workflow has finished');
    return local();
  }
  while (!(await condition(() => run.answers.has(requestId), REASK_MS))) {
    try {
      await ask();
    } catch {
      return local();
    }
  }
  const a = run.answers.get(requestId)!;
  run.answers.delete(requestId);
  if (!a.ok) throw answerFailure(a);
  return a.record;
}

/** Restocks units that go back on sale, to every channel selling the item at once (pushed ahead). */
async function restock(
  run: ReturnRun,
  items: Array<{ itemCode: string; units: number }>,
  kind: 'delta' | 'master',
): Promise<void> {
  const { state } = run;
  const merged = new Map<string, number>();
  for (const i of items) if (i.units > 0) merged.set(i.itemCode, (merged.get(i.itemCode) ?? 0) + i.units);
  if (merged.size === 0) return;
  const decidedAt = Date.now();
  const list = [...merged].map(([itemCode, units]) => ({ itemCode, units }));
  const r = await run.step('restock', () =>
    run.acts.reads.restockReturned({
      channel: state.channel,
      returnKey: state.returnKey,
      items: list,
      kind,
      decidedAt,
    }),
  );
  if (r === 'resolved') return;
  for (const i of list) state.restocks.push({ ...i, decidedAt, kind, channels: r.channels });
  run.note('restocked', `${list.map((i) => `${i.itemCode} +${i.units}`).join(', ')} → ${r.channels.join(', ')}`);
}

// ---- the three routes ----------------------------------------------------------------------------------------

/** Reveni's non-compliance words → Mirakl's (RT26). */
const NON_COMPLIANCE: Record<string, NonComplianceReason> = {
  defect: 'RETURN_NON_COMPLIANT_DAMAGED_PRODUCT',
  damaged: 'RETURN_NON_COMPLIANT_DAMAGED_PRODUCT',
  used: 'RETURN_NON_COMPLIANT_DAMAGED_PRODUCT',
  missing: 'RETURN_NON_COMPLIANT_MISSING_ITEM',
  wrong_item: 'RETURN_NON_COMPLIANT_WRONG_PRODUCT',
};

/** Units of each resolved line Reveni accepted (items matched by Reveni item id, else by SKU). */
function acceptedByReveni(lines: ResolvedReturnLine[], snap: ReveniSnapshot) {
  const pool = snap.items.map((i) => ({ ...i, left: Number.isFinite(i.quantity) ? i.quantity : 0 }));
  return lines.map((l) => {
    let accepted = 0;
    let rejected = 0;
    let restock = false;
    let reason: string | undefined;
    let want = l.quantity;
    for (const it of pool) {
      if (want <= 0) break;
      const same = l.itemId
        ? it.itemId === l.itemId
        : [l.itemCode, l.offerSku].some((x) => x && it.sku && x.toUpperCase() === it.sku.toUpperCase());
      if (!same || it.left <= 0) continue;
      const take = Math.min(want, it.left);
      it.left -= take;
      want -= take;
      if (it.status === 'accepted') {
        accepted += take;
        restock ||= it.restock !== false;
      } else {
        rejected += take;
        reason = (snap.items.find((x) => x.itemId === it.itemId) as { reason?: string } | undefined)?.reason;
      }
    }
    return { line: l, accepted, rejected: rejected + want, restock, reason };
  });
}

async function reveniFlow(run: ReturnRun, order: OrderForReturn): Promise<void> {
  const { state } = run;
  if (state.origin === 'marketplace' && !state.reveni) {
    const snap = await run.step('send the return to Reveni', () =>
      run.acts.platform.registerWithReveni({
        channel: state.channel,
        returnId: run.returnId(),
        reference: state.marketplaceReturn!.id,
        orderId: state.orderId,
        currency: order.currency,
        items: state.lines.map((l) => ({
          sku: l.itemCode ?? l.offerSku,
          quantity: l.quantity,
          reason: l.reveniReason!,
          unitPriceMinor: order.lines.find((o) => o.lineId === l.lineId)?.unitPrice ?? 0,
        })),
      }),
    );
    if (snap === 'resolved') throw new ReturnResolved('handled in Reveni by hand');
    if (!state.reveni) state.reveni = snap;
    run.note('sent to Reveni', `Reveni return ${snap.id} (${snap.mode})`);
  }
  if (!state.reveni) {
    const snap = await run.step('read the return from Reveni', () =>
      run.acts.reads.readReveniReturn({ channel: state.channel, reveniId: state.source.sourceId }),
    );
    if (snap === 'resolved' || snap === null) throw new ReturnResolved('Reveni has no such return');
    state.reveni = snap;
  }
  run.setStatus('AWAITING_GOODS', `Reveni ${state.reveni.status}`);
  for (;;) {
    // Every read of Reveni's figure is checked before anything is refunded (currency, a real amount).
    if (!state.refund) await checkReveniMoney(run, order);
    const snap: ReveniSnapshot = state.reveni!;
    if (snap.status === 'cancelled' || snap.status === 'expired') throw new ReturnCancelled(`${snap.status} in Reveni`);
    if (state.marketplaceReturn?.state === 'CANCELED') throw new ReturnCancelled('cancelled on the marketplace', true);
    if (snap.mode === 'instant' && !state.refund) {
      // Instant: Reveni paid the customer at once; the marketplace refund follows straight away.
      run.note('instant refund', 'Reveni paid the customer before the goods came back');
      await refund(
        run,
        state.lines.map((l) => ({ lineId: l.lineId, quantity: l.quantity })),
      );
    }
    if (['received', 'for_review'].includes(snap.status) || REVENI_DECIDED.has(snap.status)) {
      if (state.status === 'AWAITING_GOODS' || state.status === 'ACCEPTED')
        run.setStatus('RECEIVED', `Reveni ${snap.status}`);
      await marketplaceAction(run, 'receive');
    }
    if (REVENI_DECIDED.has(snap.status)) break;
    if (!(await run.waitForNews(run.settings.pollMs))) {
      // No webhook for a while: read the return back (the backstop).
      const fresh: ReveniSnapshot | null | 'resolved' = await run.step('read the return from Reveni', () =>
        run.acts.reads.readReveniReturn({ channel: state.channel, reveniId: snap.id }),
      );
      if (fresh && fresh !== 'resolved' && fresh.status !== snap.status) {
        state.reveni = fresh;
        run.note('read back', `Reveni ${fresh.status}`);
      }
    }
  }
  const snap = state.reveni!;
  const decided = acceptedByReveni(state.lines, snap);
  state.accepted = decided.map((d) => ({ lineId: d.line.lineId, quantity: d.accepted }));
  run.note(
    'decided in Reveni',
    `${snap.status}: ${decided.map((d) => `${d.line.lineId} ${d.accepted}/${d.line.quantity} accepted`).join(', ')}`,
  );
  // What Reveni put back on sale goes to every channel now (since 'returns-restock-first'), not after the
  // compliance call and the refund, whose retries under a marketplace fault would hold it.
  const restockFirst = patched(RESTOCK_FIRST);
  const goods = () =>
    restock(
      run,
      decided
        .filter((d) => d.accepted > 0 && d.restock && d.line.disposition === 'restock')
        .map((d) => ({ itemCode: d.line.itemCode ?? d.line.offerSku, units: d.accepted })),
      'delta',
    );
  if (restockFirst) await goods();
  await marketplaceAction(
    run,
    'compliance',
    decided.map((d) => ({
      lineId: d.line.lineId,
      compliant: d.rejected === 0,
      ...(d.rejected > 0
        ? {
            reason: NON_COMPLIANCE[d.reason ?? ''] ?? 'RETURN_NON_COMPLIANT_OTHER',
            info: `rejected in Reveni (${d.reason ?? 'no reason'})`,
          }
        : {}),
    })),
  );
  if (snap.mode !== 'instant') await refund(run, state.accepted);
  if (!restockFirst) await goods();
  const held = decided.filter((d) => d.accepted > 0 && d.line.disposition !== 'restock');
  if (held.length)
    run.note(
      'not restocked',
      held.map((d) => `${d.line.itemCode ?? d.line.offerSku} (${d.line.disposition})`).join(', '),
    );
  await marketplaceAction(run, 'close');
}

/** Reveni's refund figure must be in the order's currency and a real amount before anything is refunded. */
async function checkReveniMoney(run: ReturnRun, order: OrderForReturn): Promise<void> {
  const { state } = run;
  for (;;) {
    const snap: ReveniSnapshot = state.reveni!;
    let e: OrderException | undefined;
    if (snap.refundCurrency && snap.refundCurrency.toUpperCase() !== order.currency.toUpperCase())
      e = run.exception('RETURN_CURRENCY_MISMATCH', {
        source: 'Reveni',
        currency: snap.refundCurrency,
        expected: order.currency,
      });
    else if (snap.refundMinor !== undefined && (!Number.isFinite(snap.refundMinor) || snap.refundMinor < 0))
      e = run.exception('RETURN_AMOUNT_INVALID', { what: "Reveni's refund", value: String(snap.refundMinor) });
    else if (snap.items.some((i) => !Number.isInteger(i.quantity) || i.quantity <= 0))
      e = run.exception('RETURN_QUANTITY_INVALID', {
        lineId: snap.items.find((i) => !Number.isInteger(i.quantity) || i.quantity <= 0)?.sku ?? '(item)',
        quantity: String(snap.items.find((i) => !Number.isInteger(i.quantity) || i.quantity <= 0)?.quantity),
      });
    if (!e) {
      run.finishAction();
      return;
    }
    const a = await run.park(e);
    if (a.kind === 'resolve') {
      run.note('accepted by hand', e.reason);
      run.finishAction();
      return;
    }
    if (a.kind === 'cancel') throw new ReturnCancelled(a.note ?? 'refused by an operator');
    const fresh: ReveniSnapshot | null | 'resolved' = await run.step('read the return from Reveni', () =>
      run.acts.reads.readReveniReturn({ channel: state.channel, reveniId: snap.id }),
    );
    if (fresh && fresh !== 'resolved') state.reveni = fresh;
  }
}

/**
 * Warehouse route (seeds 000, 004): a return booked in at the warehouse is the trigger for the refund of
 * those units; a marketplace return of the order is closed when its goods are booked in (RT25/26/27), and
 * never refunded twice (the receipt's return refunds).
 */
async function warehouseFlow(run: ReturnRun): Promise<ReturnWorkflowState['receipt']> {
  const { state } = run;
  if (state.origin === 'warehouse') {
    state.triggerAt = Date.now();
    run.setStatus('RECEIVED', `booked in at the warehouse (${state.source.sourceId})`);
    state.accepted = state.lines.map((l) => ({ lineId: l.lineId, quantity: l.quantity }));
    // The warehouse already counted resaleable goods in its stock: the push that carries them goes first, and
    // (since 'returns-restock-first') before the refund, whose retries under a marketplace fault would hold it.
    const restockFirst = patched(RESTOCK_FIRST);
    const goods = () =>
      restock(
        run,
        state.lines
          .filter((l) => l.disposition === 'restock')
          .map((l) => ({ itemCode: l.itemCode ?? l.offerSku, units: l.quantity })),
        'master',
      );
    if (restockFirst) await goods();
    await refund(run, state.accepted);
    if (!restockFirst) await goods();
    const held = state.lines.filter((l) => l.disposition !== 'restock');
    if (held.length)
      run.note(
        'not restocked',
        held.map((l) => `${l.itemCode ?? l.offerSku} (${l.condition ?? 'no condition'}, ${l.disposition})`).join(', '),
      );
    return {
      byReturnKey: state.returnKey,
      returnCode: state.source.sourceId,
      lines: state.accepted,
      receivedAt: Date.now(),
    };
  }
  // A marketplace return on a warehouse route: its goods come as a receipt of their own.
  run.setStatus('AWAITING_GOODS', 'waiting for the warehouse to book the goods in');
  while (!state.receipt) {
    if (state.marketplaceReturn?.state === 'CANCELED') throw new ReturnCancelled('cancelled on the marketplace', true);
    if (!(await run.waitForNews(run.settings.pollMs)) && state.marketplaceReturn) await readMarketplaceReturn(run);
  }
  const receipt = state.receipt;
  run.setStatus('RECEIVED', `booked in at the warehouse (${receipt.returnCode}), refunded by ${receipt.byReturnKey}`);
  await marketplaceAction(run, 'receive');
  await marketplaceAction(
    run,
    'compliance',
    state.lines.map((l) => {
      const got = receipt.lines.filter((r) => r.lineId === l.lineId).reduce((s, r) => s + r.quantity, 0);
      return got >= l.quantity
        ? { lineId: l.lineId, compliant: true }
        : {
            lineId: l.lineId,
            compliant: false,
            reason: 'RETURN_NON_COMPLIANT_MISSING_ITEM' as const,
            info: `${got} of ${l.quantity} booked in`,
          };
    }),
  );
  await marketplaceAction(run, 'close');
  return undefined;
}

async function readMarketplaceReturn(run: ReturnRun): Promise<void> {
  const { state } = run;
  const fresh = await run.step('read the return at the marketplace', () =>
    run.acts.reads.readMarketplaceReturn({ channel: state.channel, returnId: state.marketplaceReturn!.id }),
  );
  if (fresh && fresh !== 'resolved' && fresh.sourceState !== state.marketplaceReturn!.state) {
    state.marketplaceReturn!.state = fresh.sourceState;
    if (fresh.origin === state.origin) state.source = fresh;
    run.note('read back', `marketplace return ${fresh.sourceState}`);
  }
}

/** Marketplace route: the marketplace's return, received (by the operator or the seller's warehouse), is refunded. */
async function marketplaceFlow(run: ReturnRun): Promise<void> {
  const { state } = run;
  const mr = state.marketplaceReturn;
  if (mr) {
    run.setStatus('AWAITING_GOODS', `marketplace return ${mr.state}`);
    while (!['RECEIVED', 'CLOSED', 'NO_RECEPTION'].includes(mr.state)) {
      if (mr.state === 'CANCELED') throw new ReturnCancelled('cancelled on the marketplace', true);
      if (!(await run.waitForNews(run.settings.pollMs))) await readMarketplaceReturn(run);
    }
    if (mr.state === 'NO_RECEPTION') {
      run.note('no reception', 'the customer never sent the goods: nothing refunded');
      await marketplaceAction(run, 'close');
      return;
    }
    run.setStatus('RECEIVED', `marketplace return ${mr.state}`);
  }
  state.accepted = state.lines.map((l) => ({ lineId: l.lineId, quantity: l.quantity }));
  await marketplaceAction(
    run,
    'compliance',
    state.lines.map((l) => ({ lineId: l.lineId, compliant: true })),
  );
  await refund(run, state.accepted);
  await marketplaceAction(run, 'close');
}

// ---- endings -------------------------------------------------------------------------------------------------

/** Refused or cancelled: refuse (RT21) or cancel (RT29) the marketplace return unless that is where it came from. */
async function cancelReturn(run: ReturnRun, why: ReturnCancelled): Promise<void> {
  const { state } = run;
  const mr = state.marketplaceReturn;
  let status: 'REFUSED' | 'CANCELLED' = 'CANCELLED';
  if (mr && !why.atSource && ['WAITING_ACCEPTANCE', 'IN_PROGRESS'].includes(mr.state)) {
    const refuse = mr.state === 'WAITING_ACCEPTANCE';
    const late = state.pastExceptions.some((e) => e.reason === 'RETURN_AFTER_WINDOW');
    const r = await run.step(
      refuse ? 'refuse the return at the marketplace' : 'cancel the return at the marketplace',
      () =>
        run.acts.marketplace.marketplaceReturnAction({
          channel: state.channel,
          orderId: state.orderId,
          returnId: mr.id,
          action: refuse ? 'refuse' : 'cancel',
          ...(refuse
            ? { rejectionReason: late ? 'RETURN_REJECTION_WINDOW_CLOSED' : 'RETURN_REJECTION_NOT_ELIGIBLE' }
            : {}),
        }),
      { cancelling: true },
    );
    mr.state = refuse ? 'REFUSED' : 'CANCELED';
    if (refuse) status = 'REFUSED';
    run.note(refuse ? 'refused at the marketplace' : 'cancelled at the marketplace', String(r));
  }
  run.setStatus(status, why.message);
}

/**
 * Reveni's figure against the marketplace's: beyond the tolerance, a REFUND_AMOUNT_DISPUTED exception for
 * finance records both (the customer was refunded the marketplace figure). Retry reads Reveni's figure again.
 */
async function checkDispute(run: ReturnRun): Promise<void> {
  const { state } = run;
  if (state.mode !== 'reveni' || !state.refund || !state.reveni) return;
  for (;;) {
    const theirs = state.reveni.refundMinor;
    const ours = state.refund.calculation.totalMinor;
    const d = refundDispute(ours, theirs, run.settings.disputeToleranceMinor);
    if (!d) {
      if (state.dispute) run.note('dispute cleared', 'the figures agree now');
      state.dispute = undefined;
      run.finishAction();
      return;
    }
    const currency = state.refund.calculation.currency;
    state.dispute = {
      platform: 'Reveni',
      theirsMinor: theirs!,
      oursMinor: ours,
      differenceMinor: d.difference,
      currency,
    };
    const a = await run.park(
      run.exception('REFUND_AMOUNT_DISPUTED', {
        platform: 'Reveni',
        theirs: money(theirs!, currency),
        ours: money(ours, currency),
        difference: money(Math.abs(d.difference), currency),
      }),
    );
    if (a.kind !== 'retry') {
      run.note('dispute handled', a.note ?? 'by finance');
      run.finishAction();
      return;
    }
    const fresh = await run.step('read the return from Reveni', () =>
      run.acts.reads.readReveniReturn({ channel: state.channel, reveniId: state.reveni!.id }),
    );
    if (fresh && fresh !== 'resolved') state.reveni = fresh;
  }
}
