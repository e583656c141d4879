/**
 * The one shared WebAssembly.Memory of the wasm backend, as the kernels see it: the region allocator (main
 * thread only), views of regions, and the staging of arrays that live outside the memory (copied into
 * temporary space around one kernel call: regions from the allocator on the main thread; in a worker, one of a
 * few small copy slots claimed with Atomics for the duration of the call).
 *
 * Layout of the first MiB, which regions never use:
 *   [0, 64 KiB)        the module's static data (the exp table of AssemblyScript's Math, rewritten with
 *                      identical bytes by each instantiation)
 *   [64 KiB, +56 B)    lock words of the worker copy slots
 *   [128 KiB, 1 MiB)   14 worker copy slots of 64 KiB
 * Regions start at 1 MiB, 64-byte aligned.
 */
import { QuiverError } from '../errors.js';
import { BYTES, viewOf } from './memory.js';
import type { ElementKind, SharedRegion, ViewOf } from './types.js';

const PAGE_BYTES = 65536;
/** The module's static data must end below this (heap_base()). */
export const STATIC_BYTES = 64 << 10;
const SLOT_LOCKS = 64 << 10;
const SLOT_BASE = 128 << 10;
const SLOT_BYTES = 64 << 10;
const SLOT_COUNT = 14;
/** Never handed out by the allocator: static data and worker copy slots. */
export const RESERVED_BYTES = SLOT_BASE + SLOT_COUNT * SLOT_BYTES;
/** Must equal maximumMemory of assembly/asconfig.json: the module only accepts a memory with this maximum. */
export const MAX_PAGES = 65536;
export const INITIAL_PAGES = 64;
const ALIGN = 64;

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

export type AnyArray = Float32Array | Float64Array | Int32Array;
type ArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => AnyArray;

interface Staged {
  arr: AnyArray;
  at: number;
  count: number;
  out: boolean;
}

/** The array of a scratch staging entry: matches no argument, and nothing is copied to or from it. */
const NO_ARRAY = new Float64Array(0);

/** Arrays of one kernel call that live outside the shared memory, copied into temporary space. */
export class Staging {
  readonly items: Staged[] = [];
  /** Worker copy slot held for this call (-1: none), and the bytes of it in use. */
  slot = -1;
  slotUsed = 0;
}

/** The shared memory seen from one thread: its allocator when it is the main thread's, and the call staging. */
export class WasmMemory {
  readonly memory: WebAssembly.Memory;
  private readonly allocator: RegionAllocator | null;
  /** Every SharedArrayBuffer obtained from memory.buffer here: a view on one of them is already in place. */
  private readonly ownBuffers = new WeakSet<ArrayBufferLike>();
  private buffer: SharedArrayBuffer;
  private readonly slotLocks: Int32Array;

  constructor(memory: WebAssembly.Memory, ownsAllocator: boolean) {
    this.memory = memory;
    this.buffer = this.refreshBuffer();
    this.slotLocks = new Int32Array(this.buffer, SLOT_LOCKS, SLOT_COUNT);
    this.allocator = ownsAllocator ? new RegionAllocator(memory) : null;
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
  bufferCovering(end: number): SharedArrayBuffer {
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

  /** Whether `arr` is a view on this memory (so kernels in every thread read it at its byteOffset). */
  holds(arr: AnyArray): boolean {
    return this.ownBuffers.has(arr.buffer) || arr.buffer === this.memory.buffer;
  }

  /**
   * Byte offset of the first `count` elements of `arr` in the shared memory: its own byteOffset when it is a
   * view on this memory, otherwise a temporary copy (copied back after the call when `out`).
   */
  ptr(arr: AnyArray | null | undefined, count: number, out: boolean, st: Staging): number {
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
  scratch(bytes: number, st: Staging): number {
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
  finish(st: Staging): void {
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
}
