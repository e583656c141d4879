/**
 * EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the item-item weight
 * matrix B with a zero diagonal that minimises ‖X − XB‖² + λ‖B‖², in closed form
 *   P = (XᵀX + λI)⁻¹,   B = I − P·diag(1/diag(P))   (B_ij = −P_ij / P_jj for i ≠ j, B_jj = 0).
 * One items × items f64 buffer in engine shared memory holds everything in turn (see ease-memory.ts):
 *   - G = XᵀX + λI, summed straight from the sparse rows (Σ_u nnz(u)² multiply-adds, users in order), which on
 *     sparse implicit data is orders of magnitude less work than a dense Gram over user blocks (users·items²);
 *   - P = G⁻¹ in place: the engine's blocked Cholesky inverse on the pool (`Engine.choleskyInverse`);
 *   - B in place (row-major), then compacted to f32 into the first half of the same buffer: the model's weights.
 * Scores for user u: x_u·B over all items, items the user has left out (the engine's sparse scoring kernel,
 * B's rows as a CSR matrix whose values are the weights themselves).
 *
 * `minItemSupport` drops items with fewer training interactions before the fit: they get no row or column in
 * B, so they are never recommended and add nothing to a user's scores; a user whose every item was dropped
 * gets no EASE recommendations (an empty list). The model keeps the full catalogue's ids and indices.
 */
import type { Interactions } from '../data/ratings.js';
import type { Engine, ProgressEvent } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix } from '../types.js';
import type { ModelBundle } from './bundle.js';
import { defaultEaseBudget, easeBytes, easeItemBytes, fmtBytes } from './ease-memory.js';
import { checkInteractions, checkNeighbors, Recommender, type RecommenderState, type ScoredItem, type ScoringOperands, stateFromBundle } from './recommender.js';

export { defaultEaseBudget, easeBytes } from './ease-memory.js';

export interface EaseOptions {
  /** L2 penalty λ (default 500, Steck's order of magnitude for MovieLens-sized data). */
  lambda?: number;
  /** Bytes the fit may take at its peak (default: `defaultEaseBudget()`, 75% of the machine's memory). */
  memoryBudget?: number;
  /** Items with fewer training interactions are left out of the model (default 1: every item is kept). */
  minItemSupport?: number;
  /**
   * 'f64' (default): the Gram matrix and its inverse in f64, the weights rounded to f32 at the end. 'f32': the
   * whole solve in f32, in half the memory (see the README for its measured effect on ranking quality).
   */
  precision?: 'f64' | 'f32';
  /** Called per block of users of the Gram matrix and per tile column of the factorisation and inverse. */
  onProgress?: (p: ProgressEvent) => void;
  signal?: AbortSignal;
}

export const EASE_DEFAULTS = { lambda: 500, minItemSupport: 1, precision: 'f64' as const };
/** Users per Gram progress report. */
const GRAM_BLOCK_USERS = 4096;

export class EaseModel extends Recommender {
  readonly kind = 'ease' as const;
  /** kept × kept, row-major, f32, zero diagonal (kept = all items unless minItemSupport dropped some). */
  readonly weights: Float32Array;
  /** The catalogue indices of B's rows and columns, ascending; null when every item is kept. */
  readonly kept: Int32Array | null;
  readonly options: { lambda: number; minItemSupport: number; precision: 'f64' | 'f32' };
  readonly #dense: CsrMatrix;

