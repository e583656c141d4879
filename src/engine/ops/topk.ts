/**
 * Exact top-k: per query tile, the fused q·xᵀ with a running per-row top-k (`topkTile`), ties to the lower
 * index. Cosine reads the inputs in place and scales each score by the two inverse norms (`cosineOperands`).
 * Query rows are independent, so tiles never change a result; the n × m product is never built.
 */
import type { Backend } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import type { Metric, TopKResult } from '../../types.js';
import type { CallOptions, RowRange, Scheduler, TaskKind } from '../schedule.js';
import type { F32, I32, MatrixInput, Scope } from '../scope.js';
import { checkMetric, checkPositiveInt, checkSameCols } from '../validate.js';
import { cosineOperands, scaleViews } from './normalize.js';

export interface TopKOptions extends CallOptions {
  k: number;
  metric?: Metric;
  /** Skip base row i for query i (self-joins: similar items of an item exclude the item itself). */
  excludeSelf?: boolean;
}

export interface TopkTask extends RowRange {
  q: F32;
  x: F32;
  xRows: number;
  cols: number;
  k: number;
  excludeSelf: boolean;
  /** Cosine: the rows' inverse norms (both or neither; see `cosineOperands`). */
  qScale: F32 | null;
  xScale: F32 | null;
  idx: I32;
  scores: F32;
}

export const topkTask: TaskKind<TopkTask, null> = {
  name: 'topk',
  run(b: Backend, t: TopkTask): null {
    const q = b.view(t.q).subarray(t.row0 * t.cols, t.row1 * t.cols);
    const idx = b.view(t.idx).subarray(t.row0 * t.k, t.row1 * t.k);
    const scores = b.view(t.scores).subarray(t.row0 * t.k, t.row1 * t.k);
    b.topkTile({
      q,
      qRows: t.row1 - t.row0,
      x: b.view(t.x),
      xRows: t.xRows,
      cols: t.cols,
      k: t.k,
      qOffset: t.row0,
      xOffset: 0,
      excludeSelf: t.excludeSelf,
      ...scaleViews(b, t),
      outIdx: idx,
      outScores: scores,
    });
    return null;
  },
};

/** Top-k outputs of `cells` slots: indices -1 and scores −∞ until a candidate fills them. */
export function topkOutputs(s: Scope, cells: number): { idx: I32; scores: F32 } {
  const idx = s.alloc('i32', cells, false);
  const scores = s.alloc('f32', cells, false);
  s.view(idx).fill(-1);
  s.view(scores).fill(Number.NEGATIVE_INFINITY);
  return { idx, scores };
}

/**
 * Exact top-k neighbours of each query row among the base rows (default: the queries themselves).
 * k larger than the candidates available is clamped: the result's `k` says how many were returned.
 */
export async function topK(sched: Scheduler, queries: MatrixInput, base: MatrixInput | undefined, opts: TopKOptions): Promise<TopKResult> {
  const metric = checkMetric(opts.metric);
  const requestedK = checkPositiveInt(opts.k, 'k');
  const excludeSelf = opts.excludeSelf === true;
  return sched.job(async (s) => {
    const self = base === undefined || base === queries;
    const qIn = s.input(queries, 'queries');
    const xIn = self ? undefined : s.input(base, 'base');
    const xRows = xIn?.rows ?? qIn.rows;
    // Shapes are checked before the norms' pass, which cosine dispatches.
    if (xIn) checkSameCols(qIn.cols, 'queries', xIn.cols, 'base');
    if (excludeSelf && !self && qIn.rows > xRows) {
      // Index-based exclusion still works, but some queries would have no self to exclude: say so.
      throw new QuiverError('INVALID_ARGUMENT', `excludeSelf pairs query i with base row i, but there are ${qIn.rows} queries and only ${xRows} base rows`);
    }
    const candidates = excludeSelf ? xRows - 1 : xRows;
    if (candidates < 1) throw new QuiverError('INVALID_ARGUMENT', 'the base has no candidate rows (one row, and excludeSelf removes it)');
    const { q, x, qScale, xScale } =
      metric === 'cosine' ? await cosineOperands(sched, s, qIn, xIn, opts.signal) : { q: qIn, x: xIn ?? qIn, qScale: null, xScale: null };
    const k = Math.min(requestedK, candidates);
    const { idx, scores } = topkOutputs(s, q.rows * k);
    const tasks = sched.rowTiles(q.rows, 64).map((t) => ({ ...t, q: q.region, x: x.region, xRows: x.rows, cols: q.cols, k, excludeSelf, qScale, xScale, idx, scores }));
    await sched.dispatch(topkTask, tasks, q.rows * x.rows * q.cols, opts.signal);
    return { indices: s.take(idx), scores: s.take(scores), rows: q.rows, k, requestedK };
  }, { borrow: opts.signal === undefined });
}
