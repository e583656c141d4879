// Suite `isa`: the native kernel families of W1–W5 at AVX-512 and at AVX2 on the same machine, one thread,
// the two levels alternating call by call (so a change in the machine's load hits both alike). Per level
// the row reports the least process CPU time over the calls (other work only ever adds time); the AVX-512
// row's note gives avx2 time / avx512 time (> 1: AVX-512 is faster). Only on CPUs with AVX-512; the
// native addon is loaded directly (`npm run build:native`), not through the engine, with the per-family
// choice table of native/src/simd turned off (QUIVER_NATIVE_ISA_TABLE=off): these rows are the evidence
// that table is filled from.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { rootDir } from '../lib/context.mjs';
import { blobs, gaussianMatrix } from '../lib/data.mjs';
import { hasAvx512 } from '../lib/engine-rows.mjs';
import { measuredRow, skippedRow } from '../lib/report.mjs';

export const name = 'isa';

const shared = (Kind, n) => new Kind(new SharedArrayBuffer(n * Kind.BYTES_PER_ELEMENT));
const toShared = (a) => {
  const s = shared(a.constructor, a.length);
  s.set(a);
  return s;
};

/** Each family: shape (full, quick), GFLOP or rows per call, and the call on one level's Kernels. */
function families(quick) {
  const W1 = quick ? 1024 : 4096;
  const W2q = quick ? 200 : 1000;
  const W2b = quick ? 20_000 : 100_000;
  const W3 = quick ? 20_000 : 200_000;
  const W4 = quick ? 100_000 : 1_000_000;
  const W5 = quick ? 20_000 : 200_000;
  return [
    {
      id: 'ISA-similarity',
      what: `similarityTile ${W1}×256 against itself (W1's GEMM, symmetric path)`,
      setup() {
        const a = toShared(gaussianMatrix(W1, 256, 101).data);
        const out = shared(Float32Array, W1 * W1);
        return (k) => k.similarityTile(a, W1, a, W1, 256, out, W1);
      },
      work: 2 * W1 * W1 * 256,
      unit: 'GFLOP/s',
    },
    {
      id: 'ISA-topk',
      what: `topkTile ${W2q} queries × ${W2b} base, d 128, k 10 (W2's kernel on a slice of its queries)`,
      setup() {
        const q = toShared(gaussianMatrix(W2q, 128, 201).data);
        const x = toShared(gaussianMatrix(W2b, 128, 202).data);
        const idx = shared(Int32Array, W2q * 10);
        const sc = shared(Float32Array, W2q * 10);
        return (k) => {
          idx.fill(-1);
          sc.fill(Number.NEGATIVE_INFINITY);
          k.topkTile(q, W2q, x, W2b, 128, 10, 0, 0, false, idx, sc);
        };
      },
      work: 2 * W2q * W2b * 128,
      unit: 'GFLOP/s',
    },
    {
      id: 'ISA-kmeans',
      what: `kmeansStep ${W3}×32, k 16 (one W3 Lloyd assignment + sums)`,
      setup() {
        const { x, init } = blobs(W3, 32, 8, 16, 301);
        const xs = toShared(x.data);
        const c = toShared(init.data);
        const labels = shared(Int32Array, W3);
        const d2 = shared(Float64Array, W3);
        const sums = shared(Float64Array, 16 * 32);
        const counts = shared(Float64Array, 16);
        return (k) => {
          sums.fill(0);
          counts.fill(0);
          k.kmeansStep(xs, W3, 32, c, 16, null, labels, d2, sums, counts);
        };
      },
      work: 2 * W3 * 16 * 32,
      unit: 'GFLOP/s',
    },
    {
      id: 'ISA-kmeans-k64',
      what: `kmeansStep ${W3}×32, k 64 (past the small-k kernel: the GEMM path)`,
      setup() {
        const { x, init } = blobs(W3, 32, 8, 64, 302);
        const xs = toShared(x.data);
        const c = toShared(init.data);
        const labels = shared(Int32Array, W3);
        const d2 = shared(Float64Array, W3);
        const sums = shared(Float64Array, 64 * 32);
        const counts = shared(Float64Array, 64);
        return (k) => {
          sums.fill(0);
          counts.fill(0);
          k.kmeansStep(xs, W3, 32, c, 64, null, labels, d2, sums, counts);
        };
      },
      work: 2 * W3 * 64 * 32,
      unit: 'GFLOP/s',
    },
    {
      id: 'ISA-gram',
      what: `gram ${W4}×64 with Xᵀy (W4's kernel)`,
      setup() {
        const x = toShared(gaussianMatrix(W4, 64, 401).data);
        const v = shared(Float64Array, W4).fill(1);
        const g = shared(Float64Array, 64 * 64);
        const xty = shared(Float64Array, 64);
        return (k) => {
          g.fill(0);
          xty.fill(0);
          k.gram(x, W4, 64, null, null, v, g, xty);
        };
      },
      work: W4 * 64 * 65 + 2 * W4 * 64,
      unit: 'GFLOP/s',
    },
    {
      id: 'ISA-gram-d256',
      what: `gram ${W4 / 10}×256 (past the packed kernel: faer's f64 GEMM path)`,
      setup() {
        const n = W4 / 10;
        const x = toShared(gaussianMatrix(n, 256, 402).data);
        const g = shared(Float64Array, 256 * 256);
        return (k) => {
          g.fill(0);
          k.gram(x, n, 256, null, null, null, g, null);
        };
      },
      work: (W4 / 10) * 256 * 257,
      unit: 'GFLOP/s',
    },
    {
      id: 'ISA-logistic',
      what: `logisticPass ${W5}×32 with the Hessian (one W5 Newton step)`,
      setup() {
        const x = toShared(gaussianMatrix(W5, 32, 501).data);
        const y = shared(Float64Array, W5).map((_, i) => i & 1);
        const beta = shared(Float64Array, 32).fill(0.01);
        const z = shared(Float64Array, W5);
        const out = shared(Float64Array, 1 + 33 + 33 * 33 + 64);
        return (k) => {
          out.fill(0);
          k.logisticPass(x, W5, 32, y, null, beta, 0.1, true, z, out);
        };
      },
      work: W5,
      unit: 'rows/s',
    },
    {
      id: 'ISA-gram-f32',
      what: `gram ${W4}×64 with Xᵀy and sums, centred, accumulate 'f32' (f32 FMAs over 64-row blocks)`,
      setup() {
        const x = toShared(gaussianMatrix(W4, 64, 401).data);
        const v = shared(Float64Array, W4).fill(1);
        const c = shared(Float64Array, 64);
        const g = shared(Float64Array, 64 * 64);
        const xty = shared(Float64Array, 64);
        const sums = shared(Float64Array, 64);
        return (k) => {
          g.fill(0);
          xty.fill(0);
          sums.fill(0);
          k.gram(x, W4, 64, null, c, v, g, xty, sums, true);
        };
      },
      work: W4 * 64 * 65 + 4 * W4 * 64,
      unit: 'GFLOP/s',
    },
  ];
}

