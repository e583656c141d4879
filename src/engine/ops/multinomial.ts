/**
 * The multinomial family: one fused pass of multiclass (softmax) logistic regression over all rows at θ
 * (K × q): the objective and the correct count, and with `newton` the gradient and the Hessian blocks of the
 * first K − 1 classes, in reduction blocks whose partials (`multinomialLayout`) are summed in block order (the
 * blocks depend on the row count only, so the result does not depend on the thread count).
 */
import type { Backend } from '../../backends/types.js';
import { MULTINOMIAL_GRADIENT, MULTINOMIAL_LOSS, MULTINOMIAL_NEWTON, multinomialLayout, multinomialModeLength, multinomialPairs, type MultinomialMode } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import { sumBlocks } from '../merge.js';
import type { BlockRange, CallOptions, Scheduler, TaskKind } from '../schedule.js';
import { StagedVector, type F32, type F64, type MatrixInput, type Scope, type VectorInput } from '../scope.js';
import { checkVector } from '../validate.js';

export interface MultinomialPassOptions extends CallOptions {
  /**
   * What to accumulate besides the losses: 'newton' (default) the gradient and the Hessian blocks (a Newton
   * step), 'gradient' the gradient only (a convergence test), 'loss' nothing more (a line-search trial).
   */
  mode?: 'loss' | 'gradient' | 'newton';
}

const MODES = { loss: MULTINOMIAL_LOSS, gradient: MULTINOMIAL_GRADIENT, newton: MULTINOMIAL_NEWTON } as const;

/**
 * One softmax pass at θ (K blocks of q, class-major): z_ic = x_i·θ_c, p_ic = softmax_c(z_i), ℓ_i =
 * log Σ_c e^{z_ic} − z_{i,y_i}, s the row weights (1 when absent).
 */
export interface MultinomialPassResult {
  /** Σ s_i ℓ_i. */
  lossWeighted: number;
  /** Σ ℓ_i, unweighted. */
  loss: number;
  /** Rows whose first largest z_ic is at c = y_i. */
  correct: number;
  /** K × q: Σ_i s_i (p_ic − [y_i = c]) x_i (the data gradient), or null in mode 'loss'. */
  grad: Float64Array | null;
  /**
   * (K−1)K/2 blocks q × q (both triangles), pairs a ≤ c < K − 1 with a outer: Σ_i s_i p_ia (δ_ac − p_ic) x_i x_iᵀ;
   * or null unless mode 'newton'.
   */
  hessian: Float64Array | null;
}

export interface MultinomialTask extends BlockRange {
  x: F32;
  cols: number;
  k: number;
  y: F64;
  s: F64 | null;
  theta: F64;
  mode: MultinomialMode;
  /** nBlocks × multinomialModeLength(mode, k, cols) partial sums. */
  out: F64;
}

export const multinomialTask: TaskKind<MultinomialTask, null> = {
  name: 'multinomial',
  run(b: Backend, t: MultinomialTask): null {
    const x = b.view(t.x);
    const y = b.view(t.y);
    const s = t.s ? b.view(t.s) : null;
    const theta = b.view(t.theta);
    const out = b.view(t.out);
    const len = multinomialModeLength(t.mode, t.k, t.cols);
    for (let blk = t.block0; blk < t.block1; blk++) {
      const r0 = blk * t.blockRows;
      const r1 = Math.min(t.rows, r0 + t.blockRows);
      b.multinomialPass({
        x: x.subarray(r0 * t.cols, r1 * t.cols),
        rows: r1 - r0,
        cols: t.cols,
        k: t.k,
        y: y.subarray(r0, r1),
        s: s ? s.subarray(r0, r1) : null,
        theta,
        mode: t.mode,
        out: out.subarray(blk * len, (blk + 1) * len),
      });
    }
    return null;
  },
};

