/**
 * ALS top-n scoring: the best n items for each query row by q·yᵀ, leaving out each row's seen items and the
 * items an allow mask forbids, in one call of the engine's fused top-k with per-row exclusion lists
 * (`topKExcluding`): listed cells are skipped before the heap push, so each row's n best allowed items come
 * out of one pass, with no over-fetch and no second round. Ranking: higher score, then lower item index.
 * A row whose allowed unseen items number fewer than n gets -1 / −∞ in its last slots.
 *
 * Forbidden items join each row's list while they are few (an `exclude` list); when most of the catalogue is
 * forbidden (an `include` list) the rows are scored against the allowed items only, whose order is the
 * catalogue's, so the tie rule is unchanged.
 */
import type { Engine, ExclusionLists, StagedMatrix } from '../engine/engine.js';
import type { Matrix, TopKResult } from '../types.js';

export interface TopNRequest {
  engine: Engine;
  /** items × factors, staged. */
  base: StagedMatrix;
  /** The same factors as a plain array (the include-list path gathers allowed rows from it). */
  itemFactors: Float32Array;
  items: number;
  factors: number;
  /** rows × factors. */
  q: Float32Array;
  rows: number;
  /** n, already clamped to the item count. */
  n: number;
  requestedN: number;
  /** Row r's seen items, ascending (the ratings loader's rows are). */
  seen: (r: number) => Int32Array;
  allow: Int32Array | null;
  disallowed: number;
  signal?: AbortSignal;
}

export async function alsTopN(req: TopNRequest): Promise<TopKResult> {
  const { engine, items, factors, rows, n, seen, allow, signal } = req;
  const query: Matrix = { rows, cols: factors, data: req.q };
  if (rows === 0) return { indices: new Int32Array(0), scores: new Float32Array(0), rows, k: n, requestedK: req.requestedN };
  if (allow && req.disallowed * 2 > items) return includeOnly(req, allow);
  const forbidden = allow ? forbiddenItems(allow, req.disallowed) : EMPTY;
  if (forbidden.length === 0) {
    const exclude = exclusionLists(rows, seen, forbidden, null);
    const res = await engine.topKExcluding(query, req.base, { k: n, metric: 'dot', exclude, signal });
    return { indices: res.indices, scores: res.scores, rows, k: n, requestedK: req.requestedN };
  }
  // The forbidden items repeat in every row's list: rows go in chunks whose lists stay under LIST_CAP entries
  // (all users × half a catalogue at once would be rows·items/2 values, and past 2³¹ the offsets overflow).
  const chunk = Math.max(1, Math.floor(alsTopNLimits.listCap / (forbidden.length + 64)));
  const indices = new Int32Array(rows * n);
  const scores = new Float32Array(rows * n);
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const r1 = Math.min(rows, r0 + chunk);
    const exclude = exclusionLists(r1 - r0, (r) => seen(r0 + r), forbidden, null);
    const part: Matrix = { rows: r1 - r0, cols: factors, data: req.q.subarray(r0 * factors, r1 * factors) };
    const res = await engine.topKExcluding(part, req.base, { k: n, metric: 'dot', exclude, signal });
    indices.set(res.indices, r0 * n);
    scores.set(res.scores, r0 * n);
  }
  return { indices, scores, rows, k: n, requestedK: req.requestedN };
}

/**
 * `listCap`: entries of one call's exclusion lists at most when forbidden items repeat in every row (4 Mi
 * entries, 16 MiB of Int32). Mutable so that a test can make the chunks small.
 */
export const alsTopNLimits = { listCap: 4 << 20 };

/** Most items forbidden: score against the allowed items only, then map their indices back. */
async function includeOnly(req: TopNRequest, allow: Int32Array): Promise<TopKResult> {
  const { engine, items, factors: k, rows, n, seen, signal } = req;
  const kept = req.items - req.disallowed;
  const indices = new Int32Array(rows * n).fill(-1);
  const scores = new Float32Array(rows * n).fill(Number.NEGATIVE_INFINITY);
  if (kept === 0) return { indices, scores, rows, k: n, requestedK: req.requestedN };
  const toSub = new Int32Array(items).fill(-1);
  const fromSub = new Int32Array(kept);
  const sub = new Float32Array(kept * k);
  for (let j = 0, c = 0; j < items; j++) {
    if (allow[j] === 0) continue;
    toSub[j] = c;
    fromSub[c] = j;
    sub.set(req.itemFactors.subarray(j * k, (j + 1) * k), c * k);
    c++;
  }
  const exclude = exclusionLists(rows, seen, EMPTY, toSub);
  const res = await engine.topKExcluding({ rows, cols: k, data: req.q }, { rows: kept, cols: k, data: sub }, { k: Math.min(n, kept), metric: 'dot', exclude, signal });
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < res.k; p++) {
      const j = res.indices[r * res.k + p]!;
      if (j < 0) break;
      indices[r * n + p] = fromSub[j]!;
      scores[r * n + p] = res.scores[r * res.k + p]!;
    }
  }
  return { indices, scores, rows, k: n, requestedK: req.requestedN };
}

const EMPTY = new Int32Array(0);

function forbiddenItems(allow: Int32Array, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let j = 0, c = 0; j < allow.length; j++) if (allow[j] === 0) out[c++] = j;
  return out;
}

/**
 * Row r's list: seen(r) merged with `forbidden` (both ascending), or with `toSub` seen(r) renumbered into the
 * allowed items (those not allowed dropped). A row whose seen items are not ascending is sorted first.
 */
function exclusionLists(rows: number, seen: (r: number) => Int32Array, forbidden: Int32Array, toSub: Int32Array | null): ExclusionLists {
  let total = 0;
  for (let r = 0; r < rows; r++) total += seen(r).length + forbidden.length;
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(total);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    let s = seen(r);
    if (!ascending(s)) s = s.slice().sort();
    if (toSub) {
      for (const j of s) if (toSub[j]! >= 0) indices[o++] = toSub[j]!;
    } else if (forbidden.length === 0) {
      indices.set(s, o);
      o += s.length;
    } else {
      let a = 0;
      let b = 0;
      while (a < s.length || b < forbidden.length) {
        indices[o++] = b >= forbidden.length || (a < s.length && s[a]! <= forbidden[b]!) ? s[a++]! : forbidden[b++]!;
      }
    }
    indptr[r + 1] = o;
  }
  return { indptr, indices: indices.subarray(0, o) };
}

function ascending(s: Int32Array): boolean {
  for (let i = 1; i < s.length; i++) if (s[i]! < s[i - 1]!) return false;
  return true;
}
