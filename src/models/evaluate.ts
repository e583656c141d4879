/**
 * Offline evaluation of top-k recommendation with a per-user stratified random split.
 *
 * Split (`stratifiedSplit`): users are taken in index order (first appearance in the file); each user's n
 * interactions are shuffled by one seeded generator (xoshiro128**, Fisher–Yates) and the first
 * round(ratio · n) go to training, the rest to test (round half to even, as Python's round does, so a
 * user with 2 interactions keeps both in training at ratio 0.75). Same data, ratio and seed: same split.
 *
 * Protocol: fit on the training part, recommend k items per user with the user's training items left out,
 * and compare with the user's test items, every test interaction counting as relevant (binary relevance).
 * Only users with at least one test item are evaluated; `users` is their number. With R_u the list of at
 * most k recommended items (rank 1 first) and T_u the test items of user u:
 *   precision@k = |R_u ∩ T_u| / k                       (k even when fewer than k items were recommended)
 *   recall@k    = |R_u ∩ T_u| / |T_u|
 *   nDCG@k      = DCG / IDCG,  DCG = Σ_{rank r ≤ k, item at r ∈ T_u} 1 / log2(r + 1),
 *                 IDCG = Σ_{r = 1}^{min(k, |T_u|)} 1 / log2(r + 1)
 *   MAP@k       = mean over users of AP@k = (Σ_{rank r ≤ k, item at r ∈ T_u} precision@r) / min(k, |T_u|)
 * Each metric is the mean over the evaluated users.
 */
import type { Feedback, Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix, TopKResult } from '../types.js';
import { Rng } from '../data/random.js';
import { countShortRows } from './backfill.js';
import type { RecommenderKind, RecommenderState } from './recommender.js';
import { fitRecommender, type RecommenderOptions } from './recommenders.js';

export interface SplitResult {
  train: RecommenderState;
  /** users × items held-out interactions (same ids as train). */
  test: CsrMatrix;
}

/** Python's round(): half to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export function stratifiedSplit(data: Interactions | RecommenderState, ratio: number, seed: number): SplitResult {
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio < 1)) throw new QuiverError('INVALID_ARGUMENT', `the split ratio must be between 0 and 1, exclusive (got ${String(ratio)})`);
  const m = 'matrix' in data ? data.matrix : data.train;
  const feedback: Feedback = data.feedback;
  const rng = new Rng(seed);
  const trPtr = new Int32Array(m.rows + 1);
  const tePtr = new Int32Array(m.rows + 1);
  const nnzAll = m.indptr[m.rows]!;
  const trIdx = new Int32Array(nnzAll);
  const trVal = new Float32Array(nnzAll);
  const teIdx = new Int32Array(nnzAll);
  const teVal = new Float32Array(nnzAll);
  let a = 0;
  let b = 0;
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
    const nTrain = roundHalfEven(ratio * n);
    // Rows stay sorted by item: take each part back in stored order.
    const trainPart = pos.slice(0, nTrain).sort((x, y) => x - y);
    const testPart = pos.slice(nTrain).sort((x, y) => x - y);
    for (const p of trainPart) {
      trIdx[a] = m.indices[p]!;
      trVal[a++] = m.data[p]!;
    }
    for (const p of testPart) {
      teIdx[b] = m.indices[p]!;
      teVal[b++] = m.data[p]!;
    }
    trPtr[u + 1] = a;
    tePtr[u + 1] = b;
  }
  return {
    train: { userIds: data.userIds, itemIds: data.itemIds, feedback, train: { rows: m.rows, cols: m.cols, indptr: trPtr, indices: trIdx.slice(0, a), data: trVal.slice(0, a) } },
    test: { rows: m.rows, cols: m.cols, indptr: tePtr, indices: teIdx.slice(0, b), data: teVal.slice(0, b) },
  };
}

export interface RankingMetrics {
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  k: number;
  users: number;
}

/** The metrics of the module comment, for recommendations whose row r is user r. */
export function rankingMetrics(recs: TopKResult, test: CsrMatrix, k: number): RankingMetrics {
  if (recs.rows !== test.rows) throw new QuiverError('SHAPE_MISMATCH', `recommendations for ${recs.rows} users but test data for ${test.rows}`);
  const disc = new Float64Array(k + 1);
  for (let r = 1; r <= k; r++) disc[r] = 1 / Math.log2(r + 1);
  let users = 0;
  let sp = 0;
  let sr = 0;
  let sn = 0;
  let sm = 0;
  const inTest = new Set<number>();
  for (let u = 0; u < test.rows; u++) {
    const t0 = test.indptr[u]!;
    const t1 = test.indptr[u + 1]!;
    if (t1 === t0) continue;
    users++;
    inTest.clear();
    for (let p = t0; p < t1; p++) inTest.add(test.indices[p]!);
    let hits = 0;
    let dcg = 0;
    let ap = 0;
    const depth = Math.min(k, recs.k);
    for (let r = 1; r <= depth; r++) {
      const j = recs.indices[u * recs.k + r - 1]!;
      if (j < 0) break;
      if (inTest.has(j)) {
        hits++;
        dcg += disc[r]!;
        ap += hits / r;
      }
    }
    const nRel = t1 - t0;
    let idcg = 0;
    for (let r = 1; r <= Math.min(k, nRel); r++) idcg += disc[r]!;
    sp += hits / k;
    sr += hits / nRel;
    sn += dcg / idcg;
    sm += ap / Math.min(k, nRel);
  }
  if (users === 0) throw new QuiverError('INVALID_ARGUMENT', 'no user has test interactions; use more data per user or a smaller split ratio');
  return { precision: sp / users, recall: sr / users, ndcg: sn / users, map: sm / users, k, users };
}

export interface EvaluateOptions extends RecommenderOptions {
  algo: RecommenderKind;
  /** Cut-off (default 10). */
  k?: number;
  /** Training share per user (default 0.75). */
  split?: number;
  /** Seed of the split (default 42). */
  seed?: number;
}

export interface EvaluationResult extends RankingMetrics {
  algo: RecommenderKind;
  /** Users (of all, not only the evaluated ones) left without any recommendation, and users back-filled. */
  usersWithout: number;
  usersBackfilled: number;
  fitSeconds: number;
  recommendSeconds: number;
}

/** Splits, fits on the training part, recommends k unseen items per user and scores them. */
export async function evaluateRecommender(engine: Engine, data: Interactions | RecommenderState, opts: EvaluateOptions): Promise<EvaluationResult> {
  const k = opts.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new QuiverError('INVALID_ARGUMENT', `k must be a whole number ≥ 1 (got ${String(k)})`);
  const { train, test } = stratifiedSplit(data, opts.split ?? 0.75, opts.seed ?? 42);
  const t0 = performance.now();
  const model = await fitRecommender(engine, opts.algo, train, opts);
  const t1 = performance.now();
  try {
    const recs = await model.recommendRows({ row0: 0, row1: train.userIds.length }, { n: k, filterSeen: true, signal: opts.signal });
    const t2 = performance.now();
    const short = countShortRows(recs);
    return {
      ...rankingMetrics(recs, test, k),
      algo: opts.algo,
      usersWithout: short.empty,
      usersBackfilled: short.backfilled,
      fitSeconds: (t1 - t0) / 1000,
      recommendSeconds: (t2 - t1) / 1000,
    };
  } finally {
    model.release();
  }
}
