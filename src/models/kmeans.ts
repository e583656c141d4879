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
import { TableEncoder } from '../data/table.js';
import type { AllocatedVector, CallOptions, Engine, KmeansStepResult, StagedMatrix } from '../engine/engine.js';
import { checkFinite, checkMatrix, checkSameCols } from '../engine/validate.js';
import { crossAndNorms, inertiaFromSums, updateCenters } from '../engine/ops/kmeans.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import type { FittedModel, ModelColumns, ModelSummary } from './model.js';
import { readBundle, writeBundle, type ModelBundle } from './bundle.js';
import { checkEncoder, checkIntOption, checkNumberOption, checkSampleWeight, designOf, type ModelInput } from './common.js';
import { silhouetteScore } from './metrics.js';
import { Rng, sampleWithoutReplacement } from '../data/random.js';

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

interface RunResult {
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
      encoder: b.encoder ? TableEncoder.fromJSON(b.encoder, source) : null,
    });
  }

  /** Writes `path` (JSON manifest) and the arrays beside it, atomically. */
  async save(path: string): Promise<void> {
    await writeBundle(path, this.toBundle());
  }

  /** Reads a kmeans model written by `save` (see also `loadModel`, which accepts any kind). */
  static async load(path: string, engine: Engine): Promise<KMeansModel> {
    const b = await readBundle(path);
    if (b.kind !== 'kmeans') throw new QuiverError('INVALID_ARGUMENT', `${path} holds a "${b.kind}" model, not a kmeans one; load it with loadModel`, { kind: b.kind });
    return KMeansModel.fromBundle(b, engine, path);
  }
}

/** Fits KMeans: see the module comment for the exact semantics. */
export async function fitKMeans(engine: Engine, x: Matrix, opts: KMeansOptions): Promise<KMeansModel> {
  // Staging checks x's shape; its values are checked by the first pass over the rows (the first Lloyd step,
  // with exact distances, or k-means++'s first distances): its total is finite exactly when every value is,
  // and only then does a scan on this thread name the cell.
  const staged = engine.stage(x, 'x', { checkValues: false });
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
    fit = { engine, staged, x, k, w32, maxIter, tol, scale: null, opts, dist: null };

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
    staged.release();
  }
}

interface FitContext {
  engine: Engine;
  /**
   * The buffer of the steps with exact distances (a fit's first, one that left a cluster empty, each run's
   * final assignment): an engine region, allocated on first use and recycled after the fit, so that a fit does
   * not fault in fresh pages for it (1.6 MB at 200k rows; about 0.5 ms of the first step, measured here).
   */
  dist: AllocatedVector | null;
  staged: StagedMatrix;
  x: Matrix;
  k: number;
  w32: Float32Array | null;
  maxIter: number;
  tol: number;
  /** Set by the first Lloyd step of the fit (see `fitScale`), then shared by every run. */
  scale: { sumSq: number; tolScaled: number } | null;
  opts: KMeansOptions;
}

function distanceBuffer(fit: FitContext): Float64Array {
  fit.dist ??= fit.engine.allocVector(fit.x.rows);
  return fit.dist.data;
}

/**
 * What the whole fit needs from one pass over x, taken from the first Lloyd step (run with exact distances,
 * so no separate pass is spent on it): x's values are all finite (else the scan names the cell);
 * Σ w‖x‖² = inertia + 2 Σ_c c·S_c − Σ_c n_c‖c‖², for the later steps' inertia from sums; and the tol scale.
 */
async function fitScale(fit: FitContext, step: KmeansStepResult, c32: Float32Array): Promise<{ sumSq: number; tolScaled: number }> {
  const { x, k, w32, tol, engine, staged, opts } = fit;
  const d = x.cols;
  if (!Number.isFinite(step.inertia)) {
    checkFinite(x.data, 'x', d);
    throw new QuiverError('INTERNAL', 'kmeans: the step inertia is not finite, but every value of x is');
  }
  const { cross, norms } = crossAndNorms(c32, step.sums, step.counts, k, d);
  const sumSq = Math.max(0, step.inertia + 2 * cross - norms);
  if (tol === 0) return { sumSq, tolScaled: 0 };
  // The variance is unweighted even with sample weights (as scikit-learn): unweighted column sums are
  // the step's own without weights, else those of a one-centroid pass.
  let columnSums: Float64Array;
  if (w32) {
    columnSums = (await engine.kmeansStep(staged, { rows: 1, cols: d, data: new Float32Array(d) }, null, { signal: opts.signal, distances: false })).sums;
  } else {
    columnSums = new Float64Array(d);
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) columnSums[j]! += step.sums[c * d + j]!;
  }
  return { sumSq, tolScaled: tol * (await meanColumnVariance(engine, staged, x, columnSums, opts.signal)) };
}

