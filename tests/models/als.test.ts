// Implicit ALS as a model: the objective (computed here in f64 over every user-item pair) falls at every
// half-step; fold-in of a training user equals that user's factors after one more half-step and the f64 normal
// equations written here; bad input; fold-in and partial fit; save/load; the same factors on 1 and 2 threads.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples, type Interactions } from '../../src/data/ratings.js';
import { SyntheticInteractions } from '../../src/data/synthetic.js';
import { type AlsModel, fitAls } from '../../src/models/als.js';
import { loadRecommender } from '../../src/models/recommenders.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';

const engine = engineFactory({ threads: 2 });
const dir = mkdtempSync(join(tmpdir(), 'quiver-als-'));
const data = new SyntheticInteractions({ users: 60, items: 30, interactions: 500, seed: 11 }).toInteractions();
const OPTS = { factors: 6, regularization: 0.5, alpha: 3, seed: 5 };

/** Oracle: Σ_{u,i} c_ui (p_ui − x_u·y_i)² + λ(‖X‖² + ‖Y‖²) in f64, c = 1 + α r on observed pairs, 1 elsewhere. */
function loss(m: AlsModel, alpha: number, lambda: number): number {
  const k = m.factors;
  const t = m.train;
  let s = 0;
  for (let u = 0; u < m.users; u++) {
    const r = new Map<number, number>();
    for (let q = t.indptr[u]!; q < t.indptr[u + 1]!; q++) r.set(t.indices[q]!, t.data[q]!);
    for (let i = 0; i < m.items; i++) {
      let dot = 0;
      for (let f = 0; f < k; f++) dot += m.userFactors[u * k + f]! * m.itemFactors[i * k + f]!;
      const v = r.get(i);
      s += v === undefined ? dot * dot : (1 + alpha * v) * (1 - dot) ** 2;
    }
  }
  for (const v of m.userFactors) s += lambda * v * v;
  for (const v of m.itemFactors) s += lambda * v * v;
  return s;
}

/** Oracle: user u's system against item factors y, solved by Gaussian elimination in f64. */
function solveUser(items: Map<number, number>, y: Float32Array, k: number, nItems: number, alpha: number, lambda: number): Float64Array {
  const a = new Float64Array(k * k);
  const b = new Float64Array(k);
  for (let i = 0; i < nItems; i++) {
    const r = items.get(i);
    const c = r === undefined ? 1 : 1 + alpha * r;
    for (let p = 0; p < k; p++) {
      if (r !== undefined) b[p]! += c * y[i * k + p]!;
      for (let q = 0; q < k; q++) a[p * k + q]! += c * y[i * k + p]! * y[i * k + q]!;
    }
  }
  for (let p = 0; p < k; p++) a[p * k + p]! += lambda;
  for (let c = 0; c < k; c++) {
    for (let r = c + 1; r < k; r++) {
      const f = a[r * k + c]! / a[c * k + c]!;
      for (let q = c; q < k; q++) a[r * k + q]! -= f * a[c * k + q]!;
      b[r]! -= f * b[c]!;
    }
  }
  const x = new Float64Array(k);
  for (let r = k - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let q = r + 1; q < k; q++) s -= a[r * k + q]! * x[q]!;
    x[r] = s / a[r * k + r]!;
  }
  return x;
}

function rowOf(d: Interactions, u: number): Record<string, number> {
  const t = d.matrix;
  const row: Record<string, number> = {};
  for (let q = t.indptr[u]!; q < t.indptr[u + 1]!; q++) row[d.itemIds[t.indices[q]!]!] = t.data[q]!;
  return row;
}

