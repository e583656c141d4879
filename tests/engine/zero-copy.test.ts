// The zero-copy data path on every backend: which inputs the engine reads in place (engine.inputCopies is the
// observable), what a borrowed input sees when its owner writes it, that plain, shared and engine-allocated
// inputs give the same fits (and match an f64 oracle), that NaN/±Infinity are still refused with the cell
// named, and that the loaders' `into` option gives the same values in engine memory.
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { encodeNpy, npyToMatrix } from '../../src/data/npy.js';
import { tableToDesign } from '../../src/data/table.js';
import { AllocatedMatrix, Engine } from '../../src/engine/engine.js';
import { fitKMeans } from '../../src/models/kmeans.js';
import { fitLinearRegression } from '../../src/models/linear.js';
import { fitLogisticRegression } from '../../src/models/logistic.js';
import { matrixFromBinary } from '../../src/server/codec.js';
import type { BackendName, Matrix } from '../../src/types.js';
import { expectCode } from '../helpers/errors.js';

const engines = new Map<BackendName, Promise<Engine | null>>();
/** A pooled engine (inlineWork 0: every call goes through the workers), or null when the backend does not load. */
function engineOf(backend: BackendName): Promise<Engine | null> {
  let e = engines.get(backend);
  if (!e) {
    e = Engine.create({ backend, threads: 2, inlineWork: 0 }).catch(() => {
      if (backend === 'native' && process.env['QUIVER_REQUIRE_NATIVE'] === '1') throw new Error('QUIVER_REQUIRE_NATIVE=1 but native did not load');
      return null;
    });
    engines.set(backend, e);
  }
  return e;
}
afterAll(async () => {
  for (const e of engines.values()) await (await e)?.close();
});

/** A deterministic matrix with non-zero means (so centring matters) and a target y = Xβ + 3 + small noise. */
function problem(rows: number, cols: number): { x: Matrix; y: Float64Array } {
  let s = 12345;
  const u = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = Math.fround(2 * u() - 1 + (i % cols));
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let v = 3;
    for (let j = 0; j < cols; j++) v += (j + 1) * 0.5 * data[i * cols + j]!;
    y[i] = v + 0.01 * (u() - 0.5);
  }
  return { x: { rows, cols, data }, y };
}

/** 0/1 labels: y above its median. */
function classes(y: Float64Array): Float64Array {
  const median = Float64Array.from(y).sort()[y.length >> 1]!;
  return Float64Array.from(y, (v) => (v > median ? 1 : 0));
}

/** The same values in a SharedArrayBuffer. */
function sharedCopy(m: Matrix): Matrix {
  const data = new Float32Array(new SharedArrayBuffer(m.data.byteLength));
  data.set(m.data);
  return { rows: m.rows, cols: m.cols, data };
}

/** The same values in engine memory. */
function allocatedCopy(e: Engine, m: Matrix): AllocatedMatrix {
  const a = e.allocMatrix(m.rows, m.cols);
  a.data.set(m.data);
  return a;
}

/** OLS with intercept in f64 from scratch: centred normal equations solved by Gaussian elimination. */
function olsOracle(x: Matrix, y: Float64Array): { beta: number[]; intercept: number } {
  const { rows: n, cols: p, data } = x;
  const mx = new Array<number>(p).fill(0);
  let my = 0;
  for (let i = 0; i < n; i++) {
    my += y[i]! / n;
    for (let j = 0; j < p; j++) mx[j]! += data[i * p + j]! / n;
  }
  const a = Array.from({ length: p }, () => new Array<number>(p + 1).fill(0));
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < p; r++) {
      const xr = data[i * p + r]! - mx[r]!;
      for (let c = 0; c < p; c++) a[r]![c]! += xr * (data[i * p + c]! - mx[c]!);
      a[r]![p]! += xr * (y[i]! - my);
    }
  }
  for (let k = 0; k < p; k++) {
    for (let r = k + 1; r < p; r++) {
      const f = a[r]![k]! / a[k]![k]!;
      for (let c = k; c <= p; c++) a[r]![c]! -= f * a[k]![c]!;
    }
  }
  const beta = new Array<number>(p).fill(0);
  for (let k = p - 1; k >= 0; k--) {
    let v = a[k]![p]!;
    for (let c = k + 1; c < p; c++) v -= a[k]![c]! * beta[c]!;
    beta[k] = v / a[k]![k]!;
  }
  let intercept = my;
  for (let j = 0; j < p; j++) intercept -= mx[j]! * beta[j]!;
  return { beta, intercept };
}

const BACKENDS: BackendName[] = ['native', 'wasm', 'js'];

