/**
 * The implicit-ALS family: one half-step solves, for every row of a CSR block (users, or items for the other
 * half), the row's k × k system (YᵀY + Yᵀ(C_u − I)Y + λ_u I) x_u = YᵀC_u p_u (see `AlsSolveArgs`), YᵀY coming
 * from the Gram kernel over the other side's f32 factors. Rows are independent outputs, so how they are split
 * never changes a result; the split still depends on the data only (blocks of about equal solve work), never on
 * the thread count.
 */
import { alsScratchLength, type Backend } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import type { CallOptions, RowRange, Scheduler, TaskKind } from '../schedule.js';
import type { F32, F64, I32, MatrixInput } from '../scope.js';
import { checkPositiveInt } from '../validate.js';
import { mirrorUpper, sumBlocks } from '../merge.js';
import { gram } from './gram.js';
import { type CsrInput, csrInput } from './sparse.js';

export interface AlsSolveOptions extends CallOptions {
  /** Confidence slope: c_ui = 1 + alpha·r_ui (> 0). */
  alpha: number;
  /** λ (≥ 0); with `regularizationMode: 'count'` each row's λ is multiplied by its number of nonzeros (ALS-WR). */
  regularization: number;
  regularizationMode?: 'plain' | 'count';
  /** 'cholesky' (exact, default) or 'cg' (`cgSteps` conjugate-gradient steps warm-started from x). */
  solver?: 'cholesky' | 'cg';
  cgSteps?: number;
  /** YᵀY (k × k, f64, both triangles) when the caller has it; else computed here with the Gram kernel. */
  yty?: Float64Array | null;
  /**
   * When given (k × k): filled with XᵀX of the solved factors (f64, both triangles), each block's rows summed
   * by the Gram kernel in the block's own task right after its solve, the partials then added in block order
   * (beyond 64 blocks, one Gram call over the solved rows: the data alone decides which).
   * An alternating fit passes it on as the next half-step's `yty`, which then needs no Gram call (a round trip
   * to the pool with one task per 2,048 rows, so one thread idle on small sets) of its own.
   */
  outGram?: Float64Array | null;
}

/**
 * One worker's share of a half-step: it claims blocks (consecutive rows, `blocks` holds row0, row1 pairs) one at a
 * time from the shared counter `next` until none is left, so every worker stays busy to the end without a round
 * trip to the calling thread per block (a hop cost about 0.14 ms, eight per worker per half-step on a small set).
 * Which worker solves a block never changes a result: each block writes its own rows of x, its own failure slot and
 * its own partial Gram matrix.
 */
export interface AlsTask {
  blocks: I32;
  /** [0]: the next block to claim (Atomics). */
  next: I32;
  /** Per block: −1, or the first row whose system is not positive definite. */
  failed: I32;
  yty: F64;
  y: F32;
  nOther: number;
  k: number;
  ptr: I32;
  idx: I32;
  val: F32;
  x: F32;
  alpha: number;
  reg: number;
  regMode: 0 | 1;
  solver: 0 | 1;
  cgSteps: number;
  /** This task's scratch. */
  scratch: F64;
  /** Per block: its partial XᵀX (k × k, upper triangle, zeroed), or null. */
  grams: F64 | null;
}

export const alsTask: TaskKind<AlsTask, null> = {
  name: 'als',
  run(b: Backend, t: AlsTask): null {
    const blocks = b.view(t.blocks);
    const next = b.view(t.next);
    const failed = b.view(t.failed);
    const x = b.view(t.x);
    const grams = t.grams ? b.view(t.grams) : null;
    const args = {
      yty: b.view(t.yty),
      y: b.view(t.y),
      nOther: t.nOther,
      k: t.k,
      ptr: b.view(t.ptr),
      idx: b.view(t.idx),
      val: b.view(t.val),
      x,
      alpha: t.alpha,
      reg: t.reg,
      regMode: t.regMode,
      solver: t.solver,
      cgSteps: t.cgSteps,
      scratch: b.view(t.scratch),
    };
    const kk = t.k * t.k;
    for (;;) {
      const i = Atomics.add(next, 0, 1);
      if (i >= failed.length) return null;
      const row0 = blocks[2 * i]!;
      const row1 = blocks[2 * i + 1]!;
      const f = b.alsSolve({ ...args, row0, row1 });
      failed[i] = f;
      if (f < 0 && grams) b.gram({ x: x.subarray(row0 * t.k, row1 * t.k), rows: row1 - row0, cols: t.k, g: grams.subarray(i * kk, (i + 1) * kk) });
    }
  },
};

/**
 * Solve work per block (multiply-adds): at least a few milliseconds of kernel time, enough to amortise a thread
 * hop; beyond that a half-step is cut into about BLOCKS_PER_HALF blocks (a small set pays a hop per block for
 * little work: MovieLens 100K's half-steps were 17 blocks of a fraction of a millisecond each), and no block
 * exceeds BLOCK_WORK_MAX, so a large set still has enough blocks to keep every thread busy to the end.
 */
const BLOCK_WORK = 4_000_000;
const BLOCK_WORK_MAX = 32_000_000;
const BLOCKS_PER_HALF = 8;
/** Most blocks whose Gram partials `outGram` sums (see `alsSolve`). */
const MAX_GRAM_PARTIALS = 64;

