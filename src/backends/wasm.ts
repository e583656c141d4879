/**
 * The WASM backend: the AssemblyScript kernels of assembly/ (build/quiver.simd.wasm or quiver.scalar.wasm)
 * over ONE shared WebAssembly.Memory per process.
 *
 * The main thread creates the memory and owns its allocator (`alloc`/`free`). Workers load the backend with
 * `init.memory` = that same memory, so a region allocated on the main thread is read in place by kernels in
 * every worker: the pointer handed to a kernel is simply the `byteOffset` of a view on this memory.
 * Arrays from elsewhere (tests, inline calls, the loader's self-check) are copied into temporary space around
 * the call (wasm-memory.ts), so a large foreign array in a worker is a programming error. The modules are
 * compiled in wasm-module.ts.
 */
import { QuiverError, kernelError } from '../errors.js';
import type {
  AlsSolveArgs,
  Backend,
  BackendInfo,
  BackendInit,
  ElementKind,
  GramArgs,
  KmeansStepArgs,
  LogisticPassArgs,
  MultinomialPassArgs,
  MatvecArgs,
  SharedRegion,
  SimilarityTileArgs,
  SparseScoreTopnArgs,
  SparseSimilarityTopkArgs,
  TopkTileArgs,
  TopkExclTileArgs,
  ViewOf,
} from './types.js';
import type { TileDiagArgs, TileGemmArgs } from './types.js';
import { mirrorStripJs, tileDiagJs, tileGemmJs } from './js-tiles.js';
import { alsScratchLength, logisticLayout, multinomialModeLength } from './types.js';
import { INITIAL_PAGES, MAX_PAGES, RESERVED_BYTES, STATIC_BYTES, Staging, WasmMemory } from './wasm-memory.js';
import { chooseBuild, compiledModule, type KernelExports, type WasmBuild } from './wasm-module.js';

/** Rows per kmeans_step call when the caller wants no distances: its scratch (32 KiB) fits a worker's copy slot. */
const DIST_CHUNK_ROWS = 4096;

export { wasmSimdSupported, type WasmBuild } from './wasm-module.js';

export class WasmBackend implements Backend {
  readonly info: BackendInfo;
  readonly init: BackendInit;
  private readonly k: KernelExports;
  private readonly mem: WasmMemory;

  constructor(exports: KernelExports, memory: WebAssembly.Memory, build: WasmBuild, ownsAllocator: boolean) {
    this.k = exports;
    this.mem = new WasmMemory(memory, ownsAllocator);
    const v = exports.asc_version();
    this.info = {
      name: 'wasm',
      simd: build === 'simd' ? 'simd128' : 'scalar',
      versions: {
        assemblyscript: `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`,
        wasmBuild: build,
        node: process.versions.node,
      },
    };
    this.init = { name: 'wasm', memory, wasmBuild: build };
  }

  /** Bytes held by live regions (main thread only; 0 in a worker). */
  get liveBytes(): number {
    return this.mem.liveBytes;
  }

  alloc<K extends ElementKind>(kind: K, length: number, zero = true): SharedRegion & { kind: K } {
    return this.mem.alloc(kind, length, zero);
  }

  free(region: SharedRegion): void {
    this.mem.free(region);
  }

  view<K extends ElementKind>(region: SharedRegion & { kind: K }): ViewOf<K> {
    return this.mem.view(region);
  }

  /** Only views on this backend's own memory are in place; any other array is copied in per call. */
  regionOf<K extends ElementKind>(arr: ViewOf<K>, kind: K): (SharedRegion & { kind: K }) | null {
    if (!this.mem.holds(arr)) return null;
    return { buffer: arr.buffer as SharedArrayBuffer, byteOffset: arr.byteOffset, length: arr.length, kind };
  }

  normalizeRows(x: Float32Array, rows: number, cols: number, out: Float32Array, norms: Float32Array): void {
    const m = this.mem;
    const st = new Staging();
    try {
      const n = rows * cols;
      this.k.normalize_rows(m.ptr(x, n, false, st), rows, cols, m.ptr(out, n, true, st), m.ptr(norms, rows, true, st));
    } finally {
      m.finish(st);
    }
  }

  rowNorms(x: Float32Array, rows: number, cols: number, norms: Float32Array): void {
    const m = this.mem;
    const st = new Staging();
    try {
      this.k.row_norms(m.ptr(x, rows * cols, false, st), rows, cols, m.ptr(norms, rows, true, st));
    } finally {
      m.finish(st);
    }
  }

  similarityTile({ a, aRows, b, bRows, cols, out, ldOut }: SimilarityTileArgs): void {
    const m = this.mem;
    if (aRows <= 0 || bRows <= 0) return;
    const st = new Staging();
    try {
      this.k.similarity_tile(
        m.ptr(a, aRows * cols, false, st),
        aRows,
        m.ptr(b, bRows * cols, false, st),
        bRows,
        cols,
        m.ptr(out, (aRows - 1) * ldOut + bRows, true, st),
        ldOut,
      );
    } finally {
      m.finish(st);
    }
  }

