/**
 * Linear regression, OLS and ridge, through the engine's Gram kernel and Cholesky solve.
 *
 * Minimises Σ_i w_i (y_i − b − x_iᵀβ)² + l2·‖β‖² (the intercept b is never penalised; scikit-learn's
 * Ridge(alpha = l2) has the same objective). The intercept is handled by centring: with the weighted
 * column means x̄ and mean ȳ, β solves (X̄ᵀWX̄ + l2·I) β = X̄ᵀW(y − ȳ) where X̄ = X − x̄, and b = ȳ − x̄ᵀβ.
 * One pass over X: it centres on a shift from a row sample and the exact centring follows (shift.ts).
 * The Gram matrix is scaled to a unit diagonal before the solve; R² and RMSE come from the same small
 * matrices (no extra pass over the rows). An unpenalised rank-deficient X
 * (constant columns, duplicates, exact linear combinations) is refused with the columns to drop.
 */
import type { TableEncoder } from '../data/table.js';
import type { CallOptions, Engine } from '../engine/engine.js';
import { LINK_IDENTITY } from '../backends/types.js';
import { checkMatrix } from '../engine/validate.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { bundleColumns, readBundleOf, writeBundle, type ModelBundle } from './bundle.js';
import {
  checkEncoder,
  checkFeatureNames,
  checkNumberOption,
  checkSampleWeight,
  checkTarget,
  checkTargetShape,
  columnName,
  designOf,
  firstPassChecks,
  linearPredictor,
  type ModelInput,
  nameNonFinite,
} from './common.js';
import type { FittedModel, ModelColumns, ModelSummary } from './model.js';
import { checkFullRank, jacobiScale } from './rank.js';
import { sampleShift, unshift } from './shift.js';

export interface LinearRegressionOptions extends CallOptions {
  /** Ridge penalty on the coefficients (default 0: ordinary least squares). */
  l2?: number;
  /** Fit an intercept by centring (default true). */
  fitIntercept?: boolean;
  sampleWeight?: Float32Array | Float64Array | null;
  /** Column names for messages and reports (default: the encoder's design column names). */
  featureNames?: string[] | null;
  /**
   * The table encoder that built x from a CSV table: saved with the model, so that it scores tables with the
   * same columns, levels and standardisation.
   */
  encoder?: TableEncoder | null;
  /**
   * How the Gram pass sums (default 'f64': exact products of the f32 inputs, f64 sums). 'f32': f32 FMAs
   * over blocks of 128 rows, each block added into f64, about twice as fast on the native backend's SIMD
   * levels (up to 128 columns; the wasm and js backends always sum in f64). See the README's accuracy table.
   */
  accumulate?: 'f64' | 'f32';
}

export interface LinearState {
  coefficients: Float64Array;
  intercept: number;
  /** On the training rows (weighted when fitted with weights). */
  r2: number;
  rmse: number;
  nRows: number;
  params: { l2: number; fitIntercept: boolean };
  featureNames: string[] | null;
  encoder: TableEncoder | null;
}

export class LinearModel implements FittedModel {
  readonly kind = 'linear' as const;
  readonly scoreName = 'predictions';
  readonly coefficients: Float64Array;
  readonly intercept: number;
  readonly r2: number;
  readonly rmse: number;
  readonly nRows: number;
  readonly params: LinearState['params'];
  readonly featureNames: string[] | null;
  /** The table encoder when the model was fitted on a CSV table (the `encoder` fit option). */
  readonly encoder: TableEncoder | null;

  constructor(
    private readonly engine: Engine,
    s: LinearState,
  ) {
    this.coefficients = s.coefficients;
    this.intercept = s.intercept;
    this.r2 = s.r2;
    this.rmse = s.rmse;
    this.nRows = s.nRows;
    this.params = s.params;
    this.featureNames = s.featureNames;
    this.encoder = s.encoder;
  }

  /** x·β + b for each row (batch scoring through the engine's matvec). */
  async predict(x: ModelInput, opts: CallOptions = {}): Promise<Float32Array> {
    const m = designOf(x, this.encoder, this.coefficients.length, this.featureNames);
    return this.engine.matvec(m, this.coefficients, this.intercept, LINK_IDENTITY, opts);
  }

  /** The predictions (what `quiver predict` writes). */
  score(x: ModelInput, opts: CallOptions = {}): Promise<Float32Array> {
    return this.predict(x, opts);
  }

