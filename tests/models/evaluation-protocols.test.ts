// Evaluation protocols: the item-stratified and time splits against their written rules (oracles computed in the
// test from the triples), the ranking metrics against hand-computed values under both definitions, the grid
// (parsing, validation, one split for every row, sorting), and the typed errors for bad input.
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples, type Interactions } from '../../src/data/ratings.js';
import { evaluateRecommender, rankingMetrics } from '../../src/models/evaluate.js';
import { evaluateGrid, gridCombinations, parseGrid } from '../../src/models/grid.js';
import { splitInteractions } from '../../src/models/split.js';
import type { CsrMatrix, TopKResult } from '../../src/types.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';
import { Rng } from '../../src/data/random.js';

const engine = engineFactory({ threads: 2 });

/** Pairs (user, item) of a CSR part, as "u:i" strings. */
function pairs(m: CsrMatrix): Set<string> {
  const out = new Set<string>();
  for (let u = 0; u < m.rows; u++) for (let p = m.indptr[u]!; p < m.indptr[u + 1]!; p++) out.add(`${u}:${m.indices[p]}`);
  return out;
}

/** Random interactions: 60 users, 40 items, item popularity skewed so some items have one interaction. */
function randomData(seed: number): Interactions {
  const rng = new Rng(seed);
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < 60; u++) {
    for (let t = 0; t < 12; t++) {
      users.push(u);
      items.push(Math.floor(40 * rng.next() ** 2));
    }
  }
  users.push(60);
  items.push(999); // an item with a single interaction
  return interactionsFromTriples(users, items, null, { feedback: 'binary' });
}

describe('item-stratified split', () => {
  const data = randomData(5);
  const m = data.matrix;
  it('keeps, for each item, the positions r of n with r/n ≤ ratio in training (⌊ratio·n⌋ of them)', () => {
    for (const ratio of [0.75, 0.5, 0.8]) {
      const { train, test } = splitInteractions(data, { by: 'item', ratio, seed: 42 });
      const all = pairs(m);
      const tr = pairs(train.train);
      const te = pairs(test);
      expect(tr.size + te.size).toBe(all.size);
      for (const p of tr) expect(te.has(p)).toBe(false);
      for (const p of [...tr, ...te]) expect(all.has(p)).toBe(true);
      // Oracle: per item, count of the whole data and of the training part.
      const count = new Map<number, number>();
      const inTrain = new Map<number, number>();
      for (const p of all) count.set(Number(p.split(':')[1]), (count.get(Number(p.split(':')[1])) ?? 0) + 1);
      for (const p of tr) inTrain.set(Number(p.split(':')[1]), (inTrain.get(Number(p.split(':')[1])) ?? 0) + 1);
      for (const [item, n] of count) {
        let want = 0;
        for (let r = 1; r <= n; r++) if (r / n <= ratio) want++;
        expect(inTrain.get(item) ?? 0, `item ${item}, n ${n}`).toBe(want);
      }
    }
  });
  it('sends an item seen once wholly to the test set', () => {
    const { test } = splitInteractions(data, { by: 'item', ratio: 0.75, seed: 1 });
    const single = data.itemIds.indexOf('999');
    expect(pairs(test).has(`${data.userIds.indexOf('60')}:${single}`)).toBe(true);
  });
  it('is the same for the same seed and differs for another', () => {
    const a = pairs(splitInteractions(data, { by: 'item', seed: 42 }).test);
    const b = pairs(splitInteractions(data, { by: 'item', seed: 42 }).test);
    const c = pairs(splitInteractions(data, { by: 'item', seed: 43 }).test);
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
  });
});

