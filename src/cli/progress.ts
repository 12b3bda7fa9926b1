// Following a long-running workflow from the CLI: a progress bar on the progress stream (stderr) fed by the
// workflow's progress query until its result arrives. Without a terminal cli-progress only redraws on a
// timer, so every change of phase is also written as a line of its own.
import { SingleBar } from 'cli-progress';

/** What one read of the workflow's progress shows: a label, and page-level counts while an activity runs. */
export interface ProgressView {
  label: string;
  activity?: { done: number; total?: number };
}

export async function followWithProgress<R>(opts: {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Bar title: `catalogue audit`, `reconciliation`. */
  title: string;
  result: Promise<R>;
  read(): Promise<ProgressView>;
  /** A label's phase (its numbers masked): a line is written when it changes. */
  phaseOf(label: string): string;
  /** The bar's final figures from the result. */
  final(result: R): { total: number; label: string };
  pollMs: number;
}): Promise<R> {
  const bar = new SingleBar({
    stream: opts.stream,
    format: `${opts.title} [{bar}] {value}/{total} {label}`,
    noTTYOutput: true,
    notTTYSchedule: 1000,
    hideCursor: false,
    clearOnComplete: false,
  });
  bar.start(1, 0, { label: 'starting' });
  let finished = false;
  const done = opts.result.finally(() => {
    finished = true;
  });
  let lastLine = '';
  try {
    while (!finished) {
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, opts.pollMs))]);
      if (finished) break;
      try {
        const { label, activity: a } = await opts.read();
        if (a) {
          bar.setTotal(Math.max(a.total ?? a.done, a.done, 1));
          bar.update(a.done, { label });
        } else bar.update({ label });
        if (!opts.stream.isTTY && opts.phaseOf(label) !== opts.phaseOf(lastLine)) opts.stream.write(`${label}\n`);
        lastLine = label;
      } catch {
        // The workflow may not have run its first task yet; the next poll will see it.
      }
    }
    const result = await done;
    const end = opts.final(result);
    bar.setTotal(Math.max(end.total, 1));
    bar.update(Math.max(end.total, 1), { label: end.label });
    return result;
  } finally {
    bar.stop();
  }
}
