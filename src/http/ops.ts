// The ops dashboard (GET /ops) and its JSON API (/ops/api/...), on the internal listener. Reading (GET)
// needs the viewer role, acting (POST: retry, resolve, cancel, bulk retry) the operator role
// (src/http/auth.ts); every POST also passes the CSRF checks of the listener (src/http/csrf.ts).
// Everything is read from Temporal through the ops service; actions are the workflows' own updates.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { HttpContext } from './server';
import { requireRole } from './auth';
import { createOpsService } from '../ops/service';

const Filter = z.object({
  owner: z.string().max(40).optional(),
  channel: z.string().max(40).optional(),
  reason: z.string().max(60).optional(),
  status: z.string().max(40).optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
});
const Note = z.object({ note: z.string().max(500).optional() }).optional();
const BulkRetry = z.object({ reason: z.string().min(1).max(60), channel: z.string().max(40).optional() });

const asset = (name: string) => readFileSync(join(__dirname, 'dashboard', name), 'utf8');

/** Viewer for reading, operator for anything that changes state. */
function opsGuard(opts: HttpContext) {
  const viewer = requireRole('viewer', { ...opts, challenge: true });
  const operator = requireRole('operator', { ...opts, challenge: true });
  return (req: FastifyRequest, reply: FastifyReply) =>
    req.method === 'GET' || req.method === 'HEAD' ? viewer(req, reply) : operator(req, reply);
}

export function registerOps(app: FastifyInstance, opts: HttpContext): void {
  const ops = createOpsService(opts.client);
  const html = asset('index.html');
  const js = asset('app.js');
  const css = asset('style.css');

  void app.register(async (scope) => {
    scope.addHook('preHandler', opsGuard(opts));

    scope.get('/ops', async (_req, reply) => reply.type('text/html; charset=utf-8').send(html));
    scope.get('/ops/app.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(js));
    scope.get('/ops/style.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(css));

    scope.get('/ops/api/summary', async () => ({
      channels: opts.config.channels.map((c) => ({ code: c.code, label: c.label })),
      ...(await ops.counts()),
    }));

    scope.get('/ops/api/exceptions', async (req, reply) => {
      const f = Filter.safeParse(req.query);
      if (!f.success) return reply.code(400).send({ error: z.prettifyError(f.error) });
      try {
        const rows = await ops.exceptions(f.data);
        return { byOwner: ops.group(rows), exceptions: rows };
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message });
      }
    });

    scope.get('/ops/api/orders', async (req, reply) => {
      const f = Filter.safeParse(req.query);
      if (!f.success) return reply.code(400).send({ error: z.prettifyError(f.error) });
      try {
        return { orders: await ops.list({ ...f.data, running: true }) };
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message });
      }
    });

    scope.get('/ops/api/returns', async (req, reply) => {
      const f = Filter.safeParse(req.query);
      if (!f.success) return reply.code(400).send({ error: z.prettifyError(f.error) });
      try {
        return { returns: await ops.returns({ ...f.data, limit: f.data.limit ?? 50, detail: true }) };
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message });
      }
    });

    scope.get('/ops/api/at-risk', async (req) => {
      const hours = Number((req.query as { withinHours?: string }).withinHours ?? 12);
      return { orders: await ops.atRisk(Math.max(0, Math.min(hours, 24 * 14)) * 3600_000) };
    });

    scope.get('/ops/api/sync-health', async () => {
      const [channels, intakes] = await Promise.all([ops.syncHealth(), ops.intakeHealth()]);
      return { channels, intakes };
    });

    scope.get('/ops/api/failed', async (req, reply) => {
      const f = Filter.safeParse(req.query);
      if (!f.success) return reply.code(400).send({ error: z.prettifyError(f.error) });
      return { runs: await ops.failedRuns({ channel: f.data.channel, limit: f.data.limit }) };
    });

    scope.get<{ Params: { id: string } }>('/ops/api/workflows/:id', async (req, reply) => {
      try {
        return { workflowId: req.params.id, state: await ops.state(req.params.id) };
      } catch (err) {
        return reply.code(404).send({ error: (err as Error).message });
      }
    });

    scope.post<{ Params: { id: string; verb: string } }>('/ops/api/workflows/:id/:verb', async (req, reply) => {
      const verb = req.params.verb;
      if (verb === 'restart') {
        const r = await ops.restart(req.params.id);
        opts.log.info({ workflowId: req.params.id, action: verb, ok: r.ok }, 'ops action');
        return reply.code(r.ok ? 200 : 409).send(r);
      }
      if (verb !== 'retry' && verb !== 'resolve' && verb !== 'cancel')
        return reply.code(404).send({ error: `unknown action ${verb}` });
      const body = Note.safeParse(req.body ?? undefined);
      if (!body.success) return reply.code(400).send({ error: z.prettifyError(body.error) });
      const r = await ops.act(req.params.id, verb, body.data?.note);
      opts.log.info({ workflowId: req.params.id, action: verb, ok: r.ok, by: req.auth?.subject }, 'ops action');
      return reply.code(r.ok ? 200 : 409).send(r);
    });

    scope.post('/ops/api/retry-all', async (req, reply) => {
      const body = BulkRetry.safeParse(req.body);
      if (!body.success) return reply.code(400).send({ error: z.prettifyError(body.error) });
      const r = await ops.bulkRetry(body.data.reason, { channel: body.data.channel });
      opts.log.info({ reason: r.reason, total: r.total, cleared: r.cleared }, 'ops bulk retry');
      return r;
    });
  });
}
