// The sparse kernels (sparseSimilarityTopk, sparseScoreTopn) on every backend and scalar twin against the f64
// js reference, plus the engine's sparse entry points on the backend this pass selected.
//
// Every backend accumulates the same f64 products in the same CSR order and rounds to f32 once, so results
// must be bit-identical to the reference, for small-integer and random inputs alike. The reference itself is
// checked against an independent oracle: a brute-force dense product and a full sort.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import { transposeCsr } from '../../src/data/csr.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';
import type { CsrMatrix } from '../../src/types.js';
import { backendsUnderTest, reference } from '../helpers/backends.js';
import { mulberry32 } from '../helpers/rng.js';

const backends = await backendsUnderTest();
const label = (b: Backend) => `${b.info.name}/${b.info.simd}`;

/** A random CSR matrix: each entry present with probability `density`; values small integers or uniform. */
function randomCsr(rows: number, cols: number, density: number, seed: number, ints: boolean): CsrMatrix {
  const r = mulberry32(seed);
  const indptr = new Int32Array(rows + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      if (r() < density) {
        idx.push(j);
        val.push(ints ? Math.floor(r() * 7) - 2 || 1 : r() * 2 - 1);
      }
    }
    indptr[i + 1] = idx.length;
  }
  return { rows, cols, indptr, indices: Int32Array.from(idx), data: Float32Array.from(val) };
}

function norms(m: CsrMatrix): Float32Array {
  const out = new Float32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) s += m.data[p]! * m.data[p]!;
    out[i] = Math.sqrt(s);
  }
  return out;
}

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
  be.sparseSimilarityTopk(c.a.indptr, c.a.indices, c.a.data, c.b.indptr, c.b.indices, c.b.data, c.row0, c.row1, n, c.rowNorms, c.colNorms, c.shrink, c.k, c.excludeSelf, acc, mark, list, idx, scores);
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
  be.sparseScoreTopn(
    c.a.indptr, c.a.indices, c.a.data, c.m.indptr, c.m.indices, c.m.data,
    c.seen ? c.seen.indptr : null, c.seen ? c.seen.indices : null, c.allow, c.normalize,
    c.row0, c.row1, nc, c.n, acc, c.normalize !== 0 ? den : null, mark, list, idx, scores,
  );
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

describe('sparse kernels: the js reference against a brute-force oracle', () => {
  for (const ints of [true, false]) {
    for (const [name, c] of simCases(ints, 7)) {
      it(`similarity ${ints ? 'exact' : 'random'} ${name}`, () => {
        const got = runSim(reference, c);
        const want = simOracle(c); // oracle: dense f64 product + full sort
        expect(Array.from(got.idx)).toEqual(want.idx);
        expect(Array.from(got.scores)).toEqual(want.scores);
        expect(got.scratchClean).toBe(true);
      });
    }
    for (const [name, c] of scoreCases(ints, 11)) {
      it(`scoring ${ints ? 'exact' : 'random'} ${name}`, () => {
        const got = runScore(reference, c);
        const want = scoreOracle(c); // oracle: dense f64 product + full sort
        expect(Array.from(got.idx)).toEqual(want.idx);
        expect(Array.from(got.scores)).toEqual(want.scores);
        expect(got.scratchClean).toBe(true);
      });
    }
  }
});

describe.each(backends.map((b) => [label(b), b] as const))('sparse kernels: %s equals the reference bit for bit', (_name, be) => {
  for (const ints of [true, false]) {
    it(`similarity (${ints ? 'small integers' : 'random values'})`, () => {
      for (const [name, c] of simCases(ints, 21)) {
        const got = runSim(be, c);
        const want = runSim(reference, c);
        expect(Array.from(got.idx), name).toEqual(Array.from(want.idx));
        expect(Array.from(got.scores), name).toEqual(Array.from(want.scores));
        expect(got.scratchClean, name).toBe(true);
      }
    });
    it(`scoring (${ints ? 'small integers' : 'random values'})`, () => {
      for (const [name, c] of scoreCases(ints, 31)) {
        const got = runScore(be, c);
        const want = runScore(reference, c);
        expect(Array.from(got.idx), name).toEqual(Array.from(want.idx));
        expect(Array.from(got.scores), name).toEqual(Array.from(want.scores));
        expect(got.scratchClean, name).toBe(true);
      }
    });
  }

  it('merges into the caller\'s state: an entry already better than every candidate stays first', () => {
    const x = randomCsr(30, 20, 0.3, 5, true);
    const a = transposeCsr(x);
    const k = 4;
    const run = (b: Backend) => {
      const idx = new Int32Array(20 * k).fill(-1);
      const scores = new Float32Array(20 * k).fill(-Infinity);
      for (let r = 0; r < 20; r++) {
        idx[r * k] = 999;
        scores[r * k] = 1e9;
      }
      b.sparseSimilarityTopk(a.indptr, a.indices, a.data, x.indptr, x.indices, x.data, 0, 20, 20, null, null, 0, k, true, new Float64Array(20), new Int32Array(20), new Int32Array(20), idx, scores);
      return { idx, scores };
    };
    const got = run(be);
    const fresh = runSim(reference, { a, b: x, row0: 0, row1: 20, k: k - 1, rowNorms: null, colNorms: null, shrink: 0, excludeSelf: true });
    for (let r = 0; r < 20; r++) {
      expect(got.idx[r * k]).toBe(999);
      // Oracle: the other k − 1 slots are the best k − 1 candidates of a fresh call.
      expect(Array.from(got.idx.subarray(r * k + 1, r * k + k))).toEqual(Array.from(fresh.idx.subarray(r * (k - 1), (r + 1) * (k - 1))));
    }
  });
});

