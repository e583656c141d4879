// Parity with scikit-learn on the shipped data/bank.csv, so it runs in every clone (the bank-full.csv suites
// need ../shared): linear (OLS, ridge, weighted) and logistic (standardised plain and balanced, and the raw
// columns of the demo propensity model) fitted through the public library API on the selected backend,
// against tests/fixtures/models/*_bankcsv.json from scripts/fixtures/make_model_fixtures.py.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, parseCsv, tableToDesign, type CsvTable, type LogisticIteration, type Matrix, type Quiver as Engine } from '../../src/index.js';
import { readFixture, repoRoot, sourceText, type FixtureSource } from '../helpers/fixtures.js';

interface Predictions {
  rows: number[];
  values: number[];
}
interface LinearFit {
  coefficients: number[];
  intercept: number;
  predictions: Predictions;
}
interface LinearFixture {
  source: FixtureSource;
  target: string;
  exclude: string[];
  rows: number;
  features: string[];
  ols: LinearFit & { r2: number; rmse: number };
  ridge: LinearFit & { l2: number };
  weighted_ols: LinearFit;
}
interface LogisticFit {
  l2: number;
  class_weight: 'balanced' | null;
  coefficients: number[];
  intercept: number;
  n_iter: number;
  default_tol_n_iter: number;
  auc: number;
  log_loss: number;
  accuracy: number;
  predictions: Predictions;
}
interface LogisticFixture {
  source: FixtureSource;
  target: string;
  rows: number;
  features: string[];
  demo_columns: string[];
  plain: LogisticFit;
  balanced: LogisticFit;
  demo: LogisticFit;
}

const LINEAR = 'linear_bankcsv.json';
const LOGISTIC = 'logistic_bankcsv.json';
const linear = readFixture<LinearFixture>(LINEAR);
const logistic = readFixture<LogisticFixture>(LOGISTIC);
const bankCsv = join(repoRoot, 'data', 'bank.csv');

// Tolerances. Every input is exact in float32 and both sides solve the same f64 problem, so agreement is far
// tighter than these (observed: coefficients within 1e-10 relative for linear, 5e-8 absolute for logistic);
// they leave room for other SIMD levels and summation orders, and stay far below what a wrong formula,
// column or weight moves.
// Linear coefficients and intercept: relative, the figure the README states for numpy's least squares.
const LINEAR_RTOL = 1e-6;
// Predictions come back as float32 (2⁻²⁴ ≈ 6e-8 relative) from an f64 linear predictor.
const PREDICT_RTOL = 1e-6;
const PROBA_ATOL = 1e-6;
// Logistic coefficients: absolute on standardised columns (all on one scale); relative on the demo's raw
// columns, whose coefficients range from 2e-5 (balance) to 1e-2 (age).
const LOGISTIC_ATOL = 1e-6;
const LOGISTIC_RTOL = 1e-6;
// Quiver's stop test at 1e-10 is below what float32 linear predictors reach on the raw demo columns (wasm
// and js then run to maxIter); at 1e-8 every backend converges, one Newton step before scikit-learn's 1e-10.
const LOGISTIC_TOL = 1e-8;

let engineP: Promise<Engine> | null = null;
const engine = (): Promise<Engine> => (engineP ??= createEngine());
afterAll(async () => {
  if (engineP) await (await engineP).close();
});

// The file is read, and its hash checked against the fixture's, in every test that uses it, so each test
// also runs alone (`vitest -t`) and in any order.
function bankTable(fixture: string, source: FixtureSource): CsvTable {
  return parseCsv(sourceText(bankCsv, source, fixture), { source: 'data/bank.csv' });
}

function rowsOf(x: Matrix, rows: number[]): Matrix {
  const data = new Float32Array(rows.length * x.cols);
  rows.forEach((r, i) => {
    data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols);
  });
  return { rows: rows.length, cols: x.cols, data };
}

/** Largest |got − ref| / |ref|. */
function maxRel(got: ArrayLike<number>, ref: readonly number[]): number {
  expect(got.length).toBe(ref.length);
  return Math.max(0, ...ref.map((r, i) => Math.abs(got[i]! - r) / Math.abs(r)));
}

/** Largest |got − ref|. */
function maxAbs(got: ArrayLike<number>, ref: readonly number[]): number {
  expect(got.length).toBe(ref.length);
  return Math.max(0, ...ref.map((r, i) => Math.abs(got[i]! - r)));
}

describe('data/bank.csv: the fixtures were computed from this file', () => {
  it('bank.csv has the sha256 that the linear and logistic fixtures record', () => {
    // A mismatch throws, naming both hashes and how to regenerate.
    for (const [name, source] of [[LINEAR, linear.source], [LOGISTIC, logistic.source]] as const) {
      expect(sourceText(bankCsv, source, name).length).toBeGreaterThan(0);
    }
  });
});

