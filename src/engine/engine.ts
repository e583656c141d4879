/**
 * The engine: kernel operations on whole matrices. It validates shapes once, stages inputs in shared regions,
 * tiles the work, schedules tiles on the pool (or runs them inline when they are too small to be worth a
 * thread hop), and merges partial results in a fixed order. It is the only layer that knows about tiles and
 * threads.
 *
 * This class is the core: create, info, close, staging and the public kernel methods. What each kernel
 * family plans (validation, tiles, merge order) and the handler its workers run live in `ops/<family>.ts`;
 * scheduling and the per-call region scope in `schedule.ts` and `scope.ts`. The engine holds no model code:
 * models are fitted by `fitKMeans(engine, …)` and friends (the object `createEngine` returns adds
 * conveniences such as `engine.kmeans(…)` on top, see `src/quiver.ts`).
 */
import type { Worker } from 'node:worker_threads';
import { getBackend, loadAttempts, parseBackendChoice } from '../backends/index.js';
import type { Backend, Link } from '../backends/types.js';
import { QuiverError } from '../errors.js';
import { defaultThreads, validateThreads } from '../pool/pool.js';
import type { BackendChoice, CsrMatrix, Matrix, Metric, TopKResult } from '../types.js';
import * as als from './ops/als.js';
import type { AlsSolveOptions } from './ops/als.js';
import * as cholesky from './ops/cholesky.js';
import * as gram from './ops/gram.js';
import type { GramOptions, GramResult } from './ops/gram.js';
import * as kmeans from './ops/kmeans.js';
import type { KmeansStepOptions, KmeansStepResult } from './ops/kmeans.js';
import * as lloyd from './ops/kmeans-lloyd.js';
import type { LloydOptions, LloydResult } from './ops/kmeans-lloyd.js';
import * as logistic from './ops/logistic.js';
import type { LogisticPassOptions, LogisticPassResult } from './ops/logistic.js';
import * as matvec from './ops/matvec.js';
import * as normalize from './ops/normalize.js';
import * as similarity from './ops/similarity.js';
import * as sparse from './ops/sparse.js';
import type { CsrInput, SparseScoreOptions, SparseSimilarityOptions, StagedCsr } from './ops/sparse.js';
import * as tiles from './ops/tiles.js';
import type { InverseOptions } from './ops/tiles.js';
import * as topk from './ops/topk.js';
import type { TopKOptions } from './ops/topk.js';
import * as multinomial from './ops/multinomial.js';
import type { MultinomialPassOptions, MultinomialPassResult } from './ops/multinomial.js';
import * as topkExclude from './ops/topk-exclude.js';
import type { TopKExcludingOptions } from './ops/topk-exclude.js';
import { Scheduler, type CallOptions } from './schedule.js';
import { AllocatedMatrix, AllocatedVector, AllocatedVectorF32, StagedMatrix, StagedVector, checkInPlace, copyChecked, readInPlace, type CopyStats, type MatrixInput, type VectorInput } from './scope.js';
import { checkMatrix, checkPositiveInt, checkVector } from './validate.js';

// The engine's public types, wherever they are defined.
export type { CallOptions } from './schedule.js';

export interface StageOptions {
  /** false skips the NaN/±Infinity scan (see `Engine.stage`). */
  checkValues?: boolean;
  /**
   * Read an ordinary (non-shared) array in place instead of copying it, where the backend can (native, 1 MiB
   * and more; `QUIVER_BORROW=0` turns it off). Only for a handle that lives inside one call of the caller's:
   * the caller keeps the array reachable and releases the handle before it returns, after every task reading
   * it has ended; never with an abort signal (see `Backend.borrow`). The fits use it for their input.
   */
  borrow?: boolean;
}
export { AllocatedMatrix, AllocatedVector, AllocatedVectorF32, StagedMatrix, StagedVector } from './scope.js';
export type { CopyStats, MatrixInput, VectorInput } from './scope.js';
export type { TopKOptions } from './ops/topk.js';
export type { KmeansStepOptions, KmeansStepResult } from './ops/kmeans.js';
export type { LloydOptions, LloydResult } from './ops/kmeans-lloyd.js';
export type { GramOptions, GramResult } from './ops/gram.js';
export type { LogisticPassOptions, LogisticPassResult } from './ops/logistic.js';
export type { AlsSolveOptions } from './ops/als.js';
export type { InverseOptions, ProgressEvent } from './ops/tiles.js';
export { inverseScratch, tileSize } from './ops/tiles.js';
export type { CsrInput, RowSpan, SparseScoreOptions, SparseSimilarityOptions, StagedCsr } from './ops/sparse.js';
export type { MultinomialPassOptions, MultinomialPassResult } from './ops/multinomial.js';
export type { ExclusionLists, TopKExcludingOptions } from './ops/topk-exclude.js';

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
  /**
   * Nice increment (0–19) of the pool's worker threads, Linux only; default 0. `quiver serve` uses 5 so that its
   * event loop (liveness probes, request bodies) is scheduled before compute on a saturated machine.
   */
  niceIncrement?: number;
}

