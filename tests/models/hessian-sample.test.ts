// The Newton fits with their Hessian from a row sample (`hessianRows`) reach the same optimum as with every row:
// the multiclass fit on data/bank.csv against scikit-learn's multinomial fixture, and both fits against the
// gradient of their f64 objective written out here, at the coefficients they return (zero at the optimum, whatever
// Hessian the steps used), on every backend. Each test also checks that the sampled passes really ran, and a sample
// that misses a column's rows falls back to the whole Hessian; non-finite inputs are still named.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createEngine, fitMultinomialLogistic, parseCsv, tableToDesign, type BackendName, type Engine } from '../../src/index.js';
import type { Matrix } from '../../src/types.js';
import { readFixture, repoRoot, sourceText, type FixtureSource } from '../helpers/fixtures.js';
import { mulberry32 } from '../helpers/rng.js';
import { centreOverClasses, softmaxProblem } from '../helpers/softmax.js';

interface Workflow {
  source: FixtureSource;
  multinomial: { target: string; classes: string[]; features: string[]; coefficients: number[]; intercepts: number[]; log_loss: number };
}
const FIXTURE = 'workflow_bankcsv.json';
const ref = readFixture<Workflow>(FIXTURE).multinomial;
const BACKENDS: BackendName[] = ['native', 'wasm', 'js'];

/**
 * Oracle: the f64 objective Σ s_i (log Σ_c e^{z_ic} − z_{i,y_i}) + (l2/2)‖W‖² of the softmax model and its
 * gradient, max |∂f/∂θ| / Σs over the coefficients and intercepts.
 */
function softmaxObjective(x: Matrix, y: ArrayLike<number>, s: ArrayLike<number> | null, w: Float64Array, b: Float64Array, l2: number) {
  const k = b.length;
  const p = x.cols;
  const g = new Float64Array(k * (p + 1));
  let f = 0;
  let sSum = 0;
  for (let i = 0; i < x.rows; i++) {
    const si = s ? s[i]! : 1;
    sSum += si;
    const z = Array.from({ length: k }, (_, c) => {
      let v = b[c]!;
      for (let j = 0; j < p; j++) v += w[c * p + j]! * x.data[i * p + j]!;
      return v;
    });
    const m = Math.max(...z);
    const den = z.reduce((a, v) => a + Math.exp(v - m), 0);
    f += si * (m + Math.log(den) - z[y[i]!]!);
    for (let c = 0; c < k; c++) {
      const r = si * (Math.exp(z[c]! - m) / den - (c === y[i] ? 1 : 0));
      for (let j = 0; j < p; j++) g[c * (p + 1) + j]! += r * x.data[i * p + j]!;
      g[c * (p + 1) + p]! += r;
    }
  }
  let pen = 0;
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < p; j++) {
      pen += w[c * p + j]! ** 2;
      g[c * (p + 1) + j]! += l2 * w[c * p + j]!;
    }
  }
  return { f: f + 0.5 * l2 * pen, gradMax: Math.max(...g.map(Math.abs)) / sSum };
}

/** Oracle: the binary logistic objective Σ s_i (log(1 + e^{z_i}) − y_i z_i) + (l2/2)‖β‖² and max |∂f| / Σs. */
function logisticObjective(x: Matrix, y: ArrayLike<number>, beta: Float64Array, b: number, l2: number) {
  const p = x.cols;
  const g = new Float64Array(p + 1);
  let f = 0;
  for (let i = 0; i < x.rows; i++) {
    let z = b;
    for (let j = 0; j < p; j++) z += beta[j]! * x.data[i * p + j]!;
    f += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y[i]! * z;
    const r = 1 / (1 + Math.exp(-z)) - y[i]!;
    for (let j = 0; j < p; j++) g[j]! += r * x.data[i * p + j]!;
    g[p]! += r;
  }
  let pen = 0;
  for (let j = 0; j < p; j++) {
    pen += beta[j]! ** 2;
    g[j]! += l2 * beta[j]!;
  }
  return { f: f + 0.5 * l2 * pen, gradMax: Math.max(...g.map(Math.abs)) / x.rows };
}

