// Bad input, model by model: each is a typed QuiverError whose message says what to fix.
import { describe, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { tableToDesign } from '../../src/data/table.js';
import type { Matrix } from '../../src/types.js';
import { expectCode, useEngine } from './helpers.js';

const engine = useEngine();
const x: Matrix = { rows: 5, cols: 2, data: new Float32Array([1, 2, 2, 1, 3, 5, 4, 4, 5, 2]) };
const y = new Float64Array([1, 2, 3, 4, 6]);

describe('bad input', () => {
  it('k < 1, k not whole, k > n', async () => {
    const e = await engine();
    await expectCode(e.kmeans(x, { k: 0 }), 'INVALID_ARGUMENT', /k must be a whole number ≥ 1 \(got 0\)/);
    await expectCode(e.kmeans(x, { k: 2.5 }), 'INVALID_ARGUMENT', /k must be a whole number ≥ 1 \(got 2\.5\)/);
    await expectCode(e.kmeans(x, { k: 6 }), 'INVALID_ARGUMENT', /k = 6 is more than the 5 rows of x; choose k between 1 and 5/);
  });

  it('all-identical rows: KMeans says there is one cluster; regression names the constant columns', async () => {
    const e = await engine();
    const same: Matrix = { rows: 4, cols: 2, data: new Float32Array([3, 1, 3, 1, 3, 1, 3, 1]) };
    await expectCode(e.kmeans(same, { k: 2 }), 'INVALID_ARGUMENT', /all 4 rows of x are identical.*k = 2 needs at least 2 distinct rows/);
    await expectCode(e.kmeans({ rows: 4, cols: 1, data: new Float32Array([1, 1, 2, 2]) }, { k: 3 }), 'INVALID_ARGUMENT', /only 2 distinct rows but k = 3; lower k to at most 2/);
    await expectCode(e.linearRegression(same, new Float64Array([1, 2, 3, 4])), 'INVALID_ARGUMENT', /columns column 0, column 1 are constant/);
  });

  it('constant columns: named for OLS and unpenalised logistic regression, with the fix', async () => {
    const e = await engine();
    const xc: Matrix = { rows: 5, cols: 3, data: new Float32Array([1, 9, 2, 2, 9, 1, 3, 9, 5, 4, 9, 4, 5, 9, 2]) };
    const names = ['a', 'flag', 'b'];
    await expectCode(e.linearRegression(xc, y, { featureNames: names }), 'INVALID_ARGUMENT', /column "flag" is constant.*drop it, or add an L2 penalty \(ridge, l2 > 0\)/);
    await expectCode(
      e.logisticRegression(xc, new Float64Array([0, 1, 0, 1, 1]), { l2: 0, featureNames: names }),
      'INVALID_ARGUMENT',
      /without a penalty: column "flag" is constant/,
    );
  });

  it('a target with one class', async () => {
    const e = await engine();
    await expectCode(e.logisticRegression(x, new Float64Array(5).fill(1)), 'INVALID_ARGUMENT', /one class only \(all 5 rows are 1\)/);
    const t = parseCsv('a,y\n1,no\n2,no\n');
    await expectCode(() => tableToDesign(t, { target: 'y', targetKind: 'binary' }), 'INVALID_ARGUMENT', /the target "y" has one class only/);
  });

  it('NaN in a feature: the row and column (matrix) or the line and column (CSV)', async () => {
    const e = await engine();
    const bad: Matrix = { rows: 3, cols: 2, data: new Float32Array([1, 2, 3, Number.NaN, 5, 6]) };
    await expectCode(e.kmeans(bad, { k: 2 }), 'NON_FINITE', /x has a non-finite value \(NaN\) at row 1, column 1; remove or impute it/);
    await expectCode(e.linearRegression(bad, new Float64Array(3)), 'NON_FINITE', /row 1, column 1/);
    await expectCode(e.logisticRegression(bad, new Float64Array([0, 1, 0])), 'NON_FINITE', /row 1, column 1/);
    // The logistic fit finds non-finite cells from its first pass (z = x·0 is NaN there), Infinity included.
    const inf: Matrix = { rows: 3, cols: 2, data: new Float32Array([1, 2, 3, 4, -Infinity, 6]) };
    await expectCode(e.logisticRegression(inf, new Float64Array([0, 1, 0])), 'NON_FINITE', /x has a non-finite value \(-Infinity\) at row 2, column 0/);
    await expectCode(e.linearRegression(x, new Float64Array([1, Number.NaN, 3, 4, 5])), 'NON_FINITE', /y has a non-finite value \(NaN\) at row 1/);
    // The linear fit finds a non-finite y through its target sums: with and without an intercept, weighted (a
    // zero weight included), f32 or f64, NaN or ±Infinity, the row is named as before.
    await expectCode(e.linearRegression(x, new Float64Array([1, 2, 3, Infinity, 5]), { fitIntercept: false }), 'NON_FINITE', /y has a non-finite value \(Infinity\) at row 3/);
    await expectCode(e.linearRegression(x, new Float32Array([-Infinity, 2, 3, 4, 5])), 'NON_FINITE', /y has a non-finite value \(-Infinity\) at row 0/);
    const w0 = new Float64Array([1, 1, 0, 1, 1]);
    for (const fitIntercept of [true, false]) {
      await expectCode(e.linearRegression(x, new Float64Array([1, 2, Number.NaN, 4, 5]), { sampleWeight: w0, fitIntercept }), 'NON_FINITE', /y has a non-finite value \(NaN\) at row 2/);
      await expectCode(e.linearRegression(x, new Float64Array([1, 2, Infinity, 4, 5]), { sampleWeight: w0, fitIntercept }), 'NON_FINITE', /at row 2/);
    }
    // Unpenalised logistic (its rank check): a NaN in a zero-weight row is still a NaN, on every backend (wasm
    // and js skip such rows in G, not in the column sums).
    const rows = 200;
    const xs: Matrix = { rows, cols: 3, data: Float32Array.from({ length: rows * 3 }, (_, i) => Math.sin(i * 1.7) * 3) };
    const ys = Float64Array.from({ length: rows }, (_, i) => (Math.cos(i * 0.9) > 0 ? 1 : 0));
    const ws = new Float64Array(rows).fill(1);
    ws[5] = 0;
    xs.data[5 * 3 + 1] = Number.NaN;
    await expectCode(e.logisticRegression(xs, ys, { l2: 0, sampleWeight: ws }), 'NON_FINITE', /x has a non-finite value \(NaN\) at row 5, column 1/);
    const t = parseCsv('a,b,y\n1,2,3\n4,NaN,5\n', { source: 'd.csv' });
    await expectCode(() => tableToDesign(t, { target: 'y' }), 'NON_FINITE', /d\.csv, line 3: column "b" is missing or not finite/);
  });

  it('a CSV with ragged rows names the line', async () => {
    await expectCode(() => parseCsv('a;b;c\n1;2;3\n4;5\n', { source: 'rag.csv' }), 'INVALID_ARGUMENT', /rag\.csv, line 3: this row has 2 fields but the header has 3/);
  });

  it('a model that does not match the input columns', async () => {
    const e = await engine();
    const km = await e.kmeans(x, { k: 2, seed: 1 });
    await expectCode(km.predict({ rows: 1, cols: 3, data: new Float32Array(3) }), 'SHAPE_MISMATCH', /expects 2 columns but the input has 3/);
    const lin = await e.linearRegression(x, y, { featureNames: ['a', 'b'] });
    await expectCode(lin.predict({ rows: 1, cols: 1, data: new Float32Array(1) }), 'SHAPE_MISMATCH', /expects 2 columns \(a, b\) but the input has 1/);
    await expectCode(lin.predict(parseCsv('a,b\n1,2\n')), 'INVALID_ARGUMENT', /fitted on a matrix, not a table/);
    const t = parseCsv('a,b,y\n1,2,1\n2,1,0\n3,5,1\n4,4,0\n', { source: 'fit.csv' });
    const d = tableToDesign(t, { target: 'y', targetKind: 'binary' });
    const lr = await e.logisticRegression(d.x, d.y!, { l2: 1, encoder: d.encoder });
    await expectCode(lr.predictProba(parseCsv('a,c\n1,2\n', { source: 'new.csv' })), 'SHAPE_MISMATCH', /new\.csv lacks column "b" that the model was fitted on \(a, b\)/);
  });

  it('bad options: l2 < 0, maxIter 0, an unknown init, weights of the wrong length', async () => {
    const e = await engine();
    await expectCode(e.linearRegression(x, y, { l2: -1 }), 'INVALID_ARGUMENT', /l2 must be a finite number ≥ 0 \(got -1\)/);
    await expectCode(e.logisticRegression(x, new Float64Array([0, 1, 0, 1, 1]), { maxIter: 0 }), 'INVALID_ARGUMENT', /maxIter must be a whole number ≥ 1/);
    await expectCode(e.kmeans(x, { k: 2, init: 'kmeans' as 'random' }), 'INVALID_ARGUMENT', /init must be "k-means\+\+", "random" or a k × cols matrix/);
    await expectCode(e.linearRegression(x, y, { sampleWeight: new Float64Array(4) }), 'SHAPE_MISMATCH', /sampleWeight has 4 values but x has 5 rows/);
    await expectCode(e.kmeans(x, { k: 2, init: { rows: 3, cols: 2, data: new Float32Array(6) } }), 'SHAPE_MISMATCH', /init has 3 centroids but k = 2/);
  });
});
