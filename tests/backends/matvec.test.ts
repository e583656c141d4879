// matvec on every backend and level against an f64 oracle written here: exact on small integers (identity
// link) and where the sigmoid rounds to 0, 1/2 or 1, within KERNEL_TOLERANCE on seeded random inputs over every
// tail; the edges.
import { describe, expect, it } from 'vitest';
import { LINK_IDENTITY, LINK_SIGMOID } from '../../src/backends/types.js';
import { backendCases } from '../helpers/backends.js';
import { randomF32, randomF64, smallIntF32 } from '../helpers/rng.js';
import { TAIL_COLS, expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/** Oracle: z_i = Σ_d x[i,d] w[d] + bias in f64, then 1/(1 + e^{−z}) for the sigmoid link. */
function oracle(x: Float32Array, rows: number, cols: number, w: Float64Array, bias: number, link: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = 0;
    for (let d = 0; d < cols; d++) z += x[i * cols + d]! * w[d]!;
    z += bias;
    out[i] = link === LINK_SIGMOID ? 1 / (1 + Math.exp(-z)) : z;
  }
  return out;
}

describe.each(cases)('matvec on $label', ({ family, backend: b }) => {
  const tol = tolerance('matvec', family);

  it('exact: small integers with the identity link; the sigmoid where it rounds to 0, 1/2 and 1', () => {
    for (const cols of [1, 3, 4, 8, 17, 33, 129]) {
      const rows = 23;
      const x = smallIntF32(rows * cols, 60 + cols, 4);
      const w = Float64Array.from(smallIntF32(cols, 61 + cols, 3));
      const out = new Float32Array(rows);
      b.matvec({ x, rows, cols, w, bias: -2, link: LINK_IDENTITY, out });
      expect(Array.from(out), `cols=${cols}`).toEqual(Array.from(oracle(x, rows, cols, w, -2, LINK_IDENTITY)));
    }
    const x = Float32Array.from([0, 0, 1, 1, -1, -1, 3, 2]);
    const out = new Float32Array(4);
    b.matvec({ x, rows: 4, cols: 2, w: Float64Array.from([100, 100]), bias: 0, link: LINK_SIGMOID, out });
    // z = 0, 200, −200, 500: σ is 1/2, then 1 and 0 once rounded to f32.
    expect(Array.from(out)).toEqual([0.5, 1, 0, 1]);
  });

  it('random: every tail length within tolerance, both links', () => {
    for (const cols of TAIL_COLS) {
      for (const rows of [1, 5, 37]) {
        const x = randomF32(rows * cols, 1000 + cols + rows);
        const w = randomF64(cols, 1100 + cols);
        for (const link of [LINK_IDENTITY, LINK_SIGMOID] as const) {
          const out = new Float32Array(rows);
          b.matvec({ x, rows, cols, w, bias: 0.3, link, out });
          expectClose(out, oracle(x, rows, cols, w, 0.3, link), tol, `cols=${cols} rows=${rows} link=${link}`);
        }
      }
    }
  });

  it('edges: zero rows write nothing; zero vectors and zero columns give link(bias); NaN stays in its row', () => {
    const out = new Float32Array(2).fill(7);
    b.matvec({ x: new Float32Array(0), rows: 0, cols: 3, w: new Float64Array(3), bias: 1, link: LINK_IDENTITY, out });
    expect(Array.from(out)).toEqual([7, 7]);
    b.matvec({ x: new Float32Array(6), rows: 2, cols: 3, w: Float64Array.from([1, 2, 3]), bias: 1.5, link: LINK_IDENTITY, out });
    expect(Array.from(out)).toEqual([1.5, 1.5]);
    b.matvec({ x: new Float32Array(0), rows: 2, cols: 0, w: new Float64Array(0), bias: 0, link: LINK_SIGMOID, out });
    expect(Array.from(out)).toEqual([0.5, 0.5]);
    const xn = randomF32(3 * 5, 9);
    xn[5 + 2] = NaN;
    const on = new Float32Array(3);
    const w = randomF64(5, 10);
    b.matvec({ x: xn, rows: 3, cols: 5, w, bias: 0, link: LINK_SIGMOID, out: on });
    const want = oracle(xn, 3, 5, w, 0, LINK_SIGMOID);
    expect(on[1]).toBeNaN();
    expectClose([on[0]!, on[2]!], [want[0]!, want[2]!], tol, 'finite rows');
  });
});
