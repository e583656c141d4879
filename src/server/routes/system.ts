import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';

export async function systemRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/health',
    { schema: { summary: 'liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  const Readiness = Type.Object({
    ready: Type.Boolean({ description: 'true when a compute request sent now would be admitted (run or queued), not refused with 503' }),
    active: Type.Integer({ description: 'compute requests running' }),
    queued: Type.Integer({ description: 'compute requests waiting for a slot' }),
    maxActive: Type.Integer(),
    maxQueued: Type.Integer(),
    poolQueue: Type.Integer({ description: 'kernel tasks waiting for a pool thread' }),
    threads: Type.Integer(),
    backend: Type.String(),
  });
  app.get(
    '/ready',
    {
      schema: {
        summary: 'readiness: 200 when the engine can take work now, 503 when the queue is full (for load balancers)',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const a = ctx.admission;
      const ready = a.active < a.maxActive || a.queued < a.maxQueued;
      const info = ctx.engine.info();
      return reply.status(ready ? 200 : 503).send({
        ready,
        active: a.active,
        queued: a.queued,
        maxActive: a.maxActive,
        maxQueued: a.maxQueued,
        poolQueue: ctx.engine.queueSize,
        threads: info.threads,
        backend: info.backend,
      });
    },
  );
  app.get(
    '/v1/info',
    {
      schema: {
        summary: 'backend, SIMD level, threads, load and limits',
        response: {
          200: Type.Object({
            backend: Type.String(),
            simd: Type.String(),
            topkScreen: Type.Optional(Type.Union([Type.Literal('bf16'), Type.Literal('off')], { description: 'native: whether cosine top-k screens in bf16 (exact)' })),
            threads: Type.Integer(),
            versions: Type.Record(Type.String(), Type.String()),
            active: Type.Integer(),
            queued: Type.Integer(),
            limits: Type.Record(Type.String(), Type.Number()),
            attempts: Type.Array(
              Type.Object({ backend: Type.String(), ok: Type.Boolean(), error: Type.Optional(Type.String()) }),
              { description: 'every backend load attempt of this process, in order: why a fallback happened' },
            ),
          }),
        },
      },
    },
    async () => {
      const info = ctx.engine.info();
      return {
        backend: info.backend,
        simd: info.simd,
        ...(info.topkScreen ? { topkScreen: info.topkScreen } : {}),
        threads: info.threads,
        versions: info.versions,
        active: ctx.admission.active,
        queued: ctx.admission.queued,
        limits: { ...ctx.limits },
        attempts: info.attempts,
      };
    },
  );
}
