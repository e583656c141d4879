// EASE at catalogue scale: the weights of a catalogue spanning several tiles against the closed form computed
// here (Gauss–Jordan in f64), the same weights for 1 and 2 threads, minItemSupport (weights equal a fit on the
// reduced catalogue, dropped items never recommended, users with only dropped items get nothing, save/load),
// fit progress, and the default memory budget named in the TOO_LARGE message.
import { mkdtempSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples, type Interactions } from '../../src/data/ratings.js';
import { SyntheticInteractions } from '../../src/data/synthetic.js';
import { defaultEaseBudget, easeBytes, fitEase } from '../../src/models/ease.js';
import { loadRecommender } from '../../src/models/recommenders.js';
import type { CsrMatrix } from '../../src/types.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';

const engine = engineFactory();

/** Oracle: B = I − P·diag(1/diag P), P = (XᵀX + λI)⁻¹ by Gauss–Jordan in f64, over the columns `cols` of x. */
function easeOracle(x: CsrMatrix, cols: number[], lambda: number): Float64Array {
  const n = cols.length;
  const pos = new Map(cols.map((c, i) => [c, i]));
  const w = 2 * n;
  const a = new Float64Array(n * w);
  for (let u = 0; u < x.rows; u++) {
    for (let p = x.indptr[u]!; p < x.indptr[u + 1]!; p++) {
      const i = pos.get(x.indices[p]!);
      if (i === undefined) continue;
      for (let q = x.indptr[u]!; q < x.indptr[u + 1]!; q++) {
        const j = pos.get(x.indices[q]!);
        if (j !== undefined) a[i * w + j]! += x.data[p]! * x.data[q]!;
      }
    }
  }
  for (let i = 0; i < n; i++) {
    a[i * w + i]! += lambda;
    a[i * w + n + i] = 1;
  }
  for (let c = 0; c < n; c++) {
    const piv = a[c * w + c]!;
    for (let j = 0; j < w; j++) a[c * w + j]! /= piv;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * w + c]!;
      if (f !== 0) for (let j = 0; j < w; j++) a[r * w + j]! -= f * a[c * w + j]!;
    }
  }
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i * n + j] = i === j ? 0 : -a[i * w + n + j]! / a[j * w + n + j]!;
  return b;
}

function maxAbsDiff(got: Float32Array, want: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst;
}

