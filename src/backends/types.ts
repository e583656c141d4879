/**
 * The one kernel contract that the native, WASM and plain-JS backends implement.
 *
 * Rules that hold for every kernel:
 * - Matrices are row-major f32 (`rows × cols`). Shapes were validated by the engine: kernels trust them.
 * - Outputs are allocated by the caller; kernels never allocate in steady state.
 * - Kernels that *accumulate* (`gram`, `kmeansStep` sums/counts) add into their outputs; the caller zeroes.
 * - Reductions (norms, Gram, KMeans sums, inertia) accumulate in f64. Dot products for similarity,
 *   top-k and KMeans assignment may accumulate in f32 (SIMD lanes, FMA); the js backend uses f64. Every
 *   backend is tested against an f64 oracle written in the tests (tests/backends), within a stated tolerance.
 * - Results for one output element must not depend on how the caller tiles the other dimensions
 *   (thread count and tile size must not change results).
 * - Kernels are synchronous and single-threaded: the pool is the only layer of parallelism.
 * - Kernels with more than a few arguments take one argument object (`SimilarityTileArgs` and the others
 *   below), so a swapped argument cannot type-check; positional arguments remain only at the FFI (the napi
 *   methods of native/index.d.ts and the raw-pointer exports of assembly/index.ts).
 *
 * Memory: the engine obtains every buffer it hands to a kernel in a worker from `alloc`, sends the
 * `SharedRegion` to the worker, and the worker calls `view` to get a typed array. For native and js a region
 * is a plain SharedArrayBuffer; for wasm it is a slice of one shared WebAssembly.Memory, so kernels
 * read it in place (no copy per tile). `alloc`/`free` are called on the main thread only.
 */
import type { BackendName } from '../types.js';

export type ElementKind = 'f32' | 'f64' | 'i32';

export interface SharedRegion {
  /**
   * The memory. A borrowed region (`address` set, native only: see `Backend.borrow`) has here the caller's
   * ordinary ArrayBuffer, as a non-enumerable property, so that a task message carries the address and not a
   * copy of the array; a worker's `view` maps the address instead.
   */
  buffer: SharedArrayBuffer;
  /** Set on a borrowed region only: the address of `buffer`'s first byte in this process. */
  address?: number;
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
  /** Native: whether cosine top-k screens in bf16 ('bf16') or runs the f32 kernel alone ('off'). */
  topkScreen?: 'bf16' | 'off';
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
  /** For native: the instruction-set level the main thread chose, so every worker binds the same one. */
  nativeIsa?: NativeIsa;
  /** For native: whether cosine top-k screens in bf16 (the main thread's choice, so every worker agrees). */
  nativeTopkScreen?: boolean;
}

/** Instruction-set levels of the native backend ('auto': the best this CPU runs). */
export type NativeIsa = 'auto' | 'avx512' | 'avx2' | 'scalar';

/**
 * Dense block of dot products: out[i * ldOut + j] = a[i,:] · b[j,:] for i < aRows, j < bRows.
 */
export interface SimilarityTileArgs {
  a: Float32Array;
  aRows: number;
  b: Float32Array;
  bRows: number;
  cols: number;
  /** Starts at the block's first element; elements outside the block (j ≥ bRows in a row) are left as they were. */
  out: Float32Array;
  /** Row stride of `out`, ≥ bRows. */
  ldOut: number;
}

/**
 * Fused top-k: merges the dot products of each query row q[i,:] with every base row x[j,:] into a per-query
 * running top-k, never materialising the qRows × xRows block.
 */
export interface TopkTileArgs {
  q: Float32Array;
  qRows: number;
  x: Float32Array;
  xRows: number;
  cols: number;
  k: number;
  /** Global index of query row 0 (query row i is qOffset + i). */
  qOffset: number;
  /** Global index of base row 0 (base row j is xOffset + j): the index written to `outIdx`. */
  xOffset: number;
  /** Skip a base row whose global index equals the query's (self-joins). */
  excludeSelf: boolean;
  /**
   * Cosine without normalised copies (both or neither): score(i, j) = (dot · qScale[i]) · xScale[j], two f32
   * products in that order, where dot is the unscaled score; qRows and xRows entries (the rows' inverse norms).
   */
  qScale?: Float32Array | null;
  xScale?: Float32Array | null;
  /**
   * State (in/out), k entries per query row-major, sorted best first: higher score first, equal scores by
   * lower index first. Empty slots are idx -1, score -Infinity and sort last; the caller initialises them so.
   */
  outIdx: Int32Array;
  /** The scores of `outIdx`'s entries (same layout). */
  outScores: Float32Array;
}

