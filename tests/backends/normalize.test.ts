// normalizeRows on every backend and level against an f64 oracle written here: exact on rows whose norms are
// integers, within KERNEL_TOLERANCE on seeded random rows of every tail length; zero rows, in place, regions.
import { describe, expect, it } from 'vitest';
import { backendCases } from '../helpers/backends.js';
import { mulberry32, randomF32 } from '../helpers/rng.js';
import { TAIL_COLS, expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/** Oracle: norms[i] = √Σ x² and out = x / norm in f64 (0 for a zero row), before any rounding to f32. */
function oracle(x: Float32Array, rows: number, cols: number): { out: Float64Array; norms: Float64Array } {
  const out = new Float64Array(rows * cols);
  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let d = 0; d < cols; d++) s += x[i * cols + d]! * x[i * cols + d]!;
    norms[i] = Math.sqrt(s);
    for (let d = 0; d < cols; d++) out[i * cols + d] = norms[i]! > 0 ? x[i * cols + d]! / norms[i]! : 0;
  }
  return { out, norms };
}

describe.each(cases)('normalizeRows on $label', ({ family, backend: b }) => {
  const tol = tolerance('normalizeRows', family);

  it('exact: rows with integer norms give those norms and x / norm rounded once to f32', () => {
    // (3,4) → 5, (2,3,6) → 7, (1,2,2) → 3, (2,4,4) → 6, (12,5) → 13, a zero row, a single ±8.
    const rowsList = [[3, -4, 0], [2, 3, 6], [-1, 2, 2], [2, 4, -4], [12, 0, 5], [0, 0, 0], [0, -8, 0]];
    const cols = 3;
    const x = Float32Array.from(rowsList.flat());
    const out = new Float32Array(x.length).fill(99);
    const norms = new Float32Array(rowsList.length).fill(99);
    b.normalizeRows(x, rowsList.length, cols, out, norms);
    const want = oracle(x, rowsList.length, cols);
    expect(Array.from(norms)).toEqual([5, 7, 3, 6, 13, 0, 8]);
    // x / n is never an f32 rounding midpoint here, so one rounding of the f64 quotient is exact.
    expect(Array.from(out)).toEqual(Array.from(want.out, Math.fround));
  });

  it('random: every tail length within tolerance; a zero row stays zero; in place gives the same bits', () => {
    for (const cols of TAIL_COLS) {
      for (const rows of [1, 5]) {
        const x = randomF32(rows * cols, 11 + cols + rows);
        x.fill(0, 0, cols); // row 0 is a zero vector
        const out = new Float32Array(rows * cols);
        const norms = new Float32Array(rows);
        b.normalizeRows(x, rows, cols, out, norms);
        const want = oracle(x, rows, cols);
        expectClose(out, want.out, tol, `out cols=${cols} rows=${rows}`);
        expectClose(norms, want.norms, tol, `norms cols=${cols} rows=${rows}`);
        expect(norms[0]).toBe(0);
        expect(out.subarray(0, cols).every((v) => v === 0)).toBe(true);
        const y = x.slice();
        b.normalizeRows(y, rows, cols, y, norms);
        expect(Array.from(y)).toEqual(Array.from(out));
      }
    }
  });

  it('rowNorms: the norms alone, within tolerance of the oracle on every tail, exact on integer norms, rows unwritten', () => {
    const exact = Float32Array.from([3, -4, 0, 2, 3, 6, 0, 0, 0, 12, 0, 5]);
    const n4 = new Float32Array(4).fill(99);
    b.rowNorms(exact, 4, 3, n4);
    expect(Array.from(n4)).toEqual([5, 7, 0, 13]);
    for (const cols of TAIL_COLS) {
      const rows = 6;
      const x = randomF32(rows * cols, 51 + cols);
      x.fill(0, cols, 2 * cols); // row 1 is a zero vector
      const before = x.slice();
      const norms = new Float32Array(rows);
      b.rowNorms(x, rows, cols, norms);
      expectClose(norms, oracle(x, rows, cols).norms, tol, `rowNorms cols=${cols}`);
      expect(norms[1]).toBe(0);
      expect(Array.from(x)).toEqual(Array.from(before));
    }
    // Values whose squares leave f32's range still give finite norms (the sums are f64).
    const big = Float32Array.from([3e30, 4e30, 3e-30, 4e-30]);
    const nb = new Float32Array(2);
    b.rowNorms(big, 2, 2, nb);
    expectClose(nb, [5e30, 5e-30], tol, 'rowNorms beyond f32 squares');
  });

  it('edges: zero rows touch nothing; one column gives ±1; large and tiny scales stay finite', () => {
    const out = new Float32Array(4).fill(7);
    const norms = new Float32Array(2).fill(7);
    b.normalizeRows(new Float32Array(0), 0, 2, out, norms);
    expect(Array.from(out)).toEqual([7, 7, 7, 7]);
    expect(Array.from(norms)).toEqual([7, 7]);

    const one = Float32Array.from([-3, 0, 0.25, 5e-30]);
    const o1 = new Float32Array(4);
    const n1 = new Float32Array(4);
    b.normalizeRows(one, 4, 1, o1, n1);
    expect(Array.from(o1)).toEqual([-1, 0, 1, 1]);
    expect(Array.from(n1)).toEqual([3, 0, 0.25, Math.fround(5e-30)]);

    // Squares of 1e30 overflow f32 but not the f64 sum.
    const big = Float32Array.from([3e30, 4e30]);
    const ob = new Float32Array(2);
    const nb = new Float32Array(1);
    b.normalizeRows(big, 1, 2, ob, nb);
    const want = oracle(big, 1, 2);
    expectClose(nb, want.norms, tol, 'norm of a large row');
    expectClose(ob, want.out, tol, 'large row');
  });

  it('regions: reads and writes views of shared regions in place', () => {
    const cols = 17;
    const rx = b.alloc('f32', 4 * cols);
    const rn = b.alloc('f32', 4);
    try {
      const x = b.view(rx);
      const r = mulberry32(77);
      for (let i = 0; i < x.length; i++) x[i] = r() * 2 - 1;
      const want = oracle(x.slice(), 4, cols);
      b.normalizeRows(x, 4, cols, x, b.view(rn));
      expectClose(b.view(rx), want.out, tol, 'region out');
      expectClose(b.view(rn), want.norms, tol, 'region norms');
    } finally {
      b.free(rx);
      b.free(rn);
    }
  });
});
