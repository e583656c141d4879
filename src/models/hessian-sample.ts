/**
 * The row sample a Newton fit may compute its Hessian on (the binary and the multiclass logistic fits).
 *
 * Why: on many rows the Hessian costs far more per pass than the gradient (one Gram matrix for the binary fit,
 * (K−1)K/2 of them for K classes). Newton's fixed point is where the exact gradient vanishes, whatever
 * positive-definite matrix each step solves with, so a Hessian from one row in m, scaled to the whole
 * weight, reaches the same optimum; only the rate changes (linear with a small ratio near the optimum instead
 * of quadratic), which may cost a step and saves most of every Hessian pass. The rows are strided, not random:
 * the sample, and so the fit, depend on the row count alone (no seed, the same for any thread count).
 */
import type { AllocatedMatrix, Engine, StagedMatrix, StagedVector } from '../engine/engine.js';
import { QuiverError } from '../errors.js';

/** Rows the sampled Hessian aims for by default, for `dim` unknowns: its relative error stays near a few percent. */
export function defaultHessianRows(dim: number): number {
  return Math.max(20_000, 100 * dim);
}

/** The `hessianRows` option checked: the target sample size, or Infinity for 'all' (every row). */
export function checkHessianRows(v: number | 'all' | undefined, dim: number): number {
  if (v === undefined) return defaultHessianRows(dim);
  if (v === 'all') return Infinity;
  if (!Number.isInteger(v) || v < 1) throw new QuiverError('INVALID_ARGUMENT', `hessianRows must be a positive integer or 'all' (got ${String(v)})`);
  return v;
}

/** Consecutive rows per sampled block: a block is read as one run of memory, where single strided rows cost a cache miss each. */
const BLOCK = 8;

/**
 * Smallest stride worth a sample: below it the Hessian pass saves less than three quarters of its work, while
 * the steps lose Newton's quadratic rate (a tight tol would then cost several more steps). Tables under four
 * times the sample size are fitted exactly as without one, with scikit-learn's newton-cholesky iterations.
 */
const MIN_STRIDE = 4;

/**
 * The stride m = ⌊n / target⌋ of the sample, or 0 when m < MIN_STRIDE (then every row is used). The sample is
 * the blocks of BLOCK rows starting at rows 0, BLOCK·m, 2·BLOCK·m, …: one row in m, spread over the whole table.
 */
export function sampleStride(n: number, target: number): number {
  const m = Math.floor(n / target);
  return m >= MIN_STRIDE ? m : 0;
}

/** Rows in the sample of n rows at stride m. */
export function sampleSize(n: number, m: number): number {
  const step = BLOCK * m;
  const full = Math.floor(n / step);
  return full * BLOCK + Math.min(BLOCK, n - full * step);
}

/** The sample's row ranges [r0, r1) of an n-row table at stride m, in order: one walk for rows and values. */
function* sampleBlocks(n: number, m: number): Generator<[number, number]> {
  const step = BLOCK * m;
  for (let r0 = 0; r0 < n; r0 += step) yield [r0, Math.min(n, r0 + BLOCK)];
}

/** The sampled rows of a row-major f32 matrix, copied into engine memory. */
export function sampleRows(engine: Engine, x: { rows: number; cols: number; data: Float32Array }, m: number): AllocatedMatrix {
  const q = x.cols;
  const out = engine.allocMatrix(sampleSize(x.rows, m), q);
  let o = 0;
  for (const [r0, r1] of sampleBlocks(x.rows, m)) {
    out.data.set(x.data.subarray(r0 * q, r1 * q), o);
    o += (r1 - r0) * q;
  }
  return out;
}

/** The sampled values of a per-row vector. */
export function sampleValues(v: ArrayLike<number>, m: number): Float64Array {
  const out = new Float64Array(sampleSize(v.length, m));
  let o = 0;
  for (const [r0, r1] of sampleBlocks(v.length, m)) for (let i = r0; i < r1; i++) out[o++] = v[i]!;
  return out;
}

/** The binary logistic fit's sample: X's sampled rows, their y and row weights staged, a z buffer, Σs / Σs_sample. */
export interface BinarySample {
  xs: StagedMatrix;
  ys: StagedVector;
  ss: StagedVector | null;
  z: Float64Array;
  scale: number;
}

/**
 * The sample for a binary fit of x (rows × p) with targets y ∈ {0, 1} and row weights s (null: all 1, Σs = sSum),
 * or null when the table is too small for one or when a class carries no weight in it (its Hessian would be far
 * from the whole one's). Regions it stages are pushed onto `regions` (the caller releases them).
 */
export function binarySample(
  engine: Engine,
  x: { rows: number; cols: number; data: Float32Array },
  y: ArrayLike<number>,
  s: Float64Array | null,
  sSum: number,
  target: number,
  regions: { release(): void }[],
): BinarySample | null {
  const stride = sampleStride(x.rows, target);
  if (stride === 0) return null;
  const sy = sampleValues(y, stride);
  const sv = s ? sampleValues(s, stride) : null;
  const rows = sy.length;
  let pos = 0;
  let sub = 0;
  for (let r = 0; r < rows; r++) {
    const v = sv ? sv[r]! : 1;
    sub += v;
    if (sy[r] === 1) pos += v;
  }
  if (!(pos > 0 && pos < sub)) return null;
  const xm = sampleRows(engine, x, stride);
  regions.push(xm);
  const xs = engine.stage(xm, 'x', { checkValues: false });
  regions.push(xs);
  const ys = engine.stageVector(sy, 'y');
  regions.push(ys);
  const ss = sv ? engine.stageVector(sv, 'sampleWeight') : null;
  if (ss) regions.push(ss);
  return { xs, ys, ss, z: new Float64Array(new SharedArrayBuffer(rows * 8)), scale: sSum / sub };
}