/** Counts the passes an engine method makes over fewer rows than `n` (the sample's). */
function countSampled(e: Engine, method: 'multinomialPass' | 'logisticPass', n: number): { count: number } {
  const seen = { count: 0 };
  const orig = e[method].bind(e) as (...a: unknown[]) => Promise<unknown>;
  vi.spyOn(e, method).mockImplementation(((...a: unknown[]) => {
    if ((a[0] as { rows: number }).rows < n) seen.count++;
    return orig(...a);
  }) as never);
  return seen;
}

describe('Newton fits with a sampled Hessian reach the same optimum', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: multiclass on data/bank.csv with the Hessian from ~1 row in 11 matches scikit-learn; the f64 gradient vanishes`, async () => {
      const e = await createEngine({ backend, threads: 2 });
      try {
        const table = parseCsv(sourceText(join(repoRoot, 'data', 'bank.csv'), readFixture<Workflow>(FIXTURE).source, FIXTURE), { source: 'data/bank.csv' });
        const { x } = tableToDesign(table, { exclude: [ref.target], standardize: true });
        const y = Int32Array.from(table.column(ref.target), (v) => ref.classes.indexOf(v));
        const sampled = countSampled(e, 'multinomialPass', x.rows);
        const m = await fitMultinomialLogistic(e, x, y, { l2: 1, tol: 1e-8, hessianRows: 400 });
        expect(sampled.count).toBeGreaterThan(0);
        expect(m.converged).toBe(true);
        const k = ref.classes.length;
        const p = x.cols;
        const coef = centreOverClasses(m.coefficients, k, p);
        // oracle: sklearn LogisticRegression(newton-cholesky, C=1, tol 1e-10).coef_ / intercept_, centred
        expect(Math.max(...ref.coefficients.map((r, i) => Math.abs(coef[i]! - r)))).toBeLessThan(1e-4);
        expect(Math.max(...ref.intercepts.map((r, c) => Math.abs(m.intercepts[c]! - r)))).toBeLessThan(1e-4);
        expect(Math.abs(m.logLoss - ref.log_loss)).toBeLessThan(1e-6);
        expect(softmaxObjective(x, y, null, m.coefficients, m.intercepts, 1).gradMax).toBeLessThan(2e-8);
      } finally {
        await e.close();
      }
    });

    it(`${backend}: multiclass with row weights, sampled and whole Hessian: same objective to 1e-10, both gradients ≤ tol; same bits on 1 thread`, async () => {
      const n = 12000;
      const p = 6;
      const k = 4;
      const { x, y } = softmaxProblem(n, p, k, 91);
      const sw = Float64Array.from(y, (v, i) => 1 + v / 4 + (i % 3) / 2);
      const e = await createEngine({ backend, threads: 2 });
      try {
        const sampled = countSampled(e, 'multinomialPass', n);
        const a = await fitMultinomialLogistic(e, x, y, { l2: 0.5, tol: 1e-9, sampleWeight: sw, hessianRows: 1000 });
        expect(sampled.count).toBeGreaterThan(0);
        const seen = sampled.count;
        const b = await fitMultinomialLogistic(e, x, y, { l2: 0.5, tol: 1e-9, sampleWeight: sw, hessianRows: 'all' });
        expect(sampled.count).toBe(seen);
        const fa = softmaxObjective(x, y, sw, a.coefficients, a.intercepts, 0.5);
        const fb = softmaxObjective(x, y, sw, b.coefficients, b.intercepts, 0.5);
        expect(fa.gradMax).toBeLessThan(2e-9);
        expect(fb.gradMax).toBeLessThan(2e-9);
        expect(Math.abs(fa.f - fb.f) / fb.f).toBeLessThan(1e-10);
        // The sample depends on the row count only: one compute thread gives the same bits.
        const e1 = await createEngine({ backend, threads: 1 });
        try {
          const a1 = await fitMultinomialLogistic(e1, x, y, { l2: 0.5, tol: 1e-9, sampleWeight: sw, hessianRows: 1000 });
          expect(Array.from(a1.coefficients)).toEqual(Array.from(a.coefficients));
          expect(Array.from(a1.intercepts)).toEqual(Array.from(a.intercepts));
        } finally {
          await e1.close();
        }
      } finally {
        await e.close();
      }
    });

    it(`${backend}: binary logistic with the Hessian from a sample: the f64 gradient vanishes; a sample missing a column's rows falls back`, async () => {
      const n = 16000;
      const p = 5;
      const r = mulberry32(17);
      const data = new Float32Array(n * p).map(() => r() * 2 - 1);
      // Column 4 is non-zero only off the sample (blocks of 8 rows every 8·m rows, m = 16 with hessianRows 1000):
      // the sample's Hessian is singular there without a penalty, so the fit must fall back to every row.
      for (let i = 0; i < n; i++) if (i % 128 < 8) data[i * p + 4] = 0;
      const x: Matrix = { rows: n, cols: p, data };
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let z = 0.3;
        for (let j = 0; j < p; j++) z += (j - 2) * 0.7 * data[i * p + j]!;
        y[i] = r() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
      }
      const e = await createEngine({ backend, threads: 2 });
      try {
        const sampled = countSampled(e, 'logisticPass', n);
        const a = await e.logisticRegression(x, y, { l2: 1, tol: 1e-10, hessianRows: 1000 });
        expect(sampled.count).toBeGreaterThan(0);
        const b = await e.logisticRegression(x, y, { l2: 1, tol: 1e-10, hessianRows: 'all' });
        const fa = logisticObjective(x, y, a.coefficients, a.intercept, 1);
        const fb = logisticObjective(x, y, b.coefficients, b.intercept, 1);
        expect(a.converged).toBe(true);
        expect(fa.gradMax).toBeLessThan(2e-10);
        expect(Math.abs(fa.f - fb.f) / fb.f).toBeLessThan(1e-12);
        // No penalty: the sampled Hessian is singular in column 4; the fit retries with every row.
        const before = sampled.count;
        const c = await e.logisticRegression(x, y, { l2: 0, tol: 1e-10, hessianRows: 1000 });
        expect(sampled.count).toBeGreaterThan(before);
        const d = await e.logisticRegression(x, y, { l2: 0, tol: 1e-10, hessianRows: 'all' });
        expect(c.converged).toBe(true);
        expect(logisticObjective(x, y, c.coefficients, c.intercept, 0).gradMax).toBeLessThan(2e-10);
        for (let j = 0; j < p; j++) expect(Math.abs(c.coefficients[j]! - d.coefficients[j]!)).toBeLessThan(1e-7);
        // The failed sampled attempt is not a step: with maxIter 1 the one step allowed is the whole-Hessian step
        // from β = 0 (it used to return β = 0).
        const c1 = await e.logisticRegression(x, y, { l2: 0, maxIter: 1, hessianRows: 1000 });
        const d1 = await e.logisticRegression(x, y, { l2: 0, maxIter: 1, hessianRows: 'all' });
        expect(c1.nIter).toBe(1);
        expect(Math.max(...Array.from(c1.coefficients, Math.abs))).toBeGreaterThan(0.1);
        for (let j = 0; j < p; j++) expect(Math.abs(c1.coefficients[j]! - d1.coefficients[j]!)).toBeLessThan(1e-9);
      } finally {
        await e.close();
      }
    });
  }

  it('multiclass: x is no longer scanned when staged, yet a NaN or ±Infinity is still named by row and column', async () => {
    for (const backend of BACKENDS) {
      const e = await createEngine({ backend, threads: 2 });
      try {
        for (const [bad, row, what] of [[Number.NaN, 2, 'NaN'], [Number.POSITIVE_INFINITY, 3, 'Infinity']] as const) {
          const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3]);
          data[row * 2 + 1] = bad;
          await expect(fitMultinomialLogistic(e, { rows: 6, cols: 2, data }, [0, 0, 1, 1, 2, 2])).rejects.toMatchObject({
            code: 'NON_FINITE',
            message: expect.stringContaining(`(${what}) at row ${row}, column 1`),
          });
        }
      } finally {
        await e.close();
      }
    }
  });

  it('hessianRows must be a positive integer or all', async () => {
    const e = await createEngine({ backend: 'js', threads: 1 });
    try {
      const x: Matrix = { rows: 4, cols: 1, data: new Float32Array([1, 2, 3, 4]) };
      await expect(fitMultinomialLogistic(e, x, [0, 0, 1, 1], { hessianRows: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(e.logisticRegression(x, new Float64Array([0, 1, 0, 1]), { hessianRows: 2.5 as number })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      await e.close();
    }
  });
});
