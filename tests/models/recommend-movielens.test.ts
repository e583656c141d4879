// Offline evaluation on MovieLens 100K (shared/datasets), the protocol of `quiver evaluate --implicit --k 10
// --split 0.75 --seed 42`, against the published rows of Microsoft Recommenders' benchmark table (k = 10):
// SAR precision 0.331, nDCG 0.382; BPR precision 0.388, nDCG 0.442. Targets: item kNN ≥ SAR, EASE and ALS (with
// its default options) ≥ BPR.
// It also holds the numbers we measured (identical on native, wasm and js: the sparse kernels are bit-identical
// and EASE differs only in the last bits of its solve), with a tolerance for a changed seed stream.
// Runs once per `npm test` (pass 0, or a plain vitest run): it is the slow real-data check.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRatings } from '../../src/data/ratings.js';
import { createEngine, type Quiver as Engine } from '../../src/quiver.js';
import { evaluateRecommender } from '../../src/models/evaluate.js';
import type { RecommenderKind } from '../../src/models/recommender.js';

const file = join(import.meta.dirname, '..', '..', '..', 'shared', 'datasets', 'movielens-100k', 'u.data');
const pass = process.env['QUIVER_TEST_PASS'];
const run = existsSync(file) && (pass === undefined || pass === '0');
if (!existsSync(file)) console.warn(`recommend-movielens: skipped, ${file} is absent`);
else if (!run) console.warn(`recommend-movielens: skipped in test pass ${pass} (runs in pass 0 only)`);

// Measured with the defaults (itemknn: 20 neighbours, similarity rows scaled to sum 1; userknn: 50 neighbours;
// EASE: λ = 500; ALS: 32 factors, 15 iterations, λ = 20, α = 1, exact solves), binary feedback, seed 42.
const MEASURED: Record<RecommenderKind, { precision: number; recall: number; ndcg: number; map: number }> = {
  itemknn: { precision: 0.3652, recall: 0.1982, ndcg: 0.4215, map: 0.2779 },
  userknn: { precision: 0.3779, recall: 0.2048, ndcg: 0.4315, map: 0.2869 },
  popular: { precision: 0.225, recall: 0.1109, ndcg: 0.247, map: 0.1329 },
  ease: { precision: 0.419, recall: 0.2246, ndcg: 0.4829, map: 0.337 },
  als: { precision: 0.4257, recall: 0.2296, ndcg: 0.4912, map: 0.3456 },
};
const PUBLISHED = { SAR: { precision: 0.331, ndcg: 0.382 }, BPR: { precision: 0.388, ndcg: 0.442 } };
const TOL = 0.005;

let engine: Engine | null = null;
afterAll(async () => {
  await engine?.close();
});

describe.skipIf(!run)('MovieLens 100K, stratified 75/25 split, seed 42, k = 10', () => {
  for (const algo of ['popular', 'itemknn', 'userknn', 'ease', 'als'] as const) {
    it(`${algo}`, async () => {
      engine ??= await createEngine({ threads: 2 });
      const data = await readRatings(file, { feedback: 'binary' });
      const r = await evaluateRecommender(engine, data, { algo, k: 10, split: 0.75, seed: 42 });
      expect(r.users).toBe(943);
      const want = MEASURED[algo];
      for (const key of ['precision', 'recall', 'ndcg', 'map'] as const) {
        expect(Math.abs(r[key] - want[key]), `${key}: got ${r[key]}, measured ${want[key]}`).toBeLessThanOrEqual(TOL);
      }
      if (algo === 'itemknn') {
        expect(r.precision).toBeGreaterThanOrEqual(PUBLISHED.SAR.precision);
        expect(r.ndcg).toBeGreaterThanOrEqual(PUBLISHED.SAR.ndcg);
      }
      if (algo === 'ease' || algo === 'als') {
        expect(r.precision).toBeGreaterThanOrEqual(PUBLISHED.BPR.precision);
        expect(r.ndcg).toBeGreaterThanOrEqual(PUBLISHED.BPR.ndcg);
      }
    }, 120_000);
  }
});

// The same with Microsoft Recommenders' own split (item-stratified, `--split-by item`), the protocol of their
// published table: measured rows (seed 42, both MAP definitions), and the published rows as floors.
const MEASURED_BY_ITEM = {
  itemknn: { precision: 0.3617, recall: 0.1926, ndcg: 0.4171, map: 0.278, mapRecommenders: 0.119 },
  ease: { precision: 0.4142, recall: 0.2179, ndcg: 0.4756, map: 0.3344, mapRecommenders: 0.1431 },
  als: { precision: 0.4257, recall: 0.2257, ndcg: 0.4885, map: 0.3443, mapRecommenders: 0.1484 },
} as const;

describe.skipIf(!run)('MovieLens 100K, item-stratified 75/25 split (Microsoft Recommenders\' protocol), seed 42, k = 10', () => {
  for (const algo of ['itemknn', 'ease', 'als'] as const) {
    it(`${algo}`, async () => {
      engine ??= await createEngine({ threads: 2 });
      const data = await readRatings(file, { feedback: 'binary' });
      const r = await evaluateRecommender(engine, data, { algo, k: 10, split: 0.75, seed: 42, splitBy: 'item', metricsAs: 'recommenders' });
      expect(r.users).toBe(943);
      const want = MEASURED_BY_ITEM[algo];
      for (const key of ['precision', 'recall', 'ndcg'] as const) {
        expect(Math.abs(r[key] - want[key]), `${key}: got ${r[key]}, measured ${want[key]}`).toBeLessThanOrEqual(TOL);
      }
      expect(Math.abs(r.map - want.mapRecommenders), `MAP over |T|: got ${r.map}`).toBeLessThanOrEqual(TOL);
      if (algo === 'itemknn') {
        expect(r.precision).toBeGreaterThanOrEqual(PUBLISHED.SAR.precision + 0.02);
        expect(r.ndcg).toBeGreaterThanOrEqual(PUBLISHED.SAR.ndcg + 0.02);
      }
      if (algo === 'ease' || algo === 'als') {
        expect(r.precision).toBeGreaterThanOrEqual(PUBLISHED.BPR.precision + 0.02);
        expect(r.ndcg).toBeGreaterThanOrEqual(PUBLISHED.BPR.ndcg + 0.02);
      }
    }, 120_000);
  }
});

// ml-latest-small (9,724 items) with implicit feedback: ALS with its defaults well above popularity (measured
// precision@10 0.3357 against 0.1957; nDCG 0.3789 against 0.2231).
const small = join(import.meta.dirname, '..', '..', '..', 'shared', 'datasets', 'ml-latest-small', 'ratings.csv');
describe.skipIf(!run || !existsSync(small))('ml-latest-small, implicit, 75/25 split, seed 42, k = 10', () => {
  it('ALS with its defaults is well above popularity', async () => {
    engine ??= await createEngine({ threads: 2 });
    const data = await readRatings(small, { feedback: 'binary' });
    const als = await evaluateRecommender(engine, data, { algo: 'als', k: 10, split: 0.75, seed: 42 });
    const pop = await evaluateRecommender(engine, data, { algo: 'popular', k: 10, split: 0.75, seed: 42 });
    expect(als.precision).toBeGreaterThanOrEqual(1.5 * pop.precision);
    expect(als.ndcg).toBeGreaterThanOrEqual(1.5 * pop.ndcg);
    expect(Math.abs(als.precision - 0.3357)).toBeLessThanOrEqual(TOL);
  }, 120_000);
});
