/** The option, iteration and state types of a KMeans fit (src/models/kmeans.ts), shared by its run and init files. */
import type { TableEncoder } from '../data/table.js';
import type { CallOptions } from '../engine/engine.js';
import type { Matrix } from '../types.js';

export type KMeansInit = 'k-means++' | 'random' | Matrix;

export interface KMeansIteration {
  /** Which of the nInit runs (0-based). */
  run: number;
  /** Lloyd step within the run (1-based). */
  iteration: number;
  inertia: number;
  /** Σ‖c_new − c_old‖² of this step. */
  shift: number;
}

export interface KMeansOptions extends CallOptions {
  k: number;
  init?: KMeansInit;
  nInit?: number;
  maxIter?: number;
  /** Relative tolerance on the centroid shift (default 1e-4; 0 runs until labels stop changing or maxIter). */
  tol?: number;
  seed?: number;
  sampleWeight?: Float32Array | Float64Array | null;
  /**
   * The table encoder that built x from a CSV table: saved with the model, so that it assigns table rows with
   * the same columns, levels and standardisation.
   */
  encoder?: TableEncoder | null;
  /** Called after every Lloyd step (progress displays). */
  onIteration?: (info: KMeansIteration) => void;
}

export interface RunResult {
  centers: Float64Array;
  labels: Int32Array;
  inertia: number;
  nIter: number;
  history: number[];
  converged: boolean;
}

export interface KMeansState {
  centroids: Matrix;
  /** Training-row labels (null for a loaded model). */
  labels: Int32Array | null;
  inertia: number;
  nIter: number;
  inertiaHistory: Float64Array;
  converged: boolean;
  params: { k: number; init: string; nInit: number; maxIter: number; tol: number; seed: number };
  encoder: TableEncoder | null;
}
