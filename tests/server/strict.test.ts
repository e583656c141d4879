// Strict input on every route: null, strings for numbers, unknown fields and wrong shapes are a 400
// INVALID_ARGUMENT naming the field; a known path with another method is a 405 with Allow; every answer carries
// the request id (header and error body); the OpenAPI document lists what validation accepts.
import { describe, expect, it } from 'vitest';
import { matrixFromRows } from '../../src/data/matrix.js';
import { useServer } from '../helpers/server.js';

const srv = useServer('quiver-strict-', { limits: { maxK: 50 } });
const interactions = { users: ['a', 'a', 'b', 'b', 'c'], items: ['x', 'y', 'x', 'z', 'w'] };

async function ids(): Promise<{ model: string; rec: string }> {
  const m = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload: { rows: [[1, 2], [2, 1], [3, 5], [4, 4]], target: [1, 2, 3, 4] } });
  const r = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: { algo: 'itemknn', interactions } });
  expect(m.statusCode).toBe(200);
  expect(r.statusCode).toBe(200);
  return { model: (m.json() as { id: string }).id, rec: (r.json() as { id: string }).id };
}

describe('strict input', () => {
  it('every route: 400 INVALID_ARGUMENT naming the field', async () => {
    const { model, rec } = await ids();
    const rows = [[1, 2], [3, 4]];
    // [method, url, payload, message]: each message names the field as the caller wrote it.
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/v1/similarity', { a: [[1, null]] }, /^field "a\[0\]\[1\]" must be a number \(got null\)$/],
      ['POST', '/v1/similarity', { a: rows, metric: 'manhattan' }, /^field "metric" must be "cosine", or must be "dot"/],
      ['POST', '/v1/topk', { queries: rows, k: '1' }, /^field "k" must be an integer \(got "1"\)$/],
      ['POST', '/v1/topk', { queries: rows, k: 1, exclude_self: true }, /^unknown field "exclude_self"/],
      ['POST', '/v1/topk', { queries: [], k: 1 }, /^field "queries" must NOT have fewer than 1 items/],
      ['POST', '/v1/topk', { queries: [[]], k: 1 }, /^field "queries\[0\]" must NOT have fewer than 1 items/],
      ['POST', '/v1/kmeans', { rows: 5, k: 2 }, /^field "rows" must be an array \(got 5\)$/],
      ['POST', '/v1/kmeans', { rows, k: null }, /^field "k" must be an integer \(got null\)$/],
      ['POST', '/v1/linear', { rows, target: [1, 2], penalty: 1 }, /^unknown field "penalty"/],
      ['POST', '/v1/linear', { rows, target: [1, '2'] }, /^field "target\[1\]" must be a number \(got "2"\)$/],
      ['POST', '/v1/linear', { rows, target: [1, 2], fitIntercept: 'yes' }, /^field "fitIntercept" must be true or false/],
      ['POST', '/v1/logistic', { rows, target: [0, 1.5] }, /^field "target\[1\]" must be an integer \(got 1.5\)$/],
      ['POST', '/v1/logistic', { rows, target: [0, -1] }, /^field "target\[1\]" must be >= 0/],
      ['POST', '/v1/logistic', { target: [0, 1] }, /^give exactly one of rows or table$/],
      ['POST', '/v1/logistic', { rows, table: { columns: ['a'], records: [['x'], ['y']] }, target: [0, 1] }, /^give exactly one of rows or table, not several$/],
      ['POST', '/v1/linear', { table: { columns: ['a'], records: [[{}]] }, target: [1] }, /^field "table.records\[0\]\[0\]" must be a string, or must be a number, or must be null/],
      ['POST', '/v1/linear', { rows, target: [1, 2], validation: { holdout: 0.5, folds: 2 } }, /^give exactly one of holdout or folds in validation, not several$|^give exactly one of holdout or folds, not several$/],
      ['POST', '/v1/linear', { rows, target: [1, 2], validation: { seed: 1 } }, /^give exactly one of holdout or folds in validation$/],
      ['POST', '/v1/kmeans/choose-k', { rows, ks: ['2'] }, /^field "ks\[0\]" must be an integer \(got "2"\)$/],
      ['POST', `/v1/models/${model}/lift`, { rows, target: [0, 1] }, /^field "target" must NOT have fewer than 10 items/],
      ['POST', `/v1/models/${model}/predict`, { rows, table: { columns: ['a'], records: [['x']] } }, /^give exactly one of rows or table, not several$/],
      ['POST', `/v1/models/${model}/predict`, { rows: [['1', 2]] }, /^field "rows\[0\]\[0\]" must be a number/],
      ['POST', '/v1/recommenders', { algo: 'itemknn', interactions: { ...interactions, extra: 1 } }, /^unknown field "interactions.extra" in interactions/],
      ['POST', '/v1/recommenders', { algo: 'itemknn' }, /^give exactly one of interactions, file or synthetic$/],
      ['POST', '/v1/recommenders', { algo: 'itemknn', interactions, file: 'r.csv' }, /^give exactly one of interactions, file or synthetic, not several$/],
      ['POST', '/v1/recommenders', { algo: 'ease', synthetic: { users: 10, items: 5, interactions: 20 }, lambda: 0 }, /^field "lambda" must be >= 1e-12/],
      ['POST', '/v1/recommenders', { algo: 'itemknn', file: '' }, /^field "file" must NOT have fewer than 1 characters/],
      ['POST', `/v1/recommenders/${rec}/recommend`, { user: 'a', n: '5' }, /^field "n" must be an integer \(got "5"\)$/],
      ['POST', `/v1/recommenders/${rec}/recommend`, { n: 5 }, /^give exactly one of user or items$/],
      ['GET', `/v1/recommenders/${rec}/similar/x?n=abc`, undefined, /^query parameter "n" must be an integer/],
      ['GET', `/v1/recommenders/${rec}/similar/x?bogus=1`, undefined, /^unknown query parameter "bogus"/],
      ['POST', '/v1/topk?k=2&metrc=dot', { queries: rows, k: 1 }, /^unknown query parameter "metrc"/],
      ['GET', `/v1/models/mdl_${'0'.repeat(130)}`, undefined, /^path parameter "id" must NOT have more than 128 characters/],
    ];
    for (const [method, url, payload, message] of cases) {
      const res = await srv.app.inject({ method: method as 'GET' | 'POST', url, ...(payload === undefined ? {} : { payload: payload as object }) });
      expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)}`).toBe(400);
      const body = res.json() as { code: string; message: string; requestId: string };
      expect(body.code).toBe('INVALID_ARGUMENT');
      expect(body.message, `${method} ${url} ${JSON.stringify(payload)}`).toMatch(message);
      expect(body.requestId).toBe(res.headers['x-request-id']);
    }
  });

  it('a large JSON body (parsed in the pool) is held to the same rules, with the same messages', async () => {
    // 300 × 100 numbers: past the 256 KB at which the body is parsed, validated and packed by a worker.
    const big = Array.from({ length: 300 }, (_, i) => Array.from({ length: 100 }, (_, j) => ((i * 7 + j * 3) % 13) / 13));
    const ok = await srv.app.inject({ method: 'POST', url: '/v1/topk', payload: { queries: big, k: 2, excludeSelf: true } });
    expect(ok.statusCode).toBe(200);
    // The packed matrix is the one the rows spell: the engine called directly on them gives the same neighbours.
    const direct = await srv.engine.topK(matrixFromRows(big), undefined, { k: 2, excludeSelf: true });
    expect((ok.json() as { indices: number[][] }).indices.flat()).toEqual(Array.from(direct.indices));
    const cases: [unknown, number, string, RegExp][] = [
      [{ queries: big.map((r, i) => (i === 250 ? [...r.slice(0, 99), null] : r)), k: 2 }, 400, 'INVALID_ARGUMENT', /^field "queries\[250\]\[99\]" must be a number \(got null\)$/],
      [{ queries: big, k: 2, penalty: 1 }, 400, 'INVALID_ARGUMENT', /^unknown field "penalty"/],
      [{ queries: big.map((r, i) => (i === 7 ? r.slice(1) : r)), k: 2 }, 400, 'SHAPE_MISMATCH', /queries\[7\] has 99 values but queries\[0\] has 100/],
    ];
    for (const [payload, status, code, message] of cases) {
      const res = await srv.app.inject({ method: 'POST', url: '/v1/topk', payload: payload as object });
      expect(res.statusCode).toBe(status);
      expect(res.json()).toMatchObject({ code, message: expect.stringMatching(message) });
    }
    const text = `{"queries": ${JSON.stringify(big)}, "k": 2`; // no closing brace
    const broken = await srv.app.inject({ method: 'POST', url: '/v1/topk', headers: { 'content-type': 'application/json' }, payload: text });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/not valid JSON/) });
  });

  it('a large JSON body with a table (parsed in the pool) passes its records through as cells', async () => {
    // 12,000 records: past the 256 KB at which a worker parses and validates the body; only `rows` is packed there.
    const n = 12_000;
    const records = Array.from({ length: n }, (_, i) => {
      const a = ((i * 37) % 101) / 10;
      const b = ((i * 53) % 89) / 10;
      return [a, String(b), i % 3 === 0 ? 'v' : 'u'];
    });
    // The target is exactly 2a − 3b + 1 plus 0.5 on level v: the fit must recover those numbers.
    const target = records.map(([a, b, c]) => 2 * (a as number) - 3 * Number(b) + 1 + (c === 'v' ? 0.5 : 0));
    const payload = { table: { columns: ['a', 'b', 'c'], records }, target };
    expect(JSON.stringify(payload).length).toBeGreaterThan(256 * 1024);
    const res = await srv.app.inject({ method: 'POST', url: '/v1/linear', payload });
    expect(res.statusCode, res.body).toBe(200);
    const m = res.json() as { coefficients: number[]; intercept: number; featureNames: string[] };
    const coef = Object.fromEntries(m.featureNames.map((f, j) => [f, m.coefficients[j]!]));
    expect(coef['a']).toBeCloseTo(2, 6);
    expect(coef['b']).toBeCloseTo(-3, 6);
    expect(coef['c=v'] ?? -(coef['c=u'] ?? Number.NaN)).toBeCloseTo(0.5, 6);
  });

  it('a path parameter past the router limit is 414; a body-less binary route is 400', async () => {
    const long = await srv.app.inject({ method: 'GET', url: `/v1/models/${'a'.repeat(2000)}` });
    expect(long.statusCode).toBe(414);
    expect(long.json()).toMatchObject({ code: 'URI_TOO_LONG' });
    const none = await srv.app.inject({ method: 'POST', url: '/v1/similarity' });
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/no body/) });
  });

  it('hints name HTTP fields, never CLI flags', async () => {
    // EASE over its memory budget: the library's hint names --memory-budget, which an HTTP caller cannot pass.
    const res = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: { algo: 'ease', synthetic: { users: 20000, items: 100000, interactions: 200000 } } });
    expect(res.statusCode).toBe(413);
    const msg = (res.json() as { message: string }).message;
    expect(msg).not.toMatch(/--[a-z]/);
    expect(msg).toMatch(/"algo": "itemknn"/);
    // The JSON-only routes' 413 does not offer a binary body.
    const small = await (async () => {
      const { buildApp } = await import('../../src/server/app.js');
      return buildApp({ engine: srv.engine, dataDir: srv.dataDir, limits: { jsonBodyBytes: 1000 } });
    })();
    try {
      const big = { rows: Array.from({ length: 400 }, () => [1, 2, 3]), target: Array.from({ length: 400 }, () => 1) };
      const fit = await small.inject({ method: 'POST', url: '/v1/linear', payload: big });
      expect(fit.statusCode).toBe(413);
      expect((fit.json() as { message: string }).message).not.toMatch(/binary|npy/);
      const topk = await small.inject({ method: 'POST', url: '/v1/topk', payload: { queries: big.rows, k: 1 } });
      expect(topk.statusCode).toBe(413);
      expect((topk.json() as { message: string }).message).toMatch(/application\/x-npy/);
    } finally {
      await small.close();
    }
  });
});

describe('methods, request ids, contract', () => {
  it('a known path with another method is 405 with Allow; an unknown path is 404', async () => {
    const del = await srv.app.inject({ method: 'DELETE', url: '/v1/topk' });
    expect(del.statusCode).toBe(405);
    expect(del.headers['allow']).toBe('POST');
    expect(del.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED', message: '/v1/topk does not take DELETE; it takes POST' });
    const put = await srv.app.inject({ method: 'PUT', url: '/v1/models/mdl_0123456789abcdef' });
    expect(put.statusCode).toBe(405);
    expect(String(put.headers['allow']).split(', ')).toEqual(expect.arrayContaining(['DELETE', 'GET']));
    expect((await srv.app.inject({ method: 'GET', url: '/v1/nothing/here' })).statusCode).toBe(404);
  });

  it('x-request-id: a caller\'s plain token is kept, anything else replaced; it is on every answer', async () => {
    const mine = await srv.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-42.a:b' } });
    expect(mine.headers['x-request-id']).toBe('trace-42.a:b');
    const bad = await srv.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'evil\nline' } });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const err = await srv.app.inject({ method: 'GET', url: '/v1/models/mdl_0123456789abcdef', headers: { 'x-request-id': 'abc' } });
    expect(err.statusCode).toBe(404);
    expect(err.json()).toMatchObject({ code: 'NOT_FOUND', requestId: 'abc' });
  });

  it('/ready reports the queue and the pool; /v1/info the backend load attempts', async () => {
    const ready = await srv.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, active: 0, queued: 0, maxActive: 4, maxQueued: 64, threads: 2 });
    const info = (await srv.app.inject({ method: 'GET', url: '/v1/info' })).json() as { attempts: { backend: string; ok: boolean }[] };
    expect(info.attempts.length).toBeGreaterThan(0);
    expect(info.attempts.some((a) => a.ok && a.backend === srv.engine.info().backend)).toBe(true);
  });

  it('the OpenAPI document states limits, the one-of rules and every status', async () => {
    const doc = (await srv.app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, unknown> }>>;
    };
    const topk = doc.paths['/v1/topk']!['post']!;
    const body = topk.requestBody!.content['application/json']!.schema as { properties: Record<string, { maximum?: number; items?: { minItems?: number } }>; additionalProperties: boolean };
    expect(body.additionalProperties).toBe(false);
    expect(body.properties['k']!.maximum).toBe(50);
    expect(body.properties['queries']!.items!.minItems).toBe(1);
    expect(Object.keys(topk.responses)).toEqual(expect.arrayContaining(['200', '400', '404', '405', '413', '415', '422', '500', '503']));
    const rec = doc.paths['/v1/recommenders']!['post']!.requestBody!.content['application/json']!.schema as { oneOf: { required: string[] }[] };
    expect(rec.oneOf.map((o) => o.required[0])).toEqual(['interactions', 'file', 'synthetic']);
    expect(Object.keys(doc.paths['/v1/models/{id}']!['get']!.responses)).toContain('414');
  });
});