describe('EASE at catalogue scale', () => {
  const data = new SyntheticInteractions({ users: 400, items: 300, interactions: 9000, seed: 21 }).toInteractions();

  it('weights over several tiles equal the closed form, and do not depend on the thread count', async () => {
    const lambda = 20;
    const want = easeOracle(data.matrix, Array.from({ length: 300 }, (_, j) => j), lambda);
    const got: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const m = await fitEase(await engine({ threads, inlineWork: 0 }), data, { lambda });
      // f32 weights: within f32 rounding of weights of magnitude ≤ 1.
      expect(maxAbsDiff(m.weights, want)).toBeLessThan(1e-6);
      got.push(m.weights);
    }
    expect(got[1]).toEqual(got[0]);
  });

  it("precision 'f32': the closed form within f32 solve accuracy, in half the memory", async () => {
    const e = await engine({ threads: 2 });
    const want = easeOracle(data.matrix, Array.from({ length: 300 }, (_, j) => j), 20);
    const m = await fitEase(e, data, { lambda: 20, precision: 'f32' });
    // An f32 Cholesky inverse of a matrix with condition number ~10²: a few 1e-5 at most on weights ≤ 1.
    expect(maxAbsDiff(m.weights, want)).toBeLessThan(1e-4);
    expect(m.options.precision).toBe('f32');
    expect(easeBytes(3000, 'native', 'f32') - easeBytes(3000, 'native', 'f64')).toBe(-4 * 3000 * 3000 - 4 * (256 * 256 + 2 * 3000 * 256));
    await expectCode(fitEase(e, data, { precision: 'f16' as 'f32' }), 'INVALID_ARGUMENT', /precision must be 'f64' or 'f32'/);
  });

  it('minItemSupport: the fit of the reduced catalogue; dropped items are never recommended', async () => {
    const e = await engine();
    const counts = new Int32Array(300);
    for (let p = 0; p < data.matrix.indptr[data.matrix.rows]!; p++) counts[data.matrix.indices[p]!]!++;
    const min = 25;
    const kept = Array.from({ length: 300 }, (_, j) => j).filter((j) => counts[j]! >= min);
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBeLessThan(300);
    const m = await fitEase(e, data, { lambda: 20, minItemSupport: min });
    expect(Array.from(m.kept!)).toEqual(kept);
    expect(maxAbsDiff(m.weights, easeOracle(data.matrix, kept, 20))).toBeLessThan(1e-6);
    const recs = await m.recommendRows({ row0: 0, row1: data.userIds.length }, { n: 20 });
    const keptSet = new Set(kept);
    for (let p = 0; p < recs.indices.length; p++) if (recs.indices[p]! >= 0) expect(keptSet.has(recs.indices[p]!)).toBe(true);
    const dropped = data.itemIds[Array.from({ length: 300 }, (_, j) => j).find((j) => !keptSet.has(j))!]!;
    expect(await m.similarItems(dropped, 3)).toEqual([]);
    // Save and load keep the reduced catalogue.
    const path = join(mkdtempSync(join(tmpdir(), 'quiver-ease-')), 'm.json');
    await m.save(path);
    const back = await loadRecommender(path, e);
    expect(await back.recommend(data.userIds.slice(0, 5), { n: 5 })).toEqual(await m.recommend(data.userIds.slice(0, 5), { n: 5 }));
    m.release();
    back.release();
  });

  it('a user whose every item was dropped gets no recommendations', async () => {
    const e = await engine();
    const tiny: Interactions = interactionsFromTriples(
      ['u0', 'u0', 'u1', 'u1', 'u2', 'u2', 'u3'],
      ['a', 'b', 'a', 'b', 'a', 'c', 'rare'],
      new Float32Array(7).fill(1),
      { feedback: 'binary' },
    );
    const m = await fitEase(e, tiny, { lambda: 1, minItemSupport: 2 });
    const [u3, u2] = await m.recommend(['u3', 'u2'], { n: 3 });
    expect(u3!.items).toEqual([]);
    expect(u2!.items.map((s) => s.item)).toEqual(['b']);
    await expectCode(fitEase(e, tiny, { minItemSupport: 4 }), 'INVALID_ARGUMENT', /only 0 have 4 or more interactions/);
    await expectCode(fitEase(e, tiny, { minItemSupport: 0 }), 'INVALID_ARGUMENT', /minItemSupport must be a whole number ≥ 1/);
    m.release();
  });

  it('reports progress: the Gram blocks, then each phase of the inverse to its total', async () => {
    const seen = new Map<string, { done: number; total: number }>();
    await fitEase(await engine(), data, { onProgress: (p) => seen.set(p.phase, { done: p.done, total: p.total }) });
    expect([...seen.keys()]).toEqual(['gram', 'factor', 'invert', 'multiply']);
    expect(seen.get('gram')).toEqual({ done: 1, total: 1 });
    expect(seen.get('multiply')).toEqual({ done: 2, total: 2 });
  });

  it('the default budget is 75% of the machine memory and the TOO_LARGE message says so', async () => {
    const def = defaultEaseBudget();
    expect(def.bytes).toBeLessThanOrEqual(Math.floor(0.75 * totalmem()));
    expect(def.source).toMatch(/^75% of the (machine memory \(os\.totalmem\(\)\)|cgroup memory limit), \d+\.\d\d GiB$/);
    // The smallest catalogue over the default budget (refused before anything is allocated).
    let n = Math.ceil(Math.sqrt(def.bytes / 12));
    while (easeBytes(n) <= def.bytes) n++;
    const users = Array.from({ length: n }, (_, i) => `u${i % 50}`);
    const items = Array.from({ length: n }, (_, i) => `i${i}`);
    const big = interactionsFromTriples(users, items, new Float32Array(n).fill(1), { feedback: 'binary' });
    await expectCode(fitEase(await engine(), big), 'TOO_LARGE', new RegExp(`${n} items take about .* over the default memory budget of .* \\(75% of the`));
  });
});
