// Implicit ALS against the `implicit` package (tests/fixtures/models/als_implicit.json, written by
// scripts/fixtures/make_als_fixture.py): the same 40 × 25 counts, the same initial factors, three iterations of
// implicit's exact (Cholesky) solver given confidence 1 + α·r, against Quiver's exact solver with α. Tolerance:
// both solve in f64; Quiver stores each half-step's factors as f32 (implicit keeps f64), a relative rounding of
// 6e-8 that the next solves carry; 1e-5 of the largest factor leaves ample room and fails on any convention
// difference (a scaled λ, c = α·r, the other side first), which moves factors by 1e-2 or more.
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples } from '../../src/data/ratings.js';
import { fitAls } from '../../src/models/als.js';
import { engineFactory } from '../helpers/engines.js';
import { fixture } from './helpers.js';

interface AlsFixture {
  factors: number;
  iterations: number;
  alpha: number;
  regularization: number;
  interactions: { users: string[]; items: string[]; values: number[] };
  initialUserFactors: number[];
  initialItemFactors: number[];
  userFactors: number[];
  itemFactors: number[];
}

const engine = engineFactory({ threads: 2 });
const f = fixture<AlsFixture>('als_implicit.json');

/** Rows of a fixture matrix (indexed by the number in the id) in the order of Quiver's ids. */
function reorder(values: number[], ids: string[], k: number): Float32Array {
  const out = new Float32Array(ids.length * k);
  ids.forEach((id, r) => {
    const src = Number(id.slice(1));
    for (let c = 0; c < k; c++) out[r * k + c] = values[src * k + c]!;
  });
  return out;
}

describe('implicit ALS against the implicit package', () => {
  it('the exact solver gives implicit’s factors from the same start', async () => {
    const data = interactionsFromTriples(f.interactions.users, f.interactions.items, f.interactions.values, { feedback: 'counts' });
    const k = f.factors;
    const m = await fitAls(await engine(), data, {
      factors: k,
      iterations: f.iterations,
      alpha: f.alpha,
      regularization: f.regularization,
      initialFactors: { user: reorder(f.initialUserFactors, data.userIds, k), item: reorder(f.initialItemFactors, data.itemIds, k) },
    });
    for (const [got, want] of [
      [m.userFactors, reorder(f.userFactors, data.userIds, k)],
      [m.itemFactors, reorder(f.itemFactors, data.itemIds, k)],
    ] as const) {
      const scale = want.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(0.05);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst).toBeLessThanOrEqual(1e-5 * scale);
    }
    m.release();
  });
});
