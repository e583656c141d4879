// Held-out and cross-validated metrics: the fold rule against a reference written here, the metric formulas
// against f64 sums written here, and the held-out figures on the shipped data/bank.csv against scikit-learn
// (tests/fixtures/models/workflow_bankcsv.json, scripts/fixtures/make_workflow_fixtures.py).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  confusionMetrics,
  createEngine,
  crossValidate,
  fitKMeans,
  fitLinearRegression,
  fitLogisticRegression,
  foldAssignment,
  heldOutMetrics,
  holdoutSplit,
  holdoutValidate,
  meanAbsoluteError,
  parseCsv,
  Rng,
  silhouetteScore,
  tableToDesign,
  type Engine,
  type Matrix,
} from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';
import { readFixture, repoRoot, sourceText, type FixtureSource } from '../helpers/fixtures.js';

interface Workflow {
  source: FixtureSource;
  rows: number;
  logistic_holdout: { coefficients: number[]; intercept: number; metrics: Record<string, number> };
  linear_holdout: { metrics: { r2: number; rmse: number; mae: number } };
  silhouette: { columns: string[]; labels: string; silhouette: number; test_silhouette: number };
}
const FIXTURE = 'workflow_bankcsv.json';
const wf = readFixture<Workflow>(FIXTURE);
const bank = () => parseCsv(sourceText(join(repoRoot, 'data', 'bank.csv'), wf.source, FIXTURE), { source: 'data/bank.csv' });

let engineP: Promise<Engine> | null = null;
const engine = (): Promise<Engine> => (engineP ??= createEngine());
afterAll(async () => {
  if (engineP) await (await engineP).close();
});

/** The README's fold rule, written out again: classes ascending, one rng, Fisher–Yates, round-robin from o. */
function referenceFolds(y: number[], k: number, seed: number, stratify: boolean): number[] {
  const rng = new Rng(seed);
  const shuffled = (a: number[]): number[] => {
    const b = a.slice();
    for (let i = b.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [b[i], b[j]] = [b[j]!, b[i]!];
    }
    return b;
  };
  const fold = new Array<number>(y.length).fill(-1);
  const groups = stratify ? [...new Set(y)].sort((a, b) => a - b).map((c) => y.flatMap((v, i) => (v === c ? [i] : []))) : [y.map((_, i) => i)];
  let o = 0;
  for (const g of groups) {
    shuffled(g).forEach((row, j) => {
      fold[row] = (o + j) % k;
    });
    o += g.length;
  }
  return fold;
}

function rowsOf(x: Matrix, rows: ArrayLike<number>): Matrix {
  const idx = Array.from(rows);
  const data = new Float32Array(idx.length * x.cols);
  idx.forEach((r, i) => {
    data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols);
  });
  return { rows: idx.length, cols: x.cols, data };
}

describe('folds and splits', () => {
  const y = Array.from({ length: 103 }, (_, i) => (i % 5 === 0 || i % 7 === 0 ? 1 : 0));

  it('stratified folds follow the documented rule and keep every class balanced', () => {
    for (const seed of [0, 1, 42]) {
      const got = Array.from(foldAssignment(y.length, y, { folds: 5, seed }));
      // oracle: referenceFolds above
      expect(got).toEqual(referenceFolds(y, 5, seed, true));
      for (const c of [0, 1]) {
        const per = [0, 1, 2, 3, 4].map((f) => got.filter((g, i) => g === f && y[i] === c).length);
        expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1);
      }
    }
    expect(Array.from(foldAssignment(y.length, y, { folds: 5, seed: 1 }))).not.toEqual(Array.from(foldAssignment(y.length, y, { folds: 5, seed: 2 })));
  });

  it('plain folds (stratify false, or a numeric target) follow the rule over all rows', () => {
    const got = Array.from(foldAssignment(y.length, y, { folds: 4, seed: 7, stratify: false }));
    expect(got).toEqual(referenceFolds(y, 4, 7, false));
    const numeric = y.map((v, i) => v + i / 10);
    expect(Array.from(foldAssignment(numeric.length, numeric, { folds: 4, seed: 7 }))).toEqual(referenceFolds(y, 4, 7, false));
  });

  it('a stratified held-out split holds out round(f·n_c) rows of each class', () => {
    const s = holdoutSplit(y.length, y, { fraction: 0.25, seed: 3 });
    const n1 = y.filter((v) => v === 1).length;
    const n0 = y.length - n1;
    const test1 = Array.from(s.test).filter((i) => y[i] === 1).length;
    expect(test1).toBe(Math.round(0.25 * n1));
    expect(s.test.length - test1).toBe(Math.round(0.25 * n0));
    expect(s.train.length + s.test.length).toBe(y.length);
    expect(new Set([...s.train, ...s.test]).size).toBe(y.length);
  });

  it('bad splits are refused with the fix', async () => {
    await expectCode(() => holdoutSplit(10, null, { fraction: 1 }), 'INVALID_ARGUMENT', /between 0 and 1/);
    await expectCode(() => holdoutSplit(10, null, { fraction: 0 }), 'INVALID_ARGUMENT', /between 0 and 1/);
    await expectCode(() => foldAssignment(10, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1], { folds: 4 }), 'INVALID_ARGUMENT', /class 1 has 3; use at most 3 folds/);
    // One row of class 1: holding out half puts it in the test part only.
    await expectCode(() => holdoutSplit(5, [0, 0, 0, 0, 1], { fraction: 0.5 }), 'INVALID_ARGUMENT', /all 1 rows of class 1 in the test part/);
    await expectCode(() => foldAssignment(3, null, { folds: 1 }), 'INVALID_ARGUMENT', /≥ 2/);
  });
});

