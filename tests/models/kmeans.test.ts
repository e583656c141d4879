// KMeans on the selected backend against scikit-learn (stored fixtures from
// scripts/fixtures/make_model_fixtures.py), plus exact small cases and the silhouette/chooseK helpers.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/csv.js';
import { TableEncoder } from '../../src/data/table.js';
import { chooseK } from '../../src/models/kmeans-choose.js';
import { silhouetteScore } from '../../src/models/metrics.js';
import type { Matrix } from '../../src/types.js';
import { sourceText, type FixtureSource } from '../helpers/fixtures.js';
import { expectCode } from '../helpers/errors.js';
import { blobs } from './blobs.js';
import { fixture, haveDatasets, labelsFromDigits, mallCustomers, useEngine } from './helpers.js';

interface KmRef {
  init_rows: number[];
  labels: string;
  inertia: number;
  n_iter: number;
  centers: number[];
}
interface MallFixture {
  source: FixtureSource;
  columns: string[];
  k: number;
  given: KmRef;
  weighted: KmRef;
  kmeanspp: { k: number; inertia: number };
}
interface BlobsFixture {
  seed: number;
  rows: number;
  cols: number;
  k: number;
  data_sha256: string;
  given: KmRef;
  kmeanspp: { k: number; inertia: number };
}

const engine = useEngine();
const mall = fixture<MallFixture>('kmeans_mall.json');
const blobsRef = fixture<BlobsFixture>('kmeans_blobs.json');

function rowsOf(x: Matrix, rows: number[]): Matrix {
  const data = new Float32Array(rows.length * x.cols);
  rows.forEach((r, i) => {
    data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols);
  });
  return { rows: rows.length, cols: x.cols, data };
}

async function mallMatrix(): Promise<Matrix> {
  sourceText(mallCustomers, mall.source, 'kmeans_mall.json'); // throws, saying to regenerate, if the file changed
  const table = await readCsv(mallCustomers);
  return TableEncoder.fit(table, { columns: mall.columns }).encode(table);
}

describe.skipIf(!haveDatasets)('KMeans on Mall_Customers (needs ../shared/datasets)', () => {
  it('from given centroids: the labels, inertia and iterations of scikit-learn', async () => {
    const e = await engine();
    const x = await mallMatrix();
    const m = await e.kmeans(x, { k: mall.k, init: rowsOf(x, mall.given.init_rows) });
    // oracle: sklearn KMeans(init=C, n_init=1, algorithm='lloyd'), kmeans_mall.json
    expect(Array.from(m.labels!)).toEqual(Array.from(labelsFromDigits(mall.given.labels)));
    expect(Math.abs(m.inertia - mall.given.inertia) / mall.given.inertia).toBeLessThan(1e-5);
    expect(m.nIter).toBe(mall.given.n_iter);
    expect(m.converged).toBe(true);
    for (let i = 0; i < mall.given.centers.length; i++) expect(m.centroids.data[i]).toBeCloseTo(mall.given.centers[i]!, 4);
  });

  it('with sample weights from given centroids: scikit-learn labels and inertia', async () => {
    const e = await engine();
    const x = await mallMatrix();
    const w = Float64Array.from({ length: x.rows }, (_, i) => 1 + (i % 3));
    const m = await e.kmeans(x, { k: mall.k, init: rowsOf(x, mall.weighted.init_rows), sampleWeight: w });
    // oracle: sklearn fit(X, sample_weight=1 + (i mod 3)), kmeans_mall.json "weighted"
    expect(Array.from(m.labels!)).toEqual(Array.from(labelsFromDigits(mall.weighted.labels)));
    expect(Math.abs(m.inertia - mall.weighted.inertia) / mall.weighted.inertia).toBeLessThan(1e-5);
  });

  it('k-means++ with nInit 10: inertia within 0.5% of scikit-learn (or better)', async () => {
    const e = await engine();
    const x = await mallMatrix();
    const m = await e.kmeans(x, { k: mall.kmeanspp.k, nInit: 10, seed: 7 });
    // oracle: sklearn KMeans(k-means++, n_init=10, random_state=0).inertia_
    expect(m.inertia).toBeLessThanOrEqual(mall.kmeanspp.inertia * 1.005);
  });
});

