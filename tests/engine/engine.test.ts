// The engine on the backend this pass selected (QUIVER_BACKEND; npm test runs native, wasm, js):
// pool results equal direct kernel calls for any thread count and tile size, and bad input is refused.
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/quiver.js';
import { LINK_SIGMOID, logisticLayout } from '../../src/backends/types.js';
import type { Matrix } from '../../src/types.js';
import { reference } from '../helpers/backends.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';
import { randomF32, randomF64, smallIntF32 } from '../helpers/rng.js';
import { TOLERANCE, expectClose } from '../helpers/tolerance.js';

const engine = engineFactory();

const mat = (rows: number, cols: number, data: Float32Array): Matrix => ({ rows, cols, data });


describe('engine on the selected backend', () => {
  it('reports its backend and threads', async () => {
    const e = await engine({ threads: 2 });
    const info = e.info();
    expect(info.threads).toBe(2);
    expect(['native', 'wasm', 'js']).toContain(info.backend);
    if (process.env['QUIVER_BACKEND']) expect(info.backend).toBe(process.env['QUIVER_BACKEND']);
    if (process.env['QUIVER_REQUIRE_NATIVE'] === '1') expect(info.backend).toBe('native');
  });

  it('topK and similarity: the same bits for 1, 2 and 3 threads and several tile sizes, inline or pooled', async () => {
    const q = mat(70, 33, randomF32(70 * 33, 1));
    const x = mat(301, 33, randomF32(301 * 33, 2));
    const base = await engine({ threads: 1, inlineWork: Infinity });
    const want = await base.topK(q, x, { k: 9 });
    const wantSim = await base.cosineSimilarity(q, x);
    for (const threads of [1, 2, 3]) {
      for (const tileRows of [undefined, 1, 7, 64]) {
        const e = await engine({ threads, tileRows, inlineWork: 0 });
        const got = await e.topK(q, x, { k: 9 });
        expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
        expect(Array.from(got.scores)).toEqual(Array.from(want.scores));
        const sim = await e.cosineSimilarity(q, x);
        expect(Array.from(sim.data)).toEqual(Array.from(wantSim.data));
      }
    }
  });

  it('topK equals a full sort of the exact similarities (small integers, ties to the lower index)', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const cols = 8;
    const x = mat(120, cols, smallIntF32(120 * cols, 9, 2));
    const res = await e.topK(x, undefined, { k: 12, metric: 'dot', excludeSelf: true });
    expect(res.k).toBe(12);
    const s = new Float32Array(120 * 120);
    reference.similarityTile({ a: x.data, aRows: 120, b: x.data, bRows: 120, cols, out: s, ldOut: 120 }); // oracle: exact integer dot products
    for (let i = 0; i < 120; i++) {
      const order = [...Array(120).keys()].filter((j) => j !== i).sort((a, b) => s[i * 120 + b]! - s[i * 120 + a]! || a - b);
      expect(Array.from(res.indices.subarray(i * 12, i * 12 + 12))).toEqual(order.slice(0, 12));
    }
  });

  it('cosine: zero vectors have similarity 0 with everything', async () => {
    const e = await engine({ threads: 2 });
    const a = mat(3, 4, new Float32Array([0, 0, 0, 0, 1, 2, 3, 4, -1, 0, 2, 0]));
    const s = await e.cosineSimilarity(a);
    expect(Array.from(s.data.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(s.data[1 * 3 + 0]).toBe(0);
    expectClose([s.data[4]!], [1], TOLERANCE.normalize, 'self-similarity');
  });

  it('cosine topK and topKExcluding match an f64 oracle at any scale: rows of norm 1e-30 to 1e30 (normalised copies) and ordinary ones (scaled scores)', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const cols = 12;
    const q0 = randomF32(9 * cols, 31);
    const x0 = randomF32(60 * cols, 32);
    x0.fill(0, 7 * cols, 8 * cols); // a zero base row scores 0
    /** Oracle: f64 cosines of the rows as given, the k best by (score desc, index asc). */
    const oracle = (q: Float32Array, x: Float32Array, k: number, skip?: (i: number, j: number) => boolean) => {
      const norm = (m: Float32Array, r: number) => Math.sqrt(m.subarray(r * cols, (r + 1) * cols).reduce((t, v) => t + v * v, 0));
      return Array.from({ length: 9 }, (_, i) => {
        const c = Array.from({ length: 60 }, (_, j) => {
          let t = 0;
          for (let d = 0; d < cols; d++) t += q[i * cols + d]! * x[j * cols + d]!;
          const n = norm(q, i) * norm(x, j);
          return n > 0 ? t / n : 0;
        });
        const order = [...c.keys()].filter((j) => !skip?.(i, j)).sort((a, b) => c[b]! - c[a]! || a - b);
        return order.slice(0, k).map((j) => [j, c[j]!] as const);
      });
    };
    const skip = (i: number, j: number) => (i + j) % 5 === 0;
    const indptr = new Int32Array(10);
    const lists: number[] = [];
    for (let i = 0; i < 9; i++) {
      for (let j = 0; j < 60; j++) if (skip(i, j)) lists.push(j);
      indptr[i + 1] = lists.length;
    }
    for (const scale of [1, 1e30, 1e-30]) {
      const q = q0.map((v, p) => v * (p < 3 * cols ? scale : 1));
      const x = x0.map((v, p) => v * (p >= 30 * cols ? scale : 1));
      const top = await e.topK(mat(9, cols, q), mat(60, cols, x), { k: 6 });
      const ex = await e.topKExcluding(mat(9, cols, q), mat(60, cols, x), { k: 6, exclude: { indptr, indices: Int32Array.from(lists) } });
      for (const [got, want] of [[top, oracle(q, x, 6)], [ex, oracle(q, x, 6, skip)]] as const) {
        for (let i = 0; i < 9; i++) {
          const what = `scale ${scale} row ${i}`;
          // Random f32 rows have no near-ties at this size: the indices are the oracle's exactly.
          expect(Array.from(got.indices.subarray(i * 6, i * 6 + 6)), what).toEqual(want[i]!.map(([j]) => j));
          expectClose(got.scores.subarray(i * 6, i * 6 + 6), want[i]!.map(([, v]) => v), { atol: 1e-6, rtol: 0 }, what);
        }
      }
    }
  });

  it('k larger than the base is clamped and reported', async () => {
    const e = await engine({ threads: 1 });
    const x = mat(5, 3, randomF32(15, 4));
    const r = await e.topK(x, x, { k: 50, excludeSelf: true });
    expect(r.k).toBe(4);
    expect(r.requestedK).toBe(50);
    expect(r.indices.length).toBe(5 * 4);
  });

  it('bad input: a typed error that says what to fix', async () => {
    const e = await engine({ threads: 1 });
    const x = mat(4, 3, randomF32(12, 5));
    await expectCode(e.topK(x, mat(4, 2, randomF32(8, 6)), { k: 2 }), 'SHAPE_MISMATCH', /queries has 3 columns but base has 2/);
    const nan = randomF32(12, 7);
    nan[7] = Number.NaN;
    await expectCode(e.topK(mat(4, 3, nan), x, { k: 2 }), 'NON_FINITE', /row 2, column 1/);
    const inf = randomF32(12, 7);
    inf[0] = Number.POSITIVE_INFINITY;
    await expectCode(e.cosineSimilarity(mat(4, 3, inf)), 'NON_FINITE', /Infinity/);
    await expectCode(e.topK(x, x, { k: 0 }), 'INVALID_ARGUMENT', /k must be a whole number/);
    await expectCode(e.topK(x, x, { k: 1.5 }), 'INVALID_ARGUMENT', /k must be/);
    await expectCode(e.topK(mat(0, 3, new Float32Array(0)), x, { k: 1 }), 'INVALID_ARGUMENT', /empty/);
    await expectCode(e.cosineSimilarity(mat(4, 0, new Float32Array(0))), 'INVALID_ARGUMENT', /empty/);
    await expectCode(e.cosineSimilarity(mat(4, 3, new Float32Array(11))), 'SHAPE_MISMATCH', /11 values/);
    await expectCode(e.topK(x, x, { k: 1, metric: 'euclid' as 'dot' }), 'INVALID_ARGUMENT', /metric/);
    await expectCode(e.topK(mat(1, 3, randomF32(3, 1)), undefined, { k: 1, excludeSelf: true }), 'INVALID_ARGUMENT', /no candidate/);
  });

  it('worker errors come back as the same error class and code', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const g = new Float64Array([1, 2, 2, 1]); // indefinite: pivot 1 is 1 − 4 < 0
    const err = await expectCode(e.choleskySolve(g, 2, new Float64Array([1, 1])), 'NOT_POSITIVE_DEFINITE');
    expect(err.details?.['pivot']).toBe(1);
  });

  it('kmeansStep and gram: the same bits for any thread count; values match the reference', async () => {
    const rows = 5000;
    const cols = 7;
    const x = mat(rows, cols, randomF32(rows * cols, 21));
    const c = mat(4, cols, randomF32(4 * cols, 22));
    const w = randomF64(rows, 23).map(Math.abs);
    const v = randomF64(rows, 24);
    const results = [];
    for (const [threads, tileRows] of [[1, undefined], [2, undefined], [3, 2048], [2, 100000]] as const) {
      const e = await engine({ threads, tileRows, inlineWork: 0 });
      const staged = e.stage(x);
      const km = await e.kmeansStep(staged, c, null);
      const gr = await e.gram(staged, { w, v, center: new Float64Array(cols).fill(0.1) });
      staged.release();
      results.push({ km, gr });
    }
    for (const r of results.slice(1)) {
      expect(Array.from(r.km.labels)).toEqual(Array.from(results[0]!.km.labels));
      expect(Array.from(r.km.sums)).toEqual(Array.from(results[0]!.km.sums));
      expect(r.km.inertia).toBe(results[0]!.km.inertia);
      expect(Array.from(r.gr.g)).toEqual(Array.from(results[0]!.gr.g));
      expect(Array.from(r.gr.xty!)).toEqual(Array.from(results[0]!.gr.xty!));
    }
    // Reference: one pass of the f64 js kernels over all rows.
    const labels = new Int32Array(rows);
    const sums = new Float64Array(4 * cols);
    const counts = new Float64Array(4);
    const inertia = reference.kmeansStep({ x: x.data, rows, cols, centroids: c.data, k: 4, labels, minDist2: new Float64Array(rows), sums, counts });
    const got = results[0]!;
    expect(Array.from(got.km.labels)).toEqual(Array.from(labels));
    expectClose(got.km.sums, sums, TOLERANCE.reductionF64, 'sums');
    expectClose([got.km.inertia], [inertia], TOLERANCE.reductionF64, 'inertia');
    const g = new Float64Array(cols * cols);
    const xty = new Float64Array(cols);
    reference.gram({ x: x.data, rows, cols, w, center: new Float64Array(cols).fill(0.1), v, g, xty });
    for (let a = 0; a < cols; a++) {
      for (let b = a; b < cols; b++) {
        expectClose([got.gr.g[a * cols + b]!, got.gr.g[b * cols + a]!], [g[a * cols + b]!, g[a * cols + b]!], TOLERANCE.reductionF64, 'gram');
      }
    }
    expectClose(got.gr.xty!, xty, TOLERANCE.reductionF64, 'xty');
  });

  it('gram scans w and v for NaN/Inf unless checkValues is false, and center always', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const rows = 300;
    const x = mat(rows, 3, randomF32(rows * 3, 41));
    const v = randomF64(rows, 42);
    v[211] = Number.NaN;
    await expectCode(e.gram(x, { v }), 'NON_FINITE', /v has a non-finite value \(NaN\) at index 211/);
    const w = Float64Array.from(randomF64(rows, 43), Math.abs);
    w[5] = Number.POSITIVE_INFINITY;
    await expectCode(e.gram(x, { w }), 'NON_FINITE', /weights has a non-finite value \(Infinity\) at index 5/);
    // The caller vouched for them: no scan, and the value reaches the sums it is in.
    const r = await e.gram(x, { v, checkValues: false });
    for (let j = 0; j < 3; j++) expect(Number.isNaN(r.xty![j]), `xty[${j}]`).toBe(true);
    expect(r.g.every(Number.isFinite)).toBe(true);
    const center = new Float64Array([0.5, Number.NEGATIVE_INFINITY, 0]);
    await expectCode(e.gram(x, { center, checkValues: false }), 'NON_FINITE', /center has a non-finite value \(-Infinity\) at index 1/);
  });

  it('logisticPass: the same bits for any thread count, staged or plain; values match the reference', async () => {
    const rows = 7000;
    const cols = 11;
    const x = mat(rows, cols, randomF32(rows * cols, 31));
    const y = Float64Array.from(randomF64(rows, 32), (v) => (v > 0 ? 1 : 0));
    const s = randomF64(rows, 33).map(Math.abs);
    const beta = randomF64(cols, 34);
    const results = [];
    for (const [threads, tileRows] of [[1, undefined], [2, undefined], [3, 2048]] as const) {
      const e = await engine({ threads, tileRows, inlineWork: 0 });
      const xs = e.stage(x);
      const ys = e.stageVector(y, 'y');
      const z = new Float64Array(new SharedArrayBuffer(rows * 8));
      const staged = await e.logisticPass(xs, ys, s, beta, -0.25, { z });
      const plain = await e.logisticPass(x, y, s, beta, -0.25);
      expect(staged.z).toBe(z);
      expect(Array.from(plain.z)).toEqual(Array.from(z));
      expect(Array.from(plain.xtwx!)).toEqual(Array.from(staged.xtwx!));
      xs.release();
      ys.release();
      results.push(staged);
    }
    for (const r of results.slice(1)) {
      for (const k of ['lossWeighted', 'loss', 'correct', 'sumV', 'sumW'] as const) expect(r[k]).toBe(results[0]![k]);
      for (const k of ['xtv', 'xtwx', 'xtw', 'z'] as const) expect(Array.from(r[k]!)).toEqual(Array.from(results[0]![k]!));
    }
    const L = logisticLayout(cols);
    const ref = new Float64Array(L.length);
    reference.logisticPass({ x: x.data, rows, cols, y, s, beta, bias: -0.25, hessian: true, z: new Float64Array(rows), out: ref });
    const got = results[0]!;
    expectClose([got.lossWeighted, got.loss, got.sumV, got.sumW], [ref[L.lossW]!, ref[L.loss]!, ref[L.grad + cols]!, ref[L.xw + cols]!], TOLERANCE.reductionF64, 'sums');
    expectClose(got.xtv, ref.subarray(L.grad, L.grad + cols), TOLERANCE.reductionF64, 'xtv');
    expectClose(got.xtw!, ref.subarray(L.xw, L.xw + cols), TOLERANCE.reductionF64, 'xtw');
    for (let a = 0; a < cols; a++) {
      for (let b = a; b < cols; b++) {
        const want = ref[L.h + a * cols + b]!;
        expect(Math.abs(got.xtwx![a * cols + b]! - want)).toBeLessThanOrEqual(1e-5 * Math.abs(ref[L.h]!));
        expect(got.xtwx![b * cols + a]).toBe(got.xtwx![a * cols + b]);
      }
    }
    // Without the Hessian: the same objective and gradient, no Hessian pieces.
    const e1 = await engine({ threads: 2, inlineWork: 0 });
    const noH = await e1.logisticPass(x, y, s, beta, -0.25, { hessian: false });
    expect(noH.xtwx).toBeNull();
    expect(noH.lossWeighted).toBe(got.lossWeighted);
    expect(Array.from(noH.xtv)).toEqual(Array.from(got.xtv));
  });

  it('logisticPass refuses targets outside [0, 1], negative weights and released vectors', async () => {
    const e = await engine({ threads: 1 });
    const x = mat(3, 2, new Float32Array([1, 2, 3, 4, 5, 6]));
    const beta = new Float64Array(2);
    await expectCode(e.logisticPass(x, new Float64Array([0, 2, 1]), null, beta, 0), 'INVALID_ARGUMENT', /y\[1\] is 2/);
    await expectCode(e.logisticPass(x, new Float64Array([0, 1, 1]), new Float64Array([1, -1, 1]), beta, 0), 'INVALID_ARGUMENT', /sampleWeight/);
    await expectCode(e.logisticPass(x, new Float64Array([0, 1]), null, beta, 0), 'SHAPE_MISMATCH');
    await expectCode(e.logisticPass(x, new Float64Array([0, NaN, 1]), null, beta, 0), 'NON_FINITE');
    const ys = e.stageVector(new Float64Array([0, 1, 3]), 'y');
    await expectCode(e.logisticPass(x, ys, null, beta, 0), 'INVALID_ARGUMENT', /outside \[0, 1\]/);
    ys.release();
    await expectCode(e.logisticPass(x, ys, null, beta, 0), 'INVALID_ARGUMENT', /released/);
  });

  it('matvec and choleskySolve through the pool', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const x = mat(9000, 5, randomF32(45000, 31));
    const w = randomF64(5, 32);
    const p = await e.matvec(x, w, -0.2, LINK_SIGMOID);
    const ref = new Float32Array(9000);
    reference.matvec({ x: x.data, rows: 9000, cols: 5, w, bias: -0.2, link: LINK_SIGMOID, out: ref });
    expectClose(p, ref, TOLERANCE.matvec, 'matvec');
    const g = new Float64Array([4, 2, 2, 3]);
    const sol = await e.choleskySolve(g, 2, new Float64Array([2, 1]));
    // Oracle: [[4,2],[2,3]]⁻¹ [2,1] = [0.5, 0] by hand.
    expectClose(sol, [0.5, 0], TOLERANCE.solveResidual, 'solve');
  });

  it('an aborted signal stops the call with ABORTED; a closed engine refuses work', async () => {
    const e = await engine({ threads: 1, inlineWork: 0 });
    const ac = new AbortController();
    ac.abort();
    const x = mat(10, 3, randomF32(30, 3));
    await expectCode(e.topK(x, x, { k: 2, signal: ac.signal }), 'ABORTED');
    await e.close();
    await expectCode(e.topK(x, x, { k: 2 }), 'ABORTED', /closed/);
  });
});