  constructor(
    engine: Engine,
    state: RecommenderState,
    weights: Float32Array,
    options: { lambda: number; minItemSupport?: number; precision?: 'f64' | 'f32' },
    kept: Int32Array | null = null,
  ) {
    super(engine, state);
    const n = state.itemIds.length;
    const m = kept ? kept.length : n;
    if (weights.length !== m * m) throw new QuiverError('SHAPE_MISMATCH', `EASE weights must be ${m} × ${m}`);
    this.weights = weights;
    this.kept = kept;
    this.options = { lambda: options.lambda, minItemSupport: options.minItemSupport ?? 1, precision: options.precision ?? 'f64' };
    // B's rows as a CSR matrix over the whole catalogue (dropped items: empty rows, no column). Every entry is
    // stored, the zero diagonal too, so the values are the weights array itself (no copy); a zero term adds
    // nothing to a score.
    const indptr = new Int32Array(n + 1);
    const indices = new Int32Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) indices[i * m + j] = kept ? kept[j]! : j;
    }
    let r = 0;
    for (let i = 0; i < m; i++) {
      const row = kept ? kept[i]! : i;
      while (r < row) indptr[++r] = i * m;
      indptr[++r] = (i + 1) * m;
    }
    while (r < n) indptr[++r] = m * m;
    this.#dense = { rows: n, cols: n, indptr, indices, data: weights };
  }

  protected operands(): ScoringOperands {
    return { a: this.train, m: this.#dense };
  }

  /** Items with the largest weights B[item, j]: how much having `item` raises j's score (none for a dropped item). */
  async similarItems(item: string | number, n: number): Promise<ScoredItem[]> {
    const full = this.itemIndex(item);
    checkNeighbors(n, 'n');
    const m = this.kept ? this.kept.length : this.items;
    const i = this.kept ? localIndex(this.kept, full) : full;
    if (i < 0) return [];
    const row = this.weights.subarray(i * m, (i + 1) * m);
    const order = Array.from({ length: m }, (_, j) => j).filter((j) => j !== i);
    order.sort((a, b) => row[b]! - row[a]! || a - b);
    return order.slice(0, n).map((j) => ({ item: this.itemIds[this.kept ? this.kept[j]! : j]!, score: row[j]! }));
  }

  protected bundleParts(): { params: Record<string, unknown>; arrays: ModelBundle['arrays'] } {
    const m = this.kept ? this.kept.length : this.items;
    const arrays: ModelBundle['arrays'] = { weights: { data: this.weights, shape: [m, m] } };
    if (this.kept) arrays['kept'] = { data: this.kept, shape: [m] };
    return { params: { ...this.options }, arrays };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): EaseModel {
    const state = stateFromBundle(b, source);
    const w = b.arrays['weights']?.data;
    if (!(w instanceof Float32Array)) throw new QuiverError('INVALID_ARGUMENT', `${source}: the EASE weights are missing`);
    const kept = b.arrays['kept']?.data ?? null;
    if (kept !== null && !(kept instanceof Int32Array)) throw new QuiverError('INVALID_ARGUMENT', `${source}: the EASE item list must be i32`);
    const minItemSupport = b.params['minItemSupport'] === undefined ? 1 : Number(b.params['minItemSupport']);
    const precision = b.params['precision'] === 'f32' ? 'f32' : 'f64';
    return new EaseModel(engine, state, w, { lambda: Number(b.params['lambda']), minItemSupport, precision }, kept);
  }
}

function localIndex(kept: Int32Array, full: number): number {
  let lo = 0;
  let hi = kept.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = kept[mid]!;
    if (v === full) return mid;
    if (v < full) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Catalogue indices of the items with at least `min` training interactions, or null when that is all of them. */
function keptItems(x: CsrMatrix, min: number): Int32Array | null {
  if (min <= 1) return null;
  const count = new Int32Array(x.cols);
  for (let p = 0; p < x.indptr[x.rows]!; p++) count[x.indices[p]!]!++;
  const kept: number[] = [];
  for (let j = 0; j < x.cols; j++) if (count[j]! >= min) kept.push(j);
  return kept.length === x.cols ? null : Int32Array.from(kept);
}

/** Fits EASE on interactions (users × items). */
export async function fitEase(engine: Engine, data: Interactions | RecommenderState, opts: EaseOptions = {}): Promise<EaseModel> {
  const state = checkInteractions(data, 'ease');
  const lambda = opts.lambda ?? EASE_DEFAULTS.lambda;
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda <= 0) {
    throw new QuiverError('INVALID_ARGUMENT', `lambda must be a number > 0 (got ${String(lambda)})`);
  }
  const minItemSupport = opts.minItemSupport ?? EASE_DEFAULTS.minItemSupport;
  if (typeof minItemSupport !== 'number' || !Number.isInteger(minItemSupport) || minItemSupport < 1) {
    throw new QuiverError('INVALID_ARGUMENT', `minItemSupport must be a whole number ≥ 1 (got ${String(minItemSupport)})`);
  }
  const precision = opts.precision ?? EASE_DEFAULTS.precision;
  if (precision !== 'f64' && precision !== 'f32') throw new QuiverError('INVALID_ARGUMENT', `precision must be 'f64' or 'f32' (got ${String(precision)})`);
  const x = state.train;
  const kept = keptItems(x, minItemSupport);
  const n = kept ? kept.length : x.cols;
  if (n < 2) {
    throw new QuiverError('INVALID_ARGUMENT', kept ? `EASE needs at least two items; only ${n} have ${minItemSupport} or more interactions (lower minItemSupport)` : 'EASE needs at least two items');
  }
  const def = opts.memoryBudget === undefined ? defaultEaseBudget() : null;
  const budget = opts.memoryBudget ?? def!.bytes;
  const backend = engine.info().backend;
  const need = easeBytes(n, backend, precision);
  if (need > budget) {
    const where = def ? `the default memory budget of ${fmtBytes(budget)} (${def.source})` : `the memory budget of ${fmtBytes(budget)}`;
    throw new QuiverError(
      'TOO_LARGE',
      `EASE needs dense item × item matrices: ${n} items take about ${fmtBytes(need)} (${easeItemBytes(backend, precision)} · items² bytes and the solve's scratch), over ${where}; raise the budget (--memory-budget), filter the catalogue, or use itemknn`,
      { items: n, bytes: need, budget },
    );
  }
  const buf = precision === 'f32' ? engine.allocVectorF32(n * n) : engine.allocVector(n * n);
  let owned = false;
  try {
    const g = buf.data;
    g.fill(0);
    accumulateGram(x, kept, n, g, opts.onProgress);
    for (let i = 0; i < n; i++) g[i * n + i]! += lambda;
    await engine.choleskyInverse(buf, n, { signal: opts.signal, onProgress: opts.onProgress });
    const weights = easeWeightsInPlace(g, n);
    // Native and js regions are SharedArrayBuffers the model may keep; wasm memory is the engine's to reuse.
    owned = weights.buffer === g.buffer && backend !== 'wasm';
    return new EaseModel(engine, state, owned ? weights : weights.slice(), { lambda, minItemSupport, precision }, kept);
  } finally {
    if (!owned) buf.release();
  }
}

