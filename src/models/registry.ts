/**
 * Every model kind in one place: the kind saved in a bundle → the class that rebuilds it (`fromBundle`), and for
 * recommenders the function that fits it by name. `loadModel`, `loadRecommender`, `fitRecommender`, the CLI and
 * the server go through these tables and never switch over kinds, so adding a kind is one model file and one
 * line here (plus, for a recommender, its name in `RecommenderKind`, which the table is checked against).
 */
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import { type BackfillMode, checkBackfill } from './backfill.js';
import { AlsModel, fitAls } from './als.js';
import type { AlsRegularizationMode, AlsSolver } from './als-options.js';
import type { ModelBundle } from './bundle.js';
import { EaseModel, fitEase } from './ease.js';
import { KMeansModel } from './kmeans.js';
import { fitItemKnn, fitUserKnn, ItemKnnModel, type KnnKernel, type KnnSimilarity, type KnnWeighting, UserKnnModel } from './knn.js';
import { LinearModel } from './linear.js';
import { LogisticModel } from './logistic.js';
import { MultinomialModel } from './multinomial.js';
import type { FittedModel } from './model.js';
import { fitPopular, PopularModel } from './popular.js';
import type { FittedRecommender, RecommenderKind, RecommenderState } from './recommender.js';

/** Options of every recommender; each reads the ones it knows. */
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
  /** itemknn: weighting of the items × users matrix before the similarity: none (default), tfidf or bm25. */
  weighting?: KnnWeighting;
  /** itemknn with bm25: K1 > 0 (default 1.2). */
  bm25K1?: number;
  /** itemknn with bm25: B in [0, 1] (default 0.75). */
  bm25B?: number;
  /** ease: L2 penalty (default 500). */
  lambda?: number;
  /** ease: bytes the fit may take at its peak (default 75% of the machine memory, see `defaultEaseBudget`). */
  memoryBudget?: number;
  /** Every recommender: top up users left with fewer than n items with popular items (default none; see backfill.ts). */
  backfill?: BackfillMode;
  /** als: latent factors (default 32, at most the catalogue). */
  factors?: number;
  /** als: iterations (default 15). */
  iterations?: number;
  /** als: L2 penalty λ (default 20; see regularizationMode). */
  regularization?: number;
  /** als: 'plain' λ (default, implicit's convention) or 'count' λ·(the row's interactions) (ALS-WR, Spark's). */
  regularizationMode?: AlsRegularizationMode;
  /** als: confidence slope, c = 1 + alpha·r (default 1). */
  alpha?: number;
  /** als: seed of the initial factors (default 0). */
  seed?: number;
  /** als: 'cholesky' (exact, default) or 'cg' (conjugate gradient, cgSteps steps). */
  solver?: AlsSolver;
  /** als: conjugate-gradient steps per half-step (default 3). */
  cgSteps?: number;
  /** ease: items with fewer training interactions are left out (never recommended; default 1). */
  minItemSupport?: number;
  /** ease: 'f64' (default) or 'f32' (the solve in half the memory). */
  precision?: 'f64' | 'f32';
  signal?: AbortSignal;
  /**
   * Called as a fit progresses: the phase running (e.g. "similarity", "gram", "solve") and how much of it is
   * done, in the phase's own units (kNN: items or users; EASE: Gram users, then tile columns; ALS: half-steps). Calls are frequent but cheap for the fit; the CLI
   * renders them on a TTY.
   */
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
}

/** A model class as the registry sees it: rebuilt from its bundle, with the kind it is registered under. */
export interface ModelClass<K = string> {
  fromBundle(b: ModelBundle, engine: Engine, source?: string): FittedModel & { readonly kind: K };
}

/** A recommender kind: its class (rebuilt from a bundle) and how it is fitted. */
export interface RecommenderEntry<K = string> {
  model: { fromBundle(b: ModelBundle, engine: Engine, source?: string): FittedRecommender & { readonly kind: K } };
  fit: (engine: Engine, data: Interactions | RecommenderState, opts: RecommenderOptions) => Promise<FittedRecommender & { readonly kind: K }>;
}

/** Checks at compile time that each entry's models carry the kind they are registered under. */
function modelTable<T extends { [K in keyof T]: ModelClass<K> }>(table: T): T {
  return table;
}

/** Scored models (`loadModel`, `quiver predict`, the server's /v1/models), by the kind their bundles carry. */
export const MODELS = modelTable({
  kmeans: KMeansModel,
  linear: LinearModel,
  logistic: LogisticModel,
  multinomial: MultinomialModel,
});

/** Recommenders (`fitRecommender`, `loadRecommender`, the server's /v1/recommenders), in the order listings show. */
export const RECOMMENDERS = {
  itemknn: { model: ItemKnnModel, fit: fitItemKnn },
  userknn: { model: UserKnnModel, fit: fitUserKnn },
  ease: { model: EaseModel, fit: fitEase },
  popular: { model: PopularModel, fit: fitPopular },
  als: { model: AlsModel, fit: fitAls },
} satisfies { [K in RecommenderKind]: RecommenderEntry<K> };

export type ModelKind = keyof typeof MODELS;
/** Any scored model: the union of the registered classes. */
export type Model = InstanceType<(typeof MODELS)[ModelKind]>;
/** Any recommender: the union of the registered classes. */
export type AnyRecommender = InstanceType<(typeof RECOMMENDERS)[RecommenderKind]['model']>;

export const MODEL_KINDS = Object.keys(MODELS) as readonly ModelKind[];
export const RECOMMENDER_KINDS = Object.keys(RECOMMENDERS) as readonly RecommenderKind[];

export function isModelKind(kind: unknown): kind is ModelKind {
  return typeof kind === 'string' && Object.hasOwn(MODELS, kind);
}

export function isRecommenderKind(kind: unknown): kind is RecommenderKind {
  return typeof kind === 'string' && Object.hasOwn(RECOMMENDERS, kind);
}

/** "a, b or c" */
function orList(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** Rebuilds a scored model from its bundle; a kind not in MODELS is INVALID_ARGUMENT naming the known ones. */
export function modelFromBundle(b: ModelBundle, engine: Engine, source: string): Model {
  if (!isModelKind(b.kind)) {
    throw new QuiverError('INVALID_ARGUMENT', `${source} holds a "${b.kind}" model, which this command cannot load (${orList(MODEL_KINDS)})`, {
      kind: b.kind,
      known: [...MODEL_KINDS],
    });
  }
  return MODELS[b.kind].fromBundle(b, engine, source);
}

/** Rebuilds a recommender from its bundle; a kind not in RECOMMENDERS is INVALID_ARGUMENT naming the known ones. */
export function recommenderFromBundle(b: ModelBundle, engine: Engine, source: string): AnyRecommender {
  if (!isRecommenderKind(b.kind)) {
    throw new QuiverError('INVALID_ARGUMENT', `${source} holds a "${b.kind}" model, not a recommender (${RECOMMENDER_KINDS.join(', ')})`, {
      kind: b.kind,
      known: [...RECOMMENDER_KINDS],
    });
  }
  return RECOMMENDERS[b.kind].model.fromBundle(b, engine, source).withBackfill(checkBackfill(b.params['backfill']));
}
