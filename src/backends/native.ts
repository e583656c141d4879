/**
 * The native backend: the Rust kernels of native/ (napi-rs), loaded from native/quiver.<platform>.node.
 *
 * Each kernel call passes the caller's typed arrays straight to Rust, which works on their memory in place
 * (SharedArrayBuffer views and subarrays included): no copies, one napi call per tile. The instruction set is
 * probed once per process; a backend instance holds one level code (the best one, or 0 when the scalar twins
 * are forced) and every call passes it, so the Rust side picks that level's kernel table before any loop.
 * Regions are plain SharedArrayBuffers, as for the js backend.
 *
 * Loading tries QUIVER_NATIVE_PATH (when set), then the platform's file names in native/, and keeps every
 * failure so "why did it not load" is always answerable. QUIVER_NATIVE_ISA=scalar forces the scalar twins
 * process-wide (workers inherit it; `init` has no field for the level).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuiverError } from '../errors.js';
import { SabRegions } from './memory.js';
import type { Backend, BackendInfo, BackendInit, Link } from './types.js';

export interface NativeOptions {
  /** 'auto' picks the best instruction set of this CPU once; 'scalar' forces the scalar twins (tests). */
  isa?: 'auto' | 'scalar';
}

/** The exports of native/src/lib.rs (native/index.d.ts is generated from the same code). */
interface NativeAddon {
  detectedIsa(): { code: number; name: string };
  versions(): { native: string; faer: string };
  normalizeRows(isa: number, x: Float32Array, rows: number, cols: number, out: Float32Array, norms: Float32Array): void;
  similarityTile(
    isa: number, a: Float32Array, aRows: number, b: Float32Array, bRows: number, cols: number,
    out: Float32Array, ldOut: number,
  ): void;
  topkTile(
    isa: number, q: Float32Array, qRows: number, x: Float32Array, xRows: number, cols: number, k: number,
    qOffset: number, xOffset: number, excludeSelf: boolean, outIdx: Int32Array, outScores: Float32Array,
  ): void;
  kmeansStep(
    isa: number, x: Float32Array, rows: number, cols: number, centroids: Float32Array, k: number,
    weights: Float32Array | null, labels: Int32Array, minDist2: Float64Array | null, sums: Float64Array, counts: Float64Array,
    changes: Int32Array | null,
  ): number;
  gram(
    isa: number, x: Float32Array, rows: number, cols: number, w: Float64Array | null, center: Float64Array | null,
    v: Float64Array | null, g: Float64Array, xty: Float64Array | null,
  ): void;
  logisticPass(
    isa: number, x: Float32Array, rows: number, cols: number, y: Float64Array, s: Float64Array | null,
    beta: Float64Array, bias: number, hessian: boolean, z: Float64Array, out: Float64Array,
  ): void;
  choleskySolve(isa: number, g: Float64Array, n: number, b: Float64Array, nrhs: number): void;
  matvec(
    isa: number, x: Float32Array, rows: number, cols: number, w: Float64Array, bias: number, link: number,
    out: Float32Array,
  ): void;
  sparseSimilarityTopk(
    isa: number, aPtr: Int32Array, aIdx: Int32Array, aVal: Float32Array, bPtr: Int32Array, bIdx: Int32Array,
    bVal: Float32Array, row0: number, row1: number, nCols: number, rowNorms: Float32Array | null,
    colNorms: Float32Array | null, shrink: number, k: number, excludeSelf: boolean, acc: Float64Array,
    mark: Int32Array, list: Int32Array, outIdx: Int32Array, outScores: Float32Array,
  ): void;
  sparseScoreTopn(
    isa: number, aPtr: Int32Array, aIdx: Int32Array, aVal: Float32Array, mPtr: Int32Array, mIdx: Int32Array,
    mVal: Float32Array, seenPtr: Int32Array | null, seenIdx: Int32Array | null, allow: Int32Array | null,
    normalize: number, row0: number, row1: number, nCols: number, n: number, acc: Float64Array,
    den: Float64Array | null, mark: Int32Array, list: Int32Array, outIdx: Int32Array, outScores: Float32Array,
  ): void;
}

