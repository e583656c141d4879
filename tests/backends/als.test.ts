// alsSolve on every backend and level against an f64 oracle written here: each row's normal equations
// (YᵀY + Yᵀ(C_u − I)Y + λ_u I) x = YᵀC_u p_u formed densely and solved by Gaussian elimination; conjugate
// gradient after enough steps reaches the same solution and after a few steps lowers the residual; a singular
// system names its row; rows outside [row0, row1) are left alone.
import { describe, expect, it } from 'vitest';
import { alsScratchLength, type AlsSolveArgs } from '../../src/backends/types.js';
import { backendCases } from '../helpers/backends.js';
import { mulberry32, randomF32 } from '../helpers/rng.js';
import { expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

interface Problem {
  k: number;
  nOther: number;
  y: Float32Array;
  yty: Float64Array;
  ptr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
  rows: number;
}

function problem(rows: number, nOther: number, k: number, seed: number): Problem {
  const y = randomF32(nOther * k, seed);
  const yty = new Float64Array(k * k);
  for (let i = 0; i < nOther; i++) for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) yty[r * k + c]! += y[i * k + r]! * y[i * k + c]!;
  const rnd = mulberry32(seed + 1);
  const ptr = new Int32Array(rows + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let u = 0; u < rows; u++) {
    // Row 0 is empty (b = 0, so x = 0), the others touch 1 … nOther/2 columns with values 1 … 5.
    const n = u === 0 ? 0 : 1 + Math.floor(rnd() * (nOther / 2));
    const cols = new Set<number>();
    while (cols.size < n) cols.add(Math.floor(rnd() * nOther));
    for (const j of [...cols].sort((a, b) => a - b)) {
      idx.push(j);
      val.push(1 + Math.floor(rnd() * 5));
    }
    ptr[u + 1] = idx.length;
  }
  return { k, nOther, y, yty, ptr, idx: Int32Array.from(idx), val: Float32Array.from(val), rows };
}

/** Oracle: the dense normal equations of row u, solved by Gaussian elimination with partial pivoting (f64). */
function oracleRow(p: Problem, u: number, alpha: number, reg: number, count: boolean): Float64Array {
  const { k } = p;
  const a = Float64Array.from(p.yty);
  const b = new Float64Array(k);
  const n = p.ptr[u + 1]! - p.ptr[u]!;
  for (let q = p.ptr[u]!; q < p.ptr[u + 1]!; q++) {
    const i = p.idx[q]!;
    const c = 1 + alpha * p.val[q]!;
    for (let r = 0; r < k; r++) {
      b[r]! += c * p.y[i * k + r]!;
      for (let s = 0; s < k; s++) a[r * k + s]! += (c - 1) * p.y[i * k + r]! * p.y[i * k + s]!;
    }
  }
  for (let r = 0; r < k; r++) a[r * k + r]! += count ? reg * n : reg;
  for (let col = 0; col < k; col++) {
    let piv = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r * k + col]!) > Math.abs(a[piv * k + col]!)) piv = r;
    for (let s = 0; s < k; s++) [a[col * k + s], a[piv * k + s]] = [a[piv * k + s]!, a[col * k + s]!];
    [b[col], b[piv]] = [b[piv]!, b[col]!];
    for (let r = col + 1; r < k; r++) {
      const f = a[r * k + col]! / a[col * k + col]!;
      for (let s = col; s < k; s++) a[r * k + s]! -= f * a[col * k + s]!;
      b[r]! -= f * b[col]!;
    }
  }
  const x = new Float64Array(k);
  for (let r = k - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let t = r + 1; t < k; t++) s -= a[r * k + t]! * x[t]!;
    x[r] = s / a[r * k + r]!;
  }
  return x;
}

function args(p: Problem, x: Float32Array, o: Partial<AlsSolveArgs>): AlsSolveArgs {
  return {
    yty: p.yty, y: p.y, nOther: p.nOther, k: p.k, ptr: p.ptr, idx: p.idx, val: p.val, row0: 0, row1: p.rows, x,
    alpha: 2, reg: 0.5, regMode: 0, solver: 0, cgSteps: 3, scratch: new Float64Array(alsScratchLength(p.k)), ...o,
  };
}

