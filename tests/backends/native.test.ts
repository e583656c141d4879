// What is specific to the native backend: the level bound once per backend (QUIVER_NATIVE_ISA, init.nativeIsa,
// info), views of SharedArrayBuffers and subarrays read and written in place, failures arriving as QuiverError
// with their code from the napi status, and worker threads that load the addon and exit cleanly, again and
// again. Kernel numerics are in the per-family suites; values here are checked against oracles written below.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { createEngine } from '../../src/index.js';
import { loadNativeBackend, nativeAddonPath, nativeIsas } from '../../src/backends/native.js';

/** The CPU's feature flags as Linux lists them (empty elsewhere). */
function readCpuFlags(): string[] {
  try {
    return (readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '').trim().split(/\s+/);
  } catch {
    return [];
  }
}
import { LINK_SIGMOID, type Backend, type NativeIsa } from '../../src/backends/types.js';
import type * as Addon from '../../native/index.js';
import { randomF32, randomF64, smallIntF32 } from '../helpers/rng.js';
import { expectClose, tolerance } from '../helpers/tolerance.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function tryLoad(): Promise<Backend | null> {
  try {
    return await loadNativeBackend();
  } catch (err) {
    if (process.env['QUIVER_REQUIRE_NATIVE'] === '1') throw err;
    return null;
  }
}

const loaded = await tryLoad();

/** Oracle: a·bᵀ in f64, row stride ld. */
function dots(a: Float32Array, m: number, b: Float32Array, n: number, k: number, ld = n): Float64Array {
  const out = new Float64Array(m === 0 ? 0 : (m - 1) * ld + n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < k; d++) s += a[i * k + d]! * b[j * k + d]!;
      out[i * ld + j] = s;
    }
  }
  return out;
}

/** A Float32Array over a fresh SharedArrayBuffer, starting `offset` elements in, every element set to `fill`. */
function sharedF32(length: number, offset: number, fill: number): { view: Float32Array; whole: Float32Array } {
  const whole = new Float32Array(new SharedArrayBuffer((offset + length + 3) * 4)).fill(fill);
  return { view: whole.subarray(offset, offset + length), whole };
}

/** Runs `code` (CommonJS) in a worker with `data`; resolves with the worker's exit code. */
function runWorker(code: string, data: unknown, onStart?: (w: Worker) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: data });
    w.once('error', reject);
    w.once('exit', resolve);
    onStart?.(w);
  });
}

