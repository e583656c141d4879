// similarityTile on every backend and level against an f64 oracle written here: exact on small integers,
// within KERNEL_TOLERANCE on seeded random blocks over every tail; the row stride, tiling, and the edges.
import { describe, expect, it } from 'vitest';
import { backendCases } from '../helpers/backends.js';
import { randomF32, smallIntF32 } from '../helpers/rng.js';
import { TAIL_COLS, expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/** Oracle: out[i * ld + j] = Σ_d a[i,d]·b[j,d] in f64 (f32 × f32 products are exact in f64). */
function oracle(a: Float32Array, aRows: number, b: Float32Array, bRows: number, cols: number, ld = bRows): Float64Array {
  const out = new Float64Array(aRows === 0 ? 0 : (aRows - 1) * ld + bRows);
  for (let i = 0; i < aRows; i++) {
    for (let j = 0; j < bRows; j++) {
      let s = 0;
      for (let d = 0; d < cols; d++) s += a[i * cols + d]! * b[j * cols + d]!;
      out[i * ld + j] = s;
    }
  }
  return out;
}

describe.each(cases)('similarityTile on $label', ({ family, backend: be }) => {
  const tol = tolerance('similarityTile', family);

  it('exact: small integers (every partial sum is an integer below 2²⁴, so any order is exact)', () => {
    for (const cols of [1, 7, 33, 129]) {
      for (const [ar, br] of [[1, 1], [7, 5], [9, 13]] as const) {
        const a = smallIntF32(ar * cols, cols + ar);
        const b = smallIntF32(br * cols, cols + br + 100);
        const ld = br + 1;
        const out = new Float32Array((ar - 1) * ld + br + 1).fill(99);
        be.similarityTile({ a, aRows: ar, b, bRows: br, cols, out, ldOut: ld });
        const want = oracle(a, ar, b, br, cols, ld);
        for (let i = 0; i < ar; i++) {
          // The column past bRows in each row is outside the block: untouched.
          expect(Array.from(out.subarray(i * ld, i * ld + br)), `row ${i} cols=${cols}`).toEqual(Array.from(want.subarray(i * ld, i * ld + br)));
          expect(out[i * ld + br]).toBe(99);
        }
      }
    }
  });

  it('random: every tail length and block shape within tolerance', () => {
    for (const cols of TAIL_COLS) {
      for (const [ar, br] of [[1, 1], [2, 4], [3, 5], [17, 9], [33, 70]] as const) {
        const a = randomF32(ar * cols, cols * 7 + ar);
        const b = randomF32(br * cols, cols * 13 + br);
        const out = new Float32Array(ar * br);
        be.similarityTile({ a, aRows: ar, b, bRows: br, cols, out, ldOut: br });
        expectClose(out, oracle(a, ar, b, br, cols), tol, `${ar}×${br}×${cols}`);
      }
    }
  });

  it('an element does not depend on the tile it is computed in', () => {
    const cols = 129;
    const a = randomF32(40 * cols, 5);
    const b = randomF32(300 * cols, 6);
    const whole = new Float32Array(40 * 300);
    be.similarityTile({ a, aRows: 40, b, bRows: 300, cols, out: whole, ldOut: 300 });
    const tiled = new Float32Array(40 * 300);
    for (let i0 = 0; i0 < 40; i0 += 7) {
      for (let j0 = 0; j0 < 300; j0 += 64) {
        const ar = Math.min(7, 40 - i0);
        const br = Math.min(64, 300 - j0);
        be.similarityTile({ a: a.subarray(i0 * cols), aRows: ar, b: b.subarray(j0 * cols), bRows: br, cols, out: tiled.subarray(i0 * 300 + j0), ldOut: 300 });
      }
    }
    expect(Array.from(tiled)).toEqual(Array.from(whole));
  });

  it('edges: zero rows write nothing; zero vectors give 0; zero columns give 0; NaN stays in its row', () => {
    const a = randomF32(3 * 5, 1);
    const out = new Float32Array(6).fill(7);
    be.similarityTile({ a, aRows: 0, b: a, bRows: 3, cols: 5, out, ldOut: 3 });
    be.similarityTile({ a, aRows: 2, b: a, bRows: 0, cols: 5, out, ldOut: 3 });
    expect(Array.from(out)).toEqual([7, 7, 7, 7, 7, 7]);

    const z = new Float32Array(2 * 5);
    const oz = new Float32Array(2 * 3).fill(7);
    be.similarityTile({ a: z, aRows: 2, b: a, bRows: 3, cols: 5, out: oz, ldOut: 3 });
    expect(Array.from(oz)).toEqual([0, 0, 0, 0, 0, 0]);
    be.similarityTile({ a: new Float32Array(0), aRows: 2, b: new Float32Array(0), bRows: 3, cols: 0, out: oz.fill(7), ldOut: 3 });
    expect(Array.from(oz)).toEqual([0, 0, 0, 0, 0, 0]);

    // IEEE semantics: a NaN input makes its own row (and column) NaN and nothing else.
    const an = randomF32(4 * 9, 2);
    an[2 * 9 + 4] = NaN;
    const b = randomF32(6 * 9, 3);
    const on = new Float32Array(4 * 6);
    be.similarityTile({ a: an, aRows: 4, b, bRows: 6, cols: 9, out: on, ldOut: 6 });
    const want = oracle(an, 4, b, 6, 9);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 6; j++) {
        if (i === 2) expect(on[i * 6 + j]).toBeNaN();
        else expectClose([on[i * 6 + j]!], [want[i * 6 + j]!], tol, `finite (${i}, ${j})`);
      }
    }
  });
});
