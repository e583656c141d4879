// choleskySolve on every backend and level, checked by its residual G·X − B (computed here in f64), not by
// equality with another solver; a non-positive or non-finite pivot is NOT_POSITIVE_DEFINITE with its index and
// the same message on every backend; the edges.
import { describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import type { Backend } from '../../src/backends/types.js';
import { backendCases } from '../helpers/backends.js';
import { randomF64 } from '../helpers/rng.js';
import { expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/** A symmetric positive definite G = AAᵀ + nI (n × n, row-major; well conditioned). */
function spd(n: number, seed: number): Float64Array {
  const m = n + 3;
  const a = randomF64(n * m, seed);
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let p = 0; p < m; p++) s += a[i * m + p]! * a[j * m + p]!;
      g[i * n + j] = s;
    }
  }
  return g;
}

/** Oracle: G·X in f64 (n × nrhs). */
function times(g: Float64Array, n: number, x: Float64Array, nrhs: number): Float64Array {
  const out = new Float64Array(n * nrhs);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < nrhs; r++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += g[i * n + p]! * x[p * nrhs + r]!;
      out[i * nrhs + r] = s;
    }
  }
  return out;
}

function failure(b: Backend, g: Float64Array, n: number): QuiverError {
  try {
    b.choleskySolve(g, n, new Float64Array(n), 1);
  } catch (e) {
    expect(e).toBeInstanceOf(QuiverError);
    return e as QuiverError;
  }
  throw new Error('expected NOT_POSITIVE_DEFINITE');
}

describe.each(cases)('choleskySolve on $label', ({ family, backend: b }) => {
  const tol = tolerance('choleskySolve', family);

  it('the residual G·X − B is small for every size and several right-hand sides', () => {
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 65]) {
      for (const nrhs of [1, 3]) {
        const g = spd(n, 900 + n);
        const rhs = randomF64(n * nrhs, 950 + n + nrhs);
        const x = rhs.slice();
        b.choleskySolve(g.slice(), n, x, nrhs);
        expectClose(times(g, n, x, nrhs), rhs, tol, `residual n=${n} nrhs=${nrhs}`);
      }
    }
  });

  it('only the upper triangle of G is read', () => {
    const n = 6;
    const g = spd(n, 5);
    const junk = g.slice();
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) junk[i * n + j] = 1e6 * (i + j);
    const x = randomF64(n, 6);
    const rhs = x.slice();
    b.choleskySolve(junk, n, x, 1);
    expectClose(times(g, n, x, 1), rhs, tol, 'upper triangle');
  });

  it('a pivot that is not positive, or not finite, names its index (details.pivot) in one message for every backend', () => {
    // Rank 2: the second pivot is 1 − 2²/4 = 0.
    const e = failure(b, Float64Array.from([4, 2, 0, 2, 1, 0, 0, 0, 1]), 3);
    expect(e.code).toBe('NOT_POSITIVE_DEFINITE');
    expect(e.details).toEqual({ pivot: 1 });
    expect(e.message).toBe('the Gram matrix is not positive definite at pivot 1; add an L2 penalty or remove constant or duplicate columns');
    expect(failure(b, Float64Array.from([-1]), 1).details).toEqual({ pivot: 0 });
    expect(failure(b, Float64Array.from([1, 0, 0, Infinity]), 2).details).toEqual({ pivot: 1 });
    expect(failure(b, Float64Array.from([1, 0, 0, 0, 2, 0, 0, 0, NaN]), 3).details).toEqual({ pivot: 2 });
    // NaN off the diagonal reaches the next pivot through its update.
    expect(failure(b, Float64Array.from([1, NaN, 0, 1]), 2).details).toEqual({ pivot: 1 });
  });

  it('edges: n = 0 does nothing; a diagonal G divides; with no right-hand sides G is still factored (and checked)', () => {
    const b0 = Float64Array.from([5]);
    b.choleskySolve(new Float64Array(0), 0, b0, 1);
    expect(b0[0]).toBe(5);
    const d = Float64Array.from([4, 0, 0, 0, 16, 0, 0, 0, 1]);
    const x = Float64Array.from([8, 4, -3]);
    b.choleskySolve(d, 3, x, 1);
    expect(Array.from(x)).toEqual([2, 0.25, -3]); // oracle: b_i / g_ii, exact for these powers of two
    expect(() => b.choleskySolve(Float64Array.from([4, 2, 2, 3]), 2, new Float64Array(0), 0)).not.toThrow();
    expect(failure(b, Float64Array.from([4, 2, 2, 1]), 2).details).toEqual({ pivot: 1 });
  });
});

describe('choleskySolve failures across backends', () => {
  it('the same failure reads the same on native, wasm and js: one code, message and details', () => {
    const seen = cases.map(({ label, family, backend }) => ({ label, family, error: failure(backend, Float64Array.from([4, 2, 0, 2, 1, 0, 0, 0, 1]), 3).toJSON() }));
    const families = new Set(seen.map((s) => s.family));
    for (const f of ['wasm', 'js', ...(process.env['QUIVER_REQUIRE_NATIVE'] === '1' ? ['native'] : [])]) expect(families, f).toContain(f);
    for (const s of seen) expect(s.error, s.label).toEqual(seen[0]!.error);
  });
});