/**
 * One Lloyd step over a block of rows. Assignment by ‖c‖² − 2x·c in f64 (‖x‖² is the same for every c and is
 * left out, as in scikit-learn's Lloyd step; ties to the lower centroid). Returns the block's inertia
 * Σ w_i minDist2[i] (f64) when `minDist2` is given, else NaN.
 */
export interface KmeansStepArgs {
  x: Float32Array;
  rows: number;
  cols: number;
  /** k × cols. */
  centroids: Float32Array;
  k: number;
  /** Row weights w_i; absent or null: all ones. */
  weights?: Float32Array | null;
  /** Out: each row's centroid. On entry, the previous labels when `changes` counts changes. */
  labels: Int32Array;
  /**
   * Out: Σ_d (x[i,d] − c[label,d])² computed directly in f64 for the chosen centroid. Absent or null skips
   * the exact distances (intermediate Lloyd steps need only labels, sums and counts) and the step returns NaN.
   */
  minDist2?: Float64Array | null;
  /** Accumulates (k × cols): sums[label,:] += w_i x[i,:] in f64. */
  sums: Float64Array;
  /** Accumulates (k): counts[label] += w_i in f64. */
  counts: Float64Array;
  /**
   * When given, changes[0] += the number of rows whose new label differs from what `labels` held on entry
   * (a fit's strict-convergence test, counted as the labels are written).
   */
  changes?: Int32Array | null;
}

/**
 * Weighted Gram accumulation in f64 over a block of rows, optionally centred:
 *   g[a * cols + b] += Σ_i w_i (x[i,a] − c_a)(x[i,b] − c_b)   for b ≥ a (the upper triangle; the lower
 *   triangle is left as it was),
 *   xty[a] += Σ_i v_i (x[i,a] − c_a)                            when v and xty are given.
 */
export interface GramArgs {
  x: Float32Array;
  rows: number;
  cols: number;
  /** Row weights; absent or null: all ones. */
  w?: Float64Array | null;
  /** Column centres c; absent or null: no centring. */
  center?: Float64Array | null;
  /** Right-hand side per row. NOT multiplied by w: pass w∘y when XᵀWy is wanted. */
  v?: Float64Array | null;
  /** Accumulates (cols × cols row-major, upper triangle). */
  g: Float64Array;
  /** Accumulates (cols) when `v` is given too. */
  xty?: Float64Array | null;
  /** Accumulates Σ_i w_i (x_i − c) (cols) when given: a fit centred on a shift corrects to the mean with it. */
  sums?: Float64Array | null;
  /**
   * 'f32': f32 FMAs over blocks of 128 rows, each block's sums added into the f64 accumulators (native SIMD
   * levels, up to 128 columns; faster, about 1e-7 relative rounding per block). The wasm and js backends
   * ignore it and sum in f64. Default 'f64'.
   */
  accumulate?: 'f64' | 'f32';
}

/**
 * One fused pass of binary logistic regression (Newton / IRLS) over a block of rows, in f64:
 *   z_i = Σ_d x[i,d]·beta[d] + bias, written to z[i];
 *   e_i = exp(−|z_i|), p_i = σ(z_i), ℓ_i = log(1 + e^{z_i}) − y_i·z_i (softplus as max(z, 0) + log1p(e));
 *   w_i = s_i·p_i·(1 − p_i), v_i = s_i·(y_i − p_i) (1 − p and p each computed from e without cancellation,
 *   v_i = s_i(1 − p_i) for y_i = 1 and −s_i p_i for y_i = 0),
 * accumulated (the caller zeroes) into `out`, laid out as `logisticLayout(cols)` names:
 *   out[0] += Σ s_i ℓ_i, out[1] += Σ ℓ_i, out[2] += #{i : (z_i > 0 ? 1 : 0) = y_i},
 *   out[3 .. 3+cols] += Xᵀv, out[3+cols] += Σ v_i,
 * and when `hessian`: out[4+cols .. 4+2cols] += Xᵀw, out[4+2cols] += Σ w_i, and the upper triangle of the
 * cols × cols row-major block at 5+2cols += XᵀWX (the lower triangle is left as it was). Without `hessian`
 * those entries are left as they were.
 */