describe.each(BACKENDS)('zero-copy inputs on %s', (backend) => {
  it('engine-allocated inputs, and SharedArrayBuffer ones on native and js, are read in place; plain ones are copied once', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x } = problem(3000, 5);
    const a = allocatedCopy(e, x);
    const before = e.inputCopies;
    await e.gram(a);
    const staged = e.stage(a);
    await e.gram(staged);
    staged.release();
    // Releasing the borrowed handle left the caller's matrix alone: it is still usable.
    await e.gram(a);
    expect(e.inputCopies).toEqual(before);

    await e.gram(sharedCopy(x));
    const afterShared = e.inputCopies;
    // wasm kernels read only their own memory: a SharedArrayBuffer elsewhere is copied like a plain array.
    expect(afterShared).toEqual(backend === 'wasm' ? { count: before.count + 1, bytes: before.bytes + x.data.byteLength } : before);

    await e.gram(x);
    expect(e.inputCopies).toEqual({ count: afterShared.count + 1, bytes: afterShared.bytes + x.data.byteLength });
    const handle = e.stage(a);
    a.release();
    await expectCode(e.gram(a), 'INVALID_ARGUMENT', /x was released; allocate it again/);
    // A staged handle on released engine memory is refused too (the pages may serve another allocation).
    await expectCode(e.gram(handle), 'INVALID_ARGUMENT', /x was released; stage it again/);
  });

  it('a matrix allocated by an engine of another backend is read in place only where this backend can see it', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x } = problem(3000, 4);
    const want = (await e.gram(x)).g;
    for (const other of BACKENDS) {
      const o = await engineOf(other);
      if (!o || o === e) continue;
      const a = allocatedCopy(o, x);
      try {
        const before = e.inputCopies;
        expect(Array.from((await e.gram(a)).g)).toEqual(Array.from(want));
        // wasm reads only its own memory; native and js read any SharedArrayBuffer (wasm's memory is one too).
        const copied = backend === 'wasm' ? 1 : 0;
        expect(e.inputCopies.count).toBe(before.count + copied);
      } finally {
        a.release();
      }
    }
  });

  it('a staged in-place input sees its owner\'s later writes (it is the same memory, not a snapshot)', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x } = problem(3000, 4);
    const a = allocatedCopy(e, x);
    const staged = e.stage(a);
    try {
      a.data.fill(0);
      a.data[5 * 4 + 2] = 3; // one non-zero cell: G = 9 at (2, 2), zero elsewhere
      const { g } = await e.gram(staged);
      const want = new Float64Array(16);
      want[2 * 4 + 2] = 9;
      expect(Array.from(g)).toEqual(Array.from(want));
    } finally {
      staged.release();
      a.release();
    }
  });

  it('fits are the same from plain, shared and engine-allocated inputs, and match an f64 oracle', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x, y } = problem(6000, 6);
    const a = allocatedCopy(e, x);
    try {
      const oracle = olsOracle(x, y);
      const fits = [await fitLinearRegression(e, x, y), await fitLinearRegression(e, sharedCopy(x), y), await fitLinearRegression(e, a, y)];
      for (const f of fits) {
        expect(Array.from(f.coefficients)).toEqual(Array.from(fits[0]!.coefficients));
        expect(f.intercept).toBe(fits[0]!.intercept);
      }
      for (let j = 0; j < 6; j++) expect(Math.abs(fits[0]!.coefficients[j]! - oracle.beta[j]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(oracle.beta[j]!)));
      expect(Math.abs(fits[0]!.intercept - oracle.intercept)).toBeLessThan(1e-5);
      // Predictions from engine memory are the plain ones too.
      expect(Array.from(await fits[2]!.predict(a))).toEqual(Array.from(await fits[0]!.predict(x)));

      const labels = (await fitLogisticRegression(e, x, classes(y), { l2: 1 })).coefficients;
      const labelsA = (await fitLogisticRegression(e, a, classes(y), { l2: 1 })).coefficients;
      expect(Array.from(labelsA)).toEqual(Array.from(labels));
      const km = await fitKMeans(e, x, { k: 3, seed: 1 });
      const kmA = await fitKMeans(e, a, { k: 3, seed: 1 });
      expect(Array.from(kmA.labels ?? [])).toEqual(Array.from(km.labels ?? [-1]));
      expect(kmA.inertia).toBe(km.inertia);
    } finally {
      a.release();
    }
  });

  it('fits borrow a plain input of 1 MiB or more on native (no copy), and copy it with an abort signal, when smaller, resizable or QUIVER_BORROW=0', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x, y } = problem(50_000, 6); // 1.2 MB: borrowed on native
    const small = problem(3000, 6);
    const borrows = backend === 'native';
    const copiesOf = async (f: () => Promise<unknown>): Promise<number> => {
      const before = e.inputCopies.count;
      await f();
      return e.inputCopies.count - before;
    };
    const lin = await fitLinearRegression(e, x, y);
    expect(await copiesOf(() => fitLinearRegression(e, x, y))).toBe(borrows ? 0 : 1);
    expect(await copiesOf(() => fitLinearRegression(e, x, y, { fitIntercept: false, accumulate: 'f32' }))).toBe(borrows ? 0 : 1);
    expect(await copiesOf(() => fitKMeans(e, x, { k: 4, seed: 3 }))).toBe(borrows ? 0 : 1);
    expect(await copiesOf(() => fitLogisticRegression(e, x, classes(y), { l2: 1 }))).toBe(borrows ? 0 : 1);
    // An abortable call, a small array and a resizable buffer are copied: the copy's answers are the same.
    const signal = new AbortController().signal;
    let linSignal!: Awaited<ReturnType<typeof fitLinearRegression>>;
    expect(await copiesOf(async () => (linSignal = await fitLinearRegression(e, x, y, { signal })))).toBe(1);
    expect(Array.from(linSignal.coefficients)).toEqual(Array.from(lin.coefficients));
    expect(await copiesOf(() => fitLinearRegression(e, small.x, small.y))).toBe(1);
    // (ES2024's resizable ArrayBuffer, in Node 20; the project's TypeScript lib does not declare the option.)
    const Resizable = ArrayBuffer as unknown as new (bytes: number, opts: { maxByteLength: number }) => ArrayBuffer;
    const resizable = new Float32Array(new Resizable(x.data.byteLength, { maxByteLength: 2 * x.data.byteLength }));
    resizable.set(x.data);
    let linResizable!: Awaited<ReturnType<typeof fitLinearRegression>>;
    expect(await copiesOf(async () => (linResizable = await fitLinearRegression(e, { rows: x.rows, cols: x.cols, data: resizable }, y)))).toBe(1);
    expect(Array.from(linResizable.coefficients)).toEqual(Array.from(lin.coefficients));
    const km = await fitKMeans(e, x, { k: 4, seed: 3 });
    const logit = await fitLogisticRegression(e, x, classes(y), { l2: 1 });
    process.env['QUIVER_BORROW'] = '0';
    try {
      const [linCopy, kmCopy, logitCopy] = [await fitLinearRegression(e, x, y), await fitKMeans(e, x, { k: 4, seed: 3 }), await fitLogisticRegression(e, x, classes(y), { l2: 1 })];
      expect(Array.from(linCopy.coefficients)).toEqual(Array.from(lin.coefficients));
      expect(linCopy.intercept).toBe(lin.intercept);
      expect(Array.from(kmCopy.labels ?? [])).toEqual(Array.from(km.labels ?? [-1]));
      expect(kmCopy.inertia).toBe(km.inertia);
      expect(Array.from(logitCopy.coefficients)).toEqual(Array.from(logit.coefficients));
      expect(await copiesOf(() => fitLinearRegression(e, x, y))).toBe(1);
    } finally {
      delete process.env['QUIVER_BORROW'];
    }
    // A borrowed input in a subarray (a non-zero byteOffset) is read from the right place: the oracle agrees.
    const padded = new Float32Array(x.data.length + 7);
    padded.set(x.data, 7);
    const fromOffset = await fitLinearRegression(e, { rows: x.rows, cols: x.cols, data: padded.subarray(7) }, y);
    const oracle = olsOracle(x, y);
    for (let j = 0; j < 6; j++) expect(Math.abs(fromOffset.coefficients[j]! - oracle.beta[j]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(oracle.beta[j]!)));
    expect(Math.abs(fromOffset.intercept - oracle.intercept)).toBeLessThan(1e-5);
    // And a non-finite value in a borrowed input is named as in a copied one.
    const bad = x.data.slice();
    bad[40_000 * 6 + 5] = Number.NaN;
    const message = /x has a non-finite value \(NaN\) at row 40000, column 5; remove or impute it/;
    await expectCode(fitLinearRegression(e, { rows: x.rows, cols: x.cols, data: bad }, y), 'NON_FINITE', message);
    await expectCode(fitKMeans(e, { rows: x.rows, cols: x.cols, data: bad }, { k: 4, seed: 3 }), 'NON_FINITE', message);
    await expectCode(fitLogisticRegression(e, { rows: x.rows, cols: x.cols, data: bad }, classes(y), { l2: 0 }), 'NON_FINITE', message);
  });

  it('single calls (gram, similarity, top-k, scoring) borrow a plain input of 1 MiB or more on native, and copy it with a signal; answers and errors as copied', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x, y } = problem(44_000, 6); // 1.06 MB
    const q = problem(2100, 128).x; // 1.08 MB
    const items = problem(2200, 128).x; // 1.13 MB
    const base = { rows: 1050, cols: 256, data: problem(1050, 256).x.data }; // 1.08 MB
    const borrows = backend === 'native';
    const run = async () => {
      const before = e.inputCopies.count;
      const g = await e.gram(x, { v: y });
      const sim = await e.cosineSimilarity(q);
      const top = await e.topK(q, items, { k: 5 });
      const model = await fitLinearRegression(e, x, y);
      const pred = await model.predict(x);
      const norm = await e.normalizeRows(base);
      return { copies: e.inputCopies.count - before, g, sim, top, pred, norm };
    };
    const borrowed = await run();
    // The fit inside borrows too; with borrowing off every call copies its plain inputs once each.
    expect(borrowed.copies).toBe(borrows ? 0 : 7);
    process.env['QUIVER_BORROW'] = '0';
    let copied: Awaited<ReturnType<typeof run>>;
    try {
      copied = await run();
    } finally {
      delete process.env['QUIVER_BORROW'];
    }
    expect(copied.copies).toBe(7);
    expect(Array.from(borrowed.g.g)).toEqual(Array.from(copied.g.g));
    expect(Array.from(borrowed.g.xty!)).toEqual(Array.from(copied.g.xty!));
    expect(Array.from(borrowed.sim.data)).toEqual(Array.from(copied.sim.data));
    expect(Array.from(borrowed.top.indices)).toEqual(Array.from(copied.top.indices));
    expect(Array.from(borrowed.top.scores)).toEqual(Array.from(copied.top.scores));
    expect(Array.from(borrowed.pred)).toEqual(Array.from(copied.pred));
    expect(Array.from(borrowed.norm.matrix.data)).toEqual(Array.from(copied.norm.matrix.data));
    // The caller's array is never written (cosine normalises into a buffer of its own).
    expect(Array.from(q.data.subarray(0, 8))).toEqual(Array.from(problem(2100, 128).x.data.subarray(0, 8)));
    // An abortable call copies.
    const before = e.inputCopies.count;
    await e.gram(x, { signal: new AbortController().signal });
    expect(e.inputCopies.count).toBe(before + 1);
    // A non-finite value in a borrowed input is named as in a copied one.
    const bad = { rows: x.rows, cols: x.cols, data: x.data.slice() };
    bad.data[43_000 * 6 + 1] = Number.POSITIVE_INFINITY;
    const message = /x has a non-finite value \(Infinity\) at row 43000, column 1; remove or impute it/;
    await expectCode(e.gram(bad), 'NON_FINITE', message);
    await expectCode(e.normalizeRows(bad), 'NON_FINITE', message);
  });

  it('NaN and ±Infinity are refused with the same error and cell, plain, shared or allocated, with or without intercept or zero weights', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x, y } = problem(5000, 4);
    const cases: [number, number, number][] = [
      [0, 0, Number.NaN],
      [4321, 3, Number.POSITIVE_INFINITY],
      [4999, 1, Number.NEGATIVE_INFINITY],
    ];
    for (const [row, col, value] of cases) {
      const bad = { rows: x.rows, cols: x.cols, data: x.data.slice() };
      bad.data[row * x.cols + col] = value;
      const message = new RegExp(`x has a non-finite value \\(${String(value).replace('+', '')}\\) at row ${row}, column ${col}; remove or impute it`);
      const a = allocatedCopy(e, bad);
      try {
        for (const input of [bad, sharedCopy(bad), a]) {
          await expectCode(fitLinearRegression(e, input, y), 'NON_FINITE', message);
          await expectCode(fitLinearRegression(e, input, y, { fitIntercept: false }), 'NON_FINITE', message);
          const w = new Float64Array(x.rows).fill(1);
          w[row] = 0;
          await expectCode(fitLinearRegression(e, input, y, { sampleWeight: w }), 'NON_FINITE', message);
          await expectCode(fitLogisticRegression(e, input, classes(y), { l2: 0 }), 'NON_FINITE', message);
          await expectCode(e.gram(input), 'NON_FINITE', message);
        }
      } finally {
        a.release();
      }
    }
  });

  it('batch scoring (identity link) checks values from its scores: a bad cell is still named, even where its coefficient is 0', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x } = problem(4000, 5);
    const w = Float64Array.from([1, 0, -2, 0.5, 3]);
    for (const [row, col, value] of [
      [17, 1, Number.POSITIVE_INFINITY],
      [3999, 4, Number.NaN],
    ] as const) {
      const bad = { rows: x.rows, cols: x.cols, data: x.data.slice() };
      bad.data[row * x.cols + col] = value;
      const message = new RegExp(`x has a non-finite value \\(${String(value)}\\) at row ${row}, column ${col}`);
      await expectCode(e.matvec(bad, w, 0.5, 0), 'NON_FINITE', message);
      await expectCode(e.matvec(sharedCopy(bad), w, 0.5, 1), 'NON_FINITE', message);
      // A small batch runs inline on the caller's arrays: the same check.
      const head = { rows: row + 1, cols: x.cols, data: bad.data.subarray(0, (row + 1) * x.cols) };
      const inline = await Engine.create({ backend, threads: 1 });
      try {
        await expectCode(inline.matvec(head, w, 0.5, 0), 'NON_FINITE', message);
      } finally {
        await inline.close();
      }
    }
    // The scores themselves are those of the f64 sum, rounded to f32.
    const out = await e.matvec(x, w, 0.5, 0);
    for (const i of [0, 1234, 3999]) {
      let z = 0.5;
      for (let j = 0; j < 5; j++) z += x.data[i * 5 + j]! * w[j]!;
      expect(Math.abs(out[i]! - z)).toBeLessThan(1e-5 * Math.max(1, Math.abs(z)));
    }
  });

  it('normalising a shared or allocated input leaves it unchanged', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x } = problem(2000, 8);
    const a = allocatedCopy(e, x);
    const s = sharedCopy(x);
    try {
      await e.cosineSimilarity(a, s);
      await e.topK(s, a, { k: 3 });
      expect(Array.from(a.data)).toEqual(Array.from(x.data));
      expect(Array.from(s.data)).toEqual(Array.from(x.data));
    } finally {
      a.release();
    }
  });

  it('loaders with `into` put the same values in engine memory (.npy f32 and f64, CSV tables, Arrow)', async () => {
    const e = await engineOf(backend);
    if (!e) return;
    const { x } = problem(300, 3);
    const f64 = Float64Array.from(x.data, (v) => v / 3);
    const made: AllocatedMatrix[] = [];
    const into = {
      allocMatrix: (rows: number, cols: number) => {
        const m = e.allocMatrix(rows, cols);
        made.push(m);
        return m;
      },
    };
    try {
      for (const bytes of [encodeNpy(x.data, [300, 3]), encodeNpy(f64, [300, 3])]) {
        const plain = npyToMatrix(bytes);
        const got = npyToMatrix(bytes, 'x.npy', { into });
        expect(got).toBeInstanceOf(AllocatedMatrix);
        expect([got.rows, got.cols]).toEqual([300, 3]);
        expect(Array.from(got.data)).toEqual(Array.from(plain.data));
      }
      // An unaligned f64 body (the Node Buffer pool hands out such views) decodes the same.
      const f64Bytes = encodeNpy(f64, [300, 3]);
      const shifted = new Uint8Array(f64Bytes.length + 4).subarray(4);
      shifted.set(f64Bytes);
      expect(Array.from(npyToMatrix(shifted, 'x.npy', { into }).data)).toEqual(Array.from(Float32Array.from(f64)));

      const t = parseCsv('a,b,c,y\n1,red,2.5,1\n2,blue,3.5,0\n4,red,-1,1\n', { source: 't.csv' });
      const plain = tableToDesign(t, { target: 'y', standardize: true });
      const got = tableToDesign(t, { target: 'y', standardize: true, into });
      expect(got.x).toBeInstanceOf(AllocatedMatrix);
      expect(Array.from(got.x.data)).toEqual(Array.from(plain.x.data));

      const arrow = tableToIPC(tableFromArrays({ p: Float64Array.from([1.5, 2, 3]), q: Int32Array.from([4, 5, 6]) }), 'stream');
      const m = matrixFromBinary({ kind: 'arrow', bytes: Buffer.from(arrow) }, { into }).matrix;
      expect(m).toBeInstanceOf(AllocatedMatrix);
      expect(Array.from(m.data)).toEqual([1.5, 4, 2, 5, 3, 6]);

      // The pipeline file → fit → predict copies nothing after the parse.
      const before = e.inputCopies;
      const { y } = problem(300, 3);
      const fit = await fitLinearRegression(e, npyToMatrix(encodeNpy(x.data, [300, 3]), 'x.npy', { into }), y);
      await fit.predict(made[made.length - 1]!);
      expect(e.inputCopies).toEqual(before);
    } finally {
      for (const m of made) m.release();
    }
  });
});
