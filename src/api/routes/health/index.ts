import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const Readiness = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })),
    compute: z.record(z.string(), z.unknown()).nullable().describe('The TF.js backend the trainer threads use, once known.'),
  })
  .meta({ id: 'Readiness' });

async function check(fn: () => Promise<void>): Promise<{ ok: boolean; detail?: string }> {
  try {
    await fn();
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: the process answers', operationId: 'healthz', tags: ['Health'], response: { 200: Health } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: the database and the bucket are reachable',
        operationId: 'readyz',
        tags: ['Health'],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (request, reply) => {
      const { database, blobs, compute } = request.server.services;
      const checks = { database: await check(() => database.ping()), storage: await check(() => blobs.ping()) };
      const ok = Object.values(checks).every((c) => c.ok);
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks, compute: compute() ?? null });
    },
  );
};
