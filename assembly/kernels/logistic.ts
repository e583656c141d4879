// One fused pass of binary logistic regression (Newton / IRLS) over a block of rows, in f64. Layout of `out`
// (cols = d): [0] sum s*loss, [1] sum loss, [2] correct count, [3..3+d) X'v, [3+d] sum v, then with the
// Hessian [4+d..4+2d) X'w, [4+2d] sum w, and the d x d upper triangle of X'WX at 5+2d (see types.ts).
// Phase 1 computes z, the loss terms and the per-row weights w and v into the caller's scratch (2 * rows f64);
// phase 2 runs the Gram kernel of the same ISA over the block with those weights. The dot products are
// `matvec`'s (kernels/matvec.ts).
import { gram_f32_scalar, gram_f32_simd128 } from './gram';
import { dotRowF64_scalar, dotRowF64_simd128 } from './matvec';

// @ts-ignore: decorator
@inline function addRow(acc: usize, xi: usize, cols: i32, f: f64): void {
  for (let d = 0; d < cols; d++) {
    const p = acc + (<usize>d << 3);
    store<f64>(p, load<f64>(p) + f * <f64>load<f32>(xi + (<usize>d << 2)));
  }
}

/** The loss terms and the per-row weights (w, v) into scratch from z, accumulated into out; returns sum w. */
function terms(rows: i32, y: usize, s: usize, z: usize, out: usize, cols: i32, scratch: usize): f64 {
  const wArr = scratch;
  const vArr = scratch + (<usize>rows << 3);
  let lossW: f64 = 0;
  let loss: f64 = 0;
  let correct: f64 = 0;
  let sumV: f64 = 0;
  let sumW: f64 = 0;
  for (let i = 0; i < rows; i++) {
    const zi = load<f64>(z + (<usize>i << 3));
    const si: f64 = s == 0 ? 1 : load<f64>(s + (<usize>i << 3));
    const yi = load<f64>(y + (<usize>i << 3));
    const e = Math.exp(-Math.abs(zi));
    const li = (zi > 0 ? zi : 0) + Math.log1p(e) - yi * zi;
    const inv = 1 / (1 + e);
    const pos = zi >= 0;
    const p = pos ? inv : e * inv;
    const q = pos ? e * inv : inv;
    const vi = si * (yi * q - (1 - yi) * p); // exactly si(1 - p) for y = 1 and -si p for y = 0
    const wi = si * p * q;
    lossW += si * li;
    loss += li;
    if ((zi > 0 ? 1.0 : 0.0) == yi) correct += 1;
    store<f64>(wArr + (<usize>i << 3), wi);
    store<f64>(vArr + (<usize>i << 3), vi);
    sumV += vi;
    sumW += wi;
  }
  store<f64>(out, load<f64>(out) + lossW);
  store<f64>(out, load<f64>(out, 8) + loss, 8);
  store<f64>(out, load<f64>(out, 16) + correct, 16);
  const pv = out + 24 + (<usize>cols << 3);
  store<f64>(pv, load<f64>(pv) + sumV);
  // sum w goes with the Hessian entries; the caller adds it only when it computes them.
  return sumW;
}

/** After the Gram phase (hessian) add X'w and sum w; without it, X'v (the Gram phase computes it otherwise). */
function finish(x: usize, rows: i32, cols: i32, hessian: bool, out: usize, scratch: usize, sumW: f64): void {
  const rowBytes = <usize>cols << 2;
  const grad = out + 24;
  const xw = grad + (<usize>(cols + 1) << 3);
  if (hessian) {
    for (let i = 0; i < rows; i++) addRow(xw, x + <usize>i * rowBytes, cols, load<f64>(scratch + (<usize>i << 3)));
    const pw = xw + (<usize>cols << 3);
    store<f64>(pw, load<f64>(pw) + sumW);
  } else {
    const vArr = scratch + (<usize>rows << 3);
    for (let i = 0; i < rows; i++) addRow(grad, x + <usize>i * rowBytes, cols, load<f64>(vArr + (<usize>i << 3)));
  }
}

/** Scratch: 2 * rows f64 (w, then v). */
export function logistic_f64_simd128(
  x: usize, rows: i32, cols: i32, y: usize, s: usize, beta: usize, bias: f64,
  hessian: bool, z: usize, out: usize, scratch: usize,
): void {
  if (rows <= 0) return;
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) store<f64>(z + (<usize>i << 3), dotRowF64_simd128(x + <usize>i * rowBytes, beta, cols) + bias);
  const sumW = terms(rows, y, s, z, out, cols, scratch);
  const grad = out + 24;
  if (hessian) gram_f32_simd128(x, rows, cols, scratch, 0, scratch + (<usize>rows << 3), grad + (<usize>(2 * cols + 2) << 3), grad);
  finish(x, rows, cols, hessian, out, scratch, sumW);
}

export function logistic_f64_scalar(
  x: usize, rows: i32, cols: i32, y: usize, s: usize, beta: usize, bias: f64,
  hessian: bool, z: usize, out: usize, scratch: usize,
): void {
  if (rows <= 0) return;
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) store<f64>(z + (<usize>i << 3), dotRowF64_scalar(x + <usize>i * rowBytes, beta, cols) + bias);
  const sumW = terms(rows, y, s, z, out, cols, scratch);
  const grad = out + 24;
  if (hessian) gram_f32_scalar(x, rows, cols, scratch, 0, scratch + (<usize>rows << 3), grad + (<usize>(2 * cols + 2) << 3), grad);
  finish(x, rows, cols, hessian, out, scratch, sumW);
}
