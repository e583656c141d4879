// Logistic regression on the selected backend against scikit-learn's newton-cholesky solver (stored
// fixtures from scripts/fixtures/make_model_fixtures.py), exact small cases and bad targets.
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/csv.js';
import { TableEncoder } from '../../src/data/table.js';
import type { LogisticIteration } from '../../src/models/logistic.js';
import type { Matrix } from '../../src/types.js';
import { sourceText, type FixtureSource } from '../helpers/fixtures.js';
import { bankFull, expectCode, fixture, haveDatasets, maxAbsDiff, useEngine } from './helpers.js';

interface LogisticRef {
  l2: number;
  C: number;
  class_weight: 'balanced' | null;
  coefficients: number[];
  intercept: number;
  n_iter: number;
  default_tol_n_iter: number;
  auc: number;
  log_loss: number;
  accuracy: number;
}
interface LogisticFixture {
  source: FixtureSource;
  target: string;
  rows: number;
  features: string[];
  plain: LogisticRef;
  balanced: LogisticRef;
}

const engine = useEngine();
const ref = fixture<LogisticFixture>('logistic_bank.json');

let design: Promise<{ x: Matrix; y: Float64Array; names: string[] }> | null = null;
function bank(): Promise<{ x: Matrix; y: Float64Array; names: string[] }> {
  sourceText(bankFull, ref.source, 'logistic_bank.json'); // throws, saying to regenerate, if the file changed
  design ??= readCsv(bankFull).then((table) => {
    // Every design column standardised (stated in the README): the problem is well conditioned and the
    // coefficients are comparable.
    const enc = TableEncoder.fit(table, { target: ref.target, targetKind: 'binary', standardize: true });
    return { x: enc.encode(table), y: enc.target(table), names: enc.features };
  });
  return design;
}

describe.skipIf(!haveDatasets)('logistic regression on bank-full.csv, target y (needs ../shared/datasets)', () => {
  for (const key of ['plain', 'balanced'] as const) {
    const r = ref[key];
    it(`${key}: coefficients within 1e-4 of scikit-learn newton-cholesky (C = 1/l2), same AUC to 4 decimals`, async () => {
      const e = await engine();
      const { x, y, names } = await bank();
      expect(names).toEqual(ref.features);
      const steps: LogisticIteration[] = [];
      const m = await e.logisticRegression(x, y, { l2: r.l2, classWeight: r.class_weight, tol: 1e-10, onIteration: (s) => steps.push(s) });
      // oracle: LogisticRegression(solver='newton-cholesky', C=1/l2, tol=1e-10), logistic_bank.json
      expect(m.converged).toBe(true);
      expect(maxAbsDiff(m.coefficients, r.coefficients)).toBeLessThan(1e-4);
      expect(Math.abs(m.intercept - r.intercept)).toBeLessThan(1e-4);
      expect(m.auc.toFixed(4)).toBe(r.auc.toFixed(4));
      expect(m.logLoss).toBeCloseTo(r.log_loss, 6);
      expect(m.accuracy).toBeCloseTo(r.accuracy, 4);
      expect(Math.abs(m.nIter - r.n_iter)).toBeLessThanOrEqual(1);
      // The iterates do not depend on tol, so the stop at scikit-learn's default tol 1e-4 can be read off this
      // run: the first k whose gradient after the step (reported by step k + 1) and decrement are ≤ 1e-4.
      const stopAt = steps.findIndex((s, k) => s.decrement <= 1e-4 && (steps[k + 1]?.gradMax ?? 0) <= 1e-4) + 1;
      // oracle: n_iter_ of LogisticRegression(solver='newton-cholesky') at its default tol
      expect(Math.abs(stopAt - r.default_tol_n_iter)).toBeLessThanOrEqual(1);
      // predictProba is the sigmoid of the same linear predictor
      const head: Matrix = { rows: 5, cols: x.cols, data: x.data.slice(0, 5 * x.cols) };
      const p = await m.predictProba(head);
      for (let i = 0; i < 5; i++) {
        let z = m.intercept;
        for (let j = 0; j < x.cols; j++) z += head.data[i * x.cols + j]! * m.coefficients[j]!;
        expect(p[i]).toBeCloseTo(1 / (1 + Math.exp(-z)), 6);
      }
    });
  }
});

