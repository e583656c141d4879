/**
 * KMeans (Lloyd) on the engine's fused `kmeansStep`, with scikit-learn's semantics where it has them:
 *
 * - init: 'k-means++' is the greedy variant: each new centre is the best of 2 + ⌊ln k⌋ candidates drawn with
 *   probability ∝ w·D², "best" meaning the lowest resulting potential Σ w·min D²; 'random' takes k distinct
 *   rows (∝ w with sample weights); a k × cols matrix is used as given (and then nInit is 1).
 * - nInit (default 1 for k-means++ and given centroids, 10 for random, like scikit-learn's 'auto'): the
 *   run with the lowest inertia wins; runs draw in turn from one seeded generator.
 * - Stopping, as scikit-learn: after each step, labels equal to the previous step's ("strict
 *   convergence") stop; otherwise the run stops when Σ_c ‖c_new − c_old‖² ≤ tol × (mean over columns of the
 *   column variance of x), the variance unweighted even with sample weights; or after maxIter steps. Every
 *   run ends with one more assignment, with exact distances, so that labels and inertia match the centroids.
 * - An empty cluster takes the row farthest from its own centroid (the n_empty farthest rows, farthest
 *   first, ties to the lower row), which leaves its old cluster, as scikit-learn's relocation.
 * - nIter counts the Lloyd steps of the winning run; `inertiaHistory[i]` is the inertia of step i
 *   (rows against the centroids at the start of that step): exact for the fit's first step, then computed
 *   from the step's sums as Σ w‖x‖² − 2 Σ_c c·S_c + Σ_c n_c‖c‖² (the later steps skip the exact per-row
 *   distances); `inertia` is for the final centroids, from exact distances.
 *
 * Centroids are kept in f64 between steps and handed to the kernel as f32; sums, counts and inertia
 * come back in f64. Random choices come from `Rng` here, never from a kernel.
 */
import type { TableEncoder } from '../data/table.js';
import type { CallOptions, Engine, } from '../engine/engine.js';
import { checkMatrix, checkSameCols } from '../engine/validate.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import type { FittedModel, ModelColumns, ModelSummary } from './model.js';
import { bundleColumns, readBundleOf, writeBundle, type ModelBundle } from './bundle.js';
import { checkEncoder, checkIntOption, checkNumberOption, checkSampleWeight, designOf, type ModelInput } from './common.js';
import { Rng, } from '../data/random.js';

import { kmeansPlusPlus, randomInit, countDistinctRows } from './kmeans-init.js';
import { type FitContext, lloyd } from './kmeans-run.js';
import type { KMeansOptions, KMeansState, RunResult } from './kmeans-types.js';

export type { KMeansInit, KMeansIteration, KMeansOptions, KMeansState } from './kmeans-types.js';
export { countDistinctRows } from './kmeans-init.js';

export class KMeansModel implements FittedModel {
  readonly kind = 'kmeans' as const;
  readonly scoreName = 'cluster indices';
  /** k × cols centroids. */
  readonly centroids: Matrix;
  /** Cluster of each training row (null for a loaded model). */
  readonly labels: Int32Array | null;
  /** Σ w·‖x − c(x)‖² over the training rows, for the final centroids. */
  readonly inertia: number;
  readonly nIter: number;
  readonly inertiaHistory: Float64Array;
  /** False when the winning run stopped at maxIter. */
  readonly converged: boolean;
  readonly params: KMeansState['params'];
  /** The table encoder when the model was fitted on a CSV table (the `encoder` fit option). */
  readonly encoder: TableEncoder | null;

  constructor(
    private readonly engine: Engine,
    s: KMeansState,
  ) {
    this.centroids = s.centroids;
    this.labels = s.labels;
    this.inertia = s.inertia;
    this.nIter = s.nIter;
    this.inertiaHistory = s.inertiaHistory;
    this.converged = s.converged;
    this.params = s.params;
    this.encoder = s.encoder;
  }

  get k(): number {
    return this.centroids.rows;
  }

  /** Index of the nearest centroid of each row (ties to the lower index). */
  async predict(x: ModelInput, opts: CallOptions = {}): Promise<Int32Array> {
    const m = this.#design(x);
    return (await this.engine.kmeansStep(m, this.centroids, null, opts)).labels;
  }

