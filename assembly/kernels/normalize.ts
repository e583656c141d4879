// Row normalisation: out[i,:] = x[i,:] / ||x[i,:]||, norms[i] = ||x[i,:]||; zero rows stay zero.
// f64 sum of squares and scaling, f32 only when stored; a row is summed before it is scaled, so out may alias x.
// Tail: cols % 4 elements go through the scalar loop after the 4-wide body.

/** The row's sum of squares in f64: two f64x2 accumulators over the 4-wide body, then the tail in order. */
// @ts-ignore: decorator
@inline function sumsqSimd(xi: usize, body: usize, end: usize): f64 {
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  for (let d: usize = 0; d < body; d += 16) {
    const v = v128.load(xi + d);
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
  }
  const t = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (let d = body; d < end; d += 4) {
    const v = <f64>load<f32>(xi + d);
    s += v * v;
  }
  return s;
}

// @ts-ignore: decorator
@inline function sumsqScalar(xi: usize, rowBytes: usize): f64 {
  let s: f64 = 0;
  for (let d: usize = 0; d < rowBytes; d += 4) {
    const v = <f64>load<f32>(xi + d);
    s += v * v;
  }
  return s;
}

export function normalize_f32_simd128(x: usize, rows: i32, cols: i32, out: usize, norms: usize): void {
  const rowBytes = <usize>cols << 2;
  const body = <usize>(cols & ~3) << 2;
  const end = rowBytes;
  for (let i = 0; i < rows; i++) {
    const xi = x + <usize>i * rowBytes;
    const oi = out + <usize>i * rowBytes;
    const n = Math.sqrt(sumsqSimd(xi, body, end));
    store<f32>(norms + (<usize>i << 2), <f32>n);
    // n > 0 is false for NaN too: such a row becomes x * 0, as in the reference.
    const inv: f64 = n > 0 ? 1 / n : 0;
    const iv = f64x2.splat(inv);
    for (let d: usize = 0; d < body; d += 16) {
      const v = v128.load(xi + d);
      const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v), iv));
      const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3)), iv));
      v128.store(oi + d, i32x4.shuffle(lo, hi, 0, 1, 4, 5));
    }
    for (let d = body; d < end; d += 4) store<f32>(oi + d, <f32>(<f64>load<f32>(xi + d) * inv));
  }
}

export function normalize_f32_scalar(x: usize, rows: i32, cols: i32, out: usize, norms: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) {
    const xi = x + <usize>i * rowBytes;
    const oi = out + <usize>i * rowBytes;
    const n = Math.sqrt(sumsqScalar(xi, rowBytes));
    store<f32>(norms + (<usize>i << 2), <f32>n);
    const inv: f64 = n > 0 ? 1 / n : 0;
    for (let d: usize = 0; d < rowBytes; d += 4) store<f32>(oi + d, <f32>(<f64>load<f32>(xi + d) * inv));
  }
}

/** Only the norms (cosine top-k scales its scores by the inverse norms instead of normalising copies). */
export function row_norms_f32_simd128(x: usize, rows: i32, cols: i32, norms: usize): void {
  const rowBytes = <usize>cols << 2;
  const body = <usize>(cols & ~3) << 2;
  for (let i = 0; i < rows; i++) {
    store<f32>(norms + (<usize>i << 2), <f32>Math.sqrt(sumsqSimd(x + <usize>i * rowBytes, body, rowBytes)));
  }
}

export function row_norms_f32_scalar(x: usize, rows: i32, cols: i32, norms: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) {
    store<f32>(norms + (<usize>i << 2), <f32>Math.sqrt(sumsqScalar(x + <usize>i * rowBytes, rowBytes)));
  }
}
