// One Lloyd step over a block of rows: nearest centroid by ||c||^2 - 2 x.c (ties to the lower centroid), then
// the exact f64 distance to it, f64 sums and counts. x.c is an f32 dot (kernels/dot.ts); ||c||^2 and all
// reductions are f64. Tails: a last odd row runs 1x4 tiles, k % 4 centroids run 1x1, cols % 4 goes scalar.
import {
  blockRows,
  dot1x1_f32_scalar,
  dot1x1_f32_simd128,
  dot1x4_f32_scalar,
  dot1x4_f32_simd128,
  dot2x4_f32_scalar,
  dot2x4_f32_simd128,
  tileRow1,
  tileS01,
  tileS02,
  tileS03,
  tileS10,
  tileS11,
  tileS12,
  tileS13,
} from './dot';

// Rows are assigned in blocks that stay in L1 while each group of four centroids passes over them; ||c||^2 is
// recomputed per block (k x cols work, small next to rows x k x cols) because kernels own no scratch memory.
const ROW_BLOCK_BYTES: usize = 32 << 10;

// ||x||^2 is the same for every centroid of a row, so it is left out of the comparison: cn - 2 dot is exact
// in f64 for f32 inputs, so dropping it cannot reorder candidates, only the formula's last rounding.

/**
 * Folds candidate distances (cn - 2 dot) of centroids c..c+3 into row i's running best, kept in
 * minDist2[i] / labels[i] until the exact pass replaces it. Strict < keeps the lower centroid on ties.
 */
// @ts-ignore: decorator
@inline function fold4(labels: usize, best: usize, i: i32, c: i32, d0: f64, d1: f64, d2: f64, d3: f64): void {
  const pb = best + (<usize>i << 3);
  const pl = labels + (<usize>i << 2);
  let b = load<f64>(pb);
  let l = load<i32>(pl);
  if (d0 < b) { b = d0; l = c; }
  if (d1 < b) { b = d1; l = c + 1; }
  if (d2 < b) { b = d2; l = c + 2; }
  if (d3 < b) { b = d3; l = c + 3; }
  store<f64>(pb, b);
  store<i32>(pl, l);
}

// @ts-ignore: decorator
@inline function fold1(labels: usize, best: usize, i: i32, c: i32, d: f64): void {
  const pb = best + (<usize>i << 3);
  if (d < load<f64>(pb)) {
    store<f64>(pb, d);
    store<i32>(labels + (<usize>i << 2), c);
  }
}

// @ts-ignore: decorator
@inline function sqNormF64(p: usize, cols: i32): f64 {
  let s: f64 = 0;
  for (let d = 0; d < cols; d++) {
    const v = <f64>load<f32>(p + (<usize>d << 2));
    s += v * v;
  }
  return s;
}

// @ts-ignore: decorator
@inline function resetBest(labels: usize, best: usize, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    store<f64>(best + (<usize>i << 3), Infinity);
    store<i32>(labels + (<usize>i << 2), 0);
  }
}

/** The exact pass of one row: minDist2, sums and counts, in the same f64 operations as the reference. */
// @ts-ignore: decorator
@inline function finishRow_simd128(
  xi: usize, cols: i32, cents: usize, label: i32, w: f64, sums: usize, counts: usize,
): f64 {
  const c = cents + (<usize>label * <usize>cols << 2);
  const s = sums + (<usize>label * <usize>cols << 3);
  const wv = f64x2.splat(w);
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  let d = 0;
  for (; d + 4 <= cols; d += 4) {
    const xv = v128.load(xi + (<usize>d << 2));
    const cv = v128.load(c + (<usize>d << 2));
    const xlo = f64x2.promote_low_f32x4(xv);
    const xhi = f64x2.promote_low_f32x4(i32x4.shuffle(xv, xv, 2, 3, 2, 3));
    // The difference of two f32 values is exact in f64, as in the reference.
    const dlo = f64x2.sub(xlo, f64x2.promote_low_f32x4(cv));
    const dhi = f64x2.sub(xhi, f64x2.promote_low_f32x4(i32x4.shuffle(cv, cv, 2, 3, 2, 3)));
    acc0 = f64x2.add(acc0, f64x2.mul(dlo, dlo));
    acc1 = f64x2.add(acc1, f64x2.mul(dhi, dhi));
    const ps = s + (<usize>d << 3);
    v128.store(ps, f64x2.add(v128.load(ps), f64x2.mul(wv, xlo)));
    v128.store(ps, f64x2.add(v128.load(ps, 16), f64x2.mul(wv, xhi)), 16);
  }
  const t = f64x2.add(acc0, acc1);
  let exact = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; d < cols; d++) {
    const xv = <f64>load<f32>(xi + (<usize>d << 2));
    const diff = xv - <f64>load<f32>(c + (<usize>d << 2));
    exact += diff * diff;
    const ps = s + (<usize>d << 3);
    store<f64>(ps, load<f64>(ps) + w * xv);
  }
  const pc = counts + (<usize>label << 3);
  store<f64>(pc, load<f64>(pc) + w);
  return exact;
}

