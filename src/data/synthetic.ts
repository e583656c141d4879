/**
 * A seeded generator of synthetic implicit interactions with power-law item popularity and user activity,
 * for bulk runs and benchmarks at sizes that matter (e.g. 200,000 users × 50,000 items × 10,000,000).
 *
 * Model (all choices drawn from the seed, deterministic on every machine):
 * - User activity: user u gets n_u = 1 + ⌊(I − U)·w_u / Σw⌋ interactions (capped at `maxPerUser`), with
 *   w_u = (rank_u + userOffset)^(−userExponent) and rank_u a seeded random permutation of the users, so
 *   activity is heavy-tailed but uncorrelated with the user id; the remainder left by flooring and capping is
 *   handed out one by one in rank order, so Σ n_u = I exactly.
 * - Item popularity: item j is drawn with probability ∝ (rank_j + itemOffset)^(−itemExponent) (Zipf-like),
 *   rank_j again a seeded permutation; Walker's alias method (Vose's construction) makes each draw O(1).
 * - Each user's n_u items are distinct (draws repeat until they are) and sorted; the values are 1.
 * - User u's items depend only on (seed, u): each user has its own generator seeded from both, so any block
 *   of users (a shard, a streaming block) can be generated alone and gives the same rows as the full set.
 * External ids are the 1-based indices as strings ("1" … "U", "1" … "I").
 */
import { QuiverError } from '../errors.js';
import { Rng } from './random.js';
import type { CsrMatrix } from '../types.js';
import type { Interactions } from './ratings.js';

export interface SyntheticOptions {
  users: number;
  items: number;
  interactions: number;
  seed?: number;
  /** Zipf exponent of item popularity (default 1.0). */
  itemExponent?: number;
  /** Rank offset of item popularity (default 10: flattens the head a little). */
  itemOffset?: number;
  /** Exponent of user activity (default 1.0). */
  userExponent?: number;
  /** Rank offset of user activity (default 50). */
  userOffset?: number;
  /** Most interactions one user may have (default min(items / 10, 5000), at least the mean). */
  maxPerUser?: number;
}

/** Parses `USERSxITEMSxINTERACTIONS[:seed]` (underscores and k/M suffixes allowed: 200kx50kx10M:7). */
export function parseSyntheticSpec(spec: string): SyntheticOptions {
  const m = /^\s*([\d_.]+[kKmM]?)\s*[x×]\s*([\d_.]+[kKmM]?)\s*[x×]\s*([\d_.]+[kKmM]?)\s*(?::\s*(\d+))?\s*$/.exec(spec);
  if (!m) {
    throw new QuiverError('INVALID_ARGUMENT', `--synthetic must look like USERSxITEMSxINTERACTIONS[:seed], e.g. 200000x50000x10000000:42 or 200kx50kx10M (got "${spec}")`);
  }
  const num = (s: string): number => {
    const t = s.replaceAll('_', '');
    const mult = /[kK]$/.test(t) ? 1e3 : /[mM]$/.test(t) ? 1e6 : 1;
    return Math.round(Number(t.replace(/[kKmM]$/, '')) * mult);
  };
  return { users: num(m[1]!), items: num(m[2]!), interactions: num(m[3]!), seed: m[4] === undefined ? 42 : Number(m[4]) };
}

function checkCount(v: number, name: string, min = 1): number {
  if (!Number.isSafeInteger(v) || v < min) throw new QuiverError('INVALID_ARGUMENT', `synthetic ${name} must be a whole number ≥ ${min} (got ${v})`);
  return v;
}

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

export class SyntheticInteractions {
  readonly users: number;
  readonly items: number;
  readonly interactions: number;
  readonly seed: number;
  /** Interactions of each user. */
  readonly counts: Int32Array;
  /** Row pointers of the full matrix (prefix sums of counts). */
  readonly indptr: Int32Array;
  readonly #aliasProb: Float64Array;
  readonly #aliasOther: Int32Array;
  readonly #itemOfRank: Int32Array;

