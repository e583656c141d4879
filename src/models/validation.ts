/**
 * Measuring a model on rows it did not see: a seeded held-out split or K-fold cross-validation, stratified by
 * the class for 0/1 targets, and the held-out metrics of each kind of model.
 *
 * The row assignment (also in the README, "Validation"), with `rng = new Rng(seed)` and a Fisher–Yates
 * shuffle that walks i = m − 1 … 1 swapping item i with item rng.int(i + 1):
 * - stratified K folds: the classes in ascending order share one rng; the rows of a class, in file order, are
 *   shuffled, and the j-th shuffled row goes to fold (o + j) mod K, where o counts the rows of the earlier
 *   classes. Every fold then holds ⌊n_c/K⌋ or ⌈n_c/K⌉ rows of each class c and the fold sizes differ by at
 *   most one. Plain K folds: all rows shuffled, the j-th to fold j mod K.
 * - held-out fraction f: stratified, per class (ascending, one rng) the first round(f·n_c) shuffled rows are
 *   held out; plain, the first round(f·n) of all rows shuffled.
 * Metrics are computed in f64 on the held-out rows: logistic (binary) auc, logLoss, accuracy, precision and
 * recall (a row is predicted positive when p > threshold; precision is 0 when nothing is predicted positive),
 * linear rmse, mae and r2, kmeans inertia (Σ‖x − c(x)‖² over the held-out rows) and silhouette (on a seeded
 * sample). Cross-validation reports per metric the mean, the population standard deviation (ddof 0) and the
 * per-fold values.
 */
import type { CsvTable } from '../data/csv.js';
import { Rng } from '../data/random.js';
import { type EncoderOptions, TableEncoder, tableRows } from '../data/table.js';
import type { Engine } from '../engine/engine.js';
import { checkMatrix } from '../engine/validate.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import type { ModelInput } from './common.js';
import { isTable } from './common.js';
import { logLoss, r2Score, rmse, rocAuc, silhouetteScore } from './metrics.js';
import type { FittedModel } from './model.js';

/** Row indices (ascending) of one split. */
export interface Split {
  train: Int32Array;
  test: Int32Array;
}

export interface SplitOptions {
  seed?: number;
  /** Keep each class's share in every part (default: true when y holds only 0 and 1). */
  stratify?: boolean;
}

/** Metric name → value (null when undefined on these rows, e.g. a silhouette with one cluster). */
export type Metrics = Record<string, number | null>;

export interface MetricOptions {
  /** A second threshold for accuracy, precision and recall (reported as accuracyAtThreshold, …). */
  threshold?: number;
  /** kmeans: silhouette on a seeded sample of at most this many held-out rows (default 2000). */
  silhouetteSampleSize?: number;
  /** Seed of the silhouette sample (default 0). */
  seed?: number;
  signal?: AbortSignal;
}

export interface CrossValidateOptions extends SplitOptions, MetricOptions {
  folds: number;
}

export interface HoldoutOptions extends SplitOptions, MetricOptions {
  /** The fraction of rows held out, in (0, 1). */
  fraction: number;
}

export interface FoldSummary {
  mean: Record<string, number | null>;
  std: Record<string, number | null>;
  folds: Metrics[];
}

export interface CrossValidationResult {
  method: 'cv';
  folds: number;
  seed: number;
  stratified: boolean;
  /** Held-out rows per fold. */
  foldSizes: number[];
  metrics: FoldSummary;
}

export interface HoldoutResult {
  method: 'holdout';
  fraction: number;
  seed: number;
  stratified: boolean;
  trainRows: number;
  testRows: number;
  metrics: Metrics;
}

type Target = Float32Array | Float64Array;

function isBinary(y: ArrayLike<number>): boolean {
  for (let i = 0; i < y.length; i++) if (y[i] !== 0 && y[i] !== 1) return false;
  return true;
}

function shuffle(rng: Rng, a: Int32Array): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/** Rows of each class in file order, classes ascending. */
function classRows(y: ArrayLike<number>): { label: number; rows: Int32Array }[] {
  const by = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    const list = by.get(v);
    if (list) list.push(i);
    else by.set(v, [i]);
  }
  return [...by.keys()].sort((a, b) => a - b).map((label) => ({ label, rows: Int32Array.from(by.get(label)!) }));
}

