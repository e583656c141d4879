// topkTile on every backend and level against an f64 oracle written here (dot products, then a full sort by
// score desc, index asc): exact on small integers with ties, within KERNEL_TOLERANCE on seeded random inputs
// over every tail; merging base blocks, offsets and excludeSelf, and the edges.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import { backendCases } from '../helpers/backends.js';
import { mulberry32, randomF32, smallIntF32 } from '../helpers/rng.js';
import { TAIL_COLS, expectClose, tolerance, type Tol } from '../helpers/tolerance.js';

const cases = await backendCases();

/** Oracle: f64 dot products of query row i with every base row. */
function scores(q: Float32Array, i: number, x: Float32Array, xRows: number, cols: number): Float64Array {
  const s = new Float64Array(xRows);
  for (let j = 0; j < xRows; j++) {
    let t = 0;
    for (let d = 0; d < cols; d++) t += q[i * cols + d]! * x[j * cols + d]!;
    s[j] = t;
  }
  return s;
}

/** Oracle: the k best indices by full sort (score desc, index asc), `skip` left out. */
function best(s: Float64Array, k: number, skip = -1): number[] {
  const order = Array.from(s.keys()).filter((j) => j !== skip);
  order.sort((a, b) => s[b]! - s[a]! || a - b);
  return order.slice(0, k);
}

function emptyState(rows: number, k: number): { idx: Int32Array; scores: Float32Array } {
  return { idx: new Int32Array(rows * k).fill(-1), scores: new Float32Array(rows * k).fill(-Infinity) };
}

function run(b: Backend, q: Float32Array, qRows: number, x: Float32Array, xRows: number, cols: number, k: number, excludeSelf = false) {
  const st = emptyState(qRows, k);
  b.topkTile({ q, qRows, x, xRows, cols, k, qOffset: 0, xOffset: 0, excludeSelf, outIdx: st.idx, outScores: st.scores });
  return st;
}

const bound = (tol: Tol, v: number): number => tol.atol + tol.rtol * Math.abs(v);

