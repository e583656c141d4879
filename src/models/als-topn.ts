/**
 * ALS top-n scoring: the best n items for each query row by q·yᵀ, leaving out each row's seen items and the
 * items an allow mask forbids. Neither engine kernel knows about left-out items, so two exact paths:
 * - most rows ask the fused top-k for n + (items left out) candidates and drop the left-out ones (at most that
 *   many of the best can be dropped). Rows are grouped by that width (powers of two) so a heavy user does not
 *   widen everyone's heap.
 * - rows whose width is a large share of the catalogue get dense scores (the similarity kernel, 'dot') and a
 *   top-n selection here with left-out items skipped: a top-k heap of thousands of slots costs more per row
 *   than a pass over every score (ml-latest-small has users with thousands of ratings).
 * Both rank by score, then lower index, and both take their scores from the same dot product (topk and
 * similarity share it on every backend), so which path a row takes never changes its answer.
 * All groups are in flight together, so the pool overlaps small calls instead of waiting on each.
 */
import type { Engine, StagedMatrix } from '../engine/engine.js';
import type { TopKResult } from '../types.js';

/**
 * A row goes dense when its top-k width is at least items / DENSE_SHARE: measured on MovieLens 100K and
 * ml-latest-small (64 and 128 factors, native), a heap that wide costs about what the scores and the selection do.
 */
const DENSE_SHARE = 32;
/** Scores per dense call (16 MiB of f32): bounds the memory of a heavy group. */
const DENSE_CELLS = 1 << 22;

export interface TopNRequest {
  engine: Engine;
  /** items × factors, staged. */
  base: StagedMatrix;
  items: number;
  factors: number;
  /** rows × factors. */
  q: Float32Array;
  rows: number;
  /** n, already clamped to the item count. */
  n: number;
  requestedN: number;
  seen: (r: number) => Int32Array;
  allow: Int32Array | null;
  disallowed: number;
  signal?: AbortSignal;
}

export async function alsTopN(req: TopNRequest): Promise<TopKResult> {
  const { engine, base, items, factors: k, q, rows, n, seen, allow, signal } = req;
  const groups = new Map<number, number[]>();
  const dense: number[] = [];
  for (let r = 0; r < rows; r++) {
    const need = n + seen(r).length + req.disallowed;
    const width = Math.min(items, 2 ** Math.ceil(Math.log2(Math.max(need, 1))));
    if (width * DENSE_SHARE >= items && width > n) {
      dense.push(r);
      continue;
    }
    const g = groups.get(width) ?? [];
    groups.set(width, g);
    g.push(r);
  }
  const indices = new Int32Array(rows * n).fill(-1);
  const scores = new Float32Array(rows * n).fill(Number.NEGATIVE_INFINITY);
  // Shared by the groups' post-processing: each runs synchronously after its await and clears its marks.
  const mark = new Uint8Array(items);
  const gather = (members: number[]): Float32Array => {
    const gq = new Float32Array(members.length * k);
    for (const [i, r] of members.entries()) gq.set(q.subarray(r * k, (r + 1) * k), i * k);
    return gq;
  };
  const markRow = (r: number, on: 0 | 1): void => {
    for (const j of seen(r)) mark[j] = on;
  };
  const calls: Promise<void>[] = [];
  for (const [width, members] of groups) {
    calls.push(
      engine.topK({ rows: members.length, cols: k, data: gather(members) }, base, { k: width, metric: 'dot', signal }).then((res) => {
        members.forEach((r, i) => {
          markRow(r, 1);
          let out = 0;
          for (let p = 0; p < res.k && out < n; p++) {
            const j = res.indices[i * res.k + p]!;
            if (j < 0) break;
            if (mark[j] || (allow && allow[j] === 0)) continue;
            indices[r * n + out] = j;
            scores[r * n + out] = res.scores[i * res.k + p]!;
            out++;
          }
          markRow(r, 0);
        });
      }),
    );
  }
  const chunk = Math.max(1, Math.floor(DENSE_CELLS / items));
  for (let c0 = 0; c0 < dense.length; c0 += chunk) {
    const members = dense.slice(c0, c0 + chunk);
    calls.push(
      engine.cosineSimilarity({ rows: members.length, cols: k, data: gather(members) }, base, { metric: 'dot', signal }).then((m) => {
        members.forEach((r, i) => {
          markRow(r, 1);
          selectRow(m.data.subarray(i * items, (i + 1) * items), mark, allow, n, indices, scores, r * n);
          markRow(r, 0);
        });
      }),
    );
  }
  await Promise.all(calls);
  return { indices, scores, rows, k: n, requestedK: req.requestedN };
}

/**
 * The n best of one row's scores (higher score, then lower index) among items neither marked nor disallowed,
 * written best-first at outIdx[o..o+n); slots no candidate fills keep −1 / −∞ (as the top-k kernel leaves them).
 */
function selectRow(row: Float32Array, mark: Uint8Array, allow: Int32Array | null, n: number, outIdx: Int32Array, outScores: Float32Array, o: number): void {
  let worst = Number.NEGATIVE_INFINITY;
  const last = o + n - 1;
  for (let j = 0; j < row.length; j++) {
    const s = row[j]!;
    // Items come in index order, so an equal score never displaces a kept one: ties stay with the lower index.
    if (!(s > worst) || mark[j] || (allow && allow[j] === 0)) continue;
    let p = last;
    while (p > o && outScores[p - 1]! < s) {
      outScores[p] = outScores[p - 1]!;
      outIdx[p] = outIdx[p - 1]!;
      p--;
    }
    outScores[p] = s;
    outIdx[p] = j;
    worst = outScores[last]!;
  }
}