describe('cosineSimilarity into a caller-owned out', () => {
  it('writes in place when out is SharedArrayBuffer-backed, and copies otherwise; a wrong size is refused', async () => {
    const e = await createEngine({ threads: 2, inlineWork: 0 });
    try {
      const a = mat(37, 9, randomF32(37 * 9, 41));
      const want = await e.cosineSimilarity(a);
      const shared = new Float32Array(new SharedArrayBuffer(37 * 37 * 4));
      const r1 = await e.cosineSimilarity(a, undefined, { out: shared });
      expect(r1.data).toBe(shared);
      expect(Array.from(shared)).toEqual(Array.from(want.data));
      const plain = new Float32Array(37 * 37);
      const r2 = await e.cosineSimilarity(a, undefined, { out: plain });
      expect(r2.data).toBe(plain);
      expect(Array.from(plain)).toEqual(Array.from(want.data));
      await expectCode(e.cosineSimilarity(a, undefined, { out: new Float32Array(5) }), 'SHAPE_MISMATCH', /37 × 37 = 1369/);
    } finally {
      await e.close();
    }
  });
});

describe('self-similarity computes one triangle and mirrors it', () => {
  it('equals the full product bit for bit, for any thread count and tile size', async () => {
    const a = mat(203, 33, randomF32(203 * 33, 51));
    const copy = mat(203, 33, a.data.slice());
    const ref = await engine({ threads: 1, inlineWork: Infinity });
    const full = await ref.cosineSimilarity(a, copy); // a distinct b: no symmetry used
    for (const [threads, tileRows] of [[1, undefined], [2, undefined], [3, 7], [2, 64]] as const) {
      const e = await engine({ threads, tileRows, inlineWork: 0 });
      const s = await e.cosineSimilarity(a);
      expect(Array.from(s.data)).toEqual(Array.from(full.data));
    }
  });
});

