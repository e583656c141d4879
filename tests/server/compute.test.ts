// The HTTP API through app.inject: status, error code and message for every route and error class.
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../../src/data/npy.js';
import { randomF32 } from '../helpers/rng.js';
import { useServer } from '../helpers/server.js';

const srv = useServer('quiver-srv-', { limits: { maxK: 50, maxSimilarityCells: 10_000, jsonBodyBytes: 200_000 } });

function expectError(res: { statusCode: number; json: () => unknown }, status: number, code: string, message: RegExp): void {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { code: string; message: string; stack?: string };
  expect(body.code).toBe(code);
  expect(body.message).toMatch(message);
  expect(body.stack).toBeUndefined();
}

describe('system routes', () => {
  it('GET /health and /v1/info', async () => {
    expect((await srv.app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    const info = (await srv.app.inject({ method: 'GET', url: '/v1/info' })).json() as { backend: string; threads: number; topkScreen?: string };
    expect(info.backend).toBe(srv.engine.info().backend);
    expect(info.threads).toBe(2);
    // Native says whether cosine top-k screens in bf16; the other backends leave it out.
    expect(info.topkScreen).toBe(info.backend === 'native' ? srv.engine.info().topkScreen : undefined);
    if (info.backend === 'native') expect(['bf16', 'off']).toContain(info.topkScreen);
  });

  it('serves the OpenAPI document at /docs/json', async () => {
    const res = await srv.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/similarity', '/v1/topk', '/health', '/v1/info']));
    // OpenAPI 3.0 takes exclusiveMinimum/exclusiveMaximum as booleans beside minimum/maximum; a numeric one (JSON
    // Schema 2019+) makes the contract fuzzer reject the whole operation.
    const numericExclusive: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) walk(node[i], `${path}/${i}`);
      } else if (node !== null && typeof node === 'object') {
        for (const [key, v] of Object.entries(node)) {
          if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof v === 'number') numericExclusive.push(`${path}/${key}`);
          walk(v, `${path}/${key}`);
        }
      }
    };
    walk(doc, '');
    expect(numericExclusive).toEqual([]);
  });

  it('unknown routes are 404 NOT_FOUND', async () => {
    expectError(await srv.app.inject({ method: 'GET', url: '/v1/nope' }), 404, 'NOT_FOUND', /no route GET \/v1\/nope/);
  });
});