describe('time split', () => {
  // u0 has 4 interactions at times 10, 40, 20, 30 (items a b c d); u1 has 2, tied in time (items e, a).
  const data = interactionsFromTriples(['u0', 'u0', 'u0', 'u0', 'u1', 'u1'], ['a', 'b', 'c', 'd', 'e', 'a'], null, {
    feedback: 'binary',
    timestamps: [10, 40, 20, 30, 5, 5],
  });
  const id = (u: string, i: string) => `${data.userIds.indexOf(u)}:${data.itemIds.indexOf(i)}`;
  it('holds out each user\'s latest interactions, round(ratio·n) kept in training', () => {
    const { train, test } = splitInteractions(data, { by: 'time', ratio: 0.75 });
    // u0: round(3) = 3 earliest (a@10, c@20, d@30) train, b@40 tests. u1: round(1.5) = 2 (half to even) train.
    expect(pairs(test)).toEqual(new Set([id('u0', 'b')]));
    expect(pairs(train.train)).toEqual(new Set([id('u0', 'a'), id('u0', 'c'), id('u0', 'd'), id('u1', 'e'), id('u1', 'a')]));
    const half = splitInteractions(data, { by: 'time', ratio: 0.5 });
    // u0: 2 earliest train; u1: round(1) = 1, the tie broken by item index (a is item 0, e item 4): a trains.
    expect(pairs(half.test)).toEqual(new Set([id('u0', 'b'), id('u0', 'd'), id('u1', 'e')]));
  });
  it('a repeated pair keeps its latest time', () => {
    const d = interactionsFromTriples(['u', 'u', 'u'], ['x', 'y', 'x'], null, { feedback: 'binary', timestamps: [1, 2, 3] });
    expect(Array.from(d.timestamps!)).toEqual([3, 2]);
  });
  it('without timestamps: INVALID_ARGUMENT saying what to pass', async () => {
    const plain = interactionsFromTriples(['u', 'u'], ['x', 'y']);
    await expectCode(() => splitInteractions(plain, { by: 'time' }), 'INVALID_ARGUMENT', /--timestamp-col/);
    const e = await engine();
    await expectCode(evaluateRecommender(e, plain, { algo: 'popular', splitBy: 'time' }), 'INVALID_ARGUMENT', /time split needs the time/);
  });
});

describe('split bad input', () => {
  const data = randomData(2);
  it('a ratio outside (0, 1) or an unknown protocol is INVALID_ARGUMENT', async () => {
    for (const by of ['user', 'item'] as const) {
      for (const ratio of [0, 1, 1.5, -0.2, Number.NaN]) {
        await expectCode(() => splitInteractions(data, { by, ratio }), 'INVALID_ARGUMENT', /between 0 and 1/);
      }
    }
    await expectCode(() => splitInteractions(data, { by: 'random' as 'user' }), 'INVALID_ARGUMENT', /user, item, time/);
  });
});

describe('ranking metrics, hand-computed', () => {
  // k = 3. u0: recs 5 1 7, T = {1, 7, 9, 11}: hits at ranks 2 and 3. u1: one rec (2), T = {2}.
  // u2: no test items (not scored). u3: T = {4}, no recommendation at all.
  const recs: TopKResult = { rows: 4, k: 3, requestedK: 3, indices: Int32Array.from([5, 1, 7, 2, -1, -1, 3, 4, 6, -1, -1, -1]), scores: new Float32Array(12) };
  const test: CsrMatrix = { rows: 4, cols: 12, indptr: Int32Array.from([0, 4, 5, 5, 6]), indices: Int32Array.from([1, 7, 9, 11, 2, 4]), data: new Float32Array(6).fill(1) };
  // u0: precision 2/3, recall 2/4, DCG = 1/log2(3) + 1/log2(4) = 0.63092975 + 0.5 = 1.13092975,
  //     IDCG (3 terms) = 1 + 0.63092975 + 0.5 = 2.13092975, nDCG = 0.53072127; Σ precision@hit = 1/2 + 2/3 = 7/6,
  //     AP = (7/6) / min(3, 4) = 0.38888889 (quiver) or (7/6) / 4 = 0.29166667 (recommenders).
  // u1: precision 1/3, recall 1, nDCG 1, AP 1 under both.  u3: all zero (quiver) or left out (recommenders).
  it('quiver: averaged over every user with a test item', () => {
    const r = rankingMetrics(recs, test, 3);
    expect(r.users).toBe(3);
    expect(r.usersWithoutRecommendations).toBe(1);
    expect(r.precision).toBeCloseTo((2 / 3 + 1 / 3 + 0) / 3, 12);
    expect(r.recall).toBeCloseTo((0.5 + 1 + 0) / 3, 12);
    expect(r.ndcg).toBeCloseTo((0.53072127 + 1 + 0) / 3, 7);
    expect(r.map).toBeCloseTo((0.38888889 + 1 + 0) / 3, 7);
  });
  it('recommenders: MAP over |T|, users with recommendations only', () => {
    const r = rankingMetrics(recs, test, 3, 'recommenders');
    expect(r.users).toBe(2);
    expect(r.precision).toBeCloseTo(0.5, 12);
    expect(r.recall).toBeCloseTo(0.75, 12);
    expect(r.ndcg).toBeCloseTo((0.53072127 + 1) / 2, 7);
    expect(r.map).toBeCloseTo((0.29166667 + 1) / 2, 7);
  });
  it('bad k or definition is INVALID_ARGUMENT', async () => {
    await expectCode(() => rankingMetrics(recs, test, 0), 'INVALID_ARGUMENT', /k must be/);
    await expectCode(() => rankingMetrics(recs, test, 3, 'spark' as 'quiver'), 'INVALID_ARGUMENT', /quiver, recommenders/);
  });
});

