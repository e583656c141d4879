/** Fitting, listing, scoring and deleting KMeans, linear and logistic models. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { QuiverError } from '../../errors.js';
import { loadModel, saveModel, type Model } from '../../models/persist.js';
import { acceptedBinary, encodeVector, isBinaryBody, matrixFromBinary, matrixFromJson } from '../codec.js';
import { checkMatrixLimits, compute, type ServerContext } from '../context.js';
import { Registry, type Stored } from '../registry.js';
import { binaryNote, errorResponses } from '../schemas/common.js';
import { ChooseKBody, ChooseKReply, KmeansBody, LiftBody, LiftReply, LinearBody, LogisticBody, ModelId, ModelSummary, PredictBody, PredictReply, type Validation } from '../schemas/models.js';
import type { Engine } from '../../engine/engine.js';
import type { FittedModel } from '../../models/model.js';
import { crossValidate, holdoutValidate, type CrossValidationResult, type HoldoutResult } from '../../models/validation.js';
import type { Matrix } from '../../types.js';
import { liftTable } from '../../models/lift.js';
import { chooseK, pickK } from '../../models/kmeans.js';
import { bodyContent } from './compute.js';

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

/** The `validation` option of the fit routes: held-out or cross-validated metrics of the same fit. */
async function validate(
  engine: Engine,
  v: Static<typeof Validation> | undefined,
  x: Matrix,
  y: Float64Array | null,
  fit: (e: Engine, x: Matrix, y: Float64Array | null) => Promise<FittedModel>,
  signal: AbortSignal,
): Promise<Record<string, unknown> | null> {
  if (!v) return null;
  if ((v.holdout === undefined) === (v.folds === undefined)) {
    throw new QuiverError('INVALID_ARGUMENT', 'validation needs exactly one of holdout (a fraction, e.g. 0.25) or folds (K ≥ 2)');
  }
  const opts = { seed: v.seed, threshold: v.threshold, signal };
  const f = fit as (e: Engine, x: Matrix, y: Float64Array) => Promise<FittedModel>;
  const r: CrossValidationResult | HoldoutResult =
    v.folds !== undefined ? await crossValidate(engine, f, x, y as Float64Array, { ...opts, folds: v.folds }) : await holdoutValidate(engine, f, x, y as Float64Array, { ...opts, fraction: v.holdout! });
  return { ...r };
}

