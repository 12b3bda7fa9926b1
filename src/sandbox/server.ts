// The sandbox: one HTTP server that plays every external system on its real wire format, under the
// same paths a real tenant uses (so a connector only changes its base URL), plus a control API.
//   /mirakl/<channel>/api/...                           Mirakl seller API, one instance per channel
//   /peoplevox/<clientId>/resources/integrationservicev4.asmx   Peoplevox SOAP integration service
//   /control/...                                        the control API (docs/sandbox-control-api.md)
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Logger } from 'pino';
import { createSandboxContext, type SandboxContext } from './context';
import { FAULT_KINDS } from './core/faults';

export interface SandboxOptions {
  host?: string;
  port?: number;
  timeScale?: number;
  seed?: number;
  enforceRateLimits?: boolean;
  log: Logger;
}

export interface SandboxSystem {
  name: string;
  register(app: FastifyInstance, ctx: SandboxContext): void | Promise<void>;
}

export interface RunningSandbox {
  app: FastifyInstance;
  ctx: SandboxContext;
  url: string;
  close(): Promise<void>;
}

const FaultRulesBody = z.object({
  seed: z.number().int().optional(),
  rules: z.array(
    z.object({
      endpoint: z.string().min(1),
      tenant: z.string().min(1).optional(),
      kind: z.enum(FAULT_KINDS as unknown as [string, ...string[]]),
      probability: z.number().min(0).max(1).optional(),
      count: z.number().int().min(0).optional(),
      retryAfterSeconds: z.number().int().min(0).optional(),
      delayMs: z.number().int().min(0).optional(),
    }),
  ),
});

function registerControlCore(app: FastifyInstance, ctx: SandboxContext) {
  app.get('/control/health', async () => ({ ok: true, timeScale: ctx.timeScale }));
  app.get('/control/calls', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    return {
      calls: ctx.calls.list({
        system: q.system,
        endpoint: q.endpoint,
        tenant: q.tenant,
        sinceSeq: q.sinceSeq ? Number(q.sinceSeq) : undefined,
      }),
    };
  });
  app.delete('/control/calls', async () => {
    ctx.calls.clear();
    return { ok: true };
  });
  app.get('/control/faults/:system', async (req) => {
    const { system } = req.params as { system: string };
    const f = ctx.faults(system);
    return { rules: f.list(), fired: f.fired, holding: [...f.holding] };
  });
  app.put('/control/faults/:system', async (req, reply) => {
    const { system } = req.params as { system: string };
    const parsed = FaultRulesBody.safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ message: z.prettifyError(parsed.error) });
    ctx.faults(system).set(parsed.data.rules as never, parsed.data.seed);
    return { ok: true };
  });
  app.delete('/control/faults/:system', async (req) => {
    const { system } = req.params as { system: string };
    ctx.faults(system).clear();
    return { ok: true };
  });
}

export async function startSandbox(opts: SandboxOptions, systems: SandboxSystem[]): Promise<RunningSandbox> {
  const ctx = createSandboxContext(opts.log, opts);
  const app = Fastify({ logger: false, bodyLimit: 50 * 1024 * 1024, keepAliveTimeout: 5000 });
  registerControlCore(app, ctx);
  for (const s of systems) await s.register(app, ctx);
  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  return {
    app,
    ctx,
    url: address,
    close: () => app.close(),
  };
}