describe('KMeans on 20,000 × 16 seeded blobs', () => {
  const { x, truth } = blobs(blobsRef.seed, blobsRef.rows, blobsRef.cols, blobsRef.k);

  it('the generator reproduces the fixture data bit for bit', () => {
    const bytes = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    // oracle: sha256 of the float32 array written by make_model_fixtures.py
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(blobsRef.data_sha256);
  });

  it('from given centroids: identical labels, inertia within 1e-5 relative', async () => {
    const e = await engine();
    const m = await e.kmeans(x, { k: blobsRef.k, init: rowsOf(x, blobsRef.given.init_rows) });
    // oracle: sklearn KMeans(init=first 8 rows, n_init=1), kmeans_blobs.json
    const want = labelsFromDigits(blobsRef.given.labels);
    let diff = 0;
    for (let i = 0; i < want.length; i++) if (m.labels![i] !== want[i]) diff++;
    expect(diff).toBe(0);
    expect(Math.abs(m.inertia - blobsRef.given.inertia) / blobsRef.given.inertia).toBeLessThan(1e-5);
    expect(m.nIter).toBe(blobsRef.given.n_iter);
  });

  it('k-means++ with nInit 10: inertia within 0.5% of scikit-learn; it recovers the 8 blobs', async () => {
    const e = await engine();
    const m = await e.kmeans(x, { k: blobsRef.k, nInit: 10, seed: 1 });
    // oracle: sklearn KMeans(k-means++, n_init=10, random_state=0).inertia_
    expect(m.inertia).toBeLessThanOrEqual(blobsRef.kmeanspp.inertia * 1.005);
    // oracle: the generator's blob of each row; a perfect clustering is a relabelling of it
    const map = new Map<number, number>();
    for (let i = 0; i < x.rows; i++) {
      const t = truth[i]!;
      const l = m.labels![i]!;
      if (!map.has(t)) map.set(t, l);
      expect(map.get(t)).toBe(l);
    }
    expect(new Set(map.values()).size).toBe(8);
  });

  it('the same seed gives the same model; predict and transform agree with the fit', async () => {
    const e = await engine();
    const sub = rowsOf(x, [...Array(3000).keys()]);
    const a = await e.kmeans(sub, { k: 8, init: 'random', nInit: 3, seed: 42 });
    const b = await e.kmeans(sub, { k: 8, init: 'random', nInit: 3, seed: 42 });
    expect(Array.from(a.centroids.data)).toEqual(Array.from(b.centroids.data));
    expect(a.inertia).toBe(b.inertia);
    expect(a.params.nInit).toBe(3);
    const labels = await a.predict(sub);
    expect(Array.from(labels)).toEqual(Array.from(a.labels!));
    const dist = await a.transform(sub);
    let inertia = 0;
    for (let i = 0; i < sub.rows; i++) {
      const row = Array.from(dist.data.subarray(i * 8, i * 8 + 8));
      const best = row.indexOf(Math.min(...row));
      expect(best).toBe(labels[i]);
      inertia += row[best]! ** 2;
    }
    // oracle: inertia is the sum of squared distances to the assigned centroid (definition)
    expect(Math.abs(inertia - a.inertia) / a.inertia).toBeLessThan(1e-5);
    // Lloyd never increases the inertia from one step to the next.
    for (let i = 1; i < a.inertiaHistory.length; i++) expect(a.inertiaHistory[i]!).toBeLessThanOrEqual(a.inertiaHistory[i - 1]! * (1 + 1e-12));
  });
});

describe('KMeans: per-step inertia from the sums', () => {
  const { x } = blobs(blobsRef.seed, blobsRef.rows, blobsRef.cols, blobsRef.k);

  it('equals the exact inertia of each step, even far from the origin', async () => {
    const e = await engine();
    const sub = rowsOf(x, [...Array(4000).keys()]);
    // Shift every value by 300: ‖x‖² dwarfs the distances, the hard case for Σ‖x‖² − 2Σc·S + Σn‖c‖².
    const far = { rows: sub.rows, cols: sub.cols, data: sub.data.map((v) => v + 300) };
    const c0 = rowsOf(far, [0, 500, 1000, 1500, 2000, 2500]);
    const w = new Float64Array(far.rows).map((_, i) => 0.5 + (i % 4));
    for (const sampleWeight of [undefined, w]) {
      const w32 = sampleWeight ? Float32Array.from(sampleWeight) : null;
      const one = await e.kmeans(far, { k: 6, init: c0, maxIter: 1, tol: 0, sampleWeight });
      const two = await e.kmeans(far, { k: 6, init: c0, maxIter: 2, tol: 0, sampleWeight });
      // oracle: the exact inertia of the step's starting centroids, from the kernel's exact distances
      const exact0 = (await e.kmeansStep(far, c0, w32)).inertia;
      const exact1 = (await e.kmeansStep(far, one.centroids, w32)).inertia;
      expect(Math.abs(one.inertiaHistory[0]! - exact0) / exact0).toBeLessThan(1e-9);
      expect(Math.abs(two.inertiaHistory[1]! - exact1) / exact1).toBeLessThan(1e-9);
      expect(one.inertia).toBe(exact1);
    }
  });
});

