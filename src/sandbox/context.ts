// What every simulator shares: the call log, per-system fault injectors, documented rate limits and a
// time scale (benchmarks shrink minutes to seconds; the factor is recorded in their JSON).
import type { Logger } from 'pino';
import { CallLog } from './core/call-log';
import { FaultInjector } from './core/faults';
import { RateLimits } from './core/rate-limit';

export interface SandboxContext {
  log: Logger;
  calls: CallLog;
  faults(system: string): FaultInjector;
  rateLimits: RateLimits;
  /** 1 = real time; 60 = one real second stands for one minute of API limits and deadlines. */
  timeScale: number;
  /** When false, the documented call-frequency limits are not enforced (for exploratory use only). */
  enforceRateLimits: boolean;
}

export function createSandboxContext(
  log: Logger,
  opts: { timeScale?: number; seed?: number; enforceRateLimits?: boolean } = {},
): SandboxContext {
  const injectors = new Map<string, FaultInjector>();
  const timeScale = opts.timeScale ?? 1;
  return {
    log,
    calls: new CallLog(),
    faults(system: string) {
      let f = injectors.get(system);
      if (!f) {
        f = new FaultInjector(opts.seed ?? 42);
        injectors.set(system, f);
      }
      return f;
    },
    rateLimits: new RateLimits(timeScale),
    timeScale,
    enforceRateLimits: opts.enforceRateLimits ?? true,
  };
}
