/**
 * The compiled WASM kernels: the raw exports of assembly/index.ts, the SIMD probe, the choice between the
 * simd and scalar builds (build/quiver.simd.wasm, build/quiver.scalar.wasm), and compiling each build once per
 * process with the optimising tier.
 */
import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { QuiverError } from '../errors.js';
import type { BackendInit } from './types.js';

export type WasmBuild = 'simd' | 'scalar';

/** The raw exports of assembly/index.ts: pointers are byte offsets, 0 means "no array". */
export interface KernelExports {
  simd_build(): number;
  asc_version(): number;
  heap_base(): number;
  normalize_rows(x: number, rows: number, cols: number, out: number, norms: number): void;
  row_norms(x: number, rows: number, cols: number, norms: number): void;
  similarity_tile(a: number, aRows: number, b: number, bRows: number, cols: number, out: number, ldOut: number): void;
  topk_tile(
    q: number, qRows: number, x: number, xRows: number, cols: number, k: number,
    qOffset: number, xOffset: number, excludeSelf: number, outIdx: number, outScores: number, qScale: number, xScale: number,
  ): void;
  kmeans_step(
    x: number, rows: number, cols: number, centroids: number, k: number, weights: number,
    labels: number, minDist2: number, sums: number, counts: number,
  ): number;
  gram(x: number, rows: number, cols: number, w: number, center: number, v: number, g: number, xty: number, sums: number): void;
  logistic_pass(
    x: number, rows: number, cols: number, y: number, s: number, beta: number, bias: number,
    hessian: number, z: number, out: number, scratch: number,
  ): void;
  cholesky_solve(g: number, n: number, b: number, nrhs: number): number;
  tiles_gemm(
    c: number, cRs: number, cCs: number, a: number, aRs: number, aCs: number, b: number, bRs: number, bCs: number,
    m: number, n: number, k: number, alpha: number, accumulate: number,
  ): void;
  matvec(x: number, rows: number, cols: number, w: number, bias: number, link: number, out: number): void;
  sparse_similarity_topk(
    aPtr: number, aIdx: number, aVal: number, bPtr: number, bIdx: number, bVal: number,
    row0: number, row1: number, rowNorms: number, colNorms: number, shrink: number, k: number, excludeSelf: number,
    acc: number, mark: number, list: number, outIdx: number, outScores: number,
  ): void;
  sparse_score_topn(
    aPtr: number, aIdx: number, aVal: number, mPtr: number, mIdx: number, mVal: number,
    seenPtr: number, seenIdx: number, allow: number, normalize: number, row0: number, row1: number, n: number,
    acc: number, den: number, mark: number, list: number, outIdx: number, outScores: number,
  ): void;

  multinomial_pass(
    x: number, rows: number, cols: number, k: number, y: number, s: number, theta: number, mode: number,
    out: number, scratch: number,
  ): void;

  als_solve(
    yty: number, y: number, k: number, ptr: number, idx: number, val: number, row0: number, row1: number, x: number,
    alpha: number, reg: number, regMode: number, solver: number, cgSteps: number, scratch: number,
  ): number;

  topk_excl_tile(
    q: number, qRows: number, x: number, xRows: number, cols: number, k: number,
    qOffset: number, xOffset: number, excludeSelf: number, exclPtr: number, exclIdx: number, outIdx: number, outScores: number,
    qScale: number, xScale: number,
  ): void;
}

// () -> v128 returning v128.const 0: validates only where WebAssembly SIMD is supported.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

export function wasmSimdSupported(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

function requestedBuild(init?: BackendInit): 'auto' | WasmBuild {
  if (init?.wasmBuild && init.wasmBuild !== 'auto') return init.wasmBuild;
  const raw = (process.env['QUIVER_WASM_BUILD'] ?? 'auto').trim().toLowerCase() || 'auto';
  if (raw === 'auto' || raw === 'simd' || raw === 'scalar') return raw;
  throw new QuiverError('INVALID_ARGUMENT', `QUIVER_WASM_BUILD must be auto, simd or scalar (got "${raw}")`);
}

export function chooseBuild(init?: BackendInit): WasmBuild {
  const want = requestedBuild(init);
  if (want === 'scalar') return 'scalar';
  const simd = wasmSimdSupported();
  if (want === 'simd' && !simd) {
    throw new QuiverError('BACKEND_UNAVAILABLE', 'the simd WASM build was requested but this runtime has no WebAssembly SIMD; use the scalar build (QUIVER_WASM_BUILD=scalar)');
  }
  return simd ? 'simd' : 'scalar';
}

const modules = new Map<WasmBuild, Promise<WebAssembly.Module>>();

/**
 * Compile the kernels with the optimising tier before their first call. V8 starts WebAssembly in its baseline
 * tier (Liftoff) and tiers a function up only between calls (there is no on-stack replacement for wasm), so a
 * single long kernel call, such as one top-k task over a large base, would otherwise run at baseline speed to
 * the end: measured 23.9 s instead of 4.3 s for W2 (10k × 100k, d = 128) on 2 threads. The flag is set
 * once per process (it applies to modules compiled afterwards) and the module is small, so compiling it
 * optimised costs a few milliseconds.
 */
let optimized = false;
function optimizeUpFront(): void {
  if (optimized || process.env['QUIVER_WASM_LIFTOFF'] === '1') return;
  optimized = true;
  setFlagsFromString('--no-liftoff');
}

export function compiledModule(build: WasmBuild): Promise<WebAssembly.Module> {
  let p = modules.get(build);
  if (!p) {
    p = (async () => {
      // Relative to this file, which lives in src/backends (tests) or dist/backends (the package).
      const url = new URL(`../../build/quiver.${build}.wasm`, import.meta.url);
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = new Uint8Array(await readFile(url));
      } catch (err) {
        throw new QuiverError('BACKEND_UNAVAILABLE', `the WASM kernels are not built (${url.pathname} is missing); run npm run build:wasm`, {
          cause: err instanceof Error ? err.message : String(err),
        });
      }
      optimizeUpFront();
      return WebAssembly.compile(bytes);
    })();
    modules.set(build, p);
    p.catch(() => modules.delete(build));
  }
  return p;
}
