import { describe, expect, it } from 'vitest';
import { checkFinite, firstNonFiniteF32 } from '../../src/engine/validate.js';
import { QuiverError } from '../../src/errors.js';

describe('finite checks', () => {
  it('finds the first NaN or ±Infinity at every position of the 8-wide loop and its tail', () => {
    for (const n of [1, 7, 8, 9, 16, 17, 31]) {
      for (let at = 0; at < n; at++) {
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          const x = new Float32Array(n).fill(3.5);
          x[at] = bad;
          if (at + 1 < n) x[n - 1] = Number.NaN; // a later one must not win
          expect(firstNonFiniteF32(x)).toBe(at);
        }
      }
      // Largest finite f32 and subnormals are finite.
      expect(firstNonFiniteF32(new Float32Array(n).fill(3.4028234663852886e38))).toBe(-1);
      expect(firstNonFiniteF32(new Float32Array(n).fill(1e-45))).toBe(-1);
    }
    const sub = new Float32Array([1, 2, Number.NaN, 4]).subarray(1);
    expect(firstNonFiniteF32(sub)).toBe(1);
  });

  it('names row and column', () => {
    const x = new Float32Array(12);
    x[7] = Number.NaN;
    expect(() => checkFinite(x, 'x', 3)).toThrow(QuiverError);
    expect(() => checkFinite(x, 'x', 3)).toThrow(/x has a non-finite value \(NaN\) at row 2, column 1/);
    expect(() => checkFinite(new Float64Array([1, Number.POSITIVE_INFINITY]), 'w')).toThrow(/w has a non-finite value \(Infinity\) at index 1/);
  });
});
