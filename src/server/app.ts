/**
 * The HTTP API as a Fastify plugin-style factory: `buildApp` returns a ready-to-listen app (tests use
 * `app.inject`); src/server/server.ts only starts it. Every error leaves as JSON `{ code, message, details? }`
 * with the status from the one table in src/errors.ts; a 5xx never carries a stack trace.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Quiver } from '../quiver.js';
import { HTTP_STATUS, QuiverError } from '../errors.js';
import { Admission } from './admission.js';
import { ARROW, NPY, type BinaryBody } from './codec.js';
import { admit, DEFAULT_LIMITS, type Limits, type ServerContext } from './context.js';
import type { Model } from '../models/persist.js';
import type { Registry } from './registry.js';
import type { ErrorObject } from 'ajv';
import { computeRoutes } from './routes/compute.js';
import { modelRegistry, modelRoutes } from './routes/models.js';
import type { AnyRecommender } from '../models/recommenders.js';
import { recommenderRegistry, recommenderRoutes } from './routes/recommenders.js';
import { systemRoutes } from './routes/system.js';
import { OFFLOAD_BYTES, PREVALIDATED, type ParseResult, type ParseTask } from './json-body.js';
import { Pool } from '../pool/pool.js';

/** The handler module of the JSON-parsing pool (the pool resolves it to its compiled twin under vitest). */
const JSON_BODY_MODULE = fileURLToPath(new URL('./json-body.js', import.meta.url));
import { httpHint } from './hints.js';
import { validationError, validatorCompiler } from './validation.js';

export interface AppOptions {
  engine: Quiver;
  dataDir: string;
  limits?: Partial<Limits>;
  /** When set, every /v1 route requires `Authorization: Bearer <apiKey>`. Default: QUIVER_API_KEY. */
  apiKey?: string;
  /** Compute requests running at once (default: 2 × engine threads) and waiting (default 64). */
  maxActive?: number;
  maxQueued?: number;
  /**
   * Structured logs (pino, one JSON object a line on stderr, each line of a request with its `reqId`) at this
   * level: fatal, error, warn, info, debug, trace or silent. Default: no logger (tests); `quiver serve` passes
   * --log-level or QUIVER_LOG_LEVEL (default info).
   */
  logLevel?: string;
  /** Where the logs go (default stderr). */
  logStream?: NodeJS.WritableStream;
  /** The fitted-model registry (default: opened from `<dataDir>/models`). */
  models?: Registry<Model>;
  /** The recommender registry (default: opened from `<dataDir>/recommenders`). */
  recommenders?: Registry<AnyRecommender>;
  /** Pool threads that parse JSON bodies of OFFLOAD_BYTES and more off the event loop (default 1; 0: inline). */
  jsonThreads?: number;
  /** Nice increment of those threads (default SERVE_ENGINE_DEFAULTS.niceIncrement, like the compute threads). */
  jsonNice?: number;
  /** Extra route plugins registered under the same context. */
  plugins?: ((app: FastifyInstance, ctx: ServerContext) => Promise<void>)[];
}

/**
 * How the server's threads differ from the library's defaults. The compute threads and the JSON-parse threads run
 * at nice +5: on a saturated machine the event loop, which answers /health and /ready and reads request bodies, is
 * then scheduled before them, so a liveness probe does not wait behind a kernel or a large parse (throughput is
 * unchanged when the loop is idle).
 */
export const SERVE_ENGINE_DEFAULTS = { niceIncrement: 5 } as const;

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
    logger: opts.logLevel === undefined ? false : { level: opts.logLevel, stream: opts.logStream ?? process.stderr },
    bodyLimit: limits.jsonBodyBytes,
    // Longer than any id a route accepts, so an over-long id is a 400 naming the parameter; past this, 414.
    routerOptions: { maxParamLength: 1024 },
    // The caller's x-request-id when it is a plain token (it goes into logs), else a fresh one.
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    frameworkErrors: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const e =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new QuiverError('URI_TOO_LONG', 'a path parameter is over 1024 characters; ids are at most 128 and items at most 256')
          : err.code === 'FST_ERR_BAD_URL'
            ? new QuiverError('INVALID_ARGUMENT', 'the URL is not valid (a malformed %-escape?)')
            : toQuiverError(err, limits, takesBinary(request));
      sendError(request, reply, e, err);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler());
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('preParsing', async (request, reply, payload) => {
    if ((request.routeOptions.config as { compute?: boolean } | undefined)?.compute) await admit(ctx, reply);
    return payload;
  });
  const allowed = methodTable(app);

  // Only JSON and the binary matrix formats are accepted: anything else is 415.
  app.removeContentTypeParser('text/plain');
  const jsonThreads = opts.jsonThreads ?? 1;
  const jsonPool = jsonThreads > 0 ? new Pool({ threads: jsonThreads, backend: { name: 'js' }, handlers: [JSON_BODY_MODULE], niceIncrement: opts.jsonNice ?? SERVE_ENGINE_DEFAULTS.niceIncrement }) : undefined;
  if (jsonPool) app.addHook('onClose', async () => jsonPool.close());
  const inlineJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const schema = jsonBodySchema(request);
    if (!jsonPool || bytes.length < OFFLOAD_BYTES || schema === undefined) return inlineJson(request, bytes.toString('utf8'), done);
    const task: ParseTask = { bytes, schema, key: `${request.method} ${request.routeOptions.url}` };
    jsonPool.run<ParseResult>('parseJsonBody', task).then(
      (r) => {
        if ('validation' in r) return done(Object.assign(new Error('invalid request'), { validation: r.validation, validationContext: 'body' }), undefined);
        Object.defineProperty(r.value, PREVALIDATED, { value: true });
        done(null, r.value);
      },
      (err: unknown) => done(QuiverError.from(err), undefined),
    );
  });
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
    sendError(request, reply, toQuiverError(err, limits, takesBinary(request)), err);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const methods = allowed(path);
    if (methods.length > 0) {
      void reply.header('Allow', methods.join(', '));
      return sendError(request, reply, new QuiverError('METHOD_NOT_ALLOWED', `${path} does not take ${request.method}; it takes ${methods.join(', ')}`, { allow: methods }));
    }
    sendError(request, reply, new QuiverError('NOT_FOUND', `no route ${request.method} ${path}; see /docs`));
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

