// Metrics against hand-computed values and published examples.
import { describe, expect, it } from 'vitest';
import { accuracy, logLoss, r2Score, rmse, rocAuc } from '../../src/models/metrics.js';
import { QuiverError } from '../../src/errors.js';

describe('metrics', () => {
  it('ROC AUC: a published example, ties counting one half, weights as repeated rows', () => {
    // oracle: scikit-learn's roc_auc_score documentation example → 0.75
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    // oracle by hand: the positive at 0.5 ties two negatives (½ + ½), the one at 0.9 beats both: 3 / 4
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.9])).toBe(0.75);
    // oracle: weight 2 on a row equals the row twice
    expect(rocAuc([0, 1, 0, 1], [0.3, 0.2, 0.1, 0.9], [2, 1, 1, 1])).toBeCloseTo(rocAuc([0, 0, 1, 0, 1], [0.3, 0.3, 0.2, 0.1, 0.9]), 15);
    expect(() => rocAuc([1, 1], [0.2, 0.3])).toThrow(QuiverError);
  });

  it('ROC AUC equals the pair count by brute force (ties, negative scores, ±0, huge and tiny magnitudes)', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const pools = [
      [-0, 0, 1e-300, -1e-300, 5e300, -5e300, 0.5, -0.5, 3, -3, Number.MIN_VALUE, -Number.MIN_VALUE, Infinity, -Infinity],
      Array.from({ length: 40 }, (_, i) => (i - 20) / 7),
    ];
    for (const pool of pools) {
      for (const n of [2, 3, 17, 500, 3000]) {
        const y = new Float64Array(n);
        const z = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          y[i] = i < 2 ? i : rnd() < 0.4 ? 1 : 0;
          z[i] = rnd() < 0.7 ? pool[Math.floor(rnd() * pool.length)]! : (rnd() - 0.5) * 1e3;
        }
        let pairs = 0;
        let np = 0;
        for (let i = 0; i < n; i++) {
          if (y[i] !== 1) continue;
          np++;
          for (let j = 0; j < n; j++) if (y[j] === 0) pairs += z[i]! > z[j]! ? 1 : z[i] === z[j] ? 0.5 : 0;
        }
        expect(rocAuc(y, z)).toBe(pairs / (np * (n - np)));
      }
    }
  });

  it('log-loss, accuracy, R² and RMSE', () => {
    // oracle by hand: −(ln 0.9 + ln 0.8) / 2
    expect(logLoss([1, 0], [0.9, 0.2])).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 15);
    // a confident mistake is large but finite (probabilities clipped at 2⁻⁵²)
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(Number.EPSILON), 10);
    expect(accuracy([1, 0, 1, 0], [0.9, 0.6, 0.4, 0.1])).toBe(0.5);
    // oracle by hand: SS_res = 1, SS_tot = 2
    expect(r2Score([1, 2, 3], [1, 2, 4])).toBe(0.5);
    expect(rmse([1, 2, 3], [1, 2, 4])).toBeCloseTo(Math.sqrt(1 / 3), 15);
    // oracle: weight 2 equals the row twice
    expect(r2Score([1, 2, 3], [1.5, 2, 2], [2, 1, 1])).toBeCloseTo(r2Score([1, 1, 2, 3], [1.5, 1.5, 2, 2]), 15);
  });
});