// ------------------------------------------------------------------------------------------------ engine

const engine = engineFactory();

describe('engine sparse entry points on the selected backend', () => {
  const x = randomCsr(400, 150, 0.06, 99, false); // users × items
  const xt = transposeCsr(x);
  const nrm = norms(xt);

  it('the same bits for 1, 2 and 3 threads, several tile sizes, inline or pooled, staged or plain', async () => {
    const base = await engine({ threads: 1, inlineWork: Infinity });
    const want = await base.sparseSimilarityTopK(xt, x, { k: 7, rowNorms: nrm, colNorms: nrm, shrink: 1, excludeSelf: true });
    const wantScore = await base.sparseScoreTopN(x, xt, { n: 9, seen: null, normalize: 1 });
    for (const threads of [1, 2, 3]) {
      for (const tileRows of [undefined, 1, 13]) {
        const e = await engine({ threads, tileRows, inlineWork: 0 });
        const sx = await e.stageCsr(x, 'x');
        const sxt = await e.stageCsr(xt, 'xt');
        const got = await e.sparseSimilarityTopK(sxt, sx, { k: 7, rowNorms: nrm, colNorms: nrm, shrink: 1, excludeSelf: true });
        expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
        expect(Array.from(got.scores)).toEqual(Array.from(want.scores));
        const sc = await e.sparseScoreTopN(sx, sxt, { n: 9, normalize: 1 });
        expect(Array.from(sc.indices)).toEqual(Array.from(wantScore.indices));
        expect(Array.from(sc.scores)).toEqual(Array.from(wantScore.scores));
        sx.release();
        sxt.release();
      }
    }
  });

  it('a span of rows equals the same rows of the full call; results equal the reference kernel', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const full = await e.sparseScoreTopN(x, xt, { n: 5 });
    const part = await e.sparseScoreTopN(x, xt, { n: 5, rows: { row0: 100, row1: 250 } });
    expect(Array.from(part.indices)).toEqual(Array.from(full.indices.subarray(100 * 5, 250 * 5)));
    const ref = runScore(reference, { a: x, m: xt, seen: null, allow: null, normalize: 0, row0: 0, row1: 400, n: 5 });
    expect(Array.from(full.indices)).toEqual(Array.from(ref.idx));
    expect(Array.from(full.scores)).toEqual(Array.from(ref.scores));
  });

  it('clamps k and n to the columns and pads with -1', async () => {
    const e = await engine({ threads: 2 });
    const tiny: CsrMatrix = { rows: 2, cols: 3, indptr: Int32Array.from([0, 1, 2]), indices: Int32Array.from([0, 2]), data: Float32Array.from([1, 1]) };
    const r = await e.sparseScoreTopN(tiny, { rows: 3, cols: 3, indptr: Int32Array.from([0, 1, 1, 1]), indices: Int32Array.from([1]), data: Float32Array.from([2]) }, { n: 10 });
    expect(r.k).toBe(3);
    expect(r.requestedK).toBe(10);
    // Oracle by hand: row 0 has item 0, whose only neighbour is item 1 (weight 2); row 1 reaches nothing.
    expect(Array.from(r.indices)).toEqual([1, -1, -1, -1, -1, -1]);
    expect(Array.from(r.scores)).toEqual([2, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity]);
  });

  it('refuses bad input with what to fix', async () => {
    const e = await engine({ threads: 1 });
    await expectCode(e.sparseSimilarityTopK(x, x, { k: 3 }), 'SHAPE_MISMATCH', /columns must index b's rows/);
    await expectCode(e.sparseScoreTopN(x, xt, { n: 0 }), 'INVALID_ARGUMENT', /n must be a whole number/);
    const nan = { ...x, data: Float32Array.from(x.data, (v, i) => (i === 5 ? NaN : v)) };
    await expectCode(e.sparseScoreTopN(nan, xt, { n: 3 }), 'NON_FINITE', /not finite/);
    const outOfRange = { ...x, indices: Int32Array.from(x.indices, (v, i) => (i === 0 ? 999 : v)) };
    await expectCode(e.sparseScoreTopN(outOfRange, xt, { n: 3 }), 'INVALID_ARGUMENT', /column index 999 in row 0 is outside \[0, 150\)/);
    await expectCode(e.sparseScoreTopN(x, xt, { n: 3, rows: { row0: 5, row1: 401 } }), 'INVALID_ARGUMENT', /rows \[5, 401\) must lie within/);
    await expectCode(e.sparseScoreTopN(x, xt, { n: 3, seen: xt }), 'SHAPE_MISMATCH', /seen is 150 × 400/);
    await expectCode(e.sparseSimilarityTopK(xt, x, { k: 3, rowNorms: new Float32Array(3) }), 'SHAPE_MISMATCH', /rowNorms has 3 values/);
    const s = await e.stageCsr(x);
    s.release();
    await expectCode(e.sparseScoreTopN(s, xt, { n: 3 }), 'INVALID_ARGUMENT', /was released; stage it again/);
  });
});