describe('implicit ALS', () => {
  it('the objective falls at every half-step, and fold-in equals one more user half-step and the f64 normal equations', async () => {
    const e = await engine();
    let prev = Number.POSITIVE_INFINITY;
    for (let it = 1; it <= 4; it++) {
      const m = await fitAls(e, data, { ...OPTS, iterations: it });
      const next = await fitAls(e, data, { ...OPTS, iterations: it + 1 });
      const full = loss(m, OPTS.alpha, OPTS.regularization);
      expect(full).toBeLessThanOrEqual(prev * (1 + 1e-9));
      // One user half-step from m: every training user solved again against m's item factors.
      const half = await m.partialFitUsers(data.userIds, data.userIds.map((_, u) => rowOf(data, u)));
      const afterUsers = loss(half, OPTS.alpha, OPTS.regularization);
      expect(afterUsers).toBeLessThanOrEqual(full * (1 + 1e-9));
      expect(loss(next, OPTS.alpha, OPTS.regularization)).toBeLessThanOrEqual(afterUsers * (1 + 1e-9));
      // ... which are the next iteration's user factors.
      for (let i = 0; i < half.userFactors.length; i++) expect(half.userFactors[i]).toBeCloseTo(next.userFactors[i]!, 5);
      // Fold-in of training user 3 = its factors after one more half-step = the normal equations.
      const x = await m.recalculateUser(rowOf(data, 3));
      const k = m.factors;
      const items = new Map(Object.entries(rowOf(data, 3)).map(([id, v]) => [data.itemIds.indexOf(id), v]));
      const want = solveUser(items, m.itemFactors, k, m.items, OPTS.alpha, OPTS.regularization);
      for (let f = 0; f < k; f++) {
        expect(x![f]).toBeCloseTo(next.userFactors[3 * k + f]!, 5);
        expect(Math.abs(x![f]! - want[f]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[f]!)));
      }
      prev = loss(next, OPTS.alpha, OPTS.regularization);
      m.release();
      next.release();
      half.release();
    }
  });

  it('conjugate gradient (3 steps, warm-started) lowers the objective too and ends near the exact fit', async () => {
    const e = await engine();
    const exact = await fitAls(e, data, { ...OPTS, iterations: 10 });
    const cg = await fitAls(e, data, { ...OPTS, iterations: 10, solver: 'cg' });
    const one = await fitAls(e, data, { ...OPTS, iterations: 1, solver: 'cg' });
    const lc = loss(cg, OPTS.alpha, OPTS.regularization);
    expect(lc).toBeLessThan(loss(one, OPTS.alpha, OPTS.regularization));
    expect(lc).toBeLessThanOrEqual(loss(exact, OPTS.alpha, OPTS.regularization) * 1.02);
  });

  it('bad input: factors, alpha, regularization; a singular system names its item', async () => {
    const e = await engine();
    await expectCode(fitAls(e, data, { factors: 0 }), 'INVALID_ARGUMENT', /factors must be a whole number ≥ 1/);
    await expectCode(fitAls(e, data, { factors: 31 }), 'INVALID_ARGUMENT', /factors must be at most the number of items \(30\)/);
    await expectCode(fitAls(e, data, { alpha: 0 }), 'INVALID_ARGUMENT', /alpha must be a number > 0/);
    await expectCode(fitAls(e, data, { alpha: -1 }), 'INVALID_ARGUMENT', /alpha must be a number > 0/);
    await expectCode(fitAls(e, data, { regularization: -1 }), 'INVALID_ARGUMENT', /regularization must be a number ≥ 0/);
    await expectCode(fitAls(e, data, { solver: 'lu' as 'cg' }), 'INVALID_ARGUMENT', /solver must be/);
    // Two users and three factors: XᵀX has rank 2, so with λ = 0 every item's system is singular.
    const two = interactionsFromTriples(['u0', 'u0', 'u1', 'u1'], ['a', 'b', 'b', 'c']);
    const err = await expectCode(fitAls(e, two, { factors: 3, regularization: 0 }), 'NOT_POSITIVE_DEFINITE', /the ALS system of item a is singular/);
    expect(err.details).toMatchObject({ item: 'a', regularization: 0 });
    // The same data is fine with λ > 0.
    expect((await fitAls(e, two, { factors: 3, regularization: 0.1 })).factors).toBe(3);
  });

  it('baskets fold in: unknown items are ignored, only unknown items give an empty list', async () => {
    const e = await engine();
    const m = await fitAls(e, data, { ...OPTS, iterations: 3 });
    const basket = [data.itemIds[0]!, data.itemIds[4]!, 'no-such-item'];
    const recs = await m.recommendForItems(basket, { n: 5 });
    expect(recs.length).toBe(5);
    for (const r of recs) expect(basket).not.toContain(r.item);
    expect(await m.recommendForItems(['nothing', 'at-all'], { n: 5 })).toEqual([]);
    // The basket's scores are its folded-in factors times the item factors.
    const x = (await m.recalculateUser({ [data.itemIds[0]!]: 1, [data.itemIds[4]!]: 1 }))!;
    const j = data.itemIds.indexOf(recs[0]!.item);
    let dot = 0;
    for (let f = 0; f < m.factors; f++) dot += x[f]! * m.itemFactors[j * m.factors + f]!;
    expect(recs[0]!.score).toBeCloseTo(dot, 4);
    m.release();
  });

  it('partial fit adds a new user and a new item without touching the other side', async () => {
    const e = await engine();
    const m = await fitAls(e, data, { ...OPTS, iterations: 3 });
    const withUser = await m.partialFitUsers(['newcomer'], [{ [data.itemIds[1]!]: 1, [data.itemIds[2]!]: 2 }]);
    expect(withUser.users).toBe(m.users + 1);
    expect(withUser.itemFactors).toEqual(m.itemFactors);
    expect(withUser.userFactors.subarray(0, m.userFactors.length)).toEqual(m.userFactors);
    const [r] = await withUser.recommend('newcomer', { n: 3 });
    expect(r!.items.map((s) => s.item)).not.toContain(data.itemIds[1]);
    const withItem = await m.partialFitItems(['brand-new'], [{ [data.userIds[0]!]: 1, [data.userIds[1]!]: 1 }]);
    expect(withItem.items).toBe(m.items + 1);
    expect(withItem.userFactors).toEqual(m.userFactors);
    expect(withItem.train.indptr[1]! - withItem.train.indptr[0]!).toBe(m.train.indptr[1]! - m.train.indptr[0]! + 1);
    expect((await withItem.similarItems('brand-new', 3)).length).toBe(3);
    for (const x of [m, withUser, withItem]) x.release();
  });

  it('saves and loads; the same factors with 1 and 2 threads', async () => {
    const one = await engine({ threads: 1 });
    const two = await engine({ threads: 2, inlineWork: 0 });
    const big = new SyntheticInteractions({ users: 400, items: 150, interactions: 8000, seed: 2 }).toInteractions();
    const a = await fitAls(one, big, { factors: 16, iterations: 3 });
    const b = await fitAls(two, big, { factors: 16, iterations: 3 });
    expect(b.userFactors).toEqual(a.userFactors);
    expect(b.itemFactors).toEqual(a.itemFactors);
    const path = join(dir, 'als.json');
    await a.save(path);
    const back = (await loadRecommender(path, two)) as AlsModel;
    expect(back.kind).toBe('als');
    expect(back.params).toEqual(a.params);
    expect(back.userFactors).toEqual(a.userFactors);
    expect(await back.recommend(undefined, { n: 5 })).toEqual(await a.recommend(undefined, { n: 5 }));
    expect(await back.similarItems(big.itemIds[0]!, 4)).toEqual(await a.similarItems(big.itemIds[0]!, 4));
    for (const x of [a, b, back]) x.release();
  });

  it('the CG solver (f32 products, rows in groups of four) gives the same factors with 1 and 2 threads', async () => {
    // Large enough for several blocks per half-step, so the two threads solve different blocks at once.
    const one = await engine({ threads: 1 });
    const two = await engine({ threads: 2, inlineWork: 0 });
    const big = new SyntheticInteractions({ users: 3000, items: 400, interactions: 60_000, seed: 4 }).toInteractions();
    const opts = { factors: 32, iterations: 2, solver: 'cg' as const };
    const a = await fitAls(one, big, opts);
    const b = await fitAls(two, big, opts);
    expect(b.userFactors).toEqual(a.userFactors);
    expect(b.itemFactors).toEqual(a.itemFactors);
    for (const x of [a, b]) x.release();
  });
});
