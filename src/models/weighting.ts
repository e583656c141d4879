/**
 * Item kNN weightings from text retrieval (the ones the `implicit` package offers): each item is a "document"
 * and each user a "term", so the weights apply to the items × users matrix (the transpose of the training
 * interactions) before the item-item similarity. With I the number of items in the catalogue, r_ui the training
 * value and n_u the number of items user u touched:
 *   idf_u = ln(I) − ln(1 + n_u)
 *   tfidf: w_iu = √r_ui · idf_u, then the cosine of the weighted item rows;
 *   bm25:  w_iu = r_ui · (K1 + 1) / (K1 · (1 − B + B · len_i / avglen) + r_ui) · idf_u, then the plain dot product
 *          of the weighted item rows (BM25 already normalises for the item's length), with len_i = Σ_u r_ui and
 *          avglen the mean of len over every item of the catalogue.
 * A user who touched every item (or all but one) has idf ≤ 0: such a user says nothing about which items go
 * together, so their weights are 0 or negative, as in implicit; only similarities > 0 are kept.
 * Weights are computed in f64 and stored in f32 (the similarity kernels' input type).
 */
import { nnz } from '../data/csr.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix } from '../types.js';

export type KnnWeighting = 'none' | 'tfidf' | 'bm25';

export const WEIGHTING_DEFAULTS = { weighting: 'none' as KnnWeighting, bm25K1: 1.2, bm25B: 0.75 };

export function checkWeighting(v: unknown): KnnWeighting {
  if (v === undefined || v === 'none') return 'none';
  if (v === 'tfidf' || v === 'bm25') return v;
  throw new QuiverError('INVALID_ARGUMENT', `weighting must be none, tfidf or bm25 (got ${JSON.stringify(v)})`);
}

export function checkBm25K1(v: unknown): number {
  if (v === undefined) return WEIGHTING_DEFAULTS.bm25K1;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new QuiverError('INVALID_ARGUMENT', `bm25K1 must be a number > 0 (got ${String(v)})`);
  return v;
}

export function checkBm25B(v: unknown): number {
  if (v === undefined) return WEIGHTING_DEFAULTS.bm25B;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw new QuiverError('INVALID_ARGUMENT', `bm25B must be a number in [0, 1] (got ${String(v)})`);
  return v;
}

/** ln(I) − ln(1 + n_u) per user (column of the items × users matrix). */
function userIdf(itemsByUsers: CsrMatrix): Float64Array {
  const counts = new Float64Array(itemsByUsers.cols);
  const n = nnz(itemsByUsers);
  for (let p = 0; p < n; p++) counts[itemsByUsers.indices[p]!]! += 1;
  const lnItems = Math.log(itemsByUsers.rows);
  return counts.map((c) => lnItems - Math.log1p(c));
}

/**
 * The weighted items × users matrix (same structure as the input, new values); see the module comment.
 * `itemsByUsers` holds the raw training values (no centring: the weightings need counts or 1s).
 */
export function weightItems(itemsByUsers: CsrMatrix, weighting: 'tfidf' | 'bm25', k1 = WEIGHTING_DEFAULTS.bm25K1, b = WEIGHTING_DEFAULTS.bm25B): CsrMatrix {
  const m = itemsByUsers;
  const idf = userIdf(m);
  const data = new Float32Array(nnz(m));
  if (weighting === 'tfidf') {
    for (let p = 0; p < data.length; p++) data[p] = Math.sqrt(m.data[p]!) * idf[m.indices[p]!]!;
    return { rows: m.rows, cols: m.cols, indptr: m.indptr, indices: m.indices, data };
  }
  const len = new Float64Array(m.rows);
  let total = 0;
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let p = m.indptr[i]!, e = m.indptr[i + 1]!; p < e; p++) s += m.data[p]!;
    len[i] = s;
    total += s;
  }
  // All-zero values (explicit ratings of 0) have no length to compare: every item then counts as average.
  const avg = total > 0 ? total / m.rows : 0;
  for (let i = 0; i < m.rows; i++) {
    const norm = k1 * (1 - b + (avg > 0 ? (b * len[i]!) / avg : b));
    for (let p = m.indptr[i]!, e = m.indptr[i + 1]!; p < e; p++) {
      const r = m.data[p]!;
      data[p] = ((r * (k1 + 1)) / (norm + r)) * idf[m.indices[p]!]!;
    }
  }
  return { rows: m.rows, cols: m.cols, indptr: m.indptr, indices: m.indices, data };
}
