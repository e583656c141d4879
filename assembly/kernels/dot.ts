// f32 dot-product micro-kernels (2x4, 1x4, 1x1 tiles) shared by similarity, top-k and k-means assignment.
// f32 accumulation; simd128: four lanes per pair reduced as (l0 + l2) + (l1 + l3); scalar: one in-order sum per pair.
// Tail: simd128 adds cols % 4 as one zero-padded chunk. Each ISA keeps one order in every tile shape: tiling never
// changes a score.

// A function returns one value, a register-blocked tile has several: the extra rows travel in globals,
// which stay private to each instance (every worker has its own).
@lazy export let tileRow1: v128 = i32x4(0, 0, 0, 0);
@lazy export let tileS01: f32 = 0;
@lazy export let tileS02: f32 = 0;
@lazy export let tileS03: f32 = 0;
@lazy export let tileS10: f32 = 0;
@lazy export let tileS11: f32 = 0;
@lazy export let tileS12: f32 = 0;
@lazy export let tileS13: f32 = 0;

/** The last `rem` (1..3) floats at p, zero-padded to four lanes, without reading past them. */
// @ts-ignore: decorator
@inline function loadTail(p: usize, rem: usize): v128 {
  if (rem == 1) return v128.load32_zero(p);
  const v = v128.load64_zero(p);
  return rem == 2 ? v : v128.load32_lane(p, v, 2, 8);
}

/** Lane i of the result is (a_i0 + a_i2) + (a_i1 + a_i3) for the i-th argument: four sums at once. */
// @ts-ignore: decorator
@inline export function reduce4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 1, 4, 5), i32x4.shuffle(a, b, 2, 3, 6, 7));
  const cd = f32x4.add(i32x4.shuffle(c, d, 0, 1, 4, 5), i32x4.shuffle(c, d, 2, 3, 6, 7));
  return f32x4.add(i32x4.shuffle(ab, cd, 0, 2, 4, 6), i32x4.shuffle(ab, cd, 1, 3, 5, 7));
}

/** The same order as one lane of reduce4. */
// @ts-ignore: decorator
@inline function reduce1(a: v128): f32 {
  const t = f32x4.add(a, i32x4.shuffle(a, a, 2, 3, 0, 1));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1);
}

/**
 * Rows a0, a1 against the four rows starting at b0 (bStride bytes apart). Returns a0's four scores;
 * a1's are left in tileRow1. `body` is the byte length of the whole 4-float chunks, `rem` = cols % 4.
 */
// @ts-ignore: decorator
@inline export function dot2x4_f32_simd128(a0: usize, a1: usize, b0: usize, bStride: usize, body: usize, rem: usize): v128 {
  const b1 = b0 + bStride;
  const b2 = b1 + bStride;
  const b3 = b2 + bStride;
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
  // 2x4 keeps 8 accumulators + 5 operands in the 16 vector registers of x86-64 (4x4 spills, measured slower).
  for (let d: usize = 0; d < body; d += 16) {
    const x0 = v128.load(b0 + d);
    const x1 = v128.load(b1 + d);
    const x2 = v128.load(b2 + d);
    const x3 = v128.load(b3 + d);
    let v = v128.load(a0 + d);
    s00 = f32x4.add(s00, f32x4.mul(v, x0));
    s01 = f32x4.add(s01, f32x4.mul(v, x1));
    s02 = f32x4.add(s02, f32x4.mul(v, x2));
    s03 = f32x4.add(s03, f32x4.mul(v, x3));
    v = v128.load(a1 + d);
    s10 = f32x4.add(s10, f32x4.mul(v, x0));
    s11 = f32x4.add(s11, f32x4.mul(v, x1));
    s12 = f32x4.add(s12, f32x4.mul(v, x2));
    s13 = f32x4.add(s13, f32x4.mul(v, x3));
  }
  if (rem != 0) {
    const x0 = loadTail(b0 + body, rem);
    const x1 = loadTail(b1 + body, rem);
    const x2 = loadTail(b2 + body, rem);
    const x3 = loadTail(b3 + body, rem);
    let v = loadTail(a0 + body, rem);
    s00 = f32x4.add(s00, f32x4.mul(v, x0));
    s01 = f32x4.add(s01, f32x4.mul(v, x1));
    s02 = f32x4.add(s02, f32x4.mul(v, x2));
    s03 = f32x4.add(s03, f32x4.mul(v, x3));
    v = loadTail(a1 + body, rem);
    s10 = f32x4.add(s10, f32x4.mul(v, x0));
    s11 = f32x4.add(s11, f32x4.mul(v, x1));
    s12 = f32x4.add(s12, f32x4.mul(v, x2));
    s13 = f32x4.add(s13, f32x4.mul(v, x3));
  }
  tileRow1 = reduce4(s10, s11, s12, s13);
  return reduce4(s00, s01, s02, s03);
}