function checkSeed(seed: unknown): number {
  if (seed === undefined) return 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) throw new QuiverError('INVALID_ARGUMENT', `seed must be a whole number ≥ 0 (got ${String(seed)})`);
  return seed;
}

function stratifyOf(y: ArrayLike<number> | null, stratify: boolean | undefined): boolean {
  if (stratify === true && !y) throw new QuiverError('INVALID_ARGUMENT', 'stratify needs a target y (the classes to keep in proportion)');
  return stratify ?? (y !== null && isBinary(y));
}

/** The fold (0 … K−1) of every row, by the rule in this file's header. */
export function foldAssignment(n: number, y: ArrayLike<number> | null, opts: SplitOptions & { folds: number }): Int32Array {
  const k = opts.folds;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 2) {
    throw new QuiverError('INVALID_ARGUMENT', `folds must be a whole number ≥ 2 (got ${String(k)}); for one split use a held-out fraction instead`, { folds: k });
  }
  if (y && y.length !== n) throw new QuiverError('SHAPE_MISMATCH', `y has ${y.length} values but x has ${n} rows`);
  if (k > n) throw new QuiverError('INVALID_ARGUMENT', `${k} folds need at least ${k} rows (x has ${n}); use fewer folds`, { folds: k, rows: n });
  const rng = new Rng(checkSeed(opts.seed));
  const fold = new Int32Array(n);
  if (stratifyOf(y, opts.stratify)) {
    const classes = classRows(y!);
    const rarest = classes.reduce((a, b) => (b.rows.length < a.rows.length ? b : a));
    if (k > rarest.rows.length) {
      throw new QuiverError(
        'INVALID_ARGUMENT',
        `${k} stratified folds need at least ${k} rows of every class, but class ${rarest.label} has ${rarest.rows.length}; use at most ${rarest.rows.length} folds`,
        { folds: k, class: rarest.label, rows: rarest.rows.length },
      );
    }
    let o = 0;
    for (const c of classes) {
      shuffle(rng, c.rows);
      for (let j = 0; j < c.rows.length; j++) fold[c.rows[j]!] = (o + j) % k;
      o += c.rows.length;
    }
    return fold;
  }
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  shuffle(rng, rows);
  for (let j = 0; j < n; j++) fold[rows[j]!] = j % k;
  return fold;
}

/** The K train/test splits of K-fold cross-validation (test = one fold). */
export function kFoldSplits(n: number, y: ArrayLike<number> | null, opts: SplitOptions & { folds: number }): Split[] {
  const fold = foldAssignment(n, y, opts);
  return Array.from({ length: opts.folds }, (_, f) => splitOf(fold, (v) => v === f));
}

function splitOf(mark: Int32Array | Uint8Array, isTest: (v: number) => boolean): Split {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < mark.length; i++) (isTest(mark[i]!) ? test : train).push(i);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}

/** One seeded train/test split holding out `fraction` of the rows (of each class, when stratified). */
export function holdoutSplit(n: number, y: ArrayLike<number> | null, opts: SplitOptions & { fraction: number }): Split {
  const f = opts.fraction;
  if (typeof f !== 'number' || !(f > 0 && f < 1)) {
    throw new QuiverError('INVALID_ARGUMENT', `the held-out fraction must be between 0 and 1, both excluded, e.g. 0.25 (got ${String(f)})`, { fraction: f });
  }
  if (y && y.length !== n) throw new QuiverError('SHAPE_MISMATCH', `y has ${y.length} values but x has ${n} rows`);
  const rng = new Rng(checkSeed(opts.seed));
  const test = new Uint8Array(n);
  if (stratifyOf(y, opts.stratify)) {
    for (const c of classRows(y!)) {
      shuffle(rng, c.rows);
      const m = Math.round(f * c.rows.length);
      if (m === c.rows.length) {
        throw new QuiverError(
          'INVALID_ARGUMENT',
          `holding out ${f} of the rows would put all ${m} rows of class ${c.label} in the test part, so the model would never see that class; lower the fraction or add rows of class ${c.label}`,
          { class: c.label, rows: m },
        );
      }
      for (let j = 0; j < m; j++) test[c.rows[j]!] = 1;
    }
  } else {
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    shuffle(rng, rows);
    const m = Math.round(f * n);
    if (m === 0 || m === n) {
      throw new QuiverError('INVALID_ARGUMENT', `holding out ${f} of ${n} rows leaves ${m === 0 ? 'no test' : 'no training'} rows; choose a fraction that leaves rows on both sides`, {
        fraction: f,
        rows: n,
      });
    }
    for (let j = 0; j < m; j++) test[rows[j]!] = 1;
  }
  const s = splitOf(test, (v) => v === 1);
  if (s.test.length === 0) throw new QuiverError('INVALID_ARGUMENT', `holding out ${f} of ${n} rows leaves no test rows; raise the fraction`, { fraction: f, rows: n });
  return s;
}

