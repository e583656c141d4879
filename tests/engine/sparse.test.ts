// The engine's sparse entry points (sparseSimilarityTopK, sparseScoreTopN) on the backend this pass selected:
// the same bits for any thread count, tile size, inline or pooled, staged or plain; spans of rows; k and n
// clamped; bad input refused with what to fix. (The kernels themselves are tested on every backend in
// tests/backends/sparse.test.ts.)
import { describe, expect, it } from 'vitest';
import { transposeCsr } from '../../src/data/csr.js';
import type { CsrMatrix } from '../../src/types.js';
import { csrNorms as norms, randomCsr } from '../helpers/csr.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';

/** Oracle: raw sparse scores of every row of `a` through `m` (dense f64 product, CSR order), top n by full sort. */
function scoreOracle(a: CsrMatrix, m: CsrMatrix, n: number): { idx: number[]; scores: number[] } {
  const idx: number[] = [];
  const scores: number[] = [];
  for (let r = 0; r < a.rows; r++) {
    const sum = new Float64Array(m.cols);
    const touched = new Set<number>();
    for (let p = a.indptr[r]!; p < a.indptr[r + 1]!; p++) {
      const s = a.indices[p]!;
      for (let q = m.indptr[s]!; q < m.indptr[s + 1]!; q++) {
        sum[m.indices[q]!]! += a.data[p]! * m.data[q]!;
        touched.add(m.indices[q]!);
      }
    }
    const cands = [...touched].map((j) => [Math.fround(sum[j]!), j] as const);
    cands.sort((u, v) => v[0] - u[0] || u[1] - v[1]);
    for (let t = 0; t < n; t++) {
      idx.push(t < cands.length ? cands[t]![1] : -1);
      scores.push(t < cands.length ? cands[t]![0] : -Infinity);
    }
  }
  return { idx, scores };
}

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

  it('a span of rows equals the same rows of the full call; results equal the oracle bit for bit', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const full = await e.sparseScoreTopN(x, xt, { n: 5 });
    const part = await e.sparseScoreTopN(x, xt, { n: 5, rows: { row0: 100, row1: 250 } });
    expect(Array.from(part.indices)).toEqual(Array.from(full.indices.subarray(100 * 5, 250 * 5)));
    const want = scoreOracle(x, xt, 5);
    expect(Array.from(full.indices)).toEqual(want.idx);
    expect(Array.from(full.scores)).toEqual(want.scores);
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
