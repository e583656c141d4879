// kmeansStep on every backend and level against an f64 oracle written here: exact on small integers (ties to
// the lower centroid), within KERNEL_TOLERANCE on seeded random inputs over every tail; the step without
// distances, label-change counting, accumulation into the caller's sums, and the edges.
import { describe, expect, it } from 'vitest';
import type { Backend, KmeansStepArgs } from '../../src/backends/types.js';
import { backendCases } from '../helpers/backends.js';
import { randomF32, smallIntF32 } from '../helpers/rng.js';
import { TAIL_COLS, expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/** Oracle: each row's assignment scores ‖c‖² − 2x·c in f64, and the lowest-index argmin. */
function assign(x: Float32Array, rows: number, cols: number, c: Float32Array, k: number): { labels: number[]; score: number[][] } {
  const labels: number[] = [];
  const score: number[][] = [];
  for (let i = 0; i < rows; i++) {
    const si: number[] = [];
    for (let j = 0; j < k; j++) {
      let cc = 0;
      let xc = 0;
      for (let d = 0; d < cols; d++) {
        cc += c[j * cols + d]! * c[j * cols + d]!;
        xc += x[i * cols + d]! * c[j * cols + d]!;
      }
      si.push(cc - 2 * xc);
    }
    let l = 0;
    for (let j = 1; j < k; j++) if (si[j]! < si[l]!) l = j;
    labels.push(l);
    score.push(si);
  }
  return { labels, score };
}

/** Oracle: given labels, the exact distances, weighted sums and counts, and the inertia, in f64. */
function accumulate(x: Float32Array, rows: number, cols: number, c: Float32Array, k: number, w: Float32Array | null, labels: ArrayLike<number>) {
  const d2 = new Float64Array(rows);
  const sums = new Float64Array(k * cols);
  const counts = new Float64Array(k);
  let inertia = 0;
  for (let i = 0; i < rows; i++) {
    const l = labels[i]!;
    const wi = w ? w[i]! : 1;
    for (let d = 0; d < cols; d++) {
      const diff = x[i * cols + d]! - c[l * cols + d]!;
      d2[i]! += diff * diff;
      sums[l * cols + d]! += wi * x[i * cols + d]!;
    }
    counts[l]! += wi;
    inertia += wi * d2[i]!;
  }
  return { d2, sums, counts, inertia };
}

function step(b: Backend, a: Omit<KmeansStepArgs, 'labels' | 'sums' | 'counts' | 'minDist2'>, distances = true) {
  const labels = new Int32Array(a.rows);
  const minDist2 = distances ? new Float64Array(a.rows) : null;
  const sums = new Float64Array(a.k * a.cols);
  const counts = new Float64Array(a.k);
  const inertia = b.kmeansStep({ ...a, labels, minDist2, sums, counts });
  return { labels, minDist2, sums, counts, inertia };
}

describe.each(cases)('kmeansStep on $label', ({ family, backend: b }) => {
  const tol = tolerance('kmeansStep', family);
  const dotTol = tolerance('kmeansAssignment', family);

  it('exact: small integers give the oracle\'s labels (ties to the lower centroid), distances, sums, counts and inertia', () => {
    for (const cols of [1, 2, 3, 5, 8, 17, 33]) {
      for (const k of [1, 3, 4, 9]) {
        const rows = 41;
        const x = smallIntF32(rows * cols, 10 + cols, 3);
        const c = smallIntF32(k * cols, 20 + cols + k, 2);
        const w = Float32Array.from({ length: rows }, (_, i) => 1 + (i % 3));
        for (const weights of [null, w]) {
          const got = step(b, { x, rows, cols, centroids: c, k, weights });
          const want = assign(x, rows, cols, c, k);
          const what = `cols=${cols} k=${k} weights=${weights !== null}`;
          expect(Array.from(got.labels), what).toEqual(want.labels);
          const acc = accumulate(x, rows, cols, c, k, weights, want.labels);
          expect(Array.from(got.minDist2!), what).toEqual(Array.from(acc.d2));
          expect(Array.from(got.sums), what).toEqual(Array.from(acc.sums));
          expect(Array.from(got.counts), what).toEqual(Array.from(acc.counts));
          expect(got.inertia, what).toBe(acc.inertia);
        }
      }
    }
  });

  it('random: every tail length; labels are the oracle\'s up to near-ties; the rest within tolerance', () => {
    for (const cols of TAIL_COLS.filter((c) => c > 0)) {
      for (const k of [1, 5, 8, 17]) {
        const rows = 67;
        const x = randomF32(rows * cols, 300 + cols + k);
        const c = randomF32(k * cols, 400 + cols + k);
        const w = Float32Array.from({ length: rows }, (_, i) => 0.5 + (i % 3));
        for (const weights of [null, w]) {
          const got = step(b, { x, rows, cols, centroids: c, k, weights });
          const want = assign(x, rows, cols, c, k);
          const what = `cols=${cols} k=${k} weights=${weights !== null}`;
          // A label other than the oracle's only for a near-tie: ‖c‖² − 2x·c carries twice the error of the
          // dot x·c (|x·c| ≤ cols for inputs in [-1, 1]), so two scores closer than 4 such errors may swap.
          const slack = 4 * (dotTol.atol + dotTol.rtol * cols);
          for (let i = 0; i < rows; i++) {
            const l = got.labels[i]!;
            const s = want.score[i]!;
            expect(s[l]! - s[want.labels[i]!]!, `row ${i} label ${l} vs ${want.labels[i]} ${what}`).toBeLessThanOrEqual(slack);
          }
          const acc = accumulate(x, rows, cols, c, k, weights, got.labels);
          expectClose(got.minDist2!, acc.d2, tol, `minDist2 ${what}`);
          expectClose(got.sums, acc.sums, tol, `sums ${what}`);
          expectClose(got.counts, acc.counts, tol, `counts ${what}`);
          expectClose([got.inertia], [acc.inertia], tol, `inertia ${what}`);
          // Without distances: the same labels, sums and counts, bit for bit, and NaN for the inertia.
          const plain = step(b, { x, rows, cols, centroids: c, k, weights }, false);
          expect(plain.inertia).toBeNaN();
          expect(Array.from(plain.labels)).toEqual(Array.from(got.labels));
          expect(Array.from(plain.sums)).toEqual(Array.from(got.sums));
          expect(Array.from(plain.counts)).toEqual(Array.from(got.counts));
        }
      }
    }
  });

  it('accumulates into the caller\'s sums and counts, and counts changed labels into changes[0]', () => {
    const cols = 3;
    const x = Float32Array.from([0, 0, 0, 10, 10, 10, 1, 0, 0, 9, 10, 10]);
    const c = Float32Array.from([0, 0, 0, 10, 10, 10]);
    const labels = Int32Array.from([1, 1, 0, 1]); // row 0 moves to centroid 0, the others stay
    const sums = new Float64Array(6).fill(0.5);
    const counts = Float64Array.from([2, 3]);
    const changes = Int32Array.from([4]);
    const inertia = b.kmeansStep({ x, rows: 4, cols, centroids: c, k: 2, labels, minDist2: new Float64Array(4), sums, counts, changes });
    expect(Array.from(labels)).toEqual([0, 1, 0, 1]);
    expect(changes[0]).toBe(5); // 4 on entry + row 0
    expect(Array.from(sums)).toEqual([1.5, 0.5, 0.5, 19.5, 20.5, 20.5]);
    expect(Array.from(counts)).toEqual([4, 5]);
    expect(inertia).toBe(2); // oracle: rows 2 and 3 are 1 away from their centroid
  });

  it('edges: zero rows, more centroids than rows, zero vectors (smallest ‖c‖² wins), one column', () => {
    const c = Float32Array.from([3, 4, 1, 0, -1, 0]);
    const labels = new Int32Array(1).fill(7);
    const sums = new Float64Array(6);
    const counts = new Float64Array(3);
    expect(b.kmeansStep({ x: new Float32Array(0), rows: 0, cols: 2, centroids: c, k: 3, labels, minDist2: new Float64Array(0), sums, counts })).toBe(0);
    expect(b.kmeansStep({ x: new Float32Array(0), rows: 0, cols: 2, centroids: c, k: 3, labels, sums, counts })).toBeNaN();
    expect(labels[0]).toBe(7);
    expect(sums.every((v) => v === 0) && counts.every((v) => v === 0)).toBe(true);

    // Two zero rows and three centroids: ‖c‖² is 25, 1, 1, so centroid 1 (the lower of the tie) wins.
    const z = step(b, { x: new Float32Array(4), rows: 2, cols: 2, centroids: c, k: 3 });
    expect(Array.from(z.labels)).toEqual([1, 1]);
    expect(Array.from(z.minDist2!)).toEqual([1, 1]);
    expect(Array.from(z.counts)).toEqual([0, 2, 0]);

    const one = step(b, { x: Float32Array.from([-5, 0.5, 2, 7]), rows: 4, cols: 1, centroids: Float32Array.from([0, 4, -4]), k: 3 });
    expect(Array.from(one.labels)).toEqual([2, 0, 0, 1]); // 2 is 2 from both 0 and 4: the lower index
    expect(Array.from(one.minDist2!)).toEqual([1, 0.25, 4, 9]);
  });
});
