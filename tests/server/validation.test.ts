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
