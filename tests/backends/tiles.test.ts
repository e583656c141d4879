// The tiles family on every backend and level: the strided tile GEMM against a triple loop written here (exact
// on small integers, within tolerance on random values), for every transpose and accumulation mode, with the
// three operands in one buffer as the blocked inverse uses them; the diagonal-tile operations by what they
// must satisfy (L·Lᵀ = A, L⁻¹·L = I, the lower triangle of LᵀL), their untouched upper triangle, and the pivot
// a non-positive definite tile fails at.
import { describe, expect, it } from 'vitest';
import { TILE_LAUUM, TILE_POTRF, TILE_TRTRI, type TileGemmArgs } from '../../src/backends/types.js';
import { backendCases } from '../helpers/backends.js';
import { mulberry32, randomF64 } from '../helpers/rng.js';
import { expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

interface Layout {
  off: number;
  rs: number;
  cs: number;
}

/** Oracle: C (+)= alpha·A·B, triple loop in f64 over the strided layouts. */
function oracle(g: TileGemmArgs): Float64Array {
  const c = g.c.slice();
  for (let i = 0; i < g.m; i++) {
    for (let j = 0; j < g.n; j++) {
      let s = 0;
      for (let p = 0; p < g.k; p++) s += g.a[g.aOff + i * g.aRs + p * g.aCs]! * g.b[g.bOff + p * g.bRs + j * g.bCs]!;
      const o = g.cOff + i * g.cRs + j * g.cCs;
      c[o] = (g.accumulate ? c[o]! : 0) + g.alpha * s;
    }
  }
  return c;
}

/** Column-major (or, transposed, row-major) layout of a block of r rows at `off`, leading dimension `ld`. */
function layout(off: number, r: number, transposed: boolean, ld: number): Layout {
  return transposed ? { off, rs: ld, cs: 1 } : { off, rs: 1, cs: Math.max(ld, r) };
}

/** One buffer holding A, then B, then C (disjoint), each with a padded leading dimension. */
function sharedCase(m: number, n: number, k: number, tA: boolean, tB: boolean, tC: boolean, acc: boolean, values: (len: number) => Float64Array): TileGemmArgs {
  const pad = 3;
  const lda = (tA ? k : m) + pad;
  const ldb = (tB ? n : k) + pad;
  const ldc = (tC ? n : m) + pad;
  const aLen = lda * (tA ? m : k);
  const bLen = ldb * (tB ? k : n);
  const cLen = ldc * (tC ? m : n);
  const buf = values(aLen + bLen + cLen + 1);
  const A = layout(1, m, tA, lda);
  const B = layout(1 + aLen, k, tB, ldb);
  const C = layout(1 + aLen + bLen, m, tC, ldc);
  return {
    c: buf, cOff: C.off, cRs: C.rs, cCs: C.cs,
    a: buf, aOff: A.off, aRs: A.rs, aCs: A.cs,
    b: buf, bOff: B.off, bRs: B.rs, bCs: B.cs,
    m, n, k, alpha: -2, accumulate: acc,
  };
}

function smallInts(len: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: len }, () => Math.floor(r() * 9) - 4);
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1], [2, 3, 4], [5, 7, 3], [9, 1, 17], [16, 16, 16], [17, 15, 33], [33, 31, 2], [65, 9, 64], [3, 129, 5], [0, 4, 3], [4, 0, 3], [4, 3, 0],
];
const MODES = [false, true].flatMap((tA) => [false, true].flatMap((tB) => [false, true].flatMap((tC) => [false, true].map((acc) => ({ tA, tB, tC, acc })))));

/** Column-major n × n SPD matrix AAᵀ + nI in a buffer with leading dimension ld at off; NaN above the diagonal. */
function spdTile(n: number, ld: number, off: number, seed: number): { buf: Float64Array; dense: Float64Array } {
  const a = randomF64(n * (n + 2), seed);
  const dense = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let p = 0; p < n + 2; p++) s += a[i * (n + 2) + p]! * a[j * (n + 2) + p]!;
      dense[i + j * n] = s;
    }
  }
  const buf = new Float64Array(off + ld * n + 2).fill(Number.NaN);
  for (let j = 0; j < n; j++) for (let i = j; i < n; i++) buf[off + i + j * ld] = dense[i + j * n]!;
  return { buf, dense };
}

function lowerOf(buf: Float64Array, n: number, ld: number, off: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = j; i < n; i++) l[i + j * n] = buf[off + i + j * ld]!;
  return l;
}

/** Oracle products of column-major n × n matrices: X·Y, Xᵀ·Y. */
function mul(x: Float64Array, y: Float64Array, n: number, tx = false): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += (tx ? x[p + i * n]! : x[i + p * n]!) * y[p + j * n]!;
      out[i + j * n] = s;
    }
  }
  return out;
}

function transpose(x: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j + i * n] = x[i + j * n]!;
  return out;
}

function upperIsUntouched(buf: Float64Array, n: number, ld: number, off: number): void {
  for (let j = 0; j < n; j++) for (let i = 0; i < j; i++) expect(Number.isNaN(buf[off + i + j * ld]!)).toBe(true);
}

