#!/usr/bin/env node
// Ad hoc single-thread timings of the native kernels at the benchmark shapes (not a vitest test, not the
// benchmark suite). Needs `npm run build:native`; it loads the addon file directly (no dist/ needed).
// Usage: node bench/native-smoke.mjs [auto|avx512|avx2|scalar|pair ...]   (default: auto, the best level of this CPU)
//   pair: the W1-W4 workloads split over two worker threads (one kernel call each, as the pool runs them),
//         timed from the start message until both halves are done.
// Inputs are views of SharedArrayBuffers, as the engine hands them to the kernels in workers.
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
const file = readdirSync(nativeDir).find((f) => f.startsWith('quiver.') && f.endsWith('.node'));
if (!file) throw new Error(`no quiver.*.node in ${nativeDir}: run npm run build:native`);
const addon = createRequire(import.meta.url)(join(nativeDir, file));
const levels = process.argv.slice(2).length ? process.argv.slice(2) : ['auto'];

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

function shared(Kind, length, seed) {
  const v = new Kind(new SharedArrayBuffer(length * Kind.BYTES_PER_ELEMENT));
  return seed === undefined ? v : fill(v, seed);
}

/**
 * Best (minimum) wall and CPU seconds of `reps` runs after one warm-up: other processes only ever add time.
 * On a shared machine the process CPU time is the steadier number (time spent descheduled is not in it).
 */