/** The given rows of a matrix, in the given order. */
export function takeRows(x: Matrix, rows: Int32Array): Matrix {
  const { cols, data } = x;
  const out = new Float32Array(rows.length * cols);
  for (let r = 0; r < rows.length; r++) out.set(data.subarray(rows[r]! * cols, (rows[r]! + 1) * cols), r * cols);
  return { rows: rows.length, cols, data: out };
}

export function takeValues(y: ArrayLike<number>, rows: Int32Array): Float64Array {
  return Float64Array.from(rows, (i) => y[i]!);
}

/** Accuracy, precision and recall with "positive" meaning p > threshold. */
export function confusionMetrics(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number): { accuracy: number; precision: number; recall: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < y.length; i++) {
    const pos = p[i]! > threshold;
    if (y[i] === 1) pos ? tp++ : fn++;
    else pos ? fp++ : tn++;
  }
  return { accuracy: (tp + tn) / y.length, precision: tp + fp === 0 ? 0 : tp / (tp + fp), recall: tp + fn === 0 ? 0 : tp / (tp + fn) };
}

export function meanAbsoluteError(y: ArrayLike<number>, pred: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += Math.abs(y[i]! - pred[i]!);
  return s / y.length;
}

function checkThreshold(t: unknown): number | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== 'number' || !(t >= 0 && t <= 1)) throw new QuiverError('INVALID_ARGUMENT', `threshold must be a probability in [0, 1] (got ${String(t)})`);
  return t;
}

/** The metrics of a fitted model on held-out rows (x a matrix of the model's input columns, or a table). */
export async function heldOutMetrics(model: FittedModel, x: ModelInput, y: ArrayLike<number> | null, opts: MetricOptions = {}): Promise<Metrics> {
  const threshold = checkThreshold(opts.threshold);
  const rows = isTable(x) ? x.rowCount : x.rows;
  if (model.kind === 'kmeans') {
    const km = model as FittedModel & { assign(x: ModelInput, o?: { signal?: AbortSignal }): Promise<{ labels: Int32Array; inertia: number; matrix: Matrix }> };
    const { labels, inertia, matrix } = await km.assign(x, { signal: opts.signal });
    const clusters = new Set(labels).size;
    const silhouette =
      clusters >= 2 && clusters <= Math.min(rows, opts.silhouetteSampleSize ?? 2000) - 1
        ? silhouetteScore(matrix, labels, { sampleSize: opts.silhouetteSampleSize ?? 2000, seed: opts.seed ?? 0 })
        : null;
    return { inertia, silhouette, rows };
  }
  if (!y) throw new QuiverError('INVALID_ARGUMENT', `a ${model.kind} model is measured against a target: pass y`);
  if (y.length !== rows) throw new QuiverError('SHAPE_MISMATCH', `y has ${y.length} values but the held-out input has ${rows} rows`);
  const pred = await model.scoreF64(x, { signal: opts.signal });
  if (model.kind === 'linear') {
    return { rmse: rmse(y, pred), mae: meanAbsoluteError(y, pred), r2: r2Score(y, pred), rows };
  }
  if (model.kind === 'logistic') {
    const at = confusionMetrics(y, pred, 0.5);
    let pos = 0;
    for (let i = 0; i < y.length; i++) pos += y[i] === 1 ? 1 : 0;
    const out: Metrics = {
      auc: pos > 0 && pos < y.length ? rocAuc(y, pred) : null,
      logLoss: logLoss(y, pred),
      accuracy: at.accuracy,
      precision: at.precision,
      recall: at.recall,
    };
    if (threshold !== undefined) {
      const t = confusionMetrics(y, pred, threshold);
      out['threshold'] = threshold;
      out['accuracyAtThreshold'] = t.accuracy;
      out['precisionAtThreshold'] = t.precision;
      out['recallAtThreshold'] = t.recall;
    }
    out['rows'] = rows;
    return out;
  }
  if (model.kind === 'multinomial') {
    const mm = model as FittedModel & { predictProba(x: ModelInput, o?: { signal?: AbortSignal }): Promise<{ rows: number; cols: number; data: Float64Array }> };
    const pr = await mm.predictProba(x, { signal: opts.signal });
    const eps = Number.EPSILON;
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < rows; i++) {
      const o = i * pr.cols;
      const yi = y[i]!;
      loss -= Math.log(Math.min(1 - eps, Math.max(eps, pr.data[o + yi] ?? 0)));
      if (pred[i] === yi) correct++;
    }
    return { logLoss: loss / rows, accuracy: correct / rows, rows };
  }
  throw new QuiverError('INVALID_ARGUMENT', `held-out metrics are defined for kmeans, linear, logistic and multinomial models, not "${model.kind}"`);
}

