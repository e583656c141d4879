/**
 * The WASM backend: the AssemblyScript kernels of assembly/ (build/quiver.simd.wasm or quiver.scalar.wasm)
 * over ONE shared WebAssembly.Memory per process.
 *
 * The main thread creates the memory and owns its allocator (`alloc`/`free`). Workers load the backend with
 * `init.memory` = that same memory, so a region allocated on the main thread is read in place by kernels in
 * every worker: the pointer handed to a kernel is simply the `byteOffset` of a view on this memory.
 * Arrays from elsewhere (tests, inline calls, the loader's self-check) are copied into temporary space around
 * the call: regions from the allocator on the main thread; in a worker, one of a few small copy slots (claimed
 * with Atomics for the duration of one call), so a large foreign array in a worker is a programming error.
 *
 * Layout of the first MiB, which regions never use:
 *   [0, 64 KiB)        the module's static data (the exp table of AssemblyScript's Math, rewritten with
 *                      identical bytes by each instantiation)
 *   [64 KiB, +56 B)    lock words of the worker copy slots
 *   [128 KiB, 1 MiB)   14 worker copy slots of 64 KiB
 * Regions start at 1 MiB, 64-byte aligned.
 */
import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { QuiverError, kernelError } from '../errors.js';
import { BYTES, viewOf } from './memory.js';
import type {
  Backend,
  BackendInfo,
  BackendInit,
  ElementKind,
  GramArgs,
  KmeansStepArgs,
  LogisticPassArgs,
  MatvecArgs,
  SharedRegion,
  SimilarityTileArgs,
  SparseScoreTopnArgs,
  SparseSimilarityTopkArgs,
  TopkTileArgs,
  ViewOf,
} from './types.js';
import { logisticLayout } from './types.js';

const PAGE_BYTES = 65536;
/** The module's static data must end below this (heap_base()). */
const STATIC_BYTES = 64 << 10;
const SLOT_LOCKS = 64 << 10;
const SLOT_BASE = 128 << 10;
const SLOT_BYTES = 64 << 10;
const SLOT_COUNT = 14;
/** Never handed out by the allocator: static data and worker copy slots. */
const RESERVED_BYTES = SLOT_BASE + SLOT_COUNT * SLOT_BYTES;
/** Must equal maximumMemory of assembly/asconfig.json: the module only accepts a memory with this maximum. */
const MAX_PAGES = 65536;
const INITIAL_PAGES = 64;
const ALIGN = 64;

export type WasmBuild = 'simd' | 'scalar';

