// gram's one-pass additions on every backend and level against an f64 oracle written here: the weighted
// column sums Σ w (x − c) beside G and Xᵀv, and the accumulate 'f32' mode (f32 block sums on the native SIMD
// levels, f64 elsewhere) within its stated tolerance, NaN/Inf reaching G's diagonal in both modes.
import { describe, expect, it } from 'vitest';
import { backendCases } from '../helpers/backends.js';
import { randomF32, randomF64 } from '../helpers/rng.js';
import { TAIL_COLS, expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/** Oracle: the upper triangle of Σ w (x − c)(x − c)ᵀ, Σ v (x − c) and Σ w (x − c), in f64. */
function oracle(x: Float32Array, rows: number, cols: number, w: Float64Array | null, c: Float64Array | null, v: Float64Array) {
  const g: number[] = [];
  const xty = new Float64Array(cols);
  const sums = new Float64Array(cols);
  const full = new Float64Array(cols * cols);
  for (let i = 0; i < rows; i++) {
    const wi = w ? w[i]! : 1;
    const r = Array.from({ length: cols }, (_, a) => x[i * cols + a]! - (c ? c[a]! : 0));
    for (let a = 0; a < cols; a++) {
      xty[a]! += v[i]! * r[a]!;
      sums[a]! += wi * r[a]!;
      for (let b = a; b < cols; b++) full[a * cols + b]! += wi * r[a]! * r[b]!;
    }
  }
  for (let a = 0; a < cols; a++) for (let b = a; b < cols; b++) g.push(full[a * cols + b]!);
  return { g, xty, sums };
}

const upper = (m: Float64Array, n: number): number[] => {
  const out: number[] = [];
  for (let a = 0; a < n; a++) for (let b = a; b < n; b++) out.push(m[a * n + b]!);
  return out;
};

describe.each(cases)('gram sums and accumulate on $label', ({ family, backend: be }) => {
  it("sums = Σ w (x − c) in the same call, both modes; 'f32' within its tolerance", () => {
    for (const cols of TAIL_COLS.filter((c) => c > 0)) {
      for (const rows of [1, 63, 64, 65, 300]) {
        const x = randomF32(rows * cols, 900 + cols + rows);
        // 3 + x: offset columns, centred on f32 shifts near their means (what the fits pass).
        for (let i = 0; i < x.length; i++) x[i] = Math.fround(3 + x[i]!);
        const w = randomF64(rows, 910 + cols).map((t) => Math.abs(t));
        const v = randomF64(rows, 920 + cols);
        const c = randomF64(cols, 930 + cols).map((t) => Math.fround(3 + 0.1 * t));
        for (const [ww, cc] of [[null, null], [w, c], [null, c]] as const) {
          const want = oracle(x, rows, cols, ww, cc, v);
          for (const accumulate of ['f64', 'f32'] as const) {
            const g = new Float64Array(cols * cols);
            const xty = new Float64Array(cols);
            const sums = new Float64Array(cols);
            be.gram({ x, rows, cols, w: ww, center: cc, v, g, xty, sums, accumulate });
            const what = `${accumulate} cols=${cols} rows=${rows} w=${ww !== null} c=${cc !== null}`;
            if (accumulate === 'f64') {
              const tol = tolerance('gram', family);
              expectClose(upper(g, cols), want.g, tol, `g ${what}`);
              expectClose(xty, want.xty, tol, `xty ${what}`);
              expectClose(sums, want.sums, tol, `sums ${what}`);
            } else {
              const t = tolerance('gramF32', family);
              const big = Math.max(...want.g.map(Math.abs));
              expectClose(upper(g, cols), want.g, { atol: t.atol + t.rtol * big, rtol: t.rtol }, `g ${what}`);
              // Σ|v (x − c)| and Σ|w (x − c)| bound the vector sums' f32 rounding the same way.
              const sx = rows * 4 * 4;
              expectClose(xty, want.xty, { atol: t.atol + t.rtol * sx, rtol: t.rtol }, `xty ${what}`);
              expectClose(sums, want.sums, { atol: t.atol + t.rtol * sx, rtol: t.rtol }, `sums ${what}`);
            }
          }
        }
      }
    }
  });

  it('a NaN or ±Infinity reaches its column of the diagonal and of sums in both modes', () => {
    const rows = 150;
    const cols = 20;
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const accumulate of ['f64', 'f32'] as const) {
        const x = randomF32(rows * cols, 77);
        x[131 * cols + 7] = bad;
        const g = new Float64Array(cols * cols);
        const sums = new Float64Array(cols);
        be.gram({ x, rows, cols, w: randomF64(rows, 78).map((t) => 0.5 + Math.abs(t)), center: new Float64Array(cols).fill(0.25), g, sums, accumulate });
        expect(Number.isFinite(g[7 * cols + 7]!), `${bad} ${accumulate}`).toBe(false);
        expect(Number.isFinite(sums[7]!), `${bad} ${accumulate} sums`).toBe(false);
        expect(Number.isFinite(g[3 * cols + 3]!), `${bad} ${accumulate}: other columns stay finite`).toBe(true);
      }
    }
  });
});