describe('logistic regression: small cases and bad targets', () => {
  // One feature, overlapping classes: rows (x, y).
  const x: Matrix = { rows: 8, cols: 1, data: new Float32Array([-3, -2, -1, 0, 0, 1, 2, 3]) };
  const y = new Float64Array([0, 0, 1, 0, 1, 0, 1, 1]);

  it('unpenalised: the gradient vanishes at the fit (score equations Σ(y − p) = 0, Σ x(y − p) = 0)', async () => {
    const e = await engine();
    const m = await e.logisticRegression(x, y, { l2: 0, tol: 1e-12 });
    // oracle: the first-order conditions of the maximum-likelihood estimate (to the ~1e-7 relative accuracy
    // of a linear predictor built from f32 matvec increments)
    let g0 = 0;
    let g1 = 0;
    for (let i = 0; i < 8; i++) {
      const p = 1 / (1 + Math.exp(-(m.intercept + m.coefficients[0]! * x.data[i]!)));
      g0 += y[i]! - p;
      g1 += x.data[i]! * (y[i]! - p);
    }
    expect(Math.abs(g0)).toBeLessThan(1e-6);
    expect(Math.abs(g1)).toBeLessThan(1e-6);
    expect(m.coefficients[0]!).toBeGreaterThan(0);
  });

  it('the penalty enters as l2·β: the penalised score equation holds; the intercept is not penalised', async () => {
    const e = await engine();
    const m = await e.logisticRegression(x, y, { l2: 2.5, tol: 1e-12 });
    // oracle: ∂/∂β [Σ loss + (l2/2)β²] = 0 → Σ x(y − p) = l2·β; ∂/∂b: Σ(y − p) = 0
    let g0 = 0;
    let g1 = 0;
    for (let i = 0; i < 8; i++) {
      const p = 1 / (1 + Math.exp(-(m.intercept + m.coefficients[0]! * x.data[i]!)));
      g0 += y[i]! - p;
      g1 += x.data[i]! * (y[i]! - p);
    }
    expect(Math.abs(g0)).toBeLessThan(1e-6);
    expect(Math.abs(g1 - 2.5 * m.coefficients[0]!)).toBeLessThan(1e-6);
  });

  it('AUC, accuracy and predict on the training rows', async () => {
    const e = await engine();
    const m = await e.logisticRegression(x, y, { l2: 1 });
    // oracle by hand: scores rise with x; positives at −1, 0, 2, 3 against negatives at −3, −2, 0, 1 win
    // 2 + 2 + 4 + 4 of 16 pairs, and the tie at x = 0 counts ½: 12.5 / 16
    expect(m.auc).toBeCloseTo(12.5 / 16, 12);
    const z = await m.decisionFunction(x);
    const labels = await m.predict(x);
    expect(Array.from(labels)).toEqual(Array.from(z, (v) => (v > 0 ? 1 : 0)));
    expect(labels[0]).toBe(0);
    expect(labels[7]).toBe(1);
    // oracle: accuracy is the share of rows where the predicted label equals y
    expect(m.accuracy).toBe(Array.from(labels).filter((l, i) => l === y[i]).length / 8);
  });

  it('a target with one class, or values other than 0/1, is refused with what to fix', async () => {
    const e = await engine();
    await expectCode(e.logisticRegression(x, new Float64Array(8)), 'INVALID_ARGUMENT', /one class only.*needs rows of both classes/);
    await expectCode(e.logisticRegression(x, new Float64Array([0, 1, 2, 0, 1, 0, 1, 1])), 'INVALID_ARGUMENT', /0 and 1 \(row 2 has 2\)/);
  });

  it('perfectly separable classes without a penalty: refused or stopped, never an infinite loop', async () => {
    const e = await engine();
    const sep = new Float64Array([0, 0, 0, 0, 1, 1, 1, 1]);
    const xs: Matrix = { rows: 8, cols: 1, data: new Float32Array([-4, -3, -2, -1, 1, 2, 3, 4]) };
    try {
      const m = await e.logisticRegression(xs, sep, { l2: 0, maxIter: 50 });
      expect(m.coefficients[0]!).toBeGreaterThan(5);
    } catch (err) {
      expect((err as { code: string }).code).toBe('NOT_POSITIVE_DEFINITE');
      expect((err as Error).message).toMatch(/perfectly separable.*Add an L2 penalty/);
    }
  });
});
