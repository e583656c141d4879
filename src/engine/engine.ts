/**
 * The engine: validates shapes once, stages inputs in shared regions, tiles the work, schedules tiles on
 * the pool (or runs them inline when they are too small to be worth a thread hop), and merges partial
 * results in a fixed order. It is the only layer that knows about tiles and threads.
 *
 * Determinism: row tiles only ever split independent outputs (a query's top-k, a row of similarities, a
 * row's label). Reductions (KMeans sums, Gram) are cut into blocks whose size depends on the input's
 * shape alone; each block writes its own partial, and partials are summed in block order. So neither
 * the thread count nor the tile size changes a result.
 */
import { getBackend, loadAttempts, parseBackendChoice } from '../backends/index.js';
import type { Backend, ElementKind, Link, SharedRegion, ViewOf } from '../backends/types.js';
import { logisticLayout } from '../backends/types.js';
import { QuiverError } from '../errors.js';
import { Pool, defaultThreads, validateThreads } from '../pool/pool.js';
import { runTask } from '../pool/run-task.js';
import type { F32, F64, I32, LloydMemberResult, LloydStop, TaskMap, TaskName } from '../pool/tasks.js';
import { abortLloyd, failLloyd, lloydControlLength, runLloydMember, sumBlocks } from './lloyd.js';
import type { BackendChoice, CsrMatrix, Matrix, Metric, TopKResult } from '../types.js';
import { checkFinite, checkMatrix, checkPositiveInt, checkSameCols, checkVector } from './validate.js';
import type { Interactions } from '../data/ratings.js';
import type { KMeansModel, KMeansOptions } from '../models/kmeans.js';
import type { LinearModel, LinearRegressionOptions } from '../models/linear.js';
import type { LogisticModel, LogisticRegressionOptions } from '../models/logistic.js';
import type { RecommenderKind } from '../models/recommender.js';
import type { AnyRecommender, RecommenderOptions } from '../models/recommenders.js';
import type { CsrInput, RowSpan, SparseScoreOptions, SparseSimilarityOptions, StagedCsr } from './sparse.js';
import { checkCsr } from '../data/csr.js';

export interface EngineOptions {
  /** Kernel backend: 'auto' (default, or QUIVER_BACKEND) picks native when it loads, else wasm. */
  backend?: BackendChoice;
  /** Worker threads (default QUIVER_THREADS, else the machine's available parallelism). */
  threads?: number;
  /** Rows per tile (task); default QUIVER_TILE_ROWS, else chosen from the shape and thread count. Never changes results. */
  tileRows?: number;
  /** Tasks allowed to queue beyond the running ones before calls fail with OVERLOADED. */
  maxQueue?: number;
  /** Work (multiply-adds) below which a call runs inline on the calling thread. Default 2,000,000. */
  inlineWork?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface TopKOptions extends CallOptions {
  k: number;
  metric?: Metric;
  /** Skip base row i for query i (self-joins: similar items of an item exclude the item itself). */
  excludeSelf?: boolean;
}

export interface EngineInfo {
  backend: string;
  simd: string;
  threads: number;
  versions: Record<string, string>;
  /** Every backend load attempt of this process, with the reason of each failure. */
  attempts: { backend: string; ok: boolean; error?: string }[];
}

/** A shared region the caller holds for many calls and gives back with `release()` (idempotent). */
abstract class Staged {
  #released = false;
  constructor(
    readonly region: SharedRegion,
    private readonly owner: Engine,
  ) {}
  get released(): boolean {
    return this.#released;
  }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.owner.backend.free(this.region);
  }
}

/** A matrix copied once into a shared region, so iterative algorithms do not copy it per call. */
export class StagedMatrix extends Staged {
  constructor(
    readonly rows: number,
    readonly cols: number,
    override readonly region: F32,
    owner: Engine,
  ) {
    super(region, owner);
  }
}

export type MatrixInput = Matrix | StagedMatrix;

/** An f64 vector copied once into a shared region (see `Engine.stageVector`); `release()` when done. */
export class StagedVector extends Staged {
  constructor(
    readonly length: number,
    override readonly region: F64,
    /** Smallest and largest value, recorded when staged (for range checks without another pass). */
    readonly min: number,
    readonly max: number,
    owner: Engine,
  ) {
    super(region, owner);
  }
}

export type VectorInput = Float32Array | Float64Array | StagedVector;

export interface LogisticPassOptions extends CallOptions {
  /** Also accumulate the Hessian pieces (XᵀWX, Xᵀw, Σw); default true. */
  hessian?: boolean;
  /** Caller-owned output for z (one f64 per row), reused across passes; a new array otherwise. */
  z?: Float64Array;
}

/**
 * One logistic-regression pass at (β, b): s the row weights (1 when absent), p_i = σ(z_i), z_i = x_i·β + b.
 * `xtv`/`sumV` are Xᵀv and Σv with v_i = s_i(y_i − p_i) (minus the data gradient); the Hessian pieces use
 * w_i = s_i p_i (1 − p_i): XᵀWX (both triangles), Xᵀw and Σw, or null without `hessian`.
 */
export interface LogisticPassResult {
  /** Σ s_i ℓ_i with ℓ_i = log(1 + e^{z_i}) − y_i z_i. */
  lossWeighted: number;
  /** Σ ℓ_i, unweighted. */
  loss: number;
  /** Rows where (z_i > 0 ? 1 : 0) equals y_i. */
  correct: number;
  xtv: Float64Array;
  sumV: number;
  xtwx: Float64Array | null;
  xtw: Float64Array | null;
  sumW: number;
  z: Float64Array;
}

export interface KmeansStepResult {
  labels: Int32Array;
  /** Exact squared distance of each row to its centroid; null with `distances: false`. */
  minDist2: Float64Array | null;
  /** k × cols sums of the rows assigned to each centroid (weighted). */
  sums: Float64Array;
  counts: Float64Array;
  inertia: number;
  /** With `changes` and `into`: how many rows' labels differ from what into.labels held before; else null. */
  changed: number | null;
}

export interface LloydOptions extends CallOptions {
  /** Number of centroids (rows of `start`). */
  k: number;
  /** Labels of the previous step, rewritten by every step (an Int32Array of one value per row). */
  labels: Int32Array;
  /** Steps to run at most. */
  maxSteps: number;
  /** Count label changes in the first step too (false when `labels` holds no previous step). */
  countFirst: boolean;
  /** Σ w‖x‖² (for each step's inertia from its sums). */
  sumSq: number;
  /** Stop once a step moves the centroids by at most this (Σ‖Δc‖²). */
  tolScaled: number;
  /**
   * Return after the step that ends past this many milliseconds (default 200): to show progress, and because
   * the job holds the pool's threads until then (other calls' tasks wait).
   */
  budgetMs?: number;
}

