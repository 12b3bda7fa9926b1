// Returns through Reveni (ASOS on Mirakl ↔ Reveni, seed 003), shared by bench/returns.ts (one process, the
// dev server) and bench/chaos.ts (the multi-process fleet under chaos):
//   - the Reveni return's Loopline workflow id, and the merchant's decision in Reveni (goods received, then
//     accepted or rejected, restocked) through its control API;
//   - when a return workflow has settled;
//   - the refunds Mirakl holds (OR28) against what each returned line should have been refunded: lost and
//     duplicate units, wrong amounts, judged from the simulator, never from Loopline's word;
//   - Mirakl's stock history (STO01) per channel, and the first push carrying a SKU after a restock decision;
//   - runReturnTraffic (the chaos bench): as orders of a planned share ship, returns are opened (customer returns
//     on Mirakl, sent to Reveni by Loopline, and Reveni-instant returns), decided in Reveni, awaited to settle
//     and judged from the simulators' state (Mirakl refunds and stock history, Reveni's return states).
import type { AxiosInstance } from 'axios';
import type { Client } from '@temporalio/client';
import { returnWorkflowId } from '../../src/domain/keys';
import { returnKeyOf } from '../../src/domain/returns';
import { returnStateQuery, type ReturnWorkflowState } from '../../workflows/returns/messages';
import type { SimReveniReturn } from '../../test/support/returns';
import { inParallel } from './in-parallel';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown) => {
  const e = err as { response?: { data?: { message?: string } }; message?: string };
  return e.response?.data?.message ?? e.message ?? String(err);
};

// ---- Reveni ----------------------------------------------------------------------------------------------

/** A return as the Reveni simulator's control API lists it. */
export type ReveniReturnView = SimReveniReturn & { created_at: string; updated_at: string };

/** Reveni's return states past which nothing changes (docs/sandbox/reveni.md). */
const REVENI_FINAL = new Set(['accepted', 'partly_accepted', 'rejected', 'cancelled']);

export async function reveniReturns(control: AxiosInstance, store: string): Promise<ReveniReturnView[]> {
  return ((await control.get(`/control/reveni/${store}/returns`)).data as { returns: ReveniReturnView[] }).returns;
}

/**
 * The Loopline return workflow a Reveni return belongs to: a marketplace return Loopline registered in Reveni
 * carries the Mirakl return id as its reference; one the customer started in Reveni is keyed by Reveni's id.
 */
export function reveniWorkflowId(channel: string, rv: Pick<ReveniReturnView, 'id' | 'external_reference'>): string {
  return rv.external_reference
    ? returnWorkflowId(channel, returnKeyOf('marketplace', rv.external_reference))
    : returnWorkflowId(channel, returnKeyOf('reveni', rv.id));
}

/**
 * The merchant's decision in Reveni: the goods arrive (received), then the first item is accepted (restocked)
 * or rejected. Safe to call again after a lost answer: a step already taken is skipped. Returns Reveni's
 * `updated_at` of the decision (the trigger of the refund).
 */
export async function decideReveniReturn(
  control: AxiosInstance,
  store: string,
  rv: Pick<ReveniReturnView, 'id' | 'status' | 'return_items'>,
  rejected: boolean,
): Promise<number> {
  const path = `/control/reveni/${store}/returns/${rv.id}`;
  let status = rv.status;
  if (status === 'in_progress' || status === 'shipped') {
    status = ((await control.post(`${path}/advance`, { to: 'received' })).data as ReveniReturnView).status;
  }
  if (REVENI_FINAL.has(status)) {
    return Date.parse(((await control.get(path)).data as ReveniReturnView).updated_at);
  }
  const { data } = await control.post(`${path}/decide`, {
    items: [
      {
        sku: rv.return_items[0]!.sku,
        accepted: !rejected,
        restock: true,
        ...(rejected ? { rejectReason: 'used' } : {}),
      },
    ],
  });
  return Date.parse((data as ReveniReturnView).updated_at);
}

// ---- the return workflows -----------------------------------------------------------------------------------

/** A return workflow that has nothing left to do. */
export function returnSettled(s: ReturnWorkflowState): boolean {
  return ['CLOSED', 'REFUSED', 'CANCELLED', 'RESOLVED'].includes(s.status);
}

