/**
 * Multiclass logistic regression: a softmax over K classes, fitted by Newton steps.
 *
 * Minimises Σ_i s_i (log Σ_k e^{z_ik} − z_{i,y_i}) + (l2/2)·‖W‖²_F with z_ik = x_i·w_k + b_k, one coefficient
 * vector per class (scikit-learn's multinomial LogisticRegression with C = 1/l2; intercepts unpenalised). The loss
 * does not change when one constant is added to every b_k, so the Hessian is singular along that direction; the
 * Newton system adds (ε/K)·(Σ_k b_k)², which moves only that direction, and the returned intercepts are centred
 * (Σ_k b_k = 0); the coefficients already sum to zero over the classes at the optimum when l2 > 0.
 *
 * Each Newton step is one fused engine pass over X̃ = [X, 1] (`engine.multinomialPass`, staged once with y and the
 * row weights): the K logits per row, the softmax with its log-sum-exp, the loss, the gradient and the Hessian
 * blocks H_ac = X̃ᵀ diag(s p_a(δ_ac − p_c)) X̃ of the first K − 1 classes in f64 (the last class's blocks follow:
 * each row of blocks sums to zero); the main thread only assembles and solves the (Kq)² system. Line-search
 * trials are loss-only passes, except the full step's, which also brings the gradient for the convergence test;
 * the Hessian system is kept (a chord step) while it still shrinks the gradient tenfold per step. On large tables
 * the Hessian comes from a row sample instead (a pass over it in mode 'newton'; the first one, at θ = 0, from the
 * sample's Gram) and the passes over every row bring the objective and gradient only: same optimum (see
 * hessian-sample.ts).
 */
import type { TableEncoder } from '../data/table.js';
import type { CallOptions, Engine, StagedMatrix } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import { checkFinite } from '../engine/validate.js';
import type { Matrix } from '../types.js';
import { bundleColumns, readBundleOf, writeBundle, type ModelBundle } from './bundle.js';
import { checkEncoder, checkFeatureNames, checkIntOption, checkMatrixShape, checkNumberOption, checkSampleWeight, designOf, linearPredictor, type ModelInput } from './common.js';
import type { FittedModel, ModelColumns, ModelSummary } from './model.js';
import { checkHessianRows } from './hessian-sample.js';
import { blocksAtZero, hessianSample, newtonSystem, type HessianSample } from './multinomial-newton.js';

export interface MultinomialOptions extends CallOptions {
  /** L2 penalty on the coefficients (default 1; scikit-learn C = 1/l2); must be > 0. */
  l2?: number;
  /** 'balanced': class k weighs n / (K·n_k). */
  classWeight?: 'balanced' | null;
  sampleWeight?: Float32Array | Float64Array | null;
  /** Newton steps at most (default 100). */
  maxIter?: number;
  /** Tolerance on the averaged gradient and Newton decrement (default 1e-4). */
  tol?: number;
  /**
   * Rows the Newton steps' Hessian is computed on: one row in m (blocks of 8 spread over the table), m = ⌊n / hessianRows⌋, when m ≥ 4 (default
   * max(20,000, 100·K·(p + 1))); 'all' for every row. The gradient and the objective always use every row, so
   * the optimum is the same; a smaller sample makes each Hessian cheaper and may take a step or two more.
   */
  hessianRows?: number | 'all';
  /** Class names, index k → name (default "0" … "K−1"). */
  classes?: string[] | null;
  featureNames?: string[] | null;
  encoder?: TableEncoder | null;
}

export interface MultinomialState {
  /** K × p, row k the coefficients of class k. */
  coefficients: Float64Array;
  /** K intercepts, centred. */
  intercepts: Float64Array;
  classes: string[];
  nIter: number;
  converged: boolean;
  /** Mean log-loss on the training rows (unweighted). */
  logLoss: number;
  accuracy: number;
  nRows: number;
  params: { l2: number; classWeight: 'balanced' | null; maxIter: number; tol: number };
  featureNames: string[] | null;
  encoder: TableEncoder | null;
}

export class MultinomialModel implements FittedModel {
  readonly kind = 'multinomial' as const;
  readonly scoreName = 'class indices';
  readonly coefficients: Float64Array;
  readonly intercepts: Float64Array;
  readonly classes: string[];
  readonly nIter: number;
  readonly converged: boolean;
  readonly logLoss: number;
  readonly accuracy: number;
  readonly nRows: number;
  readonly params: MultinomialState['params'];
  readonly featureNames: string[] | null;
  readonly encoder: TableEncoder | null;