export interface EngineInfo {
  backend: string;
  simd: string;
  /** Native: 'bf16' when cosine top-k screens in bf16 (exact; see the README), else 'off'. */
  topkScreen?: 'bf16' | 'off';
  threads: number;
  versions: Record<string, string>;
  /** Every backend load attempt of this process, with the reason of each failure. */
  attempts: { backend: string; ok: boolean; error?: string }[];
}

const DEFAULT_INLINE_WORK = 2_000_000;

export class Engine {
  readonly backend: Backend;
  readonly threads: number;
  readonly #sched: Scheduler;

  /** Use `Engine.create` (or `createEngine`): loading a backend is asynchronous. */
  protected constructor(backend: Backend, threads: number, opts: EngineOptions) {
    this.backend = backend;
    this.threads = threads;
    const envTile = process.env['QUIVER_TILE_ROWS'];
    const tileRows = opts.tileRows ?? (envTile ? Number(envTile) : undefined);
    const inlineWork = opts.inlineWork ?? DEFAULT_INLINE_WORK;
    if (!(inlineWork >= 0)) throw new QuiverError('INVALID_ARGUMENT', `inlineWork must be ≥ 0 (got ${opts.inlineWork})`);
    const nice = opts.niceIncrement;
    if (nice !== undefined && (!Number.isInteger(nice) || nice < 0 || nice > 19)) {
      throw new QuiverError('INVALID_ARGUMENT', `niceIncrement must be a whole number from 0 to 19 (got ${String(nice)})`);
    }
    this.#sched = new Scheduler(backend, threads, {
      tileRows: tileRows === undefined ? undefined : checkPositiveInt(tileRows, opts.tileRows === undefined ? 'QUIVER_TILE_ROWS' : 'tileRows'),
      maxQueue: opts.maxQueue,
      inlineWork,
      niceIncrement: opts.niceIncrement,
    });
  }

  static async create(opts: EngineOptions = {}): Promise<Engine> {
    const { backend, threads } = await Engine.resolve(opts);
    return new Engine(backend, threads, opts);
  }

  /** The backend and thread count that `opts` (and the environment) select; for `create` in subclasses. */
  protected static async resolve(opts: EngineOptions): Promise<{ backend: Backend; threads: number }> {
    const choice = opts.backend ?? parseBackendChoice(process.env['QUIVER_BACKEND']);
    const threads = opts.threads === undefined ? defaultThreads() : validateThreads(opts.threads);
    const backend = await getBackend(parseBackendChoice(choice));
    return { backend, threads };
  }

  info(): EngineInfo {
    return {
      backend: this.backend.info.name,
      simd: this.backend.info.simd,
      ...(this.backend.info.topkScreen ? { topkScreen: this.backend.info.topkScreen } : {}),
      threads: this.threads,
      versions: { ...this.backend.info.versions, node: process.versions.node },
      attempts: loadAttempts().map((a) => ({ ...a })),
    };
  }

  /** Tasks waiting for a worker (for backpressure decisions). */
  get queueSize(): number {
    return this.#sched.queueSize;
  }

  /** Pool tasks running or queued (0 when the pool has not started). */
  get pendingTasks(): number {
    return this.#sched.pending;
  }

  /**
   * The pool's live worker threads (empty before the first pooled call). For diagnostics and fault-injection
   * tests; terminating one fails the task it runs (INTERNAL) and Piscina starts a replacement.
   */
  get workerThreads(): readonly Worker[] {
    return this.#sched.workerThreads;
  }

  close(): Promise<void> {
    return this.#sched.close();
  }

  // ---------------------------------------------------------------- staging and engine memory

  /**
   * Makes a matrix readable by the workers once, checked once; pass the result to many calls, then
   * `release()` it. A matrix already in engine memory (`allocMatrix`, a staged matrix) or, on native and js,
   * backed by a SharedArrayBuffer is used in place: no copy, and `release()` leaves the caller's memory alone.
   * Any other matrix is copied into recycled engine memory (counted in `inputCopies`).
   * `borrow` reads such a matrix in place instead, for the length of one fit (see `StageOptions`).
   * `checkValues: false` skips the NaN/±Infinity scan (a full pass over the data) for callers that detect
   * non-finite values another way and then call `checkFinite` themselves, as the fits do from their first
   * pass over the rows.
   */
  stage(m: Matrix | StagedMatrix, name = 'x', opts: StageOptions = {}): StagedMatrix {
    if (m instanceof StagedMatrix) {
      if (m.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; stage it again`);
      return new StagedMatrix(m.rows, m.cols, m.region, this, false, m);
    }
    checkMatrix(m, name, false);
    // Read in place: engine or shared memory, or (with `borrow`) the caller's plain array.
    const inPlace = readInPlace(this.backend, m, name, opts.borrow === true);
    const check = opts.checkValues ?? true;
    if (inPlace) {
      if (check) checkInPlace(this.backend, m.data, name, m.cols, this.threads);
      return new StagedMatrix(m.rows, m.cols, inPlace, this, false, m instanceof AllocatedMatrix ? m : null);
    }
    // The check runs in the copy's pass (a plain matrix is read once, not twice).
    const r = copyChecked(this.backend, m.data, name, m.cols, check, this.threads);
    const copies = this.#sched.copies;
    copies.count++;
    copies.bytes += m.data.byteLength;
    return new StagedMatrix(m.rows, m.cols, r, this);
  }

  /**
   * A rows × cols matrix in engine memory (contents unspecified) for the caller to fill, e.g. by a loader's
   * `into` option: every call reads it in place, with no copy (its values are still checked per call, or once
   * per fit). On wasm it lives in the WebAssembly memory (4 GiB in all). `release()` it when done.
   */
  allocMatrix(rows: number, cols: number): AllocatedMatrix {
    checkPositiveInt(rows, 'rows');
    checkPositiveInt(cols, 'cols');
    const r = this.backend.alloc('f32', rows * cols, false);
    return new AllocatedMatrix(rows, cols, r, this.backend.view(r), this);
  }

  /**
   * Input matrices this engine has copied into its memory so far (count and bytes): the ones the workers
   * could not read where they were. A snapshot; the figures only grow.
   */
  get inputCopies(): CopyStats {
    return { ...this.#sched.copies };
  }

  /**
   * Copies a vector (row weights, targets) into a shared f64 region once, for repeated calls such as the
   * passes of a logistic fit; values must be finite. `release()` it when done.
   */
  stageVector(v: Float32Array | Float64Array, name = 'v'): StagedVector {
    if (!(v instanceof Float64Array) && !(v instanceof Float32Array)) checkVector(v, name, 0); // throws: not a typed array
    if (v.length === 0) throw new QuiverError('INVALID_ARGUMENT', `${name} is empty`);
    // One scan for the range and the finiteness (a − a is NaN exactly for NaN and ±Infinity); checkVector then
    // names a non-finite value.
    let min = Infinity;
    let max = -Infinity;
    let finite = true;
    for (let i = 0; i < v.length; i++) {
      const a = v[i]!;
      if (a < min) min = a;
      if (a > max) max = a;
      if (a - a !== 0) finite = false;
    }
    if (!finite) checkVector(v, name, v.length);
    const r = this.backend.alloc('f64', v.length, false);
    this.backend.view(r).set(v);
    return new StagedVector(v.length, r, min, max, this);
  }

  /** Copies a CSR matrix into shared regions once (validated); pass it to many sparse calls, then `release()` it. */
  async stageCsr(m: CsrMatrix, name = 'matrix'): Promise<StagedCsr> {
    return sparse.stageCsr(this.backend, m, name);
  }

  /**
   * An f64 buffer of `length` values in engine memory (contents unspecified), kept across calls and given back
   * with `release()`: as a kernel output reused by every step of a loop (`kmeansStep`'s `into.minDist2`), which
   * the workers then write in place where the backend allows.
   */
  allocVector(length: number): AllocatedVector {
    checkPositiveInt(length, 'length');
    const r = this.backend.alloc('f64', length, false);
    return new AllocatedVector(length, r, this.backend.view(r), this);
  }

  // ---------------------------------------------------------------- kernels (see ops/<family>.ts)

  /** Row-normalised copy of a matrix (zero rows stay zero), with the norms. */
  async normalizeRows(x: MatrixInput, opts: CallOptions = {}): Promise<{ matrix: Matrix; norms: Float32Array }> {
    return normalize.normalizeRows(this.#sched, x, opts);
  }

  /**
   * All-pairs similarity: rows of `a` against rows of `b` (default `a` itself), as an a.rows × b.rows matrix.
   * metric 'cosine' (default) normalises rows first; zero vectors have similarity 0 with everything.
   * `out` (optional, a.rows × b.rows) receives the answer; backed by a SharedArrayBuffer it is written in place.
   */
  async cosineSimilarity(a: MatrixInput, b?: MatrixInput, opts: CallOptions & { metric?: Metric; out?: Float32Array } = {}): Promise<Matrix> {
    return similarity.cosineSimilarity(this.#sched, a, b, opts);
  }

  /**
   * Exact top-k neighbours of each query row among the base rows (default: the queries themselves).
   * k larger than the candidates available is clamped: the result's `k` says how many were returned.
   */
  async topK(queries: MatrixInput, base: MatrixInput | undefined, opts: TopKOptions): Promise<TopKResult> {
    return topk.topK(this.#sched, queries, base, opts);
  }

  /**
   * One Lloyd step over all rows: labels, per-cluster sums and counts, and (unless `distances` is false) the
   * exact squared distances and the inertia. Without distances `minDist2` is null and `inertia` NaN: the
   * intermediate steps of a fit need only labels, sums and counts, and skip a pass over each row.
   * With `changes` and `into`, `changed` counts the rows whose label differs from what `into.labels` held
   * before the call (counted by the workers, block by block, as they write).
   */
  async kmeansStep(x: MatrixInput, centroids: Matrix, weights?: Float32Array | null, opts: KmeansStepOptions = {}): Promise<KmeansStepResult> {
    return kmeans.kmeansStep(this.#sched, x, centroids, weights, opts);
  }

  /**
   * Lloyd steps without per-row distances, run back to back inside the pool (see `ops/kmeans-lloyd.ts`), from
   * `start` (f64 centroids, k × cols) until a stop test holds: exactly the steps, centroid updates and stop
   * tests of `kmeansStep` calls in a loop, without a round trip to this thread between steps.
   */
  async lloyd(x: MatrixInput, start: Matrix | Float64Array, weights: Float32Array | null, opts: LloydOptions): Promise<LloydResult> {
    return lloyd.lloyd(this.#sched, x, start, weights, opts);
  }

  /** XᵀWX (f64, symmetric) and optionally Xᵀv, with optional centring. */
  async gram(x: MatrixInput, opts: GramOptions = {}): Promise<GramResult> {
    return gram.gram(this.#sched, x, opts);
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
    return logistic.logisticPass(this.#sched, x, y, s, beta, bias, opts);
  }

  /**
   * Solves G X = B by Cholesky (f64). G is n × n symmetric (upper triangle read), B is n × nrhs.
   * Throws NOT_POSITIVE_DEFINITE with the failing pivot. Inputs are not modified.
   */
  async choleskySolve(g: Float64Array, n: number, b: Float64Array, nrhs = 1, opts: CallOptions = {}): Promise<Float64Array> {
    return cholesky.choleskySolve(this.#sched, g, n, b, nrhs, opts);
  }

  /** Batch scoring: out[i] = link(x[i,:]·w + bias), link 0 identity or 1 sigmoid. */
  async matvec(x: MatrixInput, w: Float64Array, bias: number, link: Link, opts: CallOptions = {}): Promise<Float32Array> {
    return matvec.matvec(this.#sched, x, w, bias, link, opts);
  }

  /**
   * Sparse similarity top-k: for each row r of A (rows × inner, CSR) the k best columns j of A·B (B: inner ×
   * cols, CSR) by dot / (rowNorms[r]·colNorms[j] + shrink), among the columns that co-occur with r. Item-item:
   * A = Xᵀ, B = X; user-user: A = X, B = Xᵀ. Accumulates in f64 in CSR order, so results do not depend on
   * threads or tiles. Never builds the dense rows × cols result; scratch is O(cols) per task.
   */
  async sparseSimilarityTopK(a: CsrInput, b: CsrInput, opts: SparseSimilarityOptions): Promise<TopKResult> {
    return sparse.sparseSimilarityTopK(this.#sched, a, b, opts);
  }

  /**
   * Sparse scoring top-n (recommendation): for each row r of A, the n best columns j of A·M, minus row r of
   * `seen` and the columns with allow[j] = 0; see `ops/sparse.ts` for the normalisations. `n` larger than the
   * columns is clamped (the result's `k`); rows with fewer candidates end in -1 slots.
   */
  async sparseScoreTopN(a: CsrInput, m: CsrInput, opts: SparseScoreOptions): Promise<TopKResult> {
    return sparse.sparseScoreTopN(this.#sched, a, m, opts);
  }

  /**
   * One fused pass of multiclass (softmax) logistic regression over all rows at θ (k × cols, class-major; see
   * `MultinomialPassResult`): the objective, and in mode 'newton' (default) the gradient and the Hessian blocks
   * of the first k − 1 classes for a Newton step ('gradient': the gradient only; 'loss': the objective only). y holds class indices 0 … k − 1, s row weights ≥ 0 or null.
   */
  async multinomialPass(
    x: MatrixInput,
    y: VectorInput,
    s: VectorInput | null,
    theta: Float64Array,
    k: number,
    opts: MultinomialPassOptions = {},
  ): Promise<MultinomialPassResult> {
    return multinomial.multinomialPass(this.#sched, x, y, s, theta, k, opts);
  }

  /**
   * One implicit-ALS half-step (Hu, Koren & Volinsky 2008): for every row u of `rows` (this side × other side,
   * values r_ui), x_u = (YᵀY + Yᵀ(C_u − I)Y + λ_u I)⁻¹ YᵀC_u p_u with c_ui = 1 + alpha·r_ui, solved in f64 by
   * Cholesky or warm-started conjugate gradient (see `ops/als.ts`), written into `x` (rows × k, f32) in place.
   */
  async alsSolve(rows: CsrInput, y: MatrixInput, x: Float32Array, opts: AlsSolveOptions): Promise<Float32Array> {
    return als.alsSolve(this.#sched, rows, y, x, opts);
  }

  /**
   * Inverts a symmetric positive definite n × n f64 matrix in place (`buffer` from `allocVector(n·n)`, lower
   * triangle read column-major, which is the upper one row-major): a blocked Cholesky on the pool, then the
   * inverse from the factor (see `ops/tiles.ts`). On return the buffer's lower triangle holds the inverse's;
   * the strict upper triangle holds leftovers. Besides the matrix it allocates `inverseScratch(n)` values.
   * Throws NOT_POSITIVE_DEFINITE with the failing pivot (the buffer's contents are then unspecified).
   */
  async choleskyInverse(buffer: AllocatedVector | AllocatedVectorF32, n: number, opts: InverseOptions = {}): Promise<void> {
    checkPositiveInt(n, 'n');
    if (buffer.released) throw new QuiverError('INVALID_ARGUMENT', 'the buffer was released');
    if (buffer.length < n * n) throw new QuiverError('SHAPE_MISMATCH', `the buffer has ${buffer.length} values; expected ${n} × ${n}`);
    return tiles.choleskyInverse(this.#sched, buffer.region, n, opts);
  }

  /** `allocVector` in f32: for `choleskyInverse` in f32 (half the memory, f32 rounding in every step). */
  allocVectorF32(length: number): AllocatedVectorF32 {
    checkPositiveInt(length, 'length');
    const r = this.backend.alloc('f32', length, false);
    return new AllocatedVectorF32(length, r, this.backend.view(r), this);
  }

  /**
   * `topK` where query row i never takes the base rows listed in opts.exclude (CSR: indptr of rows + 1, each
   * row's indices ascending), in one fused pass: recommenders' top-n unseen items. Rows left with fewer than k
   * candidates end with -1 / −∞ slots.
   */
  async topKExcluding(queries: MatrixInput, base: MatrixInput, opts: TopKExcludingOptions): Promise<TopKResult> {
    return topkExclude.topKExcluding(this.#sched, queries, base, opts);
  }
}