describe('kmeansStep into caller-owned outputs', () => {
  it('fills SharedArrayBuffer-backed or plain outputs with the same labels and distances', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const x = mat(3000, 5, randomF32(15000, 61));
    const c = mat(3, 5, randomF32(15, 62));
    const want = await e.kmeansStep(x, c, null);
    const shared = { labels: new Int32Array(new SharedArrayBuffer(3000 * 4)), minDist2: new Float64Array(new SharedArrayBuffer(3000 * 8)) };
    const plain = { labels: new Int32Array(3000), minDist2: new Float64Array(3000) };
    for (const into of [shared, plain]) {
      const got = await e.kmeansStep(x, c, null, { into });
      expect(got.labels).toBe(into.labels);
      expect(Array.from(into.labels)).toEqual(Array.from(want.labels));
      expect(Array.from(into.minDist2)).toEqual(Array.from(want.minDist2!));
      expect(got.inertia).toBe(want.inertia);
    }
    await expectCode(e.kmeansStep(x, c, null, { into: { labels: new Int32Array(2), minDist2: new Float64Array(2) } }), 'SHAPE_MISMATCH', /3000 values each/);
  });

  it('counts the rows whose label changed from what `into.labels` held, in place or not', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const x = mat(3000, 5, randomF32(15000, 63));
    const c1 = mat(3, 5, randomF32(15, 64));
    const c2 = mat(3, 5, Float32Array.from(c1.data, (v, i) => v + (i % 5 === 0 ? 0.3 : -0.1)));
    const before = (await e.kmeansStep(x, c1, null)).labels;
    const after = (await e.kmeansStep(x, c2, null)).labels;
    let want = 0;
    for (let i = 0; i < 3000; i++) if (before[i] !== after[i]) want++;
    expect(want).toBeGreaterThan(0);
    for (const labels of [new Int32Array(new SharedArrayBuffer(3000 * 4)), new Int32Array(3000)]) {
      labels.set(before);
      const got = await e.kmeansStep(x, c2, null, { into: { labels }, distances: false, changes: true });
      expect(got.changed).toBe(want);
      expect(Array.from(labels)).toEqual(Array.from(after));
      // Again with the same centroids: nothing changes.
      expect((await e.kmeansStep(x, c2, null, { into: { labels }, distances: false, changes: true })).changed).toBe(0);
    }
    // Without `changes` (or without `into`) there is no count.
    expect((await e.kmeansStep(x, c2, null, { distances: false })).changed).toBeNull();
    expect((await e.kmeansStep(x, c2, null, { distances: false, changes: true })).changed).toBeNull();
  });
});
