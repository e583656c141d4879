/**
 * Row normalisation (the first half of cosine similarity and top-k): row tiles, each row scaled to unit
 * length by the backend's `normalizeRows`, its norm recorded. Rows are independent, so tiles are too.
 */
import type { Backend } from '../../backends/types.js';
import type { CallOptions, RowRange, Scheduler, TaskKind } from '../schedule.js';
import type { DenseRegion, F32, MatrixInput, Scope } from '../scope.js';
import type { Matrix } from '../../types.js';

export interface NormalizeTask extends RowRange {
  x: F32;
  cols: number;
  out: F32;
  norms: F32;
}

export const normalizeTask: TaskKind<NormalizeTask, null> = {
  name: 'normalize',
  run(b: Backend, t: NormalizeTask): null {
    const x = b.view(t.x).subarray(t.row0 * t.cols, t.row1 * t.cols);
    const out = b.view(t.out).subarray(t.row0 * t.cols, t.row1 * t.cols);
    b.normalizeRows(x, t.row1 - t.row0, t.cols, out, b.view(t.norms).subarray(t.row0, t.row1));
    return null;
  },
};

export interface RowNormsTask extends RowRange {
  x: F32;
  cols: number;
  norms: F32;
}

export const rowNormsTask: TaskKind<RowNormsTask, null> = {
  name: 'rowNorms',
  run(b: Backend, t: RowNormsTask): null {
    b.rowNorms(b.view(t.x).subarray(t.row0 * t.cols, t.row1 * t.cols), t.row1 - t.row0, t.cols, b.view(t.norms).subarray(t.row0, t.row1));
    return null;
  },
};

/**
 * Unnormalised f32 dot products scaled by inverse norms stay exact to f32 rounding while every norm is within
 * [2^-40, 2^40]: |partial sums| ≤ ‖q‖‖x‖ ≤ 2^80 cannot overflow, and a product lost to underflow (< 2^-126) is
 * below 2^-46 of ‖q‖‖x‖. Outside that range cosine falls back to normalised copies.
 */
const SCALE_MIN = 2 ** -40;
const SCALE_MAX = 2 ** 40;

/**
 * The inverse row norms of `src` (f32; a zero row gets 0, so its scores are 0 as with a normalised copy), or
 * null when a norm lies outside the range where scaled scores are safe (then the caller normalises copies).
 */
export async function inverseNorms(sched: Scheduler, s: Scope, src: DenseRegion, signal?: AbortSignal): Promise<F32 | null> {
  const norms = s.alloc('f32', src.rows);
  const tasks = sched.rowTiles(src.rows, 1024).map((t) => ({ ...t, x: src.region, cols: src.cols, norms }));
  await sched.dispatch(rowNormsTask, tasks, src.rows * src.cols, signal);
  const v = s.view(norms);
  for (let i = 0; i < v.length; i++) {
    const n = v[i]!;
    if (n === 0) continue;
    if (!(n >= SCALE_MIN && n <= SCALE_MAX)) return null;
    v[i] = 1 / n;
  }
  return norms;
}

/** Normalises the rows of `src` into `out` (which may be `src.region`); returns the norms' region. */
export async function normalizeInto(sched: Scheduler, s: Scope, src: DenseRegion, out: F32, signal?: AbortSignal): Promise<F32> {
  const norms = s.alloc('f32', src.rows);
  const tasks = sched.rowTiles(src.rows, 256).map((t) => ({ ...t, x: src.region, cols: src.cols, out, norms }));
  await sched.dispatch(normalizeTask, tasks, src.rows * src.cols, signal);
  return norms;
}

/**
 * A normalised copy of an input; a plain input's job copy is normalised in place (never the caller's memory,
 * which staged and shared inputs are).
 */
export async function normalized(sched: Scheduler, s: Scope, m: MatrixInput, name: string, signal?: AbortSignal): Promise<DenseRegion> {
  return normalizedFrom(sched, s, s.input(m, name), signal);
}

/** `normalized` of an input already taken into the job. */
export async function normalizedFrom(sched: Scheduler, s: Scope, src: DenseRegion, signal?: AbortSignal): Promise<DenseRegion> {
  const out = src.copied ? src.region : s.alloc('f32', src.rows * src.cols);
  await normalizeInto(sched, s, src, out, signal);
  return { region: out, rows: src.rows, cols: src.cols };
}

/** Row-normalised copy of a matrix (zero rows stay zero), with the norms. */
export async function normalizeRows(sched: Scheduler, x: MatrixInput, opts: CallOptions = {}): Promise<{ matrix: Matrix; norms: Float32Array }> {
  return sched.job(async (s) => {
    const src = s.input(x, 'x');
    const out = s.alloc('f32', src.rows * src.cols);
    const norms = await normalizeInto(sched, s, src, out, opts.signal);
    return { matrix: { rows: src.rows, cols: src.cols, data: s.take(out) }, norms: s.take(norms) };
  }, { borrow: opts.signal === undefined });
}

/** The operands of a cosine top-k: the inputs as they are with their inverse norms, or normalised copies. */
export interface CosineOperands {
  q: DenseRegion;
  x: DenseRegion;
  /** Inverse norms of q's and x's rows (both or neither): the kernel scales its scores by them. */
  qScale: F32 | null;
  xScale: F32 | null;
}

/**
 * Cosine operands without copying the rows: the inputs are read in place and the scores scaled by the two
 * inverse norms, so a 100k-row base costs 4 bytes a row, not a second copy of itself. Falls back to normalised
 * copies when a norm is outside the safe range (`inverseNorms`). `x` undefined: a self-join (x is q).
 */
export async function cosineOperands(sched: Scheduler, s: Scope, q: DenseRegion, x: DenseRegion | undefined, signal?: AbortSignal): Promise<CosineOperands> {
  const qScale = await inverseNorms(sched, s, q, signal);
  const xScale = x === undefined ? qScale : qScale && (await inverseNorms(sched, s, x, signal));
  if (qScale && xScale) return { q, x: x ?? q, qScale, xScale };
  const qn = await normalizedFrom(sched, s, q, signal);
  return { q: qn, x: x === undefined ? qn : await normalizedFrom(sched, s, x, signal), qScale: null, xScale: null };
}

/** A top-k task's views of its scales: its own query rows' and every base row's (both null for dot). */
export function scaleViews(b: Backend, t: RowRange & { qScale: F32 | null; xScale: F32 | null }): { qScale: Float32Array | null; xScale: Float32Array | null } {
  return { qScale: t.qScale ? b.view(t.qScale).subarray(t.row0, t.row1) : null, xScale: t.xScale ? b.view(t.xScale) : null };
}