  /** The clusters (what `quiver predict` writes). */
  score(x: ModelInput, opts: CallOptions = {}): Promise<Int32Array> {
    return this.predict(x, opts);
  }

  /** The clusters (integers need no wider type). */
  scoreF64(x: ModelInput, opts: CallOptions = {}): Promise<Int32Array> {
    return this.predict(x, opts);
  }

  /** The nearest centroid of each row and Σ‖x − c(x)‖² over the rows (the inertia of new data). */
  async assign(x: ModelInput, opts: CallOptions = {}): Promise<{ labels: Int32Array; inertia: number; matrix: Matrix }> {
    const m = this.#design(x);
    const r = await this.engine.kmeansStep(m, this.centroids, null, opts);
    return { labels: r.labels, inertia: r.inertia, matrix: m };
  }

  get columns(): ModelColumns {
    return { count: this.centroids.cols, names: this.encoder?.features ?? null, encoder: this.encoder };
  }

  summary(): ModelSummary {
    const { rows, cols, data } = this.centroids;
    const centroids = Array.from({ length: rows }, (_, c) => Array.from(data.subarray(c * cols, (c + 1) * cols)));
    return { kind: this.kind, k: this.k, cols, inertia: this.inertia, nIter: this.nIter, converged: this.converged, centroids };
  }

  /** Euclidean distance of each row to each centroid: rows × k (f32 storage, computed in f64). */
  async transform(x: ModelInput, opts: CallOptions = {}): Promise<Matrix> {
    const m = this.#design(x);
    const k = this.k;
    const cols = this.centroids.cols;
    const out = new Float32Array(m.rows * k);
    const staged = this.engine.stage(m);
    try {
      for (let c = 0; c < k; c++) {
        const one = { rows: 1, cols, data: this.centroids.data.slice(c * cols, (c + 1) * cols) };
        const d2 = (await this.engine.kmeansStep(staged, one, null, opts)).minDist2!;
        for (let i = 0; i < m.rows; i++) out[i * k + c] = Math.sqrt(d2[i]!);
      }
    } finally {
      staged.release();
    }
    return { rows: m.rows, cols: k, data: out };
  }

  #design(x: ModelInput): Matrix {
    const m = designOf(x, this.encoder, this.centroids.cols, this.encoder?.features ?? null);
    checkSameCols(m.cols, 'x', this.centroids.cols, 'the centroids');
    return m;
  }

  toBundle(): ModelBundle {
    return {
      kind: 'kmeans',
      params: { ...this.params, inertia: this.inertia, nIter: this.nIter, converged: this.converged },
      arrays: {
        centroids: { data: this.centroids.data, shape: [this.centroids.rows, this.centroids.cols] },
        inertiaHistory: { data: this.inertiaHistory, shape: [this.inertiaHistory.length] },
      },
      encoder: this.encoder?.toJSON() ?? null,
    };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): KMeansModel {
    const c = b.arrays['centroids'];
    const h = b.arrays['inertiaHistory'];
    if (!c || !(c.data instanceof Float32Array) || c.shape.length !== 2) throw new QuiverError('INVALID_ARGUMENT', `${source}: a kmeans model needs f32 centroids of 2 dimensions`);
    const p = b.params as Partial<KMeansState['params']> & { inertia?: number; nIter?: number; converged?: boolean };
    return new KMeansModel(engine, {
      centroids: { rows: c.shape[0]!, cols: c.shape[1]!, data: c.data },
      labels: null,
      inertia: Number(p.inertia),
      nIter: Number(p.nIter),
      inertiaHistory: h?.data instanceof Float64Array ? h.data : new Float64Array(0),
      converged: p.converged === true,
      params: {
        k: c.shape[0]!,
        init: String(p.init ?? 'k-means++'),
        nInit: Number(p.nInit ?? 1),
        maxIter: Number(p.maxIter ?? 300),
        tol: Number(p.tol ?? 1e-4),
        seed: Number(p.seed ?? 0),
      },
      encoder: bundleColumns(b, source).encoder,
    });
  }

  /** Writes `path` (JSON manifest) and the arrays beside it, atomically. */
  async save(path: string): Promise<void> {
    await writeBundle(path, this.toBundle());
  }

  /** Reads a kmeans model written by `save` (see also `loadModel`, which accepts any kind). */
  static async load(path: string, engine: Engine): Promise<KMeansModel> {
    return KMeansModel.fromBundle(await readBundleOf(path, 'kmeans'), engine, path);
  }
}

