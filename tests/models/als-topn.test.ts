// ALS recommend-all against an oracle written here: f64 scores x_u·y_j over every item, seen and disallowed
// items masked, the n best by score then lower index. The users range from a handful of interactions to most of
// the catalogue (and one who has seen every item, so gets nothing), duplicated item factors make exact ties, and
// the masks cover an exclude list (merged into the seen lists) and an include list (scored on the allowed items).
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples } from '../../src/data/ratings.js';
import { Rng } from '../../src/data/random.js';
import { AlsModel, fitAls } from '../../src/models/als.js';
import { alsTopNLimits } from '../../src/models/als-topn.js';
import { engineFactory } from '../helpers/engines.js';

const engine = engineFactory({ threads: 2 });
const ITEMS = 1200;
const USERS = 40;

/** User u rates a number of items that grows with u: from 2 to most of the catalogue; users below LIGHT rate
 * 7 to 12 items of their own hundred (see the second test). */
const LIGHT = 8;
function data() {
  const rng = new Rng(7);
  const us: number[] = [];
  const is: number[] = [];
  for (let u = 0; u < USERS; u++) {
    const count = u < LIGHT ? 7 + (u % 6) : Math.min(ITEMS - 20, 2 + Math.floor((u / USERS) ** 3 * ITEMS));
    const picked = new Set<number>();
    while (picked.size < count) picked.add(u < LIGHT ? u * 100 + rng.int(100) : rng.int(ITEMS));
    for (const j of picked) {
      us.push(u);
      is.push(j);
    }
  }
  // One more user rates every item, so the catalogue stays ITEMS wide.
  for (let j = 0; j < ITEMS; j++) {
    us.push(USERS);
    is.push(j);
  }
  return interactionsFromTriples(us, is, null, { feedback: 'binary' });
}

/** Oracle: the n best (score desc, index asc) of f64 scores, without seen and disallowed items. */
function oracle(m: AlsModel, u: number, n: number, allow: Int32Array | null): { idx: number[]; score: number[] } {
  const k = m.factors;
  const seen = new Set(m.train.indices.subarray(m.train.indptr[u]!, m.train.indptr[u + 1]!));
  const cand: { j: number; s: number }[] = [];
  for (let j = 0; j < m.items; j++) {
    if (seen.has(j) || (allow && allow[j] === 0)) continue;
    let s = 0;
    for (let f = 0; f < k; f++) s += m.userFactors[u * k + f]! * m.itemFactors[j * k + f]!;
    cand.push({ j, s });
  }
  cand.sort((a, b) => b.s - a.s || a.j - b.j);
  const top = cand.slice(0, n);
  return { idx: top.map((c) => c.j), score: top.map((c) => c.s) };
}