async function lloyd(fit: FitContext, start: Float64Array, run: number): Promise<RunResult> {
  const { engine, staged, x, k, w32, maxIter, opts } = fit;
  const d = x.cols;
  const n = x.rows;
  let centers = start;
  const history: number[] = [];
  let converged = false;
  let done = 0;
  // One label buffer, rewritten by every step; the workers count the rows whose label changed.
  const into = { labels: new Int32Array(new SharedArrayBuffer(n * 4)) };
  const withDistances = (): { labels: Int32Array; minDist2: Float64Array } => ({ labels: into.labels, minDist2: distanceBuffer(fit) });
  // Set when a run of steps in the pool stopped at a step that left a cluster empty: that step is redone
  // here with distances, and keeps the label changes the pool counted.
  let pendingChanged: number | null | undefined;
  while (done < maxIter) {
    if (fit.scale !== null && pendingChanged === undefined) {
      // Steps without distances run back to back in the pool, with the same arithmetic and stop tests as
      // the step below (see engine/lloyd.ts). It hands back after at most a step past its time budget: every
      // 100 ms for progress, else the engine's 200 ms, so other work queued on the pool is not held up long.
      const r = await engine.lloyd(staged, centers, w32, {
        k,
        labels: into.labels,
        maxSteps: maxIter - done,
        countFirst: done > 0,
        sumSq: fit.scale.sumSq,
        tolScaled: fit.scale.tolScaled,
        budgetMs: opts.onIteration ? 100 : undefined,
        signal: opts.signal,
      });
      for (const s of r.steps) {
        history.push(s.inertia);
        done++;
        opts.onIteration?.({ run, iteration: done, inertia: s.inertia, shift: s.shift });
      }
      centers = r.centers;
      if (r.stop === 'strict' || r.stop === 'tol') {
        converged = true;
        break;
      }
      if (r.stop === 'empty') pendingChanged = r.emptyChanged;
      continue;
    }
    const c32 = Float32Array.from(centers);
    // The fit's first step is exact: it supplies Σ w‖x‖² and checks x's values. A step that left a cluster
    // empty needs the distances too (the farthest rows re-seed it).
    const exact = fit.scale === null || pendingChanged !== undefined;
    let step = await engine.kmeansStep(staged, { rows: k, cols: d, data: c32 }, w32, {
      signal: opts.signal,
      distances: exact,
      changes: done > 0 && pendingChanged === undefined,
      into: exact ? withDistances() : into,
    });
    if (fit.scale === null) fit.scale = await fitScale(fit, step, c32);
    const changed = pendingChanged === undefined ? step.changed : pendingChanged;
    pendingChanged = undefined;
    if (!step.minDist2 && step.counts.some((c) => c === 0)) {
      // An empty cluster is re-seeded with the farthest rows: that needs the distances (same labels and sums).
      step = await engine.kmeansStep(staged, { rows: k, cols: d, data: c32 }, w32, { signal: opts.signal, into: withDistances() });
    }
    // Intermediate steps skip the exact per-row distances; the inertia of the step comes from its sums:
    // Σ w‖x − c_l‖² = Σ w‖x‖² − 2 Σ_c c·S_c + Σ_c n_c ‖c‖² (f64; S_c, n_c the step's sums and counts).
    const inertia = step.minDist2 ? step.inertia : inertiaFromSums(fit.scale.sumSq, c32, step.sums, step.counts, k, d);
    history.push(inertia);
    // The step's sums and counts are this call's own arrays: relocation may change them in place.
    const { sums, counts } = step;
    if (step.minDist2) relocateEmptyClusters(x, w32, step.labels, step.minDist2, sums, counts, k);
    // A cluster that stays empty (only possible with zero-weight rows) keeps its centroid.
    const { next, shift } = updateCenters(centers, c32, sums, counts, k, d);
    centers = next;
    done++;
    opts.onIteration?.({ run, iteration: done, inertia, shift });
    // Strict convergence: no label differs from the previous step's (as left by any relocation).
    if (changed === 0 || shift <= fit.scale.tolScaled) {
      converged = true;
      break;
    }
  }
  const nIter = done;
  // The final assignment, with exact distances: the labels and inertia of the returned centroids. (After a
  // strict convergence the labels are those of the last step already; the pass gives the exact inertia.)
  const final = await engine.kmeansStep(staged, { rows: k, cols: d, data: Float32Array.from(centers) }, w32, { signal: opts.signal, into: withDistances() });
  return { centers, labels: final.labels, inertia: final.inertia, nIter, history, converged };
}