/** Row a0 against the four rows starting at b0: one query left over, or a single-query top-k. */
// @ts-ignore: decorator
@inline export function dot1x4_f32_simd128(a0: usize, b0: usize, bStride: usize, body: usize, rem: usize): v128 {
  const b1 = b0 + bStride;
  const b2 = b1 + bStride;
  const b3 = b2 + bStride;
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  for (let d: usize = 0; d < body; d += 16) {
    const v = v128.load(a0 + d);
    s0 = f32x4.add(s0, f32x4.mul(v, v128.load(b0 + d)));
    s1 = f32x4.add(s1, f32x4.mul(v, v128.load(b1 + d)));
    s2 = f32x4.add(s2, f32x4.mul(v, v128.load(b2 + d)));
    s3 = f32x4.add(s3, f32x4.mul(v, v128.load(b3 + d)));
  }
  if (rem != 0) {
    const v = loadTail(a0 + body, rem);
    s0 = f32x4.add(s0, f32x4.mul(v, loadTail(b0 + body, rem)));
    s1 = f32x4.add(s1, f32x4.mul(v, loadTail(b1 + body, rem)));
    s2 = f32x4.add(s2, f32x4.mul(v, loadTail(b2 + body, rem)));
    s3 = f32x4.add(s3, f32x4.mul(v, loadTail(b3 + body, rem)));
  }
  return reduce4(s0, s1, s2, s3);
}

// @ts-ignore: decorator
@inline export function dot1x1_f32_simd128(a0: usize, b0: usize, body: usize, rem: usize): f32 {
  let s = f32x4.splat(0);
  for (let d: usize = 0; d < body; d += 16) {
    s = f32x4.add(s, f32x4.mul(v128.load(a0 + d), v128.load(b0 + d)));
  }
  if (rem != 0) s = f32x4.add(s, f32x4.mul(loadTail(a0 + body, rem), loadTail(b0 + body, rem)));
  return reduce1(s);
}

/** Scalar twin of dot2x4: returns s00; the other seven scores are left in tileS01..tileS13. */
// @ts-ignore: decorator
@inline export function dot2x4_f32_scalar(a0: usize, a1: usize, b0: usize, bStride: usize, cols: usize): f32 {
  const b1 = b0 + bStride;
  const b2 = b1 + bStride;
  const b3 = b2 + bStride;
  let s00: f32 = 0, s01: f32 = 0, s02: f32 = 0, s03: f32 = 0;
  let s10: f32 = 0, s11: f32 = 0, s12: f32 = 0, s13: f32 = 0;
  const end = cols << 2;
  for (let d: usize = 0; d < end; d += 4) {
    const x0 = load<f32>(b0 + d);
    const x1 = load<f32>(b1 + d);
    const x2 = load<f32>(b2 + d);
    const x3 = load<f32>(b3 + d);
    let v = load<f32>(a0 + d);
    s00 += v * x0;
    s01 += v * x1;
    s02 += v * x2;
    s03 += v * x3;
    v = load<f32>(a1 + d);
    s10 += v * x0;
    s11 += v * x1;
    s12 += v * x2;
    s13 += v * x3;
  }
  tileS01 = s01;
  tileS02 = s02;
  tileS03 = s03;
  tileS10 = s10;
  tileS11 = s11;
  tileS12 = s12;
  tileS13 = s13;
  return s00;
}

/** Scalar twin of dot1x4: returns s0; s1..s3 are left in tileS01..tileS03. */
// @ts-ignore: decorator
@inline export function dot1x4_f32_scalar(a0: usize, b0: usize, bStride: usize, cols: usize): f32 {
  const b1 = b0 + bStride;
  const b2 = b1 + bStride;
  const b3 = b2 + bStride;
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  const end = cols << 2;
  for (let d: usize = 0; d < end; d += 4) {
    const v = load<f32>(a0 + d);
    s0 += v * load<f32>(b0 + d);
    s1 += v * load<f32>(b1 + d);
    s2 += v * load<f32>(b2 + d);
    s3 += v * load<f32>(b3 + d);
  }
  tileS01 = s1;
  tileS02 = s2;
  tileS03 = s3;
  return s0;
}

// @ts-ignore: decorator
@inline export function dot1x1_f32_scalar(a0: usize, b0: usize, cols: usize): f32 {
  let s: f32 = 0;
  const end = cols << 2;
  for (let d: usize = 0; d < end; d += 4) s += load<f32>(a0 + d) * load<f32>(b0 + d);
  return s;
}

/** Rows per cache block: about `budget` bytes of rows, a multiple of 4, at least 4. */
// @ts-ignore: decorator
@inline export function blockRows(rowBytes: usize, budget: usize): i32 {
  const n = rowBytes == 0 ? 1024 : <i32>(budget / rowBytes);
  return max<i32>(4, n & ~3);
}
