/** Fitting, listing, scoring and deleting KMeans, linear and logistic models. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { QuiverError } from '../../errors.js';
import { loadModel, saveModel, type Model } from '../../models/persist.js';
import { acceptedBinary, encodeVector, isBinaryBody, matrixFromBinary, matrixFromJson } from '../codec.js';
import { checkMatrixLimits, compute, COMPUTE, type ServerContext } from '../context.js';
import { Registry, type Stored } from '../registry.js';
import { binaryNote, errorResponses, paramErrorResponses } from '../schemas/common.js';
import { ModelId, ModelList, ModelSummary, modelSchemas, PredictReply } from '../schemas/models.js';
import { bodyContent, requireBody } from './compute.js';

type Schemas = ReturnType<typeof modelSchemas>;

export function modelRegistry(dataDir: string): Registry<Model> {
  return new Registry<Model>(dataDir, 'models', 'mdl', 'model', { save: saveModel, load: loadModel });
}

/** What a client sees of a model: what it learned (its `summary()`), never internal state. */
export function summarize(s: Stored<Model>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { kind, ...learned } = s.model.summary();
  return { id: s.id, kind, createdAt: s.createdAt, ...learned, ...extra };
}

function vector(v: number[] | undefined, n: number, name: string): Float64Array | undefined {
  if (v === undefined) return undefined;
  if (v.length !== n) throw new QuiverError('SHAPE_MISMATCH', `${name} has ${v.length} values but rows has ${n}; give one per row`, { length: v.length, rows: n });
  return Float64Array.from(v);
}

export function modelRoutes(registry: Registry<Model>) {
  return async (app: FastifyInstance, ctx: ServerContext): Promise<void> => {
    const { KmeansBody, LinearBody, LogisticBody, PredictBody } = modelSchemas(ctx.limits);
    const fitted = { 200: ModelSummary, ...errorResponses };

    app.post('/v1/kmeans', { config: COMPUTE, schema: { summary: 'fit KMeans (k-means++, random or given centroids)', body: KmeansBody, response: fitted } }, async (request, reply) => {
      const b = request.body as Static<Schemas['KmeansBody']>;
      const x = matrixFromJson(b.rows, 'rows');
      checkMatrixLimits(x, 'rows', ctx.limits);
      const init = Array.isArray(b.init) ? matrixFromJson(b.init, 'init') : b.init;
      const model = await compute(ctx, reply, (signal) =>
        ctx.engine.kmeans(x, { k: b.k, init, nInit: b.nInit, maxIter: b.maxIter, tol: b.tol, seed: b.seed, sampleWeight: vector(b.sampleWeight, x.rows, 'sampleWeight'), signal }),
      );
      const s = await registry.add(model);
      return summarize(s, { labels: model.labels ? Array.from(model.labels) : null });
    });

    app.post('/v1/linear', { config: COMPUTE, schema: { summary: 'fit OLS or ridge regression', body: LinearBody, response: fitted } }, async (request, reply) => {
      const b = request.body as Static<Schemas['LinearBody']>;
      const x = matrixFromJson(b.rows, 'rows');
      checkMatrixLimits(x, 'rows', ctx.limits);
      const y = vector(b.target, x.rows, 'target')!;
      const model = await compute(ctx, reply, (signal) =>
        ctx.engine.linearRegression(x, y, { l2: b.l2, fitIntercept: b.fitIntercept, sampleWeight: vector(b.sampleWeight, x.rows, 'sampleWeight'), featureNames: b.featureNames, signal }),
      );
      return summarize(await registry.add(model));
    });

    app.post('/v1/logistic', { config: COMPUTE, schema: { summary: 'fit binary logistic regression (Newton/IRLS)', body: LogisticBody, response: fitted } }, async (request, reply) => {
      const b = request.body as Static<Schemas['LogisticBody']>;
      const x = matrixFromJson(b.rows, 'rows');
      checkMatrixLimits(x, 'rows', ctx.limits);
      const y = vector(b.target, x.rows, 'target')!;
      const model = await compute(ctx, reply, (signal) =>
        ctx.engine.logisticRegression(x, y, {
          l2: b.l2,
          fitIntercept: b.fitIntercept,
          classWeight: b.classWeight,
          sampleWeight: vector(b.sampleWeight, x.rows, 'sampleWeight'),
          maxIter: b.maxIter,
          tol: b.tol,
          featureNames: b.featureNames,
          signal,
        }),
      );
      return summarize(await registry.add(model));
    });

    app.get('/v1/models', { schema: { summary: 'list fitted models', response: { 200: ModelList, ...errorResponses } } }, async () => ({ models: registry.list().map((s) => ({ id: s.id, kind: s.model.kind, createdAt: s.createdAt })) }));

    app.get('/v1/models/:id', { schema: { summary: 'one fitted model', params: ModelId, response: { 200: ModelSummary, ...paramErrorResponses } } }, async (request) => {
      return summarize(registry.get((request.params as Static<typeof ModelId>).id));
    });

    app.delete('/v1/models/:id', { schema: { summary: 'delete a fitted model', params: ModelId, response: { 204: Type.Null({ description: 'deleted' }), ...paramErrorResponses } } }, async (request, reply) => {
      await registry.delete((request.params as Static<typeof ModelId>).id);
      return reply.status(204).send();
    });

    app.post(
      '/v1/models/:id/predict',
      {
config: COMPUTE,         schema: {
          summary: 'score rows with a fitted model',
          description: `${binaryNote} The answer is one value per row, in input order.`,
          params: ModelId,
          body: bodyContent(PredictBody),
          response: { 200: PredictReply, ...paramErrorResponses },
        },
      },
      async (request, reply) => {
        const s = registry.get((request.params as Static<typeof ModelId>).id);
        requireBody(request.body);
        const x = isBinaryBody(request.body) ? matrixFromBinary(request.body).matrix : matrixFromJson((request.body as Static<Schemas['PredictBody']>).rows, 'rows');
        checkMatrixLimits(x, 'rows', ctx.limits);
        const want = s.model.columns.count;
        if (x.cols !== want) {
          throw new QuiverError('SHAPE_MISMATCH', `model ${s.id} expects ${want} columns per row but got ${x.cols}`, { expected: want, got: x.cols });
        }
        const m = s.model;
        const p = await compute(ctx, reply, (signal): Promise<Float32Array | Int32Array> => m.score(x, { signal }));
        const bin = acceptedBinary(request.headers.accept);
        if (bin) {
          const out = encodeVector(bin, 'prediction', p instanceof Int32Array ? Float32Array.from(p) : p);
          return reply.type(out.type).send(out.body);
        }
        return { predictions: Array.from(p) };
      },
    );
  };
}
