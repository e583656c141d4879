/**
 * Engine memory: the staged inputs a caller holds across calls, and the `Scope` of one call, which owns the
 * shared regions the call allocates and gives them all back when the call ends (see `Scheduler.job`).
 * Results leave a scope as ordinary typed arrays the caller owns (`take`, `deliver`).
 */
import type { Backend, ElementKind, SharedRegion, ViewOf } from '../backends/types.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { checkMatrix } from './validate.js';

/** A shared region of one element kind: what task messages carry instead of arrays (no copy). */
export type Region<K extends ElementKind> = SharedRegion & { kind: K };
export type F32 = Region<'f32'>;
export type F64 = Region<'f64'>;
export type I32 = Region<'i32'>;

/** What staged memory needs of its engine: the backend that allocated it, to give it back. */
export interface RegionOwner {
  readonly backend: Backend;
}

/** A shared region the caller holds for many calls and gives back with `release()` (idempotent). */
abstract class Staged {
  #released = false;
  constructor(
    readonly region: SharedRegion,
    private readonly owner: RegionOwner,
  ) {}
  get released(): boolean {
    return this.#released;
  }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.owner.backend.free(this.region);
  }
}

/** A matrix copied once into a shared region, so iterative algorithms do not copy it per call. */
export class StagedMatrix extends Staged {
  constructor(
    readonly rows: number,
    readonly cols: number,
    override readonly region: F32,
    owner: RegionOwner,
  ) {
    super(region, owner);
  }
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
}

/** The regions of one call: everything allocated here is freed by `release()` unless handed over by `take`. */
export class Scope {
  readonly #regions: SharedRegion[] = [];

  constructor(readonly backend: Backend) {}

  /** A job region, zero-filled (the accumulating kernels' outputs start from it) unless `zero` is false. */
  alloc<K extends ElementKind>(kind: K, length: number, zero = true): Region<K> {
    const r = this.backend.alloc(kind, Math.max(1, length), zero) as Region<K>;
    this.#regions.push(r);
    return r;
  }

  view<K extends ElementKind>(r: Region<K>): ViewOf<K> {
    return this.backend.view(r);
  }

  /** A job region holding a copy of `values`. */
  copy<K extends ElementKind>(kind: K, values: ArrayLike<number>): Region<K> {
    const r = this.alloc(kind, values.length, false);
    (this.view(r) as ViewOf<K>).set(values);
    return r;
  }

  /**
   * Input as a region: staged inputs are used as they are; plain ones are checked (unless the caller already
   * did) and copied into a job region.
   */
  input(m: MatrixInput, name: string, checked = false): DenseRegion {
    if (m instanceof StagedMatrix) {
      if (m.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; stage it again`);
      return { region: m.region, rows: m.rows, cols: m.cols };
    }
    if (!checked) checkMatrix(m, name);
    return { region: this.copy('f32', m.data), rows: m.rows, cols: m.cols };
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
