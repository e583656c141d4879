// Recommenders on the backend this pass selected: hand-computed examples, determinism, options, documented
// behaviours (unknown ids, short lists, include/exclude), save/load, evaluation metrics and the bulk writer.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples, type Interactions } from '../../src/data/ratings.js';
import { SyntheticInteractions } from '../../src/data/synthetic.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';
import { fingerprintOf, formatScore, runBulk, shardSpan } from '../../src/models/bulk.js';
import { fitEase } from '../../src/models/ease.js';
import { rankingMetrics, roundHalfEven, stratifiedSplit } from '../../src/models/evaluate.js';
import { fitItemKnn, fitUserKnn } from '../../src/models/knn.js';
import { fitPopular } from '../../src/models/popular.js';
import { fitRecommender, loadRecommender, RECOMMENDER_KINDS } from '../../src/models/recommenders.js';

const engine = engineFactory({ threads: 2 });
const dir = mkdtempSync(join(tmpdir(), 'quiver-rec-'));


// u0: a b · u1: a b c · u2: b c · u3: c d  (items first seen in the order a, b, c, d)
const TINY: Interactions = interactionsFromTriples(
  ['u0', 'u0', 'u1', 'u1', 'u1', 'u2', 'u2', 'u3', 'u3'],
  ['a', 'b', 'a', 'b', 'c', 'b', 'c', 'c', 'd'],
);
const close = (got: number, want: number) => expect(got).toBeCloseTo(want, 6);

describe('item kNN', () => {
  it('hand-computed cosine neighbours and scores', async () => {
    const e = await engine();
    const m = await fitItemKnn(e, TINY, { neighbors: 2, normalizeSimilarity: false });
    // Oracle (by hand): cos(a,b) = 2/√6, cos(a,c) = 1/√6, cos(b,c) = 2/3, cos(c,d) = 1/√3, cos(·,d) = 0 otherwise.
    const a = await m.similarItems('a', 5);
    expect(a.map((s) => s.item)).toEqual(['b', 'c']);
    close(a[0]!.score, 2 / Math.sqrt(6));
    close(a[1]!.score, 1 / Math.sqrt(6));
    expect((await m.similarItems('c', 2)).map((s) => s.item)).toEqual(['b', 'd']);
    expect((await m.similarItems('d', 2)).map((s) => s.item)).toEqual(['c']);
    const [u0, u3] = await m.recommend(['u0', 'u3'], { n: 3 });
    // u0 has a, b: c = s(a→c) + s(b→c) = 1/√6 + 2/3; d is nobody's neighbour among a, b (a short list).
    expect(u0!.items.map((s) => s.item)).toEqual(['c']);
    close(u0!.items[0]!.score, 1 / Math.sqrt(6) + 2 / 3);
    // u3 has c, d: b = s(c→b) = 2/3.
    expect(u3!.items.map((s) => s.item)).toEqual(['b']);
    close(u3!.items[0]!.score, 2 / 3);
  });

  it('normalised similarity rows (the default) and rating predictions', async () => {
    const e = await engine();
    const m = await fitItemKnn(e, TINY, { neighbors: 2 });
    const [u0] = await m.recommend('u0', { n: 3 });
    // Oracle: row a scaled by 1/(2/√6 + 1/√6), row b by 1/(2/√6 + 2/3): c = (1/√6)/(3/√6) + (2/3)/(2/√6 + 2/3).
    close(u0!.items[0]!.score, 1 / 3 + 2 / 3 / (2 / Math.sqrt(6) + 2 / 3));
    // predict (cosine, binary values): Σ s·1 / Σ |s| = 1 for any reachable item; the user mean (1) otherwise.
    expect(await m.predict('u0', ['c', 'd'])).toEqual([1, 1]);
  });

  it('explicit ratings: adjusted cosine centres by the user mean and predicts around it', async () => {
    const e = await engine();
    const d = interactionsFromTriples(['x', 'x', 'x', 'y', 'y', 'z', 'z'], ['p', 'q', 'r', 'p', 'q', 'q', 'r'], [5, 3, 1, 4, 2, 5, 1]);
    const m = await fitItemKnn(e, d, { similarity: 'adjusted-cosine', neighbors: 5 });
    // Oracle (by hand): user means x 3, y 3, z 3; centred p = (2, 1, 0), q = (0, −1, 2), r = (−2, 0, −2) over (x, y, z).
    // cos(p,q) = −1/(√5·√5) < 0 and cos(p,r) = −4/(√5·√8) < 0 are dropped; cos(q,r) = −4/(√5·√8) < 0 too.
    expect(await m.similarItems('p', 3)).toEqual([]);
    // y has p and q; r is nobody's positive neighbour: the prediction falls back to y's mean.
    expect(await m.predict('y', ['r'])).toEqual([3]);
    await expectCode(fitItemKnn(e, TINY, { similarity: 'pearson' }), 'INVALID_ARGUMENT', /pearson centres ratings, but the interactions are binary/);
  });

  it('dense and sparse kernels find the same neighbours; results do not depend on threads', async () => {
    const data = new SyntheticInteractions({ users: 300, items: 120, interactions: 6000, seed: 3 }).toInteractions();
    const e1 = await engine({ threads: 1, inlineWork: Infinity });
    const sparse = await fitItemKnn(e1, data, { neighbors: 10, kernel: 'sparse' });
    const dense = await fitItemKnn(e1, data, { neighbors: 10, kernel: 'dense' });
    expect(Array.from(dense.neighbours.indptr)).toEqual(Array.from(sparse.neighbours.indptr));
    for (let p = 0; p < sparse.neighbours.data.length; p++) expect(Math.abs(dense.neighbours.data[p]! - sparse.neighbours.data[p]!)).toBeLessThan(1e-5);
    const want = await sparse.recommendRows({ row0: 0, row1: 300 }, { n: 10 });
    for (const threads of [2, 3]) {
      const e = await engine({ threads, inlineWork: 0, tileRows: threads === 3 ? 17 : undefined });
      const m = await fitItemKnn(e, data, { neighbors: 10, kernel: 'sparse' });
      expect(Array.from(m.neighbours.indices)).toEqual(Array.from(sparse.neighbours.indices));
      const got = await m.recommendRows({ row0: 0, row1: 300 }, { n: 10 });
      expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
      expect(Array.from(got.scores)).toEqual(Array.from(want.scores));
      m.release();
    }
    await expectCode(fitItemKnn(e1, data, { kernel: 'dense', shrink: 1 }), 'INVALID_ARGUMENT', /dense kernel has no shrink term/);
  });
});

