// Raw-pointer exports of the Quiver WASM kernels. Every pointer is a byte offset into the one imported shared
// memory, every buffer is owned by the caller, and nothing here allocates. Optional arrays are passed as 0.
// The instruction set is fixed at compile time: the `simd` target builds the *_simd128 kernels, the `scalar`
// target (simd feature disabled) their scalar twins, so one source serves both builds.
import { cholesky_f64_scalar, cholesky_f64_simd128 } from './kernels/cholesky';
import { gram_f32_scalar, gram_f32_simd128 } from './kernels/gram';
import { kmeans_f32_scalar, kmeans_f32_simd128 } from './kernels/kmeans';
import { logistic_f64_scalar, logistic_f64_simd128 } from './kernels/logistic';
import { matvec_f32_scalar, matvec_f32_simd128 } from './kernels/matvec';
import { normalize_f32_scalar, normalize_f32_simd128, row_norms_f32_scalar, row_norms_f32_simd128 } from './kernels/normalize';
import { similarity_f32_scalar, similarity_f32_simd128 } from './kernels/similarity';
import { sparse_score_topn_f64_scalar, sparse_similarity_topk_f64_scalar } from './kernels/sparse';
import { topk_f32_scalar, topk_f32_simd128 } from './kernels/topk';
import { topk_excl_f32_scalar, topk_excl_f32_simd128 } from './kernels/topk';
import { multinomial_f64_scalar, multinomial_f64_simd128 } from './kernels/multinomial';
import { als_solve_f64_scalar } from './kernels/als';
import { tiles_gemm_f64_scalar, tiles_gemm_f64_simd128 } from './kernels/tiles';

/** 1 for the simd128 build, 0 for the scalar one. */
export function simd_build(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}

/** AssemblyScript version as major * 10000 + minor * 100 + patch. */
export function asc_version(): i32 {
  return ASC_VERSION_MAJOR * 10000 + ASC_VERSION_MINOR * 100 + ASC_VERSION_PATCH;
}

/** First byte past the module's static data: the loader keeps every allocation above it. */
export function heap_base(): usize {
  return __heap_base;
}

export function normalize_rows(x: usize, rows: i32, cols: i32, out: usize, norms: usize): void {
  if (ASC_FEATURE_SIMD) normalize_f32_simd128(x, rows, cols, out, norms);
  else normalize_f32_scalar(x, rows, cols, out, norms);
}

/** norms[i] = ||x[i,:]|| as normalize_rows computes it, rows left unwritten. */
export function row_norms(x: usize, rows: i32, cols: i32, norms: usize): void {
  if (ASC_FEATURE_SIMD) row_norms_f32_simd128(x, rows, cols, norms);
  else row_norms_f32_scalar(x, rows, cols, norms);
}

export function similarity_tile(a: usize, aRows: i32, b: usize, bRows: i32, cols: i32, out: usize, ldOut: i32): void {
  if (ASC_FEATURE_SIMD) similarity_f32_simd128(a, aRows, b, bRows, cols, out, ldOut);
  else similarity_f32_scalar(a, aRows, b, bRows, cols, out, ldOut);
}

export function topk_tile(
  q: usize, qRows: i32, x: usize, xRows: i32, cols: i32, k: i32,
  qOffset: i32, xOffset: i32, excludeSelf: bool, outIdx: usize, outScores: usize, qScale: usize, xScale: usize,
): void {
  if (ASC_FEATURE_SIMD) topk_f32_simd128(q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, outIdx, outScores, qScale, xScale);
  else topk_f32_scalar(q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, outIdx, outScores, qScale, xScale);
}

export function kmeans_step(
  x: usize, rows: i32, cols: i32, centroids: usize, k: i32, weights: usize,
  labels: usize, minDist2: usize, sums: usize, counts: usize,
): f64 {
  if (ASC_FEATURE_SIMD) return kmeans_f32_simd128(x, rows, cols, centroids, k, weights, labels, minDist2, sums, counts);
  return kmeans_f32_scalar(x, rows, cols, centroids, k, weights, labels, minDist2, sums, counts);
}

export function gram(x: usize, rows: i32, cols: i32, w: usize, center: usize, v: usize, g: usize, xty: usize, sums: usize): void {
  if (ASC_FEATURE_SIMD) gram_f32_simd128(x, rows, cols, w, center, v, g, xty, sums);
  else gram_f32_scalar(x, rows, cols, w, center, v, g, xty, sums);
}

/** One fused logistic-regression pass over a block of rows (layout in kernels/logistic.ts); scratch: 2 * rows f64. */
export function logistic_pass(
  x: usize, rows: i32, cols: i32, y: usize, s: usize, beta: usize, bias: f64,
  hessian: bool, z: usize, out: usize, scratch: usize,
): void {
  if (ASC_FEATURE_SIMD) logistic_f64_simd128(x, rows, cols, y, s, beta, bias, hessian, z, out, scratch);
  else logistic_f64_scalar(x, rows, cols, y, s, beta, bias, hessian, z, out, scratch);
}

