// Fault injection shared by every simulator: the failures real APIs show in production, on demand.
//   error5xx      – 503 before anything happens (the write does NOT take place)
//   rateLimit429  – 429 with Retry-After before anything happens
//   timeout       – the request hangs for `delayMs` (default 30 s) and then gets a 504; nothing is written
//   lostResponse  – the write DOES take place, then the connection is dropped without a reply
// Rules target an endpoint name (e.g. 'OR21', 'SaveData', '*') and fire on the next `count` calls or with
// a probability. The random source is seeded so a run can be repeated.
import type { FastifyReply } from 'fastify';

export type FaultKind = 'error5xx' | 'rateLimit429' | 'timeout' | 'lostResponse';
export const FAULT_KINDS: readonly FaultKind[] = ['error5xx', 'rateLimit429', 'timeout', 'lostResponse'];

export interface FaultRule {
  endpoint: string;
  /** Only calls for this tenant (a Mirakl channel, a Peoplevox client id); every tenant when absent. */
  tenant?: string;
  kind: FaultKind;
  /** Fire on each matching call with this probability (0–1). */
  probability?: number;
  /** Or fire on the next N matching calls. */
  count?: number;
  retryAfterSeconds?: number;
  delayMs?: number;
}

/** mulberry32: tiny, seedable, good enough for choosing faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A request a `timeout` fault is holding right now: who is waiting (the client's TCP port) and since when. */
export interface HeldRequest {
  endpoint: string;
  tenant?: string;
  since: number;
  /** The client side's port of the connection, to find the process waiting on it (bench/lib/processes.ts). */
  remotePort?: number;
}

export class FaultInjector {
  private rules: FaultRule[] = [];
  private random: () => number;
  readonly fired: Record<string, number> = {};
  /** Requests held by a `timeout` fault at this moment. */
  readonly holding = new Set<HeldRequest>();

  constructor(seed = 42) {
    this.random = seededRandom(seed);
  }

  add(rule: FaultRule): void {
    this.rules.push({ ...rule });
  }

  set(rules: FaultRule[], seed?: number): void {
    this.rules = rules.map((r) => ({ ...r }));
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** Decides whether this call gets a fault, consuming a counted rule if so. */
  decide(endpoint: string, tenant?: string): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.endpoint !== '*' && rule.endpoint !== endpoint) continue;
      if (rule.tenant !== undefined && rule.tenant !== tenant) continue;
      if (rule.count !== undefined) {
        if (rule.count <= 0) continue;
        rule.count -= 1;
        this.note(rule.kind);
        return rule;
      }
      if (rule.probability !== undefined && this.random() < rule.probability) {
        this.note(rule.kind);
        return rule;
      }
    }
    return undefined;
  }

  private note(kind: FaultKind) {
    this.fired[kind] = (this.fired[kind] ?? 0) + 1;
  }
}

/**
 * Runs `perform` under a fault decision. `perform` does the write and returns what to send; the reply is
 * sent here. Returns the fault kind that fired (for the call log), if any.
 */
export async function withFault<T>(
  faults: FaultInjector,
  endpoint: string,
  reply: FastifyReply,
  perform: () =>
    | Promise<{ status: number; body?: T; headers?: Record<string, string> }>
    | { status: number; body?: T; headers?: Record<string, string> },
  tenant?: string,
): Promise<FaultKind | undefined> {
  const fault = faults.decide(endpoint, tenant);
  if (fault?.kind === 'error5xx') {
    await reply
      .code(503)
      .header('content-type', 'application/json')
      .send({ message: 'Service Unavailable (injected)' });
    return fault.kind;
  }
  if (fault?.kind === 'rateLimit429') {
    await reply
      .code(429)
      .header('Retry-After', String(fault.retryAfterSeconds ?? 1))
      .send({ message: 'Too Many Requests (injected)' });
    return fault.kind;
  }
  if (fault?.kind === 'timeout') {
    const held: HeldRequest = { endpoint, tenant, since: Date.now(), remotePort: reply.request.socket?.remotePort };
    faults.holding.add(held);
    try {
      await new Promise((r) => setTimeout(r, fault.delayMs ?? 30_000));
    } finally {
      faults.holding.delete(held);
    }
    if (!reply.raw.destroyed) await reply.code(504).send({ message: 'Gateway Timeout (injected)' });
    return fault.kind;
  }
  const result = await perform();
  if (fault?.kind === 'lostResponse') {
    // The write happened; the client never hears about it.
    reply.raw.socket?.destroy();
    reply.hijack();
    return fault.kind;
  }
  for (const [k, v] of Object.entries(result.headers ?? {})) reply.header(k, v);
  reply.code(result.status);
  await reply.send(result.body ?? '');
  return undefined;
}
