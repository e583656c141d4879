// What is specific to the wasm backend: one shared memory read in place by workers, the region allocator,
// the copy path for arrays outside the memory, and build selection. Kernel numerics are in the per-family
// suites; values here are checked against oracles written below.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import type { SharedRegion } from '../../src/backends/types.js';
import { type WasmBackend, loadWasmBackend } from '../../src/backends/wasm.js';
import { randomF32, randomF64 } from '../helpers/rng.js';
import { expectClose, tolerance } from '../helpers/tolerance.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const distWasm = join(root, 'dist', 'backends', 'wasm.js');
const distIndex = join(root, 'dist', 'backends', 'index.js');

/** Oracle: norms and x / norm in f64. */
function normalized(x: Float32Array, rows: number, cols: number): { out: number[]; norms: number[] } {
  const out: number[] = [];
  const norms: number[] = [];
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let d = 0; d < cols; d++) s += x[i * cols + d]! ** 2;
    const n = Math.sqrt(s);
    norms.push(n);
    for (let d = 0; d < cols; d++) out.push(n > 0 ? x[i * cols + d]! / n : 0);
  }
  return { out, norms };
}

/** Oracle: a·bᵀ in f64 with row stride ld; cells outside the block hold `fill`. */
function dots(a: Float32Array, m: number, b: Float32Array, n: number, k: number, ld: number, fill: number): number[] {
  const out = new Array<number>(m * ld).fill(fill);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < k; d++) s += a[i * k + d]! * b[j * k + d]!;
      out[i * ld + j] = s;
    }
  }
  return out;
}

const normTol = tolerance('normalizeRows', 'wasm');
const dotTol = tolerance('similarityTile', 'wasm');

async function load(init: Parameters<typeof loadWasmBackend>[0] = undefined): Promise<WasmBackend> {
  return (await loadWasmBackend(init)) as WasmBackend;
}

/**
 * A worker thread that runs function sources: `async (msg, ctx) => value`, where ctx.load is the compiled
 * loadWasmBackend, ctx.loadFromInit the loader's loadBackendFromInit (what pool workers call), and ctx
 * persists between calls (so a backend loaded in one call is used by the next).
 */
class TestWorker {
  private readonly worker: Worker;

