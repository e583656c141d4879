/**
 * The one kernel contract that the native, WASM and plain-JS backends implement.
 *
 * Rules that hold for every kernel:
 * - Matrices are row-major f32 (`rows × cols`). Shapes were validated by the engine: kernels trust them.
 * - Outputs are allocated by the caller; kernels never allocate in steady state.
 * - Kernels that *accumulate* (`gram`, `kmeansStep` sums/counts) add into their outputs; the caller zeroes.
 * - Reductions (norms, Gram, KMeans sums, inertia) accumulate in f64. Dot products for similarity,
 *   top-k and KMeans assignment may accumulate in f32 (SIMD lanes, FMA); the js backend uses f64 and is
 *   the reference.
 * - Results for one output element must not depend on how the caller tiles the other dimensions
 *   (thread count and tile size must not change results).
 * - Kernels are synchronous and single-threaded: the pool is the only layer of parallelism.
 *
 * Memory: the engine obtains every buffer it hands to a kernel in a worker from `alloc`, sends the
 * `SharedRegion` to the worker, and the worker calls `view` to get a typed array. For native and js a region
 * is a plain SharedArrayBuffer; for wasm it is a slice of one shared WebAssembly.Memory, so kernels
 * read it in place (no copy per tile). `alloc`/`free` are called on the main thread only.
 */
import type { BackendName } from '../types.js';

export type ElementKind = 'f32' | 'f64' | 'i32';

export interface SharedRegion {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  /** Number of elements of `kind`. */
  length: number;
  kind: ElementKind;
}

export type ViewOf<K extends ElementKind> = K extends 'f32'
  ? Float32Array
  : K extends 'f64'
    ? Float64Array
    : Int32Array;

/** Offsets into `logisticPass`'s output for `cols` features. */
export function logisticLayout(cols: number): { lossW: 0; loss: 1; correct: 2; grad: 3; xw: number; h: number; length: number } {
  return { lossW: 0, loss: 1, correct: 2, grad: 3, xw: 4 + cols, h: 5 + 2 * cols, length: 5 + 2 * cols + cols * cols };
}

/** Link function for `matvec`: 0 = identity, 1 = logistic sigmoid 1/(1+exp(-z)). */
export const LINK_IDENTITY = 0;
export const LINK_SIGMOID = 1;
export type Link = typeof LINK_IDENTITY | typeof LINK_SIGMOID;

export interface BackendInfo {
  name: BackendName;
  /** Instruction set the kernels were dispatched to: 'avx512', 'avx2', 'sse2', 'simd128', 'scalar', 'f64-reference'. */
  simd: string;
  /** Free-form version facts (crate version, AssemblyScript version, ...). */
  versions: Record<string, string>;
}

/** What a worker needs to load the same backend the main thread selected. */
export interface BackendInit {
  name: BackendName;
  /** For wasm: the shared memory every instance imports. */
  memory?: WebAssembly.Memory;
  /** For wasm: force the scalar build ('scalar') or let it choose ('auto'). */
  wasmBuild?: 'auto' | 'simd' | 'scalar';
}

export interface Backend {
  readonly info: BackendInfo;
  /** Data a worker needs to load the same backend (structured-clonable). */
  readonly init: BackendInit;

  /**
   * A region of `length` elements, zero-filled unless `zero` is false (the caller overwrites every element,
   * as staging does). Main thread only.
   */
  alloc<K extends ElementKind>(kind: K, length: number, zero?: boolean): SharedRegion & { kind: K };
  /** Gives a region back; its memory may serve a later `alloc`, so nothing may use it afterwards. */
  free(region: SharedRegion): void;
  view<K extends ElementKind>(region: SharedRegion & { kind: K }): ViewOf<K>;

  /**
   * out[i,:] = x[i,:] / ‖x[i,:]‖₂ and norms[i] = ‖x[i,:]‖₂ (sum of squares in f64).
   * A zero row stays zero (norm 0). `out` may be `x` (in place).
   */
  normalizeRows(x: Float32Array, rows: number, cols: number, out: Float32Array, norms: Float32Array): void;

  /**
   * Dense block of dot products: out[i * ldOut + j] = a[i,:] · b[j,:] for i < aRows, j < bRows.
   * `out` starts at the block's first element; `ldOut` ≥ bRows is its row stride.
   */
  similarityTile(
    a: Float32Array,
    aRows: number,
    b: Float32Array,
    bRows: number,
    cols: number,
    out: Float32Array,
    ldOut: number,
  ): void;