describe('user kNN, EASE, popularity', () => {
  it('user kNN: hand-computed neighbours and scores', async () => {
    const e = await engine();
    const m = await fitUserKnn(e, TINY, { neighbors: 2 });
    // Oracle (by hand): cos(u0,u1) = 2/√6, cos(u0,u2) = 1/2, cos(u1,u3) = 1/√6, cos(u2,u3) = 1/2.
    const [u0, u3] = await m.recommend(['u0', 'u3'], { n: 4 });
    expect(u0!.items.map((s) => s.item)).toEqual(['c']);
    close(u0!.items[0]!.score, 2 / Math.sqrt(6) + 1 / 2);
    // u3's neighbours u2 (1/2: b, c) and u1 (1/√6: a, b, c); c and d are seen.
    expect(u3!.items.map((s) => s.item)).toEqual(['b', 'a']);
    close(u3!.items[0]!.score, 1 / 2 + 1 / Math.sqrt(6));
    close(u3!.items[1]!.score, 1 / Math.sqrt(6));
    // Items by cosine of their columns: a's best is b (2/√6).
    expect((await m.similarItems('a', 1))[0]!.item).toBe('b');
  });

  it('EASE equals the closed form computed independently', async () => {
    const e = await engine();
    const data = new SyntheticInteractions({ users: 60, items: 12, interactions: 300, seed: 9 }).toInteractions();
    const lambda = 3;
    const m = await fitEase(e, data, { lambda });
    // Oracle: Gauss–Jordan inverse of XᵀX + λI in f64, B = I − P diag(1/diag P).
    const n = 12;
    const g = Array.from({ length: n }, () => new Array<number>(2 * n).fill(0));
    const x = data.matrix;
    for (let u = 0; u < x.rows; u++) {
      for (let p = x.indptr[u]!; p < x.indptr[u + 1]!; p++) for (let q = x.indptr[u]!; q < x.indptr[u + 1]!; q++) g[x.indices[p]!]![x.indices[q]!]! += 1;
    }
    for (let i = 0; i < n; i++) {
      g[i]![i]! += lambda;
      g[i]![n + i] = 1;
    }
    for (let c = 0; c < n; c++) {
      const piv = g[c]![c]!;
      for (let j = 0; j < 2 * n; j++) g[c]![j]! /= piv;
      for (let r = 0; r < n; r++) {
        if (r === c) continue;
        const f = g[r]![c]!;
        for (let j = 0; j < 2 * n; j++) g[r]![j]! -= f * g[c]![j]!;
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const want = i === j ? 0 : -g[i]![n + j]! / g[j]![n + j]!;
        expect(Math.abs(m.weights[i * n + j]! - want)).toBeLessThan(1e-6);
      }
    }
    // Scores: x_u · B over unseen items.
    const [r] = await m.recommend(data.userIds[0]!, { n: 3 });
    const seen = new Set(Array.from(x.indices.subarray(x.indptr[0]!, x.indptr[1]!)));
    const want = Array.from({ length: n }, (_, j) => j)
      .filter((j) => !seen.has(j))
      .map((j) => [Array.from(seen).reduce((s, i) => s + m.weights[i * n + j]!, 0), j] as const)
      .sort((p, q) => q[0] - p[0] || p[1] - q[1])
      .slice(0, 3);
    expect(r!.items.map((s) => s.item)).toEqual(want.map(([, j]) => data.itemIds[j]));
  });

  it('EASE refuses catalogues over the memory budget, naming it', async () => {
    const e = await engine();
    await expectCode(fitEase(e, TINY, { memoryBudget: 100 }), 'TOO_LARGE', /4 items take about .* over the memory budget of 0\.0 MiB; raise the budget \(--memory-budget\)/);
  });

  it('popularity: counts, ties to the first-seen item, seen items left out', async () => {
    const e = await engine();
    const m = await fitPopular(e, TINY);
    // Oracle: a 2, b 3, c 3, d 1 users → order b, c, a, d.
    const [u0, u3] = await m.recommend(['u0', 'u3'], { n: 10 });
    expect(u0!.items).toEqual([
      { item: 'c', score: 3 },
      { item: 'd', score: 1 },
    ]);
    expect(u3!.items.map((s) => s.item)).toEqual(['b', 'a']);
    // Co-occurrence: c shares u1 and u2 with b, u1 with a, u3 with d.
    expect(await m.similarItems('c', 3)).toEqual([
      { item: 'b', score: 2 },
      { item: 'a', score: 1 },
      { item: 'd', score: 1 },
    ]);
  });
});

