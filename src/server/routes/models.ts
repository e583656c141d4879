/** Fitting, listing, scoring and deleting KMeans, linear and logistic models. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { QuiverError } from '../../errors.js';
import { loadModel, saveModel, type Model } from '../../models/persist.js';
import { acceptedBinary, encodeVector, isBinaryBody, matrixFromBinary, matrixFromJson } from '../codec.js';
import { checkMatrixLimits, compute, COMPUTE, type ServerContext } from '../context.js';
import { Registry, type Stored } from '../registry.js';
import { binaryNote, errorResponses, paramErrorResponses } from '../schemas/common.js';
import { ChooseKReply, LiftReply, ModelId, ModelList, type ModelSchemas, ModelSummary, modelSchemas, PredictReply } from '../schemas/models.js';
import { CsvTable } from '../../data/csv.js';
import { type EncoderOptions, parseImputeSpec, TableEncoder } from '../../data/table.js';
import type { Engine } from '../../engine/engine.js';
import type { FittedModel } from '../../models/model.js';
import { crossValidate, crossValidateSplits, holdoutSplitMeasure, holdoutValidate, tableMeasure, type CrossValidationResult, type HoldoutResult } from '../../models/validation.js';
import type { Matrix } from '../../types.js';
import { liftTable } from '../../models/lift.js';
import { chooseK, pickK } from '../../models/kmeans-choose.js';
import { fitMultinomialLogistic } from '../../models/multinomial.js';
import { bodyContent, requireBody } from './compute.js';

type Body<K extends keyof ModelSchemas> = Static<ModelSchemas[K]>;
type TableInput = NonNullable<Body<'PredictBody'>['table']>;
type Validation = NonNullable<Body<'LinearBody'>['validation']>;

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

interface TableFields {
  rows?: number[][];
  table?: TableInput;
  categorical?: string[];
  dropLevel?: Record<string, string>;
  impute?: string;
  standardize?: boolean;
}

/** A request table as the CSV reader would give it: cells as text, null as an empty (missing) cell. */
function tableOf(t: TableInput): CsvTable {
  const cols = t.columns.length;
  if (new Set(t.columns).size !== cols) throw new QuiverError('INVALID_ARGUMENT', 'table.columns has a repeated name; give each column its own name');
  const data = t.columns.map(() => new Array<string>(t.records.length));
  t.records.forEach((r, i) => {
    if (r.length !== cols) {
      throw new QuiverError('SHAPE_MISMATCH', `table.records[${i}] has ${r.length} cells but there are ${cols} columns`, { record: i, cells: r.length, columns: cols });
    }
    for (let j = 0; j < cols; j++) data[j]![i] = r[j] === null ? '' : String(r[j]);
  });
  // "line" in messages is the 1-based record number.
  return new CsvTable('request table (line = record number)', ',', t.columns, data, Int32Array.from(t.records, (_, i) => i + 1));
}

/** The design of a fit request: numeric rows as they are, or a table through a new encoder. */
function designOf(b: TableFields, targetName: string | null): { x: Matrix; table: CsvTable | null; encoder: TableEncoder | null; encoderOptions: EncoderOptions } {
  if ((b.rows === undefined) === (b.table === undefined)) throw new QuiverError('INVALID_ARGUMENT', 'give exactly one of rows (numbers) or table ({ columns, records })');
  const encoderOptions: EncoderOptions = {
    categorical: b.categorical,
    dropLevel: b.dropLevel ?? null,
    impute: b.impute === undefined ? null : parseImputeSpec(b.impute, 'impute'),
    standardize: b.standardize === true,
    names: { impute: 'impute', dropLevel: 'dropLevel', categorical: 'categorical' },
  };
  if (b.rows !== undefined) {
    if (b.categorical || b.dropLevel || b.impute !== undefined || b.standardize !== undefined) {
      throw new QuiverError('INVALID_ARGUMENT', 'categorical, dropLevel, impute and standardize apply to a table input; send { table: { columns, records } } instead of rows');
    }
    return { x: matrixFromJson(b.rows, 'rows'), table: null, encoder: null, encoderOptions };
  }
  const table = tableOf(b.table!);
  if (targetName !== null && table.has(targetName)) throw new QuiverError('INVALID_ARGUMENT', `the table has a column "${targetName}"; send the target as the target array, not as a column`);
  const encoder = TableEncoder.fit(table, encoderOptions);
  return { x: encoder.encode(table), table, encoder, encoderOptions };
}

