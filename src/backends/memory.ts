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

/** alloc/free/view of the backends whose regions are plain SharedArrayBuffers (native and js). */
export abstract class SabRegions {
  alloc<K extends ElementKind>(kind: K, length: number): SharedRegion & { kind: K } {
    return allocSab(kind, length);
  }
  free(_region: SharedRegion): void {
    // Regions are SharedArrayBuffers: the garbage collector frees them.
  }
  view<K extends ElementKind>(region: SharedRegion & { kind: K }): ViewOf<K> {
    return viewSab(region);
  }
}
