// The sparse kernels (sparseSimilarityTopk, sparseScoreTopn) on every backend and level against brute-force
// oracles written here: a dense f64 product of the rows and a full sort.
//
// Every backend accumulates the same f64 products in the same CSR order as the oracle and rounds to f32 once,
// so results must equal the oracle bit for bit, for small-integer and random inputs alike. The engine's sparse
// entry points are tested in tests/engine/sparse.test.ts.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import { transposeCsr } from '../../src/data/csr.js';
import type { CsrMatrix } from '../../src/types.js';
import { backendCases } from '../helpers/backends.js';
import { csrNorms as norms, randomCsr } from '../helpers/csr.js';

const cases = await backendCases();

interface SimCase {
  a: CsrMatrix;
  b: CsrMatrix;
  row0: number;
  row1: number;
  k: number;
  rowNorms: Float32Array | null;
  colNorms: Float32Array | null;
  shrink: number;
  excludeSelf: boolean;
}

function runSim(be: Backend, c: SimCase): { idx: Int32Array; scores: Float32Array; scratchClean: boolean } {
  const n = c.b.cols;
  const rows = c.row1 - c.row0;
  const idx = new Int32Array(rows * c.k).fill(-1);
  const scores = new Float32Array(rows * c.k).fill(-Infinity);
  const acc = new Float64Array(n);
  const mark = new Int32Array(n);
  const list = new Int32Array(n);
  be.sparseSimilarityTopk({
    aPtr: c.a.indptr,
    aIdx: c.a.indices,
    aVal: c.a.data,
    bPtr: c.b.indptr,
    bIdx: c.b.indices,
    bVal: c.b.data,
    row0: c.row0,
    row1: c.row1,
    nCols: n,
    rowNorms: c.rowNorms,
    colNorms: c.colNorms,
    shrink: c.shrink,
    k: c.k,
    excludeSelf: c.excludeSelf,
    acc,
    mark,
    list,
    outIdx: idx,
    outScores: scores,
  });
  return { idx, scores, scratchClean: acc.every((v) => v === 0) && mark.every((v) => v === 0) };
}

interface ScoreCase {
  a: CsrMatrix;
  m: CsrMatrix;
  seen: CsrMatrix | null;
  allow: Int32Array | null;
  normalize: number;
  row0: number;
  row1: number;
  n: number;
}

function runScore(be: Backend, c: ScoreCase): { idx: Int32Array; scores: Float32Array; scratchClean: boolean } {
  const nc = c.m.cols;
  const rows = c.row1 - c.row0;
  const idx = new Int32Array(rows * c.n).fill(-1);
  const scores = new Float32Array(rows * c.n).fill(-Infinity);
  const acc = new Float64Array(nc);
  const den = new Float64Array(nc);
  const mark = new Int32Array(nc);
  const list = new Int32Array(nc);
  be.sparseScoreTopn({
    aPtr: c.a.indptr,
    aIdx: c.a.indices,
    aVal: c.a.data,
    mPtr: c.m.indptr,
    mIdx: c.m.indices,
    mVal: c.m.data,
    seenPtr: c.seen ? c.seen.indptr : null,
    seenIdx: c.seen ? c.seen.indices : null,
    allow: c.allow,
    normalize: c.normalize,
    row0: c.row0,
    row1: c.row1,
    nCols: nc,
    n: c.n,
    acc,
    den: c.normalize !== 0 ? den : null,
    mark,
    list,
    outIdx: idx,
    outScores: scores,
  });
  return { idx, scores, scratchClean: acc.every((v) => v === 0) && den.every((v) => v === 0) && mark.every((v) => v === 0) };
}

/** Oracle: dense f64 product of row r of A with B (touched = some product term exists). */
function denseRow(a: CsrMatrix, b: CsrMatrix, r: number, absA = false, absB = false): { sum: Float64Array; den: Float64Array; touched: boolean[] } {
  const sum = new Float64Array(b.cols);
  const den = new Float64Array(b.cols);
  const touched = new Array<boolean>(b.cols).fill(false);
  for (let p = a.indptr[r]!; p < a.indptr[r + 1]!; p++) {
    const s = a.indices[p]!;
    for (let q = b.indptr[s]!; q < b.indptr[s + 1]!; q++) {
      const j = b.indices[q]!;
      sum[j]! += a.data[p]! * b.data[q]!;
      if (absA) den[j]! += Math.abs(a.data[p]!);
      if (absB) den[j]! += Math.abs(b.data[q]!);
      touched[j] = true;
    }
  }
  return { sum, den, touched };
}