  constructor(
    private readonly engine: Engine,
    s: MultinomialState,
  ) {
    this.coefficients = s.coefficients;
    this.intercepts = s.intercepts;
    this.classes = s.classes;
    this.nIter = s.nIter;
    this.converged = s.converged;
    this.logLoss = s.logLoss;
    this.accuracy = s.accuracy;
    this.nRows = s.nRows;
    this.params = s.params;
    this.featureNames = s.featureNames;
    this.encoder = s.encoder;
  }

  get k(): number {
    return this.intercepts.length;
  }

  get cols(): number {
    return this.coefficients.length / this.k;
  }

  /** Class probabilities, rows × K (row-major, f64). */
  async predictProba(x: ModelInput, opts: CallOptions = {}): Promise<{ rows: number; cols: number; data: Float64Array }> {
    const m = designOf(x, this.encoder, this.cols, this.featureNames);
    const z = await logits(this.engine, m, this.coefficients, this.intercepts, opts.signal);
    softmaxInPlace(z, m.rows, this.k);
    return { rows: m.rows, cols: this.k, data: z };
  }

  /** The most probable class of each row (the lower index on a tie). */
  async predict(x: ModelInput, opts: CallOptions = {}): Promise<Int32Array> {
    const p = await this.predictProba(x, opts);
    const out = new Int32Array(p.rows);
    for (let i = 0; i < p.rows; i++) {
      let best = 0;
      for (let c = 1; c < p.cols; c++) if (p.data[i * p.cols + c]! > p.data[i * p.cols + best]!) best = c;
      out[i] = best;
    }
    return out;
  }

  score(x: ModelInput, opts: CallOptions = {}): Promise<Int32Array> {
    return this.predict(x, opts);
  }

  scoreF64(x: ModelInput, opts: CallOptions = {}): Promise<Int32Array> {
    return this.predict(x, opts);
  }

  get columns(): ModelColumns {
    return { count: this.cols, names: this.featureNames, encoder: this.encoder };
  }

  summary(): ModelSummary {
    const p = this.cols;
    return {
      kind: this.kind,
      cols: p,
      classes: this.classes,
      coefficients: this.classes.map((_, k) => Array.from(this.coefficients.subarray(k * p, (k + 1) * p))),
      intercepts: Array.from(this.intercepts),
      nIter: this.nIter,
      converged: this.converged,
      logLoss: this.logLoss,
      accuracy: this.accuracy,
      nRows: this.nRows,
      featureNames: this.featureNames,
    };
  }

  toBundle(): ModelBundle {
    return {
      kind: 'multinomial',
      params: {
        ...this.params,
        classes: this.classes,
        nIter: this.nIter,
        converged: this.converged,
        logLoss: this.logLoss,
        accuracy: this.accuracy,
        nRows: this.nRows,
        featureNames: this.featureNames,
      },
      arrays: {
        coefficients: { data: this.coefficients, shape: [this.k, this.cols] },
        intercepts: { data: this.intercepts, shape: [this.k] },
      },
      encoder: this.encoder?.toJSON() ?? null,
    };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): MultinomialModel {
    const c = b.arrays['coefficients'];
    const i = b.arrays['intercepts'];
    if (!c || !(c.data instanceof Float64Array) || !i || !(i.data instanceof Float64Array) || c.data.length % i.data.length !== 0) {
      throw new QuiverError('INVALID_ARGUMENT', `${source}: a multinomial model needs f64 coefficients (K × p) and intercepts (K)`);
    }
    const p = b.params;
    return new MultinomialModel(engine, {
      coefficients: c.data,
      intercepts: i.data,
      classes: Array.isArray(p['classes']) ? (p['classes'] as string[]) : Array.from(i.data, (_, k) => String(k)),
      nIter: Number(p['nIter']),
      converged: p['converged'] === true,
      logLoss: Number(p['logLoss']),
      accuracy: Number(p['accuracy']),
      nRows: Number(p['nRows']),
      params: {
        l2: Number(p['l2'] ?? 1),
        classWeight: p['classWeight'] === 'balanced' ? 'balanced' : null,
        maxIter: Number(p['maxIter'] ?? 100),
        tol: Number(p['tol'] ?? 1e-4),
      },
      ...bundleColumns(b, source),
    });
  }

