// The public calls the W rows time in a fresh process (call-child.mjs), built from the same seeded inputs
// as the suites. Each workload gives: build(cfg) → inputs, op(engine, inputs, variant) → result, and the
// bytes of its inputs and outputs (the memory target compares the peak RSS with them).
//
// Variants: `plain` — the input a user holds (plain Float32Array / Float64Array), the public call as is;
// `shared` — the same input already in shared memory (engine.allocMatrix when the engine has it, else a
// SharedArrayBuffer-backed Float32Array), W1's answer into a preallocated shared C; `kernel` (W4 only) —
// the Gram kernel + Cholesky solve on a matrix staged before the timer, the row the suite had before.
import { blobs, classification, gaussianMatrix, regression } from './data.mjs';

const f32 = (m) => m.data.byteLength;

export const CALLS = {
  W1: {
    build: (c) => ({ a: gaussianMatrix(c.n, c.d, c.seed) }),
    async op(engine, { a }, variant, state) {
      if (variant === 'shared') {
        state.out ??= new Float32Array(new SharedArrayBuffer(a.rows * a.rows * 4));
        return engine.cosineSimilarity(a, undefined, { out: state.out });
      }
      return engine.cosineSimilarity(a);
    },
    bytes: ({ a }) => ({ inputs: f32(a), outputs: a.rows * a.rows * 4 }),
    check(c) {
      let s = 0;
      for (let i = 0; i < Math.min(64, c.rows); i++) for (let j = 0; j < Math.min(64, c.cols); j++) s += c.data[i * c.cols + j];
      return { sum64x64: s };
    },
  },
  W2: {
    build: (c) => ({ q: gaussianMatrix(c.nq, c.d, c.seedQ), x: gaussianMatrix(c.nb, c.d, c.seedX) }),
    op: (engine, { q, x }, _v, _s, c) => engine.topK(q, x, { k: c.k, metric: 'cosine' }),
    bytes: ({ q, x }, c) => ({ inputs: f32(q) + f32(x), outputs: q.rows * c.k * 8 }),
    check(r) {
      let top1 = 0;
      for (let i = 0; i < r.rows; i++) top1 += r.scores[i * r.k];
      return { meanTop1: top1 / r.rows, firstIndices: Array.from(r.indices.subarray(0, r.k)) };
    },
  },
  W3: {
    build: (c) => blobs(c.n, c.d, c.blobs, c.k, c.seed),
    async op(engine, { x, init }, _v, _s, c) {
      const m = await engine.kmeans(x, { k: init.rows, init, nInit: 1, maxIter: c.iters, tol: 0 });
      return { nIter: m.nIter, inertia: m.inertia };
    },
    // Labels (int32) and centroids; the per-iteration time divides by nIter.
    bytes: ({ x, init }) => ({ inputs: f32(x) + f32(init), outputs: x.rows * 4 + f32(init) }),
    check: (r) => ({ inertia: r.inertia, nIter: r.nIter }),
    perIteration: true,
  },
  W4: {
    build: (c) => regression(c.n, c.d, c.seed),
    // cfg.fitIntercept and cfg.accumulate pick the extra rows' options (absent: the default row's call).
    async op(engine, { x, y }, variant, state, c) {
      if (variant === 'kernel') {
        state.staged ??= engine.stage(x);
        const { g, xty } = await engine.gram(state.staged, { v: y });
        return { coef: await engine.choleskySolve(g, x.cols, xty, 1) };
      }
      const m = await engine.linearRegression(x, y, { fitIntercept: c?.fitIntercept ?? false, ...(c?.accumulate ? { accumulate: c.accumulate } : {}) });
      return { coef: m.coefficients };
    },
    bytes: ({ x, y }) => ({ inputs: f32(x) + y.byteLength, outputs: x.cols * 8 }),
    check: (r, { beta }) => {
      let e = 0;
      for (let i = 0; i < beta.length; i++) e = Math.max(e, Math.abs(r.coef[i] - beta[i]));
      return { coefMaxAbsErrVsTrue: e, coef: Array.from(r.coef) };
    },
  },
  W5: {
    build: (c) => classification(c.n, c.d, c.seed),
    op: (engine, { x, y }, _v, _s, c) => engine.logisticRegression(x, y, { l2: 1 / c.C, fitIntercept: true, maxIter: c.maxIter, tol: c.tol }),
    bytes: ({ x, y }) => ({ inputs: f32(x) + y.byteLength, outputs: (x.cols + 1) * 8 }),
    check: (m) => ({ nIter: m.iterations ?? m.nIter, intercept: m.intercept, coef: m.coefficients ? Array.from(m.coefficients) : null }),
  },
};
