/** One entry point for the recommenders by name: fit, and load whatever kind a saved bundle holds. */
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import { readBundle } from './bundle.js';
import { EaseModel, fitEase } from './ease.js';
import { fitItemKnn, ItemKnnModel } from './itemknn.js';
import type { KnnKernel, KnnSimilarity } from './knn.js';
import { fitPopular, PopularModel } from './popular.js';
import type { RecommenderKind, RecommenderState } from './recommender.js';
import { fitUserKnn, UserKnnModel } from './userknn.js';

export const RECOMMENDER_KINDS: readonly RecommenderKind[] = ['itemknn', 'userknn', 'ease', 'popular'];

export type AnyRecommender = ItemKnnModel | UserKnnModel | EaseModel | PopularModel;

/** Options of every algorithm; each reads the ones it knows. */
export interface RecommenderOptions {
  /** itemknn / userknn: neighbours kept per item / user (defaults 20 / 50). */
  neighbors?: number;
  /** itemknn / userknn: cosine (default), adjusted-cosine or pearson. */
  similarity?: KnnSimilarity;
  /** itemknn / userknn: denominator shrinkage (default 0). */
  shrink?: number;
  /** itemknn: scale each item's neighbour similarities to sum to 1 for top-N scoring (default true). */
  normalizeSimilarity?: boolean;
  /** itemknn / userknn: similarity kernel (auto, sparse, dense). */
  kernel?: KnnKernel;
  /** ease: L2 penalty (default 500). */
  lambda?: number;
  /** ease: memory budget in bytes (default 1 GiB). */
  memoryBudget?: number;
  signal?: AbortSignal;
}

export function checkRecommenderKind(v: unknown): RecommenderKind {
  if (typeof v === 'string' && (RECOMMENDER_KINDS as readonly string[]).includes(v)) return v as RecommenderKind;
  throw new QuiverError('INVALID_ARGUMENT', `algorithm must be one of ${RECOMMENDER_KINDS.join(', ')} (got ${JSON.stringify(v)})`);
}

export async function fitRecommender(engine: Engine, kind: RecommenderKind, data: Interactions | RecommenderState, opts: RecommenderOptions = {}): Promise<AnyRecommender> {
  switch (checkRecommenderKind(kind)) {
    case 'itemknn':
      return fitItemKnn(engine, data, opts);
    case 'userknn':
      return fitUserKnn(engine, data, opts);
    case 'ease':
      return fitEase(engine, data, opts);
    case 'popular':
      return fitPopular(engine, data);
  }
}

/** Reads a recommender saved with `save(path)`, whatever its kind. */
export async function loadRecommender(path: string, engine: Engine): Promise<AnyRecommender> {
  const b = await readBundle(path);
  switch (b.kind) {
    case 'itemknn':
      return ItemKnnModel.fromBundle(b, engine, path);
    case 'userknn':
      return UserKnnModel.fromBundle(b, engine, path);
    case 'ease':
      return EaseModel.fromBundle(b, engine, path);
    case 'popular':
      return PopularModel.fromBundle(b, engine, path);
    default:
      throw new QuiverError('INVALID_ARGUMENT', `${path} holds a "${b.kind}" model, not a recommender (${RECOMMENDER_KINDS.join(', ')})`, { kind: b.kind });
  }
}
