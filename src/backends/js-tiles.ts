/**
 * The js backend's tile kernels (family `tiles`), f64: a strided GEMM on blocks of one or two buffers and the
 * three operations on one diagonal tile that a blocked Cholesky inverse needs (factor, triangular inverse,
 * LᵀL), all column-major with a leading dimension. Plain loops; sums run in a fixed order (depth ascending), in
 * f64 for f32 arrays too (rounded when stored).
 */
import type { TileDiagArgs, TileGemmArgs } from './types.js';
import { TILE_LAUUM, TILE_POTRF, TILE_TRTRI } from './types.js';

/** C = alpha·A·B (or C += alpha·A·B): element (i, j) of X at x[xOff + i·xRs + j·xCs]. */
export function tileGemmJs(g: TileGemmArgs<Float32Array> | TileGemmArgs): void {
  const { c, a, b, m, n, k, alpha } = g;
  for (let j = 0; j < n; j++) {
    const cj = g.cOff + j * g.cCs;
    if (!g.accumulate) for (let i = 0; i < m; i++) c[cj + i * g.cRs] = 0;
    for (let p = 0; p < k; p++) {
      const s = alpha * b[g.bOff + p * g.bRs + j * g.bCs]!;
      if (s === 0) continue;
      const ap = g.aOff + p * g.aCs;
      for (let i = 0; i < m; i++) c[cj + i * g.cRs]! += a[ap + i * g.aRs]! * s;
    }
  }
}

/**
 * One diagonal tile, in place, lower triangle only (the strict upper triangle is neither read nor written):
 * POTRF: A = LLᵀ; TRTRI: L → L⁻¹; LAUUM: L → LᵀL. Returns -1, or for POTRF the first pivot that is not > 0.
 */
export function tileDiagJs(t: TileDiagArgs): number {
  const { a, off, ld, nb } = t;
  const at = (i: number, j: number): number => off + i + j * ld;
  if (t.op === TILE_POTRF) {
    for (let j = 0; j < nb; j++) {
      let s = a[at(j, j)]!;
      for (let p = 0; p < j; p++) s -= a[at(j, p)]! * a[at(j, p)]!;
      if (!(s > 0) || !Number.isFinite(s)) return j;
      const d = Math.sqrt(s);
      a[at(j, j)] = d;
      for (let i = j + 1; i < nb; i++) {
        let v = a[at(i, j)]!;
        for (let p = 0; p < j; p++) v -= a[at(i, p)]! * a[at(j, p)]!;
        a[at(i, j)] = v / d;
      }
    }
    return -1;
  }
  if (t.op === TILE_TRTRI) {
    // Columns right to left; in column j rows bottom up, so L[p, j] (p < i) is still the factor's.
    for (let j = nb - 1; j >= 0; j--) {
      const wjj = 1 / a[at(j, j)]!;
      for (let i = nb - 1; i > j; i--) {
        let s = 0;
        for (let p = j + 1; p <= i; p++) s += a[at(i, p)]! * a[at(p, j)]!;
        a[at(i, j)] = -s * wjj;
      }
      a[at(j, j)] = wjj;
    }
    return -1;
  }
  if (t.op === TILE_LAUUM) {
    // (LᵀL)[i, j] = Σ_{p ≥ i} L[p, i]·L[p, j] (i ≥ j): rows top down never read a row already replaced.
    for (let i = 0; i < nb; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let p = i; p < nb; p++) s += a[at(p, i)]! * a[at(p, j)]!;
        a[at(i, j)] = s;
      }
    }
    return -1;
  }
  throw new RangeError(`unknown tile operation ${t.op}`);
}

/**
 * `Backend.mirrorStrip` in plain loops (js and wasm: moving values gains nothing from wasm), in 32 × 32 tiles
 * so the column reads stay in cache.
 */
export function mirrorStripJs(out: Float32Array, n: number, row0: number, row1: number): void {
  const T = 32;
  for (let r0 = row0; r0 < row1; r0 += T) {
    const r1 = Math.min(row1, r0 + T);
    for (let c0 = row1; c0 < n; c0 += T) {
      const c1 = Math.min(n, c0 + T);
      for (let c = c0; c < c1; c++) {
        const dst = c * n;
        for (let r = r0; r < r1; r++) out[dst + r] = out[r * n + c]!;
      }
    }
  }
}
