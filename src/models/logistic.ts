/**
 * Binary logistic regression with an L2 penalty, fitted by Newton's method (IRLS) where every step is a
 * weighted Gram solve on the engine.
 *
 * Objective: Σ_i s_i [log(1 + e^{z_i}) − y_i z_i] + (l2/2)·‖β‖², z_i = x_iᵀβ + b, where s_i is the sample
 * weight times the class weight and the intercept b is not penalised. Dividing by l2 gives scikit-learn's
 * LogisticRegression objective C·Σ s_i loss_i + ½‖β‖², so l2 = 1/C exactly (l2 = 0 is no penalty).
 * classWeight 'balanced' gives class c the weight n / (2·n_c), n_c the number of rows of class c
 * (unweighted), as scikit-learn.
 *
 * Each Newton step is one fused pass of the engine (`logisticPass`) over X, staged once with y and s: it
 * computes z = Xβ + b (f64), the objective, the gradient −[Xᵀv, Σv] with v_i = s_i (y_i − p_i), and the Hessian
 * pieces XᵀWX, Xᵀw, Σw with w_i = s_i p_i (1 − p_i), so the intercept's row and column come without building
 * [X, 1]. The penalty is added on the small matrix, which is scaled to a unit diagonal and solved by the
 * engine's Cholesky. Backtracking (Armijo) line search on the exact objective: the trial point's pass is
 * the next step's pass, so an accepted full step costs one pass over X. The native SIMD level sums the
 * Hessian's products in f32 within 256-row chunks (see native/src/kernels/logistic.rs); the gradient and
 * objective are f64 everywhere, so the optimum does not depend on it.
 *
 * Stopping, as scikit-learn's newton-cholesky solver: after a step, stop when max_j |∂f/∂β_j| / Σs ≤ tol
 * and ½·ΔᵀHΔ / Σs ≤ tol (Δ the Newton step just taken, H its Hessian), both on the objective divided by Σs;
 * `nIter` counts the steps taken.
 *
 * On large tables the Hessian comes from a row sample (a pass over it per step) and the passes over every row
 * skip it: same optimum, as the gradient is exact (see hessian-sample.ts). The first step, at β = 0, then
 * takes its gradient from the sample too (the objective there is Σs·log 2 exactly), so a fit of k steps makes
 * k passes over every row, not k + 1.
 */
import type { Engine, LogisticPassResult } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import { checkFinite } from '../engine/validate.js';
import type { Matrix } from '../types.js';
import {
  checkEncoder,
  checkFeatureNames,
  checkIntOption,
  checkMatrixShape,
  checkNumberOption,
  checkSampleWeight,
  checkTarget,
  nameNonFinite,
} from './common.js';
import { rocAuc } from './metrics.js';
import { checkFullRank } from './rank.js';
import { sampleShift, unshift } from './shift.js';
import { solveScaled } from './linear.js';
import { binarySample, checkHessianRows } from './hessian-sample.js';
import { LogisticModel, type LogisticRegressionOptions } from './logistic-model.js';

export { LogisticModel } from './logistic-model.js';
export type { ClassWeight, LogisticIteration, LogisticRegressionOptions, LogisticState } from './logistic-model.js';

function classWeights(cw: unknown, n0: number, n1: number): [number, number] {
  if (cw === undefined || cw === null) return [1, 1];
  if (cw === 'balanced') return [(n0 + n1) / (2 * n0), (n0 + n1) / (2 * n1)];
  if (typeof cw === 'object') {
    const w0 = (cw as Record<number, unknown>)[0];
    const w1 = (cw as Record<number, unknown>)[1];
    if (typeof w0 === 'number' && typeof w1 === 'number' && w0 > 0 && w1 > 0 && Number.isFinite(w0) && Number.isFinite(w1)) return [w0, w1];
  }
  throw new QuiverError('INVALID_ARGUMENT', `classWeight must be "balanced", null, or { 0: w0, 1: w1 } with positive weights (got ${JSON.stringify(cw)})`);
}

