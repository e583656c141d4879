/**
 * The matvec family (batch scoring): out[i] = link(x[i,:]·w + bias), link identity or sigmoid, in row tiles.
 * Small batches run on the caller's arrays directly: staging them would cost more than the arithmetic.
 */
import { LINK_IDENTITY, type Backend, type Link } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import type { CallOptions, RowRange, Scheduler, TaskKind } from '../schedule.js';
import { StagedMatrix, type F32, type F64, type MatrixInput } from '../scope.js';
import { checkFinite, checkMatrix, checkVector } from '../validate.js';

export interface MatvecTask extends RowRange {
  x: F32;
  cols: number;
  w: F64;
  bias: number;
  link: Link;
  out: F32;
}

/** Rows of x scored into out: the one kernel call of a tile, whether it runs in a worker or inline. */
function scoreRows(b: Backend, x: Float32Array, rows: number, cols: number, w: Float64Array, bias: number, link: Link, out: Float32Array): void {
  b.matvec({ x, rows, cols, w, bias, link, out });
}

export const matvecTask: TaskKind<MatvecTask, null> = {
  name: 'matvec',
  run(b: Backend, t: MatvecTask): null {
    const x = b.view(t.x).subarray(t.row0 * t.cols, t.row1 * t.cols);
    scoreRows(b, x, t.row1 - t.row0, t.cols, b.view(t.w), t.bias, t.link, b.view(t.out).subarray(t.row0, t.row1));
    return null;
  },
};

/** Batch scoring: out[i] = link(x[i,:]·w + bias), link 0 identity or 1 sigmoid. */
export async function matvec(sched: Scheduler, x: MatrixInput, w: Float64Array, bias: number, link: Link, opts: CallOptions): Promise<Float32Array> {
  const out = await scores(sched, x, w, bias, link, opts);
  // With the identity link (and w, bias finite) a score is non-finite exactly when its row holds a NaN or
  // ±Infinity (0·Inf is NaN), or the sum overflowed: so x's values were not scanned before the pass, only now
  // when a score says so, to name the cell (an overflow of finite values is returned as it is, as before).
  if (link === LINK_IDENTITY && !(x instanceof StagedMatrix) && !allFinite(out)) checkFinite(x.data, 'x', x.cols);
  return out;
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i]! - a[i]! !== 0) return false;
  return true;
}

async function scores(sched: Scheduler, x: MatrixInput, w: Float64Array, bias: number, link: Link, opts: CallOptions): Promise<Float32Array> {
  const staged = x instanceof StagedMatrix;
  if (!staged) checkMatrix(x, 'x', link !== LINK_IDENTITY);
  checkVector(w, 'coefficients', x.cols);
  if (!Number.isFinite(bias)) throw new QuiverError('NON_FINITE', `the intercept is not finite (${bias})`);
  const w64 = w instanceof Float64Array ? w : Float64Array.from(w);
  if (!staged && x.rows * x.cols <= sched.inlineWork) {
    // Online scoring: the kernel reads the caller's arrays directly; the per-row result is the same.
    sched.checkOpen(opts.signal);
    const out = new Float32Array(x.rows);
    scoreRows(sched.backend, x.data, x.rows, x.cols, w64, bias, link, out);
    return out;
  }
  return sched.job(async (s) => {
    const src = s.input(x, 'x', true);
    const wr = s.copy('f64', w64);
    const out = s.alloc('f32', src.rows);
    const tasks = sched.rowTiles(src.rows, 4096).map((t) => ({ ...t, x: src.region, cols: src.cols, w: wr, bias, link, out }));
    await sched.dispatch(matvecTask, tasks, src.rows * src.cols, opts.signal);
    return s.take(out);
  }, { borrow: opts.signal === undefined });
}
