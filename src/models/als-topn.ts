/**
 * ALS top-n scoring: the best n items for each query row by q·yᵀ, leaving out each row's seen items and the
 * items an allow mask forbids. Neither engine kernel knows about left-out items, so two exact paths:
 * - most rows ask the fused top-k for n + (items left out) candidates and drop the left-out ones (at most that
 *   many of the best can be dropped). Rows are grouped by that width (powers of two) so a heavy user does not
 *   widen everyone's heap. A first round asks for fewer (half the seen count) and a second round at the full
 *   width takes the rows it left short: a kept prefix of the same ranking is the same answer either way.
 * - rows whose width is a large share of the catalogue get dense scores (the similarity kernel, 'dot') and a
 *   top-n selection here with left-out items skipped: a top-k heap of thousands of slots costs more per row
 *   than a pass over every score (ml-latest-small has users with thousands of ratings).
 * Both rank by score, then lower index, and both take their scores from the same dot product (topk and
 * similarity share it on every backend), so which path a row takes never changes its answer.
 * The top-k groups are in flight together, so the pool overlaps small calls instead of waiting on each; the dense
 * chunks run one after another beside them, so their scores take one chunk of memory at a time.
 */
import type { Engine, StagedMatrix } from '../engine/engine.js';
import type { TopKResult } from '../types.js';

/**
 * A row goes dense when its top-k width is at least items / DENSE_SHARE: measured on MovieLens 100K and
 * ml-latest-small (64 and 128 factors, native), a heap that wide costs about what the scores and the selection do.
 */
const DENSE_SHARE = 32;
/**
 * The first round asks for n + seen·FIRST_SHARE (+ disallowed) candidates: a user's own items seldom fill all of
 * their best n + seen (on ml-latest-small half of them are enough for all but 3% of the users); rows left short
 * get a second round at the full width.
 */
const FIRST_SHARE = 0.5;
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
  const pow2 = (need: number): number => Math.min(items, 2 ** Math.ceil(Math.log2(Math.max(need, 1))));
  const full = (r: number): number => pow2(n + seen(r).length + req.disallowed);
  // Rows wide enough for dense scores take them at once (a dense row is never short).
  const guess = (r: number): number => {
    const w = full(r);
    return w * DENSE_SHARE >= items ? w : pow2(n + Math.ceil(seen(r).length * FIRST_SHARE) + req.disallowed);
  };
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
  /** One round over `list` at the given widths; returns the rows whose candidates ran out before n were kept. */
  const round = async (list: number[], widthOf: (r: number) => number): Promise<number[]> => {
    const groups = new Map<number, number[]>();
    const dense: number[] = [];
    for (const r of list) {
      const width = widthOf(r);
      if (width * DENSE_SHARE >= items && width > n) {
        dense.push(r);
        continue;
      }
      const g = groups.get(width) ?? [];
      groups.set(width, g);
      g.push(r);
    }
    const short: number[] = [];
    const calls: Promise<void>[] = [];
    for (const [width, members] of groups) {
      calls.push(
        engine.topK({ rows: members.length, cols: k, data: gather(members) }, base, { k: width, metric: 'dot', signal }).then((res) => {
          members.forEach((r, i) => {
            markRow(r, 1);
            let out = 0;
            // The candidates were all of the catalogue when a slot stayed empty or the width covers every item.
            let complete = res.k >= items;
            for (let p = 0; p < res.k && out < n; p++) {
              const j = res.indices[i * res.k + p]!;
              if (j < 0) {
                complete = true;
                break;
              }
              if (mark[j] || (allow && allow[j] === 0)) continue;
              indices[r * n + out] = j;
              scores[r * n + out] = res.scores[i * res.k + p]!;
              out++;
            }
            markRow(r, 0);
            if (out < n && !complete) {
              indices.fill(-1, r * n, (r + 1) * n);
              scores.fill(Number.NEGATIVE_INFINITY, r * n, (r + 1) * n);
              short.push(r);
            }
          });
        }),
      );
    }
    // The dense chunks run one after another (beside the top-k groups): each call's scores exist only until its
    // rows are selected, so the memory stays one chunk's DENSE_CELLS however many heavy users there are.
    const chunk = Math.max(1, Math.floor(DENSE_CELLS / items));
    let denseChain: Promise<void> = Promise.resolve();
    for (let c0 = 0; c0 < dense.length; c0 += chunk) {
      const members = dense.slice(c0, c0 + chunk);
      denseChain = denseChain.then(async () => {
        const m = await engine.cosineSimilarity({ rows: members.length, cols: k, data: gather(members) }, base, { metric: 'dot', signal });
        members.forEach((r, i) => {
          markRow(r, 1);
          selectRow(m.data.subarray(i * items, (i + 1) * items), mark, allow, n, indices, scores, r * n);
          markRow(r, 0);
        });
      });
    }
    calls.push(denseChain);
    await Promise.all(calls);
    return short;
  };
  // A narrower first guess, then the full width (which always suffices) for the rows it left short.
  const short = await round(Array.from({ length: rows }, (_, r) => r), guess);
  if (short.length > 0) await round(short, full);
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
