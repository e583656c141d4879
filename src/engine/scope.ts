/**
 * Engine memory: the staged inputs a caller holds across calls, the matrices the engine allocates for a
 * caller to fill (`AllocatedMatrix`), and the `Scope` of one call, which owns the shared regions the call
 * allocates and gives them all back when the call ends (see `Scheduler.job`). Inputs the workers can already
 * read (engine memory, SharedArrayBuffer views on native and js) are used in place; only the others are copied,
 * and every such copy is counted in `CopyStats`. Results leave a scope as ordinary typed arrays the caller owns
 * (`take`, `deliver`).
 */
import type { Backend, ElementKind, SharedRegion, ViewOf } from '../backends/types.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { checkFinite, checkMatrix, firstNonFiniteF32 } from './validate.js';

/** A shared region of one element kind: what task messages carry instead of arrays (no copy). */
export type Region<K extends ElementKind> = SharedRegion & { kind: K };
export type F32 = Region<'f32'>;
export type F64 = Region<'f64'>;
export type I32 = Region<'i32'>;

/** What staged memory needs of its engine: the backend that allocated it, to give it back. */
export interface RegionOwner {
  readonly backend: Backend;
}

/**
 * A shared region the caller holds for many calls and gives back with `release()` (idempotent). A borrowed
 * one (`owned` false) is memory the caller owns, used in place: `release()` only ends this handle.
 */
abstract class Staged {
  #released = false;
  constructor(
    readonly region: SharedRegion,
    private readonly owner: RegionOwner,
    readonly owned = true,
  ) {}
  get released(): boolean {
    return this.#released;
  }
  /** Whether this memory is `backend`'s own (a region means nothing to another backend's kernels). */
  isOf(backend: Backend): boolean {
    return this.owner.backend === backend;
  }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.owned) this.owner.backend.free(this.region);
  }
}

/**
 * A matrix the engine has checked once and reads in place, so iterative algorithms neither copy nor check it
 * per call: a copy in a shared region (`owned`), or the caller's own shared memory (borrowed, see `Engine.stage`).
 */
export class StagedMatrix extends Staged {
  constructor(
    readonly rows: number,
    readonly cols: number,
    override readonly region: F32,
    owner: RegionOwner,
    owned = true,
    /** The engine memory a borrowed handle reads (released with it: the handle is then released too). */
    private readonly source: { readonly released: boolean } | null = null,
  ) {
    super(region, owner, owned);
  }
  override get released(): boolean {
    return super.released || (this.source?.released ?? false);
  }
}

/**
 * A matrix in engine memory that the caller fills (`Engine.allocMatrix`, or a loader's `into` option): a
 * `Matrix` like any other, which every call reads in place, without a copy. Its values are the caller's, so
 * they are checked (NaN, ±Infinity) where a plain matrix's would be. `release()` gives the memory back; the
 * matrix must not be used afterwards.
 */
export class AllocatedMatrix extends Staged implements Matrix {
  constructor(
    readonly rows: number,
    readonly cols: number,
    override readonly region: F32,
    /** The values (a view of the region; valid until `release()`). */
    readonly data: Float32Array,
    owner: RegionOwner,
  ) {
    super(region, owner);
  }
}

/** Inputs copied into engine memory because the workers could not read them where they were. */
export interface CopyStats {
  /** Input matrices copied (by `stage` or by a call given a plain, non-shared matrix). */
  count: number;
  bytes: number;
}

/**
 * The region a matrix's values already occupy when the workers can read them there (this engine's memory,
 * or a SharedArrayBuffer on native and js), else null. A released AllocatedMatrix is refused: its memory may
 * already hold another call's data.
 */