export interface LloydResult {
  /** Per completed step: inertia (from sums, for the step's starting centroids), shift, label changes (null: not counted). */
  steps: { inertia: number; shift: number; changed: number | null }[];
  /** The centroids after the last completed step (f64, k × cols). */
  centers: Float64Array;
  /**
   * Why the run returned: 'strict' (no label changed), 'tol' (shift ≤ tolScaled), 'steps' (maxSteps done),
   * 'budget' (time), or 'empty': the step after the completed ones left a cluster empty (it is not applied:
   * redo it with distances to relocate); `emptyChanged` then holds that step's label changes.
   */
  stop: LloydStop;
  emptyChanged: number | null;
}

/** Most steps one `lloyd` call runs (its control block holds a few words per step). */
const MAX_LLOYD_STEPS = 1024;

export interface GramOptions extends CallOptions {
  /** Row weights W (default all ones). */
  w?: Float64Array | null;
  /** Subtract this vector from every row first (centring). */
  center?: Float64Array | null;
  /** Also compute Xᵀv (v is not multiplied by w). */
  v?: Float64Array | null;
}

export interface GramResult {
  /** cols × cols, symmetric (both triangles filled). */
  g: Float64Array;
  xty: Float64Array | null;
}

const DEFAULT_INLINE_WORK = 2_000_000;
const MAX_REDUCE_BLOCKS = 64;
const MIN_REDUCE_BLOCK_ROWS = 2048;

export class Engine {
  readonly backend: Backend;
  readonly threads: number;
  readonly #tileRows: number | undefined;
  readonly #maxQueue: number | undefined;
  readonly #inlineWork: number;
  #pool: Pool | null = null;
  /** The pool runs one multi-step Lloyd job at a time (its members must all hold a thread at once). */
  #lloydTurn: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(backend: Backend, threads: number, opts: EngineOptions) {
    this.backend = backend;
    this.threads = threads;
    const envTile = process.env['QUIVER_TILE_ROWS'];
    const tileRows = opts.tileRows ?? (envTile ? Number(envTile) : undefined);
    this.#tileRows = tileRows === undefined ? undefined : checkPositiveInt(tileRows, opts.tileRows === undefined ? 'QUIVER_TILE_ROWS' : 'tileRows');
    this.#maxQueue = opts.maxQueue;
    this.#inlineWork = opts.inlineWork ?? DEFAULT_INLINE_WORK;
    if (!(this.#inlineWork >= 0)) throw new QuiverError('INVALID_ARGUMENT', `inlineWork must be ≥ 0 (got ${opts.inlineWork})`);
  }

  static async create(opts: EngineOptions = {}): Promise<Engine> {
    const choice = opts.backend ?? parseBackendChoice(process.env['QUIVER_BACKEND']);
    const threads = opts.threads === undefined ? defaultThreads() : validateThreads(opts.threads);
    const backend = await getBackend(parseBackendChoice(choice));
    return new Engine(backend, threads, opts);
  }

  info(): EngineInfo {
    return {
      backend: this.backend.info.name,
      simd: this.backend.info.simd,
      threads: this.threads,
      versions: { ...this.backend.info.versions, node: process.versions.node },
      attempts: loadAttempts().map((a) => ({ ...a })),
    };
  }

  /** Tasks waiting for a worker (for backpressure decisions). */
  get queueSize(): number {
    return this.#pool?.queueSize ?? 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const p = this.#pool;
    this.#pool = null;
    if (p) await p.close();
  }

  // ---------------------------------------------------------------- staging and regions

  /**
   * Copies a matrix into a shared region once; pass the result to many calls, then `release()` it.
   * `checkValues: false` skips the NaN/±Infinity scan (a full pass over the data) for callers that detect
   * non-finite values another way and then call `checkFinite` themselves, as the logistic fit does from its
   * first pass's objective.
   */
  stage(m: Matrix, name = 'x', opts: { checkValues?: boolean } = {}): StagedMatrix {
    checkMatrix(m, name, opts.checkValues ?? true);
    const r = this.backend.alloc('f32', m.rows * m.cols, false);
    this.backend.view(r).set(m.data);
    return new StagedMatrix(m.rows, m.cols, r, this);
  }

  /**
   * Copies a vector (row weights, targets) into a shared f64 region once, for repeated calls such as the
   * passes of a logistic fit; values must be finite. `release()` it when done.
   */
  stageVector(v: Float32Array | Float64Array, name = 'v'): StagedVector {
    checkVector(v, name, v.length);
    if (v.length === 0) throw new QuiverError('INVALID_ARGUMENT', `${name} is empty`);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < v.length; i++) {
      const a = v[i]!;
      if (a < min) min = a;
      if (a > max) max = a;
    }
    const r = this.backend.alloc('f64', v.length, false);
    this.backend.view(r).set(v);
    return new StagedVector(v.length, r, min, max, this);
  }

