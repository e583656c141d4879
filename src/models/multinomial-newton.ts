/**
 * The Newton system of the multiclass (softmax) fit, and the row sample its Hessian may be computed on (see
 * hessian-sample.ts for why a sample leaves the optimum unchanged).
 */
import type { Engine, StagedMatrix, StagedVector } from '../engine/engine.js';
import { sampleRows, sampleStride, sampleValues } from './hessian-sample.js';

/** The sampled rows of [X, 1] with their y and row weights, staged; `scale` = Σs over all rows / Σs over the sample. */
export interface HessianSample {
  x: StagedMatrix;
  y: StagedVector;
  s: StagedVector | null;
  /** The sample's row weights (null when all 1). */
  weights: Float64Array | null;
  scale: number;
  rows: number;
  release(): void;
}

/**
 * The sample of one row in m (see hessian-sample.ts) when m = ⌊n / target⌋ ≥ 4, else null (the Hessian then comes from every
 * row, as the gradient does). Also null when the sample holds no weight or misses a class (the sampled blocks
 * of that class would be empty).
 */
export function hessianSample(engine: Engine, xt: { rows: number; cols: number; data: Float32Array }, y: ArrayLike<number>, s: Float64Array, k: number, target: number): HessianSample | null {
  const n = xt.rows;
  const m = sampleStride(n, target);
  if (m === 0) return null;
  const ys = sampleValues(y, m);
  const ss = sampleValues(s, m);
  const rows = ys.length;
  const seen = new Uint8Array(k);
  let sum = 0;
  let subSum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  for (let r = 0; r < rows; r++) {
    subSum += ss[r]!;
    if (ss[r]! > 0) seen[ys[r]!] = 1;
  }
  if (!(subSum > 0) || seen.includes(0)) return null;
  const xs = sampleRows(engine, xt, m);
  const regions: { release(): void }[] = [xs];
  try {
    const staged = engine.stage(xs, 'x', { checkValues: false });
    regions.push(staged);
    const yv = engine.stageVector(ys, 'y');
    regions.push(yv);
    const unit = ss.every((v) => v === 1);
    const sv = unit ? null : engine.stageVector(ss, 'sampleWeight');
    if (sv) regions.push(sv);
    return {
      x: staged,
      y: yv,
      s: sv,
      weights: unit ? null : ss,
      scale: sum / subSum,
      rows,
      release: () => {
        for (const r of regions) r.release();
      },
    };
  } catch (err) {
    for (const r of regions) r.release();
    throw err;
  }
}

/**
 * The kernel's Hessian blocks at θ = 0 from one Gram matrix G = Σ s x̃x̃ᵀ: every p_ic is 1/K there, so
 * H_ac = (1/K)(δ_ac − 1/K)·G, which spares the first Hessian pass its (K−1)K/2 weighted Grams.
 */
export function blocksAtZero(g: Float64Array, k: number, q: number): Float64Array {
  const out = new Float64Array(((k - 1) * k * q * q) / 2);
  let blk = 0;
  for (let a = 0; a < k - 1; a++) {
    for (let c = a; c < k - 1; c++, blk++) {
      const f = ((a === c ? 1 : 0) - 1 / k) / k;
      for (let i = 0; i < q * q; i++) out[blk * q * q + i] = f * g[i]!;
    }
  }
  return out;
}

/**
 * The Jacobi-scaled Newton matrix from the kernel's blocks H_ac (a ≤ c < K − 1, times `scale`): the last class's
 * blocks follow (each row of blocks sums to zero, Σ_c p_a(δ_ac − p_c) = 0), l2 on the coefficients' diagonal,
 * and (ε/K)(Σ_k b_k)², which fixes the one direction the loss does not see. Returns the scaled matrix and the
 * scaling d (solve hs·u = d∘b, then Δ = d∘u): it keeps the solve well conditioned whatever the column scales.
 */
export function newtonSystem(blocks: Float64Array, k: number, q: number, l2: number, eps: number, scale: number): { hs: Float64Array; d: Float64Array } {
  const p = q - 1;
  const dim = k * q;
  const last = k - 1;
  const h = new Float64Array(dim * dim);
  const put = (a: number, c: number, r0: number, c0: number, g: number) => {
    h[(a * q + r0) * dim + c * q + c0] = g;
    h[(c * q + c0) * dim + a * q + r0] = g;
  };
  let blk = 0;
  for (let a = 0; a < last; a++) {
    for (let c = a; c < last; c++, blk++) {
      const o = blk * q * q;
      for (let r0 = 0; r0 < q; r0++) for (let c0 = 0; c0 < q; c0++) put(a, c, r0, c0, scale * blocks[o + r0 * q + c0]!);
    }
  }
  for (let a = 0; a < last; a++) {
    for (let r0 = 0; r0 < q; r0++) {
      for (let c0 = 0; c0 < q; c0++) {
        let sum = 0;
        for (let c = 0; c < last; c++) sum += h[(a * q + r0) * dim + c * q + c0]!;
        put(a, last, r0, c0, -sum);
      }
    }
  }
  for (let r0 = 0; r0 < q; r0++) {
    for (let c0 = 0; c0 < q; c0++) {
      let sum = 0;
      for (let a = 0; a < last; a++) sum += h[(a * q + r0) * dim + last * q + c0]!;
      h[(last * q + r0) * dim + last * q + c0] = -sum;
    }
  }
  for (let a = 0; a < k; a++) {
    for (let j = 0; j < p; j++) h[(a * q + j) * dim + a * q + j]! += l2;
    for (let c = 0; c < k; c++) h[(a * q + p) * dim + c * q + p]! += eps / k;
  }
  const d = new Float64Array(dim);
  for (let j = 0; j < dim; j++) d[j] = 1 / Math.sqrt(Math.max(h[j * dim + j]!, Number.MIN_VALUE));
  const hs = new Float64Array(dim * dim);
  for (let r0 = 0; r0 < dim; r0++) for (let c0 = 0; c0 < dim; c0++) hs[r0 * dim + c0] = h[r0 * dim + c0]! * d[r0]! * d[c0]!;
  return { hs, d };
}