  topkTile({ q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, qScale, xScale, outIdx, outScores }: TopkTileArgs): void {
    const m = this.mem;
    if (qRows <= 0 || xRows <= 0 || k <= 0) return;
    const st = new Staging();
    try {
      this.k.topk_tile(
        m.ptr(q, qRows * cols, false, st),
        qRows,
        m.ptr(x, xRows * cols, false, st),
        xRows,
        cols,
        k,
        qOffset,
        xOffset,
        excludeSelf ? 1 : 0,
        m.ptr(outIdx, qRows * k, true, st),
        m.ptr(outScores, qRows * k, true, st),
        // Both scales or neither (the kernel tests only the first).
        qScale && xScale ? m.ptr(qScale, qRows, false, st) : 0,
        qScale && xScale ? m.ptr(xScale, xRows, false, st) : 0,
      );
    } finally {
      m.finish(st);
    }
  }

  kmeansStep({ x, rows, cols, centroids, k, weights, labels, minDist2, sums, counts, changes }: KmeansStepArgs): number {
    const m = this.mem;
    if (rows <= 0) return minDist2 ? 0 : NaN;
    // The AssemblyScript kernel does not count label changes: they are counted against a copy taken first.
    const before = changes ? labels.slice(0, rows) : null;
    let inertia = 0;
    // Without distances the kernel still needs its running-best scratch (it computes the exact distances anyway;
    // the caller gets NaN, as from the other backends). That scratch is taken per chunk of DIST_CHUNK_ROWS rows,
    // so in a worker it always fits the thread's copy slot, whatever the block size.
    const chunk = minDist2 ? rows : DIST_CHUNK_ROWS;
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const r1 = Math.min(rows, r0 + chunk);
      const n = r1 - r0;
      const st = new Staging();
      try {
        inertia += this.k.kmeans_step(
          m.ptr(x.subarray(r0 * cols, r1 * cols), n * cols, false, st),
          n,
          cols,
          m.ptr(centroids, k * cols, false, st),
          k,
          m.ptr(weights ? weights.subarray(r0, r1) : weights, n, false, st),
          m.ptr(labels.subarray(r0, r1), n, true, st),
          minDist2 ? m.ptr(minDist2, rows, true, st) : m.scratch(8 * n, st),
          m.ptr(sums, k * cols, true, st),
          m.ptr(counts, k, true, st),
        );
      } finally {
        m.finish(st);
      }
    }
    if (changes && before) {
      let changed = 0;
      for (let i = 0; i < rows; i++) if (labels[i] !== before[i]) changed++;
      changes[0] = changes[0]! + changed;
    }
    return minDist2 ? inertia : NaN;
  }

  // `accumulate` is not honoured: this backend sums in f64 in every mode (see README, Gram accumulation).
  gram({ x, rows, cols, w, center, v, g, xty, sums }: GramArgs): void {
    const m = this.mem;
    if (rows <= 0 || cols <= 0) return;
    const st = new Staging();
    try {
      const withXty = v && xty;
      this.k.gram(
        m.ptr(x, rows * cols, false, st),
        rows,
        cols,
        m.ptr(w, rows, false, st),
        m.ptr(center, cols, false, st),
        withXty ? m.ptr(v, rows, false, st) : 0,
        m.ptr(g, cols * cols, true, st),
        withXty ? m.ptr(xty, cols, true, st) : 0,
        m.ptr(sums, cols, true, st),
      );
    } finally {
      m.finish(st);
    }
  }

  logisticPass({ x, rows, cols, y, s, beta, bias, hessian, z, out }: LogisticPassArgs): void {
    const m = this.mem;
    if (rows <= 0 || cols <= 0) return;
    const st = new Staging();
    try {
      this.k.logistic_pass(
        m.ptr(x, rows * cols, false, st),
        rows,
        cols,
        m.ptr(y, rows, false, st),
        m.ptr(s, rows, false, st),
        m.ptr(beta, cols, false, st),
        bias,
        hessian ? 1 : 0,
        m.ptr(z, rows, true, st),
        m.ptr(out, logisticLayout(cols).length, true, st),
        // The kernel's per-row weights (w, v), written before they are read.
        m.scratch(16 * rows, st),
      );
    } finally {
      m.finish(st);
    }
  }

  choleskySolve(g: Float64Array, n: number, b: Float64Array, nrhs: number): void {
    const m = this.mem;
    if (n <= 0) return;
    const st = new Staging();
    let pivot = -1;
    try {
      pivot = this.k.cholesky_solve(m.ptr(g, n * n, true, st), n, m.ptr(b, n * nrhs, true, st), nrhs);
    } finally {
      m.finish(st);
    }
    if (pivot >= 0) throw kernelError('NOT_POSITIVE_DEFINITE', { pivot });
  }

  matvec({ x, rows, cols, w, bias, link, out }: MatvecArgs): void {
    const m = this.mem;
    if (rows <= 0) return;
    const st = new Staging();
    try {
      this.k.matvec(m.ptr(x, rows * cols, false, st), rows, cols, m.ptr(w, cols, false, st), bias, link, m.ptr(out, rows, true, st));
    } finally {
      m.finish(st);
    }
  }

  sparseSimilarityTopk(a: SparseSimilarityTopkArgs): void {
    const m = this.mem;
    const { row0, row1, k, nCols } = a;
    if (row1 <= row0 || k <= 0) return;
    const st = new Staging();
    const rows = row1 - row0;
    try {
      // CSR inputs are read through their own row pointers: pass them whole.
      this.k.sparse_similarity_topk(
        m.ptr(a.aPtr, a.aPtr.length, false, st),
        m.ptr(a.aIdx, a.aIdx.length, false, st),
        m.ptr(a.aVal, a.aVal.length, false, st),
        m.ptr(a.bPtr, a.bPtr.length, false, st),
        m.ptr(a.bIdx, a.bIdx.length, false, st),
        m.ptr(a.bVal, a.bVal.length, false, st),
        row0,
        row1,
        m.ptr(a.rowNorms, a.rowNorms?.length ?? 0, false, st),
        m.ptr(a.colNorms, a.colNorms?.length ?? 0, false, st),
        a.shrink,
        k,
        a.excludeSelf ? 1 : 0,
        m.ptr(a.acc, nCols, true, st),
        m.ptr(a.mark, nCols, true, st),
        m.ptr(a.list, nCols, true, st),
        m.ptr(a.outIdx, rows * k, true, st),
        m.ptr(a.outScores, rows * k, true, st),
      );
    } finally {
      m.finish(st);
    }
  }

  sparseScoreTopn(a: SparseScoreTopnArgs): void {
    const m = this.mem;
    const { row0, row1, n, nCols, normalize } = a;
    if (row1 <= row0 || n <= 0) return;
    const st = new Staging();
    const rows = row1 - row0;
    const seen = a.seenPtr && a.seenIdx ? { ptr: a.seenPtr, idx: a.seenIdx } : null;
    try {
      this.k.sparse_score_topn(
        m.ptr(a.aPtr, a.aPtr.length, false, st),
        m.ptr(a.aIdx, a.aIdx.length, false, st),
        m.ptr(a.aVal, a.aVal.length, false, st),
        m.ptr(a.mPtr, a.mPtr.length, false, st),
        m.ptr(a.mIdx, a.mIdx.length, false, st),
        m.ptr(a.mVal, a.mVal.length, false, st),
        seen ? m.ptr(seen.ptr, seen.ptr.length, false, st) : 0,
        seen ? m.ptr(seen.idx, seen.idx.length, false, st) : 0,
        m.ptr(a.allow, nCols, false, st),
        normalize,
        row0,
        row1,
        n,
        m.ptr(a.acc, nCols, true, st),
        normalize !== 0 ? m.ptr(a.den, nCols, true, st) : 0,
        m.ptr(a.mark, nCols, true, st),
        m.ptr(a.list, nCols, true, st),
        m.ptr(a.outIdx, rows * n, true, st),
        m.ptr(a.outScores, rows * n, true, st),
      );
    } finally {
      m.finish(st);
    }
  }

  multinomialPass({ x, rows, cols, k, y, s, theta, mode, out }: MultinomialPassArgs): void {
    const m = this.mem;
    if (rows <= 0 || cols <= 0) return;
    const st = new Staging();
    try {
      this.k.multinomial_pass(
        m.ptr(x, rows * cols, false, st),
        rows,
        cols,
        k,
        m.ptr(y, rows, false, st),
        m.ptr(s, rows, false, st),
        m.ptr(theta, k * cols, false, st),
        mode,
        m.ptr(out, multinomialModeLength(mode, k, cols), true, st),
        // The chunk's probabilities and one pair's weights, written before they are read.
        m.scratch(8 * 256 * (k + 1), st),
      );
    } finally {
      m.finish(st);
    }
  }

  tileGemm(g: TileGemmArgs): void {
    if (g.m === 0 || g.n === 0) return;
    const m = this.mem;
    const st = new Staging();
    try {
      // Whole arrays are passed (views of this memory need no copy; one array passed thrice is staged once).
      const c = m.ptr(g.c, g.c.length, true, st) + g.cOff * 8;
      const a = m.ptr(g.a, g.a.length, false, st) + g.aOff * 8;
      const b = m.ptr(g.b, g.b.length, false, st) + g.bOff * 8;
      this.k.tiles_gemm(c, g.cRs, g.cCs, a, g.aRs, g.aCs, b, g.bRs, g.bCs, g.m, g.n, g.k, g.alpha, g.accumulate ? 1 : 0);
    } finally {
      m.finish(st);
    }
  }

  alsSolve(a: AlsSolveArgs): number {
    const m = this.mem;
    const { k, row0, row1 } = a;
    if (row1 <= row0 || k <= 0) return -1;
    const st = new Staging();
    try {
      return this.k.als_solve(
        m.ptr(a.yty, k * k, false, st),
        m.ptr(a.y, a.nOther * k, false, st),
        k,
        m.ptr(a.ptr, a.ptr.length, false, st),
        m.ptr(a.idx, a.idx.length, false, st),
        m.ptr(a.val, a.val.length, false, st),
        row0,
        row1,
        m.ptr(a.x, row1 * k, true, st),
        a.alpha,
        a.reg,
        a.regMode,
        a.solver,
        a.cgSteps,
        m.ptr(a.scratch, alsScratchLength(k), true, st),
      );
    } finally {
      m.finish(st);
    }
  }

  /** The diagonal-tile operations are O(n·nb²) of the inverse's O(n³): the js loops serve every backend. */
  tileDiag(args: TileDiagArgs): number {
    return tileDiagJs(args);
  }

  mirrorStrip(out: Float32Array, n: number, row0: number, row1: number): void {
    mirrorStripJs(out, n, row0, row1);
  }

  /** The f32 solve is an option for memory, not speed: the js loops (f64 sums) on views of this memory. */
  tileGemmF32(args: TileGemmArgs<Float32Array>): void {
    tileGemmJs(args);
  }

  topkExclTile({ q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, qScale, xScale, exclPtr, exclIdx, outIdx, outScores }: TopkExclTileArgs): void {
    const m = this.mem;
    if (qRows <= 0 || xRows <= 0 || k <= 0) return;
    const st = new Staging();
    try {
      // The row pointers index exclIdx directly: pass both whole.
      this.k.topk_excl_tile(
        m.ptr(q, qRows * cols, false, st),
        qRows,
        m.ptr(x, xRows * cols, false, st),
        xRows,
        cols,
        k,
        qOffset,
        xOffset,
        excludeSelf ? 1 : 0,
        m.ptr(exclPtr, qRows + 1, false, st),
        m.ptr(exclIdx, exclIdx.length, false, st),
        m.ptr(outIdx, qRows * k, true, st),
        m.ptr(outScores, qRows * k, true, st),
        // Both scales or neither (the kernel tests only the first).
        qScale && xScale ? m.ptr(qScale, qRows, false, st) : 0,
        qScale && xScale ? m.ptr(xScale, xRows, false, st) : 0,
      );
    } finally {
      m.finish(st);
    }
  }
}

