/**
 * Offline evaluation of top-k recommendation: split the interactions (split.ts: per user at random, per item as
 * Microsoft Recommenders' benchmark does, or per user by time), fit on the training part, recommend k items per
 * user with the user's training items left out, and score them against the user's test items with the ranking
 * metrics of metrics.ts (binary relevance: every test interaction is relevant).
 */
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import { countShortRows } from './backfill.js';
import { type MetricsAs, type RankingMetrics, rankingMetrics } from './metrics.js';
import type { RecommenderKind, RecommenderState } from './recommender.js';
import { fitRecommender, type RecommenderOptions } from './recommenders.js';
import { type SplitBy, type SplitResult, splitInteractions } from './split.js';

export { type MetricsAs, type RankingMetrics, rankingMetrics } from './metrics.js';
export { roundHalfEven, type SplitBy, type InteractionSplitOptions, type SplitResult, splitInteractions, stratifiedSplit } from './split.js';

/** How the data is split and scored (shared by `evaluateRecommender` and `evaluateGrid`). */
export interface ProtocolOptions {
  /** Cut-off (default 10). */
  k?: number;
  /** Training share (default 0.75), strictly between 0 and 1. */
  split?: number;
  /** 'user' (default), 'item' or 'time'; see split.ts. */
  splitBy?: SplitBy;
  /** Seed of the split (default 42). */
  seed?: number;
  /** 'quiver' (default) or 'recommenders' (Microsoft Recommenders' MAP over |T|, users with recommendations). */
  metricsAs?: MetricsAs;
}

export interface EvaluateOptions extends RecommenderOptions, ProtocolOptions {
  algo: RecommenderKind;
}

export interface EvaluationResult extends RankingMetrics {
  algo: RecommenderKind;
  splitBy: SplitBy;
  /** Users (of all, not only the evaluated ones) left without any recommendation, and users back-filled. */
  usersWithout: number;
  usersBackfilled: number;
  fitSeconds: number;
  recommendSeconds: number;
  /** The data's warnings (e.g. counts read as explicit ratings), so reports carry them. */
  warnings: string[];
}

export function checkK(k: unknown): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw new QuiverError('INVALID_ARGUMENT', `k must be a whole number ≥ 1 (got ${String(k)})`);
  return k;
}

/** The split of the protocol options. */
export function protocolSplit(data: Interactions | RecommenderState, opts: ProtocolOptions): SplitResult {
  return splitInteractions(data, { by: opts.splitBy ?? 'user', ratio: opts.split ?? 0.75, seed: opts.seed ?? 42 });
}

export function warningsOf(data: Interactions | RecommenderState): string[] {
  return 'warnings' in data && data.warnings ? [...data.warnings] : [];
}

/** Fits one model on a split's training part and scores it (the split is the caller's, so a grid reuses it). */
export async function evaluateOnSplit(
  engine: Engine,
  split: SplitResult,
  algo: RecommenderKind,
  opts: RecommenderOptions & { k: number; metricsAs?: MetricsAs },
): Promise<RankingMetrics & { usersWithout: number; usersBackfilled: number; fitSeconds: number; recommendSeconds: number }> {
  const t0 = performance.now();
  const model = await fitRecommender(engine, algo, split.train, opts);
  const t1 = performance.now();
  try {
    const recs = await model.recommendRows({ row0: 0, row1: split.train.userIds.length }, { n: opts.k, filterSeen: true, signal: opts.signal });
    const t2 = performance.now();
    const short = countShortRows(recs);
    return {
      ...rankingMetrics(recs, split.test, opts.k, opts.metricsAs ?? 'quiver'),
      usersWithout: short.empty,
      usersBackfilled: short.backfilled,
      fitSeconds: (t1 - t0) / 1000,
      recommendSeconds: (t2 - t1) / 1000,
    };
  } finally {
    model.release();
  }
}

/** Splits, fits on the training part, recommends k unseen items per user and scores them. */
export async function evaluateRecommender(engine: Engine, data: Interactions | RecommenderState, opts: EvaluateOptions): Promise<EvaluationResult> {
  const k = checkK(opts.k ?? 10);
  const split = protocolSplit(data, opts);
  const r = await evaluateOnSplit(engine, split, opts.algo, { ...opts, k });
  return { ...r, algo: opts.algo, splitBy: opts.splitBy ?? 'user', warnings: warningsOf(data) };
}
