/**
 * One-pass centring for the fits' Gram matrices: the pass centres on a shift c taken from a row sample
 * (close to the weighted column means μ, so the centred values stay small), accumulates Σ w (x − c)
 * beside the Gram matrix, and the exact centred matrices follow from the small ones:
 *   Σ w (x − μ)(x − μ)ᵀ = Σ w (x − c)(x − c)ᵀ − W (μ − c)(μ − c)ᵀ,  μ − c = Σ w (x − c) / W,
 *   Σ v (x − μ)         = Σ v (x − c) − (μ − c) Σ v.
 * The correction is small when c ≈ μ (a sample of 1,024 rows puts μ − c near σ/32, so the subtraction
 * costs about 1e-3 of the diagonal's last bits), which is why a sample beats c = 0 on offset columns.
 */
import type { Matrix } from '../types.js';

/** Rows the shift is taken from (spread evenly over x). */
const SHIFT_SAMPLE_ROWS = 1024;

/**
 * The weighted mean of an even row sample of x, each value rounded to f32 (so the kernels' f32 centring,
 * which subtracts c in f32, centres on exactly this c). Non-finite when a sampled value is: the caller
 * then names x's first non-finite value.
 */
export function sampleShift(x: Matrix, w: ArrayLike<number> | null): Float64Array {
  const { rows, cols, data } = x;
  const m = Math.min(rows, SHIFT_SAMPLE_ROWS);
  const acc = new Float64Array(cols);
  let sw = 0;
  for (let k = 0; k < m; k++) {
    const i = Math.floor((k * rows) / m);
    const wi = w ? w[i]! : 1;
    if (!(wi > 0)) continue;
    sw += wi;
    const o = i * cols;
    for (let j = 0; j < cols; j++) acc[j]! += wi * data[o + j]!;
  }
  // Every sampled weight zero: the unweighted sample mean is as good a shift.
  if (!(sw > 0)) return m > 0 && w ? sampleShift(x, null) : acc;
  for (let j = 0; j < cols; j++) acc[j] = Math.fround(acc[j]! / sw);
  return acc;
}

/**
 * Turns the shifted sums of a pass (g: Σ w (x − c)(x − c)ᵀ, full symmetric; xty: Σ v (x − c) or null;
 * sums: Σ w (x − c)) into the centred ones in place, and returns the weighted means μ.
 * `sw` is Σ w and `sv` is Σ v, both summed in f64 by the caller.
 */
export function unshift(c: Float64Array, g: Float64Array, xty: Float64Array | null, sums: Float64Array, sw: number, sv: number): Float64Array {
  const p = c.length;
  const d = new Float64Array(p);
  for (let j = 0; j < p; j++) d[j] = sums[j]! / sw;
  for (let a = 0; a < p; a++) {
    const ra = sums[a]! * d[a]!;
    g[a * p + a]! -= ra;
    for (let b = a + 1; b < p; b++) {
      const t = sums[a]! * d[b]!;
      g[a * p + b]! -= t;
      g[b * p + a]! -= t;
    }
  }
  if (xty) for (let j = 0; j < p; j++) xty[j]! -= d[j]! * sv;
  const mu = new Float64Array(p);
  for (let j = 0; j < p; j++) mu[j] = c[j]! + d[j]!;
  return mu;
}
