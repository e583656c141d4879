/** Region helpers shared by the backends whose regions are plain SharedArrayBuffers (native, js). */
import type { ElementKind, SharedRegion, ViewOf } from './types.js';

export const BYTES: Readonly<Record<ElementKind, number>> = { f32: 4, f64: 8, i32: 4 };

export function viewOf<K extends ElementKind>(buffer: ArrayBufferLike, byteOffset: number, kind: K, length: number): ViewOf<K> {
  switch (kind) {
    case 'f32':
      return new Float32Array(buffer, byteOffset, length) as ViewOf<K>;
    case 'f64':
      return new Float64Array(buffer, byteOffset, length) as ViewOf<K>;
    default:
      return new Int32Array(buffer, byteOffset, length) as ViewOf<K>;
  }
}

export function allocSab<K extends ElementKind>(kind: K, length: number): SharedRegion & { kind: K } {
  // Round up to 8 bytes so every region can hold an f64 view at offset 0.
  const bytes = Math.max(8, Math.ceil((length * BYTES[kind]) / 8) * 8);
  return { buffer: new SharedArrayBuffer(bytes), byteOffset: 0, length, kind };
}

export function viewSab<K extends ElementKind>(region: SharedRegion & { kind: K }): ViewOf<K> {
  return viewOf(region.buffer, region.byteOffset, region.kind, region.length);
}

/** Buffers at least this large are kept for reuse when freed (smaller ones are cheap to make). */
const RECYCLE_MIN_BYTES = 64 << 10;
/** Most bytes of freed buffers kept at once, per backend instance (or the last one freed, if larger). */
const RECYCLE_MAX_BYTES = 256 << 20;

/**
 * alloc/free/view of the backends whose regions are plain SharedArrayBuffers (native and js).
 *
 * Large freed buffers are kept (up to RECYCLE_MAX_BYTES, or the last one freed if larger; oldest dropped
 * first) and handed out again for a request of the same rounded size: a fresh SharedArrayBuffer costs a page
 * fault per 4 KiB on first write, about 15 ms for a 25 MB matrix, which dominated staging for repeated fits.
 * Reused memory is zeroed unless the caller overwrites it all (`zero` false).
 */
export abstract class SabRegions {
  readonly #spare: SharedArrayBuffer[] = [];
  #spareBytes = 0;
  /** Buffers this instance made (only those are recycled, never a caller's own). */
  readonly #mine = new WeakSet<SharedArrayBuffer>();

  alloc<K extends ElementKind>(kind: K, length: number, zero = true): SharedRegion & { kind: K } {
    const bytes = Math.max(8, Math.ceil((length * BYTES[kind]) / 8) * 8);
    if (bytes < RECYCLE_MIN_BYTES) return allocSab(kind, length);
    // Sizes rounded up to 64 KiB so that nearby requests (a matrix, then one row fewer) share buffers.
    const size = Math.ceil(bytes / 65536) * 65536;
    const i = this.#spare.findIndex((b) => b.byteLength === size);
    if (i >= 0) {
      const buffer = this.#spare.splice(i, 1)[0]!;
      this.#spareBytes -= size;
      if (zero) new Uint8Array(buffer, 0, bytes).fill(0);
      return { buffer, byteOffset: 0, length, kind };
    }
    const buffer = new SharedArrayBuffer(size);
    this.#mine.add(buffer);
    this.fresh(buffer);
    return { buffer, byteOffset: 0, length, kind };
  }

  /**
   * Called with every new recyclable buffer before anything has written to it (its pages are not yet faulted
   * in): the native backend asks for transparent huge pages there. Nothing by default.
   */
  protected fresh(_buffer: SharedArrayBuffer): void {}

  free(region: SharedRegion): void {
    const b = region.buffer;
    if (!(b instanceof SharedArrayBuffer) || !this.#mine.has(b) || this.#spare.includes(b)) return;
    this.#spare.push(b);
    this.#spareBytes += b.byteLength;
    // The buffer just freed is kept whatever its size (a matrix over the cap, staged by every fit of a loop,
    // would otherwise fault in fresh pages each time); older ones go first.
    while (this.#spareBytes > RECYCLE_MAX_BYTES && this.#spare.length > 1) this.#spareBytes -= this.#spare.shift()!.byteLength;
  }
  view<K extends ElementKind>(region: SharedRegion & { kind: K }): ViewOf<K> {
    return viewSab(region);
  }

  /** Any view on a SharedArrayBuffer is visible to every worker as it is. */
  regionOf<K extends ElementKind>(arr: ViewOf<K>, kind: K): (SharedRegion & { kind: K }) | null {
    if (!(arr.buffer instanceof SharedArrayBuffer)) return null;
    return { buffer: arr.buffer, byteOffset: arr.byteOffset, length: arr.length, kind };
  }
}