export interface LogisticPassArgs {
  x: Float32Array;
  rows: number;
  cols: number;
  /** Labels, 0 or 1. */
  y: Float64Array;
  /** Row weights s_i; absent or null: all ones. */
  s?: Float64Array | null;
  /** Coefficients (cols). */
  beta: Float64Array;
  bias: number;
  /** Also accumulate Xᵀw, Σw and XᵀWX. */
  hessian: boolean;
  /** Out: z_i (rows). */
  z: Float64Array;
  /** Accumulates, `logisticLayout(cols).length` values. */
  out: Float64Array;
}

/** Batch scoring: out[i] = link(Σ_d x[i,d] w[d] + bias), accumulated in f64, stored as f32. */
export interface MatvecArgs {
  x: Float32Array;
  rows: number;
  cols: number;
  w: Float64Array;
  bias: number;
  link: Link;
  out: Float32Array;
}

/**
 * Sparse similarity with a running top-k (item-item or user-user co-occurrence), one row at a time:
 * for each row r in [row0, row1) of A (CSR, global row numbers: aPtr has A's full indptr),
 *   dot[j] = Σ_{p ∈ A[r,:]} aVal[p] · Σ_{q ∈ B[aIdx[p],:]} bVal[q] · [bIdx[q] = j]
 * accumulated in f64 by scattering the B rows named by A's row into `acc` in CSR order (so the sum order is
 * fixed), then score[j] = dot[j] / (rowNorms[r] · colNorms[j] + shrink) in f64 (an absent norm array counts
 * as all ones; a zero denominator gives score 0), rounded to f32. Candidates are the columns j touched by
 * the scatter (j ≠ r when `excludeSelf`); the best k by (score desc, index asc) are merged into
 * outIdx/outScores for row r at (r − row0)·k. Never materialises a dense row of the result.
 */
export interface SparseSimilarityTopkArgs {
  aPtr: Int32Array;
  aIdx: Int32Array;
  aVal: Float32Array;
  bPtr: Int32Array;
  bIdx: Int32Array;
  bVal: Float32Array;
  row0: number;
  row1: number;
  /** Columns of B (the length of the scratch arrays). */
  nCols: number;
  rowNorms?: Float32Array | null;
  colNorms?: Float32Array | null;
  shrink: number;
  k: number;
  excludeSelf: boolean;
  /** Scratch (nCols, f64): all zero on entry, left all zero. */
  acc: Float64Array;
  /** Scratch (nCols): all zero on entry, left all zero. */
  mark: Int32Array;
  /** Scratch (nCols): the touched columns. */
  list: Int32Array;
  /** State (in/out), k per row, initialised by the caller to -1 / -Infinity like `topkTile`. */
  outIdx: Int32Array;
  outScores: Float32Array;
}

/**
 * Sparse scoring with a top-n per row (recommendation): for each row r in [row0, row1) of A (global rows),
 *   acc[j] = Σ_{p ∈ A[r,:]} aVal[p] · Σ_{q ∈ M[aIdx[p],:]} mVal[q] · [mIdx[q] = j]     (f64, CSR order)
 * and, with `normalize` 1 or 2, den[j] = Σ |aVal[p]| (1) or Σ |mVal[q]| (2) over the same terms; the score is
 * acc[j] (normalize 0) or acc[j] / den[j] (0 when den[j] is 0), rounded to f32.
 * Candidates are the columns touched by the scatter, minus the columns of row r of `seen` and minus the
 * columns with allow[j] = 0. The best n by (score desc, index asc) go to outIdx/outScores at (r − row0)·n.
 */
