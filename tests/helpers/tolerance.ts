/**
 * Tolerances, |got − ref| ≤ atol + rtol·|ref|.
 *
 * KERNEL_TOLERANCE is the one table of the kernel suites (tests/backends): ref is the f64 oracle written in
 * each suite, and each kernel states its value per backend family. Inputs of the random tier are uniform in
 * [-1, 1) with at most 129 columns. TOLERANCE is what the suites above the backends (tests/engine) allow
 * between an engine result and one pass of the js kernels.
 */
import type { BackendFamily } from './backends.js';

export type Tol = { atol: number; rtol: number };

/**
 * One rounding of an f64 result to f32: the unit roundoff 2⁻²⁴ ≈ 5.96e-8 relative, plus the f64 error of a
 * sum of ≤ 129 terms (≈ 1e-14 of Σ|terms|, under atol).
 */
const F32_ROUNDING: Tol = { atol: 1e-12, rtol: 6e-8 };
/**
 * A dot product accumulated in f32 (SIMD lanes or one FMA chain): about √d·2⁻²⁴·Σ|a_i b_i| in practice
 * (measured ≤ 4.1e-6 absolute for d ≤ 129), bounded by d·2⁻²⁴·Σ|a_i b_i|; about 5× the measured worst.
 */
const F32_DOT: Tol = { atol: 2e-5, rtol: 2e-5 };
/**
 * Sums accumulated in f64, in another order than the oracle's (SIMD lanes, blocks): measured ≤ 7e-12
 * absolute on sums of magnitude 2e4 and ≤ 3e-13 relative under cancellation.
 */
const F64_REDUCTION: Tol = { atol: 1e-10, rtol: 1e-10 };

export const KERNEL_TOLERANCE = {
  /** f64 sum of squares and f64 scale on every backend, then one rounding to f32 (norms and outputs). */
  normalizeRows: { native: { atol: 0, rtol: 6e-8 }, wasm: { atol: 0, rtol: 6e-8 }, js: { atol: 0, rtol: 6e-8 } },
  /** native and wasm accumulate dot products in f32; js in f64, rounded once. */
  similarityTile: { native: F32_DOT, wasm: F32_DOT, js: F32_ROUNDING },
  /** The same dot products as similarityTile on each backend. */
  topkTile: { native: F32_DOT, wasm: F32_DOT, js: F32_ROUNDING },
  /** Distances, inertia, sums and counts in f64 (the assignment's x·c is an f32 dot on native and wasm: see kmeansAssignment). */
  kmeansStep: { native: F64_REDUCTION, wasm: F64_REDUCTION, js: F64_REDUCTION },
  /** The x·c of the assignment: f32 on native and wasm, f64 on js (ties within it may go either way). */
  kmeansAssignment: { native: F32_DOT, wasm: F32_DOT, js: { atol: 1e-12, rtol: 1e-12 } },
  gram: { native: F64_REDUCTION, wasm: F64_REDUCTION, js: F64_REDUCTION },
  /** z, losses, count, gradient, Xᵀw and Σw: f64 everywhere. */
  logisticPass: { native: F64_REDUCTION, wasm: F64_REDUCTION, js: F64_REDUCTION },
  /**
   * The XᵀWX block, relative to its largest entry (atol is that rtol times the largest |H|): the native SIMD
   * levels sum f32 products √w·x over ≤ 256 rows (f64 across chunks); wasm and js are f64.
   */
  logisticHessian: { native: { atol: 0, rtol: 2e-6 }, wasm: { atol: 0, rtol: 1e-12 }, js: { atol: 0, rtol: 1e-12 } },
  /** The residual G·X − B against B (faer-style), G well conditioned (AAᵀ + nI). */
  choleskySolve: { native: { atol: 1e-9, rtol: 1e-8 }, wasm: { atol: 1e-9, rtol: 1e-8 }, js: { atol: 1e-9, rtol: 1e-8 } },
  /** f64 accumulation on every backend, one rounding to f32 (after the sigmoid in f64). */
  matvec: { native: F32_ROUNDING, wasm: F32_ROUNDING, js: F32_ROUNDING },
  /**
   * multinomialPass: losses, gradient and Hessian blocks, f64 products and sums on every backend and level (the
   * Hessian's atol is this rtol times the largest |H| of the case: its entries partly cancel).
   */
  multinomialPass: { native: F64_REDUCTION, wasm: F64_REDUCTION, js: F64_REDUCTION },
  /**
   * An ALS row solved exactly (f64 systems with condition numbers ≤ ~1e3 in the suite, summed in another order
   * than the oracle's), then rounded to f32: the rounding (6e-8) dominates; 1e-6 leaves room for the conditioning.
   * (The CG rows are checked in tests/backends/als.test.ts at atol 1e-5, rtol 1e-4 after 4k steps; the native CG
   * does its products in f32 like implicit's and still meets that bound, so it was not loosened.)
   */
  alsSolve: { native: { atol: 1e-7, rtol: 1e-6 }, wasm: { atol: 1e-7, rtol: 1e-6 }, js: { atol: 1e-7, rtol: 1e-6 } },
  /** Tile GEMM: f64 products summed in another order than the oracle's (faer's microkernels, SIMD lanes). */
  tileGemm: { native: F64_REDUCTION, wasm: F64_REDUCTION, js: F64_REDUCTION },
  /**
   * gram with accumulate 'f32', relative to the largest |G| of the case (atol is this rtol times it): the native
   * SIMD levels round x − c and √w to f32 and sum f32 products over 64-row blocks, at worst 64·2⁻²⁴ ≈ 3.8e-6 of
   * Σ|terms| ≤ max|G|; wasm and js ignore the mode and sum in f64.
   */
  gramF32: { native: { atol: 0, rtol: 1e-5 }, wasm: F64_REDUCTION, js: F64_REDUCTION },
} as const satisfies Record<string, Record<BackendFamily, Tol>>;