/** Oracle: full sort of (score desc, index asc), first k, -1 padded. */
function topOf(cands: [number, number][], k: number): { idx: number[]; scores: number[] } {
  cands.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  const idx = cands.slice(0, k).map((c) => c[1]);
  const scores = cands.slice(0, k).map((c) => c[0]);
  while (idx.length < k) {
    idx.push(-1);
    scores.push(-Infinity);
  }
  return { idx, scores };
}

function simOracle(c: SimCase): { idx: number[]; scores: number[] } {
  const idx: number[] = [];
  const scores: number[] = [];
  for (let r = c.row0; r < c.row1; r++) {
    const { sum, touched } = denseRow(c.a, c.b, r);
    const cands: [number, number][] = [];
    for (let j = 0; j < c.b.cols; j++) {
      if (!touched[j] || (c.excludeSelf && j === r)) continue;
      const den = (c.rowNorms ? c.rowNorms[r]! : 1) * (c.colNorms ? c.colNorms[j]! : 1) + c.shrink;
      cands.push([Math.fround(den !== 0 ? sum[j]! / den : 0), j]);
    }
    const t = topOf(cands, c.k);
    idx.push(...t.idx);
    scores.push(...t.scores);
  }
  return { idx, scores };
}

function scoreOracle(c: ScoreCase): { idx: number[]; scores: number[] } {
  const idx: number[] = [];
  const scores: number[] = [];
  for (let r = c.row0; r < c.row1; r++) {
    const seen = new Set<number>();
    if (c.seen) for (let p = c.seen.indptr[r]!; p < c.seen.indptr[r + 1]!; p++) seen.add(c.seen.indices[p]!);
    const { sum, den, touched } = denseRow(c.a, c.m, r, c.normalize === 1, c.normalize === 2);
    // Seen columns are skipped before accumulation in the kernel; the dense oracle just drops them.
    const cands: [number, number][] = [];
    for (let j = 0; j < c.m.cols; j++) {
      if (!touched[j] || seen.has(j) || (c.allow && c.allow[j] === 0)) continue;
      const s = c.normalize === 0 ? sum[j]! : den[j] !== 0 ? sum[j]! / den[j]! : 0;
      cands.push([Math.fround(s), j]);
    }
    const t = topOf(cands, c.n);
    idx.push(...t.idx);
    scores.push(...t.scores);
  }
  return { idx, scores };
}

function simCases(ints: boolean, seed: number): [string, SimCase][] {
  const out: [string, SimCase][] = [];
  for (const [rows, inner, density] of [
    [1, 1, 1],
    [7, 9, 0.4],
    [33, 17, 0.2],
    [64, 129, 0.05],
    [129, 40, 0.1],
  ] as const) {
    const x = randomCsr(inner, rows, density, seed + rows, ints); // inner × rows ("users × items")
    const a = transposeCsr(x); // rows × inner
    const nrm = norms(a);
    for (const k of [1, 3, 16, rows + 5]) {
      out.push([`${rows}×${inner} k=${k} raw`, { a, b: x, row0: 0, row1: rows, k, rowNorms: null, colNorms: null, shrink: 0, excludeSelf: true }]);
      out.push([`${rows}×${inner} k=${k} cosine+shrink`, { a, b: x, row0: 0, row1: rows, k, rowNorms: nrm, colNorms: nrm, shrink: ints ? 2 : 0.5, excludeSelf: true }]);
    }
    out.push([`${rows}×${inner} span`, { a, b: x, row0: Math.floor(rows / 3), row1: rows, k: 4, rowNorms: nrm, colNorms: nrm, shrink: 0, excludeSelf: false }]);
  }
  // Zero norms (an all-zero row and shrink 0): score 0, never NaN.
  const z: CsrMatrix = { rows: 2, cols: 2, indptr: Int32Array.from([0, 2, 4]), indices: Int32Array.from([0, 1, 0, 1]), data: Float32Array.from([0, 1, 0, 0]) };
  out.push(['zero norms', { a: z, b: z, row0: 0, row1: 2, k: 2, rowNorms: norms(z), colNorms: norms(z), shrink: 0, excludeSelf: false }]);
  return out;
}

