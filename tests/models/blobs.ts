// The seeded synthetic blobs of the KMeans fixtures, generated exactly as scripts/fixtures/make_model_fixtures.py
// does (the same mulberry32 stream, every step exact in f64, then rounded to f32), so both sides see the same bits.
import type { Matrix } from '../../src/types.js';
import { mulberry32 } from '../helpers/rng.js';

export function blobs(seed: number, n: number, d: number, k: number): { x: Matrix; truth: Int32Array } {
  const r = mulberry32(seed);
  const centres = new Float64Array(k * d);
  for (let i = 0; i < k * d; i++) centres[i] = Math.floor(r() * 21) - 10;
  const data = new Float32Array(n * d);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const b = Math.floor(r() * k);
    truth[i] = b;
    for (let j = 0; j < d; j++) data[i * d + j] = centres[b * d + j]! + 2 * (r() + r() + r() + r() - 2);
  }
  return { x: { rows: n, cols: d, data }, truth };
}
