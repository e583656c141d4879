/**
 * The plain-JS `topkExclTile`, and `topkTile` as its case with every list empty: scores are f64 sums rounded
 * to f32 (then, for cosine, scaled by the two inverse norms in f32), ties go to the lower index, and each query row skips the global indices in its exclusion list.
 * Columns ascend, so one cursor per row walks the sorted list alongside them.
 */
import type { TopkExclTileArgs } from './types.js';

export function topkExclTileJs({ q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, qScale, xScale, exclPtr, exclIdx, outIdx, outScores }: TopkExclTileArgs): void {
  const scaled = qScale != null && xScale != null;
  for (let i = 0; i < qRows; i++) {
    const qs = scaled ? qScale[i]! : 1;
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
      const dot = Math.fround(s);
      insertTopk(outIdx, outScores, so, k, scaled ? Math.fround(Math.fround(dot * qs) * xScale[j]!) : dot, gj);
    }
  }
}

/** Merges candidate (s, j) into the sorted list of k entries at `so` (best first; ties to the lower index). */
export function insertTopk(outIdx: Int32Array, outScores: Float32Array, so: number, k: number, s: number, j: number): void {
  if (k <= 0 || !better(s, j, outScores[so + k - 1]!, outIdx[so + k - 1]!)) return;
  let p = k - 1;
  while (p > 0 && better(s, j, outScores[so + p - 1]!, outIdx[so + p - 1]!)) {
    outScores[so + p] = outScores[so + p - 1]!;
    outIdx[so + p] = outIdx[so + p - 1]!;
    p--;
  }
  outScores[so + p] = s;
  outIdx[so + p] = j;
}

/** Is candidate (s, j) better than (t, i)? Higher score first, then lower index. Empty slots hold
 * (-Infinity, -1); inputs are finite, so any candidate beats them. */
function better(s: number, j: number, t: number, i: number): boolean {
  return s > t || (s === t && j < i);
}