/** validation over a table input: the encoder is refitted on each training part, as in the CLI. */
async function validateTable(
  v: Validation,
  table: CsvTable,
  encoderOptions: EncoderOptions,
  y: Float64Array | null,
  fitModel: (x: Matrix, y: Float64Array | null, enc: TableEncoder) => Promise<FittedModel>,
  stratify: boolean | undefined,
): Promise<Record<string, unknown>> {
  if ((v.holdout === undefined) === (v.folds === undefined)) {
    throw new QuiverError('INVALID_ARGUMENT', 'validation needs exactly one of holdout (a fraction, e.g. 0.25) or folds (K ≥ 2)');
  }
  // The target travels beside the table: put it in as a column the encoder reads back per part.
  const name = '\u0000target';
  const withTarget = y ? new CsvTable(table.source, table.delimiter, [...table.header, name], [...table.columns, Array.from(y, String)], table.lines) : table;
  const opts: EncoderOptions = y ? { ...encoderOptions, target: name, targetKind: 'numeric' } : encoderOptions;
  const measure = tableMeasure(withTarget, opts, fitModel, { threshold: v.threshold, seed: v.seed });
  const split = { seed: v.seed, stratify };
  return v.folds !== undefined
    ? { ...(await crossValidateSplits(table.rowCount, y, { ...split, folds: v.folds }, measure)) }
    : { ...(await holdoutSplitMeasure(table.rowCount, y, { ...split, fraction: v.holdout! }, measure)) };
}

/** The `validation` option of the fit routes: held-out or cross-validated metrics of the same fit. */
async function validate(
  engine: Engine,
  v: Validation | undefined,
  x: Matrix,
  y: Float64Array | null,
  fitModel: (e: Engine, x: Matrix, y: Float64Array | null) => Promise<FittedModel>,
  signal: AbortSignal,
  stratify: boolean | undefined,
): Promise<Record<string, unknown> | null> {
  if (!v) return null;
  if ((v.holdout === undefined) === (v.folds === undefined)) {
    throw new QuiverError('INVALID_ARGUMENT', 'validation needs exactly one of holdout (a fraction, e.g. 0.25) or folds (K ≥ 2)');
  }
  const opts = { seed: v.seed, threshold: v.threshold, signal, stratify };
  const f = fitModel as (e: Engine, x: Matrix, y: Float64Array) => Promise<FittedModel>;
  const r: CrossValidationResult | HoldoutResult =
    v.folds !== undefined ? await crossValidate(engine, f, x, y as Float64Array, { ...opts, folds: v.folds }) : await holdoutValidate(engine, f, x, y as Float64Array, { ...opts, fraction: v.holdout! });
  return { ...r };
}

/**
 * validation for either input: per-part encoders for a table, row subsets of the matrix otherwise. `stratify`
 * true keeps every class in every part (logistic, as the CLI does: without it a multiclass part may lose a class).
 */
function validateEither(
  engine: Engine,
  v: Validation | undefined,
  d: ReturnType<typeof designOf>,
  y: Float64Array | null,
  fitModel: (x: Matrix, y: Float64Array | null, encoder: TableEncoder | null) => Promise<FittedModel>,
  signal: AbortSignal,
  stratify?: boolean,
): Promise<Record<string, unknown> | null> {
  if (!v) return Promise.resolve(null);
  if (d.table) return validateTable(v, d.table, d.encoderOptions, y, fitModel, stratify);
  return validate(engine, v, d.x, y, (_e, xx, yy) => fitModel(xx, yy, null), signal, stratify);
}