  constructor(opts: SyntheticOptions) {
    this.users = checkCount(opts.users, 'users');
    this.items = checkCount(opts.items, 'items');
    this.interactions = checkCount(opts.interactions, 'interactions');
    this.seed = checkCount(opts.seed ?? 42, 'seed', 0);
    if (this.interactions < this.users) {
      throw new QuiverError('INVALID_ARGUMENT', `synthetic data gives every user at least one interaction: interactions (${this.interactions}) must be ≥ users (${this.users})`);
    }
    const mean = Math.ceil(this.interactions / this.users);
    const cap = opts.maxPerUser ?? Math.max(mean, Math.min(5000, Math.floor(this.items / 10)));
    if (cap > this.items || mean > this.items) {
      throw new QuiverError('INVALID_ARGUMENT', `synthetic: ${this.interactions} interactions over ${this.users} users need more than the ${this.items} items per user; add items or lower interactions`);
    }
    const rng = new Rng(this.seed);
    // User activity.
    const userRank = permutation(this.users, rng);
    const ue = opts.userExponent ?? 1.0;
    const uo = opts.userOffset ?? 50;
    const w = new Float64Array(this.users);
    let wsum = 0;
    for (let r = 0; r < this.users; r++) {
      w[r] = Math.pow(r + uo, -ue);
      wsum += w[r]!;
    }
    const counts = new Int32Array(this.users);
    const extra = this.interactions - this.users;
    let total = 0;
    for (let r = 0; r < this.users; r++) {
      const c = Math.min(cap, 1 + Math.floor((extra * w[r]!) / wsum));
      counts[userRank[r]!] = c;
      total += c;
    }
    // Hand out the remainder one at a time in rank order, skipping users at the cap.
    let left = this.interactions - total;
    while (left > 0) {
      let gave = 0;
      for (let r = 0; r < this.users && left > 0; r++) {
        const u = userRank[r]!;
        if (counts[u]! < cap) {
          counts[u]!++;
          left--;
          gave++;
        }
      }
      if (gave === 0) throw new QuiverError('INVALID_ARGUMENT', `synthetic: cannot place ${this.interactions} interactions with at most ${cap} per user`);
    }
    this.counts = counts;
    this.indptr = new Int32Array(this.users + 1);
    for (let u = 0; u < this.users; u++) this.indptr[u + 1] = this.indptr[u]! + counts[u]!;
    // Item popularity: alias table over ranks.
    this.#itemOfRank = permutation(this.items, rng);
    const ie = opts.itemExponent ?? 1.0;
    const io = opts.itemOffset ?? 10;
    const p = new Float64Array(this.items);
    let psum = 0;
    for (let r = 0; r < this.items; r++) {
      p[r] = Math.pow(r + io, -ie);
      psum += p[r]!;
    }
    const n = this.items;
    const prob = new Float64Array(n);
    const other = new Int32Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let r = 0; r < n; r++) {
      p[r] = (p[r]! * n) / psum;
      (p[r]! < 1 ? small : large).push(r);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      prob[s] = p[s]!;
      other[s] = l;
      p[l] = p[l]! + p[s]! - 1;
      (p[l]! < 1 ? small : large).push(l);
    }
    for (const r of large) {
      prob[r] = 1;
      other[r] = r;
    }
    for (const r of small) {
      prob[r] = 1;
      other[r] = r;
    }
    this.#aliasProb = prob;
    this.#aliasOther = other;
  }

  /** Users [u0, u1) as a CSR block (row 0 is user u0); identical to the same rows of `toInteractions()`. */
  rows(u0: number, u1: number): CsrMatrix {
    if (!(Number.isInteger(u0) && Number.isInteger(u1) && 0 <= u0 && u0 <= u1 && u1 <= this.users)) {
      throw new QuiverError('INVALID_ARGUMENT', `synthetic rows [${u0}, ${u1}) are outside [0, ${this.users})`);
    }
    const base = this.indptr[u0]!;
    const indptr = new Int32Array(u1 - u0 + 1);
    for (let u = u0; u < u1; u++) indptr[u - u0 + 1] = this.indptr[u + 1]! - base;
    const nnz = indptr[u1 - u0]!;
    const indices = new Int32Array(nnz);
    const stamp = new Int32Array(this.items).fill(-1);
    const n = this.items;
    for (let u = u0; u < u1; u++) {
      // Per-user stream: an odd multiplier keeps (seed, u) → seed one-to-one for the users of a run.
      const rng = new Rng((this.seed * 2654435761 + u * 40503 + 1) % 9007199254740881);
      const row = indices.subarray(indptr[u - u0]!, indptr[u - u0 + 1]!);
      let filled = 0;
      while (filled < row.length) {
        const x = rng.next() * n;
        const r = Math.floor(x);
        const rank = x - r < this.#aliasProb[r]! ? r : this.#aliasOther[r]!;
        const item = this.#itemOfRank[rank]!;
        if (stamp[item] === u) continue;
        stamp[item] = u;
        row[filled++] = item;
      }
      row.sort();
    }
    return { rows: u1 - u0, cols: this.items, indptr, indices, data: new Float32Array(nnz).fill(1) };
  }

  /** The whole data set as interactions (binary feedback). */
  toInteractions(): Interactions {
    const matrix = this.rows(0, this.users);
    return {
      matrix,
      userIds: Array.from({ length: this.users }, (_, i) => String(i + 1)),
      itemIds: Array.from({ length: this.items }, (_, i) => String(i + 1)),
      feedback: 'binary',
      layout: 'synthetic',
      rowsRead: this.interactions,
      rowsDropped: 0,
      duplicates: 0,
    };
  }
}