  /** The predictions in f64. */
  async scoreF64(x: ModelInput, opts: CallOptions = {}): Promise<Float64Array> {
    const m = designOf(x, this.encoder, this.coefficients.length, this.featureNames);
    return linearPredictor(this.engine, m, this.coefficients, this.intercept, opts.signal);
  }

  get columns(): ModelColumns {
    return { count: this.coefficients.length, names: this.featureNames, encoder: this.encoder };
  }

  summary(): ModelSummary {
    return {
      kind: this.kind,
      cols: this.coefficients.length,
      coefficients: Array.from(this.coefficients),
      intercept: this.intercept,
      r2: this.r2,
      rmse: this.rmse,
      nRows: this.nRows,
      featureNames: this.featureNames,
    };
  }

  toBundle(): ModelBundle {
    return {
      kind: 'linear',
      params: { ...this.params, intercept: this.intercept, r2: this.r2, rmse: this.rmse, nRows: this.nRows, featureNames: this.featureNames },
      arrays: { coefficients: { data: this.coefficients, shape: [this.coefficients.length] } },
      encoder: this.encoder?.toJSON() ?? null,
    };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): LinearModel {
    const c = b.arrays['coefficients'];
    if (!c || !(c.data instanceof Float64Array)) throw new QuiverError('INVALID_ARGUMENT', `${source}: a linear model needs f64 coefficients`);
    const p = b.params;
    return new LinearModel(engine, {
      coefficients: c.data,
      intercept: Number(p['intercept']),
      r2: Number(p['r2']),
      rmse: Number(p['rmse']),
      nRows: Number(p['nRows']),
      params: { l2: Number(p['l2'] ?? 0), fitIntercept: p['fitIntercept'] !== false },
      ...bundleColumns(b, source),
    });
  }

  async save(path: string): Promise<void> {
    await writeBundle(path, this.toBundle());
  }

  /** Reads a linear model written by `save` (see also `loadModel`, which accepts any kind). */
  static async load(path: string, engine: Engine): Promise<LinearModel> {
    return LinearModel.fromBundle(await readBundleOf(path, 'linear'), engine, path);
  }
}

/**
 * Writes v = w∘(y − ȳ) (ȳ = 0 without an intercept) and returns the sums the fit needs: ȳ, the weighted mean of
 * y (for R² either way), Σw, Σ w (y − ȳ)² and Σ v (0 up to rounding with an intercept; the shift's correction
 * uses it). Unweighted rows go through `shiftedSums` (four partial sums, no branch per row): this runs on the
 * calling thread before the pass can start (W4: 1M rows). A NaN or ±Infinity in y makes ȳ or Σ w (y − ȳ)²
 * non-finite, which is how the caller finds one without a scan of its own.
 */
function centredTarget(y: Float64Array | Float32Array, w: Float64Array | null, fitIntercept: boolean, v: Float64Array): { yMean: number; ybar: number; sw: number; syy: number; sv: number } {
  const n = y.length;
  if (!w) {
    // Without an intercept one pass does it: ȳ is not subtracted (y − 0 = y), and Σ v is Σ y. With one, a first
    // pass of the same loop takes Σ y (its v and Σ y² are overwritten and unused).
    const sy = fitIntercept ? shiftedSums(y, 0, v).s : 0;
    const yMean = sy / n;
    const { s, ss } = shiftedSums(y, yMean, v);
    return fitIntercept ? { yMean, ybar: yMean, sw: n, syy: ss, sv: s } : { yMean: 0, ybar: s / n, sw: n, syy: ss, sv: s };
  }
  let sw = 0;
  let sy = 0;
  if (!fitIntercept) {
    // One pass: v = w∘y, with the same products and sums in the same order as the two passes below.
    let syy = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i]!;
      const yi = y[i]!;
      const vi = wi * yi;
      v[i] = vi;
      sw += wi;
      sy += vi;
      syy += vi * yi;
    }
    return { yMean: 0, ybar: sy / sw, sw, syy, sv: sy };
  }
  for (let i = 0; i < n; i++) {
    sw += w[i]!;
    sy += w[i]! * y[i]!;
  }
  const ybar = sy / sw;
  const yMean = ybar;
  let syy = 0;
  let sv = 0;
  for (let i = 0; i < n; i++) {
    const d = y[i]! - yMean;
    const vi = w[i]! * d;
    v[i] = vi;
    sv += vi;
    syy += vi * d;
  }
  return { yMean, ybar, sw, syy, sv };
}