// @ts-ignore: decorator
@inline function finishRow_scalar(xi: usize, cols: i32, cents: usize, label: i32, w: f64, sums: usize, counts: usize): f64 {
  const c = cents + (<usize>label * <usize>cols << 2);
  const s = sums + (<usize>label * <usize>cols << 3);
  let exact: f64 = 0;
  for (let d = 0; d < cols; d++) {
    const xv = <f64>load<f32>(xi + (<usize>d << 2));
    const diff = xv - <f64>load<f32>(c + (<usize>d << 2));
    exact += diff * diff;
    const ps = s + (<usize>d << 3);
    store<f64>(ps, load<f64>(ps) + w * xv);
  }
  const pc = counts + (<usize>label << 3);
  store<f64>(pc, load<f64>(pc) + w);
  return exact;
}

/**
 * SIMD fold of one row's four candidates: the common case (no candidate beats the running best) costs one
 * vector min and one branch; otherwise, or when a lane is NaN, the exact in-order chain of fold4 decides.
 */
// @ts-ignore: decorator
@inline function fold4_simd128(labels: usize, best: usize, i: i32, c: i32, r: v128, nLo: v128, nHi: v128): void {
  const lo = f64x2.promote_low_f32x4(r);
  const hi = f64x2.promote_low_f32x4(i32x4.shuffle(r, r, 2, 3, 2, 3));
  const dLo = f64x2.sub(nLo, f64x2.add(lo, lo));
  const dHi = f64x2.sub(nHi, f64x2.add(hi, hi));
  const m = f64x2.min(dLo, dHi);
  const b = load<f64>(best + (<usize>i << 3));
  if (f64x2.extract_lane(m, 0) >= b && f64x2.extract_lane(m, 1) >= b) return;
  fold4(labels, best, i, c,
    f64x2.extract_lane(dLo, 0), f64x2.extract_lane(dLo, 1), f64x2.extract_lane(dHi, 0), f64x2.extract_lane(dHi, 1));
}

