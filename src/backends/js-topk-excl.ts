/**
 * The plain-JS `topkExclTile`: `topkTile`'s scores (f64 sums rounded to f32) and tie rule, where each query
 * row skips the global indices in its exclusion list. Columns ascend, so one cursor per row walks the sorted
 * list alongside them.
 */
import type { TopkExclTileArgs } from './types.js';

export function topkExclTileJs({ q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, exclPtr, exclIdx, outIdx, outScores }: TopkExclTileArgs): void {
  for (let i = 0; i < qRows; i++) {
    const qo = i * cols;
    const so = i * k;
    const self = qOffset + i;
    let c = exclPtr[i]!;
    const end = exclPtr[i + 1]!;
    for (let j = 0; j < xRows; j++) {
      const gj = xOffset + j;
      while (c < end && exclIdx[c]! < gj) c++;
      if ((c < end && exclIdx[c] === gj) || (excludeSelf && gj === self)) continue;
      const xo = j * cols;
      let s = 0;
      for (let d = 0; d < cols; d++) s += q[qo + d]! * x[xo + d]!;
      const sf = Math.fround(s);
      if (!better(sf, gj, outScores[so + k - 1]!, outIdx[so + k - 1]!)) continue;
      let p = k - 1;
      while (p > 0 && better(sf, gj, outScores[so + p - 1]!, outIdx[so + p - 1]!)) {
        outScores[so + p] = outScores[so + p - 1]!;
        outIdx[so + p] = outIdx[so + p - 1]!;
        p--;
      }
      outScores[so + p] = sf;
      outIdx[so + p] = gj;
    }
  }
}

/** Higher score first; equal scores by lower index. */
function better(s: number, j: number, t: number, i: number): boolean {
  return s > t || (s === t && j < i);
}