const WORKER_KERNEL = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.path);
const { isa, a, m, b, n, k, out } = workerData;
new addon.Kernels(isa).similarityTile(a, m, b, n, k, out, n);
parentPort.postMessage('done');
`;

describe.skipIf(loaded === null)('native backend', () => {
  const b = loaded as Backend;
  const savedIsa = process.env['QUIVER_NATIVE_ISA'];
  afterEach(() => {
    if (savedIsa === undefined) delete process.env['QUIVER_NATIVE_ISA'];
    else process.env['QUIVER_NATIVE_ISA'] = savedIsa;
  });

  it('binds one level: auto is the CPU\'s best; every level it runs can be forced; info and init report it', async () => {
    const addon = createRequire(import.meta.url)(nativeAddonPath()) as typeof Addon;
    const best = addon.detectedIsa();
    const usable = nativeIsas();
    expect(usable[0]).toBe(best);
    expect(usable).toContain('scalar');
    delete process.env['QUIVER_NATIVE_ISA'];
    const auto = await loadNativeBackend();
    expect(auto.info.simd).toBe(best);
    expect(auto.info.versions['cpu']).toBe(best);
    expect(auto.info.versions['faer']).toMatch(/^0\.24\./);
    delete process.env['QUIVER_TOPK_SCREEN'];
    expect(auto.init).toEqual({ name: 'native', nativeIsa: 'auto', nativeTopkScreen: true });
    for (const isa of usable) {
      const forced = await loadNativeBackend({ isa });
      expect(forced.info.simd).toBe(isa);
      expect(forced.info.versions['cpu']).toBe(best);
      expect(forced.init.nativeIsa).toBe(isa);
      process.env['QUIVER_NATIVE_ISA'] = isa;
      expect((await loadNativeBackend()).info.simd).toBe(isa);
      // A worker gets the main thread's init: its level wins over the environment.
      process.env['QUIVER_NATIVE_ISA'] = 'scalar';
      expect((await loadNativeBackend({}, { name: 'native', nativeIsa: isa })).info.simd).toBe(isa);
      // The bf16 screen is on only at the AVX-512 level of a CPU with AVX512_BF16 (oracle: the CPU's flags).
      const bf16 = isa === 'avx512' && readCpuFlags().includes('avx512_bf16');
      expect(forced.info.topkScreen).toBe(bf16 ? 'bf16' : 'off');
      expect((await loadNativeBackend({ isa, topkScreen: false })).info.topkScreen).toBe('off');
      process.env['QUIVER_TOPK_SCREEN'] = '0';
      const off = await loadNativeBackend({ isa });
      expect(off.info.topkScreen).toBe('off');
      expect(off.init.nativeTopkScreen).toBe(false);
      // A worker follows its main thread's choice, not the environment.
      expect((await loadNativeBackend({}, { name: 'native', nativeIsa: isa, nativeTopkScreen: true })).info.topkScreen).toBe(bf16 ? 'bf16' : 'off');
      delete process.env['QUIVER_TOPK_SCREEN'];
    }
  });

  // Only a CPU without AVX-512 has a level it cannot run; on one with it (AMD Zen 4 here) the Rust unit test and
  // the 'sse2' refusal below cover the path.
  it.skipIf(nativeIsas().includes('avx512'))('QUIVER_NATIVE_ISA: a level this CPU cannot run is BACKEND_UNAVAILABLE naming its best', async () => {
    const best = (createRequire(import.meta.url)(nativeAddonPath()) as typeof Addon).detectedIsa();
    const missing = (['avx512', 'avx2'] as NativeIsa[]).filter((isa) => !nativeIsas().includes(isa));
    expect(missing.length).toBeGreaterThan(0);
    for (const isa of missing) {
      process.env['QUIVER_NATIVE_ISA'] = isa;
      await expect(loadNativeBackend()).rejects.toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        message: `the ${isa} instruction set cannot run on this CPU (its best is ${best})`,
        details: { requested: isa, best },
      });
    }
  });

  it('QUIVER_NATIVE_ISA: the addon refuses a level it does not know; a bad name is INVALID_ARGUMENT', async () => {
    const addon = createRequire(import.meta.url)(nativeAddonPath()) as typeof Addon;
    const best = addon.detectedIsa();
    // The addon itself refuses what it cannot run, whatever the TypeScript side let through.
    expect(() => new addon.Kernels('sse2')).toThrow(expect.objectContaining({ code: 'BACKEND_UNAVAILABLE', message: `{"requested":"sse2","best":"${best}"}` }));
    process.env['QUIVER_NATIVE_ISA'] = 'sse2';
    await expect(loadNativeBackend()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'QUIVER_NATIVE_ISA must be auto, avx512, avx2 or scalar (got "sse2")' });
  });

  it('engine.info() reports the level QUIVER_NATIVE_ISA chose', async () => {
    process.env['QUIVER_NATIVE_ISA'] = 'scalar';
    const e = await createEngine({ backend: 'native', threads: 1 });
    try {
      expect(e.info().backend).toBe('native');
      expect(e.info().simd).toBe('scalar');
    } finally {
      await e.close();
    }
  });

  it('writes into a SharedArrayBuffer view in place, at its byteOffset, and nowhere else', () => {
    const cols = 33;
    const a = b.view(b.alloc('f32', 7 * cols));
    const c = b.view(b.alloc('f32', 5 * cols));
    a.set(smallIntF32(7 * cols, 1));
    c.set(smallIntF32(5 * cols, 2));
    // out is 7 rows of 5 with row stride 6, 13 elements into a buffer filled with 99.
    const { view: out, whole } = sharedF32(7 * 6, 13, 99);
    b.similarityTile({ a, aRows: 7, b: c, bRows: 5, cols, out, ldOut: 6 });
    const want = Float32Array.from(dots(a, 7, c, 5, cols, 6));
    for (let i = 0; i < 7; i++) want[i * 6 + 5] = 99; // outside the block: untouched
    // Read back through a different view of the same memory: the kernel wrote there, not into a copy.
    expect(Array.from(whole.subarray(13, 13 + 41))).toEqual(Array.from(want.subarray(0, 41))); // exact small-integer sums
    expect(Array.from(whole.subarray(0, 13)).every((v) => v === 99)).toBe(true);
    expect(Array.from(whole.subarray(13 + 41)).every((v) => v === 99)).toBe(true);
  });

  it('reads inputs at a non-zero byteOffset (subarrays) for every kernel', () => {
    const cols = 17;
    const rows = 9;
    const off = 5; // elements of padding before each input
    const padF32 = (src: Float32Array): Float32Array => {
      const big = new Float32Array(new SharedArrayBuffer((src.length + 2 * off) * 4)).fill(-7);
      big.set(src, off);
      return big.subarray(off, off + src.length);
    };
    const padF64 = (src: Float64Array): Float64Array => {
      const big = new Float64Array(new SharedArrayBuffer((src.length + 2 * off) * 8)).fill(-7);
      big.set(src, off);
      return big.subarray(off, off + src.length);
    };
    const x = randomF32(rows * cols, 3);
    const xs = padF32(x);
    expect(xs.byteOffset).toBe(off * 4);

    const norms = new Float32Array(rows);
    const out = padF32(new Float32Array(rows * cols));
    b.normalizeRows(xs, rows, cols, out, norms);
    for (let i = 0; i < rows; i++) {
      const n = Math.sqrt(dots(x.subarray(i * cols), 1, x.subarray(i * cols), 1, cols)[0]!);
      expectClose(out.subarray(i * cols, (i + 1) * cols), Array.from(x.subarray(i * cols, (i + 1) * cols), (v) => v / n), tolerance('normalizeRows', 'native'), 'normalize at an offset');
    }

    const w = randomF64(cols, 4);
    const mv = padF32(new Float32Array(rows));
    b.matvec({ x: xs, rows, cols, w: padF64(w), bias: 0.5, link: LINK_SIGMOID, out: mv });
    const z = Array.from({ length: rows }, (_, i) => {
      let s = 0.5;
      for (let d = 0; d < cols; d++) s += x[i * cols + d]! * w[d]!;
      return 1 / (1 + Math.exp(-s));
    });
    expectClose(mv, z, tolerance('matvec', 'native'), 'matvec at an offset');

    const k = 4;
    const idx = new Int32Array(new SharedArrayBuffer((rows * k + 3) * 4)).fill(-1).subarray(3);
    const sc = padF32(new Float32Array(rows * k).fill(-Infinity));
    b.topkTile({ q: xs, qRows: rows, x: xs, xRows: rows, cols, k, qOffset: 0, xOffset: 0, excludeSelf: true, outIdx: idx, outScores: sc });
    const all = dots(x, rows, x, rows, cols);
    for (let i = 0; i < rows; i++) {
      const order = [...Array(rows).keys()].filter((j) => j !== i).sort((p, q) => all[i * rows + q]! - all[i * rows + p]! || p - q);
      expect(Array.from(idx.subarray(i * k, i * k + k))).toEqual(order.slice(0, k));
      expectClose(sc.subarray(i * k, i * k + k), order.slice(0, k).map((j) => all[i * rows + j]!), tolerance('topkTile', 'native'), 'topk at an offset');
    }

    const g = padF64(new Float64Array(cols * cols));
    const wr = randomF64(rows, 5).map(Math.abs);
    b.gram({ x: xs, rows, cols, w: padF64(wr), g });
    for (let p = 0; p < cols; p++) {
      for (let q = p; q < cols; q++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += wr[i]! * x[i * cols + p]! * x[i * cols + q]!;
        expectClose([g[p * cols + q]!], [s], tolerance('gram', 'native'), `gram[${p},${q}] at an offset`);
      }
    }
  });

  it('a self-similarity tile (a = rows of b in the same buffer) equals the same tile from a copy of a', () => {
    const cols = 40;
    const n = 600;
    const x = new Float32Array(new SharedArrayBuffer(n * cols * 4));
    x.set(randomF32(n * cols, 21));
    for (const [r0, m] of [[0, 600], [150, 300], [400, 200]] as const) {
      const viaRows = new Float32Array(m * n);
      const viaCopy = new Float32Array(m * n);
      b.similarityTile({ a: x.subarray(r0 * cols), aRows: m, b: x, bRows: n, cols, out: viaRows, ldOut: n });
      b.similarityTile({ a: x.slice(r0 * cols, (r0 + m) * cols), aRows: m, b: x, bRows: n, cols, out: viaCopy, ldOut: n });
      // Oracle: the same backend without the symmetric shortcut (a separate copy of a): bit-identical.
      expect(Buffer.from(viaRows.buffer).equals(Buffer.from(viaCopy.buffer))).toBe(true);
      expectClose(viaRows, dots(x.subarray(r0 * cols), m, x, n, cols), tolerance('similarityTile', 'native'), `self tile r0=${r0}`);
    }
  });

  it('failures arrive as QuiverError with the code from the napi status and the facts as details', () => {
    const bad = new Float64Array([4, 2, 0, 2, 1, 0, 0, 0, 1]);
    expect(() => b.choleskySolve(bad, 3, new Float64Array(3), 1)).toThrow(
      expect.objectContaining({
        code: 'NOT_POSITIVE_DEFINITE',
        message: 'the Gram matrix is not positive definite at pivot 1; add an L2 penalty or remove constant or duplicate columns',
        details: { pivot: 1 },
      }),
    );
    const a = new Float32Array(12);
    try {
      b.similarityTile({ a, aRows: 3, b: a, bRows: 3, cols: 4, out: new Float32Array(8), ldOut: 3 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(QuiverError);
      expect(e).toMatchObject({ code: 'SHAPE_MISMATCH', message: 'out has 8 elements but the shape needs 9', details: { argument: 'out', length: 8, needed: 9 } });
    }
    // An output that overlaps an input would break the kernels' no-aliasing assumption: refused.
    const mem = new Float32Array(40);
    expect(() => b.similarityTile({ a: mem, aRows: 2, b: mem, bRows: 2, cols: 4, out: mem.subarray(4), ldOut: 2 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'out shares memory with a; an output must not overlap another argument' }),
    );
    expect(() => b.matvec({ x: a, rows: 3, cols: 4, w: new Float64Array(4), bias: 0, link: 2 as 1, out: new Float32Array(3) })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'link is 2, outside [0, 1]' }),
    );
    const k = 2;
    expect(() =>
      b.sparseScoreTopn({
        aPtr: Int32Array.from([0, 1]), aIdx: Int32Array.from([7]), aVal: Float32Array.from([1]),
        mPtr: Int32Array.from([0, 0, 0]), mIdx: new Int32Array(0), mVal: new Float32Array(0),
        normalize: 0, row0: 0, row1: 1, nCols: 3, n: k, acc: new Float64Array(3), mark: new Int32Array(3), list: new Int32Array(3),
        outIdx: new Int32Array(k), outScores: new Float32Array(k),
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'aIdx is 7 in row 0, outside [0, 1]', details: { argument: 'aIdx', value: 7, min: 0, max: 1, row: 0 } }));
    // napi's own refusal of an argument's type is INTERNAL (a caller bug), still a QuiverError.
    expect(() => b.normalizeRows(undefined as unknown as Float32Array, 1, 1, new Float32Array(1), new Float32Array(1))).toThrow(
      expect.objectContaining({ code: 'INTERNAL' }),
    );
  });

  describe('worker threads', () => {
    beforeAll(() => {
      // The loader worker below runs compiled JavaScript: build dist/ when it is missing or older than the source.
      const dist = join(root, 'dist', 'backends', 'native.js');
      if (!existsSync(dist) || statSync(dist).mtimeMs < statSync(join(root, 'src', 'backends', 'native.ts')).mtimeMs) {
        spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
      }
    }, 120_000);

    it('a worker given the main thread\'s init binds the same level, whatever its environment says', async () => {
      const forced = await loadNativeBackend({ isa: 'scalar' });
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        process.env.QUIVER_NATIVE_ISA = 'auto';
        import(workerData.index).then(async (m) => {
          const w = await m.loadBackendFromInit(workerData.init);
          parentPort.postMessage(w.info.simd);
        });`;
      const simd = await new Promise((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { index: pathToFileURL(join(root, 'dist', 'backends', 'index.js')).href, init: forced.init } });
        w.once('message', (m) => {
          resolve(m);
          void w.terminate();
        });
        w.once('error', reject);
      });
      expect(simd).toBe('scalar');
    });

    it('a worker that loads the addon computes into shared memory that the main thread reads', async () => {
      const path = nativeAddonPath();
      const cols = 19;
      const [m, n] = [6, 4];
      const a = b.view(b.alloc('f32', m * cols));
      const c = b.view(b.alloc('f32', n * cols));
      a.set(smallIntF32(m * cols, 10));
      c.set(smallIntF32(n * cols, 11));
      const out = b.view(b.alloc('f32', m * n));
      expect(await runWorker(WORKER_KERNEL, { path, isa: b.info.simd, a, m, b: c, n, k: cols, out })).toBe(0);
      expect(Array.from(out)).toEqual(Array.from(dots(a, m, c, n, cols))); // exact small-integer sums
    });

    it('workers load the addon, run a kernel and exit, 20 times (some terminated early), without crashing', async () => {
      const path = nativeAddonPath();
      const cols = 64;
      const [m, n] = [48, 40];
      const a = b.view(b.alloc('f32', m * cols));
      const c = b.view(b.alloc('f32', n * cols));
      a.set(randomF32(m * cols, 12));
      c.set(randomF32(n * cols, 13));
      const want = new Float32Array(m * n);
      b.similarityTile({ a, aRows: m, b: c, bRows: n, cols, out: want, ldOut: n });
      for (let round = 0; round < 10; round++) {
        // Two at a time, as a two-thread pool would run them; every fourth worker is terminated right away.
        const outs = [b.view(b.alloc('f32', m * n)), b.view(b.alloc('f32', m * n))];
        const codes = await Promise.all(
          outs.map((out, i) =>
            runWorker(WORKER_KERNEL, { path, isa: b.info.simd, a, m, b: c, n, k: cols, out }, (w) => {
              if ((round * 2 + i) % 4 === 3) void w.terminate();
            }),
          ),
        );
        for (const [i, code] of codes.entries()) {
          if ((round * 2 + i) % 4 === 3) continue; // terminated: exit code 1, output unspecified
          expect(code).toBe(0);
          // Same kernel, same level, same data: bit-identical to the main thread's result.
          expect(Array.from(outs[i]!)).toEqual(Array.from(want));
        }
      }
      // The main thread's copy of the addon still works after 20 worker environments came and went.
      const again = new Float32Array(m * n);
      b.similarityTile({ a, aRows: m, b: c, bRows: n, cols, out: again, ldOut: n });
      expect(Array.from(again)).toEqual(Array.from(want));
    });
  });
});