/**
 * G's lower triangle (column-major: (r, c) at c·n + r, r ≥ c) += Σ_u x_uᵀx_u over the kept items, users in order.
 */
function accumulateGram(x: CsrMatrix, kept: Int32Array | null, n: number, g: Float64Array | Float32Array, onProgress?: (p: ProgressEvent) => void): void {
  let local: Int32Array | null = null;
  if (kept) {
    local = new Int32Array(x.cols).fill(-1);
    for (let i = 0; i < kept.length; i++) local[kept[i]!] = i;
  }
  const idx = new Int32Array(x.cols);
  const val = new Float64Array(x.cols);
  const blocks = Math.ceil(x.rows / GRAM_BLOCK_USERS);
  for (let u = 0; u < x.rows; u++) {
    let q = 0;
    for (let p = x.indptr[u]!, e = x.indptr[u + 1]!; p < e; p++) {
      const j = local ? local[x.indices[p]!]! : x.indices[p]!;
      if (j < 0) continue;
      idx[q] = j;
      val[q] = x.data[p]!;
      q++;
    }
    for (let s = 0; s < q; s++) {
      const i = idx[s]!;
      const vi = val[s]!;
      for (let t = 0; t < q; t++) {
        const j = idx[t]!;
        if (j >= i) g[i * n + j]! += vi * val[t]!;
      }
    }
    if (onProgress && ((u + 1) % GRAM_BLOCK_USERS === 0 || u + 1 === x.rows)) onProgress({ phase: 'gram', done: Math.ceil((u + 1) / GRAM_BLOCK_USERS), total: blocks });
  }
}

/**
 * P (lower triangle, column-major, as the inverse leaves it) → B = I − P·diag(1/diag P), row-major, in place,
 * then compacted to f32 in the first half of the same buffer (each f32 lands on bytes already read); an f32
 * buffer is the weights as it is.
 */
function easeWeightsInPlace(p: Float64Array | Float32Array, n: number): Float32Array {
  const d = new Float64Array(n);
  for (let j = 0; j < n; j++) d[j] = p[j * n + j]!;
  const T = 64;
  for (let c0 = 0; c0 < n; c0 += T) {
    for (let r0 = c0; r0 < n; r0 += T) {
      for (let c = c0; c < Math.min(n, c0 + T); c++) {
        for (let r = Math.max(r0, c + 1); r < Math.min(n, r0 + T); r++) {
          // P(r, c) is at c·n + r; B[c, r] (row-major) is there too, B[r, c] at r·n + c.
          const v = p[c * n + r]!;
          p[c * n + r] = -v / d[r]!;
          p[r * n + c] = -v / d[c]!;
        }
      }
    }
  }
  for (let j = 0; j < n; j++) p[j * n + j] = 0;
  if (p instanceof Float32Array) return p;
  const w = new Float32Array(p.buffer, p.byteOffset, n * n);
  const CH = 1 << 16;
  for (let k = 0; k < n * n; k += CH) w.set(p.subarray(k, Math.min(n * n, k + CH)), k);
  return w;
}