/**
 * Reads the state of every return workflow in `ids` not known to have settled into `states`, and returns the
 * ids still open. A query that fails (the return not started yet, its source not read yet; the server away)
 * leaves the return open, to be read again next time.
 */
export async function refreshReturnStates(
  client: Client,
  ids: readonly string[],
  states: Map<string, ReturnWorkflowState>,
): Promise<string[]> {
  const open = (id: string) => !states.has(id) || !returnSettled(states.get(id)!);
  await inParallel(ids.filter(open), 16, async (id) => {
    try {
      states.set(id, await client.workflow.getHandle(id).query(returnStateQuery));
    } catch {
      // read again next time
    }
  });
  return ids.filter(open);
}

// ---- refunds on Mirakl (OR28) -------------------------------------------------------------------------------

export interface MiraklLineRefund {
  id: string;
  amount: number;
  quantity: number;
  created_date: string;
}

/** What one order line should hold in refunds once its returns have settled. */
export interface LineExpectation {
  channel: string;
  orderId: string;
  lineId: string;
  /** The line's total price and quantity as shipped (minor units). */
  linePrice: number;
  lineQuantity: number;
  /** Units the line's returns should have refunded (0 for rejected ones). */
  units: number;
}

export interface RefundJudgement {
  expectedUnits: number;
  refundedUnits: number;
  /** Units expected but not refunded, and refunded beyond what was expected. */
  lostUnits: number;
  duplicateUnits: number;
  /** Lines short of their refund, and lines refunded beyond it (one finding each). */
  lostLines: string[];
  duplicateLines: string[];
  wrongAmounts: number;
  wrongDetails: string[];
  /** The refunds Mirakl holds, per line (`channel:lineId`). */
  refunds: Map<string, MiraklLineRefund[]>;
}

/**
 * Each line's refunds as Mirakl holds them against what its returns should have refunded: a unit refunded at
 * the line's unit price, never more units than returned and accepted.
 */
export async function judgeLineRefunds(control: AxiosInstance, lines: LineExpectation[]): Promise<RefundJudgement> {
  const out: RefundJudgement = {
    expectedUnits: 0,
    refundedUnits: 0,
    lostUnits: 0,
    duplicateUnits: 0,
    lostLines: [],
    duplicateLines: [],
    wrongAmounts: 0,
    wrongDetails: [],
    refunds: new Map(),
  };
  await inParallel(lines, 20, async (e) => {
    const o = (await control.get(`/control/mirakl/${e.channel}/orders/${e.orderId}`)).data as {
      order_lines: Array<{ order_line_id: string; refunds: MiraklLineRefund[] }>;
    };
    const refunds = o.order_lines.find((l) => l.order_line_id === e.lineId)?.refunds ?? [];
    out.refunds.set(`${e.channel}:${e.lineId}`, refunds);
    const units = refunds.reduce((s, x) => s + x.quantity, 0);
    out.expectedUnits += e.units;
    out.refundedUnits += units;
    if (units < e.units) {
      out.lostUnits += e.units - units;
      out.lostLines.push(`${e.orderId} line ${e.lineId}: ${units} of ${e.units} unit(s) refunded`);
    } else if (units > e.units) {
      out.duplicateUnits += units - e.units;
      out.duplicateLines.push(`${e.orderId} line ${e.lineId}: ${units} unit(s) refunded for ${e.units} returned`);
    }
    const unit = e.linePrice / e.lineQuantity;
    for (const x of refunds)
      if (Math.round(x.amount * 100) !== Math.round(unit * x.quantity)) {
        out.wrongAmounts++;
        out.wrongDetails.push(`${e.orderId}: ${x.amount} for ${x.quantity} (unit ${unit / 100})`);
      }
  });
  return out;
}

// ---- stock on Mirakl (STO01) --------------------------------------------------------------------------------

export interface StockHistoryEntry {
  at: string;
  offerSku: string;
  quantity?: number;
  source: string;
  importId?: string;
}

/** Mirakl's stock history of each channel (what every import and OF24 applied, in order). */
export async function stockHistories(
  control: AxiosInstance,
  channels: readonly string[],
): Promise<Map<string, StockHistoryEntry[]>> {
  const out = new Map<string, StockHistoryEntry[]>();
  for (const ch of channels)
    out.set(
      ch,
      ((await control.get(`/control/mirakl/${ch}/stock-history`)).data as { history: StockHistoryEntry[] }).history,
    );
  return out;
}

