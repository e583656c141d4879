// Shared pieces of the softmax (multinomial) tests: a seeded K-class problem drawn from a softmax of random linear
// predictors (Gumbel-max), and the centring over the classes that scikit-learn's fixtures are stated in.
import type { Matrix } from '../../src/types.js';
import { mulberry32 } from './rng.js';

/** n × p uniform features in [−1, 1); y_i = argmax_c (w_c·x_i + Gumbel noise), w uniform in [−1, 1). */
export function softmaxProblem(n: number, p: number, k: number, seed: number): { x: Matrix; y: Int32Array } {
  const r = mulberry32(seed);
  const data = new Float32Array(n * p).map(() => r() * 2 - 1);
  const w = Array.from({ length: k * p }, () => r() * 2 - 1);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let c = 0; c < k; c++) {
      let z = -Math.log(-Math.log(r() || 1e-12));
      for (let j = 0; j < p; j++) z += w[c * p + j]! * data[i * p + j]!;
      if (z > bv) {
        bv = z;
        best = c;
      }
    }
    y[i] = best;
  }
  return { x: { rows: n, cols: p, data }, y };
}

/** K × p coefficients with each column's mean over the classes subtracted (the fixtures' convention). */
export function centreOverClasses(coefficients: ArrayLike<number>, k: number, p: number): Float64Array {
  const coef = Float64Array.from(coefficients);
  for (let j = 0; j < p; j++) {
    let mean = 0;
    for (let c = 0; c < k; c++) mean += coef[c * p + j]! / k;
    for (let c = 0; c < k; c++) coef[c * p + j]! -= mean;
  }
  return coef;
}