describe('POST /v1/similarity and /v1/topk', () => {
  it('computes similarities from JSON rows', async () => {
    const res = await srv.app.inject({ method: 'POST', url: '/v1/similarity', payload: { a: [[1, 0], [0, 2], [1, 1]] } });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { rows: number; cols: number; similarities: number[][] };
    expect(body.rows).toBe(3);
    // Oracle: cos((1,0),(1,1)) = 1/√2 by hand.
    expect(body.similarities[0]![2]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(body.similarities[0]![1]).toBe(0);
  });

  it('top-k from JSON, from .npy and answered as Arrow', async () => {
    const rows = [[1, 0], [0.9, 0.1], [0, 1], [-1, 0]];
    const res = await srv.app.inject({ method: 'POST', url: '/v1/topk', payload: { queries: rows, k: 2, excludeSelf: true } });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { k: number; indices: number[][] };
    expect(body.indices[0]).toEqual([1, 2]); // by hand: row 1 is nearest to row 0, then row 2 (cos 0) before row 3 (cos −1)
    const x = randomF32(40 * 6, 5);
    const npy = await srv.app.inject({
      method: 'POST',
      url: '/v1/topk?k=3&excludeSelf=true',
      headers: { 'content-type': 'application/x-npy', accept: 'application/vnd.apache.arrow.stream' },
      payload: Buffer.from(encodeNpy(x, [40, 6])),
    });
    expect(npy.statusCode).toBe(200);
    const table = tableFromIPC(npy.rawPayload);
    expect(table.numRows).toBe(120);
    const direct = await srv.engine.topK({ rows: 40, cols: 6, data: x }, undefined, { k: 3, excludeSelf: true });
    expect(Array.from(table.getChild('index')!.toArray() as Int32Array)).toEqual(Array.from(direct.indices));
  });

  it('similarity answered as .npy when asked', async () => {
    const res = await srv.app.inject({
      method: 'POST',
      url: '/v1/similarity',
      headers: { accept: 'application/x-npy' },
      payload: { a: [[1, 2], [3, 4]], metric: 'dot' },
    });
    expect(res.headers['content-type']).toMatch(/application\/x-npy/);
    const m = parseNpy(res.rawPayload);
    expect(m.shape).toEqual([2, 2]);
    expect(Array.from(m.data)).toEqual([5, 11, 11, 25]); // by hand: dot products
  });

  it('bad input: status, code and message', async () => {
    expectError(
      await srv.app.inject({ method: 'POST', url: '/v1/topk', payload: { queries: [[1, 2]], base: [[1, 2, 3]], k: 1 } }),
      400,
      'SHAPE_MISMATCH',
      /queries has 2 columns but base has 3/,
    );
    expectError(await srv.app.inject({ method: 'POST', url: '/v1/topk', payload: { queries: [[1, 2], [3]], k: 1 } }), 400, 'SHAPE_MISMATCH', /queries\[1\] has 1 values/);
    expectError(await srv.app.inject({ method: 'POST', url: '/v1/topk', payload: { queries: [[1, 2]], k: 0 } }), 400, 'INVALID_ARGUMENT', /k/);
    // The schema states k ≤ maxK, so a larger k is a schema violation (400 naming k), as /docs/json says.
    expectError(await srv.app.inject({ method: 'POST', url: '/v1/topk', payload: { queries: [[1, 2]], k: 51 } }), 400, 'INVALID_ARGUMENT', /field "k" must be <= 50/);
    expectError(await srv.app.inject({ method: 'POST', url: '/v1/topk', payload: { queries: [[1, 'x']], k: 1 } }), 400, 'INVALID_ARGUMENT', /number/);
    // JSON: the schema caps a and b at √maxSimilarityCells rows; a binary body meets the cells limit itself.
    expectError(
      await srv.app.inject({ method: 'POST', url: '/v1/similarity', payload: { a: Array.from({ length: 101 }, () => [1, 2]) } }),
      400,
      'INVALID_ARGUMENT',
      /field "a" must NOT have more than 100 items/,
    );
    expectError(
      await srv.app.inject({
        method: 'POST',
        url: '/v1/similarity',
        headers: { 'content-type': 'application/x-npy' },
        payload: Buffer.from(encodeNpy(new Float32Array(101 * 2).fill(1), [101, 2])),
      }),
      413,
      'TOO_LARGE',
      /maxSimilarityCells/,
    );
    expectError(
      await srv.app.inject({ method: 'POST', url: '/v1/similarity', headers: { 'content-type': 'text/plain' }, payload: 'hello' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /application\/x-npy/,
    );
    expectError(
      await srv.app.inject({ method: 'POST', url: '/v1/similarity', headers: { 'content-type': 'application/json' }, payload: '{"a": [[1,2]' }),
      400,
      'INVALID_ARGUMENT',
      /JSON/,
    );
    expectError(
      await srv.app.inject({ method: 'POST', url: '/v1/similarity', payload: { a: Array.from({ length: 30_000 }, () => [1, 2, 3]) } }),
      413,
      'TOO_LARGE',
      /over the limit/,
    );
    expectError(
      await srv.app.inject({ method: 'POST', url: '/v1/topk?k=2', headers: { 'content-type': 'application/x-npy' }, payload: Buffer.from('garbage!') }),
      400,
      'INVALID_ARGUMENT',
      /not a \.npy file/,
    );
  });
});