/**
 * Gives each empty cluster one of the rows farthest from their own centroid (distances of this step),
 * farthest first, moving the row's weight and values out of its old cluster's sums.
 */
function relocateEmptyClusters(
  x: Matrix,
  w32: Float32Array | null,
  labels: Int32Array,
  dist: Float64Array,
  sums: Float64Array,
  counts: Float64Array,
  k: number,
): void {
  const empty: number[] = [];
  for (let c = 0; c < k; c++) if (counts[c] === 0) empty.push(c);
  if (empty.length === 0) return;
  const n = x.rows;
  const d = x.cols;
  // The n_empty largest distances (among rows with weight), farthest first, ties to the lower row.
  const far: number[] = [];
  for (let i = 0; i < n; i++) {
    if (w32 && w32[i] === 0) continue;
    const di = dist[i]!;
    if (far.length === empty.length && di <= dist[far[far.length - 1]!]!) continue;
    let p = far.length;
    while (p > 0 && dist[far[p - 1]!]! < di) p--;
    far.splice(p, 0, i);
    if (far.length > empty.length) far.pop();
  }
  if (far.length === 0 || dist[far[0]!] === 0) return; // every row sits on its centroid: nothing to move
  for (let e = 0; e < empty.length && e < far.length; e++) {
    const target = empty[e]!;
    const i = far[e]!;
    const w = w32 ? w32[i]! : 1;
    const old = labels[i]!;
    for (let j = 0; j < d; j++) {
      const v = w * x.data[i * d + j]!;
      sums[old * d + j]! -= v;
      sums[target * d + j] = v;
    }
    counts[target] = w;
    counts[old]! -= w;
  }
}

/** Squared distances of every row to one row of x, through the engine (f64). */
async function distancesTo(engine: Engine, staged: StagedMatrix, x: Matrix, row: number, opts: CallOptions): Promise<Float64Array> {
  const d = x.cols;
  const c = { rows: 1, cols: d, data: x.data.slice(row * d, (row + 1) * d) };
  return (await engine.kmeansStep(staged, c, null, { signal: opts.signal })).minDist2!;
}

/** First index i with cum[i] ≥ r (numpy's searchsorted, side 'left'), clipped to the last index. */
function searchSorted(cum: Float64Array, r: number): number {
  let lo = 0;
  let hi = cum.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid]! < r) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(lo, cum.length - 1);
}

