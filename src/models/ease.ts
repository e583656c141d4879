/**
 * EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the item-item weight
 * matrix B with a zero diagonal that minimises ‖X − XB‖² + λ‖B‖², in closed form
 *   P = (XᵀX + λI)⁻¹,   B = I − P·diag(1/diag(P))   (B_ij = −P_ij / P_jj for i ≠ j, B_jj = 0).
 * XᵀX comes from the engine's Gram kernel over dense blocks of user rows (f64 sums, block order fixed), P from
 * the engine's Cholesky solve with the identity as right-hand side. Scores for user u: x_u·B over all items,
 * items the user has left out (the engine's sparse scoring kernel, B stored as dense rows).
 *
 * Memory: at its peak (the solve) EASE holds about six dense items × items f64 matrices (the Gram matrix and
 * the engine's working copy of it per concurrent solve, the identity right-hand sides and their working
 * copies, then P), so it refuses (TOO_LARGE, naming the budget) catalogues where 6 · items² · 8 bytes exceeds
 * `memoryBudget` (default 1 GiB, about 4,700 items). The Cholesky factorisations and the n right-hand sides
 * cost about (2/3 + 2)·items³ flops, split in two concurrent kernel calls from 512 items up.
 */
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix } from '../types.js';
import type { ModelBundle } from './bundle.js';
import { checkInteractions, checkNeighbors, Recommender, type RecommenderState, type ScoredItem, type ScoringOperands, stateFromBundle } from './recommender.js';

export interface EaseOptions {
  /** L2 penalty λ (default 500, Steck's order of magnitude for MovieLens-sized data). */
  lambda?: number;
  /** Bytes the dense item matrices may take (default 1 GiB). */
  memoryBudget?: number;
  signal?: AbortSignal;
  /** Fit progress: phase "gram" (users done), then "solve" (columns of the inverse done). */
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
}

export const EASE_DEFAULTS = { lambda: 500, memoryBudget: 2 ** 30 };
/** Dense user rows per Gram call (bounds the dense copy of X). */
const GRAM_BLOCK_BYTES = 64 * 2 ** 20;

/** Peak bytes EASE needs for a catalogue of `items` (see the module comment). */
export function easeBytes(items: number): number {
  return 6 * items * items * 8;
}

export class EaseModel extends Recommender {
  readonly kind = 'ease' as const;
  /** items × items, row-major, f32, zero diagonal. */
  readonly weights: Float32Array;
  readonly options: { lambda: number };
  readonly #dense: CsrMatrix;

  constructor(engine: Engine, state: RecommenderState, weights: Float32Array, options: { lambda: number }) {
    super(engine, state);
    const n = state.itemIds.length;
    if (weights.length !== n * n) throw new QuiverError('SHAPE_MISMATCH', `EASE weights must be items × items (${n} × ${n})`);
    this.weights = weights;
    this.options = options;
    // B's rows as a CSR matrix with every off-diagonal entry, so the sparse scoring kernel applies unchanged.
    const indptr = new Int32Array(n + 1);
    const indices = new Int32Array(n * (n - 1));
    const data = new Float32Array(n * (n - 1));
    let q = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        indices[q] = j;
        data[q] = weights[i * n + j]!;
        q++;
      }
      indptr[i + 1] = q;
    }
    this.#dense = { rows: n, cols: n, indptr, indices, data };
  }

  protected operands(): ScoringOperands {
    return { a: this.train, m: this.#dense };
  }

  /** Items with the largest weights B[item, j]: how much having `item` raises j's score. */
  async similarItems(item: string | number, n: number): Promise<ScoredItem[]> {
    const i = this.itemIndex(item);
    checkNeighbors(n, 'n');
    const row = this.weights.subarray(i * this.items, (i + 1) * this.items);
    const order = Array.from({ length: this.items }, (_, j) => j).filter((j) => j !== i);
    order.sort((a, b) => row[b]! - row[a]! || a - b);
    return order.slice(0, n).map((j) => ({ item: this.itemIds[j]!, score: row[j]! }));
  }

  protected bundleParts(): { params: Record<string, unknown>; arrays: ModelBundle['arrays'] } {
    return { params: { ...this.options }, arrays: { weights: { data: this.weights, shape: [this.items, this.items] } } };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): EaseModel {
    const state = stateFromBundle(b, source);
    const w = b.arrays['weights']?.data;
    if (!(w instanceof Float32Array)) throw new QuiverError('INVALID_ARGUMENT', `${source}: the EASE weights are missing`);
    return new EaseModel(engine, state, w, { lambda: Number(b.params['lambda']) });
  }
}

