// Recommender routes through app.inject: fit from the body, a file under the data directory or the synthetic
// generator; recommend for a user and for a basket; similar items; restart; path safety; bad input.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { useServer } from '../helpers/server.js';

const srv = useServer('quiver-recs-');
// Three users; a and b share items x and y, b also has z: item kNN must offer z to a.
const interactions = { users: ['a', 'a', 'b', 'b', 'b', 'c'], items: ['x', 'y', 'x', 'y', 'z', 'w'] };

// Each test that uses a recommender fits its own (a few ms), so every test also runs alone and in any order.
async function fitItemKnn(): Promise<string> {
  const res = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: { algo: 'itemknn', interactions } });
  expect(res.statusCode).toBe(200);
  return (res.json() as { id: string }).id;
}

describe('recommender routes', () => {
  it('fits item kNN from interactions in the body and recommends unseen items', async () => {
    const res = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: { algo: 'itemknn', interactions } });
    expect(res.statusCode).toBe(200);
    const m = res.json() as { id: string; kind: string; users: number; items: number };
    expect(m).toMatchObject({ kind: 'itemknn', users: 3, items: 4 });
    expect(m.id).toMatch(/^rec_[0-9a-f]{16}$/);
    const id = m.id;
    const r = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${id}/recommend`, payload: { user: 'a', n: 5 } });
    expect(r.statusCode).toBe(200);
    // By hand: z co-occurs with x and y (user b); w co-occurs with nothing a has, so it has no score.
    expect((r.json() as { items: string[] }).items).toEqual(['z']);
  });

  it('recommends for an anonymous basket and lists similar items', async () => {
    const id = await fitItemKnn();
    const r = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${id}/recommend`, payload: { items: ['x'], n: 3 } });
    expect(r.statusCode).toBe(200);
    expect((r.json() as { items: string[] }).items.sort()).toEqual(['y', 'z']);
    const s = await srv.app.inject({ method: 'GET', url: `/v1/recommenders/${id}/similar/x?n=2` });
    expect(s.statusCode).toBe(200);
    const sim = s.json() as { items: string[]; scores: number[] };
    // cos(x, y) = 1 (both held by a and b) > cos(x, z) = 1/√2 (only b): oracle by hand.
    expect(sim.items).toEqual(['y', 'z']);
    expect(sim.scores[0]).toBeCloseTo(1, 6);
    expect(sim.scores[1]).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('fits ALS with its options and folds a basket in; a basket of unknown items gets no items', async () => {
    const res = await srv.app.inject({
      method: 'POST',
      url: '/v1/recommenders',
      payload: { algo: 'als', interactions, factors: 2, iterations: 5, regularization: 0.1, alpha: 2, solver: 'cholesky' },
    });
    expect(res.statusCode, res.body).toBe(200);
    const id = (res.json() as { id: string }).id;
    const r = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${id}/recommend`, payload: { items: ['x', 'y'], n: 2 } });
    expect(r.statusCode, r.body).toBe(200);
    const items = (r.json() as { items: string[] }).items;
    expect(items.length).toBe(2);
    for (const it of items) expect(['z', 'w']).toContain(it);
    const none = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${id}/recommend`, payload: { items: ['nope'], n: 2 } });
    expect(none.statusCode).toBe(200);
    expect((none.json() as { items: string[] }).items).toEqual([]);
    const bad = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: { algo: 'als', interactions, alpha: 0 } });
    expect(bad.statusCode).toBe(400);
  });

  it('fits from a file under the data directory and from the synthetic generator', async () => {
    writeFileSync(join(srv.dataDir, 'ratings.csv'), 'userId,movieId,rating\r\n1,10,5\r\n1,11,4\r\n2,10,3\r\n2,12,5\r\n');
    const f = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: { algo: 'popular', file: 'ratings.csv' } });
    expect(f.statusCode).toBe(200);
    const fid = (f.json() as { id: string }).id;
    const pr = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${fid}/recommend`, payload: { user: '1', n: 2 } });
    expect((pr.json() as { items: string[] }).items).toEqual(['12']);
    const syn = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: { algo: 'itemknn', synthetic: { users: 300, items: 80, interactions: 3000, seed: 1 } } });
    expect(syn.statusCode).toBe(200);
    expect(syn.json()).toMatchObject({ users: 300, items: 80 });
  });

  it('recommenders survive a restart', async () => {
    const id = await fitItemKnn();
    const again = await buildApp({ engine: srv.engine, dataDir: srv.dataDir });
    try {
      const r = await again.inject({ method: 'POST', url: `/v1/recommenders/${id}/recommend`, payload: { user: 'a', n: 5 } });
      expect((r.json() as { items: string[] }).items).toEqual(['z']);
    } finally {
      await again.close();
    }
  });

  it('bad input: status, code and message', async () => {
    const id = await fitItemKnn();
    const cases: [unknown, number, string, RegExp][] = [
      [{ algo: 'itemknn', file: '../../etc/passwd' }, 400, 'INVALID_ARGUMENT', /under the data directory/],
      [{ algo: 'itemknn', file: 'nope.csv' }, 404, 'NOT_FOUND', /no file "nope.csv"/],
      [{ algo: 'itemknn', file: '/etc/hostname' }, 400, 'INVALID_ARGUMENT', /under the data directory/],
      [{ algo: 'itemknn' }, 400, 'INVALID_ARGUMENT', /exactly one of interactions, file or synthetic/],
      [{ algo: 'magic', interactions }, 400, 'INVALID_ARGUMENT', /algo/],
      [{ algo: 'itemknn', interactions: { users: ['a'], items: ['x', 'y'] } }, 400, 'SHAPE_MISMATCH', /same length/],
    ];
    for (const [payload, status, code, msg] of cases) {
      const r = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: payload as object });
      expect(r.statusCode, JSON.stringify(payload)).toBe(status);
      expect(r.json()).toMatchObject({ code, message: expect.stringMatching(msg) });
    }
    const unknownUser = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${id}/recommend`, payload: { user: 'zz', n: 3 } });
    expect(unknownUser.statusCode).toBe(404);
    expect(unknownUser.json()).toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/user zz was not in the training data/) });
    const both = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${id}/recommend`, payload: { user: 'a', items: ['x'], n: 3 } });
    expect(both.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/exactly one of user or items/) });
    const bigN = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${id}/recommend`, payload: { user: 'a', n: 5000 } });
    expect(bigN.statusCode).toBe(400); // n ≤ maxK is in the schema
    expect(bigN.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/field "n" must be <= 1000/) });
    const missing = await srv.app.inject({ method: 'GET', url: '/v1/recommenders/rec_0123456789abcdef/similar/x' });
    expect(missing.statusCode).toBe(404);
    const user = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: { algo: 'userknn', interactions } });
    const basket = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${(user.json() as { id: string }).id}/recommend`, payload: { items: ['x'], n: 2 } });
    expect(basket.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/known users only/) });
  });
});
