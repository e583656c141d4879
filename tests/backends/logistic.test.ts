// logisticPass on every backend and level against the formulas written out here in f64: z and the correct
// count exact on small integers, everything within KERNEL_TOLERANCE on seeded random inputs over every tail,
// the Hessian block only when asked (upper triangle only), finite losses for |z| up to 800, and the edges.
import { describe, expect, it } from 'vitest';
import { logisticLayout } from '../../src/backends/types.js';
import { backendCases } from '../helpers/backends.js';
import { randomF32, randomF64, smallIntF32 } from '../helpers/rng.js';
import { TAIL_COLS, expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/**
 * Oracle, straight from the definitions in f64: z_i = x_i·β + b, p = 1/(1 + e^{−z}), ℓ = log(1 + e^z) − y·z,
 * v = s(y − p), w = s·p(1 − p), accumulated onto `start` in the layout of logisticLayout. Valid for |z| well
 * below 700 (the random tier); `near` counts rows with |z| < 1e-9, whose 0.5-threshold prediction may differ.
 */
function oracle(x: Float32Array, rows: number, cols: number, y: Float64Array, s: Float64Array | null, beta: Float64Array, bias: number, hessian: boolean, start: number) {
  const L = logisticLayout(cols);
  const out = new Float64Array(L.length).fill(start);
  const z = new Float64Array(rows);
  let near = 0;
  let correct = 0;
  for (let i = 0; i < rows; i++) {
    let zi = bias;
    for (let d = 0; d < cols; d++) zi += x[i * cols + d]! * beta[d]!;
    z[i] = zi;
    if (Math.abs(zi) < 1e-9) near++;
    const si = s ? s[i]! : 1;
    const p = 1 / (1 + Math.exp(-zi));
    const li = Math.log(1 + Math.exp(zi)) - y[i]! * zi;
    out[L.lossW]! += si * li;
    out[L.loss]! += li;
    if ((zi > 0 ? 1 : 0) === y[i]) correct++;
    const v = si * (y[i]! - p);
    const w = si * p * (1 - p);
    for (let d = 0; d < cols; d++) out[L.grad + d]! += v * x[i * cols + d]!;
    out[L.grad + cols]! += v;
    if (!hessian) continue;
    for (let a = 0; a < cols; a++) {
      out[L.xw + a]! += w * x[i * cols + a]!;
      for (let c = a; c < cols; c++) out[L.h + a * cols + c]! += w * x[i * cols + a]! * x[i * cols + c]!;
    }
    out[L.xw + cols]! += w;
  }
  out[L.correct]! += correct;
  return { out, z, near };
}

/** The random tier's inputs and oracle, computed once for all backends. */
const randomCases = (() => {
  const out: { cols: number; rows: number; x: Float32Array; y: Float64Array; s: Float64Array | null; beta: Float64Array; hessian: boolean; want: ReturnType<typeof oracle> }[] = [];
  for (const cols of TAIL_COLS.filter((c) => c > 0)) {
    for (const rows of [1, 3, 257]) {
      const x = randomF32(rows * cols, 900 + cols + rows);
      const y = Float64Array.from(randomF64(rows, 901 + cols), (v) => (v > 0.2 ? 1 : 0));
      const s = Float64Array.from(randomF64(rows, 902 + cols), (v) => Math.abs(v) * 2);
      const beta = randomF64(cols, 903 + cols).map((v) => (v * 3) / Math.sqrt(cols));
      for (const [ss, hessian] of [[s, true], [null, true], [s, false]] as const) {
        out.push({ cols, rows, x, y, s: ss, beta, hessian, want: oracle(x, rows, cols, y, ss, beta, 0.3, hessian, 0.5) });
      }
    }
  }
  return out;
})();

describe.each(cases)('logisticPass on $label', ({ family, backend: b }) => {
  const tol = tolerance('logisticPass', family);
  const hTol = tolerance('logisticHessian', family);

  it('exact: small integers give the oracle\'s z and correct count', () => {
    for (const cols of [1, 3, 4, 9, 17]) {
      const rows = 31;
      const x = smallIntF32(rows * cols, 40 + cols, 3);
      const beta = Float64Array.from(smallIntF32(cols, 41 + cols, 2));
      const y = Float64Array.from({ length: rows }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
      const z = new Float64Array(rows);
      const out = new Float64Array(logisticLayout(cols).length);
      b.logisticPass({ x, rows, cols, y, beta, bias: 1, hessian: true, z, out });
      const want = oracle(x, rows, cols, y, null, beta, 1, true, 0);
      expect(Array.from(z), `z cols=${cols}`).toEqual(Array.from(want.z));
      expect(out[logisticLayout(cols).correct], `correct cols=${cols}`).toBe(want.out[logisticLayout(cols).correct]);
    }
  });

  it('random: every tail length, with and without row weights and the Hessian, accumulating onto the output', () => {
    for (const { cols, rows, x, y, s: ss, beta, hessian, want } of randomCases) {
      const L = logisticLayout(cols);
      const out = new Float64Array(L.length).fill(0.5); // accumulates: start from a known non-zero state
      const z = new Float64Array(rows);
      b.logisticPass({ x, rows, cols, y, s: ss, beta, bias: 0.3, hessian, z, out });
      const what = `cols=${cols} rows=${rows} s=${ss !== null} hessian=${hessian}`;
      expectClose(z, want.z, tol, `z ${what}`);
      expect(Math.abs(out[L.correct]! - want.out[L.correct]!)).toBeLessThanOrEqual(want.near);
      expectClose(out.subarray(0, L.correct), want.out.subarray(0, L.correct), tol, `losses ${what}`);
      expectClose(out.subarray(L.grad, L.h), want.out.subarray(L.grad, L.h), tol, `gradient and Xᵀw ${what}`);
      let hmax = 0;
      for (let i = L.h; i < L.length; i++) hmax = Math.max(hmax, Math.abs(want.out[i]! - 0.5));
      const bad: string[] = [];
      for (let a = 0; a < cols; a++) {
        for (let c = 0; c < cols; c++) {
          const k = L.h + a * cols + c;
          // The lower triangle, and everything without `hessian`, keeps its starting value.
          const ok = c < a || !hessian ? out[k] === 0.5 : Math.abs(out[k]! - want.out[k]!) <= hTol.atol + hTol.rtol * hmax + 1e-12;
          if (!ok) bad.push(`H[${a},${c}] = ${out[k]} (oracle ${want.out[k]})`);
        }
      }
      expect(bad.slice(0, 3), `Hessian ${what}`).toEqual([]);
    }
  });

  it('finite and exact in the tails (|z| up to 800)', () => {
    const cols = 2;
    const rows = 9;
    const x = new Float32Array(rows * cols);
    const zs = [-800, -710, -40, -1e-8, 0, 1e-8, 40, 710, 800];
    for (let i = 0; i < rows; i++) x[i * cols] = zs[i]!;
    const y = Float64Array.from(zs, (_, i) => i % 2);
    const out = new Float64Array(logisticLayout(cols).length);
    const z = new Float64Array(rows);
    b.logisticPass({ x, rows, cols, y, beta: new Float64Array([1, 0]), bias: 0, hessian: true, z, out });
    expect(Array.from(out).every(Number.isFinite)).toBe(true);
    // Oracle: softplus(z) − y·z written without overflow, i.e. |z| for the confident mistakes, ~0 for the hits.
    let want = 0;
    for (let i = 0; i < rows; i++) want += Math.max(zs[i]!, 0) + Math.log1p(Math.exp(-Math.abs(zs[i]!))) - y[i]! * zs[i]!;
    expect(Math.abs(out[1]! - want)).toBeLessThanOrEqual(1e-12 * want);
  });

  it('edges: zero rows change nothing; a zero row has z = bias; one column', () => {
    const L = logisticLayout(2);
    const out = new Float64Array(L.length).fill(3);
    b.logisticPass({ x: new Float32Array(0), rows: 0, cols: 2, y: new Float64Array(0), beta: new Float64Array(2), bias: 1, hessian: true, z: new Float64Array(0), out });
    expect(Array.from(out).every((v) => v === 3)).toBe(true);

    const z = new Float64Array(2);
    const o = new Float64Array(L.length);
    b.logisticPass({ x: new Float32Array(4), rows: 2, cols: 2, y: Float64Array.from([1, 0]), beta: Float64Array.from([5, -5]), bias: 0, hessian: true, z, out: o });
    // Oracle: z = 0, p = 1/2: each row's loss is log 2, w = 1/4, v = ±1/2; both predictions are 0.
    expect(Array.from(z)).toEqual([0, 0]);
    expectClose([o[L.loss]!, o[L.grad + 2]!, o[L.xw + 2]!], [2 * Math.LN2, 0, 0.5], tol, 'zero rows');
    expect(o[L.correct]).toBe(1);

    const x1 = Float32Array.from([2, -1, 0.5]);
    const y1 = Float64Array.from([1, 0, 1]);
    const o1 = new Float64Array(logisticLayout(1).length);
    const z1 = new Float64Array(3);
    b.logisticPass({ x: x1, rows: 3, cols: 1, y: y1, beta: Float64Array.from([0.7]), bias: -0.1, hessian: true, z: z1, out: o1 });
    const want = oracle(x1, 3, 1, y1, null, Float64Array.from([0.7]), -0.1, true, 0);
    const h = logisticLayout(1).h;
    expectClose(o1.subarray(0, h), want.out.subarray(0, h), tol, 'one column');
    expect(Math.abs(o1[h]! - want.out[h]!)).toBeLessThanOrEqual(hTol.atol + hTol.rtol * Math.abs(want.out[h]!));
  });
});