  constructor() {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const ctx = {};
      const ready = Promise.all([import(workerData.wasm), import(workerData.index)]).then(([wasm, index]) => {
        ctx.load = wasm.loadWasmBackend;
        ctx.loadFromInit = index.loadBackendFromInit;
      });
      parentPort.on('message', async ({ body, msg }) => {
        try {
          await ready;
          const fn = eval('(' + body + ')');
          parentPort.postMessage({ ok: true, value: await fn(msg, ctx) });
        } catch (e) {
          parentPort.postMessage({ ok: false, code: e && e.code, message: String(e && e.message) });
        }
      });
    `;
    this.worker = new Worker(code, {
      eval: true,
      workerData: { wasm: pathToFileURL(distWasm).href, index: pathToFileURL(distIndex).href },
    });
  }

  run(body: string, msg: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.worker.once('error', onError);
      this.worker.once('message', (m: { ok: boolean; value?: unknown; code?: string; message?: string }) => {
        this.worker.off('error', onError);
        if (m.ok) resolve(m.value);
        else reject(new QuiverError((m.code as 'INTERNAL') ?? 'INTERNAL', m.message ?? 'worker failed'));
      });
      this.worker.postMessage({ body, msg });
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

describe('wasm backend', () => {
  const savedBuild = process.env['QUIVER_WASM_BUILD'];
  afterEach(() => {
    if (savedBuild === undefined) delete process.env['QUIVER_WASM_BUILD'];
    else process.env['QUIVER_WASM_BUILD'] = savedBuild;
  });

  it('reports its build, the AssemblyScript version, and an init a worker can load', async () => {
    const b = await load();
    const b2 = await load({ name: 'wasm', wasmBuild: 'scalar' });
    // Oracle: this Node has WebAssembly SIMD (20+), so auto picks simd128; 'scalar' forces the twin.
    expect(b.info.simd).toBe('simd128');
    expect(b2.info.simd).toBe('scalar');
    const asc = JSON.parse(readFileSync(join(root, 'node_modules', 'assemblyscript', 'package.json'), 'utf8')) as { version: string };
    expect(b.info.versions['assemblyscript']).toBe(asc.version);
    expect(b.init.name).toBe('wasm');
    expect(b.init.wasmBuild).toBe('simd');
    expect(b.init.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(b.init.memory!.buffer).toBeInstanceOf(SharedArrayBuffer);
    // Two main-thread backends own separate memories.
    expect(b2.init.memory).not.toBe(b.init.memory);
  });

  it('QUIVER_WASM_BUILD=scalar forces the scalar build; a bad value is an INVALID_ARGUMENT', async () => {
    process.env['QUIVER_WASM_BUILD'] = 'scalar';
    expect((await load()).info.simd).toBe('scalar');
    process.env['QUIVER_WASM_BUILD'] = 'avx';
    await expect(load()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('alloc: 64-byte aligned, above the reserved MiB, zeroed; free makes the block reusable', async () => {
    const b = await load();
    const r1 = b.alloc('f32', 10);
    const r2 = b.alloc('f64', 3);
    const r3 = b.alloc('i32', 1);
    for (const r of [r1, r2, r3]) {
      expect(r.byteOffset % 64).toBe(0);
      expect(r.byteOffset).toBeGreaterThanOrEqual(1 << 20);
      expect(r.buffer).toBe(b.init.memory!.buffer);
    }
    expect(r2.byteOffset).toBe(r1.byteOffset + 64);
    b.view(r1).fill(7);
    b.free(r1);
    const again = b.alloc('f32', 16); // 64 bytes: fits exactly where r1 was (first fit)
    expect(again.byteOffset).toBe(r1.byteOffset);
    expect(Array.from(b.view(again))).toEqual(new Array(16).fill(0)); // reused blocks come back zeroed
    // Freeing neighbours coalesces them: a block of both sizes fits at the first one's offset.
    b.free(again);
    b.free(r2);
    const both = b.alloc('f32', 32);
    expect(both.byteOffset).toBe(r1.byteOffset);
    b.free(both);
    b.free(r3);
    expect(b.liveBytes).toBe(0);
    expect(() => b.free(r3)).toThrowError(/no live region/);
  });

  it('alloc grows the memory; earlier regions keep their bytes and views', async () => {
    const b = await load();
    const before = b.init.memory!.buffer.byteLength;
    const small = b.alloc('f64', 100);
    const v = b.view(small);
    v.set(randomF64(100, 1));
    const big = b.alloc('f32', (before / 4) * 2); // twice the current memory: must grow
    expect(b.init.memory!.buffer.byteLength).toBeGreaterThan(before);
    expect(big.byteOffset + big.length * 4).toBeLessThanOrEqual(b.init.memory!.buffer.byteLength);
    expect(Array.from(b.view(small))).toEqual(Array.from(randomF64(100, 1)));
    expect(Array.from(v)).toEqual(Array.from(randomF64(100, 1))); // a view made before growing still works
    const bv = b.view(big);
    bv[bv.length - 1] = 3;
    expect(b.view(big)[big.length - 1]).toBe(3);
    b.free(big);
    b.free(small);
    expect(b.liveBytes).toBe(0);
  });

  it('an allocation beyond the 4 GiB limit is TOO_LARGE', async () => {
    const b = await load();
    expect(() => b.alloc('f64', 2 ** 30)).toThrowError(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(b.liveBytes).toBe(0);
  });

  it('plain arrays are copied in and out around the call and the temporaries are freed', async () => {
    const b = await load();
    const cols = 33;
    const x = randomF32(9 * cols, 3);
    // In place on a plain array: the aliasing survives the copy.
    const y = x.slice();
    const norms = new Float32Array(9);
    b.normalizeRows(y, 9, cols, y, norms);
    const want = normalized(x, 9, cols);
    expectClose(y, want.out, normTol, 'in-place normalize of a plain array');
    expectClose(norms, want.norms, normTol, 'norms');
    // Mixed: one input in a region, the other a plain subarray, output a plain array with gaps (ldOut > bRows).
    const ra = b.alloc('f32', 4 * cols);
    b.view(ra).set(x.subarray(0, 4 * cols));
    const out = new Float32Array(4 * 6).fill(-5);
    b.similarityTile({ a: b.view(ra), aRows: 4, b: x.subarray(4 * cols), bRows: 5, cols, out, ldOut: 6 });
    expectClose(out, dots(x, 4, x.subarray(4 * cols), 5, cols, 6, -5), dotTol, 'mixed similarity');
    for (let i = 0; i < 4; i++) expect(out[i * 6 + 5]).toBe(-5);
    b.free(ra);
    expect(b.liveBytes).toBe(0);
  });

  it('a failing Cholesky frees its temporaries and says what to fix', async () => {
    const b = await load();
    const bad = new Float64Array([4, 2, 0, 2, 1, 0, 0, 0, 1]);
    try {
      b.choleskySolve(bad, 3, new Float64Array(3), 1);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(QuiverError);
      expect((e as QuiverError).code).toBe('NOT_POSITIVE_DEFINITE');
      expect((e as QuiverError).message).toBe(
        'the Gram matrix is not positive definite at pivot 1; add an L2 penalty or remove constant or duplicate columns',
      );
      expect((e as QuiverError).details).toEqual({ pivot: 1 });
    }
    expect(b.liveBytes).toBe(0);
  });

  it('gram and choleskySolve give the textbook f64 operations\' bits in both builds (the same operations in the same order)', async () => {
    for (const b of [await load(), await load({ name: 'wasm', wasmBuild: 'scalar' })]) {
      for (const cols of [1, 3, 4, 5, 8, 13, 65]) {
        const rows = 203;
        const x = randomF32(rows * cols, 40 + cols);
        const w = randomF64(rows, 50 + cols).map((v, i) => (i % 7 === 0 ? 0 : Math.abs(v)));
        const center = randomF64(cols, 60 + cols);
        const v = randomF64(rows, 70 + cols);
        for (const [ww, cc] of [[null, null], [w, null], [null, center], [w, center]] as const) {
          const g = new Float64Array(cols * cols).fill(0.5);
          const gr = g.slice();
          const xty = new Float64Array(cols);
          const xtyr = xty.slice();
          b.gram({ x, rows, cols, w: ww, center: cc, v, g, xty });
          // Oracle, row by row: g[a,b] += (w_i r_a) r_b for b ≥ a (rows of weight 0 skipped), xty[a] += v_i r_a,
          // with r = x_i − c; compared exactly (the lower triangle stays 0.5 in both).
          for (let i = 0; i < rows; i++) {
            const wi = ww ? ww[i]! : 1;
            const r = Array.from({ length: cols }, (_, a) => x[i * cols + a]! - (cc ? cc[a]! : 0));
            if (wi !== 0) for (let a = 0; a < cols; a++) for (let c = a; c < cols; c++) gr[a * cols + c]! += wi * r[a]! * r[c]!;
            for (let a = 0; a < cols; a++) xtyr[a]! += v[i]! * r[a]!;
          }
          expect(Array.from(g)).toEqual(Array.from(gr));
          expect(Array.from(xty)).toEqual(Array.from(xtyr));
        }
      }
      for (const n of [1, 2, 3, 4, 5, 7, 9, 33]) {
        const a = randomF64(n * (n + 2), 80 + n);
        const g = new Float64Array(n * n);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let s = i === j ? n : 0;
            for (let p = 0; p < n + 2; p++) s += a[i * (n + 2) + p]! * a[j * (n + 2) + p]!;
            g[i * n + j] = s;
          }
        }
        const rhs = randomF64(n * 2, 90 + n);
        const [g1, g2, b1, b2] = [g.slice(), g.slice(), rhs.slice(), rhs.slice()];
        b.choleskySolve(g1, n, b1, 2);
        // Oracle: the upper factor U (G = UᵀU) row by row, then Uᵀy = b and Ux = y, each sum in index order.
        for (let j = 0; j < n; j++) {
          let d = g2[j * n + j]!;
          for (let p = 0; p < j; p++) d -= g2[p * n + j]! * g2[p * n + j]!;
          g2[j * n + j] = Math.sqrt(d);
          for (let c = j + 1; c < n; c++) {
            let t = g2[j * n + c]!;
            for (let p = 0; p < j; p++) t -= g2[p * n + j]! * g2[p * n + c]!;
            g2[j * n + c] = t / g2[j * n + j]!;
          }
        }
        for (let r = 0; r < 2; r++) {
          for (let i = 0; i < n; i++) {
            let t = b2[i * 2 + r]!;
            for (let p = 0; p < i; p++) t -= g2[p * n + i]! * b2[p * 2 + r]!;
            b2[i * 2 + r] = t / g2[i * n + i]!;
          }
          for (let i = n - 1; i >= 0; i--) {
            let t = b2[i * 2 + r]!;
            for (let p = i + 1; p < n; p++) t -= g2[i * n + p]! * b2[p * 2 + r]!;
            b2[i * 2 + r] = t / g2[i * n + i]!;
          }
        }
        expect(Array.from(b1)).toEqual(Array.from(b2));
      }
    }
  });

  describe('workers', () => {
    beforeAll(() => {
      // Workers run compiled JavaScript: build dist/ when it is missing or older than the source.
      const src = join(root, 'src', 'backends', 'wasm.ts');
      if (!existsSync(distWasm) || statSync(distWasm).mtimeMs < statSync(src).mtimeMs) {
        spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
      }
      expect(existsSync(distWasm), `${distWasm} (run npx tsc -p tsconfig.build.json)`).toBe(true);
    }, 120_000);

    it('a worker loading the same init reads and writes main-thread regions in place', async () => {
      const b = await load();
      const rows = 6;
      const cols = 17;
      const x = randomF32(rows * cols, 21);
      const rx = b.alloc('f32', rows * cols);
      const rn = b.alloc('f32', rows);
      b.view(rx).set(x);
      const worker = new TestWorker();
      const value = await worker
        .run(
          `async (m, ctx) => {
            const w = await ctx.load(m.init);
            const x = w.view(m.rx);
            w.normalizeRows(x, m.rows, m.cols, x, w.view(m.rn));
            return { simd: w.info.simd, wasmBuild: w.init.wasmBuild };
          }`,
          { init: b.init, rx, rn, rows, cols },
        )
        .finally(() => worker.close());
      expect(value).toMatchObject({ simd: 'simd128', wasmBuild: 'simd' });
      const want = normalized(x, rows, cols);
      // The worker wrote through the shared memory: the main thread's views see the result.
      expectClose(b.view(rx), want.out, normTol, 'normalized by the worker');
      expectClose(b.view(rn), want.norms, normTol, 'norms from the worker');
    });

    it('a worker sees regions allocated after the main thread grew the memory', async () => {
      const b = await load({ name: 'wasm', wasmBuild: 'scalar' });
      const worker = new TestWorker();
      try {
        const first = (await worker.run(
          `async (m, ctx) => {
            ctx.w = await ctx.load(m.init);
            return ctx.w.init.memory.buffer.byteLength;
          }`,
          { init: b.init },
        )) as number;
        // Only now grow the memory, past the size the worker has seen, and hand it regions at the far end.
        const filler = b.alloc('f32', first / 2);
        const cols = 9;
        const ra = b.alloc('f32', 3 * cols);
        const rb = b.alloc('f32', 4 * cols);
        const ro = b.alloc('f32', 12);
        expect(ro.byteOffset).toBeGreaterThan(first);
        const a = randomF32(3 * cols, 31);
        const c = randomF32(4 * cols, 32);
        b.view(ra).set(a);
        b.view(rb).set(c);
        const regions: Record<string, SharedRegion> = { ra, rb, ro };
        await worker.run(
          `async (m, ctx) => {
            const w = ctx.w;
            w.similarityTile({ a: w.view(m.ra), aRows: 3, b: w.view(m.rb), bRows: 4, cols: m.cols, out: w.view(m.ro), ldOut: 4 });
            return null;
          }`,
          { ...regions, cols },
        );
        expectClose(b.view(ro), dots(a, 3, c, 4, cols, 4, 0), dotTol, 'similarity written by the worker');
        b.free(filler);
      } finally {
        await worker.close();
      }
    });

    it('pool workers load it through the loader (its self-check passes plain arrays through a copy slot)', async () => {
      const b = await load();
      const worker = new TestWorker();
      try {
        const got = await worker.run(
          `async (m, ctx) => {
            const w = await ctx.loadFromInit(m.init);
            const x = new Float32Array([3, 4, 0, 0, 5, 12]);
            const out = new Float32Array(6);
            const norms = new Float32Array(3);
            w.normalizeRows(x, 3, 2, out, norms);
            return { simd: w.info.simd, out: Array.from(out), norms: Array.from(norms) };
          }`,
          { init: b.init },
        );
        // Oracle: 3-4-5 and 5-12-13 triangles; the zero row stays zero.
        expect(got).toEqual({ simd: 'simd128', out: [0.6000000238418579, 0.800000011920929, 0, 0, 0.38461539149284363, 0.9230769276618958], norms: [5, 0, 13] });
      } finally {
        await worker.close();
      }
    });

    it('in a worker, a large array outside the shared memory and alloc are INTERNAL errors', async () => {
      const b = await load();
      const worker = new TestWorker();
      try {
        await worker.run('async (m, ctx) => { ctx.w = await ctx.load(m.init); }', { init: b.init });
        const big = 'async (m, ctx) => ctx.w.normalizeRows(new Float32Array(20000), 100, 200, new Float32Array(20000), new Float32Array(100))';
        await expect(worker.run(big, null)).rejects.toMatchObject({
          code: 'INTERNAL',
          message: expect.stringMatching(/outside the shared memory/),
        });
        // The failed call released its slot: every slot is free again, so small copies still work.
        for (let i = 0; i < 20; i++) {
          await worker.run('async (m, ctx) => ctx.w.normalizeRows(new Float32Array(4), 2, 2, new Float32Array(4), new Float32Array(2))', null);
        }
        await expect(worker.run("async (m, ctx) => ctx.w.alloc('f32', 4)", null)).rejects.toMatchObject({
          code: 'INTERNAL',
          message: expect.stringMatching(/main-thread only/),
        });
      } finally {
        await worker.close();
      }
    });
  });
});