export type KernelName = keyof typeof KERNEL_TOLERANCE;

export function tolerance(kernel: KernelName, family: BackendFamily): Tol {
  return KERNEL_TOLERANCE[kernel][family];
}

/**
 * Engine results against one pass of the js kernels (tests/engine). f32 dot products of length d over values
 * in [-1, 1] carry about d·2⁻²⁴ absolute error; these allow a margin of ~10× over that for d ≤ 129.
 */
export const TOLERANCE = {
  dotF32: { atol: 2e-5, rtol: 2e-5 },
  normalize: { atol: 1e-6, rtol: 1e-6 },
  reductionF64: { atol: 1e-9, rtol: 1e-9 },
  solveResidual: { atol: 1e-9, rtol: 1e-8 },
  matvec: { atol: 1e-5, rtol: 1e-5 },
  /**
   * logisticPass's Hessian block: the SIMD native level sums f32 products √w·x over ≤ 256 rows (f64 across
   * chunks); relative to the largest Hessian entry.
   */
  hessianF32: { atol: 0, rtol: 2e-6 },
} as const;

/** Index of the first element out of tolerance, or -1. */
export function firstMismatch(got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tol): number {
  if (got.length !== ref.length) return Math.min(got.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    const g = got[i]!;
    const r = ref[i]!;
    if (!(Math.abs(g - r) <= tol.atol + tol.rtol * Math.abs(r))) return i;
  }
  return -1;
}

export function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tol, what = ''): void {
  const i = firstMismatch(got, ref, tol);
  if (i >= 0) {
    throw new Error(`${what} mismatch at ${i}: got ${got[i]}, reference ${ref[i]} (atol ${tol.atol}, rtol ${tol.rtol}, lengths ${got.length}/${ref.length})`);
  }
}

/** Column counts that reach every SIMD tail (4, 8, 16 lanes and their unrolled multiples). */
export const TAIL_COLS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129];