function scoreCases(ints: boolean, seed: number): [string, ScoreCase][] {
  const out: [string, ScoreCase][] = [];
  for (const [users, items, density] of [
    [1, 1, 1],
    [9, 15, 0.3],
    [40, 33, 0.15],
    [65, 128, 0.05],
  ] as const) {
    const x = randomCsr(users, items, density, seed + users, ints);
    const s = randomCsr(items, items, 0.2, seed + 1000 + items, ints);
    const allow = Int32Array.from({ length: items }, (_, j) => (j % 5 === 3 ? 0 : 1));
    for (const normalize of [0, 1, 2]) {
      for (const n of [1, 4, items + 3]) {
        out.push([`${users}×${items} n=${n} normalize=${normalize}`, { a: x, m: s, seen: x, allow: null, normalize, row0: 0, row1: users, n }]);
      }
      out.push([`${users}×${items} allow normalize=${normalize}`, { a: x, m: s, seen: null, allow, normalize, row0: Math.floor(users / 2), row1: users, n: 5 }]);
    }
  }
  return out;
}

describe.each(cases)('sparse kernels on $label equal the oracle bit for bit', ({ backend: be }) => {
  for (const ints of [true, false]) {
    it(`similarity (${ints ? 'exact: small integers' : 'random values'})`, () => {
      for (const [name, c] of simCases(ints, ints ? 7 : 21)) {
        const got = runSim(be, c);
        const want = simOracle(c); // oracle: dense f64 product + full sort
        expect(Array.from(got.idx), name).toEqual(want.idx);
        expect(Array.from(got.scores), name).toEqual(want.scores);
        expect(got.scratchClean, name).toBe(true);
      }
    });
    it(`scoring (${ints ? 'exact: small integers' : 'random values'})`, () => {
      for (const [name, c] of scoreCases(ints, ints ? 11 : 31)) {
        const got = runScore(be, c);
        const want = scoreOracle(c); // oracle: dense f64 product + full sort
        expect(Array.from(got.idx), name).toEqual(want.idx);
        expect(Array.from(got.scores), name).toEqual(want.scores);
        expect(got.scratchClean, name).toBe(true);
      }
    });
  }

  it('merges into the caller\'s state: an entry already better than every candidate stays first', () => {
    const x = randomCsr(30, 20, 0.3, 5, true);
    const a = transposeCsr(x);
    const k = 4;
    const idx = new Int32Array(20 * k).fill(-1);
    const scores = new Float32Array(20 * k).fill(-Infinity);
    for (let r = 0; r < 20; r++) {
      idx[r * k] = 999;
      scores[r * k] = 1e9;
    }
    const n = 20;
    be.sparseSimilarityTopk({
      aPtr: a.indptr, aIdx: a.indices, aVal: a.data, bPtr: x.indptr, bIdx: x.indices, bVal: x.data, row0: 0, row1: 20,
      nCols: n, shrink: 0, k, excludeSelf: true, acc: new Float64Array(n), mark: new Int32Array(n), list: new Int32Array(n),
      outIdx: idx, outScores: scores,
    });
    const fresh = simOracle({ a, b: x, row0: 0, row1: 20, k: k - 1, rowNorms: null, colNorms: null, shrink: 0, excludeSelf: true });
    for (let r = 0; r < 20; r++) {
      expect(idx[r * k]).toBe(999);
      // Oracle: the other k − 1 slots are the best k − 1 candidates of a fresh call.
      expect(Array.from(idx.subarray(r * k + 1, r * k + k))).toEqual(fresh.idx.slice(r * (k - 1), (r + 1) * (k - 1)));
    }
  });

  it('edges: an empty row span and k = 0 touch nothing; rows without entries stay empty', () => {
    const x = randomCsr(6, 5, 0.5, 3, true);
    const a = transposeCsr(x);
    const c: SimCase = { a, b: x, row0: 2, row1: 2, k: 3, rowNorms: null, colNorms: null, shrink: 0, excludeSelf: false };
    expect(runSim(be, c).idx.length).toBe(0);
    const empty: CsrMatrix = { rows: 2, cols: 3, indptr: Int32Array.from([0, 0, 0]), indices: new Int32Array(0), data: new Float32Array(0) };
    const got = runScore(be, { a: empty, m: randomCsr(3, 4, 0.5, 4, true), seen: null, allow: null, normalize: 1, row0: 0, row1: 2, n: 2 });
    expect(Array.from(got.idx)).toEqual([-1, -1, -1, -1]);
    expect(got.scratchClean).toBe(true);
  });
});
