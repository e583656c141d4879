/**
 * Neighbourhood computation shared by item kNN and user kNN: the top-k most similar rows of an
 * entities × features CSR matrix (items × users for item kNN, users × items for user kNN).
 *
 * Similarity of rows a and b: s(a, b) = a·b / (‖a‖·‖b‖ + shrink), with the values prepared by the model
 * (raw, or centred for adjusted cosine and Pearson: missing entries count as 0 after centring, and norms are
 * over all of a row's entries — the usual sparse form). With shrink = 0 this is the cosine. The shrink term
 * in the denominator damps similarities supported by few, small overlaps (as in the kNN baselines of
 * Dacrema, Cremonesi and Jannach, "Are we really making much progress?", RecSys 2019). Only neighbours with
 * s > 0 are kept.
 *
 * Two kernels compute the same similarities: the sparse co-occurrence kernel (scatter over shared features,
 * cost Σ over rows of their co-occurrence work, memory O(features) per task) and, when it is cheaper and the
 * dense entities × features matrix fits `denseBudget`, the dense cosine top-k of the engine (cost rows² ×
 * features, SIMD). The dense kernel has no shrink term, so shrink > 0 always runs sparse.
 */
import { rowNorms, topkToCsr } from '../data/csr.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix, TopKResult } from '../types.js';
import { checkNeighbors } from './recommender.js';

export type KnnSimilarity = 'cosine' | 'adjusted-cosine' | 'pearson';
export type KnnKernel = 'auto' | 'sparse' | 'dense';

export interface NeighbourOptions {
  k: number;
  shrink?: number;
  kernel?: KnnKernel;
  /** Bytes the dense entities × features f32 matrix may take (default 256 MiB). */
  denseBudget?: number;
  signal?: AbortSignal;
}

export const DEFAULT_DENSE_BUDGET = 256 * 2 ** 20;
/** How many dense multiply-adds cost about one sparse scatter step (SIMD lanes, no random access). */
const DENSE_ADVANTAGE = 16;

export function checkSimilarity(v: unknown): KnnSimilarity {
  if (v === undefined || v === 'cosine') return 'cosine';
  if (v === 'adjusted-cosine' || v === 'pearson') return v;
  throw new QuiverError('INVALID_ARGUMENT', `similarity must be cosine, adjusted-cosine or pearson (got ${JSON.stringify(v)})`);
}

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
  const norms = rowNorms(e);
  if (useDense) {
    const data = new Float32Array(e.rows * e.cols);
    for (let r = 0; r < e.rows; r++) {
      for (let p = e.indptr[r]!, q = e.indptr[r + 1]!; p < q; p++) data[r * e.cols + e.indices[p]!] = e.data[p]!;
    }
    const res = await engine.topK({ rows: e.rows, cols: e.cols, data }, undefined, { k: kk, metric: 'cosine', excludeSelf: true, signal: opts.signal });
    return { neighbours: topkToCsr(res.indices, res.scores, res.rows, res.k, e.rows, 0), kernel: 'dense' };
  }
  const res = await engine.sparseSimilarityTopK(e, et, { k: kk, rowNorms: norms, colNorms: norms, shrink, excludeSelf: true, signal: opts.signal });
  return { neighbours: topkToCsr(res.indices, res.scores, res.rows, res.k, e.rows, 0), kernel: 'sparse' };
}

/** The `allow` mask of sparseScoreTopN that scores only the columns `idx` (of `n`). */
export function allowOnly(n: number, idx: readonly number[]): Int32Array {
  const allow = new Int32Array(n);
  for (const j of idx) allow[j] = 1;
  return allow;
}

/** A one-row sparseScoreTopN result as column → score (slots without a candidate left out). */
export function scoresByColumn(res: TopKResult): Map<number, number> {
  const got = new Map<number, number>();
  for (let t = 0; t < res.k; t++) if (res.indices[t]! >= 0) got.set(res.indices[t]!, res.scores[t]!);
  return got;
}
