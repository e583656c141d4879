/**
 * The native backend: the Rust kernels of native/ (napi-rs), loaded from native/quiver.<platform>.node.
 *
 * The addon's typings are the ones `napi build` generates from the Rust doc comments (native/index.d.ts).
 * A backend instance holds one `Kernels` object of the addon, made once for one instruction-set level, so
 * no call passes or looks up the level again; each kernel method below only maps the contract's argument
 * object onto the addon's positional arguments. Typed arrays go straight to Rust, which works on their
 * memory in place (SharedArrayBuffer views and subarrays included): no copies, one napi call per tile.
 * Regions are plain SharedArrayBuffers, as for the js backend.
 *
 * Failures arrive with their code as `err.code` (the napi status) and their facts as the JSON message;
 * `kernelError` builds the message, the same one the other backends give for the same failure.
 *
 * Loading tries QUIVER_NATIVE_PATH (when set), then the platform's file names in native/, and keeps every
 * failure so "why did it not load" is always answerable. The level is `opts.isa`, else `init.nativeIsa`
 * (a worker binds the level its main thread chose), else QUIVER_NATIVE_ISA (auto, avx512, avx2 or
 * scalar), else auto; a level this CPU cannot run is BACKEND_UNAVAILABLE naming the CPU's best.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuiverError, isKernelErrorCode, kernelError, type KernelFacts } from '../errors.js';
import type * as Addon from '../../native/index.js';
import { BYTES, SabRegions, viewOf } from './memory.js';
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
  NativeIsa,
  SharedRegion,
  SimilarityTileArgs,
  SparseScoreTopnArgs,
  SparseSimilarityTopkArgs,
  TopkTileArgs,
  TopkExclTileArgs,
  ViewOf,
} from './types.js';
import type { TileDiagArgs, TileGemmArgs } from './types.js';
import { tileDiagJs } from './js-tiles.js';

type NativeAddon = typeof Addon;
type NativeKernels = Addon.Kernels;

export interface NativeOptions {
  /** 'auto' binds the best instruction set of this CPU; a named level forces it (tests and timing). */
  isa?: NativeIsa;
  /**
   * Cosine top-k screens in bf16 and rescores the survivors in f32 where the CPU can (the AVX-512 level with
   * AVX512_BF16, e.g. AMD Zen 4): the same results, faster. Default: on unless QUIVER_TOPK_SCREEN=0.
   */
  topkScreen?: boolean;
}

const ISAS: readonly NativeIsa[] = ['auto', 'avx512', 'avx2', 'scalar'];

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

/** The levels this CPU runs, best first ('auto' not included). */
export function nativeIsas(): NativeIsa[] {
  return call(() => loadAddon().addon.usableIsas()) as NativeIsa[];
}

function requestedIsa(opts: NativeOptions, init: BackendInit | undefined): NativeIsa {
  if (opts.isa) return opts.isa;
  if (init?.nativeIsa) return init.nativeIsa;
  const raw = (process.env['QUIVER_NATIVE_ISA'] ?? 'auto').trim().toLowerCase() || 'auto';
  if ((ISAS as readonly string[]).includes(raw)) return raw as NativeIsa;
  throw new QuiverError('INVALID_ARGUMENT', `QUIVER_NATIVE_ISA must be auto, avx512, avx2 or scalar (got "${raw}")`);
}

/**
 * The QuiverError of an addon failure. The addon throws errors whose `code` is a kernel error code and whose
 * message is the JSON of the failure's facts; anything else (napi refusing an argument's type) is INTERNAL.
 */
function nativeError(err: unknown): QuiverError {
  if (err instanceof QuiverError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  if (isKernelErrorCode(code)) {
    try {
      return kernelError(code, JSON.parse(text) as KernelFacts[typeof code]);
    } catch {
      // Not JSON: fall through with the text as it is.
    }
  }
  return new QuiverError('INTERNAL', `the native addon failed: ${text}`, typeof code === 'string' ? { status: code } : undefined);
}

/** The addon's kernels with every method wrapped once, so that callers receive QuiverError. */
function guarded(k: NativeKernels): NativeKernels {
  const out: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(k))) {
    const f: unknown = (k as unknown as Record<string, unknown>)[name];
    if (name === 'constructor' || typeof f !== 'function') continue;
    out[name] = (...args: unknown[]): unknown => {
      try {
        return (f as (...a: unknown[]) => unknown).apply(k, args);
      } catch (err) {
        throw nativeError(err);
      }
    };
  }
  return out as unknown as NativeKernels;
}