describe('the recommend() contract, for every algorithm', () => {
  for (const kind of RECOMMENDER_KINDS) {
    it(`${kind}: seen items, include/exclude, unknown ids, n beyond the catalogue, save and load`, async () => {
      const e = await engine();
      const data = new SyntheticInteractions({ users: 80, items: 40, interactions: 900, seed: 4 }).toInteractions();
      const m = await fitRecommender(e, kind, data, { neighbors: 8, lambda: 10 });
      const all = await m.recommend(undefined, { n: 5 });
      expect(all.map((r) => r.user)).toEqual(data.userIds);
      for (const [u, r] of all.entries()) {
        const seen = new Set(Array.from(data.matrix.indices.subarray(data.matrix.indptr[u]!, data.matrix.indptr[u + 1]!), (j) => data.itemIds[j]));
        for (const s of r.items) expect(seen.has(s.item)).toBe(false);
        for (let t = 1; t < r.items.length; t++) expect(r.items[t - 1]!.score).toBeGreaterThanOrEqual(r.items[t]!.score);
      }
      // One user, by id, equals that row of the all-users call.
      expect(await m.recommend(data.userIds[7]!, { n: 5 })).toEqual([all[7]]);
      // include restricts, exclude removes; unknown item ids are ignored.
      const include = data.itemIds.slice(0, 10).concat(['no-such-item']);
      for (const r of await m.recommend(data.userIds.slice(0, 20), { n: 5, include, exclude: ['1', 'also-unknown'] })) {
        for (const s of r.items) {
          expect(include).toContain(s.item);
          expect(s.item).not.toBe('1');
        }
      }
      // filterSeen false may return seen items (popularity certainly does: the most popular item).
      if (kind === 'popular') {
        const [r0] = await m.recommend(data.userIds[0]!, { n: 40, filterSeen: false });
        expect(r0!.items.length).toBe(40);
      }
      // n larger than the catalogue is clamped.
      const big = await m.recommendRows(Int32Array.from([0]), { n: 1000 });
      expect(big.k).toBe(40);
      await expectCode(m.recommend('nobody', { n: 3 }), 'NOT_FOUND', /user nobody was not in the training data/);
      await expectCode(m.similarItems('nothing', 3), 'NOT_FOUND', /item nothing was not in the training data/);
      // Save and load: the same recommendations.
      const path = join(dir, `${kind}.json`);
      await m.save(path);
      const back = await loadRecommender(path, e);
      expect(back.kind).toBe(kind);
      expect(await back.recommend(undefined, { n: 5 })).toEqual(all);
      m.release();
      back.release();
    });
  }

  it('load refuses a foreign or damaged bundle', async () => {
    const e = await engine();
    const m = await fitPopular(e, TINY);
    const path = join(dir, 'pop.json');
    await m.save(path);
    const bin = join(dir, 'pop.bin');
    const bytes = readFileSync(bin);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(bin, bytes);
    await expectCode(loadRecommender(path, e), 'INVALID_ARGUMENT', /does not belong to .*pop\.json/);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(bin, bytes);
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { kind: string };
    writeFileSync(join(dir, 'kmeans.json'), JSON.stringify({ ...manifest, kind: 'kmeans' }));
    await expectCode(loadRecommender(join(dir, 'kmeans.json'), e), 'INVALID_ARGUMENT', /holds a "kmeans" model, not a recommender/);
  });
});

