import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';

export async function systemRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/health',
    { schema: { summary: 'liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
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
            threads: Type.Integer(),
            versions: Type.Record(Type.String(), Type.String()),
            active: Type.Integer(),
            queued: Type.Integer(),
            limits: Type.Record(Type.String(), Type.Number()),
          }),
        },
      },
    },
    async () => {
      const info = ctx.engine.info();
      return {
        backend: info.backend,
        simd: info.simd,
        threads: info.threads,
        versions: info.versions,
        active: ctx.admission.active,
        queued: ctx.admission.queued,
        limits: { ...ctx.limits },
      };
    },
  );
}