export function targets(ctx) {
  const text = 'AVX-512 vs AVX2, one thread, same kernel and inputs; AVX-512 should never be slower (else `auto` should not pick it).';
  return Object.fromEntries(families(ctx.quick).map((f) => [f.id, { text }]));
}

function cpuSeconds(fn) {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

export async function run(ctx) {
  const fams = families(ctx.quick);
  if (!hasAvx512()) return fams.map((f) => skippedRow(f.id, 'native avx512', 'skipped: this CPU has no AVX-512'));
  const dir = join(rootDir, 'native');
  const file = readdirSync(dir).find((f) => f.startsWith('quiver.') && f.endsWith('.node'));
  if (!file) return fams.map((f) => skippedRow(f.id, 'native avx512', 'skipped: no native addon (npm run build:native)'));
  // The raw levels: without this the AVX-512 level of a family listed in native/src/simd's choice table
  // (avx512_runs_avx2) would run its AVX2 code on this CPU, and the A/B would compare AVX2 with itself.
  process.env.QUIVER_NATIVE_ISA_TABLE = 'off';
  const addon = createRequire(import.meta.url)(join(dir, file));
  const levels = ['avx512', 'avx2'].map((isa) => new addon.Kernels(isa));
  const reps = ctx.quick ? 3 : 7;
  const rows = [];
  for (const f of fams) {
    if (!ctx.wantWorkload(f.id.toUpperCase())) continue;
    ctx.log(`${f.id}: ${reps} calls per level, alternating`);
    const call = f.setup();
    for (const k of levels) call(k); // warm-up (scratch buffers, page faults)
    const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    const all = [[], []];
    for (let r = 0; r < reps; r++) {
      for (const [i, k] of (r % 2 ? [...levels].reverse().map((k) => [levels.indexOf(k), k]) : levels.map((k, i) => [i, k]))) {
        const t = cpuSeconds(() => call(k));
        all[i].push(t);
        best[i] = Math.min(best[i], t);
      }
    }
    const ratio = best[1] / best[0];
    levels.forEach((k, i) => {
      const row = measuredRow({
          workload: f.id,
          impl: `native ${k.isa} kernel`,
          what: f.what,
          seconds: best[i],
          work: f.work,
          unit: f.unit,
          timer: `process CPU time, least of ${reps} calls, levels alternating, one thread`,
          notes: i === 0 ? [`avx2 / avx512 time = ${ratio.toFixed(2)} (${ratio >= 1 ? 'AVX-512 faster' : 'AVX2 faster'})`] : [],
          extra: { times: all[i], isa: k.isa, abRatio: i === 0 ? ratio : undefined },
      });
      // The report's ratios (and chart) are then AVX-512 over AVX2.
      row.reference = k.isa === 'avx2';
      rows.push(row);
    });
  }
  return rows;
}