/** The first STO01 on `history` carrying `sku` at or after `from` (imports in `skip` left out). */
export function firstStockPush(
  history: readonly StockHistoryEntry[] | undefined,
  sku: string,
  from: number,
  skip?: ReadonlySet<string>,
): StockHistoryEntry | undefined {
  return history?.find(
    (h) => h.source === 'STO01' && h.offerSku === sku && Date.parse(h.at) >= from && !skip?.has(h.importId ?? ''),
  );
}

// ---- returns under traffic (the chaos bench) ----------------------------------------------------------------

/** An order of the traffic that gets a return once it has shipped. */
export interface ReturnCandidate {
  channel: string;
  orderId: string;
}

export type ReturnKind = 'mirakl' | 'instant';

interface TrafficReturn {
  kind: ReturnKind;
  order: ReturnCandidate;
  rejected: boolean;
  /** Set once the return is opened. */
  workflowId?: string;
  line?: { lineId: string; offerSku: string; price: number; quantity: number };
  reveniId?: string;
  decided?: boolean;
}

export interface ReturnTrafficOptions {
  control: AxiosInstance;
  client: Client;
  /** The channel whose returns go through Reveni, and its Reveni store. */
  channel: string;
  store: string;
  /** The orders that get a return once SHIPPED on Mirakl (all of them on `channel`). */
  candidates: ReturnCandidate[];
  /** The Mirakl channels, whose stock history (STO01) judges the restocks; others' restocks are counted apart. */
  miraklChannels: readonly string[];
  /** Give up opening, deciding and waiting after this long (from the start), and judge what is there. */
  deadlineMs: number;
  /** How often Mirakl is read for shipped candidates and Reveni for returns to decide (default 5 s / 2 s). */
  shippedPollMs?: number;
  reveniPollMs?: number;
  log?: (line: string) => void;
}

export interface ReturnTrafficReport {
  returns: number;
  byKind: Record<ReturnKind, number>;
  /** Candidates that never shipped (no return opened: judged by the order route). */
  notOpened: number;
  rejectedInReveni: number;
  settled: number;
  /** Returns not settled, or whose refund Mirakl does not hold (distinct returns). */
  lost: string[];
  refunds: {
    expectedUnits: number;
    refundedUnits: number;
    lostUnits: number;
    duplicateUnits: number;
    refunds: number;
  };
  duplicateRefunds: string[];
  wrongRefundAmounts: number;
  wrongRefundDetails: string[];
  /**
   * Reveni's own record: returns by status, and those not in the state the merchant's decision set (or never
   * registered there, or registered twice).
   */
  reveniStates: Record<string, number>;
  reveniNotFinal: string[];
  /** Restock decisions per channel pushed to: on a Mirakl channel carried by a later STO01 or not; elsewhere not judged. */
  restocks: { decisions: number; carried: number; notCarried: string[]; onOtherChannels: number };
  notSettled: string[];
  harnessErrors: string[];
  timedOut: boolean;
}

/**
 * Opens a return for each candidate as soon as Mirakl shows it SHIPPED: four in five a customer return on
 * Mirakl (one unit of the first line; Loopline reads it with RT11 and registers it in Reveni), one in five a
 * return the customer starts in Reveni's portal, instant. Every Reveni return is then decided there (one
 * return in ten, a Mirakl one, rejected), awaited until its workflow has settled, and judged from the simulators.
 */
