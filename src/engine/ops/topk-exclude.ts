/**
 * Exact top-k with a per-row exclusion list (`topkExclTile`): query row i's k best base rows among those not
 * listed for it (a recommender's seen items), in one fused pass per query tile: the GEMM + heap of `topK`,
 * with listed cells skipped before the heap push. Scores, ties (to the lower index) and tiles are `topK`'s, so
 * the thread count never changes a result. A row whose list leaves fewer than k candidates gets -1 / −∞ in its
 * last slots (the result's `k` stays min(k, base rows) for every row).
 */
import type { Backend } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import type { Metric, TopKResult } from '../../types.js';
import type { CallOptions, RowRange, Scheduler, TaskKind } from '../schedule.js';
import type { F32, I32, MatrixInput } from '../scope.js';
import { checkMetric, checkPositiveInt, checkSameCols } from '../validate.js';
import { cosineOperands, scaleViews } from './normalize.js';
import { topkOutputs } from './topk.js';

/** Row i's excluded base rows are indices[indptr[i] .. indptr[i + 1]], ascending (duplicates allowed). */
export interface ExclusionLists {
  /** Query rows + 1 offsets into `indices`, non-decreasing (they need not start at 0). */
  indptr: Int32Array;
  indices: Int32Array;
}

export interface TopKExcludingOptions extends CallOptions {
  k: number;
  metric?: Metric;
  exclude: ExclusionLists;
}

export interface TopkExclTask extends RowRange {
  q: F32;
  x: F32;
  xRows: number;
  cols: number;
  k: number;
  /** Cosine: the rows' inverse norms (both or neither; see `cosineOperands`). */
  qScale: F32 | null;
  xScale: F32 | null;
  exclPtr: I32;
  exclIdx: I32;
  idx: I32;
  scores: F32;
}

export const topkExclTask: TaskKind<TopkExclTask, null> = {
  name: 'topkExcl',
  run(b: Backend, t: TopkExclTask): null {
    b.topkExclTile({
      q: b.view(t.q).subarray(t.row0 * t.cols, t.row1 * t.cols),
      qRows: t.row1 - t.row0,
      x: b.view(t.x),
      xRows: t.xRows,
      cols: t.cols,
      k: t.k,
      qOffset: t.row0,
      xOffset: 0,
      excludeSelf: false,
      ...scaleViews(b, t),
      exclPtr: b.view(t.exclPtr).subarray(t.row0, t.row1 + 1),
      exclIdx: b.view(t.exclIdx),
      outIdx: b.view(t.idx).subarray(t.row0 * t.k, t.row1 * t.k),
      outScores: b.view(t.scores).subarray(t.row0 * t.k, t.row1 * t.k),
    });
    return null;
  },
};

/** The lists must be readable as CSR over `rows` rows and ascending within [0, cols) per row. */
function checkExclusionLists(ex: ExclusionLists, rows: number, cols: number): void {
  if (typeof ex !== 'object' || ex === null) {
    throw new QuiverError('INVALID_ARGUMENT', 'exclude is required: { indptr, indices } (Int32Arrays, one list per query row)');
  }
  const { indptr, indices } = ex;
  if (!(indptr instanceof Int32Array) || !(indices instanceof Int32Array)) {
    throw new QuiverError('INVALID_ARGUMENT', 'exclude.indptr and exclude.indices must be Int32Arrays');
  }
  if (indptr.length !== rows + 1) {
    throw new QuiverError('SHAPE_MISMATCH', `exclude.indptr must have one entry per query row plus one (${rows + 1}), got ${indptr.length}`);
  }
  if (indptr[0]! < 0 || indptr[rows]! > indices.length) {
    throw new QuiverError('INVALID_ARGUMENT', `exclude.indptr must lie within [0, ${indices.length}] (exclude.indices' length)`);
  }
  for (let i = 0; i < rows; i++) {
    const b = indptr[i]!;
    const e = indptr[i + 1]!;
    if (e < b) throw new QuiverError('INVALID_ARGUMENT', `exclude.indptr decreases at row ${i}`, { row: i });
    let prev = -1;
    for (let p = b; p < e; p++) {
      const j = indices[p]!;
      if (j < prev || j < 0 || j >= cols) {
        throw new QuiverError('INVALID_ARGUMENT', `exclude.indices of row ${i} must be ascending base rows in [0, ${cols}) (got ${j} after ${prev})`, { row: i });
      }
      prev = j;
    }
  }
}

/**
 * Each query row's k best base rows (metric 'dot' or 'cosine', as `topK`) leaving out the rows its exclusion
 * list names. k larger than the base is clamped (the result's `k`); rows left with fewer candidates end with -1.
 */
export async function topKExcluding(sched: Scheduler, queries: MatrixInput, base: MatrixInput, opts: TopKExcludingOptions): Promise<TopKResult> {
  const metric = checkMetric(opts.metric);
  const requestedK = checkPositiveInt(opts.k, 'k');
  return sched.job(async (s) => {
    const qIn = s.input(queries, 'queries');
    const xIn = s.input(base, 'base');
    checkSameCols(qIn.cols, 'queries', xIn.cols, 'base');
    checkExclusionLists(opts.exclude, qIn.rows, xIn.rows);
    if (xIn.rows < 1) throw new QuiverError('INVALID_ARGUMENT', 'the base has no rows');
    const { q, x, qScale, xScale } =
      metric === 'cosine' ? await cosineOperands(sched, s, qIn, xIn, opts.signal) : { q: qIn, x: xIn, qScale: null, xScale: null };
    const k = Math.min(requestedK, x.rows);
    const { idx, scores } = topkOutputs(s, q.rows * k);
    const exclPtr = s.copy('i32', opts.exclude.indptr);
    const exclIdx = s.copy('i32', opts.exclude.indices);
    const tasks = sched.rowTiles(q.rows, 64).map((t) => ({ ...t, q: q.region, x: x.region, xRows: x.rows, cols: q.cols, k, qScale, xScale, exclPtr, exclIdx, idx, scores }));
    await sched.dispatch(topkExclTask, tasks, q.rows * x.rows * q.cols, opts.signal);
    return { indices: s.take(idx), scores: s.take(scores), rows: q.rows, k, requestedK };
  });
}
