// Batch scoring: out[i] = link(bias + sum_d x[i,d] w[d]), link 0 = identity, 1 = logistic sigmoid.
// f32 inputs are widened and accumulated in f64 (two f64x2 accumulators), stored as f32.
// Tail: cols % 4 terms are added in order after the lanes are reduced; the bias is added to the finished dot.

// @ts-ignore: decorator
@inline function applyLink(z: f64, link: i32): f64 {
  if (link != 1) return z;
  // Split by sign so exp never overflows.
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** sum_d x[d] w[d] for one f32 row against f64 weights: two f64x2 accumulators, then the cols % 4 tail in order. */
// @ts-ignore: decorator
@inline export function dotRowF64_simd128(xi: usize, w: usize, cols: i32): f64 {
  const c4 = cols & ~3;
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  for (let d = 0; d < c4; d += 4) {
    const v = v128.load(xi + (<usize>d << 2));
    const pw = w + (<usize>d << 3);
    acc0 = f64x2.add(acc0, f64x2.mul(f64x2.promote_low_f32x4(v), v128.load(pw)));
    acc1 = f64x2.add(acc1, f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3)), v128.load(pw, 16)));
  }
  const t = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (let d = c4; d < cols; d++) s += <f64>load<f32>(xi + (<usize>d << 2)) * load<f64>(w + (<usize>d << 3));
  return s;
}

/** The scalar twin: a sequential f64 sum. */
// @ts-ignore: decorator
@inline export function dotRowF64_scalar(xi: usize, w: usize, cols: i32): f64 {
  let s: f64 = 0;
  for (let d = 0; d < cols; d++) s += <f64>load<f32>(xi + (<usize>d << 2)) * load<f64>(w + (<usize>d << 3));
  return s;
}

export function matvec_f32_simd128(x: usize, rows: i32, cols: i32, w: usize, bias: f64, link: i32, out: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) {
    const xi = x + <usize>i * rowBytes;
    store<f32>(out + (<usize>i << 2), <f32>applyLink(bias + dotRowF64_simd128(xi, w, cols), link));
  }
}

export function matvec_f32_scalar(x: usize, rows: i32, cols: i32, w: usize, bias: f64, link: i32, out: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) {
    const xi = x + <usize>i * rowBytes;
    store<f32>(out + (<usize>i << 2), <f32>applyLink(bias + dotRowF64_scalar(xi, w, cols), link));
  }
}