describe('grid', () => {
  it('parses the text and JSON forms alike, kebab-case names included', () => {
    const text = parseGrid('itemknn', 'neighbors=10,20; shrink=0,2.5;normalize-similarity=true,false');
    const json = parseGrid('itemknn', '{"neighbors":[10,20],"shrink":[0,2.5],"normalizeSimilarity":[true,false]}');
    expect(text).toEqual({ neighbors: [10, 20], shrink: [0, 2.5], normalizeSimilarity: [true, false] });
    expect(json).toEqual(text);
    expect(parseGrid('als', 'factors=32,64,128;alpha=1,10,40')).toEqual({ factors: [32, 64, 128], alpha: [1, 10, 40] });
    const combos = gridCombinations({ a: [1, 2], b: ['x', 'y', 'z'] });
    expect(combos).toEqual([
      { a: 1, b: 'x' },
      { a: 1, b: 'y' },
      { a: 1, b: 'z' },
      { a: 2, b: 'x' },
      { a: 2, b: 'y' },
      { a: 2, b: 'z' },
    ]);
  });
  it('bad grids are INVALID_ARGUMENT naming what is wrong', async () => {
    const e = await expectCode(() => parseGrid('ease', 'factors=32,64'), 'INVALID_ARGUMENT', /unknown grid parameter "factors" for ease.*known: lambda/);
    expect(e.details?.['known']).toEqual(['lambda']);
    await expectCode(() => parseGrid('itemknn', 'neighbors='), 'INVALID_ARGUMENT', /empty value list/);
    await expectCode(() => parseGrid('itemknn', '{"neighbors":[]}'), 'INVALID_ARGUMENT', /empty value list/);
    await expectCode(() => parseGrid('itemknn', 'neighbors=10,,20'), 'INVALID_ARGUMENT', /empty value/);
    await expectCode(() => parseGrid('itemknn', 'neighbors=0,10'), 'INVALID_ARGUMENT', /whole number ≥ 1/);
    await expectCode(() => parseGrid('itemknn', 'neighbors=1.5'), 'INVALID_ARGUMENT', /whole number/);
    await expectCode(() => parseGrid('ease', 'lambda=0'), 'INVALID_ARGUMENT', /number > 0/);
    await expectCode(() => parseGrid('itemknn', 'similarity=jaccard'), 'INVALID_ARGUMENT', /cosine, adjusted-cosine, pearson/);
    await expectCode(() => parseGrid('itemknn', 'neighbors=1;neighbors=2'), 'INVALID_ARGUMENT', /given twice/);
    await expectCode(() => parseGrid('itemknn', 'neighbors'), 'INVALID_ARGUMENT', /has no "="/);
    await expectCode(() => parseGrid('itemknn', '{"neighbors":'), 'INVALID_ARGUMENT', /not valid JSON/);
    await expectCode(() => parseGrid('itemknn', ''), 'INVALID_ARGUMENT', /grid is empty/);
    await expectCode(() => parseGrid('popular', 'neighbors=5'), 'INVALID_ARGUMENT', /no hyper-parameters/);
  });
  it('evaluates every combination on one split, sorted by the metric', async () => {
    const e = await engine();
    const data = randomData(9);
    const r = await evaluateGrid(e, data, { algo: 'itemknn', grid: 'neighbors=2,8;shrink=0,5', k: 5, splitBy: 'item', sortBy: 'precision' });
    expect(r.rows.length).toBe(4);
    for (let i = 1; i < r.rows.length; i++) expect(r.rows[i - 1]!.precision).toBeGreaterThanOrEqual(r.rows[i]!.precision);
    // Each row is what a single evaluation with those options on the same split scores.
    for (const row of r.rows) {
      const one = await evaluateRecommender(e, data, { algo: 'itemknn', ...(row.params as { neighbors: number; shrink: number }), k: 5, splitBy: 'item' });
      expect(row.precision).toBe(one.precision);
      expect(row.ndcg).toBe(one.ndcg);
    }
    await expectCode(evaluateGrid(e, data, { algo: 'popular', grid: {}, k: 5 }), 'INVALID_ARGUMENT', /grid is empty.*no hyper-parameters/);
    await expectCode(evaluateGrid(e, data, { algo: 'itemknn', grid: 'neighbors=2', sortBy: 'auc' as 'ndcg' }), 'INVALID_ARGUMENT', /sortBy/);
  }, 60_000);
});