/** Fits EASE on interactions (users × items). */
export async function fitEase(engine: Engine, data: Interactions | RecommenderState, opts: EaseOptions = {}): Promise<EaseModel> {
  const state = checkInteractions(data, 'ease');
  const lambda = opts.lambda ?? EASE_DEFAULTS.lambda;
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda <= 0) {
    throw new QuiverError('INVALID_ARGUMENT', `lambda must be a number > 0 (got ${String(lambda)})`);
  }
  const budget = opts.memoryBudget ?? EASE_DEFAULTS.memoryBudget;
  const n = state.itemIds.length;
  const need = easeBytes(n);
  if (need > budget) {
    throw new QuiverError(
      'TOO_LARGE',
      `EASE needs dense item × item matrices: ${n} items take about ${fmtBytes(need)}, over the memory budget of ${fmtBytes(budget)}; raise the budget (--memory-budget), filter the catalogue, or use itemknn`,
      { items: n, bytes: need, budget },
    );
  }
  if (n < 2) throw new QuiverError('INVALID_ARGUMENT', 'EASE needs at least two items');
  const x = state.train;
  // G = XᵀX, summed over dense blocks of user rows in block order.
  const g = new Float64Array(n * n);
  const blockRows = Math.max(1, Math.floor(GRAM_BLOCK_BYTES / (4 * n)));
  opts.onProgress?.({ phase: 'gram', done: 0, total: x.rows });
  for (let r0 = 0; r0 < x.rows; r0 += blockRows) {
    const r1 = Math.min(x.rows, r0 + blockRows);
    const block = new Float32Array((r1 - r0) * n);
    for (let r = r0; r < r1; r++) {
      for (let p = x.indptr[r]!, e = x.indptr[r + 1]!; p < e; p++) block[(r - r0) * n + x.indices[p]!] = x.data[p]!;
    }
    const part = await engine.gram({ rows: r1 - r0, cols: n, data: block }, { signal: opts.signal });
    for (let i = 0; i < n * n; i++) g[i]! += part.g[i]!;
    opts.onProgress?.({ phase: 'gram', done: r1, total: x.rows });
  }
  for (let i = 0; i < n; i++) g[i * n + i]! += lambda;
  // P = G⁻¹, column blocks of the identity solved as concurrent calls (two pool tasks on two cores). The
  // number of blocks depends on n only, so the result does not depend on the thread count.
  const blocks = n >= 512 ? 2 : 1;
  const cuts = Array.from({ length: blocks + 1 }, (_, b) => Math.round((b * n) / blocks));
  let solved = 0;
  opts.onProgress?.({ phase: 'solve', done: 0, total: n });
  const parts = await Promise.all(
    cuts.slice(0, -1).map((c0, b) => {
      const w = cuts[b + 1]! - c0;
      const rhs = new Float64Array(n * w);
      for (let t = 0; t < w; t++) rhs[(c0 + t) * w + t] = 1;
      return engine.choleskySolve(g, n, rhs, w, { signal: opts.signal }).then((r) => {
        solved += w;
        opts.onProgress?.({ phase: 'solve', done: solved, total: n });
        return r;
      });
    }),
  );
  const p = new Float64Array(n * n);
  parts.forEach((part, b) => {
    const c0 = cuts[b]!;
    const w = cuts[b + 1]! - c0;
    for (let i = 0; i < n; i++) for (let t = 0; t < w; t++) p[i * n + c0 + t] = part[i * w + t]!;
  });
  const weights = new Float32Array(n * n);
  for (let j = 0; j < n; j++) {
    const d = p[j * n + j]!;
    for (let i = 0; i < n; i++) if (i !== j) weights[i * n + j] = -p[i * n + j]! / d;
  }
  return new EaseModel(engine, state, weights, { lambda });
}

function fmtBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`;
}