function call<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw nativeError(err);
  }
}

/**
 * Loads the native backend at one instruction-set level (see the file comment for how it is chosen).
 * `init` is the main thread's `backend.init` when a worker loads it.
 */
export async function loadNativeBackend(opts: NativeOptions = {}, init?: BackendInit): Promise<Backend> {
  const isa = requestedIsa(opts, init);
  const { addon } = loadAddon();
  const screen = opts.topkScreen ?? init?.nativeTopkScreen ?? process.env['QUIVER_TOPK_SCREEN']?.trim() !== '0';
  const kernels = call(() => new addon.Kernels(isa, screen));
  const best = call(() => addon.detectedIsa());
  const v = call(() => addon.versions());
  return new NativeBackend(kernels, isa, screen, addon, {
    name: 'native',
    simd: call(() => kernels.isa),
    topkScreen: call(() => kernels.topkScreen) ? 'bf16' : 'off',
    versions: { native: v.native, faer: v.faer, napi: process.versions.napi ?? 'unknown', cpu: best },
  });
}

/**
 * Buffers at least this large get the huge-page advice when it is on: they are the ones whose page faults
 * show in a call's time, and below a few huge pages the aligned interior is a small part of the buffer.
 */
const HUGE_PAGES_MIN_BYTES = 4 << 20;

/**
 * QUIVER_HUGEPAGES=1 turns the advice on; unset or 0 leaves it off. Off by default because it measured slower
 * where it matters on the machine of issue 14 (a Firecracker VM, AMD EPYC Zen 4, THP in `madvise` mode):
 * a 64 MiB buffer faulted in ~7 ms in 2 MiB pages against ~38 ms in 4 KiB pages when the process reused
 * memory it had just freed, but ~225 ms against ~40 ms when it drew fresh memory from the system, which is
 * what a loop over calls that return new results does while the garbage collector holds the old ones
 * (W1 from a plain array, 8 alternating fresh processes under load: medians 120–540 ms per call advised,
 * 66–250 ms not, the advised one faster in 1 pair of 8; half of the advised time was the kernel clearing
 * huge pages). On hosts where fresh huge pages are cheap, turn it on.
 */
function hugePagesWanted(): boolean {
  return (process.env['QUIVER_HUGEPAGES'] ?? '').trim() === '1';
}

/**
 * Advises transparent huge pages on a fresh buffer's 2 MiB-aligned interior (Linux, THP in `madvise` or
 * `always` mode; a no-op elsewhere). Returns whether the kernel took the advice.
 */
function adviseHugePages(addon: NativeAddon, buffer: ArrayBufferLike): boolean {
  return call(() => addon.adviseHugepages(new Uint8Array(buffer)));
}

/**
 * Copies at least this large use streaming (non-temporal) stores: they skip reading the destination into
 * cache first. Below it the copy may fit in the last-level cache, where the kernel that follows finds it.
 */
const STREAM_MIN_BYTES = 32 << 20;
/** Copy threads: memory bandwidth, not cores, bounds a copy; a few threads reach it. */
const COPY_IN_MAX_THREADS = 4;

/**
 * Borrowed regions: a caller's ordinary array read in place by the workers. An ordinary ArrayBuffer cannot be
 * sent to a worker without a copy, but its memory is in this process and V8 does not move it, so the calling
 * thread sends its address and each worker wraps that in an ArrayBuffer of its own (`borrowBuffer`: no copy, no
 * finalizer). This takes the staging copy (and its fresh pages) out of a fit from a plain array: W4's 256 MB.
 *
 * The lifetime rule is the borrower's (see `Backend.borrow`): the array stays reachable, and the call does not
 * return, until every task reading it has ended. The fits hold the array for their whole run and release the
 * handle in `finally`, after `Scheduler.dispatch` has waited for every task (also when one failed); they do not
 * borrow when the caller passed an abort signal, because Piscina settles an aborted task before its thread has
 * stopped. Pool shutdown settles a running task only when its thread has exited.
 */