describe('evaluation', () => {
  it('round half to even, as Python does', () => {
    expect([0.5, 1.5, 2.5, 2.25, 4.5, 5.25].map(roundHalfEven)).toEqual([0, 2, 2, 2, 4, 5]);
  });

  it('the stratified split: per-user sizes, disjoint parts, deterministic for a seed', () => {
    const data = new SyntheticInteractions({ users: 200, items: 100, interactions: 3000, seed: 8 }).toInteractions();
    const a = stratifiedSplit(data, 0.75, 42);
    const b = stratifiedSplit(data, 0.75, 42);
    const c = stratifiedSplit(data, 0.75, 43);
    expect(Array.from(a.test.indices)).toEqual(Array.from(b.test.indices));
    expect(Array.from(a.test.indices)).not.toEqual(Array.from(c.test.indices));
    const m = data.matrix;
    for (let u = 0; u < m.rows; u++) {
      const n = m.indptr[u + 1]! - m.indptr[u]!;
      const tr = Array.from(a.train.train.indices.subarray(a.train.train.indptr[u]!, a.train.train.indptr[u + 1]!));
      const te = Array.from(a.test.indices.subarray(a.test.indptr[u]!, a.test.indptr[u + 1]!));
      expect(tr.length).toBe(roundHalfEven(0.75 * n));
      expect([...tr, ...te].sort((x, y) => x - y)).toEqual(Array.from(m.indices.subarray(m.indptr[u]!, m.indptr[u + 1]!)));
    }
  });

  it('metrics on a hand example', () => {
    // Two users: recommendations [0, 1, 2] and [5, -1, -1]; test sets {1, 9} and {5}.
    const recs = { indices: Int32Array.from([0, 1, 2, 5, -1, -1]), scores: new Float32Array(6), rows: 2, k: 3, requestedK: 3 };
    const test = { rows: 2, cols: 10, indptr: Int32Array.from([0, 2, 3]), indices: Int32Array.from([1, 9, 5]), data: new Float32Array(3).fill(1) };
    const r = rankingMetrics(recs, test, 3);
    // Oracle (by hand): user 0: 1 hit at rank 2 → P 1/3, R 1/2, nDCG (1/log2 3)/(1 + 1/log2 3), AP (1/2)/2;
    // user 1: hit at rank 1 → P 1/3 (k = 3 even with one item), R 1, nDCG 1, AP 1.
    const l3 = 1 / Math.log2(3);
    close(r.precision, 1 / 3);
    close(r.recall, 0.75);
    close(r.ndcg, (l3 / (1 + l3) + 1) / 2);
    close(r.map, (0.25 + 1) / 2);
    expect([r.k, r.users]).toEqual([3, 2]);
  });
});

