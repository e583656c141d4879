// Linear regression (OLS, ridge, weighted) on the selected backend against numpy (stored fixtures from
// scripts/fixtures/make_model_fixtures.py), exact small cases, and rank-deficient inputs.
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/csv.js';
import { TableEncoder } from '../../src/data/table.js';
import type { Matrix } from '../../src/types.js';
import { sourceText, type FixtureSource } from '../helpers/fixtures.js';
import { bankFull, expectCode, fixture, haveDatasets, maxRelDiff, useEngine } from './helpers.js';

interface Fit {
  coefficients: number[];
  intercept: number;
}
interface LinearFixture {
  source: FixtureSource;
  target: string;
  exclude: string[];
  rows: number;
  features: string[];
  ols: Fit & { r2: number; rmse: number };
  ridge: Fit & { l2: number };
  weighted_ols: Fit;
}

const engine = useEngine();
const ref = fixture<LinearFixture>('linear_bank.json');

// Stated in the README: relative agreement with numpy's least squares on every coefficient.
const RTOL = 1e-6;

describe.skipIf(!haveDatasets)('linear regression on bank-full.csv, target balance (needs ../shared/datasets)', () => {
  const load = async (): Promise<{ x: Matrix; y: Float64Array; names: string[] }> => {
    sourceText(bankFull, ref.source, 'linear_bank.json'); // throws, saying to regenerate, if the file changed
    const table = await readCsv(bankFull);
    const enc = TableEncoder.fit(table, { target: ref.target, exclude: ref.exclude });
    return { x: enc.encode(table), y: enc.target(table), names: enc.features };
  };

  it('the design matrix has the fixture columns (numeric + one-hot, first level dropped)', async () => {
    const { x, names } = await load();
    // oracle: design() in make_model_fixtures.py
    expect(names).toEqual(ref.features);
    expect(x.rows).toBe(ref.rows);
  });

  it('OLS: coefficients within 1e-6 relative of numpy.linalg.lstsq; R² and RMSE', async () => {
    const e = await engine();
    const { x, y, names } = await load();
    const m = await e.linearRegression(x, y, { featureNames: names });
    // oracle: numpy.linalg.lstsq([X, 1], y), linear_bank.json "ols"
    expect(maxRelDiff(m.coefficients, ref.ols.coefficients)).toBeLessThan(RTOL);
    expect(maxRelDiff([m.intercept], [ref.ols.intercept])).toBeLessThan(RTOL);
    expect(m.r2).toBeCloseTo(ref.ols.r2, 6);
    expect(Math.abs(m.rmse - ref.ols.rmse) / ref.ols.rmse).toBeLessThan(1e-6);
  });

  it('ridge: within 1e-6 relative of the closed form on centred columns', async () => {
    const e = await engine();
    const { x, y } = await load();
    const m = await e.linearRegression(x, y, { l2: ref.ridge.l2 });
    // oracle: numpy solve(XcᵀXc + l2·I, Xcᵀ(y − ȳ)), linear_bank.json "ridge"
    expect(maxRelDiff(m.coefficients, ref.ridge.coefficients)).toBeLessThan(RTOL);
    expect(maxRelDiff([m.intercept], [ref.ridge.intercept])).toBeLessThan(RTOL);
  });

  it('weighted OLS: within 1e-6 relative of numpy lstsq on √w-scaled rows', async () => {
    const e = await engine();
    const { x, y } = await load();
    const w = Float64Array.from({ length: x.rows }, (_, i) => 1 + (i % 4));
    const m = await e.linearRegression(x, y, { sampleWeight: w });
    // oracle: numpy.linalg.lstsq(√w·[X, 1], √w·y), linear_bank.json "weighted_ols"
    expect(maxRelDiff(m.coefficients, ref.weighted_ols.coefficients)).toBeLessThan(RTOL);
    expect(maxRelDiff([m.intercept], [ref.weighted_ols.intercept])).toBeLessThan(RTOL);
  });
});

