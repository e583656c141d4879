/**
 * The ratings readers' building blocks: growable arrays of the kept rows, the id maps, COO → CSR with the
 * duplicate policies (and the timestamps carried along), and the warning for counts read as ratings.
 */
import { QuiverError } from '../errors.js';
import type { CsrMatrix } from '../types.js';

export type Feedback = 'explicit' | 'binary' | 'counts';
export type DuplicatePolicy = 'sum' | 'last' | 'reject';

function bad(msg: string, details?: Record<string, unknown>): QuiverError {
  return new QuiverError('INVALID_ARGUMENT', msg, details);
}

/** Growable typed arrays for the kept rows. */
export class Triples {
  users = new Int32Array(1 << 16);
  items = new Int32Array(1 << 16);
  values = new Float64Array(1 << 16);
  lines = new Int32Array(1 << 16);
  /** Times of the rows, when the input has them. */
  times: Float64Array | null = null;
  length = 0;

  push(u: number, i: number, v: number, line: number, time = NaN): void {
    if (this.length === this.users.length) this.#grow();
    const n = this.length++;
    this.users[n] = u;
    this.items[n] = i;
    this.values[n] = v;
    this.lines[n] = line;
    if (this.times) this.times[n] = time;
  }

  #grow(): void {
    const cap = this.users.length * 2;
    const u = new Int32Array(cap);
    u.set(this.users);
    this.users = u;
    const i = new Int32Array(cap);
    i.set(this.items);
    this.items = i;
    const v = new Float64Array(cap);
    v.set(this.values);
    this.values = v;
    const l = new Int32Array(cap);
    l.set(this.lines);
    this.lines = l;
    if (this.times) {
      const t = new Float64Array(cap);
      t.set(this.times);
      this.times = t;
    }
  }
}

export class IdMap {
  readonly ids: string[] = [];
  readonly index = new Map<string, number>();
  get(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i;
  }
}

/** Ratings above this, all whole and non-negative, look like counts rather than a rating scale. */
export const COUNT_LIKE_ABOVE = 10;

/**
 * The warning for explicit feedback read from values that look like counts (plays, clicks, purchases): all
 * whole numbers ≥ 0 with a maximum above any rating scale (> 10). Ranking such values as ratings lets a few
 * heavy users' play counts dominate the similarities; implicit feedback is what fits counts. null when they
 * look like ratings.
 */
export function countsWarning(values: ArrayLike<number>, n: number, what: string): string | null {
  let max = 0;
  for (let p = 0; p < n; p++) {
    const v = values[p]!;
    if (v < 0 || !Number.isInteger(v)) return null;
    if (v > max) max = v;
  }
  if (max <= COUNT_LIKE_ABOVE) return null;
  return `${what} holds non-negative whole numbers up to ${max}, which look like counts (plays, clicks, purchases) rather than ratings on a scale, yet they are read as explicit ratings; use --implicit (every interaction counts 1) or --implicit counts (library: feedback 'binary' or 'counts')`;
}

/**
 * COO triples to CSR by two stable counting sorts (by item, then by user): entries of a row end up sorted by
 * item, and equal (user, item) pairs stay in file order, so "last" means the later line.
 */
export function buildCsr(
  t: Triples,
  nUsers: number,
  nItems: number,
  policy: DuplicatePolicy,
  feedback: Feedback,
  source: string,
  userIds: string[],
  itemIds: string[],
): { matrix: CsrMatrix; duplicates: number; timestamps: Float64Array | null } {
  const n = t.length;
  const byItem = new Int32Array(n);
  {
    const start = new Int32Array(nItems + 1);
    for (let p = 0; p < n; p++) start[t.items[p]! + 1]!++;
    for (let i = 0; i < nItems; i++) start[i + 1]! += start[i]!;
    for (let p = 0; p < n; p++) byItem[start[t.items[p]!]!++] = p;
  }
  const order = new Int32Array(n);
  const rowStart = new Int32Array(nUsers + 1);
  for (let p = 0; p < n; p++) rowStart[t.users[p]! + 1]!++;
  for (let u = 0; u < nUsers; u++) rowStart[u + 1]! += rowStart[u]!;
  {
    const next = rowStart.slice(0, nUsers);
    for (let q = 0; q < n; q++) {
      const p = byItem[q]!;
      order[next[t.users[p]!]!++] = p;
    }
  }
  const indptr = new Int32Array(nUsers + 1);
  const indices = new Int32Array(n);
  const data = new Float32Array(n);
  const times = t.times;
  const ts = times ? new Float64Array(n) : null;
  let out = 0;
  let duplicates = 0;
  for (let u = 0; u < nUsers; u++) {
    let prevItem = -1;
    let acc = 0;
    let prevLine = 0;
    let time = 0;
    for (let q = rowStart[u]!, e = rowStart[u + 1]!; q < e; q++) {
      const p = order[q]!;
      const item = t.items[p]!;
      const v = t.values[p]!;
      if (item === prevItem) {
        duplicates++;
        if (policy === 'reject') {
          throw bad(`${source}: user ${userIds[u]} rated item ${itemIds[item]} twice (lines ${prevLine} and ${t.lines[p]}); remove the duplicate, or choose --duplicates sum or last`, {
            user: userIds[u],
            item: itemIds[item],
            lines: [prevLine, t.lines[p]],
          });
        }
        acc = policy === 'sum' ? acc + v : v;
        prevLine = t.lines[p]!;
        if (times) time = Math.max(time, times[p]!);
        continue;
      }
      if (prevItem >= 0) {
        indices[out] = prevItem;
        data[out] = feedback === 'binary' ? 1 : acc;
        if (ts) ts[out] = time;
        out++;
      }
      prevItem = item;
      acc = v;
      prevLine = t.lines[p]!;
      if (times) time = times[p]!;
    }
    if (prevItem >= 0) {
      indices[out] = prevItem;
      data[out] = feedback === 'binary' ? 1 : acc;
      if (ts) ts[out] = time;
      out++;
    }
    indptr[u + 1] = out;
  }
  return {
    matrix: { rows: nUsers, cols: nItems, indptr, indices: out === n ? indices : indices.slice(0, out), data: out === n ? data : data.slice(0, out) },
    duplicates,
    timestamps: ts === null ? null : out === n ? ts : ts.slice(0, out),
  };
}