/** -1 on success, else the index of the failing pivot (its value is left at g[pivot, pivot]). */
export function cholesky_solve(g: usize, n: i32, b: usize, nrhs: i32): i32 {
  if (ASC_FEATURE_SIMD) return cholesky_f64_simd128(g, n, b, nrhs);
  return cholesky_f64_scalar(g, n, b, nrhs);
}

export function matvec(x: usize, rows: i32, cols: i32, w: usize, bias: f64, link: i32, out: usize): void {
  if (ASC_FEATURE_SIMD) matvec_f32_simd128(x, rows, cols, w, bias, link, out);
  else matvec_f32_scalar(x, rows, cols, w, bias, link, out);
}

/** Sparse similarity top-k over CSR rows [row0, row1) (one scalar kernel for both builds; see kernels/sparse.ts). */
export function sparse_similarity_topk(
  aPtr: usize, aIdx: usize, aVal: usize, bPtr: usize, bIdx: usize, bVal: usize,
  row0: i32, row1: i32, rowNorms: usize, colNorms: usize, shrink: f64, k: i32, excludeSelf: bool,
  acc: usize, mark: usize, list: usize, outIdx: usize, outScores: usize,
): void {
  sparse_similarity_topk_f64_scalar(aPtr, aIdx, aVal, bPtr, bIdx, bVal, row0, row1, rowNorms, colNorms, shrink, k, excludeSelf, acc, mark, list, outIdx, outScores);
}

/** Sparse scoring top-n over CSR rows [row0, row1) (one scalar kernel for both builds; see kernels/sparse.ts). */
export function sparse_score_topn(
  aPtr: usize, aIdx: usize, aVal: usize, mPtr: usize, mIdx: usize, mVal: usize,
  seenPtr: usize, seenIdx: usize, allow: usize, normalize: i32, row0: i32, row1: i32, n: i32,
  acc: usize, den: usize, mark: usize, list: usize, outIdx: usize, outScores: usize,
): void {
  sparse_score_topn_f64_scalar(aPtr, aIdx, aVal, mPtr, mIdx, mVal, seenPtr, seenIdx, allow, normalize, row0, row1, n, acc, den, mark, list, outIdx, outScores);
}

/** One fused softmax-regression pass over a block of rows (layout in kernels/multinomial.ts); scratch: 256 * (k + 1) f64. */
export function multinomial_pass(
  x: usize, rows: i32, cols: i32, k: i32, y: usize, s: usize, theta: usize, mode: i32, out: usize, scratch: usize,
): void {
  if (ASC_FEATURE_SIMD) multinomial_f64_simd128(x, rows, cols, k, y, s, theta, mode, out, scratch);
  else multinomial_f64_scalar(x, rows, cols, k, y, s, theta, mode, out, scratch);
}

/** Implicit-ALS half-step over CSR rows [row0, row1) (one scalar kernel for both builds; see kernels/als.ts). */
export function als_solve(
  yty: usize, y: usize, k: i32, ptr: usize, idx: usize, val: usize, row0: i32, row1: i32, x: usize,
  alpha: f64, reg: f64, regMode: i32, solver: i32, cgSteps: i32, scratch: usize,
): i32 {
  return als_solve_f64_scalar(yty, y, k, ptr, idx, val, row0, row1, x, alpha, reg, regMode, solver, cgSteps, scratch);
}

/** Tile GEMM on strided f64 blocks (see kernels/tiles.ts); strides in elements, pointers in bytes. */
export function tiles_gemm(
  c: usize, cRs: i32, cCs: i32, a: usize, aRs: i32, aCs: i32, b: usize, bRs: i32, bCs: i32,
  m: i32, n: i32, k: i32, alpha: f64, accumulate: bool,
): void {
  if (ASC_FEATURE_SIMD) tiles_gemm_f64_simd128(c, cRs, cCs, a, aRs, aCs, b, bRs, bCs, m, n, k, alpha, accumulate);
  else tiles_gemm_f64_scalar(c, cRs, cCs, a, aRs, aCs, b, bRs, bCs, m, n, k, alpha, accumulate);
}

/** topk_tile where row i skips the global indices exclIdx[exclPtr[i] .. exclPtr[i + 1]] (ascending). */
export function topk_excl_tile(
  q: usize, qRows: i32, x: usize, xRows: i32, cols: i32, k: i32,
  qOffset: i32, xOffset: i32, excludeSelf: bool, exclPtr: usize, exclIdx: usize, outIdx: usize, outScores: usize,
  qScale: usize, xScale: usize,
): void {
  if (ASC_FEATURE_SIMD) topk_excl_f32_simd128(q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, exclPtr, exclIdx, outIdx, outScores, qScale, xScale);
  else topk_excl_f32_scalar(q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, exclPtr, exclIdx, outIdx, outScores, qScale, xScale);
}
