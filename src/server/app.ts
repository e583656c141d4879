/**
 * The HTTP API as a Fastify plugin-style factory: `buildApp` returns a ready-to-listen app (tests use
 * `app.inject`); src/server/server.ts only starts it. Every error leaves as JSON `{ code, message, details? }`
 * with the status from the one table in src/errors.ts; a 5xx never carries a stack trace.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Quiver } from '../quiver.js';
import { HTTP_STATUS, QuiverError } from '../errors.js';
import { Admission } from './admission.js';
import { ARROW, NPY, type BinaryBody } from './codec.js';
import { DEFAULT_LIMITS, type Limits, type ServerContext } from './context.js';
import type { Model } from '../models/persist.js';
import type { Registry } from './registry.js';
import { computeRoutes } from './routes/compute.js';
import { modelRegistry, modelRoutes } from './routes/models.js';
import type { AnyRecommender } from '../models/recommenders.js';
import { recommenderRegistry, recommenderRoutes } from './routes/recommenders.js';
import { systemRoutes } from './routes/system.js';

export interface AppOptions {
  engine: Quiver;
  dataDir: string;
  limits?: Partial<Limits>;
  /** When set, every /v1 route requires `Authorization: Bearer <apiKey>`. Default: QUIVER_API_KEY. */
  apiKey?: string;
  /** Compute requests running at once (default: 2 × engine threads) and waiting (default 64). */
  maxActive?: number;
  maxQueued?: number;
  logger?: boolean;
  /** The fitted-model registry (default: opened from `<dataDir>/models`). */
  models?: Registry<Model>;
  /** The recommender registry (default: opened from `<dataDir>/recommenders`). */
  recommenders?: Registry<AnyRecommender>;
  /** Extra route plugins registered under the same context. */
  plugins?: ((app: FastifyInstance, ctx: ServerContext) => Promise<void>)[];
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  let models = opts.models;
  if (!models) {
    models = modelRegistry(opts.dataDir);
    await models.open(opts.engine);
  }
  const modelPlugin = modelRoutes(models);
  let recommenders = opts.recommenders;
  if (!recommenders) {
    recommenders = recommenderRegistry(opts.dataDir);
    await recommenders.open(opts.engine);
  }
  const recommenderPlugin = recommenderRoutes(recommenders);
  const ctx: ServerContext = {
    engine: opts.engine,
    limits,
    dataDir: opts.dataDir,
    admission: new Admission(opts.maxActive ?? opts.engine.threads * 2, opts.maxQueued ?? 64),
  };
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: limits.jsonBodyBytes,
    routerOptions: { maxParamLength: 256 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Only JSON and the binary matrix formats are accepted: anything else is 415.
  app.removeContentTypeParser('text/plain');
  for (const [type, kind] of [
    [NPY, 'npy'],
    [ARROW, 'arrow'],
  ] as const) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: limits.binaryBodyBytes }, (_req, body, done) => {
      done(null, { kind, bytes: body as Buffer } satisfies BinaryBody);
    });
  }

  const apiKey = opts.apiKey ?? process.env['QUIVER_API_KEY'];
  if (apiKey) {
    const want = createHash('sha256').update(apiKey).digest();
    app.addHook('onRequest', async (request) => {
      if (!request.url.startsWith('/v1')) return;
      const header = request.headers.authorization ?? '';
      const got = createHash('sha256').update(header.startsWith('Bearer ') ? header.slice(7) : '').digest();
      // Compare digests of equal length in constant time: neither the key nor its length leaks.
      if (!timingSafeEqual(got, want)) {
        throw new QuiverError('UNAUTHORIZED', 'missing or wrong API key; send the header "Authorization: Bearer <key>"');
      }
    });
  }

  app.setErrorHandler((err: FastifyError | QuiverError, request, reply) => {
    const e = toQuiverError(err, limits);
    if (e.code === 'OVERLOADED') reply.header('Retry-After', String(e.details?.['retryAfterSeconds'] ?? 1));
    if (e.code === 'INTERNAL') request.log.error({ err }, 'internal error');
    void reply.status(HTTP_STATUS[e.code]).type('application/json').send(e.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(new QuiverError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; see /docs`).toJSON());
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Quiver', description: 'Cosine top-k, KMeans and Gram-matrix solves as a service', version: '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(async (scoped) => systemRoutes(scoped, ctx));
  await app.register(async (scoped) => computeRoutes(scoped, ctx));
  await app.register(async (scoped) => modelPlugin(scoped, ctx));
  await app.register(async (scoped) => recommenderPlugin(scoped, ctx));
  for (const p of opts.plugins ?? []) await app.register(async (scoped) => p(scoped, ctx));
  await app.ready();
  return app;
}

function toQuiverError(err: FastifyError | QuiverError, limits: Limits): QuiverError {
  if (err instanceof QuiverError) return err;
  const fe = err as FastifyError & { validation?: unknown[] };
  if (fe.validation) {
    return new QuiverError('INVALID_ARGUMENT', `invalid request: ${fe.message}`, { validation: fe.validation });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new QuiverError(
        'TOO_LARGE',
        `the request body is over the limit (${limits.jsonBodyBytes} bytes for JSON, ${limits.binaryBodyBytes} for .npy/Arrow); split it or send a binary body`,
        { jsonBodyBytes: limits.jsonBodyBytes, binaryBodyBytes: limits.binaryBodyBytes },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new QuiverError('UNSUPPORTED_MEDIA_TYPE', `unsupported content type; send ${'application/json'}, ${NPY} or ${ARROW}`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new QuiverError('INVALID_ARGUMENT', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new QuiverError('INVALID_ARGUMENT', `the body is not valid JSON: ${fe.message}`);
    default:
      break;
  }
  if (fe.statusCode === 400 && fe instanceof SyntaxError) return new QuiverError('INVALID_ARGUMENT', `the body is not valid JSON: ${fe.message}`);
  if (fe.statusCode === 415) return new QuiverError('UNSUPPORTED_MEDIA_TYPE', fe.message);
  if (fe.statusCode === 413) return new QuiverError('TOO_LARGE', fe.message);
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) return new QuiverError('INVALID_ARGUMENT', fe.message);
  return new QuiverError('INTERNAL', 'internal error; the server log has the details');
}