export async function runReturnTraffic(opts: ReturnTrafficOptions): Promise<ReturnTrafficReport> {
  const { control, client, channel, store } = opts;
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const deadline = started + opts.deadlineMs;
  const harnessErrors: string[] = [];
  const note = (what: string, err: unknown) => {
    if (harnessErrors.length < 200) harnessErrors.push(`${what}: ${errText(err)}`);
  };
  const planned: TrafficReturn[] = opts.candidates.map((order, i) => ({
    kind: i % 5 === 4 ? 'instant' : 'mirakl',
    order,
    rejected: i % 5 !== 4 && i % 10 === 8,
  }));
  const byOrder = new Map(planned.map((r) => [r.order.orderId, r]));
  const byWorkflow = new Map<string, TrafficReturn>();
  const states = new Map<string, ReturnWorkflowState>();
  let lastReport = 0;
  let timedOut = false;

  const open = async (r: TrafficReturn, o: ShippedView) => {
    const l = o.order_lines[0]!;
    r.line = { lineId: l.order_line_id, offerSku: l.offer_sku, price: Math.round(l.price * 100), quantity: l.quantity };
    if (r.kind === 'mirakl') {
      const { data } = await control.post(`/control/mirakl/${channel}/returns`, {
        orderId: o.order_id,
        lines: [{ lineId: l.order_line_id, quantity: 1, reason: 'RETURN_CHANGED_MIND' }],
      });
      r.workflowId = returnWorkflowId(channel, returnKeyOf('marketplace', (data as { id: string }).id));
    } else {
      const { data } = await control.post(`/control/reveni/${store}/returns`, {
        orderExternalId: o.order_id,
        mode: 'instant',
        items: [{ sku: l.offer_sku, quantity: 1, reason: 'changed_mind' }],
      });
      r.reveniId = (data as ReveniReturnView).id;
      r.workflowId = returnWorkflowId(channel, returnKeyOf('reveni', r.reveniId));
    }
    byWorkflow.set(r.workflowId, r);
  };

  for (;;) {
    // 1. Returns for the candidates Mirakl now shows SHIPPED.
    const toOpen = planned.filter((r) => !r.workflowId);
    if (toOpen.length > 0) {
      try {
        const shipped = (
          (await control.get(`/control/mirakl/${channel}/orders`, { params: { state: 'SHIPPED' } })).data as {
            orders: ShippedView[];
          }
        ).orders;
        const ready = shipped.flatMap((o) => {
          const r = byOrder.get(o.order_id);
          return r && !r.workflowId ? [{ r, o }] : [];
        });
        await inParallel(ready, 4, async ({ r, o }) => {
          try {
            await open(r, o);
          } catch (err) {
            note(`opening the return of ${o.order_id}`, err);
          }
        });
      } catch (err) {
        note(`reading shipped ${channel} orders`, err);
      }
    }
    // 2. The merchant's decision in Reveni, for every return of ours it holds.
    try {
      for (const rv of await reveniReturns(control, store)) {
        const r = byWorkflow.get(reveniWorkflowId(channel, rv));
        if (!r || r.decided) continue;
        r.reveniId = rv.id;
        try {
          await decideReveniReturn(control, store, rv, r.rejected);
          r.decided = true;
        } catch (err) {
          note(`deciding Reveni return ${rv.id}`, err);
        }
      }
    } catch (err) {
      note('reading Reveni returns', err);
    }
    // 3. Which have settled.
    await refreshReturnStates(client, [...byWorkflow.keys()], states);
    const opened = byWorkflow.size;
    const settled = [...states.values()].filter(returnSettled).length;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      log(
        `${((Date.now() - started) / 1000).toFixed(0)} s: ${opened} of ${planned.length} returns opened, ${planned.filter((r) => r.decided).length} decided in Reveni, ${settled} settled`,
      );
    }
    if (opened === planned.length && settled === planned.length) break;
    if (Date.now() > deadline) {
      timedOut = true;
      log(`deadline passed with ${planned.length - settled} of ${planned.length} returns not settled`);
      break;
    }
    await sleep(toOpen.length > 0 ? (opts.shippedPollMs ?? 5_000) : (opts.reveniPollMs ?? 2_000));
  }
  return judgeReturnTraffic(opts, planned, states, { harnessErrors, timedOut });
}

interface ShippedView {
  order_id: string;
  order_lines: Array<{ order_line_id: string; offer_sku: string; quantity: number; price: number }>;
}

