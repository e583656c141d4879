// The native addon on this Node: views of SharedArrayBuffers and subarrays (non-zero byteOffset) are read and
// written in place, failures arrive as QuiverError, and worker threads that load the addon start, compute into
// shared memory and exit cleanly, again and again. Oracle for values: the f64 js reference backend.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { loadNativeBackend, nativeAddonPath } from '../../src/backends/native.js';
import { LINK_SIGMOID } from '../../src/backends/types.js';
import type { Backend } from '../../src/backends/types.js';
import { reference } from '../helpers/backends.js';
import { randomF32, randomF64, smallIntF32 } from '../helpers/rng.js';
import { TOLERANCE, expectClose } from '../helpers/tolerance.js';

async function tryLoad(): Promise<Backend | null> {
  try {
    return await loadNativeBackend();
  } catch (err) {
    if (process.env['QUIVER_REQUIRE_NATIVE'] === '1') throw err;
    return null;
  }
}

const loaded = await tryLoad();

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
addon.similarityTile(isa, a, m, b, n, k, out, n);
parentPort.postMessage('done');
`;

describe.skipIf(loaded === null)('native addon', () => {
  const b = loaded as Backend;

  it('reports the instruction set it dispatched, and the scalar twins when forced', async () => {
    expect(['avx512', 'avx2', 'scalar']).toContain(b.info.simd);
    expect(b.info.versions['faer']).toMatch(/^0\.24\./);
    const scalar = await loadNativeBackend({ isa: 'scalar' });
    expect(scalar.info.simd).toBe('scalar');
    expect(scalar.info.versions['cpu']).toBe(b.info.simd);
  });

  it('writes into a SharedArrayBuffer view in place, at its byteOffset, and nowhere else', () => {
    const cols = 33;
    const a = b.view(b.alloc('f32', 7 * cols));
    const c = b.view(b.alloc('f32', 5 * cols));
    a.set(smallIntF32(7 * cols, 1));
    c.set(smallIntF32(5 * cols, 2));
    // out is 7 rows of 5 with row stride 6, 13 elements into a buffer filled with 99.
    const { view: out, whole } = sharedF32(7 * 6, 13, 99);
    b.similarityTile(a, 7, c, 5, cols, out, 6);
    const want = new Float32Array(7 * 6).fill(99);
    reference.similarityTile(a, 7, c, 5, cols, want, 6);
    // Read back through a different view of the same memory: the kernel wrote there, not into a copy.
    expect(Array.from(whole.subarray(13, 13 + 42))).toEqual(Array.from(want)); // oracle: exact small-integer sums
    expect(Array.from(whole.subarray(0, 13)).every((v) => v === 99)).toBe(true);
    expect(Array.from(whole.subarray(13 + 42)).every((v) => v === 99)).toBe(true);
  });

  it('reads inputs at a non-zero byteOffset (subarrays) for every kernel', () => {
    const cols = 17;
    const rows = 9;
    const off = 5; // elements of padding before each input
    const pad = <T extends Float32Array | Float64Array>(src: T, make: (n: number) => T): T => {
      const big = make(src.length + 2 * off).fill(-7 as never);
      big.set(src, off);
      return big.subarray(off, off + src.length) as T;
    };
    const f32 = (n: number) => new Float32Array(new SharedArrayBuffer(n * 4));
    const f64 = (n: number) => new Float64Array(new SharedArrayBuffer(n * 8));
    const x = randomF32(rows * cols, 3);
    const xs = pad(x, f32);
    expect(xs.byteOffset).toBe(off * 4);

    const norms = new Float32Array(rows);
    const rNorms = new Float32Array(rows);
    const out = pad(new Float32Array(rows * cols), f32);
    const rOut = new Float32Array(rows * cols);
    b.normalizeRows(xs, rows, cols, out, norms);
    reference.normalizeRows(x, rows, cols, rOut, rNorms);
    expectClose(out, rOut, TOLERANCE.normalize, 'normalize at an offset');

    const w = randomF64(cols, 4);
    const mv = pad(new Float32Array(rows), f32);
    const rMv = new Float32Array(rows);
    b.matvec(xs, rows, cols, pad(w, f64), 0.5, LINK_SIGMOID, mv);
    reference.matvec(x, rows, cols, w, 0.5, LINK_SIGMOID, rMv);
    expectClose(mv, rMv, TOLERANCE.matvec, 'matvec at an offset');

    const k = 4;
    const idx = new Int32Array(new SharedArrayBuffer((rows * k + 3) * 4)).fill(-1).subarray(3);
    const sc = pad(new Float32Array(rows * k).fill(-Infinity), f32);
    const rIdx = new Int32Array(rows * k).fill(-1);
    const rSc = new Float32Array(rows * k).fill(-Infinity);
    b.topkTile(xs, rows, xs, rows, cols, k, 0, 0, true, idx, sc);
    reference.topkTile(x, rows, x, rows, cols, k, 0, 0, true, rIdx, rSc);
    expect(Array.from(idx)).toEqual(Array.from(rIdx));
    expectClose(sc, rSc, TOLERANCE.dotF32, 'topk at an offset');

    const g = pad(new Float64Array(cols * cols), f64);
    const rG = new Float64Array(cols * cols);
    const wr = randomF64(rows, 5).map(Math.abs);
    b.gram(xs, rows, cols, pad(wr, f64), null, null, g, null);
    reference.gram(x, rows, cols, wr, null, null, rG, null);
    for (let i = 0; i < cols; i++) {
      expectClose(g.subarray(i * cols + i, (i + 1) * cols), rG.subarray(i * cols + i, (i + 1) * cols), TOLERANCE.reductionF64, 'gram at an offset');
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
      b.similarityTile(x.subarray(r0 * cols), m, x, n, cols, viaRows, n);
      b.similarityTile(x.slice(r0 * cols, (r0 + m) * cols), m, x, n, cols, viaCopy, n);
      // Oracle: the same backend without the symmetric shortcut (a separate copy of a): bit-identical.
      expect(Buffer.from(viaRows.buffer).equals(Buffer.from(viaCopy.buffer))).toBe(true);
      const ref = new Float32Array(m * n);
      reference.similarityTile(x.subarray(r0 * cols), m, x, n, cols, ref, n);
      expectClose(viaRows, ref, TOLERANCE.dotF32, `self tile r0=${r0}`);
    }
  });

  it('normalizes a subarray in place', () => {
    const cols = 31;
    const { view, whole } = sharedF32(4 * cols, 7, 0);
    view.set(randomF32(4 * cols, 9));
    const want = new Float32Array(4 * cols);
    reference.normalizeRows(view.slice(), 4, cols, want, new Float32Array(4));
    b.normalizeRows(view, 4, cols, view, new Float32Array(4));
    expectClose(whole.subarray(7, 7 + 4 * cols), want, TOLERANCE.normalize, 'in place at an offset');
  });

  it('reports failures as QuiverError with a code, a message and details', () => {
    const bad = new Float64Array([4, 2, 0, 2, 1, 0, 0, 0, 1]);
    try {
      b.choleskySolve(bad, 3, new Float64Array(3), 1);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(QuiverError);
      const q = e as QuiverError;
      expect(q.code).toBe('NOT_POSITIVE_DEFINITE');
      expect(q.message).toBe(
        'the Gram matrix is not positive definite at pivot 1; add an L2 penalty or remove constant or duplicate columns',
      );
      expect(q.details).toEqual({ pivot: 1 });
    }
    const a = new Float32Array(12);
    expect(() => b.similarityTile(a, 3, a, 3, 4, new Float32Array(8), 3)).toThrow(
      expect.objectContaining({ code: 'SHAPE_MISMATCH', message: 'out has 8 elements but the shape needs 9' }),
    );
    // An output that overlaps an input would break the kernels' no-aliasing assumption: refused.
    const mem = new Float32Array(40);
    expect(() => b.similarityTile(mem, 2, mem, 2, 4, mem.subarray(4), 2)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
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
    const want = new Float32Array(m * n);
    reference.similarityTile(a, m, c, n, cols, want, n);
    const isa = b.info.simd === 'avx512' ? 2 : b.info.simd === 'avx2' ? 1 : 0;
    expect(await runWorker(WORKER_KERNEL, { path, isa, a, m, b: c, n, k: cols, out })).toBe(0);
    expect(Array.from(out)).toEqual(Array.from(want)); // oracle: exact small-integer sums
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
    b.similarityTile(a, m, c, n, cols, want, n);
    const isa = b.info.simd === 'avx512' ? 2 : b.info.simd === 'avx2' ? 1 : 0;
    for (let round = 0; round < 10; round++) {
      // Two at a time, as a two-thread pool would run them; every fourth worker is terminated right away.
      const outs = [b.view(b.alloc('f32', m * n)), b.view(b.alloc('f32', m * n))];
      const codes = await Promise.all(
        outs.map((out, i) =>
          runWorker(WORKER_KERNEL, { path, isa, a, m, b: c, n, k: cols, out }, (w) => {
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
    b.similarityTile(a, m, c, n, cols, again, n);
    expect(Array.from(again)).toEqual(Array.from(want));
  });
});
