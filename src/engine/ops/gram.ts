/**
 * The Gram family: G = XᵀWX (f64; kernels write the upper triangle, mirrored here) and optionally Xᵀv and
 * the weighted column sums, with optional centring. Reduction blocks of a shape-fixed size each write a
 * partial, summed in block order (so results do not depend on the thread count).
 */
import type { Backend } from '../../backends/types.js';
import { mirrorUpper, sumBlocks } from '../merge.js';
import type { BlockRange, CallOptions, Scheduler, TaskKind } from '../schedule.js';
import type { F32, F64, MatrixInput } from '../scope.js';
import { QuiverError } from '../../errors.js';
import { checkVector } from '../validate.js';

export interface GramOptions extends CallOptions {
  /** Row weights W (default all ones). */
  w?: Float64Array | null;
  /** Subtract this vector from every row first (centring). */
  center?: Float64Array | null;
  /** Also compute Xᵀv (v is not multiplied by w). */
  v?: Float64Array | null;
  /** Also return Σ_i w_i (x_i − center), in the same pass. */
  sums?: boolean;
  /** 'f32': f32 sums over 128-row blocks added into f64 (native SIMD only; see GramArgs). Default 'f64'. */
  accumulate?: 'f64' | 'f32';
  /**
   * Scan w and v for NaN and ±Infinity (default true). false when the caller has checked them already (the fits
   * build v and check it through its sums): on 1M rows each scan is a millisecond or two on the calling thread,
   * before the pass can start. `center` (cols values) is always scanned; x is checked as `stage` / the input
   * rules say, not by this.
   */
  checkValues?: boolean;
}

export interface GramResult {
  /** cols × cols, symmetric (both triangles filled). */
  g: Float64Array;
  xty: Float64Array | null;
  /** Σ_i w_i (x_i − center) when `sums` was asked for. */
  sums: Float64Array | null;
}

export interface GramTask extends BlockRange {
  x: F32;
  cols: number;
  w: F64 | null;
  center: F64 | null;
  v: F64 | null;
  /** nBlocks × cols × cols partial Gram matrices and nBlocks × cols partial Xᵀv. */
  g: F64;
  xty: F64 | null;
  /** nBlocks × cols partial Σ w (x − c). */
  sums: F64 | null;
  accumulate: 'f64' | 'f32';
}

export const gramTask: TaskKind<GramTask, null> = {
  name: 'gram',
  run(b: Backend, t: GramTask): null {
    const x = b.view(t.x);
    const w = t.w ? b.view(t.w) : null;
    const center = t.center ? b.view(t.center) : null;
    const v = t.v ? b.view(t.v) : null;
    const g = b.view(t.g);
    const xty = t.xty ? b.view(t.xty) : null;
    const sums = t.sums ? b.view(t.sums) : null;
    const cc = t.cols * t.cols;
    for (let blk = t.block0; blk < t.block1; blk++) {
      const r0 = blk * t.blockRows;
      const r1 = Math.min(t.rows, r0 + t.blockRows);
      b.gram({
        x: x.subarray(r0 * t.cols, r1 * t.cols),
        rows: r1 - r0,
        cols: t.cols,
        w: w ? w.subarray(r0, r1) : null,
        center,
        v: v ? v.subarray(r0, r1) : null,
        g: g.subarray(blk * cc, (blk + 1) * cc),
        xty: xty ? xty.subarray(blk * t.cols, (blk + 1) * t.cols) : null,
        sums: sums ? sums.subarray(blk * t.cols, (blk + 1) * t.cols) : null,
        accumulate: t.accumulate,
      });
    }
    return null;
  },
};

/** XᵀWX (f64, symmetric) and optionally Xᵀv, with optional centring. */
export async function gram(sched: Scheduler, x: MatrixInput, opts: GramOptions): Promise<GramResult> {
  return sched.job(async (s) => {
    const src = s.input(x, 'x');
    const { rows, cols } = src;
    // Weights and v are read in place when the workers can (an engine-allocated vector), else copied.
    const scan = opts.checkValues !== false;
    const w = opts.w ? s.vectorIn('f64', checkVector(opts.w, 'weights', rows, scan)) : null;
    const v = opts.v ? s.vectorIn('f64', checkVector(opts.v, 'v', rows, scan)) : null;
    let center: F64 | null = null;
    if (opts.center) {
      checkVector(opts.center, 'center', cols);
      center = s.copy('f64', opts.center);
    }
    const { blockRows, nBlocks, groups } = sched.reduceBlocks(rows);
    const g: F64 = s.alloc('f64', nBlocks * cols * cols);
    const xty: F64 | null = v ? s.alloc('f64', nBlocks * cols) : null;
    const sums: F64 | null = opts.sums ? s.alloc('f64', nBlocks * cols) : null;
    const accumulate = opts.accumulate ?? 'f64';
    if (accumulate !== 'f64' && accumulate !== 'f32') throw new QuiverError('INVALID_ARGUMENT', `accumulate must be 'f64' or 'f32', got ${String(accumulate)}`);
    const tasks = groups.map((gr) => ({ ...gr, blockRows, rows, x: src.region, cols, w, center, v, g, xty, sums, accumulate }));
    await sched.dispatch(gramTask, tasks, (rows * cols * cols) / 2, opts.signal);
    const full = sumBlocks(s.view(g), nBlocks, cols * cols);
    mirrorUpper(full, cols);
    return { g: full, xty: xty ? sumBlocks(s.view(xty), nBlocks, cols) : null, sums: sums ? sumBlocks(s.view(sums), nBlocks, cols) : null };
  }, { borrow: opts.signal === undefined });
}