/** A staged vector's region, or a plain vector checked (length, finite, within [lo, hi], integers when asked) and copied in. */
function vectorRegion(s: Scope, v: VectorInput, name: string, length: number, lo: number, hi: number, integers: boolean): F64 {
  if (v instanceof StagedVector) {
    if (v.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; stage it again`);
    if (v.length !== length) throw new QuiverError('SHAPE_MISMATCH', `${name} has ${v.length} values; expected ${length} (one per row)`);
    if (v.min < lo || v.max > hi) throw new QuiverError('INVALID_ARGUMENT', `${name} has values outside [${lo}, ${hi}] (from ${v.min} to ${v.max})`);
    return v.region;
  }
  checkVector(v, name, length);
  for (let i = 0; i < length; i++) {
    const a = v[i]!;
    if (a < lo || a > hi || (integers && !Number.isInteger(a))) {
      throw new QuiverError('INVALID_ARGUMENT', `${name}[${i}] is ${a}; values must be ${integers ? 'integers ' : ''}in [${lo}, ${hi}]`, { index: i });
    }
  }
  return s.copy('f64', v);
}

/** Upper triangles of each q × q block copied to the lower ones. */
function mirrorBlocks(h: Float64Array, blocks: number, q: number): Float64Array {
  for (let t = 0; t < blocks; t++) {
    const o = t * q * q;
    for (let r = 0; r < q; r++) for (let c = r + 1; c < q; c++) h[o + c * q + r] = h[o + r * q + c]!;
  }
  return h;
}

/**
 * One fused softmax pass (see `MultinomialPassResult`) for a Newton step (or, with mode 'loss' or 'gradient',
 * a line-search trial or a convergence test) at θ, k × q class-major. y holds class indices 0 … k − 1, s row weights ≥ 0 or null.
 */
export async function multinomialPass(
  sched: Scheduler,
  x: MatrixInput,
  y: VectorInput,
  sw: VectorInput | null,
  theta: Float64Array,
  k: number,
  opts: MultinomialPassOptions,
): Promise<MultinomialPassResult> {
  return sched.job(async (s) => {
    const src = s.input(x, 'x');
    const { rows, cols } = src;
    if (!Number.isInteger(k) || k < 2) throw new QuiverError('INVALID_ARGUMENT', `k must be an integer ≥ 2 (got ${k})`);
    const yr = vectorRegion(s, y, 'y', rows, 0, k - 1, true);
    const sr = sw === null ? null : vectorRegion(s, sw, 'sampleWeight', rows, 0, Infinity, false);
    checkVector(theta, 'theta', k * cols);
    const name = opts.mode ?? 'newton';
    const mode = MODES[name];
    if (mode === undefined) throw new QuiverError('INVALID_ARGUMENT', `mode must be 'loss', 'gradient' or 'newton' (got ${JSON.stringify(name)})`);
    const thetaR = s.copy('f64', theta);
    const L = multinomialLayout(k, cols);
    const { blockRows, nBlocks, groups } = sched.reduceBlocks(rows);
    // The cheap modes' partials hold only the prefix they write (5 MB fewer to allocate and sum per pass here).
    const len = multinomialModeLength(mode, k, cols);
    const out: F64 = s.alloc('f64', nBlocks * len);
    const tasks = groups.map((g) => ({ ...g, blockRows, rows, x: src.region, cols, k, y: yr, s: sr, theta: thetaR, mode, out }));
    const perRow = k * cols * (mode === MULTINOMIAL_LOSS ? 1 : 2) + (mode === MULTINOMIAL_NEWTON ? multinomialPairs(k) * cols * cols : 0);
    await sched.dispatch(multinomialTask, tasks, rows * perRow, opts.signal);
    const sum = sumBlocks(s.view(out), nBlocks, len);
    return {
      lossWeighted: sum[L.lossW]!,
      loss: sum[L.loss]!,
      correct: sum[L.correct]!,
      grad: mode === MULTINOMIAL_LOSS ? null : sum.slice(L.grad, L.grad + k * cols),
      hessian: mode === MULTINOMIAL_NEWTON ? mirrorBlocks(sum.slice(L.h, L.length), multinomialPairs(k), cols) : null,
    };
  });
}