export function modelRoutes(registry: Registry<Model>) {
  return async (app: FastifyInstance, ctx: ServerContext): Promise<void> => {
    const fitted = { 200: ModelSummary, ...errorResponses };

    app.post('/v1/kmeans', { schema: { summary: 'fit KMeans (k-means++, random or given centroids)', body: KmeansBody, response: fitted } }, async (request, reply) => {
      const b = request.body as Static<typeof KmeansBody>;
      const x = matrixFromJson(b.rows, 'rows');
      checkMatrixLimits(x, 'rows', ctx.limits);
      const init = Array.isArray(b.init) ? matrixFromJson(b.init, 'init') : b.init;
      const sampleWeight = vector(b.sampleWeight, x.rows, 'sampleWeight');
      if (b.validation && sampleWeight) throw new QuiverError('INVALID_ARGUMENT', 'validation does not take sampleWeight yet; leave one of them out');
      const [model, validation] = await compute(ctx, reply, async (signal) => {
        // sampleWeight is refused with validation above, so the folds' fits never see it.
        const fit = (_e: Engine, xx: Matrix) => ctx.engine.kmeans(xx, { k: b.k, init, nInit: b.nInit, maxIter: b.maxIter, tol: b.tol, seed: b.seed, sampleWeight, signal });
        const v = await validate(ctx.engine, b.validation, x, null, fit, signal);
        return [await fit(ctx.engine, x), v] as const;
      });
      const s = await registry.add(model);
      return summarize(s, { labels: model.labels ? Array.from(model.labels) : null, ...(validation ? { validation } : {}) });
    });

    app.post(
      '/v1/kmeans/choose-k',
      { schema: { summary: 'compare values of k: inertia and silhouette per k, the elbow and the best silhouette (no model is kept)', body: ChooseKBody, response: { 200: ChooseKReply, ...errorResponses } } },
      async (request, reply) => {
        const b = request.body as Static<typeof ChooseKBody>;
        const x = matrixFromJson(b.rows, 'rows');
        checkMatrixLimits(x, 'rows', ctx.limits);
        const ks = b.ks ?? [2, 3, 4, 5, 6, 7, 8, 9, 10].filter((k) => k < x.rows);
        const tooMany = ks.filter((k) => k >= x.rows);
        if (tooMany.length > 0 || ks.length === 0) {
          throw new QuiverError('INVALID_ARGUMENT', `every k must be below the ${x.rows} rows for a silhouette; drop ${tooMany.join(', ') || 'none'} from ks or send more rows`, { rows: x.rows });
        }
        const rows = await compute(ctx, reply, (signal) =>
          chooseK(ctx.engine, x, { ks, init: b.init, nInit: b.nInit, maxIter: b.maxIter, tol: b.tol, seed: b.seed, sampleSize: b.sampleSize, signal }),
        );
        return { chooseK: rows, ...pickK(rows) };
      },
    );

    app.post('/v1/linear', { schema: { summary: 'fit OLS or ridge regression', body: LinearBody, response: fitted } }, async (request, reply) => {
      const b = request.body as Static<typeof LinearBody>;
      const x = matrixFromJson(b.rows, 'rows');
      checkMatrixLimits(x, 'rows', ctx.limits);
      const y = vector(b.target, x.rows, 'target')!;
      const sampleWeight = vector(b.sampleWeight, x.rows, 'sampleWeight');
      if (b.validation && sampleWeight) throw new QuiverError('INVALID_ARGUMENT', 'validation does not take sampleWeight yet; leave one of them out');
      const [model, validation] = await compute(ctx, reply, async (signal) => {
        const v = await validate(ctx.engine, b.validation, x, y, (e, xx, yy) => ctx.engine.linearRegression(xx, yy!, { l2: b.l2, fitIntercept: b.fitIntercept, signal }), signal);
        return [await ctx.engine.linearRegression(x, y, { l2: b.l2, fitIntercept: b.fitIntercept, sampleWeight, featureNames: b.featureNames, signal }), v] as const;
      });
      return summarize(await registry.add(model), validation ? { validation } : {});
    });

    app.post('/v1/logistic', { schema: { summary: 'fit binary logistic regression (Newton/IRLS)', body: LogisticBody, response: fitted } }, async (request, reply) => {
      const b = request.body as Static<typeof LogisticBody>;
      const x = matrixFromJson(b.rows, 'rows');
      checkMatrixLimits(x, 'rows', ctx.limits);
      const y = vector(b.target, x.rows, 'target')!;
      const sampleWeight = vector(b.sampleWeight, x.rows, 'sampleWeight');
      if (b.validation && sampleWeight) throw new QuiverError('INVALID_ARGUMENT', 'validation does not take sampleWeight yet; leave one of them out');
      const opts = { l2: b.l2, fitIntercept: b.fitIntercept, classWeight: b.classWeight, maxIter: b.maxIter, tol: b.tol };
      const [model, validation] = await compute(ctx, reply, async (signal) => {
        const v = await validate(ctx.engine, b.validation, x, y, (e, xx, yy) => ctx.engine.logisticRegression(xx, yy!, { ...opts, signal }), signal);
        return [await ctx.engine.logisticRegression(x, y, { ...opts, sampleWeight, featureNames: b.featureNames, signal }), v] as const;
      });
      return summarize(await registry.add(model), validation ? { validation } : {});
    });

    app.get('/v1/models', { schema: { summary: 'list fitted models' } }, async () => ({ models: registry.list().map((s) => ({ id: s.id, kind: s.model.kind, createdAt: s.createdAt })) }));

    app.get('/v1/models/:id', { schema: { summary: 'one fitted model', params: ModelId, response: { 200: ModelSummary, ...errorResponses } } }, async (request) => {
      return summarize(registry.get((request.params as Static<typeof ModelId>).id));
    });

    app.delete('/v1/models/:id', { schema: { summary: 'delete a fitted model', params: ModelId, response: { 204: Type.Null({ description: 'deleted' }), ...errorResponses } } }, async (request, reply) => {
      await registry.delete((request.params as Static<typeof ModelId>).id);
      return reply.status(204).send();
    });

    app.post(
      '/v1/models/:id/lift',
      {
        schema: {
          summary: 'lift and cumulative gain by decile of a binary logistic model on labelled rows',
          params: ModelId,
          body: LiftBody,
          response: { 200: LiftReply, ...errorResponses },
        },
      },
      async (request, reply) => {
        const s = registry.get((request.params as Static<typeof ModelId>).id);
        if (s.model.kind !== 'logistic') {
          throw new QuiverError('INVALID_ARGUMENT', `model ${s.id} is a ${s.model.kind} model; lift is computed for logistic (propensity) models`, { kind: s.model.kind });
        }
        const b = request.body as Static<typeof LiftBody>;
        const x = matrixFromJson(b.rows, 'rows');
        checkMatrixLimits(x, 'rows', ctx.limits);
        const y = vector(b.target, x.rows, 'target')!;
        const m = s.model;
        const p = await compute(ctx, reply, (signal) => m.scoreF64(x, { signal }));
        return liftTable(y, p);
      },
    );

    app.post(
      '/v1/models/:id/predict',
      {
        schema: {
          summary: 'score rows with a fitted model',
          description: `${binaryNote} The answer is one value per row, in input order.`,
          params: ModelId,
          body: bodyContent(PredictBody),
          response: { 200: PredictReply, ...errorResponses },
        },
      },
      async (request, reply) => {
        const s = registry.get((request.params as Static<typeof ModelId>).id);
        const x = isBinaryBody(request.body) ? matrixFromBinary(request.body).matrix : matrixFromJson((request.body as Static<typeof PredictBody>).rows, 'rows');
        checkMatrixLimits(x, 'rows', ctx.limits);
        const want = s.model.columns.count;
        if (x.cols !== want) {
          throw new QuiverError('SHAPE_MISMATCH', `model ${s.id} expects ${want} columns per row but got ${x.cols}`, { expected: want, got: x.cols });
        }
        const m = s.model;
        const bin = acceptedBinary(request.headers.accept);
        // JSON numbers carry doubles, so JSON answers get the f64 scores; binary answers stay float32.
        const p = await compute(ctx, reply, (signal): Promise<Float32Array | Float64Array | Int32Array> => (bin ? m.score(x, { signal }) : m.scoreF64(x, { signal })));
        if (bin) {
          const out = encodeVector(bin, 'prediction', p instanceof Float32Array ? p : Float32Array.from(p));
          return reply.type(out.type).send(out.body);
        }
        return { predictions: Array.from(p) };
      },
    );
  };
}
