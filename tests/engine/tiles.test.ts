// Engine.choleskyInverse on the backend this pass selected: the inverse of a matrix spanning several tiles,
// checked by its residual G·P − I computed here in f64; the same bits for 1 and 2 threads; a matrix that is not
// positive definite fails with the global index of its pivot; bad buffers are refused.
import { describe, expect, it } from 'vitest';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';
import { randomF64 } from '../helpers/rng.js';

const engine = engineFactory();

/** G = AAᵀ + nI (n × n, symmetric, so its row-major and column-major layouts agree). */
function spd(n: number, seed: number): Float64Array {
  const m = 20;
  const a = randomF64(n * m, seed);
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = i === j ? n / 4 : 0;
      for (let p = 0; p < m; p++) s += a[i * m + p]! * a[j * m + p]!;
      g[i * n + j] = s;
      g[j * n + i] = s;
    }
  }
  return g;
}

/** The symmetric P from the lower triangle (column-major) the inverse leaves. */
function symmetric(p: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    for (let r = c; r < n; r++) {
      out[r * n + c] = p[c * n + r]!;
      out[c * n + r] = p[c * n + r]!;
    }
  }
  return out;
}

describe('Engine.choleskyInverse', () => {
  it('G·P = I within 1e-10 for sizes below, at and across tile boundaries', async () => {
    const e = await engine({ threads: 2 });
    for (const n of [1, 2, 17, 256, 257, 600]) {
      const g = spd(n, n);
      const buf = e.allocVector(n * n);
      buf.data.set(g);
      await e.choleskyInverse(buf, n);
      const p = symmetric(buf.data, n);
      let worst = 0;
      // Oracle: the residual G·P − I, in f64 here (rows sampled on large n).
      for (let i = 0; i < n; i += n > 300 ? 7 : 1) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let q = 0; q < n; q++) s += g[i * n + q]! * p[q * n + j]!;
          worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
        }
      }
      expect(worst, `n=${n}`).toBeLessThan(1e-10);
      buf.release();
    }
  });

  it('the same bits for 1 and 2 threads', async () => {
    const n = 530;
    const g = spd(n, 3);
    const out: Float64Array[] = [];
    for (const threads of [1, 2]) {
      const e = await engine({ threads, inlineWork: 0 });
      const buf = e.allocVector(n * n);
      buf.data.set(g);
      await e.choleskyInverse(buf, n);
      out.push(symmetric(buf.data, n));
      buf.release();
    }
    expect(out[1]).toEqual(out[0]);
  });

  it('reports progress per tile column of each phase', async () => {
    const e = await engine({ threads: 2 });
    const n = 600;
    const buf = e.allocVector(n * n);
    buf.data.set(spd(n, 4));
    const seen: string[] = [];
    await e.choleskyInverse(buf, n, { onProgress: (p) => seen.push(`${p.phase} ${p.done}/${p.total}`) });
    // 600 = 256 + 256 + 88: three tile columns per phase.
    expect(seen).toEqual(['factor 1/3', 'factor 2/3', 'factor 3/3', 'invert 1/3', 'invert 2/3', 'invert 3/3', 'multiply 1/3', 'multiply 2/3', 'multiply 3/3']);
    buf.release();
  });

  it('a matrix that is not positive definite fails at the global index of its pivot', async () => {
    const e = await engine({ threads: 2 });
    const n = 400;
    const g = spd(n, 5);
    // Row and column 300 (in the second tile) zeroed: the pivot at 300 is 0.
    for (let i = 0; i < n; i++) {
      g[300 * n + i] = 0;
      g[i * n + 300] = 0;
    }
    const buf = e.allocVector(n * n);
    buf.data.set(g);
    const err = await e.choleskyInverse(buf, n).catch((x: unknown) => x);
    expect(err).toMatchObject({ code: 'NOT_POSITIVE_DEFINITE', details: { pivot: 300 } });
    buf.release();
  });

  it('refuses a buffer that is too small or released', async () => {
    const e = await engine();
    const buf = e.allocVector(15);
    await expectCode(e.choleskyInverse(buf, 4), 'SHAPE_MISMATCH', /the buffer has 15 values; expected 4 × 4/);
    buf.release();
    await expectCode(e.choleskyInverse(buf, 3), 'INVALID_ARGUMENT', /released/);
  });
});
