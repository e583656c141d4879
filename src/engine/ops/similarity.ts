/**
 * Dense all-pairs similarity: C = A·Bᵀ in row strips (after normalising rows for cosine). Self-similarity
 * computes the upper triangle and diagonal blocks and mirrors them: half the work, the same bits (a dot
 * product is the same FMA chain with its operands swapped).
 */
import type { Backend } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import type { Matrix, Metric } from '../../types.js';
import type { CallOptions, RowRange, Scheduler, TaskKind } from '../schedule.js';
import type { F32, MatrixInput } from '../scope.js';
import { checkMetric, checkSameCols } from '../validate.js';
import { normalized } from './normalize.js';

export interface SimilarityTask extends RowRange {
  a: F32;
  b: F32;
  bRows: number;
  cols: number;
  out: F32;
  /**
   * Self-similarity (a and b are the same rows): compute only columns ≥ row0 of this strip and mirror the part
   * right of the strip's diagonal block into the rows below it. Strips write disjoint cells.
   */
  symmetric?: boolean;
}

export const similarityTask: TaskKind<SimilarityTask, null> = {
  name: 'similarity',
  run(b: Backend, t: SimilarityTask): null {
    const a = b.view(t.a).subarray(t.row0 * t.cols, t.row1 * t.cols);
    if (!t.symmetric) {
      const out = b.view(t.out).subarray(t.row0 * t.bRows, t.row1 * t.bRows);
      b.similarityTile({ a, aRows: t.row1 - t.row0, b: b.view(t.b), bRows: t.bRows, cols: t.cols, out, ldOut: t.bRows });
      return null;
    }
    // Cells (r, c) with c ≥ row0, then (c, r) = (r, c) for c ≥ row1.
    const n = t.bRows;
    const out = b.view(t.out);
    b.similarityTile({
      a,
      aRows: t.row1 - t.row0,
      b: b.view(t.b).subarray(t.row0 * t.cols),
      bRows: n - t.row0,
      cols: t.cols,
      out: out.subarray(t.row0 * n + t.row0),
      ldOut: n,
    });
    b.mirrorStrip(out, n, t.row0, t.row1);
    return null;
  },
};

/**
 * All-pairs similarity: rows of `a` against rows of `b` (default `a` itself), as an a.rows × b.rows matrix.
 * metric 'cosine' (default) normalises rows first; zero vectors have similarity 0 with everything.
 * `out` (optional, a.rows × b.rows) receives the answer; backed by a SharedArrayBuffer it is written in place.
 */
export async function cosineSimilarity(
  sched: Scheduler,
  a: MatrixInput,
  b: MatrixInput | undefined,
  opts: CallOptions & { metric?: Metric; out?: Float32Array },
): Promise<Matrix> {
  const metric = checkMetric(opts.metric);
  return sched.job(async (s) => {
    const self = b === undefined || b === a;
    const an = metric === 'cosine' ? await normalized(sched, s, a, 'a', opts.signal) : s.input(a, 'a');
    const bn = self ? an : metric === 'cosine' ? await normalized(sched, s, b, 'b', opts.signal) : s.input(b, 'b');
    checkSameCols(an.cols, 'a', bn.cols, 'b');
    const cells = an.rows * bn.rows;
    const given = opts.out;
    if (given !== undefined && (!(given instanceof Float32Array) || given.length !== cells)) {
      throw new QuiverError('SHAPE_MISMATCH', `out must be a Float32Array of ${an.rows} × ${bn.rows} = ${cells} values`, { expected: cells });
    }
    // A caller's SharedArrayBuffer-backed `out` is written in place by the workers (like numpy's out=):
    // no allocation and no page faults for a fresh answer.
    const out: F32 = given ? s.outputRegion(given, 'f32') : s.alloc('f32', cells);
    // Strips near the top of a self-similarity cost more, so there are more of them than threads for the
    // pool to balance.
    const tiles =
      self && sched.tileRows === undefined ? sched.rowTilesOf(an.rows, Math.max(16, Math.ceil(an.rows / (sched.threads * 8)))) : sched.rowTiles(an.rows, 16);
    const tasks = tiles.map((t) => ({ ...t, a: an.region, b: bn.region, bRows: bn.rows, cols: an.cols, out, symmetric: self }));
    await sched.dispatch(similarityTask, tasks, (an.rows * bn.rows * an.cols) / (self ? 2 : 1), opts.signal);
    return { rows: an.rows, cols: bn.rows, data: given ? s.deliver(out, given) : s.take(out) };
  }, { borrow: opts.signal === undefined });
}
