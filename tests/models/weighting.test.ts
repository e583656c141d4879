// Item kNN with TF-IDF and BM25 weighting, on the backend this pass selected: against a float64 oracle written
// here (weights, then the cosine or dot product of every item pair, then each item's top neighbours), on both
// similarity kernels, save/load, and the typed errors of bad options.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples, type Interactions } from '../../src/data/ratings.js';
import { SyntheticInteractions } from '../../src/data/synthetic.js';
import { fitItemKnn, fitUserKnn, ItemKnnModel } from '../../src/models/knn.js';
import { fitRecommender, loadRecommender } from '../../src/models/recommenders.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';

const engine = engineFactory({ threads: 2 });
const dir = mkdtempSync(join(tmpdir(), 'quiver-weighting-'));

/** Dense users × items values of a data set, in f64. */
function denseOf(d: Interactions): number[][] {
  const m = d.matrix;
  const out = Array.from({ length: m.rows }, () => new Array<number>(m.cols).fill(0));
  for (let u = 0; u < m.rows; u++) for (let p = m.indptr[u]!; p < m.indptr[u + 1]!; p++) out[u]![m.indices[p]!] = m.data[p]!;
  return out;
}

/** The oracle: item × item similarities of the weighted items × users matrix, written from the formulas. */
function oracleSimilarity(x: number[][], weighting: 'tfidf' | 'bm25', k1 = 1.2, b = 0.75): number[][] {
  const users = x.length;
  const items = x[0]!.length;
  // Documents are items, terms are users: idf_u = ln(items) − ln(1 + items user u touched).
  const idf = x.map((row) => Math.log(items) - Math.log(1 + row.filter((v) => v !== 0).length));
  const len = Array.from({ length: items }, (_, i) => x.reduce((s, row) => s + row[i]!, 0));
  const avg = len.reduce((s, v) => s + v, 0) / items;
  const w = Array.from({ length: items }, (_, i) =>
    Array.from({ length: users }, (_, u) => {
      const r = x[u]![i]!;
      if (r === 0) return 0;
      if (weighting === 'tfidf') return Math.sqrt(r) * idf[u]!;
      return ((r * (k1 + 1)) / (k1 * (1 - b + (b * len[i]!) / avg) + r)) * idf[u]!;
    }),
  );
  const dot = (a: number[], c: number[]) => a.reduce((s, v, t) => s + v * c[t]!, 0);
  const norm = w.map((a) => Math.sqrt(dot(a, a)));
  return w.map((a, i) => w.map((c, j) => (weighting === 'tfidf' ? (norm[i]! > 0 && norm[j]! > 0 ? dot(a, c) / (norm[i]! * norm[j]!) : 0) : dot(a, c))));
}

/** Each item's other items by the oracle, best first (s > 0, ties to the lower index). */
function oracleNeighbours(s: number[][]): { item: number; score: number }[][] {
  return s.map((row, i) =>
    row
      .map((score, item) => ({ item, score }))
      .filter((e) => e.item !== i && e.score > 0)
      .sort((a, c) => c.score - a.score || a.item - c.item),
  );
}