describe.each(cases)('tiles on $label', ({ family, backend: b }) => {
  const tol = tolerance('tileGemm', family);

  it('tileGemm is exact on small integers for every shape, transpose and accumulation mode, in one buffer', () => {
    let seed = 1;
    for (const [m, n, k] of SHAPES) {
      for (const { tA, tB, tC, acc } of MODES) {
        const g = sharedCase(m, n, k, tA, tB, tC, acc, (len) => smallInts(len, seed++));
        const want = oracle(g);
        b.tileGemm(g);
        // Oracle: the triple loop above (integer sums, exact in f64; −0 and +0 count as equal).
        expect(Array.from(g.c, (v) => v + 0), `${m}×${n}×${k} tA=${tA} tB=${tB} tC=${tC} acc=${acc}`).toEqual(Array.from(want, (v) => v + 0));
      }
    }
  });

  it('tileGemm on random values of tile sizes agrees with the oracle within the f64 tolerance', () => {
    let seed = 500;
    for (const [m, n, k] of [[256, 256, 256], [300, 64, 256], [130, 257, 100]] as const) {
      for (const { tA, tB, tC, acc } of MODES.filter((x) => !x.tC)) {
        const g = sharedCase(m, n, k, tA, tB, tC, acc, (len) => randomF64(len, seed++));
        const want = oracle(g);
        b.tileGemm(g);
        expectClose(g.c, want, tol, `${m}×${n}×${k} tA=${tA} tB=${tB}`);
      }
    }
  });

  it('tileGemmF32 on f32 operands agrees with the f64 oracle within f32 rounding', () => {
    let seed = 900;
    for (const [m, n, k] of [[1, 1, 1], [17, 15, 33], [65, 9, 64], [256, 130, 256]] as const) {
      for (const { tA, tB, tC, acc } of MODES) {
        const g = sharedCase(m, n, k, tA, tB, tC, acc, (len) => randomF64(len, seed++));
        const c32 = Float32Array.from(g.c);
        // One f32 buffer holds A, B and C as the f64 case did; the oracle ran on the f32-rounded inputs.
        const g32 = { ...g, c: c32, a: c32, b: c32 };
        const wantOf32 = oracle({ ...g, c: Float64Array.from(c32), a: Float64Array.from(c32), b: Float64Array.from(c32) });
        b.tileGemmF32(g32);
        // f32 sums of k products of values in [-1, 1]: within k·2⁻²³ of the f64 result, with margin.
        expectClose(c32, wantOf32, { atol: 4 * k * 2 ** -23, rtol: 1e-5 }, `${m}×${n}×${k} tA=${tA} tB=${tB} tC=${tC} acc=${acc}`);
      }
    }
  });

  it('potrf, trtri and lauum satisfy their definitions and leave the upper triangle alone', () => {
    for (const n of [1, 2, 3, 7, 16, 17, 33, 64]) {
      const ld = n + 5;
      const off = 3;
      const { buf, dense } = spdTile(n, ld, off, 40 + n);
      expect(b.tileDiag({ a: buf, off, ld, nb: n, op: TILE_POTRF })).toBe(-1);
      upperIsUntouched(buf, n, ld, off);
      const l = lowerOf(buf, n, ld, off);
      // Oracle: L·Lᵀ = A.
      expectClose(mul(l, transpose(l, n), n), dense, { atol: 1e-9, rtol: 1e-10 }, `potrf n=${n}`);
      expect(b.tileDiag({ a: buf, off, ld, nb: n, op: TILE_TRTRI })).toBe(-1);
      upperIsUntouched(buf, n, ld, off);
      const w = lowerOf(buf, n, ld, off);
      const eye = new Float64Array(n * n);
      for (let i = 0; i < n; i++) eye[i + i * n] = 1;
      // Oracle: L⁻¹·L = I.
      expectClose(mul(w, l, n), eye, { atol: 1e-12, rtol: 1e-12 }, `trtri n=${n}`);
      expect(b.tileDiag({ a: buf, off, ld, nb: n, op: TILE_LAUUM })).toBe(-1);
      upperIsUntouched(buf, n, ld, off);
      const wtw = mul(w, w, n, true);
      // Oracle: the lower triangle of WᵀW computed here.
      expectClose(lowerOf(buf, n, ld, off), lowerOf(wtw, n, n, 0), { atol: 1e-12, rtol: 1e-10 }, `lauum n=${n}`);
    }
  });

  it('potrf returns the first pivot that is not positive', () => {
    // [[4, 2, 0], [2, 1, 0], [0, 0, 1]]: the second pivot is 1 − 1 = 0.
    const a = Float64Array.from([4, 2, 0, 2, 1, 0, 0, 0, 1]);
    expect(b.tileDiag({ a, off: 0, ld: 3, nb: 3, op: TILE_POTRF })).toBe(1);
    const nan = Float64Array.from([1, 0, 0, Number.NaN]);
    expect(b.tileDiag({ a: nan, off: 0, ld: 2, nb: 2, op: TILE_POTRF })).toBe(1);
  });
});