  /**
   * Fused top-k: merges the dot products of each query row q[i,:] with every base row x[j,:] into a
   * per-query running top-k, never materialising the qRows × xRows block.
   *
   * State (in/out): outIdx/outScores hold k entries per query (row-major), sorted best first:
   * higher score first, equal scores by lower index first. Empty slots are idx -1, score -Infinity and sort
   * last; the caller initialises them so. Base row j has global index `xOffset + j`; query row i has
   * global index `qOffset + i`. With `excludeSelf`, a base row whose global index equals the query's
   * global index is skipped (self-joins).
   */
  topkTile(
    q: Float32Array,
    qRows: number,
    x: Float32Array,
    xRows: number,
    cols: number,
    k: number,
    qOffset: number,
    xOffset: number,
    excludeSelf: boolean,
    outIdx: Int32Array,
    outScores: Float32Array,
  ): void;

  /**
   * One Lloyd step over a block of rows. Assignment by ‖c‖² − 2x·c in f64 (‖x‖² is the same for every c and is
   * left out, as in scikit-learn's Lloyd step; ties to the lower centroid);
   * sums[label,:] += w_i x[i,:] (f64), counts[label] += w_i (f64, w_i = 1 without weights);
   * with `minDist2`, minDist2[i] = Σ_d (x[i,d] − c[label,d])² computed directly in f64 for the chosen centroid,
   * and the return value is the block's inertia Σ w_i minDist2[i] (f64). `minDist2` null skips the exact
   * distances (intermediate Lloyd steps need only labels, sums and counts) and returns NaN.
   * With `changes`, changes[0] += the number of rows whose new label differs from what `labels` held on entry
   * (a fit's strict-convergence test, counted as the labels are written).
   */
  kmeansStep(
    x: Float32Array,
    rows: number,
    cols: number,
    centroids: Float32Array,
    k: number,
    weights: Float32Array | null,
    labels: Int32Array,
    minDist2: Float64Array | null,
    sums: Float64Array,
    counts: Float64Array,
    changes?: Int32Array | null,
  ): number;

  /**
   * Weighted Gram accumulation in f64 over a block of rows, optionally centred:
   *   g[a * cols + b] += Σ_i w_i (x[i,a] − c_a)(x[i,b] − c_b)   for b ≥ a (the upper triangle; the lower
   *   triangle is left as it was),
   *   xty[a] += Σ_i v_i (x[i,a] − c_a)                            when v and xty are given.
   * `w` null means all ones; `center` null means no centring. Note that `v` is NOT multiplied by w:
   * pass w∘y when XᵀWy is wanted.
   */
  gram(
    x: Float32Array,
    rows: number,
    cols: number,
    w: Float64Array | null,
    center: Float64Array | null,
    v: Float64Array | null,
    g: Float64Array,
    xty: Float64Array | null,
  ): void;

  /**
   * One fused pass of binary logistic regression (Newton / IRLS) over a block of rows, in f64:
   *   z_i = Σ_d x[i,d]·beta[d] + bias, written to z[i];
   *   e_i = exp(−|z_i|), p_i = σ(z_i), ℓ_i = log(1 + e^{z_i}) − y_i·z_i (softplus as max(z, 0) + log1p(e));
   *   w_i = s_i·p_i·(1 − p_i), v_i = s_i·(y_i − p_i) (s null: s_i = 1; 1 − p and p each computed from e without
   *   cancellation, v_i = s_i(1 − p_i) for y_i = 1 and −s_i p_i for y_i = 0),
   * accumulated (the caller zeroes) into `out`, laid out as `logisticLayout(cols)` names:
   *   out[0] += Σ s_i ℓ_i, out[1] += Σ ℓ_i, out[2] += #{i : (z_i > 0 ? 1 : 0) = y_i},
   *   out[3 .. 3+cols] += Xᵀv, out[3+cols] += Σ v_i,
   * and when `hessian`: out[4+cols .. 4+2cols] += Xᵀw, out[4+2cols] += Σ w_i, and the upper triangle of the
   * cols × cols row-major block at 5+2cols += XᵀWX (the lower triangle is left as it was). Without `hessian`
   * those entries are left as they were.
   */
  logisticPass(
    x: Float32Array,
    rows: number,
    cols: number,
    y: Float64Array,
    s: Float64Array | null,
    beta: Float64Array,
    bias: number,
    hessian: boolean,
    z: Float64Array,
    out: Float64Array,
  ): void;