export function kmeans_f32_simd128(
  x: usize, rows: i32, cols: i32, cents: usize, k: i32, weights: usize,
  labels: usize, minDist2: usize, sums: usize, counts: usize,
): f64 {
  const rowBytes = <usize>cols << 2;
  const body = <usize>(cols & ~3) << 2;
  const rem = <usize>(cols & 3);
  const block = blockRows(rowBytes, ROW_BLOCK_BYTES);
  let inertia: f64 = 0;
  for (let i0 = 0; i0 < rows; i0 += block) {
    const i1 = min<i32>(rows, i0 + block);
    resetBest(labels, minDist2, i0, i1);
    let c = 0;
    for (; c + 4 <= k; c += 4) {
      const c0 = cents + <usize>c * rowBytes;
      const n0 = sqNormF64(c0, cols);
      const n1 = sqNormF64(c0 + rowBytes, cols);
      const n2 = sqNormF64(c0 + 2 * rowBytes, cols);
      const n3 = sqNormF64(c0 + 3 * rowBytes, cols);
      const nLo = f64x2.replace_lane(f64x2.splat(n0), 1, n1);
      const nHi = f64x2.replace_lane(f64x2.splat(n2), 1, n3);
      let i = i0;
      for (; i + 2 <= i1; i += 2) {
        const xi = x + <usize>i * rowBytes;
        const r0 = dot2x4_f32_simd128(xi, xi + rowBytes, c0, rowBytes, body, rem);
        const r1 = tileRow1;
        fold4_simd128(labels, minDist2, i, c, r0, nLo, nHi);
        fold4_simd128(labels, minDist2, i + 1, c, r1, nLo, nHi);
      }
      if (i < i1) {
        fold4_simd128(labels, minDist2, i, c, dot1x4_f32_simd128(x + <usize>i * rowBytes, c0, rowBytes, body, rem), nLo, nHi);
      }
    }
    for (; c < k; c++) {
      const cc = cents + <usize>c * rowBytes;
      const n = sqNormF64(cc, cols);
      for (let i = i0; i < i1; i++) {
        fold1(labels, minDist2, i, c, n - 2 * <f64>dot1x1_f32_simd128(x + <usize>i * rowBytes, cc, body, rem));
      }
    }
    for (let i = i0; i < i1; i++) {
      const w: f64 = weights == 0 ? 1 : <f64>load<f32>(weights + (<usize>i << 2));
      const label = load<i32>(labels + (<usize>i << 2));
      const exact = finishRow_simd128(x + <usize>i * rowBytes, cols, cents, label, w, sums, counts);
      store<f64>(minDist2 + (<usize>i << 3), exact);
      inertia += w * exact;
    }
  }
  return inertia;
}

export function kmeans_f32_scalar(
  x: usize, rows: i32, cols: i32, cents: usize, k: i32, weights: usize,
  labels: usize, minDist2: usize, sums: usize, counts: usize,
): f64 {
  const rowBytes = <usize>cols << 2;
  const n = <usize>cols;
  const block = blockRows(rowBytes, ROW_BLOCK_BYTES);
  let inertia: f64 = 0;
  for (let i0 = 0; i0 < rows; i0 += block) {
    const i1 = min<i32>(rows, i0 + block);
    resetBest(labels, minDist2, i0, i1);
    let c = 0;
    for (; c + 4 <= k; c += 4) {
      const c0 = cents + <usize>c * rowBytes;
      const n0 = sqNormF64(c0, cols);
      const n1 = sqNormF64(c0 + rowBytes, cols);
      const n2 = sqNormF64(c0 + 2 * rowBytes, cols);
      const n3 = sqNormF64(c0 + 3 * rowBytes, cols);
      let i = i0;
      for (; i + 2 <= i1; i += 2) {
        const xi = x + <usize>i * rowBytes;
        const s00 = dot2x4_f32_scalar(xi, xi + rowBytes, c0, rowBytes, n);
        fold4(labels, minDist2, i, c,
          n0 - 2 * <f64>s00, n1 - 2 * <f64>tileS01, n2 - 2 * <f64>tileS02, n3 - 2 * <f64>tileS03);
        fold4(labels, minDist2, i + 1, c,
          n0 - 2 * <f64>tileS10, n1 - 2 * <f64>tileS11, n2 - 2 * <f64>tileS12, n3 - 2 * <f64>tileS13);
      }
      if (i < i1) {
        const s0 = dot1x4_f32_scalar(x + <usize>i * rowBytes, c0, rowBytes, n);
        fold4(labels, minDist2, i, c,
          n0 - 2 * <f64>s0, n1 - 2 * <f64>tileS01, n2 - 2 * <f64>tileS02, n3 - 2 * <f64>tileS03);
      }
    }
    for (; c < k; c++) {
      const cc = cents + <usize>c * rowBytes;
      const nc = sqNormF64(cc, cols);
      for (let i = i0; i < i1; i++) {
        fold1(labels, minDist2, i, c, nc - 2 * <f64>dot1x1_f32_scalar(x + <usize>i * rowBytes, cc, n));
      }
    }
    for (let i = i0; i < i1; i++) {
      const w: f64 = weights == 0 ? 1 : <f64>load<f32>(weights + (<usize>i << 2));
      const label = load<i32>(labels + (<usize>i << 2));
      const exact = finishRow_scalar(x + <usize>i * rowBytes, cols, cents, label, w, sums, counts);
      store<f64>(minDist2 + (<usize>i << 3), exact);
      inertia += w * exact;
    }
  }
  return inertia;
}