async function kmeansPlusPlus(
  engine: Engine,
  staged: StagedMatrix,
  x: Matrix,
  k: number,
  w: Float64Array | null,
  rng: Rng,
  opts: CallOptions,
): Promise<Float64Array> {
  const n = x.rows;
  const d = x.cols;
  const centers = new Float64Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  const cum = new Float64Array(n);
  let first: number;
  if (w) {
    let s = 0;
    for (let i = 0; i < n; i++) cum[i] = s += w[i]!;
    first = searchSorted(cum, rng.next() * s);
  } else first = rng.int(n);
  for (let j = 0; j < d; j++) centers[j] = x.data[first * d + j]!;
  let closest = await distancesTo(engine, staged, x, first, opts);
  let pot = 0;
  for (let i = 0; i < n; i++) pot += (w ? w[i]! : 1) * closest[i]!;
  if (!Number.isFinite(pot)) {
    // The first pass over x: a non-finite value shows here (the scan names it) before it can steer the draws.
    checkFinite(x.data, 'x', d);
    throw new QuiverError('INTERNAL', 'kmeans++: the potential is not finite, but every value of x is');
  }
  for (let c = 1; c < k; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) cum[i] = s += (w ? w[i]! : 1) * closest[i]!;
    let bestPot = Infinity;
    let bestRow = -1;
    let bestDist: Float64Array | null = null;
    for (let t = 0; t < trials; t++) {
      const cand = searchSorted(cum, rng.next() * pot);
      const dc = await distancesTo(engine, staged, x, cand, opts);
      let p = 0;
      for (let i = 0; i < n; i++) {
        const m = Math.min(closest[i]!, dc[i]!);
        dc[i] = m;
        p += (w ? w[i]! : 1) * m;
      }
      if (p < bestPot) {
        bestPot = p;
        bestRow = cand;
        bestDist = dc;
      }
    }
    pot = bestPot;
    closest = bestDist!;
    for (let j = 0; j < d; j++) centers[c * d + j] = x.data[bestRow * d + j]!;
  }
  return centers;
}

/** k distinct rows: uniformly, or with probability ∝ weight (sequentially, without replacement). */
function randomInit(x: Matrix, k: number, w: Float64Array | null, rng: Rng): Float64Array {
  const n = x.rows;
  const d = x.cols;
  let rows: number[];
  if (!w) rows = Array.from(sampleWithoutReplacement(rng, n, k));
  else {
    const left = Float64Array.from(w);
    rows = [];
    for (let c = 0; c < k; c++) {
      let total = 0;
      for (let i = 0; i < n; i++) total += left[i]!;
      if (!(total > 0)) {
        throw new QuiverError('INVALID_ARGUMENT', `only ${c} rows have a positive sampleWeight but k = ${k}; random init needs k of them`);
      }
      let r = rng.next() * total;
      let pick = n - 1;
      for (let i = 0; i < n; i++) {
        r -= left[i]!;
        if (r < 0 && left[i]! > 0) {
          pick = i;
          break;
        }
      }
      while (left[pick] === 0) pick--;
      rows.push(pick);
      left[pick] = 0;
    }
  }
  const centers = new Float64Array(k * d);
  rows.forEach((r, c) => {
    for (let j = 0; j < d; j++) centers[c * d + j] = x.data[r * d + j]!;
  });
  return centers;
}

/** Distinct rows of x, counting only up to `limit` (stops early). -0 and 0 are the same value. */
export function countDistinctRows(x: Matrix, limit: number): number {
  const { rows, cols, data } = x;
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const buckets = new Map<number, number[]>();
  let distinct = 0;
  for (let i = 0; i < rows && distinct < limit; i++) {
    let h = 0x811c9dc5;
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const b = data[o + j] === 0 ? 0 : bits[o + j]!;
      h = Math.imul(h ^ b, 0x01000193);
    }
    const list = buckets.get(h);
    if (list === undefined) {
      buckets.set(h, [i]);
      distinct++;
      continue;
    }
    let seen = false;
    for (const r of list) {
      let same = true;
      for (let j = 0; j < cols; j++) {
        if (data[r * cols + j] !== data[o + j]) {
          same = false;
          break;
        }
      }
      if (same) {
        seen = true;
        break;
      }
    }
    if (!seen) {
      list.push(i);
      distinct++;
    }
  }
  return distinct;
}

/**
 * Mean over columns of the (unweighted, population) column variance: scikit-learn's tol scale. From the
 * column sums of a one-centroid pass (the mean) and a second such pass that measures Σ‖x − x̄‖².
 */
async function meanColumnVariance(engine: Engine, staged: StagedMatrix, x: Matrix, columnSums: Float64Array, signal?: AbortSignal): Promise<number> {
  const d = x.cols;
  const mean = columnSums.map((s) => s / x.rows);
  const c = Float32Array.from(mean);
  const second = await engine.kmeansStep(staged, { rows: 1, cols: d, data: c }, null, { signal });
  // Σ‖x − c‖² = Σ‖x − x̄‖² + n‖x̄ − c‖²: remove the part due to rounding the mean to f32.
  let off = 0;
  for (let j = 0; j < d; j++) off += (mean[j]! - c[j]!) ** 2;
  return Math.max(0, second.inertia / x.rows - off) / d;
}

