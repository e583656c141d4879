#!/usr/bin/env node
// Ad hoc single-thread timings of the WASM kernels (not a vitest test, not the benchmark suite).
// Needs `npm run build:wasm` and `npx tsc -p tsconfig.build.json` (it imports dist/).
// Usage: node bench/wasm-smoke.mjs [simd|scalar ...]   (default: both builds)
// Inputs live in regions of the shared memory, so the kernels run in place (no staging copies are timed).
import { loadWasmBackend } from '../dist/backends/wasm.js';

const builds = process.argv.slice(2).length ? process.argv.slice(2) : ['simd', 'scalar'];

function fill(view, seed) {
  let a = seed >>> 0;
  for (let i = 0; i < view.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    view[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  }
  return view;
}

/** Best (minimum) seconds of `reps` runs after one warm-up: other processes only ever add time. */
function time(fn, reps, before = () => {}) {
  before();
  fn();
  const t = [];
  for (let r = 0; r < reps; r++) {
    before();
    const t0 = performance.now();
    fn();
    t.push((performance.now() - t0) / 1000);
  }
  return Math.min(...t);
}

function region(b, kind, length, seed) {
  const r = b.alloc(kind, length);
  const v = b.view(r);
  if (seed !== undefined) fill(v, seed);
  return v;
}

for (const build of builds) {
  const b = await loadWasmBackend({ name: 'wasm', wasmBuild: build });
  console.log(`\n== wasm/${b.info.simd} (assemblyscript ${b.info.versions.assemblyscript}, node ${process.versions.node}) ==`);
  const rows = [];
  const report = (what, secs, flops) => {
    rows.push({ kernel: what, ms: +(secs * 1e3).toFixed(2), 'GFLOP/s': flops ? +(flops / secs / 1e9).toFixed(2) : '' });
  };

  {
    // W1: all-pairs cosine, 4096 x 256 (one similarityTile over the whole block).
    const n = 4096;
    const d = 256;
    const a = region(b, 'f32', n * d, 1);
    const out = region(b, 'f32', n * n);
    b.normalizeRows(a, n, d, a, region(b, 'f32', n));
    const s = time(() => b.similarityTile({ a, aRows: n, b: a, bRows: n, cols: d, out, ldOut: n }), 3);
    report('similarityTile 4096x4096x256', s, 2 * n * n * d);
    const s2 = time(() => b.normalizeRows(a, n, d, a, region(b, 'f32', n)), 5);
    report('normalizeRows 4096x256', s2, 3 * n * d);
  }
  {
    // Top-k: 1000 queries x 100,000 base rows, d = 128, k = 10.
    const qn = 1000;
    const xn = 100_000;
    const d = 128;
    const k = 10;
    const q = region(b, 'f32', qn * d, 2);
    const x = region(b, 'f32', xn * d, 3);
    const idx = region(b, 'i32', qn * k);
    const scores = region(b, 'f32', qn * k);
    const reset = () => {
      idx.fill(-1);
      scores.fill(-Infinity);
    };
    const s = time(() => b.topkTile({ q, qRows: qn, x, xRows: xn, cols: d, k, qOffset: 0, xOffset: 0, excludeSelf: false, outIdx: idx, outScores: scores }), 5, reset);
    report('topkTile 1000x100000x128 k=10', s, 2 * qn * xn * d);
    const q1 = q.subarray(0, d);
    const s1 = time(() => b.topkTile({ q: q1, qRows: 1, x, xRows: xn, cols: d, k, qOffset: 0, xOffset: 0, excludeSelf: false, outIdx: idx.subarray(0, k), outScores: scores.subarray(0, k) }), 5, reset);
    report('topkTile 1x100000x128 k=10', s1, 2 * xn * d);
  }
  {
    // KMeans step: 100,000 x 32, k = 16.
    const n = 100_000;
    const d = 32;
    const k = 16;
    const x = region(b, 'f32', n * d, 4);
    const c = region(b, 'f32', k * d, 5);
    const labels = region(b, 'i32', n);
    const d2 = region(b, 'f64', n);
    const sums = region(b, 'f64', k * d);
    const counts = region(b, 'f64', k);
    const s = time(() => b.kmeansStep({ x, rows: n, cols: d, centroids: c, k, weights: null, labels, minDist2: d2, sums, counts }), 7, () => {
      sums.fill(0);
      counts.fill(0);
    });
    report('kmeansStep 100000x32 k=16', s, 2 * n * k * d);
  }
  {
    // Gram: 100,000 x 64, weighted and centred, with X^T v.
    const n = 100_000;
    const d = 64;
    const x = region(b, 'f32', n * d, 6);
    const w = region(b, 'f64', n, 7).map(Math.abs);
    const center = region(b, 'f64', d, 8);
    const v = region(b, 'f64', n, 9);
    const g = region(b, 'f64', d * d);
    const xty = region(b, 'f64', d);
    const s = time(() => b.gram({ x, rows: n, cols: d, w, center, v, g, xty }), 5);
    report('gram 100000x64 (upper)', s, n * d * (d + 1));
  }
  {
    // Cholesky solve, n = 512, one right-hand side.
    const n = 512;
    const g0 = new Float64Array(n * n);
    const r = fill(new Float64Array(n * n), 10);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g0[i * n + j] = (i === j ? n : 0) + r[i * n + j] * r[j * n + i];
    const g = region(b, 'f64', n * n);
    const rhs = region(b, 'f64', n, 11);
    const s = time(() => b.choleskySolve(g, n, rhs, 1), 5, () => g.set(g0));
    report('choleskySolve n=512', s, (n * n * n) / 3 + 2 * n * n);
  }
  {
    // Batch scoring: 100,000 x 64, sigmoid link.
    const n = 100_000;
    const d = 64;
    const x = region(b, 'f32', n * d, 12);
    const w = region(b, 'f64', d, 13);
    const out = region(b, 'f32', n);
    const s = time(() => b.matvec({ x, rows: n, cols: d, w, bias: 0.1, link: 1, out }), 7);
    report('matvec 100000x64 sigmoid', s, 2 * n * d);
  }
  console.table(rows);
}
