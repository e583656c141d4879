/**
 * The logistic family: one fused pass of binary logistic regression over all rows at (β, b): z, the
 * objective, the gradient and (with `hessian`) the Newton system's pieces, in reduction blocks whose
 * partials (`logisticLayout`) are summed in block order.
 */
import type { Backend } from '../../backends/types.js';
import { logisticLayout } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import { mirrorUpper, sumBlocks } from '../merge.js';
import type { BlockRange, CallOptions, Scheduler, TaskKind } from '../schedule.js';
import { StagedVector, type F32, type F64, type MatrixInput, type Scope, type VectorInput } from '../scope.js';
import { checkVector } from '../validate.js';

export interface LogisticPassOptions extends CallOptions {
  /** Also accumulate the Hessian pieces (XᵀWX, Xᵀw, Σw); default true. */
  hessian?: boolean;
  /** Caller-owned output for z (one f64 per row), reused across passes; a new array otherwise. */
  z?: Float64Array;
}

/**
 * One logistic-regression pass at (β, b): s the row weights (1 when absent), p_i = σ(z_i), z_i = x_i·β + b.
 * `xtv`/`sumV` are Xᵀv and Σv with v_i = s_i(y_i − p_i) (minus the data gradient); the Hessian pieces use
 * w_i = s_i p_i (1 − p_i): XᵀWX (both triangles), Xᵀw and Σw, or null without `hessian`.
 */
export interface LogisticPassResult {
  /** Σ s_i ℓ_i with ℓ_i = log(1 + e^{z_i}) − y_i z_i. */
  lossWeighted: number;
  /** Σ ℓ_i, unweighted. */
  loss: number;
  /** Rows where (z_i > 0 ? 1 : 0) equals y_i. */
  correct: number;
  xtv: Float64Array;
  sumV: number;
  xtwx: Float64Array | null;
  xtw: Float64Array | null;
  sumW: number;
  z: Float64Array;
}

export interface LogisticTask extends BlockRange {
  x: F32;
  cols: number;
  y: F64;
  s: F64 | null;
  beta: F64;
  bias: number;
  hessian: boolean;
  z: F64;
  /** nBlocks × logisticLayout(cols).length partial sums. */
  out: F64;
}

export const logisticTask: TaskKind<LogisticTask, null> = {
  name: 'logistic',
  run(b: Backend, t: LogisticTask): null {
    const x = b.view(t.x);
    const y = b.view(t.y);
    const s = t.s ? b.view(t.s) : null;
    const beta = b.view(t.beta);
    const z = b.view(t.z);
    const out = b.view(t.out);
    const len = logisticLayout(t.cols).length;
    for (let blk = t.block0; blk < t.block1; blk++) {
      const r0 = blk * t.blockRows;
      const r1 = Math.min(t.rows, r0 + t.blockRows);
      b.logisticPass({
        x: x.subarray(r0 * t.cols, r1 * t.cols),
        rows: r1 - r0,
        cols: t.cols,
        y: y.subarray(r0, r1),
        s: s ? s.subarray(r0, r1) : null,
        beta,
        bias: t.bias,
        hessian: t.hessian,
        z: z.subarray(r0, r1),
        out: out.subarray(blk * len, (blk + 1) * len),
      });
    }
    return null;
  },
};

/** A staged vector's region, or a plain vector checked (length, finite, within [lo, hi]) and copied in. */
function vectorRegion(s: Scope, v: VectorInput, name: string, length: number, lo: number, hi: number): F64 {
  if (v instanceof StagedVector) {
    if (v.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; stage it again`);
    if (v.length !== length) throw new QuiverError('SHAPE_MISMATCH', `${name} has ${v.length} values; expected ${length} (one per row)`);
    if (v.min < lo || v.max > hi) throw new QuiverError('INVALID_ARGUMENT', `${name} has values outside [${lo}, ${hi}] (from ${v.min} to ${v.max})`);
    return v.region;
  }
  checkVector(v, name, length);
  for (let i = 0; i < length; i++) {
    const a = v[i]!;
    if (a < lo || a > hi) throw new QuiverError('INVALID_ARGUMENT', `${name}[${i}] is ${a}; values must lie in [${lo}, ${hi}]`, { index: i });
  }
  return s.copy('f64', v);
}

/**
 * One fused pass (see `LogisticPassResult`) for a Newton / IRLS step at (β, b). y holds targets in [0, 1]
 * (0/1 labels; soft labels give the cross-entropy), s row weights ≥ 0 or null.
 */
export async function logisticPass(
  sched: Scheduler,
  x: MatrixInput,
  y: VectorInput,
  sw: VectorInput | null,
  beta: Float64Array,
  bias: number,
  opts: LogisticPassOptions,
): Promise<LogisticPassResult> {
  return sched.job(async (s) => {
    const src = s.input(x, 'x');
    const { rows, cols } = src;
    const yr = vectorRegion(s, y, 'y', rows, 0, 1);
    const sr = sw === null ? null : vectorRegion(s, sw, 'sampleWeight', rows, 0, Infinity);
    checkVector(beta, 'coefficients', cols);
    if (!Number.isFinite(bias)) throw new QuiverError('NON_FINITE', `the intercept is not finite (${bias})`);
    if (opts.z && (!(opts.z instanceof Float64Array) || opts.z.length !== rows)) {
      throw new QuiverError('SHAPE_MISMATCH', `z must be a Float64Array of ${rows} values (one per row)`);
    }
    const hessian = opts.hessian ?? true;
    const betaR = s.copy('f64', beta);
    const z: F64 = opts.z ? s.outputRegion(opts.z, 'f64') : s.alloc('f64', rows);
    const L = logisticLayout(cols);
    const { blockRows, nBlocks, groups } = sched.reduceBlocks(rows);
    const out: F64 = s.alloc('f64', nBlocks * L.length);
    const tasks = groups.map((g) => ({ ...g, blockRows, rows, x: src.region, cols, y: yr, s: sr, beta: betaR, bias, hessian, z, out }));
    await sched.dispatch(logisticTask, tasks, rows * cols * (hessian ? cols / 2 + 2 : 2), opts.signal);
    const sum = sumBlocks(s.view(out), nBlocks, L.length);
    return {
      lossWeighted: sum[L.lossW]!,
      loss: sum[L.loss]!,
      correct: sum[L.correct]!,
      xtv: sum.slice(L.grad, L.grad + cols),
      sumV: sum[L.grad + cols]!,
      xtwx: hessian ? mirrorUpper(sum.slice(L.h, L.h + cols * cols), cols) : null,
      xtw: hessian ? sum.slice(L.xw, L.xw + cols) : null,
      sumW: hessian ? sum[L.xw + cols]! : 0,
      z: opts.z ? s.deliver(z, opts.z) : s.take(z),
    };
  });
}
