#!/usr/bin/env node
// Ad hoc single-thread timings of the native kernels at the benchmark shapes (not a vitest test, not the
// benchmark suite). Needs `npm run build:native`; it loads the addon file directly (no dist/ needed).
// Usage: node bench/native-smoke.mjs [auto|scalar ...]   (default: auto, the best level of this CPU)
// Inputs are views of SharedArrayBuffers, as the engine hands them to the kernels in workers.
import { readdirSync } from 'node:fs';
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
  const isa = level === 'scalar' ? 0 : addon.detectedIsa().code;
  const name = level === 'scalar' ? 'scalar' : addon.detectedIsa().name;
  console.log(`native/${name} (${file}, faer ${addon.versions().faer}), one thread`);

  {
    // W1: all-pairs cosine 4096×256 against itself (normalised first, as the engine does).
    const n = 4096, d = 256;
    const a = shared(Float32Array, n * d, 1);
    const norms = shared(Float32Array, n);
    const out = shared(Float32Array, n * n);
    row('normalizeRows 4096×256', time(() => addon.normalizeRows(isa, a, n, d, a, norms), 5));
    const s = time(() => addon.similarityTile(isa, a, n, a, n, d, out, n), level === 'scalar' ? 1 : 5);
    row('similarityTile 4096×256 · (4096×256)ᵀ', s, gflops(2 * n * n * d, s));
    const half = time(() => addon.similarityTile(isa, a, n / 2, a, n, d, out, n), level === 'scalar' ? 1 : 5);
    row('similarityTile 2048×256 · (4096×256)ᵀ (one W1 worker)', half, gflops(n * n * d, half));
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
    const s = time(() => addon.topkTile(isa, q, nq, x, nx, d, k, 0, 0, false, idx, sc), 3, reset);
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
    const s = time(() => addon.kmeansStep(isa, x, n, d, c, k, null, labels, d2, sums, counts), 10, () => {
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
    const plain = time(() => addon.gram(isa, x, n, d, null, null, v, g, xty), 3, () => g.fill(0));
    row('gram 500,000×64 (unweighted)', plain, gflops(n * d * (d + 1), plain) + ' (upper triangle)');
    const weighted = time(() => addon.gram(isa, x, n, d, w, center, v, g, xty), 3, () => g.fill(0));
    row('gram 500,000×64 (weighted, centred)', weighted, gflops(n * d * (d + 1), weighted) + ' (upper triangle)');
    const out = shared(Float32Array, n);
    const wv = shared(Float64Array, d, 10);
    const mv = time(() => addon.matvec(isa, x, n, d, wv, 0.1, 1, out), 5);
    row('matvec 500,000×64 (sigmoid)', mv, `${((n * d * 4) / mv.cpu / 1e9).toFixed(1)} GB/s of x`);
  }

  {
    // Per-call overhead: the smallest tile the engine could send.
    const a = shared(Float32Array, 16, 11);
    const out = shared(Float32Array, 1);
    const calls = 100_000;
    const s = time(() => {
      for (let i = 0; i < calls; i++) addon.similarityTile(isa, a, 1, a, 1, 16, out, 1);
    }, 3);
    row('call overhead (similarityTile 1×1×16), µs', { wall: (s.wall / calls) * 1000, cpu: (s.cpu / calls) * 1000 }, 'per call');
  }
}
