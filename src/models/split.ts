/**
 * Train/test splits of interactions for offline evaluation, three protocols:
 *
 * - `user` (default): each user's n interactions are shuffled (one seeded xoshiro128** generator, Fisher–Yates,
 *   users in index order) and the first round(ratio · n) train, rounding half to even as Python's round does (a
 *   user with 2 interactions keeps both at 0.75).
 * - `item`: the item-stratified split of Microsoft Recommenders' MovieLens benchmark (`python_stratified_split`
 *   with `filter_by="item"`), re-implemented from its documented behaviour: every interaction gets a seeded
 *   uniform key, each item's interactions are ordered by key, and the one at position r (1-based) of the item's
 *   n trains when r / n ≤ ratio, else tests. So each item keeps about `ratio` of its interactions in training
 *   (⌊ratio · n⌋ of them), and an item with a single interaction goes wholly to the test set (where no model
 *   can recommend it). Our generator is not numpy's, so the rows differ from theirs at random, not in kind.
 * - `time`: each user's interactions ordered by timestamp (ties by item index); the first round(ratio · n), by the
 *   same rule as `user`, train and the latest ones test, so both protocols hold out as many items per user. Needs
 *   timestamps (`Interactions.timestamps`, which the MovieLens readers and `--timestamp-col` provide).
 *
 * Both parts keep every user and item index of the input, so ids match; rows stay sorted by item.
 */
import type { Feedback, Interactions } from '../data/ratings.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix } from '../types.js';
import { Rng } from '../data/random.js';
import type { RecommenderState } from './recommender.js';

export type SplitBy = 'user' | 'item' | 'time';
export const SPLIT_BY: readonly SplitBy[] = ['user', 'item', 'time'];

export interface SplitResult {
  train: RecommenderState;
  /** users × items held-out interactions (same ids as train). */
  test: CsrMatrix;
}

export interface InteractionSplitOptions {
  /** Protocol (default 'user'). */
  by?: SplitBy;
  /** Training share (default 0.75), strictly between 0 and 1. */
  ratio?: number;
  /** Seed of the shuffles (default 42; the time split does not use it). */
  seed?: number;
}

/** Python's round(): half to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function checkRatio(ratio: unknown): number {
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio < 1)) {
    throw new QuiverError('INVALID_ARGUMENT', `the split ratio must be between 0 and 1, exclusive: it is the training share, e.g. 0.75 (got ${String(ratio)})`, { ratio });
  }
  return ratio;
}

function matrixOf(data: Interactions | RecommenderState): CsrMatrix {
  return 'matrix' in data ? data.matrix : data.train;
}

/** Builds both parts from a per-entry flag (1: test), keeping each row's stored (item) order. */
function partition(data: Interactions | RecommenderState, isTest: Uint8Array): SplitResult {
  const m = matrixOf(data);
  const nnz = m.indptr[m.rows]!;
  let nTest = 0;
  for (let p = 0; p < nnz; p++) nTest += isTest[p]!;
  const trPtr = new Int32Array(m.rows + 1);
  const tePtr = new Int32Array(m.rows + 1);
  const trIdx = new Int32Array(nnz - nTest);
  const trVal = new Float32Array(nnz - nTest);
  const teIdx = new Int32Array(nTest);
  const teVal = new Float32Array(nTest);
  let a = 0;
  let b = 0;
  for (let u = 0; u < m.rows; u++) {
    for (let p = m.indptr[u]!, e = m.indptr[u + 1]!; p < e; p++) {
      if (isTest[p]) {
        teIdx[b] = m.indices[p]!;
        teVal[b++] = m.data[p]!;
      } else {
        trIdx[a] = m.indices[p]!;
        trVal[a++] = m.data[p]!;
      }
    }
    trPtr[u + 1] = a;
    tePtr[u + 1] = b;
  }
  const feedback: Feedback = data.feedback;
  return {
    train: { userIds: data.userIds, itemIds: data.itemIds, feedback, train: { rows: m.rows, cols: m.cols, indptr: trPtr, indices: trIdx, data: trVal } },
    test: { rows: m.rows, cols: m.cols, indptr: tePtr, indices: teIdx, data: teVal },
  };
}

