// What the intake poll handed over lately, so an order read again unchanged is not signalled again. The poll reads
// every order updated since its last watermark minus the overlap (and Mirakl moves start_update_date back a few
// seconds more), so an order that changed once is read by several polls in a row; each read used to be a
// signal-with-start, i.e. a signal event and a workflow task of its order that carry nothing new (bench:orders
// counted 9.6 orderUpdated signals an order at time scale 60, against 2 the order needs). An entry lives for about
// as long as such re-reads last (the overlap, the delta, two poll windows): a read after that, or of an order whose
// content changed, is handed over as before, so an order whose run failed is still started again by its next
// change or by a push (handOverOrdersById, which never asks this cache); and a re-read is skipped only while the
// order's run is going (activities/intake.ts), so a run that ended without completing is started again. An order
// whose hand-over found it over for good (its run completed, which never starts again; or an order already over
// that never had one) is skipped on re-reads whatever they carry, without asking the server: in bench:orders'
// steady state each poll read about 70 such orders again, each a describe and a refused signal-with-start. Per
// worker process; bounded.
import { createHash } from 'node:crypto';

export class RecentHandOvers {
  private readonly entries = new Map<string, { digest: string; until: number; over?: boolean }>();

  constructor(private readonly maxEntries = 50_000) {}

  /** A digest of what is handed over: the order as mapped (state, lines, dates, everything the workflow gets). */
  static digest(order: unknown): string {
    return createHash('sha256').update(JSON.stringify(order)).digest('base64');
  }

  /** Whether this exact content was handed over for this workflow and the entry has not expired. */
  unchanged(workflowId: string, digest: string, now: number): boolean {
    const e = this.entries.get(workflowId);
    return e !== undefined && e.until > now && e.digest === digest;
  }

  /**
   * Whether a hand-over of this workflow's order found it over for good (`remember` with `over`) and the entry has
   * not expired: any re-read, changed or not, would find the same.
   */
  over(workflowId: string, now: number): boolean {
    const e = this.entries.get(workflowId);
    return e !== undefined && e.until > now && e.over === true;
  }

  /**
   * Records a hand-over that succeeded (never one that failed: its retry must hand it over). `over`: it found the
   * order over for good (its run completed, or it was already over and never had one).
   */
  remember(workflowId: string, digest: string, until: number, now: number, over = false): void {
    this.entries.delete(workflowId);
    this.entries.set(workflowId, over ? { digest, until, over } : { digest, until });
    // Oldest first (insertion order): drop the expired, and the oldest past the bound.
    for (const [id, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && e.until > now) break;
      this.entries.delete(id);
    }
  }

  /** Forgets a hand-over whose follow-up did not get through (its stock changes): the next read is handed over. */
  forget(workflowId: string): void {
    this.entries.delete(workflowId);
  }

  get size(): number {
    return this.entries.size;
  }
}