const BORROW_MIN_BYTES = 1 << 20;

function borrowWanted(): boolean {
  return (process.env['QUIVER_BORROW'] ?? '').trim() !== '0';
}

/** A worker's ArrayBuffers over borrowed memory, by address and length (the same window, whoever owns it). */
const borrowedBuffers = new Map<string, ArrayBuffer>();
const BORROWED_CACHE = 16;

class NativeBackend extends SabRegions implements Backend {
  readonly info: BackendInfo;
  readonly init: BackendInit;
  readonly #k: NativeKernels;
  readonly #addon: NativeAddon;

  constructor(kernels: NativeKernels, isa: NativeIsa, screen: boolean, addon: NativeAddon, info: BackendInfo) {
    super();
    this.#k = guarded(kernels);
    this.#addon = addon;
    this.info = info;
    this.init = { name: 'native', nativeIsa: isa, nativeTopkScreen: screen };
  }

  normalizeRows(x: Float32Array, rows: number, cols: number, out: Float32Array, norms: Float32Array): void {
    this.#k.normalizeRows(x, rows, cols, out, norms);
  }

  rowNorms(x: Float32Array, rows: number, cols: number, norms: Float32Array): void {
    this.#k.rowNorms(x, rows, cols, norms);
  }

  similarityTile(a: SimilarityTileArgs): void {
    this.#k.similarityTile(a.a, a.aRows, a.b, a.bRows, a.cols, a.out, a.ldOut);
  }

  topkTile(a: TopkTileArgs): void {
    this.#k.topkTile(a.q, a.qRows, a.x, a.xRows, a.cols, a.k, a.qOffset, a.xOffset, a.excludeSelf, a.outIdx, a.outScores, a.qScale ?? undefined, a.xScale ?? undefined);
  }

  kmeansStep(a: KmeansStepArgs): number {
    return this.#k.kmeansStep(a.x, a.rows, a.cols, a.centroids, a.k, a.weights, a.labels, a.minDist2, a.sums, a.counts, a.changes);
  }

  gram(a: GramArgs): void {
    this.#k.gram(a.x, a.rows, a.cols, a.w, a.center, a.v, a.g, a.xty, a.sums, a.accumulate === 'f32');
  }

  logisticPass(a: LogisticPassArgs): void {
    this.#k.logisticPass(a.x, a.rows, a.cols, a.y, a.s, a.beta, a.bias, a.hessian, a.z, a.out);
  }

  choleskySolve(g: Float64Array, n: number, b: Float64Array, nrhs: number): void {
    this.#k.choleskySolve(g, n, b, nrhs);
  }

  matvec(a: MatvecArgs): void {
    this.#k.matvec(a.x, a.rows, a.cols, a.w, a.bias, a.link, a.out);
  }

