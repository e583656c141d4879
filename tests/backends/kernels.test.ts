// Every kernel of every backend that loads here, against the f64 js backend (the reference):
// exact on small-integer inputs, within TOLERANCE on seeded random inputs over every SIMD tail.
import { describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { LINK_IDENTITY, LINK_SIGMOID, logisticLayout } from '../../src/backends/types.js';
import type { Backend } from '../../src/backends/types.js';
import { backendsUnderTest, reference } from '../helpers/backends.js';
import { randomF32, randomF64, smallIntF32 } from '../helpers/rng.js';
import { TAIL_COLS, TOLERANCE, expectClose } from '../helpers/tolerance.js';

const backends = await backendsUnderTest();

function emptyState(rows: number, k: number): { idx: Int32Array; scores: Float32Array } {
  return { idx: new Int32Array(rows * k).fill(-1), scores: new Float32Array(rows * k).fill(-Infinity) };
}

/** Top-k of one query by full sort of reference scores: higher score first, then lower index. */
function sortTopK(scores: Float64Array | Float32Array, k: number, skip = -1): number[] {
  const order = Array.from(scores.keys()).filter((j) => j !== skip);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, k);
}

describe.each(backends.map((b) => [`${b.info.name}/${b.info.simd}`, b] as const))('%s kernels', (_name, b: Backend) => {
  it('reports what it is', () => {
    expect(b.info.simd.length).toBeGreaterThan(0);
  });

  it('normalizeRows: zero rows stay zero; every tail within tolerance', () => {
    for (const cols of TAIL_COLS) {
      const rows = 5;
      const x = randomF32(rows * cols, 11 + cols);
      x.fill(0, 0, cols); // row 0 is a zero vector
      const out = new Float32Array(rows * cols);
      const norms = new Float32Array(rows);
      const rOut = new Float32Array(rows * cols);
      const rNorms = new Float32Array(rows);
      b.normalizeRows(x, rows, cols, out, norms);
      reference.normalizeRows(x, rows, cols, rOut, rNorms);
      expectClose(out, rOut, TOLERANCE.normalize, `normalize cols=${cols}`);
      expectClose(norms, rNorms, TOLERANCE.normalize, `norms cols=${cols}`);
      expect(norms[0]).toBe(0);
      // In place gives the same answer.
      const y = x.slice();
      b.normalizeRows(y, rows, cols, y, norms);
      expect(Array.from(y)).toEqual(Array.from(out));
    }
  });

  it('similarityTile: exact on small integers', () => {
    const a = smallIntF32(7 * 33, 1);
    const c = smallIntF32(5 * 33, 2);
    const out = new Float32Array(7 * 6).fill(99);
    const ref = new Float32Array(7 * 6).fill(99);
    b.similarityTile(a, 7, c, 5, 33, out, 6);
    reference.similarityTile(a, 7, c, 5, 33, ref, 6);
    // Oracle: exact integer arithmetic (the reference), column 5 untouched because ldOut > bRows.
    expect(Array.from(out)).toEqual(Array.from(ref));
  });

  it('similarityTile: random over every tail', () => {
    for (const cols of TAIL_COLS) {
      for (const [ar, br] of [[1, 1], [3, 5], [17, 9], [33, 70]] as const) {
        const a = randomF32(ar * cols, cols * 7 + ar);
        const c = randomF32(br * cols, cols * 13 + br);
        const out = new Float32Array(ar * br);
        const ref = new Float32Array(ar * br);
        b.similarityTile(a, ar, c, br, cols, out, br);
        reference.similarityTile(a, ar, c, br, cols, ref, br);
        expectClose(out, ref, TOLERANCE.dotF32, `similarity ${ar}x${br}x${cols}`);
      }
    }
  });

  it('similarityTile: an element does not depend on the tile it is computed in', () => {
    const cols = 129;
    const a = randomF32(40 * cols, 5);
    const c = randomF32(300 * cols, 6);
    const whole = new Float32Array(40 * 300);
    b.similarityTile(a, 40, c, 300, cols, whole, 300);
    const tiled = new Float32Array(40 * 300);
    for (let i0 = 0; i0 < 40; i0 += 7) {
      for (let j0 = 0; j0 < 300; j0 += 64) {
        const ar = Math.min(7, 40 - i0);
        const br = Math.min(64, 300 - j0);
        b.similarityTile(a.subarray(i0 * cols), ar, c.subarray(j0 * cols), br, cols, tiled.subarray(i0 * 300 + j0), 300);
      }
    }
    expect(Array.from(tiled)).toEqual(Array.from(whole));
  });

  it('topkTile: exact on small integers with ties to the lower index', () => {
    const cols = 16;
    const q = smallIntF32(9 * cols, 3, 2);
    const x = smallIntF32(200 * cols, 4, 2);
    for (const k of [1, 3, 10, 200, 250]) {
      const got = emptyState(9, k);
      b.topkTile(q, 9, x, 200, cols, k, 0, 0, false, got.idx, got.scores);
      for (let i = 0; i < 9; i++) {
        const s = new Float64Array(200);
        reference.similarityTile(q.subarray(i * cols), 1, x, 200, cols, s, 200);
        const want = sortTopK(s, k);
        const row = Array.from(got.idx.subarray(i * k, i * k + k));
        expect(row.slice(0, want.length)).toEqual(want);
        for (let p = want.length; p < k; p++) {
          expect(row[p]).toBe(-1);
          expect(got.scores[i * k + p]).toBe(-Infinity);
        }
        for (let p = 0; p < want.length; p++) expect(got.scores[i * k + p]).toBe(s[want[p]!]);
      }
    }
  });

  it('topkTile: merging base blocks equals one pass; excludeSelf skips the query itself', () => {
    const cols = 33;
    const n = 150;
    const x = randomF32(n * cols, 8);
    const k = 7;
    const one = emptyState(n, k);
    b.topkTile(x, n, x, n, cols, k, 0, 0, true, one.idx, one.scores);
    const blocks = emptyState(n, k);
    for (let j0 = 0; j0 < n; j0 += 32) {
      const br = Math.min(32, n - j0);
      b.topkTile(x, n, x.subarray(j0 * cols), br, cols, k, 0, j0, true, blocks.idx, blocks.scores);
    }
    expect(Array.from(blocks.idx)).toEqual(Array.from(one.idx));
    expect(Array.from(blocks.scores)).toEqual(Array.from(one.scores));
    for (let i = 0; i < n; i++) expect(Array.from(one.idx.subarray(i * k, i * k + k))).not.toContain(i);
    // Query offset: rows 100..149 as a separate query block exclude their own global index.
    const part = emptyState(50, k);
    b.topkTile(x.subarray(100 * cols), 50, x, n, cols, k, 100, 0, true, part.idx, part.scores);
    expect(Array.from(part.idx)).toEqual(Array.from(one.idx.subarray(100 * k)));
  });

  it('topkTile: random inputs over every tail match the reference scores', () => {
    for (const cols of TAIL_COLS.filter((c) => c > 0)) {
      const q = randomF32(6 * cols, 100 + cols);
      const x = randomF32(97 * cols, 200 + cols);
      const k = 10;
      const got = emptyState(6, k);
      const ref = emptyState(6, k);
      b.topkTile(q, 6, x, 97, cols, k, 0, 0, false, got.idx, got.scores);
      reference.topkTile(q, 6, x, 97, cols, k, 0, 0, false, ref.idx, ref.scores);
      expectClose(got.scores, ref.scores, TOLERANCE.dotF32, `topk scores cols=${cols}`);
      // Each returned index carries its own (reference) score: only near-exact ties may swap places.
      const s = new Float32Array(6 * 97);
      reference.similarityTile(q, 6, x, 97, cols, s, 97);
      for (let i = 0; i < 6 * k; i++) {
        const row = Math.floor(i / k);
        expectClose([got.scores[i]!], [s[row * 97 + got.idx[i]!]!], TOLERANCE.dotF32, 'topk index score');
      }
    }
  });

  it('kmeansStep: labels, exact distances, sums and counts match the reference', () => {
    for (const cols of [1, 2, 3, 7, 8, 9, 16, 17, 33, 64]) {
      const rows = 301;
      const k = 5;
      const x = randomF32(rows * cols, 300 + cols);
      const c = randomF32(k * cols, 400 + cols);
      const w = new Float32Array(rows).map((_, i) => 0.5 + (i % 3));
      for (const weights of [null, w]) {
        const run = (be: Backend) => {
          const labels = new Int32Array(rows);
          const d2 = new Float64Array(rows);
          const sums = new Float64Array(k * cols);
          const counts = new Float64Array(k);
          const inertia = be.kmeansStep(x, rows, cols, c, k, weights, labels, d2, sums, counts);
          return { labels, d2, sums, counts, inertia };
        };
        const got = run(b);
        const ref = run(reference);
        expect(Array.from(got.labels)).toEqual(Array.from(ref.labels));
        expectClose(got.d2, ref.d2, TOLERANCE.reductionF64, 'minDist2');
        expectClose(got.sums, ref.sums, TOLERANCE.reductionF64, 'sums');
        expectClose(got.counts, ref.counts, TOLERANCE.reductionF64, 'counts');
        expectClose([got.inertia], [ref.inertia], TOLERANCE.reductionF64, 'inertia');
        // Without distances: the same labels, sums and counts (bit for bit), and NaN for the inertia.
        const labels = new Int32Array(rows);
        const sums = new Float64Array(k * cols);
        const counts = new Float64Array(k);
        expect(b.kmeansStep(x, rows, cols, c, k, weights, labels, null, sums, counts)).toBeNaN();
        expect(Array.from(labels)).toEqual(Array.from(got.labels));
        expect(Array.from(sums)).toEqual(Array.from(got.sums));
        expect(Array.from(counts)).toEqual(Array.from(got.counts));
      }
    }
  });

  it('kmeansStep: ties go to the lower centroid', () => {
    const x = new Float32Array([0, 0, 2, 2]);
    const c = new Float32Array([1, 1, 1, 1, -1, -1]); // centroids 0 and 1 coincide
    const labels = new Int32Array(2);
    b.kmeansStep(x, 2, 2, c, 3, null, labels, new Float64Array(2), new Float64Array(6), new Float64Array(3));
    expect(Array.from(labels)).toEqual([0, 0]); // (0,0) is at 2 from c0, c1 and c2: lowest index wins
  });

  it('gram: weighted, centred XᵀWX (upper triangle) and Xᵀv in f64', () => {
    for (const cols of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 65]) {
      const rows = 257;
      const x = randomF32(rows * cols, 500 + cols);
      const w = randomF64(rows, 600 + cols).map((v) => Math.abs(v));
      const v = randomF64(rows, 700 + cols);
      const center = randomF64(cols, 800 + cols);
      for (const [ww, cc] of [[null, null], [w, null], [w, center]] as const) {
        const g = new Float64Array(cols * cols).fill(0.5);
        const gr = new Float64Array(cols * cols).fill(0.5);
        const xty = new Float64Array(cols).fill(0.25);
        const xtyr = new Float64Array(cols).fill(0.25);
        b.gram(x, rows, cols, ww, cc, v, g, xty);
        reference.gram(x, rows, cols, ww, cc, v, gr, xtyr);
        for (let a = 0; a < cols; a++) {
          for (let c2 = a; c2 < cols; c2++) {
            expectClose([g[a * cols + c2]!], [gr[a * cols + c2]!], TOLERANCE.reductionF64, `gram[${a},${c2}] cols=${cols}`);
          }
        }
        expectClose(xty, xtyr, TOLERANCE.reductionF64, 'xty');
      }
    }
  });

  it('logisticPass: z, losses, count, gradient and Hessian pieces against the formulas in f64', () => {
    for (const cols of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 65]) {
      for (const rows of [1, 3, 257, 600]) {
        const x = randomF32(rows * cols, 900 + cols + rows);
        const y = Float64Array.from(randomF64(rows, 901 + cols), (v) => (v > 0.2 ? 1 : 0));
        const s = Float64Array.from(randomF64(rows, 902 + cols), (v) => Math.abs(v) * 2);
        const beta = randomF64(cols, 903 + cols).map((v) => (v * 3) / Math.sqrt(cols));
        const bias = 0.3;
        for (const [ss, hessian] of [[s, true], [null, true], [s, false]] as const) {
          const L = logisticLayout(cols);
          const out = new Float64Array(L.length).fill(0.5); // accumulates: start from a known non-zero state
          const z = new Float64Array(rows);
          b.logisticPass(x, rows, cols, y, ss, beta, bias, hessian, z, out);
          // The formulas, written out independently of every backend.
          const ref = new Float64Array(L.length).fill(0.5);
          const zr = new Float64Array(rows);
          let near = 0;
          let correct = 0;
          for (let i = 0; i < rows; i++) {
            let zi = bias;
            for (let d = 0; d < cols; d++) zi += x[i * cols + d]! * beta[d]!;
            zr[i] = zi;
            if (Math.abs(zi) < 1e-9) near++;
            const si = ss ? ss[i]! : 1;
            const p = 1 / (1 + Math.exp(-zi));
            const li = Math.log(1 + Math.exp(zi)) - y[i]! * zi;
            ref[L.lossW]! += si * li;
            ref[L.loss]! += li;
            if ((zi > 0 ? 1 : 0) === y[i]) correct++;
            const v = si * (y[i]! - p);
            const w = si * p * (1 - p);
            for (let d = 0; d < cols; d++) ref[L.grad + d]! += v * x[i * cols + d]!;
            ref[L.grad + cols]! += v;
            if (!hessian) continue;
            for (let a = 0; a < cols; a++) {
              ref[L.xw + a]! += w * x[i * cols + a]!;
              for (let c = a; c < cols; c++) ref[L.h + a * cols + c]! += w * x[i * cols + a]! * x[i * cols + c]!;
            }
            ref[L.xw + cols]! += w;
          }
          ref[L.correct]! += correct;
          const what = `cols=${cols} rows=${rows} s=${ss !== null} hessian=${hessian}`;
          expectClose(z, zr, TOLERANCE.reductionF64, `z ${what}`);
          expect(Math.abs(out[L.correct]! - ref[L.correct]!)).toBeLessThanOrEqual(near);
          expectClose(out.subarray(0, L.correct), ref.subarray(0, L.correct), TOLERANCE.reductionF64, `losses ${what}`);
          expectClose(out.subarray(L.grad, L.h), ref.subarray(L.grad, L.h), TOLERANCE.reductionF64, `gradient and Xᵀw ${what}`);
          let hmax = 0;
          for (let i = L.h; i < L.length; i++) hmax = Math.max(hmax, Math.abs(ref[i]! - 0.5));
          for (let a = 0; a < cols; a++) {
            for (let c = 0; c < cols; c++) {
              const k = L.h + a * cols + c;
              if (c < a || !hessian) expect(out[k], `untouched H[${a},${c}] ${what}`).toBe(0.5);
              else expect(Math.abs(out[k]! - ref[k]!), `H[${a},${c}] ${what}`).toBeLessThanOrEqual(TOLERANCE.hessianF32.rtol * hmax + 1e-12);
            }
          }
        }
      }
    }
  });

  it('logisticPass: finite and exact in the tails (|z| up to 800)', () => {
    const cols = 2;
    const rows = 9;
    const x = new Float32Array(rows * cols);
    const zs = [-800, -710, -40, -1e-8, 0, 1e-8, 40, 710, 800];
    for (let i = 0; i < rows; i++) x[i * cols] = zs[i]!;
    const y = Float64Array.from(zs, (_, i) => i % 2);
    const out = new Float64Array(logisticLayout(cols).length);
    const z = new Float64Array(rows);
    b.logisticPass(x, rows, cols, y, null, new Float64Array([1, 0]), 0, true, z, out);
    expect(Array.from(out).every(Number.isFinite)).toBe(true);
    // Loss by rows: softplus(z) − y·z, i.e. |z| for the confident mistakes, ~0 for the confident hits.
    let want = 0;
    for (let i = 0; i < rows; i++) want += Math.max(zs[i]!, 0) + Math.log1p(Math.exp(-Math.abs(zs[i]!))) - y[i]! * zs[i]!;
    expect(Math.abs(out[1]! - want)).toBeLessThanOrEqual(1e-12 * want);
  });

  it('choleskySolve: residual of G X = B is small; a non-positive pivot names its index', () => {
    for (const n of [1, 2, 3, 5, 8, 17, 64]) {
      const a = randomF64(n * (n + 3), 900 + n);
      // G = AAᵀ + n I is symmetric positive definite.
      const g = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = i === j ? n : 0;
          for (let p = 0; p < n + 3; p++) s += a[i * (n + 3) + p]! * a[j * (n + 3) + p]!;
          g[i * n + j] = s;
        }
      }
      const nrhs = 3;
      const rhs = randomF64(n * nrhs, 950 + n);
      const sol = rhs.slice();
      b.choleskySolve(g.slice(), n, sol, nrhs);
      const res = new Float64Array(n * nrhs);
      for (let i = 0; i < n; i++) {
        for (let r = 0; r < nrhs; r++) {
          let s = 0;
          for (let p = 0; p < n; p++) s += g[i * n + p]! * sol[p * nrhs + r]!;
          res[i * nrhs + r] = s;
        }
      }
      // Oracle: the residual G·X − B (faer-style check), not equality with another solver.
      expectClose(res, rhs, TOLERANCE.solveResidual, `residual n=${n}`);
    }
    const bad = new Float64Array([4, 2, 0, 2, 1, 0, 0, 0, 1]); // rank 2: pivot 1 is 0
    try {
      b.choleskySolve(bad, 3, new Float64Array(3), 1);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(QuiverError);
      expect((e as QuiverError).code).toBe('NOT_POSITIVE_DEFINITE');
      expect((e as QuiverError).details?.['pivot']).toBe(1);
    }
  });

  it('matvec: identity and sigmoid links over every tail', () => {
    for (const cols of TAIL_COLS) {
      const rows = 37;
      const x = randomF32(rows * cols, 1000 + cols);
      const w = randomF64(cols, 1100 + cols);
      for (const link of [LINK_IDENTITY, LINK_SIGMOID] as const) {
        const out = new Float32Array(rows);
        const ref = new Float32Array(rows);
        b.matvec(x, rows, cols, w, 0.3, link, out);
        reference.matvec(x, rows, cols, w, 0.3, link, ref);
        expectClose(out, ref, TOLERANCE.matvec, `matvec cols=${cols} link=${link}`);
      }
    }
  });

  it('regions: kernels read and write views of shared regions in place', () => {
    const cols = 17;
    const rx = b.alloc('f32', 4 * cols);
    const rn = b.alloc('f32', 4);
    const x = b.view(rx);
    x.set(randomF32(4 * cols, 77));
    const plain = x.slice();
    b.normalizeRows(x, 4, cols, x, b.view(rn));
    const want = new Float32Array(4 * cols);
    reference.normalizeRows(plain, 4, cols, want, new Float32Array(4));
    expectClose(b.view(rx), want, TOLERANCE.normalize, 'region normalize');
    b.free(rx);
    b.free(rn);
  });
});
