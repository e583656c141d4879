// Item kNN with TF-IDF and BM25 weighting against the `implicit` package (TFIDFRecommender, BM25Recommender
// 0.7.3): tests/fixtures/models/knn_weighting_implicit.json, written by scripts/fixtures/make_knn_weighting_fixture.py
// from counts stored in the fixture. Every item's neighbours (implicit kept them all) and the top-8 of twelve
// users (raw similarities, normalizeSimilarity false, as implicit scores) must agree within a relative 1e-5: Quiver
// weighs in f64 and stores f32, implicit works in f64.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples } from '../../src/data/ratings.js';
import { fitItemKnn, type ItemKnnModel } from '../../src/models/knn.js';
import type { KnnWeighting } from '../../src/models/weighting.js';
import { engineFactory } from '../helpers/engines.js';

interface Ranked {
  items: number[];
  scores: number[];
}
interface Fixture {
  items: number;
  users: number;
  triples: [number, number, number][];
  n: number;
  cases: { name: string; options: { weighting: KnnWeighting; bm25K1?: number; bm25B?: number }; neighbours: Ranked[]; recommend: (Ranked & { user: number })[] }[];
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/models/knn_weighting_implicit.json', import.meta.url), 'utf8')) as Fixture;
const engine = engineFactory({ threads: 2 });
const REL = 1e-5;

/** Same items in the same order, except where two of implicit's scores are a near-tie; scores within REL. */
function expectRanked(got: { item: number; score: number }[], want: Ranked, what: string): void {
  expect(got.length, what).toBe(want.items.length);
  for (let t = 0; t < got.length; t++) {
    const w = want.scores[t]!;
    expect(Math.abs(got[t]!.score - w), `${what} rank ${t}`).toBeLessThanOrEqual(REL * Math.abs(w));
    const gap = Math.min(t > 0 ? want.scores[t - 1]! - w : Infinity, t + 1 < want.scores.length ? w - want.scores[t + 1]! : Infinity);
    if (gap > 10 * REL * Math.abs(w)) expect(got[t]!.item, `${what} rank ${t}`).toBe(want.items[t]);
  }
}

describe('item kNN weightings against implicit', () => {
  const data = interactionsFromTriples(
    fx.triples.map((t) => String(t[0])),
    fx.triples.map((t) => String(t[1])),
    fx.triples.map((t) => t[2]),
    { feedback: 'counts' },
  );

  it('the fixture covers every user and item (both sides size the catalogue alike)', () => {
    expect(data.userIds.length).toBe(fx.users);
    expect(data.itemIds.length).toBe(fx.items);
  });

  for (const c of fx.cases) {
    it(`${c.name}: every item's neighbours and the recommendations`, async () => {
      const e = await engine();
      const m: ItemKnnModel = await fitItemKnn(e, data, { ...c.options, neighbors: fx.items, normalizeSimilarity: false });
      for (let i = 0; i < fx.items; i++) {
        const got = await m.similarItems(String(i), fx.items);
        expectRanked(
          got.map((s) => ({ item: Number(s.item), score: s.score })),
          c.neighbours[i]!,
          `item ${i}`,
        );
      }
      for (const r of c.recommend) {
        const [got] = await m.recommend(String(r.user), { n: fx.n });
        expectRanked(
          got!.items.map((s) => ({ item: Number(s.item), score: s.score })),
          r,
          `user ${r.user}`,
        );
      }
    });
  }
});
