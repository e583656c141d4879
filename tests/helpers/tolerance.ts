/**
 * The one tolerance table: |got − ref| ≤ atol + rtol·|ref|, where ref is the f64 js backend.
 * f32 dot products of length d over values in [-1, 1] carry about d·2⁻²⁴ absolute error; the table
 * allows a margin of ~10× over that for d ≤ 129.
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

export type Tol = { atol: number; rtol: number };

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