  async save(path: string): Promise<void> {
    await writeBundle(path, this.toBundle());
  }

  static async load(path: string, engine: Engine): Promise<MultinomialModel> {
    return MultinomialModel.fromBundle(await readBundleOf(path, 'multinomial'), engine, path);
  }
}

/** z (rows × K, f64): one f64 linear predictor per class through the engine. */
async function logits(engine: Engine, x: Matrix | StagedMatrix, w: Float64Array, b: Float64Array, signal?: AbortSignal): Promise<Float64Array> {
  const k = b.length;
  const p = w.length / k;
  const n = x.rows;
  const z = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    const zc = await linearPredictor(engine, x, w.subarray(c * p, (c + 1) * p), b[c]!, signal);
    for (let i = 0; i < n; i++) z[i * k + c] = zc[i]!;
  }
  return z;
}

/** Rows of z → softmax probabilities in place; returns Σ_i log Σ_k e^{z_ik} per row in `lse` when given. */
function softmaxInPlace(z: Float64Array, n: number, k: number, lse?: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let m = -Infinity;
    for (let c = 0; c < k; c++) m = Math.max(m, z[o + c]!);
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.exp(z[o + c]! - m);
    if (lse) lse[i] = m + Math.log(s);
    for (let c = 0; c < k; c++) z[o + c] = Math.exp(z[o + c]! - m) / s;
  }
}