  /**
   * Solves G X = B in place by Cholesky, f64. Reads the upper triangle of row-major g (n × n),
   * overwrites g with the factor (contents unspecified beyond that) and b (n × nrhs, row-major) with X.
   * A pivot ≤ 0 (or not finite) throws QuiverError NOT_POSITIVE_DEFINITE with details.pivot = its index.
   */
  choleskySolve(g: Float64Array, n: number, b: Float64Array, nrhs: number): void;

  /** out[i] = link(Σ_d x[i,d] w[d] + bias), accumulated in f64, stored as f32. */
  matvec(
    x: Float32Array,
    rows: number,
    cols: number,
    w: Float64Array,
    bias: number,
    link: Link,
    out: Float32Array,
  ): void;

  /**
   * Sparse similarity with a running top-k (item-item or user-user co-occurrence), one row at a time:
   * for each row r in [row0, row1) of A (CSR, global row numbers: aPtr has A's full indptr),
   *   dot[j] = Σ_{p ∈ A[r,:]} aVal[p] · Σ_{q ∈ B[aIdx[p],:]} bVal[q] · [bIdx[q] = j]
   * accumulated in f64 by scattering the B rows named by A's row into `acc` in CSR order (so the sum order is
   * fixed), then score[j] = dot[j] / (rowNorms[r] · colNorms[j] + shrink) in f64 (a null norm array counts as
   * all ones; a zero denominator gives score 0), rounded to f32. Candidates are the columns j touched by the
   * scatter (j ≠ r when `excludeSelf`); the best k by (score desc, index asc) are merged into outIdx/outScores
   * for row r at (r − row0)·k, which the caller initialises to -1 / -Infinity like `topkTile`.
   * Scratch (caller-owned, length nCols): `acc` (f64) and `mark` (i32) must be all zero on entry and are left
   * all zero; `list` (i32) holds the touched columns. Never materialises a dense row of the result.
   */
  sparseSimilarityTopk(
    aPtr: Int32Array,
    aIdx: Int32Array,
    aVal: Float32Array,
    bPtr: Int32Array,
    bIdx: Int32Array,
    bVal: Float32Array,
    row0: number,
    row1: number,
    nCols: number,
    rowNorms: Float32Array | null,
    colNorms: Float32Array | null,
    shrink: number,
    k: number,
    excludeSelf: boolean,
    acc: Float64Array,
    mark: Int32Array,
    list: Int32Array,
    outIdx: Int32Array,
    outScores: Float32Array,
  ): void;

  /**
   * Sparse scoring with a top-n per row (recommendation): for each row r in [row0, row1) of A (global rows),
   *   acc[j] = Σ_{p ∈ A[r,:]} aVal[p] · Σ_{q ∈ M[aIdx[p],:]} mVal[q] · [mIdx[q] = j]     (f64, CSR order)
   * and, with `normalize` 1 or 2, den[j] = Σ |aVal[p]| (1) or Σ |mVal[q]| (2) over the same terms; the score is
   * acc[j] (normalize 0) or acc[j] / den[j] (0 when den[j] is 0), rounded to f32.
   * Candidates are the columns touched by the scatter, minus the columns of row r of `seen` (CSR with the same
   * row numbering as A; null: none) and minus the columns with allow[j] = 0 (null: all allowed). The best n by
   * (score desc, index asc) go to outIdx/outScores at (r − row0)·n, initialised by the caller to -1 / -Infinity.
   * Scratch (length nCols): `acc`, `den` (f64; den may be null when normalize is 0) and `mark` (i32) all zero on
   * entry and left all zero; `list` (i32) holds the touched columns.
   */
  sparseScoreTopn(
    aPtr: Int32Array,
    aIdx: Int32Array,
    aVal: Float32Array,
    mPtr: Int32Array,
    mIdx: Int32Array,
    mVal: Float32Array,
    seenPtr: Int32Array | null,
    seenIdx: Int32Array | null,
    allow: Int32Array | null,
    normalize: number,
    row0: number,
    row1: number,
    nCols: number,
    n: number,
    acc: Float64Array,
    den: Float64Array | null,
    mark: Int32Array,
    list: Int32Array,
    outIdx: Int32Array,
    outScores: Float32Array,
  ): void;
}