/**
 * v = y − mean, and Σ v and Σ v² in four interleaved partial sums each, added pairwise at the end: four independent
 * chains instead of one, so the loop runs at the memory's pace rather than the adder's latency (1M values: about
 * 0.9 against 1.5 ms on the AMD EPYC, avx512f); no less accurate than one chain.
 */
function shiftedSums(y: Float64Array | Float32Array, mean: number, v: Float64Array): { s: number; ss: number } {
  const n = y.length;
  const m = n - (n % 4);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let q0 = 0;
  let q1 = 0;
  let q2 = 0;
  let q3 = 0;
  for (let i = 0; i < m; i += 4) {
    const a = y[i]! - mean;
    const b = y[i + 1]! - mean;
    const c = y[i + 2]! - mean;
    const d = y[i + 3]! - mean;
    v[i] = a;
    v[i + 1] = b;
    v[i + 2] = c;
    v[i + 3] = d;
    s0 += a;
    s1 += b;
    s2 += c;
    s3 += d;
    q0 += a * a;
    q1 += b * b;
    q2 += c * c;
    q3 += d * d;
  }
  for (let i = m; i < n; i++) {
    const a = y[i]! - mean;
    v[i] = a;
    s0 += a;
    q0 += a * a;
  }
  return { s: s0 + s1 + (s2 + s3), ss: q0 + q1 + (q2 + q3) };
}