export function inPlaceRegion(backend: Backend, m: Matrix, name: string): F32 | null {
  if (m instanceof AllocatedMatrix) {
    if (m.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; allocate it again`);
    if (m.isOf(backend)) return m.region;
    // Another engine's memory: in place only if this backend can read its array as it is.
  }
  return backend.regionOf(m.data, 'f32');
}

/**
 * The region a call reads a matrix through without copying it: engine or shared memory (`inPlaceRegion`), else,
 * when `borrow` allows, the caller's plain array through its address (`Backend.borrow`); null: copy it.
 */
export function readInPlace(backend: Backend, m: Matrix, name: string, borrow: boolean): F32 | null {
  return inPlaceRegion(backend, m, name) ?? (borrow ? (backend.borrow?.(m.data) ?? null) : null);
}

/**
 * Throws NON_FINITE naming the first NaN or ±Infinity of a matrix read in place (nothing copies it, so no copy
 * can carry the check): the backend's own scan where it has one (native: multi-threaded), then the JavaScript
 * scan, which names the cell; the JavaScript scan alone elsewhere.
 */
export function checkInPlace(backend: Backend, data: Float32Array, name: string, cols: number, threads: number): void {
  if (backend.scanFinite && backend.scanFinite(data, threads) < 0) return;
  checkFinite(data, name, cols);
}

export type MatrixInput = Matrix | StagedMatrix;

/** An f64 vector copied once into a shared region (see `Engine.stageVector`); `release()` when done. */
export class StagedVector extends Staged {
  constructor(
    readonly length: number,
    override readonly region: F64,
    /** Smallest and largest value, recorded when staged (for range checks without another pass). */
    readonly min: number,
    readonly max: number,
    owner: RegionOwner,
  ) {
    super(region, owner);
  }
}

export type VectorInput = Float32Array | Float64Array | StagedVector;

/**
 * An f64 buffer in engine memory that a caller keeps across calls (see `Engine.allocVector`), for example as a
 * kernel's output: written in place where the backend allows, and recycled with `release()`, so a loop does
 * not fault in fresh pages on every call.
 */
export class AllocatedVector extends Staged {
  constructor(
    readonly length: number,
    override readonly region: F64,
    /** The buffer's values (a view of the region; valid until `release()`). */
    readonly data: Float64Array,
    owner: RegionOwner,
  ) {
    super(region, owner);
  }
}

/** `AllocatedVector` in f32 (see `Engine.allocVectorF32`): the f32 EASE solve's matrix. */
export class AllocatedVectorF32 extends Staged {
  constructor(
    readonly length: number,
    override readonly region: F32,
    readonly data: Float32Array,
    owner: RegionOwner,
  ) {
    super(region, owner);
  }
}

/** A dense input as a region, with its shape. */
export interface DenseRegion {
  region: F32;
  rows: number;
  cols: number;
  /** The region is this call's own copy (so the call may overwrite it), not the caller's memory. */
  copied?: boolean;
}

/**
 * Copies a caller's matrix values into a fresh region of `backend` and, with `check`, checks them in the same
 * pass (a NaN or ±Infinity frees the region and throws NON_FINITE naming it). The copy runs on the calling
 * thread (the workers cannot read an ordinary ArrayBuffer), with up to `threads` threads where the backend
 * has a native copy: a 256 MB matrix took 20–25 ms with one `TypedArray.set` on the Zen 4 machine of issue 14.
 */
export function copyChecked(backend: Backend, data: Float32Array, name: string, cols: number, check: boolean, threads: number): F32 {
  const r = backend.alloc('f32', Math.max(1, data.length), false);
  const dst = backend.view(r).subarray(0, data.length);
  let bad = -1;
  if (backend.copyIn) bad = backend.copyIn(data, dst, check, threads);
  else {
    if (check) bad = firstNonFiniteF32(data);
    if (bad < 0) dst.set(data);
  }
  if (bad >= 0) {
    backend.free(r);
    // The error path only: the JavaScript check finds the same first value and names its row and column.
    checkFinite(data, name, cols);
    throw new QuiverError('INTERNAL', `${name}: the copy found a non-finite value at index ${bad} that the check did not`);
  }
  return r;
}

/** The regions of one call: everything allocated here is freed by `release()` unless handed over by `take`. */
export class Scope {
  readonly #regions: SharedRegion[] = [];

  constructor(
    readonly backend: Backend,
    private readonly copies: CopyStats = { count: 0, bytes: 0 },
    /** Threads a copy on the calling thread may use (the engine's pool size). */
    private readonly threads = 1,
    /**
     * Whether `input` may borrow a caller's plain array instead of copying it (`Backend.borrow`): only for a
     * job whose tasks all end before it does and that cannot be aborted (see `Scheduler.job`).
     */
    private readonly borrow = false,
  ) {}

  /** A job region, zero-filled (the accumulating kernels' outputs start from it) unless `zero` is false. */
  alloc<K extends ElementKind>(kind: K, length: number, zero = true): Region<K> {
    const r = this.backend.alloc(kind, Math.max(1, length), zero) as Region<K>;
    this.#regions.push(r);
    return r;
  }

  view<K extends ElementKind>(r: Region<K>): ViewOf<K> {
    return this.backend.view(r);
  }

  /**
   * `values` as a region the workers read: the array itself when it is of `kind` and already readable there (a
   * SharedArrayBuffer view on native and js, such as `Engine.allocVector`'s; the WebAssembly memory on wasm),
   * else a copy. For inputs only: a kernel must not write the region.
   */
  vectorIn<K extends ElementKind>(kind: K, values: ArrayLike<number>): Region<K> {
    const typed = kind === 'f64' ? values instanceof Float64Array : kind === 'f32' ? values instanceof Float32Array : values instanceof Int32Array;
    const inPlace = typed ? this.backend.regionOf(values as ViewOf<K>, kind) : null;
    return (inPlace as Region<K> | null) ?? this.copy(kind, values);
  }

  /** A job region holding a copy of `values`. */
  copy<K extends ElementKind>(kind: K, values: ArrayLike<number>): Region<K> {
    const r = this.alloc(kind, values.length, false);
    (this.view(r) as ViewOf<K>).set(values);
    return r;
  }

  /**
   * Input as a region: staged inputs are used as they are; others are checked (unless the caller already did),
   * then read in place when the workers can (see `inPlaceRegion`), else copied into a job region.
   */
  input(m: MatrixInput, name: string, checked = false): DenseRegion {
    if (m instanceof StagedMatrix) {
      if (m.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; stage it again`);
      return { region: m.region, rows: m.rows, cols: m.cols };
    }
    if (!checked) checkMatrix(m, name, false);
    // Read in place (shared, or borrowed when the job allows it): the check is a scan of its own, about a
    // third of the copy's time on native; the error is the same as the copy's.
    const inPlace = readInPlace(this.backend, m, name, this.borrow);
    if (inPlace) {
      if (!checked) checkInPlace(this.backend, m.data, name, m.cols, this.threads);
      return { region: inPlace, rows: m.rows, cols: m.cols };
    }
    const region = copyChecked(this.backend, m.data, name, m.cols, !checked, this.threads);
    this.#regions.push(region);
    this.copies.count++;
    this.copies.bytes += m.data.byteLength;
    return { region, rows: m.rows, cols: m.cols, copied: true };
  }

  /**
   * A region for a caller-owned output array: the array itself when workers can write it in place (backed by a
   * SharedArrayBuffer, on native or js), else a job region whose contents `deliver` copies back.
   */
  outputRegion<K extends ElementKind>(arr: ViewOf<K>, kind: K): Region<K> {
    if (arr.buffer instanceof SharedArrayBuffer && this.backend.info.name !== 'wasm') {
      return { buffer: arr.buffer, byteOffset: arr.byteOffset, length: arr.length, kind };
    }
    return this.alloc(kind, arr.length);
  }

  /** Copies an output region back into the caller's array unless it was written in place. */
  deliver<K extends ElementKind>(r: Region<K>, arr: ViewOf<K>): ViewOf<K> {
    if (r.buffer !== arr.buffer || r.byteOffset !== arr.byteOffset) arr.set(this.view(r));
    return arr;
  }

  /** Result arrays leave the engine as ordinary typed arrays the caller owns. */
  take<K extends ElementKind>(r: Region<K>): ViewOf<K> {
    const v = this.view(r);
    if (this.backend.info.name !== 'wasm') {
      // A SharedArrayBuffer view: hand it over without a copy, and do not free it with the job.
      const i = this.#regions.indexOf(r);
      if (i >= 0) this.#regions.splice(i, 1);
      return v;
    }
    // WASM regions live in the shared linear memory, which is recycled: copy out.
    return v.slice() as ViewOf<K>;
  }

  release(): void {
    for (const r of this.#regions) this.backend.free(r);
    this.#regions.length = 0;
  }
}