describe.each(cases)('alsSolve on $label', ({ family, backend: b }) => {
  const tol = tolerance('alsSolve', family);

  it('the exact solver matches the normal equations for every k that reaches the SIMD tails', () => {
    for (const k of [1, 2, 3, 5, 8, 9, 16, 17, 33, 64]) {
      const p = problem(6, Math.max(2 * k, 12), k, 100 + k);
      for (const [reg, count] of [[0.5, false], [0.1, true]] as const) {
        const x = new Float32Array(p.rows * k).fill(9);
        expect(b.alsSolve(args(p, x, { reg, regMode: count ? 1 : 0 }))).toBe(-1);
        const want = new Float64Array(p.rows * k);
        for (let u = 0; u < p.rows; u++) want.set(oracleRow(p, u, 2, reg, count), u * k);
        expectClose(x, want, tol, `k=${k} count=${count}`);
      }
    }
  });

  it('writes only rows [row0, row1)', () => {
    const p = problem(5, 20, 4, 7);
    const x = new Float32Array(5 * 4).fill(3);
    expect(b.alsSolve(args(p, x, { row0: 2, row1: 4 }))).toBe(-1);
    expect(Array.from(x.subarray(0, 8))).toEqual(new Array(8).fill(3));
    expect(Array.from(x.subarray(16))).toEqual(new Array(4).fill(3));
    expectClose(x.subarray(8, 16), [...oracleRow(p, 2, 2, 0.5, false), ...oracleRow(p, 3, 2, 0.5, false)], tol);
  });

  it.each([8, 20, 32])('conjugate gradient reaches the exact solution after k steps and lowers the error after 3 (k = %i)', (k) => {
    // Six rows: from k = 16 the native kernel runs CG rows in groups of four, so a full and a partial group;
    // k = 32 is a whole number of AVX-512 vectors (the products keep the output row in registers).
    const p = problem(6, 3 * k + 6, k, 21);
    const want = new Float64Array(p.rows * k);
    for (let u = 0; u < p.rows; u++) want.set(oracleRow(p, u, 2, 0.5, false), u * k);
    const many = new Float32Array(p.rows * k);
    expect(b.alsSolve(args(p, many, { solver: 1, cgSteps: 4 * k }))).toBe(-1);
    expectClose(many, want, { atol: 1e-5, rtol: 1e-4 }, 'cg');
    // Rows [1, 4) alone (a group that starts elsewhere) give those rows' same factors.
    const part = new Float32Array(p.rows * k);
    expect(b.alsSolve(args(p, part, { solver: 1, cgSteps: 4 * k, row0: 1, row1: 4 }))).toBe(-1);
    expect(part.subarray(k, 4 * k)).toEqual(many.subarray(k, 4 * k));
    const start = Float32Array.from(randomF32(p.rows * k, 5));
    const few = start.slice();
    expect(b.alsSolve(args(p, few, { solver: 1, cgSteps: 3 }))).toBe(-1);
    const err = (v: Float32Array): number => v.reduce((s, x, i) => s + (x - want[i]!) ** 2, 0);
    expect(err(few)).toBeLessThan(err(start) * 0.5);
  });

  it('a system that is not positive definite returns its row, for both solvers', () => {
    const p = problem(3, 6, 3, 9);
    const zero = { ...p, y: new Float32Array(p.y.length), yty: new Float64Array(9) };
    expect(b.alsSolve(args(zero, new Float32Array(9), { reg: 0, row0: 1 }))).toBe(1);
    // CG meets a consistent singular system without noticing (any solution will do); A = −I it cannot miss.
    expect(b.alsSolve(args(zero, new Float32Array(9).fill(1), { reg: -1, row0: 1, solver: 1 }))).toBe(1);
    // The same from k = 16 (CG in groups): the first failing row of the block.
    const z20 = problem(6, 40, 20, 9);
    const zero20 = { ...z20, y: new Float32Array(z20.y.length), yty: new Float64Array(400) };
    expect(b.alsSolve(args(zero20, new Float32Array(120).fill(1), { reg: -1, row0: 2, solver: 1 }))).toBe(2);
  });
});