/** Mean, population standard deviation and per-fold values of each metric (null when any fold has null). */
export function summarizeFolds(folds: Metrics[]): FoldSummary {
  const mean: Record<string, number | null> = {};
  const std: Record<string, number | null> = {};
  for (const key of Object.keys(folds[0] ?? {})) {
    if (key === 'rows' || key === 'threshold') continue;
    const v = folds.map((f) => f[key]);
    if (v.some((x) => x === null || x === undefined)) {
      mean[key] = null;
      std[key] = null;
      continue;
    }
    const xs = v as number[];
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    mean[key] = m;
    std[key] = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
  }
  return { mean, std, folds };
}

/**
 * Runs `measure(split)` for every split of K-fold cross-validation and summarises; the callback fits on the
 * training rows and returns the held-out metrics. Used by `crossValidate` and by callers that rebuild their
 * inputs per fold (the CLI refits the table encoder on each training part).
 */
export async function crossValidateSplits(
  n: number,
  y: ArrayLike<number> | null,
  opts: SplitOptions & { folds: number },
  measure: (s: Split, fold: number) => Promise<Metrics>,
): Promise<CrossValidationResult> {
  const stratified = stratifyOf(y, opts.stratify);
  const splits = kFoldSplits(n, y, { ...opts, stratify: stratified });
  const results: Metrics[] = [];
  for (let f = 0; f < splits.length; f++) results.push(await measure(splits[f]!, f));
  return { method: 'cv', folds: opts.folds, seed: opts.seed ?? 0, stratified, foldSizes: splits.map((s) => s.test.length), metrics: summarizeFolds(results) };
}

/** As `crossValidateSplits`, for one held-out split. */
export async function holdoutSplitMeasure(
  n: number,
  y: ArrayLike<number> | null,
  opts: SplitOptions & { fraction: number },
  measure: (s: Split) => Promise<Metrics>,
): Promise<HoldoutResult> {
  const stratified = stratifyOf(y, opts.stratify);
  const s = holdoutSplit(n, y, { ...opts, stratify: stratified });
  const metrics = await measure(s);
  return { method: 'holdout', fraction: opts.fraction, seed: opts.seed ?? 0, stratified, trainRows: s.train.length, testRows: s.test.length, metrics };
}

/** Fits a model on training rows: `(engine, x, y) => fitLogisticRegression(engine, x, y, { l2: 1 })`. */
export type SupervisedFit = (engine: Engine, x: Matrix, y: Float64Array) => Promise<FittedModel>;
/** Fits a model without a target: `(engine, x) => fitKMeans(engine, x, { k: 5 })`. */
export type UnsupervisedFit = (engine: Engine, x: Matrix) => Promise<FittedModel>;