describe.each(cases)('topkTile on $label', ({ family, backend: b }) => {
  const tol = tolerance('topkTile', family);

  it('exact: small integers, ties to the lower index, k beyond the base padded with -1 / -Infinity', () => {
    const cols = 16;
    const q = smallIntF32(9 * cols, 3, 2);
    const x = smallIntF32(200 * cols, 4, 2);
    for (const k of [1, 3, 10, 200, 250]) {
      const got = run(b, q, 9, x, 200, cols, k);
      for (let i = 0; i < 9; i++) {
        const s = scores(q, i, x, 200, cols);
        const want = best(s, k);
        expect(Array.from(got.idx.subarray(i * k, i * k + want.length)), `k=${k} row ${i}`).toEqual(want);
        expect(Array.from(got.scores.subarray(i * k, i * k + want.length))).toEqual(want.map((j) => s[j]));
        for (let p = want.length; p < k; p++) {
          expect(got.idx[i * k + p]).toBe(-1);
          expect(got.scores[i * k + p]).toBe(-Infinity);
        }
      }
    }
  });

  it('random: every tail length; each index carries its own score; the set is the oracle\'s up to near-ties', () => {
    for (const cols of TAIL_COLS.filter((c) => c > 0)) {
      for (const [qRows, xRows, k] of [[1, 9, 3], [6, 97, 10], [5, 33, 40]] as const) {
        const q = randomF32(qRows * cols, 100 + cols + xRows);
        const x = randomF32(xRows * cols, 200 + cols + xRows);
        const got = run(b, q, qRows, x, xRows, cols, k);
        for (let i = 0; i < qRows; i++) {
          const s = scores(q, i, x, xRows, cols);
          const want = best(s, k);
          const idx = Array.from(got.idx.subarray(i * k, i * k + k));
          const sc = got.scores.subarray(i * k, i * k + k);
          const what = `cols=${cols} ${qRows}×${xRows} k=${k} row ${i}`;
          expect(new Set(idx.slice(0, want.length)).size, `distinct ${what}`).toBe(want.length);
          for (let p = 0; p < want.length; p++) {
            expectClose([sc[p]!], [s[idx[p]!]!], tol, `score of index ${idx[p]} ${what}`);
            if (p > 0) expect(sc[p]!, `sorted ${what}`).toBeLessThanOrEqual(sc[p - 1]!);
          }
          // Only candidates within the scores' error of the k-th best may trade places with it.
          const kth = s[want[want.length - 1]!]!;
          const slack = 2 * bound(tol, kth);
          for (const j of idx.slice(0, want.length)) expect(s[j]!, `index ${j} belongs ${what}`).toBeGreaterThanOrEqual(kth - slack);
          for (const j of want) if (s[j]! > kth + slack) expect(idx, `index ${j} missing ${what}`).toContain(j);
          for (let p = want.length; p < k; p++) expect(idx[p]).toBe(-1);
        }
      }
    }
  });

  it('scaled (cosine without copies): scores are the cosines of the raw rows, selected by them, not by the dots', () => {
    const rng = mulberry32(77);
    for (const cols of TAIL_COLS.filter((c) => c > 0)) {
      const [qRows, xRows, k] = [7, 131, 9];
      const q = randomF32(qRows * cols, 300 + cols);
      const x = randomF32(xRows * cols, 400 + cols);
      // Row lengths over six orders of magnitude, so the largest dot products are not the largest cosines;
      // and a zero base row, whose score must be 0 as a normalised copy would give.
      for (let j = 0; j < xRows; j++) {
        const f = 10 ** (6 * rng() - 3);
        for (let d = 0; d < cols; d++) x[j * cols + d] = Math.fround(x[j * cols + d]! * f);
      }
      x.fill(0, 5 * cols, 6 * cols);
      const inv = (m: Float32Array, rows: number) =>
        Float32Array.from({ length: rows }, (_, i) => {
          let t = 0;
          for (let d = 0; d < cols; d++) t += m[i * cols + d]! ** 2;
          return t > 0 ? 1 / Math.sqrt(t) : 0;
        });
      const qScale = inv(q, qRows);
      const xScale = inv(x, xRows);
      const st = emptyState(qRows, k);
      b.topkTile({ q, qRows, x, xRows, cols, k, qOffset: 0, xOffset: 0, excludeSelf: false, qScale, xScale, outIdx: st.idx, outScores: st.scores });
      for (let i = 0; i < qRows; i++) {
        const dots = scores(q, i, x, xRows, cols);
        const cos = dots.map((v, j) => {
          let qq = 0;
          let xx = 0;
          for (let d = 0; d < cols; d++) {
            qq += q[i * cols + d]! ** 2;
            xx += x[j * cols + d]! ** 2;
          }
          return xx > 0 ? v / Math.sqrt(qq * xx) : 0;
        });
        const want = best(cos, k);
        const idx = Array.from(st.idx.subarray(i * k, i * k + k));
        const what = `cols=${cols} row ${i}`;
        const kth = cos[want[k - 1]!]!;
        // The dot's error relative to ‖q‖‖x‖ (≤ the table's bound at |score| 1), plus four f32 roundings: each
        // inverse norm once, each of the two products once.
        const err = bound(tol, 1) + 4 * 2 ** -24;
        const slack = 2 * err;
        for (let p = 0; p < k; p++) expectClose([st.scores[i * k + p]!], [cos[idx[p]!]!], { atol: err, rtol: 0 }, `score ${what}`);
        for (const j of idx) expect(cos[j]!, `index ${j} belongs ${what}`).toBeGreaterThanOrEqual(kth - slack);
        for (const j of want) if (cos[j]! > kth + slack) expect(idx, `index ${j} missing ${what}`).toContain(j);
      }
    }
  });

  it('merging base blocks equals one pass; offsets are global; excludeSelf skips the query itself', () => {
    const cols = 33;
    const n = 150;
    const x = randomF32(n * cols, 8);
    const k = 7;
    const one = emptyState(n, k);
    b.topkTile({ q: x, qRows: n, x, xRows: n, cols, k, qOffset: 0, xOffset: 0, excludeSelf: true, outIdx: one.idx, outScores: one.scores });
    const blocks = emptyState(n, k);
    for (let j0 = 0; j0 < n; j0 += 32) {
      const br = Math.min(32, n - j0);
      b.topkTile({ q: x, qRows: n, x: x.subarray(j0 * cols), xRows: br, cols, k, qOffset: 0, xOffset: j0, excludeSelf: true, outIdx: blocks.idx, outScores: blocks.scores });
    }
    expect(Array.from(blocks.idx)).toEqual(Array.from(one.idx));
    expect(Array.from(blocks.scores)).toEqual(Array.from(one.scores));
    for (let i = 0; i < n; i++) expect(Array.from(one.idx.subarray(i * k, i * k + k))).not.toContain(i);
    // Rows 100..149 as a separate query block exclude their own global index.
    const part = emptyState(50, k);
    b.topkTile({ q: x.subarray(100 * cols), qRows: 50, x, xRows: n, cols, k, qOffset: 100, xOffset: 0, excludeSelf: true, outIdx: part.idx, outScores: part.scores });
    expect(Array.from(part.idx)).toEqual(Array.from(one.idx.subarray(100 * k)));
  });

  it('edges: zero rows and k = 0 touch nothing; a zero query ties everywhere (lowest indices); one column', () => {
    const x = randomF32(10 * 4, 1);
    const st = emptyState(2, 3);
    st.idx.fill(5);
    b.topkTile({ q: x, qRows: 0, x, xRows: 10, cols: 4, k: 3, qOffset: 0, xOffset: 0, excludeSelf: false, outIdx: st.idx, outScores: st.scores });
    b.topkTile({ q: x, qRows: 2, x, xRows: 0, cols: 4, k: 3, qOffset: 0, xOffset: 0, excludeSelf: false, outIdx: st.idx, outScores: st.scores });
    b.topkTile({ q: x, qRows: 2, x, xRows: 10, cols: 4, k: 0, qOffset: 0, xOffset: 0, excludeSelf: false, outIdx: st.idx, outScores: st.scores });
    expect(Array.from(st.idx)).toEqual([5, 5, 5, 5, 5, 5]);
    expect(Array.from(st.scores).every((v) => v === -Infinity)).toBe(true);

    const zero = run(b, new Float32Array(4), 1, x, 10, 4, 4);
    expect(Array.from(zero.idx)).toEqual([0, 1, 2, 3]);
    expect(Array.from(zero.scores)).toEqual([0, 0, 0, 0]);

    const q1 = Float32Array.from([2]);
    const x1 = Float32Array.from([1, -3, 4, 4, 0]);
    const one = run(b, q1, 1, x1, 5, 1, 6);
    expect(Array.from(one.idx)).toEqual([2, 3, 0, 4, 1, -1]);
    expect(Array.from(one.scores)).toEqual([8, 8, 2, 0, -6, -Infinity]);
  });
});