export async function fitLogisticRegression(engine: Engine, x: Matrix, y: Float32Array | Float64Array, opts: LogisticRegressionOptions = {}): Promise<LogisticModel> {
  // Values are checked when [X, 1] is staged (row and column indices are those of x).
  checkMatrixShape(x, 'x');
  const n = x.rows;
  const p = x.cols;
  const yy = checkTarget(y, n);
  const l2 = checkNumberOption(opts.l2, 'l2', 0, 1);
  const fitIntercept = opts.fitIntercept ?? true;
  const maxIter = checkIntOption(opts.maxIter, 'maxIter', 1, 100);
  const tol = checkNumberOption(opts.tol, 'tol', 0, 1e-4);
  const hessianTarget = checkHessianRows(opts.hessianRows, fitIntercept ? p + 1 : p);
  const sw = checkSampleWeight(opts.sampleWeight, n);
  const encoder = checkEncoder(opts.encoder, p);
  const names = checkFeatureNames(opts.featureNames ?? encoder?.features, p);
  let n0 = 0;
  let n1 = 0;
  // The labels as bytes, for the AUC read after the fit (the caller may reuse y before then).
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = yy[i]!;
    if (v === 1) {
      n1++;
      labels[i] = 1;
    } else if (v === 0) n0++;
    else throw new QuiverError('INVALID_ARGUMENT', `y must hold the classes as 0 and 1 (row ${i} has ${v}); encode the positive class as 1`, { row: i });
  }
  if (n0 === 0 || n1 === 0) {
    throw new QuiverError('INVALID_ARGUMENT', `y has one class only (all ${n} rows are ${n1 > 0 ? 1 : 0}); logistic regression needs rows of both classes`, {
      class: n1 > 0 ? 1 : 0,
    });
  }
  const [cw0, cw1] = classWeights(opts.classWeight, n0, n1);
  // Row weights s_i = sample weight × class weight; none at all (null) when every s_i is 1.
  let s: Float64Array | null = null;
  let sSum = n;
  if (sw || cw0 !== 1 || cw1 !== 1) {
    s = new Float64Array(n);
    sSum = 0;
    let sPos = 0;
    for (let i = 0; i < n; i++) {
      const si = (sw ? sw[i]! : 1) * (yy[i] === 1 ? cw1 : cw0);
      s[i] = si;
      sSum += si;
      if (yy[i] === 1) sPos += si;
    }
    if (sPos === 0 || sPos === sSum) {
      throw new QuiverError('INVALID_ARGUMENT', 'the sample weights leave only one class with positive weight; logistic regression needs both');
    }
  }

  // X, y and s are staged once; every Newton step is then one fused pass over X (z, objective, gradient and
  // Hessian together, in the workers), plus loss-only passes when the line search backtracks.
  const q = fitIntercept ? p + 1 : p;
  const regions: { release(): void }[] = [];
  try {
    // Values are not scanned here (and X is read in place when the workers can): at β = 0 the first pass's
    // z_i = Σ x_id·0 is NaN exactly when row i holds a NaN or ±Infinity, so a non-finite objective below
    // triggers the scan that names the cell.
    // Borrowed rather than copied where the backend can, unless the fit can be aborted (StageOptions.borrow).
    const xs = engine.stage(x, 'x', { checkValues: false, borrow: opts.signal === undefined });
    regions.push(xs);
    if (l2 === 0) {
      // Unpenalised: the Hessian is singular exactly when the weighted (centred) X is rank-deficient. One
      // Gram pass over the staged X, centred on a sampled shift and corrected exactly (shift.ts); a non-finite
      // value shows in it.
      const shift = fitIntercept ? sampleShift(x, sw) : null;
      if (shift) nameNonFinite(x, shift);
      const r = await engine.gram(xs, { w: sw, center: shift, sums: shift !== null, signal: opts.signal });
      nameNonFinite(x, r.g);
      // wasm and js skip zero-weight rows in G but not in the sums: a NaN there shows in the sums only.
      if (r.sums) nameNonFinite(x, r.sums);
      if (shift) unshift(shift, r.g, null, r.sums!, sw ? sw.reduce((a, b) => a + b, 0) : n, 0);
      checkFullRank(x, r.g, names, fitIntercept, 'logistic regression without a penalty');
    }
    const ys = engine.stageVector(yy, 'y');
    regions.push(ys);
    const ss = s ? engine.stageVector(s, 'sampleWeight') : null;
    if (ss) regions.push(ss);
    // Two z buffers (the current point and the trial), shared memory so workers write them in place.
    // In engine memory: recycled pages, so the first passes of a fit in a loop do not fault in fresh ones.
    const zbuf = () => {
      const v = engine.allocVector(n);
      regions.push(v);
      return v.data;
    };
    let zCur = zbuf();
    let zTrial = zbuf();
    const pass = (beta: Float64Array, hessian: boolean, z: Float64Array): Promise<LogisticPassResult> =>
      engine.logisticPass(xs, ys, ss, beta.subarray(0, p), fitIntercept ? beta[p]! : 0, { hessian, z, signal: opts.signal });
    const objective = (r: LogisticPassResult, beta: Float64Array): number => {
      let pen = 0;
      for (let j = 0; j < p; j++) pen += beta[j]! * beta[j]!;
      return r.lossWeighted + 0.5 * l2 * pen;
    };
    // The Hessian from one row in m when there are many (see hessian-sample.ts): the full passes then skip
    // it, and each step adds one Hessian pass over the sample. The gradient and objective use every row.
    const sample = binarySample(engine, x, yy, s, sSum, hessianTarget, regions);
    let useSample = sample !== null;
    let beta = new Float64Array(q);
    // A non-finite objective at a finite point means x holds a NaN or ±Infinity: scan it (once) to name the cell.
    let scanned = false;
    const checkPass = (r: LogisticPassResult): void => {
      if (scanned || (Number.isFinite(r.lossWeighted) && Number.isFinite(r.loss))) return;
      scanned = true;
      checkFinite(x.data, 'x', p);
    };
    // With a sample, the first step at β = 0 needs no pass over every row: there p_i = ½, the objective is
    // Σs·log 2 exactly, and the gradient −[Xᵀv, Σv] is estimated from the sample's pass (scaled like its
    // Hessian), which that step needs anyway. The trial point's pass over every row is exact, so the
    // Armijo test and every later step use the exact gradient; the first direction is only an estimate,
    // as its Hessian already was. `curExact` false: `cur` holds that estimate, not a pass over every row.
    let cur: LogisticPassResult;
    let curExact = true;
    let hpZero: LogisticPassResult | null = null;
    if (useSample) {
      const sp = sample!;
      hpZero = await engine.logisticPass(sp.xs, sp.ys, sp.ss, beta.subarray(0, p), 0, { hessian: true, z: sp.z, signal: opts.signal });
      checkPass(hpZero);
      const ln2 = Math.log(2);
      cur = {
        lossWeighted: sSum * ln2,
        loss: n * ln2,
        correct: n0, // z = 0 predicts class 0
        xtv: hpZero.xtv.map((v) => sp.scale * v),
        sumV: sp.scale * hpZero.sumV,
        xtwx: null,
        xtw: null,
        sumW: 0,
        z: zCur,
      };
      curExact = false;
    } else {
      cur = await pass(beta, true, zCur);
      checkPass(cur);
    }
    if (!Number.isFinite(cur.lossWeighted) || !Number.isFinite(cur.loss) || !Number.isFinite(cur.sumV)) {
      throw new QuiverError('INTERNAL', 'logistic regression: the objective at zero is not finite, but x is');
    }
    let f = objective(cur, beta);
    let prevDecrement = Infinity;
    let nIter = 0;
    let converged = false;
    let prevGradMax = Infinity;
    // Whether the last step solved with a sampled Hessian, and its step length.
    let lastSampled = false;
    let lastT = 1;
    for (let iter = 0; ; iter++) {
      // After a fallback from the sampled first step, the exact pass at this point (with its Hessian).
      if (!curExact && !useSample) {
        cur = await pass(beta, true, zCur);
        checkPass(cur);
        curExact = true;
      }
      // Gradient of the objective: −[Xᵀv, Σv] + l2·[β, 0].
      const grad = new Float64Array(q);
      let gradMax = 0;
      for (let j = 0; j < q; j++) {
        grad[j] = (j < p ? -cur.xtv[j]! + l2 * beta[j]! : -cur.sumV);
        gradMax = Math.max(gradMax, Math.abs(grad[j]!));
      }
      gradMax /= sSum;
      if (iter > 0 && gradMax <= tol && (0.5 * prevDecrement) / sSum <= tol) {
        converged = true;
        break;
      }
      if (iter === maxIter) break;
      // A step on a sampled Hessian that needed a shorter step, or did not even halve the gradient: the sample
      // does not represent the rows well enough here, so every later Hessian comes from every row.
      if (lastSampled && (lastT < 1 || gradMax > 0.5 * prevGradMax)) useSample = false;
      prevGradMax = gradMax;
      let hp: LogisticPassResult;
      let scale = 1;
      if (useSample && hpZero) {
        hp = hpZero; // the first step's sample pass, at β = 0
        scale = sample!.scale;
      } else if (useSample) {
        hp = await engine.logisticPass(sample!.xs, sample!.ys, sample!.ss, beta.subarray(0, p), fitIntercept ? beta[p]! : 0, { hessian: true, z: sample!.z, signal: opts.signal });
        scale = sample!.scale;
      } else {
        // The previous step skipped the Hessian expecting to be the last: compute it at this point now.
        if (!cur.xtwx) cur = await pass(beta, true, zCur);
        hp = cur;
      }
      hpZero = null;
      const sampled = useSample;
      // Hessian [[XᵀWX + l2·I, Xᵀw], [wᵀX, Σw]] (the sample's scaled to the whole weight).
      const h = new Float64Array(q * q);
      const xtwx = hp.xtwx!;
      for (let a = 0; a < p; a++) {
        for (let b = 0; b < p; b++) h[a * q + b] = scale * xtwx[a * p + b]!;
        h[a * q + a]! += l2;
      }
      if (fitIntercept) {
        for (let a = 0; a < p; a++) {
          h[a * q + p] = scale * hp.xtw![a]!;
          h[p * q + a] = scale * hp.xtw![a]!;
        }
        h[p * q + p] = scale * hp.sumW;
      }
      const negGrad = grad.map((gj) => -gj);
      let delta: Float64Array;
      try {
        delta = await solveScaled(engine, h, negGrad, q, names, opts);
      } catch (err) {
        const e = QuiverError.from(err);
        if (e.code !== 'NOT_POSITIVE_DEFINITE') throw e;
        // A singular sampled Hessian says nothing about the whole one: retry this step with every row.
        if (sampled) {
          useSample = false;
          lastSampled = false;
          // Not a step: the retry does not use up one of maxIter.
          iter--;
          continue;
        }
        throw new QuiverError(
          'NOT_POSITIVE_DEFINITE',
          `logistic regression: the Hessian became singular at Newton step ${iter + 1}; the classes are probably perfectly separable. Add an L2 penalty (l2 > 0)`,
          e.details,
        );
      }
      let slope = 0; // gradᵀΔ < 0
      for (let j = 0; j < q; j++) slope += grad[j]! * delta[j]!;
      // Armijo backtracking on the exact objective. Without a sample, the full step's pass also computes the
      // Hessian there (it is nearly always accepted); shorter steps evaluate the objective only, and the
      // accepted point's Hessian is computed afterwards. When this step's Newton decrement already meets tol
      // (or this is the last step allowed), the fit will most likely stop after it, so the full step skips the
      // Hessian too; if the gradient test then fails, the next iteration computes it first.
      const likelyLast = (0.5 * -slope) / sSum <= tol || iter + 1 === maxIter;
      const withHessian = !likelyLast && !useSample;
      let t = 1;
      let accepted: LogisticPassResult | null = null;
      const bt = new Float64Array(q);
      let ft = f;
      for (let tries = 0; tries < 40; tries++) {
        for (let j = 0; j < q; j++) bt[j] = beta[j]! + t * delta[j]!;
        const trial = await pass(bt, tries === 0 && withHessian, zTrial);
        checkPass(trial);
        ft = objective(trial, bt);
        if (ft <= f + 1e-4 * t * slope) {
          accepted = trial;
          break;
        }
        t *= 0.5;
      }
      nIter = iter + 1;
      lastSampled = sampled;
      lastT = t;
      if (!accepted) {
        // No decrease along a sampled Hessian's direction: try again from here with the whole Hessian.
        if (sampled) {
          useSample = false;
          lastSampled = false;
          // Not a step: the retry does not use up one of maxIter.
          nIter = iter;
          iter--;
          continue;
        }
        break; // no decrease along the Newton direction is measurable: as good as it gets
      }
      if (!accepted.xtwx && withHessian) accepted = await pass(bt, true, zTrial);
      beta = bt;
      cur = accepted;
      [zCur, zTrial] = [zTrial, zCur];
      f = ft;
      prevDecrement = -slope;
      opts.onIteration?.({ iteration: nIter, loss: f / sSum, gradMax, decrement: (0.5 * prevDecrement) / sSum, step: t });
    }
    const coefficients = beta.slice(0, p);
    const intercept = fitIntercept ? beta[p]! : 0;
    const finalZ = cur.z.slice(); // the z buffers go back to the engine below
    return new LogisticModel(engine, {
      coefficients,
      intercept,
      nIter,
      converged,
      logLoss: cur.loss / n,
      accuracy: cur.correct / n,
      auc: () => rocAuc(labels, finalZ),
      nRows: n,
      params: { l2, fitIntercept, classWeight: opts.classWeight ?? null, maxIter, tol },
      featureNames: names,
      encoder,
    });
  } finally {
    for (const r of regions) r.release();
  }
}