/** Fits the softmax model; y holds class indices 0 … K−1 (K ≥ 2), each class with at least two rows. */
export async function fitMultinomialLogistic(engine: Engine, x: Matrix, y: ArrayLike<number>, opts: MultinomialOptions = {}): Promise<MultinomialModel> {
  checkMatrixShape(x, 'x');
  const n = x.rows;
  const p = x.cols;
  if (y.length !== n) throw new QuiverError('SHAPE_MISMATCH', `y has ${y.length} values but x has ${n} rows; they must match`);
  const l2 = checkNumberOption(opts.l2, 'l2', 0, 1);
  if (!(l2 > 0)) throw new QuiverError('INVALID_ARGUMENT', 'multinomial logistic regression needs l2 > 0 (the softmax coefficients are otherwise not unique)');
  const maxIter = checkIntOption(opts.maxIter, 'maxIter', 1, 100);
  const tol = checkNumberOption(opts.tol, 'tol', 0, 1e-4);
  const sw = checkSampleWeight(opts.sampleWeight, n);
  const encoder = checkEncoder(opts.encoder, p);
  const names = checkFeatureNames(opts.featureNames ?? encoder?.features, p);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i]!;
    if (!Number.isInteger(v) || v < 0) throw new QuiverError('INVALID_ARGUMENT', `y must hold class indices 0, 1, 2, … (row ${i} has ${v})`, { row: i });
    k = Math.max(k, v + 1);
  }
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) counts[y[i]!]! += 1;
  for (let c = 0; c < k; c++) {
    const name = opts.classes?.[c] ?? String(c);
    if (counts[c]! < 2) {
      throw new QuiverError('INVALID_ARGUMENT', `class ${JSON.stringify(name)} has ${counts[c]} row${counts[c] === 1 ? '' : 's'}; every class needs at least two rows: merge or drop the rare class`, {
        class: name,
        rows: counts[c],
      });
    }
  }
  if (k < 2) throw new QuiverError('INVALID_ARGUMENT', 'y has one class only; a classifier needs at least two');
  const classes = opts.classes ?? Array.from({ length: k }, (_, c) => String(c));
  if (classes.length !== k) throw new QuiverError('INVALID_ARGUMENT', `classes names ${classes.length} classes but y has ${k}`);
  const s = new Float64Array(n);
  let sSum = 0;
  for (let i = 0; i < n; i++) {
    const cw = opts.classWeight === 'balanced' ? n / (k * counts[y[i]!]!) : 1;
    s[i] = (sw ? sw[i]! : 1) * cw;
    sSum += s[i]!;
  }

  const q = p + 1;
  const hessianTarget = checkHessianRows(opts.hessianRows, k * q);
  // [x, 1] built straight into engine memory (read in place by the workers). x is copied whole first (one
  // memcpy), then each row moves to its place from the last row back (a row's destination never overlaps a row
  // not yet moved): a third faster than an element loop, which was a measurable share of a fit's time.
  const xt = engine.allocMatrix(n, q);
  {
    const xd = xt.data;
    xd.set(x.data.subarray(0, n * p), 0);
    for (let i = n - 1; i >= 0; i--) {
      xd.copyWithin(i * q, i * p, i * p + p);
      xd[i * q + p] = 1;
    }
  }
  // X̃, y and s staged once: every pass below is one engine call over them, so the main thread never loops
  // over the rows again (only the (Kq)² Newton system is assembled and solved here). Values are not scanned
  // here: at θ = 0 the first pass's logits are NaN exactly when a row holds a NaN or ±Infinity, so a
  // non-finite objective there triggers the scan that names the cell.
  let staged: StagedMatrix;
  try {
    staged = engine.stage(xt, 'x', { checkValues: false });
  } catch (err) {
    xt.release();
    throw err;
  }
  // An index loop: Float64Array.from(y) goes through y's iterator, a few ms on 200,000 rows.
  const yf = new Float64Array(n);
  for (let i = 0; i < n; i++) yf[i] = y[i]!;
  const yStaged = engine.stageVector(yf, 'y');
  const unit = s.every((v) => v === 1);
  const sStaged = unit ? null : engine.stageVector(s, 'sampleWeight');
  let sample: HessianSample | null = null;
  let gramAtZero: Promise<{ g: Float64Array }> | null = null;
  try {
    // θ: K blocks of q = [w_k, b_k].
    let theta = new Float64Array(k * q);
    const split = (t: Float64Array) => {
      const w = new Float64Array(k * p);
      const b = new Float64Array(k);
      for (let c = 0; c < k; c++) {
        w.set(t.subarray(c * q, c * q + p), c * p);
        b[c] = t[c * q + p]!;
      }
      return { w, b };
    };
    const penalty = (t: Float64Array) => {
      let pen = 0;
      for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) pen += t[c * q + j]! * t[c * q + j]!;
      return 0.5 * l2 * pen;
    };
    // One fused pass: the objective, and by mode the gradient and the Hessian blocks of the first K − 1 classes.
    const evaluate = async (t: Float64Array, mode: 'loss' | 'gradient' | 'newton') => {
      const r = await engine.multinomialPass(staged, yStaged, sStaged, t, k, { mode, signal: opts.signal });
      return { ...r, f: r.lossWeighted + penalty(t) };
    };
    const gradientOf = (r: { grad: Float64Array | null }, t: Float64Array) => {
      const g = Float64Array.from(r.grad!);
      for (let a = 0; a < k; a++) for (let j = 0; j < p; j++) g[a * q + j]! += l2 * t[a * q + j]!;
      return g;
    };
    // The Hessian from one row in m when there are many (see multinomial-newton.ts); the gradient, the
    // objective and so the optimum always come from every row.
    sample = hessianSample(engine, xt, y, s, k, hessianTarget);
    let useSample = sample !== null;
    // The first sampled Hessian (θ = 0) needs only the sample's Gram: it runs beside the first full pass.
    gramAtZero = sample ? engine.gram(sample.x, { w: sample.weights, signal: opts.signal }) : null;
    gramAtZero?.catch(() => undefined); // awaited below, or settled before the regions go back
    let cur = await evaluate(theta, useSample ? 'gradient' : 'newton');
    if (!Number.isFinite(cur.lossWeighted) || !Number.isFinite(cur.loss)) {
      checkFinite(x.data, 'x', p);
      throw new QuiverError('INTERNAL', 'multinomial logistic regression: the objective at zero is not finite, but x is');
    }
    let nIter = 0;
    let converged = false;
    let prevDecrement = Infinity;
    const eps = 1e-8 * sSum;
    const dim = k * q;
    let system: { hs: Float64Array; d: Float64Array; sampled: boolean } | null = null;
    let prevGradMax = Infinity;
    let lastT = 1;
    // Whether the last step solved with a sampled system computed at its own start (not a kept one).
    let freshSampled = false;
    for (let iter = 0; ; iter++) {
      let grad = gradientOf(cur, theta);
      let gradMax = 0;
      for (let j = 0; j < dim; j++) gradMax = Math.max(gradMax, Math.abs(grad[j]!));
      gradMax /= sSum;
      if (iter > 0 && gradMax <= tol && (0.5 * prevDecrement) / sSum <= tol) {
        converged = true;
        break;
      }
      if (iter === maxIter) break;
      // A step on a fresh sampled Hessian that needed a shorter step, or did not even halve the gradient: the
      // sample does not represent the rows well enough here, so every later Hessian comes from every row.
      if (freshSampled && (lastT < 1 || gradMax > 0.5 * prevGradMax)) useSample = false;
      // A stale Hessian (the chord method) is kept while it still shrinks the gradient at least tenfold per
      // step: near the optimum the Hessian hardly changes, and a step on the kept system costs one gradient pass
      // instead of a Hessian pass. The gradient is always exact, so the optimum is the same.
      const refresh = system === null || lastT < 1 || gradMax > 0.1 * prevGradMax || (system.sampled && !useSample);
      prevGradMax = gradMax;
      if (refresh) {
        if (useSample) {
          // At θ = 0 (the first step) the blocks come from one weighted Gram of the sample.
          const blocks = theta.every((v) => v === 0)
            ? blocksAtZero((await gramAtZero!).g, k, q)
            : (await engine.multinomialPass(sample!.x, sample!.y, sample!.s, theta, k, { mode: 'newton', signal: opts.signal })).hessian!;
          system = { ...newtonSystem(blocks, k, q, l2, eps, sample!.scale), sampled: true };
        } else {
          // The step's first trial brought the gradient only (enough to stop on); the Hessian comes now.
          if (!cur.hessian) {
            cur = await evaluate(theta, 'newton');
            grad = gradientOf(cur, theta);
          }
          system = { ...newtonSystem(cur.hessian!, k, q, l2, eps, 1), sampled: false };
        }
      }
      freshSampled = refresh && system!.sampled;
      const { hs, d } = system!;
      const bs = grad.map((g, j) => -g * d[j]!);
      const sol = await engine.choleskySolve(hs, dim, bs, 1, { signal: opts.signal });
      const delta = sol.map((v, j) => v * d[j]!);
      let slope = 0;
      for (let j = 0; j < dim; j++) slope += grad[j]! * delta[j]!;
      // Backtracking: the full step's trial also brings the gradient (usually accepted, and enough for the
      // convergence test, so the last step never pays for a Hessian), shorter ones the loss only.
      let t = 1;
      let accepted: Awaited<ReturnType<typeof evaluate>> | null = null;
      let next = theta;
      for (let tries = 0; tries < 40; tries++) {
        next = theta.map((v, j) => v + t * delta[j]!);
        const trial = await evaluate(next, tries === 0 ? 'gradient' : 'loss');
        if (trial.f <= cur.f + 1e-4 * t * slope) {
          accepted = trial;
          break;
        }
        t *= 0.5;
      }
      nIter = iter + 1;
      lastT = t;
      if (!accepted) {
        // No decrease along a sampled system's direction: try again from here with the whole Hessian.
        if (system!.sampled) {
          useSample = false;
          system = null;
          freshSampled = false;
          // The failed sampled direction is not a step: the retry does not use up one of maxIter.
          nIter = iter;
          iter--;
          continue;
        }
        break;
      }
      theta = next;
      prevDecrement = -slope;
      cur = accepted.grad ? accepted : await evaluate(theta, useSample ? 'gradient' : 'newton');
    }
    const { w, b } = split(theta);
    let mean = 0;
    for (let c = 0; c < k; c++) mean += b[c]!;
    mean /= k;
    for (let c = 0; c < k; c++) b[c]! -= mean;
    return new MultinomialModel(engine, {
      coefficients: w,
      intercepts: b,
      classes,
      nIter,
      converged,
      logLoss: cur.loss / n,
      accuracy: cur.correct / n,
      nRows: n,
      params: { l2, classWeight: opts.classWeight ?? null, maxIter, tol },
      featureNames: names,
      encoder,
    });
  } finally {
    // A Gram still running on the pool reads the sample: let it finish before its memory is recycled.
    await gramAtZero?.catch(() => undefined);
    sample?.release();
    staged.release();
    xt.release();
    yStaged.release();
    sStaged?.release();
  }
}
