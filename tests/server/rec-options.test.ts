// The recommender options added for issue 13 over HTTP: item kNN weightings and back-fill (a reply gains its
// sources array only when something was back-filled), and their bad values answered 400 by the schema.
import { describe, expect, it } from 'vitest';
import { useServer } from '../helpers/server.js';

const srv = useServer('quiver-rec-options-');
// a and b share x and y, b also has z; c only has w, which nobody else has: item kNN has nothing for c.
const interactions = { users: ['a', 'a', 'b', 'b', 'b', 'c'], items: ['x', 'y', 'x', 'y', 'z', 'w'] };

// With d's two items the catalogue is large enough that b (three of six items) keeps an idf > 0.
const wider = { users: [...interactions.users, 'd', 'd'], items: [...interactions.items, 'v', 'u'] };

async function fitBody(body: Record<string, unknown>, data = interactions): Promise<{ statusCode: number; id: string; body: string }> {
  const res = await srv.app.inject({ method: 'POST', url: '/v1/recommenders', payload: { algo: 'itemknn', interactions: data, ...body } });
  return { statusCode: res.statusCode, id: res.statusCode === 200 ? (res.json() as { id: string }).id : '', body: res.body };
}

describe('recommender options over HTTP', () => {
  it('weighting tfidf and bm25 fit; bad values are 400', async () => {
    for (const w of [{ weighting: 'tfidf' }, { weighting: 'bm25', bm25K1: 2, bm25B: 0.5 }]) {
      const r = await fitBody(w, wider);
      expect(r.statusCode, r.body).toBe(200);
      const rec = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${r.id}/recommend`, payload: { user: 'a', n: 3 } });
      expect((rec.json() as { items: string[] }).items).toEqual(['z']);
    }
    for (const bad of [{ weighting: 'bm26' }, { weighting: 'bm25', bm25K1: 0 }, { weighting: 'bm25', bm25B: 1.5 }, { backfill: 'random' }]) {
      const r = await fitBody(bad);
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
    }
  });

  it('backfill popular: c gets popular items marked in sources; replies without fillers keep two arrays', async () => {
    const r = await fitBody({ backfill: 'popular' });
    expect(r.statusCode, r.body).toBe(200);
    const c = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${r.id}/recommend`, payload: { user: 'c', n: 2 } });
    // Oracle: x and y have two users each (x seen first), z one.
    expect(c.json()).toEqual({ items: ['x', 'y'], scores: [-1, -2], sources: ['popular', 'popular'] });
    const a = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${r.id}/recommend`, payload: { user: 'a', n: 1 } });
    expect(Object.keys(a.json() as object).sort()).toEqual(['items', 'scores']);
    const off = await srv.app.inject({ method: 'POST', url: `/v1/recommenders/${r.id}/recommend`, payload: { user: 'c', n: 2, backfill: 'none' } });
    expect(off.json()).toEqual({ items: [], scores: [] });
  });
});
