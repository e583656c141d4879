// The `validation` option of the fit routes: held-out and cross-validated metrics next to the fitted model.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../helpers/rng.js';
import { useServer } from '../helpers/server.js';

const srv = useServer('quiver-validation-');
const rnd = mulberry32(11);
const rows = Array.from({ length: 80 }, () => [Math.round(rnd() * 20), Math.round(rnd() * 20)]);
// y = 2·x0 − x1 + 3 exactly: held-out OLS predictions are exact, so rmse ≈ 0 and r2 ≈ 1 (oracle: the formula).
const target = rows.map(([a, b]) => 2 * a! - b! + 3);
const labels = rows.map(([a, b], i) => ((a! + b! > 20) !== (i % 7 === 0) ? 1 : 0));

describe('validation on the fit routes', () => {
  it('linear with a holdout returns held-out rmse, mae and r2', async () => {
    const res = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target, validation: { holdout: 0.25, seed: 1 } } });
    expect(res.statusCode).toBe(200);
    const v = (res.json() as { validation: { method: string; testRows: number; metrics: Record<string, number> } }).validation;
    expect(v.method).toBe('holdout');
    expect(v.testRows).toBe(20);
    expect(v.metrics['rmse']).toBeLessThan(1e-4);
    expect(v.metrics['r2']).toBeCloseTo(1, 9);
  });

  it('logistic with folds returns mean, std and per-fold metrics, stratified', async () => {
    const res = await srv.app.inject({ method: 'POST', url: '/v1/logistic', payload: { rows, target: labels, validation: { folds: 4, threshold: 0.3 } } });
    expect(res.statusCode).toBe(200);
    const v = (res.json() as { validation: { stratified: boolean; metrics: { mean: Record<string, number>; folds: Record<string, number>[] } } }).validation;
    expect(v.stratified).toBe(true);
    expect(v.metrics.folds).toHaveLength(4);
    const mean = v.metrics.folds.reduce((a, f) => a + f['auc']!, 0) / 4;
    expect(v.metrics.mean['auc']).toBeCloseTo(mean, 12);
    expect(v.metrics.mean['recallAtThreshold']).toBeGreaterThanOrEqual(v.metrics.mean['recall']! - 1e-12);
  });

  it('kmeans with a holdout returns inertia and silhouette', async () => {
    const res = await srv.app.inject({ method: 'POST', url: '/v1/kmeans', payload: { rows, k: 3, validation: { holdout: 0.3 } } });
    expect(res.statusCode).toBe(200);
    const v = (res.json() as { validation: { metrics: Record<string, number> } }).validation;
    expect(v.metrics['inertia']).toBeGreaterThan(0);
    expect(typeof v.metrics['silhouette']).toBe('number');
  });

  it('bad validation options are 400 with the fix', async () => {
    const both = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target, validation: { holdout: 0.2, folds: 3 } } });
    expect(both.statusCode).toBe(400);
    expect(both.json().message).toMatch(/exactly one of holdout/);
    const outside = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target, validation: { holdout: 1 } } });
    expect(outside.statusCode).toBe(400);
    const rare = await srv.app.inject({ method: 'POST', url: '/v1/logistic', payload: { rows: rows.slice(0, 10), target: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1], validation: { folds: 3 } } });
    expect(rare.statusCode).toBe(400);
    expect(rare.json().message).toMatch(/class 1 has 2; use at most 2 folds/);
  });
});

describe('POST /v1/models/:id/lift', () => {
  it('answers the decile table of the model probabilities (oracle: ranks and bins recomputed here)', async () => {
    const fit = await srv.app.inject({ method: 'POST', url: '/v1/logistic', payload: { rows, target: labels } });
    const id = (fit.json() as { id: string }).id;
    const pred = await srv.app.inject({ method: 'POST', url: `/v1/models/${id}/predict`, payload: { rows } });
    const p = (pred.json() as { predictions: number[] }).predictions;
    const res = await srv.app.inject({ method: 'POST', url: `/v1/models/${id}/lift`, payload: { rows, target: labels } });
    expect(res.statusCode).toBe(200);
    const t = res.json() as { deciles: { rows: number; positives: number }[]; baseRate: number };
    const order = p.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const pos = new Array<number>(10).fill(0);
    order.forEach(([, i], r) => {
      pos[Math.floor((10 * r) / p.length)]! += labels[i]!;
    });
    expect(t.deciles.map((d) => d.positives)).toEqual(pos);
    expect(t.deciles.every((d) => d.rows === 8)).toBe(true);
    const lin = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target } });
    const bad = await srv.app.inject({ method: 'POST', url: `/v1/models/${(lin.json() as { id: string }).id}/lift`, payload: { rows, target: labels } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/lift is computed for logistic/);
  });
});

