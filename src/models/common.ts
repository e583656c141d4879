/** Checks and small helpers shared by the models: options, targets, weights and model inputs. */
import type { CsvTable } from '../data/csv.js';
import { TableEncoder } from '../data/table.js';
import type { Engine, StagedMatrix } from '../engine/engine.js';
import { checkFinite, checkMatrix } from '../engine/validate.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';

/** What a fitted model scores: a matrix of its design columns, or a table when it was fitted on one. */
export type ModelInput = Matrix | CsvTable;

export function isTable(x: ModelInput): x is CsvTable {
  return typeof (x as CsvTable).column === 'function';
}

/**
 * The design matrix for a model input: a table goes through the model's encoder (same columns, same
 * levels, same standardisation); a matrix must have the model's width (and is standardised if the
 * encoder says so).
 */
export function designOf(x: ModelInput, encoder: TableEncoder | null, nFeatures: number, featureNames: readonly string[] | null): Matrix {
  if (isTable(x)) {
    if (!encoder) {
      throw new QuiverError('INVALID_ARGUMENT', `this model was fitted on a matrix, not a table, so it cannot read the columns of ${x.source}; pass a matrix with ${nFeatures} columns`);
    }
    return encoder.encode(x);
  }
  checkMatrix(x, 'x');
  if (encoder) return encoder.encodeMatrix(x, 'the input');
  if (x.cols !== nFeatures) {
    const names = featureNames ? ` (${featureNames.slice(0, 8).join(', ')}${featureNames.length > 8 ? ', …' : ''})` : '';
    throw new QuiverError('SHAPE_MISMATCH', `the model expects ${nFeatures} columns${names} but the input has ${x.cols}; pass the columns the model was fitted on`, {
      expected: nFeatures,
      got: x.cols,
    });
  }
  return x;
}

/**
 * The shape half of `checkMatrix` (object, dimensions, Float32Array of the right length), for callers that
 * stage a copy of the data right away: staging scans the values for NaN and ±Infinity.
 */
export function checkMatrixShape(m: unknown, name: string): asserts m is Matrix {
  const ok =
    typeof m === 'object' &&
    m !== null &&
    (m as Matrix).data instanceof Float32Array &&
    Number.isInteger((m as Matrix).rows) &&
    Number.isInteger((m as Matrix).cols) &&
    (m as Matrix).rows > 0 &&
    (m as Matrix).cols > 0 &&
    (m as Matrix).data.length === (m as Matrix).rows * (m as Matrix).cols;
  // The full check gives the precise message when something is wrong.
  if (!ok) checkMatrix(m, name);
}

export function checkNumberOption(v: unknown, name: string, min: number, def: number, exclusiveMin = false): number {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (exclusiveMin && v === min)) {
    throw new QuiverError('INVALID_ARGUMENT', `${name} must be a finite number ${exclusiveMin ? '>' : '≥'} ${min} (got ${String(v)})`);
  }
  return v;
}

export function checkIntOption(v: unknown, name: string, min: number, def: number): number {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new QuiverError('INVALID_ARGUMENT', `${name} must be a whole number ≥ ${min} (got ${String(v)})`);
  }
  return v;
}

/** y's type and length (`checkTarget` without the scan of its values). */
export function checkTargetShape(y: unknown, n: number): Float64Array | Float32Array {
  if (!(y instanceof Float64Array) && !(y instanceof Float32Array)) {
    throw new QuiverError('INVALID_ARGUMENT', 'y must be a Float32Array or Float64Array with one value per row');
  }
  if (y.length !== n) throw new QuiverError('SHAPE_MISMATCH', `y has ${y.length} values but x has ${n} rows; they must match`, { length: y.length, rows: n });
  return y;
}

/** A target vector as f64: one finite value per row. */
export function checkTarget(y: unknown, n: number): Float64Array {
  const t = checkTargetShape(y, n);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(t[i]!)) {
      throw new QuiverError('NON_FINITE', `y has a non-finite value (${t[i]}) at row ${i}; remove the row or fill it in`, { row: i });
    }
  }
  return t instanceof Float64Array ? t : Float64Array.from(t);
}