const SCALAR = 0;

/** native/ of the package, from src/backends (tests) or dist/backends (built). */
const NATIVE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');

function isMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

/** File names napi-rs gives the addon on this platform (`napi build --platform`), most likely first. */
function candidatePaths(): string[] {
  const out: string[] = [];
  const override = process.env['QUIVER_NATIVE_PATH'];
  if (override) out.push(resolve(override));
  const { platform, arch } = process;
  let abis: string[];
  if (platform === 'linux') abis = isMusl() ? ['-musl', '-gnu'] : ['-gnu', '-musl'];
  else if (platform === 'win32') abis = ['-msvc', '-gnu'];
  else abis = [''];
  for (const abi of abis) out.push(join(NATIVE_DIR, `quiver.${platform}-${arch}${abi}.node`));
  if (platform === 'darwin') out.push(join(NATIVE_DIR, 'quiver.darwin-universal.node'));
  return out;
}

let loaded: { addon: NativeAddon; path: string } | undefined;

/** Loads the addon once per thread; every failed candidate is named in the error. */
function loadAddon(): { addon: NativeAddon; path: string } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of candidatePaths()) {
    if (!existsSync(path)) {
      failures.push(`${path}: not found`);
      continue;
    }
    try {
      loaded = { addon: require(path) as NativeAddon, path };
      return loaded;
    } catch (err) {
      failures.push(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new QuiverError(
    'BACKEND_UNAVAILABLE',
    'the native addon is not built for this platform; run `npm run build:native` (needs a Rust toolchain) or use QUIVER_BACKEND=wasm',
    { attempts: failures },
  );
}

/** Absolute path of the addon file this process loads (for workers that load it themselves). */
export function nativeAddonPath(): string {
  return loadAddon().path;
}

function requestedIsa(opts: NativeOptions): 'auto' | 'scalar' {
  if (opts.isa) return opts.isa;
  const raw = (process.env['QUIVER_NATIVE_ISA'] ?? 'auto').trim().toLowerCase() || 'auto';
  if (raw === 'auto' || raw === 'scalar') return raw;
  throw new QuiverError('INVALID_ARGUMENT', `QUIVER_NATIVE_ISA must be auto or scalar (got "${raw}")`);
}

/**
 * The addon with every function wrapped once so that callers receive QuiverError (the addon throws
 * "CODE: message | {json}"), instead of a try/catch in each kernel method.
 */
function guarded(addon: NativeAddon): NativeAddon {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(addon)) {
    out[name] =
      typeof f === 'function'
        ? (...args: unknown[]): unknown => {
            try {
              return (f as (...a: unknown[]) => unknown)(...args);
            } catch (err) {
              throw QuiverError.from(err);
            }
          }
        : f;
  }
  return out as unknown as NativeAddon;
}

export async function loadNativeBackend(opts: NativeOptions = {}): Promise<Backend> {
  const isa = requestedIsa(opts);
  const { addon } = loadAddon();
  const best = addon.detectedIsa();
  const level = isa === 'scalar' ? { code: SCALAR, name: 'scalar' } : best;
  const v = addon.versions();
  return new NativeBackend(addon, level.code, {
    name: 'native',
    simd: level.name,
    versions: { native: v.native, faer: v.faer, napi: process.versions.napi ?? 'unknown', cpu: best.name },
  });
}

class NativeBackend extends SabRegions implements Backend {
  readonly info: BackendInfo;
  readonly init: BackendInit = { name: 'native' };
  readonly #k: NativeAddon;
  readonly #isa: number;

  constructor(addon: NativeAddon, isa: number, info: BackendInfo) {
    super();
    this.#k = guarded(addon);
    this.#isa = isa;
    this.info = info;
  }

  normalizeRows(x: Float32Array, rows: number, cols: number, out: Float32Array, norms: Float32Array): void {
    this.#k.normalizeRows(this.#isa, x, rows, cols, out, norms);
  }

  similarityTile(a: Float32Array, aRows: number, b: Float32Array, bRows: number, cols: number, out: Float32Array, ldOut: number): void {
    this.#k.similarityTile(this.#isa, a, aRows, b, bRows, cols, out, ldOut);
  }

  topkTile(
    q: Float32Array,
    qRows: number,
    x: Float32Array,
    xRows: number,
    cols: number,
    k: number,
    qOffset: number,
    xOffset: number,
    excludeSelf: boolean,
    outIdx: Int32Array,
    outScores: Float32Array,
  ): void {
    this.#k.topkTile(this.#isa, q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, outIdx, outScores);
  }

  kmeansStep(
    x: Float32Array,
    rows: number,
    cols: number,
    centroids: Float32Array,
    k: number,
    weights: Float32Array | null,
    labels: Int32Array,
    minDist2: Float64Array | null,
    sums: Float64Array,
    counts: Float64Array,
    changes: Int32Array | null = null,
  ): number {
    return this.#k.kmeansStep(this.#isa, x, rows, cols, centroids, k, weights, labels, minDist2, sums, counts, changes);
  }

  gram(
    x: Float32Array,
    rows: number,
    cols: number,
    w: Float64Array | null,
    center: Float64Array | null,
    v: Float64Array | null,
    g: Float64Array,
    xty: Float64Array | null,
  ): void {
    this.#k.gram(this.#isa, x, rows, cols, w, center, v, g, xty);
  }

  logisticPass(
    x: Float32Array,
    rows: number,
    cols: number,
    y: Float64Array,
    s: Float64Array | null,
    beta: Float64Array,
    bias: number,
    hessian: boolean,
    z: Float64Array,
    out: Float64Array,
  ): void {
    this.#k.logisticPass(this.#isa, x, rows, cols, y, s, beta, bias, hessian, z, out);
  }

  choleskySolve(g: Float64Array, n: number, b: Float64Array, nrhs: number): void {
    this.#k.choleskySolve(this.#isa, g, n, b, nrhs);
  }

  matvec(x: Float32Array, rows: number, cols: number, w: Float64Array, bias: number, link: Link, out: Float32Array): void {
    this.#k.matvec(this.#isa, x, rows, cols, w, bias, link, out);
  }

  sparseSimilarityTopk(
    aPtr: Int32Array,
    aIdx: Int32Array,
    aVal: Float32Array,
    bPtr: Int32Array,
    bIdx: Int32Array,
    bVal: Float32Array,
    row0: number,
    row1: number,
    nCols: number,
    rowNorms: Float32Array | null,
    colNorms: Float32Array | null,
    shrink: number,
    k: number,
    excludeSelf: boolean,
    acc: Float64Array,
    mark: Int32Array,
    list: Int32Array,
    outIdx: Int32Array,
    outScores: Float32Array,
  ): void {
    this.#k.sparseSimilarityTopk(
      this.#isa, aPtr, aIdx, aVal, bPtr, bIdx, bVal, row0, row1, nCols, rowNorms, colNorms, shrink, k, excludeSelf,
      acc, mark, list, outIdx, outScores,
    );
  }

  sparseScoreTopn(
    aPtr: Int32Array,
    aIdx: Int32Array,
    aVal: Float32Array,
    mPtr: Int32Array,
    mIdx: Int32Array,
    mVal: Float32Array,
    seenPtr: Int32Array | null,
    seenIdx: Int32Array | null,
    allow: Int32Array | null,
    normalize: number,
    row0: number,
    row1: number,
    nCols: number,
    n: number,
    acc: Float64Array,
    den: Float64Array | null,
    mark: Int32Array,
    list: Int32Array,
    outIdx: Int32Array,
    outScores: Float32Array,
  ): void {
    this.#k.sparseScoreTopn(
      this.#isa, aPtr, aIdx, aVal, mPtr, mIdx, mVal, seenPtr, seenIdx, allow, normalize, row0, row1, nCols, n,
      acc, den, mark, list, outIdx, outScores,
    );
  }
}