function userFlags(m: CsrMatrix, ratio: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const isTest = new Uint8Array(m.indptr[m.rows]!);
  const pos: number[] = [];
  for (let u = 0; u < m.rows; u++) {
    const p0 = m.indptr[u]!;
    const n = m.indptr[u + 1]! - p0;
    pos.length = n;
    for (let i = 0; i < n; i++) pos[i] = p0 + i;
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = pos[i]!;
      pos[i] = pos[j]!;
      pos[j] = t;
    }
    for (let i = roundHalfEven(ratio * n); i < n; i++) isTest[pos[i]!] = 1;
  }
  return isTest;
}

function itemFlags(m: CsrMatrix, ratio: number, seed: number): Uint8Array {
  const nnz = m.indptr[m.rows]!;
  const rng = new Rng(seed);
  // One key per interaction, drawn in storage order (user by user, items ascending).
  const key = new Float64Array(nnz);
  for (let p = 0; p < nnz; p++) key[p] = rng.next();
  // Entries grouped by item (a counting sort), then each group ordered by its keys.
  const start = new Int32Array(m.cols + 1);
  for (let p = 0; p < nnz; p++) start[m.indices[p]! + 1]!++;
  for (let j = 0; j < m.cols; j++) start[j + 1]! += start[j]!;
  const byItem = new Int32Array(nnz);
  const next = start.slice(0, m.cols);
  for (let p = 0; p < nnz; p++) byItem[next[m.indices[p]!]!++] = p;
  const isTest = new Uint8Array(nnz);
  for (let j = 0; j < m.cols; j++) {
    const s = start[j]!;
    const n = start[j + 1]! - s;
    const group = Array.from(byItem.subarray(s, s + n)).sort((x, y) => key[x]! - key[y]! || x - y);
    for (let r = 1; r <= n; r++) if (!(r / n <= ratio)) isTest[group[r - 1]!] = 1;
  }
  return isTest;
}

function timeFlags(m: CsrMatrix, times: Float64Array, ratio: number): Uint8Array {
  const isTest = new Uint8Array(m.indptr[m.rows]!);
  for (let u = 0; u < m.rows; u++) {
    const p0 = m.indptr[u]!;
    const n = m.indptr[u + 1]! - p0;
    // Stored order is by item, so a stable sort by time breaks ties by item index.
    const order = Array.from({ length: n }, (_, i) => p0 + i).sort((x, y) => times[x]! - times[y]! || x - y);
    for (let i = roundHalfEven(ratio * n); i < n; i++) isTest[order[i]!] = 1;
  }
  return isTest;
}

/** Splits interactions into training and test parts by one of the protocols of the module comment. */
export function splitInteractions(data: Interactions | RecommenderState, opts: InteractionSplitOptions = {}): SplitResult {
  const by = opts.by ?? 'user';
  const ratio = checkRatio(opts.ratio ?? 0.75);
  const seed = opts.seed ?? 42;
  const m = matrixOf(data);
  if (by === 'user') return partition(data, userFlags(m, ratio, seed));
  if (by === 'item') return partition(data, itemFlags(m, ratio, seed));
  if (by === 'time') {
    const times = 'timestamps' in data ? data.timestamps : undefined;
    if (!times) {
      throw new QuiverError(
        'INVALID_ARGUMENT',
        "a time split needs the time of each interaction, and these interactions have none: read a file with timestamps (MovieLens u.data, ratings.dat and ratings.csv have them; for other delimited files name the column with --timestamp-col, library option timestampCol, or pass timestamps to interactionsFromTriples), or split by 'user' or 'item'",
        { splitBy: 'time' },
      );
    }
    if (times.length !== m.indptr[m.rows]) throw new QuiverError('SHAPE_MISMATCH', `${times.length} timestamps for ${m.indptr[m.rows]} interactions`);
    return partition(data, timeFlags(m, times, ratio));
  }
  throw new QuiverError('INVALID_ARGUMENT', `split-by must be one of ${SPLIT_BY.join(', ')} (got ${JSON.stringify(by)})`, { known: [...SPLIT_BY] });
}

/** The per-user random split (`splitInteractions` with by 'user'); kept for callers of the earlier API. */
export function stratifiedSplit(data: Interactions | RecommenderState, ratio: number, seed: number): SplitResult {
  return splitInteractions(data, { by: 'user', ratio, seed });
}