describe('POST /v1/kmeans/choose-k', () => {
  it('answers inertia and silhouette per k, the elbow and the best silhouette', async () => {
    const res = await srv.app.inject({ method: 'POST', url: '/v1/kmeans/choose-k', payload: { rows, ks: [2, 3, 4, 5], seed: 1 } });
    expect(res.statusCode).toBe(200);
    const r = res.json() as { chooseK: { k: number; inertia: number; silhouette: number }[]; elbow: number; bestSilhouette: number; elbowRule: string };
    expect(r.chooseK.map((x) => x.k)).toEqual([2, 3, 4, 5]);
    const best = r.chooseK.reduce((a, b) => (b.silhouette > a.silhouette ? b : a));
    expect(r.bestSilhouette).toBe(best.k);
    expect([3, 4]).toContain(r.elbow);
    expect(r.elbowRule).toMatch(/farthest from the straight line/);
    const bad = await srv.app.inject({ method: 'POST', url: '/v1/kmeans/choose-k', payload: { rows: rows.slice(0, 4), ks: [2, 4] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/below the 4 rows for a silhouette; drop 4 from ks/);
  });
});

describe('table input on the fit routes: categorical, dropLevel, impute', () => {
  // A small table: a text column, a numeric code column, a numeric column with missing cells.
  const plans = ['basic', 'plus', 'pro'];
  const records = rows.map(([a, b], i) => [plans[i % 3]!, (i % 4) + 1, i % 9 === 4 ? null : a!, b!]);
  const columns = ['plan', 'region', 'age', 'spend'];
  const csv = [columns.join(','), ...records.map((r) => r.map((c) => (c === null ? '' : String(c))).join(','))].join('\n');

  it('fits the model the library fits from the same table and options, and predicts from a table with blanks', async () => {
    const { parseCsv, tableToDesign, fitLogisticRegression, createEngine } = await import('../../src/index.js');
    const body = { table: { columns, records }, target: labels, categorical: ['region'], dropLevel: { plan: 'pro' }, impute: 'median', standardize: true };
    const res = await srv.app.inject({ method: 'POST', url: '/v1/logistic', payload: { ...body, validation: { folds: 3 } } });
    expect(res.statusCode).toBe(200);
    const m = res.json() as { id: string; coefficients: number[]; featureNames: string[]; validation: { metrics: { folds: unknown[] } } };
    expect(m.featureNames).toEqual(['plan=basic', 'plan=plus', 'region=2', 'region=3', 'region=4', 'age', 'spend']);
    expect(m.validation.metrics.folds).toHaveLength(3);
    // oracle: the library on the same table written as CSV
    const e = await createEngine({ threads: 1 });
    try {
      const d = tableToDesign(parseCsv(csv, { source: 't.csv' }), { categorical: ['region'], dropLevel: { plan: 'pro' }, impute: { all: 'median' }, standardize: true });
      const ref = await fitLogisticRegression(e, d.x, Float64Array.from(labels), { encoder: d.encoder });
      expect(Math.max(...m.coefficients.map((c, j) => Math.abs(c - ref.coefficients[j]!)))).toBeLessThan(1e-12);
      const pred = await srv.app.inject({ method: 'POST', url: `/v1/models/${m.id}/predict`, payload: { table: { columns, records: records.slice(0, 6) } } });
      expect(pred.statusCode).toBe(200);
      const want = await ref.scoreF64(parseCsv(csv.split('\n').slice(0, 7).join('\n'), { source: 't.csv' }));
      expect((pred.json() as { predictions: number[] }).predictions).toEqual(Array.from(want));
    } finally {
      await e.close();
    }
  });

  it('table errors name the fix', async () => {
    const both = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, table: { columns, records }, target } });
    expect(both.json().message).toMatch(/exactly one of rows/);
    const opts = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target, impute: 'mean' } });
    expect(opts.json().message).toMatch(/apply to a table input/);
    const lvl = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { table: { columns, records }, target, dropLevel: { plan: 'gold' } } });
    expect(lvl.statusCode).toBe(400);
    expect(lvl.json().message).toMatch(/dropLevel: column "plan" has no level "gold"; its levels are: "basic", "plus", "pro"/);
    const imp = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { table: { columns, records }, target, impute: 'agee=mean' } });
    expect(imp.json().message).toMatch(/impute names column "agee"/);
    const blank = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { table: { columns, records }, target } });
    expect(blank.statusCode).toBe(400);
    expect(blank.json().message).toMatch(/line 5: column "age" is missing/);
  });
});

describe('multiclass logistic over HTTP', () => {
  it('class indices 0 … K−1 fit a softmax model (as the library does), scored by class, with validation', async () => {
    const { fitMultinomialLogistic, createEngine } = await import('../../src/index.js');
    const classes = rows.map(([a, b]) => (a! + b! < 15 ? 0 : a! + b! < 25 ? 1 : 2));
    const res = await srv.app.inject({ method: 'POST', url: '/v1/logistic', payload: { rows, target: classes, validation: { folds: 3 } } });
    expect(res.statusCode).toBe(200);
    const m = res.json() as { id: string; kind: string; intercepts: number[]; coefficients: number[][]; validation: { stratified: boolean; metrics: { mean: Record<string, number> } } };
    expect(m.kind).toBe('multinomial');
    expect(m.validation.metrics.mean['accuracy']).toBeGreaterThan(0.5);
    const e = await createEngine({ threads: 1 });
    try {
      const x = { rows: rows.length, cols: 2, data: Float32Array.from(rows.flat()) };
      const ref = await fitMultinomialLogistic(e, x, classes);
      // oracle: the library's fit (its scikit-learn parity is tests/models/multinomial.test.ts)
      expect(Math.max(...m.intercepts.map((b, k) => Math.abs(b - ref.intercepts[k]!)))).toBeLessThan(1e-9);
      const pred = await srv.app.inject({ method: 'POST', url: `/v1/models/${m.id}/predict`, payload: { rows: rows.slice(0, 10) } });
      expect((pred.json() as { predictions: number[] }).predictions).toEqual(Array.from((await ref.predict(x)).slice(0, 10)));
    } finally {
      await e.close();
    }
  });
});