export async function fitLinearRegression(engine: Engine, x: Matrix, y: Float32Array | Float64Array, opts: LinearRegressionOptions = {}): Promise<LinearModel> {
  checkMatrix(x, 'x', false);
  const n = x.rows;
  const w = checkSampleWeight(opts.sampleWeight, n);
  const accumulate = opts.accumulate ?? 'f64';
  if (accumulate !== 'f64' && accumulate !== 'f32') throw new QuiverError('INVALID_ARGUMENT', `accumulate must be 'f64' or 'f32', got ${String(accumulate)}`);
  // x is read in place when the workers can (engine memory, shared arrays), else copied once. Its values are
  // checked by the one pass over the rows (the Gram matrix's diagonal is non-finite exactly when some value
  // with a positive weight is), not by a scan of their own; see firstPassChecks.
  // A plain array is borrowed (read in place) rather than copied where the backend can, unless the call can be
  // aborted (see StageOptions.borrow): released in the finally below, after every pass has ended.
  const staged = engine.stage(x, 'x', { checkValues: !firstPassChecks(w), borrow: opts.signal === undefined });
  let vBuffer: { release(): void } | null = null;
  try {
    const p = x.cols;
    // y's values are checked through the sums centredTarget takes (below), not by a scan of their own.
    const yy = checkTargetShape(y, n);
    const l2 = checkNumberOption(opts.l2, 'l2', 0, 0);
    const fitIntercept = opts.fitIntercept ?? true;
    const encoder = checkEncoder(opts.encoder, p);
    const names = checkFeatureNames(opts.featureNames ?? encoder?.features, p);
    // The shift the pass centres on; a non-finite sampled value is named here (the same error the pass gives).
    const shift = fitIntercept ? sampleShift(x, w) : null;
    if (shift) nameNonFinite(x, shift);
    // gram's v is not multiplied by the weights: pass w∘(y − ȳ) for X̄ᵀW(y − ȳ). It is built in engine memory,
    // which the pass reads in place (recycled pages, no copy: 8 MB on W4), and given back in the finally below.
    const vb = engine.allocVector(n);
    vBuffer = vb;
    const v = vb.data;
    const { yMean, ybar, sw, syy, sv } = centredTarget(yy, w, fitIntercept, v);
    // A non-finite value makes these non-finite; the scan then names its row (finite values whose sums overflow
    // pass it, as they passed the scan before).
    if (!(Number.isFinite(ybar) && Number.isFinite(syy))) {
      checkTarget(yy, n);
      // Every y finite, but the sums overflowed: fine for the pass unless some v_i = w_i (y_i − ȳ) overflowed too.
      const at = v.findIndex((vi) => !Number.isFinite(vi));
      if (at >= 0) {
        throw new QuiverError(
          'NON_FINITE',
          `y is too large to fit: ${w ? 'w·(y − mean)' : 'y − mean'} overflows float64 at row ${at} (y = ${yy[at]}); rescale y (divide it by a power of ten) and the coefficients scale with it`,
          { row: at },
        );
      }
    }
    // The pass need not scan its vectors again: w was checked above, and every v_i is finite (a finite Σ v (y − ȳ)
    // implies it, since an infinite v_i makes its term infinite or NaN; else the scan above). The shift is still
    // scanned there (a weighted mean of finite values can overflow).
    const pass = (mode: 'f64' | 'f32') =>
      engine.gram(staged, { w, center: shift, v, sums: shift !== null, accumulate: mode, signal: opts.signal, checkValues: false });
    let r = await pass(accumulate);
    nameNonFinite(x, r.g);
    if (r.sums) nameNonFinite(x, r.sums);
    // Every value finite but an f32 block sum overflowed (values beyond ~1e19, or a large y in Xᵀv, or large
    // weights in the column sums): the f64 sums cannot.
    const finite = (a: Float64Array | null | undefined) => !a || a.every(Number.isFinite);
    if (accumulate === 'f32' && !(finite(r.g) && finite(r.xty) && finite(r.sums))) r = await pass('f64');
    const { g, xty } = r;
    const center = shift ? unshift(shift, g, xty, r.sums!, sw, sv) : null;
    const b = xty!;
    if (l2 === 0) checkFullRank(x, g, names, fitIntercept, 'least squares');
    const gram = g.slice();
    for (let j = 0; j < p; j++) g[j * p + j]! += l2;
    const beta = await solveScaled(engine, g, b, p, names, opts);
    let intercept = 0;
    if (center) {
      intercept = yMean;
      for (let j = 0; j < p; j++) intercept -= center[j]! * beta[j]!;
    }
    // Residual sum of squares from the small matrices, without another pass over the rows:
    // Σ w (y − ȳ − X̄β)² = Σ w (y − ȳ)² − 2βᵀX̄ᵀW(y − ȳ) + βᵀX̄ᵀWX̄β.
    let btb = 0;
    let bgb = 0;
    for (let a = 0; a < p; a++) {
      btb += beta[a]! * b[a]!;
      let row = 0;
      for (let c = 0; c < p; c++) row += gram[a * p + c]! * beta[c]!;
      bgb += beta[a]! * row;
    }
    const rss = Math.max(0, syy - 2 * btb + bgb);
    const tss = fitIntercept ? syy : syy - sw * ybar * ybar;
    return new LinearModel(engine, {
      coefficients: beta,
      intercept,
      r2: tss > 0 ? 1 - rss / tss : rss === 0 ? 1 : 0,
      rmse: Math.sqrt(rss / sw),
      nRows: n,
      params: { l2, fitIntercept },
      featureNames: names,
      encoder,
    });
  } finally {
    vBuffer?.release();
    staged.release();
  }
}

/**
 * Solves G β = b through the engine's Cholesky after scaling G to a unit diagonal; a non-positive pivot
 * becomes an error that names the column and the fix.
 */
export async function solveScaled(engine: Engine, g: Float64Array, b: Float64Array, p: number, names: readonly string[] | null, opts: CallOptions): Promise<Float64Array> {
  const { scaled, s } = jacobiScale(g, p);
  const rhs = new Float64Array(p);
  for (let j = 0; j < p; j++) rhs[j] = b[j]! * s[j]!;
  let z: Float64Array;
  try {
    z = await engine.choleskySolve(scaled, p, rhs, 1, opts);
  } catch (err) {
    const e = QuiverError.from(err);
    if (e.code !== 'NOT_POSITIVE_DEFINITE') throw e;
    const pivot = typeof e.details?.['pivot'] === 'number' ? (e.details['pivot'] as number) : -1;
    throw new QuiverError(
      'NOT_POSITIVE_DEFINITE',
      `the system is singular at ${pivot >= 0 ? columnName(names, pivot) : 'some column'}: that column is (nearly) a linear combination of the others; drop it, or add an L2 penalty`,
      { pivot, column: pivot >= 0 ? (names?.[pivot] ?? pivot) : null },
    );
  }
  for (let j = 0; j < p; j++) z[j] = z[j]! * s[j]!;
  return z;
}