describe('linear regression: exact small cases', () => {
  // 6 rows, columns a, b: y = 2 + 3a − b exactly.
  const x: Matrix = { rows: 6, cols: 2, data: new Float32Array([1, 0, 2, 1, 3, 5, 4, 2, 5, 7, 6, 3]) };
  const y = Float64Array.from({ length: 6 }, (_, i) => 2 + 3 * x.data[2 * i]! - x.data[2 * i + 1]!);

  it('recovers the generating coefficients; R² = 1, RMSE = 0; predict = x·β + b', async () => {
    const e = await engine();
    const m = await e.linearRegression(x, y);
    // oracle: y was built as 2 + 3a − b
    expect(m.coefficients[0]).toBeCloseTo(3, 10);
    expect(m.coefficients[1]).toBeCloseTo(-1, 10);
    expect(m.intercept).toBeCloseTo(2, 10);
    expect(m.r2).toBeCloseTo(1, 10);
    expect(m.rmse).toBeLessThan(1e-6);
    const p = await m.predict({ rows: 1, cols: 2, data: new Float32Array([10, 4]) });
    expect(p[0]).toBeCloseTo(2 + 30 - 4, 4);
  });

  it('without an intercept: the least-squares fit through the origin', async () => {
    const e = await engine();
    const xs: Matrix = { rows: 3, cols: 1, data: new Float32Array([1, 2, 3]) };
    const m = await e.linearRegression(xs, new Float64Array([1, 2, 2]), { fitIntercept: false });
    // oracle by hand: β = Σxy / Σx² = (1 + 4 + 6) / 14
    expect(m.coefficients[0]).toBeCloseTo(11 / 14, 12);
    expect(m.intercept).toBe(0);
  });

  it('ridge shrinks: β = Σ(x−x̄)(y−ȳ) / (Σ(x−x̄)² + l2)', async () => {
    const e = await engine();
    const xs: Matrix = { rows: 4, cols: 1, data: new Float32Array([0, 1, 2, 3]) };
    const m = await e.linearRegression(xs, new Float64Array([1, 3, 5, 7]), { l2: 5 });
    // oracle by hand: Sxy = 10, Sxx = 5 → β = 10 / (5 + 5) = 1; b = ȳ − β·x̄ = 4 − 1.5
    expect(m.coefficients[0]).toBeCloseTo(1, 12);
    expect(m.intercept).toBeCloseTo(2.5, 12);
  });

  it('a duplicate column is refused, naming it and the fix; ridge fits it', async () => {
    const e = await engine();
    const xd: Matrix = { rows: 6, cols: 3, data: new Float32Array(18) };
    for (let i = 0; i < 6; i++) {
      xd.data[i * 3] = x.data[i * 2]!;
      xd.data[i * 3 + 1] = x.data[i * 2 + 1]!;
      xd.data[i * 3 + 2] = x.data[i * 2]!;
    }
    const err = await expectCode(e.linearRegression(xd, y, { featureNames: ['a', 'b', 'a_copy'] }), 'INVALID_ARGUMENT', /"a_copy" = 1·"a"/);
    expect(err.message).toMatch(/Drop column "a_copy" \(duplicates\), or add an L2 penalty \(ridge, l2 > 0\)/);
    const ridge = await e.linearRegression(xd, y, { l2: 1e-3 });
    // oracle: with a penalty the two copies share the weight equally (symmetry)
    expect(ridge.coefficients[0]).toBeCloseTo(ridge.coefficients[2]!, 8);
  });

  it('an exact linear combination names the columns it is made of', async () => {
    const e = await engine();
    const xc: Matrix = { rows: 6, cols: 3, data: new Float32Array(18) };
    for (let i = 0; i < 6; i++) {
      xc.data[i * 3] = x.data[i * 2]!;
      xc.data[i * 3 + 1] = x.data[i * 2 + 1]!;
      xc.data[i * 3 + 2] = 2 * x.data[i * 2]! - x.data[i * 2 + 1]!;
    }
    await expectCode(e.linearRegression(xc, y, { featureNames: ['a', 'b', 'c'] }), 'INVALID_ARGUMENT', /"c" = 2·"a" − 1·"b" \+ constant/);
  });

  it('a constant column is refused with the intercept, naming it', async () => {
    const e = await engine();
    const xk: Matrix = { rows: 6, cols: 3, data: new Float32Array(18) };
    for (let i = 0; i < 6; i++) {
      xk.data[i * 3] = x.data[i * 2]!;
      xk.data[i * 3 + 1] = 7;
      xk.data[i * 3 + 2] = x.data[i * 2 + 1]!;
    }
    await expectCode(e.linearRegression(xk, y, { featureNames: ['a', 'seven', 'b'] }), 'INVALID_ARGUMENT', /column "seven" is constant.*drop it, or add an L2 penalty/);
    // Without an intercept the constant column is the intercept: y = 3a − b + (2/7)·seven.
    const m = await e.linearRegression(xk, y, { fitIntercept: false });
    expect(m.coefficients[1]).toBeCloseTo(2 / 7, 8);
  });
});