/** The raw exports of assembly/index.ts: pointers are byte offsets, 0 means "no array". */
interface KernelExports {
  simd_build(): number;
  asc_version(): number;
  heap_base(): number;
  normalize_rows(x: number, rows: number, cols: number, out: number, norms: number): void;
  similarity_tile(a: number, aRows: number, b: number, bRows: number, cols: number, out: number, ldOut: number): void;
  topk_tile(
    q: number, qRows: number, x: number, xRows: number, cols: number, k: number,
    qOffset: number, xOffset: number, excludeSelf: number, outIdx: number, outScores: number,
  ): void;
  kmeans_step(
    x: number, rows: number, cols: number, centroids: number, k: number, weights: number,
    labels: number, minDist2: number, sums: number, counts: number,
  ): number;
  gram(x: number, rows: number, cols: number, w: number, center: number, v: number, g: number, xty: number): void;
  logistic_pass(
    x: number, rows: number, cols: number, y: number, s: number, beta: number, bias: number,
    hessian: number, z: number, out: number, scratch: number,
  ): void;
  cholesky_solve(g: number, n: number, b: number, nrhs: number): number;
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

function chooseBuild(init?: BackendInit): WasmBuild {
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

function compiledModule(build: WasmBuild): Promise<WebAssembly.Module> {
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

/**
 * First-fit allocator over [RESERVED_BYTES, memory end), 64-byte granules, growing the memory when no free
 * block fits. Main thread only: workers never allocate, they view what the main thread hands them.
 */
class RegionAllocator {
  /** Free blocks, sorted by start, never adjacent (coalesced on free). */
  private readonly freeList: { start: number; end: number }[] = [];
  /** Live regions: byteOffset -> bytes reserved. */
  private readonly live = new Map<number, number>();
  private top: number;
  /** End of the highest block ever handed out: memory above it is still zero from the grow. */
  private highWater = RESERVED_BYTES;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.top = memory.buffer.byteLength;
    if (this.top > RESERVED_BYTES) this.freeList.push({ start: RESERVED_BYTES, end: this.top });
  }

  /** Bytes currently handed out (for tests and diagnostics). */
  get liveBytes(): number {
    let n = 0;
    for (const b of this.live.values()) n += b;
    return n;
  }

  /** Byte offset of a new block of at least `bytes`, and how many of its first bytes may hold old data. */
  alloc(bytes: number): { at: number; dirty: number } {
    const need = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let at = this.take(need);
    if (at < 0) {
      this.grow(need);
      at = this.take(need);
    }
    if (at < 0) throw new QuiverError('INTERNAL', `wasm allocator: no block of ${need} bytes after growing the memory`);
    this.live.set(at, need);
    const dirty = Math.max(0, Math.min(need, this.highWater - at));
    this.highWater = Math.max(this.highWater, at + need);
    return { at, dirty };
  }

  free(byteOffset: number): void {
    const size = this.live.get(byteOffset);
    if (size === undefined) {
      throw new QuiverError('INTERNAL', `wasm free: no live region starts at byte ${byteOffset} (freed twice, or not from this backend's alloc)`);
    }
    this.live.delete(byteOffset);
    this.release(byteOffset, byteOffset + size);
  }

  private take(need: number): number {
    for (let i = 0; i < this.freeList.length; i++) {
      const b = this.freeList[i]!;
      if (b.end - b.start < need) continue;
      const at = b.start;
      b.start += need;
      if (b.start === b.end) this.freeList.splice(i, 1);
      return at;
    }
    return -1;
  }

  private release(start: number, end: number): void {
    const list = this.freeList;
    // Index of the first free block after the released range.
    let i = 0;
    while (i < list.length && list[i]!.start < start) i++;
    const prev = i > 0 ? list[i - 1] : undefined;
    const next = list[i];
    if (prev && prev.end === start) {
      prev.end = end;
      if (next && next.start === end) {
        prev.end = next.end;
        list.splice(i, 1);
      }
    } else if (next && next.start === end) {
      next.start = start;
    } else {
      list.splice(i, 0, { start, end });
    }
  }

  private grow(need: number): void {
    const last = this.freeList[this.freeList.length - 1];
    const tailFree = last && last.end === this.top ? last.end - last.start : 0;
    const missingPages = Math.ceil((need - tailFree) / PAGE_BYTES);
    const havePages = this.top / PAGE_BYTES;
    // Grow by half the current size at least, so a stream of allocations grows the memory O(log n) times.
    const pages = Math.min(MAX_PAGES - havePages, Math.max(missingPages, havePages >> 1));
    if (pages < missingPages) {
      throw new QuiverError('TOO_LARGE', `the WASM memory cannot hold ${need} more bytes (limit ${(MAX_PAGES * PAGE_BYTES) / 2 ** 30} GiB); process the data in smaller blocks or use the native backend`, {
        requestedBytes: need,
        liveBytes: this.liveBytes,
      });
    }
    try {
      this.memory.grow(pages);
    } catch (err) {
      throw new QuiverError('TOO_LARGE', `the WASM memory could not grow by ${pages * PAGE_BYTES} bytes: ${err instanceof Error ? err.message : String(err)}`, {
        requestedBytes: need,
      });
    }
    const oldTop = this.top;
    this.top = (havePages + pages) * PAGE_BYTES;
    this.release(oldTop, this.top);
  }
}

type AnyArray = Float32Array | Float64Array | Int32Array;
type ArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => AnyArray;

interface Staged {
  arr: AnyArray;
  at: number;
  count: number;
  out: boolean;
}

/** Arrays of one kernel call that live outside the shared memory, copied into temporary space. */
/** The array of a scratch staging entry: matches no argument, and nothing is copied to or from it. */
const NO_ARRAY = new Float64Array(0);

class Staging {
  readonly items: Staged[] = [];
  /** Worker copy slot held for this call (-1: none), and the bytes of it in use. */
  slot = -1;
  slotUsed = 0;
}

export class WasmBackend implements Backend {
  readonly info: BackendInfo;
  readonly init: BackendInit;
  private readonly k: KernelExports;
  private readonly memory: WebAssembly.Memory;
  private readonly allocator: RegionAllocator | null;
  /** Every SharedArrayBuffer obtained from memory.buffer here: a view on one of them is already in place. */
  private readonly ownBuffers = new WeakSet<ArrayBufferLike>();
  private buffer: SharedArrayBuffer;
  private readonly slotLocks: Int32Array;

  constructor(exports: KernelExports, memory: WebAssembly.Memory, build: WasmBuild, ownsAllocator: boolean) {
    this.k = exports;
    this.memory = memory;
    this.buffer = this.refreshBuffer();
    this.slotLocks = new Int32Array(this.buffer, SLOT_LOCKS, SLOT_COUNT);
    this.allocator = ownsAllocator ? new RegionAllocator(memory) : null;
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
    return this.allocator?.liveBytes ?? 0;
  }

  private refreshBuffer(): SharedArrayBuffer {
    const b = this.memory.buffer as unknown as SharedArrayBuffer;
    this.ownBuffers.add(b);
    this.buffer = b;
    return b;
  }

  /** This instance's view of the memory, re-read when another thread has grown it past `end`. */
  private bufferCovering(end: number): SharedArrayBuffer {
    if (this.buffer.byteLength >= end) return this.buffer;
    const b = this.refreshBuffer();
    if (b.byteLength < end) {
      throw new QuiverError('INTERNAL', `a WASM region ends at byte ${end}, past the shared memory (${b.byteLength} bytes): it was not allocated from this memory`);
    }
    return b;
  }

  alloc<K extends ElementKind>(kind: K, length: number, zero = true): SharedRegion & { kind: K } {
    if (!this.allocator) {
      throw new QuiverError('INTERNAL', 'wasm alloc is main-thread only: a worker views the regions the main thread sends it');
    }
    if (!Number.isInteger(length) || length < 0) {
      throw new QuiverError('INVALID_ARGUMENT', `a region length must be a non-negative integer (got ${length})`);
    }
    const bytes = length * BYTES[kind];
    const { at, dirty } = this.allocator.alloc(bytes);
    const buffer = this.bufferCovering(at + Math.max(bytes, ALIGN));
    // Fresh SharedArrayBuffers are zeroed in the other backends; reused memory must look the same.
    if (zero && dirty > 0) new Uint8Array(buffer, at, dirty).fill(0);
    return { buffer, byteOffset: at, length, kind };
  }

  free(region: SharedRegion): void {
    if (!this.allocator) {
      throw new QuiverError('INTERNAL', 'wasm free is main-thread only: the main thread owns every region');
    }
    this.allocator.free(region.byteOffset);
  }

  view<K extends ElementKind>(region: SharedRegion & { kind: K }): ViewOf<K> {
    const end = region.byteOffset + region.length * BYTES[region.kind];
    return viewOf(this.bufferCovering(end), region.byteOffset, region.kind, region.length);
  }

  /**
   * Byte offset of the first `count` elements of `arr` in the shared memory: its own byteOffset when it is a
   * view on this memory, otherwise a temporary copy (copied back after the call when `out`).
   */
  private ptr(arr: AnyArray | null | undefined, count: number, out: boolean, st: Staging): number {
    if (!arr) return 0;
    if (this.ownBuffers.has(arr.buffer)) return arr.byteOffset;
    for (const s of st.items) {
      // The same array twice (normalizeRows in place): one copy, so the kernel sees the aliasing.
      if (s.arr.buffer === arr.buffer && s.arr.byteOffset === arr.byteOffset && s.arr.BYTES_PER_ELEMENT === arr.BYTES_PER_ELEMENT) {
        if (count > s.count) {
          throw new QuiverError('INTERNAL', 'wasm staging: an aliased argument grew between uses');
        }
        s.out ||= out;
        return s.at;
      }
    }
    const n = Math.min(count, arr.length);
    const bytes = n * arr.BYTES_PER_ELEMENT;
    const at = this.allocator ? this.allocator.alloc(bytes).at : this.slotSpace(bytes, st);
    const dst = new (arr.constructor as ArrayCtor)(this.bufferCovering(at + bytes), at, n);
    // Outputs are copied in too: kernels that accumulate read them, and similarityTile leaves gaps untouched.
    dst.set(n === arr.length ? arr : arr.subarray(0, n));
    st.items.push({ arr, at, count: n, out });
    return at;
  }

  /**
   * Kernel scratch of `bytes` for this call only, its contents undefined (the kernel writes before it reads):
   * no JavaScript array is made and copied in for it. Released with the call's other staging.
   */
  private scratch(bytes: number, st: Staging): number {
    const at = this.allocator ? this.allocator.alloc(bytes).at : this.slotSpace(bytes, st);
    st.items.push({ arr: NO_ARRAY, at, count: 0, out: false });
    return at;
  }

  /** Temporary space in a worker: a copy slot held until the end of the call. */
  private slotSpace(bytes: number, st: Staging): number {
    if (st.slot < 0) {
      for (let i = 0; i < SLOT_COUNT && st.slot < 0; i++) {
        if (Atomics.compareExchange(this.slotLocks, i, 0, 1) === 0) st.slot = i;
      }
      if (st.slot < 0) {
        throw new QuiverError('INTERNAL', `a wasm kernel in a worker got arrays outside the shared memory and all ${SLOT_COUNT} copy slots are busy: pass views of regions from alloc()`);
      }
    }
    const need = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    if (st.slotUsed + need > SLOT_BYTES) {
      throw new QuiverError('INTERNAL', `a wasm kernel in a worker got arrays outside the shared memory (more than the ${SLOT_BYTES} bytes a worker can copy): pass views of regions from alloc()`);
    }
    const at = SLOT_BASE + st.slot * SLOT_BYTES + st.slotUsed;
    st.slotUsed += need;
    return at;
  }

  /** Copies staged outputs back and releases the temporary space, even when the kernel threw. */
  private finish(st: Staging): void {
    try {
      for (const s of st.items) {
        if (!s.out) continue;
        const src = new (s.arr.constructor as ArrayCtor)(this.bufferCovering(s.at + s.count * s.arr.BYTES_PER_ELEMENT), s.at, s.count);
        s.arr.set(src);
      }
    } finally {
      if (this.allocator) for (const s of st.items) this.allocator.free(s.at);
      if (st.slot >= 0) Atomics.store(this.slotLocks, st.slot, 0);
    }
  }

  normalizeRows(x: Float32Array, rows: number, cols: number, out: Float32Array, norms: Float32Array): void {
    const st = new Staging();
    try {
      const n = rows * cols;
      this.k.normalize_rows(this.ptr(x, n, false, st), rows, cols, this.ptr(out, n, true, st), this.ptr(norms, rows, true, st));
    } finally {
      this.finish(st);
    }
  }

  similarityTile({ a, aRows, b, bRows, cols, out, ldOut }: SimilarityTileArgs): void {
    if (aRows <= 0 || bRows <= 0) return;
    const st = new Staging();
    try {
      this.k.similarity_tile(
        this.ptr(a, aRows * cols, false, st),
        aRows,
        this.ptr(b, bRows * cols, false, st),
        bRows,
        cols,
        this.ptr(out, (aRows - 1) * ldOut + bRows, true, st),
        ldOut,
      );
    } finally {
      this.finish(st);
    }
  }

  topkTile({ q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, outIdx, outScores }: TopkTileArgs): void {
    if (qRows <= 0 || xRows <= 0 || k <= 0) return;
    const st = new Staging();
    try {
      this.k.topk_tile(
        this.ptr(q, qRows * cols, false, st),
        qRows,
        this.ptr(x, xRows * cols, false, st),
        xRows,
        cols,
        k,
        qOffset,
        xOffset,
        excludeSelf ? 1 : 0,
        this.ptr(outIdx, qRows * k, true, st),
        this.ptr(outScores, qRows * k, true, st),
      );
    } finally {
      this.finish(st);
    }
  }

  kmeansStep({ x, rows, cols, centroids, k, weights, labels, minDist2, sums, counts, changes }: KmeansStepArgs): number {
    if (rows <= 0) return minDist2 ? 0 : NaN;
    // The AssemblyScript kernel does not count label changes: they are counted against a copy taken first.
    const before = changes ? labels.slice(0, rows) : null;
    const st = new Staging();
    let inertia: number;
    try {
      inertia = this.k.kmeans_step(
        this.ptr(x, rows * cols, false, st),
        rows,
        cols,
        this.ptr(centroids, k * cols, false, st),
        k,
        this.ptr(weights, rows, false, st),
        this.ptr(labels, rows, true, st),
        // Without distances the kernel still needs its running-best scratch (it computes the exact distances
        // anyway; the caller gets NaN, as from the other backends).
        minDist2 ? this.ptr(minDist2, rows, true, st) : this.scratch(8 * rows, st),
        this.ptr(sums, k * cols, true, st),
        this.ptr(counts, k, true, st),
      );
    } finally {
      this.finish(st);
    }
    if (changes && before) {
      let changed = 0;
      for (let i = 0; i < rows; i++) if (labels[i] !== before[i]) changed++;
      changes[0] = changes[0]! + changed;
    }
    return minDist2 ? inertia : NaN;
  }

  gram({ x, rows, cols, w, center, v, g, xty }: GramArgs): void {
    if (rows <= 0 || cols <= 0) return;
    const st = new Staging();
    try {
      const withXty = v && xty;
      this.k.gram(
        this.ptr(x, rows * cols, false, st),
        rows,
        cols,
        this.ptr(w, rows, false, st),
        this.ptr(center, cols, false, st),
        withXty ? this.ptr(v, rows, false, st) : 0,
        this.ptr(g, cols * cols, true, st),
        withXty ? this.ptr(xty, cols, true, st) : 0,
      );
    } finally {
      this.finish(st);
    }
  }

  logisticPass({ x, rows, cols, y, s, beta, bias, hessian, z, out }: LogisticPassArgs): void {
    if (rows <= 0 || cols <= 0) return;
    const st = new Staging();
    try {
      this.k.logistic_pass(
        this.ptr(x, rows * cols, false, st),
        rows,
        cols,
        this.ptr(y, rows, false, st),
        this.ptr(s, rows, false, st),
        this.ptr(beta, cols, false, st),
        bias,
        hessian ? 1 : 0,
        this.ptr(z, rows, true, st),
        this.ptr(out, logisticLayout(cols).length, true, st),
        // The kernel's per-row weights (w, v), written before they are read.
        this.scratch(16 * rows, st),
      );
    } finally {
      this.finish(st);
    }
  }

  choleskySolve(g: Float64Array, n: number, b: Float64Array, nrhs: number): void {
    if (n <= 0) return;
    const st = new Staging();
    let pivot = -1;
    try {
      pivot = this.k.cholesky_solve(this.ptr(g, n * n, true, st), n, this.ptr(b, n * nrhs, true, st), nrhs);
    } finally {
      this.finish(st);
    }
    if (pivot >= 0) throw kernelError('NOT_POSITIVE_DEFINITE', { pivot });
  }

  matvec({ x, rows, cols, w, bias, link, out }: MatvecArgs): void {
    if (rows <= 0) return;
    const st = new Staging();
    try {
      this.k.matvec(this.ptr(x, rows * cols, false, st), rows, cols, this.ptr(w, cols, false, st), bias, link, this.ptr(out, rows, true, st));
    } finally {
      this.finish(st);
    }
  }

  sparseSimilarityTopk(a: SparseSimilarityTopkArgs): void {
    const { row0, row1, k, nCols } = a;
    if (row1 <= row0 || k <= 0) return;
    const st = new Staging();
    const rows = row1 - row0;
    try {
      // CSR inputs are read through their own row pointers: pass them whole.
      this.k.sparse_similarity_topk(
        this.ptr(a.aPtr, a.aPtr.length, false, st),
        this.ptr(a.aIdx, a.aIdx.length, false, st),
        this.ptr(a.aVal, a.aVal.length, false, st),
        this.ptr(a.bPtr, a.bPtr.length, false, st),
        this.ptr(a.bIdx, a.bIdx.length, false, st),
        this.ptr(a.bVal, a.bVal.length, false, st),
        row0,
        row1,
        this.ptr(a.rowNorms, a.rowNorms?.length ?? 0, false, st),
        this.ptr(a.colNorms, a.colNorms?.length ?? 0, false, st),
        a.shrink,
        k,
        a.excludeSelf ? 1 : 0,
        this.ptr(a.acc, nCols, true, st),
        this.ptr(a.mark, nCols, true, st),
        this.ptr(a.list, nCols, true, st),
        this.ptr(a.outIdx, rows * k, true, st),
        this.ptr(a.outScores, rows * k, true, st),
      );
    } finally {
      this.finish(st);
    }
  }

  sparseScoreTopn(a: SparseScoreTopnArgs): void {
    const { row0, row1, n, nCols, normalize } = a;
    if (row1 <= row0 || n <= 0) return;
    const st = new Staging();
    const rows = row1 - row0;
    const seen = a.seenPtr && a.seenIdx ? { ptr: a.seenPtr, idx: a.seenIdx } : null;
    try {
      this.k.sparse_score_topn(
        this.ptr(a.aPtr, a.aPtr.length, false, st),
        this.ptr(a.aIdx, a.aIdx.length, false, st),
        this.ptr(a.aVal, a.aVal.length, false, st),
        this.ptr(a.mPtr, a.mPtr.length, false, st),
        this.ptr(a.mIdx, a.mIdx.length, false, st),
        this.ptr(a.mVal, a.mVal.length, false, st),
        seen ? this.ptr(seen.ptr, seen.ptr.length, false, st) : 0,
        seen ? this.ptr(seen.idx, seen.idx.length, false, st) : 0,
        this.ptr(a.allow, nCols, false, st),
        normalize,
        row0,
        row1,
        n,
        this.ptr(a.acc, nCols, true, st),
        normalize !== 0 ? this.ptr(a.den, nCols, true, st) : 0,
        this.ptr(a.mark, nCols, true, st),
        this.ptr(a.list, nCols, true, st),
        this.ptr(a.outIdx, rows * n, true, st),
        this.ptr(a.outScores, rows * n, true, st),
      );
    } finally {
      this.finish(st);
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
