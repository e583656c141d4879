/**
 * Back-fill: a user whose model list is shorter than n (item kNN scores only the neighbours of the user's items,
 * so a user who only touched items nobody else has gets nothing) is topped up with the most popular items (most
 * training users, ties to the lower index) that the list does not hold, that the user has not seen (with
 * filterSeen) and that the allow mask permits.
 *
 * Back-filled items always come after the model's items, and their scores are below every model score of the
 * row: the t-th back-filled item (t = 1, 2, …) scores min(0, the row's lowest model score) − t. They are marked
 * (`backfilled[r]` counts the trailing back-filled slots of row r; `source: 'popular'` on ScoredItem; a source
 * column or field in bulk outputs), so a client can always tell a model recommendation from a filler.
 */
import { colCounts, hasEntry } from '../data/csr.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix, TopKResult } from '../types.js';

export type BackfillMode = 'none' | 'popular';

/** A top-n result with, per row, how many of its trailing items were back-filled (absent: none were). */
export interface FilledTopK extends TopKResult {
  backfilled?: Int32Array;
}

export function checkBackfill(v: unknown): BackfillMode {
  if (v === undefined || v === 'none') return 'none';
  if (v === 'popular') return v;
  throw new QuiverError('INVALID_ARGUMENT', `backfill must be none or popular (got ${JSON.stringify(v)})`);
}

/** Items by training users, most first (ties to the lower index). */
export function popularityOrder(train: CsrMatrix): Int32Array {
  const counts = colCounts(train);
  const order = Int32Array.from({ length: train.cols }, (_, j) => j);
  order.sort((a, b) => counts[b]! - counts[a]! || a - b);
  return order;
}

/**
 * Tops up each short row of `res` (see the module comment). `userOf(r)` is the training row of result row r
 * (−1 for a basket, whose seen items are `basketSeen`). Returns a new result; `res` is not modified.
 */
export function backfillRows(
  res: TopKResult,
  order: Int32Array,
  seen: { train: CsrMatrix; userOf: (r: number) => number; basketSeen?: ReadonlySet<number> } | null,
  allow: Int32Array | null,
): FilledTopK {
  const k = res.k;
  const indices = res.indices.slice();
  const scores = res.scores.slice();
  const backfilled = new Int32Array(res.rows);
  const inList = new Set<number>();
  for (let r = 0; r < res.rows; r++) {
    let got = 0;
    while (got < k && indices[r * k + got]! >= 0) got++;
    if (got === k) continue;
    inList.clear();
    let low = 0;
    for (let t = 0; t < got; t++) {
      inList.add(indices[r * k + t]!);
      low = Math.min(low, scores[r * k + t]!);
    }
    const u = seen ? seen.userOf(r) : -1;
    let added = 0;
    for (let q = 0; q < order.length && got < k; q++) {
      const j = order[q]!;
      if (inList.has(j) || (allow && allow[j] === 0)) continue;
      if (seen && (u >= 0 ? hasEntry(seen.train, u, j) : seen.basketSeen?.has(j))) continue;
      added++;
      indices[r * k + got] = j;
      scores[r * k + got] = low - added;
      got++;
    }
    backfilled[r] = added;
  }
  return { ...res, indices, scores, backfilled };
}

/** Users (rows) with no item at all, and rows with at least one back-filled item. */
export function countShortRows(res: FilledTopK): { empty: number; backfilled: number } {
  let empty = 0;
  let filled = 0;
  for (let r = 0; r < res.rows; r++) {
    if (res.k === 0 || res.indices[r * res.k]! < 0) empty++;
    if (res.backfilled && res.backfilled[r]! > 0) filled++;
  }
  return { empty, backfilled: filled };
}
