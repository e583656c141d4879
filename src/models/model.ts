/**
 * The shape every fitted model shares, so that the code that loads, scores, describes and saves models (the
 * CLI's predict, the server's routes, `loadModel`) never asks which kind it holds. Each kind says how it is
 * rebuilt from a saved bundle in registry.ts; recommenders have the analogous `FittedRecommender` shape
 * (recommender.ts).
 */
import type { TableEncoder } from '../data/table.js';
import type { CallOptions } from '../engine/engine.js';
import type { ModelBundle } from './bundle.js';
import type { ModelInput } from './common.js';

export type { FittedRecommender, RecommenderSummary } from './recommender.js';

/** The input a model reads. */
export interface ModelColumns {
  /** Design columns: the width of a matrix input. */
  count: number;
  /** Their names, when known (fitted on a table, or given feature names). */
  names: readonly string[] | null;
  /** Turns a table into the design columns (null when the model was fitted on a matrix). */
  encoder: TableEncoder | null;
}

/** A JSON-able description of what a model learned: its kind first, then kind-specific fields. */
export type ModelSummary = { kind: string } & Record<string, unknown>;

export interface FittedModel {
  readonly kind: string;
  readonly columns: ModelColumns;
  /** The model's own prediction per row (a cluster, a value, a class). */
  predict(x: ModelInput, opts?: CallOptions): Promise<Float32Array | Int32Array>;
  /**
   * The one value per row that `quiver predict` writes and the server's predict route answers: the cluster
   * (kmeans), the value (linear), the probability of the positive class (logistic).
   */
  score(x: ModelInput, opts?: CallOptions): Promise<Float32Array | Int32Array>;
  /**
   * `score` in float64 (clusters stay int32): what `quiver predict` writes unless float32 is asked for, so that
   * a probability of 1 − 1.5e-8 is not rounded to 1.
   */
  scoreF64(x: ModelInput, opts?: CallOptions): Promise<Float64Array | Int32Array>;
  /** What `score` returns, in words, for messages ("cluster indices", "probabilities", ...). */
  readonly scoreName: string;
  summary(): ModelSummary;
  /** What `save` writes (see bundle.ts). */
  toBundle(): ModelBundle;
  save(path: string): Promise<void>;
}
