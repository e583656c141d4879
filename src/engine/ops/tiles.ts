/**
 * The tiles family: the inverse of a symmetric positive definite n × n f64 matrix, computed in place in one
 * shared buffer, on tiles of `tileSize(n)` rows and columns:
 *   1. blocked right-looking Cholesky A = LLᵀ: factor the diagonal tile, solve the panel below it (as a GEMM
 *      with the inverse of the diagonal factor), update the trailing columns (one pool task per tile column);
 *   2. W = L⁻¹ in place (per step k: the panel below the diagonal tile times −L_kk⁻¹, the GEMM update of the
 *      columns to its left, then L_kk⁻¹ times the tile row);
 *   3. P = WᵀW in place (per step k: the rank-nb updates of the columns to the left, then the tile row
 *      multiplied by W_kkᵀ, then W_kk → W_kkᵀW_kk).
 * The buffer is read and written column-major; with a symmetric input that is the same as row-major, and only
 * the lower triangle (column-major) is read: it holds P's lower triangle at the end (the strict upper triangle
 * holds leftovers). Besides the matrix the solve uses one scratch region of nb² + 2·n·nb values.
 *
 * The matrix may be f32 instead (the f32 solve: half the memory): then the scratch is f32 too and every
 * product is rounded to f32 (native sums in f32, js and wasm in f64).
 *
 * Determinism: tile boundaries and the tasks' row and column groups depend on n only, and every element is
 * written by one task per step in a fixed order, so results do not depend on the thread count.
 */
import type { Backend, TileGemmArgs } from '../../backends/types.js';
import { TILE_LAUUM, TILE_POTRF, TILE_TRTRI } from '../../backends/types.js';
import { kernelError } from '../../errors.js';
import type { CallOptions, Scheduler, TaskKind } from '../schedule.js';
import type { F32, F64 } from '../scope.js';

/** 0: the matrix; 1: the scratch region. */
type Buf = 0 | 1;
/** Element (i, j) at buf[off + i·rs + j·cs]. */
interface Operand {
  buf: Buf;
  off: number;
  rs: number;
  cs: number;
}
type Step =
  /** dst = src (m × n); `lower`: only the lower triangle of a square block, the strict upper one zeroed. */
  | { t: 'copy'; src: Operand; dst: Operand; m: number; n: number; lower: boolean }
  | { t: 'gemm'; c: Operand; a: Operand; b: Operand; m: number; n: number; k: number; alpha: number; acc: boolean }
  /** A diagonal-tile operation; `base` is the tile's first global index (for the pivot of an error). */
  | { t: 'diag'; buf: Buf; off: number; ld: number; nb: number; op: number; base: number };

/** Both regions are f64, or both f32 (the f32 solve). */
export interface TilesTask {
  mat: F64 | F32;
  scratch: F64 | F32;
  steps: Step[];
}

export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
}

export interface InverseOptions extends CallOptions {
  /** Called after each tile column of each phase ('factor', 'invert', 'multiply'). */
  onProgress?: (p: ProgressEvent) => void;
}

export const tilesTask: TaskKind<TilesTask, null> = {
  name: 'tiles',
  run(b: Backend, t: TilesTask): null {
    const v = [b.view(t.mat), b.view(t.scratch)] as const;
    // Both regions have the matrix's kind, so the views are all f64 or all f32.
    const f32 = t.mat.kind === 'f32';
    for (const s of t.steps) {
      if (s.t === 'gemm') {
        const args = {
          c: v[s.c.buf],
          cOff: s.c.off,
          cRs: s.c.rs,
          cCs: s.c.cs,
          a: v[s.a.buf],
          aOff: s.a.off,
          aRs: s.a.rs,
          aCs: s.a.cs,
          b: v[s.b.buf],
          bOff: s.b.off,
          bRs: s.b.rs,
          bCs: s.b.cs,
          m: s.m,
          n: s.n,
          k: s.k,
          alpha: s.alpha,
          accumulate: s.acc,
        };
        if (f32) b.tileGemmF32(args as TileGemmArgs<Float32Array>);
        else b.tileGemm(args as TileGemmArgs);
      } else if (s.t === 'diag') {
        const pivot = b.tileDiag({ a: v[s.buf], off: s.off, ld: s.ld, nb: s.nb, op: s.op });
        if (pivot >= 0) throw kernelError('NOT_POSITIVE_DEFINITE', { pivot: s.base + pivot });
      } else {
        copyBlock(v[s.src.buf], s.src, v[s.dst.buf], s.dst, s.m, s.n, s.lower);
      }
    }
    return null;
  },
};