describe('the bulk writer', () => {
  it('csv, jsonl and parquet from blocks; shards concatenate to the whole; a foreign checkpoint is refused', async () => {
    const e = await engine();
    const data = new SyntheticInteractions({ users: 100, items: 50, interactions: 1500, seed: 12 }).toInteractions();
    const m = await fitRecommender(e, 'itemknn', data, {});
    const fp = fingerprintOf({ test: 1 });
    const out = join(dir, 'all.csv');
    const s = await runBulk(m, { out, format: 'csv', n: 4, blockUsers: 7, fingerprint: fp });
    const text = readFileSync(out, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('user,item,rank,score');
    expect(s.rows).toBe(lines.length - 1);
    // The rows are the library's recommendations, users in input order.
    const recs = await m.recommend(undefined, { n: 4 });
    const want = recs.flatMap((r) => r.items.map((it, t) => `${r.user},${it.item},${t + 1},${formatScore(it.score)}`));
    expect(lines.slice(1)).toEqual(want);
    // Block size does not change the bytes; shards 1..3 concatenate to the same rows.
    await runBulk(m, { out: join(dir, 'b.csv'), format: 'csv', n: 4, blockUsers: 1000, fingerprint: fp });
    expect(readFileSync(join(dir, 'b.csv'), 'utf8')).toBe(text);
    let joined = '';
    for (let i = 1; i <= 3; i++) {
      await runBulk(m, { out: join(dir, `s${i}.csv`), format: 'csv', n: 4, span: shardSpan({ index: i, count: 3 }, 100), fingerprint: fp });
      joined += readFileSync(join(dir, `s${i}.csv`), 'utf8').split('\n').slice(1).join('\n');
    }
    expect(joined).toBe(lines.slice(1).join('\n') + '\n');
    // jsonl: one line per user.
    await runBulk(m, { out: join(dir, 'a.jsonl'), format: 'jsonl', n: 4, fingerprint: fp });
    const jl = readFileSync(join(dir, 'a.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { user: string; items: string[] });
    expect(jl.map((r) => r.user)).toEqual(data.userIds);
    expect(jl[3]!.items).toEqual(recs[3]!.items.map((x) => x.item));
    // parquet, read back with hyparquet.
    await runBulk(m, { out: join(dir, 'a.parquet'), format: 'parquet', n: 4, fingerprint: fp });
    const { parquetReadObjects } = await import('hyparquet');
    const buf = readFileSync(join(dir, 'a.parquet'));
    const rows = (await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) })) as { user: string; item: string; rank: number; score: number }[];
    expect(rows.map((r) => `${r.user},${r.item},${r.rank},${formatScore(r.score)}`)).toEqual(want);
    // A checkpoint from another run is never mixed in.
    writeFileSync(`${out}.partial`, 'user,item,rank,score\n');
    writeFileSync(`${out}.checkpoint.json`, JSON.stringify({ format: 'quiver-bulk-checkpoint', version: 1, fingerprint: 'other', nextUser: 10, bytes: 21, rows: 0 }));
    await expectCode(runBulk(m, { out, format: 'csv', n: 4, resume: true, fingerprint: fp }), 'INVALID_ARGUMENT', /belongs to a different run/);
    expect(() => shardSpan({ index: 4, count: 3 }, 10)).toThrow(/1 ≤ i ≤ N/);
    m.release();
  });
});