export function modelRoutes(registry: Registry<Model>) {
  return async (app: FastifyInstance, ctx: ServerContext): Promise<void> => {
    const { ChooseKBody, KmeansBody, LiftBody, LinearBody, LogisticBody, PredictBody } = modelSchemas(ctx.limits);
    const fitted = { 200: ModelSummary, ...errorResponses };

    app.post('/v1/kmeans', { config: COMPUTE, schema: { summary: 'fit KMeans (k-means++, random or given centroids)', body: KmeansBody, response: fitted } }, async (request, reply) => {
      const b = request.body as Body<'KmeansBody'>;
      const d = designOf(b, null);
      const x = d.x;
      checkMatrixLimits(x, 'rows', ctx.limits);
      const init = Array.isArray(b.init) ? matrixFromJson(b.init, 'init') : b.init;
      const sampleWeight = vector(b.sampleWeight, x.rows, 'sampleWeight');
      if (b.validation && sampleWeight) throw new QuiverError('INVALID_ARGUMENT', 'validation does not take sampleWeight yet; leave one of them out');
      const [model, validation] = await compute(ctx, reply, async (signal) => {
        // sampleWeight is refused with validation above, so the folds' fits never see it.
        const fitModel = (xx: Matrix, _y: Float64Array | null, encoder: TableEncoder | null) =>
          ctx.engine.kmeans(xx, { k: b.k, init, nInit: b.nInit, maxIter: b.maxIter, tol: b.tol, seed: b.seed, sampleWeight, encoder, signal });
        const v = await validateEither(ctx.engine, b.validation, d, null, fitModel, signal);
        return [await fitModel(x, null, d.encoder), v] as const;
      });
      const s = await registry.add(model);
      return summarize(s, { labels: model.labels ? Array.from(model.labels) : null, ...(validation ? { validation } : {}) });
    });

    app.post(
      '/v1/kmeans/choose-k',
      { config: COMPUTE, schema: { summary: 'compare values of k: inertia and silhouette per k, the elbow and the best silhouette (no model is kept)', body: ChooseKBody, response: { 200: ChooseKReply, ...errorResponses } } },
      async (request, reply) => {
        const b = request.body as Body<'ChooseKBody'>;
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

    app.post('/v1/linear', { config: COMPUTE, schema: { summary: 'fit OLS or ridge regression', body: LinearBody, response: fitted } }, async (request, reply) => {
      const b = request.body as Body<'LinearBody'>;
      const d = designOf(b, null);
      const x = d.x;
      checkMatrixLimits(x, 'rows', ctx.limits);
      const y = vector(b.target, x.rows, 'target')!;
      const sampleWeight = vector(b.sampleWeight, x.rows, 'sampleWeight');
      if (b.validation && sampleWeight) throw new QuiverError('INVALID_ARGUMENT', 'validation does not take sampleWeight yet; leave one of them out');
      const [model, validation] = await compute(ctx, reply, async (signal) => {
        const fitModel = (xx: Matrix, yy: Float64Array | null, encoder: TableEncoder | null) =>
          ctx.engine.linearRegression(xx, yy!, { l2: b.l2, fitIntercept: b.fitIntercept, accumulate: b.accumulate, encoder, signal });
        const v = await validateEither(ctx.engine, b.validation, d, y, fitModel, signal);
        return [await ctx.engine.linearRegression(x, y, { l2: b.l2, fitIntercept: b.fitIntercept, accumulate: b.accumulate, sampleWeight, featureNames: b.featureNames, encoder: d.encoder, signal }), v] as const;
      });
      return summarize(await registry.add(model), validation ? { validation } : {});
    });

    app.post('/v1/logistic', { config: COMPUTE, schema: { summary: 'fit logistic regression (Newton): binary for 0/1 targets, multiclass (softmax) for class indices 0 … K−1', body: LogisticBody, response: fitted } }, async (request, reply) => {
      const b = request.body as Body<'LogisticBody'>;
      const d = designOf(b, null);
      const x = d.x;
      checkMatrixLimits(x, 'rows', ctx.limits);
      const y = vector(b.target, x.rows, 'target')!;
      const sampleWeight = vector(b.sampleWeight, x.rows, 'sampleWeight');
      if (b.validation && sampleWeight) throw new QuiverError('INVALID_ARGUMENT', 'validation does not take sampleWeight yet; leave one of them out');
      const opts = { l2: b.l2, fitIntercept: b.fitIntercept, classWeight: b.classWeight, maxIter: b.maxIter, tol: b.tol };
      const multiclass = y.some((v) => v !== 0 && v !== 1);
      if (multiclass && b.fitIntercept === false) throw new QuiverError('INVALID_ARGUMENT', 'fitIntercept false is not available for a multiclass target (class indices 0 … K−1)');
      const [model, validation] = await compute(ctx, reply, async (signal) => {
        // Class indices beyond 0 and 1: a multiclass (softmax) model over classes 0 … K−1.
        if (multiclass) {
          const fitMulti = (xx: Matrix, yy: Float64Array | null, encoder: TableEncoder | null, w?: Float64Array) =>
            fitMultinomialLogistic(ctx.engine, xx, yy!, { l2: b.l2, classWeight: b.classWeight, maxIter: b.maxIter, tol: b.tol, sampleWeight: w, featureNames: encoder ? null : b.featureNames, encoder, signal });
          const v = await validateEither(ctx.engine, b.validation, d, y, fitMulti, signal, true);
          return [await fitMulti(x, y, d.encoder, sampleWeight), v] as const;
        }
        const fitModel = (xx: Matrix, yy: Float64Array | null, encoder: TableEncoder | null) => ctx.engine.logisticRegression(xx, yy!, { ...opts, encoder, signal });
        const v = await validateEither(ctx.engine, b.validation, d, y, fitModel, signal, true);
        return [await ctx.engine.logisticRegression(x, y, { ...opts, sampleWeight, featureNames: b.featureNames, encoder: d.encoder, signal }), v] as const;
      });
      return summarize(await registry.add(model), validation ? { validation } : {});
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
      '/v1/models/:id/lift',
      {
        config: COMPUTE,
        schema: {
          summary: 'lift and cumulative gain by decile of a binary logistic model on labelled rows',
          params: ModelId,
          body: LiftBody,
          response: { 200: LiftReply, ...paramErrorResponses },
        },
      },
      async (request, reply) => {
        const s = registry.get((request.params as Static<typeof ModelId>).id);
        if (s.model.kind !== 'logistic') {
          throw new QuiverError('INVALID_ARGUMENT', `model ${s.id} is a ${s.model.kind} model; lift is computed for logistic (propensity) models`, { kind: s.model.kind });
        }
        const b = request.body as Body<'LiftBody'>;
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
        config: COMPUTE,
        schema: {
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
        const pb = request.body as Body<'PredictBody'>;
        if (!isBinaryBody(request.body) && (pb.rows === undefined) === (pb.table === undefined)) {
          throw new QuiverError('INVALID_ARGUMENT', 'give exactly one of rows (numbers) or table ({ columns, records })');
        }
        if (!isBinaryBody(request.body) && pb.table) {
          if (!s.model.columns.encoder) throw new QuiverError('INVALID_ARGUMENT', `model ${s.id} was fitted on numeric rows, so it reads rows, not a table`);
          const table = tableOf(pb.table);
          const m = s.model;
          const p = await compute(ctx, reply, (signal): Promise<Float64Array | Int32Array> => m.scoreF64(table, { signal }));
          return { predictions: Array.from(p) };
        }
        const x = isBinaryBody(request.body) ? matrixFromBinary(request.body).matrix : matrixFromJson(pb.rows!, 'rows');
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
