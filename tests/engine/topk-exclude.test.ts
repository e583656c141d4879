// engine.topKExcluding: the engine op over the topkExclTile kernel. Against an f64 oracle written here (dot or
// cosine scores, listed rows dropped, sorted by score desc then index asc), on the pool with tiles of any size
// (the same bits whatever the thread count and tile), k clamped to the base, and the lists' bad shapes refused.
import { describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { engineFactory } from '../helpers/engines.js';
import { mulberry32, smallIntF32 } from '../helpers/rng.js';

const engine = engineFactory();

function oracle(q: Float32Array, i: number, x: Float32Array, xRows: number, cols: number, skip: Set<number>, cosine: boolean): { j: number; s: number }[] {
  const norm = (a: Float32Array, o: number): number => {
    let t = 0;
    for (let d = 0; d < cols; d++) t += a[o + d]! ** 2;
    return Math.sqrt(t);
  };
  const out: { j: number; s: number }[] = [];
  for (let j = 0; j < xRows; j++) {
    if (skip.has(j)) continue;
    let t = 0;
    for (let d = 0; d < cols; d++) t += q[i * cols + d]! * x[j * cols + d]!;
    if (cosine) {
      const den = norm(q, i * cols) * norm(x, j * cols);
      t = den === 0 ? 0 : t / den;
    }
    out.push({ j, s: t });
  }
  return out.sort((a, b) => b.s - a.s || a.j - b.j);
}

function lists(rows: number, n: number, seed: number): { indptr: Int32Array; indices: Int32Array; sets: Set<number>[] } {
  const rnd = mulberry32(seed);
  const sets: Set<number>[] = [];
  const flat: number[] = [];
  const indptr = new Int32Array(rows + 1);
  for (let i = 0; i < rows; i++) {
    // Row 0 keeps 3 items (fewer than k), row 1 keeps all; the others drop a random share.
    const share = i === 0 ? 1 : i === 1 ? 0 : rnd() * 0.9;
    const keep = i === 0 ? new Set([4, 77, n - 1]) : new Set<number>();
    const s = new Set<number>();
    for (let j = 0; j < n; j++) if (!keep.has(j) && (i === 0 || rnd() < share)) s.add(j);
    sets.push(s);
    flat.push(...[...s].sort((a, b) => a - b));
    indptr[i + 1] = flat.length;
  }
  return { indptr, indices: Int32Array.from(flat), sets };
}

describe('engine.topKExcluding', () => {
  it('equals the oracle for dot and cosine, bit for bit across threads and tile sizes; short rows end with -1', async () => {
    const rows = 150;
    const n = 530;
    const cols = 24;
    const q = smallIntF32(rows * cols, 41, 3);
    const x = smallIntF32(n * cols, 42, 3);
    const ex = lists(rows, n, 9);
    const k = 8;
    const ref = await engine({ threads: 1 });
    for (const metric of ['dot', 'cosine'] as const) {
      const got = await ref.topKExcluding({ rows, cols, data: q }, { rows: n, cols, data: x }, { k, metric, exclude: ex });
      expect(got.k).toBe(k);
      for (let i = 0; i < rows; i++) {
        const want = oracle(q, i, x, n, cols, ex.sets[i]!, metric === 'cosine').slice(0, k);
        const idx = Array.from(got.indices.subarray(i * k, (i + 1) * k));
        if (metric === 'dot') {
          // Small integers: exact scores, exact order.
          expect(idx.slice(0, want.length), `row ${i}`).toEqual(want.map((c) => c.j));
          expect(Array.from(got.scores.subarray(i * k, i * k + want.length))).toEqual(want.map((c) => c.s));
        } else {
          for (let p = 0; p < want.length; p++) expect(got.scores[i * k + p]).toBeCloseTo(want[p]!.s, 5);
          for (const j of idx) if (j >= 0) expect(ex.sets[i]!.has(j)).toBe(false);
        }
        for (let p = want.length; p < k; p++) expect(idx[p]).toBe(-1);
      }
      for (const opts of [{ threads: 2 }, { threads: 2, tileRows: 7, inlineWork: 0 }]) {
        const e = await engine(opts);
        const other = await e.topKExcluding({ rows, cols, data: q }, { rows: n, cols, data: x }, { k, metric, exclude: ex });
        expect(Array.from(other.indices)).toEqual(Array.from(got.indices));
        expect(Array.from(other.scores)).toEqual(Array.from(got.scores));
      }
    }
    // Row 0 keeps 3 items, so its last k − 3 slots are -1 (checked above against the oracle's length).
    expect(ex.sets[0]!.size).toBe(n - 3);
  });

  it('clamps k to the base rows and refuses lists of the wrong shape, out of order or out of range', async () => {
    const e = await engine({ threads: 1 });
    const q = { rows: 2, cols: 3, data: Float32Array.from([1, 0, 0, 0, 1, 0]) };
    const x = { rows: 4, cols: 3, data: Float32Array.from([1, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1]) };
    const ok = await e.topKExcluding(q, x, { k: 9, exclude: { indptr: Int32Array.from([0, 1, 1]), indices: Int32Array.from([1]) } });
    expect(ok.k).toBe(4);
    expect(ok.requestedK).toBe(9);
    // Row 0 (along x) without item 1: item 0 (1), then items 2 and 3 (0, ties to the lower index), then nothing.
    expect(Array.from(ok.indices.subarray(0, 4))).toEqual([0, 2, 3, -1]);
    expect(Array.from(ok.indices.subarray(4, 8))).toEqual([2, 0, 1, 3]);
    const bad = [
      { indptr: Int32Array.from([0, 1]), indices: Int32Array.from([1]) },
      { indptr: Int32Array.from([0, 2, 2]), indices: Int32Array.from([2, 1]) },
      { indptr: Int32Array.from([0, 1, 1]), indices: Int32Array.from([4]) },
      { indptr: Int32Array.from([0, 2, 1]), indices: Int32Array.from([0, 1]) },
      { indptr: Int32Array.from([0, 1, 3]), indices: Int32Array.from([0, 1]) },
      { indptr: Int32Array.from([0, 1, 1]), indices: Int32Array.from([-1]) },
    ];
    for (const exclude of bad) {
      await expect(e.topKExcluding(q, x, { k: 2, exclude })).rejects.toBeInstanceOf(QuiverError);
    }
    // No lists at all: the typed error, not a TypeError from reading them.
    await expect(e.topKExcluding(q, x, { k: 2 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/exclude is required/) });
  });
});
