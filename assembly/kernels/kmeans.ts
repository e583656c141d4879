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
 * Branchless fold of two rows' four candidates: lanes are (row i, row i+1), and each candidate in order
 * replaces the running best where strictly smaller, which is fold4's rule (NaN never wins, ties keep the
 * lower centroid). Data-dependent branches here mispredicted often enough to cost more than the dots.
 */
// @ts-ignore: decorator
@inline function fold2x4_simd128(
  labels: usize, best: usize, i: i32, c: i32, r0: v128, r1: v128, n0: v128, n1: v128, n2: v128, n3: v128,
): void {
  const pb = best + (<usize>i << 3);
  const pl = labels + (<usize>i << 2);
  let b = v128.load(pb);
  let l = i64x2.extend_low_i32x4_s(v128.load64_zero(pl));
  // (r0[j], r1[j]) pairs: candidates 0 and 1 in t01, 2 and 3 in t23.
  const t01 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t23 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  let dot = f64x2.promote_low_f32x4(t01);
  let d = f64x2.sub(n0, f64x2.add(dot, dot));
  let m = f64x2.lt(d, b);
  b = v128.bitselect(d, b, m);
  l = v128.bitselect(i64x2.splat(c), l, m);
  dot = f64x2.promote_low_f32x4(i32x4.shuffle(t01, t01, 2, 3, 2, 3));
  d = f64x2.sub(n1, f64x2.add(dot, dot));
  m = f64x2.lt(d, b);
  b = v128.bitselect(d, b, m);
  l = v128.bitselect(i64x2.splat(c + 1), l, m);
  dot = f64x2.promote_low_f32x4(t23);
  d = f64x2.sub(n2, f64x2.add(dot, dot));
  m = f64x2.lt(d, b);
  b = v128.bitselect(d, b, m);
  l = v128.bitselect(i64x2.splat(c + 2), l, m);
  dot = f64x2.promote_low_f32x4(i32x4.shuffle(t23, t23, 2, 3, 2, 3));
  d = f64x2.sub(n3, f64x2.add(dot, dot));
  m = f64x2.lt(d, b);
  b = v128.bitselect(d, b, m);
  l = v128.bitselect(i64x2.splat(c + 3), l, m);
  v128.store(pb, b);
  v128.store64_lane(pl, i32x4.shuffle(l, l, 0, 2, 0, 2), 0);
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
      const v0 = f64x2.splat(n0);
      const v1 = f64x2.splat(n1);
      const v2 = f64x2.splat(n2);
      const v3 = f64x2.splat(n3);
      let i = i0;
      for (; i + 2 <= i1; i += 2) {
        const xi = x + <usize>i * rowBytes;
        const r0 = dot2x4_f32_simd128(xi, xi + rowBytes, c0, rowBytes, body, rem);
        fold2x4_simd128(labels, minDist2, i, c, r0, tileRow1, v0, v1, v2, v3);
      }
      if (i < i1) {
        const r0 = dot1x4_f32_simd128(x + <usize>i * rowBytes, c0, rowBytes, body, rem);
        fold4(labels, minDist2, i, c,
          n0 - 2 * <f64>f32x4.extract_lane(r0, 0), n1 - 2 * <f64>f32x4.extract_lane(r0, 1),
          n2 - 2 * <f64>f32x4.extract_lane(r0, 2), n3 - 2 * <f64>f32x4.extract_lane(r0, 3));
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