describe('linear regression on data/bank.csv (target balance) against scikit-learn', () => {
  const design = () => {
    const table = bankTable(LINEAR, linear.source);
    const { encoder, x, y } = tableToDesign(table, { target: linear.target, exclude: linear.exclude });
    // oracle: design() in make_model_fixtures.py (numeric as is, text one-hot over sorted levels, first dropped)
    expect(encoder.features).toEqual(linear.features);
    expect(x.rows).toBe(linear.rows);
    return { x, y: y! };
  };

  const cases = [
    { key: 'ols', what: 'OLS', opts: () => ({}) },
    { key: 'ridge', what: `ridge (l2 ${linear.ridge.l2})`, opts: () => ({ l2: linear.ridge.l2 }) },
    { key: 'weighted_ols', what: 'weighted OLS (w = 1 + row mod 4)', opts: (n: number) => ({ sampleWeight: Float64Array.from({ length: n }, (_, i) => 1 + (i % 4)) }) },
  ] as const;
  for (const c of cases) {
    it(`bank.csv linear ${c.what}: coefficients, intercept and predictions of scikit-learn`, async () => {
      const e = await engine();
      const { x, y } = design();
      const ref = linear[c.key];
      const m = await e.linearRegression(x, y, c.opts(x.rows));
      // oracle: sklearn LinearRegression() / Ridge(alpha=l2, solver='cholesky'), linear_bankcsv.json
      expect(maxRel(m.coefficients, ref.coefficients)).toBeLessThan(LINEAR_RTOL);
      expect(maxRel([m.intercept], [ref.intercept])).toBeLessThan(LINEAR_RTOL);
      const p = await m.predict(rowsOf(x, ref.predictions.rows));
      // oracle: sklearn predict() on the same rows
      expect(maxRel(p, ref.predictions.values)).toBeLessThan(PREDICT_RTOL);
    });
  }

  it('bank.csv linear OLS: R² and RMSE of scikit-learn', async () => {
    const e = await engine();
    const { x, y } = design();
    const m = await e.linearRegression(x, y);
    // oracle: sklearn r2_score and the root of the mean squared residual on the training rows
    expect(Math.abs(m.r2 - linear.ols.r2)).toBeLessThan(1e-9);
    expect(Math.abs(m.rmse - linear.ols.rmse) / linear.ols.rmse).toBeLessThan(1e-9);
  });
});

describe('logistic regression on data/bank.csv (target y) against scikit-learn newton-cholesky', () => {
  const design = (key: 'plain' | 'balanced' | 'demo') => {
    const table = bankTable(LOGISTIC, logistic.source);
    if (key === 'demo') {
      // The demo propensity model of `quiver serve`: raw numeric columns, no scaling.
      const { x, y } = tableToDesign(table, { target: logistic.target, targetKind: 'binary', columns: logistic.demo_columns });
      return { x, y: y! };
    }
    const { encoder, x, y } = tableToDesign(table, { target: logistic.target, targetKind: 'binary', standardize: true });
    // oracle: design() and standardized() in make_model_fixtures.py
    expect(encoder.features).toEqual(logistic.features);
    return { x, y: y! };
  };

  const cases = [
    { key: 'plain', what: 'standardised, l2 1' },
    { key: 'balanced', what: "standardised, l2 1, classWeight 'balanced'" },
    { key: 'demo', what: `the demo columns (${logistic.demo_columns.join(', ')}), raw, l2 1` },
  ] as const;
  for (const c of cases) {
    it(`bank.csv logistic ${c.key} (${c.what}): coefficients, metrics, iterations and probabilities`, async () => {
      const e = await engine();
      const { x, y } = design(c.key);
      expect(x.rows).toBe(logistic.rows);
      const ref = logistic[c.key];
      const steps: LogisticIteration[] = [];
      const m = await e.logisticRegression(x, y, { l2: ref.l2, classWeight: ref.class_weight, tol: LOGISTIC_TOL, onIteration: (s) => steps.push(s) });
      // oracle: sklearn LogisticRegression(solver='newton-cholesky', C=1/l2, tol=1e-10), logistic_bankcsv.json
      expect(m.converged).toBe(true);
      if (c.key === 'demo') {
        expect(maxRel(m.coefficients, ref.coefficients)).toBeLessThan(LOGISTIC_RTOL);
        expect(maxRel([m.intercept], [ref.intercept])).toBeLessThan(LOGISTIC_RTOL);
      } else {
        expect(maxAbs(m.coefficients, ref.coefficients)).toBeLessThan(LOGISTIC_ATOL);
        expect(Math.abs(m.intercept - ref.intercept)).toBeLessThan(LOGISTIC_ATOL);
      }
      // oracle: sklearn roc_auc_score, log_loss and accuracy_score on the training rows; one row whose
      // probability sits at 0.5 may fall on either side, so accuracy is held to one row
      expect(Math.abs(m.auc - ref.auc)).toBeLessThan(1e-6);
      expect(Math.abs(m.logLoss - ref.log_loss)).toBeLessThan(1e-9);
      expect(Math.abs(m.accuracy - ref.accuracy)).toBeLessThanOrEqual(1 / logistic.rows);
      // The iterates do not depend on tol: the stop at scikit-learn's default tol 1e-4 is the first k whose
      // decrement and the gradient after the step (reported by step k + 1) are ≤ 1e-4.
      const stopAt = steps.findIndex((s, k) => s.decrement <= 1e-4 && (steps[k + 1]?.gradMax ?? 0) <= 1e-4) + 1;
      // oracle: n_iter_ of LogisticRegression(solver='newton-cholesky') at its default tol
      expect(Math.abs(stopAt - ref.default_tol_n_iter)).toBeLessThanOrEqual(1);
      const p = await m.predictProba(rowsOf(x, ref.predictions.rows));
      // oracle: sklearn predict_proba()[:, 1] on the same rows
      expect(maxAbs(p, ref.predictions.values)).toBeLessThan(PROBA_ATOL);
    });
  }
});