  sparseSimilarityTopk(a: SparseSimilarityTopkArgs): void {
    this.#k.sparseSimilarityTopk(
      a.aPtr, a.aIdx, a.aVal, a.bPtr, a.bIdx, a.bVal, a.row0, a.row1, a.nCols, a.rowNorms, a.colNorms, a.shrink,
      a.k, a.excludeSelf, a.acc, a.mark, a.list, a.outIdx, a.outScores,
    );
  }

  sparseScoreTopn(a: SparseScoreTopnArgs): void {
    this.#k.sparseScoreTopn(
      a.aPtr, a.aIdx, a.aVal, a.mPtr, a.mIdx, a.mVal, a.seenPtr, a.seenIdx, a.allow, a.normalize, a.row0, a.row1,
      a.nCols, a.n, a.acc, a.den, a.mark, a.list, a.outIdx, a.outScores,
    );
  }

  multinomialPass(a: MultinomialPassArgs): void {
    this.#k.multinomialPass(a.x, a.rows, a.cols, a.k, a.y, a.s, a.theta, a.mode, a.out);
  }

  alsSolve(a: AlsSolveArgs): number {
    return this.#k.alsSolve(
      a.yty, a.y, a.nOther, a.k, a.ptr, a.idx, a.val, a.row0, a.row1, a.x, a.alpha, a.reg, a.regMode, a.solver, a.cgSteps, a.scratch,
    );
  }

  tileGemm(a: TileGemmArgs): void {
    this.#k.tileGemm(
      a.c, a.cOff, a.cRs, a.cCs, a.a, a.aOff, a.aRs, a.aCs, a.b, a.bOff, a.bRs, a.bCs, a.m, a.n, a.k, a.alpha, a.accumulate,
    );
  }

  /** The diagonal-tile operations are O(n·nb²) of the inverse's O(n³): the js loops serve every backend. */
  tileDiag(args: TileDiagArgs): number {
    return tileDiagJs(args);
  }

  tileGemmF32(a: TileGemmArgs<Float32Array>): void {
    this.#k.tileGemmF32(
      a.c, a.cOff, a.cRs, a.cCs, a.a, a.aOff, a.aRs, a.aCs, a.b, a.bOff, a.bRs, a.bCs, a.m, a.n, a.k, a.alpha, a.accumulate,
    );
  }

  borrow(arr: Float32Array): (SharedRegion & { kind: 'f32' }) | null {
    const buffer = arr.buffer;
    if (buffer instanceof SharedArrayBuffer || arr.byteLength < BORROW_MIN_BYTES || !borrowWanted()) return null;
    if ((buffer as ArrayBuffer & { resizable?: boolean }).resizable) return null;
    const start = call(() => this.#addon.addressOf(new Uint8Array(buffer, arr.byteOffset, arr.byteLength))) - arr.byteOffset;
    const region = { address: start, byteOffset: arr.byteOffset, length: arr.length, kind: 'f32' as const };
    // Not enumerable: structured clone (a task message) skips it, so workers get the address, not a copy.
    Object.defineProperty(region, 'buffer', { value: buffer, enumerable: false });
    return region as unknown as SharedRegion & { kind: 'f32' };
  }

  scanFinite(src: Float32Array, threads: number): number {
    const t = src.byteLength >= STREAM_MIN_BYTES ? Math.max(1, Math.min(COPY_IN_MAX_THREADS, threads)) : 1;
    return call(() => this.#addon.firstNonFiniteF32(src, t));
  }

  override view<K extends ElementKind>(region: SharedRegion & { kind: K }): ViewOf<K> {
    if (region.address === undefined || region.buffer) return super.view(region);
    const bytes = region.byteOffset + region.length * BYTES[region.kind];
    const key = `${region.address}:${bytes}`;
    let buffer = borrowedBuffers.get(key);
    if (!buffer) {
      buffer = call(() => this.#addon.borrowBuffer(region.address!, bytes));
      if (borrowedBuffers.size >= BORROWED_CACHE) borrowedBuffers.delete(borrowedBuffers.keys().next().value!);
      borrowedBuffers.set(key, buffer);
    }
    return viewOf(buffer, region.byteOffset, region.kind, region.length);
  }

  protected override fresh(buffer: SharedArrayBuffer): void {
    // The switch is read per buffer (a few per call at most), so it can change while a process runs.
    if (buffer.byteLength >= HUGE_PAGES_MIN_BYTES && hugePagesWanted()) adviseHugePages(this.#addon, buffer);
  }

  /**
   * One pass: the check reads each block just before it is copied. Large copies use streaming stores, split
   * over up to `threads` threads (see STREAM_MIN_BYTES); smaller ones stay on the calling thread and in cache.
   */
  copyIn(src: Float32Array, dst: Float32Array, check: boolean, threads: number): number {
    const stream = src.byteLength >= STREAM_MIN_BYTES;
    const t = stream ? Math.max(1, Math.min(COPY_IN_MAX_THREADS, threads)) : 1;
    return call(() => this.#addon.copyF32(src, dst, check, t, stream));
  }

  mirrorStrip(out: Float32Array, n: number, row0: number, row1: number): void {
    this.#k.mirrorStrip(out, n, row0, row1);
  }

  topkExclTile(a: TopkExclTileArgs): void {
    this.#k.topkExclTile(a.q, a.qRows, a.x, a.xRows, a.cols, a.k, a.qOffset, a.xOffset, a.excludeSelf, a.exclPtr, a.exclIdx, a.outIdx, a.outScores, a.qScale ?? undefined, a.xScale ?? undefined);
  }
}
