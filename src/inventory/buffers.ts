// Available-to-sell per channel: the master's available minus a buffer, never below 0.
// Pure and deterministic (used inside the inventory workflow): no I/O, no clocks, time is passed in.
import type { StockBuffer } from '../config/schema';

/** What a channel shows for one SKU, before the velocity buffer. */
export function applyBuffer(available: number, buffer: StockBuffer): number {
  const a = Math.max(0, Math.trunc(available));
  switch (buffer.kind) {
    case 'units':
      return Math.max(0, a - buffer.units);
    case 'percent':
      // Hold back at least the percentage, rounded up: 10% of 5 holds back 1, not 0.
      return Math.max(0, a - Math.ceil((a * buffer.percent) / 100));
    case 'zeroBelow':
      // "Show 0 below N": the last few units are kept for other channels (or for the shop floor).
      return a < buffer.threshold ? 0 : a;
  }
}

/**
 * Sales velocity per SKU: an exponentially decaying rate of units sold (the master's decreases).
 * rate(t) = Σ units_i · e^(−(t − t_i)/τ) / τ, kept as one number and a timestamp per SKU.
 */
export interface Velocity {
  /** Units per millisecond at `at`. */
  rate: number;
  at: number;
}

export function decayConstantMs(halfLifeSeconds: number): number {
  return (halfLifeSeconds * 1000) / Math.LN2;
}

export function velocityAt(v: Velocity | undefined, now: number, tauMs: number): number {
  if (!v) return 0;
  const dt = Math.max(0, now - v.at);
  return v.rate * Math.exp(-dt / tauMs);
}

export function recordSale(v: Velocity | undefined, units: number, at: number, tauMs: number): Velocity {
  const rate = velocityAt(v, at, tauMs) + Math.max(0, units) / tauMs;
  return { rate, at: Math.max(at, v?.at ?? at) };
}

/**
 * The adaptive buffer: the units this SKU is likely to sell before a push can reflect them. Sales in a
 * window of `horizonMs` are taken as Poisson with mean rate × horizon, and the buffer is the smallest k
 * with P(sales ≤ k) ≥ confidence (so a SKU expected to sell 0.5 units is held back 1 at 80 %, one
 * expected to sell 0.1 is not), capped at maxUnits. Mirakl takes one stock push a minute and orders reach
 * the warehouse a poll later, so the horizon is about two minutes — no competitor does this.
 */
export function velocityBufferUnits(
  rateUnitsPerMs: number,
  horizonMs: number,
  maxUnits: number,
  confidence = 0.8,
): number {
  const mean = rateUnitsPerMs * Math.max(0, horizonMs);
  if (!(mean > 0) || maxUnits <= 0) return 0;
  let term = Math.exp(-mean);
  let cdf = term;
  let k = 0;
  while (cdf < confidence && k < maxUnits) {
    k++;
    term *= mean / k;
    cdf += term;
  }
  return k;
}

export interface AtsInput {
  available: number;
  buffer: StockBuffer;
  /** Units to hold back for sales velocity (0 when the adaptive buffer is off). */
  velocityUnits?: number;
}

/** Available-to-sell: master − buffer − velocity buffer, floored at 0. */
export function availableToSell(i: AtsInput): number {
  return Math.max(0, applyBuffer(i.available, i.buffer) - Math.max(0, Math.trunc(i.velocityUnits ?? 0)));
}

/**
 * The last units of a SKU whose stock several channels share go to one channel: below the threshold, only
 * this channel shows them and the others show 0, so two marketplaces never sell the same last unit between
 * two pushes (each takes one STO01 a minute; orders reach the master a poll later). The channel is chosen by
 * the item code, so each channel gets the last units of about 1/n of the catalogue, and every channel's
 * inventory workflow picks the same one without talking to the others.
 */