describe('ALS recommend-all', () => {
  it('light and heavy users, with and without an allow mask, equal the dense f64 oracle (ties to the lower index)', async () => {
    const e = await engine();
    const m = await fitAls(e, data(), { factors: 8, iterations: 3, regularization: 1, alpha: 2, seed: 3 });
    // Ties: every fifth item gets the factors of the item before it (the top-k stages the factors on first use).
    const k = m.factors;
    for (let j = 1; j < m.items; j += 5) m.itemFactors.copyWithin(j * k, (j - 1) * k, j * k);
    const allow = new Int32Array(m.items).fill(1);
    for (let j = 0; j < m.items; j += 3) allow[j] = 0;
    // An include list: 15 items, some of them seen by most users (so short rows happen).
    const include = new Int32Array(m.items);
    for (let j = 7; j < m.items; j += 80) include[j] = 1;
    for (const mask of [null, allow, include]) {
      for (const n of [1, 10, 25]) {
        const res = await m.recommendRows({ row0: 0, row1: m.users }, { n, allow: mask });
        expect(res.k).toBe(n);
        for (let u = 0; u < m.users; u++) {
          const want = oracle(m, u, n, mask);
          const got = Array.from(res.indices.subarray(u * n, u * n + want.idx.length));
          const scores = Array.from(res.scores.subarray(u * n, u * n + want.idx.length));
          // f32 scores against f64: equal within rounding; the items are the same unless two scores are that close.
          for (let p = 0; p < want.idx.length; p++) expect(scores[p]).toBeCloseTo(want.score[p]!, 4);
          const near = want.score.some((s, p) => p > 0 && s !== want.score[p - 1] && Math.abs(s - want.score[p - 1]!) < 1e-5);
          if (!near) expect(got, `user ${u}, n ${n}`).toEqual(want.idx);
          for (let p = want.idx.length; p < n; p++) expect(res.indices[u * n + p]).toBe(-1);
        }
      }
    }
    // A subset of rows in another order gives the same rows.
    const some = Int32Array.from([USERS, 3, USERS - 1, 0]);
    const all = await m.recommendRows({ row0: 0, row1: m.users }, { n: 10 });
    const sub = await m.recommendRows(some, { n: 10 });
    for (const [i, u] of some.entries()) {
      expect(Array.from(sub.indices.subarray(i * 10, i * 10 + 10))).toEqual(Array.from(all.indices.subarray(u * 10, u * 10 + 10)));
    }
  });
  it('an exclude list over many rows goes in chunks of rows (bounded list memory) with the same answers', async () => {
    const e = await engine();
    const m = await fitAls(e, data(), { factors: 8, iterations: 2, regularization: 1, alpha: 2, seed: 5 });
    const allow = new Int32Array(m.items).fill(1);
    for (let j = 0; j < m.items; j += 4) allow[j] = 0;
    const saved = alsTopNLimits.listCap;
    // Count the top-k calls: one for every user under the default cap, one per chunk under a small one.
    const topK = e.topKExcluding.bind(e);
    let calls = 0;
    e.topKExcluding = (...args: Parameters<typeof topK>) => {
      calls++;
      return topK(...args);
    };
    await m.recommendRows({ row0: 0, row1: m.users }, { n: 10, allow });
    expect(calls).toBe(1);
    // 300 forbidden items + 64 per row: a cap of 1,000 entries makes chunks of 2 rows.
    alsTopNLimits.listCap = 1000;
    try {
      calls = 0;
      const res = await m.recommendRows({ row0: 0, row1: m.users }, { n: 10, allow });
      expect(calls).toBe(Math.ceil(m.users / 2));
      for (let u = 0; u < m.users; u++) {
        const want = oracle(m, u, 10, allow);
        const scores = Array.from(res.scores.subarray(u * 10, u * 10 + want.idx.length));
        for (let p = 0; p < want.idx.length; p++) expect(scores[p]).toBeCloseTo(want.score[p]!, 4);
        const near = want.score.some((s, p) => p > 0 && Math.abs(s - want.score[p - 1]!) < 1e-5);
        if (!near) expect(Array.from(res.indices.subarray(u * 10, u * 10 + want.idx.length)), `user ${u}`).toEqual(want.idx);
        for (let p = want.idx.length; p < 10; p++) expect(res.indices[u * 10 + p]).toBe(-1);
      }
    } finally {
      alsTopNLimits.listCap = saved;
      e.topKExcluding = topK;
    }
  });

  it('users whose own items are their best (every top-scoring cell is excluded) equal the oracle', async () => {
    const e = await engine();
    const m = await fitAls(e, data(), { factors: 8, iterations: 2, regularization: 1, alpha: 2, seed: 4 });
    const k = m.factors;
    // Light user u points along axis u, and its 7–12 items far along it: they are its best, so every score that
    // would enter the heap first is one the exclusion list must skip.
    for (let u = 0; u < LIGHT; u++) {
      m.userFactors.fill(0, u * k, (u + 1) * k);
      m.userFactors[u * k + u] = 10;
      for (const j of m.train.indices.subarray(m.train.indptr[u]!, m.train.indptr[u + 1]!)) {
        m.itemFactors.fill(0, j * k, (j + 1) * k);
        m.itemFactors[j * k + u] = 100;
      }
    }
    const n = 10;
    const res = await m.recommendRows({ row0: 0, row1: LIGHT }, { n });
    for (let u = 0; u < LIGHT; u++) {
      const want = oracle(m, u, n, null);
      expect(Array.from(res.indices.subarray(u * n, (u + 1) * n)), `user ${u}`).toEqual(want.idx);
      for (let p = 0; p < n; p++) expect(res.scores[u * n + p]).toBeCloseTo(want.score[p]!, 4);
    }
  });

  it('the same rows, bit for bit, with 1 and 2 threads and any tile size', async () => {
    const ref = await engine({ threads: 1 });
    const m = await fitAls(ref, data(), { factors: 8, iterations: 2, regularization: 1, alpha: 2, seed: 5 });
    const one = await m.recommendRows({ row0: 0, row1: m.users }, { n: 12 });
    const none = await m.recommendRows({ row0: 3, row1: 3 }, { n: 12 });
    expect([none.rows, none.indices.length]).toEqual([0, 0]);
    for (const opts of [{ threads: 2 }, { threads: 2, tileRows: 3, inlineWork: 0 }]) {
      const e = await engine(opts);
      const state = { userIds: m.userIds, itemIds: m.itemIds, train: m.train, feedback: m.feedback };
      const other = new AlsModel(e, state, m.params, m.userFactors, m.itemFactors);
      const res = await other.recommendRows({ row0: 0, row1: m.users }, { n: 12 });
      expect(Array.from(res.indices)).toEqual(Array.from(one.indices));
      expect(Array.from(res.scores)).toEqual(Array.from(one.scores));
    }
  });
});
