/**
 * The object `createEngine` returns: the engine's kernel operations, plus the model conveniences that users
 * call on it (`engine.kmeans(x, opts)`, `linearRegression`, `logisticRegression`, `fitRecommender`). This
 * façade sits above both layers: the engine offers kernels and knows no model, models are fitted by
 * `fitKMeans(engine, …)` and friends, and these methods only forward to them.
 */
import type { Interactions } from './data/ratings.js';
import { Engine, type EngineOptions } from './engine/engine.js';
import { fitKMeans, type KMeansModel, type KMeansOptions } from './models/kmeans.js';
import { fitLinearRegression, type LinearModel, type LinearRegressionOptions } from './models/linear.js';
import { fitLogisticRegression, type LogisticModel, type LogisticRegressionOptions } from './models/logistic.js';
import type { RecommenderKind } from './models/recommender.js';
import { fitRecommender, type AnyRecommender, type RecommenderOptions } from './models/recommenders.js';
import type { Matrix } from './types.js';

export class Quiver extends Engine {
  static override async create(opts: EngineOptions = {}): Promise<Quiver> {
    const { backend, threads } = await Engine.resolve(opts);
    return new Quiver(backend, threads, opts);
  }

  /** Fits KMeans (k-means++, random or given centroids; nInit, maxIter, tol, seed, sampleWeight): `fitKMeans`. */
  async kmeans(x: Matrix, opts: KMeansOptions): Promise<KMeansModel> {
    return fitKMeans(this, x, opts);
  }

  /** Fits OLS (l2 = 0) or ridge through the Gram kernel and Cholesky, intercept by centring: `fitLinearRegression`. */
  async linearRegression(x: Matrix, y: Float32Array | Float64Array, opts: LinearRegressionOptions = {}): Promise<LinearModel> {
    return fitLinearRegression(this, x, y, opts);
  }

  /** Fits binary L2 logistic regression by Newton/IRLS (each step a weighted Gram solve): `fitLogisticRegression`. */
  async logisticRegression(x: Matrix, y: Float32Array | Float64Array, opts: LogisticRegressionOptions = {}): Promise<LogisticModel> {
    return fitLogisticRegression(this, x, y, opts);
  }

  /** Fits a recommender (itemknn, userknn, ease, popular, als) on interactions: `fitRecommender`. */
  async fitRecommender(kind: RecommenderKind, data: Interactions, opts: RecommenderOptions = {}): Promise<AnyRecommender> {
    return fitRecommender(this, kind, data, opts);
  }
}

/** Creates an engine: `createEngine({ backend, threads })`. Call `close()` when done. */
export function createEngine(opts: EngineOptions = {}): Promise<Quiver> {
  return Quiver.create(opts);
}
