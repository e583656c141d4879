// fitLinearRegression's one pass over X (centred on a sampled shift, corrected exactly) and its accumulate
// option, on the selected backend and level (QUIVER_BACKEND, QUIVER_NATIVE_ISA), against a float64 oracle
// written here; the same bits from 1 and 2 threads; NaN/Inf named as before, wherever they sit.
import { describe, expect, it } from 'vitest';
import { createEngine, fitLinearRegression } from '../../src/index.js';
import type { Matrix } from '../../src/types.js';
import { mulberry32 } from '../helpers/rng.js';
import { expectCode, useEngine } from './helpers.js';

const engine = useEngine();

function normals(seed: number): () => number {
  const r = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/**
 * X = offset + Z·diag(s)·H (H a Householder reflection, s from 1 down to 1/cond): cond(X − mean) ≈ cond;
 * y = 1 + Xβ + 0.1·noise, f32 values. Weights in [0.5, 2] when asked for.
 */
function design(rows: number, p: number, cond: number, offset: number, weighted: boolean, seed: number) {
  const g = normals(seed);
  const u = Array.from({ length: p }, g);
  const un = Math.hypot(...u);
  const s = Array.from({ length: p }, (_, j) => cond ** (-j / Math.max(1, p - 1)));
  const beta = Array.from({ length: p }, () => 0.5 + Math.abs(g()));
  const x: Matrix = { rows, cols: p, data: new Float32Array(rows * p) };
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const r = s.map((sj) => sj * g());
    const dot = r.reduce((a, rj, j) => a + (rj * u[j]!) / un, 0);
    let t = 1;
    for (let j = 0; j < p; j++) {
      const v = Math.fround(offset + r[j]! - (2 * dot * u[j]!) / un);
      x.data[i * p + j] = v;
      t += v * beta[j]!;
    }
    y[i] = Math.fround(t + 0.1 * g());
  }
  const rw = mulberry32(seed + 1);
  const w = weighted ? Float64Array.from({ length: rows }, () => 0.5 + 1.5 * rw()) : null;
  return { x, y, w };
}

/** Oracle: weighted least squares with an intercept, exact f64 centring, f64 normal equations by Cholesky. */
function oracle(x: Matrix, y: Float64Array, w: Float64Array | null): { beta: number[]; intercept: number } {
  const { rows, cols: p, data } = x;
  const mu = new Float64Array(p);
  let sw = 0;
  let ym = 0;
  for (let i = 0; i < rows; i++) {
    const wi = w ? w[i]! : 1;
    sw += wi;
    ym += wi * y[i]!;
    for (let j = 0; j < p; j++) mu[j]! += wi * data[i * p + j]!;
  }
  ym /= sw;
  for (let j = 0; j < p; j++) mu[j]! /= sw;
  const a = new Float64Array(p * p);
  const b = new Float64Array(p);
  for (let i = 0; i < rows; i++) {
    const wi = w ? w[i]! : 1;
    for (let j = 0; j < p; j++) {
      const dj = data[i * p + j]! - mu[j]!;
      b[j]! += wi * dj * (y[i]! - ym);
      for (let k = 0; k < p; k++) a[j * p + k]! += wi * dj * (data[i * p + k]! - mu[k]!);
    }
  }
  for (let j = 0; j < p; j++) {
    for (let k = 0; k < j; k++) a[j * p + j]! -= a[j * p + k]! ** 2;
    a[j * p + j] = Math.sqrt(a[j * p + j]!);
    for (let i = j + 1; i < p; i++) {
      for (let k = 0; k < j; k++) a[i * p + j]! -= a[i * p + k]! * a[j * p + k]!;
      a[i * p + j]! /= a[j * p + j]!;
    }
  }
  for (let j = 0; j < p; j++) {
    for (let k = 0; k < j; k++) b[j]! -= a[j * p + k]! * b[k]!;
    b[j]! /= a[j * p + j]!;
  }
  for (let j = p - 1; j >= 0; j--) {
    for (let k = j + 1; k < p; k++) b[j]! -= a[k * p + j]! * b[k]!;
    b[j]! /= a[j * p + j]!;
  }
  return { beta: Array.from(b), intercept: ym - b.reduce((t, bj, j) => t + bj * mu[j]!, 0) };
}

const relErr = (got: ArrayLike<number>, want: number[]) => {
  const scale = Math.max(...want.map(Math.abs));
  return Math.max(...want.map((v, j) => Math.abs(got[j]! - v))) / scale;
};