/** Blocks of consecutive rows of about equal work (the data alone decides them), and the total work. */
export function alsBlocks(indptr: Int32Array, rows: number, k: number, cholesky: boolean, cgSteps: number): { blocks: RowRange[]; total: number } {
  const work = (r: number): number => {
    const n = indptr[r + 1]! - indptr[r]!;
    return cholesky ? n * k * k + (k * k * k) / 3 + k : (cgSteps + 1) * (k * k + 2 * n * k) + n * k;
  };
  let total = 0;
  for (let r = 0; r < rows; r++) total += work(r);
  const per = Math.min(BLOCK_WORK_MAX, Math.max(BLOCK_WORK, total / BLOCKS_PER_HALF));
  const blocks: RowRange[] = [];
  let acc = 0;
  let start = 0;
  for (let r = 0; r < rows; r++) {
    acc += work(r);
    if (acc >= per) {
      blocks.push({ row0: start, row1: r + 1 });
      start = r + 1;
      acc = 0;
    }
  }
  if (start < rows) blocks.push({ row0: start, row1: rows });
  return { blocks, total };
}

/**
 * One half-step: solves every row of `rows` (this side × other side, values r_ui ≥ 0) against the other side's
 * factors `y` (nOther × k) and writes the new factors into `x` (rows × k, f32; also the CG warm start).
 * A row whose system is not positive definite is NOT_POSITIVE_DEFINITE with `details.row` (the rows before it
 * in its block may already be written).
 */
export async function alsSolve(sched: Scheduler, rows: CsrInput, y: MatrixInput, x: Float32Array, opts: AlsSolveOptions): Promise<Float32Array> {
  const alpha = opts.alpha;
  const reg = opts.regularization;
  if (!(typeof alpha === 'number' && Number.isFinite(alpha) && alpha > 0)) throw new QuiverError('INVALID_ARGUMENT', `alpha must be a number > 0 (got ${String(alpha)})`);
  if (!(typeof reg === 'number' && Number.isFinite(reg) && reg >= 0)) throw new QuiverError('INVALID_ARGUMENT', `regularization must be a number ≥ 0 (got ${String(reg)})`);
  const solver = opts.solver ?? 'cholesky';
  if (solver !== 'cholesky' && solver !== 'cg') throw new QuiverError('INVALID_ARGUMENT', `solver must be 'cholesky' or 'cg' (got ${String(solver)})`);
  const mode = opts.regularizationMode ?? 'plain';
  if (mode !== 'plain' && mode !== 'count') throw new QuiverError('INVALID_ARGUMENT', `regularizationMode must be 'plain' or 'count' (got ${String(mode)})`);
  const cgSteps = solver === 'cg' ? checkPositiveInt(opts.cgSteps ?? 3, 'cgSteps') : 0;
  return sched.job(async (s) => {
    const c = csrInput(s, rows, 'rows');
    const ys = s.input(y, 'factors');
    const k = ys.cols;
    if (c.cols !== ys.rows) throw new QuiverError('SHAPE_MISMATCH', `the rows have ${c.cols} columns but there are ${ys.rows} factor rows`);
    if (x.length !== c.rows * k) throw new QuiverError('SHAPE_MISMATCH', `x must be ${c.rows} × ${k} (${c.rows * k} values, got ${x.length})`);
    let yty = opts.yty ?? null;
    if (yty) {
      if (yty.length !== k * k) throw new QuiverError('SHAPE_MISMATCH', `yty must be ${k} × ${k}`);
    } else {
      yty = (await gram(sched, { rows: ys.rows, cols: k, data: s.view(ys.region) }, { signal: opts.signal })).g;
    }
    const { blocks, total } = alsBlocks(s.view(c.indptr), c.rows, k, solver === 'cholesky', cgSteps);
    const ytyR = s.copy('f64', yty);
    const xr = s.copy('f32', x);
    const inline = total <= sched.inlineWork;
    const nTasks = inline ? 1 : Math.min(sched.threads, blocks.length);
    const sl = alsScratchLength(k);
    const scratch = s.alloc('f64', nTasks * sl, false);
    const outGram = opts.outGram ?? null;
    if (outGram && outGram.length !== k * k) throw new QuiverError('SHAPE_MISMATCH', `outGram must be ${k} × ${k}`);
    // Partials per block (each summed in the block's own task) while there are few; a large set (hundreds of
    // blocks: 45 MiB of partials at k = 128 on 100,000 users) gets one Gram call over the solved rows instead.
    const grams = outGram && blocks.length <= MAX_GRAM_PARTIALS ? s.alloc('f64', blocks.length * k * k) : null;
    const shared = {
      blocks: s.copy('i32', blocks.flatMap((bl) => [bl.row0, bl.row1])),
      next: s.alloc('i32', 1),
      failed: s.alloc('i32', blocks.length, false),
      yty: ytyR,
      y: ys.region,
      nOther: ys.rows,
      k,
      ptr: c.indptr,
      idx: c.indices,
      val: c.data,
      x: xr,
      alpha,
      reg,
      regMode: mode === 'count' ? (1 as const) : (0 as const),
      solver: solver === 'cg' ? (1 as const) : (0 as const),
      cgSteps,
      grams,
    };
    s.view(shared.failed).fill(-1);
    const tasks: AlsTask[] = Array.from({ length: nTasks }, (_, i) => ({ ...shared, scratch: { ...scratch, byteOffset: scratch.byteOffset + i * sl * 8, length: sl } }));
    await sched.dispatch(alsTask, tasks, total, opts.signal);
    // The first failing block in block order names the row, whichever worker met it first.
    const row = Array.from(s.view(shared.failed)).find((r) => r >= 0);
    if (row !== undefined) {
      throw new QuiverError('NOT_POSITIVE_DEFINITE', `the ALS system of row ${row} is not positive definite; use a regularization > 0`, { row });
    }
    x.set(s.view(xr));
    if (outGram && grams) outGram.set(mirrorUpper(sumBlocks(s.view(grams), blocks.length, k * k), k));
    else if (outGram) outGram.set((await gram(sched, { rows: c.rows, cols: k, data: s.view(xr) }, { signal: opts.signal })).g);
    return x;
  });
}
