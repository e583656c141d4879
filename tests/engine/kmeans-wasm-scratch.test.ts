// A Lloyd step without distances on the wasm backend over large blocks: the kernel writes per-row distances
// somewhere, and a worker's own copy slot (64 KiB) cannot hold a block of more than 8,192 rows, so the wasm adapter
// calls the kernel in chunks whose scratch fits it. Sums and counts against an f64 oracle written here; the
// inertia is NaN without distances.
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type Quiver } from '../../src/quiver.js';

let engine: Quiver | undefined;
afterAll(async () => {
  await engine?.close();
});

describe('kmeansStep without distances on wasm, large blocks', () => {
  it('1,000,000 × 4 rows (above the inline threshold, so in the pool), one centroid: the column sums and the count, no distances', async () => {
    engine = await createEngine({ backend: 'wasm', threads: 2 });
    const n = 1_000_000;
    const d = 4;
    const x = new Float32Array(n * d);
    for (let i = 0; i < n * d; i++) x[i] = (i % 7) - 3 + (i % 11) * 0.5;
    // oracle: the column sums in f64
    const want = new Float64Array(d);
    for (let i = 0; i < n * d; i++) want[i % d]! += x[i]!;
    const r = await engine.kmeansStep({ rows: n, cols: d, data: x }, { rows: 1, cols: d, data: new Float32Array(d) }, null, { distances: false });
    expect(r.counts[0]).toBe(n);
    for (let j = 0; j < d; j++) expect(r.sums[j]).toBeCloseTo(want[j]!, 6);
    expect(r.minDist2).toBeNull();
    expect(r.inertia).toBeNaN();
  }, 60_000);
});