/** Sample weights as f64: finite, ≥ 0, not all zero. Null means all ones. */
export function checkSampleWeight(w: unknown, n: number): Float64Array | null {
  if (w === undefined || w === null) return null;
  if (!(w instanceof Float64Array) && !(w instanceof Float32Array)) {
    throw new QuiverError('INVALID_ARGUMENT', 'sampleWeight must be a Float32Array or Float64Array with one weight per row');
  }
  if (w.length !== n) throw new QuiverError('SHAPE_MISMATCH', `sampleWeight has ${w.length} values but x has ${n} rows`, { length: w.length, rows: n });
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = w[i]!;
    if (!Number.isFinite(v) || v < 0) {
      throw new QuiverError('INVALID_ARGUMENT', `sampleWeight[${i}] is ${v}; weights must be finite and ≥ 0`, { row: i });
    }
    sum += v;
  }
  if (!(sum > 0)) throw new QuiverError('INVALID_ARGUMENT', 'sampleWeight is zero for every row; at least one row needs a positive weight');
  return Float64Array.from(w);
}

/**
 * Whether a fit may leave the NaN/±Infinity check of x to its first pass over the rows (a sum over every
 * value, non-finite exactly when some value is): only when no row weight is zero, since a zero-weight row
 * may be skipped by that pass. Otherwise x is scanned when staged.
 */
export function firstPassChecks(w: ArrayLike<number> | null | undefined): boolean {
  if (!w) return true;
  for (let i = 0; i < w.length; i++) if (!(w[i]! > 0)) return false;
  return true;
}

/**
 * After a fit's first pass over x left a non-finite figure: the scan that names x's first NaN/±Infinity
 * (the same NON_FINITE error as a check before the pass). Returns when every value of x is finite (an
 * overflow of finite values), so the caller's own checks decide.
 */
export function nameNonFinite(x: Matrix, figures: ArrayLike<number>): void {
  for (let i = 0; i < figures.length; i++) {
    if (!Number.isFinite(figures[i]!)) {
      checkFinite(x.data, 'x', x.cols);
      return;
    }
  }
}

/** Names for messages: the given feature names, or "column j". */
export function columnName(names: readonly string[] | null | undefined, j: number): string {
  const n = names?.[j];
  return n === undefined ? `column ${j}` : `"${n}"`;
}

/**
 * The `encoder` fit option: a TableEncoder whose design columns are the columns of x (null when absent), so
 * that the model it is saved with scores tables the way x was built.
 */
export function checkEncoder(encoder: unknown, cols: number): TableEncoder | null {
  if (encoder === undefined || encoder === null) return null;
  if (!(encoder instanceof TableEncoder)) {
    throw new QuiverError('INVALID_ARGUMENT', 'encoder must be the TableEncoder that built x (TableEncoder.fit, or tableToDesign), or null');
  }
  if (encoder.features.length !== cols) {
    throw new QuiverError('SHAPE_MISMATCH', `the encoder makes ${encoder.features.length} design columns but x has ${cols}; pass the x that this encoder built`, {
      expected: encoder.features.length,
      got: cols,
    });
  }
  return encoder;
}

export function checkFeatureNames(names: unknown, cols: number): string[] | null {
  if (names === undefined || names === null) return null;
  if (!Array.isArray(names) || names.length !== cols || names.some((s) => typeof s !== 'string')) {
    throw new QuiverError('INVALID_ARGUMENT', `featureNames must be ${cols} strings, one per column of x`);
  }
  return names as string[];
}

/**
 * z = x·β + b per row in f64, through the engine's fused logistic pass (its z output is f64; the loss it also
 * computes against a zero target is ignored). matvec stores f32, which rounds p = 1 − 1.5e-8 to exactly 1.
 */
export async function linearPredictor(engine: Engine, x: Matrix | StagedMatrix, beta: Float64Array, bias: number, signal?: AbortSignal): Promise<Float64Array> {
  const n = x.rows;
  const z = new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8), 0, n);
  if (n === 0) return z;
  await engine.logisticPass(x, new Float64Array(n), null, beta, bias, { hessian: false, z, signal });
  return z;
}

/** The logistic function in f64, without overflow for large |z|. */
export function sigmoid64(z: Float64Array): Float64Array {
  const p = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const v = z[i]!;
    if (v >= 0) p[i] = 1 / (1 + Math.exp(-v));
    else {
      const e = Math.exp(v);
      p[i] = e / (1 + e);
    }
  }
  return p;
}
