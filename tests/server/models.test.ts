// Model routes through app.inject: fit, score (JSON and .npy), list, get, delete, restart, bad input.
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../../src/data/npy.js';
import { buildApp } from '../../src/server/app.js';
import { mulberry32 } from '../helpers/rng.js';
import { useServer } from '../helpers/server.js';

const srv = useServer('quiver-models-');
// y = 2·x0 − x1 + 3 exactly: OLS must recover it (oracle: the generating coefficients).
const rnd = mulberry32(5);
const rows = Array.from({ length: 60 }, () => [Math.round(rnd() * 20), Math.round(rnd() * 20)]);
const target = rows.map(([a, b]) => 2 * a! - b! + 3);
// Two separable-ish classes for logistic: label 1 when x0 + x1 > 20, with a few flips.
const labels = rows.map(([a, b], i) => ((a! + b! > 20) !== (i % 7 === 0) ? 1 : 0));

/** Fits the exact OLS model of every test that needs one (tests run alone and in any order). */
async function fitLinear(): Promise<string> {
  const res = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target } });
  expect(res.statusCode).toBe(200);
  return (res.json() as { id: string }).id;
}

describe('model routes', () => {
  it('POST /v1/linear fits OLS and returns the model with its id', async () => {
    const res = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target } });
    expect(res.statusCode).toBe(200);
    const m = res.json() as { id: string; kind: string; coefficients: number[]; intercept: number; r2: number };
    expect(m.kind).toBe('linear');
    expect(m.id).toMatch(/^mdl_[0-9a-f]{16}$/);
    expect(m.coefficients[0]).toBeCloseTo(2, 6);
    expect(m.coefficients[1]).toBeCloseTo(-1, 6);
    expect(m.intercept).toBeCloseTo(3, 5);
    expect(m.r2).toBeCloseTo(1, 9);
  });

  it("POST /v1/linear takes accumulate 'f32' (the Gram pass in f32 blocks) and refuses other modes", async () => {
    const res = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target, accumulate: 'f32' } });
    expect(res.statusCode).toBe(200);
    const m = res.json() as { coefficients: number[]; intercept: number };
    // Same least-squares solution as the f64 pass, within the f32 blocks' rounding on this well-conditioned set.
    expect(m.coefficients[0]).toBeCloseTo(2, 3);
    expect(m.coefficients[1]).toBeCloseTo(-1, 3);
    expect(m.intercept).toBeCloseTo(3, 2);
    const bad = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target, accumulate: 'f16' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/accumulate/) });
  });

  it('predicts from JSON rows and from .npy, answering .npy when asked', async () => {
    const linearId = await fitLinear();
    const res = await srv.app.inject({ method: 'POST', url: `/v1/models/${linearId}/predict`, payload: { rows: [[1, 1], [10, 0]] } });
    expect(res.statusCode).toBe(200);
    const p = (res.json() as { predictions: number[] }).predictions;
    expect(p[0]).toBeCloseTo(4, 4); // 2·1 − 1 + 3
    expect(p[1]).toBeCloseTo(23, 4); // 2·10 − 0 + 3
    const npy = await srv.app.inject({
      method: 'POST',
      url: `/v1/models/${linearId}/predict`,
      headers: { 'content-type': 'application/x-npy', accept: 'application/x-npy' },
      payload: Buffer.from(encodeNpy(new Float32Array([1, 1, 10, 0, 0, 3]), [3, 2])),
    });
    expect(npy.statusCode).toBe(200);
    const out = parseNpy(npy.rawPayload);
    expect(out.shape).toEqual([3]);
    expect(out.data[2]).toBeCloseTo(0, 4); // 2·0 − 3 + 3
  });

  it('predicts from an Arrow IPC table of numeric columns, answering Arrow when asked', async () => {
    const linearId = await fitLinear();
    const table = tableFromArrays({ a: new Float32Array([1, 10, 0]), b: new Float64Array([1, 0, 3]) });
    const res = await srv.app.inject({
      method: 'POST',
      url: `/v1/models/${linearId}/predict`,
      headers: { 'content-type': 'application/vnd.apache.arrow.stream', accept: 'application/vnd.apache.arrow.stream' },
      payload: Buffer.from(tableToIPC(table, 'stream')),
    });
    expect(res.statusCode).toBe(200);
    const out = Array.from(tableFromIPC(res.rawPayload).getChild('prediction')!.toArray() as Float32Array);
    // By hand: 2·1 − 1 + 3, 2·10 − 0 + 3, 2·0 − 3 + 3.
    expect(out.map((v) => Math.round(v * 1e4) / 1e4)).toEqual([4, 23, 0]);
    const text = tableFromArrays({ a: ['x', 'y'] });
    const bad = await srv.app.inject({
      method: 'POST',
      url: `/v1/models/${linearId}/predict`,
      headers: { 'content-type': 'application/vnd.apache.arrow.stream' },
      payload: Buffer.from(tableToIPC(text, 'stream')),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/only numeric columns/) });
  });

  it('serves the API documentation UI at /docs', async () => {
    const res = await srv.app.inject({ method: 'GET', url: '/docs/' });
    expect([200, 302]).toContain(res.statusCode);
    if (res.statusCode === 200) expect(res.body).toMatch(/swagger/i);
  });

  it('fits logistic and KMeans; predictions are probabilities and cluster indices', async () => {
    const lg = await srv.app.inject({ method: 'POST', url: '/v1/logistic', payload: { rows, target: labels, l2: 1 } });
    expect(lg.statusCode).toBe(200);
    const lm = lg.json() as { id: string; auc: number; nIter: number };
    expect(lm.auc).toBeGreaterThan(0.8);
    const pr = (await srv.app.inject({ method: 'POST', url: `/v1/models/${lm.id}/predict`, payload: { rows: [[0, 0], [20, 20]] } })).json() as { predictions: number[] };
    expect(pr.predictions[0]).toBeLessThan(0.5);
    expect(pr.predictions[1]).toBeGreaterThan(0.5);
    const km = await srv.app.inject({ method: 'POST', url: '/v1/kmeans', payload: { rows: [[0, 0], [0, 1], [10, 10], [10, 11]], k: 2, init: [[0, 0], [10, 10]] } });
    expect(km.statusCode).toBe(200);
    const kmm = km.json() as { id: string; labels: number[]; inertia: number };
    expect(kmm.labels).toEqual([0, 0, 1, 1]);
    expect(kmm.inertia).toBeCloseTo(1, 9); // by hand: centroids (0,0.5) and (10,10.5), four distances of 0.25
    const kp = (await srv.app.inject({ method: 'POST', url: `/v1/models/${kmm.id}/predict`, payload: { rows: [[9, 9], [1, 0]] } })).json() as { predictions: number[] };
    expect(kp.predictions).toEqual([1, 0]);
  });

  it('lists, gets and deletes models; ids cannot reach outside the data directory', async () => {
    const linearId = await fitLinear();
    const list = (await srv.app.inject({ method: 'GET', url: '/v1/models' })).json() as { models: { id: string }[] };
    expect(list.models.map((m) => m.id)).toContain(linearId);
    expect((await srv.app.inject({ method: 'GET', url: `/v1/models/${linearId}` })).statusCode).toBe(200);
    for (const bad of ['..%2F..%2Fetc%2Fpasswd', 'mdl_0000000000000000', 'x'.repeat(200)]) {
      const r = await srv.app.inject({ method: 'GET', url: `/v1/models/${bad}` });
      expect(r.statusCode).toBe(bad.length > 128 ? 400 : 404);
    }
  });

  it('models survive a restart (a new app on the same data directory)', async () => {
    const linearId = await fitLinear();
    const again = await buildApp({ engine: srv.engine, dataDir: srv.dataDir });
    try {
      const res = await again.inject({ method: 'POST', url: `/v1/models/${linearId}/predict`, payload: { rows: [[1, 1]] } });
      expect(res.statusCode).toBe(200);
      expect((res.json() as { predictions: number[] }).predictions[0]).toBeCloseTo(4, 4);
      expect((await again.inject({ method: 'DELETE', url: `/v1/models/${linearId}` })).statusCode).toBe(204);
      expect((await again.inject({ method: 'GET', url: `/v1/models/${linearId}` })).statusCode).toBe(404);
    } finally {
      await again.close();
    }
  });

  it('GET /v1/models/:id shows each kind\'s summary: the same fields, in the same order, as when it was fitted', async () => {
    const fits = [
      { url: '/v1/kmeans', payload: { rows: [[0, 0], [0, 1], [10, 10], [10, 11]], k: 2, init: [[0, 0], [10, 10]] } },
      { url: '/v1/linear', payload: { rows, target } },
      { url: '/v1/logistic', payload: { rows, target: labels, l2: 1 } },
    ];
    // oracle: the fields each kind showed before models had summary() (the server's former switch over kinds).
    const fields: Record<string, string[]> = {
      kmeans: ['k', 'cols', 'inertia', 'nIter', 'converged', 'centroids'],
      linear: ['cols', 'coefficients', 'intercept', 'r2', 'rmse', 'nRows', 'featureNames'],
      logistic: ['cols', 'coefficients', 'intercept', 'nIter', 'converged', 'logLoss', 'accuracy', 'auc', 'nRows', 'featureNames'],
    };
    for (const f of fits) {
      const fitted = (await srv.app.inject({ method: 'POST', ...f })).json() as Record<string, unknown>;
      const got = (await srv.app.inject({ method: 'GET', url: `/v1/models/${String(fitted['id'])}` })).json() as Record<string, unknown>;
      const kind = String(got['kind']);
      expect(Object.keys(got)).toEqual(['id', 'kind', 'createdAt', ...fields[kind]!]);
      const { labels: fitLabels, ...rest } = fitted;
      expect(rest).toEqual(got);
      if (kind === 'kmeans') {
        expect(fitLabels).toEqual([0, 0, 1, 1]);
        expect(got['centroids']).toEqual([[0, 0.5], [10, 10.5]]); // by hand: the means of the two pairs
      } else expect(fitLabels).toBeUndefined();
    }
  });

  it('bad input: status, code and message', async () => {
    const lin = (await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target } })).json() as { id: string };
    const wrongCols = await srv.app.inject({ method: 'POST', url: `/v1/models/${lin.id}/predict`, payload: { rows: [[1, 2, 3]] } });
    expect(wrongCols.statusCode).toBe(400);
    expect(wrongCols.json()).toMatchObject({ code: 'SHAPE_MISMATCH', message: expect.stringMatching(/expects 2 columns per row but got 3/) });
    const short = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows, target: [1, 2] } });
    expect(short.json()).toMatchObject({ code: 'SHAPE_MISMATCH', message: expect.stringMatching(/target has 2 values but rows has 60/) });
    const dup = rows.map(([a]) => [a!, a!]); // duplicate columns: XᵀX is singular without a penalty
    const sing = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows: dup, target } });
    expect([400, 422]).toContain(sing.statusCode);
    expect((sing.json() as { message: string }).message).toMatch(/ridge|l2|duplicate/i);
    const oneClass = await srv.app.inject({ method: 'POST', url: '/v1/logistic', payload: { rows, target: rows.map(() => 1) } });
    expect(oneClass.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/one class/) });
    const bigK = await srv.app.inject({ method: 'POST', url: '/v1/kmeans', payload: { rows: [[1], [2]], k: 3 } });
    expect(bigK.statusCode).toBe(400);
    expect((bigK.json() as { message: string }).message).toMatch(/k/);
  });
});
