// One fused pass of multiclass (softmax) logistic regression over a block of rows, in f64 (semantics and the
// layout of `out` in src/backends/types.ts, MultinomialPassArgs): K logits per row (`matvec`'s dot products),
// a stable softmax with its log-sum-exp, the losses and the correct count; with mode >= 1 the gradient of every
// class, with mode 2 also the Hessian blocks of the first K - 1 classes, each block a weighted Gram (kernels/gram.ts, same
// ISA) over a chunk of 256 rows that stays in cache for every pair. No library offers this fused pass: the
// per-row, per-pair softmax weights are what make it specific.
// Scratch: (256 * k + 256) f64 (the chunk's probabilities, then one pair's weights).
import { gram_f32_scalar, gram_f32_simd128 } from './gram';
import { dotRowF64_scalar, dotRowF64_simd128 } from './matvec';

const RB: i32 = 256;

/** Softmax of the chunk's logits (in p, rb x k) in place, the losses and count into out, and the gradient. */
function chunkTerms(xb: usize, rb: i32, r0: i32, q: i32, k: i32, y: usize, s: usize, gradient: bool, out: usize, p: usize): void {
  const rowBytes = <usize>q << 2;
  const grad = out + 24;
  let lossW: f64 = 0;
  let loss: f64 = 0;
  let correct: f64 = 0;
  for (let i = 0; i < rb; i++) {
    const xi = xb + <usize>i * rowBytes;
    const pr = p + (<usize>(i * k) << 3);
    let best = 0;
    for (let c = 1; c < k; c++) if (load<f64>(pr + (<usize>c << 3)) > load<f64>(pr + (<usize>best << 3))) best = c;
    const yi = <i32>load<f64>(y + (<usize>(r0 + i) << 3));
    const zy = load<f64>(pr + (<usize>yi << 3));
    const m = load<f64>(pr + (<usize>best << 3));
    let sum: f64 = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(load<f64>(pr + (<usize>c << 3)) - m);
      store<f64>(pr + (<usize>c << 3), e);
      sum += e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < k; c++) store<f64>(pr + (<usize>c << 3), load<f64>(pr + (<usize>c << 3)) * inv);
    const si: f64 = s == 0 ? 1 : load<f64>(s + (<usize>(r0 + i) << 3));
    const li = m + Math.log(sum) - zy;
    lossW += si * li;
    loss += li;
    if (best == yi) correct += 1;
    if (!gradient) continue;
    for (let c = 0; c < k; c++) {
      const f = si * (load<f64>(pr + (<usize>c << 3)) - (c == yi ? 1.0 : 0.0));
      const g = grad + (<usize>(c * q) << 3);
      for (let d = 0; d < q; d++) {
        const pg = g + (<usize>d << 3);
        store<f64>(pg, load<f64>(pg) + f * <f64>load<f32>(xi + (<usize>d << 2)));
      }
    }
  }
  store<f64>(out, load<f64>(out) + lossW);
  store<f64>(out, load<f64>(out, 8) + loss, 8);
  store<f64>(out, load<f64>(out, 16) + correct, 16);
}

/** w_i = s_i p_ia (delta_ac - p_ic) over the chunk. */
function pairWeights(rb: i32, r0: i32, k: i32, s: usize, p: usize, a: i32, c: i32, w: usize): void {
  for (let i = 0; i < rb; i++) {
    const si: f64 = s == 0 ? 1 : load<f64>(s + (<usize>(r0 + i) << 3));
    const pa = load<f64>(p + (<usize>(i * k + a) << 3));
    const pc = load<f64>(p + (<usize>(i * k + c) << 3));
    store<f64>(w + (<usize>i << 3), si * pa * ((a == c ? 1.0 : 0.0) - pc));
  }
}

export function multinomial_f64_simd128(
  x: usize, rows: i32, q: i32, k: i32, y: usize, s: usize, theta: usize, mode: i32, out: usize, scratch: usize,
): void {
  if (rows <= 0 || k <= 0) return;
  const rowBytes = <usize>q << 2;
  const w = scratch + (<usize>(RB * k) << 3);
  const h = out + 24 + (<usize>(k * q) << 3);
  const blockBytes = <usize>(q * q) << 3;
  for (let r0 = 0; r0 < rows; r0 += RB) {
    const rb = min(RB, rows - r0);
    const xb = x + <usize>r0 * rowBytes;
    for (let i = 0; i < rb; i++) {
      for (let c = 0; c < k; c++) {
        store<f64>(scratch + (<usize>(i * k + c) << 3), dotRowF64_simd128(xb + <usize>i * rowBytes, theta + (<usize>(c * q) << 3), q));
      }
    }
    chunkTerms(xb, rb, r0, q, k, y, s, mode >= 1, out, scratch);
    if (mode < 2) continue;
    let blk: usize = 0;
    for (let a = 0; a < k - 1; a++) {
      for (let c = a; c < k - 1; c++) {
        pairWeights(rb, r0, k, s, scratch, a, c, w);
        gram_f32_simd128(xb, rb, q, w, 0, 0, h + blk * blockBytes, 0);
        blk++;
      }
    }
  }
}

export function multinomial_f64_scalar(
  x: usize, rows: i32, q: i32, k: i32, y: usize, s: usize, theta: usize, mode: i32, out: usize, scratch: usize,
): void {
  if (rows <= 0 || k <= 0) return;
  const rowBytes = <usize>q << 2;
  const w = scratch + (<usize>(RB * k) << 3);
  const h = out + 24 + (<usize>(k * q) << 3);
  const blockBytes = <usize>(q * q) << 3;
  for (let r0 = 0; r0 < rows; r0 += RB) {
    const rb = min(RB, rows - r0);
    const xb = x + <usize>r0 * rowBytes;
    for (let i = 0; i < rb; i++) {
      for (let c = 0; c < k; c++) {
        store<f64>(scratch + (<usize>(i * k + c) << 3), dotRowF64_scalar(xb + <usize>i * rowBytes, theta + (<usize>(c * q) << 3), q));
      }
    }
    chunkTerms(xb, rb, r0, q, k, y, s, mode >= 1, out, scratch);
    if (mode < 2) continue;
    let blk: usize = 0;
    for (let a = 0; a < k - 1; a++) {
      for (let c = a; c < k - 1; c++) {
        pairWeights(rb, r0, k, s, scratch, a, c, w);
        gram_f32_scalar(xb, rb, q, w, 0, 0, h + blk * blockBytes, 0);
        blk++;
      }
    }
  }
}
