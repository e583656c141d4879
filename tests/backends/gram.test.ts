// gram on every backend and level against an f64 oracle written here: exact on small integers, within
// KERNEL_TOLERANCE on seeded random inputs over every tail, weighted and centred; accumulation into the
// caller's g (upper triangle only) and xty, and the edges.
import { describe, expect, it } from 'vitest';
import { backendCases } from '../helpers/backends.js';
import { mulberry32, randomF32, randomF64, smallIntF32 } from '../helpers/rng.js';
import { TAIL_COLS, expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/** Oracle: Σ_i w_i (x_i − c)(x_i − c)ᵀ (full matrix) and Σ_i v_i (x_i − c), in f64. */
function oracle(x: Float32Array, rows: number, cols: number, w: Float64Array | null, center: Float64Array | null, v: Float64Array | null) {
  const g = new Float64Array(cols * cols);
  const xty = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const wi = w ? w[i]! : 1;
    for (let a = 0; a < cols; a++) {
      const ra = x[i * cols + a]! - (center ? center[a]! : 0);
      if (v) xty[a]! += v[i]! * ra;
      for (let b = 0; b < cols; b++) g[a * cols + b]! += wi * ra * (x[i * cols + b]! - (center ? center[b]! : 0));
    }
  }
  return { g, xty };
}

/** The upper triangle of a row-major n × n matrix, row by row. */
function upper(m: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  for (let a = 0; a < n; a++) for (let b = a; b < n; b++) out.push(m[a * n + b]!);
  return out;
}

function lower(m: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) out.push(m[a * n + b]!);
  return out;
}

const smallInts = (n: number, seed: number, lo: number, hi: number): Float64Array => {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
};

describe.each(cases)('gram on $label', ({ family, backend: be }) => {
  const tol = tolerance('gram', family);

  it('exact: small integers (weights, centre and v included); only the upper triangle changes', () => {
    for (const cols of [1, 2, 3, 4, 5, 8, 9, 17, 33]) {
      const rows = 53;
      const x = smallIntF32(rows * cols, 30 + cols, 4);
      // Perfect squares: the native SIMD levels scale both sides of the product by √w.
      const w = smallInts(rows, 31 + cols, 0, 3).map((t) => t * t);
      const center = smallInts(cols, 32 + cols, -2, 2);
      const v = smallInts(rows, 33 + cols, -3, 3);
      for (const [ww, cc] of [[null, null], [w, null], [null, center], [w, center]] as const) {
        const g = new Float64Array(cols * cols).fill(0.5);
        const xty = new Float64Array(cols).fill(0.25);
        be.gram({ x, rows, cols, w: ww, center: cc, v, g, xty });
        const want = oracle(x, rows, cols, ww, cc, v);
        const what = `cols=${cols} w=${ww !== null} center=${cc !== null}`;
        expect(upper(g, cols), what).toEqual(upper(want.g, cols).map((t) => t + 0.5));
        expect(lower(g, cols).every((t) => t === 0.5), `lower triangle untouched ${what}`).toBe(true);
        expect(Array.from(xty), what).toEqual(Array.from(want.xty, (t) => t + 0.25));
      }
    }
  });

  it('random: every tail length within tolerance, weighted and centred', () => {
    for (const cols of TAIL_COLS.filter((c) => c > 0)) {
      for (const rows of [1, 7, 257]) {
        const x = randomF32(rows * cols, 500 + cols + rows);
        const w = randomF64(rows, 600 + cols).map((t) => Math.abs(t));
        const v = randomF64(rows, 700 + cols);
        const center = randomF64(cols, 800 + cols);
        for (const [ww, cc] of [[null, null], [w, null], [w, center]] as const) {
          const g = new Float64Array(cols * cols);
          const xty = new Float64Array(cols);
          be.gram({ x, rows, cols, w: ww, center: cc, v, g, xty });
          const want = oracle(x, rows, cols, ww, cc, v);
          const what = `cols=${cols} rows=${rows} w=${ww !== null} center=${cc !== null}`;
          expectClose(upper(g, cols), upper(want.g, cols), tol, `g ${what}`);
          expectClose(xty, want.xty, tol, `xty ${what}`);
        }
      }
    }
  });

  it('xty only with both v and xty; v is not multiplied by w; negative and zero weights count as given', () => {
    const cols = 3;
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const w = Float64Array.from([2, -1]);
    const v = Float64Array.from([1, 1]);
    const xty = new Float64Array(cols);
    const g = new Float64Array(9);
    be.gram({ x, rows: 2, cols, w, v, g, xty });
    // Oracle by hand: 2·(1,2,3)ᵀ(1,2,3) − (4,5,6)ᵀ(4,5,6), upper triangle; xty = (1+4, 2+5, 3+6).
    expect(upper(g, 3)).toEqual([2 - 16, 4 - 20, 6 - 24, 8 - 25, 12 - 30, 18 - 36]);
    expect(Array.from(xty)).toEqual([5, 7, 9]);
    const g2 = new Float64Array(9);
    const untouched = new Float64Array(cols).fill(3);
    be.gram({ x, rows: 2, cols, g: g2, xty: untouched });
    expect(Array.from(untouched)).toEqual([3, 3, 3]);
    expect(upper(g2, 3)).toEqual([17, 22, 27, 29, 36, 45]);
    const g3 = new Float64Array(9);
    be.gram({ x, rows: 2, cols, w: Float64Array.from([0, 0]), g: g3 });
    expect(Array.from(g3)).toEqual(new Array(9).fill(0));
  });

  it('edges: zero rows and zero columns change nothing; zero vectors add nothing; one column', () => {
    const g = new Float64Array(4).fill(1);
    const xty = new Float64Array(2).fill(1);
    be.gram({ x: new Float32Array(0), rows: 0, cols: 2, v: new Float64Array(0), g, xty });
    be.gram({ x: new Float32Array(0), rows: 5, cols: 0, v: new Float64Array(5), g: new Float64Array(0), xty: new Float64Array(0) });
    be.gram({ x: new Float32Array(6), rows: 3, cols: 2, v: Float64Array.from([1, 2, 3]), g, xty });
    expect(Array.from(g)).toEqual([1, 1, 1, 1]);
    expect(Array.from(xty)).toEqual([1, 1]);
    const g1 = new Float64Array(1);
    const x1 = new Float64Array(1);
    be.gram({ x: Float32Array.from([1, -2, 3]), rows: 3, cols: 1, w: Float64Array.from([1, 4, 9]), center: Float64Array.from([1]), v: Float64Array.from([1, 1, 1]), g: g1, xty: x1 });
    expect(g1[0]).toBe(0 + 4 * 9 + 9 * 4); // oracle: Σ w (x − 1)²
    expect(x1[0]).toBe(0 - 3 + 2); // oracle: Σ v (x − 1)
  });
});
