/**
 * Runs one task against a backend. The worker calls it; the engine calls it too for work small enough to
 * run inline, so both paths execute the very same kernel calls (results cannot depend on where they ran).
 */
import type { Backend } from '../backends/types.js';
import { logisticLayout } from '../backends/types.js';
import { kmeansBlock, kmeansViews, runLloydMember } from '../engine/lloyd.js';
import type { TaskMap, TaskName } from './tasks.js';

type Handlers = { [N in TaskName]: (b: Backend, t: TaskMap[N][0]) => TaskMap[N][1] };

export const handlers: Handlers = {
  normalize(b, t) {
    const x = b.view(t.x).subarray(t.row0 * t.cols, t.row1 * t.cols);
    const out = b.view(t.out).subarray(t.row0 * t.cols, t.row1 * t.cols);
    b.normalizeRows(x, t.row1 - t.row0, t.cols, out, b.view(t.norms).subarray(t.row0, t.row1));
    return null;
  },
  similarity(b, t) {
    const a = b.view(t.a).subarray(t.row0 * t.cols, t.row1 * t.cols);
    if (!t.symmetric) {
      const out = b.view(t.out).subarray(t.row0 * t.bRows, t.row1 * t.bRows);
      b.similarityTile({ a, aRows: t.row1 - t.row0, b: b.view(t.b), bRows: t.bRows, cols: t.cols, out, ldOut: t.bRows });
      return null;
    }
    // Cells (r, c) with c ≥ row0, then (c, r) = (r, c) for c ≥ row1. A dot product is the same FMA chain with
    // its operands swapped, so the mirrored cells equal what the full product would have computed.
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
    mirrorStrip(out, n, t.row0, t.row1);
    return null;
  },
  topk(b, t) {
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
      outIdx: idx,
      outScores: scores,
    });
    return null;
  },
  kmeans(b, t) {
    const v = kmeansViews(b, t, b.view(t.centroids), t.minDist2);
    const sums = b.view(t.sums);
    const counts = b.view(t.counts);
    const inertia: number[] = [];
    const changes = t.changes ? new Int32Array(1) : null;
    for (let blk = t.block0; blk < t.block1; blk++) inertia.push(kmeansBlock(b, v, blk, sums, counts, changes));
    return { inertia, changed: changes ? changes[0]! : 0 };
  },
  lloyd(b, t) {
    return runLloydMember(b, t);
  },
  gram(b, t) {
    const x = b.view(t.x);
    const w = t.w ? b.view(t.w) : null;
    const center = t.center ? b.view(t.center) : null;
    const v = t.v ? b.view(t.v) : null;
    const g = b.view(t.g);
    const xty = t.xty ? b.view(t.xty) : null;
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
      });
    }
    return null;
  },
  logistic(b, t) {
    const x = b.view(t.x);
    const y = b.view(t.y);
    const s = t.s ? b.view(t.s) : null;
    const beta = b.view(t.beta);
    const z = b.view(t.z);
    const out = b.view(t.out);
    const len = logisticLayout(t.cols).length;
    for (let blk = t.block0; blk < t.block1; blk++) {
      const r0 = blk * t.blockRows;
      const r1 = Math.min(t.rows, r0 + t.blockRows);
      b.logisticPass({
        x: x.subarray(r0 * t.cols, r1 * t.cols),
        rows: r1 - r0,
        cols: t.cols,
        y: y.subarray(r0, r1),
        s: s ? s.subarray(r0, r1) : null,
        beta,
        bias: t.bias,
        hessian: t.hessian,
        z: z.subarray(r0, r1),
        out: out.subarray(blk * len, (blk + 1) * len),
      });
    }
    return null;
  },
  matvec(b, t) {
    const x = b.view(t.x).subarray(t.row0 * t.cols, t.row1 * t.cols);
    b.matvec({ x, rows: t.row1 - t.row0, cols: t.cols, w: b.view(t.w), bias: t.bias, link: t.link, out: b.view(t.out).subarray(t.row0, t.row1) });
    return null;
  },
  cholesky(b, t) {
    b.choleskySolve(b.view(t.g), t.n, b.view(t.b), t.nrhs);
    return null;
  },
  sparseSimilarity(b, t) {
    const o0 = (t.row0 - t.outRow0) * t.k;
    const o1 = (t.row1 - t.outRow0) * t.k;
    b.sparseSimilarityTopk({
      aPtr: b.view(t.aPtr),
      aIdx: b.view(t.aIdx),
      aVal: b.view(t.aVal),
      bPtr: b.view(t.bPtr),
      bIdx: b.view(t.bIdx),
      bVal: b.view(t.bVal),
      row0: t.row0,
      row1: t.row1,
      nCols: t.nCols,
      rowNorms: t.rowNorms ? b.view(t.rowNorms) : null,
      colNorms: t.colNorms ? b.view(t.colNorms) : null,
      shrink: t.shrink,
      k: t.k,
      excludeSelf: t.excludeSelf,
      acc: b.view(t.acc),
      mark: b.view(t.mark),
      list: b.view(t.list),
      outIdx: b.view(t.idx).subarray(o0, o1),
      outScores: b.view(t.scores).subarray(o0, o1),
    });
    return null;
  },
  sparseScore(b, t) {
    const o0 = (t.row0 - t.outRow0) * t.n;
    const o1 = (t.row1 - t.outRow0) * t.n;
    b.sparseScoreTopn({
      aPtr: b.view(t.aPtr),
      aIdx: b.view(t.aIdx),
      aVal: b.view(t.aVal),
      mPtr: b.view(t.mPtr),
      mIdx: b.view(t.mIdx),
      mVal: b.view(t.mVal),
      seenPtr: t.seenPtr ? b.view(t.seenPtr) : null,
      seenIdx: t.seenIdx ? b.view(t.seenIdx) : null,
      allow: t.allow ? b.view(t.allow) : null,
      normalize: t.normalize,
      row0: t.row0,
      row1: t.row1,
      nCols: t.nCols,
      n: t.n,
      acc: b.view(t.acc),
      den: t.den ? b.view(t.den) : null,
      mark: b.view(t.mark),
      list: b.view(t.list),
      outIdx: b.view(t.idx).subarray(o0, o1),
      outScores: b.view(t.scores).subarray(o0, o1),
    });
    return null;
  },
};

/** out[c, r] = out[r, c] for r in [row0, row1), c in [row1, n), in 32 × 32 tiles (reads stay in cache). */
function mirrorStrip(out: Float32Array, n: number, row0: number, row1: number): void {
  const T = 32;
  for (let r0 = row0; r0 < row1; r0 += T) {
    const r1 = Math.min(row1, r0 + T);
    for (let c0 = row1; c0 < n; c0 += T) {
      const c1 = Math.min(n, c0 + T);
      for (let c = c0; c < c1; c++) {
        const dst = c * n;
        for (let r = r0; r < r1; r++) out[dst + r] = out[r * n + c]!;
      }
    }
  }
}

export function runTask<N extends TaskName>(b: Backend, name: N, task: TaskMap[N][0]): TaskMap[N][1] {
  return (handlers[name] as (b: Backend, t: TaskMap[N][0]) => TaskMap[N][1])(b, task);
}
