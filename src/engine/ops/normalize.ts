/**
 * Row normalisation (the first half of cosine similarity and top-k): row tiles, each row scaled to unit
 * length by the backend's `normalizeRows`, its norm recorded. Rows are independent, so tiles are too.
 */
import type { Backend } from '../../backends/types.js';
import type { CallOptions, RowRange, Scheduler, TaskKind } from '../schedule.js';
import type { DenseRegion, F32, MatrixInput, Scope } from '../scope.js';
import type { Matrix } from '../../types.js';

export interface NormalizeTask extends RowRange {
  x: F32;
  cols: number;
  out: F32;
  norms: F32;
}

export const normalizeTask: TaskKind<NormalizeTask, null> = {
  name: 'normalize',
  run(b: Backend, t: NormalizeTask): null {
    const x = b.view(t.x).subarray(t.row0 * t.cols, t.row1 * t.cols);
    const out = b.view(t.out).subarray(t.row0 * t.cols, t.row1 * t.cols);
    b.normalizeRows(x, t.row1 - t.row0, t.cols, out, b.view(t.norms).subarray(t.row0, t.row1));
    return null;
  },
};

/** Normalises the rows of `src` into `out` (which may be `src.region`); returns the norms' region. */
export async function normalizeInto(sched: Scheduler, s: Scope, src: DenseRegion, out: F32, signal?: AbortSignal): Promise<F32> {
  const norms = s.alloc('f32', src.rows);
  const tasks = sched.rowTiles(src.rows, 256).map((t) => ({ ...t, x: src.region, cols: src.cols, out, norms }));
  await sched.dispatch(normalizeTask, tasks, src.rows * src.cols, signal);
  return norms;
}

/**
 * A normalised copy of an input; a plain input's job copy is normalised in place (never the caller's memory,
 * which staged and shared inputs are).
 */
export async function normalized(sched: Scheduler, s: Scope, m: MatrixInput, name: string, signal?: AbortSignal): Promise<DenseRegion> {
  const src = s.input(m, name);
  const out = src.copied ? src.region : s.alloc('f32', src.rows * src.cols);
  await normalizeInto(sched, s, src, out, signal);
  return { region: out, rows: src.rows, cols: src.cols };
}

/** Row-normalised copy of a matrix (zero rows stay zero), with the norms. */
export async function normalizeRows(sched: Scheduler, x: MatrixInput, opts: CallOptions = {}): Promise<{ matrix: Matrix; norms: Float32Array }> {
  return sched.job(async (s) => {
    const src = s.input(x, 'x');
    const out = s.alloc('f32', src.rows * src.cols);
    const norms = await normalizeInto(sched, s, src, out, opts.signal);
    return { matrix: { rows: src.rows, cols: src.cols, data: s.take(out) }, norms: s.take(norms) };
  }, { borrow: opts.signal === undefined });
}