describe('KMeans: exact small cases', () => {
  it('an empty cluster takes the farthest row (hand-computed)', async () => {
    const e = await engine();
    const x = { rows: 4, cols: 1, data: new Float32Array([0, 1, 2, 10]) };
    const m = await e.kmeans(x, { k: 2, init: { rows: 2, cols: 1, data: new Float32Array([0, 100]) } });
    // oracle by hand: step 1 puts every row with centroid 0 (inertia 0 + 1 + 4 + 100) and leaves centroid 1
    // empty; row 3 (the farthest, distance² 100) moves to it: centroids 1 and 10. Step 2 assigns against
    // those (inertia 1 + 0 + 1 + 0) and leaves them where they are: shift 0 ≤ tol, two steps.
    expect(Array.from(m.centroids.data)).toEqual([1, 10]);
    expect(Array.from(m.labels!)).toEqual([0, 0, 0, 1]);
    expect(m.inertia).toBe(2);
    expect(Array.from(m.inertiaHistory)).toEqual([105, 2]);
    expect(m.nIter).toBe(2);
  });

  it('weights move the centroid to the weighted mean (hand-computed)', async () => {
    const e = await engine();
    const x = { rows: 3, cols: 2, data: new Float32Array([0, 0, 4, 0, 100, 100]) };
    const m = await e.kmeans(x, { k: 2, init: { rows: 2, cols: 2, data: new Float32Array([0, 0, 100, 100]) }, sampleWeight: new Float64Array([3, 1, 2]) });
    // oracle by hand: cluster 0 = rows 0, 1 with weights 3, 1: mean (0·3 + 4·1)/4 = 1; inertia 3·1 + 1·9 = 12
    expect(Array.from(m.centroids.data)).toEqual([1, 0, 100, 100]);
    expect(m.inertia).toBe(12);
  });
});

describe('silhouette and chooseK', () => {
  it('silhouette of two 1-D pairs (hand-computed)', () => {
    const x = { rows: 4, cols: 1, data: new Float32Array([0, 1, 10, 11]) };
    // oracle by hand (Rousseeuw 1987): s = (b − a)/max(a, b): 9.5/10.5, 8.5/9.5, 8.5/9.5, 9.5/10.5
    const want = (2 * (9.5 / 10.5) + 2 * (8.5 / 9.5)) / 4;
    expect(silhouetteScore(x, [0, 0, 1, 1])).toBeCloseTo(want, 12);
    // a singleton cluster scores 0 for its row: rows 0,1 as above with b over {10}: 9/10 and 8/9
    expect(silhouetteScore({ rows: 3, cols: 1, data: new Float32Array([0, 1, 10]) }, [0, 0, 1])).toBeCloseTo((9 / 10 + 8 / 9 + 0) / 3, 12);
  });

  it('chooseK finds the 8 blobs by silhouette, inertia falling with k', async () => {
    const e = await engine();
    const { x } = blobs(blobsRef.seed, 2000, blobsRef.cols, blobsRef.k);
    const rows = await chooseK(e, x, { ks: [2, 4, 6, 8, 10], nInit: 3, seed: 3, sampleSize: 600 });
    expect(rows.map((r) => r.k)).toEqual([2, 4, 6, 8, 10]);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.inertia).toBeLessThan(rows[i - 1]!.inertia);
    const best = rows.reduce((a, b) => (b.silhouette! > a.silhouette! ? b : a));
    // oracle: the data were generated from 8 well-separated blobs
    expect(best.k).toBe(8);
  });

  it('a silhouette sample too small for the largest k is refused before any fit, naming sampleSize and the size it needs', async () => {
    const e = await engine();
    const { x } = blobs(blobsRef.seed, 200, blobsRef.cols, blobsRef.k);
    await expectCode(chooseK(e, x, { ks: [2, 10], sampleSize: 6 }), 'INVALID_ARGUMENT', /k = 10 cannot be scored on the silhouette sample \(sampleSize\) of 6 rows.*raise sampleSize to 11 or more/);
    const tiny = { rows: 5, cols: 1, data: new Float32Array([0, 1, 2, 3, 4]) };
    await expectCode(chooseK(e, tiny, { ks: [2, 5] }), 'INVALID_ARGUMENT', /k = 5 cannot be scored on x's 5 rows.*try k up to 4/);
    // The silhouette itself names the sample when the sample is what lacks clusters.
    expect(() => silhouetteScore({ rows: 6, cols: 1, data: new Float32Array([0, 1, 2, 3, 4, 5]) }, [0, 0, 0, 0, 0, 0], { sampleSize: 3, seed: 1 })).toThrow(
      /among the 3 sampled rows \(sampleSize\), and found 1; raise sampleSize/,
    );
  });
});