function copyBlock(x: Float64Array | Float32Array, src: Operand, y: Float64Array | Float32Array, dst: Operand, m: number, n: number, lower: boolean): void {
  for (let j = 0; j < n; j++) {
    const i0 = lower ? j : 0;
    if (lower) for (let i = 0; i < j; i++) y[dst.off + i * dst.rs + j * dst.cs] = 0;
    if (src.rs === 1 && dst.rs === 1) {
      const s = src.off + j * src.cs;
      y.set(x.subarray(s + i0, s + m), dst.off + j * dst.cs + i0);
    } else {
      for (let i = i0; i < m; i++) y[dst.off + i * dst.rs + j * dst.cs] = x[src.off + i * src.rs + j * src.cs]!;
    }
  }
}

/** Tile rows and columns: from n alone (see the module comment). */
export function tileSize(n: number): number {
  return Math.min(n, 256);
}
/** Rows (or columns) per panel task: a fixed number of tiles. */
const PANEL_TILES = 4;

/** Values of scratch the inverse of an n × n matrix uses beside the matrix itself. */
export function inverseScratch(n: number): number {
  const nb = tileSize(n);
  return nb * nb + 2 * n * nb;
}

/** Inverts the SPD matrix in `mat` (n × n, f64, lower triangle read) in place; see the module comment. */
export async function choleskyInverse(sched: Scheduler, mat: F64 | F32, n: number, opts: InverseOptions): Promise<void> {
  sched.checkOpen(opts.signal);
  const nb = tileSize(n);
  const T = Math.ceil(n / nb);
  const S0 = 0;
  const PANEL = nb * nb;
  const RB = nb * nb + n * nb;
  const at = (r: number, c: number): number => c * n + r;
  const m0 = (r: number, c: number): Operand => ({ buf: 0, off: at(r, c), rs: 1, cs: n });
  const s0: Operand = { buf: 1, off: S0, rs: 1, cs: nb };
  const s0t: Operand = { buf: 1, off: S0, rs: nb, cs: 1 };
  const tw = (i: number): number => Math.min(nb, n - i * nb);
  const chunk = PANEL_TILES * nb;
  await sched.job(async (s) => {
    const scratch = s.alloc(mat.kind, inverseScratch(n), false);
    const run = async (tasks: Step[][], work: number): Promise<void> => {
      if (tasks.length === 0) return;
      await sched.dispatch(tilesTask, tasks.map((steps) => ({ mat, scratch, steps })), work, opts.signal);
    };
    // The panel below tile k (rows k1..n, tile column k) multiplied in place by `by` (a copy goes to PANEL).
    const panelTasks = (k0: number, kb: number, by: Operand, alpha: number): Step[][] => {
      const tasks: Step[][] = [];
      for (let r0 = k0 + kb; r0 < n; r0 += chunk) {
        const rows = Math.min(chunk, n - r0);
        const p: Operand = { buf: 1, off: PANEL + r0, rs: 1, cs: n };
        tasks.push([
          { t: 'copy', src: m0(r0, k0), dst: p, m: rows, n: kb, lower: false },
          { t: 'gemm', c: m0(r0, k0), a: p, b: by, m: rows, n: kb, k: kb, alpha, acc: false },
        ]);
      }
      return tasks;
    };
    const copyLowerToS0 = (k0: number, kb: number): Step => ({ t: 'copy', src: m0(k0, k0), dst: s0, m: kb, n: kb, lower: true });

    // 1. A = LLᵀ.
    for (let k = 0; k < T; k++) {
      const k0 = k * nb;
      const kb = tw(k);
      const rest = n - k0 - kb;
      const first: Step[] = [{ t: 'diag', buf: 0, off: at(k0, k0), ld: n, nb: kb, op: TILE_POTRF, base: k0 }];
      if (rest > 0) first.push(copyLowerToS0(k0, kb), { t: 'diag', buf: 1, off: S0, ld: nb, nb: kb, op: TILE_TRTRI, base: k0 });
      await run([first], kb ** 3);
      if (rest > 0) {
        // L_mk = A_mk·L_kk⁻ᵀ.
        await run(panelTasks(k0, kb, s0t, 1), rest * kb * kb);
        const tasks: Step[][] = [];
        let work = 0;
        for (let j = k + 1; j < T; j++) {
          const j0 = j * nb;
          const jb = tw(j);
          // A[j0:, J] −= A[j0:, K]·A[J, K]ᵀ
          const bt: Operand = { buf: 0, off: at(j0, k0), rs: n, cs: 1 };
          tasks.push([{ t: 'gemm', c: m0(j0, j0), a: m0(j0, k0), b: bt, m: n - j0, n: jb, k: kb, alpha: -1, acc: true }]);
          work += (n - j0) * jb * kb;
        }
        await run(tasks, work);
      }
      opts.onProgress?.({ phase: 'factor', done: k + 1, total: T });
    }

    // 2. W = L⁻¹.
    for (let k = 0; k < T; k++) {
      const k0 = k * nb;
      const kb = tw(k);
      const k1 = k0 + kb;
      const rest = n - k1;
      await run(
        [[copyLowerToS0(k0, kb), { t: 'diag', buf: 1, off: S0, ld: nb, nb: kb, op: TILE_TRTRI, base: k0 }, { t: 'copy', src: s0, dst: m0(k0, k0), m: kb, n: kb, lower: false }]],
        kb ** 3,
      );
      if (rest > 0) await run(panelTasks(k0, kb, s0, -1), rest * kb * kb);
      const tasks: Step[][] = [];
      for (let c = 0; c < k; c++) {
        const c0 = c * nb;
        const cb = tw(c);
        const steps: Step[] = [];
        // A[k1:, C] += A[k1:, K]·A[K, C], then A[K, C] = L_kk⁻¹·A[K, C].
        if (rest > 0) steps.push({ t: 'gemm', c: m0(k1, c0), a: m0(k1, k0), b: m0(k0, c0), m: rest, n: cb, k: kb, alpha: 1, acc: true });
        const rb: Operand = { buf: 1, off: RB + c0 * nb, rs: 1, cs: nb };
        steps.push({ t: 'copy', src: m0(k0, c0), dst: rb, m: kb, n: cb, lower: false });
        steps.push({ t: 'gemm', c: m0(k0, c0), a: s0, b: rb, m: kb, n: cb, k: kb, alpha: 1, acc: false });
        tasks.push(steps);
      }
      await run(tasks, k0 * (rest + kb) * kb);
      opts.onProgress?.({ phase: 'invert', done: k + 1, total: T });
    }

    // 3. P = WᵀW.
    for (let k = 0; k < T; k++) {
      const k0 = k * nb;
      const kb = tw(k);
      await run([[copyLowerToS0(k0, kb), { t: 'diag', buf: 0, off: at(k0, k0), ld: n, nb: kb, op: TILE_LAUUM, base: k0 }]], kb ** 3);
      if (k > 0) {
        const tasks: Step[][] = [];
        let work = 0;
        for (let c = 0; c < k; c++) {
          const c0 = c * nb;
          const cb = tw(c);
          // A[c0:k0, C] += A[K, c0:k0]ᵀ·A[K, C]
          const at_: Operand = { buf: 0, off: at(k0, c0), rs: n, cs: 1 };
          tasks.push([{ t: 'gemm', c: m0(c0, c0), a: at_, b: m0(k0, c0), m: k0 - c0, n: cb, k: kb, alpha: 1, acc: true }]);
          work += (k0 - c0) * cb * kb;
        }
        await run(tasks, work);
        // A[K, :k0] = W_kkᵀ·A[K, :k0], in column groups.
        const mul: Step[][] = [];
        for (let c0 = 0; c0 < k0; c0 += chunk) {
          const cols = Math.min(chunk, k0 - c0);
          const rb: Operand = { buf: 1, off: RB + c0 * nb, rs: 1, cs: nb };
          mul.push([
            { t: 'copy', src: m0(k0, c0), dst: rb, m: kb, n: cols, lower: false },
            { t: 'gemm', c: m0(k0, c0), a: s0t, b: rb, m: kb, n: cols, k: kb, alpha: 1, acc: false },
          ]);
        }
        await run(mul, k0 * kb * kb);
      }
      opts.onProgress?.({ phase: 'multiply', done: k + 1, total: T });
    }
  });
}