export interface SparseScoreTopnArgs {
  aPtr: Int32Array;
  aIdx: Int32Array;
  aVal: Float32Array;
  mPtr: Int32Array;
  mIdx: Int32Array;
  mVal: Float32Array;
  /** CSR of the columns to leave out, with the same row numbering as A; absent or null (either one): none. */
  seenPtr?: Int32Array | null;
  seenIdx?: Int32Array | null;
  /** allow[j] = 0 leaves column j out; absent or null: all allowed. */
  allow?: Int32Array | null;
  /** 0 raw sums, 1 divided by Σ|aVal|, 2 divided by Σ|mVal|. */
  normalize: number;
  row0: number;
  row1: number;
  /** Columns of M (the length of the scratch arrays). */
  nCols: number;
  n: number;
  /** Scratch (nCols, f64): all zero on entry, left all zero. */
  acc: Float64Array;
  /** Scratch (nCols, f64) like `acc`; may be absent when normalize is 0. */
  den?: Float64Array | null;
  /** Scratch (nCols): all zero on entry, left all zero. */
  mark: Int32Array;
  /** Scratch (nCols): the touched columns. */
  list: Int32Array;
  /** State (in/out), n per row, initialised by the caller to -1 / -Infinity. */
  outIdx: Int32Array;
  outScores: Float32Array;
}

/**
 * One implicit-ALS half-step (Hu, Koren & Volinsky 2008) over CSR rows [row0, row1): for each row u, with
 * c = 1 + alpha·val and λ_u = reg (regMode 0) or reg·(nonzeros of row u) (regMode 1, ALS-WR),
 *   A_u = YᵀY + Σ_{q ∈ u} (c_q − 1) y_{idx[q]} y_{idx[q]}ᵀ + λ_u I,   b_u = Σ_{q ∈ u} c_q y_{idx[q]},
 * and x[u, :] = A_u⁻¹ b_u in f64, stored as f32 over the row's factors. solver 0: exact Cholesky; solver 1:
 * cgSteps conjugate-gradient steps warm-started from x[u, :], never forming A_u. A row without interactions
 * has b_u = 0 and gets x[u, :] = 0 without a solve. Returns −1, or the first row
 * whose system is not positive definite (the rows before it are solved; the caller reports it).
 */
export interface AlsSolveArgs {
  /** k × k, f64, both triangles. */
  yty: Float64Array;
  /** nOther × k, f32: the other side's factors. */
  y: Float32Array;
  nOther: number;
  k: number;
  ptr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
  row0: number;
  row1: number;
  /** (≥ row1) × k, f32: the warm start (CG) and the output, rows [row0, row1). */
  x: Float32Array;
  alpha: number;
  reg: number;
  regMode: 0 | 1;
  solver: 0 | 1;
  cgSteps: number;
  /** alsScratchLength(k) f64 of scratch. */
  scratch: Float64Array;
}