export interface ChooseKOptions extends CallOptions {
  /** The k values to try (default 2..10, clipped to the rows). */
  ks?: number[];
  init?: 'k-means++' | 'random';
  nInit?: number;
  maxIter?: number;
  tol?: number;
  seed?: number;
  sampleWeight?: Float32Array | Float64Array | null;
  /** Silhouettes are computed on a seeded sample of this many rows when x has more (default 4000). */
  sampleSize?: number;
  /** Called after each k is fitted. */
  onK?: (row: ChooseKRow) => void;
}

export interface ChooseKRow {
  k: number;
  inertia: number;
  /** Mean silhouette (null for k = 1, where it is undefined). */
  silhouette: number | null;
  nIter: number;
}

/**
 * Fits KMeans for each k and reports the inertia (for the elbow) and the silhouette score, the latter on
 * one seeded sample of rows shared by every k, so the scores are comparable.
 */
export async function chooseK(engine: Engine, x: Matrix, opts: ChooseKOptions = {}): Promise<ChooseKRow[]> {
  checkMatrix(x, 'x');
  const ks = opts.ks ?? [...Array(9).keys()].map((i) => i + 2).filter((k) => k <= x.rows);
  if (ks.length === 0) throw new QuiverError('INVALID_ARGUMENT', 'chooseK needs at least one k to try');
  const out: ChooseKRow[] = [];
  for (const k of ks) {
    const m = await fitKMeans(engine, x, {
      k,
      init: opts.init,
      nInit: opts.nInit,
      maxIter: opts.maxIter,
      tol: opts.tol,
      seed: opts.seed,
      sampleWeight: opts.sampleWeight,
      signal: opts.signal,
    });
    const silhouette = k === 1 ? null : silhouetteScore(x, m.labels!, { sampleSize: opts.sampleSize, seed: opts.seed ?? 0 });
    const row = { k, inertia: m.inertia, silhouette, nIter: m.nIter };
    opts.onK?.(row);
    out.push(row);
  }
  return out;
}

/** What `chooseK`'s rows suggest: the elbow of the inertia curve and the k of the best silhouette. */
export interface ChooseKPick {
  /** The elbow: the k farthest from the chord joining the first and last (k, inertia) points, both axes scaled to [0, 1]; null with fewer than 3 ks. */
  elbow: number | null;
  /** The k with the highest mean silhouette (the smaller k on a tie); null when no silhouette was computed. */
  bestSilhouette: number | null;
  elbowRule: string;
}

export const ELBOW_RULE =
  'the k whose (k, inertia) point lies farthest from the straight line through the first and last points, with k and inertia each scaled to [0, 1]';

/** Reads the elbow and the best silhouette off `chooseK` rows (sorted by k here). */
export function pickK(rows: readonly ChooseKRow[]): ChooseKPick {
  const r = [...rows].sort((a, b) => a.k - b.k);
  let bestSilhouette: number | null = null;
  let best = -Infinity;
  for (const row of r) {
    if (row.silhouette !== null && row.silhouette > best) {
      best = row.silhouette;
      bestSilhouette = row.k;
    }
  }
  let elbow: number | null = null;
  if (r.length >= 3) {
    const k0 = r[0]!.k;
    const k1 = r[r.length - 1]!.k;
    const lo = Math.min(...r.map((x) => x.inertia));
    const hi = Math.max(...r.map((x) => x.inertia));
    const span = hi - lo || 1;
    const pts = r.map((x) => [(x.k - k0) / (k1 - k0), (x.inertia - lo) / span] as const);
    const [ax, ay] = pts[0]!;
    const [bx, by] = pts[pts.length - 1]!;
    const len = Math.hypot(bx - ax, by - ay);
    let far = -1;
    for (let i = 1; i < pts.length - 1; i++) {
      const [px, py] = pts[i]!;
      const d = Math.abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / len;
      if (d > far) {
        far = d;
        elbow = r[i]!.k;
      }
    }
  }
  return { elbow, bestSilhouette, elbowRule: ELBOW_RULE };
}
