/**
 * The neighbour search of the kNN models: the top-k rows most similar to each row of an entities × features CSR
 * matrix, by cosine with an optional shrink term (s = a·b / (‖a‖·‖b‖ + shrink)) or by the plain dot product
 * (BM25-weighted item kNN). The sparse co-occurrence kernel runs over row blocks of operands staged once, so a
 * fit can report progress after each block; the dense cosine/dot top-k runs instead when it is cheaper and the
 * dense matrix fits the budget (one call: its progress is 0 then all).
 */
import { rowNorms, topkToCsr } from '../data/csr.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix } from '../types.js';
import { checkNeighbors } from './recommender.js';

export type KnnKernel = 'auto' | 'sparse' | 'dense';

/** Fit progress: the phase running, and how much of it is done (units of the phase, e.g. items). */
export interface FitProgress {
  phase: string;
  done: number;
  total: number;
}

export interface NeighbourOptions {
  k: number;
  shrink?: number;
  kernel?: KnnKernel;
  /** cosine (default) or the plain dot product of the rows. */
  metric?: 'cosine' | 'dot';
  /** Bytes the dense entities × features f32 matrix may take (default 256 MiB). */
  denseBudget?: number;
  signal?: AbortSignal;
  /** Called as row blocks complete (phase "similarity", rows done of all rows). */
  onProgress?: (p: FitProgress) => void;
}

export const DEFAULT_DENSE_BUDGET = 256 * 2 ** 20;
/** How many dense multiply-adds cost about one sparse scatter step (SIMD lanes, no random access). */
const DENSE_ADVANTAGE = 16;
/** Row blocks of the sparse search: enough for a smooth progress line and to keep two workers busy. */
const PROGRESS_BLOCKS = 64;
const IN_FLIGHT = 3;

export function checkShrink(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new QuiverError('INVALID_ARGUMENT', `shrink must be a number ≥ 0 (got ${String(v)})`);
  return v;
}

export function checkKernel(v: unknown): KnnKernel {
  if (v === undefined || v === 'auto' || v === 'sparse' || v === 'dense') return v ?? 'auto';
  throw new QuiverError('INVALID_ARGUMENT', `kernel must be auto, sparse or dense (got ${JSON.stringify(v)})`);
}

/** Scatter work of the sparse kernel for E·Eᵀ: Σ over stored entries (r, f) of the length of column f. */
function sparseWork(e: CsrMatrix, et: CsrMatrix): number {
  let w = 0;
  const n = e.indptr[e.rows]!;
  for (let p = 0; p < n; p++) {
    const f = e.indices[p]!;
    w += et.indptr[f + 1]! - et.indptr[f]!;
  }
  return w;
}

/** Row cuts of about equal scatter work (rows of very different lengths make equal row counts uneven). */
function workCuts(e: CsrMatrix, et: CsrMatrix, blocks: number): number[] {
  const per = new Float64Array(e.rows);
  let total = 0;
  for (let r = 0; r < e.rows; r++) {
    let w = 1;
    for (let p = e.indptr[r]!, q = e.indptr[r + 1]!; p < q; p++) {
      const f = e.indices[p]!;
      w += et.indptr[f + 1]! - et.indptr[f]!;
    }
    per[r] = w;
    total += w;
  }
  const cuts = [0];
  let acc = 0;
  for (let r = 0; r < e.rows; r++) {
    acc += per[r]!;
    if (acc >= (total * cuts.length) / blocks && r + 1 < e.rows) cuts.push(r + 1);
  }
  cuts.push(e.rows);
  return cuts;
}

/**
 * Top-k neighbours of every row of `e` (excluding itself) as a CSR matrix (rows × rows, best first, s > 0).
 * `et` is the transpose of `e`.
 */
export async function rowNeighbours(
  engine: Engine,
  e: CsrMatrix,
  et: CsrMatrix,
  opts: NeighbourOptions,
): Promise<{ neighbours: CsrMatrix; kernel: 'sparse' | 'dense' }> {
  const k = checkNeighbors(opts.k);
  const shrink = checkShrink(opts.shrink);
  const kernel = checkKernel(opts.kernel);
  const metric = opts.metric ?? 'cosine';
  const budget = opts.denseBudget ?? DEFAULT_DENSE_BUDGET;
  if (e.rows < 2) throw new QuiverError('INVALID_ARGUMENT', `neighbours need at least two rows to compare (got ${e.rows})`);
  const denseBytes = e.rows * e.cols * 4;
  if (kernel === 'dense' && shrink > 0) throw new QuiverError('INVALID_ARGUMENT', 'the dense kernel has no shrink term; use kernel sparse (or auto) with shrink > 0');
  if (kernel === 'dense' && denseBytes > budget) {
    throw new QuiverError('TOO_LARGE', `the dense ${e.rows} × ${e.cols} matrix needs ${denseBytes} bytes, over the dense budget of ${budget} bytes; use the sparse kernel`, {
      bytes: denseBytes,
      budget,
    });
  }
  const useDense =
    kernel === 'dense' ||
    (kernel === 'auto' && shrink === 0 && denseBytes <= budget && (e.rows * e.rows * e.cols) / DENSE_ADVANTAGE < sparseWork(e, et));
  const kk = Math.min(k, e.rows - 1);
  const progress = (done: number) => opts.onProgress?.({ phase: 'similarity', done, total: e.rows });
  progress(0);
  if (useDense) {
    const data = new Float32Array(e.rows * e.cols);
    for (let r = 0; r < e.rows; r++) {
      for (let p = e.indptr[r]!, q = e.indptr[r + 1]!; p < q; p++) data[r * e.cols + e.indices[p]!] = e.data[p]!;
    }
    const res = await engine.topK({ rows: e.rows, cols: e.cols, data }, undefined, { k: kk, metric, excludeSelf: true, signal: opts.signal });
    progress(e.rows);
    return { neighbours: topkToCsr(res.indices, res.scores, res.rows, res.k, e.rows, 0), kernel: 'dense' };
  }
  const norms = metric === 'cosine' ? rowNorms(e) : null;
  const sa = await engine.stageCsr(e, 'neighbour rows');
  try {
    const sb = await engine.stageCsr(et, 'neighbour columns');
    try {
      const cuts = workCuts(e, et, PROGRESS_BLOCKS);
      const indices = new Int32Array(e.rows * kk);
      const scores = new Float32Array(e.rows * kk);
      let done = 0;
      let next = 0;
      // A few blocks in flight: enough to keep the pool busy, while each block's scratch stays bounded.
      const lane = async (): Promise<void> => {
        while (next < cuts.length - 1) {
          const b = next++;
          const row0 = cuts[b]!;
          const row1 = cuts[b + 1]!;
          const res = await engine.sparseSimilarityTopK(sa, sb, { k: kk, rowNorms: norms, colNorms: norms, shrink, excludeSelf: true, rows: { row0, row1 }, signal: opts.signal });
          indices.set(res.indices.subarray(0, (row1 - row0) * kk), row0 * kk);
          scores.set(res.scores.subarray(0, (row1 - row0) * kk), row0 * kk);
          done += row1 - row0;
          progress(done);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      return { neighbours: topkToCsr(indices, scores, e.rows, kk, e.rows, 0), kernel: 'sparse' };
    } finally {
      sb.release();
    }
  } finally {
    sa.release();
  }
}