/** Fits KMeans: see the module comment for the exact semantics. */
export async function fitKMeans(engine: Engine, x: Matrix, opts: KMeansOptions): Promise<KMeansModel> {
  // Staging checks x's shape; its values are checked by the first pass over the rows (the first Lloyd step,
  // with exact distances, or k-means++'s first distances): its total is finite exactly when every value is,
  // and only then does a scan on this thread name the cell.
  // A plain array is borrowed, not copied, where the backend can (see StageOptions.borrow; a fit takes no signal).
  const staged = engine.stage(x, 'x', { checkValues: false, borrow: true });
  let fit: FitContext | null = null;
  try {
    const n = x.rows;
    const d = x.cols;
    if (typeof opts !== 'object' || opts === null) throw new QuiverError('INVALID_ARGUMENT', 'kmeans needs options with at least k');
    const k = opts.k;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
      throw new QuiverError('INVALID_ARGUMENT', `k must be a whole number ≥ 1 (got ${String(k)})`, { k });
    }
    if (k > n) throw new QuiverError('INVALID_ARGUMENT', `k = ${k} is more than the ${n} rows of x; choose k between 1 and ${n}`, { k, rows: n });
    const init = opts.init ?? 'k-means++';
    let given: Float64Array | null = null;
    if (typeof init === 'object') {
      checkMatrix(init, 'init');
      if (init.rows !== k) throw new QuiverError('SHAPE_MISMATCH', `init has ${init.rows} centroids but k = ${k}; pass k rows`, { k, rows: init.rows });
      checkSameCols(init.cols, 'init', d, 'x');
      given = Float64Array.from(init.data);
    } else if (init !== 'k-means++' && init !== 'random') {
      throw new QuiverError('INVALID_ARGUMENT', `init must be "k-means++", "random" or a k × cols matrix of centroids (got ${JSON.stringify(init)})`);
    }
    const nInit = given ? 1 : checkIntOption(opts.nInit, 'nInit', 1, init === 'random' ? 10 : 1);
    const maxIter = checkIntOption(opts.maxIter, 'maxIter', 1, 300);
    const tol = checkNumberOption(opts.tol, 'tol', 0, 1e-4);
    const seed = opts.seed ?? 0;
    const rng = new Rng(seed);
    const w64 = checkSampleWeight(opts.sampleWeight, n);
    const w32 = w64 ? Float32Array.from(w64) : null;
    const encoder = checkEncoder(opts.encoder, d);

    const distinct = countDistinctRows(x, k);
    if (distinct < k) {
      throw new QuiverError(
        'INVALID_ARGUMENT',
        distinct === 1
          ? `all ${n} rows of x are identical, so there is only one cluster; k = ${k} needs at least ${k} distinct rows (use k = 1, or check the input)`
          : `x has only ${distinct} distinct rows but k = ${k}; lower k to at most ${distinct}`,
        { distinct, k },
      );
    }
    fit = { engine, staged, x, k, w32, maxIter, tol, scale: null, opts, dist: null, labels: null };

    let best: RunResult | null = null;
    for (let run = 0; run < nInit; run++) {
      const centers = given ?? (init === 'random' ? randomInit(x, k, w64, rng) : await kmeansPlusPlus(engine, staged, x, k, w64, rng, opts));
      const r = await lloyd(fit, centers, run);
      if (best === null || r.inertia < best.inertia) best = r;
    }
    const b = best!;
    return new KMeansModel(engine, {
      centroids: { rows: k, cols: d, data: Float32Array.from(b.centers) },
      labels: b.labels,
      inertia: b.inertia,
      nIter: b.nIter,
      inertiaHistory: Float64Array.from(b.history),
      converged: b.converged,
      params: { k, init: typeof init === 'string' ? init : 'given', nInit, maxIter, tol, seed },
      encoder,
    });
  } finally {
    fit?.dist?.release();
    fit?.labels?.release();
    staged.release();
  }
}