  /** A job region, zero-filled (the accumulating kernels' outputs start from it) unless `zero` is false. */
  #alloc<K extends ElementKind>(regions: SharedRegion[], kind: K, length: number, zero = true): SharedRegion & { kind: K } {
    const r = this.backend.alloc(kind, Math.max(1, length), zero) as SharedRegion & { kind: K };
    regions.push(r);
    return r;
  }

  #view<K extends ElementKind>(r: SharedRegion & { kind: K }): ViewOf<K> {
    return this.backend.view(r);
  }

  /**
   * Input as a region: staged inputs are used as they are; plain ones are checked (unless the caller already
   * did) and copied into a job region.
   */
  #input(regions: SharedRegion[], m: MatrixInput, name: string, checked = false): { region: F32; rows: number; cols: number } {
    if (m instanceof StagedMatrix) {
      if (m.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; stage it again`);
      return { region: m.region, rows: m.rows, cols: m.cols };
    }
    if (!checked) checkMatrix(m, name);
    const r = this.#alloc(regions, 'f32', m.rows * m.cols, false);
    this.#view(r).set(m.data);
    return { region: r, rows: m.rows, cols: m.cols };
  }

  /** KMeans row weights (one finite f32 per row) copied into a job region. */
  #sampleWeights(regions: SharedRegion[], weights: Float32Array, rows: number): F32 {
    checkVector(weights, 'sampleWeight', rows);
    const w = this.#alloc(regions, 'f32', rows, false);
    this.#view(w).set(weights);
    return w;
  }

  #vector64(regions: SharedRegion[], v: ArrayLike<number>): F64 {
    const r = this.#alloc(regions, 'f64', v.length, false);
    this.#view(r).set(v);
    return r;
  }

  /**
   * A region for a caller-owned output array: the array itself when workers can write it in place (backed by a
   * SharedArrayBuffer, on native or js), else a job region whose contents `#deliver` copies back.
   */
  #outputRegion<K extends ElementKind>(regions: SharedRegion[], arr: ViewOf<K>, kind: K): SharedRegion & { kind: K } {
    if (arr.buffer instanceof SharedArrayBuffer && this.backend.info.name !== 'wasm') {
      return { buffer: arr.buffer, byteOffset: arr.byteOffset, length: arr.length, kind };
    }
    return this.#alloc(regions, kind, arr.length);
  }

  #deliver<K extends ElementKind>(r: SharedRegion & { kind: K }, arr: ViewOf<K>): ViewOf<K> {
    if (r.buffer !== arr.buffer || r.byteOffset !== arr.byteOffset) arr.set(this.#view(r));
    return arr;
  }

  /** Result arrays leave the engine as ordinary typed arrays the caller owns. */
  #take<K extends ElementKind>(r: SharedRegion & { kind: K }, keep: SharedRegion[]): ViewOf<K> {
    const v = this.#view(r);
    if (this.backend.info.name !== 'wasm') {
      // A SharedArrayBuffer view: hand it over without a copy, and do not free it with the job.
      const i = keep.indexOf(r);
      if (i >= 0) keep.splice(i, 1);
      return v;
    }
    // WASM regions live in the shared linear memory, which is recycled: copy out.
    return v.slice() as ViewOf<K>;
  }

  #release(regions: SharedRegion[]): void {
    for (const r of regions) this.backend.free(r);
    regions.length = 0;
  }

  // ---------------------------------------------------------------- scheduling

  #getPool(): Pool {
    if (this.#closed) throw new QuiverError('ABORTED', 'the engine was closed');
    if (!this.#pool) this.#pool = new Pool({ threads: this.threads, backend: this.backend.init, maxQueue: this.#maxQueue });
    return this.#pool;
  }

  /** Before a call's work starts: the engine must be open and the call not aborted. */
  #checkOpen(signal?: AbortSignal): void {
    if (this.#closed) throw new QuiverError('ABORTED', 'the engine was closed');
    if (signal?.aborted) throw new QuiverError('ABORTED', 'the request was aborted before its work started');
  }

  /** Runs tasks inline when the whole call is small, else on the pool; results come back in task order. */
  async #dispatch<N extends TaskName>(name: N, tasks: TaskMap[N][0][], work: number, signal?: AbortSignal): Promise<TaskMap[N][1][]> {
    this.#checkOpen(signal);
    if (work <= this.#inlineWork) return tasks.map((t) => runTask(this.backend, name, t));
    const pool = this.#getPool();
    return Promise.all(tasks.map((t) => pool.run(name, t, signal)));
  }

  /** Row tiles: [row0, row1) ranges covering `rows`. */
  #rowTiles(rows: number, minRows = 1): { row0: number; row1: number }[] {
    return this.#rowTilesOf(rows, this.#tileRows ?? Math.max(minRows, Math.ceil(rows / (this.threads * 4))));
  }

  #rowTilesOf(rows: number, size: number): { row0: number; row1: number }[] {
    const out: { row0: number; row1: number }[] = [];
    for (let r = 0; r < rows; r += size) out.push({ row0: r, row1: Math.min(rows, r + size) });
    return out;
  }

  /** Reduction blocks depend on the shape only; tasks group whole blocks. */
  #reduceBlocks(rows: number): { blockRows: number; nBlocks: number; groups: { block0: number; block1: number }[] } {
    const blockRows = Math.max(MIN_REDUCE_BLOCK_ROWS, Math.ceil(rows / MAX_REDUCE_BLOCKS / 256) * 256);
    const nBlocks = Math.ceil(rows / blockRows);
    const per = this.#tileRows
      ? Math.max(1, Math.round(this.#tileRows / blockRows))
      : Math.max(1, Math.ceil(nBlocks / this.threads));
    const groups: { block0: number; block1: number }[] = [];
    for (let b = 0; b < nBlocks; b += per) groups.push({ block0: b, block1: Math.min(nBlocks, b + per) });
    return { blockRows, nBlocks, groups };
  }

  // ---------------------------------------------------------------- similarity and top-k

  /** Normalises the rows of `src` into `out` (which may be `src.region`); returns the norms' region. */
  async #normalizeInto(regions: SharedRegion[], src: { region: F32; rows: number; cols: number }, out: F32, signal?: AbortSignal): Promise<F32> {
    const norms = this.#alloc(regions, 'f32', src.rows);
    const tasks = this.#rowTiles(src.rows, 256).map((t) => ({ ...t, x: src.region, cols: src.cols, out, norms }));
    await this.#dispatch('normalize', tasks, src.rows * src.cols, signal);
    return norms;
  }

  /** A normalised copy of an input; a plain input's job copy is normalised in place. */
  async #normalized(regions: SharedRegion[], m: MatrixInput, name: string, signal?: AbortSignal): Promise<{ region: F32; rows: number; cols: number }> {
    const src = this.#input(regions, m, name);
    const out = m instanceof StagedMatrix ? this.#alloc(regions, 'f32', src.rows * src.cols) : src.region;
    await this.#normalizeInto(regions, src, out, signal);
    return { region: out, rows: src.rows, cols: src.cols };
  }

  /** Row-normalised copy of a matrix (zero rows stay zero), with the norms. */
  async normalizeRows(x: MatrixInput, opts: CallOptions = {}): Promise<{ matrix: Matrix; norms: Float32Array }> {
    const regions: SharedRegion[] = [];
    try {
      const src = this.#input(regions, x, 'x');
      const out = this.#alloc(regions, 'f32', src.rows * src.cols);
      const norms = await this.#normalizeInto(regions, src, out, opts.signal);
      return { matrix: { rows: src.rows, cols: src.cols, data: this.#take(out, regions) }, norms: this.#take(norms, regions) };
    } finally {
      this.#release(regions);
    }
  }

  /**
   * All-pairs similarity: rows of `a` against rows of `b` (default `a` itself), as an a.rows × b.rows matrix.
   * metric 'cosine' (default) normalises rows first; zero vectors have similarity 0 with everything.
   * `out` (optional, a.rows × b.rows) receives the answer; backed by a SharedArrayBuffer it is written in place.
   */
  async cosineSimilarity(a: MatrixInput, b?: MatrixInput, opts: CallOptions & { metric?: Metric; out?: Float32Array } = {}): Promise<Matrix> {
    const metric = checkMetric(opts.metric);
    const regions: SharedRegion[] = [];
    try {
      const self = b === undefined || b === a;
      const an = metric === 'cosine' ? await this.#normalized(regions, a, 'a', opts.signal) : this.#input(regions, a, 'a');
      const bn = self ? an : metric === 'cosine' ? await this.#normalized(regions, b, 'b', opts.signal) : this.#input(regions, b, 'b');
      checkSameCols(an.cols, 'a', bn.cols, 'b');
      const cells = an.rows * bn.rows;
      const given = opts.out;
      if (given !== undefined && (!(given instanceof Float32Array) || given.length !== cells)) {
        throw new QuiverError('SHAPE_MISMATCH', `out must be a Float32Array of ${an.rows} × ${bn.rows} = ${cells} values`, { expected: cells });
      }
      // A caller's SharedArrayBuffer-backed `out` is written in place by the workers (like numpy's out=):
      // no allocation and no page faults for a fresh answer.
      const out: F32 = given ? this.#outputRegion(regions, given, 'f32') : this.#alloc(regions, 'f32', cells);
      // Self-similarity computes the upper triangle (and diagonal blocks) and mirrors it: half the work.
      // Strips near the top cost more, so there are more of them than threads for the pool to balance.
      const tiles = self && this.#tileRows === undefined ? this.#rowTilesOf(an.rows, Math.max(16, Math.ceil(an.rows / (this.threads * 8)))) : this.#rowTiles(an.rows, 16);
      const tasks = tiles.map((t) => ({ ...t, a: an.region, b: bn.region, bRows: bn.rows, cols: an.cols, out, symmetric: self }));
      await this.#dispatch('similarity', tasks, (an.rows * bn.rows * an.cols) / (self ? 2 : 1), opts.signal);
      return { rows: an.rows, cols: bn.rows, data: given ? this.#deliver(out, given) : this.#take(out, regions) };
    } finally {
      this.#release(regions);
    }
  }

  /**
   * Exact top-k neighbours of each query row among the base rows (default: the queries themselves).
   * k larger than the candidates available is clamped: the result's `k` says how many were returned.
   */
  async topK(queries: MatrixInput, base: MatrixInput | undefined, opts: TopKOptions): Promise<TopKResult> {
    const metric = checkMetric(opts.metric);
    const requestedK = checkPositiveInt(opts.k, 'k');
    const excludeSelf = opts.excludeSelf === true;
    const regions: SharedRegion[] = [];
    try {
      const self = base === undefined || base === queries;
      const q = metric === 'cosine' ? await this.#normalized(regions, queries, 'queries', opts.signal) : this.#input(regions, queries, 'queries');
      const x = self ? q : metric === 'cosine' ? await this.#normalized(regions, base, 'base', opts.signal) : this.#input(regions, base, 'base');
      checkSameCols(q.cols, 'queries', x.cols, 'base');
      if (excludeSelf && !self && q.rows > x.rows) {
        // Index-based exclusion still works, but some queries would have no self to exclude: say so.
        throw new QuiverError('INVALID_ARGUMENT', `excludeSelf pairs query i with base row i, but there are ${q.rows} queries and only ${x.rows} base rows`);
      }
      const candidates = excludeSelf ? x.rows - 1 : x.rows;
      if (candidates < 1) throw new QuiverError('INVALID_ARGUMENT', 'the base has no candidate rows (one row, and excludeSelf removes it)');
      const k = Math.min(requestedK, candidates);
      const { idx, scores } = this.#topkOutputs(regions, q.rows * k);
      const tasks = this.#rowTiles(q.rows, 64).map((t) => ({ ...t, q: q.region, x: x.region, xRows: x.rows, cols: q.cols, k, excludeSelf, idx, scores }));
      await this.#dispatch('topk', tasks, q.rows * x.rows * q.cols, opts.signal);
      return { indices: this.#take(idx, regions), scores: this.#take(scores, regions), rows: q.rows, k, requestedK };
    } finally {
      this.#release(regions);
    }
  }

  // ---------------------------------------------------------------- KMeans, Gram, solve, scoring

  /**
   * One Lloyd step over all rows: labels, per-cluster sums and counts, and (unless `distances` is false) the
   * exact squared distances and the inertia. Without distances `minDist2` is null and `inertia` NaN: the
   * intermediate steps of a fit need only labels, sums and counts, and skip a pass over each row.
   * With `changes` and `into`, `changed` counts the rows whose label differs from what `into.labels` held
   * before the call (counted by the workers, block by block, as they write).
   */
  async kmeansStep(
    x: MatrixInput,
    centroids: Matrix,
    weights?: Float32Array | null,
    opts: CallOptions & { distances?: boolean; changes?: boolean; into?: { labels: Int32Array; minDist2?: Float64Array | null } } = {},
  ): Promise<KmeansStepResult> {
    const regions: SharedRegion[] = [];
    try {
      const src = this.#input(regions, x, 'x');
      checkMatrix(centroids, 'centroids');
      checkSameCols(centroids.cols, 'centroids', src.cols, 'x');
      const k = centroids.rows;
      const c = this.#alloc(regions, 'f32', k * src.cols);
      this.#view(c).set(centroids.data);
      const w = weights ? this.#sampleWeights(regions, weights, src.rows) : null;
      const { blockRows, nBlocks, groups } = this.#reduceBlocks(src.rows);
      // Caller-owned outputs (reused across Lloyd iterations) spare fresh pages every step; written in place
      // when SharedArrayBuffer-backed on native/js, copied otherwise.
      const into = opts.into;
      const distances = opts.distances ?? true;
      const intoD2 = distances ? (into?.minDist2 ?? null) : null;
      if (
        into &&
        (!(into.labels instanceof Int32Array) ||
          into.labels.length !== src.rows ||
          (distances && (!(intoD2 instanceof Float64Array) || intoD2.length !== src.rows)))
      ) {
        throw new QuiverError('SHAPE_MISMATCH', `into.labels (Int32Array) and, with distances, into.minDist2 (Float64Array) need ${src.rows} values each`);
      }
      const labels: I32 = into ? this.#outputRegion(regions, into.labels, 'i32') : this.#alloc(regions, 'i32', src.rows);
      // Label changes are counted against what into.labels holds now (a job copy of it when not written in place).
      const changes = opts.changes === true && into !== undefined;
      if (changes && into && labels.buffer !== into.labels.buffer) this.#view(labels).set(into.labels);
      const minDist2: F64 | null = !distances ? null : intoD2 ? this.#outputRegion(regions, intoD2, 'f64') : this.#alloc(regions, 'f64', src.rows);
      const sums: F64 = this.#alloc(regions, 'f64', nBlocks * k * src.cols);
      const counts: F64 = this.#alloc(regions, 'f64', nBlocks * k);
      const tasks = groups.map((g) => ({ ...g, blockRows, rows: src.rows, x: src.region, cols: src.cols, centroids: c, k, weights: w, labels, minDist2, sums, counts, changes }));
      const parts = await this.#dispatch('kmeans', tasks, src.rows * k * src.cols, opts.signal);
      let inertia = 0;
      let changed = 0;
      for (const p of parts) {
        for (const v of p.inertia) inertia += v;
        changed += p.changed;
      }
      return {
        labels: into ? this.#deliver(labels, into.labels) : this.#take(labels, regions),
        minDist2: !minDist2 ? null : intoD2 ? this.#deliver(minDist2, intoD2) : this.#take(minDist2, regions),
        sums: sumBlocks(this.#view(sums), nBlocks, k * src.cols),
        counts: sumBlocks(this.#view(counts), nBlocks, k),
        inertia,
        changed: changes ? changed : null,
      };
    } finally {
      this.#release(regions);
    }
  }

  /**
   * Lloyd steps without per-row distances, run back to back inside the pool (see `engine/lloyd.ts`), from
   * `start` (f64 centroids, k × cols) until a stop test holds: exactly the steps, centroid updates and stop
   * tests of `kmeansStep` calls in a loop, without a round trip to this thread between steps.
   */
  async lloyd(x: MatrixInput, start: Matrix | Float64Array, weights: Float32Array | null, opts: LloydOptions): Promise<LloydResult> {
    const regions: SharedRegion[] = [];
    const previous = this.#lloydTurn;
    let done!: () => void;
    this.#lloydTurn = new Promise((resolve) => (done = resolve));
    await previous;
    let control: Int32Array | null = null;
    const onAbort = (): void => {
      if (control) abortLloyd(control);
    };
    try {
      const src = this.#input(regions, x, 'x');
      const k = checkPositiveInt(opts.k, 'k');
      const kd = k * src.cols;
      const startF64 = start instanceof Float64Array ? start : Float64Array.from(start.data);
      if (startF64.length !== kd) throw new QuiverError('SHAPE_MISMATCH', `start needs k × cols = ${kd} values (got ${startF64.length})`);
      if (!(opts.labels instanceof Int32Array) || opts.labels.length !== src.rows) {
        throw new QuiverError('SHAPE_MISMATCH', `labels must be an Int32Array of ${src.rows} values (one per row of x)`);
      }
      const maxSteps = Math.min(checkPositiveInt(opts.maxSteps, 'maxSteps'), MAX_LLOYD_STEPS);
      if (!Number.isFinite(opts.sumSq) || typeof opts.tolScaled !== 'number' || Number.isNaN(opts.tolScaled)) {
        throw new QuiverError('INVALID_ARGUMENT', 'sumSq must be a finite number and tolScaled a number (Σ w‖x‖², and the shift at which to stop)');
      }
      if (opts.budgetMs !== undefined && !(opts.budgetMs >= 0)) {
        throw new QuiverError('INVALID_ARGUMENT', `budgetMs must be a number ≥ 0 (got ${String(opts.budgetMs)})`);
      }
      const w = weights ? this.#sampleWeights(regions, weights, src.rows) : null;
      const { blockRows, nBlocks } = this.#reduceBlocks(src.rows);
      const inline = src.rows * kd <= this.#inlineWork;
      const members = inline ? 1 : Math.min(this.threads, nBlocks);
      const labels = this.#outputRegion(regions, opts.labels, 'i32');
      if (labels.buffer !== opts.labels.buffer) this.#view(labels).set(opts.labels);
      control = new Int32Array(new SharedArrayBuffer(4 * lloydControlLength(maxSteps)));
      const task = {
        member: 0,
        members,
        x: src.region,
        rows: src.rows,
        cols: src.cols,
        k,
        blockRows,
        nBlocks,
        weights: w,
        labels,
        centroids: this.#alloc(regions, 'f32', members * kd, false),
        sums: this.#alloc(regions, 'f64', 2 * nBlocks * kd, false),
        counts: this.#alloc(regions, 'f64', 2 * nBlocks * k, false),
        control,
        start: startF64,
        maxSteps,
        countFirst: opts.countFirst,
        sumSq: opts.sumSq,
        tolScaled: opts.tolScaled,
        deadline: Date.now() + (opts.budgetMs ?? 200),
      };
      this.#checkOpen(opts.signal);
      opts.signal?.addEventListener('abort', onAbort);
      let lead: LloydMemberResult;
      if (inline) {
        lead = runLloydMember(this.backend, task);
      } else {
        const pool = this.#getPool();
        const ctl = control;
        const runs = Array.from({ length: members }, (_, member) =>
          pool.run('lloyd', { ...task, member }).catch((err: unknown) => {
            // A member that never ran (or died) must not leave the others waiting at a barrier.
            failLloyd(ctl);
            throw err;
          }),
        );
        const settled = await Promise.allSettled(runs);
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        lead = (settled[0] as PromiseFulfilledResult<LloydMemberResult>).value;
      }
      if (opts.signal?.aborted) throw new QuiverError('ABORTED', 'the request was aborted before its work finished');
      if (lead.peerFailed) throw new QuiverError('INTERNAL', 'a Lloyd job member stopped without an error of its own');
      this.#deliver(labels, opts.labels);
      return {
        steps: lead.inertia.map((inertia, i) => ({ inertia, shift: lead.shift[i]!, changed: lead.changed[i]! < 0 ? null : lead.changed[i]! })),
        centers: lead.centers,
        stop: lead.stop,
        emptyChanged: lead.emptyChanged,
      };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      this.#release(regions);
      done();
    }
  }

  /** XᵀWX (f64, symmetric) and optionally Xᵀv, with optional centring. */
  async gram(x: MatrixInput, opts: GramOptions = {}): Promise<GramResult> {
    const regions: SharedRegion[] = [];
    try {
      const src = this.#input(regions, x, 'x');
      const { rows, cols } = src;
      const w = opts.w ? this.#vector64(regions, checkVector(opts.w, 'weights', rows)) : null;
      const v = opts.v ? this.#vector64(regions, checkVector(opts.v, 'v', rows)) : null;
      let center: F64 | null = null;
      if (opts.center) {
        checkVector(opts.center, 'center', cols);
        center = this.#vector64(regions, opts.center);
      }
      const { blockRows, nBlocks, groups } = this.#reduceBlocks(rows);
      const g: F64 = this.#alloc(regions, 'f64', nBlocks * cols * cols);
      const xty: F64 | null = v ? this.#alloc(regions, 'f64', nBlocks * cols) : null;
      const tasks = groups.map((gr) => ({ ...gr, blockRows, rows, x: src.region, cols, w, center, v, g, xty }));
      await this.#dispatch('gram', tasks, (rows * cols * cols) / 2, opts.signal);
      const full = sumBlocks(this.#view(g), nBlocks, cols * cols);
      mirrorUpper(full, cols);
      return { g: full, xty: xty ? sumBlocks(this.#view(xty), nBlocks, cols) : null };
    } finally {
      this.#release(regions);
    }
  }

  /**
   * One fused pass of binary logistic regression over all rows (see `LogisticPassResult`): the objective, the
   * gradient and, with `hessian`, the Newton system's pieces, for a Newton / IRLS step at (β, b). y holds
   * targets in [0, 1] (0/1 labels; soft labels give the cross-entropy), s row weights ≥ 0 or null.
   */
  async logisticPass(
    x: MatrixInput,
    y: VectorInput,
    s: VectorInput | null,
    beta: Float64Array,
    bias: number,
    opts: LogisticPassOptions = {},
  ): Promise<LogisticPassResult> {
    const regions: SharedRegion[] = [];
    try {
      const src = this.#input(regions, x, 'x');
      const { rows, cols } = src;
      const yr = this.#vectorRegion(regions, y, 'y', rows, 0, 1);
      const sr = s === null ? null : this.#vectorRegion(regions, s, 'sampleWeight', rows, 0, Infinity);
      checkVector(beta, 'coefficients', cols);
      if (!Number.isFinite(bias)) throw new QuiverError('NON_FINITE', `the intercept is not finite (${bias})`);
      if (opts.z && (!(opts.z instanceof Float64Array) || opts.z.length !== rows)) {
        throw new QuiverError('SHAPE_MISMATCH', `z must be a Float64Array of ${rows} values (one per row)`);
      }
      const hessian = opts.hessian ?? true;
      const betaR = this.#vector64(regions, beta);
      const z: F64 = opts.z ? this.#outputRegion(regions, opts.z, 'f64') : this.#alloc(regions, 'f64', rows);
      const L = logisticLayout(cols);
      const { blockRows, nBlocks, groups } = this.#reduceBlocks(rows);
      const out: F64 = this.#alloc(regions, 'f64', nBlocks * L.length);
      const tasks = groups.map((g) => ({ ...g, blockRows, rows, x: src.region, cols, y: yr, s: sr, beta: betaR, bias, hessian, z, out }));
      await this.#dispatch('logistic', tasks, rows * cols * (hessian ? cols / 2 + 2 : 2), opts.signal);
      const sum = sumBlocks(this.#view(out), nBlocks, L.length);
      let xtwx: Float64Array | null = null;
      if (hessian) {
        xtwx = mirrorUpper(sum.slice(L.h, L.h + cols * cols), cols);
      }
      return {
        lossWeighted: sum[L.lossW]!,
        loss: sum[L.loss]!,
        correct: sum[L.correct]!,
        xtv: sum.slice(L.grad, L.grad + cols),
        sumV: sum[L.grad + cols]!,
        xtwx,
        xtw: hessian ? sum.slice(L.xw, L.xw + cols) : null,
        sumW: hessian ? sum[L.xw + cols]! : 0,
        z: opts.z ? this.#deliver(z, opts.z) : this.#take(z, regions),
      };
    } finally {
      this.#release(regions);
    }
  }

  /** A staged vector's region, or a plain vector checked (length, finite, within [lo, hi]) and copied in. */
  #vectorRegion(regions: SharedRegion[], v: VectorInput, name: string, length: number, lo: number, hi: number): F64 {
    if (v instanceof StagedVector) {
      if (v.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; stage it again`);
      if (v.length !== length) throw new QuiverError('SHAPE_MISMATCH', `${name} has ${v.length} values; expected ${length} (one per row)`);
      if (v.min < lo || v.max > hi) throw new QuiverError('INVALID_ARGUMENT', `${name} has values outside [${lo}, ${hi}] (from ${v.min} to ${v.max})`);
      return v.region;
    }
    checkVector(v, name, length);
    for (let i = 0; i < length; i++) {
      const a = v[i]!;
      if (a < lo || a > hi) throw new QuiverError('INVALID_ARGUMENT', `${name}[${i}] is ${a}; values must lie in [${lo}, ${hi}]`, { index: i });
    }
    return this.#vector64(regions, v);
  }

  /**
   * Solves G X = B by Cholesky (f64). G is n × n symmetric (upper triangle read), B is n × nrhs.
   * Throws NOT_POSITIVE_DEFINITE with the failing pivot. Inputs are not modified.
   */
  async choleskySolve(g: Float64Array, n: number, b: Float64Array, nrhs = 1, opts: CallOptions = {}): Promise<Float64Array> {
    checkPositiveInt(n, 'n');
    checkPositiveInt(nrhs, 'nrhs');
    if (g.length !== n * n) throw new QuiverError('SHAPE_MISMATCH', `G has ${g.length} values; expected ${n} × ${n}`);
    if (b.length !== n * nrhs) throw new QuiverError('SHAPE_MISMATCH', `B has ${b.length} values; expected ${n} × ${nrhs}`);
    checkFinite(g, 'G', n);
    checkFinite(b, 'B', nrhs);
    const regions: SharedRegion[] = [];
    try {
      const gr = this.#vector64(regions, g);
      const br = this.#vector64(regions, b);
      await this.#dispatch('cholesky', [{ g: gr, n, b: br, nrhs }], (n * n * n) / 3 + n * n * nrhs, opts.signal);
      return this.#view(br).slice();
    } finally {
      this.#release(regions);
    }
  }

  /** Batch scoring: out[i] = link(x[i,:]·w + bias), link 0 identity or 1 sigmoid. */
  async matvec(x: MatrixInput, w: Float64Array, bias: number, link: Link, opts: CallOptions = {}): Promise<Float32Array> {
    const staged = x instanceof StagedMatrix;
    if (!staged) checkMatrix(x, 'x');
    checkVector(w, 'coefficients', x.cols);
    if (!Number.isFinite(bias)) throw new QuiverError('NON_FINITE', `the intercept is not finite (${bias})`);
    const w64 = w instanceof Float64Array ? w : Float64Array.from(w);
    if (!staged && x.rows * x.cols <= this.#inlineWork) {
      // Small batches (online scoring): the kernel reads the caller's arrays directly. Staging them in shared
      // regions would cost more than the arithmetic, and the per-row result is the same either way.
      this.#checkOpen(opts.signal);
      const out = new Float32Array(x.rows);
      this.backend.matvec({ x: x.data, rows: x.rows, cols: x.cols, w: w64, bias, link, out });
      return out;
    }
    const regions: SharedRegion[] = [];
    try {
      const src = this.#input(regions, x, 'x', true);
      const wr = this.#vector64(regions, w64);
      const out = this.#alloc(regions, 'f32', src.rows);
      const tasks = this.#rowTiles(src.rows, 4096).map((t) => ({ ...t, x: src.region, cols: src.cols, w: wr, bias, link, out }));
      await this.#dispatch('matvec', tasks, src.rows * src.cols, opts.signal);
      return this.#take(out, regions);
    } finally {
      this.#release(regions);
    }
  }

  // ---------------------------------------------------------------- models (src/models): thin entry points

  /** Fits KMeans (k-means++, random or given centroids; nInit, maxIter, tol, seed, sampleWeight). */
  async kmeans(x: Matrix, opts: KMeansOptions): Promise<KMeansModel> {
    const { fitKMeans } = await import('../models/kmeans.js');
    return fitKMeans(this, x, opts);
  }

  /** Fits OLS (l2 = 0) or ridge through the Gram kernel and Cholesky, intercept by centring. */
  async linearRegression(
    x: Matrix,
    y: Float32Array | Float64Array,
    opts: LinearRegressionOptions = {},
  ): Promise<LinearModel> {
    const { fitLinearRegression } = await import('../models/linear.js');
    return fitLinearRegression(this, x, y, opts);
  }

  /** Fits binary L2 logistic regression by Newton/IRLS (each step a weighted Gram solve). */
  async logisticRegression(
    x: Matrix,
    y: Float32Array | Float64Array,
    opts: LogisticRegressionOptions = {},
  ): Promise<LogisticModel> {
    const { fitLogisticRegression } = await import('../models/logistic.js');
    return fitLogisticRegression(this, x, y, opts);
  }

  // ---------------------------------------------------------------- sparse kernels (ratings, recommendation)

  /** Copies a CSR matrix into shared regions once (validated); pass it to many sparse calls, then `release()` it. */
  async stageCsr(m: CsrMatrix, name = 'matrix'): Promise<StagedCsr> {
    checkCsr(m, name);
    const regions: SharedRegion[] = [];
    const r = this.#copyCsr(regions, m);
    let released = false;
    const backend = this.backend;
    return {
      staged: true,
      rows: m.rows,
      cols: m.cols,
      nnz: r.nnz,
      indptr: r.indptr,
      indices: r.indices,
      data: r.data,
      get released() {
        return released;
      },
      release() {
        if (released) return;
        released = true;
        for (const x of regions) backend.free(x);
      },
    };
  }

  #copyCsr(regions: SharedRegion[], m: CsrMatrix): { rows: number; cols: number; nnz: number; indptr: I32; indices: I32; data: F32 } {
    const nnz = m.indptr[m.rows]!;
    const indptr = this.#alloc(regions, 'i32', m.rows + 1);
    const indices = this.#alloc(regions, 'i32', nnz);
    const data = this.#alloc(regions, 'f32', nnz);
    this.#view(indptr).set(m.indptr);
    this.#view(indices).set(m.indices.subarray(0, nnz));
    this.#view(data).set(m.data.subarray(0, nnz));
    return { rows: m.rows, cols: m.cols, nnz, indptr, indices, data };
  }

  async #csrInput(regions: SharedRegion[], m: CsrInput, name: string) {
    if ('staged' in m) {
      if (m.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; stage it again`);
      return m;
    }
    checkCsr(m, name);
    return this.#copyCsr(regions, m);
  }

  #span(rows: RowSpan | undefined, total: number): { row0: number; row1: number } {
    if (rows === undefined) return { row0: 0, row1: total };
    const { row0, row1 } = rows;
    if (!Number.isInteger(row0) || !Number.isInteger(row1) || row0 < 0 || row1 < row0 || row1 > total) {
      throw new QuiverError('INVALID_ARGUMENT', `rows [${row0}, ${row1}) must lie within [0, ${total}) with row0 ≤ row1`);
    }
    return { row0, row1 };
  }

  #sparseVector(regions: SharedRegion[], v: Float32Array | null | undefined, length: number, name: string): F32 | null {
    if (v === null || v === undefined) return null;
    checkVector(v, name, length);
    const r = this.#alloc(regions, 'f32', length);
    this.#view(r).set(v);
    return r;
  }

  /** Top-k outputs of `cells` slots: indices -1 and scores −∞ until a candidate fills them. */
  #topkOutputs(regions: SharedRegion[], cells: number): { idx: I32; scores: F32 } {
    const idx = this.#alloc(regions, 'i32', cells, false);
    const scores = this.#alloc(regions, 'f32', cells, false);
    this.#view(idx).fill(-1);
    this.#view(scores).fill(Number.NEGATIVE_INFINITY);
    return { idx, scores };
  }

  /**
   * Rows [row0, row1) of the scatter A·B split into tasks of about equal work (work of row r = 1 + Σ over A's
   * entries of the length of the B row they name), or into tiles of `tileRows` rows when the engine was given
   * one; and the total work. Rows are independent outputs, so the split never changes a result.
   */
  #scatterTiles(A: { indptr: I32; indices: I32 }, B: { indptr: I32 }, row0: number, row1: number): { tiles: { row0: number; row1: number }[]; total: number } {
    const aPtr = this.#view(A.indptr);
    const aIdx = this.#view(A.indices);
    const bPtr = this.#view(B.indptr);
    const rows = row1 - row0;
    const work = new Float64Array(rows);
    let total = 0;
    for (let r = row0; r < row1; r++) {
      let w = 1;
      for (let p = aPtr[r]!, e = aPtr[r + 1]!; p < e; p++) {
        const s = aIdx[p]!;
        w += bPtr[s + 1]! - bPtr[s]!;
      }
      work[r - row0] = w;
      total += w;
    }
    const tiles: { row0: number; row1: number }[] = [];
    if (rows === 0) return { tiles, total };
    if (this.#tileRows !== undefined) {
      for (let r = row0; r < row1; r += this.#tileRows) tiles.push({ row0: r, row1: Math.min(row1, r + this.#tileRows) });
      return { tiles, total };
    }
    const target = Math.min(rows, this.threads * 4);
    let start = row0;
    let acc = 0;
    for (let i = 0; i < rows; i++) {
      acc += work[i]!;
      if (acc >= (total * (tiles.length + 1)) / target && tiles.length < target - 1) {
        tiles.push({ row0: start, row1: row0 + i + 1 });
        start = row0 + i + 1;
      }
    }
    if (start < row1) tiles.push({ row0: start, row1 });
    return { tiles, total };
  }

  /** Per-task scratch; one shared set when the call runs inline (tasks run one after another). */
  #sparseScratch(regions: SharedRegion[], tasks: number, nCols: number, inline: boolean, withDen: boolean) {
    const sets: { acc: F64; mark: I32; list: I32; den: F64 | null }[] = [];
    for (let t = 0; t < tasks; t++) {
      if (inline && t > 0) {
        sets.push(sets[0]!);
        continue;
      }
      sets.push({
        acc: this.#alloc(regions, 'f64', nCols),
        mark: this.#alloc(regions, 'i32', nCols),
        list: this.#alloc(regions, 'i32', nCols),
        den: withDen ? this.#alloc(regions, 'f64', nCols) : null,
      });
    }
    return sets;
  }

  /**
   * Sparse similarity top-k: for each row r of A (rows × inner, CSR) the k best columns j of A·B (B: inner ×
   * cols, CSR) by dot / (rowNorms[r]·colNorms[j] + shrink), among the columns that co-occur with r (a dot of
   * exactly zero from no shared entries is never a candidate). Item-item: A = Xᵀ, B = X; user-user: A = X,
   * B = Xᵀ. Accumulates in f64 in CSR order, so results do not depend on threads or tiles. Never builds the
   * dense rows × cols result; scratch is O(cols) per task.
   */
  async sparseSimilarityTopK(
    a: CsrInput,
    b: CsrInput,
    opts: SparseSimilarityOptions,
  ): Promise<TopKResult> {
    const requestedK = checkPositiveInt(opts.k, 'k');
    const shrink = opts.shrink ?? 0;
    if (!Number.isFinite(shrink) || shrink < 0) throw new QuiverError('INVALID_ARGUMENT', `shrink must be a finite number ≥ 0 (got ${shrink})`);
    const excludeSelf = opts.excludeSelf === true;
    const regions: SharedRegion[] = [];
    try {
      const A = await this.#csrInput(regions, a, 'a');
      const B = await this.#csrInput(regions, b, 'b');
      if (A.cols !== B.rows) {
        throw new QuiverError('SHAPE_MISMATCH', `a is ${A.rows} × ${A.cols} but b has ${B.rows} rows; a's columns must index b's rows`);
      }
      const nCols = B.cols;
      const { row0, row1 } = this.#span(opts.rows, A.rows);
      const candidates = excludeSelf ? nCols - 1 : nCols;
      if (candidates < 1) throw new QuiverError('INVALID_ARGUMENT', `there are no candidate columns (${nCols} column${nCols === 1 ? '' : 's'}${excludeSelf ? ', and excludeSelf removes one' : ''})`);
      const k = Math.min(requestedK, candidates);
      const rowNorms = this.#sparseVector(regions, opts.rowNorms, A.rows, 'rowNorms');
      const colNorms = this.#sparseVector(regions, opts.colNorms, nCols, 'colNorms');
      const rows = row1 - row0;
      const { idx, scores } = this.#topkOutputs(regions, rows * k);
      const { tiles, total } = this.#scatterTiles(A, B, row0, row1);
      const scratch = this.#sparseScratch(regions, tiles.length, nCols, total <= this.#inlineWork, false);
      const tasks = tiles.map((t, i) => ({
        ...t,
        aPtr: A.indptr,
        aIdx: A.indices,
        aVal: A.data,
        bPtr: B.indptr,
        bIdx: B.indices,
        bVal: B.data,
        nCols,
        rowNorms,
        colNorms,
        shrink,
        k,
        excludeSelf,
        acc: scratch[i]!.acc,
        mark: scratch[i]!.mark,
        list: scratch[i]!.list,
        outRow0: row0,
        idx,
        scores,
      }));
      await this.#dispatch('sparseSimilarity', tasks, total, opts.signal);
      return { indices: this.#take(idx, regions), scores: this.#take(scores, regions), rows, k, requestedK };
    } finally {
      this.#release(regions);
    }
  }

  /**
   * Sparse scoring top-n (recommendation): for each row r of A, the n best columns j of A·M by weighted sum
   * (normalize 0), or divided by Σ|a| (1) or Σ|m| (2) over the contributing terms, among the columns the
   * scatter touches, minus row r of `seen` and the columns with allow[j] = 0. Item kNN: A = user rows,
   * M = item neighbour lists; user kNN: A = user neighbour lists, M = user rows; EASE: M = the dense B rows.
   * `n` larger than the columns is clamped (the result's `k`); rows with fewer candidates end in -1 slots.
   */
  async sparseScoreTopN(
    a: CsrInput,
    m: CsrInput,
    opts: SparseScoreOptions,
  ): Promise<TopKResult> {
    const requestedN = checkPositiveInt(opts.n, 'n');
    const normalize = opts.normalize ?? 0;
    if (normalize !== 0 && normalize !== 1 && normalize !== 2) throw new QuiverError('INVALID_ARGUMENT', `normalize must be 0, 1 or 2 (got ${String(normalize)})`);
    const regions: SharedRegion[] = [];
    try {
      const A = await this.#csrInput(regions, a, 'a');
      const M = await this.#csrInput(regions, m, 'm');
      if (A.cols !== M.rows) {
        throw new QuiverError('SHAPE_MISMATCH', `a is ${A.rows} × ${A.cols} but m has ${M.rows} rows; a's columns must index m's rows`);
      }
      const nCols = M.cols;
      const S = opts.seen ? await this.#csrInput(regions, opts.seen, 'seen') : null;
      if (S && (S.rows !== A.rows || S.cols !== nCols)) {
        throw new QuiverError('SHAPE_MISMATCH', `seen is ${S.rows} × ${S.cols}; it must be ${A.rows} × ${nCols} (a's rows × m's columns)`);
      }
      let allow: I32 | null = null;
      if (opts.allow) {
        if (!(opts.allow instanceof Int32Array) || opts.allow.length !== nCols) {
          throw new QuiverError('SHAPE_MISMATCH', `allow must be an Int32Array with one flag per column (${nCols})`);
        }
        allow = this.#alloc(regions, 'i32', nCols);
        this.#view(allow).set(opts.allow);
      }
      const { row0, row1 } = this.#span(opts.rows, A.rows);
      const n = Math.min(requestedN, nCols);
      const rows = row1 - row0;
      const { idx, scores } = this.#topkOutputs(regions, rows * n);
      const { tiles, total } = this.#scatterTiles(A, M, row0, row1);
      const scratch = this.#sparseScratch(regions, tiles.length, nCols, total <= this.#inlineWork, normalize !== 0);
      const tasks = tiles.map((t, i) => ({
        ...t,
        aPtr: A.indptr,
        aIdx: A.indices,
        aVal: A.data,
        mPtr: M.indptr,
        mIdx: M.indices,
        mVal: M.data,
        seenPtr: S ? S.indptr : null,
        seenIdx: S ? S.indices : null,
        allow,
        normalize,
        nCols,
        n,
        acc: scratch[i]!.acc,
        den: scratch[i]!.den,
        mark: scratch[i]!.mark,
        list: scratch[i]!.list,
        outRow0: row0,
        idx,
        scores,
      }));
      await this.#dispatch('sparseScore', tasks, total, opts.signal);
      return { indices: this.#take(idx, regions), scores: this.#take(scores, regions), rows, k: n, requestedK: requestedN };
    } finally {
      this.#release(regions);
    }
  }

  /** Fits a recommender (itemknn, userknn, ease, popular) on interactions; see src/models/recommenders.ts. */
  async fitRecommender(
    kind: RecommenderKind,
    data: Interactions,
    opts: RecommenderOptions = {},
  ): Promise<AnyRecommender> {
    const { fitRecommender } = await import('../models/recommenders.js');
    return fitRecommender(this, kind, data, opts);
  }
}

function checkMetric(m: unknown): Metric {
  if (m === undefined || m === 'cosine') return 'cosine';
  if (m === 'dot') return 'dot';
  throw new QuiverError('INVALID_ARGUMENT', `metric must be "cosine" or "dot" (got ${JSON.stringify(m)})`);
}

/** Fills the lower triangle of a row-major n × n matrix from its upper triangle (kernels write the upper). */
function mirrorUpper(m: Float64Array, n: number): Float64Array {
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) m[b * n + a] = m[a * n + b]!;
  return m;
}

/** Creates an engine: `createEngine({ backend, threads })`. Call `close()` when done. */
export function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  return Engine.create(opts);
}