describe('linear regression in one pass over X', () => {
  // f64: measured ≤ 1e-11 here; f32: the first-order bound for G off by 2⁻²⁴ relative, κ(XᵀX)·2⁻²⁴ = κ²·6e-8,
  // plus 1e-6 (measured 1.4e-3 at κ = 1e3, ~1e-8 at κ = 1; the README's table has the 1M-row figures).
  const tol = (mode: 'f64' | 'f32', cond: number) => (mode === 'f64' ? 1e-8 : 1e-6 + cond * cond * 2 ** -24);
  const TOL = { f64: 1e-8 } as const;
  for (const [cond, offset] of [[1, 5], [1e3, 100]] as const) {
    for (const weighted of [false, true]) {
      it(`cond(X) ${cond}, offset ${offset}, weighted ${weighted}: both modes against the f64 oracle`, async () => {
        const e = await engine();
        const { x, y, w } = design(20_000, 12, cond, offset, weighted, 11 + cond + (weighted ? 1 : 0));
        const want = oracle(x, y, w);
        for (const accumulate of ['f64', 'f32'] as const) {
          const m = await fitLinearRegression(e, x, y, { sampleWeight: w, accumulate });
          expect(relErr(m.coefficients, want.beta), `${accumulate} coefficients`).toBeLessThan(tol(accumulate, cond));
          // The intercept ȳ − μᵀβ carries the coefficients' error times Σ|μ_j| / |β|.
          expect(Math.abs(m.intercept - want.intercept) / (1 + offset * 12), `${accumulate} intercept`).toBeLessThan(tol(accumulate, cond) * 4);
        }
      });
    }
  }

  it('1 and 2 threads give the same bits, in both modes', async () => {
    const { x, y, w } = design(50_000, 9, 1e2, 50, true, 21);
    const out: Record<string, Float64Array[]> = { f64: [], f32: [] };
    for (const threads of [1, 2]) {
      const e = await createEngine({ threads, inlineWork: 0 });
      try {
        for (const accumulate of ['f64', 'f32'] as const) {
          const m = await fitLinearRegression(e, x, y, { sampleWeight: w, accumulate });
          out[accumulate]!.push(Float64Array.from([...m.coefficients, m.intercept, m.r2]));
        }
      } finally {
        await e.close();
      }
    }
    for (const k of ['f64', 'f32']) expect(Array.from(out[k]![1]!), k).toEqual(Array.from(out[k]![0]!));
  });

  it("an f32 block sum that overflows on finite values falls back to f64 sums ('f32' mode)", async () => {
    const e = await engine();
    const { x, y } = design(3000, 4, 10, 0, false, 31);
    // Column 2 spread over ±3e19: its squares overflow f32 (3.4e38) but not f64.
    for (let i = 0; i < x.rows; i++) x.data[i * 4 + 2] = Math.fround(x.data[i * 4 + 2]! * 3e19);
    const want = oracle(x, y, null);
    const m = await fitLinearRegression(e, x, y, { accumulate: 'f32' });
    expect(relErr(m.coefficients.map((b, j) => (j === 2 ? b * 3e19 : b)), want.beta.map((b, j) => (j === 2 ? b * 3e19 : b)))).toBeLessThan(TOL.f64);
  });

  it("a huge target overflows only Xᵀv's f32 block sums: the fit still falls back to f64 ('f32' mode)", async () => {
    const e = await engine();
    const { x, y } = design(3000, 4, 10, 0, false, 33);
    // |y| ~ 1e37: each f32 block of Xᵀv sums past 3.4e38 while G (|x| ~ 1) stays small.
    const big = y.map((v) => v * 1e37);
    const want = oracle(x, big, null);
    const m = await fitLinearRegression(e, x, big, { accumulate: 'f32' });
    expect(relErr(m.coefficients, want.beta)).toBeLessThan(TOL.f64);
  });

  it('NaN/Inf: the first one is named whether or not the shift sample holds it, in both modes', async () => {
    const e = await engine();
    const rows = 5000;
    const base = design(rows, 3, 1, 1, false, 41);
    // Row 0 is in the 1,024-row sample (rows ⌊k·5000/1024⌋), row 1 is not, row 3003 is (k = 615).
    for (const [at, bad] of [[[1, 2], Number.NaN], [[0, 1], Number.POSITIVE_INFINITY], [[3003, 0], Number.NEGATIVE_INFINITY]] as const) {
      for (const accumulate of ['f64', 'f32'] as const) {
        const x: Matrix = { ...base.x, data: base.x.data.slice() };
        x.data[at[0] * 3 + at[1]] = bad;
        // A later non-finite value in a sampled row must not be the one named.
        x.data[4000 * 3 + 1] = Number.NaN;
        await expectCode(fitLinearRegression(e, x, base.y, { accumulate }), 'NON_FINITE', new RegExp(`x has a non-finite value \\(${String(bad)}\\) at row ${at[0]}, column ${at[1]}`));
      }
    }
  });

  it('finite y whose sums overflow: fits when every y − ȳ is finite, else NON_FINITE says to rescale y', async () => {
    const e = await engine();
    const { x } = design(400, 3, 1, 0, false, 61);
    // Σ y² overflows (|y| ~ 1e160) but y − 0 is finite: the fit runs (no intercept); R² is not finite then.
    const y = Float64Array.from({ length: 400 }, (_, i) => (i % 2 ? 1e160 : -1e160) * (1 + i / 400));
    const m = await fitLinearRegression(e, x, y, { fitIntercept: false });
    expect(m.coefficients.every(Number.isFinite)).toBe(true);
    // Σ y overflows, so ȳ = Infinity and y − ȳ too: refused with a message that names the row and the fix.
    const huge = new Float64Array(400).fill(1.7e308);
    for (const accumulate of ['f64', 'f32'] as const) {
      await expectCode(fitLinearRegression(e, x, huge, { accumulate }), 'NON_FINITE', /y is too large to fit: y − mean overflows float64 at row 0 .*rescale y/);
    }
  });

  it('accumulate must be f64 or f32', async () => {
    const e = await engine();
    const { x, y } = design(10, 2, 1, 0, false, 51);
    await expectCode(fitLinearRegression(e, x, y, { accumulate: 'f16' as never }), 'INVALID_ARGUMENT', /accumulate must be 'f64' or 'f32'/);
  });
});