describe('metric formulas', () => {
  it('accuracy, precision and recall at a threshold, and the mean absolute error', () => {
    const y = [1, 0, 1, 1, 0, 0];
    const p = [0.9, 0.6, 0.4, 0.7, 0.2, 0.5];
    // At 0.5 (p > t): predicted 1 on rows 0, 1, 3 → tp 2, fp 1, fn 1, tn 2.
    expect(confusionMetrics(y, p, 0.5)).toEqual({ accuracy: 4 / 6, precision: 2 / 3, recall: 2 / 3 });
    // At 0.3: predicted 1 on rows 0, 1, 2, 3, 5 → tp 3, fp 2, fn 0, tn 1.
    expect(confusionMetrics(y, p, 0.3)).toEqual({ accuracy: 4 / 6, precision: 3 / 5, recall: 1 });
    expect(confusionMetrics([0, 1], [0.1, 0.2], 0.5).precision).toBe(0);
    expect(meanAbsoluteError([1, 2, 3], [1.5, 2, 1])).toBeCloseTo((0.5 + 0 + 2) / 3, 15);
  });
});

describe('held-out metrics on data/bank.csv against scikit-learn', () => {
  const split = (n: number) => {
    const test = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 === 0);
    const train = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 !== 0);
    return { test, train };
  };

  it('logistic: auc, log-loss, accuracy, precision and recall at 0.5 and 0.3', async () => {
    const e = await engine();
    const { x, y } = tableToDesign(bank(), { target: 'y', targetKind: 'binary', standardize: true });
    const { test, train } = split(x.rows);
    const m = await fitLogisticRegression(e, rowsOf(x, train), Float64Array.from(train, (i) => y![i]!), { l2: 1, tol: 1e-8 });
    const ref = wf.logistic_holdout;
    expect(Math.max(...ref.coefficients.map((c, j) => Math.abs(m.coefficients[j]! - c)))).toBeLessThan(1e-6);
    const got = await heldOutMetrics(m, rowsOf(x, test), Float64Array.from(test, (i) => y![i]!), { threshold: ref.metrics['threshold'] });
    // oracle: roc_auc_score, log_loss, accuracy_score, precision_score, recall_score (workflow_bankcsv.json)
    expect(got['auc']).toBeCloseTo(ref.metrics['auc']!, 6);
    expect(Math.abs(got['logLoss']! - ref.metrics['log_loss']!)).toBeLessThan(1e-6);
    expect(got['accuracy']).toBe(ref.metrics['accuracy']);
    expect(got['precision']).toBe(ref.metrics['precision']);
    expect(got['recall']).toBe(ref.metrics['recall']);
    expect(got['accuracyAtThreshold']).toBe(ref.metrics['accuracy_at_threshold']);
    expect(got['precisionAtThreshold']).toBe(ref.metrics['precision_at_threshold']);
    expect(got['recallAtThreshold']).toBe(ref.metrics['recall_at_threshold']);
  });

  it('linear: r2, rmse and mae', async () => {
    const e = await engine();
    const { x, y } = tableToDesign(bank(), { target: 'balance', exclude: ['y'] });
    const { test, train } = split(x.rows);
    const m = await fitLinearRegression(e, rowsOf(x, train), Float64Array.from(train, (i) => y![i]!));
    const got = await heldOutMetrics(m, rowsOf(x, test), Float64Array.from(test, (i) => y![i]!));
    const ref = wf.linear_holdout.metrics;
    // oracle: r2_score, sqrt(mean_squared_error), mean_absolute_error
    expect(Math.abs(got['r2']! - ref.r2)).toBeLessThan(1e-9);
    expect(Math.abs(got['rmse']! - ref.rmse) / ref.rmse).toBeLessThan(1e-9);
    expect(Math.abs(got['mae']! - ref.mae) / ref.mae).toBeLessThan(1e-9);
  });

  it('silhouette of scikit-learn labels, all rows and the held-out rows', () => {
    const s = wf.silhouette;
    const { x } = tableToDesign(bank(), { columns: s.columns, standardize: true });
    const labels = Int32Array.from(s.labels, (c) => Number(c));
    // oracle: silhouette_score (no sampling: the sample size exceeds the rows)
    expect(Math.abs(silhouetteScore(x, labels, { sampleSize: 10000 }) - s.silhouette)).toBeLessThan(1e-9);
    const { test } = split(x.rows);
    expect(Math.abs(silhouetteScore(rowsOf(x, test), Int32Array.from(test, (i) => labels[i]!), { sampleSize: 10000 }) - s.test_silhouette)).toBeLessThan(1e-9);
  });
});

