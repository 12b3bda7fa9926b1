// Every simulated API call, in order: what e2e tests and benchmarks assert on from the outside.
export interface CallRecord {
  seq: number;
  at: number;
  system: string;
  /** Operation name in the vendor's terms: OR11, ST01, SaveData, orderCreate … */
  endpoint: string;
  /** Tenant within the system (Mirakl channel, Peoplevox client id). */
  tenant?: string;
  /** What the operation worked on, where it names it: a Peoplevox template or report ('Despatch summary'). */
  template?: string;
  status: number;
  fault?: string;
  /** Rejected by the simulator's documented rate limit (not an injected fault). */
  rateLimited?: boolean;
  /** A call of a rate-limited operation that does not count towards the limit (OR11 past page one, by ids). */
  exempt?: boolean;
  /** Points the call asked of a cost bucket (Shopify's requested query cost); charged unless `rateLimited`. */
  cost?: number;
  /** Points left in the bucket just after the call was admitted or refused (Shopify's currentlyAvailable). */
  bucketLeft?: number;
}

export class CallLog {
  private records: CallRecord[] = [];
  private seq = 0;
  constructor(private readonly max = 200_000) {}

  add(rec: Omit<CallRecord, 'seq' | 'at'> & { at?: number }): CallRecord {
    const full: CallRecord = { seq: ++this.seq, at: rec.at ?? Date.now(), ...rec };
    this.records.push(full);
    if (this.records.length > this.max) this.records.splice(0, this.records.length - this.max);
    return full;
  }

  list(filter: { system?: string; endpoint?: string; tenant?: string; sinceSeq?: number } = {}): CallRecord[] {
    return this.records.filter(
      (r) =>
        (filter.system === undefined || r.system === filter.system) &&
        (filter.endpoint === undefined || r.endpoint === filter.endpoint) &&
        (filter.tenant === undefined || r.tenant === filter.tenant) &&
        (filter.sinceSeq === undefined || r.seq > filter.sinceSeq),
    );
  }

  clear(): void {
    this.records = [];
  }

  /**
   * Highest sum of points charged (`cost` of the calls admitted) inside any sliding window of `windowMs`: against a
   * cost bucket, the points that window took from it.
   */
  static maxCostInWindow(records: readonly CallRecord[], windowMs: number): number {
    const charged = records
      .filter((r) => !r.rateLimited && (r.cost ?? 0) > 0)
      .map((r) => ({ at: r.at, cost: r.cost! }))
      .sort((a, b) => a.at - b.at);
    let max = 0;
    let sum = 0;
    let start = 0;
    for (let end = 0; end < charged.length; end++) {
      sum += charged[end]!.cost;
      while (charged[end]!.at - charged[start]!.at >= windowMs) sum -= charged[start++]!.cost;
      max = Math.max(max, sum);
    }
    return max;
  }

  /** Highest number of calls inside any sliding window of `windowMs` (for "never above the limit"). */
  static maxInWindow(records: readonly CallRecord[], windowMs: number): number {
    let max = 0;
    let start = 0;
    const times = records.map((r) => r.at).sort((a, b) => a - b);
    for (let end = 0; end < times.length; end++) {
      while (times[end]! - times[start]! >= windowMs) start++;
      max = Math.max(max, end - start + 1);
    }
    return max;
  }
}
