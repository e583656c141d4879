// The engine's ALS half-step over several blocks of rows, which the workers claim from a shared counter: the Gram
// matrix of the factors it wrote (`outGram`, which the fit passes on as the next half-step's YᵀY) equals XᵀX
// computed here in f64 from the returned factors; the same bits on 1 and 2 threads and inline; a singular system
// names the first failing row in row order whichever worker met it; a wrong size refused. (The solve itself is
// tested on every backend in tests/backends/als.test.ts.)
import { describe, expect, it } from 'vitest';
import { randomCsr } from '../helpers/csr.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';
import { randomF32 } from '../helpers/rng.js';

const engine = engineFactory();

/** Oracle: XᵀX in f64 (both triangles). */
function gramOf(x: Float32Array, rows: number, k: number): Float64Array {
  const g = new Float64Array(k * k);
  for (let r = 0; r < rows; r++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) g[a * k + b]! += x[r * k + a]! * x[r * k + b]!;
  return g;
}

describe('alsSolve outGram', () => {
  // 3,000 rows of about 45 interactions at k = 16: several solve blocks, and more work than runs inline.
  const k = 16;
  const rows = randomCsr(3000, 300, 0.15, 7, true);
  const y = { rows: 300, cols: k, data: randomF32(300 * k, 3).map((v) => v * 0.3) };
  const start = randomF32(3000 * k, 4).map((v) => v * 0.01);
  const opts = { alpha: 1, regularization: 2, solver: 'cg' as const, cgSteps: 3 };

  it('is XᵀX of the factors written, the same on 1 and 2 threads and inline', async () => {
    const results: { x: Float32Array; g: Float64Array }[] = [];
    for (const o of [{ threads: 1 }, { threads: 2 }, { threads: 1, inlineWork: 1e12 }]) {
      const e = await engine(o);
      const x = start.slice();
      const g = new Float64Array(k * k);
      await e.alsSolve(rows, y, x, { ...opts, outGram: g });
      results.push({ x, g });
    }
    const want = gramOf(results[0]!.x, 3000, k);
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < k * k; i++) expect(Math.abs(results[0]!.g[i]! - want[i]!)).toBeLessThanOrEqual(1e-12 * scale);
    for (const r of results.slice(1)) {
      expect(r.x).toEqual(results[0]!.x);
      expect(r.g).toEqual(results[0]!.g);
    }
  });

  it('names the first singular row in row order, on 2 threads as inline', async () => {
    // Zero factors and λ = 0: every row with interactions is singular, so each block fails at its first such row.
    const zero = { ...y, data: new Float32Array(300 * k) };
    const first = Array.from({ length: 3000 }, (_, r) => r).find((r) => rows.indptr[r + 1]! > rows.indptr[r]!)!;
    for (const o of [{ threads: 2 }, { threads: 1, inlineWork: 1e12 }]) {
      const e = await engine(o);
      const err = await expectCode(e.alsSolve(rows, zero, start.slice(), { ...opts, solver: 'cholesky', regularization: 0 }), 'NOT_POSITIVE_DEFINITE');
      expect(err.details?.['row']).toBe(first);
    }
  });

  it('refuses an outGram of the wrong size', async () => {
    const e = await engine();
    await expectCode(e.alsSolve(rows, y, start.slice(), { ...opts, outGram: new Float64Array(k * k - 1) }), 'SHAPE_MISMATCH');
  });
});