function prepared(x: Matrix, y: Target | null): { y: Float64Array | null } {
  checkMatrix(x, 'x');
  if (y !== null && !(y instanceof Float32Array) && !(y instanceof Float64Array)) {
    throw new QuiverError('INVALID_ARGUMENT', 'y must be a Float32Array or Float64Array with one value per row (or null for kmeans)');
  }
  if (y && y.length !== x.rows) throw new QuiverError('SHAPE_MISMATCH', `y has ${y.length} values but x has ${x.rows} rows; they must match`);
  return { y: y ? Float64Array.from(y) : null };
}

/**
 * K-fold cross-validation of a fit function on a design matrix: for each fold, fits on the other folds and
 * measures on it (see the header for the folds and the metrics). The fit must not see the held-out rows, so
 * it should not carry an encoder fitted on all rows with standardisation; pass raw columns instead.
 */
export function crossValidate(engine: Engine, fitModel: SupervisedFit, x: Matrix, y: Target, opts: CrossValidateOptions): Promise<CrossValidationResult>;
export function crossValidate(engine: Engine, fitModel: UnsupervisedFit, x: Matrix, y: null, opts: CrossValidateOptions): Promise<CrossValidationResult>;
export async function crossValidate(engine: Engine, fitModel: SupervisedFit | UnsupervisedFit, x: Matrix, y: Target | null, opts: CrossValidateOptions): Promise<CrossValidationResult> {
  const { y: yy } = prepared(x, y);
  return crossValidateSplits(x.rows, yy, opts, async (s) => {
    const model = await (fitModel as SupervisedFit)(engine, takeRows(x, s.train), yy ? takeValues(yy, s.train) : (null as unknown as Float64Array));
    return heldOutMetrics(model, takeRows(x, s.test), yy ? takeValues(yy, s.test) : null, opts);
  });
}

/** Fits on the training part of one seeded split and measures on the held-out rows. */
export function holdoutValidate(engine: Engine, fitModel: SupervisedFit, x: Matrix, y: Target, opts: HoldoutOptions): Promise<HoldoutResult>;
export function holdoutValidate(engine: Engine, fitModel: UnsupervisedFit, x: Matrix, y: null, opts: HoldoutOptions): Promise<HoldoutResult>;
export async function holdoutValidate(engine: Engine, fitModel: SupervisedFit | UnsupervisedFit, x: Matrix, y: Target | null, opts: HoldoutOptions): Promise<HoldoutResult> {
  const { y: yy } = prepared(x, y);
  return holdoutSplitMeasure(x.rows, yy, opts, async (s) => {
    const model = await (fitModel as SupervisedFit)(engine, takeRows(x, s.train), yy ? takeValues(yy, s.train) : (null as unknown as Float64Array));
    return heldOutMetrics(model, takeRows(x, s.test), yy ? takeValues(yy, s.test) : null, opts);
  });
}

/**
 * A measurement over a table: the encoder is refitted on each training part with the same options, the model
 * fitted on its design, and scored on the held-out rows of the table.
 */
export function tableMeasure(
  table: CsvTable,
  encoderOptions: EncoderOptions,
  fitModel: (x: Matrix, y: Float64Array | null, encoder: TableEncoder) => Promise<FittedModel>,
  metricOptions: { threshold?: number; seed?: number },
  onHeldOut?: (model: FittedModel, test: CsvTable, y: Float64Array | null) => Promise<void>,
): (s: Split) => Promise<Metrics> {
  return async (s) => {
    const train = tableRows(table, s.train);
    const test = tableRows(table, s.test);
    const enc = TableEncoder.fit(train, encoderOptions);
    const hasTarget = encoderOptions.target !== undefined;
    const model = await fitModel(enc.encode(train), hasTarget ? enc.target(train) : null, enc);
    const yTest = hasTarget ? enc.target(test) : null;
    await onHeldOut?.(model, test, yTest);
    return heldOutMetrics(model, test as ModelInput, yTest, metricOptions);
  };
}