describe('crossValidate and holdoutValidate', () => {
  it('cross-validation fits on the other folds and reports mean, std and per-fold metrics', async () => {
    const e = await engine();
    const { x, y } = tableToDesign(bank(), { target: 'y', targetKind: 'binary', standardize: true });
    const fitModel = (en: Engine, xx: Matrix, yy: Float64Array) => fitLogisticRegression(en, xx, yy, { l2: 1 });
    const r = await crossValidate(e, fitModel, x, y!, { folds: 3, seed: 5 });
    expect(r.stratified).toBe(true);
    expect(r.metrics.folds).toHaveLength(3);
    const fold = referenceFolds(Array.from(y!), 3, 5, true);
    const aucs: number[] = [];
    for (let f = 0; f < 3; f++) {
      const train = fold.flatMap((g, i) => (g === f ? [] : [i]));
      const test = fold.flatMap((g, i) => (g === f ? [i] : []));
      const m = await fitModel(e, rowsOf(x, train), Float64Array.from(train, (i) => y![i]!));
      const p = await m.scoreF64(rowsOf(x, test));
      // oracle: the Mann–Whitney count over all (positive, negative) pairs, written here
      let pairs = 0;
      let wins = 0;
      for (const a of test.keys()) {
        if (y![test[a]!] !== 1) continue;
        for (const b of test.keys()) {
          if (y![test[b]!] !== 0) continue;
          pairs++;
          wins += p[a]! > p[b]! ? 1 : p[a] === p[b] ? 0.5 : 0;
        }
      }
      aucs.push(wins / pairs);
      expect(Math.abs(r.metrics.folds[f]!['auc']! - wins / pairs)).toBeLessThan(1e-12);
    }
    const mean = aucs.reduce((a, b) => a + b) / 3;
    expect(Math.abs(r.metrics.mean['auc']! - mean)).toBeLessThan(1e-12);
    expect(Math.abs(r.metrics.std['auc']! - Math.sqrt(aucs.reduce((a, b) => a + (b - mean) ** 2, 0) / 3))).toBeLessThan(1e-12);
  });

  it('kmeans held out: inertia is Σ‖x − c(x)‖² over the held-out rows (f64 sum written here)', async () => {
    const e = await engine();
    const { x } = tableToDesign(bank(), { columns: ['age', 'balance', 'duration'], standardize: true });
    const r = await holdoutValidate(e, (en, xx) => fitKMeans(en, xx, { k: 3, seed: 1 }), x, null, { fraction: 0.2, seed: 9 });
    expect(r.testRows).toBe(Math.round(0.2 * x.rows));
    const s = holdoutSplit(x.rows, null, { fraction: 0.2, seed: 9 });
    const m = await fitKMeans(e, rowsOf(x, s.train), { k: 3, seed: 1 });
    let inertia = 0;
    for (const i of s.test) {
      let best = Infinity;
      for (let c = 0; c < 3; c++) {
        let d = 0;
        for (let j = 0; j < 3; j++) d += (x.data[i * 3 + j]! - m.centroids.data[c * 3 + j]!) ** 2;
        best = Math.min(best, d);
      }
      inertia += best;
    }
    expect(Math.abs(r.metrics['inertia']! - inertia) / inertia).toBeLessThan(1e-9);
    expect(r.metrics['silhouette']).toBeGreaterThan(0);
  });
});
