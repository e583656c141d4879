// The fused multinomial pass reduces its row blocks in a fixed order (the blocks depend on the row count only),
// so a multiclass fit gives the same bits with 1 and 2 compute threads on every backend; and the engine call
// refuses class indices outside [0, k).
import { describe, expect, it } from 'vitest';
import { createEngine, fitMultinomialLogistic, type BackendName } from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';
import { softmaxProblem } from '../helpers/softmax.js';

/** 12,000 rows (several reduction blocks, split differently over 1 and 2 threads), 6 features, 4 classes. */
const problem = () => softmaxProblem(12000, 6, 4, 77);

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