async function judgeReturnTraffic(
  opts: ReturnTrafficOptions,
  planned: TrafficReturn[],
  states: Map<string, ReturnWorkflowState>,
  run: { harnessErrors: string[]; timedOut: boolean },
): Promise<ReturnTrafficReport> {
  const { control, channel, store } = opts;
  const opened = planned.filter((r) => r.workflowId && r.line);
  const unitsOf = (r: TrafficReturn) => (r.rejected ? 0 : 1);
  const refunds = await judgeLineRefunds(
    control,
    opened.map((r) => ({
      channel,
      orderId: r.order.orderId,
      lineId: r.line!.lineId,
      linePrice: r.line!.price,
      lineQuantity: r.line!.quantity,
      units: unitsOf(r),
    })),
  );
  const notSettled = opened.filter((r) => !states.has(r.workflowId!) || !returnSettled(states.get(r.workflowId!)!));
  const lost = new Set<string>();
  for (const r of notSettled) {
    const st = states.get(r.workflowId!);
    lost.add(
      `${r.workflowId}: not settled (${st?.status ?? 'not started'}${st?.exception ? `, ${st.exception.reason}` : ''})`,
    );
  }
  for (const r of opened) {
    const got = (refunds.refunds.get(`${channel}:${r.line!.lineId}`) ?? []).reduce((s, x) => s + x.quantity, 0);
    if (got < unitsOf(r)) lost.add(`${r.workflowId}: ${got} of ${unitsOf(r)} unit(s) refunded on Mirakl`);
  }
  // Reveni's record: each return in the state the merchant's decision set.
  const reveniStates: Record<string, number> = {};
  const reveniNotFinal: string[] = [];
  const ours = new Map(opened.map((r) => [r.workflowId!, r]));
  const seen = new Set<string>();
  for (const rv of await reveniReturns(control, store)) {
    const r = ours.get(reveniWorkflowId(channel, rv));
    if (!r) continue;
    if (seen.has(r.workflowId!)) {
      reveniNotFinal.push(`${r.workflowId}: registered in Reveni more than once (also ${rv.id}, ${rv.status})`);
      continue;
    }
    seen.add(r.workflowId!);
    reveniStates[rv.status] = (reveniStates[rv.status] ?? 0) + 1;
    const want = r.rejected ? 'rejected' : 'accepted';
    if (rv.status !== want) reveniNotFinal.push(`${r.workflowId}: ${rv.status} in Reveni, ${want} expected`);
  }
  for (const r of opened)
    if (!seen.has(r.workflowId!)) reveniNotFinal.push(`${r.workflowId}: never registered in Reveni`);
  // Restocks: each decision the return took, carried by a later STO01 on every channel it names.
  const decisions = opened.flatMap((r) =>
    (states.get(r.workflowId!)?.restocks ?? []).flatMap((x) => x.channels.map((ch) => ({ ...x, channel: ch, r }))),
  );
  const onMirakl = decisions.filter((d) => opts.miraklChannels.includes(d.channel));
  let notCarried: string[];
  try {
    const histories = await stockHistories(control, [...new Set(onMirakl.map((d) => d.channel))]);
    notCarried = onMirakl
      .filter((d) => !firstStockPush(histories.get(d.channel), d.itemCode, d.decidedAt))
      .map((d) => `${d.r.workflowId}: ${d.itemCode} on ${d.channel} not pushed after the restock`);
  } catch (err) {
    run.harnessErrors.push(`reading Mirakl stock histories: ${errText(err)}`);
    notCarried = onMirakl.map((d) => `${d.r.workflowId}: ${d.itemCode} on ${d.channel} not judged (no stock history)`);
  }
  const byKind: Record<ReturnKind, number> = { mirakl: 0, instant: 0 };
  for (const r of opened) byKind[r.kind] += 1;
  return {
    returns: opened.length,
    byKind,
    notOpened: planned.length - opened.length,
    rejectedInReveni: opened.filter((r) => r.rejected).length,
    settled: opened.length - notSettled.length,
    lost: [...lost],
    refunds: {
      expectedUnits: refunds.expectedUnits,
      refundedUnits: refunds.refundedUnits,
      lostUnits: refunds.lostUnits,
      duplicateUnits: refunds.duplicateUnits,
      refunds: [...refunds.refunds.values()].reduce((n, xs) => n + xs.length, 0),
    },
    duplicateRefunds: refunds.duplicateLines,
    wrongRefundAmounts: refunds.wrongAmounts,
    wrongRefundDetails: refunds.wrongDetails,
    reveniStates,
    reveniNotFinal,
    restocks: {
      decisions: onMirakl.length,
      carried: onMirakl.length - notCarried.length,
      notCarried,
      onOtherChannels: decisions.length - onMirakl.length,
    },
    notSettled: notSettled.map((r) => r.workflowId!),
    ...run,
  };
}