/** A caller's request id is used as given when it is a short plain token (it is written into every log line). */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Every error leaves the same way: status from the code table, `{ code, message, details?, requestId }`, logged. */
function sendError(request: FastifyRequest, reply: FastifyReply, given: QuiverError, original?: unknown): void {
  const e = httpHint(given);
  const status = HTTP_STATUS[e.code];
  if (e.code === 'OVERLOADED') void reply.header('Retry-After', String(e.details?.['retryAfterSeconds'] ?? 1));
  // A request refused before its body was read (busy, too large) would otherwise have that body read and thrown
  // away on the event loop so the connection can be reused; closing the connection lets the kernel drop it.
  if ((e.code === 'OVERLOADED' || e.code === 'TOO_LARGE' || e.code === 'ABORTED') && Number(request.headers['content-length'] ?? 0) > 0 && !request.raw.readableEnded) {
    void reply.header('Connection', 'close');
  }
  if (e.code === 'OVERLOADED') {
    // Load shedding is a decision, not a failure: one line without a stack (a flood would bury real errors).
    request.log.warn({ code: e.code, status }, e.message);
  } else if (status >= 500) {
    // The caller sees a code and the request id; the log line with the same reqId has the stack and the cause.
    const err = original ?? e;
    // pino serialises `err` with its stack; a cause gets the same, by hand (a bare Error serialises as {}).
    const c = err instanceof Error ? err.cause : undefined;
    const cause = c instanceof Error ? { type: c.name, message: c.message, stack: c.stack } : c;
    const level = status === 500 ? 'error' : 'warn';
    request.log[level]({ err, cause, code: e.code }, `${e.code}: ${e.message}`);
  } else {
    request.log.info({ code: e.code, status }, e.message);
  }
  void reply
    .status(status)
    .type('application/json')
    .send({ ...e.toJSON(), requestId: request.id });
}

/**
 * The methods each route path takes, so a known path asked with another method is a 405 with `Allow`, not a 404.
 * Paths are matched segment by segment; `:name` matches any one segment.
 */
function methodTable(app: FastifyInstance): (path: string) => string[] {
  const routes: { parts: string[]; methods: string[] }[] = [];
  app.addHook('onRoute', (r) => {
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).map(String);
    const parts = r.url.split('/');
    const same = routes.find((x) => x.parts.join('/') === parts.join('/'));
    if (same) same.methods.push(...methods);
    else routes.push({ parts, methods: [...methods] });
  });
  return (path) => {
    const got = path.split('/');
    const out = new Set<string>();
    for (const r of routes) {
      if (r.parts.length !== got.length) continue;
      if (r.parts.every((p, i) => p.startsWith(':') ? got[i] !== '' : p === got[i])) for (const m of r.methods) out.add(m);
    }
    return [...out].sort();
  };
}

/** The JSON schema of the matched route's body, if it has one. */
function jsonBodySchema(request: FastifyRequest): object | undefined {
  const body = request.routeOptions?.schema?.body as { content?: Record<string, { schema?: object }> } | undefined;
  if (!body) return undefined;
  return body.content ? body.content['application/json']?.schema : body;
}

/** Whether the matched route takes .npy/Arrow bodies (its body schema lists their media types). */
function takesBinary(request: FastifyRequest): boolean {
  const body = request.routeOptions?.schema?.body as { content?: Record<string, unknown> } | undefined;
  return body?.content?.[NPY] !== undefined;
}

function toQuiverError(err: FastifyError | QuiverError, limits: Limits, binary: boolean): QuiverError {
  if (err instanceof QuiverError) return err;
  const fe = err as FastifyError & { validation?: ErrorObject[]; validationContext?: string };
  if (fe.validation) return validationError(fe.validation, fe.validationContext);
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return binary
        ? new QuiverError(
            'TOO_LARGE',
            `the request body is over the limit (${limits.jsonBodyBytes} bytes for JSON, ${limits.binaryBodyBytes} for .npy/Arrow); send the matrix as application/x-npy or Arrow, or split the request`,
            { jsonBodyBytes: limits.jsonBodyBytes, binaryBodyBytes: limits.binaryBodyBytes },
          )
        : new QuiverError('TOO_LARGE', `the JSON body is over the limit of ${limits.jsonBodyBytes} bytes (jsonBodyBytes); send fewer rows per request`, {
            jsonBodyBytes: limits.jsonBodyBytes,
          });
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
  return new QuiverError('INTERNAL', 'internal error; the server log has the details under this requestId');
}