export function lastUnitsChannel(itemCode: string, channels: readonly string[]): string | undefined {
  if (channels.length === 0) return undefined;
  // FNV-1a (32-bit): stable across processes and releases, unlike any runtime hash.
  let h = 0x811c9dc5;
  for (let i = 0; i < itemCode.length; i++) {
    h ^= itemCode.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return channels[h % channels.length];
}

export interface LastUnitsRule {
  /** Below this many units available (after reservations), only one channel shows the SKU. 0: off. */
  below: number;
  /**
   * Below this many units available (after reservations), the units are split between the channels instead:
   * each shows its share, and together they never show more than there are. Absent or 0: off.
   */
  splitBelow?: number;
  /**
   * The rule judges what the channels would show (after the buffers and the velocity buffer), not the units
   * there are: see shownWithLastUnits. Set by the settings of this release on; absent in histories recorded
   * before it, whose runs replay with the rule as it was (on the units there are).
   */
  afterBuffers?: boolean;
  /**
   * With afterBuffers: the velocity buffer's horizon the rule judges with, the same on every channel sharing the
   * master (the slowest one's: its push interval plus its intake poll), so that the channels agree on which SKUs
   * are down to their last units. Judged with each channel's own horizon, a channel that pushes every second
   * (Marketplacer) kept showing a SKU the others had left to one channel, which that one's next push, up to a
   * minute away, could not cover.
   */
  horizonMs?: number;
  /** With afterBuffers: the confidence of the velocity buffer the rule judges with (the channel's own when absent). */
  confidence?: number;
  /**
   * With afterBuffers: a SKU at rest (the velocity buffer the rule judges with is 0: no sale likely before the
   * slowest channel can reflect one) is shown on every channel, however few its units. Absent: at rest or not,
   * below the threshold one channel (the rule before, and the default).
   */
  atRest?: 'everyChannel';
  /** This channel. */
  channel: string;
  /** Every channel that shares this master and syncs stock, in config order (this one included). */
  channels: string[];
}

/** Whether this channel must show 0 because the SKU's last units belong to another channel. */
export function lastUnitsElsewhere(rule: LastUnitsRule | undefined, itemCode: string, available: number): boolean {
  if (!rule || rule.below <= 0 || rule.channels.length < 2 || available >= rule.below) return false;
  return lastUnitsChannel(itemCode, rule.channels) !== rule.channel;
}

/** Whether the SKU's units are split between the channels at this level (the rule's `splitBelow`). */
export function lastUnitsSplit(rule: LastUnitsRule | undefined, available: number): rule is LastUnitsRule {
  return !!rule && (rule.splitBelow ?? 0) > 0 && rule.channels.length >= 2 && available < rule.splitBelow!;
}

/**
 * This channel's share of `units` split between the rule's channels: ranked in config order starting from the
 * SKU's last-units channel (lastUnitsChannel), each gets units / n and the first units mod n one more. The
 * shares add up to `units`, and every channel's workflow computes the same split without talking to the others.
 */
export function channelShare(rule: LastUnitsRule, itemCode: string, units: number): number {
  const n = rule.channels.length;
  const me = rule.channels.indexOf(rule.channel);
  if (n < 2 || me < 0) return units;
  const first = rule.channels.indexOf(lastUnitsChannel(itemCode, rule.channels)!);
  const rank = (me - first + n) % n;
  const whole = Math.max(0, Math.trunc(units));
  return Math.floor(whole / n) + (rank < whole % n ? 1 : 0);
}

/**
 * What this channel shows of a SKU under the last-unit rule judged after the buffers (rule.afterBuffers):
 * `shared` is what every channel would show (the units after the buffer and the velocity buffer). When the units
 * after the buffer, less the velocity buffer over the rule's common horizon, are below the rule's threshold,
 * those are the SKU's last units, and only the SKU's channel (lastUnitsChannel) shows the SKU while the others
 * show 0. That channel shows all of its units after the buffer: the velocity buffer there would hide them from
 * every customer (in the flash-sale benchmark, keeping it sold fewer units for little less overselling), and
 * what it covered is then only that channel's own orders placed between its intake poll and the push.
 * Judged on the units there are instead (the rule before), a SKU with 3 units and a velocity buffer of 2 showed
 * 1 on every channel: a last unit three marketplaces could sell at once, and 2 units no channel showed at all.
 */
export function shownWithLastUnits(
  rule: LastUnitsRule,
  itemCode: string,
  available: number,
  buffer: StockBuffer,
  velocityUnits: number,
  /** The velocity buffer over the rule's common horizon (rule.horizonMs); the channel's own when absent. */
  ruleVelocityUnits = velocityUnits,
): number {
  const shared = availableToSell({ available, buffer, velocityUnits });
  if (rule.below <= 0 || rule.channels.length < 2) return shared;
  if (availableToSell({ available, buffer, velocityUnits: ruleVelocityUnits }) >= rule.below) return shared;
  // At rest, two channels can only both sell its last unit with two sales inside one horizon (at a confidence of
  // 0.99, under 1 in 10,000): hiding it from all but one channel would cost more sales than it saves.
  if (rule.atRest === 'everyChannel' && ruleVelocityUnits <= 0) return shared;
  return lastUnitsChannel(itemCode, rule.channels) === rule.channel
    ? availableToSell({ available, buffer, velocityUnits: 0 })
    : 0;
}