export function alsScratchLength(k: number): number {
  return k * k + 5 * k;
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

  /** norms[i] = ‖x[i,:]‖₂ as `normalizeRows` computes it (f64 sum of squares), without writing the rows. */
  rowNorms(x: Float32Array, rows: number, cols: number, norms: Float32Array): void;

  similarityTile(args: SimilarityTileArgs): void;

  topkTile(args: TopkTileArgs): void;

  /** Returns the block's inertia (NaN without `minDist2`). */
  kmeansStep(args: KmeansStepArgs): number;

  gram(args: GramArgs): void;

  logisticPass(args: LogisticPassArgs): void;

  /**
   * Solves G X = B in place by Cholesky, f64. Reads the upper triangle of row-major g (n × n),
   * overwrites g with the factor (contents unspecified beyond that) and b (n × nrhs, row-major) with X.
   * A pivot ≤ 0 (or not finite) throws QuiverError NOT_POSITIVE_DEFINITE with details.pivot = its index
   * (`kernelError`, so the message is the same on every backend).
   */
  choleskySolve(g: Float64Array, n: number, b: Float64Array, nrhs: number): void;

  matvec(args: MatvecArgs): void;

  sparseSimilarityTopk(args: SparseSimilarityTopkArgs): void;

  sparseScoreTopn(args: SparseScoreTopnArgs): void;

  /**
   * The region of an array that worker threads can read and write in place (a view on a SharedArrayBuffer for
   * native and js; a view on the shared WebAssembly.Memory for wasm), or null when the array must be copied.
   * Main thread only; the region is borrowed: never pass it to `free`.
   */
  regionOf<K extends ElementKind>(arr: ViewOf<K>, kind: K): (SharedRegion & { kind: K }) | null;

  /**
   * Optional (native): a region over a caller's ordinary (non-shared) array that the workers read in place
   * through its address, without a copy, or null where the array must be copied (too small to be worth it,
   * a resizable buffer, or `QUIVER_BORROW=0`). Main thread only. Its user must keep `arr` reachable and
   * must not return to its own caller until every task that reads the region has ended (including after an
   * error: a task the pool has abandoned, as on an abort, may still be running). Never `free` it.
   */
  borrow?(arr: Float32Array): (SharedRegion & { kind: 'f32' }) | null;

  /** Optional (native): the index of the first NaN or ±Infinity of `src`, or -1, on up to `threads` threads. */
  scanFinite?(src: Float32Array, threads: number): number;

  multinomialPass(args: MultinomialPassArgs): void;

  alsSolve(args: AlsSolveArgs): number;

  tileGemm(args: TileGemmArgs): void;

  /** Returns -1, or (TILE_POTRF) the tile-local index of the first pivot that is not > 0. */
  tileDiag(args: TileDiagArgs): number;

  /** `tileGemm` on f32 operands (the f32 EASE solve): products and sums in f32 on native, f64 on js and wasm. */
  tileGemmF32(args: TileGemmArgs<Float32Array>): void;

  /**
   * The lower part of a self-similarity strip: out[c·n + r] = out[r·n + c] for rows [row0, row1) of the
   * row-major n × n `out` and every column c ≥ row1. Values are moved, so every backend gives the same bits.
   */
  mirrorStrip(out: Float32Array, n: number, row0: number, row1: number): void;

  /**
   * Optional: copies a caller's `src` into `dst` (a view of one of this backend's regions, the same length),
   * on up to `threads` threads of the calling one's making (main thread only, while the pool waits for the
   * copy) and, with `check`, returns the index of the first NaN or ±Infinity of `src` (the copy then stops
   * there), else -1. Backends without it get `dst.set(src)` and a separate check.
   */
  copyIn?(src: Float32Array, dst: Float32Array, check: boolean, threads: number): number;

  topkExclTile(args: TopkExclTileArgs): void;
}

/** `multinomialPass` modes: the losses only (a line-search trial); also the gradient; also the Hessian blocks. */
export const MULTINOMIAL_LOSS = 0;
export const MULTINOMIAL_GRADIENT = 1;
export const MULTINOMIAL_NEWTON = 2;
export type MultinomialMode = typeof MULTINOMIAL_LOSS | typeof MULTINOMIAL_GRADIENT | typeof MULTINOMIAL_NEWTON;

/** Hessian blocks `multinomialPass` accumulates: pairs a ≤ c over the first k − 1 classes. */
export function multinomialPairs(k: number): number {
  return ((k - 1) * k) / 2;
}

/** Offsets into `multinomialPass`'s output for k classes and q columns (see MultinomialPassArgs). */
export function multinomialLayout(k: number, q: number): { lossW: 0; loss: 1; correct: 2; grad: 3; h: number; length: number } {
  return { lossW: 0, loss: 1, correct: 2, grad: 3, h: 3 + k * q, length: 3 + k * q + multinomialPairs(k) * q * q };
}

/** Values of the layout a mode writes: 3 (losses), then the gradient, then the Hessian blocks. */
export function multinomialModeLength(mode: MultinomialMode, k: number, q: number): number {
  const L = multinomialLayout(k, q);
  return mode === MULTINOMIAL_LOSS ? L.grad : mode === MULTINOMIAL_GRADIENT ? L.h : L.length;
}