/**
 * Loads the WASM backend. Without `init.memory` (the main thread) it creates the process's shared memory and
 * owns its allocator; with it (a worker, given the main thread's `backend.init`) it imports that memory.
 * The build is the one `init.wasmBuild` names, else QUIVER_WASM_BUILD, else simd where SIMD validates.
 */
export async function loadWasmBackend(init?: BackendInit): Promise<Backend> {
  const build = chooseBuild(init);
  const module = await compiledModule(build);
  let memory: WebAssembly.Memory;
  const owns = init?.memory === undefined;
  if (init?.memory !== undefined) {
    memory = init.memory;
    const buf: unknown = memory instanceof WebAssembly.Memory ? memory.buffer : undefined;
    if (!(buf instanceof SharedArrayBuffer) || buf.byteLength < RESERVED_BYTES) {
      throw new QuiverError('INVALID_ARGUMENT', 'init.memory must be the shared WebAssembly.Memory of the main thread\'s wasm backend (backend.init)');
    }
  } else {
    memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  }
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory } });
  } catch (err) {
    throw new QuiverError('BACKEND_UNAVAILABLE', `the ${build} WASM module does not instantiate: ${err instanceof Error ? err.message : String(err)}`);
  }
  const exports = instance.exports as unknown as KernelExports;
  if (exports.simd_build() !== (build === 'simd' ? 1 : 0)) {
    throw new QuiverError('BACKEND_UNAVAILABLE', `build/quiver.${build}.wasm reports the other instruction set; rebuild with npm run build:wasm`);
  }
  if (exports.heap_base() > STATIC_BYTES) {
    throw new QuiverError('INTERNAL', `the WASM module's static data ends at byte ${exports.heap_base()}, above the ${STATIC_BYTES} bytes reserved for it`);
  }
  return new WasmBackend(exports, memory, build, owns);
}