/** `full` holds every positive neighbour (the one after the k-th decides whether the k-th is a near-tie). */
function expectNeighbours(m: ItemKnnModel, full: { item: number; score: number }[][], k: number, tol: number): void {
  const nb = m.neighbours;
  for (let i = 0; i < full.length; i++) {
    const got = Array.from({ length: nb.indptr[i + 1]! - nb.indptr[i]! }, (_, t) => ({ item: nb.indices[nb.indptr[i]! + t]!, score: nb.data[nb.indptr[i]! + t]! }));
    const want = full;
    expect(got.length, `item ${i}`).toBe(Math.min(k, full[i]!.length));
    for (let t = 0; t < got.length; t++) {
      // A near-tie may swap places in f32: compare the score at each rank, and the item where the gap is clear.
      expect(Math.abs(got[t]!.score - want[i]![t]!.score), `item ${i} rank ${t}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]![t]!.score)));
      const gapNext = t + 1 < full[i]!.length ? want[i]![t]!.score - want[i]![t + 1]!.score : Infinity;
      const gapPrev = t > 0 ? want[i]![t - 1]!.score - want[i]![t]!.score : Infinity;
      if (Math.min(gapNext, gapPrev) > 1e-4 * Math.max(1, Math.abs(want[i]![t]!.score))) expect(got[t]!.item, `item ${i} rank ${t}`).toBe(want[i]![t]!.item);
    }
  }
}

// Counts with different user activity and item lengths, so idf and the BM25 length term both matter; user u5
// touched every item (idf < 0) and u6 all but one (idf = 0).
const COUNTS = interactionsFromTriples(
  ['u0', 'u0', 'u0', 'u1', 'u1', 'u2', 'u2', 'u2', 'u3', 'u3', 'u4', 'u4', 'u4', 'u4', 'u5', 'u5', 'u5', 'u5', 'u5', 'u5', 'u6', 'u6', 'u6', 'u6', 'u6'],
  ['a', 'b', 'c', 'a', 'd', 'b', 'c', 'e', 'd', 'f', 'a', 'c', 'e', 'f', 'a', 'b', 'c', 'd', 'e', 'f', 'a', 'b', 'c', 'd', 'e'],
  [3, 1, 2, 5, 1, 2, 2, 7, 1, 4, 1, 1, 2, 3, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1],
  { feedback: 'counts' },
);

describe('item kNN weightings against a float64 oracle', () => {
  for (const kernel of ['sparse', 'dense'] as const) {
    it(`tfidf and bm25 on counts (${kernel} kernel)`, async () => {
      const e = await engine();
      const x = denseOf(COUNTS);
      for (const [weighting, k1, b] of [
        ['tfidf', undefined, undefined],
        ['bm25', undefined, undefined],
        ['bm25', 100, 0.8],
        ['bm25', 0.5, 0],
        ['bm25', 3, 1],
      ] as const) {
        const m = await fitItemKnn(e, COUNTS, { neighbors: 3, weighting, bm25K1: k1, bm25B: b, kernel });
        expectNeighbours(m, oracleNeighbours(oracleSimilarity(x, weighting, k1 ?? 1.2, b ?? 0.75)), 3, 1e-5);
        expect(m.options.weighting).toBe(weighting);
        expect(m.options.bm25K1).toBe(weighting === 'bm25' ? (k1 ?? 1.2) : undefined);
      }
    });
  }

  it('binary synthetic data: both weightings on the pool (several row blocks) match the oracle', async () => {
    const data = new SyntheticInteractions({ users: 200, items: 90, interactions: 3000, seed: 5 }).toInteractions();
    const x = denseOf(data);
    const e = await engine();
    for (const weighting of ['tfidf', 'bm25'] as const) {
      const m = await fitItemKnn(e, data, { neighbors: 8, weighting, kernel: 'sparse' });
      expectNeighbours(m, oracleNeighbours(oracleSimilarity(x, weighting)), 8, 1e-4);
    }
  });

  it('weighting none is the plain cosine (the default; options and bundles as before the weightings)', async () => {
    const e = await engine();
    const a = await fitItemKnn(e, COUNTS, { neighbors: 3 });
    const b = await fitItemKnn(e, COUNTS, { neighbors: 3, weighting: 'none' });
    expect(a.options.weighting).toBeUndefined();
    expect(b.toBundle().params).toEqual(a.toBundle().params);
    expect(Array.from(b.neighbours.data)).toEqual(Array.from(a.neighbours.data));
  });

  it('scores users with the raw values against the weighted neighbours, and saves and loads the weighting', async () => {
    const e = await engine();
    const m = await fitRecommender(e, 'itemknn', COUNTS, { neighbors: 3, weighting: 'bm25', bm25K1: 2, bm25B: 0.5, normalizeSimilarity: false });
    const path = join(dir, 'bm25.json');
    await m.save(path);
    const back = await loadRecommender(path, e);
    expect(back).toBeInstanceOf(ItemKnnModel);
    expect((back as ItemKnnModel).options).toMatchObject({ weighting: 'bm25', bm25K1: 2, bm25B: 0.5 });
    expect(await back.recommend('u1', { n: 4 })).toEqual(await m.recommend('u1', { n: 4 }));
    // Oracle of the score: Σ over the user's items j of r_uj · s(j → i), s from the stored neighbour lists.
    const [u1] = await m.recommend('u1', { n: 6 });
    const nb = (m as ItemKnnModel).neighbours;
    const idx = (id: string) => m.itemIds.indexOf(id);
    const s = (j: number, i: number) => {
      for (let p = nb.indptr[j]!; p < nb.indptr[j + 1]!; p++) if (nb.indices[p] === i) return nb.data[p]!;
      return 0;
    };
    for (const { item, score } of u1!.items) expect(score).toBeCloseTo(5 * s(idx('a'), idx(item)) + 1 * s(idx('d'), idx(item)), 4);
  });
});

describe('item kNN weightings: bad input', () => {
  it('typed errors name the option', async () => {
    const e = await engine();
    await expectCode(fitItemKnn(e, COUNTS, { weighting: 'bm26' as never }), 'INVALID_ARGUMENT', /weighting must be none, tfidf or bm25/);
    await expectCode(fitItemKnn(e, COUNTS, { weighting: 'bm25', bm25K1: 0 }), 'INVALID_ARGUMENT', /bm25K1 must be a number > 0/);
    await expectCode(fitItemKnn(e, COUNTS, { weighting: 'bm25', bm25K1: -1 }), 'INVALID_ARGUMENT', /bm25K1/);
    await expectCode(fitItemKnn(e, COUNTS, { weighting: 'bm25', bm25B: 1.5 }), 'INVALID_ARGUMENT', /bm25B must be a number in \[0, 1\]/);
    await expectCode(fitItemKnn(e, COUNTS, { weighting: 'bm25', bm25B: -0.1 }), 'INVALID_ARGUMENT', /bm25B/);
    await expectCode(fitItemKnn(e, COUNTS, { weighting: 'bm25', bm25B: Number.NaN }), 'INVALID_ARGUMENT', /bm25B/);
    await expectCode(fitItemKnn(e, COUNTS, { weighting: 'bm25', shrink: 5 }), 'INVALID_ARGUMENT', /no shrink term/);
    await expectCode(fitItemKnn(e, COUNTS, { weighting: 'tfidf', similarity: 'pearson' }), 'INVALID_ARGUMENT', /use similarity cosine with a weighting/);
    await expectCode(fitUserKnn(e, COUNTS, { weighting: 'tfidf' } as never), 'INVALID_ARGUMENT', /item kNN option/);
    await expectCode(fitRecommender(e, 'userknn', COUNTS, { weighting: 'bm25' }), 'INVALID_ARGUMENT', /item kNN option/);
  });

  it('negative values (centred or negative ratings) are refused', async () => {
    const e = await engine();
    const d = interactionsFromTriples(['x', 'x', 'y', 'y'], ['p', 'q', 'p', 'q'], [1, -2, 3, 1]);
    await expectCode(fitItemKnn(e, d, { weighting: 'tfidf' }), 'INVALID_ARGUMENT', /values ≥ 0/);
  });
});