/**
 * One fused pass of multiclass (softmax) logistic regression over a block of rows, in f64. With x_i the row
 * (q columns; the caller appends the 1 of the intercept), θ_c = theta[c·q .. (c+1)·q] and s_i the row weight:
 *   z_ic = x_i·θ_c, lse_i = m_i + log Σ_c e^{z_ic − m_i} (m_i = max_c z_ic), p_ic = e^{z_ic − lse_i},
 *   ℓ_i = lse_i − z_{i,y_i},
 * accumulated (the caller zeroes) into `out` as `multinomialLayout(k, q)` names: out[0] += Σ s_i ℓ_i,
 * out[1] += Σ ℓ_i, out[2] += #{i : the first largest z_ic is at c = y_i}; with `mode` ≥ MULTINOMIAL_GRADIENT
 * out[3 + c·q + j] += Σ_i s_i (p_ic − [y_i = c]) x_ij (the data gradient), and with MULTINOMIAL_NEWTON for each pair a ≤ c < k − 1
 * (a outer, c inner; pair index t) the upper triangle of the q × q row-major block at h + t·q² +=
 * Σ_i s_i p_ia (δ_ac − p_ic) x_i x_iᵀ (the lower triangle is left as it was). The last class's blocks follow
 * from these (each row of blocks sums to zero). Entries a mode does not compute are left as they were.
 */
export interface MultinomialPassArgs {
  x: Float32Array;
  rows: number;
  cols: number;
  /** Classes, ≥ 2. */
  k: number;
  /** Class indices in [0, k). */
  y: Float64Array;
  /** Row weights s_i; absent or null: all ones. */
  s?: Float64Array | null;
  /** k × cols, class-major. */
  theta: Float64Array;
  mode: MultinomialMode;
  /** Accumulates; `multinomialModeLength(mode, k, cols)` values (the prefix of the layout the mode writes). */
  out: Float64Array;
}

/**
 * Tile GEMM (family `tiles`): C = alpha·A·B, or C += alpha·A·B with `accumulate`, f64. Element (i, j) of each
 * operand X sits at x[xOff + i·xRs + j·xCs] (any strides, so a transpose is a swap of strides); C is m × n,
 * A m × k, B k × n. A, B and C may be views of one buffer as long as C's elements overlap neither A's nor B's.
 */
export interface TileGemmArgs<A extends Float32Array | Float64Array = Float64Array> {
  c: A;
  cOff: number;
  cRs: number;
  cCs: number;
  a: A;
  aOff: number;
  aRs: number;
  aCs: number;
  b: A;
  bOff: number;
  bRs: number;
  bCs: number;
  m: number;
  n: number;
  k: number;
  alpha: number;
  accumulate: boolean;
}

/** Diagonal-tile operations of the blocked Cholesky inverse (see `TileDiagArgs`). */
export const TILE_POTRF = 0;
export const TILE_TRTRI = 1;
export const TILE_LAUUM = 2;

/**
 * One nb × nb tile at a[off + i + j·ld] (column-major), in place, lower triangle only: TILE_POTRF factors
 * A = LLᵀ, TILE_TRTRI replaces L by L⁻¹, TILE_LAUUM replaces L by LᵀL.
 */
export interface TileDiagArgs {
  /** f64, or f32 for the f32 solve (then every step is still computed in f64 and rounded when stored). */
  a: Float64Array | Float32Array;
  off: number;
  ld: number;
  nb: number;
  op: number;
}

/**
 * `topkTile` with a per-row exclusion list: query row i never takes the base rows whose global indices are
 * exclIdx[exclPtr[i] .. exclPtr[i + 1]] (ascending, duplicates allowed; a recommender's seen items). Scores and
 * the tie rule are `topkTile`'s; a row left with fewer than k candidates keeps -1 / -Infinity in its last slots.
 */
export interface TopkExclTileArgs extends TopkTileArgs {
  /** qRows + 1 offsets into exclIdx, non-decreasing (they need not start at 0). */
  exclPtr: Int32Array;
  exclIdx: Int32Array;
}
