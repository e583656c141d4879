// The fused multinomial pass reduces its row blocks in a fixed order (the blocks depend on the row count only),
// so a multiclass fit gives the same bits with 1 and 2 compute threads on every backend; and the engine call
// refuses class indices outside [0, k).
import { describe, expect, it } from 'vitest';
import { createEngine, fitMultinomialLogistic, type BackendName } from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';
import { mulberry32 } from '../helpers/rng.js';

/** 12,000 rows (several reduction blocks, split differently over 1 and 2 threads), 6 features, 4 classes. */
function problem() {
  const n = 12000;
  const p = 6;
  const k = 4;
  const r = mulberry32(77);
  const x = new Float32Array(n * p).map(() => r() * 2 - 1);
  const w = Array.from({ length: k * p }, () => r() * 2 - 1);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let c = 0; c < k; c++) {
      let z = -Math.log(-Math.log(r() || 1e-12));
      for (let j = 0; j < p; j++) z += w[c * p + j]! * x[i * p + j]!;
      if (z > bv) {
        bv = z;
        best = c;
      }
    }
    y[i] = best;
  }
  return { x: { rows: n, cols: p, data: x }, y };
}

describe('multinomial fit and thread count', () => {
  for (const backend of ['native', 'wasm', 'js'] as BackendName[]) {
    it(`${backend}: 1 and 2 threads give identical coefficients, intercepts and log-loss`, async () => {
      const { x, y } = problem();
      const fits = [];
      for (const threads of [1, 2]) {
        const e = await createEngine({ backend, threads });
        try {
          fits.push(await fitMultinomialLogistic(e, x, y, { l2: 1, sampleWeight: Float64Array.from(y, (v) => 1 + v / 4) }));
        } finally {
          await e.close();
        }
      }
      const [a, b] = fits as [NonNullable<(typeof fits)[0]>, NonNullable<(typeof fits)[0]>];
      expect(a.converged).toBe(true);
      expect(Array.from(b.coefficients)).toEqual(Array.from(a.coefficients));
      expect(Array.from(b.intercepts)).toEqual(Array.from(a.intercepts));
      expect(b.logLoss).toBe(a.logLoss);
    });
  }

  it('the engine pass refuses a class index outside [0, k)', async () => {
    const e = await createEngine({ threads: 1 });
    try {
      const x = { rows: 2, cols: 2, data: new Float32Array(4) };
      await expectCode(e.multinomialPass(x, Float64Array.from([0, 3]), null, new Float64Array(6), 3), 'INVALID_ARGUMENT');
    } finally {
      await e.close();
    }
  });
});