function time(fn, reps, before = () => {}) {
  before();
  fn();
  let wall = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < reps; r++) {
    before();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall = Math.min(wall, (performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  return { wall, cpu };
}

const row = (name, t, extra = '') =>
  console.log(`${name.padEnd(52)} ${(t.wall * 1000).toFixed(2).padStart(9)} ms wall ${(t.cpu * 1000).toFixed(2).padStart(9)} ms cpu  ${extra}`);
/** Rate from the CPU time (see `time`). */
const gflops = (flop, t) => `${(flop / t.cpu / 1e9).toFixed(1)} GFLOP/s`;

for (const level of levels) {
  if (level === 'pair') {
    await pair();
    continue;
  }
  const kern = new addon.Kernels(level);
  const name = kern.isa;
  console.log(`native/${name} (${file}, faer ${addon.versions().faer}), one thread`);

  {
    // W1: all-pairs cosine 4096×256 against itself (normalised first, as the engine does).
    const n = 4096, d = 256;
    const a = shared(Float32Array, n * d, 1);
    const norms = shared(Float32Array, n);
    const out = shared(Float32Array, n * n);
    row('normalizeRows 4096×256', time(() => kern.normalizeRows(a, n, d, a, norms), 5));
    const s = time(() => kern.similarityTile(a, n, a, n, d, out, n), level === 'scalar' ? 1 : 5);
    // Self-similarity (a is b) computes the symmetric block once: an effective rate, 2·n²·d over the time.
    row('similarityTile 4096×256 · (4096×256)ᵀ, a = b', s, gflops(2 * n * n * d, s) + ' effective');
    const c = shared(Float32Array, n * d, 12);
    const plain = time(() => kern.similarityTile(c, n, a, n, d, out, n), level === 'scalar' ? 1 : 5);
    row('similarityTile 4096×256 · (4096×256)ᵀ, distinct a, b', plain, gflops(2 * n * n * d, plain));
    const half = time(() => kern.similarityTile(a, n / 2, a, n, d, out, n), level === 'scalar' ? 1 : 5);
    row('similarityTile 2048×256 · (4096×256)ᵀ (one W1 worker)', half, gflops(n * n * d, half) + ' effective');
  }

  {
    // W2: exact top-10, d = 128, against 100,000 base rows; 1,000 queries per call.
    const nq = level === 'scalar' ? 100 : 1000, nx = 100_000, d = 128, k = 10;
    const q = shared(Float32Array, nq * d, 2);
    const x = shared(Float32Array, nx * d, 3);
    const idx = shared(Int32Array, nq * k);
    const sc = shared(Float32Array, nq * k);
    const reset = () => {
      idx.fill(-1);
      sc.fill(-Infinity);
    };
    const s = time(() => kern.topkTile(q, nq, x, nx, d, k, 0, 0, false, idx, sc), 3, reset);
    row(`topkTile ${nq}×128 vs 100,000, k=10`, s, `${gflops(2 * nq * nx * d, s)}; 10,000 queries ≈ ${((s.cpu * 10000) / nq).toFixed(2)} s on one core`);
  }

  {
    // W3: one k-means iteration, 100,000 rows × 32, k = 16 (one of two workers for 200,000 rows).
    const n = 100_000, d = 32, k = 16;
    const x = shared(Float32Array, n * d, 4);
    const c = shared(Float32Array, k * d, 5);
    const labels = shared(Int32Array, n);
    const d2 = shared(Float64Array, n);
    const sums = shared(Float64Array, k * d);
    const counts = shared(Float64Array, k);
    const s = time(() => kern.kmeansStep(x, n, d, c, k, null, labels, d2, sums, counts), 10, () => {
      sums.fill(0);
      counts.fill(0);
    });
    row('kmeansStep 100,000×32, k=16', s);
  }

  {
    // W4: Gram XᵀWX of 500,000 × 64 (one of two workers for 1,000,000 rows), weighted and centred.
    const n = 500_000, d = 64;
    const x = shared(Float32Array, n * d, 6);
    const w = shared(Float64Array, n, 7).map((v) => v + 1);
    const center = shared(Float64Array, d, 8);
    const v = shared(Float64Array, n, 9);
    const g = shared(Float64Array, d * d);
    const xty = shared(Float64Array, d);
    const plain = time(() => kern.gram(x, n, d, null, null, v, g, xty), 3, () => g.fill(0));
    row('gram 500,000×64 (unweighted)', plain, gflops(n * d * (d + 1), plain) + ' (upper triangle)');
    const weighted = time(() => kern.gram(x, n, d, w, center, v, g, xty), 3, () => g.fill(0));
    row('gram 500,000×64 (weighted, centred)', weighted, gflops(n * d * (d + 1), weighted) + ' (upper triangle)');
    const out = shared(Float32Array, n);
    const wv = shared(Float64Array, d, 10);
    const mv = time(() => kern.matvec(x, n, d, wv, 0.1, 1, out), 5);
    row('matvec 500,000×64 (sigmoid)', mv, `${((n * d * 4) / mv.cpu / 1e9).toFixed(1)} GB/s of x`);
  }

  {
    // Per-call overhead: the smallest tile the engine could send.
    const a = shared(Float32Array, 16, 11);
    const out = shared(Float32Array, 1);
    const calls = 100_000;
    const s = time(() => {
      for (let i = 0; i < calls; i++) kern.similarityTile(a, 1, a, 1, 16, out, 1);
    }, 3);
    row('call overhead (similarityTile 1×1×16), µs', { wall: (s.wall / calls) * 1000, cpu: (s.cpu / calls) * 1000 }, 'per call');
  }
}

/** Each workload's two halves run in two worker threads at once; wall time until both finish (best of reps). */
async function pair() {
  const isa = addon.detectedIsa();
  const path = join(nativeDir, file);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const addon = require(workerData.path);
    const kern = new addon.Kernels(workerData.isa);
    parentPort.on('message', (t) => {
      const a = t.args;
      if (t.op === 'w1') kern.similarityTile(a.x.subarray(a.r0 * a.d), a.rows, a.x, a.n, a.d, a.out.subarray(a.r0 * a.n), a.n);
      if (t.op === 'w2') {
        a.idx.fill(-1, a.r0 * a.k, (a.r0 + a.rows) * a.k);
        a.sc.fill(-Infinity, a.r0 * a.k, (a.r0 + a.rows) * a.k);
        kern.topkTile(a.q.subarray(a.r0 * a.d), a.rows, a.x, a.n, a.d, a.k, a.r0, 0, false,
          a.idx.subarray(a.r0 * a.k), a.sc.subarray(a.r0 * a.k));
      }
      if (t.op === 'w3') {
        a.sums.fill(0); a.counts.fill(0);
        kern.kmeansStep(a.x.subarray(a.r0 * a.d), a.rows, a.d, a.c, a.k, null, a.labels.subarray(a.r0),
          a.d2.subarray(a.r0), a.sums, a.counts);
      }
      if (t.op === 'w4') { a.g.fill(0); kern.gram(a.x.subarray(a.r0 * a.d), a.rows, a.d, a.w.subarray(a.r0), null, null, a.g, null); }
      parentPort.postMessage('done');
    });`;
  const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: { path, isa } }));
  const run = (op, halves) =>
    Promise.all(workers.map((w, i) => new Promise((res) => { w.once('message', res); w.postMessage({ op, args: halves[i] }); })));
  async function best(op, halves, reps) {
    await run(op, halves);
    let t = Infinity;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await run(op, halves);
      t = Math.min(t, performance.now() - t0);
    }
    return t;
  }
  const line = (name, ms, extra = '') => console.log(`${name.padEnd(52)} ${ms.toFixed(2).padStart(9)} ms wall  ${extra}`);
  console.log(`native/${isa}, two worker threads (one call each)`);
  {
    const n = 4096, d = 256;
    const x = shared(Float32Array, n * d, 1);
    new addon.Kernels(isa).normalizeRows(x, n, d, x, shared(Float32Array, n));
    const out = shared(Float32Array, n * n);
    const t = await best('w1', [0, 1].map((h) => ({ x, r0: h * 2048, rows: 2048, n, d, out })), 5);
    line('W1 all-pairs cosine 4096×256 (2 × 2048 rows)', t, `${((2 * n * n * d) / t / 1e6).toFixed(0)} GFLOP/s`);
  }
  {
    const nq = 10_000, n = 100_000, d = 128, k = 10;
    const q = shared(Float32Array, nq * d, 2), x = shared(Float32Array, n * d, 3);
    const idx = shared(Int32Array, nq * k), sc = shared(Float32Array, nq * k);
    const t = await best('w2', [0, 1].map((h) => ({ q, x, r0: h * 5000, rows: 5000, n, d, k, idx, sc })), 2);
    line('W2 top-10, 10,000 × 100,000, d=128 (2 × 5,000)', t, `${((2 * nq * n * d) / t / 1e6).toFixed(0)} GFLOP/s`);
  }
  {
    const n = 200_000, d = 32, k = 16;
    const x = shared(Float32Array, n * d, 4), c = shared(Float32Array, k * d, 5);
    const labels = shared(Int32Array, n), d2 = shared(Float64Array, n);
    const t = await best('w3', [0, 1].map((h) => ({ x, c, r0: h * 100_000, rows: 100_000, d, k, labels, d2,
      sums: shared(Float64Array, k * d), counts: shared(Float64Array, k) })), 20);
    line('W3 kmeansStep 200,000×32, k=16 (2 × 100,000)', t);
  }
  {
    const n = 1_000_000, d = 64;
    const x = shared(Float32Array, n * d, 6), w = shared(Float64Array, n, 7).map((v) => v + 1);
    const t = await best('w4', [0, 1].map((h) => ({ x, w, r0: h * 500_000, rows: 500_000, d, g: shared(Float64Array, d * d) })), 5);
    line('W4 gram 1,000,000×64 weighted (2 × 500,000)', t, 'partials not merged');
  }
  await Promise.all(workers.map((w) => w.terminate()));
}
