// topkExclTile on every backend and level against an f64 oracle written here (dot products, listed items
// dropped, a full sort by score desc then index asc): exact on small integers with ties; within the topkTile
// tolerance on seeded random inputs. Adversarial lists: empty, all but fewer than k items (short rows end with
// -1 / -Infinity), entries on the kernels' block edges (32-lane scans, 256-row base blocks), duplicates, lists
// that start past 0 in a shared index array, and base blocks merged out of order.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import { backendCases } from '../helpers/backends.js';
import { mulberry32, randomF32, smallIntF32 } from '../helpers/rng.js';
import { expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/** Oracle: query row i's items by f64 score desc, index asc, without `skip`. */
function oracle(q: Float32Array, i: number, x: Float32Array, xRows: number, cols: number, skip: Set<number>): { j: number; s: number }[] {
  const out: { j: number; s: number }[] = [];
  for (let j = 0; j < xRows; j++) {
    if (skip.has(j)) continue;
    let t = 0;
    for (let d = 0; d < cols; d++) t += q[i * cols + d]! * x[j * cols + d]!;
    out.push({ j, s: t });
  }
  return out.sort((a, b) => b.s - a.s || a.j - b.j);
}

/** CSR of the lists, with `lead` unused entries before row 0's (tiles pass windows of a larger array). */
function csr(lists: number[][], lead = 0): { ptr: Int32Array; idx: Int32Array } {
  const ptr = new Int32Array(lists.length + 1);
  const flat: number[] = new Array<number>(lead).fill(-7);
  ptr[0] = lead;
  lists.forEach((l, i) => {
    flat.push(...l);
    ptr[i + 1] = flat.length;
  });
  return { ptr, idx: Int32Array.from(flat) };
}

/** Lists that hit every adversarial shape for a base of n rows and a top k. */
function adversarialLists(rows: number, n: number, k: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const edges = [0, 15, 16, 31, 32, 63, 64, 255, 256, 257, 511, 512, n - 1].filter((j) => j < n);
  return Array.from({ length: rows }, (_, i) => {
    switch (i % 6) {
      case 0:
        return [];
      case 1:
        return edges;
      case 2: {
        // All but fewer than k items: the row comes back short.
        const keep = new Set<number>();
        while (keep.size < Math.max(0, k - 2)) keep.add(Math.floor(rnd() * n));
        return Array.from({ length: n }, (_, j) => j).filter((j) => !keep.has(j));
      }
      case 3:
        return Array.from({ length: n }, (_, j) => j);
      case 4: {
        const s = Array.from({ length: Math.floor(n / 3) }, () => Math.floor(rnd() * n)).sort((a, b) => a - b);
        return [...s, ...s.slice(0, 3)].sort((a, b) => a - b); // duplicates
      }
      default:
        return Array.from({ length: Math.ceil(n / 2) }, (_, t) => 2 * t);
    }
  });
}

function empty(rows: number, k: number): { idx: Int32Array; scores: Float32Array } {
  return { idx: new Int32Array(rows * k).fill(-1), scores: new Float32Array(rows * k).fill(-Infinity) };
}

function run(b: Backend, q: Float32Array, qRows: number, x: Float32Array, xRows: number, cols: number, k: number, lists: number[][], lead = 0) {
  const st = empty(qRows, k);
  const { ptr, idx } = csr(lists, lead);
  b.topkExclTile({ q, qRows, x, xRows, cols, k, qOffset: 0, xOffset: 0, excludeSelf: false, exclPtr: ptr, exclIdx: idx, outIdx: st.idx, outScores: st.scores });
  return st;
}

describe.each(cases)('topkExclTile on $label', ({ family, backend: b }) => {
  const tol = tolerance('topkTile', family);

  it('exact: small integers with ties, adversarial lists, short rows padded with -1 / -Infinity', () => {
    const cols = 12;
    const xRows = 600;
    const qRows = 18;
    const q = smallIntF32(qRows * cols, 5, 2);
    const x = smallIntF32(xRows * cols, 6, 2);
    for (const k of [1, 4, 10, 40]) {
      const lists = adversarialLists(qRows, xRows, k, 11 + k);
      const got = run(b, q, qRows, x, xRows, cols, k, lists, 3);
      for (let i = 0; i < qRows; i++) {
        const want = oracle(q, i, x, xRows, cols, new Set(lists[i])).slice(0, k);
        const what = `k=${k} row ${i}`;
        expect(Array.from(got.idx.subarray(i * k, i * k + want.length)), what).toEqual(want.map((c) => c.j));
        expect(Array.from(got.scores.subarray(i * k, i * k + want.length)), what).toEqual(want.map((c) => c.s));
        for (let p = want.length; p < k; p++) {
          expect(got.idx[i * k + p], what).toBe(-1);
          expect(got.scores[i * k + p], what).toBe(-Infinity);
        }
      }
    }
  });

  it('random: each index carries its own score; the listed items never appear; the set is the oracle\'s up to near-ties', () => {
    for (const cols of [1, 7, 16, 33, 64]) {
      const qRows = 13;
      const xRows = 530;
      const k = 10;
      const q = randomF32(qRows * cols, 300 + cols);
      const x = randomF32(xRows * cols, 400 + cols);
      const lists = adversarialLists(qRows, xRows, k, cols);
      const got = run(b, q, qRows, x, xRows, cols, k, lists);
      for (let i = 0; i < qRows; i++) {
        const skip = new Set(lists[i]);
        const want = oracle(q, i, x, xRows, cols, skip).slice(0, k);
        const idx = Array.from(got.idx.subarray(i * k, i * k + k));
        const what = `cols=${cols} row ${i}`;
        for (const j of idx) if (j >= 0) expect(skip.has(j), `listed ${j} ${what}`).toBe(false);
        for (let p = 0; p < want.length; p++) {
          const s = oracle(q, i, x, xRows, cols, new Set()).find((c) => c.j === idx[p])!.s;
          expectClose([got.scores[i * k + p]!], [s], tol, `score ${what}`);
        }
        if (want.length === 0) continue;
        const kth = want[want.length - 1]!.s;
        const slack = 2 * (tol.atol + tol.rtol * Math.abs(kth));
        for (const c of want) if (c.s > kth + slack) expect(idx, `index ${c.j} missing ${what}`).toContain(c.j);
        for (let p = want.length; p < k; p++) expect(idx[p], what).toBe(-1);
      }
    }
  });

  it('base blocks merged in any order and query tiles with their own windows of the lists equal one pass', () => {
    const cols = 9;
    const qRows = 24;
    const xRows = 700;
    const k = 6;
    const q = smallIntF32(qRows * cols, 21, 3);
    const x = smallIntF32(xRows * cols, 22, 3);
    const lists = adversarialLists(qRows, xRows, k, 5);
    const one = run(b, q, qRows, x, xRows, cols, k, lists);
    const { ptr, idx } = csr(lists);
    // Base blocks back to front (300 rows, so they cross the kernels' 256-row blocks), query tiles of 5 rows.
    const merged = empty(qRows, k);
    for (const j0 of [600, 300, 0]) {
      const xb = Math.min(300, xRows - j0);
      for (let r0 = 0; r0 < qRows; r0 += 5) {
        const r1 = Math.min(qRows, r0 + 5);
        b.topkExclTile({
          q: q.subarray(r0 * cols, r1 * cols),
          qRows: r1 - r0,
          x: x.subarray(j0 * cols, (j0 + xb) * cols),
          xRows: xb,
          cols,
          k,
          qOffset: r0,
          xOffset: j0,
          excludeSelf: false,
          exclPtr: ptr.subarray(r0, r1 + 1),
          exclIdx: idx,
          outIdx: merged.idx.subarray(r0 * k, r1 * k),
          outScores: merged.scores.subarray(r0 * k, r1 * k),
        });
      }
    }
    expect(Array.from(merged.idx)).toEqual(Array.from(one.idx));
    expect(Array.from(merged.scores)).toEqual(Array.from(one.scores));
  });

  it('with empty lists it is topkTile; excludeSelf still applies; k = 0 and zero rows touch nothing', () => {
    const cols = 20;
    const n = 90;
    const x = randomF32(n * cols, 31);
    const k = 5;
    const plain = empty(n, k);
    b.topkTile({ q: x, qRows: n, x, xRows: n, cols, k, qOffset: 0, xOffset: 0, excludeSelf: true, outIdx: plain.idx, outScores: plain.scores });
    const excl = empty(n, k);
    const none = new Int32Array(n + 1);
    b.topkExclTile({ q: x, qRows: n, x, xRows: n, cols, k, qOffset: 0, xOffset: 0, excludeSelf: true, exclPtr: none, exclIdx: new Int32Array(0), outIdx: excl.idx, outScores: excl.scores });
    expect(Array.from(excl.idx)).toEqual(Array.from(plain.idx));
    expect(Array.from(excl.scores)).toEqual(Array.from(plain.scores));
    const st = empty(2, 3);
    st.idx.fill(5);
    b.topkExclTile({ q: x, qRows: 2, x, xRows: n, cols, k: 0, qOffset: 0, xOffset: 0, excludeSelf: false, exclPtr: none, exclIdx: new Int32Array(0), outIdx: st.idx, outScores: st.scores });
    b.topkExclTile({ q: x, qRows: 0, x, xRows: n, cols, k: 3, qOffset: 0, xOffset: 0, excludeSelf: false, exclPtr: none, exclIdx: new Int32Array(0), outIdx: st.idx, outScores: st.scores });
    expect(Array.from(st.idx)).toEqual([5, 5, 5, 5, 5, 5]);
  });

  it.runIf(family === 'native')('native glue: row pointers outside the index array or decreasing are refused, not read', () => {
    const x = randomF32(10 * 4, 3);
    const st = empty(2, 3);
    for (const exclPtr of [Int32Array.from([0, 5, 9]), Int32Array.from([2, 1, 2]), Int32Array.from([-1, 0, 0])]) {
      expect(() =>
        b.topkExclTile({ q: x, qRows: 2, x, xRows: 10, cols: 4, k: 3, qOffset: 0, xOffset: 0, excludeSelf: false, exclPtr, exclIdx: Int32Array.from([1, 2]), outIdx: st.idx, outScores: st.scores }),
      ).toThrow(/exclPtr/);
    }
    // The lists are inputs: an exclusion index array that is also the output is refused, like any aliasing.
    const out = new Int32Array(6);
    expect(() =>
      b.topkExclTile({ q: x, qRows: 2, x, xRows: 10, cols: 4, k: 3, qOffset: 0, xOffset: 0, excludeSelf: false, exclPtr: Int32Array.from([0, 1, 2]), exclIdx: out, outIdx: out, outScores: st.scores }),
    ).toThrow(/outIdx shares memory with exclIdx/);
  });
});
