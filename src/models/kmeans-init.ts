/**
 * KMeans initialisation (src/models/kmeans.ts): greedy k-means++ (the best of 2 + ⌊ln k⌋ candidates drawn
 * ∝ w·D²), random distinct rows (∝ w with sample weights), and the distinct-row count that bounds k.
 */
import type { CallOptions, Engine, StagedMatrix } from '../engine/engine.js';
import { checkFinite } from '../engine/validate.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { type Rng, sampleWithoutReplacement } from '../data/random.js';

/** Squared distances of every row to one row of x, through the engine (f64). */
async function distancesTo(engine: Engine, staged: StagedMatrix, x: Matrix, row: number, opts: CallOptions): Promise<Float64Array> {
  const d = x.cols;
  const c = { rows: 1, cols: d, data: x.data.slice(row * d, (row + 1) * d) };
  return (await engine.kmeansStep(staged, c, null, { signal: opts.signal })).minDist2!;
}

/** First index i with cum[i] ≥ r (numpy's searchsorted, side 'left'), clipped to the last index. */
function searchSorted(cum: Float64Array, r: number): number {
  let lo = 0;
  let hi = cum.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid]! < r) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(lo, cum.length - 1);
}

export async function kmeansPlusPlus(
  engine: Engine,
  staged: StagedMatrix,
  x: Matrix,
  k: number,
  w: Float64Array | null,
  rng: Rng,
  opts: CallOptions,
): Promise<Float64Array> {
  const n = x.rows;
  const d = x.cols;
  const centers = new Float64Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  const cum = new Float64Array(n);
  let first: number;
  if (w) {
    let s = 0;
    for (let i = 0; i < n; i++) cum[i] = s += w[i]!;
    first = searchSorted(cum, rng.next() * s);
  } else first = rng.int(n);
  for (let j = 0; j < d; j++) centers[j] = x.data[first * d + j]!;
  let closest = await distancesTo(engine, staged, x, first, opts);
  let pot = 0;
  for (let i = 0; i < n; i++) pot += (w ? w[i]! : 1) * closest[i]!;
  if (!Number.isFinite(pot)) {
    // The first pass over x: a non-finite value shows here (the scan names it) before it can steer the draws.
    checkFinite(x.data, 'x', d);
    throw new QuiverError('INTERNAL', 'kmeans++: the potential is not finite, but every value of x is');
  }
  for (let c = 1; c < k; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) cum[i] = s += (w ? w[i]! : 1) * closest[i]!;
    let bestPot = Infinity;
    let bestRow = -1;
    let bestDist: Float64Array | null = null;
    for (let t = 0; t < trials; t++) {
      const cand = searchSorted(cum, rng.next() * pot);
      const dc = await distancesTo(engine, staged, x, cand, opts);
      let p = 0;
      for (let i = 0; i < n; i++) {
        const m = Math.min(closest[i]!, dc[i]!);
        dc[i] = m;
        p += (w ? w[i]! : 1) * m;
      }
      if (p < bestPot) {
        bestPot = p;
        bestRow = cand;
        bestDist = dc;
      }
    }
    pot = bestPot;
    closest = bestDist!;
    for (let j = 0; j < d; j++) centers[c * d + j] = x.data[bestRow * d + j]!;
  }
  return centers;
}

/** k distinct rows: uniformly, or with probability ∝ weight (sequentially, without replacement). */
export function randomInit(x: Matrix, k: number, w: Float64Array | null, rng: Rng): Float64Array {
  const n = x.rows;
  const d = x.cols;
  let rows: number[];
  if (!w) rows = Array.from(sampleWithoutReplacement(rng, n, k));
  else {
    const left = Float64Array.from(w);
    rows = [];
    for (let c = 0; c < k; c++) {
      let total = 0;
      for (let i = 0; i < n; i++) total += left[i]!;
      if (!(total > 0)) {
        throw new QuiverError('INVALID_ARGUMENT', `only ${c} rows have a positive sampleWeight but k = ${k}; random init needs k of them`);
      }
      let r = rng.next() * total;
      let pick = n - 1;
      for (let i = 0; i < n; i++) {
        r -= left[i]!;
        if (r < 0 && left[i]! > 0) {
          pick = i;
          break;
        }
      }
      while (left[pick] === 0) pick--;
      rows.push(pick);
      left[pick] = 0;
    }
  }
  const centers = new Float64Array(k * d);
  rows.forEach((r, c) => {
    for (let j = 0; j < d; j++) centers[c * d + j] = x.data[r * d + j]!;
  });
  return centers;
}

/** Distinct rows of x, counting only up to `limit` (stops early). -0 and 0 are the same value. */
export function countDistinctRows(x: Matrix, limit: number): number {
  const { rows, cols, data } = x;
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const buckets = new Map<number, number[]>();
  let distinct = 0;
  for (let i = 0; i < rows && distinct < limit; i++) {
    let h = 0x811c9dc5;
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const b = data[o + j] === 0 ? 0 : bits[o + j]!;
      h = Math.imul(h ^ b, 0x01000193);
    }
    const list = buckets.get(h);
    if (list === undefined) {
      buckets.set(h, [i]);
      distinct++;
      continue;
    }
    let seen = false;
    for (const r of list) {
      let same = true;
      for (let j = 0; j < cols; j++) {
        if (data[r * cols + j] !== data[o + j]) {
          same = false;
          break;
        }
      }
      if (same) {
        seen = true;
        break;
      }
    }
    if (!seen) {
      list.push(i);
      distinct++;
    }
  }
  return distinct;
}
